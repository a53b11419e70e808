/* SPDX-License-Identifier: MIT */
/*
 * ph__seal_check(): every kind of fd a hostile peer could pass off as a
 * sealed memfd is refused with the exact errno and reason, and the two
 * shapes the protocol uses (a fully sealed input, a resize-sealed ring)
 * are accepted. Each refused kind is first shown to really be what the
 * case claims (its file type, filesystem or seals), so a case cannot pass
 * for the wrong reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cmocka.h>

#include "ring-layout.h"
#include "seal.h"
#include "testutil.h"

#define WHY_BADF     "not an open file descriptor"
#define WHY_NOTREG   "not a regular file (a pipe, socket or device?)"
#define WHY_NOTTMPFS "not a memfd (the file is not on tmpfs)"
#define WHY_NOSEALS  "not a memfd (the file does not support seals)"
#define WHY_INPUT    "memfd is not fully sealed (needs WRITE, SHRINK, GROW and SEAL)"
#define WHY_RING     "ring memfd is not sealed against resizing (needs SHRINK, GROW and SEAL)"
#define WHY_EXTRA    "memfd carries seals it must not have (WRITE on a ring?)"
#define WHY_SIZE     "memfd size differs from the size announced"
#define WHY_LARGE    "memfd is larger than allowed"

#define SIZE   4096u
#define SENTRY 0xDEADBEEFCAFEull
#define ALL4   (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

/*
 * Run the check and expect exactly err (0 for success) and, on failure,
 * exactly why_expected, with *ret_size left alone.
 */
static void expect(int fd, enum ph_seal_kind kind, uint64_t expected_size, uint64_t max_size,
		   int err, const char *why_expected)
{
	uint64_t size = SENTRY;
	const char *why = "untouched";
	int r = ph__seal_check(fd, kind, expected_size, max_size, &size, &why);

	if (r != err)
		fail_msg("fd %d kind %d: got %d (%s), want %d (%s)", fd, (int)kind, r,
			 r < 0 ? why : "ok", err, why_expected ? why_expected : "ok");
	if (err < 0) {
		assert_string_equal(why, why_expected);
		assert_int_equal(size, SENTRY);
	} else {
		struct stat st;

		assert_int_equal(fstat(fd, &st), 0);
		assert_int_equal(size, st.st_size);
	}
	/* Optional outputs really are optional. */
	assert_int_equal(ph__seal_check(fd, kind, expected_size, max_size, NULL, NULL), err);
}

static int memfd_of(uint64_t size)
{
	int fd = ph__memfd_create("test-seal");

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

/* A memfd of SIZE bytes carrying exactly seals (plus F_SEAL_EXEC where
 * the kernel set it at creation). */
static int sealed_memfd(int seals)
{
	int fd = memfd_of(SIZE);

	if (seals)
		assert_int_equal(fcntl(fd, F_ADD_SEALS, seals), 0);
	assert_int_equal(fcntl(fd, F_GET_SEALS) & ~F_SEAL_EXEC, seals);
	return fd;
}

static long fs_type(int fd)
{
	struct statfs sfs;

	assert_int_equal(fstatfs(fd, &sfs), 0);
	return (long)sfs.f_type;
}

/* ------------------------------------------------------ not even files */

static void test_bad_fds(void **state)
{
	int fd = memfd_of(SIZE);

	expect(-1, PH_SEAL_KIND_INPUT, SIZE, UINT64_MAX, -EBADF, WHY_BADF);
	expect(-1000, PH_SEAL_KIND_RING, SIZE, UINT64_MAX, -EBADF, WHY_BADF);
	/* A closed fd, checked before anything can reuse the number. */
	assert_int_equal(close(fd), 0);
	expect(fd, PH_SEAL_KIND_INPUT, SIZE, UINT64_MAX, -EBADF, WHY_BADF);
	expect(1 << 30, PH_SEAL_KIND_INPUT, SIZE, UINT64_MAX, -EBADF, WHY_BADF);
}

static void test_pipe_socket_device_dir(void **state)
{
	int p[2], sv[2], fd;
	struct stat st;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	expect(p[0], PH_SEAL_KIND_INPUT, 0, UINT64_MAX, -EINVAL, WHY_NOTREG);
	expect(p[1], PH_SEAL_KIND_RING, 0, UINT64_MAX, -EINVAL, WHY_NOTREG);
	close(p[0]);
	close(p[1]);

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	expect(sv[0], PH_SEAL_KIND_INPUT, 0, UINT64_MAX, -EINVAL, WHY_NOTREG);
	expect(sv[1], PH_SEAL_KIND_RING, 0, UINT64_MAX, -EINVAL, WHY_NOTREG);
	close(sv[0]);
	close(sv[1]);

	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	expect(fd, PH_SEAL_KIND_INPUT, 0, UINT64_MAX, -EINVAL, WHY_NOTREG);
	close(fd);

	fd = open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fs_type(fd), TMPFS_MAGIC); /* on tmpfs, still refused */
	expect(fd, PH_SEAL_KIND_INPUT, UINT64_MAX, UINT64_MAX, -EINVAL, WHY_NOTREG);
	close(fd);
}

/* ---------------------------------------------- regular but not memfds */

/* A file on disk: refused for its filesystem, or for its seals if the
 * directory happens to be on tmpfs. */
static void test_file_on_disk(void **state)
{
	char path[64] = "/var/tmp/test-seal-XXXXXX";
	char buf[SIZE] = {0};
	int fd = mkstemp(path);

	if (fd < 0) {
		snprintf(path, sizeof(path), "test-seal-XXXXXX");
		fd = mkstemp(path);
	}
	assert_true(fd >= 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(write(fd, buf, sizeof(buf)), sizeof(buf));
	if (fs_type(fd) == TMPFS_MAGIC) {
		print_message("note: current directory is on tmpfs\n");
		assert_int_equal(fcntl(fd, F_GET_SEALS), F_SEAL_SEAL);
		expect(fd, PH_SEAL_KIND_INPUT, SIZE, UINT64_MAX, -EINVAL, WHY_INPUT);
	} else {
		expect(fd, PH_SEAL_KIND_INPUT, SIZE, UINT64_MAX, -EINVAL, WHY_NOTTMPFS);
		expect(fd, PH_SEAL_KIND_RING, SIZE, UINT64_MAX, -EINVAL, WHY_NOTTMPFS);
	}
	close(fd);
}

/* A /dev/shm file is a regular tmpfs file whose F_GET_SEALS answers
 * F_SEAL_SEAL: it passes the type and filesystem checks and must fall on
 * the exact seal bits. */
static void test_dev_shm_file(void **state)
{
	char name[64];
	int fd;

	tu_skip_unless(access("/dev/shm", W_OK) == 0, "dev-shm");
	snprintf(name, sizeof(name), "/test-seal-%d", (int)getpid());
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(shm_unlink(name), 0);
	assert_int_equal(ftruncate(fd, SIZE), 0);
	assert_int_equal(fs_type(fd), TMPFS_MAGIC);
	assert_int_equal(fcntl(fd, F_GET_SEALS), F_SEAL_SEAL);
	/* And nobody can add the missing ones. */
	assert_int_equal(fcntl(fd, F_ADD_SEALS, ALL4), -1);
	assert_int_equal(errno, EPERM);
	expect(fd, PH_SEAL_KIND_INPUT, SIZE, UINT64_MAX, -EINVAL, WHY_INPUT);
	expect(fd, PH_SEAL_KIND_RING, SIZE, UINT64_MAX, -EINVAL, WHY_RING);
	close(fd);
}

/* A hugetlbfs memfd takes every seal: only the filesystem check stops it. */
static void test_hugetlb_memfd(void **state)
{
	const uint64_t size = 2u << 20;
	int fd = memfd_create("test-seal-huge", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB);

	if (fd < 0)
		print_message("note: no hugetlb memfds here (%s)\n", strerror(errno));
	tu_skip_unless(fd >= 0, "hugetlb");
	if (ftruncate(fd, (off_t)size) != 0) {
		close(fd); /* no huge pages to back it */
		tu_skip_unless(0, "hugetlb");
	}
	assert_int_equal(fcntl(fd, F_ADD_SEALS, ALL4), 0);
	assert_int_equal(fcntl(fd, F_GET_SEALS), ALL4);
	assert_int_equal(fs_type(fd), HUGETLBFS_MAGIC);
	expect(fd, PH_SEAL_KIND_INPUT, size, UINT64_MAX, -EINVAL, WHY_NOTTMPFS);
	close(fd);
}

/* An O_PATH fd to a perfect input: fstat works, F_GET_SEALS does not. */
static void test_o_path_fd(void **state)
{
	int fd = sealed_memfd(ALL4), opath;
	char path[64];

	expect(fd, PH_SEAL_KIND_INPUT, SIZE, UINT64_MAX, 0, NULL);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	opath = open(path, O_PATH | O_CLOEXEC);
	assert_true(opath >= 0);
	assert_int_equal(fcntl(opath, F_GET_SEALS), -1);
	expect(opath, PH_SEAL_KIND_INPUT, SIZE, UINT64_MAX, -EINVAL, WHY_NOSEALS);
	close(opath);
	close(fd);
}

/* ----------------------------------------------------- memfds: seals */

static void test_unsealed_memfd(void **state)
{
	int fd = sealed_memfd(0);

	expect(fd, PH_SEAL_KIND_INPUT, SIZE, UINT64_MAX, -EINVAL, WHY_INPUT);
	expect(fd, PH_SEAL_KIND_RING, SIZE, UINT64_MAX, -EINVAL, WHY_RING);
	close(fd);

	/* Without MFD_ALLOW_SEALING a memfd reports F_SEAL_SEAL only. */
	fd = memfd_create("test-seal-nosealing", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, SIZE), 0);
	assert_int_equal(fcntl(fd, F_GET_SEALS) & ~F_SEAL_EXEC, F_SEAL_SEAL);
	expect(fd, PH_SEAL_KIND_INPUT, SIZE, UINT64_MAX, -EINVAL, WHY_INPUT);
	expect(fd, PH_SEAL_KIND_RING, SIZE, UINT64_MAX, -EINVAL, WHY_RING);
	close(fd);
}

/* Every subset of WRITE|SHRINK|GROW|SEAL: only the full set is an input. */
static void test_input_seal_subsets(void **state)
{
	const int bits[] = {F_SEAL_WRITE, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_SEAL};
	int accepted = 0;

	for (int m = 0; m < 16; m++) {
		int seals = 0, fd;

		for (int b = 0; b < 4; b++)
			if (m & (1 << b))
				seals |= bits[b];
		fd = sealed_memfd(seals);
		if (seals == ALL4) {
			expect(fd, PH_SEAL_KIND_INPUT, SIZE, UINT64_MAX, 0, NULL);
			accepted++;
		} else {
			expect(fd, PH_SEAL_KIND_INPUT, SIZE, UINT64_MAX, -EINVAL, WHY_INPUT);
		}
		close(fd);
	}
	assert_int_equal(accepted, 1);
}

/* FUTURE_WRITE leaves existing writable mappings writable: it never
 * stands in for WRITE. Next to WRITE it is harmless and allowed. */
static void test_input_future_write(void **state)
{
	const int nowrite = F_SEAL_FUTURE_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
	int fd = sealed_memfd(nowrite);

	expect(fd, PH_SEAL_KIND_INPUT, SIZE, UINT64_MAX, -EINVAL, WHY_INPUT);
	close(fd);

	fd = sealed_memfd(ALL4 | F_SEAL_FUTURE_WRITE);
	expect(fd, PH_SEAL_KIND_INPUT, SIZE, UINT64_MAX, 0, NULL);
	close(fd);
}

/* Every subset of SHRINK|GROW|SEAL for the ring; WRITE or FUTURE_WRITE on
 * top of a complete set is refused. */
static void test_ring_seals(void **state)
{
	const int bits[] = {F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_SEAL};
	int fd;

	for (int m = 0; m < 8; m++) {
		int seals = 0;

		for (int b = 0; b < 3; b++)
			if (m & (1 << b))
				seals |= bits[b];
		fd = sealed_memfd(seals);
		if (seals == PH_SEALS_RING)
			expect(fd, PH_SEAL_KIND_RING, SIZE, UINT64_MAX, 0, NULL);
		else
			expect(fd, PH_SEAL_KIND_RING, SIZE, UINT64_MAX, -EINVAL, WHY_RING);
		close(fd);
	}

	fd = sealed_memfd(PH_SEALS_RING | F_SEAL_WRITE);
	expect(fd, PH_SEAL_KIND_RING, SIZE, UINT64_MAX, -EINVAL, WHY_EXTRA);
	close(fd);
	fd = sealed_memfd(PH_SEALS_RING | F_SEAL_FUTURE_WRITE);
	expect(fd, PH_SEAL_KIND_RING, SIZE, UINT64_MAX, -EINVAL, WHY_EXTRA);
	close(fd);

	/* A fully sealed input is no ring, and a ring is no input. */
	fd = sealed_memfd(ALL4);
	expect(fd, PH_SEAL_KIND_RING, SIZE, UINT64_MAX, -EINVAL, WHY_EXTRA);
	close(fd);
	fd = sealed_memfd(PH_SEALS_RING);
	expect(fd, PH_SEAL_KIND_INPUT, SIZE, UINT64_MAX, -EINVAL, WHY_INPUT);
	close(fd);
}

/* On an executable (0777) memfd, adding F_SEAL_EXEC makes the kernel add
 * the WRITE seals too: such a ring must be refused. */
static void test_ring_exec_seal_on_exec_memfd(void **state)
{
	int fd = memfd_create("test-seal-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int seals;
	struct stat st;

	/* vm.memfd_noexec=2 refuses executable memfds, =1 makes them 0666. */
	tu_skip_unless(fd >= 0, "exec-memfd");
	assert_int_equal(fstat(fd, &st), 0);
	if (!(st.st_mode & 0111)) {
		close(fd);
		tu_skip_unless(0, "exec-memfd");
	}
	assert_int_equal(ftruncate(fd, SIZE), 0);
	expect(fd, PH_SEAL_KIND_RING, SIZE, UINT64_MAX, -EINVAL, WHY_RING);
	if (fcntl(fd, F_ADD_SEALS, PH_SEALS_RING | F_SEAL_EXEC) != 0) {
		close(fd); /* kernel older than F_SEAL_EXEC */
		tu_skip_unless(0, "seal-exec");
	}
	seals = fcntl(fd, F_GET_SEALS);
	assert_true(seals & F_SEAL_WRITE);
	expect(fd, PH_SEAL_KIND_RING, SIZE, UINT64_MAX, -EINVAL, WHY_EXTRA);
	expect(fd, PH_SEAL_KIND_INPUT, SIZE, UINT64_MAX, 0, NULL);
	close(fd);
}

/* ------------------------------------------------------ memfds: size */

static void test_sizes(void **state)
{
	int fd = sealed_memfd(ALL4), ring = sealed_memfd(PH_SEALS_RING), empty;

	expect(fd, PH_SEAL_KIND_INPUT, SIZE - 1, UINT64_MAX, -EFBIG, WHY_SIZE);
	expect(fd, PH_SEAL_KIND_INPUT, SIZE + 1, UINT64_MAX, -EFBIG, WHY_SIZE);
	expect(fd, PH_SEAL_KIND_INPUT, 0, UINT64_MAX, -EFBIG, WHY_SIZE);
	expect(fd, PH_SEAL_KIND_INPUT, UINT64_MAX - 1, UINT64_MAX, -EFBIG, WHY_SIZE);
	expect(ring, PH_SEAL_KIND_RING, SIZE * 2, UINT64_MAX, -EFBIG, WHY_SIZE);
	/* Any size up to max when none is announced. */
	expect(fd, PH_SEAL_KIND_INPUT, UINT64_MAX, SIZE - 1, -EFBIG, WHY_LARGE);
	expect(fd, PH_SEAL_KIND_INPUT, UINT64_MAX, 0, -EFBIG, WHY_LARGE);
	expect(fd, PH_SEAL_KIND_INPUT, UINT64_MAX, SIZE, 0, NULL);
	/* Announced and right, but over the limit: still too large. */
	expect(fd, PH_SEAL_KIND_INPUT, SIZE, SIZE - 1, -EFBIG, WHY_LARGE);
	expect(ring, PH_SEAL_KIND_RING, SIZE, 1024, -EFBIG, WHY_LARGE);
	expect(fd, PH_SEAL_KIND_INPUT, SIZE, SIZE, 0, NULL);
	close(fd);
	close(ring);

	/* An empty input is an input of size 0. */
	empty = memfd_of(0);
	assert_int_equal(fcntl(empty, F_ADD_SEALS, ALL4), 0);
	expect(empty, PH_SEAL_KIND_INPUT, 0, 0, 0, NULL);
	expect(empty, PH_SEAL_KIND_INPUT, 1, UINT64_MAX, -EFBIG, WHY_SIZE);
	close(empty);
}

/* ------------------------------------------------------------ accepted */

static void test_accepts_input(void **state)
{
	int fd = ph__memfd_create("test-seal-input"), flags, seals;
	uint64_t size = 0;
	const char *why = NULL;
	struct stat st;
	void *p;

	assert_true(fd >= 0);
	flags = fcntl(fd, F_GETFD);
	assert_true(flags & FD_CLOEXEC);
	assert_int_equal(ftruncate(fd, SIZE), 0);
	/* Filled through a mapping, unmapped, then sealed: the host's way. */
	p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	memset(p, 'i', SIZE);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, ALL4), -1); /* still mapped */
	assert_int_equal(errno, EBUSY);
	assert_int_equal(munmap(p, SIZE), 0);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, ALL4), 0);

	seals = fcntl(fd, F_GET_SEALS);
	assert_int_equal(fstat(fd, &st), 0);
	if (ph__memfd_noexec_supported()) {
		assert_int_equal(seals, ALL4 | F_SEAL_EXEC);
		assert_int_equal(st.st_mode & 0111, 0);
	} else {
		assert_int_equal(seals, ALL4);
	}
	assert_int_equal(ph__seal_check(fd, PH_SEAL_KIND_INPUT, SIZE, SIZE, &size, &why), 0);
	assert_int_equal(size, SIZE);
	size = 0;
	assert_int_equal(
	    ph__seal_check(fd, PH_SEAL_KIND_INPUT, UINT64_MAX, UINT64_MAX, &size, NULL), 0);
	assert_int_equal(size, SIZE);
	close(fd);

	/* The same without F_SEAL_EXEC (a kernel older than 6.3). */
	fd = memfd_create("test-seal-plain", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd >= 0) {
		assert_int_equal(ftruncate(fd, SIZE), 0);
		assert_int_equal(fcntl(fd, F_ADD_SEALS, ALL4), 0);
		assert_int_equal(fcntl(fd, F_GET_SEALS), ALL4);
		expect(fd, PH_SEAL_KIND_INPUT, SIZE, UINT64_MAX, 0, NULL);
		close(fd);
	}
}

static void test_accepts_ring(void **state)
{
	const uint64_t size = PH_RING_HDR_SIZE + PH_RING_MIN_CAPACITY;
	int fd = memfd_of(size);
	uint64_t got = 0;
	void *p;

	assert_int_equal(fcntl(fd, F_ADD_SEALS, PH_SEALS_RING), 0);
	assert_int_equal(ph__seal_check(fd, PH_SEAL_KIND_RING, size, UINT64_MAX, &got, NULL), 0);
	assert_int_equal(got, size);
	/* And it is still writable through a shared mapping, as a ring must be. */
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	memset(p, 'r', size);
	/* But cannot change size. */
	assert_int_equal(ftruncate(fd, (off_t)size * 2), -1);
	assert_int_equal(ftruncate(fd, (off_t)size / 2), -1);
	assert_int_equal(munmap(p, size), 0);
	close(fd);
}

/* ------------------------------------------------------ the order */

/* Filled by seal.c's seam (compiled in with PH_SEAL_TEST_SEAM). */
static char seam_calls[256];

void ph__seal_test_seam(const char *call);
void ph__seal_test_seam(const char *call)
{
	size_t n = strlen(seam_calls);

	snprintf(seam_calls + n, sizeof(seam_calls) - n, "%s%s", n ? " " : "", call);
}

/*
 * Hole 9: the seals are read before anything else about the fd, so the
 * size the check accepts was read after SHRINK and GROW were in place
 * and cannot predate a resize. Whether it accepts or refuses on the
 * seals, F_GET_SEALS comes first.
 */
static void test_seals_read_first(void **state)
{
	int fd = sealed_memfd(ALL4), ring = sealed_memfd(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	const char *why = NULL;

	seam_calls[0] = '\0';
	assert_int_equal(ph__seal_check(fd, PH_SEAL_KIND_INPUT, SIZE, SIZE, NULL, &why), 0);
	assert_string_equal(seam_calls, "F_GET_SEALS fstatfs fstat");

	seam_calls[0] = '\0';
	assert_int_equal(ph__seal_check(ring, PH_SEAL_KIND_RING, SIZE, SIZE, NULL, &why), 0);
	assert_string_equal(seam_calls, "F_GET_SEALS fstatfs fstat");

	/* Refused on its size: read after the seals all the same. */
	seam_calls[0] = '\0';
	assert_int_equal(ph__seal_check(fd, PH_SEAL_KIND_INPUT, SIZE + 1, SIZE, NULL, &why),
			 -EFBIG);
	assert_string_equal(why, WHY_SIZE);
	assert_string_equal(seam_calls, "F_GET_SEALS fstatfs fstat");
	close(fd);
	close(ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bad_fds),
	    cmocka_unit_test(test_pipe_socket_device_dir),
	    cmocka_unit_test(test_file_on_disk),
	    cmocka_unit_test(test_dev_shm_file),
	    cmocka_unit_test(test_hugetlb_memfd),
	    cmocka_unit_test(test_o_path_fd),
	    cmocka_unit_test(test_unsealed_memfd),
	    cmocka_unit_test(test_input_seal_subsets),
	    cmocka_unit_test(test_input_future_write),
	    cmocka_unit_test(test_ring_seals),
	    cmocka_unit_test(test_ring_exec_seal_on_exec_memfd),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_accepts_input),
	    cmocka_unit_test(test_accepts_ring),
	    cmocka_unit_test(test_seals_read_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
