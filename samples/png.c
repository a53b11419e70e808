/* SPDX-License-Identifier: MIT */
/*
 * Sample plugin "png", an image filter through libpng (Debian's
 * libpng16): it reads one PNG of any kind (palette, gray, RGB, with or
 * without alpha or tRNS, 1 to 16 bits, interlaced or not) and writes a new
 * 8-bit, non-interlaced PNG.
 *
 *   gray       the same image in 8-bit grayscale, each pixel's luma
 *              Y = (299 R + 587 G + 114 B + 500) / 1000 (ITU-R BT.601,
 *              rounded, on the 8-bit values); gray+alpha if the source
 *              had any transparency (an alpha channel or tRNS), else gray.
 *   thumbnail  the image shrunk to fit in N x N pixels, its aspect ratio
 *              kept (the longer side becomes N, the shorter one
 *              round(short * N / long), at least 1); never enlarged: an
 *              image that fits is written at its own size. N is the
 *              optional second input, a decimal 1..4096 (default 64).
 *              Each output pixel is the rounded mean of the source pixels
 *              in its box (source columns x*w/tw to (x+1)*w/tw, exclusive,
 *              and the same for rows), each of R, G, B, A on its own. RGBA
 *              if the source had transparency, else RGB.
 *
 * A PNG is hostile input here, and libpng reports every error through
 * longjmp: the handler setjmp()s, and any libpng error (bad signature,
 * bad CRC, truncated data, bad zlib stream) becomes plugin error 2 with
 * libpng's message. Sizes are checked before anything is allocated:
 * png_set_user_limits() refuses a side over 16384 pixels, and the plugin
 * refuses more than 16 Mi pixels in all (a 64 MiB decoded image), so a
 * small file that declares a huge image never gets its buffer. Ancillary
 * chunks are capped at 1 MiB each (png_set_chunk_malloc_max), text,
 * ICC profiles and the like are skipped unread, and libpng keeps at most
 * 32 other ancillary chunks (png_set_chunk_cache_max). libpng's
 * "benign" errors are errors here, so more image data than the rows need
 * (a zlib stream that inflates on and on behind a small header) is
 * refused rather than warned about.
 *
 * Error codes: 1, the input is empty or not a PNG; 2, libpng refused it
 * (its message follows); 3, the image is too large; 4, bad arguments (not
 * 1 or 2 inputs, N not a number in range); 5, out of memory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include <plughost/plugin.h>

#define MAX_SIDE      16384u
#define MAX_PIXELS    (16u * 1024u * 1024u)
#define MAX_CHUNK     (1u * 1024u * 1024u)
#define THUMB_DEFAULT 64u
#define THUMB_MAX     4096u
#define OUT_CHUNK     (64u * 1024u)

/*
 * One call's state, static so that nothing libpng's longjmp skips over
 * needs to be volatile, and freed in one place whatever happened.
 */
static struct state {
	struct ph_call *call;
	const unsigned char *in;
	size_t in_len, in_pos;
	png_structp rd, wr;
	png_infop rd_info, wr_info;
	unsigned char *pixels, *out_pixels; /* RGBA source; the result */
	png_bytep *rows;
	char error[200]; /* libpng's message */
	unsigned char out[OUT_CHUNK];
	size_t out_len;
	int write_error;
} st;

static void on_error(png_structp png, png_const_charp msg)
{
	snprintf(st.error, sizeof(st.error), "%s", msg);
	png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	ph_log(st.call, PH_DEBUG, "libpng: %s", msg);
}

static void on_read(png_structp png, png_bytep buf, size_t len)
{
	if (len > st.in_len - st.in_pos)
		png_error(png, "the file ends early (truncated)");
	memcpy(buf, st.in + st.in_pos, len);
	st.in_pos += len;
}

static void flush_out(png_structp png)
{
	int r = st.out_len ? ph_write(st.call, st.out, st.out_len) : 0;

	st.out_len = 0;
	if (r < 0) {
		st.write_error = r;
		png_error(png, "the host stopped reading the output");
	}
}

static void on_write(png_structp png, png_bytep buf, size_t len)
{
	while (len > 0) {
		size_t k = OUT_CHUNK - st.out_len < len ? OUT_CHUNK - st.out_len : len;

		memcpy(st.out + st.out_len, buf, k);
		st.out_len += k;
		buf += k;
		len -= k;
		if (st.out_len == OUT_CHUNK)
			flush_out(png);
	}
}

static void reset(void)
{
	if (st.rd)
		png_destroy_read_struct(&st.rd, &st.rd_info, NULL);
	if (st.wr)
		png_destroy_write_struct(&st.wr, &st.wr_info);
	free(st.pixels);
	free(st.out_pixels);
	free(st.rows);
	st.pixels = st.out_pixels = NULL;
	st.rows = NULL;
	st.rd = st.wr = NULL;
	st.rd_info = st.wr_info = NULL;
}

/* Chunks the decoder skips unread: five bytes each, the name and a NUL. */
static const png_byte ignored_chunks[] = "tEXt\0zTXt\0iTXt\0iCCP\0sPLT\0eXIf\0";

/* Decode the input into st.pixels, w x h RGBA. Call under setjmp. */
static int decode(uint32_t *ret_w, uint32_t *ret_h, int *ret_alpha)
{
	png_uint_32 w, h;
	int depth, color, interlace;

	png_set_read_fn(st.rd, NULL, on_read);
	png_set_user_limits(st.rd, MAX_SIDE, MAX_SIDE);
	png_set_chunk_malloc_max(st.rd, MAX_CHUNK);
	/* Compressed metadata (zTXt, iTXt, iCCP) inflates to up to MAX_CHUNK
	 * each, from a few bytes: skip what a thumbnail has no use for, and
	 * cap how many of the rest libpng keeps. */
	png_set_keep_unknown_chunks(st.rd, PNG_HANDLE_CHUNK_NEVER, ignored_chunks,
				    (int)(sizeof(ignored_chunks) / 5));
	png_set_chunk_cache_max(st.rd, 32);
	/* Strict: what libpng would only warn about (image data past the
	 * last row, as in a decompression bomb behind a small header) is an
	 * error too. */
	png_set_benign_errors(st.rd, 0);
	png_read_info(st.rd, st.rd_info);
	png_get_IHDR(st.rd, st.rd_info, &w, &h, &depth, &color, &interlace, NULL, NULL);
	if ((uint64_t)w * h > MAX_PIXELS)
		return ph_error(st.call, 3, "the image is too large: %ux%u, more than %u pixels",
				(unsigned)w, (unsigned)h, MAX_PIXELS);
	*ret_alpha =
	    (color & PNG_COLOR_MASK_ALPHA) || png_get_valid(st.rd, st.rd_info, PNG_INFO_tRNS);

	/* Everything to 8-bit RGBA. */
	png_set_expand(st.rd);
	png_set_strip_16(st.rd);
	png_set_gray_to_rgb(st.rd);
	png_set_add_alpha(st.rd, 0xff, PNG_FILLER_AFTER);
	png_set_interlace_handling(st.rd);
	png_read_update_info(st.rd, st.rd_info);
	if (png_get_rowbytes(st.rd, st.rd_info) != (size_t)w * 4)
		png_error(st.rd, "unexpected row layout after the transforms");

	st.pixels = malloc((size_t)w * h * 4);
	st.rows = malloc(sizeof(*st.rows) * h);
	if (!st.pixels || !st.rows)
		return ph_error(st.call, 5, "out of memory for a %ux%u image", (unsigned)w,
				(unsigned)h);
	for (png_uint_32 y = 0; y < h; y++)
		st.rows[y] = st.pixels + (size_t)y * w * 4;
	png_read_image(st.rd, st.rows);
	png_read_end(st.rd, NULL);
	*ret_w = w;
	*ret_h = h;
	return 0;
}

/* Encode st.out_pixels, w x h of channels bytes a pixel, as an 8-bit PNG. */
static void encode(uint32_t w, uint32_t h, int color, unsigned channels)
{
	png_set_write_fn(st.wr, NULL, on_write, flush_out);
	png_set_IHDR(st.wr, st.wr_info, w, h, 8, color, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(st.wr, st.wr_info);
	for (uint32_t y = 0; y < h; y++)
		png_write_row(st.wr, st.out_pixels + (size_t)y * w * channels);
	png_write_end(st.wr, NULL);
	flush_out(st.wr);
}

static void make_gray(uint32_t w, uint32_t h, int alpha)
{
	unsigned channels = alpha ? 2 : 1;

	for (size_t i = 0; i < (size_t)w * h; i++) {
		const unsigned char *p = st.pixels + i * 4;
		unsigned char *q = st.out_pixels + i * channels;

		q[0] = (unsigned char)((299u * p[0] + 587u * p[1] + 114u * p[2] + 500u) / 1000u);
		if (alpha)
			q[1] = p[3];
	}
}

static void make_thumbnail(uint32_t w, uint32_t h, uint32_t tw, uint32_t th, int alpha)
{
	unsigned channels = alpha ? 4 : 3;

	for (uint32_t y = 0; y < th; y++) {
		uint32_t y0 = (uint32_t)((uint64_t)y * h / th),
			 y1 = (uint32_t)((uint64_t)(y + 1) * h / th);

		for (uint32_t x = 0; x < tw; x++) {
			uint32_t x0 = (uint32_t)((uint64_t)x * w / tw);
			uint32_t x1 = (uint32_t)((uint64_t)(x + 1) * w / tw);
			uint64_t sum[4] = {0}, n = (uint64_t)(x1 - x0) * (y1 - y0);
			unsigned char *q = st.out_pixels + ((size_t)y * tw + x) * channels;

			for (uint32_t sy = y0; sy < y1; sy++)
				for (uint32_t sx = x0; sx < x1; sx++)
					for (unsigned c = 0; c < 4; c++)
						sum[c] += st.pixels[((size_t)sy * w + sx) * 4 + c];
			for (unsigned c = 0; c < channels; c++)
				q[c] = (unsigned char)((sum[c] + n / 2) / n);
		}
	}
}

/*
 * libpng's errors longjmp back here: the setjmp()s sit in these small
 * functions, which change no local after them, so that nothing needs to
 * be volatile. Both return 0 or a plugin error code; the caller frees.
 */
static int guarded_decode(uint32_t *ret_w, uint32_t *ret_h, int *ret_alpha)
{
	if (setjmp(png_jmpbuf(st.rd)))
		return ph_error(st.call, 2, "libpng: %s", st.error);
	return decode(ret_w, ret_h, ret_alpha);
}

static int guarded_encode(uint32_t w, uint32_t h, int thumb, int alpha)
{
	if (setjmp(png_jmpbuf(st.wr)))
		return st.write_error ? st.write_error
				      : ph_error(st.call, 2, "libpng, writing: %s", st.error);
	if (thumb)
		encode(w, h, alpha ? PNG_COLOR_TYPE_RGBA : PNG_COLOR_TYPE_RGB, alpha ? 4 : 3);
	else
		encode(w, h, alpha ? PNG_COLOR_TYPE_GRAY_ALPHA : PNG_COLOR_TYPE_GRAY,
		       alpha ? 2 : 1);
	return 0;
}

/* The thumbnail's bound N: a decimal 1..THUMB_MAX, one newline allowed. */
static int parse_side(struct ph_call *call, const struct ph_input *in, uint32_t *ret)
{
	uint32_t v = 0;
	size_t len = in->len;
	const char *s = in->data;

	if (len > 0 && s[len - 1] == '\n')
		len--;
	if (in->flags & PH_INPUT_STREAM || len == 0 || len > 4)
		goto bad;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			goto bad;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (v < 1 || v > THUMB_MAX)
		goto bad;
	*ret = v;
	return 0;
bad:
	return ph_error(call, 4,
			"thumbnail: input 1 must be the size to fit, a number from 1 to %u",
			THUMB_MAX);
}

static int filter(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs, int thumb)
{
	uint32_t w = 0, h = 0, tw, th, side = THUMB_DEFAULT;
	int alpha = 0, r;

	if (n_inputs < 1 || n_inputs > (thumb ? 2u : 1u))
		return ph_error(call, 4, "%s: want %s, not %zu inputs", ph_call_method(call),
				thumb ? "the PNG and optionally the size to fit"
				      : "one input, the PNG",
				n_inputs);
	if (thumb && n_inputs == 2 && (r = parse_side(call, &inputs[1], &side)) != 0)
		return r;
	if (inputs[0].len == 0)
		return ph_error(call, 1, "the input is empty, not a PNG");
	if (inputs[0].len < 8 || png_sig_cmp(inputs[0].data, 0, 8) != 0)
		return ph_error(call, 1, "the input is not a PNG (no PNG signature)");

	memset(st.error, 0, sizeof(st.error));
	st.call = call;
	st.in = inputs[0].data;
	st.in_len = inputs[0].len;
	st.in_pos = 0;
	st.out_len = 0;
	st.write_error = 0;
	st.rd = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, on_error, on_warning);
	st.rd_info = st.rd ? png_create_info_struct(st.rd) : NULL;
	st.wr = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, on_error, on_warning);
	st.wr_info = st.wr ? png_create_info_struct(st.wr) : NULL;
	if (!st.rd_info || !st.wr_info) {
		reset();
		return ph_error(call, 5, "out of memory for libpng");
	}

	r = guarded_decode(&w, &h, &alpha);
	if (r) {
		reset();
		return r;
	}

	if (!thumb) {
		tw = w;
		th = h;
	} else if (w <= side && h <= side) {
		tw = w;
		th = h;
	} else if (w >= h) {
		tw = side;
		th = (uint32_t)(((uint64_t)h * side + w / 2) / w);
	} else {
		th = side;
		tw = (uint32_t)(((uint64_t)w * side + h / 2) / h);
	}
	if (tw == 0)
		tw = 1;
	if (th == 0)
		th = 1;
	st.out_pixels = malloc((size_t)tw * th * 4);
	if (!st.out_pixels) {
		reset();
		return ph_error(call, 5, "out of memory for a %ux%u result", (unsigned)tw,
				(unsigned)th);
	}
	if (thumb)
		make_thumbnail(w, h, tw, th, alpha);
	else
		make_gray(w, h, alpha);

	r = guarded_encode(tw, th, thumb, alpha);
	reset();
	return r;
}

static int gray(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs)
{
	return filter(call, inputs, n_inputs, 0);
}

static int thumbnail(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs)
{
	return filter(call, inputs, n_inputs, 1);
}

static const struct ph_method methods[] = {
    {"gray", gray},
    {"thumbnail", thumbnail},
};

PH_PLUGIN("png", "1.0", methods);
