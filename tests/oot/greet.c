/* SPDX-License-Identifier: MIT */
/*
 * An out-of-tree plugin (tests/install-test.sh, tests/subproject-test.sh):
 * built against an installed or subproject plughost, never this tree.
 * "greet" says hello to its one input.
 */
#include <plughost/plugin.h>

static int greet(struct ph_call *call, const struct ph_input *in, size_t n)
{
	if (n != 1)
		return ph_error(call, 2, "want one input, got %zu", n);
	return ph_printf(call, "hello, %.*s\n", (int)in[0].len, (const char *)in[0].data);
}

static const struct ph_method methods[] = {{"greet", greet}};
PH_PLUGIN("greet", "1.0", methods);
