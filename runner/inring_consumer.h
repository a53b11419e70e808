/* SPDX-License-Identifier: MIT */
/*
 * The plugin's side of the input ring: copy a stream input's bytes out of
 * shared memory into the plugin's buffer, publish the tail per batch,
 * block (spin, then futex) while the ring is empty, and wake the host only
 * when it said it waits for space. The mirror of ring_producer.c.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ring-layout.h"

struct ph_inring_consumer {
	struct ph_ring_shared *shared;
	const uint8_t *data;
	uint64_t capacity;  /* PH_INRING_CAPACITY */
	uint64_t tail;	    /* private: bytes consumed */
	uint64_t published; /* last tail stored in shared memory */
	int ctl_fd;	    /* to see the host hang up; -1 for none (tests) */
	int wake_fd;	    /* the wake pipe's write end; -1 for none */
};

/* base maps ph_ring_memfd_size(capacity) bytes: capacity is the output
 * ring's, which places the input ring after it. */
void ph__inring_consumer_init(struct ph_inring_consumer *c, void *base, uint64_t capacity,
			      int ctl_fd, int wake_fd);

/* A new stream starts at index 0 (the host zeroed the shared words
 * before it posted the request). */
void ph__inring_consumer_reset(struct ph_inring_consumer *c);

/*
 * Copy up to len (> 0) bytes of the stream into buf, waiting until there
 * are some. Returns the bytes copied, 0 once the host said the stream
 * ended and every byte is taken, the host's read error as a negative
 * errno (after every byte before it), -EPIPE when the host hung up, or
 * -EIO when the shared words make no sense (only a plugin thread
 * scribbling on them does that, and only to itself).
 */
ssize_t ph__inring_read(struct ph_inring_consumer *c, void *buf, size_t len);
