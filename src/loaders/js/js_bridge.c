/*
 * js_bridge.c — the bridge object handed to a JS bundle's polyplug_init, its
 * factory and every dispatch: the reference loader's functions, with the same
 * names, arguments, return shapes and number handling. Pointers travel as
 * Numbers (user-space addresses fit in 2^53); unsigned 32-bit values and
 * pointer halves come back as exact non-negative Numbers.
 *
 * polyplug-c adds one property, `fast`, with helpers that move a whole string
 * or byte run in one call (readString, utf8Length, writeString, readBytes,
 * writeBytes). The
 * bridge's own functions are exactly the reference's. (Typed signatures, the
 * other fast path, live in js_sig.c.)
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "js_vm.h"

static js_vm *vm_of(JSContext *ctx)
{
	return JS_GetContextOpaque(ctx);
}

/* ---- Number conversions --------------------------------------------------- */

/* A Number as an unsigned 64-bit value the way the reference reads pointers
 * (f64 -> u64, saturating; NaN and negatives are 0). */
static int arg_u64(JSContext *ctx, JSValueConst v, uint64_t *out)
{
	double d;
	if (JS_ToFloat64(ctx, &d, v))
		return -1;
	if (!(d > 0))
		*out = 0;
	else if (d >= 18446744073709551616.0)
		*out = UINT64_MAX;
	else
		*out = (uint64_t)d;
	return 0;
}

static int arg_ptr(JSContext *ctx, JSValueConst v, void **out)
{
	uint64_t u;
	if (arg_u64(ctx, v, &u))
		return -1;
	*out = (void *)(uintptr_t)u;
	return 0;
}

/* A 32-bit unsigned argument: values up to 2^32 - 1 are exact. */
static int arg_u32(JSContext *ctx, JSValueConst v, uint32_t *out)
{
	return JS_ToUint32(ctx, out, v);
}

/* A 32-bit number from the guest that must be exact (`what` it is, for
 * the message). Guarded: an integer in [0, 2^32); NaN, -1, 2^40 or 2^53
 * would wrap (to 0 or to 4 GiB) under ToUint32 and are refused. Compat:
 * ToUint32, as the reference converts a u32. */
static int arg_exact(JSContext *ctx, const char *entry, const char *what, JSValueConst v,
                     uint32_t *out)
{
	if (!vm_of(ctx)->guard.on)
		return JS_ToUint32(ctx, out, v);
	double d;
	if (JS_ToFloat64(ctx, &d, v))
		return -1;
	if (!(d >= 0 && d <= UINT32_MAX && d == (double)(uint32_t)d)) {
		pp_js_guard_bad_u32(vm_of(ctx), entry, what, d);
		return -1;
	}
	*out = (uint32_t)d;
	return 0;
}

/* A contract id's two words and a version, argv[0..2] (exact when guarded:
 * a wrapped id would look up another contract). */
static int arg_contract(JSContext *ctx, const char *entry, JSValueConst *argv, uint32_t *lo,
                        uint32_t *hi, uint32_t *version)
{
	return arg_exact(ctx, entry, "a contract id word", argv[0], lo) ||
	       arg_exact(ctx, entry, "a contract id word", argv[1], hi) ||
	       arg_exact(ctx, entry, "a version", argv[2], version);
}

/* A size or length from the guest. */
static int arg_size(JSContext *ctx, const char *entry, JSValueConst v, uint32_t *out)
{
	return arg_exact(ctx, entry, "a size", v, out);
}

/* May the guest touch [p, p + len)? (See js_guard.c; always, in compat.) */
static inline bool may(JSContext *ctx, const char *entry, const void *p, size_t len, bool write)
{
	js_vm *vm = vm_of(ctx);
	return pp_js_guard_ok(&vm->guard, vm, entry, (uintptr_t)p, len, write);
}

static uint64_t join(uint32_t lo, uint32_t hi)
{
	return (uint64_t)hi << 32 | lo;
}

/* [lo, hi] as two exact Numbers. */
static JSValue split(JSContext *ctx, uint64_t v)
{
	JSValue a = JS_NewArray(ctx);
	if (JS_IsException(a))
		return a;
	JS_SetPropertyUint32(ctx, a, 0, JS_NewUint32(ctx, (uint32_t)v));
	JS_SetPropertyUint32(ctx, a, 1, JS_NewUint32(ctx, (uint32_t)(v >> 32)));
	return a;
}

static JSValue number_u64(JSContext *ctx, uint64_t v)
{
	return JS_NewFloat64(ctx, (double)v);
}

/* Reads argv[i] as u32 / pointer into locals, or returns the exception. */
/* NOLINTBEGIN(bugprone-macro-parentheses): `name` declares a variable */
#define ARG_U32(i, name)                    \
	uint32_t name;                      \
	if (arg_u32(ctx, argv[(i)], &name)) \
	return JS_EXCEPTION
#define ARG_PTR(i, name)                    \
	void *name;                         \
	if (arg_ptr(ctx, argv[(i)], &name)) \
	return JS_EXCEPTION
#define ARG_SIZE(i, entry, name)                      \
	uint32_t name;                                \
	if (arg_size(ctx, (entry), argv[(i)], &name)) \
	return JS_EXCEPTION
/* NOLINTEND(bugprone-macro-parentheses) */

/* ---- Registry ------------------------------------------------------------- */

static JSValue b_find_by_contract(JSContext *ctx, JSValueConst this_val, int argc,
                                  JSValueConst *argv)
{
	(void)this_val;
	(void)argc;
	uint32_t lo, hi, min_ver;
	if (arg_contract(ctx, "findByContract", argv, &lo, &hi, &min_ver))
		return JS_EXCEPTION;
	const pp_host_api *h = vm_of(ctx)->host;
	pp_guest_contract_handle handle = h->find_guest_contract(h, join(lo, hi), min_ver);
	return pp_handle_is_null(handle) ? JS_NULL : number_u64(ctx, pp_handle_pack(handle));
}

static JSValue b_find_by_bundle(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	/* Kept for compatibility: the reference's HostApi has no bundle lookup. */
	(void)ctx;
	(void)this_val;
	(void)argc;
	(void)argv;
	return JS_NULL;
}

static JSValue b_find_all_by_contract(JSContext *ctx, JSValueConst this_val, int argc,
                                      JSValueConst *argv)
{
	(void)this_val;
	(void)argc;
	uint32_t lo, hi, min_ver;
	if (arg_contract(ctx, "findAllByContract", argv, &lo, &hi, &min_ver))
		return JS_EXCEPTION;
	const pp_host_api *h = vm_of(ctx)->host;
	pp_array a = h->find_all_guest_contracts(h, join(lo, hi), min_ver);
	if (a.items)
		h->free(h, a.items, a.len * sizeof(pp_guest_contract_handle), a.align);
	return JS_NewUint32(ctx, (uint32_t)a.len);
}

static JSValue b_resolve_guest_contract(JSContext *ctx, JSValueConst this_val, int argc,
                                        JSValueConst *argv)
{
	(void)this_val;
	(void)argc;
	uint64_t packed;
	if (arg_u64(ctx, argv[0], &packed))
		return JS_EXCEPTION;
	const pp_host_api *h = vm_of(ctx)->host;
	const pp_guest_contract_interface *iface =
	        h->resolve_guest_contract(h, pp_handle_unpack(packed));
	return iface ? number_u64(ctx, (uint64_t)(uintptr_t)iface) : JS_NULL;
}

static JSValue b_revision(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	(void)argc;
	(void)argv;
	const pp_host_api *h = vm_of(ctx)->host;
	const uint64_t *counter = h->revision_counter(h);
	uint64_t v = counter ? atomic_load_explicit((const _Atomic uint64_t *)(const void *)counter,
	                                            memory_order_acquire)
	                     : 0;
	return split(ctx, v);
}

static bool within_limit(js_vm *vm, uint32_t size);

/* ---- Calls ---------------------------------------------------------------- */

/* A guarded caller's outgoing call (dispatchPeer, callHostContract): what
 * it passes is checked against the callee, resolved in the same read
 * section the call runs in, and the results it names are adopted. */
typedef struct outgoing {
	JSContext *ctx;
	js_vm *vm;
	const char *entry;
	const void *args;
	void *out;
	uint32_t fn;
	uint32_t named[16]; /* out offsets the caller names (argv[6]): its to read */
	uint32_t nnamed;
	uint32_t results[16]; /* out offsets where the callee puts bytes for the caller */
	uint32_t nresults;
	pp_call_arena scratch; /* a raw JS callee's arenaAlloc bytes (guard_callee) */
} outgoing;

static bool readable(void *ud, const void *p, size_t len)
{
	const outgoing *o = ud;
	return may(o->ctx, o->entry, p, len, false);
}

/* Refuses the call as a guard violation: "bundle 'B': bridge.ENTRY: " and
 * what fmt says. */
static void refuse_call(const outgoing *o, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static void refuse_call(const outgoing *o, const char *fmt, ...)
{
	char msg[320];
	int n = snprintf(msg, sizeof msg, "bundle '%s': bridge.%s: ", o->vm->bundle, o->entry);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
	va_end(ap);
	pp_js_guard_refuse(o->vm, msg);
}

/* The pointers a native callee follows in args, as its layout declares:
 * each StringView/Buffer's bytes must be the caller's, and an arena member
 * NULL (the callee would write into whatever it points at). */
static bool native_args_ok(outgoing *o, const pp_fn_layout *fl)
{
	const uint8_t *args = o->args;
	if (!args)
		return true; /* then args_size is 0 (else the size check refused it) */
	for (uint32_t i = 0; i < fl->view_count; i++) {
		pp_string_view v;
		if (fl->view_offsets[i] & PP_LAYOUT_OUT_VIEW)
			continue; /* a result's, not the callee's to follow */
		if (fl->view_offsets[i] > fl->args_size ||
		    fl->args_size - fl->view_offsets[i] < sizeof v)
			continue; /* a layout that contradicts itself: outside what was checked */
		memcpy(&v, args + fl->view_offsets[i], sizeof v);
		if (!readable(o, v.ptr, v.len))
			return false;
	}
	if (fl->arena_offset != PP_LAYOUT_NO_ARENA && fl->arena_offset <= fl->args_size &&
	    fl->args_size - fl->arena_offset >= sizeof(void *)) {
		void *a;
		memcpy(&a, args + fl->arena_offset, sizeof a);
		if (a)
			return readable(o, NULL, 1); /* refused: names the arena */
	}
	return true;
}

/* The callee's StringView/Buffer results, whose bytes it allocates for the
 * caller: a typed JS function's (at 0: its loader writes them), or the
 * out views a native layout marks PP_LAYOUT_OUT_VIEW. A raw JS function has
 * none (what it writes into out are numbers to the loader). Each view the
 * caller names must be one of them; they are cleared before the call, so
 * what is there after it is the callee's, and then become the caller's
 * blocks (named) or are freed (the rest). Out is the caller's own memory,
 * checked for the callee's out size, which holds every result. */
static bool callee_results(outgoing *o, const js_sig *sig, const pp_fn_layout *fl)
{
	o->nresults = 0;
	if (sig && (sig->result.kind == SIG_STRING || sig->result.kind == SIG_BUFFER))
		o->results[o->nresults++] = 0;
	for (uint32_t i = 0; fl && i < fl->view_count; i++) {
		if (!(fl->view_offsets[i] & PP_LAYOUT_OUT_VIEW))
			continue;
		if (o->nresults == 16) {
			refuse_call(o,
			            "the callee's function %u returns more than 16 views, more "
			            "than a guarded caller can take",
			            o->fn);
			return false;
		}
		o->results[o->nresults++] = fl->view_offsets[i] & ~PP_LAYOUT_OUT_VIEW;
	}
	for (uint32_t i = 0; i < o->nnamed; i++) {
		uint32_t k = 0;
		while (k < o->nresults && o->results[k] != o->named[i])
			k++;
		if (k == o->nresults) {
			refuse_call(o,
			            "out offset %u is no StringView/Buffer result of the callee's "
			            "function %u (it returns %u)",
			            o->named[i], o->fn, o->nresults);
			return false;
		}
	}
	if (o->nresults && !o->out) { /* may() refused a NULL out already */
		refuse_call(o, "the callee's function %u has results and no out to put them in",
		            o->fn);
		return false;
	}
	for (uint32_t k = 0; k < o->nresults; k++)
		memset((uint8_t *)o->out + o->results[k], 0, sizeof(pp_string_view));
	return true;
}

/* What a guarded caller may pass: only to a callee whose layout the runtime
 * knows (a JS callee's, or the layouts a native interface declares; others
 * are refused), args and out of the caller's own memory at least that
 * large, and inside args only pointers the callee may follow: its
 * StringView/Buffer members pointing into the caller's memory and its arena
 * member NULL. */
static bool check_callee(outgoing *o, uint32_t dispatch_type, const pp_native_dispatch *nd,
                         const pp_fn_layout *layouts, const pp_guest_contract_interface *guest)
{
	js_layout l;
	const js_sig *sig = NULL;
	const pp_fn_layout *fl = NULL;
	const js_layout *jl = guest ? pp_js_layout_of(guest, o->fn) : NULL;
	if (jl) {
		l = *jl;
		sig = pp_js_callee_sig(guest, o->fn);
	} else if (dispatch_type == PP_DISPATCH_NATIVE && o->fn >= nd->function_count) {
		return true; /* no such function: the call says so, calling nothing */
	} else if (dispatch_type == PP_DISPATCH_NATIVE && layouts) {
		fl = &layouts[o->fn];
		l = (js_layout){fl->args_size, fl->out_size, true};
	} else {
		refuse_call(o,
		            "the callee's function %u declares no layout, and a guarded bundle "
		            "may call only callees whose sizes are known",
		            o->fn);
		return false;
	}
	if (l.args && !may(o->ctx, o->entry, o->args, l.args, false))
		return false;
	if (l.out && !may(o->ctx, o->entry, o->out, l.out, true))
		return false;
	if (!callee_results(o, sig, fl))
		return false;
	if (fl)
		return native_args_ok(o, fl);
	return !sig || pp_js_sig_args_ok(sig, o->args, readable, o);
}

/* Reads the out offsets a guarded caller names (argv[6]): each inside its
 * out, none overlapping another. */
static int named_views(outgoing *o, JSValueConst offsets)
{
	o->nnamed = 0;
	if (JS_IsUndefined(offsets))
		return 0;
	JSContext *ctx = o->ctx;
	JSValue n = JS_GetPropertyStr(ctx, offsets, "length");
	uint32_t count = 0;
	int st = JS_IsException(n) ? -1 : arg_size(ctx, o->entry, n, &count);
	JS_FreeValue(ctx, n);
	if (st == 0 && count > 16) {
		JS_ThrowRangeError(ctx, "bridge.%s: at most 16 result views", o->entry);
		st = -1;
	}
	for (uint32_t i = 0; st == 0 && i < count; i++) {
		JSValue v = JS_GetPropertyUint32(ctx, offsets, i);
		st = JS_IsException(v) ? -1 : arg_size(ctx, o->entry, v, &o->named[i]);
		JS_FreeValue(ctx, v);
		if (st == 0)
			o->nnamed = i + 1;
	}
	/* checked after every getter above has run */
	for (uint32_t i = 0; st == 0 && i < o->nnamed; i++) {
		uint8_t *at = o->out ? (uint8_t *)o->out + o->named[i] : NULL;
		if (!may(ctx, o->entry, at, sizeof(pp_string_view), true))
			st = -1;
		for (uint32_t k = 0; st == 0 && k < i; k++)
			if (o->named[k] - o->named[i] + 15u < 31u) { /* |difference| < 16 */
				refuse_call(o, "result views at out offsets %u and %u overlap",
				            o->named[k], o->named[i]);
				st = -1;
			}
	}
	return st;
}

/* After a call: the callee's results the caller named become its blocks
 * (counted against its limit; an overlap with a block it has is refused),
 * the rest are freed — as is a named one that cannot be adopted, and every
 * one a failed call (`adopt` false) left: the caller could neither read nor
 * free them. */
static int take_results(outgoing *o, bool adopt)
{
	js_vm *vm = o->vm;
	const pp_host_api *h = vm->host;
	int st = 0;
	for (uint32_t k = 0; k < o->nresults; k++) {
		uint8_t *at = (uint8_t *)o->out + o->results[k];
		pp_string_view v;
		memcpy(&v, at, sizeof v);
		if (!v.ptr || !v.len)
			continue;
		bool named = false;
		for (uint32_t i = 0; i < o->nnamed && !named; i++)
			named = o->named[i] == o->results[k];
		/* memory the caller holds is no allocation of the callee's: never
		 * adopted again nor freed (a callee echoing a pointer it was given) */
		if (pp_js_guard_touches(vm, v.ptr, v.len)) {
			memset(at, 0, sizeof v);
			if (!adopt) /* the call failed already: only never freed */
				continue;
			if (st == 0)
				refuse_call(o,
				            "the callee's result at out offset %u is memory this "
				            "bundle "
				            "holds, not bytes made for it",
				            o->results[k]);
			st = -1;
			continue;
		}
		if (adopt && named && st == 0) {
			if (v.len <= UINT32_MAX && within_limit(vm, (uint32_t)v.len) &&
			    pp_js_guard_add_block(vm, (void *)v.ptr, v.len, false)) {
				pp_js_heap_limit(vm, false);
				continue;
			}
			/* past the limit (within_limit threw), or no memory */
			if (!JS_HasException(o->ctx))
				JS_ThrowOutOfMemory(o->ctx);
			st = -1;
		}
		h->free(h, (void *)v.ptr, v.len, 1);
		memset(at, 0, sizeof v);
	}
	return st;
}

/* The guard's look at the callee (pp__call_peer and pp__call_host run the
 * call): what the caller passes must suit it. A raw JS callee's arenaAlloc
 * bytes, which a guarded caller may not take (its out holds numbers to
 * them), go to a scratch arena freed after the call; without one they would
 * be left to the caller, for good. A typed callee's results are host blocks
 * the caller takes. */
static bool guard_callee(void *ud, const pp_callee *c, pp_call_arena **vm_arena)
{
	outgoing *o = ud;
	if (!check_callee(o, c->dispatch_type, c->native, c->layouts, c->guest))
		return false;
	if (c->guest && c->dispatch_type == PP_DISPATCH_VM && !pp_js_callee_sig(c->guest, o->fn))
		*vm_arena = &o->scratch;
	return true;
}

/* dispatchPeer(lo, hi, minVersion, fn, args, out[, resultViews]) and
 * callHostContract(...): the same shape; guarded, checked and adopting. */
static JSValue outgoing_call(JSContext *ctx, int argc, JSValueConst *argv, bool host)
{
	js_vm *vm = vm_of(ctx);
	const char *entry = host ? "callHostContract" : "dispatchPeer";
	/* exact when guarded: NaN or 2^32 would reach function 0, and a NaN
	 * version would accept any */
	uint32_t lo, hi, min_ver, fn_id;
	if (arg_contract(ctx, entry, argv, &lo, &hi, &min_ver) ||
	    arg_exact(ctx, entry, "a function number", argv[3], &fn_id))
		return JS_EXCEPTION;
	ARG_PTR(4, args);
	ARG_PTR(5, out);
	outgoing o = {.ctx = ctx, .vm = vm, .entry = entry, .args = args, .out = out, .fn = fn_id};
	outgoing *check = vm->guard.on ? &o : NULL;
	/* foreign addresses are refused whether or not the callee exists */
	if (check && ((args && !may(ctx, o.entry, args, 1, false)) ||
	              (out && !may(ctx, o.entry, out, 1, true)) ||
	              named_views(&o, argc > 6 ? argv[6] : JS_UNDEFINED) < 0))
		return JS_EXCEPTION;
	bool refused = false;
	pp_callee_check guard = check ? guard_callee : NULL;
	pp_call_arena_init(&o.scratch, NULL, 0, vm->host);
	uint32_t code = host ? pp__call_host(vm->rt, join(lo, hi), min_ver, fn_id, args, out, guard,
	                                     &o, &refused)
	                     : pp__call_peer(vm->rt, join(lo, hi), min_ver, fn_id, args, out, NULL,
	                                     guard, &o, &refused);
	pp_call_arena_free(&o.scratch);
	if (refused || (check && take_results(&o, code == PP_OK) < 0))
		return JS_EXCEPTION;
	return JS_NewUint32(ctx, code);
}

static JSValue b_dispatch_peer(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	return outgoing_call(ctx, argc, argv, false);
}

static JSValue b_call_host_contract(JSContext *ctx, JSValueConst this_val, int argc,
                                    JSValueConst *argv)
{
	(void)this_val;
	return outgoing_call(ctx, argc, argv, true);
}

/* ---- Memory --------------------------------------------------------------- */

/* Host memory the bundle takes counts against its VM's memory limit, with
 * its JS heap and what the current call took from arenas: past it, an out
 * of memory error (which fails the call unless caught), not a host
 * allocation. The heap's own limit is lowered by what blocks hold, and
 * blocks leave it a reserve: a bundle holding all it may can still run the
 * code that frees. */
static bool within_limit(js_vm *vm, uint32_t size)
{
	size_t limit = vm->memory_bytes;
	size_t reserve = limit / 16 < (256u << 10) ? limit / 16 : (256u << 10);
	size_t held = JS_GetMemoryInUse(vm->qrt) + vm->guard.block_bytes + vm->call_bytes + reserve;
	if (held > limit || size > limit - held) {
		JS_ThrowOutOfMemory(vm->ctx);
		return false;
	}
	return true;
}

static JSValue b_alloc(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	(void)argc;
	js_vm *vm = vm_of(ctx);
	ARG_SIZE(0, "alloc", size);
	if (!within_limit(vm, size))
		return JS_EXCEPTION;
	const pp_host_api *h = vm->host;
	void *p = h->alloc(h, size, 1);
	if (p && !pp_js_guard_add_block(vm, p, size, true)) {
		h->free(h, p, size, 1);
		return JS_ThrowOutOfMemory(ctx);
	}
	if (p) {
		memset(p, 0, size); /* never what the host's heap held before */
		pp_js_heap_limit(vm, false);
	}
	return split(ctx, (uint64_t)(uintptr_t)p);
}

/* Bytes for the caller: from the call's arena (only the call's own, when
 * guarded, which also serves a guarded request without one), or with no
 * arena from the host, the caller freeing them (guarded: those its out
 * names; the rest are freed as the call ends). They are the guest's until
 * the call ends. */
static JSValue b_arena_alloc(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	(void)argc;
	js_vm *vm = vm_of(ctx);
	ARG_SIZE(0, "arenaAlloc", size);
	ARG_PTR(1, arena);
	if (vm->guard.on && arena && arena != vm->call_arena) {
		pp_js_guard_access(vm, "arenaAlloc", (uintptr_t)arena, sizeof(pp_call_arena), true);
		return JS_EXCEPTION;
	}
	if (vm->guard.on && !arena)
		arena = vm->call_arena;
	if (!within_limit(vm, size))
		return JS_EXCEPTION;
	const pp_host_api *h = vm->host;
	void *p = arena ? pp_call_arena_alloc(arena, size, 1) : h->alloc(h, size, 1);
	if (p && !pp_js_guard_arena_block(vm, p, size, !arena)) {
		h->free(h, p, size, 1);
		return JS_ThrowOutOfMemory(ctx);
	}
	if (p) {
		memset(p, 0, size); /* never what an earlier call left in the arena */
		vm->call_bytes += size;
	}
	return split(ctx, (uint64_t)(uintptr_t)p);
}

static JSValue b_free(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	(void)argc;
	js_vm *vm = vm_of(ctx);
	uint64_t lo, hi;
	if (arg_u64(ctx, argv[0], &lo) || arg_u64(ctx, argv[1], &hi))
		return JS_EXCEPTION;
	ARG_SIZE(2, "free", size);
	ARG_U32(3, align);
	void *p = (void *)(uintptr_t)(hi << 32 | (uint32_t)lo);
	if (!p)
		return JS_UNDEFINED;
	int ours = pp_js_guard_take_block(vm, "free", p, size);
	if (ours < 0)
		return JS_EXCEPTION;
	const pp_host_api *h = vm->host;
	h->free(h, p, size, vm->guard.on ? 1 : align); /* guarded: as it was allocated */
	if (ours)
		pp_js_heap_limit(vm, false);
	return JS_UNDEFINED;
}

/* ---- Logging -------------------------------------------------------------- */

static JSValue b_log(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	(void)argc;
	double d;
	if (JS_ToFloat64(ctx, &d, argv[0]))
		return JS_EXCEPTION;
	/* Whole numbers 1..5 are levels; anything else (fractions, NaN) is Error. */
	uint32_t level = (d >= 1 && d <= 5 && floor(d) == d) ? (uint32_t)d : PP_LOG_ERROR;
	size_t slen, mlen;
	const char *scope = JS_ToCStringLen(ctx, &slen, argv[1]);
	if (!scope)
		return JS_EXCEPTION;
	const char *msg = JS_ToCStringLen(ctx, &mlen, argv[2]);
	if (!msg) {
		JS_FreeCString(ctx, scope);
		return JS_EXCEPTION;
	}
	const pp_host_api *h = vm_of(ctx)->host;
	pp_string_view s = {(const uint8_t *)scope, slen}, m = {(const uint8_t *)msg, mlen};
	h->log(h, level, s, m);
	JS_FreeCString(ctx, scope);
	JS_FreeCString(ctx, msg);
	return JS_UNDEFINED;
}

/* ---- Raw reads and writes (0 reads as 0; writes to 0 do nothing) ---------- */

#define READER(fname, entry, type, make)                                                          \
	static JSValue fname(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) \
	{                                                                                         \
		(void)this_val;                                                                   \
		(void)argc;                                                                       \
		ARG_PTR(0, p);                                                                    \
		if (!may(ctx, entry, p, sizeof(type), false))                                     \
			return JS_EXCEPTION;                                                      \
		type v = 0;                                                                       \
		if (p)                                                                            \
			memcpy(&v, p, sizeof v);                                                  \
		return make(ctx, v);                                                              \
	}

READER(b_read_i32, "readI32", int32_t, JS_NewInt32)
READER(b_read_u32, "readU32", uint32_t, JS_NewUint32)
READER(b_read_f32, "readF32", float, JS_NewFloat64)
READER(b_read_f64, "readF64", double, JS_NewFloat64)
READER(b_read_byte, "readByte", uint8_t, JS_NewInt32)

static JSValue b_write_i32(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	(void)argc;
	ARG_PTR(0, p);
	int32_t v;
	if (JS_ToInt32(ctx, &v, argv[1]) || !may(ctx, "writeI32", p, sizeof v, true))
		return JS_EXCEPTION;
	if (p)
		memcpy(p, &v, sizeof v);
	return JS_UNDEFINED;
}

static JSValue b_write_u32(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	(void)argc;
	ARG_PTR(0, p);
	uint64_t wide; /* the reference's `value as u64 as u32` */
	if (arg_u64(ctx, argv[1], &wide))
		return JS_EXCEPTION;
	uint32_t v = (uint32_t)wide;
	if (!may(ctx, "writeU32", p, sizeof v, true))
		return JS_EXCEPTION;
	if (p)
		memcpy(p, &v, sizeof v);
	return JS_UNDEFINED;
}

static JSValue b_write_byte(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	(void)argc;
	ARG_PTR(0, p);
	ARG_U32(1, v);
	if (!may(ctx, "writeByte", p, 1, true))
		return JS_EXCEPTION;
	if (p)
		*(uint8_t *)p = (uint8_t)v;
	return JS_UNDEFINED;
}

static JSValue b_write_f64(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	(void)argc;
	ARG_PTR(0, p);
	double v;
	if (JS_ToFloat64(ctx, &v, argv[1]) || !may(ctx, "writeF64", p, sizeof v, true))
		return JS_EXCEPTION;
	if (p)
		memcpy(p, &v, sizeof v);
	return JS_UNDEFINED;
}

static JSValue b_write_f32(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	(void)argc;
	ARG_PTR(0, p);
	double d;
	if (JS_ToFloat64(ctx, &d, argv[1]))
		return JS_EXCEPTION;
	float v = (float)d;
	if (!may(ctx, "writeF32", p, sizeof v, true))
		return JS_EXCEPTION;
	if (p)
		memcpy(p, &v, sizeof v);
	return JS_UNDEFINED;
}

static JSValue b_read_memory(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	(void)argc;
	ARG_PTR(0, p);
	ARG_SIZE(1, "readMemory", len);
	if (!may(ctx, "readMemory", p, len, false))
		return JS_EXCEPTION;
	JSValue a = JS_NewArray(ctx);
	if (JS_IsException(a) || !p)
		return a;
	const uint8_t *bytes = p;
	/* defined, not set: a setter on Array.prototype must not run (and free
	 * the memory) in the middle of the copy */
	for (uint32_t i = 0; i < len; i++)
		if (JS_DefinePropertyValueUint32(ctx, a, i, JS_NewInt32(ctx, bytes[i]),
		                                 JS_PROP_C_W_E) < 0) {
			JS_FreeValue(ctx, a);
			return JS_EXCEPTION;
		}
	return a;
}

/* ---- polyplug-c extensions (bridge.fast) ----------------------------------- */

/* readString(ptr, len): UTF-8 bytes to a string in one call. */
static JSValue f_read_string(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	(void)argc;
	ARG_PTR(0, p);
	ARG_SIZE(1, "fast.readString", len);
	if (!may(ctx, "fast.readString", p, len, false))
		return JS_EXCEPTION;
	return pp_js_utf8_string(ctx, p, p ? len : 0);
}

/* utf8Length(str): how many bytes writeString will need. */
static JSValue f_utf8_length(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	(void)argc;
	size_t len;
	const char *s = JS_ToCStringLen(ctx, &len, argv[0]);
	if (!s)
		return JS_EXCEPTION;
	JS_FreeCString(ctx, s);
	return JS_NewFloat64(ctx, (double)len);
}

/* writeString(ptr, cap, str): writes str's UTF-8 bytes (at most cap) and
 * returns how many it wrote. */
static JSValue f_write_string(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	(void)argc;
	ARG_PTR(0, p);
	ARG_SIZE(1, "fast.writeString", cap);
	pp_js_text t;
	if (!pp_js_string_utf8(ctx, argv[2], &t))
		return JS_EXCEPTION;
	size_t len = t.len < cap ? t.len : cap;
	bool ok = may(ctx, "fast.writeString", p, len, true);
	if (ok && p && len)
		memcpy(p, t.bytes, len);
	pp_js_text_release(ctx, &t);
	if (!ok)
		return JS_EXCEPTION;
	return JS_NewFloat64(ctx, p ? (double)len : 0);
}

/* readBytes(ptr, len): a Uint8Array copy of len bytes in one call. */
static JSValue f_read_bytes(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	(void)argc;
	ARG_PTR(0, p);
	ARG_SIZE(1, "fast.readBytes", len);
	if (!may(ctx, "fast.readBytes", p, len, false))
		return JS_EXCEPTION;
	return pp_js_new_u8_copy(ctx, p, len);
}

/* writeBytes(ptr, cap, bytes): copies an ArrayBuffer's or typed array's bytes
 * (at most cap) to ptr; returns how many it wrote. */
static JSValue f_write_bytes(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	(void)argc;
	ARG_PTR(0, p);
	ARG_SIZE(1, "fast.writeBytes", cap);
	size_t len = 0, off = 0, per = 0, size = 0;
	uint8_t *src = JS_GetArrayBuffer(ctx, &size, argv[2]);
	if (src) {
		len = size;
	} else {
		JS_FreeValue(ctx, JS_GetException(ctx));
		JSValue ab = JS_GetTypedArrayBuffer(ctx, argv[2], &off, &len, &per);
		if (JS_IsException(ab))
			return JS_ThrowTypeError(
			        ctx, "writeBytes: expected an ArrayBuffer or typed array");
		src = JS_GetArrayBuffer(ctx, &size, ab);
		JS_FreeValue(ctx, ab);
		if (!src || off + len > size)
			return JS_ThrowTypeError(ctx, "writeBytes: the buffer is detached");
		src += off;
	}
	if (len > cap)
		len = cap;
	if (!may(ctx, "fast.writeBytes", p, len, true))
		return JS_EXCEPTION;
	if (p && len)
		memcpy(p, src, len);
	return JS_NewFloat64(ctx, p ? (double)len : 0);
}

/* ---- The object ------------------------------------------------------------ */

/* Plain (enumerable, writable, configurable) properties, as the reference
 * sets them; defined from a static list, the cheapest way QuickJS has. */
#define BRIDGE_FN(name, length, fn)                                                     \
	{                                                                               \
		name, JS_PROP_C_W_E, JS_DEF_CFUNC, 0,                                   \
		        .u = {.func = {(length), JS_CFUNC_generic, {.generic = (fn)}} } \
	}

static const JSCFunctionListEntry bridge_functions[] = {
        BRIDGE_FN("findByContract", 3, b_find_by_contract),
        BRIDGE_FN("findByBundle", 5, b_find_by_bundle),
        BRIDGE_FN("findAllByContract", 3, b_find_all_by_contract),
        BRIDGE_FN("resolveGuestContract", 1, b_resolve_guest_contract),
        BRIDGE_FN("revision", 0, b_revision),
        BRIDGE_FN("dispatchPeer", 6, b_dispatch_peer),
        BRIDGE_FN("callHostContract", 6, b_call_host_contract),
        BRIDGE_FN("alloc", 1, b_alloc),
        BRIDGE_FN("arenaAlloc", 2, b_arena_alloc),
        BRIDGE_FN("free", 4, b_free),
        BRIDGE_FN("log", 3, b_log),
        BRIDGE_FN("readI32", 1, b_read_i32),
        BRIDGE_FN("writeI32", 2, b_write_i32),
        BRIDGE_FN("readU32", 1, b_read_u32),
        BRIDGE_FN("writeU32", 2, b_write_u32),
        BRIDGE_FN("readF32", 1, b_read_f32),
        BRIDGE_FN("writeF32", 2, b_write_f32),
        BRIDGE_FN("readF64", 1, b_read_f64),
        BRIDGE_FN("writeF64", 2, b_write_f64),
        BRIDGE_FN("readByte", 1, b_read_byte),
        BRIDGE_FN("writeByte", 2, b_write_byte),
        BRIDGE_FN("readMemory", 2, b_read_memory),
};

static const JSCFunctionListEntry fast_functions[] = {
        BRIDGE_FN("readString", 2, f_read_string),   BRIDGE_FN("utf8Length", 1, f_utf8_length),
        BRIDGE_FN("writeString", 3, f_write_string), BRIDGE_FN("readBytes", 2, f_read_bytes),
        BRIDGE_FN("writeBytes", 3, f_write_bytes),
};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* QuickJS's JS_SetPropertyFunctionList reports nothing; an exception left
 * pending (out of memory) is how a failure shows. */
static int set_functions(JSContext *ctx, JSValueConst obj, const JSCFunctionListEntry *fns, int n)
{
	JS_SetPropertyFunctionList(ctx, obj, fns, n);
	return JS_HasException(ctx) ? -1 : 0;
}

JSValue pp_js_bridge_new(js_vm *vm)
{
	JSContext *ctx = vm->ctx;
	JSValue bridge = JS_NewObject(ctx);
	if (JS_IsException(bridge))
		return bridge;
	JSValue fast = JS_NewObject(ctx);
	if (JS_IsException(fast) ||
	    set_functions(ctx, bridge, bridge_functions, COUNT(bridge_functions)) < 0 ||
	    set_functions(ctx, fast, fast_functions, COUNT(fast_functions)) < 0 ||
	    JS_SetPropertyStr(ctx, bridge, "fast", JS_DupValue(ctx, fast)) < 0) {
		JS_FreeValue(ctx, fast);
		JS_FreeValue(ctx, bridge);
		return JS_EXCEPTION;
	}
	JS_FreeValue(ctx, fast);
	return bridge;
}
