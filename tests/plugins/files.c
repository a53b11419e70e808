/* SPDX-License-Identifier: MIT */
/*
 * Test plugin "files": what a plugin can do with read-only file grants.
 *
 *   cat     input 0 names a file: writes its bytes, read with open(O_RDONLY)
 *           and read() after loading (stage 2). An open that fails returns
 *           its errno as the plugin error code.
 *   ls      input 0 names a directory: writes its entries but '.' and
 *           '..', sorted, one per line (opendir: openat, getdents64).
 *   attack  input 0 names the attack, input 1 its path. It writes
 *           "reached NAME\n" (flushed) before the attack, so a test can
 *           tell a stopped attack from one that never ran; if the call
 *           comes back it returns its errno as the error code (1000 when
 *           it succeeded):
 *             open_write   open(path, O_WRONLY)
 *             open_rdwr    open(path, O_RDWR)
 *             create       open(path, O_WRONLY | O_CREAT | O_EXCL)
 *             trunc        open(path, O_RDONLY | O_TRUNC)
 *             open_read    open(path, O_RDONLY) and read a byte: for paths
 *                          that must not lead anywhere (outside the grants,
 *                          through '..' or a symlink)
 *             openat2      openat2(path, O_RDONLY): ENOSYS with grants
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <plughost/plugin.h>

#define PATH_LEN 1024

/* Input i as a NUL-terminated string in buf, or -1. */
static int take_path(const struct ph_input *in, size_t n, size_t i, char *buf)
{
	if (i >= n || in[i].len == 0 || in[i].len >= PATH_LEN)
		return -1;
	memcpy(buf, in[i].data, in[i].len);
	buf[in[i].len] = '\0';
	return 0;
}

static int do_cat(struct ph_call *call, const struct ph_input *in, size_t n)
{
	char path[PATH_LEN], buf[65536];
	ssize_t got;
	int fd, r = 0;

	if (take_path(in, n, 0, path) < 0)
		return ph_error(call, EINVAL, "cat: want one input, a path");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ph_error(call, errno, "cat: cannot open %s", path);
	while ((got = read(fd, buf, sizeof(buf))) > 0) {
		r = ph_write(call, buf, (size_t)got);
		if (r < 0)
			break;
	}
	if (got < 0)
		r = ph_error(call, errno, "cat: cannot read %s", path);
	close(fd);
	return r;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int do_ls(struct ph_call *call, const struct ph_input *in, size_t n)
{
	char path[PATH_LEN], *names[256];
	size_t count = 0;
	struct dirent *e;
	DIR *d;

	if (take_path(in, n, 0, path) < 0)
		return ph_error(call, EINVAL, "ls: want one input, a path");
	d = opendir(path);
	if (!d)
		return ph_error(call, errno, "ls: cannot open %s", path);
	while ((e = readdir(d)) && count < 256)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			names[count++] = strdup(e->d_name);
	closedir(d);
	qsort(names, count, sizeof(names[0]), by_name);
	for (size_t i = 0; i < count; i++) {
		if (names[i])
			ph_printf(call, "%s\n", names[i]);
		free(names[i]);
	}
	return 0;
}

static int do_attack(struct ph_call *call, const struct ph_input *in, size_t n)
{
	char name[64], path[PATH_LEN], byte;
	int fd = -1;

	if (take_path(in, n, 0, name) < 0 || strlen(name) >= sizeof(name) ||
	    take_path(in, n, 1, path) < 0)
		return ph_error(call, EINVAL, "attack: want a name and a path");
	ph_printf(call, "reached %s\n", name);
	ph_flush(call);
	errno = 0;
	if (!strcmp(name, "open_write"))
		fd = open(path, O_WRONLY | O_CLOEXEC);
	else if (!strcmp(name, "open_rdwr"))
		fd = open(path, O_RDWR | O_CLOEXEC);
	else if (!strcmp(name, "create"))
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	else if (!strcmp(name, "trunc"))
		fd = open(path, O_RDONLY | O_TRUNC | O_CLOEXEC);
	else if (!strcmp(name, "open_read")) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && read(fd, &byte, 1) < 0) {
			int e = errno;

			close(fd);
			return ph_error(call, e, "read failed");
		}
	} else if (!strcmp(name, "openat2")) {
		struct open_how how = {.flags = O_RDONLY};

		fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	} else
		return ph_error(call, EINVAL, "unknown attack %s", name);
	if (fd >= 0) {
		close(fd);
		return ph_error(call, 1000, "%s succeeded", name);
	}
	return ph_error(call, errno, "%s failed", name);
}

static const struct ph_method methods[] = {
    {"cat", do_cat},
    {"ls", do_ls},
    {"attack", do_attack},
};

PH_PLUGIN("files", "1.0", methods);
