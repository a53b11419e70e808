/* SPDX-License-Identifier: MIT */
/*
 * The output ring shared by the host (consumer) and the runner (producer),
 * the other half of their private contract (wire.h is the first).
 * docs/protocol.md describes it for people; keep the two in step. The host
 * treats every byte of it as hostile.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* ---- output ring (a memfd sealed SHRINK|GROW|SEAL, mapped by both) ---- */

/*
 * Layout: one page of header, then `capacity` data bytes (a power of two).
 * head and tail are free-running byte counters; the data offset of an index
 * is index & (capacity - 1), with the capacity the host keeps privately.
 * Producer-written and consumer-written words sit on separate cache lines.
 *
 * Records are PH_RING_ALIGN-aligned and never straddle the end of the data
 * area: a producer that cannot fit a record before the end writes a PAD
 * record covering exactly the rest and starts again at offset 0.
 */
#define PH_RING_HDR_SIZE	 4096u
#define PH_RING_ALIGN		 16u
#define PH_RING_MIN_CAPACITY	 4096u
#define PH_RING_MAX_CAPACITY	 (1u << 30)
#define PH_RING_DEFAULT_CAPACITY (1u << 20)
#define PH_CACHELINE		 64u

struct ph_ring_shared {
	/* Written by the producer (the plugin). The host only reads head,
	 * once per batch, and treats it as a hint. */
	_Alignas(PH_CACHELINE) uint64_t head;
	uint32_t producer_sleeping; /* producer waits on tail_seq */
	/* Written by the consumer (the host). The host never reads these
	 * back: its own copy of tail is authoritative. */
	_Alignas(PH_CACHELINE) uint64_t tail;
	uint32_t tail_seq;	    /* futex word, bumped at every tail publish */
	uint32_t consumer_sleeping; /* host wants a DOORBELL on new data */
};
_Static_assert(sizeof(struct ph_ring_shared) <= PH_RING_HDR_SIZE, "ring header fits a page");

enum ph_rec_type { PH_REC_DATA = 1, PH_REC_PAD = 2 };

struct ph_ring_rec {
	uint32_t len;  /* payload bytes that follow this header */
	uint16_t type; /* enum ph_rec_type */
	uint16_t flags;
	uint64_t call_id;
};
_Static_assert(sizeof(struct ph_ring_rec) == PH_RING_ALIGN, "record header is one alignment unit");

static inline uint64_t ph_ring_rec_total(uint64_t payload)
{
	return (sizeof(struct ph_ring_rec) + payload + PH_RING_ALIGN - 1) &
	       ~(uint64_t)(PH_RING_ALIGN - 1);
}

/* The largest payload one record may carry in a ring of this capacity. */
static inline uint64_t ph_ring_max_payload(uint64_t capacity)
{
	return capacity / 4 - sizeof(struct ph_ring_rec);
}

_Static_assert(sizeof(struct ph_ring_rec) == 16 && PH_RING_HDR_SIZE == 4096,
	       "ring record and header sizes are fixed");
