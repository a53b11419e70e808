/* SPDX-License-Identifier: MIT */
/*
 * ctor_forge: its ELF constructor forges the runner's word. While the
 * plugin loads, the control socket (fd 3) is still open in its process, so
 * it sends a raw SETUP_FAILED blaming a sandbox layer (Landlock). The host
 * must report a plugin that failed to load, and never name the layer: what
 * arrives after the runner announced "about to load plugin code" is the
 * plugin's word.
 */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <plughost/plugin.h>

#include "wire.h"

__attribute__((constructor)) static void forge(void)
{
	static const char text[] = "landlock unavailable";
	struct {
		uint32_t magic;
		uint16_t abi, type;
		uint32_t len, nfds;
		uint64_t call_id;
		uint32_t step;
		int32_t err;
		uint32_t msg_len, reserved;
		char text[sizeof(text) - 1];
	} __attribute__((packed)) m = {
	    .magic = PH_WIRE_MAGIC,
	    .abi = PH_WIRE_ABI,
	    .type = 4, /* SETUP_FAILED */
	    .len = 16 + sizeof(text) - 1,
	    .step = 7, /* landlock */
	    .err = 95, /* EOPNOTSUPP */
	    .msg_len = sizeof(text) - 1,
	};

	memcpy(m.text, text, sizeof(m.text));
	if (send(3, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
		return;
	/* The host acts on it at once; wait for that in an allowed syscall. */
	for (;;)
		sleep(1);
}

static int never(struct ph_call *call, const struct ph_input *in, size_t n)
{
	return ph_write(call, "forged failure was believed\n", 28);
}

static const struct ph_method methods[] = {{"never", never}};
PH_PLUGIN("ctor_forge", "1.0", methods);
