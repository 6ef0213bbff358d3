/*
 * js_globals.c — what a bundle's VM has beyond ECMAScript, and its job
 * queue.
 *
 * Globals: console.log/info/warn/error/debug/trace (to the host's log, the
 * bundle's name as scope), TextEncoder and TextDecoder (UTF-8 only, as the
 * WHATWG Encoding standard has them, without streaming) and
 * queueMicrotask. Deliberately absent: timers and I/O — a call runs to its
 * end, and a bundle reaches the world only through contracts.
 *
 * Jobs (promise reactions, microtasks) run before a call returns, within its
 * CPU limit and guard: pp_js_settle drains the queue and, when the function
 * returned a Promise, uses what it settled to. Nothing is left queued
 * between calls. A promise rejected with no handler by the time the jobs
 * have run is reported on the log, as Node reports it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "js_vm.h"

/* ---- console ---------------------------------------------------------------- */

/* The most of one console call's text that reaches the host log. */
#define LOG_LINE PP_JS_TEXT_MAX

/* v's text as console prints it: strings as they are, errors with their
 * stack, other objects as JSON when they have a JSON form, else String(v).
 * JS_UNDEFINED if none could be made; JS_EXCEPTION if the CPU limit
 * stopped the guest code that makes it (toString, toJSON, getters). */
static JSValue console_text(JSContext *ctx, JSValueConst v)
{
	JSValue text = JS_UNDEFINED;
	if (JS_IsObject(v) && !JS_IsFunction(ctx, v)) {
		JSValue stack =
		        JS_IsError(ctx, v) ? JS_GetPropertyStr(ctx, v, "stack") : JS_UNDEFINED;
		if (JS_IsString(stack)) {
			JSValue head = JS_ToString(ctx, v);
			const char *h = JS_IsException(head) ? NULL : JS_ToCString(ctx, head);
			const char *st = JS_ToCString(ctx, stack);
			/* as much of each as a log line shows: the guest picks their
			 * sizes, and this copy is outside its VM's memory limit */
			size_t hn = h ? pp_utf8_cut(h, strlen(h), LOG_LINE) : 0;
			size_t sn = st ? pp_utf8_cut(st, strlen(st), LOG_LINE) : 0;
			char *both = h && st ? malloc(hn + sn + 2) : NULL;
			if (both) {
				snprintf(both, hn + sn + 2, "%.*s\n%.*s", (int)hn, h, (int)sn, st);
				text = JS_NewString(ctx, both);
				free(both);
			}
			JS_FreeCString(ctx, h);
			JS_FreeCString(ctx, st);
			JS_FreeValue(ctx, head);
		} else if (!JS_IsException(stack)) {
			text = JS_JSONStringify(ctx, v, JS_UNDEFINED, JS_UNDEFINED);
		}
		JS_FreeValue(ctx, stack);
		if (JS_IsException(text) || !JS_IsString(text)) { /* a cycle, or no JSON form */
			JS_FreeValue(ctx, text);
			text = JS_UNDEFINED;
		}
		if (!pp_js_clear_exception(ctx)) {
			JS_FreeValue(ctx, text);
			return JS_EXCEPTION;
		}
	}
	if (JS_IsUndefined(text))
		text = JS_IsSymbol(v) ? JS_NewString(ctx, "Symbol()") : JS_ToString(ctx, v);
	if (JS_IsException(text))
		return pp_js_clear_exception(ctx) ? JS_UNDEFINED : JS_EXCEPTION;
	return text;
}

/* Appends v's console text to buf (cap bytes, NUL-terminated), as
 * well-formed UTF-8 and whole characters; -1 if the CPU limit stopped it. */
static int append_value(JSContext *ctx, JSValueConst v, char *buf, size_t cap, size_t *used)
{
	JSValue text = console_text(ctx, v);
	if (JS_IsException(text))
		return -1;
	pp_js_text t = {NULL, 0, NULL, NULL};
	bool ok = !JS_IsUndefined(text) && pp_js_string_utf8(ctx, text, &t);
	JS_FreeValue(ctx, text);
	if (!ok && !pp_js_clear_exception(ctx))
		return -1;
	const char *s = ok ? t.bytes : "(unprintable)";
	size_t n = ok ? t.len : strlen(s);
	if (*used && *used < cap - 1)
		buf[(*used)++] = ' ';
	n = pp_utf8_cut(s, n, cap - 1 - *used);
	memcpy(buf + *used, s, n);
	*used += n;
	buf[*used] = '\0';
	pp_js_text_release(ctx, &t);
	return 0;
}

/* console.<level>(...args): magic is the PP_LOG_* level. */
static JSValue console_log(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv,
                           int magic)
{
	(void)this_val;
	js_vm *vm = JS_GetContextOpaque(ctx);
	enum { CAP = LOG_LINE };
	char *buf = malloc(CAP);
	if (!buf)
		return JS_ThrowOutOfMemory(ctx);
	size_t used = 0;
	buf[0] = '\0';
	for (int i = 0; i < argc && used < CAP - 1; i++)
		if (append_value(ctx, argv[i], buf, CAP, &used) < 0) {
			free(buf);
			return JS_EXCEPTION; /* the CPU limit's: the call ends */
		}
	pp__log_view(vm->rt, (uint32_t)magic,
	             (pp_string_view){(const uint8_t *)vm->bundle, strlen(vm->bundle)},
	             (pp_string_view){(const uint8_t *)buf, used});
	free(buf);
	return JS_UNDEFINED;
}

static const JSCFunctionListEntry console_fns[] = {
        JS_CFUNC_MAGIC_DEF("log", 0, console_log, PP_LOG_INFO),
        JS_CFUNC_MAGIC_DEF("info", 0, console_log, PP_LOG_INFO),
        JS_CFUNC_MAGIC_DEF("warn", 0, console_log, PP_LOG_WARN),
        JS_CFUNC_MAGIC_DEF("error", 0, console_log, PP_LOG_ERROR),
        JS_CFUNC_MAGIC_DEF("debug", 0, console_log, PP_LOG_DEBUG),
        JS_CFUNC_MAGIC_DEF("trace", 0, console_log, PP_LOG_TRACE),
};

/* ---- UTF-8 -------------------------------------------------------------------- */

/* U+FFFD, the replacement character, in UTF-8. */
static const uint8_t replacement[3] = {0xEF, 0xBF, 0xBD};

/* The length of the valid UTF-8 sequence at p (1..4), or 0 if the bytes
 * there start none: the maximal subpart rule of the Encoding standard
 * replaces each invalid prefix with one U+FFFD, *bad says how many bytes. */
static size_t utf8_seq(const uint8_t *p, size_t n, size_t *bad)
{
	uint8_t c = p[0];
	size_t need;
	uint8_t lo = 0x80, hi = 0xBF;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		if (c == 0xE0)
			lo = 0xA0;
		if (c == 0xED) /* no surrogates */
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		if (c == 0xF0)
			lo = 0x90;
		if (c == 0xF4)
			hi = 0x8F;
	} else {
		*bad = 1;
		return 0;
	}
	for (size_t i = 1; i <= need; i++) {
		if (i >= n || p[i] < lo || p[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xBF;
	}
	return need + 1;
}

/* Decodes UTF-8 into a JS string: invalid bytes become U+FFFD, or with
 * fatal a TypeError. A leading BOM is dropped unless keep_bom. */
static JSValue decode_utf8(JSContext *ctx, const uint8_t *p, size_t n, bool fatal, bool keep_bom)
{
	if (!keep_bom && n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
		p += 3;
		n -= 3;
	}
	size_t extra = 0, at = pp_utf8_prefix(p, n); /* all of it, usually */
	while (at < n) {                             /* each invalid byte grows to at most 3 */
		size_t bad = 0, k = utf8_seq(p + at, n - at, &bad);
		if (!k) {
			if (fatal)
				return JS_ThrowTypeError(
				        ctx, "TextDecoder: invalid UTF-8 at byte %zu", at);
			extra += 3;
			k = bad;
		}
		at += k;
	}
	if (!extra)
		return JS_NewStringLen(ctx, (const char *)p, n);
	if (n > SIZE_MAX - extra)
		return JS_ThrowRangeError(ctx, "TextDecoder: input too large");
	uint8_t *clean = js_malloc(ctx, n + extra);
	if (!clean)
		return JS_EXCEPTION;
	size_t out = 0;
	for (at = 0; at < n;) {
		size_t bad = 0, k = utf8_seq(p + at, n - at, &bad);
		if (k) {
			memcpy(clean + out, p + at, k);
			out += k;
			at += k;
		} else {
			memcpy(clean + out, replacement, sizeof replacement);
			out += 3;
			at += bad;
		}
	}
	JSValue s = JS_NewStringLen(ctx, (const char *)clean, out);
	js_free(ctx, clean);
	return s;
}

JSValue pp_js_utf8_string(JSContext *ctx, const uint8_t *p, size_t n)
{
	return decode_utf8(ctx, p, n, false, true);
}

bool pp_js_string_utf8(JSContext *ctx, JSValueConst v, pp_js_text *t)
{
	*t = (pp_js_text){NULL, 0, NULL, NULL};
	size_t len;
	const char *s = JS_ToCStringLen(ctx, &len, v);
	if (!s)
		return false;
	const char *first = memchr(s, 0xED, len); /* none, usually */
	for (size_t i = first ? (size_t)(first - s) : len; i + 2 < len; i++) {
		const uint8_t *b = (const uint8_t *)s + i;
		if (b[0] != 0xED || b[1] < 0xA0)
			continue;
		if (!t->copy) {
			/* js_malloc: counted against the VM's memory limit (and
			 * throws when past it) */
			t->copy = js_malloc(ctx, len + 1);
			if (!t->copy) {
				JS_FreeCString(ctx, s);
				return false;
			}
			memcpy(t->copy, s, len + 1);
		}
		memcpy(t->copy + i, replacement, sizeof replacement);
		i += 2;
	}
	*t = (pp_js_text){t->copy ? t->copy : s, len, s, t->copy};
	return true;
}

void pp_js_text_release(JSContext *ctx, pp_js_text *t)
{
	JS_FreeCString(ctx, t->str);
	js_free(ctx, t->copy);
	*t = (pp_js_text){NULL, 0, NULL, NULL};
}

/* ---- TextEncoder / TextDecoder ----------------------------------------------- */

/* TextEncoder and TextDecoder objects are of classes of their own, so that
 * their methods and attributes can tell them (Web IDL's brand check: on
 * anything else they throw a TypeError) and a decoder's options cannot be
 * forged: they live in its opaque word, out of the guest's reach. */
enum { ENCODER, DECODER };
enum { FATAL = 1, IGNORE_BOM = 2 }; /* a decoder's options, as bits of its opaque */

static const char *const text_class_name[] = {"TextEncoder", "TextDecoder"};

/* this's options if it is an object of `kind`'s class (an encoder has none),
 * else -1 with a TypeError naming what was asked of it. */
static int text_this(JSContext *ctx, JSValueConst this_val, int kind, const char *what)
{
	const js_vm *vm = JS_GetContextOpaque(ctx);
	JSClassID id = vm->text_class[kind];
	if (JS_GetClassID(this_val) != id) {
		JS_ThrowTypeError(ctx, "%s.%s: 'this' is not a %s", text_class_name[kind], what,
		                  text_class_name[kind]);
		return -1;
	}
	return (int)(uintptr_t)JS_GetOpaque(this_val, id);
}

/* `new Ctor()` makes an object of `kind`'s class with Ctor.prototype: if
 * new.target's is not an object (a bound function's, a Proxy's), the
 * class's own, as ECMAScript's GetPrototypeFromConstructor has it. */
static JSValue new_from(JSContext *ctx, JSValueConst new_target, int kind, int options)
{
	if (JS_IsUndefined(new_target))
		return JS_ThrowTypeError(ctx, "the constructor must be called with 'new'");
	JSValue proto = JS_GetPropertyStr(ctx, new_target, "prototype");
	if (JS_IsException(proto))
		return proto;
	const js_vm *vm = JS_GetContextOpaque(ctx);
	if (!JS_IsObject(proto)) {
		JS_FreeValue(ctx, proto);
		proto = JS_GetClassProto(ctx, vm->text_class[kind]);
	}
	JSValue obj = JS_NewObjectProtoClass(ctx, proto, vm->text_class[kind]);
	JS_FreeValue(ctx, proto);
	if (!JS_IsException(obj))
		JS_SetOpaque(obj, (void *)(uintptr_t)options);
	return obj;
}

static JSValue encoder_new(JSContext *ctx, JSValueConst new_target, int argc, JSValueConst *argv)
{
	(void)argc;
	(void)argv;
	return new_from(ctx, new_target, ENCODER, 0);
}

/* The encoding attribute of both: magic is the kind. */
static JSValue text_encoding(JSContext *ctx, JSValueConst this_val, int magic)
{
	if (text_this(ctx, this_val, magic, "encoding") < 0)
		return JS_EXCEPTION;
	return JS_NewString(ctx, "utf-8");
}

/* A decoder's fatal and ignoreBOM attributes: magic is the option's bit. */
static JSValue decoder_option(JSContext *ctx, JSValueConst this_val, int magic)
{
	int options = text_this(ctx, this_val, DECODER, magic == FATAL ? "fatal" : "ignoreBOM");
	return options < 0 ? JS_EXCEPTION : JS_NewBool(ctx, options & magic);
}

static JSValue encoder_encode(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	if (text_this(ctx, this_val, ENCODER, "encode") < 0)
		return JS_EXCEPTION;
	pp_js_text t = {NULL, 0, NULL, NULL};
	if (argc > 0 && !JS_IsUndefined(argv[0]) && !pp_js_string_utf8(ctx, argv[0], &t))
		return JS_EXCEPTION;
	JSValue u8 = pp_js_new_u8_copy(ctx, t.bytes, t.len);
	pp_js_text_release(ctx, &t);
	return u8;
}

/* encodeInto(string, uint8array) -> { read, written }: whole characters
 * only, as many as fit. */
static JSValue encoder_encode_into(JSContext *ctx, JSValueConst this_val, int argc,
                                   JSValueConst *argv)
{
	if (text_this(ctx, this_val, ENCODER, "encodeInto") < 0)
		return JS_EXCEPTION;
	if (argc < 2)
		return JS_ThrowTypeError(ctx, "encodeInto(string, Uint8Array)");
	/* The string first: converting it may run guest code (toString), which
	 * could shrink or detach the destination; nothing runs after the
	 * destination is read below. */
	pp_js_text t;
	if (!pp_js_string_utf8(ctx, argv[0], &t))
		return JS_EXCEPTION;
	size_t off = 0, cap = 0, per = 0, ab_len = 0;
	const js_vm *vm = JS_GetContextOpaque(ctx);
	bool u8 = JS_GetClassID(argv[1]) == vm->u8_class; /* not Int8Array, not clamped */
	JSValue ab = u8 ? JS_GetTypedArrayBuffer(ctx, argv[1], &off, &cap, &per) : JS_UNDEFINED;
	uint8_t *base = JS_IsObject(ab) ? JS_GetArrayBuffer(ctx, &ab_len, ab) : NULL;
	JS_FreeValue(ctx, ab);
	if (!base || per != 1 || off > ab_len || cap > ab_len - off) {
		pp_js_text_release(ctx, &t);
		return JS_ThrowTypeError(ctx,
		                         "encodeInto: the destination is not a live Uint8Array");
	}
	const uint8_t *u = (const uint8_t *)t.bytes;
	size_t written = 0;
	double read = 0;
	while (written < t.len) {
		size_t k = u[written] < 0x80   ? 1
		           : u[written] < 0xE0 ? 2
		           : u[written] < 0xF0 ? 3
		                               : 4;
		if (k > cap - written)
			break;
		memcpy(base + off + written, u + written, k);
		written += k;
		read += k == 4 ? 2 : 1; /* UTF-16 units */
	}
	pp_js_text_release(ctx, &t);
	JSValue r = JS_NewObject(ctx);
	if (JS_IsException(r))
		return r;
	if (JS_SetPropertyStr(ctx, r, "read", JS_NewFloat64(ctx, read)) < 0 ||
	    JS_SetPropertyStr(ctx, r, "written", JS_NewFloat64(ctx, (double)written)) < 0) {
		JS_FreeValue(ctx, r);
		return JS_EXCEPTION;
	}
	return r;
}

/* Reads a boolean option of an options object (absent: false). */
static int option(JSContext *ctx, JSValueConst opts, const char *name)
{
	if (!JS_IsObject(opts))
		return 0;
	JSValue v = JS_GetPropertyStr(ctx, opts, name);
	int b = JS_IsException(v) ? -1 : JS_ToBool(ctx, v);
	JS_FreeValue(ctx, v);
	return b;
}

static JSValue decoder_new(JSContext *ctx, JSValueConst new_target, int argc, JSValueConst *argv)
{
	if (argc > 0 && !JS_IsUndefined(argv[0])) {
		size_t len = 0;
		const char *label = JS_ToCStringLen(ctx, &len, argv[0]);
		if (!label)
			return JS_EXCEPTION;
		const char *l = label + strspn(label, " \t\n\f\r");
		size_t n = len - (size_t)(l - label); /* a NUL inside is not the end */
		while (n && l[n - 1] &&
		       strchr(" \t\n\f\r", l[n - 1])) /* not a NUL: strchr matches it */
			n--;
		bool utf8 = (n == 5 && strncasecmp(l, "utf-8", 5) == 0) ||
		            (n == 4 && strncasecmp(l, "utf8", 4) == 0) ||
		            (n == 17 && strncasecmp(l, "unicode-1-1-utf-8", 17) == 0);
		JSValue err = utf8 ? JS_UNDEFINED
		                   : JS_ThrowRangeError(ctx,
		                                        "TextDecoder: encoding '%s' is not "
		                                        "supported (only utf-8 is)",
		                                        label);
		JS_FreeCString(ctx, label);
		if (!utf8)
			return err;
	}
	int fatal = option(ctx, argc > 1 ? argv[1] : JS_UNDEFINED, "fatal");
	int keep_bom = option(ctx, argc > 1 ? argv[1] : JS_UNDEFINED, "ignoreBOM");
	if (fatal < 0 || keep_bom < 0)
		return JS_EXCEPTION;
	return new_from(ctx, new_target, DECODER,
	                (fatal ? FATAL : 0) | (keep_bom ? IGNORE_BOM : 0));
}

static JSValue decoder_decode(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	int options = text_this(ctx, this_val, DECODER, "decode");
	if (options < 0)
		return JS_EXCEPTION;
	int stream = option(ctx, argc > 1 ? argv[1] : JS_UNDEFINED, "stream");
	if (stream < 0)
		return JS_EXCEPTION;
	if (stream)
		return JS_ThrowTypeError(ctx, "TextDecoder: { stream: true } is not supported");
	if (argc < 1 || JS_IsUndefined(argv[0]))
		return JS_NewString(ctx, "");
	size_t len = 0;
	JSValue hold;
	const uint8_t *p = pp_js_view_bytes(ctx, argv[0], &len, &hold);
	if (!p && JS_HasException(ctx))
		return JS_EXCEPTION; /* a getter ran past the CPU limit */
	if (!p)
		return JS_ThrowTypeError(ctx,
		                         "TextDecoder.decode: expected an ArrayBuffer, a typed "
		                         "array or a DataView");
	JSValue text = decode_utf8(ctx, p, len, options & FATAL, options & IGNORE_BOM);
	JS_FreeValue(ctx, hold);
	return text;
}

static const JSCFunctionListEntry encoder_proto[] = {
        JS_CFUNC_DEF("encode", 0, encoder_encode),
        JS_CFUNC_DEF("encodeInto", 2, encoder_encode_into),
        JS_CGETSET_MAGIC_DEF("encoding", text_encoding, NULL, ENCODER),
        JS_PROP_STRING_DEF("[Symbol.toStringTag]", "TextEncoder", JS_PROP_CONFIGURABLE),
};

static const JSCFunctionListEntry decoder_proto[] = {
        JS_CFUNC_DEF("decode", 0, decoder_decode),
        JS_CGETSET_MAGIC_DEF("encoding", text_encoding, NULL, DECODER),
        JS_CGETSET_MAGIC_DEF("fatal", decoder_option, NULL, FATAL),
        JS_CGETSET_MAGIC_DEF("ignoreBOM", decoder_option, NULL, IGNORE_BOM),
        JS_PROP_STRING_DEF("[Symbol.toStringTag]", "TextDecoder", JS_PROP_CONFIGURABLE),
};

/* global[name] = a constructor whose prototype has fns, for objects of
 * `kind`'s class. The class's id is the process's (QuickJS numbers
 * classes process-wide, once: its own lock guards the first call); each
 * VM's runtime registers it, and keeps the id it got (what another thread
 * wrote is not read again). */
static int add_class(js_vm *vm, JSValueConst global, int kind, JSCFunction *ctor,
                     const JSCFunctionListEntry *fns, int count)
{
	static JSClassID ids[2];
	JSContext *ctx = vm->ctx;
	const char *name = text_class_name[kind];
	vm->text_class[kind] = JS_NewClassID(&ids[kind]);
	if (JS_NewClass(vm->qrt, vm->text_class[kind], &(JSClassDef){.class_name = name}) < 0) {
		JS_ThrowOutOfMemory(ctx);
		return -1;
	}
	JSValue proto = JS_NewObject(ctx);
	if (JS_IsException(proto))
		return -1;
	JSValue fn = JS_NewCFunction2(ctx, ctor, name, 0, JS_CFUNC_constructor, 0);
	if (JS_IsException(fn)) {
		JS_FreeValue(ctx, proto);
		return -1;
	}
	JS_SetPropertyFunctionList(ctx, proto, fns, count);
	if (JS_HasException(ctx)) { /* out of memory */
		JS_FreeValue(ctx, proto);
		JS_FreeValue(ctx, fn);
		return -1;
	}
	JS_SetConstructor(ctx, fn, proto);
	JS_SetClassProto(ctx, vm->text_class[kind], proto); /* new_from's fallback */
	return JS_DefinePropertyValueStr(ctx, global, name, fn,
	                                 JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE);
}

/* ---- queueMicrotask ----------------------------------------------------------- */

static JSValue microtask_job(JSContext *ctx, int argc, JSValueConst *argv)
{
	(void)argc;
	return JS_Call(ctx, argv[0], JS_UNDEFINED, 0, NULL);
}

static JSValue queue_microtask(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	if (argc < 1 || !JS_IsFunction(ctx, argv[0]))
		return JS_ThrowTypeError(ctx, "queueMicrotask: the argument must be a function");
	if (JS_EnqueueJob(ctx, microtask_job, 1, argv) < 0)
		return JS_EXCEPTION;
	return JS_UNDEFINED;
}

/* ---- Unhandled rejections ------------------------------------------------------- */

#define REJECTIONS_KEPT (sizeof((js_vm *)0)->rejected / sizeof((js_vm *)0)->rejected[0])

/* Queued when a promise is rejected with no handler: it does nothing but
 * make the call settle on the slow path, which reports the rejection once
 * every job has run (a job may still add the handler). */
static JSValue wake_settle(JSContext *ctx, int argc, JSValueConst *argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	return JS_UNDEFINED;
}

static void rejection_free(JSContext *ctx, struct js_rejection *r)
{
	JS_FreeValue(ctx, r->promise);
	JS_FreeValue(ctx, r->reason);
}

static bool same_object(JSValueConst a, JSValueConst b)
{
	return JS_IsObject(a) && JS_IsObject(b) && JS_VALUE_GET_PTR(a) == JS_VALUE_GET_PTR(b);
}

/* QuickJS's rejection tracker: a promise rejected with no handler, or a
 * handler added to one. Runs inside the VM, during guest code. */
static void track_rejection(JSContext *ctx, JSValueConst promise, JSValueConst reason,
                            JS_BOOL is_handled, void *opaque)
{
	js_vm *vm = opaque;
	if (is_handled) {
		for (size_t i = 0; i < vm->rejected_n; i++) {
			if (same_object(vm->rejected[i].promise, promise)) {
				rejection_free(ctx, &vm->rejected[i]);
				vm->rejected[i] = vm->rejected[--vm->rejected_n];
				return;
			}
		}
		return;
	}
	if (vm->rejected_n == REJECTIONS_KEPT) {
		vm->rejected_dropped++;
		return;
	}
	/* out of memory for the job: reported at the next call that queues one */
	if (vm->rejected_n == 0 && JS_EnqueueJob(ctx, wake_settle, 0, NULL) < 0)
		pp_js_clear_exception(ctx);
	vm->rejected[vm->rejected_n++] =
	        (struct js_rejection){JS_DupValue(ctx, promise), JS_DupValue(ctx, reason)};
}

/* The call's own error, which the call itself reports: what it threw, or
 * what its returned promise was rejected with (JS_UNDEFINED if neither). */
static JSValue own_error(JSContext *ctx, JSValueConst result, JSValueConst thrown)
{
	if (JS_IsException(result))
		return JS_DupValue(ctx, thrown);
	if (JS_PromiseState(ctx, result) == JS_PROMISE_REJECTED)
		return JS_PromiseResult(ctx, result);
	return JS_UNDEFINED;
}

/* Logs the rejections still unhandled, except the call's own (its result
 * promise, or one rejected with the call's error: an ES module's body
 * rejects an inner promise too). Making a reason's text runs guest code,
 * which may reject more: those wait for the next report. */
static void report_rejections(js_vm *vm, JSValueConst result, JSValueConst thrown)
{
	JSContext *ctx = vm->ctx;
	struct js_rejection taken[REJECTIONS_KEPT];
	size_t n = vm->rejected_n, dropped = vm->rejected_dropped;
	memcpy(taken, vm->rejected, n * sizeof taken[0]);
	vm->rejected_n = vm->rejected_dropped = 0;
	JSValue err = own_error(ctx, result, thrown);
	bool own_seen = false;
	for (size_t i = 0; i < n; i++) {
		bool own = same_object(taken[i].promise, result) ||
		           (!JS_IsUndefined(err) && JS_StrictEq(ctx, taken[i].reason, err));
		own_seen = own_seen || own;
		if (!own && !vm->interrupted) {
			JS_Throw(ctx, JS_DupValue(ctx, taken[i].reason));
			char *text = pp_js_exception_text(ctx);
			if (!vm->interrupted) /* the limit stopped its toString: say nothing */
				pp__log(vm->rt, PP_LOG_ERROR, vm->bundle,
				        "unhandled promise rejection: %s",
				        text ? text : "(out of memory)");
			free(text);
		}
		rejection_free(ctx, &taken[i]);
	}
	/* a returned promise rejected with no handler was tracked: if not kept,
	 * it is among those only counted (a throw rejects no promise) */
	if (dropped && !own_seen && !JS_IsException(result) && !JS_IsUndefined(err))
		dropped--;
	JS_FreeValue(ctx, err);
	if (dropped && !vm->interrupted)
		pp__log(vm->rt, PP_LOG_ERROR, vm->bundle,
		        "%zu more unhandled promise rejections (only %zu are kept per call)",
		        dropped, REJECTIONS_KEPT);
}

void pp_js_rejections_free(js_vm *vm)
{
	for (size_t i = 0; i < vm->rejected_n; i++)
		rejection_free(vm->ctx, &vm->rejected[i]);
	vm->rejected_n = vm->rejected_dropped = 0;
}

/* ---- Installing ----------------------------------------------------------------- */

int pp_js_globals_install(js_vm *vm)
{
	JSContext *ctx = vm->ctx;
	JS_SetHostPromiseRejectionTracker(vm->qrt, track_rejection, vm);
	JSValue global = JS_GetGlobalObject(ctx);
	JSValue console = JS_NewObject(ctx);
	int st = JS_IsException(console) ? -1 : 0;
	if (st == 0) {
		JS_SetPropertyFunctionList(ctx, console, console_fns,
		                           sizeof console_fns / sizeof console_fns[0]);
		st = JS_HasException(ctx) ? -1 : 0;
	}
	if (st == 0)
		st = JS_DefinePropertyValueStr(ctx, global, "console", JS_DupValue(ctx, console),
		                               JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE);
	JS_FreeValue(ctx, console);
	if (st >= 0)
		st = add_class(vm, global, ENCODER, encoder_new, encoder_proto,
		               sizeof encoder_proto / sizeof encoder_proto[0]);
	if (st >= 0)
		st = add_class(vm, global, DECODER, decoder_new, decoder_proto,
		               sizeof decoder_proto / sizeof decoder_proto[0]);
	if (st >= 0) {
		JSValue q = JS_NewCFunction(ctx, queue_microtask, "queueMicrotask", 1);
		st = JS_DefinePropertyValueStr(ctx, global, "queueMicrotask", q,
		                               JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE);
	}
	JS_FreeValue(ctx, global);
	return st < 0 ? -1 : 0;
}

/* ---- The job queue -------------------------------------------------------------- */

/* Runs every queued job. false if the CPU limit stopped it (its exception
 * pending); a job that threw otherwise is reported, as nobody can catch it. */
static bool drain(js_vm *vm)
{
	while (JS_IsJobPending(vm->qrt)) {
		JSContext *job_ctx;
		int ran = JS_ExecutePendingJob(vm->qrt, &job_ctx);
		/* a promise handler may have caught the limit's error: the flag
		 * says what happened; what is still queued goes unrun, so that it
		 * cannot run in the bundle's next call (another caller's) */
		if (vm->interrupted) {
			JS_DropPendingJobs(vm->qrt);
			return false;
		}
		if (ran >= 0)
			continue;
		char *text = pp_js_exception_text(vm->ctx);
		if (vm->interrupted) { /* the limit stopped its toString */
			free(text);
			JS_DropPendingJobs(vm->qrt);
			return false;
		}
		pp__log(vm->rt, PP_LOG_ERROR, vm->bundle, "uncaught exception in a microtask: %s",
		        text ? text : "(out of memory)");
		free(text);
	}
	return true;
}

JSValue pp_js_settle_slow(js_vm *vm, JSValue ret)
{
	JSContext *ctx = vm->ctx;
	/* a throw stays the call's result; the jobs it queued still run */
	JSValue thrown = JS_IsException(ret) ? JS_GetException(ctx) : JS_UNDEFINED;
	for (int reports = 0;;) {
		if (vm->interrupted || !drain(vm)) {
			/* the CPU limit ends the call, whatever the guest made of its
			 * error (a .catch, a swallowed rejection); what it left
			 * unhandled is not reported (no guest code runs now), and what
			 * it left queued goes unrun */
			JS_DropPendingJobs(vm->qrt);
			pp_js_rejections_free(vm);
			JS_FreeValue(ctx, thrown);
			JS_FreeValue(ctx, ret);
			if (!JS_HasException(ctx))
				JS_ThrowInternalError(ctx, "interrupted");
			return JS_EXCEPTION;
		}
		/* what is still unhandled now that every job has run (reporting
		 * runs guest code: drain again after; a few rounds at most) */
		if (vm->rejected_n) {
			if (reports++ < 4) {
				report_rejections(vm, ret, thrown);
				continue;
			}
			pp_js_rejections_free(vm); /* made by the reporting itself */
		}
		if (JS_IsException(ret))
			return JS_Throw(ctx, thrown);
		int state = (int)JS_PromiseState(ctx, ret);
		if (state < 0)
			return ret; /* not a Promise: as it is */
		if (state == JS_PROMISE_PENDING) {
			if (JS_IsJobPending(vm->qrt))
				continue;
			JS_FreeValue(ctx, ret);
			return JS_ThrowTypeError(ctx,
			                         "the returned Promise never settled: nothing is "
			                         "left to run (a bundle has no timers or I/O)");
		}
		JSValue v = JS_PromiseResult(ctx, ret);
		JS_FreeValue(ctx, ret);
		if (state == JS_PROMISE_REJECTED)
			return JS_Throw(ctx, v);
		return v;
	}
}
