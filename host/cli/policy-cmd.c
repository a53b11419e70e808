/* SPDX-License-Identifier: MIT */
/*
 * plughost policy check FILE, plughost policy learn PLUGIN.so, and the
 * policy file of plughost run --policy: policy files from the shell
 * (docs/policy.md, plughost-policy(5)), through the public API.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <plughost/host.h>

#include "cli.h"
#include "policy-cmd.h"

/* The exit codes policy uses: run's for the same things (plughost(1)). */
enum {
	POLICY_OK = 0,
	POLICY_PLUGIN_ENDED = 1, /* learn: the run did not end as a run should */
	POLICY_USAGE = 2,	 /* bad arguments, or a policy file with errors */
	POLICY_SETUP = 3,	 /* learn: the plugin could not be started */
	POLICY_VIOLATION = 7,	 /* learn: a call that no policy may allow */
	POLICY_INTERNAL = 70,
};

static const char policy_usage[] =
    "usage: plughost policy check FILE\n"
    "       plughost policy learn PLUGIN.so [-m NAME] [-i FILE]... [-o OUT] [--threads]\n"
    "                             [--allow-read PATH]...\n"
    "\n"
    "  check   Read a policy file and the files it includes; print each error as\n"
    "          FILE:LINE:COLUMN: message (exit 2), or a one-line summary (exit 0).\n"
    "  learn   Run one call of the plugin with every syscall beyond the base let\n"
    "          on and recorded, and write the smallest policy under which the same\n"
    "          run passes (to OUT, or standard output). Calls no policy may allow\n"
    "          still stop the plugin (exit 7); nothing is written then.\n"
    "\n"
    "  -m, --method NAME   the method to call (needed when it has more than one)\n"
    "  -i, --input FILE    an input, in order (up to 16)\n"
    "  -o, --output OUT    write the policy to OUT instead of standard output\n"
    "      --threads       start from the threads preset\n"
    "      --allow-read PATH  grant PATH read-only, as 'plughost run' does (the\n"
    "                      grant is not part of the policy: give it to run too)\n"
    "\n"
    "The format, the base and what a policy cannot do: plughost-policy(5).\n";

__attribute__((format(printf, 1, 2))) static int usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "plughost: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'plughost policy --help')\n");
	return POLICY_USAGE;
}

static void print_error(const char *path, int r, const struct ph_policy_error *err)
{
	if (err->line)
		fprintf(stderr, "%s:%u:%u: %s\n", err->file, err->line, err->column, err->message);
	else if (err->message[0])
		fprintf(stderr, "%s: %s\n", err->file[0] ? err->file : path, err->message);
	else
		fprintf(stderr, "%s: %s\n", path, strerror(-r));
}

int ph_cli_policy_load(const char *path, struct ph_policy **ret_policy)
{
	struct ph_policy_error err;
	int r = ph_policy_load(path, ret_policy, &err);

	if (r < 0) {
		fprintf(stderr, "plughost: ");
		print_error(path, r, &err);
	}
	return r;
}

static int cmd_check(int argc, char **argv)
{
	struct ph_policy_error err;
	struct ph_policy_info info;
	struct ph_policy *policy;
	int r;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(policy_usage, stdout);
		return POLICY_OK;
	}
	if (argc < 2)
		return usage("%s", "'policy check' needs a policy file");
	if (argc > 2)
		return usage("unexpected argument '%s'", argv[2]);
	if (argv[1][0] == '-' && argv[1][1])
		return usage("unknown option '%s' for 'policy check'", argv[1]);
	r = ph_policy_load(argv[1], &policy, &err);
	if (r < 0) {
		print_error(argv[1], r, &err);
		return POLICY_USAGE;
	}
	ph_policy_info(policy, &info);
	printf("%s: ok: base %s@%u, %zu rule%s from %zu file%s\n", argv[1],
	       info.preset == PH_POLICY_THREADS ? "threads" : "strict", info.base_version,
	       info.n_rules, info.n_rules == 1 ? "" : "s", info.n_files,
	       info.n_files == 1 ? "" : "s");
	ph_policy_free(policy);
	return POLICY_OK;
}

static int discard(void *userdata, const void *buf, size_t len)
{
	(void)userdata;
	(void)buf;
	(void)len;
	return 0;
}

/* Write len bytes of text to path ("-" or NULL: standard output). */
static int write_policy(const char *path, const char *text, size_t len)
{
	const int to_stdout = !path || !strcmp(path, "-");
	int fd = to_stdout ? STDOUT_FILENO
			   : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
	int r = 0;

	if (fd < 0)
		return -errno;
	while (len > 0) {
		ssize_t n = write(fd, text, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		text += n;
		len -= (size_t)n;
	}
	if (!to_stdout && close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

static int cmd_learn(int argc, char **argv)
{
	enum { OPT_THREADS = 0x100, OPT_ALLOW_READ };
	static const struct option opts[] = {
	    {"method", required_argument, NULL, 'm'},
	    {"input", required_argument, NULL, 'i'},
	    {"output", required_argument, NULL, 'o'},
	    {"threads", no_argument, NULL, OPT_THREADS},
	    {"allow-read", required_argument, NULL, OPT_ALLOW_READ},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *allow_read[PH_ALLOW_READ_MAX];
	size_t n_allow_read = 0;
	const char *method = NULL, *out_path = NULL, *input_paths[PH_INPUTS_MAX], *path;
	struct ph_blob *inputs[PH_INPUTS_MAX] = {NULL};
	struct ph_learner *learner = NULL;
	struct ph_policy *policy = NULL, *check = NULL;
	struct ph_plugin_config cfg;
	struct ph_plugin *plugin = NULL;
	struct ph_host *host = NULL;
	struct ph_policy_error perr;
	struct ph_result res;
	size_t n_inputs = 0;
	char line[512], comment[512], *text = NULL;
	int c, r, n, threads = 0, code = POLICY_INTERNAL;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "m:i:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (method)
				return usage("%s", "--method given twice");
			if (!*optarg)
				return usage("%s", "--method needs a name");
			method = optarg;
			break;
		case 'i':
			if (n_inputs == PH_INPUTS_MAX)
				return usage("too many inputs (at most %u)", PH_INPUTS_MAX);
			input_paths[n_inputs++] = optarg;
			break;
		case 'o':
			if (out_path)
				return usage("%s", "--output given twice");
			out_path = optarg;
			break;
		case OPT_THREADS:
			threads = 1;
			break;
		case OPT_ALLOW_READ:
			/* The run being learned sees what the real one will. */
			if (n_allow_read == PH_ALLOW_READ_MAX)
				return usage("too many --allow-read paths (at most %u; grant a "
					     "directory that holds them)",
					     PH_ALLOW_READ_MAX);
			allow_read[n_allow_read++] = optarg;
			break;
		case 'h':
			fputs(policy_usage, stdout);
			return POLICY_OK;
		default:
			return usage("bad option '%s' for 'policy learn'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage("%s", "'policy learn' needs a plugin file (PLUGIN.so)");
	if (optind + 1 < argc)
		return usage("unexpected argument '%s'", argv[optind + 1]);
	path = argv[optind];

	for (size_t i = 0; i < n_inputs; i++) {
		r = ph_blob_new_from_file(input_paths[i], &inputs[i]);
		if (r < 0) {
			fprintf(stderr, "plughost: cannot read input '%s': %s\n", input_paths[i],
				strerror(-r));
			code = POLICY_USAGE;
			goto out;
		}
	}
	r = ph_host_new(NULL, &host);
	if (r < 0) {
		fprintf(stderr,
			"plughost: cannot find plughost-runner (%s): set PLUGHOST_RUNNER or "
			"reinstall plughost\n",
			strerror(-r));
		goto out;
	}
	if (ph_learner_new(&learner) < 0 ||
	    (threads && ph_policy_new(PH_POLICY_THREADS, &policy) < 0)) {
		fprintf(stderr, "plughost: out of memory\n");
		goto out;
	}
	ph_plugin_config_init(&cfg);
	cfg.policy = policy;
	cfg.learn = learner;
	cfg.allow_read = allow_read;
	cfg.n_allow_read = n_allow_read;
	r = ph_plugin_spawn(host, path, &cfg, &plugin, &res);
	if (r < 0) {
		ph_result_describe(&res, line, sizeof(line));
		if (res.kind == PH_RESULT_SETUP_FAILED)
			fprintf(stderr, "plughost: cannot load '%s': %s%s%s\n", path, res.message,
				res.code ? ": " : "", res.code ? strerror(res.code) : "");
		else
			fprintf(stderr, "plughost: learning stopped: plugin '%s' %s\n", path, line);
		code = r == -EINVAL			    ? POLICY_USAGE
		       : res.kind == PH_RESULT_SETUP_FAILED ? POLICY_SETUP
		       : res.kind == PH_RESULT_VIOLATION    ? POLICY_VIOLATION
							    : POLICY_PLUGIN_ENDED;
		goto out;
	}
	if (!method && !(method = cli_only_method(plugin))) {
		code = POLICY_USAGE;
		goto out;
	}
	/* The output is the plugin's business; the policy is ours. */
	r = ph_plugin_call(plugin, method, inputs, n_inputs, discard, NULL, &res);
	if (r == -ENOENT) {
		fprintf(stderr, "plughost: plugin '%s' has no method '%s'\n",
			ph_plugin_name(plugin), method);
		code = POLICY_USAGE;
		goto out;
	}
	if (r < 0) {
		fprintf(stderr, "plughost: call failed: %s\n", strerror(-r));
		goto out;
	}
	/* A handler's own error is an ordinary end of a run; anything else
	 * (a violation, a crash, a limit) is not a run to learn from. */
	if (res.kind != PH_RESULT_OK && res.kind != PH_RESULT_PLUGIN_ERROR) {
		ph_result_describe(&res, line, sizeof(line));
		fprintf(stderr, "plughost: learning stopped, nothing written: plugin '%s' %s\n",
			ph_plugin_name(plugin), line);
		code = res.kind == PH_RESULT_VIOLATION ? POLICY_VIOLATION : POLICY_PLUGIN_ENDED;
		goto out;
	}
	/* The instance ends before the policy is written: its exit is part
	 * of the run too. */
	ph_plugin_free(plugin);
	plugin = NULL;

	snprintf(comment, sizeof(comment), "Learned from %s, method %s%s.", path, method,
		 n_inputs ? ", with inputs" : "");
	n = ph_learner_write(learner, comment, NULL, 0);
	if (n < 0 || !(text = malloc((size_t)n + 1))) {
		fprintf(stderr, "plughost: cannot write the policy: %s\n",
			strerror(n < 0 ? -n : ENOMEM));
		goto out;
	}
	ph_learner_write(learner, comment, text, (size_t)n + 1);
	/* What we write, we read: a learned file always checks. */
	r = ph_policy_parse(text, (size_t)n, "learned policy", &check, &perr);
	if (r < 0) {
		fprintf(stderr,
			"plughost: internal error: the learned policy does not parse: "
			"%u:%u: %s\n",
			perr.line, perr.column, perr.message);
		goto out;
	}
	r = write_policy(out_path, text, (size_t)n);
	if (r < 0) {
		fprintf(stderr, "plughost: cannot write '%s': %s\n", out_path ? out_path : "-",
			strerror(-r));
		code = POLICY_USAGE;
		goto out;
	}
	{
		struct ph_policy_info info;

		ph_policy_info(check, &info);
		fprintf(stderr, "plughost: learned %zu rule%s over base %s@%u%s%s\n", info.n_rules,
			info.n_rules == 1 ? "" : "s",
			info.preset == PH_POLICY_THREADS ? "threads" : "strict", info.base_version,
			out_path ? ", written to " : "", out_path ? out_path : "");
	}
	code = POLICY_OK;
out:
	free(text);
	ph_policy_free(check);
	ph_plugin_free(plugin);
	ph_learner_free(learner);
	ph_policy_free(policy);
	ph_host_free(host);
	for (size_t i = 0; i < n_inputs; i++)
		ph_blob_free(inputs[i]);
	return code;
}

int ph_cli_policy(int argc, char **argv)
{
	if (argc < 2)
		return usage("%s", "'policy' needs a command: check or learn");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(policy_usage, stdout);
		return POLICY_OK;
	}
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "learn"))
		return cmd_learn(argc - 1, argv + 1);
	return usage("unknown policy command '%s' (expected check or learn)", argv[1]);
}
