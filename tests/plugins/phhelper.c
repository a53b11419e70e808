/* SPDX-License-Identifier: MIT */
/*
 * libphhelper.so: a library of the plugin's own, beside it in its
 * directory, for needs_helper.so (which finds it through RUNPATH $ORIGIN).
 * It needs libphhelper2.so from the same directory in turn.
 */
#include <stdio.h>

__attribute__((visibility("default"))) const char *phhelper_greeting(void);
const char *phhelper2_word(void);

const char *phhelper_greeting(void)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "hello from %s", phhelper2_word());
	return buf;
}
