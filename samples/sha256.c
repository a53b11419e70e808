/* SPDX-License-Identifier: MIT */
/*
 * Sample plugin "sha256": method "sha256" hashes its inputs, concatenated,
 * and prints the digest the way `sha256sum < file` does: 64 lowercase hex
 * digits, two spaces, "-" and a newline. The inputs are hashed in place,
 * straight from the read-only mappings the SDK hands the handler.
 */
#include <plughost/plugin.h>

#include "sha256-impl.h"

static int sha256(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs)
{
	static const char hex[] = "0123456789abcdef";
	struct sha256_ctx ctx;
	uint8_t digest[SHA256_DIGEST_SIZE];
	char text[2 * SHA256_DIGEST_SIZE + 1];

	sha256_init(&ctx);
	for (size_t i = 0; i < n_inputs; i++)
		sha256_update(&ctx, inputs[i].data, inputs[i].len);
	sha256_final(&ctx, digest);

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

PH_PLUGIN("sha256", "1.0", methods);
