/* SPDX-License-Identifier: MIT */
/*
 * Messages from the instance, by state: everything the child says is
 * checked against the state it is in; anything out of place ends the
 * instance as a protocol violation. Text it sends is sanitised before the
 * host keeps or logs it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "internal.h"
#include "procstat.h"

#define LOG_LINES_PER_CALL 1000
#define LOG_LINES_PER_SEC  100
#define MESSAGES_PER_PASS  64

/*
 * Receive buffers: 64 KiB each, too big for the stack. Each thread keeps
 * one, and a receive nested inside another's handling gets a fresh one: a
 * kill inside dispatch reaps the instance and reads init's exit report,
 * and an output callback may pump another instance. Sharing one buffer
 * there overwrote the message being handled and lost the fds it held.
 */
struct msg_slot {
	struct ph_msg m;
	int busy;
};

static pthread_key_t msg_key;
static pthread_once_t msg_key_once = PTHREAD_ONCE_INIT;

static void msg_key_create(void)
{
	/* free() runs at each thread's exit: a host calling us from many
	 * short-lived threads leaks nothing. */
	pthread_key_create(&msg_key, free);
}

struct ph_msg *ph__msg_get(void)
{
	struct msg_slot *slot;
	struct ph_msg *m;

	pthread_once(&msg_key_once, msg_key_create);
	slot = pthread_getspecific(msg_key);
	if (!slot) {
		slot = calloc(1, sizeof(*slot));
		if (slot && pthread_setspecific(msg_key, slot) != 0) {
			free(slot);
			slot = NULL;
		}
	}
	if (slot && !slot->busy) {
		slot->busy = 1;
		m = &slot->m;
	} else
		m = malloc(sizeof(*m));
	if (m)
		m->nfds = 0;
	return m;
}

void ph__msg_put(struct ph_msg *m)
{
	struct msg_slot *slot;

	if (!m)
		return;
	ph__msg_close_fds(m);
	slot = pthread_getspecific(msg_key);
	if (slot && m == &slot->m)
		slot->busy = 0;
	else
		free(m);
}

static void msg_putp(struct ph_msg **m)
{
	ph__msg_put(*m);
}

enum ph_msg_phase ph__plugin_phase(const struct ph_plugin *p)
{
	switch (p->state) {
	case PH_STATE_SPAWNING:
		return PH_PHASE_SPAWNING;
	case PH_STATE_LOADING:
		return PH_PHASE_LOADING;
	default:
		return PH_PHASE_READY;
	}
}

/* ------------------------------------------------------------- messages */

/* Copy hostile text into a printable, NUL-terminated host string. */
static char *clean_strdup(struct ph_str s)
{
	char *out = malloc(s.len + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < s.len; i++)
		out[i] = s.p[i] >= 0x20 && s.p[i] < 0x7f ? s.p[i] : '?';
	out[s.len] = '\0';
	return out;
}

void ph__clean_copy(char *dst, size_t dst_len, const char *src, size_t len)
{
	size_t n = len < dst_len - 1 ? len : dst_len - 1;

	for (size_t i = 0; i < n; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[n] = '\0';
}

static void clean_copy(char *dst, size_t dst_len, struct ph_str s)
{
	ph__clean_copy(dst, dst_len, s.p, s.len);
}

static int on_sandboxed(struct ph_plugin *p, struct ph_msg *m)
{
	struct ph_msg_sandboxed sb;
	const char *why;

	if (ph__parse_sandboxed(m, &sb, &why) < 0) {
		ph__plugin_kill_protocol(p, why);
		return -EPROTO;
	}
	if (m->nfds == 1) {
		/* The runner sent this before any plugin code ran, and the fd
		 * table made sure the fd is a seccomp listener. */
		p->listener = m->fds[0];
		m->fds[0] = -1;
	}
	p->layers = sb.layers;
	memcpy(p->marks, sb.mark_ns, sizeof(p->marks));
	p->sandboxed_ns = ph__now_ns();
	p->state = PH_STATE_LOADING;
	return 0;
}

static int on_zygote_ready(struct ph_plugin *p, struct ph_msg *m)
{
	struct ph_msg_sandboxed sb;
	const char *why;

	if (!p->is_zygote) {
		ph__plugin_kill_protocol(p, "ZYGOTE_READY from a runner that is no zygote");
		return -EPROTO;
	}
	if (ph__parse_sandboxed(m, &sb, &why) < 0) {
		ph__plugin_kill_protocol(p, why);
		return -EPROTO;
	}
	p->layers = sb.layers;
	memcpy(p->marks, sb.mark_ns, sizeof(p->marks));
	p->state = PH_STATE_IDLE;
	return 0;
}

static int on_loaded(struct ph_plugin *p, struct ph_msg *m)
{
	struct ph_loaded_view *v = malloc(sizeof(*v));
	const char *why;

	if (!v)
		return -ENOMEM;
	if (ph__parse_loaded(m, v, &why) < 0) {
		free(v);
		ph__plugin_kill_protocol(p, why);
		return -EPROTO;
	}
	p->name = clean_strdup(v->name);
	p->version = clean_strdup(v->version);
	p->methods = calloc(v->n_methods ? v->n_methods : 1, sizeof(char *));
	if (!p->name || !p->version || !p->methods) {
		free(v);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < v->n_methods; i++) {
		p->methods[i] = clean_strdup(v->methods[i]);
		if (!p->methods[i]) {
			free(v);
			return -ENOMEM;
		}
		p->n_methods = i + 1;
	}
	p->reads_streams = !!(v->flags & PH_LOADED_READS_STREAMS);
	free(v);
	p->loaded_ns = ph__now_ns();
	/* From now on the loader's syscalls are violations (stage 2). */
	p->state = PH_STATE_IDLE;
	return 0;
}

static int on_setup_failed(struct ph_plugin *p, struct ph_msg *m)
{
	struct ph_failed_view v;
	struct ph_result r;
	const char *why;
	char text[sizeof(r.message)];

	if (ph__parse_failed(m, &v, &why) < 0) {
		ph__plugin_kill_protocol(p, why);
		return -EPROTO;
	}
	clean_copy(text, sizeof(text), v.msg);
	if (p->state == PH_STATE_SPAWNING)
		/* Before SANDBOXED only the runner has run: its step and errno
		 * say which layer failed. */
		ph__result_setup(&r, (int)v.fixed.step, v.fixed.err, "%s", text);
	else
		/* After it, plugin code (its constructors) has run in that
		 * process and holds the socket: step, errno and text may all
		 * be forged, and the runner's own load and descriptor failures
		 * are no different. Say so, and name no sandbox layer: such a
		 * report must never pass for a missing layer, nor lead anyone
		 * to retry with fewer. */
		ph__result_setup(
		    &r, PH_STEP_LOAD, 0,
		    "the plugin failed to load (reported by the sandboxed process): %s", text);
	ph__plugin_kill(p, &r);
	return -EPROTO;
}

static void on_log(struct ph_plugin *p, struct ph_msg *m)
{
	struct ph_log_view v;
	const char *why;
	char text[PH_TEXT_MAX + 1];

	if (ph__parse_log(m, &v, &why) < 0) {
		ph__plugin_kill_protocol(p, why);
		return;
	}
	if (m->hdr.call_id != p->call.id) {
		ph__plugin_kill_protocol(p, "LOG for a call that is not in progress");
		return;
	}
	p->call.log_msgs++;
	/* Bounded per second and per call: a chatty plugin cannot flood the
	 * host's log. */
	if (ph__now_ms() - p->log_window_ms >= 1000) {
		p->log_window_ms = ph__now_ms();
		p->log_in_window = 0;
	}
	if (++p->log_in_window > LOG_LINES_PER_SEC)
		return;
	if (++p->call.log_lines > LOG_LINES_PER_CALL) {
		if (p->call.log_lines == LOG_LINES_PER_CALL + 1)
			ph__log(
			    p->host, p, PH_WARN,
			    "plugin '%s': more than %d log lines in one call, dropping the rest",
			    p->name, LOG_LINES_PER_CALL);
		return;
	}
	clean_copy(text, sizeof(text), v.text);
	p->in_callback++;
	ph__log(p->host, p, (enum ph_level)v.level, "%s", text); /* checked by the parser */
	p->in_callback--;
}

/* Handle one message in the current state. */
static int dispatch(struct ph_plugin *p, struct ph_msg *m)
{
	const uint16_t t = m->hdr.type;

	switch (p->state) {
	case PH_STATE_SPAWNING:
		if (t == PH_MSG_SANDBOXED && !p->is_zygote)
			return on_sandboxed(p, m);
		if (t == PH_MSG_ZYGOTE_READY)
			return on_zygote_ready(p, m);
		if (t == PH_MSG_SETUP_FAILED)
			return on_setup_failed(p, m);
		if (t == PH_MSG_USERNS)
			return ph__on_userns(p, m);
		if (t == PH_MSG_INIT)
			return ph__on_init(p, m);
		break;
	case PH_STATE_LOADING:
		if (t == PH_MSG_LOADED)
			return on_loaded(p, m);
		if (t == PH_MSG_SETUP_FAILED)
			return on_setup_failed(p, m);
		break;
	case PH_STATE_IN_CALL:
		if (t == PH_MSG_LOG) {
			on_log(p, m);
			return 0;
		}
		break;
	case PH_STATE_IDLE:
		break;
	case PH_STATE_DEAD:
		return 0;
	}
	ph__plugin_kill_protocol(p, "unexpected message type for the instance's state");
	return -EPROTO;
}

/* Read every waiting message. Returns 1 on EOF, 0 otherwise. */
int ph__read_messages(struct ph_plugin *p)
{
	struct ph_msg *m __attribute__((cleanup(msg_putp))) = ph__msg_get();
	const char *why;

	if (!m)
		return 0;
	/* At most a batch per pass: a plugin sending messages as fast as we
	 * read them must not keep one pass (one ph_plugin_process()) going
	 * forever; the socket stays readable and the next pass goes on. */
	for (int batch = 0; p->sock >= 0 && batch < MESSAGES_PER_PASS; batch++) {
		int r = ph__msg_recv(p->sock, m, MSG_DONTWAIT, &why);

		if (r == -EAGAIN)
			return 0;
		if (r == 0)
			return 1;
		if (r == -EBADMSG) {
			if (p->state == PH_STATE_SPAWNING && m->hdr.magic == PH_WIRE_MAGIC &&
			    m->hdr.abi != PH_WIRE_ABI) {
				/* The runner is trusted here, and simply not ours. */
				struct ph_result res;

				ph__result_setup(&res, PH_STEP_PROTOCOL, 0,
						 "the runner '%s' speaks wire protocol %u, this "
						 "libplughost speaks %u: they come from different "
						 "plughost builds (install matching ones, or point "
						 "PLUGHOST_RUNNER at this build's runner)",
						 p->host->runner_path, m->hdr.abi, PH_WIRE_ABI);
				ph__plugin_kill(p, &res);
				return 0;
			}
			ph__plugin_kill_protocol(p, why);
			return 0;
		}
		if (r < 0)
			return 1; /* ECONNRESET and the like: treat as EOF */
		/* Every fd is checked against what this message may carry in
		 * this phase before anything looks at it. */
		if (ph__msg_check_fds(m, PH_DIR_RUNNER_TO_HOST, ph__plugin_phase(p), &why) < 0) {
			ph__msg_close_fds(m);
			ph__plugin_kill_protocol(p, why);
			return 0;
		}
		r = dispatch(p, m);
		ph__msg_close_fds(m);
		if (r < 0)
			return 0;
		/* Handshake messages change what comes next: let the caller
		 * look at the new state before reading on. */
		if (p->state != PH_STATE_IN_CALL)
			return 0;
	}
	return 0;
}
