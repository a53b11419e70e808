/* SPDX-License-Identifier: MIT */
/*
 * Test plugin "badabi": a descriptor exactly as PH_PLUGIN() makes it, but
 * claiming plugin ABI 999, newer than any runner. Everything else about it
 * is sound (a real method), so a runner that forgot the version check
 * would load it and serve calls, and the test expecting a descriptor
 * failure naming both versions would fail.
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

extern __attribute__((visibility("default"))) const struct ph_plugin_descriptor plughost_plugin_v2;
const struct ph_plugin_descriptor plughost_plugin_v2 = {
    .abi_version = 999,
    .struct_size = sizeof(struct ph_plugin_descriptor),
    .name = "badabi",
    .version = "1.0",
    .methods = methods,
    .n_methods = sizeof(methods) / sizeof(methods[0]),
    .method_size = sizeof(struct ph_method),
    .input_size = sizeof(struct ph_input),
};
