/* SPDX-License-Identifier: MIT */
/*
 * The runner's half of the wakeup rules of docs/protocol.md, shared by the
 * output ring's producer, the input ring's consumer and the request loop:
 * sleep on a futex word the host bumps (spin briefly first, ask for a wake,
 * re-check, sleep with a timeout), and wake the host through the wake pipe
 * only when it said it waits.
 */
#pragma once

#include <stdint.h>

/* Has the host hung up the control socket? 0 for ctl_fd -1 (tests). */
int ph__host_gone(int ctl_fd);

/*
 * After stores the host must see (a publish, a completion), made before
 * this call: if the host said it waits, through *flag, clear the flag and
 * write one byte to the wake pipe (wake_fd -1: none). Pairs with the host's
 * fence between setting the flag and looking once more: either it sees
 * the stores, or we see its flag.
 */
void ph__wake_host_if(uint32_t *flag, int wake_fd);

/*
 * Wait until ready(ud) is true: spin for spin_rounds pauses (a futex round
 * trip costs about PH_WAIT_SPIN_ROUNDS), then set *sleeping, fence,
 * re-check, and sleep in FUTEX_WAIT on *seq, which the host bumps (and
 * wakes if *sleeping is set) whenever what ready() looks at changes. The
 * 100 ms timeout bounds a missed wake and lets us notice a host that has
 * gone. Returns 0, or -EPIPE when the host hung up.
 */
int ph__wait_host(uint32_t *seq, uint32_t *sleeping, int (*ready)(void *ud), void *ud,
		  unsigned int spin_rounds, int ctl_fd);
#define PH_WAIT_SPIN_ROUNDS 2000u
