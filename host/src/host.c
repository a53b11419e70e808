/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "ph-config.h"
#include "sandbox.h"
#include "seal.h"

PH_EXPORT const char *ph_version(void)
{
	return PH_VERSION;
}

PH_EXPORT void ph_host_config_init(struct ph_host_config *cfg)
{
	if (cfg)
		memset(cfg, 0, sizeof(*cfg));
}

void ph__log(const struct ph_host *host, const struct ph_plugin *p, enum ph_level sev,
	     const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!host || !host->log_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	host->log_fn(host->log_userdata, p, sev, line);
}

static int executable(const char *path)
{
	return path && access(path, X_OK) == 0;
}

/* The path of the runner beside libplughost.so (build tree, or a
 * relocated install), whether it is there or not; NULL if unknown. */
static char *runner_beside_library(void)
{
	Dl_info info;
	char *copy, *dir, *path = NULL;

	if (!dladdr((void *)ph_host_new, &info) || !info.dli_fname)
		return NULL;
	copy = strdup(info.dli_fname);
	if (!copy)
		return NULL;
	dir = dirname(copy);
	if (asprintf(&path, "%s/plughost-runner", dir) < 0)
		path = NULL;
	free(copy);
	return path;
}

/* Append "'path' (why)" for one place the runner was not, to tried. */
static void tried_add(char *tried, size_t len, const char *path, const char *from)
{
	const size_t used = strlen(tried);
	const char *why = "not executable";

	if (access(path, F_OK) < 0)
		why = errno == ENOENT ? "no such file" : strerror(errno);
	snprintf(tried + used, len - used, "%s'%s' (%s: %s)", used ? ", " : "", path, from, why);
}

/*
 * Find the runner as ph_host_new() documents: the path, malloc'd, or NULL
 * with every place tried told to the log callback in one line.
 */
static char *find_runner(const struct ph_host_config *cfg)
{
	struct ph_host tmp = {.log_fn = cfg ? cfg->log_fn : NULL,
			      .log_userdata = cfg ? cfg->log_userdata : NULL};
	const char *env = secure_getenv("PLUGHOST_RUNNER");
	char tried[1024] = "", *beside;

	if (cfg && cfg->runner_path) {
		if (executable(cfg->runner_path))
			return strdup(cfg->runner_path);
		tried_add(tried, sizeof(tried), cfg->runner_path, "ph_host_config.runner_path");
	} else if (env && *env) {
		if (executable(env))
			return strdup(env);
		tried_add(tried, sizeof(tried), env, "PLUGHOST_RUNNER");
	} else {
		beside = runner_beside_library();
		if (beside && executable(beside))
			return beside;
		if (beside)
			tried_add(tried, sizeof(tried), beside, "beside libplughost");
		free(beside);
		if (executable(PH_RUNNER_INSTALLED))
			return strdup(PH_RUNNER_INSTALLED);
		tried_add(tried, sizeof(tried), PH_RUNNER_INSTALLED, "installed");
	}
	ph__log(&tmp, NULL, PH_ERROR,
		"cannot find plughost-runner: tried %s; PLUGHOST_RUNNER is %s", tried,
		cfg && cfg->runner_path ? "not used (ph_host_config.runner_path is set)"
		: env && *env		? "set"
					: "not set");
	return NULL;
}

PH_EXPORT const char *ph_host_runner_path(const struct ph_host *host)
{
	return host ? host->runner_path : NULL;
}

PH_EXPORT int ph_host_new(const struct ph_host_config *cfg, struct ph_host **ret_host)
{
	struct ph_host *h;
	char *runner = NULL;
	int i;

	if (!ret_host)
		return -EINVAL;
	if (cfg && (i = PH_RESERVED_NONZERO(cfg->reserved)) >= 0) {
		/* No result to carry the reason: the log callback, if any, says it. */
		struct ph_host tmp = {.log_fn = cfg->log_fn, .log_userdata = cfg->log_userdata};

		ph__log(&tmp, NULL, PH_ERROR,
			"ph_host_config.reserved[%d] is not zero (start from "
			"ph_host_config_init() and set only named fields)",
			i);
		return -EINVAL;
	}
	runner = find_runner(cfg);
	if (!runner)
		return -ENOENT;

	h = calloc(1, sizeof(*h));
	if (!h) {
		free(runner);
		return -ENOMEM;
	}
	h->runner_path = runner;
	/* Opened once, exec'd by fd: a root host's sandbox runs as nobody,
	 * who may not be able to traverse the path (a build tree under
	 * /root), and the file cannot be swapped between spawns. */
	h->runner_fd = open(runner, O_PATH | O_CLOEXEC);
	if (h->runner_fd < 0) {
		int r = -errno;

		free(runner);
		free(h);
		return r;
	}
	if (cfg) {
		h->log_fn = cfg->log_fn;
		h->log_userdata = cfg->log_userdata;
	}
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->zygote_lock, NULL);
	pthread_mutex_init(&h->metrics_lock, NULL);
	*ret_host = h;
	return 0;
}

PH_EXPORT void ph_host_free(struct ph_host *host)
{
	if (!host)
		return;
	ph__zygotes_free(host);
	free(host->runner_path);
	safe_close(host->runner_fd);
	for (int i = 0; i < 2; i++)
		if (!host->strict_prog[i].embedded)
			free(host->strict_prog[i].insns);
	pthread_mutex_destroy(&host->lock);
	pthread_mutex_destroy(&host->zygote_lock);
	pthread_mutex_destroy(&host->metrics_lock);
	free(host);
}

/* A sealed memfd holding prog's bytes, as ph__policy_compile() makes. */
static int prog_memfd(const struct ph__prog *prog)
{
	_cleanup_close_ int fd = ph__memfd_create("plughost-seccomp");

	if (fd < 0)
		return fd;
	/* Written through the fd: no writable mapping exists, so F_SEAL_WRITE
	 * cannot fail with EBUSY. */
	if (write(fd, prog->insns, prog->len) != (ssize_t)prog->len)
		return -EIO;
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return -errno;
	return TAKE_FD(fd);
}

/* Compile into cache (its bytes) and return the compiled memfd. */
static int prog_compile(const struct ph_policy *policy, int notify, struct ph__prog *cache)
{
	_cleanup_close_ int fd = ph__policy_compile(ph__policy_sb(policy), notify);
	struct stat st;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	cache->insns = malloc((size_t)st.st_size);
	if (!cache->insns)
		return -ENOMEM;
	if (pread(fd, cache->insns, (size_t)st.st_size, 0) != st.st_size) {
		free(cache->insns);
		cache->insns = NULL;
		return -EIO;
	}
	cache->len = (size_t)st.st_size;
	return TAKE_FD(fd);
}

int ph__host_prog(struct ph_host *h, const struct ph_policy *policy, int notify,
		  struct ph__prog *cache)
{
	struct ph__prog *slot = policy ? cache : &h->strict_prog[!!notify];
	int fd;

	/* One program serves every instance (the loader writes its own pid
	 * into it), and compiling it costs more than a warm spawn: compile
	 * once, then only copy the bytes into a fresh sealed memfd. The strict
	 * preset's is the host's; a caller's policy is compiled once per
	 * instance or pool, which keep their own copy of it. */
	if (!policy)
		pthread_mutex_lock(&h->lock);
	/* The strict preset was compiled when libplughost was built. */
	if (!policy && !slot->insns) {
		const void *insns;
		const size_t len = ph__policy_strict_prog(notify, &insns);

		if (len) {
			slot->insns = (void *)insns;
			slot->len = len;
			slot->embedded = 1;
		}
	}
	fd = slot->insns ? prog_memfd(slot) : prog_compile(policy, notify, slot);
	if (!policy)
		pthread_mutex_unlock(&h->lock);
	return fd;
}

PH_EXPORT int ph_probe_report(char *buf, size_t len)
{
	if (!buf && len)
		return -EINVAL;
	return ph__probe_report(buf, len);
}
