/* SPDX-License-Identifier: MIT */
/*
 * The control channel codec (common/proto.c) over real SOCK_SEQPACKET
 * socketpairs: round trips of every message type, every header rule
 * broken on the wire by a raw sendmsg() with a hand-made header, and every
 * payload parser fed short, over-long, miscounted and NUL-laden payloads.
 * After every rejected message no fd it carried may stay open: the tests
 * count /proc/self/fd around each case. Then the checks of the call slot
 * (ph__slot_done_check(), ph__slot_req_check()) over tables naming every
 * rule, and the fd table, each kind checked on real fds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#include "proto.h"
#include "ring-layout.h"
#include "seal.h"

#define CALL_ID 0xA1B2C3D4E5F60718ull

/* ------------------------------------------------------------ helpers */

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

/* One message, as a hostile peer builds it: any bytes, any fds. */
static void raw_send(int sock, const void *buf, size_t len, const int *fds, unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 64)];
		struct cmsghdr align;
	} control;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	assert_true(nfds <= 64);
	if (nfds) {
		struct cmsghdr *cm;

		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	assert_int_equal(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

/* Send n fresh fds along with buf, closing our copies: from then on the
 * only copies are in flight, and ph__msg_recv() owns them. */
static void raw_send_fds(int sock, const void *buf, size_t len, unsigned int n)
{
	int fds[64];

	for (unsigned int i = 0; i < n; i++) {
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		assert_true(fds[i] >= 0);
	}
	raw_send(sock, buf, len, fds, n);
	for (unsigned int i = 0; i < n; i++)
		close(fds[i]);
}

static struct ph_msg_hdr hdr_of(uint16_t type, uint32_t len, uint32_t nfds)
{
	return (struct ph_msg_hdr){.magic = PH_WIRE_MAGIC,
				   .abi = PH_WIRE_ABI,
				   .type = type,
				   .len = len,
				   .nfds = nfds,
				   .call_id = CALL_ID};
}

/* A growable-enough byte buffer for building messages. */
struct bb {
	uint8_t b[PH_MSG_MAX + 1024];
	size_t n;
};

static void put(struct bb *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void put16(struct bb *b, uint16_t v)
{
	put(b, &v, sizeof(v));
}

static void put32(struct bb *b, uint32_t v)
{
	put(b, &v, sizeof(v));
}

static void put64(struct bb *b, uint64_t v)
{
	put(b, &v, sizeof(v));
}

static void puts_(struct bb *b, const char *s)
{
	put(b, s, strlen(s));
}

static void fill(struct bb *b, int c, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	memset(b->b + b->n, c, n);
	b->n += n;
}

/* Big: keep them off the stack. */
static struct ph_msg msg;
static struct bb wire, pl;

/* A header followed by payload, as one buffer for raw_send(). */
static size_t frame(const struct ph_msg_hdr *h, const void *payload, size_t len)
{
	wire.n = 0;
	put(&wire, h, sizeof(*h));
	put(&wire, payload, len);
	return wire.n;
}

/* ------------------------------------------------------- round trips */

/*
 * Send with ph__msg_send2() (payload in two parts), receive with
 * ph__msg_recv(): the header, the payload and the fds must come through
 * unchanged, the fds as new CLOEXEC descriptors of the same files.
 */
static void roundtrip(uint16_t type, const void *p1, size_t l1, const void *p2, size_t l2,
		      const int *fds, unsigned int nfds)
{
	int sv[2];
	const char *why = NULL;

	pair(sv);
	assert_int_equal(ph__msg_send2(sv[0], type, CALL_ID, p1, l1, p2, l2, fds, nfds), 0);
	assert_int_equal(ph__msg_recv(sv[1], &msg, 0, &why), 1);
	assert_int_equal(msg.hdr.magic, PH_WIRE_MAGIC);
	assert_int_equal(msg.hdr.abi, PH_WIRE_ABI);
	assert_int_equal(msg.hdr.type, type);
	assert_int_equal(msg.hdr.len, l1 + l2);
	assert_int_equal(msg.hdr.nfds, nfds);
	assert_int_equal(msg.hdr.call_id, CALL_ID);
	if (l1)
		assert_memory_equal(msg.payload, p1, l1);
	if (l2)
		assert_memory_equal(msg.payload + l1, p2, l2);
	assert_int_equal(msg.nfds, nfds);
	for (unsigned int i = 0; i < nfds; i++) {
		struct stat a, b;

		assert_true(msg.fds[i] >= 0);
		assert_true(msg.fds[i] != fds[i]);
		assert_true(fcntl(msg.fds[i], F_GETFD) & FD_CLOEXEC);
		assert_int_equal(fstat(msg.fds[i], &a), 0);
		assert_int_equal(fstat(fds[i], &b), 0);
		assert_int_equal(a.st_dev, b.st_dev);
		assert_int_equal(a.st_ino, b.st_ino);
	}
	close(sv[0]);
	close(sv[1]);
}

static int memfd_sized(uint64_t size)
{
	int fd = ph__memfd_create("test-proto");

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

static void test_roundtrip_setup(void **state)
{
	const int before = tu_count_fds();
	struct ph_msg_setup s = {.ring_capacity = 1u << 20,
				 .flags = PH_SETUP_SECCOMP | PH_SETUP_SANDBOX,
				 .ns_flags = 0x10000000,
				 .require = PH_LAYER_SECCOMP,
				 .rlimit_as = 1ull << 32,
				 .rlimit_nofile = 64,
				 .rlimit_nproc = 1};
	const char path[] = "/usr/lib/plughost/plugins/echo.so";
	int wake[2], fds[4];
	struct ph_setup_view v;
	const char *why = NULL;

	/* The ring, the plugin file, the wake pipe's write end, the program. */
	assert_int_equal(pipe2(wake, O_CLOEXEC), 0);
	fds[0] = memfd_sized(4096);
	fds[1] = memfd_sized(100);
	fds[2] = wake[1];
	fds[3] = memfd_sized(100);
	s.path_len = sizeof(path) - 1;
	roundtrip(PH_MSG_SETUP, &s, sizeof(s), path, s.path_len, fds, 4);
	assert_int_equal(ph__parse_setup(&msg, &v, &why), 0);
	assert_memory_equal(&v.fixed, &s, sizeof(s));
	assert_int_equal(v.path.len, s.path_len);
	assert_ptr_equal(v.path.p, (const char *)msg.payload + sizeof(s));
	assert_memory_equal(v.path.p, path, s.path_len);
	ph__msg_close_fds(&msg);
	assert_int_equal(msg.nfds, 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(msg.fds[i], -1);

	/* Without a seccomp program: the ring, the plugin and the wake pipe. */
	s.flags = PH_SETUP_SANDBOX;
	roundtrip(PH_MSG_SETUP, &s, sizeof(s), path, s.path_len, fds, 3);
	assert_int_equal(ph__parse_setup(&msg, &v, &why), 0);
	ph__msg_close_fds(&msg);
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	close(wake[0]);
	assert_int_equal(tu_count_fds(), before);
}

static void test_roundtrip_sandboxed(void **state)
{
	const int before = tu_count_fds();
	struct ph_msg_sandboxed s = {.layers = PH_LAYER_SECCOMP | PH_LAYER_NOTIFY,
				     .landlock_abi = 4};
	struct ph_msg_sandboxed v;
	int fd = memfd_sized(0);
	const char *why = NULL;

	roundtrip(PH_MSG_SANDBOXED, &s, sizeof(s), NULL, 0, &fd, 1);
	assert_int_equal(ph__parse_sandboxed(&msg, &v, &why), 0);
	assert_memory_equal(&v, &s, sizeof(s));
	ph__msg_close_fds(&msg);

	s.layers = PH_LAYER_USERNS | PH_LAYER_SECCOMP;
	roundtrip(PH_MSG_SANDBOXED, &s, sizeof(s), NULL, 0, NULL, 0);
	assert_int_equal(ph__parse_sandboxed(&msg, &v, &why), 0);
	assert_int_equal(v.layers, s.layers);
	close(fd);
	assert_int_equal(tu_count_fds(), before);
}

static void test_roundtrip_loaded(void **state)
{
	struct ph_msg_loaded f = {.n_methods = 3, .name_len = 4, .version_len = 5};
	struct ph_loaded_view *v = malloc(sizeof(*v));
	const char *why = NULL;

	assert_non_null(v);
	pl.n = 0;
	puts_(&pl, "echo");
	puts_(&pl, "1.2.3");
	put16(&pl, 4);
	puts_(&pl, "echo");
	put16(&pl, 5);
	puts_(&pl, "upper");
	put16(&pl, 1);
	puts_(&pl, "x");
	roundtrip(PH_MSG_LOADED, &f, sizeof(f), pl.b, pl.n, NULL, 0);
	assert_int_equal(ph__parse_loaded(&msg, v, &why), 0);
	assert_int_equal(v->name.len, 4);
	assert_memory_equal(v->name.p, "echo", 4);
	assert_int_equal(v->version.len, 5);
	assert_memory_equal(v->version.p, "1.2.3", 5);
	assert_int_equal(v->n_methods, 3);
	assert_int_equal(v->methods[0].len, 4);
	assert_memory_equal(v->methods[0].p, "echo", 4);
	assert_int_equal(v->methods[1].len, 5);
	assert_memory_equal(v->methods[1].p, "upper", 5);
	assert_int_equal(v->methods[2].len, 1);
	assert_memory_equal(v->methods[2].p, "x", 1);
	free(v);
}

static void test_roundtrip_setup_failed(void **state)
{
	const char text[] = "landlock_restrict_self refused";
	struct ph_msg_setup_failed f = {
	    .step = PH_STEP_LANDLOCK, .err = EPERM, .msg_len = sizeof(text) - 1};
	struct ph_failed_view v;
	const char *why = NULL;

	roundtrip(PH_MSG_SETUP_FAILED, &f, sizeof(f), text, f.msg_len, NULL, 0);
	assert_int_equal(ph__parse_failed(&msg, &v, &why), 0);
	assert_int_equal(v.fixed.step, PH_STEP_LANDLOCK);
	assert_int_equal(v.fixed.err, EPERM);
	assert_int_equal(v.msg.len, f.msg_len);
	assert_memory_equal(v.msg.p, text, f.msg_len);
}

/* A CALL carries only the fds of a request (the request itself is in the
 * call slot): its payload names how many, and they come through as the
 * same files. A CALL without fds is never sent, and is refused. */
static void test_roundtrip_call(void **state)
{
	const int before = tu_count_fds();
	const uint64_t sizes[3] = {10, 0, 4096};
	int fds[3] = {memfd_sized(10), memfd_sized(0), memfd_sized(4096)};
	struct ph_msg_call f = {.n_fds = 3}, v;
	const char *why = NULL;
	int sv[2];

	roundtrip(PH_MSG_CALL, &f, sizeof(f), NULL, 0, fds, 3);
	assert_int_equal(ph__parse_call(&msg, &v, &why), 0);
	assert_int_equal(v.n_fds, 3);
	assert_int_equal(v.reserved, 0);
	/* The received fds are the inputs, sizes and all, in order. */
	for (int i = 0; i < 3; i++) {
		struct stat st;

		assert_int_equal(fstat(msg.fds[i], &st), 0);
		assert_int_equal(st.st_size, sizes[i]);
	}
	ph__msg_close_fds(&msg);

	/* The most a call has inputs, in two parts. */
	{
		int many[PH_INPUTS_MAX];

		f.n_fds = PH_INPUTS_MAX;
		for (unsigned int i = 0; i < PH_INPUTS_MAX; i++)
			many[i] = fds[i % 3];
		roundtrip(PH_MSG_CALL, &f, 4, (const uint8_t *)&f + 4, 4, many, PH_INPUTS_MAX);
		assert_int_equal(ph__parse_call(&msg, &v, &why), 0);
		assert_int_equal(v.n_fds, PH_INPUTS_MAX);
		ph__msg_close_fds(&msg);
	}

	/* No fds: the receiver's structural bound refuses it already. */
	pair(sv);
	f.n_fds = 0;
	assert_int_equal(ph__msg_send(sv[0], PH_MSG_CALL, CALL_ID, &f, sizeof(f), NULL, 0), 0);
	assert_int_equal(ph__msg_recv(sv[1], &msg, 0, &why), -EBADMSG);
	assert_string_equal(why, "wrong number of fds for this message type");
	close(sv[0]);
	close(sv[1]);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	assert_int_equal(tu_count_fds(), before);
}

/* LOG and EXIT with their payloads, and a message with none (USERNS_MAPPED
 * is one: its type is all it says). */
static void test_roundtrip_log_exit_and_empty(void **state)
{
	struct ph_msg_log l = {.level = PH_WARN, .len = 11};
	struct ph_msg_exit e = {.how = CLD_DUMPED,
				.status = SIGABRT,
				.user_usec = 1500,
				.sys_usec = 20,
				.max_rss_kib = 4096},
			   ev;
	struct ph_log_view lv;
	const char *why = NULL;
	int sv[2];

	roundtrip(PH_MSG_LOG, &l, sizeof(l), "hello world", 11, NULL, 0);
	assert_int_equal(ph__parse_log(&msg, &lv, &why), 0);
	assert_int_equal(lv.level, PH_WARN);
	assert_int_equal(lv.text.len, 11);
	assert_memory_equal(lv.text.p, "hello world", 11);

	roundtrip(PH_MSG_USERNS_MAPPED, NULL, 0, NULL, 0, NULL, 0);
	roundtrip(PH_MSG_LOG, NULL, 0, NULL, 0, NULL, 0);
	roundtrip(PH_MSG_EXIT, &e, sizeof(e), NULL, 0, NULL, 0);
	assert_int_equal(ph__parse_exit(&msg, &ev, &why), 0);
	assert_memory_equal(&ev, &e, sizeof(e));

	/* ph__msg_send() is send2 with one part. */
	pair(sv);
	assert_int_equal(ph__msg_send(sv[0], PH_MSG_LOG, 7, &l, sizeof(l), NULL, 0), 0);
	assert_int_equal(ph__msg_recv(sv[1], &msg, 0, &why), 1);
	assert_int_equal(msg.hdr.type, PH_MSG_LOG);
	assert_int_equal(msg.hdr.call_id, 7);
	assert_int_equal(msg.hdr.len, sizeof(l));
	assert_memory_equal(msg.payload, &l, sizeof(l));
	close(sv[0]);
	close(sv[1]);
}

/* The largest message fits exactly; one byte more is refused by send. */
static void test_send_limits(void **state)
{
	const size_t max = PH_MSG_MAX - sizeof(struct ph_msg_hdr);
	static uint8_t big[PH_MSG_MAX + 1];
	int fds[PH_MSG_MAX_FDS + 1] = {0};
	const char *why = NULL;
	int sv[2];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	roundtrip(PH_MSG_LOG, big, max - 100, big + max - 100, 100, NULL, 0);
	assert_int_equal(msg.hdr.len, max);

	pair(sv);
	assert_int_equal(ph__msg_send(sv[0], PH_MSG_LOG, 0, big, max + 1, NULL, 0), -EMSGSIZE);
	assert_int_equal(ph__msg_send2(sv[0], PH_MSG_LOG, 0, big, max, big, 1, NULL, 0), -EMSGSIZE);
	assert_int_equal(ph__msg_send2(sv[0], PH_MSG_LOG, 0, big, 1, big, max, NULL, 0), -EMSGSIZE);
	/* Sizes whose sum would wrap must not slip through either. */
	assert_int_equal(ph__msg_send2(sv[0], PH_MSG_LOG, 0, big, SIZE_MAX, big, 2, NULL, 0),
			 -EMSGSIZE);
	assert_int_equal(ph__msg_send2(sv[0], PH_MSG_LOG, 0, big, 2, big, SIZE_MAX - 1, NULL, 0),
			 -EMSGSIZE);
	assert_int_equal(ph__msg_send(sv[0], PH_MSG_CALL, 0, NULL, 0, fds, PH_MSG_MAX_FDS + 1),
			 -EMSGSIZE);
	/* Nothing was sent by any of them. */
	assert_int_equal(ph__msg_recv(sv[1], &msg, MSG_DONTWAIT, &why), -EAGAIN);

	/* A dead peer: -EPIPE, and no SIGPIPE (which would end this test). */
	close(sv[1]);
	assert_int_equal(ph__msg_send(sv[0], PH_MSG_LOG, 0, NULL, 0, NULL, 0), -EPIPE);
	close(sv[0]);
}

static void test_recv_eof_and_eagain(void **state)
{
	const int before = tu_count_fds();
	const char *why = NULL;
	int sv[2], p[2];

	pair(sv);
	assert_int_equal(ph__msg_recv(sv[1], &msg, MSG_DONTWAIT, &why), -EAGAIN);
	assert_int_equal(msg.nfds, 0);
	/* A message, then the peer hangs up: the message, then EOF, twice. */
	assert_int_equal(ph__msg_send(sv[0], PH_MSG_LOG, 1, NULL, 0, NULL, 0), 0);
	close(sv[0]);
	assert_int_equal(ph__msg_recv(sv[1], &msg, 0, &why), 1);
	assert_int_equal(ph__msg_recv(sv[1], &msg, 0, &why), 0);
	assert_int_equal(ph__msg_recv(sv[1], &msg, MSG_DONTWAIT, &why), 0);
	assert_int_equal(msg.nfds, 0);
	close(sv[1]);

	/* Not a socket at all. */
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(ph__msg_recv(p[0], &msg, MSG_DONTWAIT, &why), -ENOTSOCK);
	close(p[0]);
	close(p[1]);
	assert_int_equal(ph__msg_recv(-1, &msg, MSG_DONTWAIT, &why), -EBADF);
	assert_int_equal(tu_count_fds(), before);
}

/* ------------------------------------------------- header rules: wire */

#define WHY_SHORT  "message shorter than its header"
#define WHY_MAGIC  "bad magic in message header"
#define WHY_ABI	   "message is for another wire ABI version"
#define WHY_TYPE   "unknown message type"
#define WHY_LEN	   "message length field differs from the bytes received"
#define WHY_NFDS   "fd count field differs from the fds received"
#define WHY_FDTYPE "wrong number of fds for this message type"
#define WHY_CTRUNC "fds were truncated (too many fds, or out of fds)"
#define WHY_TOOBIG "message larger than the protocol maximum"

/*
 * Put one hostile message (bytes + n fds) on the wire and expect
 * ph__msg_recv() to refuse it with why_expected, having closed every fd
 * it brought, and to leave the channel in step: the next message is read
 * normally.
 */
static void expect_reject(const void *buf, size_t len, unsigned int n, const char *why_expected)
{
	int sv[2], before;
	const char *why = "untouched";

	pair(sv);
	before = tu_count_fds();
	raw_send_fds(sv[0], buf, len, n);
	assert_int_equal(ph__msg_recv(sv[1], &msg, MSG_DONTWAIT, &why), -EBADMSG);
	assert_string_equal(why, why_expected);
	assert_int_equal(msg.nfds, 0);
	assert_int_equal(tu_count_fds(), before);

	assert_int_equal(ph__msg_send(sv[0], PH_MSG_LOG, 9, NULL, 0, NULL, 0), 0);
	assert_int_equal(ph__msg_recv(sv[1], &msg, MSG_DONTWAIT, &why), 1);
	assert_int_equal(msg.hdr.type, PH_MSG_LOG);
	assert_int_equal(msg.hdr.call_id, 9);
	close(sv[0]);
	close(sv[1]);
}

/* And the accepted counterpart: taken whole, fds owned by msg. */
static void expect_accept(const void *buf, size_t len, unsigned int n)
{
	int sv[2], before;
	const char *why = NULL;

	pair(sv);
	before = tu_count_fds();
	raw_send_fds(sv[0], buf, len, n);
	assert_int_equal(ph__msg_recv(sv[1], &msg, MSG_DONTWAIT, &why), 1);
	assert_int_equal(msg.nfds, n);
	assert_int_equal(tu_count_fds(), before + (int)n);
	ph__msg_close_fds(&msg);
	assert_int_equal(tu_count_fds(), before);
	close(sv[0]);
	close(sv[1]);
}

static void test_hdr_truncated(void **state)
{
	struct ph_msg_hdr h = hdr_of(PH_MSG_LOG, 0, 0);

	expect_reject(&h, 1, 0, WHY_SHORT);
	expect_reject(&h, sizeof(h) - 1, 0, WHY_SHORT);
	/* fds riding on a runt message are closed too. */
	expect_reject(&h, 10, 3, WHY_SHORT);
	expect_accept(&h, sizeof(h), 0);
}

static void test_hdr_magic_abi_type(void **state)
{
	struct ph_msg_hdr h = hdr_of(PH_MSG_LOG, 0, 0);

	h.magic = PH_WIRE_MAGIC ^ 1;
	expect_reject(&h, sizeof(h), 0, WHY_MAGIC);
	h.magic = __builtin_bswap32(PH_WIRE_MAGIC);
	expect_reject(&h, sizeof(h), 0, WHY_MAGIC);
	h = hdr_of(PH_MSG_LOG, 0, 0);
	h.abi = PH_WIRE_ABI + 1;
	expect_reject(&h, sizeof(h), 0, WHY_ABI);
	h.abi = 0;
	expect_reject(&h, sizeof(h), 0, WHY_ABI);
	h = hdr_of(0, 0, 0);
	expect_reject(&h, sizeof(h), 0, WHY_TYPE);
	h = hdr_of(PH_MSG_TYPE_MAX + 1, 0, 0);
	expect_reject(&h, sizeof(h), 0, WHY_TYPE);
	h = hdr_of(0xffff, 0, 0);
	expect_reject(&h, sizeof(h), 0, WHY_TYPE);
	/* And fds are closed whatever rule broke. */
	h = hdr_of(0, 0, 2);
	expect_reject(&h, sizeof(h), 2, WHY_TYPE);
	h = hdr_of(PH_MSG_CALL, 0, 2);
	h.magic = 0;
	expect_reject(&h, sizeof(h), 2, WHY_MAGIC);
}

static void test_hdr_len_mismatch(void **state)
{
	const char body[] = "0123456789";
	struct ph_msg_hdr h = hdr_of(PH_MSG_LOG, 11, 0);

	expect_reject(wire.b, frame(&h, body, 10), 0, WHY_LEN); /* says more */
	h.len = 9;
	expect_reject(wire.b, frame(&h, body, 10), 0, WHY_LEN); /* says less */
	h.len = 0;
	expect_reject(wire.b, frame(&h, body, 10), 0, WHY_LEN);
	h.len = UINT32_MAX;
	expect_reject(wire.b, frame(&h, body, 10), 0, WHY_LEN);
	h = hdr_of(PH_MSG_CALL, 11, 2);
	expect_reject(wire.b, frame(&h, body, 10), 2, WHY_LEN);
	h.len = 10;
	expect_accept(wire.b, frame(&h, body, 10), 2);
}

static void test_hdr_nfds_mismatch(void **state)
{
	struct ph_msg_hdr h = hdr_of(PH_MSG_LOG, 0, 1);

	expect_reject(&h, sizeof(h), 0, WHY_NFDS); /* claims one, brings none */
	h = hdr_of(PH_MSG_CALL, 0, 0);
	expect_reject(&h, sizeof(h), 1, WHY_NFDS); /* brings one, claims none */
	h = hdr_of(PH_MSG_CALL, 0, 3);
	expect_reject(&h, sizeof(h), 2, WHY_NFDS);
	h = hdr_of(PH_MSG_CALL, 0, 2);
	expect_reject(&h, sizeof(h), 3, WHY_NFDS);
	h = hdr_of(PH_MSG_CALL, 0, UINT32_MAX);
	expect_reject(&h, sizeof(h), 16, WHY_NFDS);
}

/* The structural bound on fds, type by type, before the direction and
 * phase are known: the loosest the fd table allows for the type (SETUP
 * 3..4, CALL 1..PH_INPUTS_MAX, SANDBOXED 0..1, CHILD and INIT 1, FORK 6),
 * and none for every other type, the retired ones included. */
static void test_hdr_fds_for_type(void **state)
{
	static const uint16_t none[] = {PH_MSG_LOADED,	      PH_MSG_SETUP_FAILED,
					PH_MSG_LOG,	      PH_MSG_EXIT,
					PH_MSG_USERNS,	      PH_MSG_USERNS_MAPPED,
					PH_MSG_ZYGOTE_READY,  6 /* was DONE */,
					8 /* was DOORBELL */, 9};
	struct ph_msg_hdr h;

	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		h = hdr_of(none[i], 0, 1);
		expect_reject(&h, sizeof(h), 1, WHY_FDTYPE);
		h = hdr_of(none[i], 0, 0);
		expect_accept(&h, sizeof(h), 0);
	}
	h = hdr_of(PH_MSG_SETUP, 0, 0);
	expect_reject(&h, sizeof(h), 0, WHY_FDTYPE);
	h = hdr_of(PH_MSG_SETUP, 0, 2); /* the ABI 1 count: no wake pipe */
	expect_reject(&h, sizeof(h), 2, WHY_FDTYPE);
	h = hdr_of(PH_MSG_SETUP, 0, 5);
	expect_reject(&h, sizeof(h), 5, WHY_FDTYPE);
	h = hdr_of(PH_MSG_CALL, 0, 0); /* a call without fds sends no CALL */
	expect_reject(&h, sizeof(h), 0, WHY_FDTYPE);
	h = hdr_of(PH_MSG_SANDBOXED, 0, 2);
	expect_reject(&h, sizeof(h), 2, WHY_FDTYPE);
	h = hdr_of(PH_MSG_CHILD, 0, 0);
	expect_reject(&h, sizeof(h), 0, WHY_FDTYPE);
	h = hdr_of(PH_MSG_CHILD, 0, 2);
	expect_reject(&h, sizeof(h), 2, WHY_FDTYPE);
	h = hdr_of(PH_MSG_INIT, 0, 0);
	expect_reject(&h, sizeof(h), 0, WHY_FDTYPE);
	h = hdr_of(PH_MSG_FORK, 0, 5);
	expect_reject(&h, sizeof(h), 5, WHY_FDTYPE);
	h = hdr_of(PH_MSG_FORK, 0, 7);
	expect_reject(&h, sizeof(h), 7, WHY_FDTYPE);
	h = hdr_of(PH_MSG_CRASH, 0, 1);
	expect_reject(&h, sizeof(h), 1, WHY_FDTYPE);
	/* The allowances themselves are accepted. */
	h = hdr_of(PH_MSG_SETUP, 0, 3);
	expect_accept(&h, sizeof(h), 3);
	h = hdr_of(PH_MSG_SETUP, 0, 4);
	expect_accept(&h, sizeof(h), 4);
	h = hdr_of(PH_MSG_SANDBOXED, 0, 0);
	expect_accept(&h, sizeof(h), 0);
	h = hdr_of(PH_MSG_SANDBOXED, 0, 1);
	expect_accept(&h, sizeof(h), 1);
	h = hdr_of(PH_MSG_CALL, 0, 1);
	expect_accept(&h, sizeof(h), 1);
	h = hdr_of(PH_MSG_CALL, 0, PH_INPUTS_MAX);
	expect_accept(&h, sizeof(h), PH_INPUTS_MAX);
	h = hdr_of(PH_MSG_CHILD, 0, 1);
	expect_accept(&h, sizeof(h), 1);
	h = hdr_of(PH_MSG_INIT, 0, 1);
	expect_accept(&h, sizeof(h), 1);
	h = hdr_of(PH_MSG_FORK, 0, 6);
	expect_accept(&h, sizeof(h), 6);
}

/*
 * More fds than any message may carry: the receiver's control buffer
 * holds one extra so the excess is seen, not silently cut, and every fd
 * the kernel installed is closed (CMSG_SPACE padding lets it install 18
 * into a buffer sized for 17: that one once leaked).
 */
static void test_hdr_too_many_fds(void **state)
{
	struct ph_msg_hdr h = hdr_of(PH_MSG_CALL, 0, PH_MSG_MAX_FDS + 1);

	expect_reject(&h, sizeof(h), PH_MSG_MAX_FDS + 1, WHY_CTRUNC);
	h.nfds = PH_MSG_MAX_FDS; /* lying low does not help */
	expect_reject(&h, sizeof(h), PH_MSG_MAX_FDS + 1, WHY_CTRUNC);
	h = hdr_of(PH_MSG_LOADED, 0, 0);
	expect_reject(&h, sizeof(h), PH_MSG_MAX_FDS + 1, WHY_CTRUNC);
	h = hdr_of(PH_MSG_CALL, 0, PH_MSG_MAX_FDS + 2);
	expect_reject(&h, sizeof(h), PH_MSG_MAX_FDS + 2, WHY_CTRUNC);
	h = hdr_of(PH_MSG_CALL, 0, 40);
	expect_reject(&h, sizeof(h), 40, WHY_CTRUNC);
}

/* Linux queues zero-byte SEQPACKET records: one from a live peer is a
 * broken message, not the orderly EOF it would look like. */
static void test_empty_record_is_not_eof(void **state)
{
	const char *why = NULL;
	int sv[2];

	pair(sv);
	assert_int_equal(send(sv[0], "", 0, 0), 0);
	assert_int_equal(ph__msg_send(sv[0], PH_MSG_LOG, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(ph__msg_recv(sv[1], &msg, MSG_DONTWAIT, &why), -EBADMSG);
	assert_string_equal(why, "empty message");
	assert_int_equal(ph__msg_recv(sv[1], &msg, MSG_DONTWAIT, &why), 1);
	assert_int_equal(msg.hdr.type, PH_MSG_LOG);
	/* And a real shutdown still reads as EOF. */
	close(sv[0]);
	assert_int_equal(ph__msg_recv(sv[1], &msg, MSG_DONTWAIT, &why), 0);
	close(sv[1]);
}

static void test_hdr_oversized(void **state)
{
	const size_t max = PH_MSG_MAX - sizeof(struct ph_msg_hdr);
	static uint8_t body[100000];
	struct ph_msg_hdr h = hdr_of(PH_MSG_LOG, (uint32_t)max + 1, 0);

	memset(body, 'x', sizeof(body));
	expect_reject(wire.b, frame(&h, body, max + 1), 0, WHY_TOOBIG);
	h = hdr_of(PH_MSG_CALL, (uint32_t)max + 1, 2);
	expect_reject(wire.b, frame(&h, body, max + 1), 2, WHY_TOOBIG);
	/* Far bigger, with a header that claims the truncated length. */
	{
		static uint8_t huge[sizeof(h) + sizeof(body)];

		h = hdr_of(PH_MSG_CALL, (uint32_t)max, 1);
		memcpy(huge, &h, sizeof(h));
		memcpy(huge + sizeof(h), body, sizeof(body));
		expect_reject(huge, sizeof(huge), 1, WHY_TOOBIG);
	}
	h = hdr_of(PH_MSG_LOG, (uint32_t)max, 0);
	expect_accept(wire.b, frame(&h, body, max), 0);
}

/* ph__msg_validate() directly, for the one rule a socket cannot show:
 * a zero-byte or runt buffer without any header at all. */
static void test_validate_direct(void **state)
{
	struct ph_msg_hdr h = hdr_of(PH_MSG_CALL, 8, 1);
	const char *why = NULL;

	assert_int_equal(ph__msg_validate(&h, sizeof(h) + 8, 1, &why), 0);
	assert_int_equal(ph__msg_validate(&h, 0, 0, &why), -EBADMSG);
	assert_string_equal(why, WHY_SHORT);
	assert_int_equal(ph__msg_validate(&h, sizeof(h) + 7, 1, &why), -EBADMSG);
	assert_string_equal(why, WHY_LEN);
	assert_int_equal(ph__msg_validate(&h, sizeof(h) + 8, 0, &why), -EBADMSG);
	assert_string_equal(why, WHY_NFDS);
	h.nfds = 17;
	assert_int_equal(ph__msg_validate(&h, sizeof(h) + 8, 17, &why), -EBADMSG);
	assert_string_equal(why, WHY_FDTYPE);
	h.nfds = 0;
	assert_int_equal(ph__msg_validate(&h, sizeof(h) + 8, 0, &why), -EBADMSG);
	assert_string_equal(why, WHY_FDTYPE);
	h.nfds = 17;
	assert_int_equal(ph__msg_validate(&h, sizeof(h) + 8, 17, NULL), -EBADMSG);
}

/* --------------------------------------------------------- parsers */

/* Load a message as if received: header valid for len bytes, nfds fds
 * (the parsers look at the count, never at the fds). Bytes past len are
 * junk, so a parser reading beyond the message finds garbage. */
static void load(uint16_t type, const void *payload, size_t len, unsigned int nfds)
{
	assert_true(len <= sizeof(msg.payload));
	assert_true(nfds <= PH_MSG_MAX_FDS);
	msg.hdr = hdr_of(type, (uint32_t)len, nfds);
	memset(msg.payload, 0xEE, sizeof(msg.payload));
	if (len)
		memcpy(msg.payload, payload, len);
	msg.nfds = nfds;
	for (unsigned int i = 0; i < PH_MSG_MAX_FDS; i++)
		msg.fds[i] = -1;
}

static int p_call(const char **why)
{
	static struct ph_msg_call v;

	return ph__parse_call(&msg, &v, why);
}

static int p_loaded(const char **why)
{
	static struct ph_loaded_view v;

	return ph__parse_loaded(&msg, &v, why);
}

static int p_setup(const char **why)
{
	static struct ph_setup_view v;

	return ph__parse_setup(&msg, &v, why);
}

static int p_failed(const char **why)
{
	static struct ph_failed_view v;

	return ph__parse_failed(&msg, &v, why);
}

static int p_log(const char **why)
{
	static struct ph_log_view v;

	return ph__parse_log(&msg, &v, why);
}

static int p_sandboxed(const char **why)
{
	static struct ph_msg_sandboxed v;

	return ph__parse_sandboxed(&msg, &v, why);
}

static int p_exit(const char **why)
{
	static struct ph_msg_exit v;

	return ph__parse_exit(&msg, &v, why);
}

static void expect_bad(int (*parse)(const char **), const char *why_expected)
{
	const char *why = "untouched";

	assert_int_equal(parse(&why), -EBADMSG);
	assert_string_equal(why, why_expected);
	assert_int_equal(parse(NULL), -EBADMSG);
}

static void expect_good(int (*parse)(const char **))
{
	const char *why = NULL;
	int r = parse(&why);

	if (r != 0)
		fail_msg("parser refused a valid message: %s", why ? why : "?");
}

/* CALL: the fd count and the reserved word, nothing else. */
static void call_payload(struct bb *b, uint32_t n_fds, uint32_t reserved)
{
	b->n = 0;
	put32(b, n_fds);
	put32(b, reserved);
}

static void test_parse_call(void **state)
{
	struct ph_msg_call v;
	const char *why = NULL;

	call_payload(&pl, 2, 0);
	load(PH_MSG_CALL, pl.b, pl.n, 2);
	assert_int_equal(ph__parse_call(&msg, &v, &why), 0);
	assert_int_equal(v.n_fds, 2);
	assert_int_equal(v.reserved, 0);

	load(PH_MSG_LOG, pl.b, pl.n, 2); /* another type */
	expect_bad(p_call, "CALL message too short");
	load(PH_MSG_CALL, pl.b, 7, 2);
	expect_bad(p_call, "CALL message too short");
	load(PH_MSG_CALL, pl.b, 0, 2);
	expect_bad(p_call, "CALL message too short");

	call_payload(&pl, 2, 1);
	load(PH_MSG_CALL, pl.b, pl.n, 2);
	expect_bad(p_call, "CALL reserved field is not zero");
	call_payload(&pl, 2, 0x80000000u);
	load(PH_MSG_CALL, pl.b, pl.n, 2);
	expect_bad(p_call, "CALL reserved field is not zero");

	/* A CALL exists only to carry fds, at most one per input. */
	call_payload(&pl, 0, 0);
	load(PH_MSG_CALL, pl.b, pl.n, 0);
	expect_bad(p_call, "CALL carries no fds, or more than a call has inputs");
	call_payload(&pl, PH_INPUTS_MAX + 1, 0);
	load(PH_MSG_CALL, pl.b, pl.n, PH_MSG_MAX_FDS);
	expect_bad(p_call, "CALL carries no fds, or more than a call has inputs");
	call_payload(&pl, UINT32_MAX, 0);
	load(PH_MSG_CALL, pl.b, pl.n, PH_MSG_MAX_FDS);
	expect_bad(p_call, "CALL carries no fds, or more than a call has inputs");

	call_payload(&pl, 2, 0);
	load(PH_MSG_CALL, pl.b, pl.n, 1);
	expect_bad(p_call, "CALL fd count differs from the fds attached");
	load(PH_MSG_CALL, pl.b, pl.n, 3);
	expect_bad(p_call, "CALL fd count differs from the fds attached");
	load(PH_MSG_CALL, pl.b, pl.n, 0);
	expect_bad(p_call, "CALL fd count differs from the fds attached");
	call_payload(&pl, PH_INPUTS_MAX, 0);
	load(PH_MSG_CALL, pl.b, pl.n, 1);
	expect_bad(p_call, "CALL fd count differs from the fds attached");

	call_payload(&pl, 2, 0);
	pl.b[pl.n++] = 'x';
	load(PH_MSG_CALL, pl.b, pl.n, 2);
	expect_bad(p_call, "CALL message has trailing bytes");
	/* What an ABI 1 CALL carried after its fixed part: sizes, a name. */
	call_payload(&pl, 1, 0);
	put64(&pl, 1000);
	puts_(&pl, "transform");
	load(PH_MSG_CALL, pl.b, pl.n, 1);
	expect_bad(p_call, "CALL message has trailing bytes");

	/* The limits themselves. */
	call_payload(&pl, 1, 0);
	load(PH_MSG_CALL, pl.b, pl.n, 1);
	expect_good(p_call);
	call_payload(&pl, PH_INPUTS_MAX, 0);
	load(PH_MSG_CALL, pl.b, pl.n, PH_INPUTS_MAX);
	expect_good(p_call);
}

/* LOADED: fixed part, name, version, then (u16 len, bytes) per method. */
/* LOADED's fixed part: flags and reserved zero (loaded_head_flags()). */
static void loaded_head_flags(struct bb *b, uint32_t n, uint16_t nl, uint16_t vl, uint32_t flags,
			      uint32_t reserved)
{
	b->n = 0;
	put32(b, n);
	put16(b, nl);
	put16(b, vl);
	put32(b, flags);
	put32(b, reserved);
}

static void loaded_head(struct bb *b, uint32_t n, uint16_t nl, uint16_t vl)
{
	loaded_head_flags(b, n, nl, vl, 0, 0);
}

static void method(struct bb *b, uint16_t len, const char *s, size_t bytes)
{
	put16(b, len);
	put(b, s, bytes);
}

static void test_parse_loaded(void **state)
{
	char n128[PH_NAME_MAX + 2];
	struct ph_loaded_view *v = malloc(sizeof(*v));
	const char *why = NULL;

	assert_non_null(v);
	memset(n128, 'n', sizeof(n128));

	loaded_head(&pl, 2, 4, 0);
	puts_(&pl, "echo");
	method(&pl, 4, "echo", 4);
	method(&pl, 5, "upper", 5);
	load(PH_MSG_LOADED, pl.b, pl.n, 0);
	assert_int_equal(ph__parse_loaded(&msg, v, &why), 0);
	assert_int_equal(v->version.len, 0); /* a version may be empty */
	assert_int_equal(v->n_methods, 2);
	assert_int_equal(v->flags, 0);
	assert_ptr_equal(v->methods[1].p, (const char *)msg.payload + 16 + 4 + 6 + 2);

	load(PH_MSG_CALL, pl.b, pl.n, 0);
	expect_bad(p_loaded, "LOADED message too short");
	load(PH_MSG_LOADED, pl.b, 15, 0);
	expect_bad(p_loaded, "LOADED message too short");

	/* The one flag there is, then every other bit and reserved. */
	loaded_head_flags(&pl, 0, 4, 0, PH_LOADED_READS_STREAMS, 0);
	puts_(&pl, "echo");
	load(PH_MSG_LOADED, pl.b, pl.n, 0);
	assert_int_equal(ph__parse_loaded(&msg, v, &why), 0);
	assert_int_equal(v->flags, PH_LOADED_READS_STREAMS);
	for (uint32_t bit = 1; bit; bit <<= 1) {
		if (bit & PH_LOADED_FLAGS)
			continue;
		loaded_head_flags(&pl, 0, 4, 0, bit | PH_LOADED_READS_STREAMS, 0);
		puts_(&pl, "echo");
		load(PH_MSG_LOADED, pl.b, pl.n, 0);
		expect_bad(p_loaded, "LOADED has unknown flags");
		loaded_head_flags(&pl, 0, 4, 0, 0, bit);
		puts_(&pl, "echo");
		load(PH_MSG_LOADED, pl.b, pl.n, 0);
		expect_bad(p_loaded, "LOADED reserved field is not zero");
	}

	loaded_head(&pl, PH_METHODS_MAX + 1, 4, 0);
	puts_(&pl, "echo");
	load(PH_MSG_LOADED, pl.b, pl.n, 0);
	expect_bad(p_loaded, "LOADED lists too many methods");

	loaded_head(&pl, 0, 0, 0);
	load(PH_MSG_LOADED, pl.b, pl.n, 0);
	expect_bad(p_loaded, "LOADED name empty or name/version too long");
	loaded_head(&pl, 0, PH_NAME_MAX + 1, 0);
	put(&pl, n128, PH_NAME_MAX + 1);
	load(PH_MSG_LOADED, pl.b, pl.n, 0);
	expect_bad(p_loaded, "LOADED name empty or name/version too long");
	loaded_head(&pl, 0, 1, PH_NAME_MAX + 1);
	put(&pl, n128, PH_NAME_MAX + 2);
	load(PH_MSG_LOADED, pl.b, pl.n, 0);
	expect_bad(p_loaded, "LOADED name empty or name/version too long");

	loaded_head(&pl, 0, 4, 0);
	puts_(&pl, "ech");
	load(PH_MSG_LOADED, pl.b, pl.n, 0);
	expect_bad(p_loaded, "LOADED message shorter than its fields say");
	loaded_head(&pl, 0, 4, 3);
	puts_(&pl, "echo1.");
	load(PH_MSG_LOADED, pl.b, pl.n, 0);
	expect_bad(p_loaded, "LOADED message shorter than its fields say");

	loaded_head(&pl, 3, 4, 0);
	puts_(&pl, "echo");
	method(&pl, 1, "a", 1);
	method(&pl, 1, "b", 1);
	load(PH_MSG_LOADED, pl.b, pl.n, 0);
	expect_bad(p_loaded, "LOADED method list shorter than its count says");
	pl.b[pl.n++] = 1; /* half a length prefix */
	load(PH_MSG_LOADED, pl.b, pl.n, 0);
	expect_bad(p_loaded, "LOADED method list shorter than its count says");
	pl.n--;
	method(&pl, 10, "abc", 3);
	load(PH_MSG_LOADED, pl.b, pl.n, 0);
	expect_bad(p_loaded, "LOADED method list shorter than its count says");

	loaded_head(&pl, 1, 4, 0);
	puts_(&pl, "echo");
	method(&pl, 0, "", 0);
	load(PH_MSG_LOADED, pl.b, pl.n, 0);
	expect_bad(p_loaded, "LOADED method name empty, too long or has NUL");
	loaded_head(&pl, 1, 4, 0);
	puts_(&pl, "echo");
	method(&pl, PH_NAME_MAX + 1, n128, PH_NAME_MAX + 1);
	load(PH_MSG_LOADED, pl.b, pl.n, 0);
	expect_bad(p_loaded, "LOADED method name empty, too long or has NUL");
	loaded_head(&pl, 1, 4, 0);
	puts_(&pl, "echo");
	method(&pl, 5, "up\0er", 5);
	load(PH_MSG_LOADED, pl.b, pl.n, 0);
	expect_bad(p_loaded, "LOADED method name empty, too long or has NUL");

	loaded_head(&pl, 1, 4, 0);
	puts_(&pl, "echo");
	method(&pl, 1, "a", 1);
	pl.b[pl.n++] = 'z';
	load(PH_MSG_LOADED, pl.b, pl.n, 0);
	expect_bad(p_loaded, "LOADED message has trailing bytes");

	loaded_head(&pl, 0, 4, 0);
	put(&pl, "ec\0o", 4);
	load(PH_MSG_LOADED, pl.b, pl.n, 0);
	expect_bad(p_loaded, "LOADED name or version contains NUL");
	loaded_head(&pl, 0, 4, 3);
	put(&pl,
	    "echo1\0"
	    "0",
	    7);
	load(PH_MSG_LOADED, pl.b, pl.n, 0);
	expect_bad(p_loaded, "LOADED name or version contains NUL");

	/* The limits themselves: 64 methods of 128 bytes, 128-byte strings. */
	loaded_head(&pl, PH_METHODS_MAX, PH_NAME_MAX, PH_NAME_MAX);
	put(&pl, n128, PH_NAME_MAX);
	put(&pl, n128, PH_NAME_MAX);
	for (unsigned int i = 0; i < PH_METHODS_MAX; i++)
		method(&pl, PH_NAME_MAX, n128, PH_NAME_MAX);
	load(PH_MSG_LOADED, pl.b, pl.n, 0);
	assert_int_equal(ph__parse_loaded(&msg, v, &why), 0);
	assert_int_equal(v->n_methods, PH_METHODS_MAX);
	assert_int_equal(v->methods[PH_METHODS_MAX - 1].len, PH_NAME_MAX);
	free(v);
}

static void setup_payload(struct bb *b, uint64_t cap, uint32_t flags, uint32_t path_len,
			  const char *path, size_t bytes)
{
	struct ph_msg_setup s = {.ring_capacity = cap, .flags = flags, .path_len = path_len};

	b->n = 0;
	put(b, &s, sizeof(s));
	put(b, path, bytes);
}

static void test_parse_setup(void **state)
{
	static char p4097[4097];
	const uint64_t bad_caps[] = {0,
				     PH_RING_MIN_CAPACITY / 2,
				     PH_RING_MIN_CAPACITY + 16,
				     3 * PH_RING_MIN_CAPACITY,
				     (uint64_t)PH_RING_MAX_CAPACITY * 2,
				     1ull << 40,
				     UINT64_MAX};
	struct ph_setup_view v;
	const char *why = NULL;

	memset(p4097, 'p', sizeof(p4097));
	setup_payload(&pl, PH_RING_DEFAULT_CAPACITY, PH_SETUP_SECCOMP, 6, "/a.so!", 6);
	load(PH_MSG_SETUP, pl.b, pl.n, 4);
	assert_int_equal(ph__parse_setup(&msg, &v, &why), 0);
	assert_int_equal(v.path.len, 6);
	assert_ptr_equal(v.path.p, (const char *)msg.payload + sizeof(struct ph_msg_setup));

	load(PH_MSG_SANDBOXED, pl.b, pl.n, 3);
	expect_bad(p_setup, "SETUP message too short");
	load(PH_MSG_SETUP, pl.b, sizeof(struct ph_msg_setup) - 1, 4);
	expect_bad(p_setup, "SETUP message too short");

	for (size_t i = 0; i < sizeof(bad_caps) / sizeof(bad_caps[0]); i++) {
		setup_payload(&pl, bad_caps[i], 0, 6, "/a.so!", 6);
		load(PH_MSG_SETUP, pl.b, pl.n, 3);
		expect_bad(p_setup, "SETUP ring capacity not a power of two in range");
	}
	setup_payload(&pl, PH_RING_MIN_CAPACITY, 0, 6, "/a.so!", 6);
	load(PH_MSG_SETUP, pl.b, pl.n, 3);
	expect_good(p_setup);
	setup_payload(&pl, PH_RING_MAX_CAPACITY, 0, 4096, p4097, 4096);
	load(PH_MSG_SETUP, pl.b, pl.n, 3);
	expect_good(p_setup);

	setup_payload(&pl, PH_RING_MIN_CAPACITY, 0, 0, "", 0);
	load(PH_MSG_SETUP, pl.b, pl.n, 3);
	expect_bad(p_setup, "SETUP plugin path empty or too long");
	setup_payload(&pl, PH_RING_MIN_CAPACITY, 0, 4097, p4097, 4097);
	load(PH_MSG_SETUP, pl.b, pl.n, 3);
	expect_bad(p_setup, "SETUP plugin path empty or too long");
	setup_payload(&pl, PH_RING_MIN_CAPACITY, 0, 7, "/a.so!", 6);
	load(PH_MSG_SETUP, pl.b, pl.n, 3);
	expect_bad(p_setup, "SETUP message shorter than its path length says");
	setup_payload(&pl, PH_RING_MIN_CAPACITY, 0, 5, "/a.so!", 6);
	load(PH_MSG_SETUP, pl.b, pl.n, 3);
	expect_bad(p_setup, "SETUP message has trailing bytes");
	setup_payload(&pl, PH_RING_MIN_CAPACITY, 0, 6, "/a\0so!", 6);
	load(PH_MSG_SETUP, pl.b, pl.n, 3);
	expect_bad(p_setup, "SETUP path contains NUL");

	setup_payload(&pl, PH_RING_MIN_CAPACITY, PH_SETUP_SECCOMP, 6, "/a.so!", 6);
	load(PH_MSG_SETUP, pl.b, pl.n, 3);
	expect_bad(p_setup, "SETUP fd count does not match its flags");
	load(PH_MSG_SETUP, pl.b, pl.n, 2);
	expect_bad(p_setup, "SETUP fd count does not match its flags");
	setup_payload(&pl, PH_RING_MIN_CAPACITY, PH_SETUP_SANDBOX, 6, "/a.so!", 6);
	load(PH_MSG_SETUP, pl.b, pl.n, 4);
	expect_bad(p_setup, "SETUP fd count does not match its flags");
	/* Two fds, as ABI 1 sent them: no wake pipe. */
	load(PH_MSG_SETUP, pl.b, pl.n, 2);
	expect_bad(p_setup, "SETUP fd count does not match its flags");
	load(PH_MSG_SETUP, pl.b, pl.n, 3);
	expect_good(p_setup);
	setup_payload(&pl, PH_RING_MIN_CAPACITY, PH_SETUP_SECCOMP | PH_SETUP_SANDBOX, 6, "/a.so!",
		      6);
	load(PH_MSG_SETUP, pl.b, pl.n, 4);
	expect_good(p_setup);
}

static void failed_payload(struct bb *b, uint32_t step, int32_t err, uint32_t msg_len, size_t bytes)
{
	struct ph_msg_setup_failed f = {.step = step, .err = err, .msg_len = msg_len};

	b->n = 0;
	put(b, &f, sizeof(f));
	fill(b, 'e', bytes);
}

static void test_parse_failed(void **state)
{
	struct ph_failed_view v;
	const char *why = NULL;

	failed_payload(&pl, PH_STEP_MAX, 4095, PH_TEXT_MAX, PH_TEXT_MAX);
	load(PH_MSG_SETUP_FAILED, pl.b, pl.n, 0);
	assert_int_equal(ph__parse_failed(&msg, &v, &why), 0);
	assert_int_equal(v.fixed.step, PH_STEP_MAX);
	assert_int_equal(v.msg.len, PH_TEXT_MAX);
	failed_payload(&pl, PH_STEP_PROTOCOL, 0, 0, 0);
	load(PH_MSG_SETUP_FAILED, pl.b, pl.n, 0);
	expect_good(p_failed);

	load(PH_MSG_LOADED, pl.b, pl.n, 0);
	expect_bad(p_failed, "SETUP_FAILED message too short");
	load(PH_MSG_SETUP_FAILED, pl.b, sizeof(struct ph_msg_setup_failed) - 1, 0);
	expect_bad(p_failed, "SETUP_FAILED message too short");
	failed_payload(&pl, 0, 1, 0, 0);
	load(PH_MSG_SETUP_FAILED, pl.b, pl.n, 0);
	expect_bad(p_failed, "SETUP_FAILED names an unknown step");
	failed_payload(&pl, PH_STEP_MAX + 1, 1, 0, 0);
	load(PH_MSG_SETUP_FAILED, pl.b, pl.n, 0);
	expect_bad(p_failed, "SETUP_FAILED names an unknown step");
	failed_payload(&pl, PH_STEP_RING, -1, 0, 0);
	load(PH_MSG_SETUP_FAILED, pl.b, pl.n, 0);
	expect_bad(p_failed, "SETUP_FAILED errno out of range");
	failed_payload(&pl, PH_STEP_RING, 4096, 0, 0);
	load(PH_MSG_SETUP_FAILED, pl.b, pl.n, 0);
	expect_bad(p_failed, "SETUP_FAILED errno out of range");
	failed_payload(&pl, PH_STEP_RING, INT32_MIN, 0, 0);
	load(PH_MSG_SETUP_FAILED, pl.b, pl.n, 0);
	expect_bad(p_failed, "SETUP_FAILED errno out of range");
	failed_payload(&pl, PH_STEP_RING, 1, PH_TEXT_MAX + 1, PH_TEXT_MAX + 1);
	load(PH_MSG_SETUP_FAILED, pl.b, pl.n, 0);
	expect_bad(p_failed, "SETUP_FAILED text too long or shorter than it says");
	failed_payload(&pl, PH_STEP_RING, 1, 10, 9);
	load(PH_MSG_SETUP_FAILED, pl.b, pl.n, 0);
	expect_bad(p_failed, "SETUP_FAILED text too long or shorter than it says");
	failed_payload(&pl, PH_STEP_RING, 1, 10, 11);
	load(PH_MSG_SETUP_FAILED, pl.b, pl.n, 0);
	expect_bad(p_failed, "SETUP_FAILED message has trailing bytes");
}

static void log_payload(struct bb *b, uint32_t level, uint32_t len, size_t bytes)
{
	b->n = 0;
	put32(b, level);
	put32(b, len);
	fill(b, 'l', bytes);
}

static void test_parse_log(void **state)
{
	struct ph_log_view v;
	const char *why = NULL;

	log_payload(&pl, PH_DEBUG, PH_TEXT_MAX, PH_TEXT_MAX);
	load(PH_MSG_LOG, pl.b, pl.n, 0);
	assert_int_equal(ph__parse_log(&msg, &v, &why), 0);
	assert_int_equal(v.level, PH_DEBUG);
	assert_int_equal(v.text.len, PH_TEXT_MAX);
	assert_ptr_equal(v.text.p, (const char *)msg.payload + 8);

	load(PH_MSG_EXIT, pl.b, pl.n, 0);
	expect_bad(p_log, "LOG message too short");
	load(PH_MSG_LOG, pl.b, 7, 0);
	expect_bad(p_log, "LOG message too short");
	log_payload(&pl, PH_DEBUG + 1, 0, 0);
	load(PH_MSG_LOG, pl.b, pl.n, 0);
	expect_bad(p_log, "LOG has an unknown level");
	log_payload(&pl, PH_ERROR, PH_TEXT_MAX + 1, PH_TEXT_MAX + 1);
	load(PH_MSG_LOG, pl.b, pl.n, 0);
	expect_bad(p_log, "LOG text too long or shorter than it says");
	log_payload(&pl, PH_ERROR, 5, 4);
	load(PH_MSG_LOG, pl.b, pl.n, 0);
	expect_bad(p_log, "LOG text too long or shorter than it says");
	log_payload(&pl, PH_ERROR, 5, 6);
	load(PH_MSG_LOG, pl.b, pl.n, 0);
	expect_bad(p_log, "LOG message has trailing bytes");
}

static void test_parse_sandboxed(void **state)
{
	struct ph_msg_sandboxed s = {.layers = PH_LAYER_NOTIFY | PH_LAYER_SECCOMP}, v;
	const char *why = NULL;

	pl.n = 0;
	put(&pl, &s, sizeof(s));
	load(PH_MSG_SANDBOXED, pl.b, pl.n, 1);
	assert_int_equal(ph__parse_sandboxed(&msg, &v, &why), 0);
	assert_int_equal(v.layers, s.layers);

	load(PH_MSG_SETUP, pl.b, pl.n, 2);
	expect_bad(p_sandboxed, "SANDBOXED message too short");
	load(PH_MSG_SANDBOXED, pl.b, sizeof(s) - 1, 1);
	expect_bad(p_sandboxed, "SANDBOXED message too short");
	pl.b[pl.n++] = 0;
	load(PH_MSG_SANDBOXED, pl.b, pl.n, 1);
	expect_bad(p_sandboxed, "SANDBOXED message has trailing bytes");
	load(PH_MSG_SANDBOXED, pl.b, sizeof(s), 0);
	expect_bad(p_sandboxed, "SANDBOXED fd count does not match its layers");
	s.layers = PH_LAYER_SECCOMP;
	pl.n = 0;
	put(&pl, &s, sizeof(s));
	load(PH_MSG_SANDBOXED, pl.b, pl.n, 1);
	expect_bad(p_sandboxed, "SANDBOXED fd count does not match its layers");
	load(PH_MSG_SANDBOXED, pl.b, pl.n, 0);
	expect_good(p_sandboxed);
}

static void exit_payload(struct bb *b, int32_t how, int32_t status)
{
	struct ph_msg_exit e = {
	    .how = how, .status = status, .user_usec = 1, .sys_usec = 2, .max_rss_kib = 3};

	b->n = 0;
	put(b, &e, sizeof(e));
}

static void test_parse_exit(void **state)
{
	const int32_t good[][2] = {
	    {CLD_EXITED, 0}, {CLD_EXITED, 255}, {CLD_KILLED, SIGKILL}, {CLD_DUMPED, SIGSEGV}};
	const int32_t bad_how[] = {0, CLD_TRAPPED, CLD_STOPPED, CLD_CONTINUED, -1, 1000};
	struct ph_msg_exit v;
	const char *why = NULL;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		exit_payload(&pl, good[i][0], good[i][1]);
		load(PH_MSG_EXIT, pl.b, pl.n, 0);
		assert_int_equal(ph__parse_exit(&msg, &v, &why), 0);
		assert_int_equal(v.how, good[i][0]);
		assert_int_equal(v.status, good[i][1]);
		assert_int_equal(v.max_rss_kib, 3);
	}

	load(PH_MSG_LOG, pl.b, pl.n, 0);
	expect_bad(p_exit, "EXIT message too short");
	load(PH_MSG_EXIT, pl.b, sizeof(struct ph_msg_exit) - 1, 0);
	expect_bad(p_exit, "EXIT message too short");
	pl.b[pl.n++] = 0;
	load(PH_MSG_EXIT, pl.b, pl.n, 0);
	expect_bad(p_exit, "EXIT message has trailing bytes");
	for (size_t i = 0; i < sizeof(bad_how) / sizeof(bad_how[0]); i++) {
		exit_payload(&pl, bad_how[i], 0);
		load(PH_MSG_EXIT, pl.b, pl.n, 0);
		expect_bad(p_exit, "EXIT has an unknown si_code");
	}
	exit_payload(&pl, CLD_EXITED, -1);
	load(PH_MSG_EXIT, pl.b, pl.n, 0);
	expect_bad(p_exit, "EXIT status out of range");
	exit_payload(&pl, CLD_KILLED, 256);
	load(PH_MSG_EXIT, pl.b, pl.n, 0);
	expect_bad(p_exit, "EXIT status out of range");
	exit_payload(&pl, CLD_KILLED, INT32_MIN);
	load(PH_MSG_EXIT, pl.b, pl.n, 0);
	expect_bad(p_exit, "EXIT status out of range");
}

/*
 * Hole 8: every reserved field of every message must be zero. Each byte
 * of each one, set alone in an otherwise valid message, is refused with
 * the rule named; the same message with it clear passes.
 */
static void test_parse_reserved_nonzero(void **state)
{
	const struct {
		uint16_t type;
		unsigned int nfds;
		size_t off, size;
		int (*parse)(const char **);
		const char *why;
	} cases[] = {
	    {PH_MSG_CALL, 1, offsetof(struct ph_msg_call, reserved),
	     sizeof(((struct ph_msg_call *)0)->reserved), p_call,
	     "CALL reserved field is not zero"},
	    {PH_MSG_SETUP, 3, offsetof(struct ph_msg_setup, reserved),
	     sizeof(((struct ph_msg_setup *)0)->reserved), p_setup,
	     "SETUP reserved field is not zero"},
	    {PH_MSG_SETUP_FAILED, 0, offsetof(struct ph_msg_setup_failed, reserved),
	     sizeof(((struct ph_msg_setup_failed *)0)->reserved), p_failed,
	     "SETUP_FAILED reserved field is not zero"},
	    {PH_MSG_SANDBOXED, 0, offsetof(struct ph_msg_sandboxed, reserved),
	     sizeof(((struct ph_msg_sandboxed *)0)->reserved), p_sandboxed,
	     "SANDBOXED reserved field is not zero"},
	    {PH_MSG_EXIT, 0, offsetof(struct ph_msg_exit, reserved),
	     sizeof(((struct ph_msg_exit *)0)->reserved), p_exit,
	     "EXIT reserved field is not zero"},
	};
	struct ph_msg_sandboxed sb = {.layers = PH_LAYER_SECCOMP};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		switch (cases[i].type) {
		case PH_MSG_CALL:
			call_payload(&pl, 1, 0);
			break;
		case PH_MSG_SETUP:
			setup_payload(&pl, PH_RING_MIN_CAPACITY, 0, 4, "x.so", 4);
			break;
		case PH_MSG_SETUP_FAILED:
			failed_payload(&pl, PH_STEP_PROTOCOL, 0, 0, 0);
			break;
		case PH_MSG_SANDBOXED:
			pl.n = 0;
			put(&pl, &sb, sizeof(sb));
			break;
		case PH_MSG_EXIT:
			exit_payload(&pl, CLD_EXITED, 0);
			break;
		}
		load(cases[i].type, pl.b, pl.n, cases[i].nfds);
		expect_good(cases[i].parse);
		for (size_t b = 0; b < cases[i].size; b++) {
			pl.b[cases[i].off + b] = 0x01;
			load(cases[i].type, pl.b, pl.n, cases[i].nfds);
			expect_bad(cases[i].parse, cases[i].why);
			pl.b[cases[i].off + b] = 0x80;
			load(cases[i].type, pl.b, pl.n, cases[i].nfds);
			expect_bad(cases[i].parse, cases[i].why);
			pl.b[cases[i].off + b] = 0;
		}
		load(cases[i].type, pl.b, pl.n, cases[i].nfds);
		expect_good(cases[i].parse);
	}
}

/* ------------------------------------------------------- the call slot */

/* Every rule of ph__slot_done_check(), as it names it. */
#define WHY_D_CALL   "completion for a call that is not in progress"
#define WHY_D_STATUS "completion has an unknown status"
#define WHY_D_TEXT   "completion error text too long"
#define WHY_D_OK     "completion says ok but carries an error"

/* Every rule of ph__slot_req_check(). */
#define WHY_Q_RESERVED "request reserved field is not zero"
#define WHY_Q_METHOD   "request method name empty, too long or has NUL"
#define WHY_Q_INPUTS   "request has too many inputs"
#define WHY_Q_CACHE    "request input names a cache entry out of range"
#define WHY_Q_INLINE   "request inline input out of place"
#define WHY_Q_CACHED   "request cached input names no cache entry"
#define WHY_Q_KIND     "request input of unknown kind"
#define WHY_Q_SIZE     "request input larger than any blob"
#define WHY_Q_FDS      "request fd count differs from its fd inputs"
#define WHY_Q_STREAMS  "request has more stream inputs than input rings"
#define WHY_Q_STREAM   "request stream input has a size or a cache entry"

/* Whether a check answered as expected: why_expected (NULL: accepted,
 * with *why left alone), the same answer with a NULL why. */
static void expect_answer(int r, int r_quiet, const char *why, const char *why_expected,
			  const char *what)
{
	if (!why_expected) {
		if (r != 0 || strcmp(why, "untouched") != 0)
			fail_msg("%s: refused (%d, %s)", what, r, why);
	} else if (r != -EBADMSG || strcmp(why, why_expected) != 0) {
		fail_msg("%s: got %d '%s', wanted '%s'", what, r, why, why_expected);
	}
	assert_int_equal(r_quiet, r);
}

/* Check completion d of the call CALL_ID; the check must not write it. */
static void expect_done(const struct ph_slot_done *d, const char *why_expected, const char *what)
{
	static struct ph_slot_done before;
	const char *why = "untouched";
	int r;

	before = *d;
	r = ph__slot_done_check(d, CALL_ID, &why);
	expect_answer(r, ph__slot_done_check(d, CALL_ID, NULL), why, why_expected, what);
	assert_memory_equal(&before, d, sizeof(before));
}

static void expect_req(const struct ph_slot_req *q, const char *why_expected, const char *what)
{
	static struct ph_slot_req before;
	const char *why = "untouched";
	int r;

	before = *q;
	r = ph__slot_req_check(q, &why);
	expect_answer(r, ph__slot_req_check(q, NULL), why, why_expected, what);
	assert_memory_equal(&before, q, sizeof(before));
}

/*
 * The completion as the host copies it out of the call slot: every row a
 * completion a hostile runner may leave there, and the rule it breaks
 * (NULL: a sound one). Rows that break several rules pin the order the
 * rules are checked in. output_bytes and log_msgs are not the check's:
 * slot.c compares them with what actually arrived.
 */
static void test_slot_done_check(void **state)
{
	static const struct {
		uint64_t call_id;
		uint32_t status;
		int32_t code;
		uint32_t msg_len;
		uint64_t output_bytes;
		uint32_t log_msgs;
		const char *why;
	} cases[] = {
	    {CALL_ID, PH_DONE_OK, 0, 0, 0, 0, NULL},
	    {CALL_ID, PH_DONE_OK, 0, 0, UINT64_MAX, UINT32_MAX, NULL},
	    {CALL_ID, PH_DONE_ERROR, -22, 5, 9, 1, NULL},
	    {CALL_ID, PH_DONE_ERROR, INT32_MIN, 0, 0, 0, NULL},
	    {CALL_ID, PH_DONE_ERROR, INT32_MAX, PH_TEXT_MAX, 0, 0, NULL},
	    {CALL_ID, PH_DONE_NO_METHOD, 0, 40, 0, 0, NULL},
	    {CALL_ID, PH_DONE_BAD_INPUT, 0, PH_TEXT_MAX, 0, 0, NULL},
	    {CALL_ID, PH_DONE_BAD_INPUT, 7, 0, 0, 0, NULL},
	    /* Another call's, or none's. */
	    {CALL_ID + 1, PH_DONE_OK, 0, 0, 0, 0, WHY_D_CALL},
	    {CALL_ID - 1, PH_DONE_OK, 0, 0, 0, 0, WHY_D_CALL},
	    {0, PH_DONE_OK, 0, 0, 0, 0, WHY_D_CALL},
	    {UINT64_MAX, PH_DONE_ERROR, 1, 3, 0, 0, WHY_D_CALL},
	    {CALL_ID ^ (1ull << 63), PH_DONE_OK, 0, 0, 0, 0, WHY_D_CALL},
	    {CALL_ID & 0xffffffffu, PH_DONE_OK, 0, 0, 0, 0, WHY_D_CALL}, /* low half alone */
	    {CALL_ID + 1, 99, 1, UINT32_MAX, 0, 0, WHY_D_CALL},		 /* checked first */
	    /* Statuses past the last one. */
	    {CALL_ID, PH_DONE_BAD_INPUT + 1, 0, 0, 0, 0, WHY_D_STATUS},
	    {CALL_ID, 0x80000000u, 0, 0, 0, 0, WHY_D_STATUS},
	    {CALL_ID, UINT32_MAX, 0, 0, 0, 0, WHY_D_STATUS},
	    {CALL_ID, 99, 0, UINT32_MAX, 0, 0, WHY_D_STATUS}, /* before the text */
	    /* Text longer than the slot holds. */
	    {CALL_ID, PH_DONE_ERROR, 1, PH_TEXT_MAX + 1, 0, 0, WHY_D_TEXT},
	    {CALL_ID, PH_DONE_ERROR, 1, 0x80000000u, 0, 0, WHY_D_TEXT},
	    {CALL_ID, PH_DONE_NO_METHOD, 0, UINT32_MAX, 0, 0, WHY_D_TEXT},
	    {CALL_ID, PH_DONE_OK, 0, PH_TEXT_MAX + 1, 0, 0, WHY_D_TEXT}, /* before ok's rule */
	    /* Ok, but with an error's code or text. */
	    {CALL_ID, PH_DONE_OK, 1, 0, 0, 0, WHY_D_OK},
	    {CALL_ID, PH_DONE_OK, -1, 0, 0, 0, WHY_D_OK},
	    {CALL_ID, PH_DONE_OK, INT32_MIN, 0, 0, 0, WHY_D_OK},
	    {CALL_ID, PH_DONE_OK, 0, 1, 0, 0, WHY_D_OK},
	    {CALL_ID, PH_DONE_OK, 0, PH_TEXT_MAX, 0, 0, WHY_D_OK},
	};
	static const char *const rules[] = {WHY_D_CALL, WHY_D_STATUS, WHY_D_TEXT, WHY_D_OK};
	static struct ph_slot_done d;
	char what[64];
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&d, 0, sizeof(d));
		/* The text is never looked at: NULs and junk alike. */
		for (size_t k = 0; k < sizeof(d.msg); k++)
			d.msg[k] = (char)(k % 3 ? k : 0);
		d.call_id = cases[i].call_id;
		d.status = cases[i].status;
		d.code = cases[i].code;
		d.msg_len = cases[i].msg_len;
		d.output_bytes = cases[i].output_bytes;
		d.log_msgs = cases[i].log_msgs;
		snprintf(what, sizeof(what), "completion row %zu", i);
		expect_done(&d, cases[i].why, what);
	}
	/* Every rule has a row. */
	for (size_t r = 0; r < sizeof(rules) / sizeof(rules[0]); r++) {
		size_t hits = 0;

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			hits += cases[i].why && strcmp(cases[i].why, rules[r]) == 0;
		if (!hits)
			fail_msg("no row breaks '%s'", rules[r]);
	}
}

/* One input of a request, as a row of the table below writes it. */
struct in_spec {
	uint32_t how, cache;
	uint64_t size, offset;
};
#define NC PH_SLOT_NO_CACHE
#define INL(off, sz)                                                                               \
	{                                                                                          \
		PH_IN_INLINE, NC, (sz), (off)                                                      \
	}
#define FDIN(sz, entry)                                                                            \
	{                                                                                          \
		PH_IN_FD, (entry), (sz), 0                                                         \
	}
#define CACHED(entry, sz)                                                                          \
	{                                                                                          \
		PH_IN_CACHED, (entry), (sz), 0                                                     \
	}
#define STREAM                                                                                     \
	{                                                                                          \
		PH_IN_STREAM, NC, 0, 0                                                             \
	}
#define HOW(how, entry, sz)                                                                        \
	{                                                                                          \
		(how), (entry), (sz), 0                                                            \
	}
#define BLOB_MAX PH_BLOB_MAX_BYTES

struct req_case {
	const char *what;
	uint32_t n_inputs, n_fds;
	/* The method: method_len bytes of method; with method NULL,
	 * method_len bytes of 'm' (as far as the slot holds), or "transform"
	 * when method_len is 0 too. */
	const char *method;
	uint32_t method_len;
	uint32_t reserved;
	struct in_spec in[PH_SLOT_INPUTS_MAX];
	const char *why;
};

/* The request row c describes. evict and spin_ns are not the check's (the
 * runner looks at the first PH_SLOT_CACHE_MAX bits of evict only, and a
 * spin is bounded by its own clock): junk in every row. So is every input
 * past n_inputs, which nothing may read. */
static void req_of(const struct req_case *c, struct ph_slot_req *q)
{
	memset(q, 0, sizeof(*q));
	q->call_id = CALL_ID;
	q->n_inputs = c->n_inputs;
	q->n_fds = c->n_fds;
	q->reserved = c->reserved;
	q->evict = UINT32_MAX;
	q->spin_ns = UINT32_MAX;
	memset(q->method, 0, sizeof(q->method));
	if (c->method) {
		memcpy(q->method, c->method, c->method_len);
		q->method_len = c->method_len;
	} else if (c->method_len) {
		memset(q->method, 'm',
		       c->method_len < sizeof(q->method) ? c->method_len : sizeof(q->method));
		q->method_len = c->method_len;
	} else {
		memcpy(q->method, "transform", 9);
		q->method_len = 9;
	}
	for (size_t i = 0; i < PH_SLOT_INPUTS_MAX; i++) {
		struct ph_slot_input *in = &q->in[i];

		if (i < c->n_inputs) {
			in->how = c->in[i].how;
			in->cache = c->in[i].cache;
			in->size = c->in[i].size;
			in->offset = c->in[i].offset;
		} else {
			in->how = 0xdead;
			in->cache = 0xbeef;
			in->size = UINT64_MAX;
			in->offset = UINT64_MAX;
		}
		in->dev = 0x1234;
		in->ino = i;
	}
	memset(q->inline_data, 0, sizeof(q->inline_data));
}

/* A row: what it is, n_inputs, n_fds, the rule it breaks (NULL: none),
 * then its inputs; REQ_M rows vary the method and reserved instead. */
#define REQ(what, n_inputs, n_fds, why, ...)                                                       \
	{                                                                                          \
		(what), (n_inputs), (n_fds), NULL, 0, 0, {__VA_ARGS__}, (why)                      \
	}
#define REQ_M(what, n_inputs, method, method_len, reserved, why)                                   \
	{                                                                                          \
		(what), (n_inputs), 0, (method), (method_len), (reserved), {{0}}, (why)            \
	}

static const struct req_case req_cases[] = {
    /* Sound requests. */
    REQ("no inputs", 0, 0, NULL, {0}),
    REQ("one inline input", 1, 0, NULL, INL(0, 10)),
    REQ("inline inputs at increasing offsets up to the end", 5, 0, NULL, INL(0, 1), INL(1, 100),
	INL(200, 0), INL(200, 1000), INL(1200, PH_SLOT_INLINE_MAX - 1200)),
    REQ("inline inputs with gaps", 3, 0, NULL, INL(16, 4), INL(64, 0), INL(4000, 96)),
    REQ("one inline input filling the area", 1, 0, NULL, INL(0, PH_SLOT_INLINE_MAX)),
    REQ("an empty inline input at the very end", 2, 0, NULL, INL(0, PH_SLOT_INLINE_MAX),
	INL(PH_SLOT_INLINE_MAX, 0)),
    REQ("an input where an empty one ends", 2, 0, NULL, INL(10, 0), INL(10, 5)),
    REQ("fd inputs", 2, 2, NULL, FDIN(100, NC), FDIN(0, NC)),
    REQ("an fd input of the largest blob", 1, 1, NULL, FDIN(BLOB_MAX, NC)),
    REQ("fd inputs kept at the first and last entries", 2, 2, NULL, FDIN(1 << 20, 0),
	FDIN(1 << 20, PH_SLOT_CACHE_MAX - 1)),
    REQ("cached inputs at the first and last entries", 2, 0, NULL, CACHED(0, 1 << 20),
	CACHED(PH_SLOT_CACHE_MAX - 1, BLOB_MAX)),
    REQ("every kind, interleaved", 7, 2, NULL, INL(0, 10), FDIN(1 << 20, 3), CACHED(4, 1 << 16),
	INL(10, 20), STREAM, FDIN(5000, NC), INL(30, 0)),
    REQ("one stream input", 1, 0, NULL, STREAM),
    REQ_M("a one-byte method", 0, "x", 1, 0, NULL),
    REQ_M("a method of PH_NAME_MAX bytes", 0, NULL, PH_NAME_MAX, 0, NULL),
    /* reserved */
    REQ_M("reserved 1", 0, NULL, 0, 1, WHY_Q_RESERVED),
    REQ_M("reserved top bit", 0, NULL, 0, 0x80000000u, WHY_Q_RESERVED),
    REQ_M("reserved, before the method", 0, "", 0, 1, WHY_Q_RESERVED),
    /* method */
    REQ_M("an empty method", 0, "", 0, 0, WHY_Q_METHOD),
    REQ_M("a method one byte too long", 0, NULL, PH_NAME_MAX + 1, 0, WHY_Q_METHOD),
    REQ_M("a method length of UINT32_MAX", 0, NULL, UINT32_MAX, 0, WHY_Q_METHOD),
    REQ_M("a NUL inside the method", 0, "tr\0nsform", 9, 0, WHY_Q_METHOD),
    REQ_M("a method that is one NUL", 0, "\0", 1, 0, WHY_Q_METHOD),
    REQ_M("a NUL last in the method", 0, "abc\0", 4, 0, WHY_Q_METHOD),
    REQ_M("the method, before the inputs", PH_INPUTS_MAX + 1, "", 0, 0, WHY_Q_METHOD),
    /* n_inputs */
    REQ("17 inputs", PH_INPUTS_MAX + 1, 0, WHY_Q_INPUTS, {0}),
    REQ("UINT32_MAX inputs", UINT32_MAX, 0, WHY_Q_INPUTS, {0}),
    /* cache entries */
    REQ("an fd input kept past the last entry", 1, 1, WHY_Q_CACHE, FDIN(10, PH_SLOT_CACHE_MAX)),
    REQ("an fd input kept at entry NO_CACHE - 1", 1, 1, WHY_Q_CACHE, FDIN(10, NC - 1)),
    REQ("a cached input past the last entry", 1, 0, WHY_Q_CACHE, CACHED(PH_SLOT_CACHE_MAX, 10)),
    REQ("an inline input naming an entry out of range", 1, 0, WHY_Q_CACHE,
	HOW(PH_IN_INLINE, PH_SLOT_CACHE_MAX, 1)),
    REQ("an unknown kind naming an entry out of range", 1, 0, WHY_Q_CACHE,
	HOW(99, PH_SLOT_CACHE_MAX, 1)),
    REQ("a bad entry after sound inputs", 3, 1, WHY_Q_CACHE, INL(0, 1), FDIN(1, 0),
	CACHED(1000, 1)),
    /* inline placement */
    REQ("an inline input one byte over the area", 1, 0, WHY_Q_INLINE,
	INL(0, PH_SLOT_INLINE_MAX + 1)),
    REQ("an inline input ending one byte past the area", 1, 0, WHY_Q_INLINE,
	INL(4000, PH_SLOT_INLINE_MAX - 4000 + 1)),
    REQ("an empty inline input past the area", 1, 0, WHY_Q_INLINE, INL(PH_SLOT_INLINE_MAX + 1, 0)),
    REQ("a one-byte inline input at the very end", 1, 0, WHY_Q_INLINE, INL(PH_SLOT_INLINE_MAX, 1)),
    REQ("an inline offset of UINT64_MAX", 1, 0, WHY_Q_INLINE, INL(UINT64_MAX, 0)),
    REQ("an inline size of UINT64_MAX", 1, 0, WHY_Q_INLINE, INL(0, UINT64_MAX)),
    REQ("offset + size wrapping to 0", 1, 0, WHY_Q_INLINE, INL(1, UINT64_MAX)),
    REQ("overlapping inline inputs", 2, 0, WHY_Q_INLINE, INL(0, 10), INL(9, 1)),
    REQ("inline inputs out of order", 2, 0, WHY_Q_INLINE, INL(100, 1), INL(50, 1)),
    REQ("the same inline bytes twice", 2, 0, WHY_Q_INLINE, INL(0, 10), INL(0, 10)),
    REQ("overlap across an fd input", 3, 1, WHY_Q_INLINE, INL(0, 64), FDIN(10, NC), INL(63, 1)),
    REQ("an inline input naming a cache entry", 1, 0, WHY_Q_INLINE, HOW(PH_IN_INLINE, 0, 1)),
    /* cached without an entry */
    REQ("a cached input naming no entry", 1, 0, WHY_Q_CACHED, CACHED(NC, 10)),
    /* unknown kinds */
    REQ("kind 0", 1, 0, WHY_Q_KIND, HOW(0, NC, 1)),
    REQ("kind 5", 1, 0, WHY_Q_KIND, HOW(PH_IN_STREAM + 1, NC, 1)),
    REQ("kind UINT32_MAX", 1, 0, WHY_Q_KIND, HOW(UINT32_MAX, 0, 1)),
    REQ("an unknown kind after sound inputs", 3, 1, WHY_Q_KIND, INL(0, 1), FDIN(1, NC),
	HOW(0x100 | PH_IN_FD, NC, 1)),
    /* streams: one ring, and nothing but the kind */
    REQ("two stream inputs", 2, 0, WHY_Q_STREAMS, STREAM, STREAM),
    REQ("two streams apart", 3, 1, WHY_Q_STREAMS, STREAM, FDIN(1, NC), STREAM),
    REQ("a stream input with a size", 1, 0, WHY_Q_STREAM, HOW(PH_IN_STREAM, NC, 1)),
    REQ("a stream input naming a cache entry", 1, 0, WHY_Q_STREAM, HOW(PH_IN_STREAM, 0, 0)),
    REQ("a stream input of UINT64_MAX bytes", 1, 0, WHY_Q_STREAM,
	HOW(PH_IN_STREAM, NC, UINT64_MAX)),
    /* sizes */
    REQ("an fd input one byte over the largest blob", 1, 1, WHY_Q_SIZE, FDIN(BLOB_MAX + 1, NC)),
    REQ("an fd input of UINT64_MAX bytes", 1, 1, WHY_Q_SIZE, FDIN(UINT64_MAX, 0)),
    REQ("a cached input one byte over the largest blob", 1, 0, WHY_Q_SIZE, CACHED(2, BLOB_MAX + 1)),
    /* n_fds against the fd inputs */
    REQ("two fd inputs, n_fds 1", 2, 1, WHY_Q_FDS, FDIN(1, NC), FDIN(1, NC)),
    REQ("two fd inputs, n_fds 3", 2, 3, WHY_Q_FDS, FDIN(1, NC), FDIN(1, NC)),
    REQ("one fd input, n_fds 0", 1, 0, WHY_Q_FDS, FDIN(1, NC)),
    REQ("no inputs, n_fds 1", 0, 1, WHY_Q_FDS, {0}),
    REQ("inline and cached inputs, n_fds 2", 2, 2, WHY_Q_FDS, INL(0, 1), CACHED(0, 1)),
    REQ("n_fds UINT32_MAX", 1, UINT32_MAX, WHY_Q_FDS, FDIN(1, NC)),
    REQ("an fd input past n_inputs does not count", 1, 2, WHY_Q_FDS, FDIN(1, NC), FDIN(1, NC)),
};

/*
 * The request as the runner copies it out of the call slot, by the table
 * above: sound requests (inline inputs at increasing offsets up to
 * PH_SLOT_INLINE_MAX, fd and cached inputs at every entry), and each rule
 * broken alone, some after sound inputs, some with two rules broken to
 * pin their order. Then the largest requests, made in a loop.
 */
static void test_slot_req_check(void **state)
{
	static const char *const rules[] = {
	    WHY_Q_RESERVED, WHY_Q_METHOD,  WHY_Q_INPUTS, WHY_Q_CACHE, WHY_Q_INLINE, WHY_Q_CACHED,
	    WHY_Q_KIND,	    WHY_Q_STREAMS, WHY_Q_STREAM, WHY_Q_SIZE,  WHY_Q_FDS};
	static struct req_case c;
	static struct ph_slot_req q;
	(void)state;

	for (size_t i = 0; i < sizeof(req_cases) / sizeof(req_cases[0]); i++) {
		req_of(&req_cases[i], &q);
		expect_req(&q, req_cases[i].why, req_cases[i].what);
	}
	for (size_t r = 0; r < sizeof(rules) / sizeof(rules[0]); r++) {
		size_t hits = 0;

		for (size_t i = 0; i < sizeof(req_cases) / sizeof(req_cases[0]); i++)
			hits += req_cases[i].why && strcmp(req_cases[i].why, rules[r]) == 0;
		if (!hits)
			fail_msg("no row breaks '%s'", rules[r]);
	}

	/* PH_SLOT_INPUTS_MAX inline inputs sharing the area exactly, then
	 * the last moved one byte on (past the end) or back (overlapping). */
	memset(&c, 0, sizeof(c));
	c.n_inputs = PH_SLOT_INPUTS_MAX;
	for (uint32_t i = 0; i < PH_SLOT_INPUTS_MAX; i++)
		c.in[i] = (struct in_spec)INL(i * (PH_SLOT_INLINE_MAX / PH_SLOT_INPUTS_MAX),
					      PH_SLOT_INLINE_MAX / PH_SLOT_INPUTS_MAX);
	req_of(&c, &q);
	expect_req(&q, NULL, "16 inline inputs filling the area");
	c.in[PH_SLOT_INPUTS_MAX - 1].offset++;
	req_of(&c, &q);
	expect_req(&q, WHY_Q_INLINE, "the last inline input past the end");
	c.in[PH_SLOT_INPUTS_MAX - 1].offset -= 2;
	req_of(&c, &q);
	expect_req(&q, WHY_Q_INLINE, "the last inline input overlapping");

	/* Every input an fd, each kept at an entry of its own. */
	c.n_fds = PH_SLOT_INPUTS_MAX;
	for (uint32_t i = 0; i < PH_SLOT_INPUTS_MAX; i++)
		c.in[i] = (struct in_spec)FDIN(BLOB_MAX - i, i % PH_SLOT_CACHE_MAX);
	req_of(&c, &q);
	expect_req(&q, NULL, "16 fd inputs");
	c.n_fds--;
	req_of(&c, &q);
	expect_req(&q, WHY_Q_FDS, "16 fd inputs, n_fds 15");

	/* Every input cached. */
	c.n_fds = 0;
	for (uint32_t i = 0; i < PH_SLOT_INPUTS_MAX; i++)
		c.in[i] = (struct in_spec)CACHED(PH_SLOT_CACHE_MAX - 1 - i % PH_SLOT_CACHE_MAX, i);
	req_of(&c, &q);
	expect_req(&q, NULL, "16 cached inputs");
}

/*
 * A deterministic fuzz of both checks: sound slots with a few fields set
 * to interesting values. What either check accepts must hold every
 * promise its contract makes, restated here from the layout; both
 * outcomes must occur often, or the mutations are not reaching the rules.
 */
static int req_sound(const struct ph_slot_req *q)
{
	uint64_t end = 0, fds = 0, streams = 0;

	if (q->reserved || q->method_len < 1 || q->method_len > PH_SLOT_METHOD_MAX ||
	    memchr(q->method, 0, q->method_len) || q->n_inputs > PH_SLOT_INPUTS_MAX)
		return 0;
	for (uint32_t i = 0; i < q->n_inputs; i++) {
		const struct ph_slot_input *in = &q->in[i];

		if (in->size > PH_BLOB_MAX_BYTES)
			return 0;
		switch (in->how) {
		case PH_IN_INLINE:
			/* Within the area, after the inline input before it:
			 * the runner copies [offset, offset + size) alone. */
			if (in->cache != NC || in->offset < end ||
			    in->offset > PH_SLOT_INLINE_MAX ||
			    in->size > PH_SLOT_INLINE_MAX - in->offset)
				return 0;
			end = in->offset + in->size;
			break;
		case PH_IN_FD:
			if (in->cache != NC && in->cache >= PH_SLOT_CACHE_MAX)
				return 0;
			fds++;
			break;
		case PH_IN_CACHED:
			if (in->cache >= PH_SLOT_CACHE_MAX)
				return 0;
			break;
		case PH_IN_STREAM:
			/* The one input ring, and no bytes of its own. */
			if (in->cache != NC || in->size || ++streams > PH_SLOT_STREAMS_MAX)
				return 0;
			break;
		default:
			return 0;
		}
	}
	return fds == q->n_fds;
}

static void test_fuzz_slot_checks(void **state)
{
	static const uint64_t values[] = {
	    0,	       1,	   2,	       3,	   4,	 15,	  16,	    17,
	    127,       128,	   129,	       1023,	   1024, 1025,	  4095,	    4096,
	    4097,      0x7fffffff, 0xfffffffe, 0xffffffff, NC,	 CALL_ID, BLOB_MAX, BLOB_MAX + 1,
	    UINT64_MAX};
	static struct ph_slot_req q;
	static struct ph_slot_done d;
	uint64_t seed = 0x5107C0DE;
	unsigned int q_ok = 0, q_bad = 0, d_ok = 0, d_bad = 0;
	size_t sound[sizeof(req_cases) / sizeof(req_cases[0])], n_sound = 0;
	(void)state;

	for (size_t i = 0; i < sizeof(req_cases) / sizeof(req_cases[0]); i++)
		if (!req_cases[i].why)
			sound[n_sound++] = i;
	assert_true(n_sound > 10);
	for (int i = 0; i < 20000; i++) {
		const struct req_case *base = &req_cases[sound[tu_rng_next(&seed) % n_sound]];
		const int muts = (int)(tu_rng_next(&seed) % 3);
		const char *why = NULL;
		int r;

		req_of(base, &q);
		for (int m = 0; m < muts; m++) {
			const uint64_t v =
			    values[tu_rng_next(&seed) % (sizeof(values) / sizeof(values[0]))];
			struct ph_slot_input *in = &q.in[tu_rng_next(&seed) % 4];

			switch (tu_rng_next(&seed) % 9) {
			case 0:
				q.n_inputs = (uint32_t)v;
				break;
			case 1:
				q.n_fds = (uint32_t)v;
				break;
			case 2:
				q.method_len = (uint32_t)v;
				break;
			case 3:
				q.method[tu_rng_next(&seed) % sizeof(q.method)] = 0;
				break;
			case 4:
				in->how = (uint32_t)(v % (PH_IN_STREAM + 2));
				break;
			case 5:
				in->cache = (uint32_t)v;
				break;
			case 6:
				in->size = v;
				break;
			case 7:
				in->offset = v;
				break;
			default:
				q.reserved = (uint32_t)v;
				break;
			}
		}
		r = ph__slot_req_check(&q, &why);
		if (r == 0) {
			if (!req_sound(&q))
				fail_msg("request check accepted an unsound request (round %d)", i);
			q_ok++;
		} else {
			assert_int_equal(r, -EBADMSG);
			if (req_sound(&q) || strncmp(why, "request ", 8) != 0)
				fail_msg("request check refused a sound request: %s (round %d)",
					 why, i);
			q_bad++;
		}

		memset(&d, 0, sizeof(d));
		d.call_id = CALL_ID;
		d.status = (uint32_t)(tu_rng_next(&seed) % 4);
		if (d.status != PH_DONE_OK) {
			d.code = (int32_t)tu_rng_next(&seed);
			d.msg_len = (uint32_t)(tu_rng_next(&seed) % (PH_TEXT_MAX + 1));
		}
		for (int m = 0; m < muts; m++) {
			const uint64_t v =
			    values[tu_rng_next(&seed) % (sizeof(values) / sizeof(values[0]))];

			switch (tu_rng_next(&seed) % 4) {
			case 0:
				d.call_id = v;
				break;
			case 1:
				d.status = (uint32_t)v;
				break;
			case 2:
				d.code = (int32_t)v;
				break;
			default:
				d.msg_len = (uint32_t)v;
				break;
			}
		}
		r = ph__slot_done_check(&d, CALL_ID, &why);
		if (r == 0) {
			assert_int_equal(d.call_id, CALL_ID);
			assert_true(d.status <= PH_DONE_BAD_INPUT);
			assert_true(d.msg_len <= sizeof(d.msg));
			assert_true(d.status != PH_DONE_OK || (d.code == 0 && d.msg_len == 0));
			d_ok++;
		} else {
			assert_int_equal(r, -EBADMSG);
			assert_true(strncmp(why, "completion ", 11) == 0);
			d_bad++;
		}
	}
	print_message("fuzz request:    %5u accepted, %5u refused\n", q_ok, q_bad);
	print_message("fuzz completion: %5u accepted, %5u refused\n", d_ok, d_bad);
	assert_true(q_ok > 2000 && q_bad > 2000);
	assert_true(d_ok > 2000 && d_bad > 2000);
}

/* ------------------------------------------------------------- fuzz */

enum { F_CALL, F_LOADED, F_SETUP, F_FAILED, F_LOG, F_SANDBOXED, F_EXIT, F_N };

static const struct {
	uint16_t type;
	const char *prefix; /* every reason the parser gives starts so */
} fz[F_N] = {
    [F_CALL] = {PH_MSG_CALL, "CALL "},	  [F_LOADED] = {PH_MSG_LOADED, "LOADED "},
    [F_SETUP] = {PH_MSG_SETUP, "SETUP "}, [F_FAILED] = {PH_MSG_SETUP_FAILED, "SETUP_FAILED "},
    [F_LOG] = {PH_MSG_LOG, "LOG "},	  [F_SANDBOXED] = {PH_MSG_SANDBOXED, "SANDBOXED "},
    [F_EXIT] = {PH_MSG_EXIT, "EXIT "},
};

/* A valid payload of kind k (and its fd count) to mutate. */
static unsigned int fuzz_template(int k, struct bb *b, uint64_t *seed)
{
	unsigned int n = (unsigned int)(tu_rng_next(seed) % 4);

	b->n = 0;
	switch (k) {
	case F_CALL:
		call_payload(b, n + 1, 0);
		return n + 1;
	case F_LOADED:
		loaded_head(b, n, 4, 3);
		puts_(b, "name1.0");
		for (unsigned int i = 0; i < n; i++)
			method(b, 3, "abc", 3);
		return 0;
	case F_SETUP:
		setup_payload(b, PH_RING_MIN_CAPACITY << n, n & 1, 5, "/x.so", 5);
		return 3 + (n & 1); /* ring, plugin, wake pipe, and the program with SECCOMP */
	case F_FAILED:
		failed_payload(b, 1 + n, (int32_t)n, n, n);
		return 0;
	case F_LOG:
		log_payload(b, n, n * 2, n * 2);
		return 0;
	case F_SANDBOXED: {
		struct ph_msg_sandboxed s = {.layers = (n & 1) ? PH_LAYER_NOTIFY : 0};

		put(b, &s, sizeof(s));
		return n & 1;
	}
	default:
		exit_payload(b, CLD_EXITED + (int32_t)(n % 3), (int32_t)n * 80);
		return 0;
	}
}

static const uint32_t interesting[] = {0,    1,	    2,	   3,	       4,	   7,	      8,
				       15,   16,    17,	   63,	       64,	   65,	      127,
				       128,  129,   1023,  1024,       1025,	   4095,      4096,
				       4097, 65535, 65536, 0x7fffffff, 0x80000000, 0xffffffff};

static void mutate(struct bb *b, unsigned int *nfds, uint64_t *seed)
{
	uint64_t x = tu_rng_next(seed);

	switch (x % 7) {
	case 0: /* one random byte */
		if (b->n)
			b->b[tu_rng_next(seed) % b->n] = (uint8_t)tu_rng_next(seed);
		break;
	case 1: { /* an interesting 16- or 32-bit value in the fixed part */
		uint32_t v =
		    interesting[tu_rng_next(seed) % (sizeof(interesting) / sizeof(interesting[0]))];
		size_t off = (tu_rng_next(seed) % 20) * 2;

		if (off + 4 <= b->n && (x & 8))
			memcpy(b->b + off, &v, 4);
		else if (off + 2 <= b->n)
			memcpy(b->b + off, &(uint16_t){(uint16_t)v}, 2);
		break;
	}
	case 2: /* truncate */
		b->n = b->n ? tu_rng_next(seed) % b->n : 0;
		break;
	case 3: /* append */
		for (uint64_t i = tu_rng_next(seed) % 16 + 1; i; i--)
			if (b->n < 4096)
				b->b[b->n++] = (uint8_t)tu_rng_next(seed);
		break;
	case 4: /* a NUL somewhere */
		if (b->n)
			b->b[tu_rng_next(seed) % b->n] = 0;
		break;
	case 5:
		*nfds = (unsigned int)(tu_rng_next(seed) % (PH_MSG_MAX_FDS + 1));
		break;
	default: /* all random */
		b->n = tu_rng_next(seed) % 600;
		for (size_t i = 0; i < b->n; i++)
			b->b[i] = (uint8_t)tu_rng_next(seed);
		break;
	}
}

static int in_payload(struct ph_str s)
{
	const char *lo = (const char *)msg.payload, *hi = lo + msg.hdr.len;

	return s.p >= lo && s.p <= hi && s.len <= (size_t)(hi - s.p) && !memchr(s.p, 0, s.len);
}

/* What must hold of anything a parser accepts. */
static void check_accepted(int k)
{
	static struct ph_loaded_view lv;
	const uint32_t len = msg.hdr.len;
	const char *why = NULL;

	switch (k) {
	case F_CALL: {
		struct ph_msg_call v;

		assert_int_equal(ph__parse_call(&msg, &v, &why), 0);
		assert_true(v.n_fds >= 1 && v.n_fds <= PH_INPUTS_MAX && v.n_fds == msg.nfds);
		assert_int_equal(len, sizeof(v));
		assert_int_equal(v.reserved, 0);
		break;
	}
	case F_LOADED: {
		size_t sum = sizeof(struct ph_msg_loaded);

		assert_int_equal(ph__parse_loaded(&msg, &lv, &why), 0);
		assert_true(lv.name.len >= 1 && lv.name.len <= PH_NAME_MAX && in_payload(lv.name));
		assert_true(lv.version.len <= PH_NAME_MAX && in_payload(lv.version));
		assert_true(lv.n_methods <= PH_METHODS_MAX);
		assert_int_equal(lv.flags & ~PH_LOADED_FLAGS, 0);
		sum += lv.name.len + lv.version.len;
		for (uint32_t i = 0; i < lv.n_methods; i++) {
			assert_true(lv.methods[i].len >= 1 && lv.methods[i].len <= PH_NAME_MAX);
			assert_true(in_payload(lv.methods[i]));
			sum += 2 + lv.methods[i].len;
		}
		assert_int_equal(sum, len);
		break;
	}
	case F_SETUP: {
		struct ph_setup_view v;

		assert_int_equal(ph__parse_setup(&msg, &v, &why), 0);
		assert_true(v.fixed.ring_capacity >= PH_RING_MIN_CAPACITY);
		assert_true(v.fixed.ring_capacity <= PH_RING_MAX_CAPACITY);
		assert_int_equal(v.fixed.ring_capacity & (v.fixed.ring_capacity - 1), 0);
		assert_true(v.path.len >= 1 && v.path.len <= 4096 && in_payload(v.path));
		assert_int_equal(sizeof(struct ph_msg_setup) + v.path.len, len);
		assert_int_equal(msg.nfds, (v.fixed.flags & PH_SETUP_SECCOMP) ? 4 : 3);
		for (size_t i = 0; i < sizeof(v.fixed.reserved) / sizeof(v.fixed.reserved[0]); i++)
			assert_int_equal(v.fixed.reserved[i], 0);
		break;
	}
	case F_FAILED: {
		struct ph_failed_view v;

		assert_int_equal(ph__parse_failed(&msg, &v, &why), 0);
		assert_true(v.fixed.step >= 1 && v.fixed.step <= PH_STEP_MAX);
		assert_true(v.fixed.err >= 0 && v.fixed.err <= 4095);
		assert_true(v.msg.len <= PH_TEXT_MAX);
		assert_int_equal(16 + v.msg.len, len);
		assert_int_equal(v.fixed.reserved, 0);
		break;
	}
	case F_LOG: {
		struct ph_log_view v;

		assert_int_equal(ph__parse_log(&msg, &v, &why), 0);
		assert_true(v.level <= PH_DEBUG);
		assert_true(v.text.len <= PH_TEXT_MAX);
		assert_int_equal(8 + v.text.len, len);
		break;
	}
	case F_SANDBOXED: {
		struct ph_msg_sandboxed v;

		assert_int_equal(ph__parse_sandboxed(&msg, &v, &why), 0);
		assert_int_equal(len, sizeof(v));
		assert_int_equal(msg.nfds, (v.layers & PH_LAYER_NOTIFY) ? 1 : 0);
		assert_int_equal(v.reserved[0] | v.reserved[1], 0);
		break;
	}
	default: {
		struct ph_msg_exit v;

		assert_int_equal(ph__parse_exit(&msg, &v, &why), 0);
		assert_int_equal(len, sizeof(v));
		assert_true(v.how == CLD_EXITED || v.how == CLD_KILLED || v.how == CLD_DUMPED);
		assert_true(v.status >= 0 && v.status <= 255);
		assert_int_equal(v.reserved, 0);
		break;
	}
	}
}

static int (*const parsers[F_N])(const char **) = {
    [F_CALL] = p_call, [F_LOADED] = p_loaded,	    [F_SETUP] = p_setup, [F_FAILED] = p_failed,
    [F_LOG] = p_log,   [F_SANDBOXED] = p_sandboxed, [F_EXIT] = p_exit,
};

/*
 * Deterministic fuzz: valid templates with 0-3 random mutations, and all
 * random payloads, through every parser. Each result is either a clean
 * refusal naming the parser's message type, or a view that satisfies every
 * rule the parser promises. Both outcomes must occur for every parser, or
 * the fuzzer is not reaching the parser's depths.
 */
static void test_fuzz_parsers(void **state)
{
	uint64_t seed = 0xF00DFACE12345678ull;
	static struct bb b;

	for (int k = 0; k < F_N; k++) {
		unsigned int ok = 0, mutated_ok = 0, bad = 0;

		for (int i = 0; i < 4000; i++) {
			unsigned int nfds = fuzz_template(k, &b, &seed);
			int muts = (int)(tu_rng_next(&seed) % 4);
			const char *why = NULL;
			int r;

			for (int m = 0; m < muts; m++)
				mutate(&b, &nfds, &seed);
			load(fz[k].type, b.b, b.n, nfds);
			r = parsers[k](&why);
			if (r == 0) {
				check_accepted(k);
				ok++;
				mutated_ok += muts > 0;
			} else {
				assert_int_equal(r, -EBADMSG);
				assert_non_null(why);
				if (strncmp(why, fz[k].prefix, strlen(fz[k].prefix)) != 0)
					fail_msg("%s parser gave \"%s\"", fz[k].prefix, why);
				bad++;
			}
		}
		print_message("fuzz %-13s %4u accepted (%u mutated), %4u refused\n", fz[k].prefix,
			      ok, mutated_ok, bad);
		assert_true(mutated_ok > 20);
		assert_true(bad > 1000);
	}
}

/* CRASH (init's registers and stack of the fault): the stack length must
 * be whole words, within the cap, and exactly what follows. */
static void test_parse_crash(void **state)
{
	struct ph_msg_crash c = {.signo = SIGSEGV, .tid = 2, .stack_len = 16}, out;
	const uint8_t *stack = NULL;
	const char *why = NULL;
	uint64_t words[2] = {0x1111, 0x2222};

	(void)state;
	memset(&msg, 0, sizeof(msg));
	msg.hdr.type = PH_MSG_CRASH;
	memcpy(msg.payload, &c, sizeof(c));
	memcpy(msg.payload + sizeof(c), words, sizeof(words));
	msg.hdr.len = sizeof(c) + sizeof(words);
	assert_int_equal(ph__parse_crash(&msg, &out, &stack, &why), 0);
	assert_ptr_equal(stack, msg.payload + sizeof(c));
	assert_int_equal(out.stack_len, 16);

	msg.hdr.len = sizeof(c) + 8; /* shorter than it says */
	assert_int_equal(ph__parse_crash(&msg, &out, &stack, &why), -EBADMSG);
	assert_string_equal(why, "CRASH message length differs from its stack length");
	msg.hdr.len = sizeof(c) - 1;
	assert_int_equal(ph__parse_crash(&msg, &out, &stack, &why), -EBADMSG);
	assert_string_equal(why, "CRASH message too short");

	c.stack_len = 12; /* not whole words */
	memcpy(msg.payload, &c, sizeof(c));
	msg.hdr.len = sizeof(c) + 12;
	assert_int_equal(ph__parse_crash(&msg, &out, &stack, &why), -EBADMSG);
	c.stack_len = PH_CRASH_STACK_MAX + 8;
	memcpy(msg.payload, &c, sizeof(c));
	msg.hdr.len = sizeof(c) + c.stack_len;
	assert_int_equal(ph__parse_crash(&msg, &out, &stack, &why), -EBADMSG);
	assert_string_equal(why, "CRASH stack longer than allowed or not in whole words");

	c.stack_len = 0;
	c.reserved = 1;
	memcpy(msg.payload, &c, sizeof(c));
	msg.hdr.len = sizeof(c);
	assert_int_equal(ph__parse_crash(&msg, &out, &stack, &why), -EBADMSG);
	c.reserved = 0;
	c.signo = 0;
	memcpy(msg.payload, &c, sizeof(c));
	assert_int_equal(ph__parse_crash(&msg, &out, &stack, &why), -EBADMSG);
	assert_string_equal(why, "CRASH signal out of range");
	msg.hdr.type = PH_MSG_EXIT;
	assert_int_equal(ph__parse_crash(&msg, &out, &stack, &why), -EBADMSG);
}

/* The same over the wire: header fields, lengths and fd counts mutated,
 * random fds attached. Every message is taken whole or refused whole, and
 * no fd outlives its message. */
static void test_fuzz_wire(void **state)
{
	/* The fds each type may carry, restated from wire.h rather than
	 * read from proto.c's table, on purpose: a table edit that loosens
	 * a bound fails here. The retired types (6, 8, 9) carry none. */
	static const struct {
		uint8_t min, max;
	} allow[PH_MSG_TYPE_MAX + 1] = {
	    [PH_MSG_SETUP] = {3, 4},
	    [PH_MSG_SANDBOXED] = {0, 1},
	    [PH_MSG_LOADED] = {0, 0},
	    [PH_MSG_SETUP_FAILED] = {0, 0},
	    [PH_MSG_CALL] = {1, 16},
	    [6] = {0, 0},
	    [PH_MSG_LOG] = {0, 0},
	    [8] = {0, 0},
	    [9] = {0, 0},
	    [PH_MSG_EXIT] = {0, 0},
	    [PH_MSG_CHILD] = {1, 1},
	    [PH_MSG_USERNS] = {0, 0},
	    [PH_MSG_USERNS_MAPPED] = {0, 0},
	    [PH_MSG_INIT] = {1, 1},
	    [PH_MSG_ZYGOTE_READY] = {0, 0},
	    [PH_MSG_FORK] = {6, 6},
	    [PH_MSG_GRANT] = {1, 2},
	    [PH_MSG_CRASH] = {0, 0},
	    [PH_MSG_MEM] = {1, 1},
	};
	_Static_assert(PH_MSG_TYPE_MAX == PH_MSG_MEM, "a new message type: restate its fds here");
	uint64_t seed = 0xC0FFEE;
	static struct bb b;
	unsigned int ok = 0, bad = 0;
	int sv[2], before;

	pair(sv);
	before = tu_count_fds();
	for (int i = 0; i < 3000; i++) {
		int k = (int)(tu_rng_next(&seed) % F_N);
		unsigned int nfds = fuzz_template(k, &b, &seed), attach;
		struct ph_msg_hdr h = hdr_of(fz[k].type, 0, 0);
		const char *why = NULL;
		uint64_t x = tu_rng_next(&seed);
		int r;

		if (x & 1)
			mutate(&b, &nfds, &seed);
		h.len = (uint32_t)b.n;
		h.nfds = nfds;
		attach = nfds;
		switch ((x >> 1) % 8) {
		case 0:
			h.type = (uint16_t)(tu_rng_next(&seed) % (PH_MSG_TYPE_MAX + 2));
			break;
		case 1:
			h.len += (uint32_t)(tu_rng_next(&seed) % 3) - 1;
			break;
		case 2: /* up to one more than allowed (see test_hdr_too_many_fds) */
			attach = (unsigned int)(tu_rng_next(&seed) % (PH_MSG_MAX_FDS + 2));
			break;
		case 3:
			h.nfds = (uint32_t)(tu_rng_next(&seed) % 20);
			break;
		case 4:
			h.magic ^= 1u << (tu_rng_next(&seed) % 32);
			break;
		default:
			break;
		}
		wire.n = 0;
		put(&wire, &h, sizeof(h));
		put(&wire, b.b, b.n);
		if ((x >> 8) % 16 == 0) /* sometimes cut into the header */
			wire.n = tu_rng_next(&seed) % wire.n;
		if (wire.n == 0)
			wire.n = 1; /* an empty record is another matter */
		raw_send_fds(sv[0], wire.b, wire.n, attach);
		r = ph__msg_recv(sv[1], &msg, MSG_DONTWAIT, &why);
		if (r == 1) {
			assert_int_equal(msg.hdr.magic, PH_WIRE_MAGIC);
			assert_true(msg.hdr.type >= 1 && msg.hdr.type <= PH_MSG_TYPE_MAX);
			assert_int_equal(msg.hdr.len + sizeof(h), wire.n);
			assert_int_equal(msg.nfds, attach);
			assert_int_equal(msg.hdr.nfds, attach);
			assert_true(attach >= allow[msg.hdr.type].min &&
				    attach <= allow[msg.hdr.type].max);
			assert_int_equal(tu_count_fds(), before + (int)attach);
			ph__msg_close_fds(&msg);
			ok++;
		} else {
			assert_int_equal(r, -EBADMSG);
			assert_non_null(why);
			assert_int_equal(msg.nfds, 0);
			bad++;
		}
		assert_int_equal(tu_count_fds(), before);
	}
	close(sv[0]);
	close(sv[1]);
	print_message("fuzz wire: %u accepted, %u refused\n", ok, bad);
	assert_true(ok > 500);
	assert_true(bad > 500);
}

/* ------------------------------------------------ the fd table */

/* A message as ph__msg_recv() leaves it: only the type and the fds
 * matter to ph__msg_check_fds(). */
static struct ph_msg *with_fds(uint16_t type, const int *fds, unsigned int n)
{
	memset(&msg.hdr, 0, sizeof(msg.hdr));
	msg.hdr.type = type;
	msg.hdr.nfds = n;
	for (unsigned int i = 0; i < n; i++)
		msg.fds[i] = fds[i];
	msg.nfds = n;
	return &msg;
}

static void expect_fds(uint16_t type, const int *fds, unsigned int n, enum ph_msg_dir dir,
		       enum ph_msg_phase phase, const char *why_expected)
{
	const char *why = NULL;
	int r = ph__msg_check_fds(with_fds(type, fds, n), dir, phase, &why);

	if (!why_expected) {
		if (r != 0)
			fail_msg("type %u, %u fds, dir %d, phase %d: refused (%s)", type, n, dir,
				 phase, why);
		return;
	}
	if (r != -EBADMSG)
		fail_msg("type %u, %u fds, dir %d, phase %d: accepted, wanted '%s'", type, n, dir,
			 phase, why_expected);
	assert_string_equal(why, why_expected);
}

static int input_memfd(void)
{
	int fd = memfd_sized(100);

	assert_int_equal(fcntl(fd, F_ADD_SEALS, PH_SEALS_INPUT), 0);
	return fd;
}

static int ring_memfd(void)
{
	int fd = memfd_sized(PH_RING_HDR_SIZE + PH_RING_MIN_CAPACITY);

	assert_int_equal(fcntl(fd, F_ADD_SEALS, PH_SEALS_RING), 0);
	return fd;
}

/* The table's answers, row by row: what may travel where. */
static void test_fd_table_kinds(void **state)
{
	(void)state;
	assert_int_equal(ph__msg_fd_kind(PH_DIR_HOST_TO_RUNNER, PH_PHASE_SPAWNING, PH_MSG_SETUP, 0),
			 PH_FD_RING);
	assert_int_equal(ph__msg_fd_kind(PH_DIR_HOST_TO_RUNNER, PH_PHASE_SPAWNING, PH_MSG_SETUP, 1),
			 PH_FD_PLUGIN_FILE);
	assert_int_equal(ph__msg_fd_kind(PH_DIR_HOST_TO_RUNNER, PH_PHASE_SPAWNING, PH_MSG_SETUP, 2),
			 PH_FD_WAKE);
	assert_int_equal(ph__msg_fd_kind(PH_DIR_HOST_TO_RUNNER, PH_PHASE_SPAWNING, PH_MSG_SETUP, 3),
			 PH_FD_SECCOMP_PROG);
	assert_int_equal(ph__msg_fd_kind(PH_DIR_HOST_TO_RUNNER, PH_PHASE_SPAWNING, PH_MSG_SETUP, 4),
			 PH_FD_NONE);
	for (unsigned int i = 0; i < PH_INPUTS_MAX; i++)
		assert_int_equal(
		    ph__msg_fd_kind(PH_DIR_HOST_TO_RUNNER, PH_PHASE_READY, PH_MSG_CALL, i),
		    PH_FD_INPUT);
	assert_int_equal(
	    ph__msg_fd_kind(PH_DIR_HOST_TO_RUNNER, PH_PHASE_READY, PH_MSG_CALL, PH_INPUTS_MAX),
	    PH_FD_NONE);
	assert_int_equal(
	    ph__msg_fd_kind(PH_DIR_RUNNER_TO_HOST, PH_PHASE_SPAWNING, PH_MSG_SANDBOXED, 0),
	    PH_FD_LISTENER);
	assert_int_equal(ph__msg_fd_kind(PH_DIR_INIT_TO_HOST, PH_PHASE_SPAWNING, PH_MSG_CHILD, 0),
			 PH_FD_PIDFD);
	assert_int_equal(ph__msg_fd_kind(PH_DIR_INIT_TO_HOST, PH_PHASE_LOADING, PH_MSG_CHILD, 0),
			 PH_FD_PIDFD);
	assert_int_equal(ph__msg_fd_kind(PH_DIR_INIT_TO_HOST, PH_PHASE_READY, PH_MSG_CHILD, 0),
			 PH_FD_PIDFD);
	assert_int_equal(ph__msg_fd_kind(PH_DIR_INIT_TO_HOST, PH_PHASE_READY, PH_MSG_CHILD, 1),
			 PH_FD_NONE);
	/* The same types the other way or in another phase carry nothing:
	 * the allowance is by direction and phase, not by type alone. */
	assert_int_equal(ph__msg_fd_kind(PH_DIR_RUNNER_TO_HOST, PH_PHASE_READY, PH_MSG_CALL, 0),
			 PH_FD_NONE);
	assert_int_equal(
	    ph__msg_fd_kind(PH_DIR_RUNNER_TO_HOST, PH_PHASE_LOADING, PH_MSG_SANDBOXED, 0),
	    PH_FD_NONE);
	assert_int_equal(ph__msg_fd_kind(PH_DIR_RUNNER_TO_HOST, PH_PHASE_SPAWNING, PH_MSG_SETUP, 0),
			 PH_FD_NONE);
	assert_int_equal(ph__msg_fd_kind(PH_DIR_RUNNER_TO_HOST, PH_PHASE_SPAWNING, PH_MSG_CHILD, 0),
			 PH_FD_NONE);
	assert_int_equal(ph__msg_fd_kind(PH_DIR_INIT_TO_HOST, PH_PHASE_READY, PH_MSG_EXIT, 0),
			 PH_FD_NONE);
	assert_int_equal(ph__msg_fd_kind(PH_DIR_COUNT, PH_PHASE_READY, PH_MSG_CALL, 0), PH_FD_NONE);
	/* The retired types carry nothing, whichever way. */
	for (int dir = 0; dir < PH_DIR_COUNT; dir++)
		for (int phase = 0; phase < PH_PHASE_COUNT; phase++)
			for (uint16_t t = 6; t <= 9; t += (t == 6 ? 2 : 1))
				assert_int_equal(ph__msg_fd_kind((enum ph_msg_dir)dir,
								 (enum ph_msg_phase)phase, t, 0),
						 PH_FD_NONE);
}

/* A CALL may carry sealed inputs from the host, and nothing at all from
 * the runner (a plugin attached 16 fds to one and the host kept them). */
static void test_fd_table_call(void **state)
{
	int in[PH_INPUTS_MAX], before = tu_count_fds();
	int loose = memfd_sized(100);
	(void)state;

	for (unsigned int i = 0; i < PH_INPUTS_MAX; i++)
		in[i] = input_memfd();
	expect_fds(PH_MSG_CALL, in, PH_INPUTS_MAX, PH_DIR_HOST_TO_RUNNER, PH_PHASE_READY, NULL);
	expect_fds(PH_MSG_CALL, in, 1, PH_DIR_HOST_TO_RUNNER, PH_PHASE_READY, NULL);
	/* A request without fd inputs sends no CALL at all. */
	expect_fds(PH_MSG_CALL, in, 0, PH_DIR_HOST_TO_RUNNER, PH_PHASE_READY,
		   "wrong number of fds for this message here");
	expect_fds(PH_MSG_CALL, in, PH_INPUTS_MAX, PH_DIR_RUNNER_TO_HOST, PH_PHASE_READY,
		   "fds attached to a message that may carry none here");
	expect_fds(PH_MSG_CALL, in, 1, PH_DIR_RUNNER_TO_HOST, PH_PHASE_LOADING,
		   "fds attached to a message that may carry none here");
	expect_fds(PH_MSG_CALL, in, 1, PH_DIR_HOST_TO_RUNNER, PH_PHASE_SPAWNING,
		   "fds attached to a message that may carry none here");
	/* Kind, not count: an unsealed memfd, then the ring, as an input. */
	expect_fds(PH_MSG_CALL, &loose, 1, PH_DIR_HOST_TO_RUNNER, PH_PHASE_READY,
		   "fd is not a fully sealed input memfd");
	close(in[3]);
	in[3] = ring_memfd();
	expect_fds(PH_MSG_CALL, in, 4, PH_DIR_HOST_TO_RUNNER, PH_PHASE_READY,
		   "fd is not a fully sealed input memfd");
	/* Checking closes nothing: the caller owns the fds. */
	for (unsigned int i = 0; i < PH_INPUTS_MAX; i++)
		close(in[i]);
	close(loose);
	assert_int_equal(tu_count_fds(), before);
}

/* SETUP: the ring, the plugin file, the wake pipe's write end and, with
 * a seccomp program, the program; in that order and no other. */
static void test_fd_table_setup(void **state)
{
	int fds[5], wrong[4], wake[2], before = tu_count_fds();
	(void)state;

	assert_int_equal(pipe2(wake, O_CLOEXEC), 0);
	fds[0] = ring_memfd();
	fds[1] = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	assert_true(fds[1] >= 0);
	fds[2] = wake[1];
	fds[3] = input_memfd();
	fds[4] = input_memfd();
	expect_fds(PH_MSG_SETUP, fds, 3, PH_DIR_HOST_TO_RUNNER, PH_PHASE_SPAWNING, NULL);
	expect_fds(PH_MSG_SETUP, fds, 4, PH_DIR_HOST_TO_RUNNER, PH_PHASE_SPAWNING, NULL);
	expect_fds(PH_MSG_SETUP, fds, 2, PH_DIR_HOST_TO_RUNNER, PH_PHASE_SPAWNING,
		   "wrong number of fds for this message here");
	expect_fds(PH_MSG_SETUP, fds, 1, PH_DIR_HOST_TO_RUNNER, PH_PHASE_SPAWNING,
		   "wrong number of fds for this message here");
	expect_fds(PH_MSG_SETUP, fds, 5, PH_DIR_HOST_TO_RUNNER, PH_PHASE_SPAWNING,
		   "wrong number of fds for this message here");
	expect_fds(PH_MSG_SETUP, fds, 3, PH_DIR_HOST_TO_RUNNER, PH_PHASE_READY,
		   "fds attached to a message that may carry none here");
	expect_fds(PH_MSG_SETUP, fds, 3, PH_DIR_RUNNER_TO_HOST, PH_PHASE_SPAWNING,
		   "fds attached to a message that may carry none here");
	/* Swapped: the plugin file first, the ring second. */
	wrong[0] = fds[1], wrong[1] = fds[0], wrong[2] = fds[2];
	expect_fds(PH_MSG_SETUP, wrong, 3, PH_DIR_HOST_TO_RUNNER, PH_PHASE_SPAWNING,
		   "fd is not a ring memfd sealed against resizing");
	/* A sealed memfd is a file the runner can read: it passes as the
	 * plugin (the runner checks the ELF itself). */
	wrong[0] = fds[0], wrong[1] = fds[3], wrong[2] = fds[2];
	expect_fds(PH_MSG_SETUP, wrong, 3, PH_DIR_HOST_TO_RUNNER, PH_PHASE_SPAWNING, NULL);
	/* The program where the wake pipe goes (the ABI 1 order), and the
	 * wake pipe where the program goes. */
	wrong[1] = fds[1], wrong[2] = fds[3], wrong[3] = fds[2];
	expect_fds(PH_MSG_SETUP, wrong, 4, PH_DIR_HOST_TO_RUNNER, PH_PHASE_SPAWNING,
		   "fd is not the write end of a pipe");
	wrong[2] = fds[2], wrong[3] = fds[1];
	expect_fds(PH_MSG_SETUP, wrong, 4, PH_DIR_HOST_TO_RUNNER, PH_PHASE_SPAWNING,
		   "fd is not a sealed seccomp program memfd");
	wrong[3] = fds[2];
	expect_fds(PH_MSG_SETUP, wrong, 4, PH_DIR_HOST_TO_RUNNER, PH_PHASE_SPAWNING,
		   "fd is not a sealed seccomp program memfd");
	/* A plugin file the runner could not read. */
	wrong[1] = open("/proc/self/exe", O_PATH | O_CLOEXEC);
	assert_true(wrong[1] >= 0);
	expect_fds(PH_MSG_SETUP, wrong, 3, PH_DIR_HOST_TO_RUNNER, PH_PHASE_SPAWNING,
		   "fd is not a regular file open for reading");
	close(wrong[1]);
	for (int i = 0; i < 5; i++)
		close(fds[i]);
	close(wake[0]);
	assert_int_equal(tu_count_fds(), before);
}

/* Whether fd passes as the wake pipe: SETUP's third fd, the one place a
 * PH_FD_WAKE may travel. */
static void expect_wake(int fd, const char *why_expected, const char *what)
{
	int fds[3] = {ring_memfd(), open("/proc/self/exe", O_RDONLY | O_CLOEXEC), fd};
	const char *why = "untouched";
	int r;

	assert_true(fds[1] >= 0);
	r = ph__msg_check_fds(with_fds(PH_MSG_SETUP, fds, 3), PH_DIR_HOST_TO_RUNNER,
			      PH_PHASE_SPAWNING, &why);
	if (!why_expected && r != 0)
		fail_msg("%s: refused as the wake pipe (%s)", what, why);
	if (why_expected && (r != -EBADMSG || strcmp(why, why_expected) != 0))
		fail_msg("%s: got %d '%s' as the wake pipe", what, r, why);
	close(fds[0]);
	close(fds[1]);
}

/* PH_FD_WAKE: the write end of a pipe, and nothing the runner could read
 * from or that is not a pipe. */
static void test_fd_wake_check(void **state)
{
	static const char wrong[] = "fd is not the write end of a pipe";
	char fifo[] = "/tmp/test-proto-fifo.XXXXXX", file[] = "/tmp/test-proto-file.XXXXXX";
	int p[2], sv[2], fd, before = tu_count_fds();
	(void)state;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	expect_wake(p[1], NULL, "a pipe's write end");
	expect_wake(p[0], wrong, "a pipe's read end");
	/* Its flags are not the point: a non-blocking write end passes. */
	assert_int_equal(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
	expect_wake(p[1], NULL, "a non-blocking pipe write end");
	/* The same pipe opened again through /proc: read-write is refused,
	 * write-only passes, and an O_PATH handle is refused. */
	{
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
		fd = open(path, O_RDWR | O_CLOEXEC);
		assert_true(fd >= 0);
		expect_wake(fd, wrong, "a pipe opened read-write");
		close(fd);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		expect_wake(fd, NULL, "a pipe reopened write-only");
		close(fd);
		fd = open(path, O_PATH | O_CLOEXEC);
		assert_true(fd >= 0);
		expect_wake(fd, wrong, "an O_PATH handle of a pipe");
		close(fd);
	}
	close(p[0]);
	close(p[1]);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	expect_wake(sv[0], wrong, "a stream socket");
	assert_int_equal(shutdown(sv[1], SHUT_RD), 0);
	expect_wake(sv[1], wrong, "a socket shut for reading");
	close(sv[0]);
	close(sv[1]);
	pair(sv);
	expect_wake(sv[0], wrong, "a seqpacket socket");
	close(sv[0]);
	close(sv[1]);

	/* A named FIFO opened write-only is a pipe's write end too. */
	assert_non_null(mkdtemp(fifo));
	{
		char path[sizeof(fifo) + 8];
		int rd;

		snprintf(path, sizeof(path), "%s/fifo", fifo);
		assert_int_equal(mkfifo(path, 0600), 0);
		rd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		assert_true(rd >= 0);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		expect_wake(fd, NULL, "a named FIFO's write end");
		expect_wake(rd, wrong, "a named FIFO's read end");
		close(fd);
		close(rd);
		unlink(path);
		rmdir(fifo);
	}

	/* Regular files, open for writing or not. */
	fd = mkostemp(file, O_CLOEXEC);
	assert_true(fd >= 0);
	expect_wake(fd, wrong, "a regular file open read-write");
	close(fd);
	fd = open(file, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	expect_wake(fd, wrong, "a regular file open write-only");
	close(fd);
	unlink(file);

	/* Memfds, sealed or not. */
	fd = memfd_sized(0);
	expect_wake(fd, wrong, "a memfd");
	close(fd);
	fd = input_memfd();
	expect_wake(fd, wrong, "a sealed input memfd");
	close(fd);
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	expect_wake(fd, wrong, "/dev/null open write-only");
	close(fd);
	assert_int_equal(tu_count_fds(), before);
}

static void test_fd_table_sandboxed(void **state)
{
	int mfd = input_memfd(), none[1] = {-1};
	(void)state;

	expect_fds(PH_MSG_SANDBOXED, none, 0, PH_DIR_RUNNER_TO_HOST, PH_PHASE_SPAWNING, NULL);
	expect_fds(PH_MSG_SANDBOXED, &mfd, 1, PH_DIR_RUNNER_TO_HOST, PH_PHASE_SPAWNING,
		   "fd is not a seccomp listener");
	/* After the announcement, plugin code could have made any fd. */
	expect_fds(PH_MSG_SANDBOXED, &mfd, 1, PH_DIR_RUNNER_TO_HOST, PH_PHASE_LOADING,
		   "fds attached to a message that may carry none here");
	close(mfd);
}

/* CHILD carries exactly one pidfd: a memfd, or two pidfds, are refused. */
static void test_fd_table_child(void **state)
{
	int pfd[2], mfd = input_memfd(), before;
	(void)state;

	pfd[0] = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (pfd[0] < 0)
		skip();
	pfd[1] = (int)syscall(SYS_pidfd_open, getpid(), 0);
	assert_true(pfd[1] >= 0);
	before = tu_count_fds();
	expect_fds(PH_MSG_CHILD, pfd, 1, PH_DIR_INIT_TO_HOST, PH_PHASE_SPAWNING, NULL);
	expect_fds(PH_MSG_CHILD, pfd, 1, PH_DIR_INIT_TO_HOST, PH_PHASE_LOADING, NULL);
	expect_fds(PH_MSG_CHILD, &mfd, 1, PH_DIR_INIT_TO_HOST, PH_PHASE_SPAWNING,
		   "fd is not a pidfd");
	expect_fds(PH_MSG_CHILD, pfd, 2, PH_DIR_INIT_TO_HOST, PH_PHASE_SPAWNING,
		   "wrong number of fds for this message here");
	expect_fds(PH_MSG_CHILD, pfd, 0, PH_DIR_INIT_TO_HOST, PH_PHASE_SPAWNING,
		   "wrong number of fds for this message here");
	/* Only init may name the plugin, and only on its own channel. */
	expect_fds(PH_MSG_CHILD, pfd, 1, PH_DIR_RUNNER_TO_HOST, PH_PHASE_SPAWNING,
		   "fds attached to a message that may carry none here");
	assert_int_equal(tu_count_fds(), before);
	assert_int_equal(ph__fd_is_pidfd(pfd[0], NULL), 0);
	assert_int_equal(ph__fd_is_pidfd(mfd, NULL), -EINVAL);
	close(pfd[0]);
	close(pfd[1]);
	close(mfd);
}

/* ph__msg_validate()'s structural bound comes from the same table. */
static void test_fd_table_bounds(void **state)
{
	struct ph_msg_hdr h = hdr_of(PH_MSG_CHILD, 0, 1);
	const char *why;
	(void)state;

	assert_int_equal(ph__msg_validate(&h, sizeof(h), 1, &why), 0);
	h.nfds = 0;
	assert_int_equal(ph__msg_validate(&h, sizeof(h), 0, &why), -EBADMSG);
	h = hdr_of(PH_MSG_EXIT, 0, 1);
	assert_int_equal(ph__msg_validate(&h, sizeof(h), 1, &why), -EBADMSG);
	/* SETUP's row allows 3 or 4, CALL's 1 to PH_INPUTS_MAX. */
	for (unsigned int n = 0; n <= PH_MSG_MAX_FDS; n++) {
		h = hdr_of(PH_MSG_SETUP, 0, n);
		assert_int_equal(ph__msg_validate(&h, sizeof(h), n, &why),
				 n == 3 || n == 4 ? 0 : -EBADMSG);
		h = hdr_of(PH_MSG_CALL, 0, n);
		assert_int_equal(ph__msg_validate(&h, sizeof(h), n, &why),
				 n >= 1 && n <= PH_INPUTS_MAX ? 0 : -EBADMSG);
	}
}

/* ------------------------------------------------ file grants */

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* The paths a grant may have inside the sandbox: one function decides,
 * for the host's errors and the runner's check of GRANT alike. */
static void test_grant_paths(void **state)
{
	static const char *const good[] = {
	    "/a", "/home/u/data", "/etc/ssl/certs", "/usrx", "/lib64x/y", "/tmp/x.bin", "/pluginx",
	};
	static const char *const bad[] = {
	    "",
	    "a/b",
	    "/",
	    "/a/",
	    "/a//b",
	    "/a/./b",
	    "/a/../b",
	    "/..",
	    "/.",
	    "/usr",
	    "/usr/share/dict",
	    "/lib",
	    "/lib/x86_64-linux-gnu",
	    "/lib64",
	    "/plugin",
	    "/plugin/x.so",
	    "/etc",
	    "/etc/ld.so.cache",
	    "/etc/ld.so.cache/x",
	};
	static const char *const good_lib[] = {"libx.so", "libx.so.1", "..x", ".hidden"};
	static const char *const bad_lib[] = {"", ".", "..", "a/b", "/libx.so"};
	char longp[PH_GRANT_PATH_MAX + 2];

	(void)state;
	for (size_t i = 0; i < N_OF(good); i++)
		if (ph__grant_path_check(good[i], strlen(good[i]), 0))
			fail_msg("'%s' refused: %s", good[i],
				 ph__grant_path_check(good[i], strlen(good[i]), 0));
	for (size_t i = 0; i < N_OF(bad); i++)
		if (!ph__grant_path_check(bad[i], strlen(bad[i]), 0))
			fail_msg("'%s' accepted", bad[i]);
	for (size_t i = 0; i < N_OF(good_lib); i++)
		assert_null(ph__grant_path_check(good_lib[i], strlen(good_lib[i]), 1));
	for (size_t i = 0; i < N_OF(bad_lib); i++)
		assert_non_null(ph__grant_path_check(bad_lib[i], strlen(bad_lib[i]), 1));
	/* A NUL inside, and the length cap. */
	assert_non_null(ph__grant_path_check("/a\0b", 4, 0));
	longp[0] = '/';
	memset(longp + 1, 'a', sizeof(longp) - 2);
	longp[sizeof(longp) - 1] = '\0';
	assert_non_null(ph__grant_path_check(longp, strlen(longp), 0));
	assert_null(ph__grant_path_check(longp, PH_GRANT_PATH_MAX, 0));
}

static void put_grant(uint32_t flags, const char *path, uint64_t reserved)
{
	struct ph_msg_grant g = {
	    .flags = flags, .path_len = (uint32_t)strlen(path), .reserved = reserved};

	memset(&msg.hdr, 0, sizeof(msg.hdr));
	msg.hdr.type = PH_MSG_GRANT;
	memcpy(msg.payload, &g, sizeof(g));
	memcpy(msg.payload + sizeof(g), path, strlen(path));
	msg.hdr.len = (uint32_t)(sizeof(g) + strlen(path));
}

static void test_grant_parse(void **state)
{
	struct ph_grant_view v;
	const char *why = NULL;

	(void)state;
	put_grant(0, "/home/u/data", 0);
	assert_int_equal(ph__parse_grant(&msg, &v, &why), 0);
	assert_int_equal(v.path.len, 12);
	assert_memory_equal(v.path.p, "/home/u/data", 12);
	put_grant(PH_GRANT_LIB, "libx.so", 0);
	assert_int_equal(ph__parse_grant(&msg, &v, &why), 0);
	put_grant(PH_GRANT_LIB, "/home/u/libx.so", 0);
	assert_int_equal(ph__parse_grant(&msg, &v, &why), -EBADMSG);
	assert_string_equal(why, "GRANT path is not one a grant may have");
	put_grant(0, "/usr/lib", 0);
	assert_int_equal(ph__parse_grant(&msg, &v, &why), -EBADMSG);
	put_grant(0x2, "/a", 0);
	assert_int_equal(ph__parse_grant(&msg, &v, &why), -EBADMSG);
	put_grant(0, "/a", 1);
	assert_int_equal(ph__parse_grant(&msg, &v, &why), -EBADMSG);
	/* A path length beyond the message. */
	put_grant(0, "/abc", 0);
	msg.hdr.len -= 1;
	assert_int_equal(ph__parse_grant(&msg, &v, &why), -EBADMSG);
	/* Trailing bytes. */
	put_grant(0, "/abc", 0);
	msg.hdr.len += 1;
	assert_int_equal(ph__parse_grant(&msg, &v, &why), -EBADMSG);
	assert_string_equal(why, "GRANT message has trailing bytes");
}

/* A grant fd is a file or directory closed to writing, checked on the
 * fd: O_PATH and read-only ones pass, writable ones and others do not. */
static void test_grant_fds(void **state)
{
	const char *no = "fd is not a file or directory closed to writing";
	char path[] = "/tmp/ph-grant-fd-XXXXXX";
	int file = mkstemp(path), fds[2], sv[2];
	int ro, opath, dir, rw;

	(void)state;
	assert_true(file >= 0);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	opath = open(path, O_PATH | O_CLOEXEC);
	dir = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
	rw = open(path, O_RDWR | O_CLOEXEC);
	assert_true(ro >= 0 && opath >= 0 && dir >= 0 && rw >= 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);

	fds[0] = dir;
	expect_fds(PH_MSG_GRANT, fds, 1, PH_DIR_HOST_TO_RUNNER, PH_PHASE_SPAWNING, NULL);
	fds[0] = opath;
	fds[1] = dir;
	expect_fds(PH_MSG_GRANT, fds, 2, PH_DIR_HOST_TO_RUNNER, PH_PHASE_SPAWNING, NULL);
	fds[0] = ro;
	expect_fds(PH_MSG_GRANT, fds, 1, PH_DIR_HOST_TO_RUNNER, PH_PHASE_SPAWNING, NULL);
	fds[0] = rw;
	expect_fds(PH_MSG_GRANT, fds, 1, PH_DIR_HOST_TO_RUNNER, PH_PHASE_SPAWNING, no);
	fds[0] = sv[0];
	expect_fds(PH_MSG_GRANT, fds, 1, PH_DIR_HOST_TO_RUNNER, PH_PHASE_SPAWNING, no);
	fds[0] = dir;
	fds[1] = rw;
	expect_fds(PH_MSG_GRANT, fds, 2, PH_DIR_HOST_TO_RUNNER, PH_PHASE_SPAWNING, no);
	/* Only host to runner, only while spawning. */
	fds[0] = dir;
	expect_fds(PH_MSG_GRANT, fds, 1, PH_DIR_HOST_TO_RUNNER, PH_PHASE_READY,
		   "fds attached to a message that may carry none here");
	expect_fds(PH_MSG_GRANT, fds, 1, PH_DIR_RUNNER_TO_HOST, PH_PHASE_SPAWNING,
		   "fds attached to a message that may carry none here");
	msg.nfds = 0;
	unlink(path);
	close(file);
	close(ro);
	close(opath);
	close(dir);
	close(rw);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip_setup),
	    cmocka_unit_test(test_roundtrip_sandboxed),
	    cmocka_unit_test(test_roundtrip_loaded),
	    cmocka_unit_test(test_roundtrip_setup_failed),
	    cmocka_unit_test(test_roundtrip_call),
	    cmocka_unit_test(test_roundtrip_log_exit_and_empty),
	    cmocka_unit_test(test_send_limits),
	    cmocka_unit_test(test_recv_eof_and_eagain),
	    cmocka_unit_test(test_hdr_truncated),
	    cmocka_unit_test(test_hdr_magic_abi_type),
	    cmocka_unit_test(test_hdr_len_mismatch),
	    cmocka_unit_test(test_hdr_nfds_mismatch),
	    cmocka_unit_test(test_hdr_fds_for_type),
	    cmocka_unit_test(test_hdr_too_many_fds),
	    cmocka_unit_test(test_empty_record_is_not_eof),
	    cmocka_unit_test(test_hdr_oversized),
	    cmocka_unit_test(test_validate_direct),
	    cmocka_unit_test(test_parse_call),
	    cmocka_unit_test(test_parse_loaded),
	    cmocka_unit_test(test_parse_setup),
	    cmocka_unit_test(test_parse_failed),
	    cmocka_unit_test(test_parse_log),
	    cmocka_unit_test(test_parse_sandboxed),
	    cmocka_unit_test(test_parse_exit),
	    cmocka_unit_test(test_parse_reserved_nonzero),
	    cmocka_unit_test(test_slot_done_check),
	    cmocka_unit_test(test_slot_req_check),
	    cmocka_unit_test(test_fuzz_slot_checks),
	    cmocka_unit_test(test_fuzz_parsers),
	    cmocka_unit_test(test_parse_crash),
	    cmocka_unit_test(test_fuzz_wire),
	    cmocka_unit_test(test_fd_table_kinds),
	    cmocka_unit_test(test_grant_paths),
	    cmocka_unit_test(test_grant_parse),
	    cmocka_unit_test(test_grant_fds),
	    cmocka_unit_test(test_fd_table_call),
	    cmocka_unit_test(test_fd_table_setup),
	    cmocka_unit_test(test_fd_wake_check),
	    cmocka_unit_test(test_fd_table_sandboxed),
	    cmocka_unit_test(test_fd_table_child),
	    cmocka_unit_test(test_fd_table_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
