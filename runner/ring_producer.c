/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "ring_producer.h"

/* Publish once this many unpublished bytes pile up (batching keeps the
 * shared cache line quiet), or sooner when the host waits. */
#define PUBLISH_BATCH(cap) ((cap) / 8)
#define SPIN_ROUNDS	   2000

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
	struct ph_ring_shared *s = p->shared;

	/* Pairs with the host's fence between setting consumer_sleeping and
	 * looking at the ring and the slot once more: either it sees what we
	 * published, or we see its flag. One byte per sleep; a full pipe
	 * (EAGAIN) means a byte is already waiting for it. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->consumer_sleeping, __ATOMIC_RELAXED) &&
	    __atomic_exchange_n(&s->consumer_sleeping, 0, __ATOMIC_ACQ_REL) && p->wake_fd >= 0) {
		ssize_t n;

		do
			n = write(p->wake_fd, "w", 1);
		while (n < 0 && errno == EINTR);
	}
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

/* After a quiet timeout: has the host hung up the control socket? */
static int host_gone(struct ph_ring_producer *p)
{
	struct pollfd pfd = {.fd = p->ctl_fd, .events = 0};

	return p->ctl_fd >= 0 && poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR));
}

/* Wait until at least need bytes are free: spin a little, then sleep on
 * the futex the host bumps at every tail publish. */
static int wait_space(struct ph_ring_producer *p, uint64_t need)
{
	struct ph_ring_shared *s = p->shared;
	int r = ph__ring_publish(p);

	if (r < 0)
		return r;
	for (int i = 0; i < SPIN_ROUNDS; i++) {
		if (free_space(p) >= need)
			return 0;
		__builtin_ia32_pause();
	}
	for (;;) {
		uint32_t seq = __atomic_load_n(&s->tail_seq, __ATOMIC_ACQUIRE);
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};

		__atomic_store_n(&s->producer_sleeping, 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (free_space(p) >= need)
			break;
		/* The timeout makes a missed wake cost 100 ms, not a hang. */
		if (syscall(SYS_futex, &s->tail_seq, FUTEX_WAIT, seq, &ts, NULL, 0) < 0 &&
		    errno == ETIMEDOUT && host_gone(p)) {
			__atomic_store_n(&s->producer_sleeping, 0, __ATOMIC_RELAXED);
			return -EPIPE;
		}
		if (free_space(p) >= need)
			break;
	}
	__atomic_store_n(&s->producer_sleeping, 0, __ATOMIC_RELAXED);
	return 0;
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
