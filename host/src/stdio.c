/* SPDX-License-Identifier: MIT */
/*
 * The plugin's stdout and stderr, as log lines. Each is a pipe whose write
 * end is the plugin's fd 1 or 2 (spawn.c for a cold runner, the zygote's
 * FORK for a warm instance); the host reads the other end whenever it
 * pumps the instance, and at the end of each call and of the load.
 *
 * Everything read is the plugin's and is bounded like its ph_log() lines:
 * a line is cut at PH_STDIO_LINE_MAX bytes, non-printable bytes are shown
 * as '?', and one call (or the load) logs at most PH_STDIO_LINES_MAX lines
 * and PH_STDIO_BYTES_MAX bytes. Past that the host still reads, so that a
 * plugin writing without end never blocks on a full pipe for ever, but
 * drops what it reads and says once, at the end, how much it dropped.
 * Host memory stays one line buffer per stream whatever the plugin writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "internal.h"

/* How much one pass reads before it lets the pump look at its other fds:
 * a plugin that floods its stdout must not keep the host from the
 * deadline, the listener or the ring. */
#define STDIO_PASS_BYTES (64u << 10)

static const char *const stream_names[2] = {"stdout", "stderr"};
/* stdout is what the plugin says, stderr what it complains about. */
static const enum ph_level stream_levels[2] = {PH_INFO, PH_WARN};

int ph__stdio_open(struct ph_plugin *p)
{
	for (int i = 0; i < 2; i++) {
		int fds[2];

		if (pipe2(fds, O_CLOEXEC) < 0)
			return -errno;
		p->stdio_rd[i] = fds[0];
		p->stdio_wr[i] = fds[1];
		/* Only our end is non-blocking (it is a file description of
		 * its own): the plugin's writes block while the pipe is full,
		 * as they would on a terminal, and we drain it. */
		if (fcntl(p->stdio_rd[i], F_SETFL, O_NONBLOCK) < 0)
			return -errno;
		p->stdio_line[i].len = 0;
	}
	p->stdio_lines = p->stdio_bytes = p->stdio_dropped = 0;
	return 0;
}

void ph__stdio_close(struct ph_plugin *p)
{
	for (int i = 0; i < 2; i++) {
		if (p->epfd >= 0 && p->stdio_rd[i] >= 0)
			epoll_ctl(p->epfd, EPOLL_CTL_DEL, p->stdio_rd[i], NULL);
		p->stdio_rd[i] = safe_close(p->stdio_rd[i]);
		p->stdio_wr[i] = safe_close(p->stdio_wr[i]);
		p->stdio_line[i].len = 0;
	}
}

/* Log the line gathered for stream i, or count it as dropped. */
static void emit(struct ph_plugin *p, int i)
{
	struct ph_stdio_line *l = &p->stdio_line[i];
	char text[PH_STDIO_LINE_MAX + 1];

	if (p->stdio_lines >= PH_STDIO_LINES_MAX) {
		p->stdio_dropped += l->len;
		l->len = 0;
		return;
	}
	p->stdio_lines++;
	ph__clean_copy(text, sizeof(text), l->buf, l->len);
	l->len = 0;
	p->in_callback++;
	ph__log(p->host, p, stream_levels[i], "%s: %s", stream_names[i], text);
	p->in_callback--;
}

/* Take n bytes of stream i: whole lines are logged, the rest waits. */
static void take(struct ph_plugin *p, int i, const char *buf, size_t n)
{
	struct ph_stdio_line *l = &p->stdio_line[i];

	for (size_t k = 0; k < n; k++) {
		/* Past the budget: count, never keep. */
		if (p->stdio_lines >= PH_STDIO_LINES_MAX || p->stdio_bytes >= PH_STDIO_BYTES_MAX) {
			p->stdio_dropped += n - k;
			if (l->len) {
				p->stdio_dropped += l->len;
				l->len = 0;
			}
			return;
		}
		if (buf[k] == '\n') {
			emit(p, i);
			continue;
		}
		/* A line too long for one: cut it here, go on in the next. */
		if (l->len == sizeof(l->buf))
			emit(p, i);
		l->buf[l->len++] = buf[k];
		p->stdio_bytes++;
	}
}

void ph__stdio_read(struct ph_plugin *p, int at_end)
{
	for (int i = 0; i < 2; i++) {
		size_t total = 0;

		while (p->stdio_rd[i] >= 0 && total < STDIO_PASS_BYTES) {
			char buf[4096];
			ssize_t n = read(p->stdio_rd[i], buf, sizeof(buf));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				/* EOF: every writer is gone, and an fd that
				 * reads as ready for ever must leave the poll. */
				if (n == 0) {
					if (p->epfd >= 0)
						epoll_ctl(p->epfd, EPOLL_CTL_DEL, p->stdio_rd[i],
							  NULL);
					p->stdio_rd[i] = safe_close(p->stdio_rd[i]);
				}
				break;
			}
			take(p, i, buf, (size_t)n);
			total += (size_t)n;
		}
		if (at_end && p->stdio_line[i].len)
			emit(p, i); /* printf() without a newline, then fflush() */
	}
	if (!at_end)
		return;
	if (p->stdio_dropped) {
		p->in_callback++;
		ph__log(p->host, p, PH_WARN,
			"stdout/stderr: dropped %llu bytes past the limit of %u lines or %u bytes "
			"per call",
			(unsigned long long)p->stdio_dropped, PH_STDIO_LINES_MAX,
			PH_STDIO_BYTES_MAX);
		p->in_callback--;
	}
	p->stdio_lines = p->stdio_bytes = p->stdio_dropped = 0;
}
