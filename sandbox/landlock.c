/* SPDX-License-Identifier: MIT */
/*
 * Landlock: read-only access beneath the loader's files, the plugin and
 * the instance's file grants, nothing else on the filesystem, no TCP, and no signals or abstract
 * sockets outside the sandbox, as far as the running kernel's ABI goes.
 *
 * This is the layer that still holds where the mount namespace is missing
 * (no user namespaces): then it alone keeps the plugin's constructors,
 * which run while open() is still allowed, away from the host's files.
 *
 * Debian 12's <linux/landlock.h> knows ABI 1-2 only, so the newer access
 * rights and the ruleset attribute are defined here, sized per ABI.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <linux/landlock.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"
#include "sb-internal.h"

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13) /* ABI 2 */
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP	(1ULL << 0) /* ABI 4 */
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#define LANDLOCK_SCOPE_SIGNAL		    (1ULL << 1)
#endif

/* The ruleset attribute as of ABI 6; older kernels get a prefix of it. */
struct ph_landlock_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net; /* ABI 4 */
	uint64_t scoped;	     /* ABI 6 */
};

/* Filesystem rights each ABI knows, cumulatively. */
#define FS_ABI1                                                                                    \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |                              \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |                              \
	 LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |                          \
	 LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |                              \
	 LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |                              \
	 LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |                            \
	 LANDLOCK_ACCESS_FS_MAKE_SYM)

static uint64_t fs_rights(int abi)
{
	uint64_t r = FS_ABI1;

	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return r;
}

/*
 * What the loader needs: read files, list directories. Not EXECUTE: in
 * Landlock that right governs execve() only (opening with FMODE_EXEC),
 * while mmap(PROT_EXEC) of a library opened for reading is not a Landlock
 * access at all. Leaving it out refuses execve of anything, in depth
 * behind seccomp. Files take only file rights.
 */
#define ALLOW_DIR  (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define ALLOW_FILE (LANDLOCK_ACCESS_FS_READ_FILE)

static const char *const loader_paths[] = {
    "/usr", "/lib", "/lib64", "/lib32", "/libx32", "/etc/ld.so.cache",
};

/* Read-only rights beneath the object fd names (directory rights for a
 * directory, file rights for anything else). */
static int add_fd_rule(int ruleset, int fd)
{
	struct landlock_path_beneath_attr rule = {0};
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	rule.parent_fd = fd;
	rule.allowed_access = S_ISDIR(st.st_mode) ? ALLOW_DIR : ALLOW_FILE;
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) < 0)
		return -errno;
	return 0;
}

static int add_path_rule(int ruleset, const char *path)
{
	_cleanup_close_ int fd = -1;

	/* O_PATH: no read access needed to name the hierarchy. Following
	 * symlinks is right: /lib -> usr/lib grants what it points to. */
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	return add_fd_rule(ruleset, fd);
}

int ph__sb_landlock(const char *plugin_path, const struct ph__sb_grant *grants, size_t n_grants)
{
	struct ph_landlock_ruleset_attr attr = {0};
	_cleanup_close_ int ruleset = -1;
	size_t attr_size;
	long abi;
	int r;

	if (!plugin_path || (n_grants && !grants))
		return -EINVAL;

	abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0)
		return errno == ENOSYS || errno == EOPNOTSUPP ? 0 : -errno;
	if (abi == 0)
		return 0;

	/* Handle every right the kernel knows: a right left unhandled would
	 * be allowed everywhere. */
	attr.handled_access_fs = fs_rights((int)abi);
	attr_size = sizeof(attr.handled_access_fs);
	if (abi >= 4) {
		/* TCP bind and connect handled with no rule: denied outright, in
		 * case the network namespace is missing. */
		attr.handled_access_net =
		    LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP;
		attr_size = offsetof(struct ph_landlock_ruleset_attr, scoped);
	}
	if (abi >= 6) {
		/* No connecting to abstract unix sockets (the host's D-Bus, X11)
		 * and no signals to processes outside this domain. */
		attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
		attr_size = sizeof(attr);
	}

	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
	if (ruleset < 0)
		return -errno;

	for (size_t i = 0; i < ELEMENTSOF(loader_paths); i++) {
		r = add_path_rule(ruleset, loader_paths[i]);
		if (r < 0)
			return r;
	}
	r = add_path_rule(ruleset, plugin_path);
	if (r < 0)
		return r;
	/* Each grant from the host's own fd: Landlock ties a rule to the
	 * inode, so it holds for the grant's mount in our view as well as
	 * for the host's path where there is no view of our own. Libraries
	 * are copied beside the plugin in our view: their copies there get
	 * a rule of their own (a path of our tmpfs, not the host's; absent
	 * without a view, where the rule on the original serves). */
	for (size_t i = 0; i < n_grants; i++) {
		char copy[PATH_MAX];

		r = add_fd_rule(ruleset, grants[i].fd);
		if (r < 0)
			return r;
		/* Only in our own view, where the plugin is /plugin/NAME:
		 * without one, /plugin would be a host path. */
		if (!grants[i].is_lib || strncmp(plugin_path, "/plugin/", 8) != 0)
			continue;
		if (snprintf(copy, sizeof(copy), "/plugin/%s", grants[i].inside) >=
		    (int)sizeof(copy))
			return -ENAMETOOLONG;
		r = add_path_rule(ruleset, copy);
		if (r < 0)
			return r;
	}

	/* Needs no_new_privs (ph__sb_nnp) since the capabilities are gone. */
	if (syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
		return -errno;
	return (int)abi;
}
