/* SPDX-License-Identifier: MIT */
/*
 * The host's side of the output ring: a consumer written for a hostile
 * producer. It follows the rules of design.md section 3:
 *  - its own tail is authoritative; the shared head is a hint read once per
 *    batch and clamped to [tail, tail + capacity];
 *  - offsets are masked with the capacity given at init, never one read
 *    from shared memory;
 *  - each record header is copied out once and only the copy is checked;
 *    the payload is copied out before anyone looks at it;
 *  - anything inconsistent is a protocol violation.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "ring-layout.h"

/* Receives each payload chunk, copied into host memory. Return 0 or -errno. */
typedef int (*ph_ring_sink_fn)(void *userdata, const void *buf, size_t len);

struct ph_ring_consumer {
	struct ph_ring_shared *shared;
	const uint8_t *data;
	uint64_t capacity; /* private: never re-read from shared memory */
	uint64_t tail;	   /* private and authoritative */
	uint8_t *scratch;  /* PH_RING_CHUNK bytes */
};

/* Copy-out chunk size. */
#define PH_RING_CHUNK (64u * 1024u)

/*
 * Set up a consumer over base (PH_RING_HDR_SIZE + capacity bytes, mapped
 * read-write). capacity must be a power of two in range. Returns 0,
 * -EINVAL or -ENOMEM. Resets the shared indices to 0.
 */
int ph__ring_consumer_init(struct ph_ring_consumer *c, void *base, uint64_t capacity);
void ph__ring_consumer_fini(struct ph_ring_consumer *c);

/*
 * Consume every record published so far that belongs to call_id, passing
 * payloads to sink (which may be NULL), then publish the new tail and wake
 * a sleeping producer (when the tail moved). Stops early once the records taken (headers and pad
 * records included) cover limit bytes of ring (UINT64_MAX for no limit),
 * leaving the rest in the ring.
 *
 * Returns the payload bytes consumed (>= 0); -EPROTO when the ring broke a
 * rule, with a static string in *ret_why; or the sink's negative errno.
 */
int64_t ph__ring_consume(struct ph_ring_consumer *c, uint64_t call_id, ph_ring_sink_fn sink,
			 void *userdata, uint64_t limit, const char **ret_why);

/*
 * Before sleeping: ask the producer for a doorbell. Returns 1 when data is
 * already there (do not sleep), 0 when it is safe to sleep.
 */
int ph__ring_consumer_want_doorbell(struct ph_ring_consumer *c);
/* After waking: stop asking for doorbells. */
void ph__ring_consumer_no_doorbell(struct ph_ring_consumer *c);
