/* SPDX-License-Identifier: MIT */
/*
 * A runner from another plughost build, as far as the host can tell: it
 * answers on the control socket (fd 3) in a wire protocol version this
 * libplughost does not speak, then waits to be killed. The host must name
 * the mismatch and both versions, not report a protocol violation.
 */
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	struct {
		uint32_t magic;
		uint16_t abi, type;
		uint32_t len, nfds;
		uint64_t call_id;
	} h = {0x31474850u, 99, 2 /* SANDBOXED */, 0, 0, 0};

	send(3, &h, sizeof(h), MSG_NOSIGNAL);
	for (;;)
		pause();
}
