/* SPDX-License-Identifier: MIT */
/*
 * A bounded string builder with snprintf's semantics: the text is cut to
 * fit, always NUL-terminated when the buffer has room for anything
 * (len > 0), and `want` counts what would have been written, so a caller
 * can return it as snprintf would and let its caller see the truncation.
 */
#pragma once

#include <stdarg.h>
#include <stddef.h>

struct ph_strbuf {
	char *buf;
	size_t len;  /* size of buf, NUL included; 0 writes nothing */
	size_t want; /* bytes the whole text needs, NUL excluded */
};

/* Starts an empty text in buf (which may be NULL when len is 0). */
void ph__strbuf_init(struct ph_strbuf *sb, char *buf, size_t len);

/* Appends the formatted text, as much of it as fits. Returns 0, or
 * -EINVAL if the format cannot be expanded (vsnprintf failed). */
int ph__strbuf_printf(struct ph_strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends one character, if it fits. */
void ph__strbuf_putc(struct ph_strbuf *sb, char c);
