/*
 * The daemon's name for <flyteplugd/mem.h>, which libflyteplugd (plugin-api/) implements: the
 * daemon and the plugins share one definition.
 */
#ifndef FPD_CORE_MEM_H
#define FPD_CORE_MEM_H

#include <flyteplugd/mem.h>

#endif
