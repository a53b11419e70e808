/* SPDX-License-Identifier: MIT */
/*
 * plughost info [--json]: what this kernel offers the sandbox, and which
 * plughost and runner would use it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ph-config.h"
#include "wire.h"

static const char info_usage[] =
    "Usage: plughost info [--json]\n"
    "\n"
    "Show what this kernel offers the sandbox: each layer and kernel feature,\n"
    "and whether it is available here.\n"
    "\n"
    "  --json   One JSON object on standard output instead: version,\n"
    "           wire_protocol, runner (its path, or null and runner_error),\n"
    "           layers (each name: available or not), sandbox (full or\n"
    "           partial), kernel, and features (each: available and text).\n";

/* Is name one of the space-separated words in list? */
static int in_list(const char *list, const char *name)
{
	const size_t n = strlen(name);

	for (const char *p = list; p && *p;) {
		size_t w;

		p += strspn(p, " ");
		w = strcspn(p, " ");
		if (w == n && !strncmp(p, name, n))
			return 1;
		p += w;
	}
	return 0;
}

#define MAX_LINES 64

/* The report's "key: value" lines as one JSON object on stdout. */
static void print_json(char *report)
{
	struct cli_log log = {.level = PH_ERROR};
	struct ph_host *host = NULL;
	const char *layers = NULL, *sandbox = NULL, *kernel = NULL;
	const char *keys[MAX_LINES], *values[MAX_LINES];
	size_t n = 0;
	int first = 1;

	/* The runner this host would use, found as for a run (quietly: a
	 * missing runner is a field of the answer, not an error). */
	log.capture = 1;
	{
		struct ph_host_config hcfg;

		ph_host_config_init(&hcfg);
		hcfg.log_fn = log_line;
		hcfg.log_userdata = &log;
		if (ph_host_new(&hcfg, &host) < 0)
			host = NULL;
	}

	for (char *line = report, *next; line && *line && n < MAX_LINES; line = next) {
		char *colon;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		colon = strstr(line, ": ");
		if (!colon)
			continue;
		*colon = '\0';
		keys[n] = line;
		values[n++] = colon + 2;
		if (!strcmp(line, "layers"))
			layers = colon + 2;
		else if (!strcmp(line, "sandbox"))
			sandbox = colon + 2;
		else if (!strcmp(line, "kernel"))
			kernel = colon + 2;
	}

	printf("{\"version\":");
	json_string(stdout, PH_VERSION);
	printf(",\"library_version\":");
	json_string(stdout, ph_version());
	printf(",\"wire_protocol\":%u,\"runner\":", PH_WIRE_ABI);
	if (host)
		json_string(stdout, ph_host_runner_path(host));
	else {
		printf("null,\"runner_error\":");
		json_string(stdout, log.captured[0] ? log.captured : "cannot set up the host");
	}
	printf(",\"kernel\":");
	json_string(stdout, kernel ? kernel : "");
	printf(",\"sandbox\":");
	if (sandbox)
		printf("\"%.*s\"", (int)strcspn(sandbox, " \""), sandbox);
	else
		printf("null");
	printf(",\"layers\":{");
	for (uint32_t bit = 1; bit < 1u << PH_LAYER_COUNT; bit <<= 1) {
		const char *name = ph_layer_name(bit);

		if (!name)
			continue;
		printf("%s", first ? "" : ",");
		json_string(stdout, name);
		printf(":%s", in_list(layers, name) ? "true" : "false");
		first = 0;
	}
	printf("},\"features\":{");
	first = 1;
	/* Every other line, as a feature: its name and text, and whether it
	 * is there (the text does not begin "no" or "unavailable"). */
	for (size_t i = 0; i < n; i++) {
		const char *line = keys[i], *value = values[i];
		char key[64];
		size_t k = 0;

		if (!strcmp(line, "layers") || !strcmp(line, "missing layers") ||
		    !strcmp(line, "sandbox") || !strcmp(line, "kernel"))
			continue;
		for (const char *c = line; *c && k + 1 < sizeof(key); c++)
			key[k++] = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ? *c : '_';
		key[k] = '\0';
		printf("%s\"%s\":{\"available\":%s,\"text\":", first ? "" : ",", key,
		       !strncmp(value, "no", 2) || !strncmp(value, "unavailable", 11) ? "false"
										      : "true");
		json_string(stdout, value);
		printf("}");
		first = 0;
	}
	printf("}}\n");
	ph_host_free(host);
}

int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int c, json = 0, n;
	char *buf;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'h':
			fputs(info_usage, stdout);
			return EXIT_OK;
		default:
			return bad_option(argv, opts);
		}
	}
	if (optind < argc)
		return usage_error("'info' takes no arguments (got '%s')", argv[optind]);
	n = ph_probe_report(NULL, 0);
	if (n < 0 || !(buf = malloc((size_t)n + 1))) {
		fprintf(stderr, "plughost: cannot probe the kernel: %s\n",
			strerror(n < 0 ? -n : ENOMEM));
		return EXIT_INTERNAL;
	}
	ph_probe_report(buf, (size_t)n + 1);
	if (json)
		print_json(buf);
	else
		fputs(buf, stdout);
	free(buf);
	return EXIT_OK;
}
