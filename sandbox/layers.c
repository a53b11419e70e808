/* SPDX-License-Identifier: MIT */
/*
 * The sandbox's layers, once: each PH_LAYER_* bit with its name and, for
 * the namespaces, the clone flag that makes it. The host names layers, the
 * planner checks requirements and the runner reports what came up, all
 * from this one table.
 */
#include <sched.h>

#include "sandbox.h"
#include "sb-internal.h"

static const struct {
	uint32_t layer;
	const char *name;
	uint64_t clone_flag; /* 0: not a namespace */
} layers[] = {
    {PH_LAYER_USERNS, "userns", CLONE_NEWUSER},
    {PH_LAYER_PIDNS, "pidns", CLONE_NEWPID},
    {PH_LAYER_NETNS, "netns", CLONE_NEWNET},
    {PH_LAYER_IPCNS, "ipcns", CLONE_NEWIPC},
    {PH_LAYER_MNTNS, "mntns", CLONE_NEWNS},
    {PH_LAYER_UTSNS, "utsns", CLONE_NEWUTS},
    {PH_LAYER_CGROUPNS, "cgroupns", CLONE_NEWCGROUP},
    {PH_LAYER_CAPS, "caps", 0},
    {PH_LAYER_NNP, "nnp", 0},
    {PH_LAYER_LANDLOCK, "landlock", 0},
    {PH_LAYER_RLIMITS, "rlimits", 0},
    {PH_LAYER_SECCOMP, "seccomp", 0},
    {PH_LAYER_NOTIFY, "notify", 0},
    {PH_LAYER_LANDLOCK_NET, "landlock-net", 0},
    {PH_LAYER_SPEC_CTRL, "spec-ctrl", 0},
    {PH_LAYER_CORE_SCHED, "core-sched", 0},
};
_Static_assert(ELEMENTSOF(layers) == PH_LAYER_COUNT &&
		   PH_LAYER_CORE_SCHED == 1u << (PH_LAYER_COUNT - 1),
	       "one entry per layer bit, in bit order");

const char *ph__layer_name(uint32_t bit)
{
	if (!bit || (bit & (bit - 1)))
		return NULL;
	for (size_t i = 0; i < ELEMENTSOF(layers); i++)
		if (layers[i].layer == bit)
			return layers[i].name;
	return NULL;
}

uint64_t ph__layer_clone_flags(uint32_t layer_bits)
{
	uint64_t flags = 0;

	for (size_t i = 0; i < ELEMENTSOF(layers); i++)
		if (layer_bits & layers[i].layer)
			flags |= layers[i].clone_flag;
	return flags;
}

uint32_t ph__layers_of_clone_flags(uint64_t clone_flags)
{
	uint32_t bits = 0;

	for (size_t i = 0; i < ELEMENTSOF(layers); i++)
		if (layers[i].clone_flag && (clone_flags & layers[i].clone_flag))
			bits |= layers[i].layer;
	return bits;
}
