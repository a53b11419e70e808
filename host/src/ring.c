/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ring.h"

static int violation(const char **ret_why, const char *why)
{
	if (ret_why)
		*ret_why = why;
	return -EPROTO;
}

int ph__ring_consumer_init(struct ph_ring_consumer *c, void *base, uint64_t capacity)
{
	if (!c || !base || capacity < PH_RING_MIN_CAPACITY || capacity > PH_RING_MAX_CAPACITY ||
	    (capacity & (capacity - 1)))
		return -EINVAL;
	c->scratch = malloc(PH_RING_CHUNK);
	if (!c->scratch)
		return -ENOMEM;
	c->shared = base;
	c->data = (const uint8_t *)base + PH_RING_HDR_SIZE;
	c->capacity = capacity;
	c->tail = 0;
	memset(base, 0, PH_RING_HDR_SIZE);
	return 0;
}

void ph__ring_consumer_fini(struct ph_ring_consumer *c)
{
	if (!c)
		return;
	free(c->scratch);
	c->scratch = NULL;
}

/* Make the new tail visible and wake the producer if it sleeps on it. */
static void publish_tail(struct ph_ring_consumer *c)
{
	struct ph_ring_shared *s = c->shared;

	__atomic_store_n(&s->tail, c->tail, __ATOMIC_RELEASE);
	__atomic_fetch_add(&s->tail_seq, 1, __ATOMIC_RELEASE);
	/* Pairs with the producer's fence between setting producer_sleeping
	 * and re-reading tail: one of the two sides sees the other. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->producer_sleeping, __ATOMIC_RELAXED))
		/* Not FUTEX_PRIVATE: the word is shared across processes. A
		 * lying producer only costs us one cheap syscall. */
		syscall(SYS_futex, &s->tail_seq, FUTEX_WAKE, 1, NULL, NULL, 0);
}

int64_t ph__ring_consume(struct ph_ring_consumer *c, uint64_t call_id, ph_ring_sink_fn sink,
			 void *userdata, uint64_t limit, const char **ret_why)
{
	const uint64_t mask = c->capacity - 1;
	const uint64_t max_payload = ph_ring_max_payload(c->capacity);
	uint64_t head, consumed = 0, advanced = 0;
	int64_t r = 0;

	/* The head is a hint from hostile memory: read it once, then make sure
	 * it lies in [tail, tail + capacity] with wrap-safe arithmetic. */
	head = __atomic_load_n(&c->shared->head, __ATOMIC_ACQUIRE);
	if ((int64_t)(head - c->tail) < 0)
		return violation(ret_why, "ring head moved backwards");
	if (head - c->tail > c->capacity)
		return violation(ret_why, "ring head is more than a capacity ahead of the tail");
	if ((head - c->tail) % PH_RING_ALIGN)
		return violation(ret_why, "ring head is not record-aligned");

	/* The limit counts ring bytes, headers and pads included: a producer
	 * publishing tiny or empty records costs the host as much work per
	 * byte of ring as one publishing large ones, so it cannot make one
	 * call run long. */
	while (c->tail != head && advanced < limit) {
		const uint64_t off = c->tail & mask;
		const uint64_t avail = head - c->tail;
		struct ph_ring_rec rec;
		uint64_t total;

		/* One copy of the header; only the copy is checked and used. */
		memcpy(&rec, c->data + off, sizeof(rec));

		if (rec.type == PH_REC_PAD) {
			/* A pad covers exactly the rest of the data area. */
			if (rec.len != c->capacity - off - sizeof(rec))
				return violation(ret_why,
						 "ring pad record does not end at the wrap");
			if (rec.len + sizeof(rec) > avail)
				return violation(ret_why, "ring pad record runs past the head");
			c->tail += rec.len + sizeof(rec);
			advanced += rec.len + sizeof(rec);
			continue;
		}
		if (rec.type != PH_REC_DATA)
			return violation(ret_why, "ring record has an unknown type");
		if (rec.flags != 0)
			return violation(ret_why, "ring record has unknown flags");
		if (rec.len == 0 || rec.len > max_payload)
			return violation(ret_why, "ring record length is zero or too large");
		total = ph_ring_rec_total(rec.len);
		if (total > c->capacity - off)
			return violation(ret_why, "ring record straddles the end of the ring");
		if (total > avail)
			return violation(ret_why, "ring record runs past the head");
		if (rec.call_id != call_id)
			return violation(ret_why, "ring record belongs to another call");

		/* Copy out before anyone looks at it: the producer may be
		 * rewriting these bytes right now, and we deliver only the copy. */
		for (uint64_t done = 0; done < rec.len;) {
			size_t n = rec.len - done < PH_RING_CHUNK ? rec.len - done : PH_RING_CHUNK;

			memcpy(c->scratch, c->data + off + sizeof(rec) + done, n);
			done += n;
			if (sink) {
				int s = sink(userdata, c->scratch, n);
				if (s < 0) {
					r = s;
					break;
				}
			}
		}
		c->tail += total;
		advanced += total;
		consumed += rec.len;
		if (r < 0)
			break;
	}
	/* One publication per batch, not per record; none for an empty one
	 * (a spinning host looks here between every two calls). */
	if (advanced)
		publish_tail(c);
	return r < 0 ? r : (int64_t)consumed;
}

int ph__ring_consumer_want_doorbell(struct ph_ring_consumer *c)
{
	struct ph_ring_shared *s = c->shared;

	__atomic_store_n(&s->consumer_sleeping, 1, __ATOMIC_RELAXED);
	/* Pairs with the producer's fence between publishing head and reading
	 * consumer_sleeping: either it sees our flag or we see its head. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->head, __ATOMIC_RELAXED) != c->tail) {
		__atomic_store_n(&s->consumer_sleeping, 0, __ATOMIC_RELAXED);
		return 1;
	}
	return 0;
}

void ph__ring_consumer_no_doorbell(struct ph_ring_consumer *c)
{
	__atomic_store_n(&c->shared->consumer_sleeping, 0, __ATOMIC_RELAXED);
}
