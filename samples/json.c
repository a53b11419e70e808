/* SPDX-License-Identifier: MIT */
/*
 * Sample plugin "json", through jansson (Debian's libjansson): method
 * "pretty" parses its one input as JSON with jansson and prints it the way
 * `python3 -m json.tool` does, byte for byte: 4-space indent, ", "-free
 * lines ending in ",", ": " after keys, "[]" and "{}" for empty
 * containers, keys in document order (a repeated key keeps its first
 * place and its last value, as a Python dict does), strings escaped as
 * with ensure_ascii (every byte outside space..'~' as \uXXXX in lowercase
 * hex, a surrogate pair above U+FFFF, and \" \\ \b \f \n \r \t), reals as
 * Python's repr() writes them (the shortest digits that read back the
 * same: 0.1, 1e-07, 1e+22, 100.0), and a final newline. Invalid JSON is a
 * plugin error naming the line and column jansson stopped at.
 *
 * jansson parses; the printing is this file's own, because jansson's
 * dumper writes reals with 17 digits (0.10000000000000001) and \u escapes
 * in upper case. Where the two tools still differ, both refuse or the
 * plugin is stricter: jansson refuses NaN and Infinity (Python takes
 * them), integers outside -2^63..2^63-1 and reals that overflow (Python
 * takes both), and nesting deeper than 2048 (Python's limit is its
 * recursion limit, about 1000).
 *
 * jansson seeds its hash function on first use from /dev/urandom, which
 * the sandbox does not have (and open() is refused once the plugin runs):
 * the plugin seeds it from getrandom() first, which the policy allows.
 *
 * Error codes: 1, the input is not valid JSON (line and column in the
 * message); 2, bad arguments (not exactly one whole input); 3, out of
 * memory.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <jansson.h>

#include <plughost/plugin.h>

#define OUT_SIZE (64u * 1024u)

/* Output, buffered into ph_write()s of up to OUT_SIZE bytes. */
struct out {
	struct ph_call *call;
	size_t len;
	int error; /* the first ph_write() error, then nothing more is written */
	unsigned char buf[OUT_SIZE];
};

/* One call at a time: static keeps the buffer off the stack. */
static struct out out_state;

static void put(struct out *o, const char *s, size_t n)
{
	while (n > 0 && !o->error) {
		size_t room = OUT_SIZE - o->len, k = n < room ? n : room;

		memcpy(o->buf + o->len, s, k);
		o->len += k;
		s += k;
		n -= k;
		if (o->len == OUT_SIZE) {
			o->error = ph_write(o->call, o->buf, o->len);
			o->len = 0;
		}
	}
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void indent(struct out *o, unsigned depth)
{
	put(o, "\n", 1);
	for (unsigned i = 0; i < depth; i++)
		put(o, "    ", 4);
}

/* Decode one UTF-8 sequence of s[0..n) (jansson has validated it). */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len = s[0] < 0x80 ? 1 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;

	if (len > n)
		len = n;
	*cp = len == 1 ? s[0] : (uint32_t)(s[0] & (0x7f >> len));
	for (size_t i = 1; i < len; i++)
		*cp = (*cp << 6) | (s[i] & 0x3f);
	return len;
}

/* A string as Python's json.dumps(ensure_ascii=True) writes it. */
static void put_string(struct out *o, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	char esc[16];

	put(o, "\"", 1);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8_next(s + i, n - i, &cp);

		i += len;
		switch (cp) {
		case '"':
			puts_(o, "\\\"");
			continue;
		case '\\':
			puts_(o, "\\\\");
			continue;
		case '\b':
			puts_(o, "\\b");
			continue;
		case '\f':
			puts_(o, "\\f");
			continue;
		case '\n':
			puts_(o, "\\n");
			continue;
		case '\r':
			puts_(o, "\\r");
			continue;
		case '\t':
			puts_(o, "\\t");
			continue;
		}
		if (cp >= ' ' && cp <= '~') {
			esc[0] = (char)cp;
			put(o, esc, 1);
		} else if (cp < 0x10000) {
			snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)cp);
			put(o, esc, 6);
		} else {
			cp -= 0x10000;
			snprintf(esc, sizeof(esc), "\\u%04x\\u%04x", 0xd800u | (unsigned)(cp >> 10),
				 0xdc00u | (unsigned)(cp & 0x3ff));
			put(o, esc, 12);
		}
	}
	put(o, "\"", 1);
}

/*
 * A finite double as Python's repr() writes it: the fewest significant
 * digits that read back as the same double, in fixed notation when the
 * decimal point falls within 16 places (-4 < exponent + 1 <= 16) with
 * ".0" for a whole number, else as d[.ddd]e[+-]XX.
 */
static void put_real(struct out *o, double v)
{
	char sci[40], digits[20], text[64];
	int prec, exp10, nd = 0, decpt;
	char *p = text;

	for (prec = 1; prec <= 17; prec++) {
		snprintf(sci, sizeof(sci), "%.*e", prec - 1, v);
		if (strtod(sci, NULL) == v)
			break;
	}
	/* sci is [-]d[.ddd]e[+-]X: split it into digits and exponent. */
	for (const char *s = sci; *s && *s != 'e'; s++)
		if (*s >= '0' && *s <= '9')
			digits[nd++] = *s;
	exp10 = atoi(strchr(sci, 'e') + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
	if (signbit(v))
		*p++ = '-';
	decpt = exp10 + 1;
	if (decpt > -4 && decpt <= 16) {
		if (decpt <= 0) {
			p += sprintf(p, "0.%.*s%s", -decpt, "0000", digits);
		} else if (decpt >= nd) {
			p += sprintf(p, "%s%.*s.0", digits, decpt - nd, "0000000000000000");
		} else {
			p += sprintf(p, "%.*s.%s", decpt, digits, digits + decpt);
		}
	} else {
		p += sprintf(p, "%c", digits[0]);
		if (nd > 1)
			p += sprintf(p, ".%s", digits + 1);
		p += sprintf(p, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
	}
	put(o, text, (size_t)(p - text));
}

static void put_value(struct out *o, json_t *v, unsigned depth)
{
	char num[32];

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *item;
		int first = 1;

		if (json_object_size(v) == 0) {
			puts_(o, "{}");
			return;
		}
		put(o, "{", 1);
		for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
			key = json_object_iter_key(it);
			item = json_object_iter_value(it);
			if (!first)
				put(o, ",", 1);
			first = 0;
			indent(o, depth + 1);
			put_string(o, key, json_object_iter_key_len(it));
			puts_(o, ": ");
			put_value(o, item, depth + 1);
		}
		indent(o, depth);
		put(o, "}", 1);
		return;
	}
	case JSON_ARRAY:
		if (json_array_size(v) == 0) {
			puts_(o, "[]");
			return;
		}
		put(o, "[", 1);
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				put(o, ",", 1);
			indent(o, depth + 1);
			put_value(o, json_array_get(v, i), depth + 1);
		}
		indent(o, depth);
		put(o, "]", 1);
		return;
	case JSON_STRING:
		put_string(o, json_string_value(v), json_string_length(v));
		return;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		puts_(o, num);
		return;
	case JSON_REAL:
		put_real(o, json_real_value(v));
		return;
	case JSON_TRUE:
		puts_(o, "true");
		return;
	case JSON_FALSE:
		puts_(o, "false");
		return;
	case JSON_NULL:
		puts_(o, "null");
		return;
	}
}

static int pretty(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs)
{
	struct out *o = &out_state;
	json_error_t err;
	json_t *doc;
	uint32_t seed = 0;

	if (n_inputs != 1)
		return ph_error(call, 2, "pretty: want one input, the JSON text, not %zu",
				n_inputs);
	/* Before any object exists: jansson would read /dev/urandom. */
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed) || seed == 0)
		seed = 0x9e3779b9u;
	json_object_seed(seed);
	/* DECODE_ANY: a bare scalar is a JSON text too (RFC 8259), as for
	 * Python. ALLOW_NUL: "\u0000" in a string is valid JSON. */
	doc = json_loadb(inputs[0].data ? inputs[0].data : "", inputs[0].len,
			 JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	if (!doc) {
		if (json_error_code(&err) == json_error_out_of_memory)
			return ph_error(call, 3, "pretty: out of memory");
		return ph_error(call, 1, "invalid JSON at line %d, column %d: %s", err.line,
				err.column, err.text);
	}
	o->call = call;
	o->len = 0;
	o->error = 0;
	put_value(o, doc, 0);
	put(o, "\n", 1);
	json_decref(doc);
	if (!o->error && o->len)
		o->error = ph_write(call, o->buf, o->len);
	return o->error;
}

static const struct ph_method methods[] = {
    {"pretty", pretty},
};

PH_PLUGIN("json", "1.0", methods);
