/* SPDX-License-Identifier: MIT */
/*
 * plughost-epoll-demo: several sandboxed plugins at once, from one event loop.
 *
 *	plughost-epoll-demo PLUGIN_DIR [TEXT]
 *
 * host-demo.c runs its plugins one after the other with ph_plugin_call(),
 * which blocks until each call ends. An application with an event loop (a
 * server, a GUI) cannot block like that. This demo shows the other way:
 *
 *   1. spawn every instance: upper.so, wc.so and sha256.so on TEXT (default
 *      "Hello from plughost!\n"), and three more upper.so instances, each
 *      on a text of its own;
 *   2. put each instance's one pollable fd, ph_plugin_fd(), in an epoll set;
 *   3. start one call on every instance with ph_plugin_submit(), which
 *      returns at once: all six plugins now run in parallel;
 *   4. wait in epoll_wait(); for each ready fd call ph_plugin_process(),
 *      which handles what that instance has to say without blocking, hands
 *      its output to our callback, and returns 1 once the call has ended;
 *   5. print each result, labelled, as it completes: the order changes from
 *      run to run, which is the point.
 *
 * The loop here waits on nothing but plugins; a real application adds its
 * own sockets and timers to the same epoll set. The exit status is 0 only
 * if every call succeeded, 1 otherwise, 2 for bad arguments.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <plughost/host.h>

#define DEFAULT_TEXT "Hello from plughost!\n"

/* Most output one call may send. The library enforces it (output_bytes in
 * the limits below) and collect_output() checks it again: the plugin
 * controls how much it writes, so the buffer it fills must be bounded. */
#define MAX_OUTPUT (64u * 1024u)

/* Longest a call may take before the library kills the plugin. Without a
 * deadline, one plugin that hangs keeps its slot in the loop forever. */
#define CALL_TIMEOUT_MS 10000u

/* What to run: the plugin file, its method, a label, and the input text
 * (NULL: the TEXT from the command line). */
struct job {
	const char *file;
	const char *method;
	const char *label;
	const char *text;
};

static const struct job jobs[] = {
    {"upper.so", "upper", "upper", NULL},
    {"wc.so", "wc", "wc", NULL},
    {"sha256.so", "sha256", "sha256", NULL},
    {"upper.so", "upper", "upper#2", "the quick brown fox\n"},
    {"upper.so", "upper", "upper#3", "jumps over\n"},
    {"upper.so", "upper", "upper#4", "the lazy dog\n"},
};

#define N_JOBS (sizeof(jobs) / sizeof(jobs[0]))

/* One instance and the call running in it. */
struct task {
	const struct job *job;
	struct ph_plugin *plugin; /* NULL if it could not be started */
	/* Its output so far: each instance fills its own buffer, since the
	 * pieces of different calls arrive interleaved. */
	char *out;
	size_t out_len;
};

/*
 * Output callback: ph_plugin_process() calls it with each piece of output
 * from this task's plugin, possibly several times per ready event. buf is
 * valid only during the call, so copy it. Returning a negative errno
 * abandons the call; the library then kills the plugin.
 */
static int collect_output(void *userdata, const void *buf, size_t len)
{
	struct task *t = userdata;
	char *grown;

	if (len == 0)
		return 0;
	if (len > MAX_OUTPUT - t->out_len)
		return -EFBIG;
	grown = realloc(t->out, t->out_len + len);
	if (!grown)
		return -ENOMEM;
	t->out = grown;
	memcpy(t->out + t->out_len, buf, len);
	t->out_len += len;
	return 0;
}

/* Print "label  -> output" for a call that succeeded, or why it failed. */
static int report(const struct task *t, const struct ph_result *res)
{
	char line[512];

	if (res->kind == PH_RESULT_OK) {
		/* The bytes are the plugin's, hence untrusted; here they come
		 * from the user's own text, so they are printed as they are. */
		printf("%-8s -> ", t->job->label);
		if (t->out_len > 0)
			fwrite(t->out, 1, t->out_len, stdout);
		if (t->out_len == 0 || t->out[t->out_len - 1] != '\n')
			putchar('\n');
		fflush(stdout);
		return 0;
	}
	if (ph_result_describe(res, line, sizeof(line)) < 0)
		snprintf(line, sizeof(line), "%s", ph_result_kind_name(res->kind));
	fprintf(stderr, "plughost-epoll-demo: %s: %s\n", t->job->label, line);
	return -1;
}

/*
 * Spawn t's plugin and add its fd to the epoll set. Returns 0, or -1 after
 * reporting why on stderr.
 */
static int spawn_task(struct ph_host *host, const char *dir, int epfd, struct task *t)
{
	struct ph_plugin_config cfg;
	struct epoll_event ev = {.events = EPOLLIN};
	struct ph_result res;
	char path[PATH_MAX];
	int r;

	r = snprintf(path, sizeof(path), "%s/%s", dir, t->job->file);
	if (r < 0 || (size_t)r >= sizeof(path)) {
		fprintf(stderr, "plughost-epoll-demo: %s/%s: %s\n", dir, t->job->file,
			strerror(ENAMETOOLONG));
		return -1;
	}

	/* Per-call limits: they apply to every call on this instance. */
	ph_plugin_config_init(&cfg);
	cfg.limits.timeout_ms = CALL_TIMEOUT_MS;
	cfg.limits.output_bytes = MAX_OUTPUT;

	/* Spawning blocks until the plugin is loaded (a few milliseconds).
	 * An application that cannot afford even that keeps a warm pool
	 * (ph_pool_new()) and takes ready instances from it. */
	r = ph_plugin_spawn(host, path, &cfg, &t->plugin, &res);
	if (r == -EPROTO) {
		report(t, &res);
		return -1;
	}
	if (r < 0) {
		fprintf(stderr, "plughost-epoll-demo: %s: %s\n", path, strerror(-r));
		return -1;
	}

	/*
	 * The instance's fd stands for everything it might have to say:
	 * output, the end of the call, a refused syscall, its death, a limit.
	 * The instance owns it: watch it, never read or close it. data.ptr
	 * leads from a ready event back to its task.
	 */
	ev.data.ptr = t;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, ph_plugin_fd(t->plugin), &ev) < 0) {
		fprintf(stderr, "plughost-epoll-demo: %s: epoll_ctl: %s\n", t->job->label,
			strerror(errno));
		/* Unwatched, it must not get a call: nothing would end it. */
		ph_plugin_free(t->plugin);
		t->plugin = NULL;
		return -1;
	}
	return 0;
}

/*
 * Let t's instance handle whatever it has to say, and report its call if
 * that ended it. Returns 0 while the call goes on, 1 once it has succeeded,
 * -1 once it has failed (reported on stderr).
 */
static int process_task(int epfd, struct task *t)
{
	struct ph_result res;
	int r, ret;

	/*
	 * Never blocks. 0: the call goes on (it may have produced output);
	 * wait for the next event. 1: it ended, and res says how. The fd is
	 * level-triggered, so anything left unhandled wakes us again.
	 */
	r = ph_plugin_process(t->plugin, &res);
	if (r == 0)
		return 0;
	if (r < 0) {
		fprintf(stderr, "plughost-epoll-demo: %s: %s\n", t->job->label, strerror(-r));
		ret = -1;
	} else {
		ret = report(t, &res) == 0 ? 1 : -1;
	}
	/* This instance has nothing more to do here. */
	epoll_ctl(epfd, EPOLL_CTL_DEL, ph_plugin_fd(t->plugin), NULL);
	return ret;
}

/*
 * Submit t's call. Returns 0 with the call running, or what
 * process_task() returns when it ended at once.
 */
static int submit_task(int epfd, struct task *t, const char *default_text)
{
	const char *text = t->job->text ? t->job->text : default_text;
	struct ph_blob *input = NULL;
	int r;

	/*
	 * Start the call and return at once. The input is handed over in
	 * ph_plugin_submit() itself, so the blob can go straight away. Output
	 * and the result come later, from ph_plugin_process().
	 */
	r = ph_blob_new_from_bytes(text, strlen(text), &input);
	if (r == 0)
		r = ph_plugin_submit(t->plugin, t->job->method, &input, 1, collect_output, t);
	ph_blob_free(input);
	if (r < 0) {
		fprintf(stderr, "plughost-epoll-demo: %s: cannot start the call: %s\n",
			t->job->label, strerror(-r));
		return -1;
	}

	/*
	 * An instance that died before the call (the library has already
	 * reaped it) has nothing left that could wake the loop: its call has
	 * ended already, with the instance's end, so settle it now.
	 */
	if (!ph_plugin_alive(t->plugin))
		return process_task(epfd, t);
	return 0;
}

/*
 * The event loop: wait until some instance has something to say, let it
 * say it, and report each call as it ends. Returns the number of calls
 * that failed.
 */
static int run_loop(int epfd, size_t n_running)
{
	struct epoll_event events[N_JOBS];
	int failures = 0;

	while (n_running > 0) {
		int n = epoll_wait(epfd, events, (int)N_JOBS, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "plughost-epoll-demo: epoll_wait: %s\n", strerror(errno));
			/* Count every call still running as failed. */
			return failures + (int)n_running;
		}
		for (int i = 0; i < n; i++) {
			/* data.ptr leads from the event back to its task. */
			int r = process_task(epfd, events[i].data.ptr);

			if (r != 0)
				n_running--;
			if (r < 0)
				failures++;
		}
	}
	return failures;
}

int main(int argc, char **argv)
{
	struct task tasks[N_JOBS] = {0};
	struct ph_host *host = NULL;
	const char *dir, *text;
	size_t n_running = 0;
	int epfd = -1, r, failures = 0;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: plughost-epoll-demo PLUGIN_DIR [TEXT]\n");
		return 2;
	}
	dir = argv[1];
	text = argc == 3 ? argv[2] : DEFAULT_TEXT;

	r = ph_host_new(NULL, &host);
	if (r < 0) {
		fprintf(stderr, "plughost-epoll-demo: cannot start plughost: %s\n", strerror(-r));
		failures = 1;
		goto out;
	}
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		fprintf(stderr, "plughost-epoll-demo: epoll_create1: %s\n", strerror(errno));
		failures = 1;
		goto out;
	}

	/* Spawn every instance first, so that the calls start together. */
	for (size_t i = 0; i < N_JOBS; i++) {
		tasks[i].job = &jobs[i];
		if (spawn_task(host, dir, epfd, &tasks[i]) < 0)
			failures++;
	}
	/* Then submit one call to each: none of this waits for a plugin. */
	for (size_t i = 0; i < N_JOBS; i++) {
		if (!tasks[i].plugin)
			continue;
		r = submit_task(epfd, &tasks[i], text);
		if (r == 0)
			n_running++;
		else if (r < 0)
			failures++;
	}

	failures += run_loop(epfd, n_running);

out:
	/* Freeing an instance kills it if still running and reaps it;
	 * ph_plugin_free() accepts NULL for the ones never started. */
	for (size_t i = 0; i < N_JOBS; i++) {
		ph_plugin_free(tasks[i].plugin);
		free(tasks[i].out);
	}
	if (epfd >= 0)
		close(epfd);
	ph_host_free(host);
	return failures ? 1 : 0;
}
