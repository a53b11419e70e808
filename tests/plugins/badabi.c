/* SPDX-License-Identifier: MIT */
/*
 * Test plugin "badabi": exports plughost_plugin_v1 built by hand with
 * abi_version 999. Everything else about it is sound (a real method, the
 * SDK's request loop), so a runner that forgot the ABI check would load it
 * and serve calls, and the test expecting a descriptor failure would fail.
 */
#include <plughost/plugin.h>

static int ok(struct ph_call *call, __attribute__((unused)) const struct ph_input *inputs,
	      __attribute__((unused)) size_t n_inputs)
{
	return ph_write(call, "served\n", 7);
}

static const struct ph_method methods[] = {
    {"ok", ok},
};

__attribute__((visibility("default"))) const struct ph_plugin_descriptor plughost_plugin_v1 = {
    .abi_version = 999,
    .struct_size = sizeof(struct ph_plugin_descriptor),
    .name = "badabi",
    .version = "1.0",
    .methods = methods,
    .n_methods = sizeof(methods) / sizeof(methods[0]),
    .serve = ph__sdk_serve,
};
