/* SPDX-License-Identifier: MIT */
/*
 * Test plugin "oldabi": a plugin as plughost 0.1's SDK built it, with the
 * plugin ABI 1 descriptor plughost_plugin_v1, whose serve pointer ran the
 * plugin's own copy of the wire protocol. The layout is spelled out here,
 * as the old header had it. The runner must refuse it with a message that
 * says to rebuild, and must never call serve (which would write "served").
 */
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

struct v1_method {
	const char *name;
	int (*fn)(void *call, const void *inputs, size_t n);
};

struct v1_descriptor {
	uint32_t abi_version;
	uint32_t struct_size;
	const char *name;
	const char *version;
	const struct v1_method *methods;
	size_t n_methods;
	int (*serve)(const struct v1_descriptor *self, const void *env);
	void *reserved[4];
};

static int ok(void *call, const void *inputs, size_t n)
{
	(void)call, (void)inputs, (void)n;
	return 0;
}

static int serve(const struct v1_descriptor *self, const void *env)
{
	(void)self, (void)env;
	return 42; /* a runner that called this would see the plugin exit 42 */
}

static const struct v1_method methods[] = {{"ok", ok}};

extern __attribute__((visibility("default"))) const struct v1_descriptor plughost_plugin_v1;
const struct v1_descriptor plughost_plugin_v1 = {
    .abi_version = 1,
    .struct_size = sizeof(struct v1_descriptor),
    .name = "oldabi",
    .version = "0.1",
    .methods = methods,
    .n_methods = 1,
    .serve = serve,
};
