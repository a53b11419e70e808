/* SPDX-License-Identifier: MIT */
/*
 * The output ring: the host's consumer (host/src/ring.c) against producers
 * that lie, and against the runner's honest producer
 * (runner/ring_producer.c). The ring is a real memfd sealed the way the host seals
 * it and mapped shared; hostile cases write raw bytes into its data area
 * and its shared head, the way a malicious plugin would.
 *
 * The input ring, in the same memfd: the host's producer
 * (host/src/inring.c) against consumer indices that lie, chosen at random,
 * and against the runner's honest consumer (runner/inring_consumer.c),
 * threaded, with its ends and its wakeups.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#include "inring.h"
#include "inring_consumer.h"
#include "ring.h"
#include "ring_producer.h"
#include "seal.h"

#define CAP	 4096u
#define CALL_ID	 0x1122334455667788ull
#define OTHER_ID 0x1122334455667789ull

/* The exact texts ring.c gives for each rule. */
#define WHY_BACKWARDS "ring head moved backwards"
#define WHY_AHEAD     "ring head is more than a capacity ahead of the tail"
#define WHY_UNALIGNED "ring head is not record-aligned"
#define WHY_PAD_LEN   "ring pad record does not end at the wrap"
#define WHY_PAD_PAST  "ring pad record runs past the head"
#define WHY_TYPE      "ring record has an unknown type"
#define WHY_FLAGS     "ring record has unknown flags"
#define WHY_LEN	      "ring record length is zero or too large"
#define WHY_STRADDLE  "ring record straddles the end of the ring"
#define WHY_PAST      "ring record runs past the head"
#define WHY_CALL      "ring record belongs to another call"

/* ------------------------------------------------------------ helpers */

/* A position-dependent byte: a dropped, repeated or shifted byte shows. */
static uint8_t pattern(uint64_t pos)
{
	return (uint8_t)((pos * 0x9E3779B97F4A7C15ull) >> 56);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct ring {
	int fd;
	uint64_t cap;
	size_t size;
	void *base;
	struct ph_ring_shared *shared;
	uint8_t *data;
	struct ph_ring_consumer c;
	struct ph_inring in; /* the input ring, after the output ring */
};

/* A ring exactly as the host makes one: a memfd sealed SHRINK|GROW|SEAL,
 * mapped shared read-write, with a consumer over it. */
static struct ring *ring_new(uint64_t cap)
{
	struct ring *r = calloc(1, sizeof(*r));
	const char *why = NULL;
	uint64_t size = 0;

	assert_non_null(r);
	r->cap = cap;
	r->size = ph_ring_memfd_size(cap);
	r->fd = ph__memfd_create("test-ring");
	assert_true(r->fd >= 0);
	assert_int_equal(ftruncate(r->fd, (off_t)r->size), 0);
	assert_int_equal(fcntl(r->fd, F_ADD_SEALS, PH_SEALS_RING), 0);
	assert_int_equal(ph__seal_check(r->fd, PH_SEAL_KIND_RING, r->size, UINT64_MAX, &size, &why),
			 0);
	assert_int_equal(size, r->size);
	r->base = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	assert_true(r->base != MAP_FAILED);
	r->shared = r->base;
	r->data = (uint8_t *)r->base + PH_RING_HDR_SIZE;
	/* Junk in the header proves init resets it. */
	memset(r->base, 0xA5, PH_RING_HDR_SIZE);
	assert_int_equal(ph__ring_consumer_init(&r->c, r->base, cap), 0);
	assert_int_equal(r->shared->head, 0);
	assert_int_equal(r->shared->tail, 0);
	assert_int_equal(r->shared->tail_seq, 0);
	assert_int_equal(r->shared->producer_sleeping, 0);
	assert_int_equal(r->shared->consumer_sleeping, 0);
	assert_int_equal(r->c.tail, 0);
	ph__inring_init(&r->in, r->base, cap);
	assert_int_equal(r->shared->in_head, 0);
	assert_int_equal(r->shared->in_tail, 0);
	assert_int_equal(r->shared->in_end, PH_INRING_OPEN);
	return r;
}

static void ring_free(struct ring *r)
{
	ph__ring_consumer_fini(&r->c);
	assert_null(r->c.scratch);
	assert_int_equal(munmap(r->base, r->size), 0);
	assert_int_equal(close(r->fd), 0);
	free(r);
}

/* Move both the host's private tail and the one it publishes. */
static void set_tail(struct ring *r, uint64_t tail)
{
	r->c.tail = tail;
	r->shared->tail = tail;
}

/* Write a raw record header at a data offset, as a plugin would. */
static void put_rec(struct ring *r, uint64_t off, uint32_t len, uint16_t type, uint16_t flags,
		    uint64_t call_id)
{
	struct ph_ring_rec rec = {.len = len, .type = type, .flags = flags, .call_id = call_id};

	assert_true(off + sizeof(rec) <= r->cap);
	memcpy(r->data + off, &rec, sizeof(rec));
}

/* A DATA record with a pattern payload keyed by seed; returns its total. */
static uint64_t put_data(struct ring *r, uint64_t off, uint32_t len, uint64_t call_id,
			 uint64_t seed)
{
	put_rec(r, off, len, PH_REC_DATA, 0, call_id);
	assert_true(off + ph_ring_rec_total(len) <= r->cap);
	for (uint32_t i = 0; i < len; i++)
		r->data[off + sizeof(struct ph_ring_rec) + i] = pattern(seed + i);
	return ph_ring_rec_total(len);
}

/* Collects what the consumer delivers. */
struct sink {
	uint8_t *buf;
	size_t len, cap;
	unsigned int calls;
	size_t max_chunk;
	unsigned int fail_at; /* 1-based call that fails; 0 = never */
	int err;
};

static int sink_fn(void *userdata, const void *buf, size_t len)
{
	struct sink *s = userdata;

	s->calls++;
	if (len > s->max_chunk)
		s->max_chunk = len;
	if (s->fail_at && s->calls == s->fail_at)
		return s->err;
	if (s->len + len > s->cap) {
		size_t ncap = (s->len + len) * 2;
		uint8_t *nbuf = realloc(s->buf, ncap);

		assert_non_null(nbuf);
		s->buf = nbuf;
		s->cap = ncap;
	}
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
	return 0;
}

static void sink_reset(struct sink *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

/*
 * Publish head as the plugin would and expect the consumer to refuse with
 * exactly why_expected, delivering nothing and publishing nothing.
 */
static void expect_violation(struct ring *r, uint64_t head, const char *why_expected)
{
	struct sink s = {0};
	const char *why = "untouched";
	const uint64_t tail = r->c.tail, shared_tail = r->shared->tail;
	const uint32_t seq = r->shared->tail_seq;
	int64_t n;

	r->shared->head = head;
	n = ph__ring_consume(&r->c, CALL_ID, sink_fn, &s, UINT64_MAX, &why);
	assert_int_equal(n, -EPROTO);
	assert_string_equal(why, why_expected);
	assert_int_equal(s.calls, 0);
	assert_int_equal(s.len, 0);
	assert_int_equal(r->c.tail, tail);
	assert_int_equal(r->shared->tail, shared_tail);
	assert_int_equal(r->shared->tail_seq, seq);
	/* A NULL why must not crash the consumer either. */
	assert_int_equal(ph__ring_consume(&r->c, CALL_ID, sink_fn, &s, UINT64_MAX, NULL), -EPROTO);
	assert_int_equal(s.calls, 0);
	sink_reset(&s);
}

/* Consume everything for CALL_ID; return the count and the data in *s. */
static int64_t consume_all(struct ring *r, struct sink *s)
{
	const char *why = NULL;
	int64_t n = ph__ring_consume(&r->c, CALL_ID, sink_fn, s, UINT64_MAX, &why);

	if (n < 0)
		fail_msg("consume failed: %lld (%s)", (long long)n, why ? why : "?");
	return n;
}

/* --------------------------------------------------------------- init */

static void test_init_rejects_bad_capacity(void **state)
{
	struct ph_ring_consumer c;
	static uint8_t mem[PH_RING_HDR_SIZE + CAP];

	assert_int_equal(ph__ring_consumer_init(&c, mem, 0), -EINVAL);
	assert_int_equal(ph__ring_consumer_init(&c, mem, PH_RING_MIN_CAPACITY / 2), -EINVAL);
	assert_int_equal(ph__ring_consumer_init(&c, mem, CAP + 16), -EINVAL);
	assert_int_equal(ph__ring_consumer_init(&c, mem, 3 * CAP), -EINVAL);
	assert_int_equal(ph__ring_consumer_init(&c, mem, (uint64_t)PH_RING_MAX_CAPACITY * 2),
			 -EINVAL);
	assert_int_equal(ph__ring_consumer_init(&c, NULL, CAP), -EINVAL);
	assert_int_equal(ph__ring_consumer_init(NULL, mem, CAP), -EINVAL);
	assert_int_equal(ph__ring_consumer_init(&c, mem, CAP), 0);
	assert_int_equal(c.capacity, CAP);
	ph__ring_consumer_fini(&c);
	ph__ring_consumer_fini(NULL);
}

/* ------------------------------------------------- hostile: the head */

static void test_head_backwards(void **state)
{
	struct ring *r = ring_new(CAP);

	put_data(r, 0, 100, CALL_ID, 0);
	set_tail(r, 256);
	expect_violation(r, 128, WHY_BACKWARDS);
	expect_violation(r, 240, WHY_BACKWARDS);
	expect_violation(r, 0, WHY_BACKWARDS);
	/* Far behind: the signed distance is what counts, not the magnitude. */
	expect_violation(r, 256 - (1ull << 63), WHY_BACKWARDS);
	ring_free(r);
}

static void test_head_too_far_ahead(void **state)
{
	struct ring *r = ring_new(CAP);

	put_data(r, 0, 100, CALL_ID, 0);
	expect_violation(r, CAP + 16, WHY_AHEAD);
	expect_violation(r, 2 * CAP, WHY_AHEAD);
	expect_violation(r, (1ull << 63) - 16, WHY_AHEAD);
	set_tail(r, 512);
	expect_violation(r, 512 + CAP + 16, WHY_AHEAD);
	ring_free(r);
}

/* head == tail + capacity is a full ring, not a violation. */
static void test_head_full_ring_ok(void **state)
{
	struct ring *r = ring_new(CAP);
	struct sink s = {0};

	for (uint64_t off = 0; off < CAP; off += 128)
		put_data(r, off, 112, CALL_ID, off);
	r->shared->head = CAP;
	assert_int_equal(consume_all(r, &s), 32 * 112);
	assert_int_equal(s.calls, 32);
	for (uint64_t i = 0; i < 32; i++)
		for (uint64_t j = 0; j < 112; j++)
			assert_int_equal(s.buf[i * 112 + j], pattern(i * 128 + j));
	assert_int_equal(r->c.tail, CAP);
	assert_int_equal(r->shared->tail, CAP);
	assert_int_equal(r->shared->tail_seq, 1);
	sink_reset(&s);
	ring_free(r);
}

static void test_head_unaligned(void **state)
{
	struct ring *r = ring_new(CAP);

	put_data(r, 0, 100, CALL_ID, 0);
	expect_violation(r, 8, WHY_UNALIGNED);
	expect_violation(r, 1, WHY_UNALIGNED);
	expect_violation(r, 127, WHY_UNALIGNED);
	expect_violation(r, CAP - 1, WHY_UNALIGNED);
	ring_free(r);
}

/*
 * Random heads against a ring full of 128-byte records, from random tails
 * (some near 2^64): every outcome is predicted exactly by a model of the
 * rules, so the consumer can neither crash nor over-deliver unnoticed.
 */
static void test_random_heads(void **state)
{
	struct ring *r = ring_new(CAP);
	struct sink s = {0};
	uint64_t seed = 0x5EED5EED5EED5EEDull;
	unsigned int seen[6] = {0};

	for (uint64_t off = 0; off < CAP; off += 128)
		put_data(r, off, 112, CALL_ID, off);

	for (int i = 0; i < 200000; i++) {
		uint64_t x = tu_rng_next(&seed), tail, delta, head;
		const char *why = NULL, *want_why = NULL;
		int64_t n, want;
		uint64_t want_bytes;

		switch (i % 4) {
		case 0:
			tail = tu_rng_next(&seed) & ~(uint64_t)(CAP - 1);
			break;
		case 1: /* within a few capacities of the 64-bit wrap */
			tail = (uint64_t)0 - (tu_rng_next(&seed) % 8) * CAP;
			break;
		default:
			tail = (tu_rng_next(&seed) % 1000) * CAP;
			break;
		}
		switch ((x >> 60) % 4) {
		case 0:
			delta = tu_rng_next(&seed); /* anything at all */
			break;
		case 1:
			delta = (uint64_t)((int64_t)(x % (4 * CAP)) - 2 * CAP);
			break;
		default:
			delta = (x % (CAP / 16 + 1)) * 16;
			break;
		}
		head = tail + delta;

		/* The model. */
		if ((int64_t)delta < 0) {
			want = -EPROTO, want_why = WHY_BACKWARDS, want_bytes = 0;
			seen[0]++;
		} else if (delta > CAP) {
			want = -EPROTO, want_why = WHY_AHEAD, want_bytes = 0;
			seen[1]++;
		} else if (delta % 16) {
			want = -EPROTO, want_why = WHY_UNALIGNED, want_bytes = 0;
			seen[2]++;
		} else if (delta % 128) {
			want = -EPROTO, want_why = WHY_PAST, want_bytes = delta / 128 * 112;
			seen[3]++;
		} else {
			want = (int64_t)(delta / 128 * 112), want_bytes = (uint64_t)want;
			seen[delta ? 4 : 5]++;
		}

		set_tail(r, tail);
		r->shared->head = head;
		n = ph__ring_consume(&r->c, CALL_ID, sink_fn, &s, UINT64_MAX, &why);
		if (n != want || s.len != want_bytes ||
		    (want_why && (!why || strcmp(why, want_why) != 0)))
			fail_msg("tail %#llx head %#llx: got %lld (%s) %zu bytes, want %lld (%s) "
				 "%llu bytes",
				 (unsigned long long)tail, (unsigned long long)head, (long long)n,
				 why ? why : "-", s.len, (long long)want, want_why ? want_why : "-",
				 (unsigned long long)want_bytes);
		assert_true(n <= (int64_t)CAP);
		for (size_t j = 0; j < s.len; j++)
			assert_int_equal(s.buf[j], pattern((j / 112) * 128 + j % 112));
		s.len = 0;
		s.calls = 0;
	}
	/* Every branch of the model was exercised. */
	for (int k = 0; k < 6; k++)
		assert_true(seen[k] > 100);
	sink_reset(&s);
	ring_free(r);
}

/* ----------------------------------------------- hostile: the records */

static void test_rec_len_zero(void **state)
{
	struct ring *r = ring_new(CAP);

	put_rec(r, 0, 0, PH_REC_DATA, 0, CALL_ID);
	expect_violation(r, 16, WHY_LEN);
	expect_violation(r, 128, WHY_LEN);
	ring_free(r);
}

static void test_rec_len_too_large(void **state)
{
	struct ring *r = ring_new(CAP);
	const uint64_t max = ph_ring_max_payload(CAP);
	struct sink s = {0};

	assert_int_equal(max, CAP / 4 - 16);
	put_rec(r, 0, (uint32_t)max + 1, PH_REC_DATA, 0, CALL_ID);
	expect_violation(r, CAP, WHY_LEN);
	put_rec(r, 0, UINT32_MAX, PH_REC_DATA, 0, CALL_ID);
	expect_violation(r, CAP, WHY_LEN);
	put_rec(r, 0, CAP, PH_REC_DATA, 0, CALL_ID);
	expect_violation(r, CAP, WHY_LEN);

	/* The boundary itself is fine. */
	put_data(r, 0, (uint32_t)max, CALL_ID, 7);
	r->shared->head = ph_ring_rec_total(max);
	assert_int_equal(consume_all(r, &s), max);
	for (uint64_t i = 0; i < max; i++)
		assert_int_equal(s.buf[i], pattern(7 + i));
	sink_reset(&s);
	ring_free(r);
}

static void test_rec_straddles_end(void **state)
{
	struct ring *r = ring_new(CAP);

	set_tail(r, CAP - 32);
	put_rec(r, CAP - 32, 100, PH_REC_DATA, 0, CALL_ID);
	expect_violation(r, CAP - 32 + 128, WHY_STRADDLE);
	/* One byte too many for the space left. */
	put_rec(r, CAP - 32, 17, PH_REC_DATA, 0, CALL_ID);
	expect_violation(r, CAP - 32 + 48, WHY_STRADDLE);
	ring_free(r);
}

static void test_rec_past_head(void **state)
{
	struct ring *r = ring_new(CAP);
	struct sink s = {0};
	const char *why = NULL;

	put_data(r, 0, 100, CALL_ID, 0);
	expect_violation(r, 16, WHY_PAST);
	expect_violation(r, 64, WHY_PAST);
	expect_violation(r, 112, WHY_PAST);

	/* A good record, then one that runs past the head: the good one was
	 * copied out and delivered, then the rule stops the batch and the
	 * tail is not published. */
	put_data(r, 128, 100, CALL_ID, 1000);
	r->shared->head = 128 + 64;
	assert_int_equal(ph__ring_consume(&r->c, CALL_ID, sink_fn, &s, UINT64_MAX, &why), -EPROTO);
	assert_string_equal(why, WHY_PAST);
	assert_int_equal(s.len, 100);
	assert_int_equal(r->shared->tail, 0);
	sink_reset(&s);
	ring_free(r);
}

static void test_pad_wrong_length(void **state)
{
	struct ring *r = ring_new(CAP);

	/* At offset 0 a pad would have to cover the whole ring. */
	put_rec(r, 0, 100, PH_REC_PAD, 0, 0);
	expect_violation(r, CAP, WHY_PAD_LEN);
	/* Near the end: one alignment unit short, one too long, absurd. */
	set_tail(r, CAP - 64);
	put_rec(r, CAP - 64, 32, PH_REC_PAD, 0, 0);
	expect_violation(r, CAP, WHY_PAD_LEN);
	put_rec(r, CAP - 64, 64, PH_REC_PAD, 0, 0);
	expect_violation(r, CAP + 64, WHY_PAD_LEN);
	put_rec(r, CAP - 64, UINT32_MAX, PH_REC_PAD, 0, 0);
	expect_violation(r, CAP + 64, WHY_PAD_LEN);
	/* Off by one byte (and unaligned). */
	put_rec(r, CAP - 64, 47, PH_REC_PAD, 0, 0);
	expect_violation(r, CAP, WHY_PAD_LEN);
	put_rec(r, CAP - 64, 49, PH_REC_PAD, 0, 0);
	expect_violation(r, CAP, WHY_PAD_LEN);
	ring_free(r);
}

static void test_pad_past_head(void **state)
{
	struct ring *r = ring_new(CAP);

	set_tail(r, CAP - 64);
	put_rec(r, CAP - 64, 48, PH_REC_PAD, 0, 0);
	expect_violation(r, CAP - 64 + 16, WHY_PAD_PAST);
	expect_violation(r, CAP - 64 + 48, WHY_PAD_PAST);
	ring_free(r);
}

static void test_rec_unknown_type(void **state)
{
	struct ring *r = ring_new(CAP);
	const uint16_t types[] = {0, 3, 0x100 | PH_REC_DATA, 0xffff};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		put_rec(r, 0, 100, types[i], 0, CALL_ID);
		expect_violation(r, 128, WHY_TYPE);
	}
	ring_free(r);
}

static void test_rec_nonzero_flags(void **state)
{
	struct ring *r = ring_new(CAP);

	put_rec(r, 0, 100, PH_REC_DATA, 1, CALL_ID);
	expect_violation(r, 128, WHY_FLAGS);
	put_rec(r, 0, 100, PH_REC_DATA, 0x8000, CALL_ID);
	expect_violation(r, 128, WHY_FLAGS);
	ring_free(r);
}

static void test_rec_other_call(void **state)
{
	struct ring *r = ring_new(CAP);

	put_data(r, 0, 100, OTHER_ID, 0);
	expect_violation(r, 128, WHY_CALL);
	put_data(r, 0, 100, 0, 0);
	expect_violation(r, 128, WHY_CALL);
	ring_free(r);
}

/* ------------------------------------------------- 64-bit index wrap */

/* A hand-made batch whose indices cross 2^64 in the middle. */
static void test_wrap_u64_raw(void **state)
{
	struct ring *r = ring_new(CAP);
	struct sink s = {0};
	const uint64_t tail = (uint64_t)0 - 64;

	set_tail(r, tail);
	put_rec(r, CAP - 64, 48, PH_REC_PAD, 0, 0);
	put_data(r, 0, 100, CALL_ID, 1);
	put_data(r, 128, 200, CALL_ID, 2);

	/* Wrapped heads that still lie behind or too far ahead. */
	expect_violation(r, tail - 16, WHY_BACKWARDS);
	expect_violation(r, tail + CAP + 16, WHY_AHEAD);
	expect_violation(r, tail + 8, WHY_UNALIGNED);

	r->shared->head = 128 + 224; /* tail + 64 (pad), wrapped, + two records */
	assert_int_equal(consume_all(r, &s), 300);
	assert_int_equal(s.calls, 2);
	for (int i = 0; i < 100; i++)
		assert_int_equal(s.buf[i], pattern(1 + (uint64_t)i));
	for (int i = 0; i < 200; i++)
		assert_int_equal(s.buf[100 + i], pattern(2 + (uint64_t)i));
	assert_int_equal(r->c.tail, 352);
	assert_int_equal(r->shared->tail, 352);
	sink_reset(&s);
	ring_free(r);
}

/* The honest producer and the consumer across 2^64, batch by batch. */
static void test_wrap_u64_honest(void **state)
{
	struct ring *r = ring_new(CAP);
	struct ph_ring_producer p;
	const uint64_t start = (uint64_t)0 - 3 * CAP + 48;
	const uint64_t max = ph_ring_max_payload(CAP);
	uint64_t seed = 42, pos = 0, sent = 0;
	uint8_t buf[CAP];
	struct sink s = {0};
	int crossed = 0;

	ph__ring_producer_init(&p, r->base, CAP, -1);
	set_tail(r, start);
	r->shared->head = start;
	p.head = p.published = start;

	while (!crossed || p.head < 3 * CAP) {
		int nrec = 1 + (int)(tu_rng_next(&seed) % 3);
		uint64_t before = p.head;

		for (int k = 0; k < nrec; k++) {
			uint64_t len = 1 + tu_rng_next(&seed) % max;

			for (uint64_t i = 0; i < len; i++)
				buf[i] = pattern(sent + i);
			assert_int_equal(ph__ring_write(&p, CALL_ID, buf, len), 0);
			sent += len;
		}
		assert_int_equal(ph__ring_publish(&p), 0);
		assert_int_equal(r->shared->head, p.head);
		if (p.head < before)
			crossed++;
		assert_true(consume_all(r, &s) > 0);
		assert_int_equal(r->c.tail, p.head);
		assert_int_equal(r->shared->tail, p.head);
		assert_int_equal(s.len, sent);
		for (; pos < s.len; pos++)
			assert_int_equal(s.buf[pos], pattern(pos));
	}
	assert_int_equal(crossed, 1);
	sink_reset(&s);
	ring_free(r);
}

/* ------------------------------------------ hostile: a racing producer */

struct hammer {
	uint8_t *data;
	int stop;
	unsigned long flips;
};

static void store32(uint8_t *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)p, v, __ATOMIC_RELAXED);
}

static void store16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, v, __ATOMIC_RELAXED);
}

static void store64(uint8_t *p, uint64_t v)
{
	__atomic_store_n((uint64_t *)p, v, __ATOMIC_RELAXED);
}

/*
 * Keep rewriting one record at offset 0: every other step it is a valid
 * 100-byte DATA record (payload all 0xAA or all 0x55), in between one field
 * is made bad. The lengths are chosen so that no mix of their bytes is a
 * valid length other than 100 (head is set to one 128-byte record).
 */
static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	const uint32_t lens[] = {0, UINT32_MAX, 5000};
	unsigned long i = 0;

	while (!__atomic_load_n(&h->stop, __ATOMIC_RELAXED)) {
		uint8_t *rec = h->data;
		uint64_t fill = (i & 2) ? 0x5555555555555555ull : 0xAAAAAAAAAAAAAAAAull;

		for (int k = 0; k < 13; k++) /* 104 bytes cover the 100 */
			store64(rec + 16 + 8 * k, fill);
		store32(rec, 100);
		store16(rec + 4, PH_REC_DATA);
		store16(rec + 6, 0);
		store64(rec + 8, CALL_ID);
		switch (i % 6) {
		case 0:
			store32(rec, lens[(i / 6) % 3]);
			break;
		case 1:
			store16(rec + 4, (i / 6) % 2 ? 7 : PH_REC_PAD);
			break;
		case 2:
			store16(rec + 6, 1);
			break;
		case 3:
			store64(rec + 8, OTHER_ID);
			break;
		default:
			break; /* stays valid */
		}
		i++;
	}
	__atomic_store_n(&h->flips, i, __ATOMIC_RELAXED);
	return NULL;
}

static void test_racing_producer(void **state)
{
	struct ring *r = ring_new(CAP);
	struct hammer h = {.data = r->data};
	static const char *const allowed[] = {WHY_LEN,	 WHY_TYPE, WHY_PAD_LEN,
					      WHY_FLAGS, WHY_PAST, WHY_CALL};
	unsigned long ok = 0, bad = 0, iters = 0;
	struct sink s = {0};
	pthread_t t;
	double t0;

	put_rec(r, 0, 100, PH_REC_DATA, 0, CALL_ID);
	memset(r->data + 16, 0xAA, 104);
	assert_int_equal(pthread_create(&t, NULL, hammer_main, &h), 0);
	t0 = now_s();
	for (;;) {
		const char *why = NULL;
		int64_t n;
		double el = now_s() - t0;

		if (el > 0.4 && ok > 100 && bad > 100)
			break;
		if (el > 10)
			break; /* the asserts below then say what never happened */
		set_tail(r, 0);
		r->shared->head = 128;
		s.len = 0;
		s.calls = 0;
		n = ph__ring_consume(&r->c, CALL_ID, sink_fn, &s, UINT64_MAX, &why);
		iters++;
		if (n == -EPROTO) {
			size_t k;

			for (k = 0; k < sizeof(allowed) / sizeof(allowed[0]); k++)
				if (why && strcmp(why, allowed[k]) == 0)
					break;
			if (k == sizeof(allowed) / sizeof(allowed[0]))
				fail_msg("unexpected violation: %s", why ? why : "(null)");
			assert_int_equal(s.len, 0);
			assert_int_equal(r->c.tail, 0);
			bad++;
			continue;
		}
		/* Delivered: exactly the one record, its length the copied 100. */
		assert_int_equal(n, 100);
		assert_int_equal(s.len, 100);
		assert_int_equal(s.calls, 1);
		assert_int_equal(r->c.tail, 128);
		/* The payload may be torn between fills, but only ever holds
		 * bytes the producer wrote. */
		for (int i = 0; i < 100; i++)
			assert_true(s.buf[i] == 0xAA || s.buf[i] == 0x55);
		ok++;
	}
	__atomic_store_n(&h.stop, 1, __ATOMIC_RELAXED);
	assert_int_equal(pthread_join(t, NULL), 0);
	print_message("racing producer: %lu consumes, %lu delivered, %lu refused, %lu flips\n",
		      iters, ok, bad, h.flips);
	assert_true(h.flips > 1000);
	assert_true(ok > 100);
	assert_true(bad > 100);
	sink_reset(&s);
	ring_free(r);
}

/* ------------------------------------------------- the honest producer */

/* Each size in a fresh ring: the record layout and the delivery. */
static void test_honest_sizes(void **state)
{
	const uint64_t max = ph_ring_max_payload(CAP);
	const uint64_t sizes[] = {1, 15, 16, 17, max, max + 1};
	const uint64_t totals[] = {32, 32, 32, 48, CAP / 4, CAP / 4 + 32};
	uint8_t buf[CAP];

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct ring *r = ring_new(CAP);
		struct ph_ring_producer p;
		struct sink s = {0};
		struct ph_ring_rec rec;

		for (uint64_t i = 0; i < sizes[k]; i++)
			buf[i] = pattern(k * 1000 + i);
		ph__ring_producer_init(&p, r->base, CAP, -1);
		assert_int_equal(ph__ring_write(&p, CALL_ID, buf, sizes[k]), 0);
		assert_int_equal(p.head, totals[k]);
		assert_int_equal(ph__ring_publish(&p), 0);
		assert_int_equal(r->shared->head, totals[k]);

		/* The first record as it sits in shared memory. */
		memcpy(&rec, r->data, sizeof(rec));
		assert_int_equal(rec.len, sizes[k] > max ? max : sizes[k]);
		assert_int_equal(rec.type, PH_REC_DATA);
		assert_int_equal(rec.flags, 0);
		assert_int_equal(rec.call_id, CALL_ID);

		assert_int_equal(consume_all(r, &s), sizes[k]);
		assert_int_equal(s.calls, sizes[k] > max ? 2 : 1);
		assert_int_equal(s.len, sizes[k]);
		assert_memory_equal(s.buf, buf, sizes[k]);
		assert_int_equal(r->shared->tail, totals[k]);
		sink_reset(&s);
		ring_free(r);
	}
}

/*
 * Many small records through a small ring: the producer must pad at every
 * wrap, exactly where a model of the layout says, and the consumer must
 * skip the pads and deliver the bytes unchanged.
 */
static void test_honest_wrap_with_pads(void **state)
{
	struct ring *r = ring_new(CAP);
	struct ph_ring_producer p;
	struct sink s = {0};
	uint64_t seed = 7, sent = 0, model = 0, pads = 0;
	uint8_t buf[300];

	ph__ring_producer_init(&p, r->base, CAP, -1);
	for (int i = 0; i < 3000; i++) {
		uint64_t len = 1 + tu_rng_next(&seed) % sizeof(buf);
		uint64_t total = ph_ring_rec_total(len), off = model & (CAP - 1);

		if (CAP - off < total) {
			model += CAP - off;
			pads++;
		}
		model += total;
		for (uint64_t j = 0; j < len; j++)
			buf[j] = pattern(sent + j);
		assert_int_equal(ph__ring_write(&p, CALL_ID, buf, len), 0);
		sent += len;
		assert_int_equal(p.head, model);
		/* Consume every few records, so batches hold pads too. */
		if (i % 5 == 4) {
			assert_int_equal(ph__ring_publish(&p), 0);
			consume_all(r, &s);
			assert_int_equal(r->c.tail, model);
		}
	}
	assert_int_equal(ph__ring_publish(&p), 0);
	consume_all(r, &s);
	assert_true(pads > 50);
	assert_int_equal(s.len, sent);
	for (uint64_t j = 0; j < sent; j++)
		assert_int_equal(s.buf[j], pattern(j));
	sink_reset(&s);
	ring_free(r);
}

struct stream {
	struct ring *r;
	uint64_t total;
	int result;
};

static void *stream_producer(void *arg)
{
	struct stream *st = arg;
	struct ph_ring_producer p;
	static uint8_t buf[40000];
	uint64_t seed = 99, pos = 0;

	ph__ring_producer_init(&p, st->r->base, st->r->cap, -1);
	while (pos < st->total) {
		uint64_t len = 1 + tu_rng_next(&seed) % sizeof(buf);

		if (len > st->total - pos)
			len = st->total - pos;
		for (uint64_t i = 0; i < len; i++)
			buf[i] = pattern(pos + i);
		st->result = ph__ring_write(&p, CALL_ID, buf, len);
		if (st->result < 0)
			return NULL;
		pos += len;
	}
	st->result = ph__ring_publish(&p);
	return NULL;
}

struct verify_sink {
	uint64_t pos;
	uint64_t bad;
};

static int verify_fn(void *userdata, const void *buf, size_t len)
{
	struct verify_sink *v = userdata;
	const uint8_t *b = buf;

	for (size_t i = 0; i < len; i++)
		if (b[i] != pattern(v->pos + i))
			v->bad++;
	v->pos += len;
	return 0;
}

/*
 * 64 MiB through a 64 KiB ring with both sides running: the producer must
 * block on a full ring (else it would overwrite unread data and the
 * pattern would break) and the consumer sleeps only through the doorbell
 * handshake.
 */
static void test_honest_threaded_stream(void **state)
{
	const uint64_t cap = 64 * 1024;
	struct ring *r = ring_new(cap);
	struct stream st = {.r = r, .total = 64ull << 20, .result = 1};
	struct verify_sink v = {0};
	unsigned long empty = 0, batches = 0;
	pthread_t t;
	double t0 = now_s();

	assert_int_equal(pthread_create(&t, NULL, stream_producer, &st), 0);
	while (v.pos < st.total) {
		const char *why = NULL;
		int64_t n = ph__ring_consume(&r->c, CALL_ID, verify_fn, &v, UINT64_MAX, &why);

		if (n < 0)
			fail_msg("consume: %lld (%s)", (long long)n, why ? why : "?");
		assert_true(n <= (int64_t)cap);
		batches++;
		if (n > 0)
			continue;
		empty++;
		/* Nothing there: ask for a doorbell, then wait for the producer
		 * to publish (it clears the flag when it sees it). */
		if (ph__ring_consumer_want_doorbell(&r->c))
			continue;
		while (__atomic_load_n(&r->shared->consumer_sleeping, __ATOMIC_ACQUIRE)) {
			if (now_s() - t0 > 10)
				fail_msg("producer never published (pos %llu)",
					 (unsigned long long)v.pos);
			sched_yield();
		}
		ph__ring_consumer_no_doorbell(&r->c);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(st.result, 0);
	assert_int_equal(v.pos, st.total);
	assert_int_equal(v.bad, 0);
	assert_int_equal(r->shared->head, r->c.tail);
	print_message("stream: 64 MiB in %.3f s, %lu batches, %lu empty\n", now_s() - t0, batches,
		      empty);
	ring_free(r);
}

/* ---------------------------------------------------- limit and sink */

static void write_five(struct ring *r, struct ph_ring_producer *p)
{
	uint8_t buf[100];

	ph__ring_producer_init(p, r->base, r->cap, -1);
	for (int k = 0; k < 5; k++) {
		memset(buf, 'a' + k, sizeof(buf));
		assert_int_equal(ph__ring_write(p, CALL_ID, buf, sizeof(buf)), 0);
	}
	assert_int_equal(ph__ring_publish(p), 0);
	assert_int_equal(r->shared->head, 5 * 128);
}

/* The limit counts ring bytes, headers included: tiny records cannot make
 * one bounded consume do unbounded work (it once counted payload only, so
 * 64 one-byte records went through a limit of 64 in one call). */
static void test_limit_counts_ring_bytes(void **state)
{
	struct ring *r = ring_new(CAP);
	struct ph_ring_producer p;
	struct sink s = {0};
	const char *why = NULL;
	(void)state;

	ph__ring_producer_init(&p, r->base, r->cap, -1);
	for (int k = 0; k < 64; k++)
		assert_int_equal(ph__ring_write(&p, CALL_ID, "x", 1), 0);
	assert_int_equal(ph__ring_publish(&p), 0);
	assert_int_equal(r->shared->head, 64 * 32);
	assert_int_equal(ph__ring_consume(&r->c, CALL_ID, sink_fn, &s, 64, &why), 2);
	assert_int_equal(r->c.tail, 64);
	assert_int_equal(ph__ring_consume(&r->c, CALL_ID, sink_fn, &s, UINT64_MAX, &why), 62);
	assert_int_equal(s.len, 64);
	sink_reset(&s);
	ring_free(r);
}

static void test_limit(void **state)
{
	struct ring *r = ring_new(CAP);
	struct ph_ring_producer p;
	struct sink s = {0};
	const char *why = NULL;

	write_five(r, &p);
	/* Zero: nothing taken, and nothing published (no tail moved, no
	 * producer to wake for it). */
	assert_int_equal(ph__ring_consume(&r->c, CALL_ID, sink_fn, &s, 0, &why), 0);
	assert_int_equal(s.calls, 0);
	assert_int_equal(r->c.tail, 0);
	assert_int_equal(r->shared->tail_seq, 0);
	/* Exactly one record's worth. */
	assert_int_equal(ph__ring_consume(&r->c, CALL_ID, sink_fn, &s, 100, &why), 100);
	assert_int_equal(r->c.tail, 128);
	assert_int_equal(r->shared->tail, 128);
	/* The limit is checked before each record: 150 takes two whole ones. */
	assert_int_equal(ph__ring_consume(&r->c, CALL_ID, sink_fn, &s, 150, &why), 200);
	assert_int_equal(r->c.tail, 3 * 128);
	assert_int_equal(ph__ring_consume(&r->c, CALL_ID, sink_fn, &s, 1, &why), 100);
	assert_int_equal(ph__ring_consume(&r->c, CALL_ID, sink_fn, &s, UINT64_MAX, &why), 100);
	assert_int_equal(ph__ring_consume(&r->c, CALL_ID, sink_fn, &s, UINT64_MAX, &why), 0);
	assert_int_equal(s.len, 500);
	for (int k = 0; k < 5; k++)
		for (int i = 0; i < 100; i++)
			assert_int_equal(s.buf[k * 100 + i], 'a' + k);
	assert_int_equal(r->shared->tail, 5 * 128);
	sink_reset(&s);
	ring_free(r);
}

static void test_sink_error(void **state)
{
	struct ring *r = ring_new(CAP);
	struct ph_ring_producer p;
	struct sink s = {.fail_at = 2, .err = -ENOSPC};
	const char *why = NULL;

	write_five(r, &p);
	assert_int_equal(ph__ring_consume(&r->c, CALL_ID, sink_fn, &s, UINT64_MAX, &why), -ENOSPC);
	assert_int_equal(s.calls, 2);
	assert_int_equal(s.len, 100);
	/* The failed record counts as taken and the tail is published, so
	 * the private and shared tails agree and nothing is delivered twice. */
	assert_int_equal(r->c.tail, 2 * 128);
	assert_int_equal(r->shared->tail, 2 * 128);
	assert_int_equal(ph__ring_consume(&r->c, CALL_ID, sink_fn, &s, UINT64_MAX, &why), 300);
	assert_int_equal(s.len, 400);
	assert_int_equal(s.buf[99], 'a');
	assert_int_equal(s.buf[100], 'c');
	assert_int_equal(s.buf[399], 'e');

	/* A NULL sink counts and discards. */
	set_tail(r, 0);
	write_five(r, &p);
	assert_int_equal(ph__ring_consume(&r->c, CALL_ID, NULL, NULL, UINT64_MAX, &why), 500);
	sink_reset(&s);
	ring_free(r);
}

/* A record bigger than the copy-out chunk arrives in chunks; an error on
 * a middle chunk stops the rest of that record. */
static void test_large_record_chunks(void **state)
{
	const uint64_t cap = 1u << 20;
	const uint64_t len = 3 * PH_RING_CHUNK + 3392;
	struct ring *r = ring_new(cap);
	struct ph_ring_producer p;
	struct sink s = {0};
	uint8_t *buf = malloc(len);

	assert_non_null(buf);
	assert_true(len <= ph_ring_max_payload(cap));
	for (uint64_t i = 0; i < len; i++)
		buf[i] = pattern(i);
	ph__ring_producer_init(&p, r->base, cap, -1);
	assert_int_equal(ph__ring_write(&p, CALL_ID, buf, len), 0);
	assert_int_equal(ph__ring_write(&p, CALL_ID, buf, len), 0);
	assert_int_equal(ph__ring_publish(&p), 0);

	s.fail_at = 2;
	s.err = -EIO;
	assert_int_equal(ph__ring_consume(&r->c, CALL_ID, sink_fn, &s, UINT64_MAX, NULL), -EIO);
	assert_int_equal(s.calls, 2);
	assert_int_equal(s.len, PH_RING_CHUNK);
	assert_int_equal(r->c.tail, ph_ring_rec_total(len));

	sink_reset(&s);
	assert_int_equal(consume_all(r, &s), len);
	assert_int_equal(s.calls, 4);
	assert_int_equal(s.max_chunk, PH_RING_CHUNK);
	assert_memory_equal(s.buf, buf, len);
	free(buf);
	sink_reset(&s);
	ring_free(r);
}

/* ---------------------------------------------------------- doorbell */

struct sleeper {
	uint32_t *word;
	uint32_t seq;
	pid_t tid;
	long ret;
	int err;
};

/* Sleep on the ring's futex word the way a blocked producer does. */
static void *sleeper_main(void *arg)
{
	struct sleeper *sl = arg;
	struct timespec ts = {.tv_sec = 2};

	__atomic_store_n(&sl->tid, gettid(), __ATOMIC_RELEASE);
	sl->ret = syscall(SYS_futex, sl->word, FUTEX_WAIT, sl->seq, &ts, NULL, 0);
	sl->err = sl->ret < 0 ? errno : 0;
	return NULL;
}

/* The kernel's view of a thread: 'S' once it sleeps in the futex. */
static char thread_state(pid_t tid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* Start a sleeper thread and wait until the kernel has it asleep. */
static void sleeper_start(struct sleeper *sl, pthread_t *t)
{
	const double t0 = now_s();

	assert_int_equal(pthread_create(t, NULL, sleeper_main, sl), 0);
	while (!__atomic_load_n(&sl->tid, __ATOMIC_ACQUIRE) || thread_state(sl->tid) != 'S') {
		if (now_s() - t0 > 1.5)
			fail_msg("the sleeper never went to sleep");
		sched_yield();
	}
	usleep(20 * 1000);
}

/*
 * A producer asleep on tail_seq (it said so in producer_sleeping) is woken
 * by the consumer's tail publication, not left to its timeout.
 */
static void test_consumer_wakes_sleeping_producer(void **state)
{
	struct ring *r = ring_new(CAP);
	struct sleeper sl = {.word = &r->shared->tail_seq};
	struct sink s = {0};
	pthread_t t;

	put_data(r, 0, 100, CALL_ID, 0);
	r->shared->head = 128;
	sl.seq = r->shared->tail_seq;
	r->shared->producer_sleeping = 1;
	sleeper_start(&sl, &t);
	assert_int_equal(consume_all(r, &s), 100);
	assert_int_equal(r->shared->tail_seq, sl.seq + 1);
	assert_int_equal(pthread_join(t, NULL), 0);
	if (sl.ret != 0)
		fail_msg("producer not woken: futex returned %ld (%s)", sl.ret, strerror(sl.err));
	sink_reset(&s);
	ring_free(r);
}

static void test_doorbell_handshake(void **state)
{
	struct ring *r = ring_new(CAP);
	struct ph_ring_producer p;
	struct sink s = {0};
	uint8_t b = 'x';

	ph__ring_producer_init(&p, r->base, CAP, -1);
	/* Empty: safe to sleep, flag raised. */
	assert_int_equal(ph__ring_consumer_want_doorbell(&r->c), 0);
	assert_int_equal(r->shared->consumer_sleeping, 1);
	/* A sleeping host makes the producer publish even a tiny record at
	 * once (no batching) and take the flag down. */
	assert_int_equal(ph__ring_write(&p, CALL_ID, &b, 1), 0);
	assert_int_equal(r->shared->head, 32);
	assert_int_equal(r->shared->consumer_sleeping, 0);
	/* Data already there: do not sleep, flag stays down. */
	assert_int_equal(ph__ring_consumer_want_doorbell(&r->c), 1);
	assert_int_equal(r->shared->consumer_sleeping, 0);
	assert_int_equal(consume_all(r, &s), 1);
	/* Not sleeping: a small write stays unpublished (batched). */
	assert_int_equal(ph__ring_write(&p, CALL_ID, &b, 1), 0);
	assert_int_equal(r->shared->head, 32);
	assert_int_equal(ph__ring_publish(&p), 0);
	assert_int_equal(r->shared->head, 64);
	ph__ring_consumer_no_doorbell(&r->c);
	assert_int_equal(r->shared->consumer_sleeping, 0);
	sink_reset(&s);
	ring_free(r);
}

/* ------------------------------------------------------- the input ring */

#define WHY_IN_BACKWARDS "input ring tail moved backwards"
#define WHY_IN_AHEAD	 "input ring tail is ahead of the head"
#define IN_CAP		 ((uint64_t)PH_INRING_CAPACITY)

/*
 * The consumer's tail, at random, against the host's own acked and head
 * (anywhere in 64 bits, the wrap included, with head at most a ring past
 * acked, as the host keeps it): accepted exactly when it lies in
 * [acked, head], and then it is the new acked and the space is what is
 * left of the ring; refused naming the rule otherwise, with nothing
 * changed. Whatever was accepted, the window the host writes next stays
 * in the data area and never reaches a byte the consumer has not freed.
 */
static void test_inring_random_tails(void **state)
{
	struct ring *r = ring_new(CAP);
	uint64_t seed = 0x1A7A11EDull;
	unsigned int seen[6] = {0};

	for (int i = 0; i < 200000; i++) {
		uint64_t x = tu_rng_next(&seed), acked, fed, tail, delta;
		const char *why = "untouched", *want_why = NULL;
		int64_t space;

		switch (i % 3) {
		case 0:
			acked = tu_rng_next(&seed);
			break;
		case 1: /* at the 64-bit wrap */
			acked = (uint64_t)0 - tu_rng_next(&seed) % (4 * IN_CAP);
			break;
		default:
			acked = tu_rng_next(&seed) % (8 * IN_CAP);
			break;
		}
		fed = (x >> 8) % 3 == 0 ? IN_CAP : (x >> 8) % (IN_CAP + 1);
		switch ((x >> 59) % 6) {
		case 0:
			delta = tu_rng_next(&seed); /* anything at all */
			break;
		case 1:
			delta = fed + 1 + tu_rng_next(&seed) % IN_CAP; /* just past the head */
			break;
		case 2:
			delta = (uint64_t)0 - 1 - tu_rng_next(&seed) % IN_CAP; /* just behind */
			break;
		case 3:
			delta = fed; /* all of it taken */
			break;
		case 4:
			delta = 0; /* nothing taken */
			break;
		default:
			delta = fed ? tu_rng_next(&seed) % (fed + 1) : 0; /* honest */
			break;
		}
		tail = acked + delta;
		if ((int64_t)delta < 0) {
			want_why = WHY_IN_BACKWARDS;
			seen[0]++;
		} else if (delta > fed) {
			want_why = WHY_IN_AHEAD;
			seen[1]++;
		} else {
			seen[delta == fed ? 2 : delta == 0 ? 3 : 4]++;
			seen[5] += fed == IN_CAP; /* a full ring */
		}

		r->in.acked = acked;
		r->in.head = acked + fed;
		r->shared->in_tail = tail;
		space = ph__inring_space(&r->in, &why);
		if (want_why) {
			if (space != -EPROTO || strcmp(why, want_why) != 0)
				fail_msg(
				    "acked %#llx head %#llx tail %#llx: got %lld (%s), want %s",
				    (unsigned long long)acked, (unsigned long long)(acked + fed),
				    (unsigned long long)tail, (long long)space, why, want_why);
			assert_int_equal(r->in.acked, acked);
			assert_int_equal(r->in.head, acked + fed);
			continue;
		}
		assert_int_equal(space, (int64_t)(IN_CAP - (fed - delta)));
		assert_int_equal(r->in.acked, tail);
		assert_string_equal(why, "untouched");
		if (space > 0) {
			size_t len;
			uint8_t *at = ph__inring_window(&r->in, (uint64_t)space, &len);
			const uint64_t off = (uint64_t)(at - (r->data + CAP));

			/* In the input ring's data area, after the output ring's. */
			assert_true(at >= r->data + CAP);
			assert_true(len > 0 && off + len <= IN_CAP);
			assert_true(len <= (uint64_t)space);
			assert_int_equal(off, r->in.head & (IN_CAP - 1));
		}
	}
	for (int k = 0; k < 6; k++)
		if (seen[k] <= 100)
			fail_msg("branch %d of the model seen %u times", k, seen[k]);
	ring_free(r);
}

/* The runner's consumer in a thread, reading with sizes at random and
 * checking every byte; what it read ends up in *got, the end in *ret. */
struct in_reader {
	struct ring *r;
	int wake_fd;
	uint64_t got;
	int bad;
	ssize_t ret;
};

static void *in_reader_main(void *arg)
{
	struct in_reader *rd = arg;
	struct ph_inring_consumer c;
	static uint8_t buf[100000];
	uint64_t seed = 1234;

	ph__inring_consumer_init(&c, rd->r->base, rd->r->cap, -1, rd->wake_fd);
	for (;;) {
		size_t want = 1 + tu_rng_next(&seed) % sizeof(buf);
		ssize_t n = ph__inring_read(&c, buf, want);

		if (n <= 0) {
			rd->ret = n;
			return NULL;
		}
		if ((size_t)n > want)
			rd->bad = 1;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pattern(rd->got + (uint64_t)i))
				rd->bad = 1;
		rd->got += (uint64_t)n;
	}
}

/*
 * 64 MiB from the host's producer to the runner's consumer, in writes of
 * every size, through the wrap many times: every byte arrives once, in
 * order. The host waits for room the way the pump does (ask, look again,
 * sleep on the wake pipe); the consumer sleeps on its futex. A lost
 * wakeup either way would stall a side for its 100 ms timeout, many
 * times over.
 */
static void test_inring_honest_threaded(void **state)
{
	const uint64_t total = 64ull << 20;
	struct ring *r = ring_new(CAP);
	struct in_reader rd = {.r = r};
	uint64_t seed = 4321, pos = 0;
	unsigned long waits = 0;
	int wake[2];
	pthread_t t;
	double t0 = now_s();

	assert_int_equal(pipe2(wake, O_CLOEXEC | O_NONBLOCK), 0);
	rd.wake_fd = wake[1];
	assert_int_equal(pthread_create(&t, NULL, in_reader_main, &rd), 0);
	while (pos < total) {
		const char *why = NULL;
		int64_t space = ph__inring_space(&r->in, &why);
		size_t len, n;
		uint8_t *at;

		assert_true(space >= 0);
		if (space == 0) {
			struct pollfd pfd = {.fd = wake[0], .events = POLLIN};
			char b[64];
			int w = ph__inring_want_space(&r->in, &why);

			assert_true(w >= 0);
			if (w == 1)
				continue;
			waits++;
			if (poll(&pfd, 1, 5000) != 1)
				fail_msg("never woken for room (at %llu)", (unsigned long long)pos);
			while (read(wake[0], b, sizeof(b)) > 0)
				;
			continue;
		}
		ph__inring_no_want_space(&r->in);
		at = ph__inring_window(&r->in, (uint64_t)space, &len);
		n = 1 + tu_rng_next(&seed) % 70000;
		n = n < len ? n : len;
		n = n < total - pos ? n : (size_t)(total - pos);
		for (size_t i = 0; i < n; i++)
			at[i] = pattern(pos + i);
		ph__inring_commit(&r->in, n);
		pos += n;
	}
	ph__inring_end(&r->in, 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(rd.ret, 0);
	assert_int_equal(rd.bad, 0);
	assert_int_equal(rd.got, total);
	print_message("input ring: 64 MiB in %.3f s, %lu waits for room\n", now_s() - t0, waits);
	assert_true(now_s() - t0 < 20);
	close(wake[0]);
	close(wake[1]);
	ring_free(r);
}

/* The ends: EOF is 0 for ever, a read error its errno for ever, after
 * every byte before it; words a plugin thread scribbled give -EIO and
 * never a copy from outside the ring; a read across the wrap is whole. */
static void test_inring_ends(void **state)
{
	struct ring *r = ring_new(CAP);
	struct ph_inring_consumer c;
	uint8_t buf[64];
	size_t len;
	uint8_t *at;

	ph__inring_consumer_init(&c, r->base, CAP, -1, -1);
	at = ph__inring_window(&r->in, IN_CAP, &len);
	memcpy(at, "0123456789", 10);
	ph__inring_commit(&r->in, 10);
	ph__inring_end(&r->in, ECONNRESET);
	assert_int_equal(ph__inring_read(&c, buf, 4), 4);
	assert_memory_equal(buf, "0123", 4);
	assert_int_equal(ph__inring_read(&c, buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "456789", 6);
	assert_int_equal(ph__inring_read(&c, buf, sizeof(buf)), -ECONNRESET);
	assert_int_equal(ph__inring_read(&c, buf, sizeof(buf)), -ECONNRESET);
	/* An errno no read gives: -EIO. */
	r->shared->in_err = 0;
	assert_int_equal(ph__inring_read(&c, buf, sizeof(buf)), -EIO);
	r->shared->in_err = 100000;
	assert_int_equal(ph__inring_read(&c, buf, sizeof(buf)), -EIO);

	/* A fresh stream, ending at its source's end, across the wrap. */
	ph__inring_reset(&r->in);
	ph__inring_consumer_reset(&c);
	r->in.head = r->in.acked = IN_CAP - 3;
	c.tail = c.published = IN_CAP - 3;
	r->shared->in_tail = IN_CAP - 3;
	assert_int_equal(ph__inring_space(&r->in, NULL), (int64_t)IN_CAP);
	at = ph__inring_window(&r->in, IN_CAP, &len);
	assert_int_equal(len, 3);
	memcpy(at, "abc", 3);
	ph__inring_commit(&r->in, 3);
	at = ph__inring_window(&r->in, IN_CAP - 3, &len);
	assert_ptr_equal(at, r->data + CAP);
	memcpy(at, "defg", 4);
	ph__inring_commit(&r->in, 4);
	ph__inring_end(&r->in, 0);
	assert_int_equal(ph__inring_read(&c, buf, sizeof(buf)), 7);
	assert_memory_equal(buf, "abcdefg", 7);
	assert_int_equal(ph__inring_read(&c, buf, sizeof(buf)), 0);
	assert_int_equal(ph__inring_read(&c, buf, sizeof(buf)), 0);

	/* Scribbled: a head more than a ring ahead, or behind; an end that
	 * is none of the three. */
	r->shared->in_head = c.tail + IN_CAP + 1;
	assert_int_equal(ph__inring_read(&c, buf, sizeof(buf)), -EIO);
	r->shared->in_head = c.tail - 1;
	assert_int_equal(ph__inring_read(&c, buf, sizeof(buf)), -EIO);
	r->shared->in_head = c.tail;
	r->shared->in_end = 7;
	assert_int_equal(ph__inring_read(&c, buf, sizeof(buf)), -EIO);
	ring_free(r);
}

/*
 * The wakeups both ways. A host that waits for room raises
 * in_producer_waiting, and the consumer's next tail publish (once it took
 * an eighth of the ring) takes it down and writes one byte on the wake
 * pipe; room already there means no wait and no flag. A consumer asleep
 * on in_head_seq is woken by the host's next commit, not left to its
 * timeout.
 */
static void test_inring_wakeups(void **state)
{
	struct ring *r = ring_new(CAP);
	struct ph_inring_consumer c;
	struct sleeper sl = {.word = &r->shared->in_head_seq};
	static uint8_t buf[PH_INRING_CAPACITY];
	int wake[2];
	size_t len;
	char b[8];
	pthread_t t;

	assert_int_equal(pipe2(wake, O_CLOEXEC | O_NONBLOCK), 0);
	ph__inring_consumer_init(&c, r->base, CAP, -1, wake[1]);
	/* Full: the host waits, and says so. */
	ph__inring_window(&r->in, IN_CAP, &len);
	assert_int_equal(len, IN_CAP);
	ph__inring_commit(&r->in, len);
	assert_int_equal(ph__inring_space(&r->in, NULL), 0);
	assert_int_equal(ph__inring_want_space(&r->in, NULL), 0);
	assert_int_equal(r->shared->in_producer_waiting, 1);
	/* Less than a batch taken: no publish, no byte. */
	assert_int_equal(ph__inring_read(&c, buf, 1000), 1000);
	assert_int_equal(r->shared->in_tail, 0);
	assert_int_equal(read(wake[0], b, sizeof(b)), -1);
	/* A batch: published, flag down, one byte. */
	assert_int_equal(ph__inring_read(&c, buf, IN_CAP / 8), IN_CAP / 8);
	assert_int_equal(r->shared->in_tail, 1000 + IN_CAP / 8);
	assert_int_equal(r->shared->in_producer_waiting, 0);
	assert_int_equal(read(wake[0], b, sizeof(b)), 1);
	/* Room there already: no wait, no flag. */
	assert_int_equal(ph__inring_want_space(&r->in, NULL), 1);
	assert_int_equal(r->shared->in_producer_waiting, 0);
	assert_false(r->in.waiting);
	/* Drained to empty: the consumer publishes before it would sleep. */
	ph__inring_end(&r->in, 0);
	assert_int_equal(ph__inring_read(&c, buf, sizeof(buf)), IN_CAP - 1000 - IN_CAP / 8);
	assert_int_equal(ph__inring_read(&c, buf, sizeof(buf)), 0);
	assert_int_equal(r->shared->in_tail, IN_CAP);

	/* The consumer asleep: the next commit wakes it. */
	ph__inring_reset(&r->in);
	sl.seq = r->shared->in_head_seq;
	r->shared->in_consumer_sleeping = 1;
	sleeper_start(&sl, &t);
	ph__inring_window(&r->in, IN_CAP, &len);
	ph__inring_commit(&r->in, 1);
	assert_int_equal(r->shared->in_head_seq, sl.seq + 1);
	assert_int_equal(pthread_join(t, NULL), 0);
	if (sl.ret != 0)
		fail_msg("consumer not woken: futex returned %ld (%s)", sl.ret, strerror(sl.err));
	close(wake[0]);
	close(wake[1]);
	ring_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_rejects_bad_capacity),
	    cmocka_unit_test(test_head_backwards),
	    cmocka_unit_test(test_head_too_far_ahead),
	    cmocka_unit_test(test_head_full_ring_ok),
	    cmocka_unit_test(test_head_unaligned),
	    cmocka_unit_test(test_random_heads),
	    cmocka_unit_test(test_rec_len_zero),
	    cmocka_unit_test(test_rec_len_too_large),
	    cmocka_unit_test(test_rec_straddles_end),
	    cmocka_unit_test(test_rec_past_head),
	    cmocka_unit_test(test_pad_wrong_length),
	    cmocka_unit_test(test_pad_past_head),
	    cmocka_unit_test(test_rec_unknown_type),
	    cmocka_unit_test(test_rec_nonzero_flags),
	    cmocka_unit_test(test_rec_other_call),
	    cmocka_unit_test(test_wrap_u64_raw),
	    cmocka_unit_test(test_wrap_u64_honest),
	    cmocka_unit_test(test_racing_producer),
	    cmocka_unit_test(test_honest_sizes),
	    cmocka_unit_test(test_honest_wrap_with_pads),
	    cmocka_unit_test(test_honest_threaded_stream),
	    cmocka_unit_test(test_limit),
	    cmocka_unit_test(test_limit_counts_ring_bytes),
	    cmocka_unit_test(test_sink_error),
	    cmocka_unit_test(test_large_record_chunks),
	    cmocka_unit_test(test_consumer_wakes_sleeping_producer),
	    cmocka_unit_test(test_doorbell_handshake),
	    cmocka_unit_test(test_inring_random_tails),
	    cmocka_unit_test(test_inring_honest_threaded),
	    cmocka_unit_test(test_inring_ends),
	    cmocka_unit_test(test_inring_wakeups),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
