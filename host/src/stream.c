/* SPDX-License-Identifier: MIT */
/*
 * Stream inputs: a blob that is a source fd (a pipe, a socket, a file)
 * rather than a sealed memfd, and the feeding of it to the plugin through
 * the input ring while the call runs (inring.c). The host reads the source
 * only when the ring has room, so a plugin that reads slowly slows the
 * source down instead of growing the host's memory (back-pressure), and it
 * never blocks on the source: the event pump (pump.c) polls it alongside
 * the instance's own fds, and each round of feeding is bounded in time.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"

/* How the host reads a source without ever blocking on it. */
enum stream_how {
	/* preadv2(RWF_NOWAIT): pipes and sockets say EAGAIN instead of
	 * blocking, with no change to the file's own flags (which the caller
	 * shares, with the shell for a standard input). */
	STREAM_NOWAIT,
	/* poll() first, then read(): for what RWF_NOWAIT does not know
	 * (ttys, some character devices). */
	STREAM_POLL,
	/* Regular files and block devices: a read never waits for anyone
	 * (epoll refuses them, and they are always "ready"). */
	STREAM_BLOCKING,
};

struct ph_stream {
	int refs; /* atomic: the blob's, and its call's while one feeds it */
	int used; /* atomic: a call took it */
	int fd;	  /* our own duplicate of the caller's fd */
	enum stream_how how;
	/* What the call made of it (ph_blob_stream_status()). */
	uint64_t bytes;
	int error; /* positive errno */
	int eof;
};

/* Bytes per read: a quarter of the ring, so that the plugin starts on the
 * first part while the host reads the next. (A pipe gives at most what it
 * holds, 64 KiB by default.) */
#define FEED_CHUNK (PH_INRING_CAPACITY / 4)

static void stream_unref(struct ph_stream *s)
{
	if (s && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		safe_close(s->fd);
		free(s);
	}
}

PH_EXPORT int ph_blob_new_stream(int fd, struct ph_blob **ret_blob)
{
	struct ph_stream *s;
	struct ph_blob *b;
	struct stat st;
	int fl;

	if (fd < 0 || !ret_blob)
		return -EINVAL;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	/* Not open for reading: say so now, not as the call's first read. */
	if ((fl & O_PATH) || (fl & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	s = calloc(1, sizeof(*s));
	b = calloc(1, sizeof(*b));
	if (!s || !b) {
		free(s);
		free(b);
		return -ENOMEM;
	}
	/* Our own fd for the same open file: the caller may close theirs at
	 * once, and a call still feeding when the blob is freed keeps it. */
	s->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (s->fd < 0) {
		int r = -errno;

		free(s);
		free(b);
		return r;
	}
	s->refs = 1;
	s->how = S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) ? STREAM_BLOCKING : STREAM_NOWAIT;
	b->fd = -1;
	b->stream = s;
	*ret_blob = b;
	return 0;
}

PH_EXPORT int ph_blob_stream_status(const struct ph_blob *blob, struct ph_stream_status *ret)
{
	const struct ph_stream *s;

	if (!blob || !ret || !blob->stream)
		return -EINVAL;
	s = blob->stream;
	*ret = (struct ph_stream_status){
	    .bytes = s->bytes,
	    .error = s->error,
	    .eof = (uint32_t)s->eof,
	    .used = (uint32_t)__atomic_load_n(&s->used, __ATOMIC_ACQUIRE),
	};
	return 0;
}

void ph__stream_blob_free(struct ph_blob *b)
{
	stream_unref(b->stream);
	b->stream = NULL;
}

int ph__stream_claim(struct ph_plugin *p, struct ph_blob *const *inputs, size_t n, int for_loop)
{
	struct ph_stream *s = NULL;

	for (size_t i = 0; i < n; i++)
		if (inputs[i]->stream)
			s = inputs[i]->stream;
	if (!s)
		return 0;
	/* Only a plugin that said it reads streams gets one: any other
	 * would take it for an empty input. The runner refuses it too. */
	if (!p->reads_streams)
		return -EOPNOTSUPP;
	/* One call consumes a stream, whatever it reads of it: the bytes it
	 * took from the source are gone. */
	if (__atomic_exchange_n(&s->used, 1, __ATOMIC_ACQ_REL))
		return -EALREADY;
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
	p->feed = (__typeof__(p->feed)){.s = s, .for_loop = for_loop, .state = PH_FEED_IDLE};
	ph__inring_reset(&p->in_ring);
	return 0;
}

/* Stop feeding: the source leaves the instance's epoll set, the call's
 * reference goes. used says whether the stream stays consumed. */
static void feed_release(struct ph_plugin *p, int used)
{
	struct ph_stream *s = p->feed.s;

	if (!s)
		return;
	if (p->feed.in_epoll && p->epfd >= 0)
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	if (p->ring_map)
		ph__inring_no_want_space(&p->in_ring);
	if (!used)
		__atomic_store_n(&s->used, 0, __ATOMIC_RELEASE);
	p->feed = (__typeof__(p->feed)){0};
	stream_unref(s);
}

void ph__stream_unclaim(struct ph_plugin *p)
{
	feed_release(p, 0);
}

void ph__stream_stop(struct ph_plugin *p)
{
	feed_release(p, 1);
}

/* Read up to len bytes of the source without blocking: bytes, 0 at its
 * end, -EAGAIN when it has nothing now, or another negative errno. */
static ssize_t stream_read(struct ph_stream *s, void *buf, size_t len)
{
	for (;;) {
		struct iovec iov = {.iov_base = buf, .iov_len = len};
		struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
		ssize_t n;

		switch (s->how) {
		case STREAM_NOWAIT:
			n = preadv2(s->fd, &iov, 1, -1, RWF_NOWAIT);
			/* Not for this file, or not on this kernel (RWF_NOWAIT
			 * is 4.14's), or refused by a container's filter. */
			if (n < 0 && (errno == EOPNOTSUPP || errno == EINVAL || errno == ENOSYS)) {
				s->how = STREAM_POLL;
				continue;
			}
			break;
		case STREAM_POLL:
			n = poll(&pfd, 1, 0);
			if (n == 0)
				return -EAGAIN;
			if (n > 0)
				/* Readable, hung up or failed: the read returns at
				 * once (we are its only reader). */
				n = read(s->fd, buf, len);
			break;
		default:
			n = read(s->fd, buf, len);
			break;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 ? -errno : n;
	}
}

/* Remember what feeding now waits for, and keep the source in the
 * instance's epoll set exactly while the ring has room for it, so that an
 * event loop hears of new bytes but never spins on a source it cannot
 * take from. Returns the state. */
static int feed_state(struct ph_plugin *p, int state)
{
	const int want = p->feed.for_loop && state == PH_FEED_SOURCE;

	if (want && !p->feed.in_epoll && p->epfd >= 0) {
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = p->feed.s->fd};

		if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->feed.s->fd, &ev) == 0)
			p->feed.in_epoll = 1;
		else
			/* Cannot watch it: look again next round (the caller's
			 * loop is woken for it). */
			state = PH_FEED_MORE;
	} else if (!want && p->feed.in_epoll) {
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, p->feed.s->fd, NULL);
		p->feed.in_epoll = 0;
	}
	p->feed.state = state;
	return state;
}

/* The source ended (err 0) or failed (err a positive errno): tell the
 * plugin, and feed no more. */
static int feed_end(struct ph_plugin *p, int err)
{
	struct ph_stream *s = p->feed.s;

	ph__inring_end(&p->in_ring, err);
	s->eof = !err;
	s->error = err;
	p->feed.ended = 1;
	if (err)
		ph__log(p->host, p, PH_WARN,
			"plugin '%s': reading its stream input failed after %llu bytes: %s",
			p->name, (unsigned long long)s->bytes, strerror(err));
	return feed_state(p, PH_FEED_IDLE);
}

int ph__stream_feed(struct ph_plugin *p, int64_t budget_ns)
{
	const int64_t start = ph__now_ns();
	struct ph_stream *s = p->feed.s;

	if (!s || p->feed.ended || p->state != PH_STATE_IN_CALL)
		return PH_FEED_IDLE;
	for (;;) {
		const char *why = NULL;
		int64_t space = ph__inring_space(&p->in_ring, &why);
		uint8_t *at;
		size_t len;
		ssize_t n;

		if (space == 0 && !p->in_ring.waiting) {
			/* Full: ask for a wake at the plugin's next tail, and
			 * look once more, so that none is lost. */
			int r = ph__inring_want_space(&p->in_ring, &why);

			if (r == 1)
				continue;
			space = r;
		}
		if (space < 0) {
			ph__plugin_kill_protocol(p, why);
			return -EPROTO;
		}
		if (space == 0)
			return feed_state(p, PH_FEED_IDLE);
		ph__inring_no_want_space(&p->in_ring);
		at = ph__inring_window(&p->in_ring, (uint64_t)space, &len);
		n = stream_read(s, at, len < FEED_CHUNK ? len : FEED_CHUNK);
		if (n == -EAGAIN)
			return feed_state(p, PH_FEED_SOURCE);
		if (n <= 0)
			return feed_end(p, (int)-n);
		ph__inring_commit(&p->in_ring, (size_t)n);
		s->bytes += (uint64_t)n;
		PH__COUNT(p->metrics.bytes_in, (uint64_t)n);
		/* A source that always has more must not keep the pump from
		 * its other fds, its deadline or its caller. */
		if (ph__now_ns() - start >= budget_ns ||
		    (p->call.deadline_ms && ph__now_ms() >= p->call.deadline_ms))
			return feed_state(p, PH_FEED_MORE);
	}
}

int ph__stream_source_fd(const struct ph_plugin *p)
{
	return p->feed.s && p->feed.state == PH_FEED_SOURCE ? p->feed.s->fd : -1;
}

int ph__stream_news(const struct ph_plugin *p)
{
	return p->feed.s && !p->feed.ended && ph__inring_news(&p->in_ring);
}
