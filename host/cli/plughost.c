/* SPDX-License-Identifier: MIT */
/*
 * plughost: run a plugin from the shell, and report what the sandbox can do
 * here. It uses the public API like any other application.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <plughost/host.h>

#include "bench.h"
#include "policy-cmd.h"
#include "cli.h"
#include "ph-config.h"
#include "wire.h" /* PH_NAME_MAX */

/* The exit status of run (and of methods, whose start is a run's). */
#define EXIT_STATUS_TEXT                                                                           \
	"Exit status:\n"                                                                           \
	"   0  the call succeeded\n"                                                               \
	"   1  the plugin returned an error; or plughost could not write its output\n"             \
	"      ('write error: ...', as cat says; on a closed pipe, with SIGPIPE not\n"             \
	"      ignored, plughost dies of SIGPIPE, as cat does)\n"                                  \
	"   2  usage error (bad arguments), or an input could not be read\n"                       \
	"   3  the plugin could not be started (not found, not a plugin, sandbox\n"                \
	"      setup, no runner)\n"                                                                \
	"   4  the plugin crashed (killed by a signal)\n"                                          \
	"   5  the plugin exited on its own in the middle of the call\n"                           \
	"   6  the plugin broke the protocol (bad message or ring contents)\n"                     \
	"   7  the plugin violated the sandbox (a refused system call)\n"                          \
	"   8  timeout, 9 CPU limit, 10 memory limit, 11 output limit\n"                           \
	"  12  fd limit (too many open files), 13 thread limit (too many threads)\n"               \
	"  70  internal error in plughost\n"                                                       \
	" 130  interrupted (Ctrl-C)\n"

static const char usage_text[] =
    "Usage: plughost run PLUGIN.so [--method NAME] [--input FILE|-]... [LIMITS]\n"
    "                    [--threads] [--json[=FILE]] [-v|-q] [--log-level LEVEL]\n"
    "                    [--unsandboxed]\n"
    "       plughost methods PLUGIN.so [--json]\n"
    "       plughost info [--json]\n"
    "       plughost policy check FILE | policy learn PLUGIN.so [...]\n"
    "       plughost bench [--quick] [--json] [--only NAME[,NAME]...] [--reps N]\n"
    "       plughost --help | --version\n"
    "\n"
    "Run an untrusted plugin in a sandboxed child process.\n"
    "\n"
    "Commands (each takes --help):\n"
    "  run PLUGIN.so      Start the plugin, call one method with the inputs, write\n"
    "                     its output to standard output.\n"
    "  methods PLUGIN.so  List the plugin's methods (it is started sandboxed).\n"
    "  info               Show what this kernel offers the sandbox.\n"
    "  policy             Check a policy file, or learn one from a run\n"
    "                     (see plughost-policy(5)).\n"
    "  bench              Measure what the sandbox costs here.\n"
    "\n"
    "See 'plughost run --help' for the options of run and its limits.\n"
    "\n" EXIT_STATUS_TEXT;

static const char run_usage[] =
    "Usage: plughost run PLUGIN.so [--method NAME] [--input FILE|-]... [LIMITS]\n"
    "                    [--policy FILE] [--threads] [--json[=FILE]] [-v|-q]\n"
    "                    [--log-level LEVEL] [--unsandboxed]\n"
    "\n"
    "Start the plugin in its sandbox, call one method with the inputs, and write\n"
    "its output to standard output. Each option that takes one value may be\n"
    "given once.\n"
    "\n"
    "Options:\n"
    "  -m, --method NAME   Method to call (default: the plugin's only method;\n"
    "                      'plughost methods PLUGIN.so' lists them).\n"
    "  -i, --input FILE    Pass FILE as an input blob; '-' reads standard input\n"
    "                      (once). Repeat for several inputs (at most 16), in\n"
    "                      order. A pipe or socket on standard input is streamed\n"
    "                      to a plugin that reads streams, as the call runs;\n"
    "                      files, and any input to other plugins, are read whole\n"
    "                      first (see --max-input).\n"
    "  -v, --verbose       Report the plugin, its sandbox layers and resource use\n"
    "                      on standard error, and the library's debug lines.\n"
    "  -q, --quiet         Only errors on standard error.\n"
    "      --log-level LEVEL  Show the plugin's log lines at LEVEL or above:\n"
    "                      error, warning, info (default) or debug.\n"
    "      --policy FILE   Allow the system calls in the policy file FILE beyond\n"
    "                      the strict default (plughost-policy(5); 'plughost\n"
    "                      policy learn' writes one).\n"
    "      --threads       Let the plugin create threads (at most 16 in all).\n"
    "      --allow-read PATH  Let the plugin read the file or directory PATH\n"
    "                      (read-only, at its real path). Repeatable.\n"
    "      --json[=FILE]   Also print the result as one line of JSON, on standard\n"
    "                      error or into FILE.\n"
    "      --unsandboxed   Run without any sandbox (debugging only: nothing is\n"
    "                      isolated; a warning says so).\n"
    "\n"
    "Limits (a plugin that reaches one is killed):\n"
    "      --timeout DURATION   Wall-clock time for the call.\n"
    "      --cpu DURATION       CPU time for the call (user + system).\n"
    "      --memory SIZE        Resident memory of the plugin.\n"
    "      --output-limit SIZE  Output of the call.\n"
    "      --max-fds N          Open file descriptors in the plugin (default 64,\n"
    "                           at least 11: the sandbox's own).\n"
    "      --max-input SIZE     Size of each input read whole, a file or '-'\n"
    "                           (default: half the memory available when it is\n"
    "                           read); a streamed standard input has no limit.\n"
    "  DURATION is milliseconds, or a number with a unit: 500ms, 2s, 1.5s, 1m.\n"
    "  SIZE is bytes, or a number with K, M or G (powers of 1024): 64M, 1.5G.\n"
    "\n"
    "Ctrl-C (SIGINT) kills the plugin and ends the call: 'plughost: interrupted',\n"
    "and with --json a result of kind \"interrupted\".\n"
    "\n" EXIT_STATUS_TEXT;
_Static_assert(PH_INPUTS_MAX == 16, "the help text says at most 16 inputs");
_Static_assert(PH_MAX_FDS_MIN == 11, "the help text says --max-fds is at least 11");

/* The output callback; *(int *)userdata keeps the errno of a failed write:
 * plughost's own output failed, and the plugin is not to blame. */
static int write_all(void *userdata, const void *buf, size_t len)
{
	const char *p = buf;
	int *write_errno = userdata;

	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*write_errno = errno;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
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

/*
 * Ctrl-C: the handler asks the library to kill the running instance
 * (ph_plugin_interrupt() is async-signal-safe), and the blocking call
 * then ends as PH_RESULT_INTERRUPTED. cmd_run() publishes the instance
 * before it looks at the flag, and the handler sets the flag before it
 * looks at the instance: a SIGINT at any moment reaches one of them.
 */
static volatile sig_atomic_t got_sigint;
/* SIGPIPE's disposition when plughost started: SIG_DFL, or ignored. */
static int sigpipe_was_default;
static struct ph_plugin *running;

static void on_sigint(int signo)
{
	const int saved = errno;
	struct ph_plugin *p = __atomic_load_n(&running, __ATOMIC_SEQ_CST);

	(void)signo;
	got_sigint = 1;
	if (p)
		ph_plugin_interrupt(p);
	errno = saved;
}

/* Options with a value that may be given more than once: each adds one
 * (an option that repeats a list, like --input, goes here). */
static int repeatable(int c)
{
	static const int vals[] = {'i'};

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		if (vals[i] == c)
			return 1;
	return 0;
}

/*
 * The second time an option that keeps one value is given (its first value
 * would be lost), say so in one line and return EXIT_USAGE; else 0. A flag
 * (no value) may repeat. seen[] has one slot per entry of opts, holding
 * the value given (or "" for an optional value left out).
 */
static int given_once(int c, const struct option *opts, const char **seen)
{
	for (size_t i = 0; opts[i].name; i++) {
		if (opts[i].val != c)
			continue;
		if (repeatable(c))
			return 0;
		if (seen[i] && opts[i].has_arg != no_argument) {
			if (!*seen[i] || !optarg)
				return usage_error("option '--%s' given twice: give it once",
						   opts[i].name);
			return usage_error("option '--%s' given twice ('%s', then '%s'): give it "
					   "once",
					   opts[i].name, seen[i], optarg);
		}
		seen[i] = optarg ? optarg : "";
		return 0;
	}
	return 0;
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
		OPT_ALLOW_READ,
		OPT_JSON,
		OPT_POLICY,
		OPT_LOG_LEVEL,
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
	    {"allow-read", required_argument, NULL, OPT_ALLOW_READ},
	    {"json", optional_argument, NULL, OPT_JSON},
	    {"policy", required_argument, NULL, OPT_POLICY},
	    {"quiet", no_argument, NULL, 'q'},
	    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct ph_plugin_config pcfg;
	struct ph_limits limits = {0};
	struct ph_host *host = NULL;
	struct ph_plugin *plugin = NULL;
	struct ph_policy *policy = NULL;
	struct ph_blob *inputs[PH_INPUTS_MAX] = {NULL}, *stream = NULL;
	struct ph_stream_status st;
	struct ph_result res;
	const char *method = NULL, *input_paths[PH_INPUTS_MAX], *path, *json_path = NULL;
	const char *policy_path = NULL;
	FILE *json = NULL;
	size_t n_inputs = 0;
	int verbose = 0, quiet = 0, unsandboxed = 0, threads = 0, want_json = 0, have_result = 0;
	int stdin_streams, stdin_inputs = 0, write_errno = 0, have_level = 0, sa_installed = 0;
	const char *seen[sizeof(opts) / sizeof(opts[0])] = {NULL};
	struct cli_log log = {.level = PH_INFO};
	struct sigaction sa = {.sa_handler = on_sigint, .sa_flags = SA_RESTART}, old_sa;
	const char *allow_read[PH_ALLOW_READ_MAX];
	size_t n_allow_read = 0;
	int c, r, code = EXIT_INTERNAL;
	uint64_t v, max_input = 0;
	char line[512];

	optind = 1;
	opterr = 0; /* bad_option() says it in one line of our own */
	while ((c = getopt_long(argc, argv, "m:i:vqh", opts, NULL)) != -1) {
		if (c != '?' && given_once(c, opts, seen))
			return EXIT_USAGE;
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
			/* Checked here too, as a usage error: below it the
			 * sandbox cannot even be set up. */
			if (v < PH_MAX_FDS_MIN)
				return usage_error(
				    "--max-fds %llu is below the sandbox's minimum of %u",
				    (unsigned long long)v, PH_MAX_FDS_MIN);
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
		case OPT_POLICY: /* policy-cmd.c; loaded once the options are read */
			policy_path = optarg;
			break;
		case OPT_ALLOW_READ:
			if (n_allow_read == PH_ALLOW_READ_MAX)
				return usage_error("too many --allow-read paths (at most %u; "
						   "grant a directory that holds them)",
						   PH_ALLOW_READ_MAX);
			allow_read[n_allow_read++] = optarg;
			break;
		case OPT_JSON:
			if (optarg && !*optarg)
				return usage_error("%s", "--json= needs a file name");
			want_json = 1;
			json_path = optarg;
			break;
		case OPT_LOG_LEVEL:
			if (parse_level(optarg, &log.level) < 0)
				return usage_error("invalid --log-level '%s': expected error, "
						   "warning, info or debug",
						   optarg);
			have_level = 1;
			break;
		case 'm':
			if (!*optarg)
				return usage_error("%s",
						   "--method needs a method name (got an empty "
						   "one)");
			if (strlen(optarg) > PH_NAME_MAX)
				return usage_error("--method '%.20s...' is longer than a method "
						   "name can be (%u bytes)",
						   optarg, PH_NAME_MAX);
			method = optarg;
			break;
		case 'i':
			if (n_inputs == PH_INPUTS_MAX)
				return usage_error("too many inputs (at most %u)", PH_INPUTS_MAX);
			/* Standard input can be read once: a second '-' would
			 * silently get nothing. */
			if (!strcmp(optarg, "-") && stdin_inputs++)
				return usage_error("%s", "'--input -' can be given only once: "
							 "standard input can be read once");
			input_paths[n_inputs++] = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case OPT_UNSANDBOXED:
			unsandboxed = 1;
			break;
		case 'h':
			fputs(run_usage, stdout);
			return EXIT_OK;
		default:
			return bad_option(argv, opts);
		}
	}
	if (verbose && quiet)
		return usage_error("%s", "-v and -q cannot be given together");
	if (!have_level)
		log.level = quiet ? PH_ERROR : verbose ? PH_DEBUG : PH_INFO;
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

	if (open_host(&log, &host) < 0) {
		code = EXIT_SETUP;
		goto out;
	}
	ph_plugin_config_init(&pcfg);
	/* A one-shot run often streams a whole file through: a ring of 4 MiB
	 * lets the plugin run ahead of the host's writes without sleeping. */
	pcfg.ring_size = 4u << 20;
	pcfg.unsandboxed = unsandboxed;
	pcfg.limits = limits;
	/* A policy file's preset, or threads when --threads says so too. */
	if (policy_path && ph_cli_policy_load(policy_path, &policy) < 0) {
		code = EXIT_USAGE;
		goto out;
	}
	pcfg.policy = policy;
	pcfg.allow_read = allow_read;
	pcfg.n_allow_read = n_allow_read;
	if (threads) {
		r = policy ? ph_policy_set_preset(policy, PH_POLICY_THREADS)
			   : ph_policy_new(PH_POLICY_THREADS, &policy);
		if (r < 0) {
			fprintf(stderr, "plughost: cannot create the thread policy: %s\n",
				strerror(-r));
			goto out;
		}
		pcfg.policy = policy;
	}
	/* A warning like the library's: -q (or --log-level error) hides it. */
	if (unsandboxed && log.level >= PH_WARN)
		fprintf(stderr, "plughost: warning: --unsandboxed: the plugin runs with no "
				"sandbox at all; nothing is isolated from this machine\n");
	/* From here on Ctrl-C ends the call (before, it ends plughost); not
	 * if SIGINT was ignored when we started (a background job of a
	 * shell, nohup): Ctrl-C is not meant for us then. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, NULL, &old_sa) == 0 && old_sa.sa_handler != SIG_IGN)
		sa_installed = sigaction(SIGINT, &sa, NULL) == 0;
	r = ph_plugin_spawn(host, path, &pcfg, &plugin, &res);
	if (r < 0) {
		have_result = 1;
		if (got_sigint) {
			fprintf(stderr, "plughost: interrupted\n");
			code = EXIT_INTERRUPTED;
			goto out;
		}
		code = spawn_failed(path, r, &res);
		goto out;
	}
	/* Published before the flag is read: see on_sigint(). A SIGINT that
	 * came during the spawn interrupts the call at its start. */
	__atomic_store_n(&running, plugin, __ATOMIC_SEQ_CST);
	if (got_sigint)
		ph_plugin_interrupt(plugin);
	if (verbose) {
		report_layers(plugin);
		for (size_t i = 0; i < ph_plugin_grant_count(plugin); i++) {
			int lib = 0;
			const char *g = ph_plugin_grant_path(plugin, i, &lib);

			fprintf(stderr, "plughost: granted read-only: %s%s\n", g,
				lib ? " (a library the plugin needs)" : "");
		}
	}

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

	if (!method && !(method = cli_only_method(plugin))) {
		code = EXIT_USAGE;
		goto out;
	}

	r = ph_plugin_call(plugin, method, inputs, n_inputs, write_all, &write_errno, &res);
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
	code = exit_code(res.kind);
	if (res.kind == PH_RESULT_OUTPUT_FAILED || (res.kind == PH_RESULT_OK && write_errno)) {
		/* Our own output failed: say so as cat would, and blame no
		 * plugin. */
		const int e = res.code ? res.code : write_errno;

		if (e == EPIPE && sigpipe_was_default)
			code = EXIT_DIE_OF_SIGPIPE;
		else {
			fprintf(stderr, "plughost: write error: %s\n", strerror(e));
			code = EXIT_WRITE_ERROR;
		}
	} else if (got_sigint || res.kind == PH_RESULT_INTERRUPTED) {
		/* Whatever the call came to meanwhile: the user stopped it. */
		fprintf(stderr, "plughost: interrupted\n");
		code = EXIT_INTERRUPTED;
	} else if (res.kind != PH_RESULT_OK) {
		ph_result_describe(&res, line, sizeof(line));
		fprintf(stderr, "plughost: plugin '%s' %s\n", ph_plugin_name(plugin), line);
		/* Where it crashed, when its init could tell. */
		if (res.kind == PH_RESULT_CRASHED && ph_plugin_backtrace(plugin))
			fputs(ph_plugin_backtrace(plugin), stderr);
	}
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
	if (verbose && code != EXIT_DIE_OF_SIGPIPE)
		fprintf(stderr,
			"plughost: result %s, %llu output bytes, cpu %llu us user %llu us sys, max "
			"rss %llu KiB (so far)\n",
			ph_result_kind_name(res.kind), (unsigned long long)res.output_bytes,
			(unsigned long long)res.usage.user_usec,
			(unsigned long long)res.usage.sys_usec,
			(unsigned long long)res.usage.max_rss_kib);
out:
	if (json && have_result) {
		r = write_json(json, &res, host, plugin);
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
	__atomic_store_n(&running, NULL, __ATOMIC_SEQ_CST);
	ph_plugin_free(plugin);
	if (sa_installed)
		sigaction(SIGINT, &old_sa, NULL);
	ph_policy_free(policy);
	ph_host_free(host);
	for (size_t i = 0; i < n_inputs; i++)
		ph_blob_free(inputs[i]);
	return code;
}

#define ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

/* The commands dispatch() knows, for the message about an unknown one. */
static const char *const commands[] = {"run", "methods", "info", "policy", "bench"};

/* An unknown command: the one it abbreviates or is closest to, or all. */
static int unknown_command(const char *cmd)
{
	const char *near = *cmd != '-' ? closest_of(cmd, commands, ELEMENTS(commands)) : NULL;

	if (near)
		return usage_error("unknown command '%s'; did you mean '%s'?", cmd, near);
	return usage_error("unknown command '%s' (expected run, methods, info, policy or bench)",
			   cmd);
}

/*
 * Standard output after a command: flushed, and a failure said once as
 * cat says it (a closed pipe, with SIGPIPE not ignored: die of it).
 */
static int finish_stdout(int code)
{
	if (code == EXIT_DIE_OF_SIGPIPE)
		goto die;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return code;
	if (errno == EPIPE && sigpipe_was_default)
		goto die;
	fprintf(stderr, "plughost: write error: %s\n", strerror(errno));
	return EXIT_WRITE_ERROR;
die:
	signal(SIGPIPE, SIG_DFL);
	raise(SIGPIPE);
	return EXIT_WRITE_ERROR; /* SIGPIPE blocked: the next best */
}

/*
 * The subcommands: each one line, `if (!strcmp(argv[1], NAME)) return
 * cmd_NAME(argc - 1, argv + 1);` (its argv[0] is its name), and its name
 * in commands[] above.
 */
static int dispatch(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("%s", "missing command (run, methods, info, policy or bench)");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("plughost %s (libplughost %s)\n", PH_VERSION, ph_version());
		return EXIT_OK;
	}
	cli_command = argv[1];
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "info"))
		return cmd_info(argc - 1, argv + 1);
	if (!strcmp(argv[1], "bench"))
		return ph_cli_bench(argc - 1, argv + 1);
	if (!strcmp(argv[1], "policy"))
		return ph_cli_policy(argc - 1, argv + 1);
	if (!strcmp(argv[1], "methods"))
		return cmd_methods(argc - 1, argv + 1);
	cli_command = NULL;
	return unknown_command(argv[1]);
}

int main(int argc, char **argv)
{
	struct sigaction old;

	/* A closed stdout must give EPIPE from write(), not kill us in the
	 * middle of a call: the plugin is then killed and reaped, and only
	 * then do we die of SIGPIPE, if it was not ignored when we started. */
	sigaction(SIGPIPE, NULL, &old);
	sigpipe_was_default = old.sa_handler == SIG_DFL;
	signal(SIGPIPE, SIG_IGN);

	return finish_stdout(dispatch(argc, argv));
}
