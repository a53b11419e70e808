/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (FIPS 180-4, section 6.2), written for the sha256 sample plugin.
 * Incremental: init once, update with any number of pieces of any size,
 * final once. Plain C with no allocation and no system calls, so it runs
 * unchanged inside the strictest sandbox.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32u
#define SHA256_BLOCK_SIZE  64u

struct sha256_ctx {
	uint32_t h[8];			  /* the hash value H(i) so far */
	uint64_t total;			  /* message bytes seen */
	uint8_t block[SHA256_BLOCK_SIZE]; /* a partial block waiting for more */
	size_t used;			  /* bytes in block[] */
};

void sha256_init(struct sha256_ctx *ctx);

/* Hash len more bytes of the message. data may be NULL when len is 0. */
void sha256_update(struct sha256_ctx *ctx, const void *data, size_t len);

/* Pad, finish and write the digest. ctx must be initialised again to reuse it. */
void sha256_final(struct sha256_ctx *ctx, uint8_t digest[SHA256_DIGEST_SIZE]);
