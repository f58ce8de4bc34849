/*
 * The daemon's name for <flyteplugd/error.h>, which libflyteplugd (plugin-api/) implements: the
 * daemon and the plugins share one definition.
 */
#ifndef FPD_CORE_ERROR_H
#define FPD_CORE_ERROR_H

#include <flyteplugd/error.h>

#endif
