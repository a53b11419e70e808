/* SPDX-License-Identifier: MIT */
/*
 * The ways a call can end, as a table the soak (tests/test-soak.c) and the
 * stress suite (tests/test-stress.c) share: a crash, two refused syscalls,
 * three lies on the control socket, a deadline, the output quota, an exit,
 * an error the plugin returns, and a call that goes well. Each entry names
 * the test plugin and method that ends that way and exactly what the result
 * must say; tc_run() runs one in a fresh instance and checks it.
 *
 * tc_run() reports a mismatch as text instead of failing through cmocka, so
 * that threads other than cmocka's own can use it (cmocka's assertions
 * longjmp, which only the thread running the test may do).
 */
#pragma once

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plughost/host.h>

#include "testhost.h"

#define TC_TIMEOUT_MS  20
#define TC_QUOTA_BYTES 65536
#define TC_ECHO_INPUT  "soak"

enum tc_plugin { TC_ECHO, TC_HOSTILE, TC_LIMITS, TC_PLUGIN_COUNT };

static const char *const tc_plugin_files[TC_PLUGIN_COUNT]
    __attribute__((unused)) = {"echo.so", "hostile.so", "limits.so"};

/* One way for a call to end. */
struct tc_kind {
	enum tc_plugin plugin;
	const char *method;
	const char *input; /* the one input, or NULL for none */
	uint64_t timeout_ms, output_bytes;
	enum ph_result_kind want;
	/* VIOLATION: the syscall; PROTOCOL and PLUGIN_ERROR: the message.
	 * CRASHED: the signal, EXITED: the status, PLUGIN_ERROR: the code,
	 * in want_value. */
	const char *want_text;
	int want_value;
	/* The output the run must have produced first (NULL: not checked).
	 * For an attack, its "reached NAME" line: the attack really ran. */
	const char *want_output;
};

static const struct tc_kind tc_kinds[] __attribute__((unused)) = {
    {TC_ECHO, "echo", TC_ECHO_INPUT, 0, 0, PH_RESULT_OK, NULL, 0, TC_ECHO_INPUT},
    {TC_ECHO, "crash", NULL, 0, 0, PH_RESULT_CRASHED, NULL, SIGSEGV, NULL},
    {TC_HOSTILE, "attack", "open_passwd", 0, 0, PH_RESULT_VIOLATION, "openat", 0,
     "reached open_passwd\n"},
    {TC_HOSTILE, "attack", "socket_inet", 0, 0, PH_RESULT_VIOLATION, "socket", 0,
     "reached socket_inet\n"},
    {TC_HOSTILE, "attack", "forge_done", 0, 0, PH_RESULT_PROTOCOL,
     "completion for a call that is not in progress", 0, "reached forge_done\n"},
    {TC_HOSTILE, "attack", "runt_message", 0, 0, PH_RESULT_PROTOCOL,
     "message shorter than its header", 0, "reached runt_message\n"},
    {TC_HOSTILE, "attack", "log_with_fd", 0, 0, PH_RESULT_PROTOCOL,
     "wrong number of fds for this message type", 0, "reached log_with_fd\n"},
    {TC_LIMITS, "sleep", NULL, TC_TIMEOUT_MS, 0, PH_RESULT_TIMEOUT, NULL, 0, NULL},
    {TC_LIMITS, "flood", NULL, 0, TC_QUOTA_BYTES, PH_RESULT_OUTPUT_QUOTA, NULL, 0, NULL},
    {TC_ECHO, "exit", NULL, 0, 0, PH_RESULT_EXITED, NULL, 3, NULL},
    {TC_ECHO, "fail", NULL, 0, 0, PH_RESULT_PLUGIN_ERROR, "asked to fail", 42, NULL},
};

#define TC_KIND_COUNT (sizeof(tc_kinds) / sizeof(tc_kinds[0]))

/* The attack for hostile.so, else the method. */
static inline const char *tc_kind_name(const struct tc_kind *c)
{
	return c->plugin == TC_HOSTILE ? c->input : c->method;
}

/* The plugins' paths and one sealed input blob per kind that takes one. A
 * sealed blob may be passed to calls on many threads at once. */
struct tc_world {
	char *paths[TC_PLUGIN_COUNT];
	struct ph_blob *inputs[TC_KIND_COUNT];
};

/* Fill w. Returns 0 or a negative errno. */
static inline int tc_world_init(struct tc_world *w)
{
	memset(w, 0, sizeof(*w));
	for (int i = 0; i < TC_PLUGIN_COUNT; i++)
		w->paths[i] = tu_plugin_path(tc_plugin_files[i]);
	for (size_t k = 0; k < TC_KIND_COUNT; k++) {
		int r;

		if (!tc_kinds[k].input)
			continue;
		r = ph_blob_new_from_bytes(tc_kinds[k].input, strlen(tc_kinds[k].input),
					   &w->inputs[k]);
		if (r < 0)
			return r;
	}
	return 0;
}

static inline void tc_world_fini(struct tc_world *w)
{
	for (size_t k = 0; k < TC_KIND_COUNT; k++)
		ph_blob_free(w->inputs[k]);
	for (int i = 0; i < TC_PLUGIN_COUNT; i++)
		free(w->paths[i]);
	memset(w, 0, sizeof(*w));
}

__attribute__((format(printf, 3, 4))) static inline int tc_why(char *why, size_t len,
							       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Check how a run of kind c ended: res, the output (out, len) it produced
 * and whether the instance is alive after it. Returns 0, or -1 with the
 * reason in why.
 */
static inline int tc_check(const struct tc_kind *c, const struct ph_result *res, const char *out,
			   size_t len, int alive, char *why, size_t why_len)
{
	char line[512];

	ph_result_describe(res, line, sizeof(line));
	if (res->kind != c->want)
		return tc_why(why, why_len, "wanted result kind %s, got: %s",
			      ph_result_kind_name(c->want), line);
	if (c->want_output && (len != strlen(c->want_output) || strcmp(out, c->want_output) != 0))
		return tc_why(why, why_len, "did not prove it ran (output '%.*s'): %s",
			      (int)(len > 80 ? 80 : len), out, line);
	switch (c->want) {
	case PH_RESULT_VIOLATION:
		if (strcmp(res->violation.name, c->want_text) != 0)
			return tc_why(why, why_len, "violation names '%s', wanted '%s'",
				      res->violation.name, c->want_text);
		break;
	case PH_RESULT_PROTOCOL:
		if (strcmp(res->message, c->want_text) != 0)
			return tc_why(why, why_len, "protocol violation '%s', wanted '%s'",
				      res->message, c->want_text);
		break;
	case PH_RESULT_CRASHED:
		if (res->crash.signo != c->want_value)
			return tc_why(why, why_len, "wanted signal %d: %s", c->want_value, line);
		break;
	case PH_RESULT_PLUGIN_ERROR:
		if (res->code != c->want_value || strcmp(res->message, c->want_text) != 0)
			return tc_why(why, why_len, "wanted error %d '%s': %s", c->want_value,
				      c->want_text, line);
		break;
	case PH_RESULT_EXITED:
		if (res->code != c->want_value)
			return tc_why(why, why_len, "wanted exit status %d: %s", c->want_value,
				      line);
		break;
	case PH_RESULT_OUTPUT_QUOTA:
		/* Exactly the quota reached the host, not a byte more. */
		if (len != c->output_bytes)
			return tc_why(why, why_len, "%zu output bytes, wanted the quota %llu", len,
				      (unsigned long long)c->output_bytes);
		break;
	default:
		break;
	}
	/* A call that went well or returned an error leaves the instance
	 * running; every other end kills it. */
	if (!!alive != (c->want == PH_RESULT_OK || c->want == PH_RESULT_PLUGIN_ERROR))
		return tc_why(why, why_len, "instance %s after: %s", alive ? "still alive" : "dead",
			      line);
	return 0;
}

/*
 * Run kind k once in a fresh instance spawned from host, and check how it
 * ended. Returns 0 when it ended as it must; a negative errno when an API
 * call failed (spawn or call), with the reason in why; -1 with the reason
 * in why when it ended in any other way.
 */
static inline int tc_run(struct ph_host *h, const struct tc_world *w, size_t k, char *why,
			 size_t why_len)
{
	const struct tc_kind *c = &tc_kinds[k];
	struct ph_plugin_config cfg;
	struct ph_plugin *p = NULL;
	struct ph_result res;
	char line[512];
	void *out = NULL;
	size_t len = 0;
	int r;

	ph_plugin_config_init(&cfg);
	cfg.limits.timeout_ms = c->timeout_ms;
	cfg.limits.output_bytes = c->output_bytes;
	r = ph_plugin_spawn(h, w->paths[c->plugin], &cfg, &p, &res);
	if (r < 0) {
		ph_result_describe(&res, line, sizeof(line));
		snprintf(why, why_len, "spawn failed (%s): %s", strerror(-r), line);
		return r;
	}
	r = ph_plugin_call_collect(p, c->method, c->input ? &w->inputs[k] : NULL, c->input ? 1 : 0,
				   &out, &len, &res);
	if (r < 0)
		snprintf(why, why_len, "call failed: %s", strerror(-r));
	else
		r = tc_check(c, &res, out, len, ph_plugin_alive(p), why, why_len);
	free(out);
	ph_plugin_free(p);
	return r;
}
