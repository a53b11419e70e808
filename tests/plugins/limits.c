/* SPDX-License-Identifier: MIT */
/*
 * Test plugin "limits": one method per resource a plugin can exhaust, each
 * running until the host's limit stops it (or, where a limit is enforced
 * inside the sandbox, until a call fails and the method reports it).
 *
 *   spin          busy loop forever, never entering the kernel: only a
 *                 CPU limit or a wall-clock deadline can stop it.
 *   sleep         blocks in nanosleep() forever: uses no CPU, so only a
 *                 wall-clock deadline stops it.
 *   malloc        allocates 1 MiB chunks and touches every byte, so they are
 *                 resident, forever. If malloc() fails: error ENOMEM.
 *   threads       creates threads that sleep forever until pthread_create()
 *                 fails, then returns its error. Needs PH_POLICY_THREADS.
 *   flood         writes 64 KiB chunks forever; stops only if ph_write()
 *                 fails (the host went away), returning its error.
 *   fds           dup(0) until it fails, keeping every copy open, then
 *                 returns the errno dup() failed with.
 *   stream_crash  writes 5 MiB where byte i is 'a' + i % 26, flushing after
 *                 each 64 KiB chunk, then stores to address 0x40: SIGSEGV
 *                 after the host has seen the output stream.
 *   ok            writes "ok\n".
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <plughost/plugin.h>

#define UNUSED __attribute__((unused))

#define CHUNK_SIZE	  (64u * 1024u)
#define MALLOC_CHUNK	  (1024u * 1024u)
#define STREAM_CRASH_SIZE (5u * 1024u * 1024u)
#define PATTERN_LEN	  26u
#define THREAD_STACK	  (64u * 1024u)

static char chunk[CHUNK_SIZE];

/* Sleep for as long as the kernel will, again and again. */
static void sleep_forever(void)
{
	struct timespec ts = {.tv_sec = 1000000000, .tv_nsec = 0};

	for (;;)
		nanosleep(&ts, NULL);
}

static int do_spin(struct ph_call *call, UNUSED const struct ph_input *inputs,
		   UNUSED size_t n_inputs)
{
	/* The empty asm with a memory clobber keeps the compiler from
	 * deleting the loop (an infinite loop without side effects may be
	 * assumed to end) while making no system call at all. */
	for (;;)
		__asm__ volatile("" ::: "memory");
	return ph_error(call, 1, "spin: the loop ended");
}

static int do_sleep(struct ph_call *call, UNUSED const struct ph_input *inputs,
		    UNUSED size_t n_inputs)
{
	sleep_forever();
	return ph_error(call, 1, "sleep: woke up for good");
}

/*
 * Every chunk holds a pointer to the previous one and the newest is kept in
 * a global, so the allocations escape and the compiler cannot drop the
 * malloc() or the memset() as dead.
 */
static void *volatile malloc_head;

static int do_malloc(struct ph_call *call, UNUSED const struct ph_input *inputs,
		     UNUSED size_t n_inputs)
{
	for (;;) {
		void **p = malloc(MALLOC_CHUNK);

		if (!p)
			return ph_error(call, ENOMEM, "malloc failed");
		/* Nonzero, so every page is really written and resident
		 * (zero pages could stay shared with the zero page). */
		memset(p, 0x5a, MALLOC_CHUNK);
		p[0] = malloc_head;
		malloc_head = p;
	}
}

static void *thread_main(UNUSED void *arg)
{
	sleep_forever();
	return NULL;
}

static int do_threads(struct ph_call *call, UNUSED const struct ph_input *inputs,
		      UNUSED size_t n_inputs)
{
	pthread_attr_t attr;
	unsigned int count = 0;
	int r;

	/* Small stacks, so that the thread limit is what stops the loop and
	 * not the address space the default 8 MiB stacks would take. */
	r = pthread_attr_init(&attr);
	if (r == 0)
		r = pthread_attr_setstacksize(&attr, THREAD_STACK);
	if (r == 0)
		r = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (r != 0)
		return ph_error(call, r, "pthread_attr: %s", strerrordesc_np(r));

	for (;;) {
		pthread_t t;

		r = pthread_create(&t, &attr, thread_main, NULL);
		if (r != 0)
			break;
		count++;
	}
	pthread_attr_destroy(&attr);
	return ph_error(call, r, "pthread_create failed after %u threads: %s", count,
			strerrordesc_np(r));
}

static int do_flood(struct ph_call *call, UNUSED const struct ph_input *inputs,
		    UNUSED size_t n_inputs)
{
	memset(chunk, 'f', sizeof(chunk));
	for (;;) {
		int r = ph_write(call, chunk, sizeof(chunk));

		if (r < 0)
			return r;
	}
}

static int do_fds(struct ph_call *call, UNUSED const struct ph_input *inputs,
		  UNUSED size_t n_inputs)
{
	unsigned int count = 0;
	int err;

	/* fd 0 is /dev/null in every instance. The copies stay open: the
	 * point is to reach the limit. */
	while (dup(0) >= 0)
		count++;
	err = errno;
	return ph_error(call, err, "dup failed after %u fds: %s", count, strerrordesc_np(err));
}

static int do_stream_crash(struct ph_call *call, UNUSED const struct ph_input *inputs,
			   UNUSED size_t n_inputs)
{
	/* Both volatile: the pointer so the compiler cannot prove where it
	 * points and turn the store into a trap (SIGILL), the target so it
	 * cannot drop the store. Address 0x40, not NULL: the fault must be a
	 * plain SIGSEGV in sanitizer builds too, where UBSan would otherwise
	 * stop to report a NULL store. */
	volatile int *volatile nowhere = (volatile int *)(uintptr_t)0x40;

	for (size_t off = 0; off < STREAM_CRASH_SIZE; off += CHUNK_SIZE) {
		int r;

		for (size_t i = 0; i < CHUNK_SIZE; i++)
			chunk[i] = (char)('a' + (off + i) % PATTERN_LEN);
		r = ph_write(call, chunk, CHUNK_SIZE);
		if (r == 0)
			r = ph_flush(call);
		if (r < 0)
			return r;
	}
	*nowhere = 1;
	return ph_error(call, 1, "stream_crash: still alive after a store to 0x40");
}

/* Keep one more MiB at each call (written, so resident), and say how
 * many it holds: memory that grows across many short calls. */
static int do_grow(struct ph_call *call, UNUSED const struct ph_input *inputs,
		   UNUSED size_t n_inputs)
{
	static unsigned long held;
	void **p = malloc(1u << 20);

	if (!p)
		return ph_error(call, ENOMEM, "malloc failed");
	memset(p, 0x5a, 1u << 20);
	p[0] = malloc_head;
	malloc_head = p;
	return ph_printf(call, "%lu", ++held);
}

static int do_ok(struct ph_call *call, UNUSED const struct ph_input *inputs, UNUSED size_t n_inputs)
{
	return ph_write(call, "ok\n", 3);
}

static const struct ph_method methods[] = {
    {"spin", do_spin},
    {"sleep", do_sleep},
    {"malloc", do_malloc},
    {"threads", do_threads},
    {"flood", do_flood},
    {"fds", do_fds},
    {"stream_crash", do_stream_crash},
    {"ok", do_ok},
    {"grow", do_grow},
};

PH_PLUGIN("limits", "1.0", methods);
