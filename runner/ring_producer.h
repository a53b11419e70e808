/* SPDX-License-Identifier: MIT */
/*
 * The plugin's side of the output ring: append records, publish the head
 * per batch, block (spin, then futex) while the ring is full, and wake the
 * host only when it said it sleeps.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "ring-layout.h"

struct ph_ring_producer {
	struct ph_ring_shared *shared;
	uint8_t *data;
	uint64_t capacity;
	uint64_t head;	    /* private: bytes written */
	uint64_t published; /* last head stored in shared memory */
	int ctl_fd;	    /* to see the host hang up; -1 for none (tests) */
	int wake_fd;	    /* the wake pipe's write end; -1 (the default) for none */
};

void ph__ring_producer_init(struct ph_ring_producer *p, void *base, uint64_t capacity, int ctl_fd);

/*
 * Append len payload bytes as DATA records for call_id, splitting into
 * records of at most ph_ring_max_payload(capacity). Blocks while full.
 * Returns 0, or -EPIPE when the host is gone.
 */
int ph__ring_write(struct ph_ring_producer *p, uint64_t call_id, const void *buf, size_t len);

/* Store head for the host to see and wake it if it sleeps. */
int ph__ring_publish(struct ph_ring_producer *p);

/* Wake the host through the wake pipe if it said it sleeps (after a
 * publish or a completion, whose stores must come first). */
void ph__ring_wake_host(struct ph_ring_producer *p);
