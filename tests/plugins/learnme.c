/* SPDX-License-Identifier: MIT */
/*
 * learnme: a well-behaved plugin that needs a few syscalls beyond the
 * strict preset, for learning mode's tests (tests/test-learn.c): one in
 * its constructor (sysinfo, while loading), the others in method "extras"
 * (getrusage with two different first arguments, times, getpriority,
 * sched_getscheduler, getcpu and fcntl F_GETOWN on the control socket).
 * Each line of output says whether the call worked, so that a run under a
 * policy that allows them writes the same bytes as the learning run.
 * Method "threads" starts and joins a thread (the threads preset);
 * "shapes" calls getpriority with ten different first arguments.
 * Made with syscall() where glibc would answer from the vDSO or use
 * another command than the one named.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <unistd.h>

#include <plughost/plugin.h>

static int ctor_errno = -1;

__attribute__((constructor)) static void probe_early(void)
{
	struct sysinfo si;

	ctor_errno = syscall(SYS_sysinfo, &si) == 0 ? 0 : errno;
}

static int report(struct ph_call *call, const char *what, long r)
{
	if (r < 0)
		return ph_printf(call, "%s failed: %s\n", what, strerror(errno));
	return ph_printf(call, "%s ok\n", what);
}

static int extras(struct ph_call *call, const struct ph_input *in, size_t n)
{
	struct rusage ru;
	struct tms t;
	unsigned int cpu, node;

	report(call, "sysinfo (constructor)", ctor_errno == 0 ? 0 : (errno = ctor_errno, -1));
	report(call, "getrusage self", syscall(SYS_getrusage, RUSAGE_SELF, &ru));
	report(call, "getrusage thread", syscall(SYS_getrusage, RUSAGE_THREAD, &ru));
	report(call, "times", syscall(SYS_times, &t) == -1 ? -1 : 0);
	errno = 0;
	report(call, "getpriority",
	       syscall(SYS_getpriority, PRIO_PROCESS, 0) == -1 && errno ? -1 : 0);
	report(call, "sched_getscheduler", syscall(SYS_sched_getscheduler, 0));
	report(call, "getcpu", syscall(SYS_getcpu, &cpu, &node, NULL));
	report(call, "fcntl F_GETOWN", syscall(SYS_fcntl, 3, F_GETOWN));
	for (size_t i = 0; i < n; i++)
		ph_printf(call, "input %zu: %zu bytes\n", i, in[i].len);
	return 0;
}

static void *thread_fn(void *arg)
{
	return arg;
}

static int threads(struct ph_call *call, const struct ph_input *in, size_t n)
{
	pthread_t t;
	int r = pthread_create(&t, NULL, thread_fn, NULL);

	(void)in;
	(void)n;
	if (r != 0)
		return ph_error(call, r, "pthread_create: %s", strerror(r));
	pthread_join(t, NULL);
	return ph_printf(call, "thread ok\n");
}

/* getpriority with ten different first arguments (most invalid: EINVAL
 * is still a call): more shapes than learning keeps apart. */
static int shapes(struct ph_call *call, const struct ph_input *in, size_t n)
{
	(void)in;
	(void)n;
	for (long which = 0; which < 10; which++)
		syscall(SYS_getpriority, which, 0);
	return ph_printf(call, "shapes done\n");
}

static const struct ph_method methods[] = {
    {"extras", extras}, {"threads", threads}, {"shapes", shapes}};
PH_PLUGIN("learnme", "1.0", methods);
