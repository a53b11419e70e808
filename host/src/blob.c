/* SPDX-License-Identifier: MIT */
/*
 * Input blobs: memfds filled by the host, then sealed WRITE|SHRINK|GROW|SEAL
 * so the plugin maps them read-only and nobody, host included, can change
 * or resize them while a plugin reads (a shrink would SIGBUS the reader).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "procstat.h"
#include "seal.h"

/*
 * Writable shared mappings never reach a child of the application's own
 * fork(): while a child held a copy, F_SEAL_WRITE on that memfd would fail
 * with EBUSY, and the child would hold memory it has no business with.
 * MADV_DONTFORK does it (mremap keeps the flag), and a fork() between the
 * mmap and the madvise is held off by the lock its atfork handler takes.
 * (Our own spawns copy nothing at all: see spawn.c.)
 */
static pthread_rwlock_t fork_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_once_t fork_lock_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void)
{
	pthread_rwlock_wrlock(&fork_lock);
}

static void fork_parent(void)
{
	pthread_rwlock_unlock(&fork_lock);
}

/* The child has a new tid, which the lock does not know as its writer:
 * start it afresh (the child has one thread, this one). */
static void fork_child(void)
{
	pthread_rwlock_init(&fork_lock, NULL);
}

static void fork_lock_register(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

void *ph__mmap_shared_nofork(int fd, size_t len)
{
	void *m;
	int e = 0;

	pthread_once(&fork_lock_once, fork_lock_register);
	pthread_rwlock_rdlock(&fork_lock);
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		e = errno;
	else if (madvise(m, len, MADV_DONTFORK) < 0) {
		e = errno;
		munmap(m, len);
	}
	pthread_rwlock_unlock(&fork_lock);
	if (e) {
		errno = e;
		return NULL;
	}
	return m;
}

static int blob_alloc(size_t size, struct ph_blob **ret)
{
	struct ph_blob *b;
	int fd;

	if ((uint64_t)size > PH_BLOB_MAX_BYTES)
		return -EFBIG;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	fd = ph__memfd_create("plughost-input");
	if (fd < 0) {
		free(b);
		return fd;
	}
	b->fd = fd;
	if (size > 0) {
		if (ftruncate(fd, (off_t)size) < 0)
			goto fail;
		b->map = ph__mmap_shared_nofork(fd, size);
		if (!b->map)
			goto fail;
	}
	b->size = size;
	*ret = b;
	return 0;
fail:;
	int r = -errno;
	close(fd);
	free(b);
	return r;
}

PH_EXPORT int ph_blob_new(size_t size, struct ph_blob **ret_blob)
{
	if (!ret_blob)
		return -EINVAL;
	return blob_alloc(size, ret_blob);
}

PH_EXPORT void *ph_blob_data(struct ph_blob *blob)
{
	return blob && !blob->sealed ? blob->map : NULL;
}

PH_EXPORT int ph_blob_seal(struct ph_blob *blob)
{
	const char *why;
	struct stat st;

	if (!blob || blob->stream)
		return -EINVAL;
	if (blob->sealed)
		return -EALREADY;
	/* A small input travels inline in the call slot: keep a private
	 * copy of its bytes, so that a call copies them with no syscall. */
	if (blob->size <= PH_BLOB_INLINE_MAX && blob->size > 0) {
		blob->bytes = malloc(blob->size);
		if (!blob->bytes)
			return -ENOMEM;
		if (blob->map)
			memcpy(blob->bytes, blob->map, blob->size);
		else if (pread(blob->fd, blob->bytes, blob->size, 0) != (ssize_t)blob->size) {
			free(blob->bytes);
			blob->bytes = NULL;
			return -EIO;
		}
	}
	/* F_SEAL_WRITE fails with EBUSY while a writable shared mapping
	 * exists, so ours goes first. */
	if (blob->map) {
		munmap(blob->map, blob->size);
		blob->map = NULL;
	}
	if (fcntl(blob->fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) <
	    0)
		return -errno;
	/* Check what we made exactly as the plugin will. */
	if (ph__seal_check(blob->fd, PH_SEAL_KIND_INPUT, blob->size, PH_BLOB_MAX_BYTES, NULL,
			   &why) < 0)
		return -EINVAL;
	/* Its identity, by which a runner that keeps it mapped finds it. */
	if (fstat(blob->fd, &st) < 0)
		return -errno;
	blob->dev = (uint64_t)st.st_dev;
	blob->ino = (uint64_t)st.st_ino;
	blob->sealed = 1;
	return 0;
}

PH_EXPORT int ph_blob_new_from_bytes(const void *data, size_t len, struct ph_blob **ret_blob)
{
	struct ph_blob *b;
	int r;

	if (!ret_blob || (!data && len))
		return -EINVAL;
	/* Small: it travels inline in the call slot, so it needs no memfd
	 * at all, only its bytes (a call that has no inline room left for it
	 * makes a memfd for itself, ph__blob_memfd()). */
	if (len <= PH_BLOB_INLINE_MAX) {
		b = calloc(1, sizeof(*b));
		if (!b || (len && !(b->bytes = malloc(len)))) {
			free(b);
			return -ENOMEM;
		}
		if (len)
			memcpy(b->bytes, data, len);
		b->fd = -1;
		b->size = len;
		b->sealed = 1;
		*ret_blob = b;
		return 0;
	}
	r = blob_alloc(len, &b);
	if (r < 0)
		return r;
	if (len)
		memcpy(b->map, data, len);
	r = ph_blob_seal(b);
	if (r < 0) {
		ph_blob_free(b);
		return r;
	}
	*ret_blob = b;
	return 0;
}

/* read() that retries on EINTR; returns bytes, 0 at EOF, or -errno. */
static ssize_t read_some(int fd, void *buf, size_t len)
{
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* Grow b's memfd and mapping from *cap to at least need bytes, and to no
 * more than max. */
static int blob_grow(struct ph_blob *b, size_t *cap, size_t need, uint64_t max)
{
	size_t ncap = *cap * 2 > need ? *cap * 2 : need + 64 * 1024;
	void *m;

	if ((uint64_t)ncap > max)
		ncap = (size_t)max;
	if ((uint64_t)need > max || (uint64_t)ncap > PH_BLOB_MAX_BYTES)
		return -EFBIG;
	if (ftruncate(b->fd, (off_t)ncap) < 0)
		return -errno;
	m = mremap(b->map, *cap, ncap, MREMAP_MAYMOVE);
	if (m == MAP_FAILED)
		return -errno;
	b->map = m;
	*cap = b->size = ncap;
	return 0;
}

PH_EXPORT uint64_t ph_blob_default_max(void)
{
	const uint64_t avail = ph__mem_available();

	/* Unknown (no /proc, sysinfo failed): only the blob size limit. */
	return avail ? avail / 2 : PH_BLOB_MAX_BYTES;
}

/* Seal b, holding exactly its size, and hand it out; on failure free it. */
static int seal_and_hand_out(struct ph_blob *b, struct ph_blob **ret_blob)
{
	int r = ph_blob_seal(b);

	if (r < 0) {
		ph_blob_free(b);
		return r;
	}
	*ret_blob = b;
	return 0;
}

/*
 * A regular file of known size: copied into the memfd by the kernel
 * (sendfile: page cache to tmpfs), with no mapping of ours to fault in
 * page by page, and so none to take down before sealing. A file that grows
 * meanwhile is read to EOF all the same, up to max. -ENOSYS when the kernel
 * cannot sendfile from fd (the caller reads it instead), before anything
 * was consumed.
 */
static int blob_from_regular(int fd, uint64_t size, uint64_t max, struct ph_blob **ret_blob)
{
	struct ph_blob *b = calloc(1, sizeof(*b));
	uint64_t used = 0;
	off_t off;
	int r;

	if (!b)
		return -ENOMEM;
	b->fd = ph__memfd_create("plughost-input");
	if (b->fd < 0) {
		r = b->fd;
		free(b);
		return r;
	}
	/* sendfile() reads from the file position like read() would. */
	off = lseek(fd, 0, SEEK_CUR);
	for (;;) {
		const uint64_t want = used < size ? size - used : 1u << 20;
		ssize_t n = sendfile(b->fd, fd, NULL, want > (1u << 30) ? (1u << 30) : want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && used == 0 && (errno == EINVAL || errno == ENOSYS)) {
			/* Not for this file: leave it where it was. */
			if (off >= 0)
				lseek(fd, off, SEEK_SET);
			r = -ENOSYS;
			goto fail;
		}
		if (n < 0) {
			r = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		used += (uint64_t)n;
		if (used > max) {
			r = -EFBIG;
			goto fail;
		}
	}
	b->size = used;
	return seal_and_hand_out(b, ret_blob);
fail:
	ph_blob_free(b);
	return r;
}

/* Read fd to EOF straight into the memfd, growing it as needed: one copy,
 * and it works for pipes whose size is unknown. An endless input
 * (/dev/zero, a pipe that never closes) stops at max with -EFBIG instead
 * of filling the machine's memory with unswappable tmpfs pages. */
PH_EXPORT int ph_blob_new_from_fd_max(int fd, uint64_t max, struct ph_blob **ret_blob)
{
	struct ph_blob *b;
	struct stat st;
	size_t cap, used = 0;
	int r;

	if (fd < 0 || !ret_blob)
		return -EINVAL;
	if (max == 0)
		max = ph_blob_default_max();
	if (max > PH_BLOB_MAX_BYTES)
		max = PH_BLOB_MAX_BYTES;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max)
		return -EFBIG;
	if (S_ISREG(st.st_mode) && st.st_size > (off_t)PH_BLOB_INLINE_MAX) {
		r = blob_from_regular(fd, (uint64_t)st.st_size, max, ret_blob);
		if (r != -ENOSYS)
			return r;
	}
	cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size : 64 * 1024;
	if ((uint64_t)cap > max)
		cap = (size_t)max;
	r = blob_alloc(cap, &b);
	if (r < 0)
		return r;
	for (;;) {
		char probe[4096];
		/* Full: look for EOF in a small buffer before growing, so a
		 * regular file whose size we guessed right is never doubled. */
		const int full = used == cap;
		ssize_t n = read_some(fd, full ? probe : (char *)b->map + used,
				      full ? sizeof(probe) : cap - used);

		if (n < 0) {
			r = (int)n;
			goto fail;
		}
		if (n == 0)
			break;
		if (full) {
			r = blob_grow(b, &cap, used + (size_t)n, max);
			if (r < 0)
				goto fail;
			memcpy((char *)b->map + used, probe, (size_t)n);
		}
		used += (size_t)n;
	}
	/* Shrink to what was read before sealing fixes the size for good. */
	if (used != cap) {
		munmap(b->map, cap);
		b->map = NULL;
		if (ftruncate(b->fd, (off_t)used) < 0) {
			r = -errno;
			goto fail;
		}
	}
	b->size = used;
	return seal_and_hand_out(b, ret_blob);
fail:
	ph_blob_free(b);
	return r;
}

PH_EXPORT int ph_blob_new_from_fd(int fd, struct ph_blob **ret_blob)
{
	return ph_blob_new_from_fd_max(fd, 0, ret_blob);
}

PH_EXPORT int ph_blob_new_from_file_max(const char *path, uint64_t max, struct ph_blob **ret_blob)
{
	int fd, r;

	if (!path || !ret_blob)
		return -EINVAL;
	if (strcmp(path, "-") == 0)
		return ph_blob_new_from_fd_max(STDIN_FILENO, max, ret_blob);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	r = ph_blob_new_from_fd_max(fd, max, ret_blob);
	close(fd);
	return r;
}

PH_EXPORT int ph_blob_new_from_file(const char *path, struct ph_blob **ret_blob)
{
	return ph_blob_new_from_file_max(path, 0, ret_blob);
}

PH_EXPORT size_t ph_blob_size(const struct ph_blob *blob)
{
	return blob ? blob->size : 0;
}

PH_EXPORT int ph_blob_sealed(const struct ph_blob *blob)
{
	return blob ? blob->sealed : 0;
}

int ph__blob_memfd(const struct ph_blob *b)
{
	_cleanup_close_ int fd = ph__memfd_create("plughost-input");

	if (fd < 0)
		return fd;
	/* Written through the fd: no writable mapping exists, so F_SEAL_WRITE
	 * cannot fail with EBUSY. */
	if (b->size && write(fd, b->bytes, b->size) != (ssize_t)b->size)
		return -EIO;
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return -errno;
	return TAKE_FD(fd);
}

PH_EXPORT void ph_blob_free(struct ph_blob *blob)
{
	if (!blob)
		return;
	ph__stream_blob_free(blob);
	if (blob->map)
		munmap(blob->map, blob->size);
	safe_close(blob->fd);
	free(blob->bytes);
	free(blob);
}
