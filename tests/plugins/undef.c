/* SPDX-License-Identifier: MIT */
/*
 * Test plugin "undef": calls a function no library defines, so that
 * loading it (RTLD_NOW) fails in the runner with the loader's own
 * message, which names the file.
 */
#include <plughost/plugin.h>

int ph_test_symbol_nobody_defines(void);

static int run(struct ph_call *call, const struct ph_input *in, size_t n)
{
	(void)in;
	(void)n;
	return ph_printf(call, "%d\n", ph_test_symbol_nobody_defines());
}

static const struct ph_method methods[] = {{"run", run}};

PH_PLUGIN("undef", "1.0", methods);
