/* SPDX-License-Identifier: MIT */
/*
 * What the plughost CLI's subcommands share (cli-util.c): exit codes,
 * usage errors, option values, the host with its log callback, reporting
 * a failed spawn, and a little JSON.
 *
 * A subcommand is one function `int cmd_NAME(int argc, char **argv)`
 * (argv[0] is its name) with its own usage text, which it prints for
 * -h/--help; main() in plughost.c dispatches to it with one line.
 */
#pragma once

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include <plughost/host.h>

/* Exit codes, one per result kind (documented in --help and plughost(1)). */
enum {
	EXIT_OK = 0,
	EXIT_PLUGIN_ERROR = 1,
	EXIT_USAGE = 2,
	EXIT_SETUP = 3,
	EXIT_CRASHED = 4,
	EXIT_EXITED = 5,
	EXIT_PROTOCOL = 6,
	EXIT_VIOLATION = 7,
	EXIT_TIMEOUT = 8,
	EXIT_CPU = 9,
	EXIT_MEMORY = 10,
	EXIT_OUTPUT = 11,
	EXIT_FD_LIMIT = 12,
	EXIT_THREAD_LIMIT = 13,
	/* plughost's own output failed (as cat: "write error: ..."). */
	EXIT_WRITE_ERROR = 1,
	EXIT_INTERNAL = 70,
	/* Ctrl-C: 128 + SIGINT, as a shell reports a process SIGINT killed. */
	EXIT_INTERRUPTED = 130,
	/* Not an exit status: main() dies of SIGPIPE, as cat does on a
	 * closed pipe when SIGPIPE is not ignored (the shell says 141). */
	EXIT_DIE_OF_SIGPIPE = -1,
};

/* The subcommand running ("run", "info", ...), for messages; NULL: none. */
extern const char *cli_command;

/* The exit code for a result kind; a kind this CLI does not know (one a
 * newer library added) is EXIT_INTERNAL, never success. */
int exit_code(enum ph_result_kind kind);

/* "plughost: <text> (see 'plughost [CMD] --help')" on stderr; EXIT_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* After getopt_long() returned '?' (opterr off): one line saying what was
 * wrong (an unknown option with the closest ones, an ambiguous one with
 * every option it could mean, a missing or extra value); EXIT_USAGE. */
int bad_option(char **argv, const struct option *opts);

/* Of names, the one name abbreviates, else the closest by edit distance
 * (at most a third of its length, and 3), or NULL: for "did you mean". */
const char *closest_of(const char *name, const char *const *names, size_t n);

/* A unit suffix and what one of it is worth in the base unit. */
struct unit {
	const char *suffix;
	uint64_t scale;
};

extern const struct unit duration_units[], size_units[], count_units[];

/* Durations are capped well below where a library adding them to a clock
 * in nanoseconds could overflow: 2^32 - 1 ms is over 49 days. */
#define MAX_DURATION_MS UINT64_C(0xffffffff)

#define DURATION_FORM "milliseconds, or a number with a unit (500ms, 2s, 1.5s, 1m)"
#define SIZE_FORM     "bytes, or a number with K, M or G (64M, 1.5G)"
#define COUNT_FORM    "a whole number"

/*
 * Parse the value of a limit option into *ret, or print one line naming
 * the option and the bad text and return EXIT_USAGE.
 */
int parse_option(const char *option, const char *text, const struct unit *units, int allow_fraction,
		 uint64_t max, const char *what, uint64_t *ret);

/* The plugin's only method, or NULL after saying on stderr that it has
 * several (naming them) and --method must choose. */
const char *cli_only_method(const struct ph_plugin *plugin);

/* "5.8 GiB", "64 KiB", "100 bytes": a size as a person reads it. */
void format_size(uint64_t bytes, char *buf, size_t len);

/* Print res as one line of JSON to out, with a "metrics" member: the
 * instance's counters, or the host's when plugin is NULL. 0, or -errno. */
int write_json(FILE *out, const struct ph_result *res, struct ph_host *host,
	       const struct ph_plugin *plugin);

/* s as a JSON string literal, escaped, to out. */
void json_string(FILE *out, const char *s);

/* What the log callback shows: lines at or above level (PH_ERROR is the
 * most severe), and while capturing, the host's own error lines are kept
 * in captured instead (ph_host_new() says there why it failed). */
struct cli_log {
	enum ph_level level;
	int capture;
	char captured[1024];
};

/* Parse a level name (error, warn or warning, info, debug). 0 or -EINVAL. */
int parse_level(const char *text, enum ph_level *ret);

/* The log callback: "plughost: [plugin] level: line" on stderr. */
void log_line(void *userdata, const struct ph_plugin *instance, enum ph_level sev,
	      const char *line);

/* ph_host_new() with log_line(), or one line on stderr saying why not
 * (where the runner was looked for) and a negative errno. */
int open_host(struct cli_log *log, struct ph_host **ret);

/* After a failed ph_plugin_spawn() (r, *res): one line on stderr naming
 * path; returns the exit code. */
int spawn_failed(const char *path, int r, const struct ph_result *res);

/* Subcommands in their own files. */
int cmd_info(int argc, char **argv);
int cmd_methods(int argc, char **argv);
