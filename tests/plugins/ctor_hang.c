/* SPDX-License-Identifier: MIT */
/*
 * ctor_hang: a constructor that never returns, in allowed syscalls. The
 * host must give up on the handshake and fail the spawn, not wait for ever.
 */
#include <unistd.h>

#include <plughost/plugin.h>

__attribute__((constructor)) static void hang(void)
{
	for (;;)
		sleep(1);
}

static int never(struct ph_call *call, const struct ph_input *in, size_t n)
{
	return ph_write(call, "constructor returned\n", 21);
}

static const struct ph_method methods[] = {{"never", never}};
PH_PLUGIN("ctor_hang", "1.0", methods);
