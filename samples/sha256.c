/* SPDX-License-Identifier: MIT */
/*
 * Sample plugin "sha256": method "sha256" hashes its inputs, concatenated,
 * with SHA-256 from nettle (Debian's libnettle, nettle-dev), and prints
 * the digest the way `sha256sum < file` does: 64 lowercase hex digits,
 * two spaces, "-" and a newline. nettle is a system library: the sandbox
 * shows the loader's directories read-only, so the loader maps it with
 * the plugin, and hashing needs nothing the strict policy refuses. Whole inputs are hashed in
 * place, straight from the read-only mappings the SDK hands the handler; a stream input (`cat
 * big.iso | plughost run sha256.so --input -`) is read with ph_read() a chunk at a time, so memory
 * stays constant however long it is.
 *
 * Error code 1: an input could not be read (the message names the input
 * and why, e.g. the host's read of a pipe failed).
 */
#include <string.h>

#include <nettle/sha2.h>

#include <plughost/plugin.h>

#define CHUNK_SIZE (64u * 1024u)

/* One call at a time: a static buffer keeps 64 KiB off the stack. */
static unsigned char chunk[CHUNK_SIZE];

static int sha256(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs)
{
	static const char hex[] = "0123456789abcdef";
	struct sha256_ctx ctx;
	uint8_t digest[SHA256_DIGEST_SIZE];
	char text[2 * SHA256_DIGEST_SIZE + 1];

	sha256_init(&ctx);
	for (size_t i = 0; i < n_inputs; i++) {
		ssize_t n;

		if (!(inputs[i].flags & PH_INPUT_STREAM)) {
			sha256_update(&ctx, inputs[i].len, inputs[i].data);
			continue;
		}
		while ((n = ph_read(call, i, chunk, sizeof(chunk))) > 0)
			sha256_update(&ctx, (size_t)n, chunk);
		if (n < 0)
			return ph_error(call, 1, "input %zu: %s", i, strerror((int)-n));
	}
	sha256_digest(&ctx, sizeof(digest), digest);

	for (size_t i = 0; i < SHA256_DIGEST_SIZE; i++) {
		text[2 * i] = hex[digest[i] >> 4];
		text[2 * i + 1] = hex[digest[i] & 0xf];
	}
	text[sizeof(text) - 1] = '\0';

	return ph_printf(call, "%s  -\n", text);
}

static const struct ph_method methods[] = {
    {"sha256", sha256},
};

PH_PLUGIN_FLAGS("sha256", "1.1", methods, PH_PLUGIN_READS_STREAMS);
