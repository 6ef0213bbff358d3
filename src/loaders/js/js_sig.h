/*
 * js_sig.h — typed signatures: polyplug-c's fast path for host -> JS calls.
 *
 * A bundle may give `interface.signatures[fn] = { params: [types], result:
 * type }`. For such a function the loader reads the args struct itself (the
 * params laid out in order with natural alignment, as a C compiler lays out
 * a struct of them) and calls `functions[fn](impl, ...values)`; the value it
 * returns is written to `out` as `result`. No bridge call per field, no
 * pointer arithmetic in JS. Types: bool, i8, u8, i16, u16, i32, u32, i64, u64
 * (BigInt), f32, f64, StringView (a string, UTF-8 on the C side), Buffer
 * (a Uint8Array copy in; an ArrayBuffer or any typed array / DataView out),
 * void (result only), structs written { struct: [[name, type], ...] }
 * (fixed-size fields, nested structs allowed; a JS object on the JS side),
 * a `method` name (the loader then calls impl[method](...values) with impl
 * as `this`, instead of functions[fn]: one JS call less for generated glue),
 * and Arena: a hidden param (the pointer generated glue
 * puts in the args struct) naming where a StringView/Buffer result's bytes
 * go. Those bytes go to that arena, else the call's, else the host's
 * allocator (the caller then frees them with host->free(ptr, len, 1)).
 */
#ifndef PP_JS_SIG_H
#define PP_JS_SIG_H

#include <quickjs.h>

#include <polyplug/abi.h>

#define PP_JS_SIG_MAX_PARAMS 16

/* The kinds of a type. */
enum {
	SIG_VOID,
	SIG_BOOL,
	SIG_I8,
	SIG_U8,
	SIG_I16,
	SIG_U16,
	SIG_I32,
	SIG_U32,
	SIG_I64,
	SIG_U64,
	SIG_F32,
	SIG_F64,
	SIG_STRING,
	SIG_BUFFER,
	SIG_ARENA, /* a hidden param: where a StringView/Buffer result's bytes go */
	SIG_STRUCT,
};

#define PP_JS_SIG_MAX_STRUCTS 32

/* A type: a kind, and for a struct, which of the signature's structs. */
typedef struct js_type {
	uint8_t kind;
	uint8_t st;
} js_type;

typedef struct js_field {
	JSAtom name;
	js_type type;
	uint16_t offset;
} js_field;

/* { struct: [[name, type], ...] }: a JS object on the JS side, a C struct
 * of fixed-size fields (natural alignment) on the C side. */
typedef struct js_struct {
	js_field *fields;
	uint8_t count;
	uint16_t size, align;
} js_struct;

typedef struct js_sig {
	bool typed; /* false: the function takes the reference's raw arguments */
	bool has_arena;
	uint16_t arena_offset;
	uint8_t nparams;              /* Arena included */
	bool scalars;                 /* every param a number or bool (see below) */
	bool i32s;                    /* every param an i32: the args are an int32_t[] */
	uint32_t args_size, out_size; /* bytes the args struct and the result use */
	js_type result;
	js_type types[PP_JS_SIG_MAX_PARAMS];
	uint16_t offsets[PP_JS_SIG_MAX_PARAMS];
	js_struct *structs; /* NULL if it uses none */
	uint8_t nstructs;
	JSAtom method; /* { method: 'name' }: call impl.name(...) directly, or JS_ATOM_NULL */
} js_sig;

/* The bytes pp_js_sig_read allocated for sig's structs. */
size_t pp_js_sig_bytes(const js_sig *sig);
/* Frees what pp_js_sig_read allocated (atoms and structs). */
void pp_js_sig_free(JSContext *ctx, js_sig *sig);
/* Whether two signatures (of two VMs, so their atoms differ) describe the
 * same memory: kinds, sizes, offsets, structs and whether a method is named. */
bool pp_js_sig_same_shape(const js_sig *a, const js_sig *b);

/* Reads one signature object into *sig. On a bad one returns false with the
 * reason in why, or with a getter's exception (or the CPU limit's) pending:
 * the caller reports that instead. */
bool pp_js_sig_read(JSContext *ctx, JSValueConst spec, js_sig *sig, char *why, size_t cap);

/* Converts the args struct into argv (Arena params are not passed) and
 * returns how many values it made. On failure returns -1 with a JS
 * exception pending and nothing left to free. Inline below. */
int pp_js_sig_args_any(JSContext *ctx, const js_sig *sig, const void *args, JSValue *argv);

/* For a guarded caller: every StringView/Buffer param's bytes pass
 * readable(ptr, len), and an Arena param is NULL (a non-NULL one is put to
 * readable(NULL, 1), which refuses it). The args struct itself is the
 * caller's to have checked. */
bool pp_js_sig_args_ok(const js_sig *sig, const void *args,
                       bool (*readable)(void *ud, const void *p, size_t len), void *ud);

/* Whether the calling VM's CPU limit has stopped it (js_loader.c): its
 * exception must end the call, never be cleared. */
bool pp_js_interrupted(JSContext *ctx);
/* Clears a pending exception that a message will stand for — never the
 * one a CPU limit threw. Returns whether nothing is pending now. */
bool pp_js_clear_exception(JSContext *ctx);
/* The class of a genuine DataView in ctx's VM (js_loader.c), or
 * JS_INVALID_CLASS_ID. */
JSClassID pp_js_dataview_class(JSContext *ctx);
/* The bytes of an ArrayBuffer, a typed array or a DataView (*len set), or
 * NULL if v is none (an object that only looks like one is none) (or a getter of it ran past the CPU limit: its
 * exception is left pending). Valid until guest code runs and while *hold,
 * which the caller frees after reading, keeps the buffer alive. */
const uint8_t *pp_js_view_bytes(JSContext *ctx, JSValueConst v, size_t *len, JSValue *hold);
/* Text crossing between C and JS as well-formed UTF-8 both ways (QuickJS
 * alone writes a lone surrogate as its 3-byte form, and skips a byte after
 * an invalid one): bytes to a string with each invalid sequence U+FFFD
 * (the Encoding standard's decoding, as TextDecoder), and a string's UTF-8
 * with each lone surrogate U+FFFD, the same length. The second fills t
 * (t->bytes, t->len) and returns false with an exception pending if it
 * cannot; what it holds — a copy when there were surrogates, made on the
 * VM's heap so that the memory limit counts it — goes with
 * pp_js_text_release. */
typedef struct pp_js_text {
	const char *bytes;
	size_t len;
	const char *str; /* QuickJS's conversion */
	char *copy;      /* the replaced bytes, or NULL */
} pp_js_text;
JSValue pp_js_utf8_string(JSContext *ctx, const uint8_t *p, size_t n);
bool pp_js_string_utf8(JSContext *ctx, JSValueConst v, pp_js_text *t);
void pp_js_text_release(JSContext *ctx, pp_js_text *t);
/* A new Uint8Array holding a copy of len bytes at p (NULL p: empty). */
JSValue pp_js_new_u8_copy(JSContext *ctx, const void *p, size_t len);
/* A Number for a message, as JS prints NaN and Infinity. */
void pp_js_describe_number(double d, char *buf, size_t cap);
/* v for a message ("the string \"x\"", "a Promise", "undefined"), without
 * running guest code (no toString). */
void pp_js_describe_value(JSContext *ctx, JSValueConst v, char *buf, size_t cap);

/* Undoes a result written by a call that then failed (its guard found a
 * violation): a StringView/Buffer's bytes from the host's allocator, which
 * the caller of a failed call never frees, are freed and out cleared. */
void pp_js_sig_result_drop(const js_sig *sig, const pp_host_api *host, const void *args, void *out,
                           pp_call_arena *call_arena);

/* Writes a typed function's returned value to out. Returns PP_OK, or a status
 * with the reason in why. A value of the wrong type or out of its type's
 * range is refused, never converted: "its i32 result is the string \"7\";
 * expected an integer in -2147483648..2147483647". A struct field's getter
 * that throws (or is stopped by a limit) leaves its exception pending. A StringView/Buffer result's bytes go to the args'
 * Arena member if it is set, else to call_arena, else to host->alloc. Inline
 * below. */
uint32_t pp_js_sig_result_any(JSContext *ctx, const js_sig *sig, JSValueConst ret, void *out,
                              const pp_host_api *host, const void *args, pp_call_arena *call_arena,
                              char *why, size_t cap);

/* ---- The hot path, inline: numbers and bools ---------------------------------
 * Their JS values are immediates (no allocation, nothing to free) and a
 * small integer result comes back as an int-tagged value: a typed call of
 * numbers converts in place, with no call and no exception to check. */

#define PP_JS_SIG_LOAD(T, p) (*(const T *)(const void *)(p)) /* naturally aligned */
#define PP_JS_SIG_STORE(T, p, v) (*(T *)(void *)(p) = (T)(v))

/* A number or bool param: a value QuickJS makes without allocating. */
static inline bool pp_js_sig_scalar(uint8_t kind)
{
	return kind >= SIG_BOOL && kind <= SIG_F64 && kind != SIG_I64 && kind != SIG_U64;
}

static inline JSValue pp_js_scalar_to_js(JSContext *ctx, uint8_t kind, const uint8_t *p)
{
	switch (kind) {
	case SIG_BOOL:
		return JS_NewBool(ctx, PP_JS_SIG_LOAD(uint8_t, p) != 0);
	case SIG_I8:
		return JS_NewInt32(ctx, PP_JS_SIG_LOAD(int8_t, p));
	case SIG_U8:
		return JS_NewInt32(ctx, PP_JS_SIG_LOAD(uint8_t, p));
	case SIG_I16:
		return JS_NewInt32(ctx, PP_JS_SIG_LOAD(int16_t, p));
	case SIG_U16:
		return JS_NewInt32(ctx, PP_JS_SIG_LOAD(uint16_t, p));
	case SIG_I32:
		return JS_NewInt32(ctx, PP_JS_SIG_LOAD(int32_t, p));
	case SIG_U32:
		return JS_NewUint32(ctx, PP_JS_SIG_LOAD(uint32_t, p));
	case SIG_F32:
		return JS_NewFloat64(ctx, PP_JS_SIG_LOAD(float, p));
	default: /* SIG_F64 */
		return JS_NewFloat64(ctx, PP_JS_SIG_LOAD(double, p));
	}
}

static inline int pp_js_sig_args(JSContext *ctx, const js_sig *sig, const void *args, JSValue *argv)
{
	if (!sig->scalars || !args)
		return pp_js_sig_args_any(ctx, sig, args, argv);
	if (sig->i32s) { /* the commonest kind, read without dispatching on it */
		for (uint8_t i = 0; i < sig->nparams; i++)
			argv[i] = JS_NewInt32(ctx,
			                      PP_JS_SIG_LOAD(int32_t, (const int32_t *)args + i));
		return sig->nparams;
	}
	for (uint8_t i = 0; i < sig->nparams; i++)
		argv[i] = pp_js_scalar_to_js(ctx, sig->types[i].kind,
		                             (const uint8_t *)args + sig->offsets[i]);
	return sig->nparams;
}

/* Stores integer v as a number kind when the kind holds it exactly (an i8
 * holds -128..127, a u64 no negative); false otherwise, and for kinds that
 * are not numbers (a bool is true or false, never 1). The general path
 * stores its checked integers here too. */
static inline bool pp_js_store_int(uint8_t kind, int64_t v, void *out)
{
	switch (kind) {
	case SIG_I8:
		if (v < INT8_MIN || v > INT8_MAX)
			return false;
		PP_JS_SIG_STORE(int8_t, out, v);
		return true;
	case SIG_U8:
		if (v < 0 || v > UINT8_MAX)
			return false;
		PP_JS_SIG_STORE(uint8_t, out, v);
		return true;
	case SIG_I16:
		if (v < INT16_MIN || v > INT16_MAX)
			return false;
		PP_JS_SIG_STORE(int16_t, out, v);
		return true;
	case SIG_U16:
		if (v < 0 || v > UINT16_MAX)
			return false;
		PP_JS_SIG_STORE(uint16_t, out, v);
		return true;
	case SIG_I32:
		if (v < INT32_MIN || v > INT32_MAX)
			return false;
		PP_JS_SIG_STORE(int32_t, out, v);
		return true;
	case SIG_U32:
		if (v < 0 || v > UINT32_MAX)
			return false;
		PP_JS_SIG_STORE(uint32_t, out, v);
		return true;
	case SIG_I64:
		PP_JS_SIG_STORE(int64_t, out, v);
		return true;
	case SIG_U64:
		if (v < 0)
			return false;
		PP_JS_SIG_STORE(uint64_t, out, v);
		return true;
	case SIG_F32:
		PP_JS_SIG_STORE(float, out, v);
		return true;
	case SIG_F64:
		PP_JS_SIG_STORE(double, out, v);
		return true;
	default:
		return false;
	}
}

static inline uint32_t pp_js_sig_result(JSContext *ctx, const js_sig *sig, JSValueConst ret,
                                        void *out, const pp_host_api *host, const void *args,
                                        pp_call_arena *call_arena, char *why, size_t cap)
{
	if (JS_VALUE_GET_TAG(ret) == JS_TAG_INT && out) {
		if (sig->result.kind == SIG_I32) { /* an int-tagged value is an int32 */
			PP_JS_SIG_STORE(int32_t, out, JS_VALUE_GET_INT(ret));
			return PP_OK;
		}
		if (pp_js_store_int(sig->result.kind, JS_VALUE_GET_INT(ret), out))
			return PP_OK;
	}
	return pp_js_sig_result_any(ctx, sig, ret, out, host, args, call_arena, why, cap);
}

#endif
