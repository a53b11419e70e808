/* SPDX-License-Identifier: MIT */
/*
 * Under each tests/confine profile (PH_CONFINE_PROFILE, or none), the four
 * things of issue 9 hold, each asserted for what that profile should give
 * and never skipped:
 *   1. plughost starts and a plugin runs;
 *   2. "plughost info" and "plughost run -v" name every active and every
 *      missing layer;
 *   3. requiring a missing layer is a setup failure that names it;
 *   4. the profile really refuses what it says (so 1-3 are not vacuous).
 * The expected layers come from the profile and the host's uid, never from
 * plughost's own probe. Assumes the CI kernel (tests/run-all.sh): user
 * namespaces, user notification and Landlock ABI >= 4 where no profile
 * removes them.
 *
 *	test-confined PLUGHOST-CLI
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "testconfine.h"
#include "testhost.h"

static const char *cli;

static void layer_list(uint32_t bits, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (uint32_t bit = 1; bit & TC_ALL_LAYERS; bit <<= 1)
		if ((bits & bit) && off < len)
			off += (size_t)snprintf(buf + off, len - off, " %s", ph_layer_name(bit));
	if (!bits)
		snprintf(buf, len, " none");
}

/* 4. The refusals are real. */
static void test_profile_refuses(void **state)
{
	(void)state;
	print_message("profile %s, euid %u\n", tc_profile(), (unsigned)geteuid());
	if (tc_is("docker-default")) {
		assert_true(syscall(SYS_clone3, NULL, 0) == -1 && errno == ENOSYS);
		assert_true(unshare(CLONE_NEWUTS) == -1 && errno == EPERM);
		assert_true(syscall(SYS_keyctl, 0, 0, 0, 0, 0) == -1 && errno == EPERM);
		assert_true(syscall(SYS_bpf, 0, NULL, 0) == -1 && errno == EPERM);
		assert_true(mount(NULL, "/", NULL, 0, NULL) == -1 && errno == EPERM);
	} else if (tc_is("no-userns")) {
		assert_true(unshare(CLONE_NEWUSER) == -1 && errno == EPERM);
	} else if (tc_is("no-landlock")) {
		assert_true(syscall(SYS_landlock_create_ruleset, NULL, 0, 1) == -1 &&
			    errno == ENOSYS);
	} else if (tc_is("no-notify")) {
		assert_true(
		    syscall(SYS_seccomp, 3 /* SECCOMP_GET_NOTIF_SIZES */, 0, (char[16]){0}) == -1 &&
		    errno == EINVAL);
	} else if (tc_is("old-kernel")) {
		assert_true(memfd_create("x", MFD_CLOEXEC | 0x8 /* MFD_NOEXEC_SEAL */) == -1 &&
			    errno == EINVAL);
	}
}

/* 1 and 3 through the API. */
static void test_spawn_and_require(void **state)
{
	const uint32_t missing = tc_expected_missing();
	char *path = tu_plugin_path("echo.so"), line[512];
	struct ph_plugin_config cfg;
	struct ph_plugin *p = NULL;
	struct ph_blob *in;
	struct ph_result res;
	void *out;
	size_t len;
	(void)state;

	if (ph_plugin_spawn(host, path, NULL, &p, &res) < 0) {
		ph_result_describe(&res, line, sizeof(line));
		fail_msg("spawn failed under %s: %s", tc_profile(), line);
	}
	layer_list(ph_plugin_layers(p), line, sizeof(line));
	print_message("active:%s\n", line);
	assert_int_equal(ph_plugin_layers(p) & TC_ALL_LAYERS, TC_ALL_LAYERS & ~missing);
	assert_int_equal(ph_blob_new_from_bytes("hi", 2, &in), 0);
	assert_int_equal(ph_plugin_call_collect(p, "echo", &in, 1, &out, &len, &res), 0);
	assert_int_equal(res.kind, PH_RESULT_OK);
	assert_int_equal(len, 2);
	free(out);
	ph_blob_free(in);
	ph_plugin_free(p);

	/* Everything present may be required; each missing one refuses. */
	ph_plugin_config_init(&cfg);
	cfg.require = TC_ALL_LAYERS & ~missing;
	p = NULL;
	assert_int_equal(ph_plugin_spawn(host, path, &cfg, &p, &res), 0);
	ph_plugin_free(p);
	for (uint32_t bit = 1; bit & TC_ALL_LAYERS; bit <<= 1) {
		if (!(missing & bit))
			continue;
		cfg.require = bit;
		p = NULL;
		assert_int_equal(ph_plugin_spawn(host, path, &cfg, &p, &res), -EPERM);
		assert_null(p);
		assert_int_equal(res.kind, PH_RESULT_SETUP_FAILED);
		ph_result_describe(&res, line, sizeof(line));
		print_message("require %s: %s\n", ph_layer_name(bit), line);
		snprintf(line, sizeof(line), "'%s'", ph_layer_name(bit));
		assert_non_null(strstr(res.message, line));
	}
	free(path);
}

/* Run a shell command, its stdout and stderr into buf. */
static void run(char *buf, size_t len, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	size_t n;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	assert_non_null(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	assert_int_equal(pclose(f), 0);
}

/* 2. info and run -v, as a user reads them. */
static void test_info_and_verbose(void **state)
{
	const uint32_t missing = tc_expected_missing();
	char buf[16384], want[512], list[256];
	char *plugin = tu_plugin_path("echo.so");
	(void)state;

	run(buf, sizeof(buf), "%s info", cli);
	layer_list(TC_ALL_LAYERS & ~missing, list, sizeof(list));
	snprintf(want, sizeof(want), "\nlayers:%s\n", list);
	assert_non_null(strstr(buf, want));
	layer_list(missing, list, sizeof(list));
	snprintf(want, sizeof(want), "\nmissing layers:%s\n", list);
	assert_non_null(strstr(buf, want));
	/* The weakest case says so, and what is left. */
	if ((missing & (PH_LAYER_MNTNS | PH_LAYER_PIDNS | PH_LAYER_NETNS)) ==
	    (PH_LAYER_MNTNS | PH_LAYER_PIDNS | PH_LAYER_NETNS)) {
		assert_non_null(strstr(buf, "\nsandbox: degraded: "));
		assert_non_null(strstr(buf, "no_new_privs"));
		assert_non_null(strstr(buf, "watchdog"));
	} else {
		assert_non_null(strstr(buf, missing ? "\nsandbox: partial" : "\nsandbox: full\n"));
	}
	if (tc_is("old-kernel"))
		assert_non_null(strstr(buf, "\nmemfd noexec seal: no"));
	else
		assert_non_null(strstr(buf, "\nmemfd noexec seal: yes"));

	run(buf, sizeof(buf), "echo hi | %s run %s -m echo -i - -v 2>&1", cli, plugin);
	layer_list(TC_ALL_LAYERS & ~missing, list, sizeof(list));
	snprintf(want, sizeof(want), "sandbox:%s; missing:", list);
	assert_non_null(strstr(buf, want));
	layer_list(missing, list, sizeof(list));
	snprintf(want, sizeof(want), "; missing:%s\n", list);
	assert_non_null(strstr(buf, want));
	assert_non_null(strstr(buf, "hi\n"));
	free(plugin);
}

/* One prctl the hostile plugin makes from inside, as its result message
 * reports it ("... succeeded (returned N)"), or the violation. */
static void plugin_prctl(struct ph_plugin *p, const char *attack, const char *arg,
			 struct ph_result *res, long *ret_value)
{
	struct ph_blob *in[2];
	const char *at;
	void *out;
	size_t len;

	assert_int_equal(ph_blob_new_from_bytes(attack, strlen(attack), &in[0]), 0);
	assert_int_equal(ph_blob_new_from_bytes(arg, strlen(arg), &in[1]), 0);
	assert_int_equal(ph_plugin_call_collect(p, "attack", in, 2, &out, &len, res), 0);
	free(out);
	ph_blob_free(in[0]);
	ph_blob_free(in[1]);
	*ret_value = -1;
	if (res->kind == PH_RESULT_PLUGIN_ERROR && res->code == 1000 &&
	    (at = strstr(res->message, "(returned ")))
		*ret_value = strtol(at + strlen("(returned "), NULL, 10);
}

/*
 * Side channels: where the spec-ctrl layer is reported, the plugin itself
 * sees both kinds of speculation disabled (or the CPU immune); where it is
 * not, it sees what this process sees. Either way it cannot turn it back
 * on: PR_SET_SPECULATION_CTRL is a violation. core-sched is checked
 * against the machine in test_spawn_and_require.
 */
static void test_side_channels(void **state)
{
	char *path = tu_plugin_path("hostile.so");
	struct ph_plugin *p = NULL;
	struct ph_result res;
	long v;
	(void)state;

	assert_int_equal(ph_plugin_spawn(host, path, NULL, &p, &res), 0);
	for (int kind = PR_SPEC_STORE_BYPASS; kind <= PR_SPEC_INDIRECT_BRANCH; kind++) {
		const long mine = prctl(PR_GET_SPECULATION_CTRL, kind, 0, 0, 0);

		plugin_prctl(p, "spec_store_bypass", kind ? "1" : "0", &res, &v);
		if (v < 0)
			fail_msg("kind %d: %s", kind, res.message);
		if (ph_plugin_layers(p) & PH_LAYER_SPEC_CTRL)
			assert_true(v == PR_SPEC_NOT_AFFECTED ||
				    (v & (PR_SPEC_DISABLE | PR_SPEC_FORCE_DISABLE)));
		else
			assert_int_equal(v, mine);
	}
	plugin_prctl(p, "spec_set_enable", "0", &res, &v);
	assert_int_equal(res.kind, PH_RESULT_VIOLATION);
	assert_string_equal(res.violation.name, tc_is("no-notify") ? "" : "prctl");
	ph_plugin_free(p);
	free(path);
}

/* The ids a /proc status line names ("Uid:" or "Gid:"): real, effective. */
static void proc_ids(pid_t pid, const char *key, long *ret_real, long *ret_eff)
{
	char path[64], line[256];
	FILE *f;

	*ret_real = *ret_eff = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0)
			sscanf(line + strlen(key), "%ld %ld", ret_real, ret_eff);
	fclose(f);
}

/*
 * Whatever the environment leaves, the plugin owns nothing of the host's:
 * for a root host it runs as nobody outside (through its user namespace's
 * map, or, without one, by becoming nobody), for an unprivileged host as
 * that host's own uid, never as root.
 */
static void test_plugin_owns_nothing(void **state)
{
	const long want = geteuid() == 0 ? 65534 : (long)geteuid();
	const long want_gid = geteuid() == 0 ? 65534 : (long)getegid();
	char *path = tu_plugin_path("echo.so");
	struct ph_plugin *p = NULL;
	struct ph_result res;
	long real, eff;
	(void)state;

	assert_int_equal(ph_plugin_spawn(host, path, NULL, &p, &res), 0);
	proc_ids(ph_plugin_process_pid(p), "Uid:", &real, &eff);
	assert_int_equal(real, want);
	assert_int_equal(eff, want);
	proc_ids(ph_plugin_process_pid(p), "Gid:", &real, &eff);
	assert_int_equal(real, want_gid);
	assert_int_equal(eff, want_gid);
	ph_plugin_free(p);
	free(path);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_profile_refuses),	cmocka_unit_test(test_spawn_and_require),
	    cmocka_unit_test(test_info_and_verbose),	cmocka_unit_test(test_side_channels),
	    cmocka_unit_test(test_plugin_owns_nothing),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: test-confined PLUGHOST-CLI\n");
		return 2;
	}
	cli = argv[1];
	return cmocka_run_group_tests(tests, tu_setup_host, tu_teardown_host);
}
