/* SPDX-License-Identifier: MIT */
/*
 * Warm pools: instances of one plugin spawned ahead of need. Taking one
 * costs no spawn; the caller refills when it has time (an idle moment in
 * its event loop, or right after taking).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define POOL_MAX 4096

struct ph_pool {
	struct ph_host *host;
	char *path;
	struct ph_plugin_config cfg; /* cfg.policy points at policy */
	struct ph_policy *policy;
	char **allow_read; /* cfg.allow_read points here */
	size_t want;
	int reuse; /* ph_pool_put() keeps instances for the next taker */
	size_t n_ready;
	struct ph_plugin **ready;
};

/* Spawn until want are ready; the first failure goes to fail. */
static int pool_fill(struct ph_pool *pool, struct ph_result *fail)
{
	while (pool->n_ready < pool->want) {
		struct ph_plugin *p;
		int r = ph_plugin_spawn(pool->host, pool->path, &pool->cfg, &p, fail);

		if (r < 0)
			return r;
		pool->ready[pool->n_ready++] = p;
	}
	return (int)pool->n_ready;
}

PH_EXPORT int ph_pool_refill(struct ph_pool *pool)
{
	if (!pool)
		return -EINVAL;
	return pool_fill(pool, NULL);
}

PH_EXPORT int ph_pool_new(struct ph_host *host, const char *path,
			  const struct ph_plugin_config *cfg, size_t n, struct ph_pool **ret_pool,
			  struct ph_result *ret_failure)
{
	struct ph_result fail;
	struct ph_pool *pool = NULL;
	int r;

	if (!host || !path || !ret_pool) {
		ph__result_setup(&fail, PH_STEP_SPAWN, EINVAL, "ph_pool_new() needs %s",
				 !host	 ? "a host"
				 : !path ? "a plugin path"
					 : "ret_pool");
		r = -EINVAL;
		goto fail;
	}
	if (n == 0 || n > POOL_MAX) {
		ph__result_setup(&fail, PH_STEP_SPAWN, EINVAL,
				 "a pool of %zu instances: the size must be 1 to %d", n, POOL_MAX);
		r = -EINVAL;
		goto fail;
	}
	/* Before anything is spawned: the same error every spawn would give. */
	r = ph__plugin_config_check(cfg, &fail);
	if (r < 0)
		goto fail;
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		goto nomem;
	pool->host = host;
	pool->want = n;
	pool->path = strdup(path);
	pool->ready = calloc(n, sizeof(*pool->ready));
	if (!pool->path || !pool->ready)
		goto nomem;
	if (cfg)
		pool->cfg = *cfg;
	/* Pools fork their instances from a zygote: a refill costs a fork
	 * and a load, not an exec and a sandbox. */
	pool->cfg.zygote = 1;
	/* Our own copy: the pool spawns from it long after this call. */
	if (ph__policy_dup(pool->cfg.policy, &pool->policy) < 0)
		goto nomem;
	pool->cfg.policy = pool->policy;
	if (ph__allow_read_dup(pool->cfg.allow_read, pool->cfg.n_allow_read, &pool->allow_read) <
	    0) {
		pool->cfg.n_allow_read = 0;
		goto nomem;
	}
	pool->cfg.allow_read = (const char *const *)pool->allow_read;

	r = pool_fill(pool, &fail);
	if (r < 0)
		goto fail;
	*ret_pool = pool;
	return 0;
nomem:
	r = -ENOMEM;
	ph__result_setup(&fail, PH_STEP_SPAWN, ENOMEM, "cannot allocate the pool");
fail:
	ph_pool_free(pool);
	if (ret_failure)
		*ret_failure = fail;
	return r;
}

PH_EXPORT int ph_pool_take(struct ph_pool *pool, struct ph_plugin **ret_plugin,
			   struct ph_result *ret_failure)
{
	if (!pool || !ret_plugin) {
		if (ret_failure)
			ph__result_setup(ret_failure, PH_STEP_SPAWN, EINVAL,
					 "ph_pool_take() needs %s",
					 !pool ? "a pool" : "ret_plugin");
		return -EINVAL;
	}
	/* An instance may have died while it waited (killed from outside):
	 * never hand out a dead one. */
	while (pool->n_ready > 0) {
		struct ph_plugin *p = pool->ready[--pool->n_ready];
		struct ph_result ignored;

		ph_plugin_process(p, &ignored);
		if (ph_plugin_alive(p)) {
			*ret_plugin = p;
			return 0;
		}
		/* Replaced by a fresh one: the host counts it as a restart. */
		PH__COUNT(p->metrics.restarts, 1);
		ph_plugin_free(p);
	}
	return ph_plugin_spawn(pool->host, pool->path, &pool->cfg, ret_plugin, ret_failure);
}

PH_EXPORT void ph_pool_put(struct ph_pool *pool, struct ph_plugin *plugin)
{
	if (!plugin)
		return;
	/* Kept or freed, it would leave its own running call (we are
	 * inside one of its callbacks): refused, the caller still owns it. */
	if (plugin->in_callback) {
		ph__refuse_in_callback(plugin, "ph_pool_put");
		return;
	}
	/* Kept only where the caller said instances may serve one caller
	 * after another: whatever a plugin keeps in memory across calls would
	 * reach the next taker. */
	if (pool && pool->reuse && pool->n_ready < pool->want && ph_plugin_alive(plugin) &&
	    plugin->state == PH_STATE_IDLE && !plugin->call.finished)
		pool->ready[pool->n_ready++] = plugin;
	else
		ph_plugin_free(plugin);
}

PH_EXPORT int ph_pool_set_reuse(struct ph_pool *pool, int reuse)
{
	if (!pool)
		return -EINVAL;
	pool->reuse = !!reuse;
	return 0;
}

PH_EXPORT size_t ph_pool_ready(const struct ph_pool *pool)
{
	return pool ? pool->n_ready : 0;
}

PH_EXPORT void ph_pool_free(struct ph_pool *pool)
{
	if (!pool)
		return;
	for (size_t i = 0; i < pool->n_ready; i++)
		ph_plugin_free(pool->ready[i]);
	free(pool->ready);
	ph_policy_free(pool->policy);
	ph__allow_read_free(pool->allow_read, pool->cfg.n_allow_read);
	free(pool->path);
	free(pool);
}
