/* SPDX-License-Identifier: MIT */
/*
 * ctor_attack: attacks from its ELF constructor, before the runner has even
 * found the descriptor. Stage 1 is already in force: creating a socket is a
 * violation the host must name, and the plugin must never become ready.
 */
#include <sys/socket.h>

#include <plughost/plugin.h>

__attribute__((constructor)) static void attack_early(void)
{
	socket(AF_INET, SOCK_STREAM, 0);
}

static int never(struct ph_call *call, const struct ph_input *in, size_t n)
{
	return ph_write(call, "constructor attack was not stopped\n", 35);
}

static const struct ph_method methods[] = {{"never", never}};
PH_PLUGIN("ctor_attack", "1.0", methods);
