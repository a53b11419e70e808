/* SPDX-License-Identifier: MIT */
/*
 * Counters for operators: what each instance did, and the host's totals.
 *
 * Each instance keeps its own counters, written only by the thread using
 * it (one at a time, docs/threads.md) with plain relaxed atomic stores:
 * the call path pays a few adds, no lock and no read-modify-write that
 * would bounce a cache line between threads. The host keeps the list of
 * its live instances and the summed counters of those it freed; its
 * totals are the freed sums plus a relaxed read of every live instance,
 * under a lock only spawn, free and ph_host_metrics() take.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "strbuf.h"

_Static_assert(PH_RESULT_KIND_COUNT <= PH_METRICS_KINDS,
	       "PH_METRICS_KINDS has room for every result kind");

/* The largest .size accepted: far above any struct this ABI will grow
 * to, and small enough that a garbage size is not a wild write. */
#define METRICS_SIZE_MAX 4096u

static uint64_t load(const uint64_t *v)
{
	return __atomic_load_n(v, __ATOMIC_RELAXED);
}

/* dst (the reader's own) += src (maybe being written on another thread). */
static void add_into(struct ph__counters *dst, const struct ph__counters *src)
{
	dst->calls += load(&src->calls);
	dst->bytes_in += load(&src->bytes_in);
	dst->bytes_out += load(&src->bytes_out);
	dst->cpu_done += load(&src->cpu_done);
	dst->cpu_cur += load(&src->cpu_cur);
	dst->spawns += load(&src->spawns);
	dst->spawn_failures += load(&src->spawn_failures);
	dst->restarts += load(&src->restarts);
	for (size_t k = 0; k < PH_METRICS_KINDS; k++) {
		dst->results[k] += load(&src->results[k]);
		dst->ends[k] += load(&src->ends[k]);
	}
}

void ph__metrics_started(struct ph_plugin *p, int ok, int restart)
{
	struct ph_host *h = p->host;

	if (p->is_zygote)
		return;
	if (!ok) {
		PH__COUNT(p->metrics.spawn_failures, 1);
		return;
	}
	PH__COUNT(p->metrics.spawns, 1);
	if (restart)
		PH__COUNT(p->metrics.restarts, 1);
	if (p->metrics_linked)
		return;
	pthread_mutex_lock(&h->metrics_lock);
	p->metrics_next = h->metrics_live;
	if (h->metrics_live)
		h->metrics_live->metrics_prev = &p->metrics_next;
	p->metrics_prev = &h->metrics_live;
	h->metrics_live = p;
	p->metrics_linked = 1;
	pthread_mutex_unlock(&h->metrics_lock);
}

void ph__metrics_spawn_failed(struct ph_host *h)
{
	pthread_mutex_lock(&h->metrics_lock);
	h->metrics_gone.spawn_failures++;
	pthread_mutex_unlock(&h->metrics_lock);
}

void ph__metrics_ended(struct ph_plugin *p, int count_end)
{
	struct ph__counters *c = &p->metrics;
	const uint64_t total = p->end.usage.user_usec + p->end.usage.sys_usec;
	const uint64_t seen = c->cpu_cur;

	if (p->is_zygote)
		return;
	/* The end's usage is the final word when the plugin's init reported
	 * it; when nobody could (a zygote's instance, killed with its
	 * parent), the last call's look is all there is. Either only grows. */
	__atomic_store_n(&c->cpu_cur, 0, __ATOMIC_RELAXED);
	PH__COUNT(c->cpu_done, total > seen ? total : seen);
	if (count_end && (unsigned)p->end.kind < PH_METRICS_KINDS)
		PH__COUNT(c->ends[p->end.kind], 1);
}

void ph__metrics_free(struct ph_plugin *p)
{
	struct ph_host *h = p->host;

	if (p->is_zygote || !h)
		return;
	pthread_mutex_lock(&h->metrics_lock);
	if (p->metrics_linked) {
		*p->metrics_prev = p->metrics_next;
		if (p->metrics_next)
			p->metrics_next->metrics_prev = p->metrics_prev;
		p->metrics_linked = 0;
	}
	add_into(&h->metrics_gone, &p->metrics);
	pthread_mutex_unlock(&h->metrics_lock);
}

static int size_ok(const struct ph_metrics *ret)
{
	return ret->size >= offsetof(struct ph_metrics, calls) + sizeof(ret->calls) &&
	       ret->size % 8 == 0 && ret->size <= METRICS_SIZE_MAX;
}

/* Write what c says into the caller's struct of ret->size bytes. */
static void fill(struct ph_metrics *ret, const struct ph__counters *c)
{
	const size_t want = ret->size, n = want < sizeof(*ret) ? want : sizeof(*ret);
	struct ph_metrics m = {.size = (uint32_t)n};

	m.calls = c->calls;
	m.bytes_in = c->bytes_in;
	m.bytes_out = c->bytes_out;
	m.cpu_usec = c->cpu_done + c->cpu_cur;
	m.spawns = c->spawns;
	m.spawn_failures = c->spawn_failures;
	m.restarts = c->restarts;
	memcpy(m.results, c->results, sizeof(m.results));
	memcpy(m.ends, c->ends, sizeof(m.ends));
	m.limits_hit = m.ends[PH_RESULT_TIMEOUT] + m.ends[PH_RESULT_CPU_LIMIT] +
		       m.ends[PH_RESULT_MEMORY_LIMIT] + m.ends[PH_RESULT_OUTPUT_QUOTA] +
		       m.ends[PH_RESULT_FD_LIMIT] + m.ends[PH_RESULT_THREAD_LIMIT];
	m.violations = m.ends[PH_RESULT_VIOLATION];
	m.crashes = m.ends[PH_RESULT_CRASHED];
	memcpy(ret, &m, n);
	/* A newer caller's fields this library does not know of. */
	if (want > n)
		memset((char *)ret + n, 0, want - n);
}

PH_EXPORT int ph_plugin_metrics(const struct ph_plugin *plugin, struct ph_metrics *ret)
{
	struct ph__counters c = {0};

	if (!plugin || !ret || !size_ok(ret))
		return -EINVAL;
	add_into(&c, &plugin->metrics);
	fill(ret, &c);
	return 0;
}

PH_EXPORT int ph_host_metrics(struct ph_host *host, struct ph_metrics *ret)
{
	struct ph__counters c = {0};

	if (!host || !ret || !size_ok(ret))
		return -EINVAL;
	pthread_mutex_lock(&host->metrics_lock);
	add_into(&c, &host->metrics_gone);
	for (const struct ph_plugin *p = host->metrics_live; p; p = p->metrics_next)
		add_into(&c, &p->metrics);
	pthread_mutex_unlock(&host->metrics_lock);
	fill(ret, &c);
	return 0;
}

/* "results":{"ok":1,...} over the kinds this library names. */
static void kinds_json(struct ph_strbuf *sb, const char *name, const uint64_t *v)
{
	ph__strbuf_printf(sb, ",\"%s\":{", name);
	for (int k = 0; k < PH_RESULT_KIND_COUNT; k++)
		ph__strbuf_printf(sb, "%s\"%s\":%llu", k ? "," : "",
				  ph_result_kind_name((enum ph_result_kind)k),
				  (unsigned long long)v[k]);
	ph__strbuf_putc(sb, '}');
}

PH_EXPORT int ph_metrics_to_json(const struct ph_metrics *m, char *buf, size_t len)
{
	struct ph_strbuf sb;

	if (!m || (!buf && len) || m->size < offsetof(struct ph_metrics, reserved))
		return -EINVAL;
	ph__strbuf_init(&sb, buf, len);
	ph__strbuf_printf(&sb,
			  "{\"calls\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu,\"cpu_usec\":%llu,"
			  "\"spawns\":%llu,\"spawn_failures\":%llu,\"restarts\":%llu,"
			  "\"limits_hit\":%llu,\"violations\":%llu,\"crashes\":%llu",
			  (unsigned long long)m->calls, (unsigned long long)m->bytes_in,
			  (unsigned long long)m->bytes_out, (unsigned long long)m->cpu_usec,
			  (unsigned long long)m->spawns, (unsigned long long)m->spawn_failures,
			  (unsigned long long)m->restarts, (unsigned long long)m->limits_hit,
			  (unsigned long long)m->violations, (unsigned long long)m->crashes);
	kinds_json(&sb, "results", m->results);
	kinds_json(&sb, "ends", m->ends);
	ph__strbuf_putc(&sb, '}');
	return sb.want > INT32_MAX ? -EOVERFLOW : (int)sb.want;
}
