/*
 * flyteplugd: command line entry point.
 *
 *   flyteplugd serve --config FILE     run the daemon
 *   flyteplugd check-config FILE       validate a configuration file
 *   flyteplugd render --template FILE  print the object CreateTask would create
 *   flyteplugd version                 print the version
 *
 * Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
 */
#include "core/config.h"
#include "builtin.h"
#include "core/log.h"
#include "engine/plugin_settings.h"
#include "engine/registry.h"
#include "render.h"
#include "serve.h"
#include "version.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

static void usage_main(FILE *out)
{
	fputs(
	    "usage: flyteplugd <command> [options]\n"
	    "\n"
	    "Runs Flyte task types as Kubernetes objects, serving FlytePropeller's agent "
	    "protocol.\n"
	    "\n"
	    "commands:\n"
	    "  serve --config FILE   run the daemon\n"
	    "  check-config FILE     validate a configuration file and exit\n"
	    "  render --template F   print the object CreateTask would create, without a cluster\n"
	    "  version               print the version and exit\n"
	    "\n"
	    "Run 'flyteplugd <command> --help' for a command's options.\n"
	    "exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error\n",
	    out);
}

static void usage_serve(FILE *out)
{
	fputs("usage: flyteplugd serve [--config FILE] [--log-level LEVEL]\n"
	      "\n"
	      "Runs the daemon until SIGTERM or SIGINT. Without --config, the defaults are used\n"
	      "(see docs/configuration.md).\n"
	      "\n"
	      "options:\n"
	      "  -c, --config FILE      configuration file (YAML)\n"
	      "  -l, --log-level LEVEL  override log.level: debug, info, warn, error\n"
	      "  -h, --help             show this help\n",
	      out);
}

static void usage_check(FILE *out)
{
	fputs("usage: flyteplugd check-config FILE\n"
	      "\n"
	      "Validates FILE as the daemon would at start and prints the first problem as\n"
	      "file:line:column: message. Exit code 0 when valid, 2 when not.\n",
	      out);
}

static void usage_version(FILE *out)
{
	fputs("usage: flyteplugd version\n\nPrints the version and the Flyte IDL it was built "
	      "with.\n",
	      out);
}

static int wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	return 0;
}

static int report_config_error(const struct fpd_error *err)
{
	char text[1024];
	fprintf(stderr, "flyteplugd: %s\n", fpd_error_format(err, text, sizeof(text)));
	return EXIT_USAGE;
}

/* The plugins (built-in and plugins.dir), their own settings sections and the task types the
 * crd plugin's settings declare, checked as serve would; EXIT_USAGE with the located message
 * when something is wrong (a refused declaration too, which serve would only leave out). */
static int check_plugins(const struct fpd_config *cfg, bool tasktypes)
{
	struct fpd_error err;
	fpd_error_clear(&err);
	size_t n;
	const struct fpd_plugin *const *builtins = fpd_builtin_plugins(&n);
	size_t refused = 0;
	struct fpd_registry *reg =
	    fpd_registry_from_config_counted(builtins, n, cfg, tasktypes ? &refused : NULL, &err);
	struct fpd_plugin_settings *ps = reg ? fpd_plugin_settings_load(reg, cfg, &err) : NULL;
	int rc = ps ? EXIT_OK : report_config_error(&err);
	if (rc == EXIT_OK && refused) {
		/* Each was logged with its file:line:col; serve would run without them. */
		fprintf(stderr, "flyteplugd: %zu task type declaration(s) refused\n", refused);
		rc = EXIT_USAGE;
	}
	fpd_plugin_settings_free(ps);
	fpd_registry_free(reg);
	return rc;
}

static int cmd_check_config(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		usage_check(stdout);
		return EXIT_OK;
	}
	if (argc != 2) {
		usage_check(stderr);
		return EXIT_USAGE;
	}
	struct fpd_config cfg;
	struct fpd_error err;
	fpd_error_clear(&err);
	if (fpd_config_load(argv[1], &cfg, &err))
		return report_config_error(&err);
	int rc = check_plugins(&cfg, true);
	if (rc == EXIT_OK)
		printf("%s: OK\n", argv[1]);
	fpd_config_free(&cfg);
	return rc;
}

static int cmd_serve(int argc, char **argv)
{
	static const struct option options[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL;
	const char *level = NULL;
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "c:l:h", options, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'l': level = optarg; break;
		case 'h': usage_serve(stdout); return EXIT_OK;
		default:
			fprintf(stderr, "flyteplugd serve: unknown or incomplete option '%s'\n",
			        argv[optind - 1]);
			usage_serve(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "flyteplugd serve: unexpected argument '%s'\n", argv[optind]);
		usage_serve(stderr);
		return EXIT_USAGE;
	}

	struct fpd_config cfg;
	struct fpd_error err;
	fpd_error_clear(&err);
	if (config_path) {
		if (fpd_config_load(config_path, &cfg, &err))
			return report_config_error(&err);
	} else {
		fpd_config_defaults(&cfg);
	}
	if (level) {
		int l = fpd_log_level_parse(level);
		if (l < 0) {
			fprintf(stderr,
			        "flyteplugd serve: --log-level must be debug, info, warn or "
			        "error\n");
			fpd_config_free(&cfg);
			return EXIT_USAGE;
		}
		cfg.log.level = l;
	}
	/* Declared task types are left to serve: a refused one is logged and left out there. */
	if (check_plugins(&cfg, false) != EXIT_OK) {
		fpd_config_free(&cfg);
		return EXIT_USAGE;
	}
	fpd_log_setup((enum fpd_log_level)cfg.log.level, (enum fpd_log_format)cfg.log.format, NULL);
	int rc = fpd_serve(&cfg);
	fpd_config_free(&cfg);
	return rc == 0 ? EXIT_OK : EXIT_RUNTIME;
}

static int cmd_version(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		usage_version(stdout);
		return EXIT_OK;
	}
	if (argc != 1) {
		usage_version(stderr);
		return EXIT_USAGE;
	}
	printf("flyteplugd %s (flyteidl %s)\n", FPD_VERSION, FPD_FLYTEIDL_VERSION);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage_main(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		usage_main(stdout);
		return EXIT_OK;
	}
	if (strcmp(cmd, "--version") == 0)
		return cmd_version(1, argv + 1);
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(cmd, "check-config") == 0)
		return cmd_check_config(argc - 1, argv + 1);
	if (strcmp(cmd, "render") == 0)
		return fpd_render_main(argc - 1, argv + 1);
	if (strcmp(cmd, "version") == 0)
		return cmd_version(argc - 1, argv + 1);
	fprintf(stderr, "flyteplugd: unknown command '%s'\n\n", cmd);
	usage_main(stderr);
	return EXIT_USAGE;
}
