/* SPDX-License-Identifier: MIT */
/*
 * plughost benchmarks, each printed next to a baseline measured in the same
 * run on the same machine:
 *
 *   spawn   ph_plugin_spawn + free        vs  fork + exec of /bin/true
 *   call    an empty call round trip      vs  a pipe ping-pong between processes
 *   stream  output through the ring       vs  memcpy of the same bytes
 *   input   256 MiB in through a sealed   vs  filling and sealing that input
 *           blob, uppercased, back out
 *
 * Run: meson test -C build --benchmark  (or build/tests/bench directly).
 * It never asserts on a time: figures are for people.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <plughost/host.h>

#include "testhost.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int r)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(r < 0 ? -r : r));
	exit(1);
}

static struct ph_plugin *spawn(struct ph_host *h, const char *name, size_t ring, int unsandboxed)
{
	struct ph_plugin_config cfg;
	struct ph_plugin *p;
	struct ph_result res;
	char *path = tu_plugin_path(name);
	int r;

	ph_plugin_config_init(&cfg);
	cfg.ring_size = ring;
	cfg.unsandboxed = unsandboxed;
	r = ph_plugin_spawn(h, path, &cfg, &p, &res);
	if (r < 0) {
		char line[512];
		ph_result_describe(&res, line, sizeof(line));
		fprintf(stderr, "bench: spawn %s: %s\n", path, line);
		exit(1);
	}
	free(path);
	return p;
}

static void bench_spawn(struct ph_host *h)
{
	const int n = 50;
	double t0, t_ph, t_sb, t_fe;

	t0 = now_s();
	for (int i = 0; i < n; i++)
		ph_plugin_free(spawn(h, "echo.so", 0, 0));
	t_ph = (now_s() - t0) / n;

	t0 = now_s();
	for (int i = 0; i < n; i++)
		ph_plugin_free(spawn(h, "echo.so", 0, 1));
	t_sb = (now_s() - t0) / n;

	t0 = now_s();
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		waitpid(pid, NULL, 0);
	}
	t_fe = (now_s() - t0) / n;

	printf("spawn+free, sandboxed:       %8.0f us\n", t_ph * 1e6);
	printf("spawn+free, unsandboxed:     %8.0f us\n", t_sb * 1e6);
	printf("  baseline fork+exec true:   %8.0f us\n", t_fe * 1e6);
}

static void bench_call(struct ph_host *h)
{
	const int n = 20000;
	struct ph_plugin *p = spawn(h, "echo.so", 0, 0);
	struct ph_result res;
	int up[2], down[2];
	double t0, t_call, t_pipe;
	char c = 'x';

	for (int i = 0; i < 100; i++) /* warm up */
		ph_plugin_call(p, "echo", NULL, 0, NULL, NULL, &res);
	t0 = now_s();
	for (int i = 0; i < n; i++) {
		int r = ph_plugin_call(p, "echo", NULL, 0, NULL, NULL, &res);
		if (r < 0 || res.kind != PH_RESULT_OK)
			die("call", r < 0 ? r : EIO);
	}
	t_call = (now_s() - t0) / n;
	ph_plugin_free(p);

	if (pipe(up) < 0 || pipe(down) < 0)
		die("pipe", errno);
	if (fork() == 0) {
		/* Only its own ends, or it would never see EOF. */
		close(down[1]);
		close(up[0]);
		while (read(down[0], &c, 1) == 1 && write(up[1], &c, 1) == 1)
			;
		_exit(0);
	}
	t0 = now_s();
	for (int i = 0; i < n; i++)
		if (write(down[1], &c, 1) != 1 || read(up[0], &c, 1) != 1)
			die("pipe ping-pong", errno);
	t_pipe = (now_s() - t0) / n;
	close(down[1]);
	wait(NULL);
	close(up[0]);
	close(up[1]);
	close(down[0]);

	printf("empty call round trip:       %8.1f us\n", t_call * 1e6);
	printf("  baseline pipe round trip:  %8.1f us\n", t_pipe * 1e6);
}

static int discard(void *userdata, const void *buf, size_t len)
{
	(void)buf;
	*(size_t *)userdata += len;
	return 0;
}

static void bench_stream(struct ph_host *h)
{
	const size_t total = 512u << 20;
	struct ph_plugin *p = spawn(h, "echo.so", 4u << 20, 0);
	struct ph_blob *n;
	struct ph_result res;
	char count[32];
	size_t got = 0;
	double t0, t_ring, t_memcpy;
	char *a, *b;

	snprintf(count, sizeof(count), "%zu", total);
	if (ph_blob_new_from_bytes(count, strlen(count), &n) < 0)
		die("blob", ENOMEM);
	t0 = now_s();
	if (ph_plugin_call(p, "flood", &n, 1, discard, &got, &res) < 0 ||
	    res.kind != PH_RESULT_OK || got != total)
		die("flood", EIO);
	t_ring = now_s() - t0;
	ph_blob_free(n);
	ph_plugin_free(p);

	/* Baseline: the same bytes copied once in one process, in 64 KiB
	 * chunks (the ring copies them twice: into the ring, out of it). */
	a = malloc(64 << 10);
	b = malloc(64 << 10);
	memset(a, 'a', 64 << 10);
	t0 = now_s();
	for (size_t done = 0; done < total; done += 64 << 10) {
		memcpy(b, a, 64 << 10);
		__asm__ volatile("" : : "r"(b) : "memory");
	}
	t_memcpy = now_s() - t0;
	free(a);
	free(b);

	printf("ring output (flood, 4 MiB ring): %6.2f GB/s  (%zu MiB, includes producing the "
	       "pattern)\n",
	       (double)total / t_ring / 1e9, total >> 20);
	printf("  baseline memcpy 64 KiB chunks: %6.2f GB/s\n", (double)total / t_memcpy / 1e9);
}

static void bench_input(struct ph_host *h)
{
	const size_t size = 256u << 20;
	struct ph_plugin *p = spawn(h, "upper.so", 4u << 20, 0);
	struct ph_blob *blob;
	struct ph_result res;
	size_t got = 0;
	double t0, t_up, t_fill;
	char *d;

	t0 = now_s();
	if (ph_blob_new(size, &blob) < 0)
		die("blob", ENOMEM);
	d = ph_blob_data(blob);
	memset(d, 'q', size);
	if (ph_blob_seal(blob) < 0)
		die("seal", EIO);
	t_fill = now_s() - t0;

	t0 = now_s();
	if (ph_plugin_call(p, "upper", &blob, 1, discard, &got, &res) < 0 ||
	    res.kind != PH_RESULT_OK || got != size)
		die("upper", EIO);
	t_up = now_s() - t0;
	ph_blob_free(blob);
	ph_plugin_free(p);

	printf("upper, 256 MiB in and out:   %6.2f GB/s\n", (double)size / t_up / 1e9);
	printf("  baseline: fill+seal input: %6.2f GB/s\n", (double)size / t_fill / 1e9);
}

int main(int argc, char **argv)
{
	struct ph_host *h;
	int r = ph_host_new(NULL, &h);

	if (r < 0)
		die("host", r);
	printf("plughost benchmarks (%s)\n", argc > 1 ? argv[1] : "all");
	bench_spawn(h);
	bench_call(h);
	bench_stream(h);
	bench_input(h);
	ph_host_free(h);
	return 0;
}
