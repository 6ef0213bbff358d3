/*
 * js_sig.c — typed signatures (see js_sig.h): parsing them at load, and
 * converting args and results at each call.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "js_sig.h"

#include <polyplug/polyplug.h>

static const struct {
	const char *name;
	uint8_t size; /* also the alignment */
} types[] = {
        [SIG_VOID] = {"void", 0},
        [SIG_BOOL] = {"bool", 1},
        [SIG_I8] = {"i8", 1},
        [SIG_U8] = {"u8", 1},
        [SIG_I16] = {"i16", 2},
        [SIG_U16] = {"u16", 2},
        [SIG_I32] = {"i32", 4},
        [SIG_U32] = {"u32", 4},
        [SIG_I64] = {"i64", 8},
        [SIG_U64] = {"u64", 8},
        [SIG_F32] = {"f32", 4},
        [SIG_F64] = {"f64", 8},
        [SIG_STRING] = {"StringView", 16},
        [SIG_BUFFER] = {"Buffer", 16},
        [SIG_ARENA] = {"Arena", 8},
        [SIG_STRUCT] = {"struct", 0},
};

_Static_assert(sizeof(pp_string_view) == 16, "StringView and Buffer are {ptr, len}");

bool pp_js_clear_exception(JSContext *ctx)
{
	if (!JS_HasException(ctx))
		return true;
	if (pp_js_interrupted(ctx))
		return false;
	JS_FreeValue(ctx, JS_GetException(ctx));
	return true;
}

/* The type named by v, or -1 (why says so). */
static int type_of(JSContext *ctx, JSValueConst v, const char *where, char *why, size_t cap)
{
	const char *name = JS_IsString(v) ? JS_ToCString(ctx, v) : NULL;
	if (!name) {
		snprintf(why, cap, "%s is not a type name (a string)", where);
		return -1;
	}
	int found = -1;
	for (int t = 0; t < SIG_STRUCT; t++)
		if (strcmp(name, types[t].name) == 0)
			found = t;
	if (found < 0)
		snprintf(why, cap, "%s: unknown type '%s'", where, name);
	JS_FreeCString(ctx, name);
	return found;
}

static size_t type_size(const js_sig *sig, js_type t)
{
	return t.kind == SIG_STRUCT ? sig->structs[t.st].size : types[t.kind].size;
}

/* As C aligns it: a number by its size, a StringView or Buffer (16 bytes) by
 * its pointer. */
static size_t type_align(const js_sig *sig, js_type t)
{
	if (t.kind == SIG_STRING || t.kind == SIG_BUFFER)
		return _Alignof(pp_string_view);
	return t.kind == SIG_STRUCT ? sig->structs[t.st].align : types[t.kind].size;
}

void pp_js_sig_free(JSContext *ctx, js_sig *sig)
{
	if (sig->method != JS_ATOM_NULL)
		JS_FreeAtom(ctx, sig->method);
	sig->method = JS_ATOM_NULL;
	for (uint8_t i = 0; i < sig->nstructs; i++) {
		for (uint8_t k = 0; k < sig->structs[i].count; k++)
			JS_FreeAtom(ctx, sig->structs[i].fields[k].name);
		free(sig->structs[i].fields);
	}
	free(sig->structs);
	sig->structs = NULL;
	sig->nstructs = 0;
}

static bool same_type(js_type a, js_type b)
{
	return a.kind == b.kind && a.st == b.st;
}

bool pp_js_sig_same_shape(const js_sig *a, const js_sig *b)
{
	if (a->typed != b->typed || a->has_arena != b->has_arena ||
	    a->arena_offset != b->arena_offset || a->nparams != b->nparams ||
	    a->args_size != b->args_size || a->out_size != b->out_size ||
	    !same_type(a->result, b->result) || a->nstructs != b->nstructs ||
	    (a->method == JS_ATOM_NULL) != (b->method == JS_ATOM_NULL))
		return false;
	for (uint8_t i = 0; i < a->nparams; i++)
		if (!same_type(a->types[i], b->types[i]) || a->offsets[i] != b->offsets[i])
			return false;
	for (uint8_t i = 0; i < a->nstructs; i++) {
		const js_struct *x = &a->structs[i], *y = &b->structs[i];
		if (x->count != y->count || x->size != y->size || x->align != y->align)
			return false;
		for (uint8_t k = 0; k < x->count; k++)
			if (!same_type(x->fields[k].type, y->fields[k].type) ||
			    x->fields[k].offset != y->fields[k].offset)
				return false;
	}
	return true;
}

static int64_t length_of(JSContext *ctx, JSValueConst a)
{
	int64_t n = -1;
	if (JS_IsArray(ctx, a) > 0) {
		JSValue length = JS_GetPropertyStr(ctx, a, "length");
		if (JS_ToInt64(ctx, &n, length) < 0)
			n = -1;
		JS_FreeValue(ctx, length);
	}
	return n;
}

static bool parse_type(JSContext *ctx, JSValueConst v, const char *where, js_sig *sig, int depth,
                       js_type *out, char *why, size_t cap);

/* { struct: [[name, type], ...] } into a new entry of sig->structs. */
static bool parse_struct(JSContext *ctx, JSValueConst v, const char *where, js_sig *sig, int depth,
                         js_type *out, char *why, size_t cap)
{
	if (depth > 8 || sig->nstructs == PP_JS_SIG_MAX_STRUCTS) {
		snprintf(why, cap, "%s: structs nest too deep or are too many", where);
		return false;
	}
	JSValue fields = JS_GetPropertyStr(ctx, v, "struct");
	int64_t n = length_of(ctx, fields);
	bool ok = n > 0 && n <= 64;
	if (!ok)
		snprintf(why, cap,
		         "%s: a struct is { struct: [[name, type], ...] } with 1 to 64 fields",
		         where);
	js_struct st = {NULL, 0, 0, 1};
	if (ok && !(st.fields = calloc((size_t)n, sizeof *st.fields))) {
		snprintf(why, cap, "out of memory");
		ok = false;
	}
	size_t offset = 0;
	for (int64_t i = 0; ok && i < n; i++) {
		char at[64];
		snprintf(at, sizeof at, "%s.struct[%lld]", where, (long long)i);
		JSValue f = JS_GetPropertyUint32(ctx, fields, (uint32_t)i);
		JSValue name = JS_GetPropertyUint32(ctx, f, 0);
		JSValue type = JS_GetPropertyUint32(ctx, f, 1);
		js_field *fd = &st.fields[i];
		ok = JS_IsString(name);
		if (!ok)
			snprintf(why, cap, "%s: a field is [name, type] with a string name", at);
		else
			ok = parse_type(ctx, type, at, sig, depth + 1, &fd->type, why, cap);
		if (ok && (fd->type.kind == SIG_VOID || fd->type.kind == SIG_STRING ||
		           fd->type.kind == SIG_BUFFER || fd->type.kind == SIG_ARENA)) {
			snprintf(why, cap, "%s: a struct field has a fixed size: not %s", at,
			         types[fd->type.kind].name);
			ok = false;
		}
		if (ok) {
			fd->name = JS_ValueToAtom(ctx, name);
			st.count++;
			size_t a = type_align(sig, fd->type);
			offset = (offset + a - 1) & ~(a - 1);
			fd->offset = (uint16_t)offset;
			offset += type_size(sig, fd->type);
			if (a > st.align)
				st.align = (uint16_t)a;
		}
		JS_FreeValue(ctx, name);
		JS_FreeValue(ctx, type);
		JS_FreeValue(ctx, f);
	}
	JS_FreeValue(ctx, fields);
	if (!ok) {
		for (uint8_t k = 0; k < st.count; k++)
			JS_FreeAtom(ctx, st.fields[k].name);
		free(st.fields);
		return false;
	}
	st.size = (uint16_t)((offset + st.align - 1) & ~((size_t)st.align - 1));
	js_struct *all = realloc(sig->structs, (sig->nstructs + 1u) * sizeof *all);
	if (!all) {
		for (uint8_t k = 0; k < st.count; k++)
			JS_FreeAtom(ctx, st.fields[k].name);
		free(st.fields);
		snprintf(why, cap, "out of memory");
		return false;
	}
	sig->structs = all;
	sig->structs[sig->nstructs] = st;
	out->kind = SIG_STRUCT;
	out->st = sig->nstructs++;
	return true;
}

static bool parse_type(JSContext *ctx, JSValueConst v, const char *where, js_sig *sig, int depth,
                       js_type *out, char *why, size_t cap)
{
	out->st = 0;
	if (JS_IsObject(v))
		return parse_struct(ctx, v, where, sig, depth, out, why, cap);
	int t = type_of(ctx, v, where, why, cap);
	out->kind = (uint8_t)(t < 0 ? 0 : t);
	return t >= 0;
}

size_t pp_js_sig_bytes(const js_sig *sig)
{
	size_t n = (size_t)sig->nstructs * sizeof *sig->structs;
	for (uint8_t i = 0; i < sig->nstructs; i++)
		n += (size_t)sig->structs[i].count * sizeof *sig->structs[i].fields;
	return n;
}

bool pp_js_sig_read(JSContext *ctx, JSValueConst spec, js_sig *sig, char *why, size_t cap)
{
	memset(sig, 0, sizeof *sig);
	sig->method = JS_ATOM_NULL;
	if (!JS_IsObject(spec)) {
		snprintf(why, cap, "a signature must be an object {params, result}");
		return false;
	}
	bool ok = false;
	JSValue params = JS_GetPropertyStr(ctx, spec, "params");
	JSValue result = JS_GetPropertyStr(ctx, spec, "result");
	int64_t n = length_of(ctx, params);
	if (n < 0) {
		snprintf(why, cap, "its params must be an array of type names");
		goto done;
	}
	if (n > PP_JS_SIG_MAX_PARAMS) {
		snprintf(why, cap, "it has %lld params; at most %d are supported", (long long)n,
		         PP_JS_SIG_MAX_PARAMS);
		goto done;
	}
	size_t offset = 0;
	for (int64_t i = 0; i < n; i++) {
		char where[32];
		snprintf(where, sizeof where, "params[%lld]", (long long)i);
		JSValue p = JS_GetPropertyUint32(ctx, params, (uint32_t)i);
		js_type jt;
		bool parsed = parse_type(ctx, p, where, sig, 0, &jt, why, cap);
		JS_FreeValue(ctx, p);
		if (!parsed)
			goto done;
		int t = jt.kind;
		if (t == SIG_VOID) {
			snprintf(why, cap, "%s: void is only a result type", where);
			goto done;
		}
		if (t == SIG_ARENA && sig->has_arena) {
			snprintf(why, cap, "%s: only one Arena param", where);
			goto done;
		}
		size_t align = type_align(sig, jt);
		offset = (offset + align - 1) & ~(align - 1);
		sig->types[i] = jt;
		sig->offsets[i] = (uint16_t)offset;
		if (t == SIG_ARENA) {
			sig->has_arena = true;
			sig->arena_offset = (uint16_t)offset;
		}
		offset += type_size(sig, jt);
	}
	js_type r = {SIG_VOID, 0};
	if (!JS_IsUndefined(result) && !parse_type(ctx, result, "result", sig, 0, &r, why, cap))
		goto done;
	if (r.kind == SIG_ARENA) {
		snprintf(why, cap, "result: Arena is only a param type");
		goto done;
	}
	sig->nparams = (uint8_t)n;
	sig->scalars = true;
	sig->i32s = true;
	for (uint8_t i = 0; i < sig->nparams; i++) {
		sig->scalars = sig->scalars && pp_js_sig_scalar(sig->types[i].kind);
		sig->i32s = sig->i32s && sig->types[i].kind == SIG_I32;
	}
	sig->result = r;
	sig->args_size = (uint32_t)offset;
	sig->out_size = r.kind == SIG_VOID ? 0 : (uint32_t)type_size(sig, r);
	JSValue method = JS_GetPropertyStr(ctx, spec, "method");
	if (JS_IsString(method)) {
		sig->method = JS_ValueToAtom(ctx, method);
	} else if (!JS_IsUndefined(method)) {
		snprintf(why, cap, "its method must be a string");
		JS_FreeValue(ctx, method);
		goto done;
	}
	JS_FreeValue(ctx, method);
	sig->typed = true;
	ok = true;
done:
	if (!ok)
		pp_js_sig_free(ctx, sig); /* a getter's exception stays pending */
	else
		pp_js_clear_exception(ctx);
	JS_FreeValue(ctx, params);
	JS_FreeValue(ctx, result);
	return ok;
}

/* ---- Args: C struct -> JS values ------------------------------------------ */

#define LOAD PP_JS_SIG_LOAD

static JSValue to_js(JSContext *ctx, const js_sig *sig, js_type t, const uint8_t *p)
{
	if (pp_js_sig_scalar(t.kind))
		return pp_js_scalar_to_js(ctx, t.kind, p);
	switch (t.kind) {
	case SIG_STRUCT: {
		const js_struct *st = &sig->structs[t.st];
		JSValue obj = JS_NewObject(ctx);
		for (uint8_t i = 0; i < st->count && !JS_IsException(obj); i++) {
			JSValue v = to_js(ctx, sig, st->fields[i].type, p + st->fields[i].offset);
			/* defined, not set: a setter on Object.prototype (or a field
			 * named __proto__) must not see or swallow it */
			if (JS_IsException(v) ||
			    JS_DefinePropertyValue(ctx, obj, st->fields[i].name, v, JS_PROP_C_W_E) <
			            0) {
				JS_FreeValue(ctx, obj);
				obj = JS_EXCEPTION;
			}
		}
		return obj;
	}
	case SIG_I64:
		return JS_NewBigInt64(ctx, LOAD(int64_t, p));
	case SIG_U64:
		return JS_NewBigUint64(ctx, LOAD(uint64_t, p));
	case SIG_STRING: {
		pp_string_view v = LOAD(pp_string_view, p);
		return pp_js_utf8_string(ctx, v.ptr, v.ptr ? v.len : 0);
	}
	default: { /* SIG_BUFFER: a copy, so JS can neither keep nor write the caller's bytes */
		pp_string_view v = LOAD(pp_string_view, p);
		return pp_js_new_u8_copy(ctx, v.ptr, v.ptr ? v.len : 0);
	}
	}
}

JSValue pp_js_new_u8_copy(JSContext *ctx, const void *p, size_t len)
{
	static const uint8_t none[1];
	JSValue ab = JS_NewArrayBufferCopy(ctx, p && len ? (const uint8_t *)p : none, p ? len : 0);
	if (JS_IsException(ab))
		return ab;
	/* the constructor reads (buffer, offset, length) whatever argc says */
	JSValue targs[3] = {ab, JS_UNDEFINED, JS_UNDEFINED};
	JSValue u8 = JS_NewTypedArray(ctx, 3, targs, JS_TYPED_ARRAY_UINT8);
	JS_FreeValue(ctx, ab);
	return u8;
}

int pp_js_sig_args_any(JSContext *ctx, const js_sig *sig, const void *args, JSValue *argv)
{
	const uint8_t *base = args;
	int n = 0;
	for (uint8_t i = 0; i < sig->nparams; i++) {
		js_type t = sig->types[i];
		if (t.kind == SIG_ARENA)
			continue; /* the loader's, not the function's */
		if (!base) {
			JS_ThrowTypeError(ctx, "the args pointer is NULL");
			goto fail;
		}
		const uint8_t *p = base + sig->offsets[i];
		argv[n] = to_js(ctx, sig, t, p);
		if (JS_IsException(argv[n]))
			goto fail;
		n++;
	}
	return n;
fail:
	while (n--)
		JS_FreeValue(ctx, argv[n]);
	return -1;
}

bool pp_js_sig_args_ok(const js_sig *sig, const void *args,
                       bool (*readable)(void *ud, const void *p, size_t len), void *ud)
{
	const uint8_t *base = args;
	for (uint8_t i = 0; i < sig->nparams; i++) {
		int t = sig->types[i].kind;
		if (t == SIG_STRING || t == SIG_BUFFER) {
			pp_string_view v;
			memcpy(&v, base + sig->offsets[i], sizeof v);
			if (!readable(ud, v.ptr, v.len))
				return false;
		} else if (t == SIG_ARENA) {
			void *a;
			memcpy(&a, base + sig->offsets[i], sizeof a);
			if (a && !readable(ud, NULL, 1))
				return false;
		}
	}
	return true;
}

/* Where a result's bytes go: the args' Arena member if set, else the call's. */
static pp_call_arena *sig_arena(const js_sig *sig, const void *args, pp_call_arena *call_arena)
{
	pp_call_arena *a = NULL;
	if (sig->has_arena && args)
		memcpy(&a, (const uint8_t *)args + sig->arena_offset, sizeof(pp_call_arena *));
	return a ? a : call_arena;
}

/* ---- Result: JS value -> out ------------------------------------------------ */

void pp_js_sig_result_drop(const js_sig *sig, const pp_host_api *host, const void *args, void *out,
                           pp_call_arena *call_arena)
{
	if ((sig->result.kind != SIG_STRING && sig->result.kind != SIG_BUFFER) ||
	    sig_arena(sig, args, call_arena))
		return; /* nothing, or bytes that go with their arena */
	pp_string_view v;
	memcpy(&v, out, sizeof v);
	if (v.ptr && v.len)
		host->free(host, (void *)v.ptr, v.len, 1);
	memset(out, 0, sizeof v);
}

#define STORE PP_JS_SIG_STORE

/* bytes into the call's arena (the host's allocator when there is none: the
 * caller frees them with host->free(ptr, len, 1)), then {ptr, len} into out. */
static uint32_t put_bytes(const pp_host_api *host, const uint8_t *bytes, size_t len, void *out,
                          pp_call_arena *arena, char *why, size_t cap)
{
	pp_string_view v = {NULL, 0};
	if (len) {
		uint8_t *copy =
		        arena ? pp_call_arena_alloc(arena, len, 1) : host->alloc(host, len, 1);
		if (!copy) {
			snprintf(why, cap, "%s could not allocate a %zu-byte result",
			         arena ? "the call arena" : "the host allocator", len);
			return PP_ERR_OUT_OF_MEMORY;
		}
		memcpy(copy, bytes, len);
		v.ptr = copy;
		v.len = len;
	}
	STORE(pp_string_view, out, v);
	return PP_OK;
}

/* The window [offset, offset + length) of an ArrayBuffer, or NULL if the
 * buffer is not one (or detached) or the window does not fit it. */
static const uint8_t *window_of(JSContext *ctx, JSValueConst ab, uint64_t offset, uint64_t length,
                                size_t *len)
{
	size_t size = 0;
	uint8_t *p = JS_GetArrayBuffer(ctx, &size, ab);
	pp_js_clear_exception(ctx);
	if (offset > size || length > size - offset)
		return NULL;
	*len = (size_t)length;
	return length ? p + offset : (const uint8_t *)"";
}

const uint8_t *pp_js_view_bytes(JSContext *ctx, JSValueConst v, size_t *len, JSValue *hold)
{
	*hold = JS_UNDEFINED;
	size_t size = 0;
	uint8_t *p = JS_GetArrayBuffer(ctx, &size, v);
	if (p || !JS_HasException(ctx)) {
		*len = p ? size : 0;
		return p ? p : (const uint8_t *)"";
	}
	if (!pp_js_clear_exception(ctx))
		return NULL;
	size_t offset = 0, length = 0, per = 0;
	JSValue ab = JS_GetTypedArrayBuffer(ctx, v, &offset, &length, &per);
	if (!JS_IsException(ab)) {
		const uint8_t *bytes = window_of(ctx, ab, offset, length, len);
		JS_FreeValue(ctx, ab);
		return bytes;
	}
	/* a DataView (of its class: an object with the same three properties is
	 * none). QuickJS has no C accessor, so read what it reports (its getters
	 * may be the guest's) and check it against the buffer itself, which the
	 * caller holds while it reads: a getter may have made it, and nothing
	 * else refers to it */
	if (!pp_js_clear_exception(ctx) || !JS_IsObject(v) ||
	    JS_GetClassID(v) != pp_js_dataview_class(ctx))
		return NULL;
	const uint8_t *bytes = NULL;
	ab = JS_GetPropertyStr(ctx, v, "buffer");
	JSValue off = JS_IsException(ab) ? JS_EXCEPTION : JS_GetPropertyStr(ctx, v, "byteOffset");
	JSValue n = JS_IsException(off) ? JS_EXCEPTION : JS_GetPropertyStr(ctx, v, "byteLength");
	uint64_t o64 = 0, n64 = 0;
	if (JS_IsNumber(off) && JS_IsNumber(n) && JS_ToIndex(ctx, &o64, off) == 0 &&
	    JS_ToIndex(ctx, &n64, n) == 0)
		bytes = window_of(ctx, ab, o64, n64, len);
	if (!pp_js_clear_exception(ctx)) /* a getter ran past the CPU limit */
		bytes = NULL;
	if (bytes)
		*hold = ab;
	else
		JS_FreeValue(ctx, ab);
	JS_FreeValue(ctx, off);
	JS_FreeValue(ctx, n);
	return bytes;
}

void pp_js_describe_number(double d, char *buf, size_t cap)
{
	if (isnan(d))
		snprintf(buf, cap, "NaN");
	else if (isinf(d))
		snprintf(buf, cap, "%sInfinity", d < 0 ? "-" : "");
	else
		snprintf(buf, cap, "%.17g", d);
}

void pp_js_describe_value(JSContext *ctx, JSValueConst v, char *buf, size_t cap)
{
	int tag = JS_VALUE_GET_TAG(v);
	if (tag == JS_TAG_INT) {
		snprintf(buf, cap, "%d", JS_VALUE_GET_INT(v));
	} else if (JS_TAG_IS_FLOAT64(tag)) {
		pp_js_describe_number(JS_VALUE_GET_FLOAT64(v), buf, cap);
	} else if (JS_IsString(v)) {
		const char *str = JS_ToCString(ctx, v);
		snprintf(buf, cap, "the string \"%.40s%s\"", str ? str : "",
		         str && strlen(str) > 40 ? "..." : "");
		JS_FreeCString(ctx, str);
		pp_js_clear_exception(ctx);
	} else if (JS_IsBigInt(ctx, v)) {
		snprintf(buf, cap, "a BigInt");
	} else {
		int array = JS_IsArray(ctx, v); /* a revoked Proxy throws */
		pp_js_clear_exception(ctx);
		snprintf(buf, cap, "%s",
		         JS_IsUndefined(v)       ? "undefined"
		         : JS_IsNull(v)          ? "null"
		         : JS_IsBool(v)          ? (JS_VALUE_GET_BOOL(v) ? "true" : "false")
		         : JS_IsSymbol(v)        ? "a symbol"
		         : JS_IsFunction(ctx, v) ? "a function"
		         : (int)JS_PromiseState(ctx, v) >= 0 ? "a Promise"
		         : array > 0                         ? "an array"
		         : JS_IsObject(v)                    ? "an object"
		                                             : "a value that is not a number");
	}
}

/* What a kind accepts, for messages. */
static const char *expected(uint8_t kind)
{
	switch (kind) {
	case SIG_BOOL:
		return "true or false";
	case SIG_I8:
		return "an integer in -128..127";
	case SIG_U8:
		return "an integer in 0..255";
	case SIG_I16:
		return "an integer in -32768..32767";
	case SIG_U16:
		return "an integer in 0..65535";
	case SIG_I32:
		return "an integer in -2147483648..2147483647";
	case SIG_U32:
		return "an integer in 0..4294967295";
	case SIG_I64:
		return "a BigInt or an integer Number in -2^63..2^63-1";
	case SIG_U64:
		return "a BigInt or an integer Number in 0..2^64-1";
	case SIG_STRUCT:
		return "an object";
	case SIG_STRING:
		return "a string";
	case SIG_BUFFER:
		return "an ArrayBuffer, a typed array or a DataView";
	default:
		return "a Number";
	}
}

/* Where a refused value sits: "its i32 result", or "its struct result,
 * field 'pos.x',". */
typedef struct value_at {
	const char *result; /* "its struct result" */
	char path[128];     /* dotted field names, "" for the result itself */
} value_at;

/* Refuses v: "its i32 result is a Promise; expected ...". */
static int refuse(JSContext *ctx, JSValueConst v, const value_at *at, uint8_t kind, char *why,
                  size_t cap)
{
	char shown[80];
	pp_js_describe_value(ctx, v, shown, sizeof shown);
	snprintf(
	        why, cap, "%s%s%s%s is %s; expected %s%s", at->result, *at->path ? ", field '" : "",
	        at->path, *at->path ? "'," : "", shown, expected(kind),
	        (int)JS_PromiseState(ctx, (JSValue)v) >= 0 ? " (only a returned Promise is awaited)"
	                                                   : "");
	return -1;
}

/* A 64-bit integer from a BigInt that holds it exactly. */
static bool bigint_exact(JSContext *ctx, JSValueConst v, bool is_unsigned, int64_t *out)
{
	if (JS_ToBigInt64(ctx, out, v) < 0) { /* wraps, as BigInt.asIntN(64) */
		pp_js_clear_exception(ctx);
		return false;
	}
	JSValue back =
	        is_unsigned ? JS_NewBigUint64(ctx, (uint64_t)*out) : JS_NewBigInt64(ctx, *out);
	bool same = !JS_IsException(back) && JS_StrictEq(ctx, back, v);
	JS_FreeValue(ctx, back);
	pp_js_clear_exception(ctx);
	return same;
}

/* Stores v as type t at out, or refuses it (why names `at`, the field
 * path, the value and the type expected). Never runs guest code but a
 * struct's property getters. */
static int store_value(JSContext *ctx, const js_sig *sig, js_type t, JSValueConst v, uint8_t *out,
                       value_at *at, char *why, size_t cap)
{
	if (t.kind == SIG_STRUCT) {
		const js_struct *st = &sig->structs[t.st];
		if (!JS_IsObject(v))
			return refuse(ctx, v, at, t.kind, why, cap);
		size_t len = strlen(at->path);
		int rc = 0;
		for (uint8_t i = 0; i < st->count && rc == 0; i++) {
			const char *name = JS_AtomToCString(ctx, st->fields[i].name);
			snprintf(at->path + len, sizeof at->path - len, "%s%s", len ? "." : "",
			         name ? name : "?");
			JS_FreeCString(ctx, name);
			pp_js_clear_exception(ctx);
			JSValue f = JS_GetProperty(ctx, v, st->fields[i].name);
			if (JS_IsException(f)) { /* left pending: the caller classifies it */
				snprintf(why, cap, "%s, field '%s': reading it failed", at->result,
				         at->path);
				return -1;
			}
			rc = store_value(ctx, sig, st->fields[i].type, f,
			                 out + st->fields[i].offset, at, why, cap);
			JS_FreeValue(ctx, f);
		}
		if (rc == 0)
			at->path[len] = '\0';
		return rc;
	}
	if (t.kind == SIG_BOOL) {
		if (!JS_IsBool(v))
			return refuse(ctx, v, at, t.kind, why, cap);
		STORE(uint8_t, out, JS_VALUE_GET_BOOL(v) != 0);
		return 0;
	}
	int tag = JS_VALUE_GET_TAG(v);
	if (t.kind == SIG_F32 || t.kind == SIG_F64) {
		if (!JS_IsNumber(v))
			return refuse(ctx, v, at, t.kind, why, cap);
		double d = tag == JS_TAG_INT ? JS_VALUE_GET_INT(v) : JS_VALUE_GET_FLOAT64(v);
		if (t.kind == SIG_F32)
			STORE(float, out, d);
		else
			STORE(double, out, d);
		return 0;
	}
	/* the integers */
	bool wide = t.kind == SIG_I64 || t.kind == SIG_U64;
	int64_t x = 0;
	if (tag == JS_TAG_INT) {
		x = JS_VALUE_GET_INT(v);
	} else if (JS_TAG_IS_FLOAT64(tag)) {
		double d = JS_VALUE_GET_FLOAT64(v);
		/* integral and inside the 64-bit range (2^63 and 2^64 are exact) */
		if (!(d == trunc(d)) || d < -9223372036854775808.0 || d >= 18446744073709551616.0)
			return refuse(ctx, v, at, t.kind, why, cap);
		if (d >= 9223372036854775808.0) { /* only a u64 holds it */
			if (t.kind != SIG_U64)
				return refuse(ctx, v, at, t.kind, why, cap);
			STORE(uint64_t, out, (uint64_t)d);
			return 0;
		}
		x = (int64_t)d;
	} else if (wide && JS_IsBigInt(ctx, v)) {
		if (!bigint_exact(ctx, v, t.kind == SIG_U64, &x))
			return refuse(ctx, v, at, t.kind, why, cap);
		STORE(int64_t, out, x); /* a u64's bits */
		return 0;
	} else {
		return refuse(ctx, v, at, t.kind, why, cap);
	}
	return pp_js_store_int(t.kind, x, out) ? 0 : refuse(ctx, v, at, t.kind, why, cap);
}

uint32_t pp_js_sig_result_any(JSContext *ctx, const js_sig *sig, JSValueConst ret, void *out,
                              const pp_host_api *host, const void *args, pp_call_arena *call_arena,
                              char *why, size_t cap)
{
	js_type t = sig->result;
	if (t.kind == SIG_VOID)
		return PP_OK;
	if (!out) {
		snprintf(why, cap, "no out pointer for its %s result", types[t.kind].name);
		return PP_ERR_INVALID_ARGUMENT;
	}
	pp_call_arena *arena = sig_arena(sig, args, call_arena);
	if (t.kind == SIG_STRING) {
		if (!JS_IsString(ret)) {
			refuse(ctx, ret, &(value_at){"its StringView result", ""}, t.kind, why,
			       cap);
			return PP_ERR_GENERIC;
		}
		pp_js_text text;
		if (!pp_js_string_utf8(ctx, ret, &text)) {
			pp_js_clear_exception(ctx);
			snprintf(why, cap, "its string result could not be converted");
			return PP_ERR_GENERIC;
		}
		uint32_t st = put_bytes(host, (const uint8_t *)text.bytes, text.len, out, arena,
		                        why, cap);
		pp_js_text_release(ctx, &text);
		return st;
	}
	if (t.kind == SIG_BUFFER) {
		size_t len = 0;
		JSValue hold;
		const uint8_t *p = pp_js_view_bytes(ctx, ret, &len, &hold);
		if (!p) {
			refuse(ctx, ret, &(value_at){"its Buffer result", ""}, t.kind, why, cap);
			return PP_ERR_GENERIC;
		}
		uint32_t st = put_bytes(host, p, len, out, arena, why, cap);
		JS_FreeValue(ctx, hold);
		return st;
	}
	char result[32];
	snprintf(result, sizeof result, "its %s result", types[t.kind].name);
	value_at at = {result, ""};
	if (store_value(ctx, sig, t, ret, out, &at, why, cap) < 0)
		return PP_ERR_GENERIC;
	return PP_OK;
}
