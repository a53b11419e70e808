/* SPDX-License-Identifier: MIT */
/*
 * Re-entrancy (issue 8, docs/threads.md): every API call an output callback
 * of instance A may make on an instance, and what it must get. One test
 * per cell of the table, for both ways A's call can be running: inside
 * ph_plugin_call(A) or inside ph_plugin_process(A) after ph_plugin_submit().
 *
 *   target                          call/collect/submit  set_limits  restart  free     pool_put
 *   A itself                        -EBUSY               -EBUSY      -EBUSY   refused  refused
 *   B, whose call is further up     -EBUSY               -EBUSY      -EBUSY   refused  refused
 *     this thread's stack (A's
 *     callback runs inside B's)
 *   B, idle                         works                works       works    works    works
 *
 * "refused" for free and pool_put (which return nothing): the call does
 * nothing, and the host's log callback gets one PH_ERROR line naming
 * the function and "its own output callback". After every cell the outer
 * call (and, for B up the stack, the inner one) has ended OK with all its
 * output, and every instance still ours takes a call.
 *
 * Each cell runs in a child process with a host of its own, so that one
 * whose refusal is missing (a free that frees the instance under its
 * own call) fails alone, with how it died, instead of taking the other
 * cells with it; a cell that hangs is killed by an alarm.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <plughost/host.h>

#include "testhost.h"

#define FLOOD	       "100000"
#define FLOOD_BYTES    100000u
#define CELL_ALARM_S   30
#define PROCESS_WAITMS 10000

enum target { SELF, OUTER, OTHER };
enum action { CALL, COLLECT, SUBMIT, SET_LIMITS, RESTART, FREE, POOL_PUT };
enum via { VIA_CALL, VIA_PROCESS };

static const char *const target_names[] = {"A itself", "B up the stack", "idle B"};
static const char *const action_names[] = {
    "ph_plugin_call",	 "ph_plugin_call_collect", "ph_plugin_submit", "ph_plugin_set_limits",
    "ph_plugin_restart", "ph_plugin_free",	   "ph_pool_put"};

struct cell {
	enum target target;
	enum action action;
	enum via via;
};

/* ------------------------------------------------------ the child's side */

/* Everything one cell's child process holds. */
struct ctx {
	struct cell c;
	struct ph_host *host;
	struct ph_pool *pool;
	struct ph_plugin *a, *b;
	struct ph_plugin *target; /* a or b; NULL once handed away */
	int target_pid;
	size_t pool_ready0;
	/* The callback that acts: which instance's, and what it saw. */
	struct ph_plugin *actor;
	int acted, action_rc;
	uint64_t outer_pos, inner_pos;
	int inner_rc;
	struct ph_result inner_res;
	/* The host's log: PH_ERROR lines. */
	unsigned int errors;
	char error_line[512];
	char why[768];
};

static struct ctx *cx;	   /* the child's one context, for the fail path */
static int report_fd = -1; /* the child's end of the pipe to the parent */

__attribute__((format(printf, 1, 2), noreturn)) static void child_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cx->why, sizeof(cx->why), fmt, ap);
	va_end(ap);
	if (report_fd < 0 || write(report_fd, cx->why, strlen(cx->why)) < 0)
		fprintf(stderr, "cell: %s\n", cx->why);
	_exit(1);
}

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			child_fail(__VA_ARGS__);                                                   \
	} while (0)

static void log_fn(void *userdata, const struct ph_plugin *instance, enum ph_level sev,
		   const char *line)
{
	struct ctx *c = userdata;

	(void)instance;
	if (sev != PH_ERROR)
		return;
	c->errors++;
	snprintf(c->error_line, sizeof(c->error_line), "%s", line);
}

static int refused(const struct ctx *c)
{
	return c->c.target != OTHER;
}

static struct ph_blob *blob_of(const char *text)
{
	struct ph_blob *b = NULL;
	int r = ph_blob_new_from_bytes(text, strlen(text), &b);

	CHECK(r == 0, "ph_blob_new_from_bytes: %s", strerror(-r));
	return b;
}

/* Wait for a submitted call through the instance's pollable fd. */
static int drive(struct ph_plugin *p, struct ph_result *res)
{
	for (;;) {
		struct pollfd pfd = {.fd = ph_plugin_fd(p), .events = POLLIN};
		int r = poll(&pfd, 1, PROCESS_WAITMS);

		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		r = ph_plugin_process(p, res);
		if (r != 0)
			return r < 0 ? r : 0;
	}
}

struct sink {
	char buf[64];
	size_t len;
};

static int sink_fn(void *userdata, const void *buf, size_t len)
{
	struct sink *s = userdata;

	if (s->len + len >= sizeof(s->buf))
		return -ENOSPC;
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
	s->buf[s->len] = '\0';
	return 0;
}

/* Echo "again" through p by call: it must work. */
static void check_usable(struct ph_plugin *p, const char *who)
{
	struct ph_blob *in = blob_of(who);
	struct sink out = {0};
	struct ph_result res;
	int r = ph_plugin_call(p, "echo", &in, 1, sink_fn, &out, &res);

	ph_blob_free(in);
	CHECK(r == 0, "%s: a later call failed: %s", who, strerror(-r));
	CHECK(res.kind == PH_RESULT_OK && strcmp(out.buf, who) == 0,
	      "%s: a later call ended as %s with '%s': %s", who, ph_result_kind_name(res.kind),
	      out.buf, res.message);
}

/* The action, on c->target, from inside c->actor's output callback. */
static void act(struct ctx *c)
{
	struct ph_plugin *t = c->target;
	struct ph_blob *in;
	struct ph_result res;
	struct ph_limits lim = {.timeout_ms = 60000};
	struct sink out = {0};
	void *buf = NULL;
	size_t len = 0;
	int r;

	switch (c->c.action) {
	case CALL:
		in = blob_of("x");
		r = ph_plugin_call(t, "echo", &in, 1, sink_fn, &out, &res);
		ph_blob_free(in);
		if (r == 0)
			CHECK(res.kind == PH_RESULT_OK && strcmp(out.buf, "x") == 0,
			      "the nested call ended as %s with '%s'",
			      ph_result_kind_name(res.kind), out.buf);
		break;
	case COLLECT:
		in = blob_of("x");
		r = ph_plugin_call_collect(t, "echo", &in, 1, &buf, &len, &res);
		ph_blob_free(in);
		if (r == 0)
			CHECK(res.kind == PH_RESULT_OK && len == 1 && memcmp(buf, "x", 1) == 0,
			      "the nested collect ended as %s", ph_result_kind_name(res.kind));
		free(buf);
		break;
	case SUBMIT:
		in = blob_of("x");
		r = ph_plugin_submit(t, "echo", &in, 1, sink_fn, &out);
		ph_blob_free(in); /* inputs may go as soon as submit returns */
		if (r == 0) {
			r = drive(t, &res);
			CHECK(r == 0, "processing the nested submit: %s", strerror(-r));
			CHECK(res.kind == PH_RESULT_OK && strcmp(out.buf, "x") == 0,
			      "the nested submit ended as %s with '%s'",
			      ph_result_kind_name(res.kind), out.buf);
		}
		break;
	case SET_LIMITS:
		r = ph_plugin_set_limits(t, &lim);
		break;
	case RESTART:
		r = ph_plugin_restart(t, &res);
		break;
	case FREE:
		ph_plugin_free(t);
		r = 0;
		if (!refused(c)) {
			if (c->b == t)
				c->b = NULL;
			c->target = NULL;
		}
		break;
	case POOL_PUT:
		ph_pool_put(c->pool, t);
		r = 0;
		if (!refused(c)) {
			if (c->b == t)
				c->b = NULL;
			c->target = NULL;
		}
		break;
	default:
		r = -ENOTSUP;
	}
	c->action_rc = r;
}

/* Checks A's pattern; acts on the first chunk when this is the actor. */
static int outer_or_inner_cb(struct ctx *c, uint64_t *pos, struct ph_plugin *self, const void *buf,
			     size_t len)
{
	const char *b = buf;

	for (size_t i = 0; i < len; i++)
		if (b[i] != 'a' + (char)((*pos + i) % 26))
			child_fail("%s's output byte %llu is '%c'%s", self == c->a ? "A" : "B",
				   (unsigned long long)(*pos + i), b[i],
				   c->acted ? ", after the action" : "");
	*pos += len;
	if (self == c->actor && !c->acted) {
		c->acted = 1;
		act(c);
	}
	return 0;
}

static int inner_cb(void *userdata, const void *buf, size_t len)
{
	struct ctx *c = userdata;

	return outer_or_inner_cb(c, &c->inner_pos, c->a, buf, len);
}

static int outer_cb(void *userdata, const void *buf, size_t len)
{
	struct ctx *c = userdata;
	struct ph_plugin *self = c->c.target == OUTER ? c->b : c->a;
	int first = c->outer_pos == 0;
	int r = outer_or_inner_cb(c, &c->outer_pos, self, buf, len);

	/* B up the stack: B's callback calls A, whose callback acts on B. */
	if (c->c.target == OUTER && first) {
		struct ph_blob *in = blob_of(FLOOD);

		c->inner_rc = ph_plugin_call(c->a, "flood", &in, 1, inner_cb, c, &c->inner_res);
		ph_blob_free(in);
	}
	return r;
}

static struct ph_plugin *spawn_echo(struct ctx *c, const char *path)
{
	struct ph_plugin *p = NULL;
	struct ph_result res;
	char line[512];
	int r = ph_plugin_spawn(c->host, path, NULL, &p, &res);

	if (r < 0) {
		ph_result_describe(&res, line, sizeof(line));
		child_fail("spawn: %s: %s", strerror(-r), line);
	}
	return p;
}

static void run_cell(const struct cell *cell)
{
	struct ctx c = {.c = *cell};
	struct ph_host_config hc;
	struct ph_plugin *outer;
	struct ph_result res, fail;
	struct ph_blob *in;
	struct tu_snapshot before = tu_snapshot();
	char *path = tu_plugin_path("echo.so");
	int r;

	cx = &c;
	ph_host_config_init(&hc);
	hc.log_fn = log_fn;
	hc.log_userdata = &c;
	r = ph_host_new(&hc, &c.host);
	CHECK(r == 0, "ph_host_new: %s", strerror(-r));

	c.a = spawn_echo(&c, path);
	if (cell->action == POOL_PUT) {
		struct ph_plugin *taken = NULL;

		r = ph_pool_new(c.host, path, NULL, 1, &c.pool, &fail);
		CHECK(r == 0, "ph_pool_new: %s", strerror(-r));
		/* Put keeps instances here: what is tested is put itself. */
		ph_pool_set_reuse(c.pool, 1);
		r = ph_pool_take(c.pool, &taken, &fail);
		CHECK(r == 0, "ph_pool_take: %s", strerror(-r));
		c.pool_ready0 = ph_pool_ready(c.pool);
		/* The instance the action is about comes from the pool. */
		if (cell->target == SELF) {
			c.b = c.a;
			c.a = taken;
		} else {
			c.b = taken;
		}
	} else {
		c.b = spawn_echo(&c, path);
	}
	c.target = cell->target == SELF ? c.a : c.b;
	c.actor = c.a;
	c.target_pid = ph_plugin_process_pid(c.target);
	outer = cell->target == OUTER ? c.b : c.a;

	in = blob_of(FLOOD);
	if (cell->via == VIA_CALL) {
		r = ph_plugin_call(outer, "flood", &in, 1, outer_cb, &c, &res);
	} else {
		r = ph_plugin_submit(outer, "flood", &in, 1, outer_cb, &c);
		if (r == 0)
			r = drive(outer, &res);
	}
	ph_blob_free(in);

	/* The outer call, and the inner one, ended well with all they said. */
	CHECK(r == 0, "the outer call failed: %s", strerror(-r));
	CHECK(c.acted, "the callback never ran the action");
	CHECK(res.kind == PH_RESULT_OK && res.message[0] == '\0',
	      "the outer call ended as %s: '%s'", ph_result_kind_name(res.kind), res.message);
	CHECK(c.outer_pos == FLOOD_BYTES && res.output_bytes == FLOOD_BYTES,
	      "the outer call streamed %llu bytes, reported %llu", (unsigned long long)c.outer_pos,
	      (unsigned long long)res.output_bytes);
	if (cell->target == OUTER) {
		CHECK(c.inner_rc == 0, "the inner call on A failed: %s", strerror(-c.inner_rc));
		CHECK(c.inner_res.kind == PH_RESULT_OK && c.inner_pos == FLOOD_BYTES,
		      "the inner call on A ended as %s after %llu bytes",
		      ph_result_kind_name(c.inner_res.kind), (unsigned long long)c.inner_pos);
	}

	/* What the action itself got. */
	switch (cell->action) {
	case FREE:
	case POOL_PUT:
		if (refused(&c)) {
			CHECK(c.errors == 1, "%u error lines logged for a refused %s, wanted 1",
			      c.errors, action_names[cell->action]);
			CHECK(strstr(c.error_line, action_names[cell->action]) &&
				  strstr(c.error_line, "its own output callback"),
			      "the error line '%s' does not name %s and 'its own output callback'",
			      c.error_line, action_names[cell->action]);
		} else {
			CHECK(c.errors == 0, "an allowed %s logged '%s'",
			      action_names[cell->action], c.error_line);
		}
		if (cell->action == POOL_PUT)
			CHECK(ph_pool_ready(c.pool) == c.pool_ready0 + !refused(&c),
			      "the pool holds %zu ready, wanted %zu", ph_pool_ready(c.pool),
			      c.pool_ready0 + !refused(&c));
		break;
	default:
		if (refused(&c))
			CHECK(c.action_rc == -EBUSY, "%s on %s returned %d (%s), wanted -EBUSY",
			      action_names[cell->action], target_names[cell->target], c.action_rc,
			      strerror(-c.action_rc));
		else
			CHECK(c.action_rc == 0, "%s on %s returned %d (%s), wanted 0",
			      action_names[cell->action], target_names[cell->target], c.action_rc,
			      strerror(-c.action_rc));
		CHECK(c.errors == 0, "logged '%s'", c.error_line);
		break;
	}

	/* Every instance still ours is alive and takes a call; only an
	 * allowed restart changed the target's process. */
	if (c.target) {
		int pid = ph_plugin_process_pid(c.target);

		CHECK(ph_plugin_alive(c.target), "%s is dead after the cell",
		      target_names[cell->target]);
		if (cell->action == RESTART && !refused(&c))
			CHECK(pid != c.target_pid, "the restarted instance kept its process");
		else
			CHECK(pid == c.target_pid, "%s's process changed from %d to %d",
			      target_names[cell->target], c.target_pid, pid);
	}
	check_usable(c.a, "A");
	if (c.b && c.b != c.a)
		check_usable(c.b, "B");
	if (cell->action == POOL_PUT && refused(&c)) {
		/* Now that its call is over it may go back, and is kept. */
		struct ph_plugin *t = c.target;

		if (c.a == t)
			c.a = NULL;
		if (c.b == t)
			c.b = NULL;
		ph_pool_put(c.pool, t);
		CHECK(ph_pool_ready(c.pool) == c.pool_ready0 + 1,
		      "put back after the call, the pool holds %zu ready, wanted %zu",
		      ph_pool_ready(c.pool), c.pool_ready0 + 1);
	}
	ph_plugin_free(c.a);
	if (c.b != c.a)
		ph_plugin_free(c.b);
	ph_pool_free(c.pool);
	ph_host_free(c.host);
	free(path);
	{
		struct tu_snapshot now = tu_snapshot();

		CHECK(now.fds == before.fds && now.maps == before.maps &&
			  now.children == before.children,
		      "left fds %d -> %d, memfd maps %d -> %d, children %d -> %d", before.fds,
		      now.fds, before.maps, now.maps, before.children, now.children);
	}
}

/* ----------------------------------------------------- the parent's side */

static void test_cell(void **state)
{
	const struct cell *cell = *state;
	struct tu_snapshot before = tu_snapshot();
	char why[1024] = "";
	ssize_t n = 0, got;
	int pipefd[2], st;
	pid_t pid;

	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pipefd[0]);
		report_fd = pipefd[1];
		alarm(CELL_ALARM_S);
		run_cell(cell);
		_exit(0);
	}
	close(pipefd[1]);
	/* The child's reason, if it gives one; EOF when it is gone. */
	while ((got = read(pipefd[0], why + n, sizeof(why) - 1 - (size_t)n)) > 0)
		n += got;
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		fail_msg("%s on %s (%s): the cell died of signal %d (%s)%s",
			 action_names[cell->action], target_names[cell->target],
			 cell->via == VIA_CALL ? "in ph_plugin_call" : "in ph_plugin_process",
			 WTERMSIG(st), strsignal(WTERMSIG(st)),
			 WTERMSIG(st) == SIGALRM ? ": it hung" : "");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("%s on %s (%s): %s (exit %d)", action_names[cell->action],
			 target_names[cell->target],
			 cell->via == VIA_CALL ? "in ph_plugin_call" : "in ph_plugin_process",
			 n ? why : "failed, no reason given (a sanitizer report above?)",
			 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	tu_assert_unchanged(&before);
}

#define CELL(t, a, v)                                                                              \
	{                                                                                          \
		.target = t, .action = a, .via = v                                                 \
	}
#define ROW(t, a) CELL(t, a, VIA_CALL), CELL(t, a, VIA_PROCESS)
#define ALL(t)                                                                                     \
	ROW(t, CALL), ROW(t, COLLECT), ROW(t, SUBMIT), ROW(t, SET_LIMITS), ROW(t, RESTART),        \
	    ROW(t, FREE), ROW(t, POOL_PUT)

static const struct cell cells[] = {ALL(OTHER), ALL(SELF), ALL(OUTER)};
#define N_CELLS (sizeof(cells) / sizeof(cells[0]))

int main(void)
{
	struct CMUnitTest tests[N_CELLS];
	static char names[N_CELLS][96];

	for (size_t i = 0; i < N_CELLS; i++) {
		const struct cell *c = &cells[i];

		snprintf(names[i], sizeof(names[i]), "%s on %s, %s", action_names[c->action],
			 target_names[c->target],
			 c->via == VIA_CALL ? "in ph_plugin_call" : "in ph_plugin_process");
		tests[i] = (struct CMUnitTest){
		    .name = names[i], .test_func = test_cell, .initial_state = (void *)c};
	}
	return cmocka_run_group_tests_name("reentry", tests, NULL, NULL);
}
