/* SPDX-License-Identifier: MIT */
/*
 * Sample plugin "upper": method "upper" streams its inputs, concatenated,
 * with ASCII a-z turned into A-Z and every other byte left alone, like
 * `tr a-z A-Z`. No locale, no UTF-8 awareness: bytes in, bytes out.
 *
 * It shows the streaming pattern: work through the input a chunk at a time
 * and ph_write() each chunk, so memory stays constant however big the input
 * is, and the host sees output while the plugin is still working. ph_write()
 * blocks while the output ring is full, which paces the plugin to the host.
 * A stream input (`cat notes | plughost run upper.so --input -`) is read
 * with ph_read() into the same buffer and turned in place.
 *
 * Error code 1: an input could not be read (the message says why).
 */
#include <string.h>

#include <plughost/plugin.h>

#define CHUNK_SIZE (64u * 1024u)

/*
 * The SDK runs one call at a time, so a single static buffer is enough, and
 * it keeps 64 KiB off the stack.
 */
static unsigned char chunk[CHUNK_SIZE];

/* Turn n bytes of p into upper case in chunk[], and write them out. */
static int upper_chunk(struct ph_call *call, const unsigned char *p, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		unsigned char c = p[j];

		chunk[j] = (c >= 'a' && c <= 'z') ? (unsigned char)(c - 'a' + 'A') : c;
	}
	/* Fails only once the host has gone away: stop there. */
	return ph_write(call, chunk, n);
}

static int upper(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs)
{
	for (size_t i = 0; i < n_inputs; i++) {
		const unsigned char *p = inputs[i].data;
		size_t left = inputs[i].len;
		ssize_t got;

		/* A stream: read it into the buffer, a chunk at a time. */
		if (inputs[i].flags & PH_INPUT_STREAM) {
			while ((got = ph_read(call, i, chunk, sizeof(chunk))) > 0) {
				int r = upper_chunk(call, chunk, (size_t)got);

				if (r < 0)
					return r;
			}
			if (got < 0)
				return ph_error(call, 1, "input %zu: %s", i, strerror((int)-got));
			continue;
		}
		while (left > 0) {
			size_t n = left < CHUNK_SIZE ? left : CHUNK_SIZE;
			int r = upper_chunk(call, p, n);

			if (r < 0)
				return r;
			p += n;
			left -= n;
		}
	}

	return 0;
}

static const struct ph_method methods[] = {
    {"upper", upper},
};

PH_PLUGIN_FLAGS("upper", "1.1", methods, PH_PLUGIN_READS_STREAMS);
