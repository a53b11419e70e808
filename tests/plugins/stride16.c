/* SPDX-License-Identifier: MIT */
/*
 * Test plugin "stride16": a plugin built against plughost 0.2's header,
 * before struct ph_input had flags: its inputs are 16 bytes apart (data,
 * len), and its descriptor says so (input_size 16, flags 0). Its one
 * method "lens" walks the inputs with that stride and writes
 * "n=N LEN:SUM ...\n" (SUM: the bytes added up mod 2^32), so a runner
 * that laid them out with its own, longer stride shows at once. The
 * runner must still run it, and never give it a stream.
 */
#include <inttypes.h>
#include <stdio.h>

#include <plughost/plugin.h>

struct input_v0_2 {
	const void *data;
	size_t len;
};

static int lens(struct ph_call *call, const struct ph_input *inputs, size_t n)
{
	const struct input_v0_2 *in = (const struct input_v0_2 *)(const void *)inputs;
	int r = ph_printf(call, "n=%zu", n);

	for (size_t i = 0; i < n && r == 0; i++) {
		const unsigned char *p = in[i].data;
		uint32_t sum = 0;

		for (size_t j = 0; j < in[i].len; j++)
			sum += p[j];
		r = ph_printf(call, " %zu:%" PRIu32, in[i].len, sum);
	}
	return r ? r : ph_printf(call, "\n");
}

static const struct ph_method methods[] = {{"lens", lens}};

/* What PH_PLUGIN() of plughost 0.2 expanded to, with that header's input
 * size. */
__attribute__((visibility("default"))) extern const struct ph_plugin_descriptor plughost_plugin_v2;
const struct ph_plugin_descriptor plughost_plugin_v2 = {
    PH_PLUGIN_ABI_VERSION,
    (uint32_t)sizeof(struct ph_plugin_descriptor),
    "stride16",
    "1.0",
    methods,
    1,
    (uint32_t)sizeof(struct ph_method),
    (uint32_t)sizeof(struct input_v0_2),
    0,
    {0, 0, 0, 0}};
