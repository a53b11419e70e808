/* SPDX-License-Identifier: MIT */
/*
 * The host's side of the call slot (common/ring-layout.h): post a request
 * and wake the runner only if it sleeps; take a completion, treating every
 * byte of it as hostile. A call that needs no fd (inline and cached inputs)
 * costs no syscall on either side when both are awake.
 *
 * Inputs: small ones are copied into the request; a stream is fed through
 * the input ring (stream.c); larger ones go as sealed
 * memfds in a CALL message on the control socket, and those worth keeping
 * mapped are kept by the runner at an entry the host names, so that a blob
 * passed to many calls is mapped (and its pages faulted in) once. The host
 * decides every entry and mirrors them; the runner checks the memfd's
 * identity (st_dev, st_ino) against its entry, never a host id.
 */
#include <errno.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

/* Inputs at least this big are kept mapped by the runner across calls. */
#define CACHE_MIN_BYTES (64u << 10)
/* How long the runner spins for the next request after a completion. */
#define RUNNER_SPIN_NS	    20000u
#define RUNNER_SPIN_NS_SPIN 200000u

/* The most the runner may keep mapped: half the memory limit, else 1 GiB. */
static uint64_t cache_budget(const struct ph_plugin *p)
{
	return p->limits.memory_bytes ? p->limits.memory_bytes / 2 : (1ull << 30);
}

/*
 * Where the runner should keep blob b: an entry already holding it
 * (*ret_hit), a free one, or the least recently used one that makes room.
 * Returns the entry, or PH_SLOT_NO_CACHE when b is not worth keeping or
 * does not fit the budget.
 */
static uint32_t cache_pick(struct ph_plugin *p, const struct ph_blob *b, int *ret_hit)
{
	uint64_t used = 0, budget = cache_budget(p);
	uint32_t pick = PH_SLOT_NO_CACHE;

	*ret_hit = 0;
	if (b->size < CACHE_MIN_BYTES || b->size > budget)
		return PH_SLOT_NO_CACHE;
	for (uint32_t i = 0; i < PH_SLOT_CACHE_MAX; i++) {
		const struct ph_cached_input *e = &p->cache[i];

		if (e->last_call && e->dev == b->dev && e->ino == b->ino && e->size == b->size) {
			*ret_hit = 1;
			return i;
		}
		if (e->last_call && !(p->evict_pending & (1u << i)))
			used += e->size;
	}
	/* Evict least recently used entries until b fits. */
	while (used + b->size > budget) {
		uint32_t lru = PH_SLOT_NO_CACHE;

		for (uint32_t i = 0; i < PH_SLOT_CACHE_MAX; i++)
			if (p->cache[i].last_call && !(p->evict_pending & (1u << i)) &&
			    (lru == PH_SLOT_NO_CACHE ||
			     p->cache[i].last_call < p->cache[lru].last_call))
				lru = i;
		if (lru == PH_SLOT_NO_CACHE)
			return PH_SLOT_NO_CACHE;
		p->evict_pending |= 1u << lru;
		used -= p->cache[lru].size;
	}
	for (uint32_t i = 0; i < PH_SLOT_CACHE_MAX; i++) {
		const struct ph_cached_input *e = &p->cache[i];

		if (!e->last_call || (p->evict_pending & (1u << i)))
			return i;
		if (pick == PH_SLOT_NO_CACHE || e->last_call < p->cache[pick].last_call)
			pick = i;
	}
	return pick; /* all in use: the least recently used is replaced */
}

PH_EXPORT int ph_plugin_drop_inputs(struct ph_plugin *p)
{
	if (!p)
		return -EINVAL;
	if (p->state == PH_STATE_IN_CALL || p->call.finished)
		return -EBUSY;
	for (uint32_t i = 0; i < PH_SLOT_CACHE_MAX; i++)
		if (p->cache[i].last_call)
			p->evict_pending |= 1u << i;
	memset(p->cache, 0, sizeof(p->cache));
	return 0;
}

void ph__slot_forget_cache(struct ph_plugin *p)
{
	memset(p->cache, 0, sizeof(p->cache));
	p->evict_pending = 0;
}

int ph__slot_post(struct ph_plugin *p, const char *method, size_t mlen,
		  struct ph_blob *const *inputs, size_t n)
{
	struct ph_ring_shared *s = p->ring_map;
	struct ph_slot_req *q = ph_slot_req_of(p->ring_map);
	struct ph_msg_call call = {0};
	int fds[PH_INPUTS_MAX], own[PH_INPUTS_MAX];
	unsigned int n_own = 0;
	uint64_t inline_used = 0;
	uint32_t seq;
	int r;

	q->call_id = p->call.id;
	q->n_inputs = (uint32_t)n;
	q->method_len = (uint32_t)mlen;
	memcpy(q->method, method, mlen);
	q->spin_ns = p->cfg.wait == PH_WAIT_SPIN ? RUNNER_SPIN_NS_SPIN : RUNNER_SPIN_NS;
	q->reserved = 0;
	for (size_t i = 0; i < n; i++) {
		const struct ph_blob *b = inputs[i];
		struct ph_slot_input *in = &q->in[i];
		int hit;

		*in = (struct ph_slot_input){.cache = PH_SLOT_NO_CACHE, .size = b->size};
		if (b->stream) {
			/* Its bytes follow through the input ring, which
			 * ph__stream_claim() made ready. */
			in->how = PH_IN_STREAM;
			continue;
		}
		if (b->size <= PH_BLOB_INLINE_MAX && b->size <= PH_SLOT_INLINE_MAX - inline_used) {
			in->how = PH_IN_INLINE;
			in->offset = inline_used;
			if (b->size)
				memcpy(q->inline_data + inline_used, b->bytes, b->size);
			inline_used += b->size;
			continue;
		}
		if (b->fd < 0) {
			/* No inline room left for a blob that has no memfd:
			 * one for this call alone. */
			int fd = ph__blob_memfd(b);

			if (fd < 0) {
				r = fd;
				goto out;
			}
			own[n_own++] = fd;
			in->how = PH_IN_FD;
			fds[call.n_fds++] = fd;
			continue;
		}
		in->dev = b->dev;
		in->ino = b->ino;
		in->cache = cache_pick(p, b, &hit);
		if (in->cache != PH_SLOT_NO_CACHE) {
			p->cache[in->cache] = (struct ph_cached_input){
			    .dev = b->dev, .ino = b->ino, .size = b->size, .last_call = p->call.id};
			if (hit) {
				in->how = PH_IN_CACHED;
				continue;
			}
			/* Storing into the entry replaces what it held. */
			p->evict_pending &= ~(1u << in->cache);
		}
		in->how = PH_IN_FD;
		fds[call.n_fds++] = b->fd;
	}
	q->n_fds = call.n_fds;
	q->evict = p->evict_pending;
	p->evict_pending = 0;

	/* The fds first: the runner reads them when it sees the request. */
	if (call.n_fds) {
		r = ph__msg_send(p->sock, PH_MSG_CALL, p->call.id, &call, sizeof(call), fds,
				 call.n_fds);
		if (r < 0)
			goto out;
	}
	seq = __atomic_load_n(&s->req_seq, __ATOMIC_RELAXED);
	__atomic_store_n(&s->req_seq, seq + 1, __ATOMIC_RELEASE);
	/* Pairs with the runner's fence between setting runner_sleeping and
	 * looking at req_seq again: one of us sees the other. A lying runner
	 * only costs us one cheap syscall. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->runner_sleeping, __ATOMIC_RELAXED))
		syscall(SYS_futex, &s->req_seq, FUTEX_WAKE, 1, NULL, NULL, 0);
	r = 0;
out:
	while (n_own)
		close(own[--n_own]);
	return r;
}

int ph__slot_news(const struct ph_plugin *p)
{
	const struct ph_ring_shared *s = p->ring_map;

	return __atomic_load_n(&s->done_seq, __ATOMIC_ACQUIRE) != p->done_seen ||
	       __atomic_load_n(&s->head, __ATOMIC_RELAXED) != p->ring.tail;
}

/* The runner's word that the plugin wrote through stdio (runner/stdio.c),
 * taken: a hint, read and cleared without a syscall. */
static int stdio_written(struct ph_plugin *p)
{
	struct ph_ring_shared *s = p->ring_map;

	if (!__atomic_load_n(&s->stdio_written, __ATOMIC_ACQUIRE))
		return 0;
	__atomic_store_n(&s->stdio_written, 0, __ATOMIC_RELAXED);
	return 1;
}

/* Read LOG messages the completion counts and we have not seen yet. They
 * were sent before the completion was posted, so they are queued. */
static int take_logs(struct ph_plugin *p, uint32_t want)
{
	while (p->call.log_msgs < want && p->state == PH_STATE_IN_CALL) {
		const uint32_t before = p->call.log_msgs;

		if (ph__read_messages(p) || p->call.log_msgs == before)
			break;
	}
	if (p->state != PH_STATE_IN_CALL)
		return -EPROTO;
	if (p->call.log_msgs != want) {
		ph__plugin_kill_protocol(p, "completion counts other log lines than the "
					    "control socket carried");
		return -EPROTO;
	}
	return 0;
}

int ph__slot_take_done(struct ph_plugin *p)
{
	struct ph_ring_shared *s = p->ring_map;
	struct ph_result *res = &p->call.result;
	struct ph_slot_done d;
	const char *why;
	uint32_t seq;
	int r;

	seq = __atomic_load_n(&s->done_seq, __ATOMIC_ACQUIRE);
	if (seq == p->done_seen)
		return 0;
	p->done_seen = seq;
	/* Copy it out once; only the copy is ever looked at. The text comes
	 * after the checks, as many bytes as the copy's own (checked) length
	 * says: it is never read twice, nor is its length. */
	memcpy(&d, ph_slot_done_of(p->ring_map), offsetof(struct ph_slot_done, msg));
	if (ph__slot_done_check(&d, p->call.id, &why) < 0) {
		ph__plugin_kill_protocol(p, why);
		return -EPROTO;
	}
	if (d.msg_len)
		memcpy(d.msg, ph_slot_done_of(p->ring_map)->msg, d.msg_len);
	/* The plugin published everything before it completed: take it all. */
	r = ph__drain_ring(p);
	if (r < 0)
		return r;
	r = take_logs(p, d.log_msgs);
	if (r < 0)
		return r;
	/* And whatever it printed before it completed (stdio.c), where the
	 * call went as far as the kernel: a call that ended within the spin
	 * pays no syscall for it here (the empty call is a few hundred ns);
	 * its lines come with the next call that does, at the latest at
	 * restart or free, and a plugin that keeps printing fills the pipe
	 * and so blocks until the host sleeps and reads it. */
	if (p->call.polled || stdio_written(p))
		ph__stdio_read(p, 1);
	if (d.output_bytes != p->call.received) {
		ph__plugin_kill_protocol(
		    p, "completion reports a different output size than the ring delivered");
		return -EPROTO;
	}
	/* The runner refused the request's inputs: what it keeps mapped may
	 * no longer be what we think, so it drops everything. */
	if (d.status == PH_DONE_BAD_INPUT) {
		for (uint32_t i = 0; i < PH_SLOT_CACHE_MAX; i++)
			if (p->cache[i].last_call)
				p->evict_pending |= 1u << i;
		memset(p->cache, 0, sizeof(p->cache));
	}
	if (d.status == PH_DONE_OK) {
		ph__result_init(res, PH_RESULT_OK);
	} else {
		ph__result_init(res, PH_RESULT_PLUGIN_ERROR);
		res->code = d.status == PH_DONE_ERROR ? d.code : -1;
		ph__clean_copy(res->message, sizeof(res->message), d.msg, d.msg_len);
	}
	p->call.done = 1;
	p->state = PH_STATE_IDLE;
	/* A call that ends at a limit, or went over one between looks, ends
	 * as that limit. */
	r = ph__check_limits(p, 1);
	return r < 0 ? r : 1;
}
