/* SPDX-License-Identifier: MIT */
/*
 * Test plugin "ctor_crash": its ELF constructor calls abort(), so it dies
 * with SIGABRT while the runner loads it, before any descriptor is read.
 * Constructors are plugin code: the host must see a crash at load, and the
 * sandbox must already be in place when it runs. The descriptor is valid,
 * so without the constructor the plugin would load fine: a spawn that
 * succeeds means the constructor never ran, and the test must fail.
 */
#include <stdlib.h>

#include <plughost/plugin.h>

__attribute__((constructor)) static void die_while_loading(void)
{
	abort();
}

static int ok(struct ph_call *call, __attribute__((unused)) const struct ph_input *inputs,
	      __attribute__((unused)) size_t n_inputs)
{
	return ph_write(call, "constructor did not run\n", 24);
}

static const struct ph_method methods[] = {
    {"ok", ok},
};

PH_PLUGIN("ctor_crash", "1.0", methods);
