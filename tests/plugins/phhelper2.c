/* SPDX-License-Identifier: MIT */
/*
 * libphhelper2.so: what libphhelper.so itself needs from the same
 * directory (its RUNPATH is $ORIGIN too), so that the plugin's needs are
 * followed one level further.
 */
__attribute__((visibility("default"))) const char *phhelper2_word(void);

const char *phhelper2_word(void)
{
	return "libphhelper";
}
