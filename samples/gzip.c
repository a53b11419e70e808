/* SPDX-License-Identifier: MIT */
/*
 * Sample plugin "gzip", through zlib (Debian's zlib1g): two methods.
 *
 *   gzip    compresses its inputs, concatenated, into one gzip member
 *           (deflateInit2() with windowBits 31: the gzip format, not raw
 *           zlib; level 6, as gzip's default; no file name, mtime 0, as
 *           `gzip -n` writes). `gzip -d` gives the inputs back.
 *   gunzip  decompresses its first input, gzip data of one or more
 *           members one after another (as `cat a.gz b.gz | gzip -d`
 *           reads them), and writes what they hold, concatenated. An
 *           optional second input is the most bytes it may write, in
 *           decimal (default 1 GiB): a decompression bomb stops there with
 *           an error instead of writing on (the host's --output-limit
 *           bounds it too, by killing the plugin).
 *
 * Both read a stream input (`cat big | plughost run gzip.so -m gzip
 * --input -`) with ph_read() a chunk at a time, so memory stays constant.
 * Unlike gzip, gunzip takes bytes after the last member for an error
 * rather than warning about "trailing garbage".
 *
 * Error codes: 1, an input could not be read; 2, the data is not valid
 * gzip (the message says what zlib found, and at which input offset), or
 * it ends early; 3, the output would pass its bound; 4, bad arguments (the
 * bound is not a number, too many inputs); 5, zlib ran out of memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include <plughost/plugin.h>

#define CHUNK_SIZE	   (64u * 1024u)
#define GUNZIP_DEFAULT_MAX ((uint64_t)1 << 30)

/* One call at a time: static buffers keep them off the stack. */
static unsigned char in_buf[CHUNK_SIZE];
static unsigned char out_buf[CHUNK_SIZE];

/*
 * Hands out an input a chunk at a time, whole or streamed: *ret_p and the
 * return value are the next bytes (0 at the end), or a negative errno.
 */
struct source {
	struct ph_call *call;
	const struct ph_input *input;
	size_t index, offset;
};

static ssize_t source_next(struct source *src, const unsigned char **ret_p)
{
	size_t n;

	if (src->input->flags & PH_INPUT_STREAM) {
		ssize_t got = ph_read(src->call, src->index, in_buf, sizeof(in_buf));

		*ret_p = in_buf;
		return got;
	}
	n = src->input->len - src->offset;
	if (n > CHUNK_SIZE)
		n = CHUNK_SIZE;
	if (n == 0)
		return 0; /* data may be NULL for an empty input */
	*ret_p = (const unsigned char *)src->input->data + src->offset;
	src->offset += n;
	return (ssize_t)n;
}

/* Write out what deflate or inflate put in out_buf, and empty it. */
static int drain(struct ph_call *call, z_stream *zs)
{
	size_t n = CHUNK_SIZE - zs->avail_out;
	int r = n ? ph_write(call, out_buf, n) : 0;

	zs->next_out = out_buf;
	zs->avail_out = CHUNK_SIZE;
	return r;
}

static int do_gzip(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs)
{
	z_stream zs = {0};
	int r = 0, zr;

	/* 31: 15 bits of window, plus 16 for a gzip header and trailer. */
	zr = deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
	if (zr != Z_OK)
		return ph_error(call, 5, "deflateInit2: %s",
				zr == Z_MEM_ERROR ? "out of memory" : zError(zr));
	zs.next_out = out_buf;
	zs.avail_out = CHUNK_SIZE;
	for (size_t i = 0; i < n_inputs && r == 0; i++) {
		struct source src = {call, &inputs[i], i, 0};
		const unsigned char *p;
		ssize_t n;

		while (r == 0 && (n = source_next(&src, &p)) > 0) {
			zs.next_in = (unsigned char *)p; /* zlib's API is not const */
			zs.avail_in = (uInt)n;
			while (r == 0 && zs.avail_in > 0) {
				deflate(&zs, Z_NO_FLUSH); /* cannot fail: the stream is ours */
				if (zs.avail_out == 0)
					r = drain(call, &zs);
			}
		}
		if (r == 0 && n < 0)
			r = ph_error(call, 1, "input %zu: %s", i, strerror((int)-n));
	}
	while (r == 0 && (zr = deflate(&zs, Z_FINISH)) != Z_STREAM_END) {
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			r = ph_error(call, 5, "deflate: %s", zError(zr));
			break;
		}
		r = drain(call, &zs);
	}
	if (r == 0)
		r = drain(call, &zs);
	deflateEnd(&zs);
	return r;
}

/* The optional bound: a decimal byte count, nothing else. */
static int parse_max(struct ph_call *call, const struct ph_input *in, uint64_t *ret)
{
	char text[24];
	char *end;
	unsigned long long v;

	if (in->flags & PH_INPUT_STREAM || in->len == 0 || in->len >= sizeof(text))
		return ph_error(call, 4,
				"gunzip: input 1 must be the output bound, a decimal byte count");
	memcpy(text, in->data, in->len);
	text[in->len] = '\0';
	if (text[in->len - 1] == '\n')
		text[in->len - 1] = '\0';
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || end == text || *end || text[0] < '0' || text[0] > '9')
		return ph_error(
		    call, 4,
		    "gunzip: input 1 must be the output bound, a decimal byte count, not '%s'",
		    text);
	*ret = v;
	return 0;
}

static int do_gunzip(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs)
{
	struct source src = {call, &inputs[0], 0, 0};
	uint64_t max = GUNZIP_DEFAULT_MAX, written = 0, consumed = 0;
	unsigned members = 0;
	int in_member = 0; /* inside a member, which must end before the input does */
	z_stream zs = {0};
	int r = 0, zr;

	if (n_inputs < 1 || n_inputs > 2)
		return ph_error(call, 4,
				"gunzip: want the gzip data, and optionally the output bound: 1 or "
				"2 inputs, not %zu",
				n_inputs);
	if (n_inputs == 2 && (r = parse_max(call, &inputs[1], &max)) != 0)
		return r;
	/* 31: gzip only; 47 would also take zlib data, which gzip -d does not. */
	zr = inflateInit2(&zs, 31);
	if (zr != Z_OK)
		return ph_error(call, 5, "inflateInit2: %s",
				zr == Z_MEM_ERROR ? "out of memory" : zError(zr));
	zs.next_out = out_buf;
	zs.avail_out = CHUNK_SIZE;
	for (;;) {
		const unsigned char *p;
		ssize_t n = source_next(&src, &p);

		if (n < 0) {
			r = ph_error(call, 1, "input 0: %s", strerror((int)-n));
			break;
		}
		if (n == 0)
			break;
		zs.next_in = (unsigned char *)p;
		zs.avail_in = (uInt)n;
		while (r == 0 && zs.avail_in > 0) {
			uInt before = zs.avail_in;
			size_t produced;

			in_member = 1;
			zr = inflate(&zs, Z_NO_FLUSH);
			consumed += before - zs.avail_in;
			produced = CHUNK_SIZE - zs.avail_out;
			if (zr == Z_NEED_DICT || zr == Z_DATA_ERROR || zr == Z_STREAM_ERROR) {
				r = ph_error(
				    call, 2,
				    "gunzip: member %u: not valid gzip data near byte %llu: %s",
				    members + 1, (unsigned long long)consumed,
				    zs.msg ? zs.msg : zError(zr));
				break;
			}
			if (zr == Z_MEM_ERROR) {
				r = ph_error(call, 5, "gunzip: zlib ran out of memory");
				break;
			}
			/* Checked before writing: a bomb never gets past max. */
			if (produced > max - written) {
				zs.avail_out += (uInt)(produced - (max - written));
				drain(call, &zs);
				r = ph_error(call, 3,
					     "gunzip: the output would pass its bound of %llu "
					     "bytes (a decompression bomb?)",
					     (unsigned long long)max);
				break;
			}
			written += produced;
			if (zs.avail_out == 0 || zr == Z_STREAM_END)
				r = drain(call, &zs);
			if (zr == Z_STREAM_END) {
				/* The next member, if more bytes follow. */
				members++;
				in_member = 0;
				inflateReset(&zs);
			}
		}
		if (r)
			break;
	}
	/* The input ended: flush what inflate holds of the last member. */
	while (r == 0 && in_member) {
		size_t produced;

		zr = inflate(&zs, Z_FINISH);
		produced = CHUNK_SIZE - zs.avail_out;
		if (produced > max - written) {
			r = ph_error(call, 3,
				     "gunzip: the output would pass its bound of %llu bytes (a "
				     "decompression bomb?)",
				     (unsigned long long)max);
			break;
		}
		written += produced;
		r = drain(call, &zs);
		if (r)
			break;
		if (zr == Z_STREAM_END) {
			members++;
			in_member = 0;
		} else if (zr == Z_BUF_ERROR && produced == 0) {
			r = ph_error(call, 2,
				     "gunzip: member %u is truncated: the input ends inside it",
				     members + 1);
		} else if (zr != Z_OK && zr != Z_BUF_ERROR) {
			r = ph_error(call, 2, "gunzip: member %u: %s", members + 1,
				     zs.msg ? zs.msg : zError(zr));
		}
	}
	if (r == 0 && members == 0)
		r = ph_error(call, 2, "gunzip: empty input: no gzip member in it");
	inflateEnd(&zs);
	return r;
}

static const struct ph_method methods[] = {
    {"gzip", do_gzip},
    {"gunzip", do_gunzip},
};

PH_PLUGIN_FLAGS("gzip", "1.0", methods, PH_PLUGIN_READS_STREAMS);
