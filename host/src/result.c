/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "strbuf.h"

static const char *const kind_names[PH_RESULT_KIND_COUNT] = {
    [PH_RESULT_OK] = "ok",
    [PH_RESULT_PLUGIN_ERROR] = "plugin-error",
    [PH_RESULT_TIMEOUT] = "timeout",
    [PH_RESULT_CPU_LIMIT] = "cpu-limit",
    [PH_RESULT_MEMORY_LIMIT] = "memory-limit",
    [PH_RESULT_OUTPUT_QUOTA] = "output-quota",
    [PH_RESULT_VIOLATION] = "violation",
    [PH_RESULT_CRASHED] = "crashed",
    [PH_RESULT_EXITED] = "exited",
    [PH_RESULT_PROTOCOL] = "protocol-violation",
    [PH_RESULT_SETUP_FAILED] = "setup-failed",
    [PH_RESULT_FD_LIMIT] = "fd-limit",
    [PH_RESULT_THREAD_LIMIT] = "thread-limit",
    [PH_RESULT_OUTPUT_FAILED] = "output-failed",
    [PH_RESULT_INTERRUPTED] = "interrupted",
};

PH_EXPORT const char *ph_result_kind_name(enum ph_result_kind kind)
{
	if ((unsigned)kind >= PH_RESULT_KIND_COUNT)
		return "unknown";
	return kind_names[kind];
}

static const char *const step_names[PH_STEP_MAX + 1] = {
    [PH_STEP_PROTOCOL] = "handshake message",
    [PH_STEP_RING] = "output ring",
    [PH_STEP_USERNS] = "user namespace",
    [PH_STEP_MOUNTS] = "mount namespace",
    [PH_STEP_CAPS] = "capabilities",
    [PH_STEP_NNP] = "no_new_privs",
    [PH_STEP_LANDLOCK] = "landlock",
    [PH_STEP_RLIMITS] = "rlimits",
    [PH_STEP_SECCOMP] = "seccomp",
    [PH_STEP_LOAD] = "load",
    [PH_STEP_DESCRIPTOR] = "descriptor",
    [PH_STEP_SPAWN] = "spawn",
    [PH_STEP_HANDSHAKE] = "handshake",
};

PH_EXPORT const char *ph_setup_step_name(int step)
{
	if (step <= 0 || step > PH_STEP_MAX || !step_names[step])
		return "unknown step";
	return step_names[step];
}

void ph__result_init(struct ph_result *r, enum ph_result_kind kind)
{
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->violation.nr = -1;
}

void ph__result_setup(struct ph_result *r, int step, int err, const char *fmt, ...)
{
	va_list ap;

	ph__result_init(r, PH_RESULT_SETUP_FAILED);
	r->setup_step = step;
	r->code = err;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

void ph__result_protocol(struct ph_result *r, const char *why)
{
	ph__result_init(r, PH_RESULT_PROTOCOL);
	snprintf(r->message, sizeof(r->message), "%s", why);
}

/* What a fault's si_code means, in the words of sigaction(2). */
static const char *fault_cause(int signo, int code)
{
	static const struct {
		int signo, code;
		const char *text;
	} causes[] = {
	    {SIGSEGV, SEGV_MAPERR, "address not mapped"},
	    {SIGSEGV, SEGV_ACCERR, "invalid permissions for mapped object"},
	    {SIGSEGV, SEGV_PKUERR, "protection key check failed"},
	    {SIGBUS, BUS_ADRALN, "invalid address alignment"},
	    {SIGBUS, BUS_ADRERR, "nonexistent physical address"},
	    {SIGBUS, BUS_OBJERR, "object-specific hardware error"},
	    {SIGILL, ILL_ILLOPC, "illegal opcode"},
	    {SIGILL, ILL_ILLOPN, "illegal operand"},
	    {SIGILL, ILL_PRVOPC, "privileged opcode"},
	    {SIGFPE, FPE_INTDIV, "integer divide by zero"},
	    {SIGFPE, FPE_INTOVF, "integer overflow"},
	    {SIGFPE, FPE_FLTDIV, "floating-point divide by zero"},
	    {SIGTRAP, TRAP_BRKPT, "breakpoint"},
	};

	for (size_t i = 0; i < ELEMENTSOF(causes); i++)
		if (causes[i].signo == signo && causes[i].code == code)
			return causes[i].text;
	return "fault";
}

PH_EXPORT int ph_result_describe(const struct ph_result *res, char *buf, size_t len)
{
	const char *sig;

	if (!res || (!buf && len))
		return -EINVAL;
	switch (res->kind) {
	case PH_RESULT_OK:
		return snprintf(buf, len, "ok");
	case PH_RESULT_PLUGIN_ERROR:
		return snprintf(buf, len, "returned error %d%s%s", res->code,
				res->message[0] ? ": " : "", res->message);
	case PH_RESULT_TIMEOUT:
		return snprintf(buf, len, "ran past its deadline (%s) — killed", res->message);
	case PH_RESULT_CPU_LIMIT:
		return snprintf(buf, len, "used up its CPU time: %s — killed", res->message);
	case PH_RESULT_MEMORY_LIMIT:
		return snprintf(buf, len, "went over its memory limit: %s — killed", res->message);
	case PH_RESULT_OUTPUT_QUOTA:
		return snprintf(buf, len, "wrote more output than allowed (%s) — killed",
				res->message);
	case PH_RESULT_FD_LIMIT:
		return snprintf(buf, len, "reached its open-fd limit: %s — killed", res->message);
	case PH_RESULT_THREAD_LIMIT:
		return snprintf(buf, len, "reached its thread limit: %s — killed", res->message);
	case PH_RESULT_VIOLATION:
		if (res->message[0])
			return snprintf(buf, len, "violated the sandbox: %s — killed",
					res->message);
		return snprintf(buf, len,
				"violated the sandbox: unknown syscall (no seccomp user "
				"notification on this kernel) — killed");
	case PH_RESULT_CRASHED:
		sig = sigabbrev_np(res->crash.signo);
		if (res->crash.si_code > 0)
			return snprintf(buf, len, "crashed: SIG%s (%s) at 0x%llx (%s)",
					sig ? sig : "?", strsignal(res->crash.signo),
					(unsigned long long)res->crash.addr,
					fault_cause(res->crash.signo, res->crash.si_code));
		return snprintf(buf, len, "crashed: SIG%s (%s)", sig ? sig : "?",
				strsignal(res->crash.signo));
	case PH_RESULT_EXITED:
		return snprintf(buf, len, "exited with status %d", res->code);
	case PH_RESULT_PROTOCOL:
		return snprintf(buf, len, "broke the protocol: %s — killed", res->message);
	case PH_RESULT_OUTPUT_FAILED:
		/* The host's side failed: say so, not that the plugin did. */
		return snprintf(buf, len,
				"was stopped because the host could not take its output (%s) — "
				"killed",
				res->code ? strerror(res->code) : "the output callback failed");
	case PH_RESULT_INTERRUPTED:
		return snprintf(buf, len, "was interrupted by the host — killed");
	case PH_RESULT_SETUP_FAILED:
		return snprintf(buf, len, "could not be started (%s step): %s%s%s",
				ph_setup_step_name(res->setup_step), res->message,
				res->code ? ": " : "", res->code ? strerror(res->code) : "");
	default:
		return snprintf(buf, len, "unknown result kind %d", (int)res->kind);
	}
}

/* Append s to the JSON text as a string literal, escaped. */
static void json_str(struct ph_strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	ph__strbuf_putc(sb, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			ph__strbuf_putc(sb, '\\');
			ph__strbuf_putc(sb, (char)*p);
		} else if (*p < 0x20 || *p == 0x7f) {
			ph__strbuf_putc(sb, '\\');
			ph__strbuf_putc(sb, 'u');
			ph__strbuf_putc(sb, '0');
			ph__strbuf_putc(sb, '0');
			ph__strbuf_putc(sb, hex[*p >> 4]);
			ph__strbuf_putc(sb, hex[*p & 15]);
		} else
			ph__strbuf_putc(sb, (char)*p);
	}
	ph__strbuf_putc(sb, '"');
}

PH_EXPORT int ph_result_to_json(const struct ph_result *res, char *buf, size_t len)
{
	char line[512];
	struct ph_strbuf sb;
	int r = 0;

	if (!res || (!buf && len))
		return -EINVAL;
	ph__strbuf_init(&sb, buf, len);
	r |= ph__strbuf_printf(&sb, "{\"kind\":\"%s\",\"code\":%d,\"message\":",
			       ph_result_kind_name(res->kind), res->code);
	json_str(&sb, res->message);
	ph_result_describe(res, line, sizeof(line));
	r |= ph__strbuf_printf(&sb, ",\"description\":");
	json_str(&sb, line);
	if (res->kind == PH_RESULT_SETUP_FAILED) {
		r |= ph__strbuf_printf(&sb, ",\"setup_step\":");
		json_str(&sb, ph_setup_step_name(res->setup_step));
	}
	if (res->kind == PH_RESULT_VIOLATION) {
		r |= ph__strbuf_printf(&sb, ",\"violation\":{\"nr\":%d,\"arch\":%u,\"name\":",
				       res->violation.nr, res->violation.arch);
		json_str(&sb, res->violation.name);
		r |= ph__strbuf_printf(&sb, ",\"args\":[%llu,%llu,%llu,%llu,%llu,%llu]}",
				       (unsigned long long)res->violation.args[0],
				       (unsigned long long)res->violation.args[1],
				       (unsigned long long)res->violation.args[2],
				       (unsigned long long)res->violation.args[3],
				       (unsigned long long)res->violation.args[4],
				       (unsigned long long)res->violation.args[5]);
	}
	if (res->kind == PH_RESULT_CRASHED)
		r |= ph__strbuf_printf(
		    &sb,
		    ",\"crash\":{\"signal\":%d,\"signal_name\":\"SIG%s\",\"si_code\":%d,\"addr\":%"
		    "llu}",
		    res->crash.signo, sigabbrev_np(res->crash.signo) ?: "?", res->crash.si_code,
		    (unsigned long long)res->crash.addr);
	r |= ph__strbuf_printf(
	    &sb,
	    ",\"output_bytes\":%llu,\"usage\":{\"user_usec\":%llu,\"sys_usec\":%llu,"
	    "\"max_rss_kib\":%llu}}",
	    (unsigned long long)res->output_bytes, (unsigned long long)res->usage.user_usec,
	    (unsigned long long)res->usage.sys_usec, (unsigned long long)res->usage.max_rss_kib);
	if (r < 0) /* a format vsnprintf could not expand */
		return -EINVAL;
	return sb.want > INT32_MAX ? -EOVERFLOW : (int)sb.want;
}
