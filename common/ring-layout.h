/* SPDX-License-Identifier: MIT */
/*
 * The ring memfd shared by the host and the runner, the other half of their
 * private contract (wire.h is the first): the output ring (the runner
 * produces, the host consumes), the call slot, and the input ring (the host
 * produces a stream input, the runner consumes it).
 * docs/protocol.md describes it for people; keep the two in step. The host
 * treats every byte of it as hostile.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The call slot's sizes; wire.h's PH_NAME_MAX, PH_INPUTS_MAX and
 * PH_TEXT_MAX must agree (checked there). */
#define PH_SLOT_METHOD_MAX 128u
#define PH_SLOT_INPUTS_MAX 16u
#define PH_SLOT_TEXT_MAX   1024u

/* ---- output ring, call slot, input ring (a memfd sealed SHRINK|GROW|SEAL, mapped by both) ---- */

/*
 * Layout: PH_RING_HDR_SIZE bytes of header, then `capacity` data bytes of
 * the output ring (a power of two), then PH_INRING_CAPACITY bytes of the
 * input ring (ph_ring_memfd_size()). The header holds both rings' indices
 * and wakeup words (page 0), the call slot's request, written by the host
 * (PH_SLOT_REQ_OFF), and its completion, written by the runner
 * (PH_SLOT_DONE_OFF).
 *
 * head and tail are free-running byte counters; the data offset of an index
 * is index & (capacity - 1), with the capacity the host keeps privately.
 * Producer-written and consumer-written words sit on separate cache lines.
 *
 * Records are PH_RING_ALIGN-aligned and never straddle the end of the data
 * area: a producer that cannot fit a record before the end writes a PAD
 * record covering exactly the rest and starts again at offset 0.
 */
#define PH_RING_HDR_SIZE	 16384u
#define PH_SLOT_REQ_OFF		 4096u
#define PH_SLOT_DONE_OFF	 12288u
#define PH_RING_ALIGN		 16u
#define PH_RING_MIN_CAPACITY	 4096u
#define PH_RING_MAX_CAPACITY	 (1u << 30)
#define PH_RING_DEFAULT_CAPACITY (1u << 20)
#define PH_CACHELINE		 64u
/* The input ring's data bytes, the same for every instance: it costs no
 * memory until a stream fills it (tmpfs pages come on first write). */
#define PH_INRING_CAPACITY (1u << 20)

/* The ring memfd's size, and the offset of the input ring's data, for an
 * output ring of capacity bytes. */
static inline uint64_t ph_ring_memfd_size(uint64_t capacity)
{
	return PH_RING_HDR_SIZE + capacity + PH_INRING_CAPACITY;
}

static inline uint64_t ph_inring_off(uint64_t capacity)
{
	return PH_RING_HDR_SIZE + capacity;
}

/* How the host ended a stream (ph_ring_shared.in_end). */
enum ph_inring_end {
	PH_INRING_OPEN = 0,  /* more may come */
	PH_INRING_EOF = 1,   /* the source ended: in_head is final */
	PH_INRING_ERROR = 2, /* reading the source failed with in_err: in_head is final */
};

struct ph_ring_shared {
	/* Written by the producer (the plugin). The host only reads head,
	 * once per batch, and treats it as a hint. */
	_Alignas(PH_CACHELINE) uint64_t head;
	uint32_t producer_sleeping; /* producer waits on tail_seq */
	/* Written by the consumer (the host). The host never reads these
	 * back: its own copy of tail is authoritative. */
	_Alignas(PH_CACHELINE) uint64_t tail;
	uint32_t tail_seq; /* futex word, bumped at every tail publish */
	/* The host sleeps in poll() and wants one byte on the wake pipe at
	 * the next ring publish or completion. Set by the host, cleared by
	 * whichever side acts on it; a hint both ways. */
	uint32_t consumer_sleeping;

	/* The call slot. req_seq is written by the host only: bumped (a
	 * futex word) each time a request is posted. */
	_Alignas(PH_CACHELINE) uint32_t req_seq;
	/* Written by the runner: it sleeps on req_seq and wants a FUTEX_WAKE
	 * at the next request. */
	_Alignas(PH_CACHELINE) uint32_t runner_sleeping;
	/* Written by the runner: bumped after each completion is written.
	 * The host keeps its own count and reads this as a hint. */
	uint32_t done_seq;

	/* The input ring, for the call's stream input (if any); the host
	 * zeroes all of it before it posts such a request. Written by the
	 * host (the producer): */
	_Alignas(PH_CACHELINE) uint64_t in_head; /* bytes written */
	uint32_t in_head_seq;			 /* futex word, bumped at every in_head or in_end */
	uint32_t in_end; /* enum ph_inring_end, stored after the last in_head */
	int32_t in_err;	 /* PH_INRING_ERROR: the host's read errno (positive) */
	/* The host waits for space and wants one byte on the wake pipe at the
	 * next in_tail publish. Set by the host, cleared by the runner when
	 * it acts on it; a hint both ways. */
	uint32_t in_producer_waiting;
	/* Written by the runner (the consumer). The host reads in_tail as a
	 * hint, checked to lie in [the tail it last accepted, its own head]. */
	_Alignas(PH_CACHELINE) uint64_t in_tail; /* bytes consumed */
	uint32_t in_consumer_sleeping;		 /* sleeps on in_head_seq: wants a FUTEX_WAKE */

	/* Set by the runner when the plugin wrote through stdio's stdout or
	 * stderr stream (runner/stdio.c) since the host last cleared it: the
	 * host then reads the stdio pipes at the call's end. A hint: a plugin
	 * that sets it costs itself two reads; one that writes to fd 1 or 2
	 * directly is read when the host next sleeps, at the latest. */
	_Alignas(PH_CACHELINE) uint32_t stdio_written;
};
_Static_assert(sizeof(struct ph_ring_shared) <= PH_SLOT_REQ_OFF, "ring words fit page 0");

/* How one input of a request travels. */
enum ph_slot_input_how {
	PH_IN_INLINE = 1, /* its bytes are in the request's inline area */
	PH_IN_FD = 2,	  /* a sealed memfd in the call's CALL message */
	PH_IN_CACHED = 3, /* a memfd the runner kept mapped from an earlier call */
	PH_IN_STREAM = 4, /* its bytes come through the input ring while the call runs (size 0) */
};

/* Stream inputs one request may have: the one input ring. */
#define PH_SLOT_STREAMS_MAX 1u

#define PH_SLOT_NO_CACHE   0xffffffffu
#define PH_SLOT_CACHE_MAX  16u	 /* mapped inputs a runner keeps */
#define PH_SLOT_INLINE_MAX 4096u /* inline bytes one request carries */

struct ph_slot_input {
	uint32_t how;	/* enum ph_slot_input_how */
	uint32_t cache; /* cache entry to keep (FD) or find (CACHED) it in, or PH_SLOT_NO_CACHE */
	uint64_t size;
	uint64_t offset;   /* INLINE: where in inline[] */
	uint64_t dev, ino; /* FD and CACHED: the memfd's identity */
};

/*
 * A request, written by the host before it bumps req_seq. The runner
 * trusts the host, but still checks every field: a plugin thread in the
 * same process may scribble on it (which only harms that plugin).
 */
struct ph_slot_req {
	uint64_t call_id;
	uint32_t n_inputs;
	uint32_t n_fds;	     /* inputs with how FD, in order, in the CALL message */
	uint32_t method_len; /* bytes of method[], no NUL */
	uint32_t evict;	     /* bit i: drop cache entry i before anything else */
	uint32_t spin_ns;    /* how long the runner spins for the next request */
	uint32_t reserved;
	char method[PH_SLOT_METHOD_MAX];
	struct ph_slot_input in[PH_SLOT_INPUTS_MAX];
	uint8_t inline_data[PH_SLOT_INLINE_MAX];
};

/*
 * A completion, written by the runner before it bumps done_seq. Hostile:
 * the host copies it out once and checks only the copy
 * (ph__slot_done_check()).
 */
struct ph_slot_done {
	uint64_t call_id;
	uint32_t status;       /* enum ph_done_status */
	int32_t code;	       /* the handler's error code when status is ERROR */
	uint64_t output_bytes; /* payload bytes this call put in the ring */
	uint32_t log_msgs;     /* LOG messages this call sent on the control socket */
	uint32_t msg_len;      /* bytes of msg[] */
	char msg[PH_SLOT_TEXT_MAX];
};

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

_Static_assert(sizeof(struct ph_ring_rec) == 16 && PH_RING_HDR_SIZE == 16384,
	       "ring record and header sizes are fixed");
_Static_assert(PH_SLOT_REQ_OFF + sizeof(struct ph_slot_req) <= PH_SLOT_DONE_OFF &&
		   PH_SLOT_DONE_OFF + sizeof(struct ph_slot_done) <= PH_RING_HDR_SIZE,
	       "the call slot fits the ring header");

enum ph_done_status {
	PH_DONE_OK = 0,
	PH_DONE_ERROR = 1,     /* the handler returned an error code */
	PH_DONE_NO_METHOD = 2, /* no method of that name */
	PH_DONE_BAD_INPUT = 3, /* an input failed the runner's checks */
};

static inline struct ph_slot_req *ph_slot_req_of(void *ring_base)
{
	return (struct ph_slot_req *)((uint8_t *)ring_base + PH_SLOT_REQ_OFF);
}

static inline struct ph_slot_done *ph_slot_done_of(void *ring_base)
{
	return (struct ph_slot_done *)((uint8_t *)ring_base + PH_SLOT_DONE_OFF);
}
