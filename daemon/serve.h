/*
 * The running daemon: builds the subsystems from the configuration, runs the libev loop until
 * SIGTERM/SIGINT, then drains and tears everything down in reverse order.
 */
#ifndef FPD_SERVE_H
#define FPD_SERVE_H

#include "core/config.h"

/* Runs until a termination signal. Returns 0 after a clean shutdown, negative FPD_E* when a
 * subsystem could not start (already logged). cfg is borrowed for the whole run. */
int fpd_serve(const struct fpd_config *cfg);

#endif
