/* SPDX-License-Identifier: MIT */
/*
 * The host's side of the input ring: a producer written for a hostile
 * consumer, the mirror of ring.c. The host feeds a stream input's bytes
 * into it; the plugin's runner copies them out and says how far it got in
 * in_tail. The rules (docs/protocol.md):
 *  - its own head is authoritative; the shared in_tail is a hint, read
 *    once per look, that must lie in [acked, head] by wrap-safe arithmetic,
 *    where acked is the last tail it accepted: a tail that moves backwards
 *    or past the head is a protocol violation;
 *  - offsets are masked with the capacity given at init, never one read
 *    from shared memory;
 *  - it writes only the bytes in [head, acked + capacity), the ones the
 *    consumer has said it is done with, and never reads data back.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "ring-layout.h"

struct ph_inring {
	struct ph_ring_shared *shared;
	uint8_t *data;
	uint64_t capacity; /* private: never re-read from shared memory */
	uint64_t head;	   /* private and authoritative: bytes written */
	uint64_t acked;	   /* the consumer's tail as last accepted */
	int waiting;	   /* in_producer_waiting is up: we wait for space */
};

/* Set up a producer over base (ph_ring_memfd_size(capacity) bytes, mapped
 * read-write); capacity is the output ring's. Resets the stream. */
void ph__inring_init(struct ph_inring *r, void *base, uint64_t capacity);

/* Start a stream: zero the indices and the shared words. Before the
 * request that names it is posted (the runner reads them after it). */
void ph__inring_reset(struct ph_inring *r);

/*
 * Read the consumer's tail once, check it, and return the bytes free to
 * write (>= 0), or -EPROTO with a static string naming the rule in
 * *ret_why. Nothing changes on a violation.
 */
int64_t ph__inring_space(struct ph_inring *r, const char **ret_why);

/* Where the next bytes go, given space from ph__inring_space(): at most
 * *ret_len contiguous bytes up to the end of the data area. */
uint8_t *ph__inring_window(struct ph_inring *r, uint64_t space, size_t *ret_len);

/* n bytes were written at the window: publish the head and wake the
 * consumer if it sleeps. */
void ph__inring_commit(struct ph_inring *r, size_t n);

/* The stream ended: at its source's end (err 0) or with a read error
 * (a positive errno). The head is final. */
void ph__inring_end(struct ph_inring *r, int err);

/*
 * Before sleeping on a full ring: ask the consumer for a byte on the wake
 * pipe at its next tail publish, then look once more. Returns 1 when
 * there is space already (do not sleep; the request is withdrawn), 0 when
 * it is safe to sleep, -EPROTO (as ph__inring_space()) on a bad tail.
 */
int ph__inring_want_space(struct ph_inring *r, const char **ret_why);

/* Withdraw the request for a wake (space arrived, or the stream stops). */
void ph__inring_no_want_space(struct ph_inring *r);

/* While waiting for space: has the consumer published a new tail? Shared
 * memory only, no syscall: for spinning. */
int ph__inring_news(const struct ph_inring *r);
