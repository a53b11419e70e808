/* SPDX-License-Identifier: MIT */
/*
 * What the kernel says about a running plugin process: CPU time, resident
 * memory, open fds, threads. The host reads these from /proc (never from
 * anything the plugin writes) to enforce per-call limits and to fill in
 * the usage of each result.
 *
 * The plugin is non-dumpable, so its /proc/PID/fd needs ptrace access:
 * root has it, and an unprivileged host has it as the owner of the plugin's
 * user namespace.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "procstat.h"

/*
 * Read a small /proc file of pid (0: ourselves) into buf (NUL-terminated). *cache holds
 * an fd kept open across reads (or -1): /proc regenerates the contents on
 * every read from offset 0, so one open serves the instance's life, which
 * saves an open and a close on every call's usage.
 */
static int read_proc(pid_t pid, const char *name, int *cache, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd = cache ? *cache : -1;

	if (fd < 0) {
		if (pid > 0)
			snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
		else
			snprintf(path, sizeof(path), "/proc/self/%s", name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (cache)
			*cache = fd;
	}
	n = pread(fd, buf, len - 1, 0);
	if (!cache)
		close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

int ph__proc_cpu_usec(pid_t pid, int *cache, uint64_t *ret_user, uint64_t *ret_sys)
{
	static long ticks;
	unsigned long long ut, st;
	char buf[1024], *p;
	int r;

	r = read_proc(pid, "stat", cache, buf, sizeof(buf));
	if (r < 0)
		return r;
	/* Field 2 (comm) may hold spaces and parentheses: skip past the last
	 * ')', then utime and stime are fields 14 and 15. */
	p = strrchr(buf, ')');
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -EIO;
	if (!ticks)
		ticks = sysconf(_SC_CLK_TCK);
	*ret_user = ut * 1000000ull / (unsigned long long)ticks;
	*ret_sys = st * 1000000ull / (unsigned long long)ticks;
	return 0;
}

uint64_t ph__proc_cpu_clock_usec(pid_t pid)
{
	/* The kernel's encoding of a process CPU-time clock (what
	 * clock_getcpuclockid() returns): CPUCLOCK_SCHED of pid. Any process
	 * visible in our pid namespace can be read so. */
	const clockid_t clk = (clockid_t)((~(unsigned int)pid << 3) | 2u);
	struct timespec ts;

	if (clock_gettime(clk, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int ph__proc_status(pid_t pid, int *cache, struct ph__proc_status *ret)
{
	char buf[4096];
	const char *line;
	int r;

	r = read_proc(pid, "status", cache, buf, sizeof(buf));
	if (r < 0)
		return r;
	memset(ret, 0, sizeof(*ret));
	for (line = buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		unsigned long long v;

		if (sscanf(line, "VmRSS: %llu kB", &v) == 1)
			ret->rss_kib = v;
		else if (sscanf(line, "VmHWM: %llu kB", &v) == 1)
			ret->hwm_kib = v;
		else if (sscanf(line, "Threads: %llu", &v) == 1)
			ret->threads = (uint32_t)v;
		else if (sscanf(line, "PPid: %llu", &v) == 1)
			ret->ppid = (pid_t)v;
	}
	return 0;
}

int ph__proc_count_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

pid_t ph__proc_pidfd_pid(int pidfd)
{
	char path[64], buf[512];
	const char *line;
	int r;
	long v;

	/* The kernel's word on which process the pidfd pins, in our own pid
	 * namespace: -1 once it has exited, 0 outside our view. */
	snprintf(path, sizeof(path), "fdinfo/%d", pidfd);
	r = read_proc(0, path, NULL, buf, sizeof(buf));
	if (r < 0)
		return r;
	for (line = buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
		if (sscanf(line, "Pid: %ld", &v) == 1)
			return v > 0 ? (pid_t)v : -ESRCH;
	return -EINVAL;
}

uint64_t ph__mem_available(void)
{
	char buf[4096], *line;
	struct sysinfo si;
	ssize_t n = -1;
	int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	if (n > 0) {
		buf[n] = '\0';
		line = strstr(buf, "\nMemAvailable:");
		if (line) {
			char *end;
			unsigned long long kib = strtoull(line + 14, &end, 10);

			if (end != line + 14 && kib <= UINT64_MAX / 1024)
				return (uint64_t)kib * 1024;
		}
	}
	/* No /proc (a container without it) or a kernel before 3.14. */
	if (sysinfo(&si) == 0)
		return ((uint64_t)si.freeram + si.bufferram) * si.mem_unit;
	return 0;
}
