/* SPDX-License-Identifier: MIT */
/*
 * Test plugin "needs_helper": linked against libphhelper.so from its own
 * directory (DT_NEEDED, RUNPATH $ORIGIN). Method "greet" writes the
 * helper's greeting and a newline.
 */
#include <string.h>

#include <plughost/plugin.h>

const char *phhelper_greeting(void);

static int greet(struct ph_call *call, const struct ph_input *in, size_t n)
{
	(void)in;
	(void)n;
	return ph_printf(call, "%s\n", phhelper_greeting());
}

static const struct ph_method methods[] = {{"greet", greet}};

PH_PLUGIN("needs_helper", "1.0", methods);
