/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the host's consumer of the call slot over hostile
 * bytes. The fuzzer's input is everything a plugin controls in the ring
 * memfd when the host looks at it: the completion, done_seq, the ring's
 * head and its data, plus the host's own view of the call (its id, its
 * tail, the completions it took, the LOG lines its control socket holds).
 * ph__slot_take_done() (host/src/slot.c) then runs as the host runs it:
 * copy the completion out once, ph__slot_done_check() on the copy, drain
 * the ring through ph__ring_consume() (host/src/ring.c) into a sink that
 * counts bytes, compare the counts, settle the result.
 *
 * What the rest of the host would do around it is stubbed below, each stub
 * to its contract in host/src/internal.h: killing records the rule and
 * makes the instance dead; the LOG lines arrive one per read; limits are
 * never hit. After every input the instance must be in one of three
 * states, each checked to the letter: untouched (no new completion),
 * killed once naming a rule, or idle with a result that follows from a
 * completion that obeys every rule.
 *
 * With F_INRING the input also gives the input ring's consumer index, the
 * one word of it a plugin writes, and the host's own view of that ring
 * (the tail it last accepted, what it fed since): the host's producer
 * (host/src/inring.c) must take the index exactly when it lies in
 * [acked, head], refuse it naming the rule otherwise, and then write only
 * inside its data area (ASan guards the allocation's end) and never more
 * than a ring past what the consumer freed.
 *
 * Build: meson setup -Dfuzz=true with CC=clang (tests/meson.build).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define CAPACITY PH_RING_MIN_CAPACITY

/* The host's view and the shared words, as the input's first bytes give
 * them (little-endian, zero past the end of a short input). */
struct fuzz_head {
	uint64_t call_id;    /* the call in progress */
	uint64_t tail;	     /* the host's private tail: free-running, aligned */
	int32_t head_delta;  /* the shared head is tail + head_delta */
	uint32_t done_seq;   /* shared */
	uint32_t done_seen;  /* the host's count of completions taken */
	uint16_t cache_used; /* bit i: the host thinks entry i holds a blob */
	uint8_t socket_logs; /* LOG lines the control socket carries for the call */
	uint8_t text_len;    /* bytes of completion text that follow the completion */
	uint8_t flags;	     /* F_* */
	uint8_t unused[7];
};

/*
 * Shortcuts to the deep states, which random bytes seldom reach. Without
 * F_RECORDS the ring's data is the input's remaining bytes, raw; with it
 * they are ops that write records as a producer would, mostly well
 * formed, some not (struct op). The others make the words agree with
 * what was written: the completion names the call in progress, counts
 * the output the records carry for it, and the head ends where the
 * writing stopped.
 */
#define F_SAME_CALL 0x1u
#define F_RECORDS   0x2u
#define F_OUTPUT    0x4u
#define F_HEAD	    0x8u
#define F_INRING    0x10u

/* The input ring (F_INRING), right after the head. */
struct fuzz_inring {
	uint64_t acked;	  /* the host's last accepted tail */
	uint32_t fed;	  /* its head is acked + fed % (capacity + 1): never more */
	uint32_t waiting; /* bit 0: it waits for room already; bit 1: look as before sleeping */
	uint64_t tail;	  /* the plugin's in_tail */
};

/* One record to write (F_RECORDS). */
struct op {
	uint8_t what; /* OP_* in the low bits; OP_OTHER_CALL, OP_NO_WRAP */
	uint8_t fill; /* payload byte; the type for OP_JUNK */
	uint16_t len; /* payload bytes (OP_DATA: capped at the largest) */
};
#define OP_DATA	      0u    /* a DATA record */
#define OP_PAD	      1u    /* a PAD record of len, wherever it is */
#define OP_JUNK	      2u    /* a header of type fill, flags len */
#define OP_RAW_LEN    3u    /* a DATA record whose len field is len, uncapped */
#define OP_OTHER_CALL 0x10u /* for a call other than the one in progress */
#define OP_NO_WRAP    0x20u /* do not pad to the wrap, straddle it */

/* The completion's fixed part: the text follows it. */
#define DONE_FIXED offsetof(struct ph_slot_done, msg)

static struct ph_plugin plugin;
static uint8_t *ring_base;
static struct ph_ring_consumer consumer;
static unsigned int kills, logs_pending;
static const char *kill_why;

/* ---- stubs for what the rest of the host does ---- */

void ph__plugin_kill_protocol(struct ph_plugin *p, const char *why)
{
	if (!why || !*why)
		abort();
	kills++;
	kill_why = why;
	p->state = PH_STATE_DEAD;
}

/* The sink: copies only, never shared memory, and counts them. */
static int count_bytes(void *userdata, const void *buf, size_t len)
{
	struct ph_plugin *p = userdata;
	const uint8_t *b = buf;

	if (b + len > ring_base && b < ring_base + PH_RING_HDR_SIZE + CAPACITY)
		abort(); /* handed the shared bytes, not a copy */
	p->call.received += len;
	return 0;
}

/* pump.c's, with the sink above for the caller's callback. */
int ph__drain_ring(struct ph_plugin *p)
{
	const char *why = NULL;
	int64_t n = ph__ring_consume(&p->ring, p->call.id, count_bytes, p, UINT64_MAX, &why);

	if (n == -EPROTO) {
		ph__plugin_kill_protocol(p, why);
		return -EPROTO;
	}
	if (n < 0)
		abort(); /* the sink never refuses */
	return 0;
}

/* dispatch.c's: the socket holds socket_logs LOG lines for the call, and
 * each read takes one. */
int ph__read_messages(struct ph_plugin *p)
{
	if (logs_pending) {
		logs_pending--;
		p->call.log_msgs++;
	}
	return 0;
}

/* dispatch.c's, to its contract (dispatch.c itself brings the whole
 * message loop): printable, NUL-terminated, at most dst_len bytes. */
void ph__clean_copy(char *dst, size_t dst_len, const char *src, size_t len)
{
	size_t n = len < dst_len - 1 ? len : dst_len - 1;

	for (size_t i = 0; i < n; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[n] = '\0';
}

int ph__check_limits(struct ph_plugin *p, int at_end)
{
	return 0;
}

/* stdio.c's: the plugin's stdout and stderr, which this target has none
 * of (its pipes are no shared memory). */
void ph__stdio_read(struct ph_plugin *p, int at_end)
{
}

/* blob.c's, for ph__slot_post(), which the target never runs (slot.c
 * brings it along; without this the target did not link). */
int ph__blob_memfd(const struct ph_blob *b)
{
	abort();
}

/* The host's producer over a consumer index the input gives. */
static void fuzz_inring(const struct fuzz_inring *f)
{
	struct ph_ring_shared *s = (struct ph_ring_shared *)ring_base;
	const uint64_t cap = PH_INRING_CAPACITY, fed = f->fed % (cap + 1);
	const char *why = NULL;
	struct ph_inring r;
	int64_t space;

	ph__inring_init(&r, ring_base, CAPACITY);
	r.acked = f->acked;
	r.head = f->acked + fed;
	r.waiting = (int)(f->waiting & 1);
	s->in_producer_waiting = f->waiting & 1;
	s->in_tail = f->tail;
	if (f->waiting & 2) {
		int w = ph__inring_want_space(&r, &why);

		space = w < 0 ? w : (int64_t)(cap - (r.head - r.acked));
		/* Room means no sleep, and no request for a wake left up. */
		if (w >= 0 && (w == 1) != (space > 0))
			abort();
		if (w >= 0 && (w == 1 ? r.waiting || s->in_producer_waiting
				      : !r.waiting || !s->in_producer_waiting))
			abort();
	} else {
		space = ph__inring_space(&r, &why);
	}
	if ((int64_t)(f->tail - f->acked) < 0 || f->tail - f->acked > fed) {
		/* Refused, naming the rule, with the host's view unchanged. */
		if (space != -EPROTO || !why || strncmp(why, "input ring tail ", 16) != 0 ||
		    r.acked != f->acked || r.head != f->acked + fed)
			abort();
		return;
	}
	if (space != (int64_t)(cap - (fed - (f->tail - f->acked))) || r.acked != f->tail)
		abort();
	/* Fill all the room there is, the way the pump does, each window
	 * only inside the data area (its two ends written: ASan sees a window
	 * that runs past the allocation). */
	for (int committed = 0; space > 0 || committed; committed = 1) {
		size_t len;
		uint8_t *at;

		if (space == 0) {
			/* Full, and the head published as it was written. */
			if (s->in_head != r.head)
				abort();
			break;
		}
		at = ph__inring_window(&r, (uint64_t)space, &len);

		if (at < ring_base + ph_inring_off(CAPACITY) || len == 0 || len > (uint64_t)space)
			abort();
		at[0] = at[len - 1] = 0x5a;
		ph__inring_commit(&r, len);
		space = ph__inring_space(&r, &why);
		if (space < 0)
			abort(); /* the tail it accepted still holds */
	}
	if (r.head - r.acked != cap)
		abort();
}

/* ---- the target ---- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t take(const uint8_t **data, size_t *size, void *out, size_t n)
{
	size_t k = n < *size ? n : *size;

	memset(out, 0, n);
	memcpy(out, *data, k);
	*data += k;
	*size -= k;
	return k;
}

/* Put n bytes at ring index at (wrapping), as a producer's stores. */
static void ring_put(uint64_t at, const void *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ring_base[PH_RING_HDR_SIZE + ((at + i) & (CAPACITY - 1))] =
		    ((const uint8_t *)buf)[i];
}

/*
 * Write the records the input's ops describe from tail on, as much as one
 * capacity holds, the way runner/ring_producer.c lays them (a PAD to the
 * wrap when a record does not fit before it) unless an op says otherwise.
 * Returns the index where writing stopped; *ret_out counts the payload of
 * the DATA records for call_id.
 */
static uint64_t write_records(const uint8_t **data, size_t *size, uint64_t tail, uint64_t call_id,
			      uint64_t *ret_out)
{
	const uint64_t max = ph_ring_max_payload(CAPACITY);
	uint64_t at = tail;

	*ret_out = 0;
	while (*size && at - tail < CAPACITY) {
		struct ph_ring_rec rec = {.type = PH_REC_DATA, .call_id = call_id};
		uint64_t payload;
		struct op o;

		take(data, size, &o, sizeof(o));
		if (o.what & OP_OTHER_CALL)
			rec.call_id = call_id + 1 + o.fill;
		switch (o.what & 3u) {
		case OP_DATA:
			rec.len = o.len % max + 1;
			break;
		case OP_PAD:
			rec.type = PH_REC_PAD;
			rec.len = o.len;
			break;
		case OP_JUNK:
			rec.type = o.fill;
			rec.flags = o.len;
			rec.len = o.len;
			break;
		default:
			rec.len = o.len;
			break;
		}
		payload = rec.type == PH_REC_PAD ? 0 : rec.len;
		if (!(o.what & OP_NO_WRAP) && rec.type == PH_REC_DATA &&
		    ph_ring_rec_total(payload) > CAPACITY - (at & (CAPACITY - 1))) {
			const uint64_t rest = CAPACITY - (at & (CAPACITY - 1));
			struct ph_ring_rec pad = {.type = PH_REC_PAD,
						  .len = (uint32_t)(rest - sizeof(pad))};

			ring_put(at, &pad, sizeof(pad));
			at += rest;
			if (at - tail >= CAPACITY)
				break;
		}
		ring_put(at, &rec, sizeof(rec));
		for (uint64_t i = 0; i < payload && i < CAPACITY; i++)
			ring_put(at + sizeof(rec) + i, &o.fill, 1);
		if (rec.type == PH_REC_DATA && rec.call_id == call_id && payload <= max)
			*ret_out += payload;
		at += rec.type == PH_REC_PAD ? rec.len + sizeof(rec) : ph_ring_rec_total(payload);
	}
	return at;
}

static int rule_of_completion(const struct ph_slot_done *d, uint64_t call_id)
{
	return d->call_id == call_id && d->status <= PH_DONE_BAD_INPUT &&
	       d->msg_len <= PH_SLOT_TEXT_MAX &&
	       (d->status != PH_DONE_OK || (d->code == 0 && d->msg_len == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ph_plugin *p = &plugin;
	struct ph_ring_shared *s;
	struct ph_slot_done *shared_done, want;
	struct fuzz_head h;
	uint64_t tail0, written = 0;
	int r;

	if (!ring_base) {
		/* Heap memory, so that ASan's redzones sit right past the
		 * mapping's end: a read beyond it is caught. */
		ring_base = aligned_alloc(PH_CACHELINE, ph_ring_memfd_size(CAPACITY));
		if (!ring_base || ph__ring_consumer_init(&consumer, ring_base, CAPACITY) < 0)
			abort();
	}
	memset(ring_base, 0, PH_RING_HDR_SIZE + CAPACITY);
	s = (struct ph_ring_shared *)ring_base;
	shared_done = ph_slot_done_of(ring_base);

	take(&data, &size, &h, sizeof(h));
	if (h.flags & F_INRING) {
		struct fuzz_inring f;

		take(&data, &size, &f, sizeof(f));
		fuzz_inring(&f);
	}
	/* The host's own tail starts at 0 and only ever moves by whole
	 * aligned records and pads (ring.c): it is aligned, whatever the
	 * plugin does. */
	h.tail &= ~(uint64_t)(PH_RING_ALIGN - 1);
	take(&data, &size, shared_done, DONE_FIXED);
	/* The text the input gives; the rest of msg[] is junk, NULs and
	 * bytes no terminal should see. */
	for (size_t i = 0; i < sizeof(shared_done->msg); i++)
		shared_done->msg[i] = (char)(i % 5 ? 0x80 | i : 0);
	take(&data, &size, shared_done->msg, h.text_len);
	if (h.flags & F_SAME_CALL)
		shared_done->call_id = h.call_id;
	if (h.flags & F_RECORDS) {
		const uint64_t end = write_records(&data, &size, h.tail, h.call_id, &written);

		if (h.flags & F_HEAD)
			h.head_delta = (int32_t)(end - h.tail);
		if (h.flags & F_OUTPUT)
			shared_done->output_bytes = written;
	} else {
		/* The ring's data, laid from the host's tail on; the rest of
		 * the data area is zero. */
		for (size_t i = 0; i < size && i < CAPACITY; i++)
			ring_base[PH_RING_HDR_SIZE + ((h.tail + i) & (CAPACITY - 1))] = data[i];
	}
	s->head = h.tail + (uint64_t)(int64_t)h.head_delta;
	s->tail = h.tail; /* as the host last published it */
	s->done_seq = h.done_seq;
	want = *shared_done;

	memset(p, 0, sizeof(*p));
	p->state = PH_STATE_IN_CALL;
	p->ring_map = ring_base;
	p->ring_map_len = PH_RING_HDR_SIZE + CAPACITY;
	p->ring = consumer;
	p->ring.tail = h.tail;
	p->done_seen = h.done_seen;
	p->call.id = h.call_id;
	for (uint32_t i = 0; i < PH_SLOT_CACHE_MAX; i++)
		if (h.cache_used & (1u << i))
			p->cache[i] = (struct ph_cached_input){
			    .dev = 1, .ino = i, .size = 1u << 20, .last_call = i + 1};
	kills = 0;
	kill_why = NULL;
	logs_pending = h.socket_logs;
	tail0 = h.tail;

	r = ph__slot_take_done(p);

	/* The ring moved only forward, within what was published, and the
	 * host published its own tail (unless the ring broke a rule midway:
	 * then the instance is dead and nobody reads the tail again). */
	if (p->ring.tail - tail0 > s->head - tail0 || (r >= 0 && s->tail != p->ring.tail))
		abort();
	if (h.done_seq == h.done_seen) {
		/* Nothing posted: nothing taken, nothing looked at. */
		if (r != 0 || kills || p->state != PH_STATE_IN_CALL || p->ring.tail != tail0)
			abort();
		return 0;
	}
	if (p->done_seen != h.done_seq)
		abort();
	if (r < 0) {
		/* Killed, once, naming a rule of the completion or the ring. */
		if (r != -EPROTO || kills != 1 || p->state != PH_STATE_DEAD ||
		    (strncmp(kill_why, "completion ", 11) != 0 &&
		     strncmp(kill_why, "ring ", 5) != 0))
			abort();
		/* A bad completion is refused before the ring is read. */
		if (!rule_of_completion(&want, h.call_id) &&
		    (strncmp(kill_why, "completion ", 11) != 0 || p->ring.tail != tail0))
			abort();
		return 0;
	}
	/* Taken: a completion that obeys every rule, with every count true. */
	if (r != 1 || kills || p->state != PH_STATE_IDLE || !p->call.done)
		abort();
	if (!rule_of_completion(&want, h.call_id) || want.output_bytes != p->call.received ||
	    want.log_msgs != p->call.log_msgs || want.log_msgs > h.socket_logs)
		abort();
	if (want.status == PH_DONE_OK) {
		if (p->call.result.kind != PH_RESULT_OK || p->call.result.message[0])
			abort();
	} else {
		const char *m = p->call.result.message;
		const size_t n = strlen(m);

		/* The text the copy gave, cut to fit and made printable. */
		if (p->call.result.kind != PH_RESULT_PLUGIN_ERROR ||
		    p->call.result.code != (want.status == PH_DONE_ERROR ? want.code : -1) ||
		    n != (want.msg_len < sizeof(p->call.result.message)
			      ? want.msg_len
			      : sizeof(p->call.result.message) - 1))
			abort();
		for (size_t i = 0; i < n; i++)
			if (m[i] != (want.msg[i] >= 0x20 && want.msg[i] < 0x7f ? want.msg[i] : '?'))
				abort();
	}
	if (want.status == PH_DONE_BAD_INPUT) {
		/* The runner may hold anything now: every entry is dropped. */
		for (uint32_t i = 0; i < PH_SLOT_CACHE_MAX; i++)
			if (p->cache[i].last_call)
				abort();
		if (p->evict_pending != h.cache_used)
			abort();
	}
	/* The same completion again is no news. */
	p->state = PH_STATE_IN_CALL;
	if (ph__slot_take_done(p) != 0 || p->state != PH_STATE_IN_CALL)
		abort();
	return 0;
}
