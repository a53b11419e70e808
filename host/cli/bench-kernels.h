/* SPDX-License-Identifier: MIT */
/*
 * The loops `plughost bench` runs on both sides of a line: in the bench
 * plugin (bench-plugin.c), inside its sandbox, and in the baselines'
 * plain processes (bench.c). One copy, compiled with the same flags, so
 * that a ratio measures the sandbox and the transport, never two
 * different loops.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * The sum of data as native-endian uint64 words, a partial last word
 * zero-padded. Summing a stream piece by piece gives the same result as
 * long as every piece but the last is a multiple of 8 bytes.
 */
static inline uint64_t bench_sum(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t s = 0, w;
	size_t i = 0;

	for (; i + sizeof(w) <= len; i += sizeof(w)) {
		memcpy(&w, p + i, sizeof(w));
		s += w;
	}
	if (i < len) {
		w = 0;
		memcpy(&w, p + i, len - i);
		s += w;
	}
	return s;
}

/*
 * A CPU-bound loop of fixed work: one multiply-xorshift step per
 * iteration, each depending on the last, so the compiler can neither
 * vectorise nor shorten it. About a nanosecond per iteration.
 */
static inline uint64_t bench_spin(uint64_t iterations)
{
	uint64_t x = UINT64_C(0x243f6a8885a308d3);

	for (uint64_t i = 0; i < iterations; i++) {
		x ^= x >> 33;
		x *= UINT64_C(0xff51afd7ed558ccd);
		x ^= i;
	}
	return x;
}
