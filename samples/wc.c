/* SPDX-License-Identifier: MIT */
/*
 * Sample plugin "wc": method "wc" counts the lines, words and bytes of its
 * inputs, concatenated, and prints them exactly as GNU `wc` (coreutils 9.1,
 * no options, reading a pipe, C locale) does: each count right-aligned in 7
 * columns, separated by one space, e.g. "      1       3       5\n". Wider
 * numbers simply take more room, as they do in wc. (Given a regular file,
 * as in `wc < file`, wc narrows the columns to fit the file's size. The
 * plugin cannot know where its input came from, so it always prints as for
 * a pipe: compare it with `cat file | wc`.)
 *
 * Words follow wc's single-byte (C locale) rules, byte for byte:
 *   - space, \t, \n, \v, \f and \r end a word;
 *   - any other printable byte (0x21-0x7e) starts or continues one;
 *   - every other byte (control characters, DEL, 0x80-0xff) does neither: it
 *     neither ends a word nor starts one. So "a\x01b" is one word and
 *     "\x01" alone is none.
 * In a UTF-8 locale wc decodes multibyte characters instead, so for text
 * that is not plain ASCII its word count can differ from this plugin's.
 * Lines count '\n' bytes; bytes are the total length.
 *
 * Stream inputs (`cat file | plughost run wc.so --input -`) are read with
 * ph_read() a chunk at a time. Error code 1: an input could not be read.
 */
#include <inttypes.h>
#include <string.h>

#include <plughost/plugin.h>

enum byte_class { BYTE_OTHER = 0, BYTE_SPACE, BYTE_WORD };

struct counts {
	uint64_t lines, words, bytes;
	int in_word; /* carried across inputs: they are one stream */
};

static enum byte_class classify(unsigned char c)
{
	switch (c) {
	case ' ':
	case '\t':
	case '\n':
	case '\v':
	case '\f':
	case '\r':
		return BYTE_SPACE;
	default:
		return (c > ' ' && c < 0x7f) ? BYTE_WORD : BYTE_OTHER;
	}
}

static void count(struct counts *cnt, const unsigned char *p, size_t len)
{
	cnt->bytes += len;
	for (size_t i = 0; i < len; i++) {
		switch (classify(p[i])) {
		case BYTE_SPACE:
			if (p[i] == '\n')
				cnt->lines++;
			cnt->in_word = 0;
			break;
		case BYTE_WORD:
			/* A word is counted where it starts. */
			if (!cnt->in_word)
				cnt->words++;
			cnt->in_word = 1;
			break;
		case BYTE_OTHER:
			break;
		}
	}
}

/* One call at a time: a static buffer for stream inputs. */
static unsigned char chunk[64 * 1024];

static int wc(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs)
{
	struct counts cnt = {0};

	for (size_t i = 0; i < n_inputs; i++) {
		ssize_t n;

		if (!(inputs[i].flags & PH_INPUT_STREAM)) {
			count(&cnt, inputs[i].data, inputs[i].len);
			continue;
		}
		/* A stream, a chunk at a time: in_word carries across. */
		while ((n = ph_read(call, i, chunk, sizeof(chunk))) > 0)
			count(&cnt, chunk, (size_t)n);
		if (n < 0)
			return ph_error(call, 1, "input %zu: %s", i, strerror((int)-n));
	}

	return ph_printf(call, "%7" PRIu64 " %7" PRIu64 " %7" PRIu64 "\n", cnt.lines, cnt.words,
			 cnt.bytes);
}

static const struct ph_method methods[] = {
    {"wc", wc},
};

PH_PLUGIN_FLAGS("wc", "1.1", methods, PH_PLUGIN_READS_STREAMS);
