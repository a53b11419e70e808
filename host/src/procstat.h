/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>
#include <sys/types.h>

struct ph__proc_status {
	uint64_t rss_kib; /* VmRSS: resident now */
	uint64_t hwm_kib; /* VmHWM: peak resident */
	uint32_t threads;
	pid_t ppid; /* PPid: its parent, in the host's pid namespace */
};

/* CPU time of process pid (all its threads), in microseconds. cache: an
 * fd slot kept open between reads (init to -1, close when done), or NULL. */
int ph__proc_cpu_usec(pid_t pid, int *cache, uint64_t *ret_user, uint64_t *ret_sys);
/* CPU time of process pid (all its threads) from its CPU-time clock, in
 * microseconds: one syscall, and exact, where /proc counts clock ticks.
 * 0 when the clock cannot be read (the process is gone). */
uint64_t ph__proc_cpu_clock_usec(pid_t pid);
/* Resident memory, its peak, and the thread count of pid (cache as above). */
int ph__proc_status(pid_t pid, int *cache, struct ph__proc_status *ret);
/* How many fds pid has open, or a negative errno. */
int ph__proc_count_fds(pid_t pid);
/*
 * Memory the machine can still hand out without swapping, in bytes:
 * MemAvailable from /proc/meminfo, else free plus buffer RAM from
 * sysinfo(2). Host-side buffers whose size a plugin or an endless input
 * controls are bounded by a fraction of it (tmpfs and heap pages cannot
 * be swapped out on a machine without swap).
 */
uint64_t ph__mem_available(void);

/* The pid (in our namespace) of the process pidfd refers to; -ESRCH once
 * it has exited, another negative errno when pidfd is no pidfd. */
pid_t ph__proc_pidfd_pid(int pidfd);
