/* SPDX-License-Identifier: MIT */
/*
 * plughost methods PLUGIN.so [--json]: start the plugin in its sandbox,
 * as a run does, and list what it says it offers.
 */
#include <string.h>

#include "cli.h"

static const char methods_usage[] =
    "Usage: plughost methods PLUGIN.so [--json]\n"
    "\n"
    "Start the plugin in its sandbox (its constructors run there, as for\n"
    "'plughost run') and list its methods: a line with its name and version,\n"
    "then one method name per line.\n"
    "\n"
    "  --json   One JSON object on standard output instead:\n"
    "           {\"name\":...,\"version\":...,\"reads_streams\":...,\"methods\":[...]}\n"
    "\n"
    "Exit status as for 'plughost run' when the plugin cannot be started (3, or\n"
    "how it ended while loading); 2 for bad arguments.\n";

int cmd_methods(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct cli_log log = {.level = PH_WARN};
	struct ph_host *host = NULL;
	struct ph_plugin *plugin = NULL;
	struct ph_plugin_config pcfg;
	struct ph_result res;
	const char *path;
	int c, json = 0, r, code;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'h':
			fputs(methods_usage, stdout);
			return EXIT_OK;
		default:
			return bad_option(argv, opts);
		}
	}
	if (optind >= argc)
		return usage_error("%s", "'methods' needs a plugin file (PLUGIN.so)");
	if (optind + 1 < argc)
		return usage_error("unexpected argument '%s'", argv[optind + 1]);
	path = argv[optind];

	if (open_host(&log, &host) < 0)
		return EXIT_SETUP;
	ph_plugin_config_init(&pcfg);
	r = ph_plugin_spawn(host, path, &pcfg, &plugin, &res);
	if (r < 0) {
		code = spawn_failed(path, r, &res);
		ph_host_free(host);
		return code;
	}
	if (json) {
		printf("{\"name\":");
		json_string(stdout, ph_plugin_name(plugin));
		printf(",\"version\":");
		json_string(stdout, ph_plugin_version(plugin));
		printf(",\"reads_streams\":%s,\"methods\":[",
		       ph_plugin_reads_streams(plugin) ? "true" : "false");
		for (size_t i = 0; i < ph_plugin_method_count(plugin); i++) {
			printf("%s", i ? "," : "");
			json_string(stdout, ph_plugin_method_name(plugin, i));
		}
		printf("]}\n");
	} else {
		printf("%s %s\n", ph_plugin_name(plugin), ph_plugin_version(plugin));
		for (size_t i = 0; i < ph_plugin_method_count(plugin); i++)
			printf("  %s\n", ph_plugin_method_name(plugin, i));
	}
	ph_plugin_free(plugin);
	ph_host_free(host);
	return EXIT_OK;
}
