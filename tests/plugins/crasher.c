/* SPDX-License-Identifier: MIT */
/*
 * Test plugin "crasher": faults in known places, for the backtrace the
 * host builds from what init captured at the fault.
 *
 *   deep   writes "crashing\n", then calls crash_outer(), which calls
 *          crash_here(), which stores through a NULL pointer: SIGSEGV in
 *          a named function two frames down. Both are noinline, with
 *          frame pointers (tests/plugins/meson.build), so the host can
 *          name crash_here at #0 and crash_outer from the rbp chain.
 *   wild   sets rsp and rbp to garbage and faults: nothing on the
 *          "stack" can be read, and the host must say so in a short
 *          backtrace without crashing itself.
 *   thread crash_outer() in a second thread (needs the threads policy):
 *          the backtrace is that thread's, not the main one's.
 */
#include <pthread.h>
#include <stdint.h>

#include <plughost/plugin.h>

/* Out of the optimiser's reach: the store must happen. */
static volatile int *volatile null_ptr;

__attribute__((noinline, used)) void crash_here(int depth);
__attribute__((noinline, used)) void crash_outer(int depth);

__attribute__((noinline, used)) void crash_here(int depth)
{
	*null_ptr = depth;
	__asm__ volatile("" ::: "memory"); /* no tail call into nowhere */
}

__attribute__((noinline, used)) void crash_outer(int depth)
{
	crash_here(depth + 1);
	__asm__ volatile("" ::: "memory");
}

static int do_deep(struct ph_call *call, const struct ph_input *in, size_t n)
{
	ph_write(call, "crashing\n", 9);
	ph_flush(call);
	crash_outer(1);
	return 0;
}

static int do_wild(struct ph_call *call, const struct ph_input *in, size_t n)
{
	ph_write(call, "crashing\n", 9);
	ph_flush(call);
	/* No stack at all: the fault's own signal frame cannot be pushed,
	 * and the kernel ends the process with SIGSEGV. */
	__asm__ volatile("mov $0x10, %%rsp\n\t"
			 "mov $0x20, %%rbp\n\t"
			 "movq $0, (%%rsp)\n\t" ::
			     : "memory");
	return 0;
}

static void *crash_thread(void *arg)
{
	crash_outer(2);
	return arg;
}

static int do_thread(struct ph_call *call, const struct ph_input *in, size_t n)
{
	pthread_t t;
	int r;

	ph_write(call, "crashing\n", 9);
	ph_flush(call);
	r = pthread_create(&t, NULL, crash_thread, NULL);
	if (r != 0)
		return ph_error(call, r, "pthread_create failed");
	pthread_join(t, NULL);
	return 0;
}

static const struct ph_method methods[] = {
    {"deep", do_deep},
    {"wild", do_wild},
    {"thread", do_thread},
};

PH_PLUGIN("crasher", "1.0", methods);
