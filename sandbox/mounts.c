/* SPDX-License-Identifier: MIT */
/*
 * The plugin's filesystem view: an empty tmpfs root holding read-only
 * binds of what the dynamic loader needs, a copy of the plugin file (and
 * of the libraries it needs from its own directory), and the file grants
 * the host opened for it, mounted read-only from their fds. Nothing else
 * exists in it: no /proc, /dev, /tmp, /home or /etc beyond ld.so.cache.
 * Runs in the runner as root of its own user and mount namespaces, before
 * capabilities are dropped.
 *
 * The approach is bubblewrap's: mount the tmpfs over an existing
 * directory, pivot_root() into it with the old root parked beneath, bind
 * from the parked old root (where the directory we mounted over shows its
 * original content again),
 * then detach the old root for good.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"
#include "sb-internal.h"

#define OLDROOT "/.oldroot"

/* Directories the tmpfs may be mounted over: any will do, since pivot_root
 * moves the tmpfs away from it again. */
static const char *const base_dirs[] = {"/tmp", "/mnt", "/var/tmp"};

/* The loader's directories; merged-/usr systems have /lib* as symlinks. */
static const char *const lib_dirs[] = {"/lib", "/lib64", "/lib32", "/libx32"};

static int join(char *buf, size_t len, const char *a, const char *b)
{
	int n = snprintf(buf, len, "%s%s", a, b);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * Make the mount at dst read-only, nosuid and nodev, with every mount
 * beneath it. mount_setattr(AT_RECURSIVE) (5.12) covers submounts; the
 * older remount covers only the top one, which is all a plain /usr has.
 * Locked flags the mount inherited from a more privileged namespace
 * (noexec, atime) must be kept or the kernel refuses the remount.
 */
static int make_readonly(const char *dst)
{
	struct mount_attr attr = {
	    .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
	};
	struct statvfs sv;
	unsigned long keep = 0;

	if (syscall(SYS_mount_setattr, AT_FDCWD, dst, AT_RECURSIVE, &attr, sizeof(attr)) == 0)
		return 0;
	if (errno != ENOSYS)
		return -errno;

	if (statvfs(dst, &sv) < 0)
		return -errno;
	if (sv.f_flag & ST_NOEXEC)
		keep |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		keep |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		keep |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		keep |= MS_RELATIME;
	if (mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | keep,
		  NULL) < 0)
		return -errno;
	return 0;
}

/* Bind src (a path in the parked old root) read-only onto dst. */
static int bind_readonly(const char *src, const char *dst)
{
	/* MS_REC: a bind without it would expose what lies under submounts
	 * and hide what is mounted on them. */
	if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -errno;
	return make_readonly(dst);
}

/* An empty regular file to bind a file onto. */
static int make_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* Recreate one of /lib* in the new root: the same symlink, or a bind. */
static int add_lib_dir(const char *dir)
{
	char old[PATH_MAX], target[PATH_MAX];
	struct stat st;
	ssize_t n;
	int r;

	r = join(old, sizeof(old), OLDROOT, dir);
	if (r < 0)
		return r;
	if (lstat(old, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISLNK(st.st_mode)) {
		n = readlink(old, target, sizeof(target));
		if (n < 0)
			return -errno;
		if ((size_t)n >= sizeof(target))
			return -ENAMETOOLONG;
		target[n] = '\0';
		return symlink(target, dir) < 0 ? -errno : 0;
	}
	if (!S_ISDIR(st.st_mode))
		return 0;
	if (mkdir(dir, 0755) < 0)
		return -errno;
	return bind_readonly(old, dir);
}

/* Copy size bytes of src_fd (from offset 0) into a new file at path. */
static int copy_in(int src_fd, uint64_t size, const char *path)
{
	off_t off = 0;
	int fd, r = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0555);
	if (fd < 0)
		return -errno;
	while ((uint64_t)off < size) {
		ssize_t n = sendfile(fd, src_fd, &off, (size_t)(size - (uint64_t)off));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO; /* EIO: the file shrank under us */
			break;
		}
	}
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

/*
 * The plugin itself, copied from the fd the host opened into a tmpfs of
 * its own at /plugin: nothing here resolves a host path, so the plugin may
 * live anywhere the host can read (a root host's sandbox runs as nobody,
 * who could not traverse /root), and the file loaded is the very file the
 * host checked. The libraries it needs from its own directory (library
 * grants) are copied beside it the same way, where the loader's $ORIGIN
 * finds them. The tmpfs is sized to them, nosuid and nodev but not
 * noexec (they are mapped executable), and read-only once written.
 */
static int add_plugin(int plugin_fd, uint64_t size, const char *inside,
		      const struct ph__sb_grant *grants, size_t n_grants)
{
	uint64_t total = size + 4096, n_libs = 0;
	char opts[96], path[PATH_MAX];
	int r;

	for (size_t i = 0; i < n_grants; i++) {
		struct stat st;

		if (!grants[i].is_lib)
			continue;
		if (fstat(grants[i].fd, &st) < 0)
			return -errno;
		if (!S_ISREG(st.st_mode))
			return -EINVAL;
		total += (uint64_t)st.st_size + 4096;
		n_libs++;
	}
	if (mkdir("/plugin", 0755) < 0)
		return -errno;
	snprintf(opts, sizeof(opts), "mode=0755,size=%llu,nr_inodes=%llu",
		 (unsigned long long)total, (unsigned long long)(4 + n_libs));
	if (mount("tmpfs", "/plugin", "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return -errno;
	r = copy_in(plugin_fd, size, inside);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_grants; i++) {
		struct stat st;

		if (!grants[i].is_lib)
			continue;
		/* The name was checked to be a plain file name; O_EXCL
		 * refuses one that is the plugin's own or another's. */
		r = join(path, sizeof(path), "/plugin/", grants[i].inside);
		if (r < 0)
			return r;
		if (fstat(grants[i].fd, &st) < 0)
			return -errno;
		r = copy_in(grants[i].fd, (uint64_t)st.st_size, path);
		if (r < 0)
			return r;
	}
	if (mount(NULL, "/plugin", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
		  NULL) < 0)
		return -errno;
	return 0;
}

/* One grant's own child, in the host's mount namespace: see
 * ph__sb_grant_trees(). Shares our fd table (CLONE_FILES), so the clone
 * it makes lands in slot. Exits 0, or with the step that failed. */
enum { TREE_OK, TREE_ENTER, TREE_UNSHARE, TREE_CLONE, TREE_IDENTITY, TREE_SLOT };
static const char *const tree_steps[] = {
    [TREE_ENTER] = "cannot enter its directory (the sandbox's user may not search it)",
    [TREE_UNSHARE] = "cannot unshare a mount namespace",
    [TREE_CLONE] = "cannot clone its mount (open_tree)",
    [TREE_IDENTITY] = "what was cloned is not what the host opened",
    [TREE_SLOT] = "cannot keep the clone",
};

static _Noreturn void tree_child(const struct ph__sb_grant *g, int slot)
{
	struct stat want, got;
	const char *name = ".";
	int t;

	if (fchdir(g->is_dir ? g->fd : g->parent_fd) < 0)
		_exit(TREE_ENTER);
	/* The new namespace's copy of our working directory is the one
	 * mount we may clone: the kernel clones nothing from another
	 * namespace, such as the host's where our fds point. */
	if (unshare(CLONE_NEWNS) < 0)
		_exit(TREE_UNSHARE);
	if (!g->is_dir) {
		/* A file: its own name in its parent, one component. */
		name = strrchr(g->inside, '/');
		name = name ? name + 1 : g->inside;
	}
	t = (int)syscall(SYS_open_tree, AT_FDCWD, name,
			 OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_SYMLINK_NOFOLLOW);
	if (t < 0)
		_exit(TREE_CLONE);
	/* The name could have been replaced since the host opened it. */
	if (fstat(t, &got) < 0 || fstat(g->fd, &want) < 0 || got.st_dev != want.st_dev ||
	    got.st_ino != want.st_ino)
		_exit(TREE_IDENTITY);
	if (dup3(t, slot, O_CLOEXEC) < 0)
		_exit(TREE_SLOT);
	_exit(TREE_OK);
}

int ph__sb_grant_trees(struct ph__sb_grant *g, size_t n, size_t *ret_i, const char **ret_what)
{
	for (size_t i = 0; i < n; i++) {
		int slot, status = 0;
		long pid;

		g[i].tree_fd = -1;
		if (g[i].is_lib)
			continue;
		*ret_i = i;
		if (!g[i].is_dir && g[i].parent_fd < 0) {
			*ret_what = "a file grant came without its directory";
			return -EINVAL;
		}
		/* A placeholder the child overwrites with its clone (dup3),
		 * so that we know the number. */
		slot = fcntl(g[i].fd, F_DUPFD_CLOEXEC, 0);
		if (slot < 0) {
			*ret_what = "out of fds";
			return -errno;
		}
		/* CLONE_VFORK: we wait until it is done; CLONE_FILES: its fd
		 * table is ours; no CLONE_FS: its working directory and mount
		 * namespace are its own. */
		pid = syscall(SYS_clone, (unsigned long)(CLONE_VFORK | CLONE_FILES | SIGCHLD), NULL,
			      NULL, NULL, NULL);
		if (pid == 0)
			tree_child(&g[i], slot);
		if (pid < 0 || waitpid((pid_t)pid, &status, 0) < 0) {
			close(slot);
			*ret_what = "cannot start a child to clone its mount";
			return -errno;
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != TREE_OK) {
			const int st = WIFEXITED(status) ? WEXITSTATUS(status) : -1;

			close(slot);
			*ret_what = st > 0 && st < (int)ELEMENTSOF(tree_steps) ? tree_steps[st]
									       : "its child died";
			/* ENOSYS: a kernel before open_tree (5.2) cannot grant. */
			return st == TREE_CLONE ? -ENOSYS : st == TREE_ENTER ? -EACCES : -EPERM;
		}
		g[i].tree_fd = slot;
	}
	return 0;
}

/*
 * mkdir -p of inside's parents in our own tmpfs root (never through a
 * grant: those are read-only, and the host sends no grant beneath
 * another), then the mount point itself: a directory, or an empty file.
 */
static int make_mount_point(const char *inside, int is_dir)
{
	char path[PATH_MAX];
	size_t len = strlen(inside);
	int r;

	if (len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, inside, len + 1);
	for (char *p = path + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (is_dir)
		return mkdir(path, 0755) < 0 ? -errno : 0;
	r = make_file(path);
	return r;
}

/* A grant's clone, mounted at its path: read-only, nosuid and nodev, with
 * every mount beneath it (make_readonly). */
static int add_grant(const struct ph__sb_grant *g)
{
	int r = make_mount_point(g->inside, g->is_dir);

	if (r < 0)
		return r;
	if (syscall(SYS_move_mount, g->tree_fd, "", AT_FDCWD, g->inside, MOVE_MOUNT_F_EMPTY_PATH) <
	    0)
		return -errno;
	return make_readonly(g->inside);
}

static int build_root(int plugin_fd, uint64_t plugin_size, const char *cache_real,
		      const char *inside, const struct ph__sb_grant *grants, size_t n_grants)
{
	char src[PATH_MAX];
	struct stat st;
	int r;

	/* /usr: libc, the loader's search directories, and on merged-/usr
	 * systems everything /lib* points to. */
	if (stat(OLDROOT "/usr", &st) == 0 && S_ISDIR(st.st_mode)) {
		if (mkdir("/usr", 0755) < 0)
			return -errno;
		r = bind_readonly(OLDROOT "/usr", "/usr");
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ELEMENTSOF(lib_dirs); i++) {
		r = add_lib_dir(lib_dirs[i]);
		if (r < 0)
			return r;
	}

	/* ld.so.cache alone of /etc: the loader finds dependencies through it,
	 * and nothing else in /etc (passwd, hosts, keys) is the plugin's. */
	if (mkdir("/etc", 0755) < 0)
		return -errno;
	if (cache_real) {
		r = join(src, sizeof(src), OLDROOT, cache_real);
		if (r < 0)
			return r;
		r = make_file("/etc/ld.so.cache");
		if (r < 0)
			return r;
		r = bind_readonly(src, "/etc/ld.so.cache");
		if (r < 0)
			return r;
	}

	r = add_plugin(plugin_fd, plugin_size, inside, grants, n_grants);
	if (r < 0)
		return r;
	/* The grants last: nothing of the loader's is ever beneath one. */
	for (size_t i = 0; i < n_grants; i++) {
		if (grants[i].is_lib)
			continue;
		if (grants[i].tree_fd < 0)
			return -EBADF;
		r = add_grant(&grants[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

int ph__sb_mounts(int plugin_fd, const char *plugin_name, const struct ph__sb_grant *grants,
		  size_t n_grants, const char **ret_path)
{
	static char inside[PATH_MAX];
	char want[PATH_MAX], path[PATH_MAX], opts[64];
	_cleanup_free_ char *cache_real = NULL;
	const char *name, *base = NULL;
	struct stat st, plugin_st;
	int r;

	if (plugin_fd < 0 || !plugin_name || !*plugin_name || !ret_path || (n_grants && !grants))
		return -EINVAL;
	name = strrchr(plugin_name, '/');
	name = name ? name + 1 : plugin_name;
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	r = join(want, sizeof(want), "/plugin/", name);
	if (r < 0)
		return r;
	if (fstat(plugin_fd, &plugin_st) < 0)
		return -errno;
	if (!S_ISREG(plugin_st.st_mode))
		return -EINVAL;
	cache_real = realpath("/etc/ld.so.cache", NULL);
	if (!cache_real && errno != ENOENT)
		return -errno;

	/* Before anything else: make every mount private, so that nothing we
	 * mount or unmount from here on propagates back to the host's
	 * namespace (a shared / would carry our tmpfs over to the host). */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;

	for (size_t i = 0; i < ELEMENTSOF(base_dirs) && !base; i++)
		if (stat(base_dirs[i], &st) == 0 && S_ISDIR(st.st_mode))
			base = base_dirs[i];
	if (!base)
		return -ENOENT;

	/* The new root. nosuid, nodev, noexec: it only ever holds directories,
	 * symlinks and the mount points of the binds and grants, which carry
	 * their own flags. Small limits: nothing is ever written to it but
	 * those. */
	/* Each grant may need a directory per component of its path. */
	snprintf(opts, sizeof(opts), "mode=0755,size=64k,nr_inodes=%zu", 64 + n_grants * 64);
	if (mount("tmpfs", base, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
		return -errno;
	r = join(path, sizeof(path), base, OLDROOT);
	if (r < 0)
		return r;
	if (mkdir(path, 0700) < 0)
		return -errno;
	if (syscall(SYS_pivot_root, base, path) < 0)
		return -errno;
	/* Our cwd may still point into the old root; nothing may. */
	if (chdir("/") < 0)
		return -errno;

	r = build_root(plugin_fd, (uint64_t)plugin_st.st_size, cache_real, want, grants, n_grants);
	if (r < 0)
		return r;

	/* Detach the whole old root: afterwards no path leads back to the
	 * host's filesystem. MNT_DETACH is needed since mounts under it are
	 * busy (or locked, from a more privileged namespace) and can only
	 * leave together with their parent. */
	if (umount2(OLDROOT, MNT_DETACH) < 0)
		return -errno;
	if (rmdir(OLDROOT) < 0)
		return -errno;

	/* Finally the root itself becomes read-only: the plugin cannot create
	 * files, sockets or fifos anywhere. */
	if (mount(NULL, "/", NULL,
		  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return -errno;

	memcpy(inside, want, sizeof(inside));
	*ret_path = inside;
	return 0;
}
