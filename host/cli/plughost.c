/* SPDX-License-Identifier: MIT */
/*
 * plughost: run a plugin from the shell, and report what the sandbox can do
 * here. It uses the public API like any other application.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <plughost/host.h>

#include "bench.h"
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
	EXIT_FD_LIMIT = 12,
	EXIT_THREAD_LIMIT = 13,
	EXIT_INTERNAL = 70,
};

static const int exit_for_kind[PH_RESULT_KIND_COUNT] = {
    [PH_RESULT_OK] = EXIT_OK,
    [PH_RESULT_PLUGIN_ERROR] = EXIT_PLUGIN_ERROR,
    [PH_RESULT_TIMEOUT] = EXIT_TIMEOUT,
    [PH_RESULT_CPU_LIMIT] = EXIT_CPU,
    [PH_RESULT_MEMORY_LIMIT] = EXIT_MEMORY,
    [PH_RESULT_OUTPUT_QUOTA] = EXIT_OUTPUT,
    [PH_RESULT_FD_LIMIT] = EXIT_FD_LIMIT,
    [PH_RESULT_THREAD_LIMIT] = EXIT_THREAD_LIMIT,
    [PH_RESULT_VIOLATION] = EXIT_VIOLATION,
    [PH_RESULT_CRASHED] = EXIT_CRASHED,
    [PH_RESULT_EXITED] = EXIT_EXITED,
    [PH_RESULT_PROTOCOL] = EXIT_PROTOCOL,
    [PH_RESULT_SETUP_FAILED] = EXIT_SETUP,
};

/*
 * The exit code for a result kind. A kind missing from the table (one a
 * newer library added) must not read as success.
 */
static int exit_code(enum ph_result_kind kind)
{
	if ((unsigned int)kind >= PH_RESULT_KIND_COUNT)
		return EXIT_INTERNAL;
	if (kind != PH_RESULT_OK && exit_for_kind[kind] == EXIT_OK)
		return EXIT_INTERNAL;
	return exit_for_kind[kind];
}

static const char usage_text[] =
    "Usage: plughost run PLUGIN.so [--method NAME] [--input FILE|-]... [LIMITS]\n"
    "                    [--threads] [--json[=FILE]] [-v]\n"
    "       plughost info\n"
    "       plughost bench [--quick] [--json] [--only NAME[,NAME]...] [--reps N]\n"
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
    "                      A pipe or socket on standard input is streamed to a\n"
    "                      plugin that reads streams, as the call runs; files,\n"
    "                      and any input to other plugins, are read whole first.\n"
    "  -v, --verbose       Report the plugin, its sandbox layers and resource use\n"
    "                      on standard error.\n"
    "      --threads       Let the plugin create threads (at most 16 in all).\n"
    "      --json[=FILE]   Also print the result as one line of JSON, on standard\n"
    "                      error or into FILE.\n"
    "      --unsandboxed   Run without any sandbox (debugging only).\n"
    "\n"
    "Limits for run (a plugin that reaches one is killed):\n"
    "      --timeout DURATION   Wall-clock time for the call.\n"
    "      --cpu DURATION       CPU time for the call (user + system).\n"
    "      --memory SIZE        Resident memory of the plugin.\n"
    "      --output-limit SIZE  Output of the call.\n"
    "      --max-fds N          Open file descriptors in the plugin (default 64).\n"
    "      --max-input SIZE     Size of each input read whole (default: half the\n"
    "                           memory available when it is read); a streamed\n"
    "                           standard input has no size limit.\n"
    "  DURATION is milliseconds, or a number with a unit: 500ms, 2s, 1.5s, 1m.\n"
    "  SIZE is bytes, or a number with K, M or G (powers of 1024): 64M, 1.5G.\n"
    "\n"
    "Exit status:\n"
    "   0  the call succeeded\n"
    "   1  the plugin returned an error\n"
    "   2  usage error (bad arguments), or an input could not be read\n"
    "   3  the plugin could not be started (not found, not a plugin, sandbox setup)\n"
    "   4  the plugin crashed (killed by a signal)\n"
    "   5  the plugin exited on its own in the middle of the call\n"
    "   6  the plugin broke the protocol (bad message or ring contents)\n"
    "   7  the plugin violated the sandbox (a refused system call)\n"
    "   8  timeout, 9 CPU limit, 10 memory limit, 11 output limit\n"
    "  12  fd limit (too many open files), 13 thread limit (too many threads)\n"
    "  70  internal error in plughost\n";
_Static_assert(PH_INPUTS_MAX == 16, "the help text says at most 16 inputs");

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

/* A unit suffix and what one of it is worth in the base unit. */
struct unit {
	const char *suffix;
	uint64_t scale;
};

/* Durations in milliseconds: a bare number is milliseconds. */
static const struct unit duration_units[] = {
    {"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {NULL, 0},
};

/* Sizes in bytes, binary multiples. */
static const struct unit size_units[] = {
    {"", 1},   {"K", UINT64_C(1) << 10}, {"M", UINT64_C(1) << 20}, {"G", UINT64_C(1) << 30},
    {NULL, 0},
};

static const struct unit count_units[] = {{"", 1}, {NULL, 0}};

/*
 * Durations are capped well below where a library adding them to a clock in
 * nanoseconds could overflow: 2^32 - 1 ms is over 49 days.
 */
#define MAX_DURATION_MS UINT64_C(0xffffffff)

/* At most this many fraction digits: keeps fraction * scale within 64 bits. */
#define MAX_FRACTION_DIGITS 9

/*
 * Parse text as digits, an optional '.' and fraction digits, then exactly
 * one of the suffixes in units (nothing else: no sign, no spaces, no
 * leading '.', no trailing junk), and store the value in base units in
 * *ret. A fraction is allowed only when allow_fraction is set, and only
 * when it comes to a whole number of base units ("1.5s" but not "1.5ms").
 *
 * Returns 0; -EINVAL for anything malformed; -ERANGE when the value does
 * not fit in max; -EDOM when it is zero. *ret is written only on success.
 */
static int parse_scaled(const char *text, const struct unit *units, int allow_fraction,
			uint64_t max, uint64_t *ret)
{
	const char *p = text;
	uint64_t whole = 0, frac = 0, frac_scale = 1, value;
	const struct unit *u;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (whole > (UINT64_MAX - d) / 10)
			return -ERANGE;
		whole = whole * 10 + d;
	}
	if (*p == '.') {
		if (!allow_fraction)
			return -EINVAL;
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (int n = 0; *p >= '0' && *p <= '9'; p++, n++) {
			if (n == MAX_FRACTION_DIGITS)
				return -EINVAL;
			frac = frac * 10 + (unsigned int)(*p - '0');
			frac_scale *= 10;
		}
	}
	for (u = units; u->suffix; u++)
		if (!strcmp(p, u->suffix))
			break;
	if (!u->suffix)
		return -EINVAL;

	/* frac < frac_scale <= 10^9 and scale <= 2^30: no overflow here. */
	if ((frac * u->scale) % frac_scale != 0)
		return -EINVAL;
	if (whole > UINT64_MAX / u->scale)
		return -ERANGE;
	value = whole * u->scale;
	if (value > UINT64_MAX - (frac * u->scale) / frac_scale)
		return -ERANGE;
	value += (frac * u->scale) / frac_scale;
	if (value > max)
		return -ERANGE;
	if (value == 0)
		return -EDOM;
	*ret = value;
	return 0;
}

/*
 * Parse the value of a limit option into *ret, or print one line naming
 * the option and the bad text and return EXIT_USAGE. what describes the
 * expected form for that line.
 */
static int parse_option(const char *option, const char *text, const struct unit *units,
			int allow_fraction, uint64_t max, const char *what, uint64_t *ret)
{
	int r = parse_scaled(text, units, allow_fraction, max, ret);

	if (r == -EDOM)
		fprintf(stderr, "plughost: invalid %s '%s': must be more than zero\n", option,
			text);
	else if (r == -ERANGE)
		fprintf(stderr, "plughost: invalid %s '%s': too large\n", option, text);
	else if (r < 0)
		fprintf(stderr, "plughost: invalid %s '%s': expected %s\n", option, text, what);
	return r < 0 ? EXIT_USAGE : 0;
}

#define DURATION_FORM "milliseconds, or a number with a unit (500ms, 2s, 1.5s, 1m)"
#define SIZE_FORM     "bytes, or a number with K, M or G (64M, 1.5G)"
#define COUNT_FORM    "a whole number"

/*
 * Print res as one line of JSON to out. Returns 0, or -errno when it
 * could not be formatted or written.
 */
static int write_json(FILE *out, const struct ph_result *res)
{
	char small[2048], *buf = small;
	int n, r = 0;

	n = ph_result_to_json(res, small, sizeof(small));
	if (n < 0)
		return n;
	if ((size_t)n >= sizeof(small)) {
		buf = malloc((size_t)n + 1);
		if (!buf)
			return -ENOMEM;
		n = ph_result_to_json(res, buf, (size_t)n + 1);
	}
	if (n >= 0 && (fprintf(out, "%s\n", buf) < 0 || fflush(out) != 0))
		r = -EIO;
	else if (n < 0)
		r = n;
	if (buf != small)
		free(buf);
	return r;
}

/* "5.8 GiB", "64 KiB", "100 bytes": a size as a person reads it. */
static void format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, len, "%llu bytes", (unsigned long long)bytes);
		return;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (v == (double)(uint64_t)v)
		snprintf(buf, len, "%.0f %s", v, units[u]);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
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

static void log_line(void *userdata, const struct ph_plugin *instance, enum ph_level sev,
		     const char *line)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	const int *verbose = userdata;

	/* The library's debug notes (such as the clone3 fallback under a
	 * container's seccomp profile) are for -v only. */
	if (sev == PH_DEBUG && !*verbose)
		return;

	fprintf(stderr, "plughost: [%s] %s: %s\n",
		instance ? (ph_plugin_name(instance) ?: "plugin") : "host", names[sev], line);
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
	/* What this instance runs without, named too (plughost info says why). */
	fprintf(stderr, "; missing:");
	if ((layers & ((1u << PH_LAYER_COUNT) - 1)) == (1u << PH_LAYER_COUNT) - 1)
		fprintf(stderr, " none");
	for (uint32_t bit = 1; bit < 1u << PH_LAYER_COUNT; bit <<= 1)
		if (!(layers & bit) && ph_layer_name(bit))
			fprintf(stderr, " %s", ph_layer_name(bit));
	fprintf(stderr, "\n");
}

/*
 * After getopt_long() returned '?' (with opterr off): say what was wrong
 * with the option in one line and return EXIT_USAGE. optopt is 0 for an
 * unknown (or ambiguous) long option, else the option's value; an option
 * missing its value always used up its whole argument, so argv[optind - 1]
 * is the one at fault.
 */
static int bad_option(char **argv, const struct option *opts)
{
	if (optopt == 0)
		return usage_error("unknown option '%s' for 'run'", argv[optind - 1]);
	for (const struct option *o = opts; o->name; o++) {
		if (o->val != optopt)
			continue;
		if (o->has_arg == required_argument)
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		return usage_error("option '--%s' takes no value", o->name);
	}
	return usage_error("unknown option '-%c' for 'run'", optopt);
}

/* Is standard input a pipe or a socket: an input of unknown length that
 * can only be read once, which a plugin that reads streams gets as the
 * call runs? (A regular file is read whole: its size is known, and the
 * plugin then maps it with no copy.) */
static int stdin_is_stream(void)
{
	struct stat st;

	return fstat(STDIN_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

/* Read the input at path ("-": standard input) whole into a sealed blob,
 * or say why not in one line and return a negative errno. */
static int read_input(const char *path, uint64_t max_input, struct ph_blob **ret)
{
	/* Read once and passed explicitly: the message then names exactly
	 * the limit that was applied. */
	const uint64_t limit = max_input ? max_input : ph_blob_default_max();
	int r = ph_blob_new_from_file_max(path, limit, ret);

	if (r == -EFBIG) {
		char size[32];

		format_size(limit, size, sizeof(size));
		fprintf(stderr,
			"plughost: input '%s' is larger than the input limit (%s, %s; see "
			"--max-input)\n",
			strcmp(path, "-") ? path : "standard input", size,
			max_input ? "set by --max-input" : "half the available memory");
	} else if (r < 0) {
		fprintf(stderr, "plughost: cannot read input '%s': %s\n", path, strerror(-r));
	}
	return r;
}

static int cmd_run(int argc, char **argv)
{
	enum {
		OPT_UNSANDBOXED = 0x100,
		OPT_TIMEOUT,
		OPT_CPU,
		OPT_MEMORY,
		OPT_OUTPUT_LIMIT,
		OPT_MAX_FDS,
		OPT_MAX_INPUT,
		OPT_THREADS,
		OPT_JSON,
	};
	static const struct option opts[] = {
	    {"method", required_argument, NULL, 'm'},
	    {"input", required_argument, NULL, 'i'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"unsandboxed", no_argument, NULL, OPT_UNSANDBOXED},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"cpu", required_argument, NULL, OPT_CPU},
	    {"memory", required_argument, NULL, OPT_MEMORY},
	    {"output-limit", required_argument, NULL, OPT_OUTPUT_LIMIT},
	    {"max-fds", required_argument, NULL, OPT_MAX_FDS},
	    {"max-input", required_argument, NULL, OPT_MAX_INPUT},
	    {"threads", no_argument, NULL, OPT_THREADS},
	    {"json", optional_argument, NULL, OPT_JSON},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct ph_host_config hcfg;
	struct ph_plugin_config pcfg;
	struct ph_limits limits = {0};
	struct ph_host *host = NULL;
	struct ph_plugin *plugin = NULL;
	struct ph_policy *policy = NULL;
	struct ph_blob *inputs[PH_INPUTS_MAX] = {NULL}, *stream = NULL;
	struct ph_stream_status st;
	struct ph_result res;
	const char *method = NULL, *input_paths[PH_INPUTS_MAX], *path, *json_path = NULL;
	FILE *json = NULL;
	size_t n_inputs = 0;
	int verbose = 0, unsandboxed = 0, threads = 0, want_json = 0, have_result = 0;
	int stdin_streams;
	int c, r, code = EXIT_INTERNAL;
	uint64_t v, max_input = 0;
	char line[512];

	optind = 1;
	opterr = 0; /* bad_option() says it in one line of our own */
	while ((c = getopt_long(argc, argv, "m:i:vh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_TIMEOUT:
			if (parse_option("--timeout", optarg, duration_units, 1, MAX_DURATION_MS,
					 DURATION_FORM, &limits.timeout_ms))
				return EXIT_USAGE;
			break;
		case OPT_CPU:
			if (parse_option("--cpu", optarg, duration_units, 1, MAX_DURATION_MS,
					 DURATION_FORM, &limits.cpu_ms))
				return EXIT_USAGE;
			break;
		case OPT_MEMORY:
			if (parse_option("--memory", optarg, size_units, 1, UINT64_MAX, SIZE_FORM,
					 &limits.memory_bytes))
				return EXIT_USAGE;
			break;
		case OPT_OUTPUT_LIMIT:
			if (parse_option("--output-limit", optarg, size_units, 1, UINT64_MAX,
					 SIZE_FORM, &limits.output_bytes))
				return EXIT_USAGE;
			break;
		case OPT_MAX_FDS:
			if (parse_option("--max-fds", optarg, count_units, 0, UINT32_MAX,
					 COUNT_FORM, &v))
				return EXIT_USAGE;
			limits.max_fds = (uint32_t)v;
			break;
		case OPT_MAX_INPUT:
			if (parse_option("--max-input", optarg, size_units, 1, UINT64_MAX,
					 SIZE_FORM, &max_input))
				return EXIT_USAGE;
			break;
		case OPT_THREADS:
			threads = 1;
			break;
		case OPT_JSON:
			if (optarg && !*optarg)
				return usage_error("%s", "--json= needs a file name");
			want_json = 1;
			json_path = optarg;
			break;
		case 'm':
			method = optarg;
			break;
		case 'i':
			if (n_inputs == PH_INPUTS_MAX)
				return usage_error("too many inputs (at most %u)", PH_INPUTS_MAX);
			input_paths[n_inputs++] = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case OPT_UNSANDBOXED:
			unsandboxed = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_OK;
		default:
			return bad_option(argv, opts);
		}
	}
	if (optind >= argc)
		return usage_error("%s", "'run' needs a plugin file (PLUGIN.so)");
	if (optind + 1 < argc)
		return usage_error("unexpected argument '%s'", argv[optind + 1]);
	path = argv[optind];

	/* Files first, before anything runs, so that a bad path costs no
	 * plugin run. A piped standard input waits for the plugin: whether
	 * it streams depends on whether the plugin reads streams. */
	stdin_streams = stdin_is_stream();
	for (size_t i = 0; i < n_inputs; i++) {
		inputs[i] = NULL;
		if (stdin_streams && !strcmp(input_paths[i], "-"))
			continue;
		if (read_input(input_paths[i], max_input, &inputs[i]) < 0) {
			code = EXIT_USAGE;
			goto out;
		}
	}

	/* Opened before anything runs, so that a bad path costs no plugin run. */
	if (want_json && json_path) {
		json = fopen(json_path, "we");
		if (!json) {
			fprintf(stderr, "plughost: cannot write JSON to '%s': %s\n", json_path,
				strerror(errno));
			code = EXIT_USAGE;
			goto out;
		}
	} else if (want_json) {
		json = stderr;
	}

	ph_host_config_init(&hcfg);
	hcfg.log_fn = log_line;
	hcfg.log_userdata = &verbose;
	r = ph_host_new(&hcfg, &host);
	if (r < 0) {
		fprintf(stderr,
			"plughost: cannot find plughost-runner (%s): set PLUGHOST_RUNNER or "
			"reinstall plughost\n",
			strerror(-r));
		goto out;
	}
	ph_plugin_config_init(&pcfg);
	/* A one-shot run often streams a whole file through: a ring of 4 MiB
	 * lets the plugin run ahead of the host's writes without sleeping. */
	pcfg.ring_size = 4u << 20;
	pcfg.unsandboxed = unsandboxed;
	pcfg.limits = limits;
	if (threads) {
		r = ph_policy_new(PH_POLICY_THREADS, &policy);
		if (r < 0) {
			fprintf(stderr, "plughost: cannot create the thread policy: %s\n",
				strerror(-r));
			goto out;
		}
		pcfg.policy = policy;
	}
	r = ph_plugin_spawn(host, path, &pcfg, &plugin, &res);
	if (r < 0) {
		/* The library always says why; a refused setting of ours would
		 * be a usage error (the options are checked before this). */
		have_result = 1;
		ph_result_describe(&res, line, sizeof(line));
		if (res.kind == PH_RESULT_SETUP_FAILED)
			fprintf(stderr, "plughost: cannot load '%s': %s%s%s\n", path, res.message,
				res.code ? ": " : "", res.code ? strerror(res.code) : "");
		else
			fprintf(stderr, "plughost: plugin '%s' %s\n", path, line);
		code = r == -EINVAL ? EXIT_USAGE : exit_code(res.kind);
		goto out;
	}
	if (verbose)
		report_layers(plugin);

	for (size_t i = 0; i < n_inputs; i++) {
		if (inputs[i])
			continue;
		if (!ph_plugin_reads_streams(plugin)) {
			r = read_input("-", max_input, &inputs[i]);
		} else if (stream) {
			/* The one stream a call takes: a second '-' would have
			 * nothing left to read. */
			code = usage_error(
			    "%s", "'--input -' can be given only once when standard "
				  "input is a pipe or socket and the plugin reads streams");
			goto out;
		} else {
			r = ph_blob_new_stream(STDIN_FILENO, &inputs[i]);
			if (r < 0)
				fprintf(stderr, "plughost: cannot stream standard input: %s\n",
					strerror(-r));
			stream = inputs[i];
		}
		if (r < 0) {
			code = EXIT_USAGE;
			goto out;
		}
	}

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
	have_result = 1;
	if (res.kind != PH_RESULT_OK) {
		ph_result_describe(&res, line, sizeof(line));
		fprintf(stderr, "plughost: plugin '%s' %s\n", ph_plugin_name(plugin), line);
		/* Where it crashed, when its init could tell. */
		if (res.kind == PH_RESULT_CRASHED && ph_plugin_backtrace(plugin))
			fputs(ph_plugin_backtrace(plugin), stderr);
	}
	code = exit_code(res.kind);
	if (stream && ph_blob_stream_status(stream, &st) == 0) {
		if (st.error) {
			fprintf(stderr, "plughost: cannot read input '-' (standard input): %s\n",
				strerror(st.error));
			/* The cause, unless the plugin's own end says more. */
			if (res.kind == PH_RESULT_OK || res.kind == PH_RESULT_PLUGIN_ERROR)
				code = EXIT_USAGE;
		}
		if (verbose)
			fprintf(stderr, "plughost: streamed %llu bytes of standard input%s\n",
				(unsigned long long)st.bytes,
				st.eof	   ? ", to its end"
				: st.error ? ""
					   : "; the call ended before its end");
	}
	if (verbose)
		fprintf(stderr,
			"plughost: result %s, %llu output bytes, cpu %llu us user %llu us sys, max "
			"rss %llu KiB (so far)\n",
			ph_result_kind_name(res.kind), (unsigned long long)res.output_bytes,
			(unsigned long long)res.usage.user_usec,
			(unsigned long long)res.usage.sys_usec,
			(unsigned long long)res.usage.max_rss_kib);
out:
	if (json && have_result) {
		r = write_json(json, &res);
		if (r < 0) {
			fprintf(stderr, "plughost: cannot write JSON to '%s': %s\n",
				json_path ? json_path : "standard error", strerror(-r));
			code = EXIT_INTERNAL;
		}
	}
	if (json && json != stderr && fclose(json) != 0 && have_result) {
		fprintf(stderr, "plughost: cannot write JSON to '%s': %s\n", json_path,
			strerror(errno));
		code = EXIT_INTERNAL;
	}
	ph_plugin_free(plugin);
	ph_policy_free(policy);
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
		printf("plughost %s (libplughost %s)\n", PH_VERSION, ph_version());
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "info"))
		return cmd_info(argc - 1, argv + 1);
	if (!strcmp(argv[1], "bench"))
		return ph_cli_bench(argc - 1, argv + 1);
	return usage_error("unknown command '%s' (expected run or info)", argv[1]);
}
