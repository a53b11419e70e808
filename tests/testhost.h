/* SPDX-License-Identifier: MIT */
/*
 * Helpers for tests that run real plugins: the shared host, where the built
 * plugins are, the test plugins' output pattern, and a snapshot of the
 * host's fds, children and mappings, to prove that an instance left
 * nothing behind however it ended.
 */
#pragma once

#include <plughost/host.h>

#include "testutil.h"

/*
 * With PH_TEST_ZYGOTE set (the *-zygote suites), every instance a test
 * spawns is forked from a zygote: the same assertions then hold for warm
 * instances too.
 */
static inline int tu_spawn(struct ph_host *h, const char *path, const struct ph_plugin_config *cfg,
			   struct ph_plugin **ret_plugin, struct ph_result *ret_failure)
{
	struct ph_plugin_config c;

	if (cfg)
		c = *cfg;
	else
		ph_plugin_config_init(&c);
	if (getenv("PH_TEST_ZYGOTE") && !c.unsandboxed)
		c.zygote = 1;
	return (ph_plugin_spawn)(h, path, &c, ret_plugin, ret_failure);
}
#define ph_plugin_spawn(h, path, cfg, ret_plugin, ret_failure)                                     \
	tu_spawn((h), (path), (cfg), (ret_plugin), (ret_failure))

/* The host the cmocka suites share, made and freed by their group setup. */
static struct ph_host *host __attribute__((unused));

static inline int tu_setup_host(void **state)
{
	(void)state;
	return ph_host_new(NULL, &host) == 0 ? 0 : -1;
}

static inline int tu_teardown_host(void **state)
{
	(void)state;
	ph_host_free(host);
	return 0;
}

/* Path of a built plugin: the first $PH_PLUGIN_DIR entry (a colon-separated
 * list) that holds name, else name itself (malloc'd). */
static inline char *tu_plugin_path(const char *name)
{
	const char *dirs = getenv("PH_PLUGIN_DIR");
	char *copy, *save = NULL, *path = NULL;

	if (!dirs) {
		fprintf(stderr, "PH_PLUGIN_DIR is not set: run this through 'meson test'\n");
		abort();
	}
	copy = strdup(dirs);
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (asprintf(&path, "%s/%s", d, name) < 0)
			abort();
		if (access(path, F_OK) == 0)
			break;
		free(path);
		path = NULL;
	}
	free(copy);
	if (!path && !(path = strdup(name)))
		abort();
	return path;
}

#ifdef cmocka_unit_test
/* In a cmocka test: spawn the built plugin name with cfg (NULL: the
 * defaults) on the shared host, or fail the test saying why. */
static inline struct ph_plugin *tu_spawn_ok(const char *name, const struct ph_plugin_config *cfg)
{
	struct ph_plugin *p = NULL;
	struct ph_result res;
	char *path = tu_plugin_path(name);
	int r = ph_plugin_spawn(host, path, cfg, &p, &res);

	if (r < 0) {
		char line[512];

		ph_result_describe(&res, line, sizeof(line));
		print_error("spawn %s: %s (%s)\n", path, strerror(-r), line);
	}
	free(path);
	assert_int_equal(r, 0);
	return p;
}
#endif

/* Mappings of memfds ("/memfd:...") in our address space. */
static inline int tu_count_memfd_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "/memfd:"))
			n++;
	fclose(f);
	return n;
}

/* Children of ours not yet reaped (zombies included). */
static inline int tu_count_children(void)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (getline(&line, &cap, f) > 0)
		for (char *t = strtok(line, " \n"); t; t = strtok(NULL, " \n"))
			n++;
	free(line);
	fclose(f);
	return n;
}

/* Output sink: checks the test plugins' pattern (byte i is 'a' + i % 26)
 * and counts bytes in *(size_t *)userdata. */
static inline int tu_check_pattern(void *userdata, const void *buf, size_t len)
{
	size_t *pos = userdata;
	const char *b = buf;

	for (size_t i = 0; i < len; i++)
		if (b[i] != 'a' + (char)((*pos + i) % 26))
			return -EIO;
	*pos += len;
	return 0;
}

/* Output sink for upper.so: each byte is in[] at the same offset with
 * a-z made A-Z (tr a-z A-Z). Counts bytes in pos; bad once one differs. */
struct tu_upper_check {
	const uint8_t *in;
	size_t pos;
	int bad;
};

static inline int tu_check_upper(void *userdata, const void *buf, size_t len)
{
	struct tu_upper_check *c = userdata;
	const uint8_t *b = buf;

	for (size_t i = 0; i < len; i++) {
		uint8_t want = c->in[c->pos + i];

		if (want >= 'a' && want <= 'z')
			want = (uint8_t)(want - 'a' + 'A');
		if (b[i] != want) {
			c->bad = 1;
			return -EIO;
		}
	}
	c->pos += len;
	return 0;
}

struct tu_snapshot {
	int fds, maps, children;
};

static inline struct tu_snapshot tu_snapshot(void)
{
	/* A zygote the shared host keeps (pools, the *-zygote suites) is no
	 * leak of a test's: count without them on both sides. */
	if (host)
		ph_host_drop_zygotes(host);
	return (struct tu_snapshot){tu_count_dir("/proc/self/fd"), tu_count_memfd_maps(),
				    tu_count_children()};
}

#define tu_assert_unchanged(before)                                                                \
	do {                                                                                       \
		struct tu_snapshot now_ = tu_snapshot();                                           \
		assert_int_equal(now_.fds, (before)->fds);                                         \
		assert_int_equal(now_.maps, (before)->maps);                                       \
		assert_int_equal(now_.children, (before)->children);                               \
	} while (0)

/* A host whose runner is the test build named by environment variable
 * env (set by tests/meson.build): a runner that misbehaves on purpose. */
static inline struct ph_host *tu_host_with_runner(const char *env)
{
	struct ph_host_config cfg;
	struct ph_host *h = NULL;

	ph_host_config_init(&cfg);
	cfg.runner_path = getenv(env);
	if (!cfg.runner_path || ph_host_new(&cfg, &h) < 0) {
		fprintf(stderr, "%s: no usable runner: run this through 'meson test'\n", env);
		abort();
	}
	return h;
}
