/* SPDX-License-Identifier: MIT */
/*
 * plughost bench (bench.c): what the sandbox costs on this machine, each
 * figure next to a baseline measured in the same run. The constants below
 * are the contract between bench.c and its static helper
 * (bench-helper.c), which the bench execs as the floor under a cold spawn.
 */
#pragma once

/* The helper writes its one byte here: the bench dup2()s its pipe to it. */
#define PH_BENCH_HELPER_FD 3

/* What the helper got, one bit each, in the byte it writes. */
#define PH_BENCH_HELPER_USERNS	0x01u
#define PH_BENCH_HELPER_PIDNS	0x02u
#define PH_BENCH_HELPER_NETNS	0x04u
#define PH_BENCH_HELPER_MNTNS	0x08u
#define PH_BENCH_HELPER_IPCNS	0x10u
#define PH_BENCH_HELPER_NNP	0x20u
#define PH_BENCH_HELPER_SECCOMP 0x40u

/*
 * `plughost bench [OPTIONS]`: argv[0] is "bench". Prints the report (or
 * one JSON document with --json) on standard output, progress on standard
 * error. Returns the process exit status: 0, 1 when a line failed, 2 for
 * bad arguments, 3 when the bench plugin or the runner cannot be found or
 * started.
 */
int ph_cli_bench(int argc, char **argv);
