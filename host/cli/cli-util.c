/* SPDX-License-Identifier: MIT */
/*
 * What the plughost CLI's subcommands share (see cli.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *cli_command;

static const int exit_for_kind[PH_RESULT_KIND_COUNT] = {
    [PH_RESULT_OK] = EXIT_OK,
    [PH_RESULT_PLUGIN_ERROR] = EXIT_PLUGIN_ERROR,
    [PH_RESULT_TIMEOUT] = EXIT_TIMEOUT,
    [PH_RESULT_CPU_LIMIT] = EXIT_CPU,
    [PH_RESULT_MEMORY_LIMIT] = EXIT_MEMORY,
    [PH_RESULT_OUTPUT_QUOTA] = EXIT_OUTPUT,
    [PH_RESULT_FD_LIMIT] = EXIT_FD_LIMIT,
    [PH_RESULT_THREAD_LIMIT] = EXIT_THREAD_LIMIT,
    [PH_RESULT_VIOLATION] = EXIT_VIOLATION,
    [PH_RESULT_CRASHED] = EXIT_CRASHED,
    [PH_RESULT_EXITED] = EXIT_EXITED,
    [PH_RESULT_PROTOCOL] = EXIT_PROTOCOL,
    [PH_RESULT_SETUP_FAILED] = EXIT_SETUP,
    [PH_RESULT_OUTPUT_FAILED] = EXIT_WRITE_ERROR,
    [PH_RESULT_INTERRUPTED] = EXIT_INTERRUPTED,
};

int exit_code(enum ph_result_kind kind)
{
	if ((unsigned int)kind >= PH_RESULT_KIND_COUNT)
		return EXIT_INTERNAL;
	if (kind != PH_RESULT_OK && exit_for_kind[kind] == EXIT_OK)
		return EXIT_INTERNAL;
	return exit_for_kind[kind];
}

int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "plughost: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'plughost %s%s--help')\n", cli_command ? cli_command : "",
		cli_command ? " " : "");
	return EXIT_USAGE;
}

/* Edit distance between a and b (both short: option names). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

	if (la >= 63 || lb >= 63)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t best = prev[j - 1] + (a[i - 1] != b[j - 1]);

			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			cur[j] = best;
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	return prev[lb];
}

const char *closest_of(const char *name, const char *const *names, size_t n)
{
	size_t best = SIZE_MAX, limit = strlen(name) / 3 + 1;
	const char *found = NULL;

	for (size_t i = 0; i < n; i++) {
		size_t d = !strncmp(names[i], name, strlen(name)) && *name
			       ? 0 /* a prefix: what it abbreviates */
			       : edit_distance(name, names[i]);

		if (d < best) {
			best = d;
			found = names[i];
		}
	}
	return best <= (limit > 3 ? 3 : limit) ? found : NULL;
}

/* An unknown long option name: the options it is closest to, by edit
 * distance (at most a third of its length, and 3), into buf. */
static void closest(const char *name, const struct option *opts, char *buf, size_t len)
{
	size_t best = SIZE_MAX, limit = strlen(name) / 3 + 1, used = 0;

	if (limit > 3)
		limit = 3;
	buf[0] = '\0';
	for (const struct option *o = opts; o->name; o++) {
		size_t d = edit_distance(name, o->name);

		if (d < best)
			best = d;
	}
	if (best > limit)
		return;
	for (const struct option *o = opts; o->name; o++)
		if (edit_distance(name, o->name) == best && used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s'--%s'",
						 used ? " or " : "", o->name);
}

int bad_option(char **argv, const struct option *opts)
{
	const char *cmd = cli_command ? cli_command : "plughost";

	if (optopt == 0) {
		/* An unknown or ambiguous long option: getopt_long() does not
		 * say which, so look at the name as given. */
		const char *arg = argv[optind - 1];
		char name[64], could[512] = "";
		size_t n = 0, used = 0;

		if (strncmp(arg, "--", 2) != 0)
			return usage_error("unknown option '%s' for '%s'", arg, cmd);
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg + 2, "="), arg + 2);
		for (const struct option *o = opts; o->name; o++) {
			if (strncmp(o->name, name, strlen(name)) != 0)
				continue;
			n++;
			if (used < sizeof(could))
				used += (size_t)snprintf(could + used, sizeof(could) - used,
							 "%s'--%s'", used ? ", " : "", o->name);
		}
		if (n > 1)
			return usage_error("option '--%s' is ambiguous for '%s': it could mean %s",
					   name, cmd, could);
		closest(name, opts, could, sizeof(could));
		if (could[0])
			return usage_error("unknown option '--%s' for '%s'; did you mean %s?", name,
					   cmd, could);
		return usage_error("unknown option '--%s' for '%s'", name, cmd);
	}
	for (const struct option *o = opts; o->name; o++) {
		if (o->val != optopt)
			continue;
		if (o->has_arg == required_argument)
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		return usage_error("option '--%s' takes no value", o->name);
	}
	return usage_error("unknown option '-%c' for '%s'", optopt, cmd);
}

/* Durations in milliseconds: a bare number is milliseconds. */
const struct unit duration_units[] = {
    {"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {NULL, 0},
};

/* Sizes in bytes, binary multiples. */
const struct unit size_units[] = {
    {"", 1},   {"K", UINT64_C(1) << 10}, {"M", UINT64_C(1) << 20}, {"G", UINT64_C(1) << 30},
    {NULL, 0},
};

const struct unit count_units[] = {{"", 1}, {NULL, 0}};

/* At most this many fraction digits: keeps fraction * scale within 64 bits. */
#define MAX_FRACTION_DIGITS 9

const char *cli_only_method(const struct ph_plugin *plugin)
{
	const size_t n = ph_plugin_method_count(plugin);

	if (n == 1)
		return ph_plugin_method_name(plugin, 0);
	fprintf(stderr, "plughost: plugin '%s' has %zu methods; choose one with --method:",
		ph_plugin_name(plugin), n);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, " %s", ph_plugin_method_name(plugin, i));
	fprintf(stderr, "\n");
	return NULL;
}

/*
 * Parse text as digits, an optional '.' and fraction digits, then exactly
 * one of the suffixes in units (nothing else: no sign, no spaces, no
 * leading '.', no trailing junk), and store the value in base units in
 * *ret. A fraction is allowed only when allow_fraction is set, and only
 * when it comes to a whole number of base units ("1.5s" but not "1.5ms").
 *
 * Returns 0; -EINVAL for anything malformed; -ERANGE when the value does
 * not fit in max; -EDOM when it is zero. *ret is written only on success.
 */
static int parse_scaled(const char *text, const struct unit *units, int allow_fraction,
			uint64_t max, uint64_t *ret)
{
	const char *p = text;
	uint64_t whole = 0, frac = 0, frac_scale = 1, value;
	const struct unit *u;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (whole > (UINT64_MAX - d) / 10)
			return -ERANGE;
		whole = whole * 10 + d;
	}
	if (*p == '.') {
		if (!allow_fraction)
			return -EINVAL;
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (int n = 0; *p >= '0' && *p <= '9'; p++, n++) {
			if (n == MAX_FRACTION_DIGITS)
				return -EINVAL;
			frac = frac * 10 + (unsigned int)(*p - '0');
			frac_scale *= 10;
		}
	}
	for (u = units; u->suffix; u++)
		if (!strcmp(p, u->suffix))
			break;
	if (!u->suffix)
		return -EINVAL;

	/* frac < frac_scale <= 10^9 and scale <= 2^30: no overflow here. */
	if ((frac * u->scale) % frac_scale != 0)
		return -EINVAL;
	if (whole > UINT64_MAX / u->scale)
		return -ERANGE;
	value = whole * u->scale;
	if (value > UINT64_MAX - (frac * u->scale) / frac_scale)
		return -ERANGE;
	value += (frac * u->scale) / frac_scale;
	if (value > max)
		return -ERANGE;
	if (value == 0)
		return -EDOM;
	*ret = value;
	return 0;
}

int parse_option(const char *option, const char *text, const struct unit *units, int allow_fraction,
		 uint64_t max, const char *what, uint64_t *ret)
{
	int r = parse_scaled(text, units, allow_fraction, max, ret);

	if (r == -EDOM)
		fprintf(stderr, "plughost: invalid %s '%s': must be more than zero\n", option,
			text);
	else if (r == -ERANGE)
		fprintf(stderr, "plughost: invalid %s '%s': too large\n", option, text);
	else if (r < 0)
		fprintf(stderr, "plughost: invalid %s '%s': expected %s\n", option, text, what);
	return r < 0 ? EXIT_USAGE : 0;
}

void format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, len, "%llu bytes", (unsigned long long)bytes);
		return;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (v == (double)(uint64_t)v)
		snprintf(buf, len, "%.0f %s", v, units[u]);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
}

/*
 * Print the result's JSON object res_json with a "metrics" member added
 * (the instance's counters, or the host's when no instance was spawned)
 * and, after a crash, a "backtrace" member.
 */
static int write_json_metrics(FILE *out, const char *res_json, struct ph_host *host,
			      const struct ph_plugin *plugin)
{
	struct ph_metrics m = {.size = sizeof(m)};
	char mj[4096];
	const size_t n = strlen(res_json);
	int r = plugin ? ph_plugin_metrics(plugin, &m) : host ? ph_host_metrics(host, &m) : -EINVAL;

	if (r == 0)
		r = ph_metrics_to_json(&m, mj, sizeof(mj));
	const char *bt = plugin ? ph_plugin_backtrace(plugin) : NULL;

	if (r < 0 || (size_t)r >= sizeof(mj) || n == 0 || res_json[n - 1] != '}')
		return fprintf(out, "%s\n", res_json);
	if (fprintf(out, "%.*s,\"metrics\":%s", (int)(n - 1), res_json, mj) < 0)
		return -1;
	/* A crash's backtrace, as plughost run prints it on stderr. */
	if (bt) {
		fputs(",\"backtrace\":", out);
		json_string(out, bt);
	}
	return fputs("}\n", out);
}

int write_json(FILE *out, const struct ph_result *res, struct ph_host *host,
	       const struct ph_plugin *plugin)
{
	char small[2048], *buf = small;
	int n, r = 0;

	n = ph_result_to_json(res, small, sizeof(small));
	if (n < 0)
		return n;
	if ((size_t)n >= sizeof(small)) {
		buf = malloc((size_t)n + 1);
		if (!buf)
			return -ENOMEM;
		n = ph_result_to_json(res, buf, (size_t)n + 1);
	}
	if (n >= 0 && (write_json_metrics(out, buf, host, plugin) < 0 || fflush(out) != 0))
		r = -EIO;
	else if (n < 0)
		r = n;
	if (buf != small)
		free(buf);
	return r;
}

void json_string(FILE *out, const char *s)
{
	putc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\u%04x", *p);
		else
			putc(*p, out);
	}
	putc('"', out);
}

static const char *const level_names[] = {
    [PH_ERROR] = "error", [PH_WARN] = "warning", [PH_INFO] = "info", [PH_DEBUG] = "debug"};

int parse_level(const char *text, enum ph_level *ret)
{
	if (!strcmp(text, "warn")) {
		*ret = PH_WARN;
		return 0;
	}
	for (int l = PH_ERROR; l <= PH_DEBUG; l++)
		if (!strcmp(text, level_names[l])) {
			*ret = (enum ph_level)l;
			return 0;
		}
	return -EINVAL;
}

void log_line(void *userdata, const struct ph_plugin *instance, enum ph_level sev, const char *line)
{
	struct cli_log *log = userdata;

	if ((unsigned int)sev > PH_DEBUG)
		sev = PH_DEBUG;
	if (log->capture && !instance && sev == PH_ERROR) {
		snprintf(log->captured, sizeof(log->captured), "%s", line);
		return;
	}
	/* The library's debug notes (such as the clone3 fallback under a
	 * container's seccomp profile) are for -v or --log-level debug. */
	if (sev > log->level)
		return;
	fprintf(stderr, "plughost: [%s] %s: %s\n",
		instance ? (ph_plugin_name(instance) ?: "plugin") : "host", level_names[sev], line);
}

int open_host(struct cli_log *log, struct ph_host **ret)
{
	struct ph_host_config hcfg;
	int r;

	ph_host_config_init(&hcfg);
	hcfg.log_fn = log_line;
	hcfg.log_userdata = log;
	log->capture = 1;
	log->captured[0] = '\0';
	r = ph_host_new(&hcfg, ret);
	log->capture = 0;
	if (r < 0 && log->captured[0])
		fprintf(stderr,
			"plughost: %s (point PLUGHOST_RUNNER at plughost-runner, or reinstall "
			"plughost)\n",
			log->captured);
	else if (r < 0)
		fprintf(stderr, "plughost: cannot set up the host: %s\n", strerror(-r));
	return r;
}

int spawn_failed(const char *path, int r, const struct ph_result *res)
{
	char line[512];

	/* The library always says why; a refused setting of ours would be a
	 * usage error (the options are checked before this). */
	ph_result_describe(res, line, sizeof(line));
	if (res->kind == PH_RESULT_SETUP_FAILED)
		fprintf(stderr, "plughost: cannot load '%s': %s%s%s\n", path, res->message,
			res->code && r != -EINVAL ? ": " : "",
			res->code && r != -EINVAL ? strerror(res->code) : "");
	else
		fprintf(stderr, "plughost: plugin '%s' %s\n", path, line);
	return r == -EINVAL ? EXIT_USAGE : exit_code(res->kind);
}
