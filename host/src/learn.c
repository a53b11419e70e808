/* SPDX-License-Identifier: MIT */
/*
 * Learning mode: the seccomp listener lets a syscall beyond the policy go
 * on (CONTINUE) and records it with the shape of its arguments, and the
 * learner writes the smallest policy file under which the same run passes.
 *
 * Learning must be no way out of the sandbox. It never lets on a call no
 * policy may allow (ph__policy_never_allowed: ptrace, unshare, mount,
 * bpf, exec, opens after loading, executable memory, signals to others),
 * nor the calls design.md section 3 denies that a hand-written rule could
 * still lift (sockets, ioctl, prctl beyond the base's list, the futex
 * operations the base leaves out, fcntl's signal, lease and flag
 * commands): those are killed and reported as in any run. CONTINUE is
 * decided from the registers the kernel reported, never from memory the
 * plugin can change (seccomp_unotify(2)), and pointer arguments are
 * recorded only as pointers, never read.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "internal.h"
#include "sandbox.h"

#define LEARN_MAX_SYSCALLS 256u /* distinct syscalls: a policy holds no more rules */
#define LEARN_MAX_SHAPES   8u	/* argument shapes kept per syscall */

struct shape {
	uint64_t value[PH__SB_ARGS_MAX]; /* the VALUE arguments; 0 for the others */
	uint64_t count;
	uint32_t stages;
};

struct seen_call {
	int nr;
	char name[32];
	const struct ph__sysargs *args; /* NULL: no table row */
	bool any;			/* more shapes than kept: any arguments */
	unsigned int n_shapes;
	struct shape shapes[LEARN_MAX_SHAPES];
	uint64_t any_count;  /* calls counted once any is set */
	uint32_t any_stages; /* and when */
};

struct ph_learner {
	pthread_mutex_t lock;	 /* instances on several threads may share it */
	struct seen_call *calls; /* sorted by nr */
	size_t n_calls;
	int threads; /* threads were created, or the run had the threads preset */
};

PH_EXPORT int ph_learner_new(struct ph_learner **ret_learner)
{
	struct ph_learner *l;

	if (!ret_learner)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->calls = calloc(LEARN_MAX_SYSCALLS, sizeof(*l->calls));
	if (!l->calls) {
		free(l);
		return -ENOMEM;
	}
	pthread_mutex_init(&l->lock, NULL);
	*ret_learner = l;
	return 0;
}

PH_EXPORT void ph_learner_free(struct ph_learner *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->lock);
	free(l->calls);
	free(l);
}

int ph__learn_check(const struct ph_plugin_config *cfg, int notify, struct ph_result *fail)
{
	struct ph_policy_info info = {0};

	if (!cfg->learn)
		return 0;
	if (cfg->unsandboxed) {
		ph__result_setup(fail, PH_STEP_SPAWN, EINVAL,
				 "learning needs the sandbox, and unsandboxed is set");
		return -EINVAL;
	}
	if (cfg->policy && ph_policy_info(cfg->policy, &info) == 0 && info.n_rules > 0) {
		ph__result_setup(fail, PH_STEP_SPAWN, EINVAL,
				 "learning starts from a preset: a policy with rules would keep "
				 "what they allow out of the learned file");
		return -EINVAL;
	}
	if (!notify) {
		ph__result_setup(fail, PH_STEP_SECCOMP, EOPNOTSUPP,
				 "learning needs seccomp user notification (layer 'notify'), %s",
				 cfg->seccomp_kill_mode ? "and seccomp_kill_mode is set"
							: "which this kernel does not offer "
							  "('plughost info' says why)");
		return -EOPNOTSUPP;
	}
	if (info.preset == PH_POLICY_THREADS) {
		pthread_mutex_lock(&cfg->learn->lock);
		cfg->learn->threads = 1;
		pthread_mutex_unlock(&cfg->learn->lock);
	}
	return 0;
}

/*
 * Calls learning never lets on although a hand-written rule may allow
 * them (ph_policy_allow() accepts them): design.md section 3's sockets,
 * ioctl and prctl beyond the short list the base has; the futex
 * operations the base leaves out (PI: CVE-2014-3153); fcntl commands that
 * send signals (F_SETOWN*, F_SETSIG, F_SETFL's O_ASYNC) or hand out leases
 * and notifications. arg -1: every call of the syscall.
 */
static const struct {
	int nr;
	int arg;
	uint32_t value; /* compared with the low 32 bits: these are ints */
} learn_refusals[] = {
    {__NR_socket, -1, 0},	  {__NR_socketpair, -1, 0},  {__NR_connect, -1, 0},
    {__NR_bind, -1, 0},		  {__NR_listen, -1, 0},	     {__NR_accept, -1, 0},
    {__NR_accept4, -1, 0},	  {__NR_ioctl, -1, 0},	     {__NR_prctl, -1, 0},
    {__NR_futex, -1, 0},	  {__NR_fcntl, 1, F_SETFL},  {__NR_fcntl, 1, F_SETOWN},
    {__NR_fcntl, 1, F_SETOWN_EX}, {__NR_fcntl, 1, F_SETSIG}, {__NR_fcntl, 1, F_SETLEASE},
    {__NR_fcntl, 1, F_NOTIFY},
};

/*
 * Calls that change a process's settings (limits, priority, CPUs,
 * scheduling, I/O priority) and name it by pid (arg): learning lets them
 * on for the plugin itself only, which the pid 0 names, so that a plugin
 * cannot learn a rule that lowers the limits or priority of another
 * process in its pid namespace (init, or a sibling forked from the same
 * zygote). which: an argument that must also be the per-process form
 * (PRIO_PROCESS, IOPRIO_WHO_PROCESS: a group or a user would reach the
 * siblings, which run as the same user), or -1.
 */
static const struct {
	int nr;
	int pid_arg;
	int which_arg;
	uint32_t which;
} self_only[] = {
    {__NR_prlimit64, 0, -1, 0},
    {__NR_setpriority, 1, 0, 0 /* PRIO_PROCESS */},
    {__NR_sched_setaffinity, 0, -1, 0},
    {__NR_sched_setscheduler, 0, -1, 0},
    {__NR_sched_setparam, 0, -1, 0},
    {__NR_sched_setattr, 0, -1, 0},
    {__NR_ioprio_set, 1, 0, 1 /* IOPRIO_WHO_PROCESS */},
};

static bool learn_refuses(int nr, const uint64_t *args)
{
	for (size_t i = 0; i < ELEMENTSOF(learn_refusals); i++)
		if (learn_refusals[i].nr == nr &&
		    (learn_refusals[i].arg < 0 ||
		     (uint32_t)args[learn_refusals[i].arg] == learn_refusals[i].value))
			return true;
	for (size_t i = 0; i < ELEMENTSOF(self_only); i++)
		if (self_only[i].nr == nr &&
		    ((uint32_t)args[self_only[i].pid_arg] != 0 ||
		     (self_only[i].which_arg >= 0 &&
		      (uint32_t)args[self_only[i].which_arg] != self_only[i].which)))
			return true;
	return false;
}

/* The entry for nr, made in order if new; NULL when the table is full
 * or the syscall has no name. */
static struct seen_call *call_for(struct ph_learner *l, int nr)
{
	size_t i = 0;
	char *name;

	while (i < l->n_calls && l->calls[i].nr < nr)
		i++;
	if (i < l->n_calls && l->calls[i].nr == nr)
		return &l->calls[i];
	if (l->n_calls == LEARN_MAX_SYSCALLS)
		return NULL;
	/* A rule names its syscall: one this libseccomp cannot name (newer
	 * than it) could not be written, so it is not let on either. */
	name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	if (!name || strlen(name) >= sizeof(l->calls[i].name)) {
		free(name);
		return NULL;
	}
	memmove(&l->calls[i + 1], &l->calls[i], (l->n_calls - i) * sizeof(*l->calls));
	l->n_calls++;
	memset(&l->calls[i], 0, sizeof(l->calls[i]));
	l->calls[i].nr = nr;
	l->calls[i].args = ph__sysargs(nr);
	snprintf(l->calls[i].name, sizeof(l->calls[i].name), "%s", name);
	free(name);
	return &l->calls[i];
}

/* Record one call. Returns false when nothing more can be recorded. */
static bool record(struct ph_learner *l, int nr, const uint64_t *args, uint32_t stage)
{
	struct seen_call *c = call_for(l, nr);
	struct shape s = {.count = 1, .stages = stage};

	if (!c)
		return false;
	for (unsigned int i = 0; c->args && i < PH__SB_ARGS_MAX; i++)
		if (c->args->kind[i] == PH_LEARN_ARG_VALUE)
			s.value[i] = args[i];
	if (c->any) {
		c->any_count++;
		c->any_stages |= stage;
		return true;
	}
	for (unsigned int i = 0; i < c->n_shapes; i++)
		if (!memcmp(c->shapes[i].value, s.value, sizeof(s.value))) {
			c->shapes[i].count++;
			c->shapes[i].stages |= stage;
			return true;
		}
	if (c->n_shapes < LEARN_MAX_SHAPES) {
		c->shapes[c->n_shapes++] = s;
		return true;
	}
	/* Too many shapes to be worth telling apart: allow any arguments. */
	c->any = true;
	for (unsigned int i = 0; i < c->n_shapes; i++) {
		c->any_count += c->shapes[i].count;
		c->any_stages |= c->shapes[i].stages;
	}
	c->any_count++;
	c->any_stages |= stage;
	return true;
}

int ph__learn_notif(struct ph_plugin *p, const struct seccomp_notif *n)
{
	struct ph_learner *l = p->cfg.learn;
	const uint64_t *args = (const uint64_t *)n->data.args;
	const uint32_t stage = p->state == PH_STATE_LOADING ? PH_LEARN_LOADING : PH_LEARN_RUNNING;
	const int nr = n->data.nr;
	bool ok;

	/* Native calls only: i386 and x32 numbers mean other syscalls, and a
	 * policy holds native rules. */
	if (!l || n->data.arch != AUDIT_ARCH_X86_64 || nr < 0 || ((uint32_t)nr & 0x40000000u))
		return 0;
	/* A thread, exactly as the threads preset allows one: the learned
	 * file gets that preset instead of a rule. */
	if (ph__policy_threads_allows(n->data.arch, nr, args)) {
		pthread_mutex_lock(&l->lock);
		l->threads = 1;
		pthread_mutex_unlock(&l->lock);
		return 1;
	}
	if (ph__policy_never_allowed(nr) || learn_refuses(nr, args))
		return 0;
	pthread_mutex_lock(&l->lock);
	ok = record(l, nr, args, stage);
	pthread_mutex_unlock(&l->lock);
	return ok;
}

/* ------------------------------------------------------------ reading out */

PH_EXPORT size_t ph_learner_count(const struct ph_learner *cl)
{
	struct ph_learner *l = (struct ph_learner *)cl;
	size_t n = 0;

	if (!l)
		return 0;
	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < l->n_calls; i++)
		n += l->calls[i].any ? 1 : l->calls[i].n_shapes;
	pthread_mutex_unlock(&l->lock);
	return n;
}

PH_EXPORT int ph_learner_get(const struct ph_learner *cl, size_t i, struct ph_learned *ret)
{
	struct ph_learner *l = (struct ph_learner *)cl;
	int r = -ENOENT;

	if (!l || !ret)
		return -EINVAL;
	pthread_mutex_lock(&l->lock);
	for (size_t k = 0; k < l->n_calls; k++) {
		const struct seen_call *c = &l->calls[k];
		const size_t n = c->any ? 1 : c->n_shapes;

		if (i >= n) {
			i -= n;
			continue;
		}
		memset(ret, 0, sizeof(*ret));
		ret->nr = c->nr;
		snprintf(ret->name, sizeof(ret->name), "%s", c->name);
		for (unsigned int a = 0; a < PH__SB_ARGS_MAX; a++)
			ret->kind[a] = c->args ? c->args->kind[a] : PH_LEARN_ARG_UNKNOWN;
		if (c->any) {
			ret->any_shape = 1;
			ret->count = c->any_count;
			ret->stages = c->any_stages;
		} else {
			memcpy(ret->value, c->shapes[i].value, sizeof(ret->value));
			ret->count = c->shapes[i].count;
			ret->stages = c->shapes[i].stages;
		}
		r = 0;
		break;
	}
	pthread_mutex_unlock(&l->lock);
	return r;
}

PH_EXPORT int ph_learner_threads(const struct ph_learner *cl)
{
	struct ph_learner *l = (struct ph_learner *)cl;
	int t;

	if (!l)
		return 0;
	pthread_mutex_lock(&l->lock);
	t = l->threads;
	pthread_mutex_unlock(&l->lock);
	return t;
}

/* snprintf into a growing text, counting what did not fit. */
struct out {
	char *buf;
	size_t len, used; /* used may pass len: the length wanted */
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->used < o->len ? o->buf + o->used : NULL,
		      o->used < o->len ? o->len - o->used : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->used += (size_t)n;
}

static const char *stage_text(uint32_t stages)
{
	switch (stages & (PH_LEARN_LOADING | PH_LEARN_RUNNING)) {
	case PH_LEARN_LOADING:
		return "while loading (a constructor)";
	case PH_LEARN_RUNNING:
		return "after loading";
	default:
		return "while loading and after";
	}
}

static void put_rule(struct out *o, const struct seen_call *c, const uint64_t *value,
		     uint64_t count, uint32_t stages, bool any)
{
	unsigned int n = 0;

	put(o, "\n# %s %s, %llu call%s", c->name, stage_text(stages), (unsigned long long)count,
	    count == 1 ? "" : "s");
	if (any)
		put(o, "; more than %u argument shapes: any arguments", LEARN_MAX_SHAPES);
	else if (!c->args)
		put(o, "; plughost has no argument table for it: any arguments");
	put(o, "\nallow %s", c->name);
	for (unsigned int a = 0; !any && c->args && a < PH__SB_ARGS_MAX; a++) {
		char v[160];

		if (c->args->kind[a] != PH_LEARN_ARG_VALUE)
			continue;
		/* The compiled program's stand-in for the plugin's pid may not
		 * appear in a rule (the parser refuses it): leave it free. */
		if ((uint32_t)value[a] == PH__SB_SELF_PID ||
		    (uint32_t)(value[a] >> 32) == PH__SB_SELF_PID)
			continue;
		ph__const_format(c->args->group[a], value[a], v, sizeof(v));
		put(o, "%s arg%u == %s", n++ ? "," : "", a, v);
	}
	put(o, "\n");
}

PH_EXPORT int ph_learner_write(const struct ph_learner *cl, const char *comment, char *buf,
			       size_t len)
{
	struct ph_learner *l = (struct ph_learner *)cl;
	struct out o = {.buf = buf, .len = len};

	if (!l || (!buf && len))
		return -EINVAL;
	if (len)
		buf[0] = '\0';
	put(&o, "plughost-policy 1\n");
	/* The caller's note, one comment line per line, printable only. */
	for (const char *s = comment; s && *s;) {
		const char *e = strchr(s, '\n');
		const size_t n = e ? (size_t)(e - s) : strlen(s);
		char line[256];
		size_t k = 0;

		for (size_t i = 0; i < n && k + 1 < sizeof(line); i++)
			if ((unsigned char)s[i] >= 0x20 && s[i] != 0x7f)
				line[k++] = s[i];
		line[k] = '\0';
		put(&o, "# %s\n", line);
		s = e ? e + 1 : s + n;
	}
	pthread_mutex_lock(&l->lock);
	put(&o,
	    "# What the plugin did beyond the base (the runner's own syscalls, version %u),\n"
	    "# recorded by plughost policy learn. Pointers were never read.\n",
	    PH__POLICY_BASE_VERSION);
	put(&o, "base %s@%u\n", l->threads ? "threads" : "strict", PH__POLICY_BASE_VERSION);
	for (size_t i = 0; i < l->n_calls; i++) {
		const struct seen_call *c = &l->calls[i];

		if (c->any)
			put_rule(&o, c, NULL, c->any_count, c->any_stages, true);
		for (unsigned int k = 0; !c->any && k < c->n_shapes; k++)
			put_rule(&o, c, c->shapes[k].value, c->shapes[k].count, c->shapes[k].stages,
				 false);
	}
	pthread_mutex_unlock(&l->lock);
	return o.used > INT32_MAX ? -E2BIG : (int)o.used;
}
