/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the policy file parser (host/src/policyfile.c) over
 * hostile text, as ph_policy_parse() gets it from an application (no
 * files: an include line is an error here, so the fuzzer never touches
 * the filesystem). Whatever it accepts must be a policy within its
 * limits; whatever it refuses must say so in one NUL-terminated line with
 * a place inside the text, and leave the output pointer alone. The
 * learner's value formatter is run on the same bytes too.
 *
 * Build: meson setup -Dfuzz=true with CC=clang (tests/meson.build).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <plughost/host.h>

#include "internal.h"
#include "sandbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned int count_lines(const uint8_t *data, size_t size)
{
	unsigned int n = 1;

	for (size_t i = 0; i < size; i++)
		n += data[i] == '\n';
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ph_policy *const untouched = (struct ph_policy *)0x1;
	struct ph_policy *p = untouched;
	struct ph_policy_error err;
	struct ph_policy_info info;
	char text[200];
	int r;

	/* A private copy of exactly size bytes: ASan catches a read past it. */
	char *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	r = ph_policy_parse(copy, size, "fuzz", &p, &err);
	if (r == 0) {
		if (p == untouched || ph_policy_info(p, &info) != 0 ||
		    info.n_rules > PH__SB_MAX_USER_RULES || info.base_version < 1 ||
		    info.base_version > PH__POLICY_BASE_VERSION)
			abort();
		ph_policy_free(p);
	} else {
		if (p != untouched)
			abort();
		if (r != -EBADMSG && r != -EPERM && r != -E2BIG && r != -ENOMEM)
			abort();
		if (!memchr(err.message, '\0', sizeof(err.message)) || !err.message[0] ||
		    strchr(err.message, '\n') || strcmp(err.file, "fuzz") != 0)
			abort();
		if (err.line == 0 || err.line > count_lines(data, size) || err.column == 0 ||
		    err.column > 4097)
			abort();
	}
	free(copy);

	if (size >= 9) {
		uint64_t v;

		memcpy(&v, data + 1, sizeof(v));
		ph__const_format(data[0], v, text, sizeof(text));
		if (!memchr(text, '\0', sizeof(text)))
			abort();
	}
	return 0;
}
