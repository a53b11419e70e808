/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "proto.h"
#include "ring_producer.h"
#include "wakeup.h"

/* Publish once this many unpublished bytes pile up (batching keeps the
 * shared cache line quiet), or sooner when the host waits. */
#define PUBLISH_BATCH(cap) ((cap) / 8)

void ph__ring_producer_init(struct ph_ring_producer *p, void *base, uint64_t capacity, int ctl_fd)
{
	p->shared = base;
	p->data = (uint8_t *)base + PH_RING_HDR_SIZE;
	p->capacity = capacity;
	p->head = 0;
	p->published = 0;
	p->ctl_fd = ctl_fd;
	p->wake_fd = -1;
}

void ph__ring_wake_host(struct ph_ring_producer *p)
{
	/* The host sets consumer_sleeping, fences and looks at the ring and
	 * the slot once more before it sleeps. */
	ph__wake_host_if(&p->shared->consumer_sleeping, p->wake_fd);
}

int ph__ring_publish(struct ph_ring_producer *p)
{
	struct ph_ring_shared *s = p->shared;

	if (p->published == p->head)
		return 0;
	__atomic_store_n(&s->head, p->head, __ATOMIC_RELEASE);
	p->published = p->head;
	ph__ring_wake_host(p);
	return 0;
}

static uint64_t free_space(struct ph_ring_producer *p)
{
	uint64_t tail = __atomic_load_n(&p->shared->tail, __ATOMIC_ACQUIRE);

	return p->capacity - (p->head - tail);
}

struct space_wait {
	struct ph_ring_producer *p;
	uint64_t need;
};

static int has_space(void *ud)
{
	const struct space_wait *w = ud;

	return free_space(w->p) >= w->need;
}

/* Wait until at least need bytes are free: spin a little, then sleep on
 * the futex the host bumps at every tail publish. */
static int wait_space(struct ph_ring_producer *p, uint64_t need)
{
	struct space_wait w = {p, need};
	int r = ph__ring_publish(p);

	if (r < 0)
		return r;
	return ph__wait_host(&p->shared->tail_seq, &p->shared->producer_sleeping, has_space, &w,
			     PH_WAIT_SPIN_ROUNDS, p->ctl_fd);
}

/* Reserve total contiguous bytes, padding to the wrap if needed. */
static int reserve(struct ph_ring_producer *p, uint64_t total)
{
	const uint64_t off = p->head & (p->capacity - 1);
	const uint64_t to_end = p->capacity - off;
	int r;

	if (to_end < total) {
		struct ph_ring_rec pad = {.len = (uint32_t)(to_end - sizeof(pad)),
					  .type = PH_REC_PAD};

		if (free_space(p) < to_end && (r = wait_space(p, to_end)) < 0)
			return r;
		memcpy(p->data + off, &pad, sizeof(pad));
		p->head += to_end;
	}
	if (free_space(p) < total && (r = wait_space(p, total)) < 0)
		return r;
	return 0;
}

int ph__ring_write(struct ph_ring_producer *p, uint64_t call_id, const void *buf, size_t len)
{
	const uint64_t max_payload = ph_ring_max_payload(p->capacity);
	const uint8_t *src = buf;

	while (len > 0) {
		uint64_t n = len < max_payload ? len : max_payload;
		uint64_t total = ph_ring_rec_total(n);
		struct ph_ring_rec rec = {
		    .len = (uint32_t)n, .type = PH_REC_DATA, .call_id = call_id};
		uint64_t off;
		int r = reserve(p, total);

		if (r < 0)
			return r;
		off = p->head & (p->capacity - 1);
		memcpy(p->data + off, &rec, sizeof(rec));
		memcpy(p->data + off + sizeof(rec), src, n);
		p->head += total;
		src += n;
		len -= n;
		if (p->head - p->published >= PUBLISH_BATCH(p->capacity) ||
		    __atomic_load_n(&p->shared->consumer_sleeping, __ATOMIC_RELAXED)) {
			r = ph__ring_publish(p);
			if (r < 0)
				return r;
		}
	}
	return 0;
}
