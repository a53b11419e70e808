/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>

#include "strbuf.h"

void ph__strbuf_init(struct ph_strbuf *sb, char *buf, size_t len)
{
	*sb = (struct ph_strbuf){.buf = buf, .len = buf ? len : 0};
	if (sb->len > 0)
		buf[0] = '\0';
}

int ph__strbuf_printf(struct ph_strbuf *sb, const char *fmt, ...)
{
	const int room = sb->want < sb->len;
	va_list ap;
	int n;

	/* Once full, only count: the text so far stays as it was cut. */
	va_start(ap, fmt);
	n = vsnprintf(room ? sb->buf + sb->want : NULL, room ? sb->len - sb->want : 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	sb->want += (size_t)n;
	return 0;
}

void ph__strbuf_putc(struct ph_strbuf *sb, char c)
{
	if (sb->want + 1 < sb->len) {
		sb->buf[sb->want] = c;
		sb->buf[sb->want + 1] = '\0';
	}
	sb->want++;
}
