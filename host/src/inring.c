/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "inring.h"

static int violation(const char **ret_why, const char *why)
{
	if (ret_why)
		*ret_why = why;
	return -EPROTO;
}

void ph__inring_init(struct ph_inring *r, void *base, uint64_t capacity)
{
	r->shared = base;
	r->data = (uint8_t *)base + ph_inring_off(capacity);
	r->capacity = PH_INRING_CAPACITY;
	ph__inring_reset(r);
}

void ph__inring_reset(struct ph_inring *r)
{
	struct ph_ring_shared *s = r->shared;

	r->head = r->acked = 0;
	r->waiting = 0;
	s->in_head = 0;
	s->in_end = PH_INRING_OPEN;
	s->in_err = 0;
	s->in_producer_waiting = 0;
	s->in_tail = 0;
	s->in_consumer_sleeping = 0;
}

int64_t ph__inring_space(struct ph_inring *r, const char **ret_why)
{
	/* The tail is a hint from hostile memory: read it once, then make sure
	 * it lies in [acked, head] with wrap-safe arithmetic. A tail past the
	 * head would have us overwrite bytes the consumer never read (its own
	 * harm) and count space that is not there; one that moves backwards
	 * says it un-read bytes we may have overwritten already. */
	const uint64_t tail = __atomic_load_n(&r->shared->in_tail, __ATOMIC_ACQUIRE);

	if ((int64_t)(tail - r->acked) < 0)
		return violation(ret_why, "input ring tail moved backwards");
	if (tail - r->acked > r->head - r->acked)
		return violation(ret_why, "input ring tail is ahead of the head");
	r->acked = tail;
	return (int64_t)(r->capacity - (r->head - r->acked));
}

uint8_t *ph__inring_window(struct ph_inring *r, uint64_t space, size_t *ret_len)
{
	const uint64_t off = r->head & (r->capacity - 1);
	const uint64_t to_end = r->capacity - off;

	*ret_len = (size_t)(space < to_end ? space : to_end);
	return r->data + off;
}

/* Make the head or the end visible and wake the consumer if it sleeps. */
static void publish(struct ph_inring *r)
{
	struct ph_ring_shared *s = r->shared;

	__atomic_fetch_add(&s->in_head_seq, 1, __ATOMIC_RELEASE);
	/* Pairs with the consumer's fence between setting
	 * in_consumer_sleeping and looking at the ring again: one of the two
	 * sides sees the other. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->in_consumer_sleeping, __ATOMIC_RELAXED))
		/* Not FUTEX_PRIVATE: the word is shared across processes. A
		 * lying consumer only costs us one cheap syscall. */
		syscall(SYS_futex, &s->in_head_seq, FUTEX_WAKE, 1, NULL, NULL, 0);
}

void ph__inring_commit(struct ph_inring *r, size_t n)
{
	r->head += n;
	__atomic_store_n(&r->shared->in_head, r->head, __ATOMIC_RELEASE);
	publish(r);
}

void ph__inring_end(struct ph_inring *r, int err)
{
	struct ph_ring_shared *s = r->shared;

	/* The head was published with each commit; the end comes after it. */
	__atomic_store_n(&s->in_err, err, __ATOMIC_RELAXED);
	__atomic_store_n(&s->in_end, err ? PH_INRING_ERROR : PH_INRING_EOF, __ATOMIC_RELEASE);
	ph__inring_no_want_space(r);
	publish(r);
}

int ph__inring_want_space(struct ph_inring *r, const char **ret_why)
{
	int64_t space;

	__atomic_store_n(&r->shared->in_producer_waiting, 1, __ATOMIC_RELAXED);
	r->waiting = 1;
	/* Pairs with the consumer's fence between publishing its tail and
	 * reading in_producer_waiting: either it sees our flag or we see its
	 * tail. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	space = ph__inring_space(r, ret_why);
	if (space < 0)
		return (int)space;
	if (space > 0) {
		ph__inring_no_want_space(r);
		return 1;
	}
	return 0;
}

void ph__inring_no_want_space(struct ph_inring *r)
{
	if (!r->waiting)
		return;
	__atomic_store_n(&r->shared->in_producer_waiting, 0, __ATOMIC_RELAXED);
	r->waiting = 0;
}

int ph__inring_news(const struct ph_inring *r)
{
	return r->waiting && __atomic_load_n(&r->shared->in_tail, __ATOMIC_RELAXED) != r->acked;
}
