/* SPDX-License-Identifier: MIT */
/*
 * libphhelper.so: a library of the plugin's own, beside it in its
 * directory, for needs_helper.so (which finds it through RUNPATH $ORIGIN).
 */
__attribute__((visibility("default"))) const char *phhelper_greeting(void);

const char *phhelper_greeting(void)
{
	return "hello from libphhelper";
}
