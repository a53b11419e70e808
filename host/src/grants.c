/* SPDX-License-Identifier: MIT */
/*
 * Read-only file grants, the host's half: what the sandbox of one start
 * gets to see besides the loader's files, opened here and handed to the
 * runner as fds (PH_MSG_GRANT), which mounts them from the fds and never
 * resolves a host path (docs/security.md, "File grants").
 *
 *  - ph_plugin_config.allow_read: each path opened O_PATH, a file or a
 *    directory, shown at its real path;
 *  - the libraries the plugin needs from its own directory, found through
 *    its ELF DT_NEEDED entries (elf.c) where its DT_RUNPATH or DT_RPATH
 *    says $ORIGIN, and theirs in turn: opened for reading and copied
 *    beside the plugin into /plugin. A library in the system's library
 *    directories is in every sandbox already. The plugin's ELF is hostile
 *    input: names with '/' and search paths other than $ORIGIN are
 *    refused, the count is capped, and a library must be an ELF shared
 *    object in the plugin's own directory, symlinks resolved.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* Where the loader looks when no search path of the object's own names
 * the library, as far as the sandbox can see (it binds /usr and /lib*):
 * Debian's multiarch directories, the classic ones, and /usr/local; and
 * the directories /etc/ld.so.conf adds beneath /usr and /lib*. */
static const char *const system_dirs[] = {
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
    "/usr/local/lib/x86_64-linux-gnu",
    "/usr/local/lib",
};

void ph__allow_read_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

int ph__allow_read_dup(const char *const *src, size_t n, char ***ret)
{
	char **v;

	*ret = NULL;
	if (n == 0)
		return 0;
	v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		v[i] = strdup(src[i]);
		if (!v[i]) {
			ph__allow_read_free(v, n);
			return -ENOMEM;
		}
	}
	*ret = v;
	return 0;
}

void ph__grants_close(struct ph__grants *g)
{
	for (size_t i = 0; i < g->n; i++) {
		g->v[i].fd = safe_close(g->v[i].fd);
		g->v[i].parent_fd = safe_close(g->v[i].parent_fd);
	}
}

void ph__grants_free(struct ph__grants *g)
{
	ph__grants_close(g);
	for (size_t i = 0; i < g->n; i++) {
		free(g->v[i].host_path);
		free(g->v[i].inside);
	}
	free(g->v);
	g->v = NULL;
	g->n = 0;
}

int ph__grants_have_user(const struct ph__grants *g)
{
	for (size_t i = 0; i < g->n; i++)
		if (!g->v[i].is_lib)
			return 1;
	return 0;
}

int ph__grants_same(const struct ph__grants *a, const struct ph__grants *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct ph__grant *x = &a->v[i], *y = &b->v[i];

		if (x->is_lib != y->is_lib || x->is_dir != y->is_dir || x->dev != y->dev ||
		    x->ino != y->ino || strcmp(x->inside, y->inside) != 0)
			return 0;
		/* A library is copied: a changed one needs a new zygote. A
		 * mounted grant shows its current content anyway. */
		if (x->is_lib &&
		    (x->mtime.tv_sec != y->mtime.tv_sec || x->mtime.tv_nsec != y->mtime.tv_nsec))
			return 0;
	}
	return 1;
}

/* Append a grant that owns host_path, inside and its fds. */
static int push(struct ph__grants *g, struct ph__grant *x)
{
	struct ph__grant *v;

	if (g->n >= PH_GRANTS_MAX)
		return -E2BIG;
	v = realloc(g->v, (g->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	g->v = v;
	g->v[g->n++] = *x;
	return 0;
}

/* The real path an fd was opened at (symlinks resolved by the open). */
static char *fd_path(int fd)
{
	char link[64], buf[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

/* One allow_read path. */
static int add_user_grant(struct ph__grants *g, const char *path, struct ph_result *fail)
{
	struct ph__grant x = {.fd = -1, .parent_fd = -1};
	const char *why;
	struct stat st;
	char *dir;
	int r;

	x.fd = open(path, O_PATH | O_CLOEXEC);
	if (x.fd < 0) {
		r = -errno;
		ph__result_setup(fail, PH_STEP_SPAWN, -r, "cannot grant '%s' (allow_read)", path);
		return r;
	}
	if (fstat(x.fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
		close(x.fd);
		ph__result_setup(fail, PH_STEP_SPAWN, EINVAL,
				 "cannot grant '%s' (allow_read): only a regular file or a "
				 "directory can be granted",
				 path);
		return -EINVAL;
	}
	x.host_path = fd_path(x.fd);
	x.inside = x.host_path ? strdup(x.host_path) : NULL;
	if (!x.inside) {
		r = x.host_path ? -ENOMEM : -EIO;
		goto fail;
	}
	why = ph__grant_path_check(x.inside, strlen(x.inside), 0);
	if (why) {
		ph__result_setup(fail, PH_STEP_SPAWN, EINVAL,
				 "cannot grant '%s' (allow_read, real path '%s'): %s", path,
				 x.inside, why);
		r = -EINVAL;
		goto out;
	}
	x.is_dir = S_ISDIR(st.st_mode);
	x.dev = st.st_dev;
	x.ino = st.st_ino;
	x.mtime = st.st_mtim;
	if (!x.is_dir) {
		/* The runner enters the file's directory by fd to clone the
		 * file's mount (sandbox.h, ph__sb_grant_trees()). */
		_cleanup_free_ char *copy = strdup(x.inside);

		if (!copy) {
			r = -ENOMEM;
			goto fail;
		}
		dir = dirname(copy);
		x.parent_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (x.parent_fd < 0) {
			r = -errno;
			goto fail;
		}
	}
	r = push(g, &x);
	if (r == 0)
		return 0;
fail:
	ph__result_setup(fail, PH_STEP_SPAWN, -r, "cannot grant '%s' (allow_read)", path);
out:
	safe_close(x.fd);
	safe_close(x.parent_fd);
	free(x.host_path);
	free(x.inside);
	return r;
}

/* Is every entry of a DT_RUNPATH / DT_RPATH value $ORIGIN? Sets
 * *ret_origin when one is; returns NULL, or the first entry refused
 * (copied into bad). */
static const char *search_path_check(const char *value, int *ret_origin, char *bad, size_t bad_len)
{
	const char *p = value;

	while (p) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if ((len == 7 && memcmp(p, "$ORIGIN", 7) == 0) ||
		    (len == 9 && memcmp(p, "${ORIGIN}", 9) == 0) ||
		    (len == 8 && memcmp(p, "$ORIGIN/", 8) == 0))
			*ret_origin = 1;
		else {
			snprintf(bad, bad_len, "%.*s", (int)(len > 200 ? 200 : len), p);
			return bad;
		}
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

/* Is a DT_NEEDED name one plughost resolves? NULL, or why not. */
static const char *needed_name_check(const char *name)
{
	if (!name[0])
		return "an empty name";
	if (name[0] == '/')
		return "an absolute path (plughost resolves names only)";
	if (strchr(name, '/'))
		return "a name with '/' in it (plughost resolves plain names only)";
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return "'.' or '..'";
	return NULL;
}

static int in_dir(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return 0;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Is dir one the sandbox shows (beneath /usr or /lib*)? */
static int dir_visible(const char *dir)
{
	static const char *const visible[] = {"/usr/", "/lib/", "/lib64/", "/lib32/", "/libx32/"};

	for (size_t i = 0; i < ELEMENTSOF(visible); i++)
		if (strncmp(dir, visible[i], strlen(visible[i])) == 0)
			return 1;
	return 0;
}

/* Search the directories one ld.so.conf file lists (a line each; '#'
 * comments; "include GLOB" one level deep), those the sandbox shows. */
static int in_conf_file(const char *file, const char *name, int depth)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0, lines = 0;
	FILE *f = fopen(file, "re");
	int found = 0;

	if (!f)
		return 0;
	while (!found && lines++ < 1024 && getline(&line, &cap, f) > 0) {
		char *p = line, *end;

		if ((end = strchr(p, '#')))
			*end = '\0';
		p += strspn(p, " \t");
		end = p + strlen(p);
		while (end > p && strchr(" \t\r\n", end[-1]))
			*--end = '\0';
		if (strncmp(p, "include", 7) == 0 && (p[7] == ' ' || p[7] == '\t')) {
			glob_t g;

			if (depth > 0)
				continue;
			p += 7 + strspn(p + 7, " \t");
			if (glob(p, 0, NULL, &g) != 0)
				continue;
			for (size_t i = 0; i < g.gl_pathc && i < 256 && !found; i++)
				found = in_conf_file(g.gl_pathv[i], name, depth + 1);
			globfree(&g);
		} else if (p[0] == '/' && dir_visible(p))
			found = in_dir(p, name);
	}
	fclose(f);
	return found;
}

/* Would the loader find name in the sandbox without our help: in its
 * default directories, or in one ld.so.conf adds that the sandbox shows? */
static int in_system_dirs(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(system_dirs); i++)
		if (in_dir(system_dirs[i], name))
			return 1;
	return in_conf_file("/etc/ld.so.conf", name, 0);
}

/* system_dirs[], said short enough for a one-line error. */
#define SYSTEM_DIRS_TEXT                                                                           \
	"/lib, /usr/lib, /usr/local/lib, their x86_64-linux-gnu/, /lib64, /usr/lib64"

/* A library named name in the plugin's directory (dir_fd, real path dir):
 * its fd, open for reading, or -errno. The real file must be in that
 * directory (a symlink may lead only to a sibling) and be an ELF shared
 * object: a hostile directory cannot pass the host's other files in. */
static int open_local_lib(int dir_fd, const char *dir, const char *name, char **ret_real,
			  struct stat *st)
{
	_cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	_cleanup_free_ char *real = NULL;
	const char *slash;

	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0)
		return -errno;
	if (!S_ISREG(st->st_mode))
		return -ENOEXEC;
	real = fd_path(fd);
	if (!real)
		return -EIO;
	slash = strrchr(real, '/');
	if (!slash || (size_t)(slash - real) != strlen(dir) ||
	    memcmp(real, dir, (size_t)(slash - real)) != 0)
		return -EXDEV;
	*ret_real = real;
	real = NULL;
	return TAKE_FD(fd);
}

/*
 * The libraries plugin_path needs from its own directory, and theirs,
 * breadth first, at most PH_LIBS_MAX in all. Each object's own DT_RUNPATH
 * (or DT_RPATH) decides whether its directory is searched ($ORIGIN); a
 * name found there is granted, one found in the system's directories is
 * already visible; one found nowhere fails the spawn, naming it and the
 * places looked.
 */
static int add_libs(struct ph__grants *g, const char *plugin_path, struct ph_result *fail)
{
	_cleanup_free_ char *dir_copy = strdup(plugin_path), *base_copy = strdup(plugin_path);
	_cleanup_close_ int dir_fd = -1;
	const char *dir, *plugin_name;
	size_t first_lib = g->n, n_libs = 0;
	char why[160], bad[256];
	int r;

	if (!dir_copy || !base_copy)
		return -ENOMEM;
	dir = dirname(dir_copy);
	plugin_name = basename(base_copy);
	dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0) {
		r = -errno;
		ph__result_setup(fail, PH_STEP_LOAD, -r, "cannot open the plugin's directory");
		return r;
	}
	/* Object k: the plugin (k == 0), then each library granted so far. */
	for (size_t k = 0; k == 0 || first_lib + k - 1 < g->n; k++) {
		const char *obj_path = k == 0 ? plugin_path : g->v[first_lib + k - 1].host_path;
		const char *obj_name = k == 0 ? plugin_name : g->v[first_lib + k - 1].inside;
		struct ph__elf_info info = {0};
		_cleanup_close_ int fd = -1;
		int origin = 0;
		const char *refused = NULL, *tag = "";

		fd = open(obj_path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0) {
			r = -errno;
			ph__result_setup(fail, PH_STEP_LOAD, -r, "cannot open '%s'", obj_path);
			return r;
		}
		r = ph__elf_read(fd, &info, why, sizeof(why));
		if (r < 0) {
			if (r != -ENOEXEC && r != -E2BIG)
				ph__result_setup(fail, PH_STEP_LOAD, -r, "cannot read '%s'",
						 obj_path);
			else if (k == 0)
				ph__result_setup(fail, PH_STEP_LOAD, 0, "%s", why);
			else
				ph__result_setup(fail, PH_STEP_LOAD, 0,
						 "the library '%s' it needs: %s", obj_name, why);
			return r;
		}
		if (info.runpath) {
			refused = search_path_check(info.runpath, &origin, bad, sizeof(bad));
			tag = "DT_RUNPATH";
		}
		if (!refused && info.rpath) {
			refused = search_path_check(info.rpath, &origin, bad, sizeof(bad));
			tag = "DT_RPATH";
		}
		if (refused) {
			ph__result_setup(fail, PH_STEP_LOAD, 0,
					 "%s has the %s entry '%s': plughost finds libraries only "
					 "in the plugin's own directory ($ORIGIN) and the system's "
					 "library directories (relink with -Wl,-rpath,'$ORIGIN')",
					 obj_name, tag, refused);
			ph__elf_info_free(&info);
			return -ENOEXEC;
		}
		for (size_t i = 0; i < info.n_needed; i++) {
			const char *name = info.needed[i], *bad_name = needed_name_check(name);
			struct ph__grant x = {.fd = -1, .parent_fd = -1, .is_lib = 1};
			struct stat st;
			int dup = 0;

			if (bad_name) {
				ph__result_setup(fail, PH_STEP_LOAD, 0,
						 "%s needs '%.100s', %s: refused", obj_name, name,
						 bad_name);
				ph__elf_info_free(&info);
				return -ENOEXEC;
			}
			for (size_t j = first_lib; j < g->n && !dup; j++)
				dup = strcmp(g->v[j].inside, name) == 0;
			if (dup)
				continue;
			if (origin) {
				x.fd = open_local_lib(dir_fd, dir, name, &x.host_path, &st);
				if (x.fd >= 0) {
					struct ph__elf_info li;
					char lwhy[160];

					/* Only an ELF shared object is copied in. */
					r = ph__elf_read(x.fd, &li, lwhy, sizeof(lwhy));
					if (r == 0)
						ph__elf_info_free(&li);
					if (r == 0 && strcmp(name, plugin_name) == 0)
						r = -EEXIST;
					if (r == 0 && n_libs >= PH_LIBS_MAX)
						r = -E2BIG;
					if (r == 0 && !(x.inside = strdup(name)))
						r = -ENOMEM;
					if (r == 0) {
						x.dev = st.st_dev;
						x.ino = st.st_ino;
						x.mtime = st.st_mtim;
						r = push(g, &x);
					}
					if (r < 0) {
						ph__result_setup(
						    fail, PH_STEP_LOAD, r == -ENOEXEC ? 0 : -r,
						    "%s needs '%s', found in %s: %s", obj_name,
						    name, dir,
						    r == -ENOEXEC  ? lwhy
						    : r == -E2BIG  ? "too many libraries (the most "
								     "plughost grants is 64)"
						    : r == -EEXIST ? "it has the plugin's own name"
								   : strerror(-r));
						safe_close(x.fd);
						free(x.host_path);
						free(x.inside);
						ph__elf_info_free(&info);
						return r;
					}
					n_libs++;
					continue;
				}
				if (x.fd == -EXDEV) {
					ph__result_setup(fail, PH_STEP_LOAD, 0,
							 "%s needs '%s': in %s it is a symlink "
							 "leading out of that directory, refused",
							 obj_name, name, dir);
					ph__elf_info_free(&info);
					return -EXDEV;
				}
			}
			if (in_system_dirs(name))
				continue;
			if (origin)
				ph__result_setup(fail, PH_STEP_LOAD, 0,
						 "%s needs '%s', which is neither in %s ($ORIGIN) "
						 "nor in the system's library directories "
						 "(" SYSTEM_DIRS_TEXT ")",
						 obj_name, name, dir);
			else
				ph__result_setup(fail, PH_STEP_LOAD, 0,
						 "%s needs '%s', which is not in the system's "
						 "library directories (" SYSTEM_DIRS_TEXT "); "
						 "one beside it needs RUNPATH $ORIGIN",
						 obj_name, name);
			ph__elf_info_free(&info);
			return -ENOENT;
		}
		ph__elf_info_free(&info);
	}
	return 0;
}

/* Sort by the path inside, for a stable zygote key and so that a grant
 * beneath another (already visible through it) can be dropped. */
static int by_inside(const void *a, const void *b)
{
	const struct ph__grant *x = a, *y = b;

	if (x->is_lib != y->is_lib)
		return x->is_lib - y->is_lib;
	return strcmp(x->inside, y->inside);
}

int ph__grants_build(const char *plugin_path, const char *const *allow, size_t n,
		     struct ph__grants *out, struct ph_result *fail)
{
	struct ph__grants g = {0};
	size_t kept = 0;
	int r;

	for (size_t i = 0; i < n; i++) {
		r = add_user_grant(&g, allow[i], fail);
		if (r < 0)
			goto fail;
	}
	if (g.n > 1)
		qsort(g.v, g.n, sizeof(*g.v), by_inside);
	/* Duplicates and grants beneath another grant directory go: the
	 * runner mounts none inside another (which is read-only). */
	for (size_t i = 0; i < g.n; i++) {
		int covered = 0;

		for (size_t j = 0; j < kept && !covered; j++) {
			const size_t pl = strlen(g.v[j].inside);

			covered = strncmp(g.v[j].inside, g.v[i].inside, pl) == 0 &&
				  (g.v[i].inside[pl] == '\0' ||
				   (g.v[j].is_dir && g.v[i].inside[pl] == '/'));
		}
		if (covered) {
			safe_close(g.v[i].fd);
			safe_close(g.v[i].parent_fd);
			free(g.v[i].host_path);
			free(g.v[i].inside);
			continue;
		}
		g.v[kept++] = g.v[i];
	}
	g.n = kept;
	r = add_libs(&g, plugin_path, fail);
	if (r < 0)
		goto fail;
	*out = g;
	return 0;
fail:
	ph__grants_free(&g);
	return r;
}

int ph__grants_send(int sock, const struct ph__grants *g)
{
	for (size_t i = 0; i < g->n; i++) {
		const struct ph__grant *x = &g->v[i];
		struct ph_msg_grant m = {.flags = x->is_lib ? PH_GRANT_LIB : 0,
					 .path_len = (uint32_t)strlen(x->inside)};
		const int fds[2] = {x->fd, x->parent_fd};
		int r = ph__msg_send2(sock, PH_MSG_GRANT, 0, &m, sizeof(m), x->inside, m.path_len,
				      fds, x->parent_fd >= 0 ? 2 : 1);

		if (r < 0)
			return r;
	}
	return 0;
}
