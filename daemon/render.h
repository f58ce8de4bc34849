/*
 * `flyteplugd render`: the exact object CreateTask would create for a TaskTemplate, without a
 * cluster. Shares every step with the engine (prepare, plugin build, decorate).
 */
#ifndef FPD_RENDER_H
#define FPD_RENDER_H

/* Runs the subcommand with its own argv (argv[0] = "render"); returns the process exit code. */
int fpd_render_main(int argc, char **argv);

#endif
