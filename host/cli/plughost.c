/* SPDX-License-Identifier: MIT */
/*
 * plughost: run a plugin from the shell, and report what the sandbox can do
 * here. It uses the public API like any other application.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <plughost/host.h>

#include "ph-config.h"

/* Exit codes, one per result kind (documented in --help and plughost(1)). */
enum {
	EXIT_OK = 0,
	EXIT_PLUGIN_ERROR = 1,
	EXIT_USAGE = 2,
	EXIT_SETUP = 3,
	EXIT_CRASHED = 4,
	EXIT_EXITED = 5,
	EXIT_PROTOCOL = 6,
	EXIT_VIOLATION = 7,
	EXIT_TIMEOUT = 8,
	EXIT_CPU = 9,
	EXIT_MEMORY = 10,
	EXIT_OUTPUT = 11,
	EXIT_INTERNAL = 70,
};

static const int exit_for_kind[PH_RESULT_KIND_COUNT] = {
    [PH_RESULT_OK] = EXIT_OK,
    [PH_RESULT_PLUGIN_ERROR] = EXIT_PLUGIN_ERROR,
    [PH_RESULT_TIMEOUT] = EXIT_TIMEOUT,
    [PH_RESULT_CPU_LIMIT] = EXIT_CPU,
    [PH_RESULT_MEMORY_LIMIT] = EXIT_MEMORY,
    [PH_RESULT_OUTPUT_QUOTA] = EXIT_OUTPUT,
    [PH_RESULT_VIOLATION] = EXIT_VIOLATION,
    [PH_RESULT_CRASHED] = EXIT_CRASHED,
    [PH_RESULT_EXITED] = EXIT_EXITED,
    [PH_RESULT_PROTOCOL] = EXIT_PROTOCOL,
    [PH_RESULT_SETUP_FAILED] = EXIT_SETUP,
};

static const char usage_text[] =
    "Usage: plughost run PLUGIN.so [--method NAME] [--input FILE|-]... [-v]\n"
    "       plughost info\n"
    "       plughost --help | --version\n"
    "\n"
    "Run an untrusted plugin in a sandboxed child process.\n"
    "\n"
    "Commands:\n"
    "  run PLUGIN.so   Start the plugin, call one method with the inputs, write\n"
    "                  its output to standard output.\n"
    "  info            Show what this kernel offers the sandbox.\n"
    "\n"
    "Options for run:\n"
    "  -m, --method NAME   Method to call (default: the plugin's only method).\n"
    "  -i, --input FILE    Pass FILE as an input blob; '-' reads standard input.\n"
    "                      Repeat for several inputs (at most 16), in order.\n"
    "  -v, --verbose       Report the plugin, its sandbox layers and resource use\n"
    "                      on standard error.\n"
    "      --unsandboxed   Run without any sandbox (debugging only).\n"
    "\n"
    "Exit status:\n"
    "   0  the call succeeded\n"
    "   1  the plugin returned an error\n"
    "   2  usage error (bad arguments)\n"
    "   3  the plugin could not be started (not found, not a plugin, sandbox setup)\n"
    "   4  the plugin crashed (killed by a signal)\n"
    "   5  the plugin exited on its own in the middle of the call\n"
    "   6  the plugin broke the protocol (bad message or ring contents)\n"
    "   7  the plugin violated the sandbox (a refused system call)\n"
    "   8  timeout, 9 CPU limit, 10 memory limit, 11 output limit\n"
    "  70  internal error in plughost\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "plughost: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'plughost --help')\n");
	return EXIT_USAGE;
}

static int write_all(void *userdata, const void *buf, size_t len)
{
	const char *p = buf;
	(void)userdata;

	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void log_line(void *userdata, const struct ph_plugin *instance, enum ph_log_severity sev,
		     const char *line)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	(void)userdata;

	fprintf(stderr, "plughost: [%s] %s: %s\n", instance ? ph_plugin_name(instance) : "host",
		names[sev], line);
}

static void report_layers(const struct ph_plugin *p)
{
	uint32_t layers = ph_plugin_layers(p);

	fprintf(stderr, "plughost: plugin '%s' %s, pid %d, sandbox:", ph_plugin_name(p),
		ph_plugin_version(p), ph_plugin_pid(p));
	if (!layers)
		fprintf(stderr, " none");
	for (uint32_t bit = 1; bit; bit <<= 1)
		if ((layers & bit) && ph_layer_name(bit))
			fprintf(stderr, " %s", ph_layer_name(bit));
	fprintf(stderr, "\n");
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"method", required_argument, NULL, 'm'}, {"input", required_argument, NULL, 'i'},
	    {"verbose", no_argument, NULL, 'v'},      {"unsandboxed", no_argument, NULL, 'U'},
	    {"help", no_argument, NULL, 'h'},	      {0},
	};
	struct ph_host_config hcfg;
	struct ph_plugin_config pcfg;
	struct ph_host *host = NULL;
	struct ph_plugin *plugin = NULL;
	struct ph_blob *inputs[16];
	struct ph_result res;
	const char *method = NULL, *input_paths[16], *path;
	size_t n_inputs = 0;
	int verbose = 0, unsandboxed = 0, c, r, code = EXIT_INTERNAL;
	char line[512];

	optind = 1;
	while ((c = getopt_long(argc, argv, "m:i:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			method = optarg;
			break;
		case 'i':
			if (n_inputs == 16)
				return usage_error("too many inputs (at most %s)", "16");
			input_paths[n_inputs++] = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'U':
			unsandboxed = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_OK;
		default:
			return usage_error("%s", "invalid option for 'run'");
		}
	}
	if (optind >= argc)
		return usage_error("%s", "'run' needs a plugin file (PLUGIN.so)");
	if (optind + 1 < argc)
		return usage_error("unexpected argument '%s'", argv[optind + 1]);
	path = argv[optind];

	for (size_t i = 0; i < n_inputs; i++) {
		r = ph_blob_new_from_file(input_paths[i], &inputs[i]);
		if (r < 0) {
			fprintf(stderr, "plughost: cannot read input '%s': %s\n", input_paths[i],
				strerror(-r));
			for (size_t j = 0; j < i; j++)
				ph_blob_free(inputs[j]);
			return EXIT_USAGE;
		}
	}

	ph_host_config_init(&hcfg);
	hcfg.log_fn = log_line;
	r = ph_host_new(&hcfg, &host);
	if (r < 0) {
		fprintf(stderr,
			"plughost: cannot find plughost-runner (%s): set PLUGHOST_RUNNER or "
			"reinstall plughost\n",
			strerror(-r));
		goto out;
	}
	ph_plugin_config_init(&pcfg);
	pcfg.unsandboxed = unsandboxed;
	r = ph_plugin_spawn(host, path, &pcfg, &plugin, &res);
	if (r < 0) {
		if (r == -EPROTO || r == -ENOENT || r == -ENOEXEC || r == -EACCES) {
			ph_result_describe(&res, line, sizeof(line));
			if (res.kind == PH_RESULT_SETUP_FAILED && res.setup_step <= 0)
				fprintf(stderr, "plughost: cannot load '%s': %s\n", path, line);
			else if (res.kind == PH_RESULT_SETUP_FAILED &&
				 strncmp(res.message, "cannot load", 11) == 0)
				fprintf(stderr, "plughost: %s\n", res.message);
			else if (res.kind == PH_RESULT_SETUP_FAILED)
				fprintf(stderr, "plughost: cannot load '%s': %s%s%s\n", path,
					res.message, res.code ? ": " : "",
					res.code ? strerror(res.code) : "");
			else
				fprintf(stderr, "plughost: plugin '%s' %s\n", path, line);
			code = exit_for_kind[res.kind];
		} else {
			fprintf(stderr, "plughost: cannot start '%s': %s\n", path, strerror(-r));
		}
		goto out;
	}
	if (verbose)
		report_layers(plugin);

	if (!method) {
		if (ph_plugin_method_count(plugin) != 1) {
			fprintf(stderr,
				"plughost: plugin '%s' has %zu methods; choose one with --method:",
				ph_plugin_name(plugin), ph_plugin_method_count(plugin));
			for (size_t i = 0; i < ph_plugin_method_count(plugin); i++)
				fprintf(stderr, " %s", ph_plugin_method_name(plugin, i));
			fprintf(stderr, "\n");
			code = EXIT_USAGE;
			goto out;
		}
		method = ph_plugin_method_name(plugin, 0);
	}

	r = ph_plugin_call(plugin, method, inputs, n_inputs, write_all, NULL, &res);
	if (r == -ENOENT) {
		fprintf(stderr,
			"plughost: plugin '%s' has no method '%s'; it has:", ph_plugin_name(plugin),
			method);
		for (size_t i = 0; i < ph_plugin_method_count(plugin); i++)
			fprintf(stderr, " %s", ph_plugin_method_name(plugin, i));
		fprintf(stderr, "\n");
		code = EXIT_USAGE;
		goto out;
	}
	if (r < 0) {
		fprintf(stderr, "plughost: call failed: %s\n", strerror(-r));
		goto out;
	}
	if (res.kind != PH_RESULT_OK) {
		ph_result_describe(&res, line, sizeof(line));
		fprintf(stderr, "plughost: plugin '%s' %s\n", ph_plugin_name(plugin), line);
	}
	if (verbose)
		fprintf(stderr,
			"plughost: result %s, %llu output bytes, cpu %llu us user %llu us sys, max "
			"rss %llu KiB (so far)\n",
			ph_result_kind_name(res.kind), (unsigned long long)res.output_bytes,
			(unsigned long long)res.usage.user_usec,
			(unsigned long long)res.usage.sys_usec,
			(unsigned long long)res.usage.max_rss_kib);
	code = exit_for_kind[res.kind];
out:
	ph_plugin_destroy(plugin);
	ph_host_free(host);
	for (size_t i = 0; i < n_inputs; i++)
		ph_blob_free(inputs[i]);
	return code;
}

static int cmd_info(int argc, char **argv)
{
	char *buf;
	int n;

	if (argc > 1)
		return usage_error("'info' takes no arguments (got '%s')", argv[1]);
	n = ph_probe_report(NULL, 0);
	if (n < 0 || !(buf = malloc((size_t)n + 1))) {
		fprintf(stderr, "plughost: cannot probe the kernel: %s\n",
			strerror(n < 0 ? -n : ENOMEM));
		return EXIT_INTERNAL;
	}
	ph_probe_report(buf, (size_t)n + 1);
	fputs(buf, stdout);
	free(buf);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	/* A closed stdout must give EPIPE from write(), not kill us. */
	signal(SIGPIPE, SIG_IGN);

	if (argc < 2)
		return usage_error("%s", "missing command (run or info)");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("plughost %s\n", PH_VERSION);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "info"))
		return cmd_info(argc - 1, argv + 1);
	return usage_error("unknown command '%s' (expected run or info)", argv[1]);
}
