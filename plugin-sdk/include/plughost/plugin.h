/* SPDX-License-Identifier: MIT */
/*
 * plughost plugin ABI, version 2.
 *
 * A plugin is a shared object built from this header alone: it links no
 * plughost library. It exports one descriptor with PH_PLUGIN(); the
 * plughost runner loads it in a sandboxed child process and calls its
 * handlers on request:
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
 * host's sealed memfds (no copy), or, in a plugin that declares it with
 * PH_PLUGIN_FLAGS(..., PH_PLUGIN_READS_STREAMS), read stream inputs with
 * ph_read() as the host feeds them; they write output that streams to the
 * host, and return 0 or an error code. See docs/sdk.md.
 *
 * How the calls reach the host: every struct ph_call carries a table of
 * operations that the runner hands in (the way PipeWire's SPA interfaces
 * work). The functions below are inline wrappers over that table, so a
 * plugin holds no wire protocol, no ring code and no plughost symbol: the
 * host and runner can change how they talk without a plugin being rebuilt.
 *
 * Compatibility: the runner accepts any plugin built for plugin ABI 2 up to
 * its own, and refuses a newer one by name. Every struct that crosses into
 * plugin code carries its size, so the method and input arrays, the call
 * and the operations table can grow in later versions.
 */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <plughost/level.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The plugin ABI this header describes. */
#define PH_PLUGIN_ABI_VERSION 2u

/* The symbol the runner looks up; PH_PLUGIN() defines it. */
#define PH_PLUGIN_SYMBOL "plughost_plugin_v2"

/*
 * One input. A whole input is read-only memory, valid until the handler
 * returns. A stream input (flags has PH_INPUT_STREAM; only plugins that
 * declare PH_PLUGIN_READS_STREAMS get one) has data NULL and len 0: its
 * bytes arrive while the handler runs, through ph_read().
 *
 * flags and reserved are new in plughost 0.3: the runner lays out the
 * inputs with the stride the plugin was compiled with, so a plugin built
 * before them sees the first two fields only.
 */
struct ph_input {
	const void *data; /* NULL when len is 0, and for a stream */
	size_t len;
	uint32_t flags;	   /* PH_INPUT_* */
	uint32_t reserved; /* 0 */
};

/* The input is a stream: read it with ph_read() (data is NULL, len 0). */
#define PH_INPUT_STREAM 0x1u

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

/*
 * What the runner implements for a call. Plugins never call these
 * directly: use ph_write() and the other wrappers below. An operation
 * added later sits past the end of an older runner's table; size says
 * which exist.
 */
struct ph_call_ops {
	uint32_t version; /* PH_CALL_OPS_VERSION of the runner */
	uint32_t size;	  /* sizeof the runner's table */
	int (*write)(struct ph_call *call, const void *data, size_t len);
	int (*flush)(struct ph_call *call);
	int (*vprintf)(struct ph_call *call, const char *fmt, va_list ap);
	void (*vlog)(struct ph_call *call, enum ph_level level, const char *fmt, va_list ap);
	int (*verror)(struct ph_call *call, int code, const char *fmt, va_list ap);
	const char *(*method)(const struct ph_call *call);
	/* Version 2 (plughost 0.3) on: */
	ssize_t (*read)(struct ph_call *call, size_t input, void *buf, size_t len);
};

#define PH_CALL_OPS_VERSION 2u

/*
 * The context of one call, owned by the runner: pass it to ph_write(),
 * ph_log(), ph_error(). Its public head is the operations table; the
 * runner's own state follows (size counts both).
 */
struct ph_call {
	uint32_t size;
	uint32_t reserved;
	const struct ph_call_ops *ops;
};

/*
 * The descriptor PH_PLUGIN() exports. method_size and input_size are the
 * strides this plugin was compiled with, so that later versions may grow
 * struct ph_method and struct ph_input without breaking it.
 */
struct ph_plugin_descriptor {
	uint32_t abi_version; /* PH_PLUGIN_ABI_VERSION */
	uint32_t struct_size; /* sizeof(struct ph_plugin_descriptor) */
	const char *name;
	const char *version;
	const struct ph_method *methods;
	uint32_t n_methods;
	uint32_t method_size; /* sizeof(struct ph_method) */
	uint32_t input_size;  /* sizeof(struct ph_input) */
	uint32_t flags;	      /* PH_PLUGIN_* (0 before plughost 0.3) */
	uint64_t reserved[4]; /* 0 */
};

/*
 * Descriptor flags (PH_PLUGIN_FLAGS()).
 *
 * PH_PLUGIN_READS_STREAMS: every method of this plugin handles stream
 * inputs (PH_INPUT_STREAM), reading them with ph_read() or refusing them
 * with ph_error(). Without it the host never passes one (the call is
 * refused with -EOPNOTSUPP, and `plughost run --input -` reads a piped
 * standard input whole), so that a plugin that only reads in[i].data
 * never sees a stream it would take for an empty input. A runner older
 * than plughost 0.3 refuses a plugin that sets it.
 */
#define PH_PLUGIN_READS_STREAMS 0x1u

/* The layout is the ABI: every plugin build checks it. */
#ifdef __cplusplus
#define PH__ABI_ASSERT(c, m) static_assert(c, m)
#else
#define PH__ABI_ASSERT(c, m) _Static_assert(c, m)
#endif
#if defined(__x86_64__) || defined(__aarch64__)
PH__ABI_ASSERT(sizeof(struct ph_input) == 24 && offsetof(struct ph_input, len) == 8 &&
		   offsetof(struct ph_input, flags) == 16 &&
		   offsetof(struct ph_input, reserved) == 20,
	       "struct ph_input is ABI");
PH__ABI_ASSERT(sizeof(struct ph_method) == 16 && offsetof(struct ph_method, fn) == 8,
	       "struct ph_method is ABI");
PH__ABI_ASSERT(sizeof(struct ph_call) == 16 && offsetof(struct ph_call, ops) == 8,
	       "struct ph_call is ABI");
PH__ABI_ASSERT(sizeof(struct ph_call_ops) == 64 && offsetof(struct ph_call_ops, write) == 8 &&
		   offsetof(struct ph_call_ops, flush) == 16 &&
		   offsetof(struct ph_call_ops, vprintf) == 24 &&
		   offsetof(struct ph_call_ops, vlog) == 32 &&
		   offsetof(struct ph_call_ops, verror) == 40 &&
		   offsetof(struct ph_call_ops, method) == 48 &&
		   offsetof(struct ph_call_ops, read) == 56,
	       "struct ph_call_ops is ABI");
PH__ABI_ASSERT(sizeof(struct ph_plugin_descriptor) == 80 &&
		   offsetof(struct ph_plugin_descriptor, name) == 8 &&
		   offsetof(struct ph_plugin_descriptor, version) == 16 &&
		   offsetof(struct ph_plugin_descriptor, methods) == 24 &&
		   offsetof(struct ph_plugin_descriptor, n_methods) == 32 &&
		   offsetof(struct ph_plugin_descriptor, method_size) == 36 &&
		   offsetof(struct ph_plugin_descriptor, input_size) == 40 &&
		   offsetof(struct ph_plugin_descriptor, flags) == 44 &&
		   offsetof(struct ph_plugin_descriptor, reserved) == 48,
	       "struct ph_plugin_descriptor is ABI");
#endif

/*
 * Export the plugin's descriptor, from C or C++. methods_ must be an
 * array, not a pointer. In C++ a namespace-scope const has internal
 * linkage, hence the extern "C" declaration before the definition.
 * PH_PLUGIN_FLAGS() also sets descriptor flags (PH_PLUGIN_*).
 */
#ifdef __cplusplus
#define PH__EXTERN extern "C"
#else
#define PH__EXTERN extern
#endif
#define PH_PLUGIN_FLAGS(name_, version_, methods_, flags_)                                         \
	PH__EXTERN __attribute__((visibility("default")))                                          \
	const struct ph_plugin_descriptor plughost_plugin_v2;                                      \
	const struct ph_plugin_descriptor plughost_plugin_v2 = {                                   \
	    PH_PLUGIN_ABI_VERSION,                                                                 \
	    (uint32_t)sizeof(struct ph_plugin_descriptor),                                         \
	    (name_),                                                                               \
	    (version_),                                                                            \
	    (methods_),                                                                            \
	    (uint32_t)(sizeof(methods_) / sizeof((methods_)[0])),                                  \
	    (uint32_t)sizeof(struct ph_method),                                                    \
	    (uint32_t)sizeof(struct ph_input),                                                     \
	    (uint32_t)(flags_),                                                                    \
	    {0, 0, 0, 0}}
#define PH_PLUGIN(name_, version_, methods_) PH_PLUGIN_FLAGS(name_, version_, methods_, 0)

/*
 * Append len bytes to the call's output. Blocks while the output ring is
 * full (the host is still reading). Returns 0, or -EPIPE once the host has
 * gone away, -EINVAL on bad arguments.
 */
static inline int ph_write(struct ph_call *call, const void *data, size_t len)
{
	return call ? call->ops->write(call, data, len) : -EINVAL;
}

/*
 * Make everything written so far visible to the host now, instead of at the
 * next batch boundary or when the handler returns. Returns 0 or -EPIPE.
 */
static inline int ph_flush(struct ph_call *call)
{
	return call ? call->ops->flush(call) : -EINVAL;
}

/* printf into the call's output. Returns 0 or a negative errno. */
static inline int ph_printf(struct ph_call *call, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline int ph_printf(struct ph_call *call, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (!call || !fmt)
		return -EINVAL;
	va_start(ap, fmt);
	r = call->ops->vprintf(call, fmt, ap);
	va_end(ap);
	return r;
}

/* Send one log line to the host (truncated to 1024 bytes). */
static inline void ph_log(struct ph_call *call, enum ph_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void ph_log(struct ph_call *call, enum ph_level level, const char *fmt, ...)
{
	va_list ap;

	if (!call || !fmt)
		return;
	va_start(ap, fmt);
	call->ops->vlog(call, level, fmt, ap);
	va_end(ap);
}

/*
 * Set the error message the host sees with the code the handler returns,
 * and return code, so a handler can say: return ph_error(call, 2, "bad");
 */
static inline int ph_error(struct ph_call *call, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline int ph_error(struct ph_call *call, int code, const char *fmt, ...)
{
	va_list ap;

	if (!call || !fmt)
		return code;
	va_start(ap, fmt);
	code = call->ops->verror(call, code, fmt, ap);
	va_end(ap);
	return code;
}

/* The method name this call runs. */
static inline const char *ph_call_method(const struct ph_call *call)
{
	return call ? call->ops->method(call) : NULL;
}

/*
 * Read up to len bytes of inputs[input] into buf, going on from where the
 * previous ph_read() of that input stopped. For a stream input it blocks
 * until the host has fed some bytes (the host reads its source only as
 * fast as the plugin reads: back-pressure). Like read(2) it may return
 * fewer bytes than asked for. It works on whole inputs too, copying from
 * their memory, so a handler may read every input the same way.
 *
 * Returns the bytes read (> 0); 0 at the input's end (or when len is 0);
 * or a negative errno: -EINVAL (no such input, or buf NULL), -EPIPE once
 * the host is gone, -ENOSYS from a runner older than this operation
 * (before plughost 0.3), or, for a stream whose source the host could not
 * read, the errno of that failure (e.g. -EIO, -ECONNRESET), after every
 * byte read before it. An error repeats on every later read.
 */
static inline ssize_t ph_read(struct ph_call *call, size_t input, void *buf, size_t len)
{
	if (!call)
		return -EINVAL;
	if (call->ops->size < offsetof(struct ph_call_ops, read) + sizeof(call->ops->read) ||
	    !call->ops->read)
		return -ENOSYS;
	return call->ops->read(call, input, buf, len);
}

#ifdef __cplusplus
}
#endif
