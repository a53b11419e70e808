/* SPDX-License-Identifier: MIT */
/* A position-independent executable, which a user might rename to .so
 * and try to run: plughost must say it is not a shared object. */
#include <stdio.h>

int main(void)
{
	puts("an executable");
	return 0;
}
