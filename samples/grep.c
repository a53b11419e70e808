/* SPDX-License-Identifier: MIT */
/*
 * Sample plugin "grep", through PCRE2 (Debian's libpcre2-8): method "grep"
 * takes two inputs, a Perl-compatible regular expression and a text, and
 * prints the lines of the text that match, as `grep -P PATTERN` does in the
 * C locale: each matching line with its newline (a last line without one
 * gets one added), nothing else.
 *
 *   plughost run grep.so -i pattern.txt -i notes.txt
 *
 * The pattern is the first input's bytes, less one trailing newline (so
 * `echo 'a+b' > pattern.txt` works); it must not contain a NUL. Lines
 * are matched without their newline, so ^ and $ are the line's ends, as
 * in grep. Bytes, not characters: no UTF mode, as grep -P in the C locale.
 *
 * Results, like grep's exit status: the call succeeds when at least one
 * line matched; no matching line is plugin error 1 with no output (grep
 * exits 1); a pattern that does not compile is plugin error 2 naming the
 * offset and PCRE2's reason (grep exits 2). Other errors, 2 as well: not
 * exactly two inputs, or a line on which matching hit PCRE2's match or
 * depth limit (set here so that a pathological pattern fails instead of
 * running until the host's timeout). Unlike grep, a text with NUL bytes
 * is matched line by line as any other, not reported as a "binary file".
 *
 * No JIT: PCRE2's JIT maps executable memory, which the strict policy
 * refuses once the plugin runs (design.md, seccomp stage 2). The
 * interpreter needs only malloc.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <string.h>

#include <pcre2.h>

#include <plughost/plugin.h>

/* Bounds on one line's match, as grep -P sets its own. */
#define MATCH_LIMIT 10000000u
#define DEPTH_LIMIT 10000u

static int grep(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs)
{
	pcre2_code *re = NULL;
	pcre2_match_data *md = NULL;
	pcre2_match_context *mc = NULL;
	const char *pat, *text;
	size_t pat_len, text_len, matched = 0;
	PCRE2_SIZE err_off;
	int err, r = 0;

	if (n_inputs != 2)
		return ph_error(call, 2, "grep: want two inputs, the pattern and the text, not %zu",
				n_inputs);
	pat = inputs[0].data ? inputs[0].data : "";
	pat_len = inputs[0].len;
	text = inputs[1].data;
	text_len = inputs[1].len;
	if (pat_len > 0 && pat[pat_len - 1] == '\n')
		pat_len--;
	if (memchr(pat, '\0', pat_len))
		return ph_error(call, 2, "grep: the pattern contains a NUL byte");

	re = pcre2_compile((PCRE2_SPTR)pat, pat_len, 0, &err, &err_off, NULL);
	if (!re) {
		PCRE2_UCHAR msg[256];

		pcre2_get_error_message(err, msg, sizeof(msg));
		return ph_error(call, 2, "grep: bad pattern at offset %zu: %s", (size_t)err_off,
				(const char *)msg);
	}
	md = pcre2_match_data_create_from_pattern(re, NULL);
	mc = pcre2_match_context_create(NULL);
	if (!md || !mc) {
		r = ph_error(call, 2, "grep: out of memory");
		goto out;
	}
	pcre2_set_match_limit(mc, MATCH_LIMIT);
	pcre2_set_depth_limit(mc, DEPTH_LIMIT);

	for (size_t pos = 0; pos < text_len && r == 0;) {
		const char *line = text + pos, *nl = memchr(line, '\n', text_len - pos);
		size_t len = nl ? (size_t)(nl - line) : text_len - pos;
		int m = pcre2_match(re, (PCRE2_SPTR)line, len, 0, 0, md, mc);

		pos += len + (nl ? 1 : 0);
		if (m == PCRE2_ERROR_NOMATCH)
			continue;
		if (m < 0) {
			PCRE2_UCHAR msg[256];

			pcre2_get_error_message(m, msg, sizeof(msg));
			r = ph_error(call, 2, "grep: matching the line at byte %zu: %s",
				     (size_t)(line - text), (const char *)msg);
			break;
		}
		matched++;
		r = ph_write(call, line, len);
		if (r == 0)
			r = ph_write(call, "\n", 1);
	}
	if (r == 0 && matched == 0)
		r = ph_error(call, 1, "grep: no line matched");
out:
	pcre2_match_context_free(mc);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return r;
}

static const struct ph_method methods[] = {
    {"grep", grep},
};

PH_PLUGIN("grep", "1.0", methods);
