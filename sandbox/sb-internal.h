/* SPDX-License-Identifier: MIT */
/*
 * Facts private to the sandbox library: the one architecture its seccomp
 * policy speaks for. The cleanup helpers are common/util.h's.
 */
#pragma once

#include <linux/audit.h>

#include "util.h"

/*
 * The seccomp policy and the notification decoder speak for one
 * architecture. Any other arch seen at run time (i386 through int 0x80,
 * x32) is refused, never interpreted with the wrong syscall table.
 */
#if defined(__x86_64__)
#define PH_AUDIT_ARCH_NATIVE AUDIT_ARCH_X86_64
#define PH_X32_SYSCALL_BIT   0x40000000U
#else
#error "plughost's sandbox supports x86_64 only"
#endif

/* The overflow id: a root host never lends its own uid 0 to a plugin, in
 * a user namespace's maps (ns.c) or without one (caps.c). */
#define PH_NOBODY_ID 65534u
