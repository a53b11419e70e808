/* SPDX-License-Identifier: MIT */
/*
 * Test plugin "nodesc": a sound shared object that exports a function but
 * no plughost_plugin_v1 descriptor. Loading it must fail at the descriptor
 * step, not crash and not hang.
 */
__attribute__((visibility("default"))) int nodesc_answer(void);

int nodesc_answer(void)
{
	return 42;
}
