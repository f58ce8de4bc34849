/*
 * The daemon's name for <flyteplugd/buf.h>, which libflyteplugd (plugin-api/) implements: the
 * daemon and the plugins share one definition.
 */
#ifndef FPD_CORE_BUF_H
#define FPD_CORE_BUF_H

#include <flyteplugd/buf.h>

#endif
