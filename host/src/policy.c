/* SPDX-License-Identifier: MIT */
/*
 * The public seccomp policy API: a preset plus the caller's extra rules,
 * validated here and kept in the sandbox's plain form, which
 * ph__policy_compile() (sandbox/policy.c) turns into a BPF program. An
 * instance and a pool keep their own copy (ph__policy_dup), so the caller
 * may free or change its policy as soon as the spawn returns.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sandbox.h"

/* The public operators are the sandbox's: one set of values. */
_Static_assert(PH_ARG_EQ == (int)PH__SB_ARG_EQ, "ph_arg_op and ph__sb_arg_op differ");
_Static_assert(PH_ARG_NE == (int)PH__SB_ARG_NE, "ph_arg_op and ph__sb_arg_op differ");
_Static_assert(PH_ARG_LT == (int)PH__SB_ARG_LT, "ph_arg_op and ph__sb_arg_op differ");
_Static_assert(PH_ARG_LE == (int)PH__SB_ARG_LE, "ph_arg_op and ph__sb_arg_op differ");
_Static_assert(PH_ARG_GT == (int)PH__SB_ARG_GT, "ph_arg_op and ph__sb_arg_op differ");
_Static_assert(PH_ARG_GE == (int)PH__SB_ARG_GE, "ph_arg_op and ph__sb_arg_op differ");
_Static_assert(PH_ARG_MASKED_EQ == (int)PH__SB_ARG_MASKED_EQ, "ph_arg_op and ph__sb_arg_op differ");

struct ph_policy {
	struct ph__sb_policy sb; /* sb.rules points into rules */
	struct ph__sb_user_rule *rules;
	size_t n_files; /* files a policy file was read from (0: the API) */
};

PH_EXPORT int ph_policy_new(enum ph_policy_preset preset, struct ph_policy **ret_policy)
{
	struct ph_policy *p;

	if (!ret_policy || (preset != PH_POLICY_STRICT && preset != PH_POLICY_THREADS))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->sb.threads = preset == PH_POLICY_THREADS;
	p->sb.base_version = PH__POLICY_BASE_VERSION;
	*ret_policy = p;
	return 0;
}

PH_EXPORT int ph_policy_allow(struct ph_policy *policy, const char *name,
			      const struct ph_arg_cond *conds, unsigned int n)
{
	struct ph__sb_user_rule *rules, *rule;
	unsigned int seen = 0;
	int nr;

	if (!policy || !name || !*name || n > PH__SB_ARGS_MAX || (n > 0 && !conds))
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		/* libseccomp takes one comparison per argument in a rule. */
		if (conds[i].arg >= PH__SB_ARGS_MAX || (seen & (1u << conds[i].arg)) ||
		    conds[i].op < PH_ARG_EQ || conds[i].op > PH_ARG_MASKED_EQ)
			return -EINVAL;
		seen |= 1u << conds[i].arg;
		/* The compiled program's stand-in for the plugin's pid
		 * (sandbox.h): no real argument needs it. */
		if ((uint32_t)conds[i].value == PH__SB_SELF_PID ||
		    (uint32_t)(conds[i].value >> 32) == PH__SB_SELF_PID ||
		    (uint32_t)conds[i].mask == PH__SB_SELF_PID ||
		    (uint32_t)(conds[i].mask >> 32) == PH__SB_SELF_PID)
			return -EINVAL;
	}

	nr = ph__policy_syscall_nr(name);
	if (nr < 0)
		return nr;
	if (ph__policy_never_allowed(nr))
		return -EPERM;
	if (policy->sb.n_rules >= PH__SB_MAX_USER_RULES)
		return -ENOMEM;

	rules = realloc(policy->rules, (policy->sb.n_rules + 1) * sizeof(*rules));
	if (!rules)
		return -ENOMEM;
	policy->rules = rules;
	policy->sb.rules = rules;
	rule = &rules[policy->sb.n_rules++];
	memset(rule, 0, sizeof(*rule));
	rule->nr = nr;
	rule->n = n;
	for (unsigned int i = 0; i < n; i++) {
		rule->conds[i].arg = conds[i].arg;
		rule->conds[i].op = (int)conds[i].op;
		rule->conds[i].value = conds[i].value;
		rule->conds[i].mask = conds[i].mask;
	}
	return 0;
}

int ph__policy_equal(const struct ph_policy *a, const struct ph_policy *b)
{
	if (!a || !b)
		return !a && !b;
	return a->sb.threads == b->sb.threads && a->sb.base_version == b->sb.base_version &&
	       a->sb.n_rules == b->sb.n_rules &&
	       (a->sb.n_rules == 0 ||
		memcmp(a->rules, b->rules, a->sb.n_rules * sizeof(*a->rules)) == 0);
}

PH_EXPORT int ph_policy_set_preset(struct ph_policy *policy, enum ph_policy_preset preset)
{
	if (!policy || (preset != PH_POLICY_STRICT && preset != PH_POLICY_THREADS))
		return -EINVAL;
	policy->sb.threads = preset == PH_POLICY_THREADS;
	return 0;
}

PH_EXPORT unsigned int ph_policy_base_version(void)
{
	return PH__POLICY_BASE_VERSION;
}

PH_EXPORT int ph_policy_info(const struct ph_policy *policy, struct ph_policy_info *ret)
{
	if (!policy || !ret)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	ret->preset = policy->sb.threads ? PH_POLICY_THREADS : PH_POLICY_STRICT;
	ret->base_version = policy->sb.base_version;
	ret->n_rules = policy->sb.n_rules;
	ret->n_files = policy->n_files;
	return 0;
}

int ph__policy_set_base(struct ph_policy *policy, unsigned int version, size_t n_files)
{
	if (!policy || version < 1 || version > PH__POLICY_BASE_VERSION)
		return -EINVAL;
	policy->sb.base_version = version;
	policy->n_files = n_files;
	return 0;
}

PH_EXPORT void ph_policy_free(struct ph_policy *policy)
{
	if (!policy)
		return;
	free(policy->rules);
	free(policy);
}

int ph__policy_dup(const struct ph_policy *policy, struct ph_policy **ret_copy)
{
	struct ph_policy *c;

	if (!policy) {
		*ret_copy = NULL;
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->sb = policy->sb;
	c->sb.rules = NULL;
	c->n_files = policy->n_files;
	if (policy->sb.n_rules > 0) {
		c->rules = malloc(policy->sb.n_rules * sizeof(*c->rules));
		if (!c->rules) {
			free(c);
			return -ENOMEM;
		}
		memcpy(c->rules, policy->rules, policy->sb.n_rules * sizeof(*c->rules));
		c->sb.rules = c->rules;
	}
	*ret_copy = c;
	return 0;
}

const struct ph__sb_policy *ph__policy_sb(const struct ph_policy *policy)
{
	return policy ? &policy->sb : NULL;
}
