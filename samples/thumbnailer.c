/* SPDX-License-Identifier: MIT */
/*
 * plughost-thumbnailer: a safe thumbnailer, a sample host application of
 * libplughost's public API (host.h) only.
 *
 *	plughost-thumbnailer [-j N] [-o OUTDIR] [-s SIZE] [-t MS] [-M MIB] [-p PLUGIN]
 *			     FILE|DIR...
 *
 * For every FILE, and every *.png file in every DIR (not recursively, in
 * name order), it runs the "thumbnail" method of the PNG sample plugin
 * (samples/png.c, libpng inside the sandbox) and writes the thumbnail,
 * which fits in SIZE x SIZE pixels (default 64), to OUTDIR/NAME.png
 * (default OUTDIR: ./thumbnails, made if missing; NAME is the input's
 * file name less its .png suffix, so two inputs of the same name in
 * different directories write the same file, the later one winning).
 * PLUGIN defaults to png.so in the directory this program is in.
 *
 * Images are decoded by a library that parses hostile bytes, so each file
 * gets a fresh sandboxed instance of its own, taken from a warm pool
 * (ph_pool_*, forked from a zygote) with N instances (-j, default 2), and
 * N files are thumbnailed at once by N threads. One instance per file
 * means that a file that takes over the decoder cannot touch the next
 * file's thumbnail or see its pixels. Every call runs under limits: a
 * wall-clock timeout (-t, default 5000 ms) and as much CPU time, memory
 * (-M, default 256 MiB: the plugin decodes up to 16 Mi pixels, 64 MiB),
 * 16 MiB of output; inputs over 64 MiB are refused before they are read.
 *
 * It prints one line per file on stdout, in the order the files were
 * given, as each is known:
 *
 *	ok img.png -> thumbnails/img.png (64x48, 5123 bytes)
 *	FAILED bad.png (plugin-error): plugin returned error 2: libpng: IHDR: CRC error
 *	FAILED bomb.png (memory-limit): plugin went over its memory limit: ... — killed
 *	FAILED big.png (input): cannot read it: File too large
 *
 * after FAILED, in brackets, the kind of failure: a result kind as
 * ph_result_kind_name() names it (plugin-error, crashed, timeout,
 * cpu-limit, memory-limit, output-quota, violation, ...), "input" when
 * the file could not be read, "output" when the thumbnail could not be
 * written, "spawn" when no instance could be started for it. A bad file
 * never stops the others, and no file's output is left half-written (it
 * is written to a temporary name, then renamed).
 *
 * Exit status: 0 when every file got its thumbnail; 1 when any failed (the
 * lines say which and why); 2 on a usage error; 3 when the thumbnailer
 * could not start at all (no runner, no plugin, no output directory).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <plughost/host.h>

#define DEFAULT_JOBS	2
#define MAX_JOBS	64
#define DEFAULT_SIZE	64
#define MAX_SIZE	1024
#define MAX_IMAGE_BYTES (64ull << 20)
#define DEFAULT_TIMEOUT 5000 /* ms, also the CPU limit */
#define MAX_TIMEOUT	600000
#define DEFAULT_MEMORY	256 /* MiB */
#define MAX_MEMORY	65536
#define LIMIT_OUTPUT	(16ull << 20)
#define LINE_MAX_BYTES	(PATH_MAX * 2 + 512)

struct job {
	char *path;
	char *line; /* the result line, once known */
	int ok;
};

/* Shared by the workers; everything in it is under lock. */
struct run {
	pthread_mutex_t lock;
	struct ph_pool *pool;
	struct job *jobs;
	size_t n_jobs, next, printed, failed;
	const char *outdir;
	struct ph_blob *size_blob;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: plughost-thumbnailer [-j N] [-o OUTDIR] [-s SIZE] [-t MS] [-M MIB] [-p "
		"PLUGIN]\n"
		"                            FILE|DIR...\n"
		"  -j N       thumbnail N files at once (1-%d, default %d)\n"
		"  -o OUTDIR  where the thumbnails go (default ./thumbnails)\n"
		"  -s SIZE    fit thumbnails in SIZE x SIZE pixels (1-%d, default %d)\n"
		"  -t MS      time limit per file, wall clock and CPU (1-%d, default %d)\n"
		"  -M MIB     memory limit per file, MiB (16-%d, default %d)\n"
		"  -p PLUGIN  the PNG plugin (default: png.so beside this program)\n",
		MAX_JOBS, DEFAULT_JOBS, MAX_SIZE, DEFAULT_SIZE, MAX_TIMEOUT, DEFAULT_TIMEOUT,
		MAX_MEMORY, DEFAULT_MEMORY);
}

/* A decimal in lo..hi, nothing else; -1 if not. */
static long parse_num(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	return v;
}

static int add_job(struct run *run, size_t *cap, const char *path)
{
	if (run->n_jobs == *cap) {
		size_t n = *cap ? *cap * 2 : 64;
		struct job *j = realloc(run->jobs, n * sizeof(*j));

		if (!j)
			return -ENOMEM;
		run->jobs = j;
		*cap = n;
	}
	run->jobs[run->n_jobs] = (struct job){.path = strdup(path)};
	if (!run->jobs[run->n_jobs].path)
		return -ENOMEM;
	run->n_jobs++;
	return 0;
}

static int has_png_suffix(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && strcmp(name + n - 4, ".png") == 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.png in dir, in name order. A directory that cannot be read is
 * one failed job, so that it is reported like any other bad input. */
static int add_dir(struct run *run, size_t *cap, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL, path[PATH_MAX];
	size_t n = 0, ncap = 0;
	int r = 0;

	if (!d)
		return add_job(run, cap, dir);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !has_png_suffix(e->d_name))
			continue;
		if (n == ncap) {
			char **nn = realloc(names, (ncap = ncap ? ncap * 2 : 256) * sizeof(*nn));

			if (!nn) {
				r = -ENOMEM;
				break;
			}
			names = nn;
		}
		if (!(names[n] = strdup(e->d_name))) {
			r = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (r == 0)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		if (r == 0) {
			if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >=
			    sizeof(path))
				r = -ENAMETOOLONG;
			else
				r = add_job(run, cap, path);
		}
		free(names[i]);
	}
	free(names);
	return r;
}

/* The width and height in a PNG's IHDR (the plugin's output: checked to
 * be a PNG before it is called a thumbnail). */
static int png_dims(const unsigned char *p, size_t len, uint32_t *w, uint32_t *h)
{
	static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

	if (len < 33 || memcmp(p, sig, 8) != 0 || memcmp(p + 12, "IHDR", 4) != 0)
		return -1;
	*w = (uint32_t)p[16] << 24 | (uint32_t)p[17] << 16 | (uint32_t)p[18] << 8 | p[19];
	*h = (uint32_t)p[20] << 24 | (uint32_t)p[21] << 16 | (uint32_t)p[22] << 8 | p[23];
	return 0;
}

/* Write len bytes to outdir/name through a temporary file and a rename. */
static int write_file(const char *out, const void *buf, size_t len)
{
	char tmp[PATH_MAX];
	const char *p = buf;
	int fd, r = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", out, (long)gettid()) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, out) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

/* The output path for an input: outdir/basename, less .png, plus .png. */
static int out_path(const char *outdir, const char *in, char *buf, size_t len)
{
	const char *base = strrchr(in, '/');
	size_t n;

	base = base ? base + 1 : in;
	n = strlen(base);
	if (has_png_suffix(base))
		n -= 4;
	if ((size_t)snprintf(buf, len, "%s/%.*s.png", outdir, (int)n, base) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Thumbnail one file with instance p (the caller frees p): its line. */
static char *thumbnail_one(struct run *run, struct ph_plugin *p, const char *path, int *ok)
{
	char line[LINE_MAX_BYTES], why[512], out[PATH_MAX];
	struct ph_blob *in[2] = {NULL, run->size_blob};
	struct ph_result res;
	void *buf = NULL;
	size_t len = 0;
	uint32_t w, h;
	int r;

	*ok = 0;
	r = ph_blob_new_from_file_max(path, MAX_IMAGE_BYTES, &in[0]);
	if (r < 0) {
		snprintf(line, sizeof(line), "FAILED %s (input): cannot read it: %s", path,
			 r == -EFBIG ? "larger than 64 MiB" : strerror(-r));
		return strdup(line);
	}
	r = ph_plugin_call_collect(p, "thumbnail", in, run->size_blob ? 2 : 1, &buf, &len, &res);
	ph_blob_free(in[0]);
	if (r == -ENOENT) {
		snprintf(line, sizeof(line),
			 "FAILED %s (call): the plugin has no method 'thumbnail'", path);
	} else if (r < 0) {
		snprintf(line, sizeof(line), "FAILED %s (call): %s", path, strerror(-r));
	} else if (res.kind != PH_RESULT_OK) {
		ph_result_describe(&res, why, sizeof(why));
		snprintf(line, sizeof(line), "FAILED %s (%s): plugin %s", path,
			 ph_result_kind_name(res.kind), why);
	} else if (png_dims(buf, len, &w, &h) < 0) {
		/* A plugin is not trusted to have written what it says. */
		snprintf(line, sizeof(line), "FAILED %s (output): the plugin's output is not a PNG",
			 path);
	} else if ((r = out_path(run->outdir, path, out, sizeof(out))) < 0 ||
		   (r = write_file(out, buf, len)) < 0) {
		snprintf(line, sizeof(line), "FAILED %s (output): cannot write %s: %s", path, out,
			 strerror(-r));
	} else {
		snprintf(line, sizeof(line), "ok %s -> %s (%ux%u, %zu bytes)", path, out,
			 (unsigned)w, (unsigned)h, len);
		*ok = 1;
	}
	free(buf);
	return strdup(line);
}

/* Print every finished line from run->printed on, in order. Under lock. */
static void print_ready(struct run *run)
{
	while (run->printed < run->n_jobs && run->jobs[run->printed].line) {
		struct job *j = &run->jobs[run->printed++];

		puts(j->line);
		if (!j->ok)
			run->failed++;
	}
	fflush(stdout);
}

static void *worker(void *arg)
{
	struct run *run = arg;

	for (;;) {
		struct ph_plugin *p = NULL;
		struct ph_result fail;
		char *line, why[512];
		size_t i;
		int ok = 0, r;

		pthread_mutex_lock(&run->lock);
		if (run->next == run->n_jobs) {
			pthread_mutex_unlock(&run->lock);
			return NULL;
		}
		i = run->next++;
		/* A pool is one thread's at a time: take under the lock. */
		r = ph_pool_take(run->pool, &p, &fail);
		pthread_mutex_unlock(&run->lock);

		if (r < 0) {
			ph_result_describe(&fail, why, sizeof(why));
			if (asprintf(&line, "FAILED %s (spawn): plugin %s", run->jobs[i].path,
				     why) < 0)
				line = NULL;
		} else {
			line = thumbnail_one(run, p, run->jobs[i].path, &ok);
		}

		pthread_mutex_lock(&run->lock);
		if (p)
			ph_pool_put(run->pool, p); /* frees it: no reuse */
		run->jobs[i].ok = ok && line;
		run->jobs[i].line = line ? line : strdup("FAILED (out of memory)");
		if (!run->jobs[i].line)
			abort();
		print_ready(run);
		pthread_mutex_unlock(&run->lock);
	}
}

static void on_log(void *userdata, const struct ph_plugin *instance, enum ph_level level,
		   const char *line)
{
	(void)userdata;
	(void)instance;
	if (level <= PH_WARN)
		fprintf(stderr, "plughost-thumbnailer: %s\n", line);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"jobs", required_argument, NULL, 'j'},    {"output", required_argument, NULL, 'o'},
	    {"size", required_argument, NULL, 's'},    {"plugin", required_argument, NULL, 'p'},
	    {"timeout", required_argument, NULL, 't'}, {"memory", required_argument, NULL, 'M'},
	    {"help", no_argument, NULL, 'h'},	       {NULL, 0, NULL, 0},
	};
	struct run run = {.lock = PTHREAD_MUTEX_INITIALIZER, .outdir = "thumbnails"};
	struct ph_host_config hcfg;
	struct ph_plugin_config cfg;
	struct ph_host *host = NULL;
	struct ph_result fail;
	pthread_t threads[MAX_JOBS];
	char plugin[PATH_MAX], why[512], size_text[24];
	const char *plugin_arg = NULL;
	long jobs = DEFAULT_JOBS, size = DEFAULT_SIZE, timeout = DEFAULT_TIMEOUT,
	     memory = DEFAULT_MEMORY;
	size_t cap = 0, started = 0;
	int c, r, status = 3;

	while ((c = getopt_long(argc, argv, "j:o:s:t:M:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			if ((jobs = parse_num(optarg, 1, MAX_JOBS)) < 0) {
				fprintf(stderr,
					"plughost-thumbnailer: -j wants a number from 1 to %d, not "
					"'%s'\n",
					MAX_JOBS, optarg);
				return 2;
			}
			break;
		case 'o':
			run.outdir = optarg;
			break;
		case 's':
			if ((size = parse_num(optarg, 1, MAX_SIZE)) < 0) {
				fprintf(stderr,
					"plughost-thumbnailer: -s wants a number from 1 to %d, not "
					"'%s'\n",
					MAX_SIZE, optarg);
				return 2;
			}
			break;
		case 't':
			if ((timeout = parse_num(optarg, 1, MAX_TIMEOUT)) < 0) {
				fprintf(stderr,
					"plughost-thumbnailer: -t wants milliseconds, 1 to %d, not "
					"'%s'\n",
					MAX_TIMEOUT, optarg);
				return 2;
			}
			break;
		case 'M':
			if ((memory = parse_num(optarg, 16, MAX_MEMORY)) < 0) {
				fprintf(stderr,
					"plughost-thumbnailer: -M wants MiB, 16 to %d, not '%s'\n",
					MAX_MEMORY, optarg);
				return 2;
			}
			break;
		case 'p':
			plugin_arg = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "plughost-thumbnailer: name the images (files or directories)\n");
		usage(stderr);
		return 2;
	}

	if (plugin_arg) {
		snprintf(plugin, sizeof(plugin), "%s", plugin_arg);
	} else {
		/* Beside this program, as in the build tree. */
		ssize_t n = readlink("/proc/self/exe", plugin, sizeof(plugin) - 8);
		char *slash;

		if (n < 0 || !(slash = memrchr(plugin, '/', (size_t)n))) {
			fprintf(stderr, "plughost-thumbnailer: cannot find png.so beside this "
					"program: name it with -p\n");
			return 3;
		}
		strcpy(slash + 1, "png.so");
	}
	if (mkdir(run.outdir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "plughost-thumbnailer: cannot make the output directory '%s': %s\n",
			run.outdir, strerror(errno));
		return 3;
	}

	for (int i = optind; i < argc; i++) {
		struct stat st;

		r = stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode) ? add_dir(&run, &cap, argv[i])
								   : add_job(&run, &cap, argv[i]);
		if (r < 0) {
			fprintf(stderr, "plughost-thumbnailer: listing '%s': %s\n", argv[i],
				strerror(-r));
			goto out;
		}
	}

	ph_host_config_init(&hcfg);
	hcfg.log_fn = on_log;
	r = ph_host_new(&hcfg, &host);
	if (r < 0) {
		fprintf(stderr, "plughost-thumbnailer: cannot start plughost: %s%s\n", strerror(-r),
			r == -ENOENT ? " (no plughost-runner found; set PLUGHOST_RUNNER)" : "");
		goto out;
	}
	ph_plugin_config_init(&cfg);
	cfg.limits.timeout_ms = (uint64_t)timeout;
	cfg.limits.cpu_ms = (uint64_t)timeout;
	cfg.limits.memory_bytes = (uint64_t)memory << 20;
	cfg.limits.output_bytes = LIMIT_OUTPUT;
	cfg.limits.collect_bytes = LIMIT_OUTPUT;
	r = ph_pool_new(host, plugin, &cfg, (size_t)jobs, &run.pool, &fail);
	if (r < 0) {
		ph_result_describe(&fail, why, sizeof(why));
		fprintf(stderr, "plughost-thumbnailer: cannot start the plugin '%s': %s\n", plugin,
			why);
		goto out;
	}
	if (size != DEFAULT_SIZE) {
		snprintf(size_text, sizeof(size_text), "%ld", size);
		r = ph_blob_new_from_bytes(size_text, strlen(size_text), &run.size_blob);
		if (r < 0) {
			fprintf(stderr, "plughost-thumbnailer: %s\n", strerror(-r));
			goto out;
		}
	}

	for (; started < (size_t)jobs; started++) {
		r = pthread_create(&threads[started], NULL, worker, &run);
		if (r != 0) {
			fprintf(stderr, "plughost-thumbnailer: cannot start a thread: %s\n",
				strerror(r));
			break;
		}
	}
	if (started == 0)
		goto out;
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	status = run.failed ? 1 : 0;

out:
	ph_blob_free(run.size_blob);
	ph_pool_free(run.pool);
	ph_host_free(host);
	for (size_t i = 0; i < run.n_jobs; i++) {
		free(run.jobs[i].path);
		free(run.jobs[i].line);
	}
	free(run.jobs);
	return status;
}
