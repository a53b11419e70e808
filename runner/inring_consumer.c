/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "inring_consumer.h"
#include "wakeup.h"

/* Publish the tail once this many consumed bytes pile up (batching keeps
 * the shared cache line quiet and the host's wakeups few), and always
 * before sleeping on an empty ring. */
#define PUBLISH_BATCH(cap) ((cap) / 8)

void ph__inring_consumer_init(struct ph_inring_consumer *c, void *base, uint64_t capacity,
			      int ctl_fd, int wake_fd)
{
	c->shared = base;
	c->data = (const uint8_t *)base + ph_inring_off(capacity);
	c->capacity = PH_INRING_CAPACITY;
	c->ctl_fd = ctl_fd;
	c->wake_fd = wake_fd;
	ph__inring_consumer_reset(c);
}

void ph__inring_consumer_reset(struct ph_inring_consumer *c)
{
	c->tail = 0;
	c->published = 0;
}

/* Store the tail for the host and wake it if it waits for space. */
static void publish(struct ph_inring_consumer *c)
{
	if (c->published == c->tail)
		return;
	__atomic_store_n(&c->shared->in_tail, c->tail, __ATOMIC_RELEASE);
	c->published = c->tail;
	/* The host sets in_producer_waiting, fences and reads in_tail once
	 * more before it sleeps. */
	ph__wake_host_if(&c->shared->in_producer_waiting, c->wake_fd);
}

static int has_news(void *ud)
{
	const struct ph_inring_consumer *c = ud;

	return __atomic_load_n(&c->shared->in_head, __ATOMIC_ACQUIRE) != c->tail ||
	       __atomic_load_n(&c->shared->in_end, __ATOMIC_ACQUIRE) != PH_INRING_OPEN;
}

ssize_t ph__inring_read(struct ph_inring_consumer *c, void *buf, size_t len)
{
	struct ph_ring_shared *s = c->shared;
	const uint64_t mask = c->capacity - 1;

	for (;;) {
		/* The end first: the host stores its final head before it, so
		 * a head read after it is final too. */
		const uint32_t end = __atomic_load_n(&s->in_end, __ATOMIC_ACQUIRE);
		const uint64_t head = __atomic_load_n(&s->in_head, __ATOMIC_ACQUIRE);
		const uint64_t avail = head - c->tail;
		int r;

		/* The host never writes more than a ring ahead of our tail;
		 * anything else was scribbled by a plugin thread. Offsets are
		 * masked with our own capacity, so no copy leaves the ring. */
		if (avail > c->capacity)
			return -EIO;
		if (avail > 0) {
			const size_t n = avail < len ? (size_t)avail : len;
			const uint64_t off = c->tail & mask;
			const size_t first =
			    n < c->capacity - off ? n : (size_t)(c->capacity - off);

			/* Copied out: the plugin gets its own bytes, never a
			 * pointer into memory the host will write again. */
			memcpy(buf, c->data + off, first);
			memcpy((uint8_t *)buf + first, c->data, n - first);
			c->tail += n;
			if (c->tail - c->published >= PUBLISH_BATCH(c->capacity))
				publish(c);
			return (ssize_t)n;
		}
		if (end == PH_INRING_EOF)
			return 0;
		if (end == PH_INRING_ERROR) {
			const int32_t e = __atomic_load_n(&s->in_err, __ATOMIC_RELAXED);

			return e > 0 && e < 4096 ? -e : -EIO;
		}
		if (end != PH_INRING_OPEN)
			return -EIO;
		/* Empty: give the host all the room we have before we sleep. */
		publish(c);
		r = ph__wait_host(&s->in_head_seq, &s->in_consumer_sleeping, has_news, c,
				  PH_WAIT_SPIN_ROUNDS, c->ctl_fd);
		if (r < 0)
			return r;
	}
}
