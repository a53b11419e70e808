/* SPDX-License-Identifier: MIT */
/*
 * plughost plugin SDK.
 *
 * A plugin is a shared object that links libplughost-plugin (static) and
 * exports one descriptor with PH_PLUGIN(). The plughost runner loads it in a
 * sandboxed child process and calls its handlers on request:
 *
 *	#include <plughost/plugin.h>
 *
 *	static int hello(struct ph_call *call, const struct ph_input *in, size_t n)
 *	{
 *		return ph_write(call, "hello\n", 6);
 *	}
 *
 *	static const struct ph_method methods[] = { { "hello", hello } };
 *	PH_PLUGIN("hello", "1.0", methods);
 *
 * Handlers see their inputs as read-only memory mapped straight from the
 * host's sealed memfds (no copy), write output that streams to the host
 * through a shared ring, and return 0 or an error code. See docs/sdk.md.
 */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PH_PLUGIN_ABI_VERSION 1u

/* The symbol the runner looks up; PH_PLUGIN() defines it. */
#define PH_PLUGIN_SYMBOL "plughost_plugin_v1"

/* One input blob: read-only, valid until the handler returns. */
struct ph_input {
	const void *data; /* NULL when len is 0 */
	size_t len;
};

/* The context of one call: pass it to ph_write(), ph_log(), ph_error(). */
struct ph_call;

/*
 * A handler. Return 0 on success, or a nonzero error code (set a message
 * with ph_error()). The code reaches the host as a plugin error.
 */
typedef int (*ph_handler_fn)(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs);

struct ph_method {
	const char *name;
	ph_handler_fn fn;
};

struct ph__runner_env;

struct ph_plugin_descriptor {
	uint32_t abi_version; /* PH_PLUGIN_ABI_VERSION */
	uint32_t struct_size; /* sizeof(struct ph_plugin_descriptor) */
	const char *name;
	const char *version;
	const struct ph_method *methods;
	size_t n_methods;
	/* The SDK's request loop; PH_PLUGIN() points it at ph__sdk_serve. */
	int (*serve)(const struct ph_plugin_descriptor *self, const struct ph__runner_env *env);
	void *reserved[4];
};

int ph__sdk_serve(const struct ph_plugin_descriptor *self, const struct ph__runner_env *env);

/* Export the plugin's descriptor. methods_ must be an array, not a pointer. */
#define PH_PLUGIN(name_, version_, methods_)                                                       \
	__attribute__((visibility("default")))                                                     \
	const struct ph_plugin_descriptor plughost_plugin_v1 = {                                   \
	    .abi_version = PH_PLUGIN_ABI_VERSION,                                                  \
	    .struct_size = sizeof(struct ph_plugin_descriptor),                                    \
	    .name = (name_),                                                                       \
	    .version = (version_),                                                                 \
	    .methods = (methods_),                                                                 \
	    .n_methods = sizeof(methods_) / sizeof((methods_)[0]),                                 \
	    .serve = ph__sdk_serve,                                                                \
	}

/*
 * Append len bytes to the call's output. Blocks while the output ring is
 * full (the host is still reading). Returns 0, or -EPIPE once the host has
 * gone away, -EINVAL on bad arguments.
 */
int ph_write(struct ph_call *call, const void *data, size_t len);

/*
 * Make everything written so far visible to the host now, instead of at the
 * next batch boundary or when the handler returns. Returns 0 or -EPIPE.
 */
int ph_flush(struct ph_call *call);

/* printf into the call's output. Returns 0 or a negative errno. */
int ph_printf(struct ph_call *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

enum ph_level { PH_ERROR = 0, PH_WARN = 1, PH_INFO = 2, PH_DEBUG = 3 };

/* Send one log line to the host (truncated to 1024 bytes). */
void ph_log(struct ph_call *call, enum ph_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Set the error message the host sees with the code the handler returns,
 * and return code, so a handler can say: return ph_error(call, 2, "bad");
 */
int ph_error(struct ph_call *call, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The method name this call runs. */
const char *ph_call_method(const struct ph_call *call);

#ifdef __cplusplus
}
#endif
