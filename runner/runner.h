/* SPDX-License-Identifier: MIT */
/*
 * What the runner's parts share: the fixed fds it is started with, how it
 * reports a setup failure, its trusted init, and the request loop that
 * serves a loaded plugin.
 */
#pragma once

#include <stdint.h>

#include <plughost/plugin.h>

#include "wire.h"

/* Report a setup failure to the host and exit. Never returns. */
_Noreturn void ph__runner_fail(enum ph_setup_step step, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Stay behind as the plugin's init (pid 1 of its pid namespace) and fork
 * the process that will load the plugin. Returns in that child; never
 * returns in init, which relays the plugin's end on the supervisor
 * channel and exits.
 */
void ph__runner_become_init(void);

/* The i-th method, with the stride the plugin was compiled with. */
static inline const struct ph_method *ph__runner_method(const struct ph_plugin_descriptor *d,
							uint32_t i)
{
	return (const struct ph_method *)((const char *)d->methods + (size_t)i * d->method_size);
}

/*
 * Serve calls for a loaded, checked descriptor until the host hangs up.
 * ring_base maps PH_RING_HDR_SIZE + ring_capacity bytes read-write.
 * Returns the process's exit status.
 */
int ph__runner_serve(const struct ph_plugin_descriptor *desc, int ctl_fd, void *ring_base,
		     uint64_t ring_capacity);
