/* SPDX-License-Identifier: MIT */
/*
 * plughost-demo: a complete, small host application for libplughost.
 *
 *	plughost-demo PLUGIN_DIR [TEXT]
 *
 * It starts the three sample plugins (upper.so, wc.so and sha256.so from
 * PLUGIN_DIR), each in its own sandboxed process, hands every one of them
 * the same input, TEXT (default "Hello from plughost!\n"), and prints what
 * each sends back:
 *
 *	upper  -> HELLO FROM PLUGHOST!
 *	wc     ->       1       3      21
 *	sha256 -> 9df93f4b45803c9e9768670c549b082f06a2edba186ecf5604c915b9a298e0b1  -
 *
 * Read it top to bottom to learn the API: a host, a sealed input blob, then
 * for each plugin spawn, call, check the result, free. Anything that goes
 * wrong is reported in one line on stderr and makes the exit status 1; the
 * other plugins still run.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <plughost/host.h>

#define DEFAULT_TEXT "Hello from plughost!\n"

/* What to run: the plugin file, the method to call in it, and a label. */
struct sample {
	const char *file;
	const char *method;
	const char *label;
};

static const struct sample samples[] = {
    {"upper.so", "upper", "upper"},
    {"wc.so", "wc", "wc"},
    {"sha256.so", "sha256", "sha256"},
};

/*
 * Log lines from the library and from plugins (ph_log() in a handler) all
 * arrive here. instance is NULL for the library's own messages.
 */
static void on_log(void *userdata, const struct ph_plugin *instance, enum ph_level severity,
		   const char *line)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	const char *sev = (unsigned int)severity < 4 ? names[severity] : "?";
	const char *who = "plughost";

	(void)userdata;
	/* ph_plugin_name() is what the plugin calls itself: the library has
	 * made it printable, but it is still the plugin's word, not ours. A
	 * plugin that has not finished loading may have no name yet. */
	if (instance != NULL)
		who = ph_plugin_name(instance) ? ph_plugin_name(instance) : "plugin";
	fprintf(stderr, "[%s] %s: %s\n", who, sev, line);
}

/* State for print_output(): whether the last byte printed was a newline. */
struct output {
	int at_line_start;
};

/*
 * Called with each piece of a plugin's output as it streams in, possibly
 * many times per call. buf is only valid during the callback. Returning a
 * negative errno abandons the call (and the library kills the plugin).
 *
 * The bytes are the plugin's: untrusted. The demo copies them to stdout as
 * they are, since they come from the user's own text; an application that
 * shows plugin output to someone else should check it first.
 */
static int print_output(void *userdata, const void *buf, size_t len)
{
	struct output *out = userdata;

	if (len == 0)
		return 0;
	if (fwrite(buf, 1, len, stdout) != len)
		return -EIO;
	out->at_line_start = ((const char *)buf)[len - 1] == '\n';
	return 0;
}

/* Print "plughost-demo: what: <how the result ended>" on stderr. */
static void report_result(const char *what, const struct ph_result *res)
{
	char line[512];

	/* Like snprintf: a line too long for buf is cut short, and a result
	 * it cannot describe is refused (then fall back on the kind's name). */
	if (ph_result_describe(res, line, sizeof(line)) < 0)
		snprintf(line, sizeof(line), "%s", ph_result_kind_name(res->kind));
	fprintf(stderr, "plughost-demo: %s: %s\n", what, line);
}

/*
 * Run one sample plugin on input and print its labelled output. Returns 0
 * on success, -1 after reporting a failure on stderr.
 */
static int run_sample(struct ph_host *host, const char *dir, const struct sample *s,
		      struct ph_blob *input)
{
	struct ph_plugin *plugin = NULL;
	struct ph_result res;
	struct output out = {.at_line_start = 0}; /* the label is printed first */
	char path[PATH_MAX];
	int r, ret = -1;

	r = snprintf(path, sizeof(path), "%s/%s", dir, s->file);
	if (r < 0 || (size_t)r >= sizeof(path)) {
		fprintf(stderr, "plughost-demo: %s/%s: %s\n", dir, s->file, strerror(ENAMETOOLONG));
		goto out;
	}

	/*
	 * Start the plugin. NULL config means the defaults: the strict
	 * seccomp policy (no files, no network, no threads), a 1 MiB output
	 * ring, and every sandbox layer this kernel offers. -EPROTO means the
	 * plugin could not be started, and res says why (it crashed in a
	 * constructor, made a forbidden syscall, has no descriptor, ...).
	 * Other errors come before any plugin code ran: no such file
	 * (-ENOENT), not a shared object (-ENOEXEC), out of memory.
	 */
	r = ph_plugin_spawn(host, path, NULL, &plugin, &res);
	if (r == -EPROTO) {
		report_result(path, &res);
		goto out;
	}
	if (r < 0) {
		fprintf(stderr, "plughost-demo: %s: %s\n", path, strerror(-r));
		goto out;
	}

	/*
	 * Call a method. The input is passed as an array of blobs, here just
	 * one. Output streams to print_output() while the plugin runs; the
	 * call returns when the plugin has finished, failed or died. A
	 * negative return means the call could not be made at all (bad
	 * arguments, no memory); otherwise res says how it ended, and
	 * anything but PH_RESULT_OK is a failure, whatever output arrived
	 * before it. If the plugin died, the instance is dead: spawn a new
	 * one to go on.
	 */
	printf("%-6s -> ", s->label);
	fflush(stdout);
	r = ph_plugin_call(plugin, s->method, &input, 1, print_output, &out, &res);
	if (!out.at_line_start)
		putchar('\n');
	fflush(stdout);
	if (r < 0) {
		fprintf(stderr, "plughost-demo: %s: calling %s: %s\n", s->label, s->method,
			strerror(-r));
		goto out;
	}
	if (res.kind != PH_RESULT_OK) {
		report_result(s->label, &res);
		goto out;
	}

	ret = 0;
out:
	/* Kills the child if it is still running, reaps it, frees it all.
	 * Like every _free in the API, it accepts NULL. */
	ph_plugin_free(plugin);
	return ret;
}

int main(int argc, char **argv)
{
	struct ph_host_config cfg;
	struct ph_host *host = NULL;
	struct ph_blob *input = NULL;
	const char *dir, *text;
	int r, status = 1;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: plughost-demo PLUGIN_DIR [TEXT]\n");
		return 2;
	}
	dir = argv[1];
	text = argc == 3 ? argv[2] : DEFAULT_TEXT;

	/*
	 * One host serves every plugin. Config structs are always set up with
	 * their _init() function first, so fields added in later versions get
	 * their defaults. The host finds the plughost-runner binary by itself
	 * (see ph_host_new() in host.h).
	 */
	ph_host_config_init(&cfg);
	cfg.log_fn = on_log;
	r = ph_host_new(&cfg, &host);
	if (r < 0) {
		fprintf(stderr, "plughost-demo: cannot start plughost: %s\n", strerror(-r));
		goto out;
	}

	/*
	 * The input, copied once into a sealed memfd. Sealed means nobody can
	 * change it any more, so the same blob can go to every plugin, and
	 * each maps it read-only: no further copies, and no way for one
	 * plugin to tamper with what the next one sees.
	 */
	r = ph_blob_new_from_bytes(text, strlen(text), &input);
	if (r < 0) {
		fprintf(stderr, "plughost-demo: cannot create the input: %s\n", strerror(-r));
		goto out;
	}

	status = 0;
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		if (run_sample(host, dir, &samples[i], input) < 0)
			status = 1;
	}

out:
	/* Plugins first (run_sample() freed each), then blobs and host. */
	ph_blob_free(input);
	ph_host_free(host);
	return status;
}
