/*
 * js_loader.c — the QuickJS loader ("js-quickjs"): one JSRuntime and
 * JSContext per bundle, the polyplug_init protocol of the reference loader,
 * VM dispatch, per-instance impl objects, and per-bundle engine limits
 * (memory, stack, CPU time per call).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "js_vm.h"

#define SCOPE "loader.js"
#define MAX_FRAMES 16 /* of a guest's stack in messages */

/* ---- Implementations and the instance map (id -> impl), under the VM ------ */

static void impl_free(JSContext *ctx, const js_contract *c, js_impl *impl)
{
	if (!impl)
		return;
	JS_FreeValue(ctx, impl->obj);
	for (uint32_t i = 0; c->methods && i < c->fn_count; i++)
		JS_FreeValue(ctx, impl->methods[i]);
	js_free(ctx, impl);
}

/* Wraps obj (a factory's result, owned from here on) with its methods. NULL
 * on failure, obj freed, with *why the reason (NULL: out of memory) and a
 * JS exception pending if a getter threw. */
static js_impl *impl_new(JSContext *ctx, const js_contract *c, JSValue obj, char **why)
{
	*why = NULL;
	size_t n = c->methods ? c->fn_count : 0;
	/* on the VM's heap: an instance's method table counts against its
	 * memory limit (a contract of many methods made each instance cost
	 * host memory the limit did not see) */
	js_impl *impl = js_malloc(ctx, sizeof *impl + n * sizeof(JSValue));
	if (!impl) {
		JS_FreeValue(ctx, JS_GetException(ctx)); /* stands for itself: NULL why */
		JS_FreeValue(ctx, obj);
		return NULL;
	}
	impl->obj = obj;
	for (size_t i = 0; i < n; i++)
		impl->methods[i] = JS_UNDEFINED;
	for (uint32_t i = 0; i < n; i++) {
		JSAtom name = c->sigs[i].method;
		if (name == JS_ATOM_NULL)
			continue;
		if (!JS_IsObject(obj)) { /* the factory returned no object at all */
			char shown[80];
			pp_js_describe_value(ctx, obj, shown, sizeof shown);
			const char *method = JS_AtomToCString(ctx, name);
			*why = pp__strprintf(
			        "the factory returned %s, not an object with method '%s' "
			        "(function %u)",
			        shown, method ? method : "?", i);
			JS_FreeCString(ctx, method);
			if (!*why || !method) /* out of memory: drop what it left */
				JS_FreeValue(ctx, JS_GetException(ctx));
			impl_free(ctx, c, impl);
			return NULL;
		}
		JSValue m = JS_GetProperty(ctx, obj, name);
		impl->methods[i] = m;
		if (JS_IsException(m) || !JS_IsFunction(ctx, m)) {
			impl->methods[i] = JS_UNDEFINED;
			if (!JS_IsException(m)) {
				const char *shown = JS_AtomToCString(ctx, name);
				if (shown)
					*why = pp__strprintf(
					        "its implementation has no method '%s' "
					        "(function %u)",
					        shown, i);
				else /* out of memory: the exception it left is the cause */
					JS_FreeValue(ctx, JS_GetException(ctx));
				JS_FreeCString(ctx, shown);
			}
			JS_FreeValue(ctx, m);
			impl_free(ctx, c, impl);
			return NULL;
		}
	}
	return impl;
}

#define MAP_EMPTY 0u
#define MAP_GONE UINT64_MAX

static size_t map_slot(const js_instance_map *m, uint64_t key)
{
	uint64_t h = key * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 32) & (m->cap - 1);
}

/* Makes m again without its deleted slots, at the size its live keys need
 * (a quarter full, 16 slots at least): it neither grows with every instance
 * ever made nor stays large once they are gone. */
static bool map_rebuild(js_instance_map *m)
{
	size_t cap = 16;
	while (cap < (m->live + 1) * 4)
		cap *= 2;
	uint64_t *keys = calloc(cap, sizeof *keys);
	js_impl **values = calloc(cap, sizeof(js_impl *));
	if (!keys || !values) {
		free(keys);
		free(values);
		return false;
	}
	js_instance_map fresh = {keys, values, cap, 0, 0};
	for (size_t i = 0; i < m->cap; i++) {
		if (m->keys[i] == MAP_EMPTY || m->keys[i] == MAP_GONE)
			continue;
		size_t j = map_slot(&fresh, m->keys[i]);
		while (fresh.keys[j] != MAP_EMPTY)
			j = (j + 1) & (cap - 1);
		fresh.keys[j] = m->keys[i];
		fresh.values[j] = m->values[i];
		fresh.used = ++fresh.live;
	}
	free(m->keys);
	free(m->values);
	*m = fresh;
	return true;
}

static bool map_put(js_instance_map *m, uint64_t key, js_impl *v)
{
	if ((m->used + 1) * 2 > m->cap && !map_rebuild(m))
		return false;
	size_t i = map_slot(m, key);
	while (m->keys[i] != MAP_EMPTY && m->keys[i] != MAP_GONE)
		i = (i + 1) & (m->cap - 1);
	m->used += m->keys[i] == MAP_EMPTY; /* a deleted slot is counted already */
	m->keys[i] = key;
	m->values[i] = v;
	m->live++;
	return true;
}

static __attribute__((noinline)) js_impl **map_get(js_instance_map *m, uint64_t key)
{
	if (!m->cap || key == MAP_EMPTY || key == MAP_GONE)
		return NULL;
	for (size_t i = map_slot(m, key), n = 0; n < m->cap; i = (i + 1) & (m->cap - 1), n++) {
		if (m->keys[i] == key)
			return &m->values[i];
		if (m->keys[i] == MAP_EMPTY)
			return NULL;
	}
	return NULL;
}

/* Removes key, handing its value to the caller. */
static bool map_take(js_instance_map *m, uint64_t key, js_impl **out)
{
	js_impl **v = map_get(m, key);
	if (!v)
		return false;
	*out = *v;
	m->keys[v - m->values] = MAP_GONE; /* stays counted in used until a rebuild */
	m->live--;
	return true;
}

/* ---- VM entry and limits --------------------------------------------------- */

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* What the JS heap may hold: the VM's limit less what bridge blocks hold. */
static size_t heap_limit(const js_vm *vm)
{
	size_t b = vm->guard.block_bytes;
	return b < vm->memory_bytes ? vm->memory_bytes - b : 1;
}

/* QuickJS polls this every few thousand operations. The budget starts at the
 * first poll of a call, so short calls never read the clock at all. */
static int interrupt_handler(JSRuntime *qrt, void *opaque)
{
	js_vm *vm = opaque;
	/* A parse runs with QuickJS's limit lifted (pp_js_heap_limit): ours
	 * holds at its polls, which come every few thousand tokens. */
	if (vm->lifted && JS_GetMemoryInUse(qrt) > heap_limit(vm)) {
		vm->interrupted = vm->parse_over = true;
		return 1;
	}
	uint64_t now = thread_cpu_ns();
	if (!vm->call_started_ns) {
		vm->call_started_ns = now;
		return 0;
	}
	if (now - vm->call_started_ns <= vm->cpu_budget_ns)
		return 0;
	vm->interrupted = true;
	return 1;
}

bool pp_js_interrupted(JSContext *ctx)
{
	const js_vm *vm = JS_GetContextOpaque(ctx);
	return vm && vm->interrupted;
}

/* The class of the object made by code, a constructor call of a builtin. */
static JSClassID class_of(JSContext *ctx, const char *code)
{
	JSValue v = JS_Eval(ctx, code, strlen(code), "<polyplug>", JS_EVAL_TYPE_GLOBAL);
	JSClassID id = JS_GetClassID(v);
	JS_FreeValue(ctx, v);
	pp_js_clear_exception(ctx);
	return id;
}

JSClassID pp_js_dataview_class(JSContext *ctx)
{
	const js_vm *vm = JS_GetContextOpaque(ctx);
	return vm ? vm->dataview_class : JS_INVALID_CLASS_ID;
}

/* The watchdog's tick: a VM still inside the call it was in at the previous
 * tick is asked to poll its handler now. Asking a VM that runs no JS (its
 * owner is loading it, or destroying an instance) only makes its next call
 * poll once early. */
static void vm_watch(pp_watched *w)
{
	js_vm *vm = pp_container_of(w, js_vm, watched);
	uint64_t calls = atomic_load_explicit(&vm->calls, memory_order_relaxed);
	if (atomic_load_explicit(&vm->owner, memory_order_relaxed) && calls == vm->seen_calls)
		JS_RequestInterrupt(vm->qrt);
	vm->seen_calls = calls;
}

/* How often the watchdog looks at a VM: an eighth of its CPU limit (within
 * 1 ms .. 250 ms). A long call is asked to poll within two ticks, where its
 * budget starts, and, once past the budget, within one more: it ends by
 * 1 3/8 of its limit, plus the one builtin step it was in (docs/js.md). */
static uint64_t watch_period_ns(uint64_t budget_ns)
{
	uint64_t p = budget_ns / 8;
	return p < 1000000u ? 1000000u : p > 250000000u ? 250000000u : p;
}

/* Room the host keeps below a guest's stack budget: QuickJS checks its limit
 * on function entry, and builtins, the runtime and the host's own frames
 * need stack past that point. */
#define HOST_STACK_RESERVE (96u << 10)

/* The calling thread's stack bottom, found at its first entry (1: unknown).
 * Initial-exec, like pp__tls: reading it is one load, with no call. */
static _Thread_local uintptr_t stack_low __attribute__((tls_model("initial-exec")));

/* The stack a guest entered from here may use: the configured budget, but
 * never more than what remains of the calling thread's real stack below this
 * frame, less the host's reserve. A nested entry (a guest calling a peer in
 * another VM) measures from where it is, so a chain of VMs shares one
 * thread's stack instead of each assuming a fresh one. */
static size_t stack_room(size_t configured)
{
	if (!stack_low) {
		stack_low = 1;
		pthread_attr_t attr;
		if (pthread_getattr_np(pthread_self(), &attr) == 0) {
			void *addr;
			size_t size;
			if (pthread_attr_getstack(&attr, &addr, &size) == 0 && addr)
				stack_low = (uintptr_t)addr;
			pthread_attr_destroy(&attr);
		}
	}
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	if (stack_low == 1 || sp <= stack_low)
		return configured;
	size_t avail = sp - stack_low;
	size_t room = avail > HOST_STACK_RESERVE ? avail - HOST_STACK_RESERVE : 1;
	return room < configured ? room : configured; /* never 0: that means "no limit" */
}

/* Takes for me the first free VM of pool after VM `after`, going round the
 * pool (VM `after` itself is not tried); NULL if none is free. Goes round
 * without dividing (a division costs more than the rest of this function). */
static js_vm *pool_take_other(js_pool *pool, uint32_t after, uintptr_t me)
{
	uint32_t n = pool->n;
	for (uint32_t i = 1, at = after + 1 < n ? after + 1 : 0; i < n;
	     i++, at = at + 1 < n ? at + 1 : 0) {
		js_vm *vm = &pool->vms[at].vm;
		uintptr_t seen = 0;
		if (atomic_compare_exchange_strong_explicit(
		            &vm->owner, &seen, me, memory_order_acquire, memory_order_relaxed))
			return vm;
	}
	return NULL;
}

/* Waits for the VM to be free and takes it: the slow path of vm_take.
 * While waiting, the thread says which VM it waits for (in its pp_tstate),
 * so a thread about to wait can follow "owner waits for a VM whose owner
 * waits for ..." and refuse at once when the chain comes back to itself: a
 * wait cycle between bundles calling each other from two threads. Each
 * waiter publishes its wait before it looks (again at each look), so of the
 * threads closing a cycle the last one sees it; the others are woken by its
 * refusal.
 *
 * With `any` (vm's pool, for a call that any of its VMs may serve), a VM of
 * the pool that comes free first is taken instead: a give wakes only its
 * own VM's waiters, so the waiter looks at the others each time it wakes,
 * at least every 20 ms. *took is the VM taken. */
static uint32_t vm_wait(js_vm *vm, uintptr_t me, js_pool *any, js_vm **took)
{
	*took = vm;
	pp_tstate *ts = pp__tstate(vm->rt);
	pp_waited waited = any ? pp_waited_set(&any->owners) : pp_waited_word(&vm->owner);
	uint32_t code = PP_OK;
	/* Counted, then the fence vm_give leaves to us (outside the mutex: a
	 * giver that sees us takes it to wake us). Should this thread be barred
	 * from membarrier, a give we miss is caught by the timed retry below. */
	atomic_fetch_add_explicit(&vm->parked, 1, memory_order_seq_cst);
	if (vm->light_give)
		(void)pp__try_heavy_fence(vm->rt);
	pthread_mutex_lock(&vm->park);
	for (;;) {
		/* Not published while it tries: a thread seen holding a VM it
		 * says it waits for has held it since before its wait (a call
		 * back into its own pool), never just taken it, which a look
		 * would read as a wait for itself. */
		if (ts)
			pp__publish_wait(ts, 0);
		uintptr_t free_ = 0;
		if (atomic_compare_exchange_strong_explicit(
		            &vm->owner, &free_, me, memory_order_acquire, memory_order_relaxed))
			break;
		js_vm *other = any ? pool_take_other(any, vm->index, me) : NULL;
		if (other) {
			*took = other;
			break;
		}
		if (ts) /* published before the look */
			pp__publish_wait(ts, waited);
		if (pp__wait_would_cycle(vm->rt, ts, waited, me)) {
			code = PP_ERR_REENTRANT_CALL;
			break;
		}
		/* look again in 20 ms: a cycle may close later, another VM may
		 * come free */
		struct timespec until = pp__deadline(CLOCK_MONOTONIC, 20 * 1000000L);
		pthread_cond_timedwait(&vm->unparked, &vm->park, &until);
	}
	if (ts)
		pp__publish_wait(ts, 0);
	atomic_fetch_sub_explicit(&vm->parked, 1, memory_order_relaxed);
	pthread_mutex_unlock(&vm->park);
	return code;
}

/* Takes the VM for the calling thread, waiting while another thread has
 * it. PP_ERR_REENTRANT_CALL, without waiting, if the calling thread already
 * has it or waiting would close a cycle. */
static inline uint32_t vm_take(js_vm *vm, uintptr_t me)
{
	uintptr_t seen = 0;
	if (atomic_compare_exchange_strong_explicit(&vm->owner, &seen, me, memory_order_acquire,
	                                            memory_order_relaxed))
		return PP_OK;
	if (seen == me)
		return PP_ERR_REENTRANT_CALL;
	return vm_wait(vm, me, NULL, &vm);
}

static void give_slow(js_vm *vm);

static inline void vm_give(js_vm *vm)
{
	/* A Dekker pair with vm_wait: we store owner = 0 then load parked; a
	 * waiter adds to parked then tries the owner. Either the waiter's try
	 * sees the VM free or our load sees it parked and we wake it. The
	 * store-load order costs a full fence: with membarrier the waiter (the
	 * rare side) forces one on us, so a compiler barrier is enough here;
	 * without, a seq_cst store and load. */
	if (vm->light_give) {
		atomic_store_explicit(&vm->owner, 0, memory_order_release);
		atomic_signal_fence(memory_order_seq_cst);
	} else {
		atomic_store_explicit(&vm->owner, 0, memory_order_seq_cst);
	}
	if (__builtin_expect(atomic_load_explicit(&vm->parked, memory_order_seq_cst) != 0, 0))
		give_slow(vm);
}

/* A VM just taken starts a call: the caller's stack, wherever it is, is
 * where JS's stack budget starts, and the budget never exceeds what is left
 * of the thread's stack. `at`: the frame of the function entering, when that
 * function is js_call (0 otherwise). A call entered from the same frame of a
 * stack with the same bottom as the VM's previous one would set exactly what
 * is set already (the budget and QuickJS's stack top depend on nothing
 * else), so the hot path of a host calling in a loop skips both. */
static inline void vm_begin(js_vm *vm, uintptr_t at)
{
	if (!at || at != vm->entered_at || stack_low != vm->entered_low) {
		JS_SetMaxStackSize(vm->qrt, stack_room(vm->stack_bytes));
		JS_UpdateStackTop(vm->qrt);
		vm->entered_at = at;
		vm->entered_low = stack_low;
	}
	atomic_store_explicit(&vm->calls,
	                      atomic_load_explicit(&vm->calls, memory_order_relaxed) + 1,
	                      memory_order_relaxed);
	vm->call_started_ns = 0;
	vm->interrupted = vm->parse_over = false;
	vm->call_bytes = 0;
}

/* Takes the VM for one call. A nested call from the thread already inside is
 * refused before the VM is touched; a call from another thread waits. */
static inline uint32_t vm_enter(js_vm *vm)
{
	uint32_t code = vm_take(vm, pp__thread_id());
	if (code == PP_OK)
		vm_begin(vm, 0);
	return code;
}

/* The VM an instance id names: the one that made it. An id from a replaced
 * version names some VM that does not know it. */
static inline js_vm *instance_vm(js_pool *pool, uint64_t id)
{
	uint32_t i = (uint32_t)(id % PP_JS_MAX_CONCURRENCY); /* a mask: no division */
	return &pool->vms[i < pool->n ? i : 0].vm;
}

/* The pool index of the VM this thread took last, in whichever pool: where
 * pool_enter looks first. A hint only; any value is safe. */
static _Thread_local uint32_t pool_last __attribute__((tls_model("initial-exec")));

/* Takes a VM of the pool when VM `start`, this thread's last, is busy: the
 * first free one after it. When all are busy it waits for one this thread
 * is not inside, or for any other to come free first; one whose wait would
 * close a cycle is passed over for the next. Refused only when every VM is
 * this thread's or a cycle's. */
static __attribute__((noinline)) uint32_t pool_take_slow(js_pool *pool, uint32_t start,
                                                         uintptr_t me, js_vm **out)
{
	uint32_t n = pool->n;
	js_vm *free_vm = pool_take_other(pool, start, me);
	if (free_vm) {
		pool_last = free_vm->index;
		*out = free_vm;
		return PP_OK;
	}
	for (uint32_t i = 0, at = start; i < n; i++, at = at + 1 < n ? at + 1 : 0) {
		js_vm *vm = &pool->vms[at].vm, *took;
		if (atomic_load_explicit(&vm->owner, memory_order_relaxed) != me &&
		    vm_wait(vm, me, pool, &took) == PP_OK) {
			pool_last = took->index;
			*out = took;
			return PP_OK;
		}
	}
	return PP_ERR_REENTRANT_CALL;
}

/* Enters the VM for a call on *cp (a contract as the runtime sees it: the
 * first VM's) and points *cp at that VM's own copy. inst_id: the instance
 * called, or 0 for the default implementation (any free VM); at: as for
 * vm_begin.
 *
 * Threads calling a pool settle on a VM each: a call tries the VM its
 * thread took last, inline, and looks further only when that one is busy.
 * The compare-and-swap that takes the VM waits for every load before it, so
 * what leads to it is kept short: the VM's address is the pool's plus an
 * offset (the VMs are in the pool), and the VM's copy of the contract (fixed
 * once loaded) is found before the swap, not after it, where everything the
 * call reads next would wait for it. Through a chain of loads, one thread's
 * calls into a pool of 2 took 13% longer than into a bundle of one VM, and
 * those took 8% longer than now. */
static inline __attribute__((always_inline)) uint32_t pool_enter(js_contract **cp, uint64_t inst_id,
                                                                 uintptr_t at)
{
	js_contract *c = *cp; /* read-only here: other threads' VMs are written */
	js_pool *pool = c->pool;
	uintptr_t me = pp__thread_id();
	js_vm *vm;
	js_contract *own;
	uint32_t code;
	if (pool->n == 1) {
		vm = c->vm;
		own = c;
		code = vm_take(vm, me);
	} else if (inst_id) {
		vm = instance_vm(pool, inst_id);
		own = &vm->contracts[c->slot];
		code = vm_take(vm, me);
	} else {
		uint32_t i = pool_last < pool->n ? pool_last : 0;
		vm = &pool->vms[i].vm;
		own = &vm->contracts[c->slot];
		uintptr_t seen = 0;
		code = PP_OK;
		if (__builtin_expect(!atomic_compare_exchange_strong_explicit(&vm->owner, &seen, me,
		                                                              memory_order_acquire,
		                                                              memory_order_relaxed),
		                     0)) {
			code = pool_take_slow(pool, i, me, &vm);
			own = &vm->contracts[c->slot];
		}
	}
	if (code != PP_OK)
		return code;
	vm_begin(vm, at);
	*cp = own;
	return PP_OK;
}

char *pp_js_exception_text(JSContext *ctx)
{
	JSValue exc = JS_GetException(ctx);
	/* null: what QuickJS throws when it cannot allocate even its error */
	const char *what = JS_IsNull(exc) ? NULL : JS_ToCString(ctx, exc);
	const char *unprintable = JS_IsNull(exc) ? "null (what QuickJS throws when out of memory)"
	                                         : "(unprintable exception)";
	const char *stack = NULL;
	JSValue sv = JS_UNDEFINED;
	if (JS_IsObject(exc)) {
		sv = JS_GetPropertyStr(ctx, exc, "stack");
		if (JS_IsString(sv))
			stack = JS_ToCString(ctx, sv);
		else if (JS_IsException(sv)) /* a getter threw: not the caller's */
			pp_js_clear_exception(ctx);
	}
	if (!what && !JS_IsNull(exc))
		JS_FreeValue(ctx, JS_GetException(ctx)); /* toString itself threw */
	/* each at most PP_JS_TEXT_MAX, whole characters, " ..." where cut */
	const char *head = what ? what : unprintable;
	size_t hl = strlen(head), sl = stack ? strlen(stack) : 0;
	size_t hn = pp_utf8_cut(head, hl, PP_JS_TEXT_MAX),
	       sn = pp_utf8_cut(stack, sl, PP_JS_TEXT_MAX);
	size_t n = hn + sn + 2 * sizeof " ..." + 2;
	/* room for the "\n    ..." that may replace the last newline */
	char *text = malloc(n + sizeof "\n    ...");
	if (text) {
		snprintf(text, n, "%.*s%s%s%.*s%s", (int)hn, head, hn < hl ? " ..." : "",
		         sl ? "\n" : "", (int)sn, sl ? stack : "", sn < sl ? " ..." : "");
		/* at most MAX_FRAMES frames of the stack, without its last newline */
		/* (from text + 1, never past an empty text's terminator) */
		char *line = *text ? strchr(text + 1, '\n') : NULL;
		for (int frames = 1; line && frames <= MAX_FRAMES; frames++)
			line = strchr(line + 1, '\n');
		if (line)
			strcpy(line, "\n    ...");
		size_t len = strlen(text);
		if (len && text[len - 1] == '\n')
			text[len - 1] = '\0';
	}
	JS_FreeCString(ctx, what);
	JS_FreeCString(ctx, stack);
	JS_FreeValue(ctx, sv);
	JS_FreeValue(ctx, exc);
	const js_vm *vm = JS_GetContextOpaque(ctx);
	return vm ? pp_js_srcmap_apply(vm->srcmap, text) : text;
}

/* Classifies the pending exception: a limit that stopped the guest, or an
 * error it threw. Consumes the exception and returns its text in *text. */
static __attribute__((noinline, cold)) uint32_t exception_code(js_vm *vm, char **text)
{
	/* Out of memory is QuickJS's InternalError, or null when it could not
	 * even allocate that error. A guest that throws either itself reads as
	 * out of memory too: its own claim, as a status it returned would be. */
	JSValue exc = JS_GetException(vm->ctx);
	bool null = JS_IsNull(exc);
	JS_Throw(vm->ctx, exc);
	*text = pp_js_exception_text(vm->ctx);
	if (vm->parse_over) {
		free(*text);
		*text = pp__strdup("parsing needed more memory than the VM's limit");
		return PP_ERR_OUT_OF_MEMORY;
	}
	if (vm->interrupted)
		return PP_ERR_TIMEOUT;
	if (null || (*text && strncmp(*text, "InternalError: out of memory", 28) == 0)) {
		JS_RunGC(vm->qrt); /* whatever the failed call built is garbage now */
		return PP_ERR_OUT_OF_MEMORY;
	}
	return PP_ERR_GENERIC;
}

/* ---- Dispatch -------------------------------------------------------------- */

/* A pointer as the JS number the raw protocol passes: always a float, so
 * no int32 test (JS cannot tell 0.0 from 0). User-space addresses are
 * below 2^63: the signed conversion (one instruction, where an unsigned
 * one takes a branch and several) gives the same value. */
static inline JSValue number_ptr(const void *p)
{
	return __JS_NewFloat64(NULL, (double)(int64_t)(uintptr_t)p);
}

/* A status a guest hands back (a raw function's result, init's `code`, a
 * thrown `code`): an integer in [0, 2^32). Anything else — NaN, Infinity,
 * 0.5, -1, 2^40, a string — is refused, never converted: wrapping would turn
 * 2^32 into PP_OK and 2^32+5 into PP_ERR_STALE_HANDLE. */
static bool exact_u32(JSValueConst v, uint32_t *out)
{
	int tag = JS_VALUE_GET_TAG(v);
	if (tag == JS_TAG_INT && JS_VALUE_GET_INT(v) >= 0) {
		*out = (uint32_t)JS_VALUE_GET_INT(v);
		return true;
	}
	if (JS_TAG_IS_FLOAT64(tag)) {
		double d = JS_VALUE_GET_FLOAT64(v);
		if (d >= 0 && d <= UINT32_MAX && d == (double)(uint32_t)d) {
			*out = (uint32_t)d;
			return true;
		}
	}
	return false;
}

#define STATUS_RULE "a status is an integer in 0 .. 4294967295"

/* A raw function's result that is no status: the call fails, saying so. */
static __attribute__((noinline)) uint32_t not_a_status(JSContext *ctx, JSValueConst ret,
                                                       char **failure)
{
	char shown[80];
	pp_js_describe_value(ctx, ret, shown, sizeof shown);
	*failure = pp__strprintf("returned %s; " STATUS_RULE, shown);
	return PP_ERR_GENERIC;
}

/* A typed function reports a status other than Generic by throwing an object
 * whose `code` is an integer in 1 .. 2^32-1. Leaves the exception pending. */
static __attribute__((noinline, cold)) uint32_t thrown_status(JSContext *ctx)
{
	JSValue exc = JS_GetException(ctx);
	uint32_t code = 0;
	if (JS_IsObject(exc)) {
		JSValue v = JS_GetPropertyStr(ctx, exc, "code");
		if (!exact_u32(v, &code))
			code = 0;
		JS_FreeValue(ctx, v);
	}
	JS_Throw(ctx, exc); /* replaces anything the getter threw */
	return code;
}

/* A typed result the loader would not store: the message says why, and
 * what the guest threw meanwhile (a getter, or a limit) when it did. */
static __attribute__((noinline)) uint32_t result_refused(js_vm *vm, uint32_t code, const char *why,
                                                         char **failure)
{
	if (!JS_HasException(vm->ctx)) {
		*failure = pp__strprintf("%s", why);
		return code;
	}
	char *text;
	code = exception_code(vm, &text);
	*failure = pp__strprintf("%s: %s", why, text ? text : "out of memory");
	free(text);
	return code;
}

/* Jobs a result's getters queued after the call had settled run in this
 * call, not the bundle's next one (another caller's, with its own CPU
 * budget and memory). If the CPU limit stops them, the call fails and the
 * result it wrote goes. */
static __attribute__((noinline)) uint32_t late_jobs(js_vm *vm, const js_sig *sig, const void *args,
                                                    void *out, pp_call_arena *arena, char **failure)
{
	JSValue settled = pp_js_settle_slow(vm, JS_UNDEFINED);
	if (!JS_IsException(settled))
		return PP_OK;
	pp_js_sig_result_drop(sig, vm->host, args, out, arena);
	return exception_code(vm, failure);
}

/* A function with a typed signature: functions[fn_id](impl, ...params), its
 * returned value written to out. QuickJS borrows the function and `this`:
 * impl stays alive for the call (vm->calling). */
static inline __attribute__((always_inline)) uint32_t
call_typed(js_vm *vm, const js_contract *c, uint32_t fn_id, const js_impl *impl, const void *args,
           void *out, pp_call_arena *arena, char **failure)
{
	JSContext *ctx = vm->ctx;
	const js_sig *sig = &c->sigs[fn_id];
	JSValue argv[1 + PP_JS_SIG_MAX_PARAMS];
	int n = pp_js_sig_args(ctx, sig, args, argv + 1);
	if (n < 0)
		return exception_code(vm, failure);
	argv[0] = impl->obj;
	JSValue ret;
	if (sig->method != JS_ATOM_NULL) {
		ret = JS_Call(ctx, impl->methods[fn_id], argv[0], n, argv + 1);
	} else {
		ret = JS_Call(ctx, c->functions[fn_id], JS_UNDEFINED, 1 + n, argv);
	}
	ret = pp_js_settle(vm, ret);
	if (!sig->scalars) /* scalars hold no reference */
		for (int i = 1; i <= n; i++)
			JS_FreeValue(ctx, argv[i]);
	if (__builtin_expect(JS_IsException(ret), 0)) {
		uint32_t custom = thrown_status(ctx);
		uint32_t code = exception_code(vm, failure);
		return custom && code == PP_ERR_GENERIC ? custom : code;
	}
	char why[160];
	uint32_t code =
	        pp_js_sig_result(ctx, sig, ret, out, vm->host, args, arena, why, sizeof why);
	JS_FreeValue(ctx, ret);
	if (__builtin_expect(code != PP_OK, 0))
		code = result_refused(vm, code, why, failure);
	else if (__builtin_expect(*vm->jobs != 0, 0))
		code = late_jobs(vm, sig, args, out, arena, failure);
	return code;
}

/* The cause of a failed call, as the message the caller's pp_last_error
 * gets (prefixed there with bundle, contract and function): left as this
 * thread's last error, which the caller copies before anything can change
 * it. The log gets it too, whole. */
static __attribute__((noinline, cold)) void call_failure(js_vm *vm, const js_contract *c,
                                                         uint32_t fn_id, uint32_t code,
                                                         const char *failure, pp_abi_error *err)
{
	const char *name = fn_id < c->fn_count ? c->fn_names[fn_id] : NULL;
	char in[96] = "";
	if (name)
		snprintf(in, sizeof in, "in %s(): ", name);
	if (code == PP_ERR_TIMEOUT)
		pp__error(vm->rt, code, "%sstopped after its CPU limit of %llu ms", in,
		          (unsigned long long)(vm->cpu_budget_ns / 1000000u));
	else if (code == PP_ERR_OUT_OF_MEMORY)
		pp__error(vm->rt, code, "%sran out of memory (the VM's limit is %zu bytes)%s%s", in,
		          vm->memory_bytes, failure ? ": " : "", failure ? failure : "");
	else
		pp__error(vm->rt, code, "%s%s", in, failure);
	const char *m = pp_last_error(vm->rt);
	err->message = (pp_string_view){(const uint8_t *)m, strlen(m)};
	pp__log(vm->rt, PP_LOG_ERROR, SCOPE, "bundle '%s', contract '%s', function %u: %s",
	        vm->bundle, c->name, fn_id, m);
}

/* Jobs that guest code the loader ran after the entry settled queued (an
 * exception's toString or code getter, a method getter, a finalizer the
 * loader's collection queued) run before the entry's guard ends, charged to
 * it, not to the bundle's next entry (another caller's): what they touch is
 * checked against the entry's regions, a violation fails the entry, and
 * what they take from the host is freed with the entry's. If the CPU limit
 * stops them, the rest go unrun. */
static __attribute__((noinline, cold)) void leftover_jobs(js_vm *vm)
{
	JSValue v = pp_js_settle_slow(vm, JS_UNDEFINED);
	if (JS_IsException(v))
		JS_FreeValue(vm->ctx, JS_GetException(vm->ctx));
	else
		JS_FreeValue(vm->ctx, v);
	JS_DropPendingJobs(vm->qrt); /* what a report of a rejection queued last */
}

/* A call's guarded regions: its args and out (the sizes its layout gives;
 * a typed function's guest never sees them), and its arena. */
static inline void guard_begin(js_vm *vm, pp_call_arena *arena, const void *args, size_t args_len,
                               void *out, size_t out_len)
{
	if (vm->guard.on) {
		vm->call_arena = arena;
		pp_js_guard_begin(&vm->guard, args, args_len, out, out_len);
	}
}

/* A violation in the call fails it, whatever the guest made of the
 * RangeError: PP_ERR_INVALID_POINTER with the violation as its message. */
static inline uint32_t guard_end(js_vm *vm, uint32_t code, char **failure)
{
	if (__builtin_expect(*vm->jobs != 0, 0))
		leftover_jobs(vm);
	if (!vm->guard.on)
		return code;
	vm->call_arena = NULL;
	if (__builtin_expect(vm->guard.host_blocks, 0))
		pp_js_guard_release_host_blocks(vm, code == PP_OK && !vm->guard.violated);
	char *v;
	if (!pp_js_guard_end(&vm->guard, &v))
		return code;
	free(*failure);
	*failure = v;
	return PP_ERR_INVALID_POINTER;
}

/* Jobs queued once the entry's guard had ended (by a finalizer the last
 * frees queued) run in a region of their own, which holds nothing: never
 * in the next entry's. */
static __attribute__((noinline, cold)) void stray_jobs(js_vm *vm)
{
	guard_begin(vm, NULL, NULL, 0, NULL, 0);
	char *failure = NULL;
	if (guard_end(vm, PP_OK, &failure) != PP_OK)
		pp__log(vm->rt, PP_LOG_WARN, SCOPE,
		        "bundle '%s': a job run after its entry ended: %s", vm->bundle,
		        failure ? failure : "refused");
	free(failure);
}

static inline void vm_leave(js_vm *vm)
{
	if (__builtin_expect(*vm->jobs != 0, 0))
		stray_jobs(vm);
	vm_give(vm);
}

/* A raw-protocol function: functions[fn_id](impl, args_ptr, out_ptr,
 * arena_ptr, bridge), returning its status. impl as for call_typed. */
static inline uint32_t call_raw(js_vm *vm, const js_contract *c, uint32_t fn_id,
                                const js_impl *impl, const void *args, void *out,
                                pp_call_arena *arena, char **failure)
{
	JSContext *ctx = vm->ctx;
	guard_begin(vm, arena, args, c->layouts[fn_id].args, out, c->layouts[fn_id].out);
	JSValue argv[5] = {impl->obj, number_ptr(args), number_ptr(out), number_ptr(arena),
	                   vm->bridge};
	JSValue ret = pp_js_settle(vm, JS_Call(ctx, c->functions[fn_id], JS_UNDEFINED, 5, argv));
	uint32_t code;
	if (JS_IsException(ret))
		code = exception_code(vm, failure);
	else if (!exact_u32(ret, &code))
		code = not_a_status(ctx, ret, failure);
	JS_FreeValue(ctx, ret);
	if (code == PP_OK && vm->guard.on &&
	    pp_js_guard_out_holds_blocks(vm, out, c->layouts[fn_id].out))
		JS_FreeValue(ctx, JS_GetException(ctx)); /* recorded; nobody to catch it */
	return guard_end(vm, code, failure);
}

/* Whether instance id of c was destroyed and left for later: then it is
 * still in c's map, but no call may run on it. */
static __attribute__((noinline, cold)) bool left_for_later(js_vm *vm, const js_contract *c,
                                                           uint64_t id)
{
	bool found = false;
	pthread_mutex_lock(&vm->park);
	size_t n = atomic_load_explicit(&vm->later_n, memory_order_relaxed);
	for (size_t i = 0; i < n && !found; i++)
		found = vm->later[i].slot == c->slot && vm->later[i].id == id;
	pthread_mutex_unlock(&vm->park);
	return found;
}

/* The implementation a call on instance id (0: the default) of c, vm's
 * contract, runs on; NULL for an instance vm never made, or destroyed
 * (its freeing perhaps left for later). By vm's holder. */
static inline const js_impl *impl_of(js_vm *vm, js_contract *c, uint64_t id)
{
	js_impl *const *found = id ? map_get(&c->instances, id) : &c->default_impl;
	const js_impl *impl = found ? *found : NULL;
	if (impl && id &&
	    __builtin_expect(atomic_load_explicit(&vm->later_n, memory_order_relaxed), 0) &&
	    left_for_later(vm, c, id))
		return NULL;
	return impl;
}

/* A call that reached no function: the instance is one this VM never made
 * (made by a replaced version, or destroyed: ids are never reused, so it
 * cannot be mistaken for another), or fn_id is past the contract's (the
 * runtime words that). The instance is told first, as pp_call tells a
 * native one. The reference's code; for the instance, the message pp_call
 * knows as its own refusal (pp__not_made_here). */
static __attribute__((noinline)) uint32_t not_available(bool instance_refused, pp_abi_error *err)
{
	if (instance_refused)
		err->message = (pp_string_view){(const uint8_t *)pp__not_made_here,
		                                strlen(pp__not_made_here)};
	return PP_ERR_FUNCTION_NOT_AVAILABLE;
}

/* Whether a call on instance id of c, refused as reentrant, names an
 * instance its VM does not hold (never made, destroyed, or left for later):
 * then it is refused as one the version did not make. Known only when this
 * thread is the VM's holder (further up its stack), which may read the map;
 * a VM held by another thread is not looked into. */
static __attribute__((noinline, cold)) bool not_held_by_my_vm(const js_contract *c, uint64_t id)
{
	js_vm *vm = instance_vm(c->pool, id);
	if (atomic_load_explicit(&vm->owner, memory_order_relaxed) != pp__thread_id())
		return false;
	return !impl_of(vm, &vm->contracts[c->slot], id);
}

/* vm.call. The hot path: take a VM, find the implementation, call, give
 * the VM back; everything else is out of line. */
static void js_call(pp_vm_loader_data ld, pp_guest_contract_instance inst, uint32_t fn_id,
                    const void *args, void *out, pp_call_arena *arena, pp_abi_error *err)
{
	js_contract *c = ld.data;
	uint32_t code = pool_enter(&c, (uint64_t)(uintptr_t)inst.data,
	                           (uintptr_t)__builtin_frame_address(0));
	if (code != PP_OK) {
		if (code == PP_ERR_REENTRANT_CALL && inst.data &&
		    not_held_by_my_vm(c, (uint64_t)(uintptr_t)inst.data))
			code = not_available(true, err);
		err->code = code;
		return;
	}
	js_vm *vm = c->vm;
	char *failure = NULL;
	const js_impl *impl = impl_of(vm, c, (uint64_t)(uintptr_t)inst.data);
	if (!impl || fn_id >= c->fn_count) {
		code = not_available(!impl, err);
	} else {
		vm->calling = impl;
		if (c->sigs && c->sigs[fn_id].typed) {
			guard_begin(vm, arena, NULL, 0, NULL, 0); /* the guest sees no memory */
			uint32_t typed = call_typed(vm, c, fn_id, impl, args, out, arena, &failure);
			code = guard_end(vm, typed, &failure);
			if (__builtin_expect(code != typed, 0) && typed == PP_OK) /* it wrote out */
				pp_js_sig_result_drop(&c->sigs[fn_id], vm->host, args, out, arena);
		} else {
			code = call_raw(vm, c, fn_id, impl, args, out, arena, &failure);
		}
		vm->calling = NULL;
		if (__builtin_expect(vm->doomed != NULL, 0)) { /* destroyed by its own call */
			impl_free(vm->ctx, c, vm->doomed);
			vm->doomed = NULL;
		}
	}
	vm_leave(vm);
	/* Reported outside the VM: the host's logger never runs under our lock. */
	if (__builtin_expect(code != PP_OK, 0)) {
		if (failure || code == PP_ERR_TIMEOUT || code == PP_ERR_OUT_OF_MEMORY)
			call_failure(vm, c, fn_id, code, failure, err);
		free(failure);
	}
	err->code = code;
}

/* ---- Instances ------------------------------------------------------------- */

/* Makes room in vm's list of destroys left for later for one more instance
 * than it holds (destroy_when_free then never allocates). The holder's. */
static bool later_room(js_vm *vm)
{
	if (vm->later_cap > vm->instances)
		return true;
	size_t cap = vm->later_cap ? vm->later_cap * 2 : 8;
	pthread_mutex_lock(&vm->park);
	struct js_later *bigger =
	        cap < SIZE_MAX / sizeof *bigger ? realloc(vm->later, cap * sizeof *bigger) : NULL;
	if (bigger) {
		vm->later = bigger;
		vm->later_cap = cap;
	}
	pthread_mutex_unlock(&vm->park);
	return bigger != NULL;
}

/* The error a create reports: the message is left as the thread's last
 * error, which the caller copies before anything else can change it. */
static void create_failed(js_vm *vm, const js_contract *c, uint32_t code, const char *why,
                          pp_abi_error *err)
{
	pp__error(vm->rt, code, "bundle '%s', contract '%s': JS create_instance: %s", vm->bundle,
	          c->name, why);
	const char *m = pp_last_error(vm->rt);
	err->code = code;
	err->message = (pp_string_view){(const uint8_t *)m, strlen(m)};
}

static void js_create_instance(pp_vm_loader_data ld, const pp_host_api *host, const void *args,
                               pp_guest_contract_instance *out, pp_abi_error *err)
{
	(void)host;
	(void)args;
	js_contract *c = ld.data;
	out->data = NULL;
	out->contract_id = 0;
	/* An instance stays where it is made: spread them, rather than put
	 * every instance one thread makes on the VM that thread had last. */
	if (c->pool->n > 1)
		pool_last = atomic_fetch_add_explicit(&c->pool->creates, 1, memory_order_relaxed) %
		            c->pool->n;
	uint32_t code = pool_enter(&c, 0, 0);
	js_vm *vm = c->vm;
	if (code != PP_OK) {
		create_failed(vm, c, code,
		              "this thread is inside the bundle's VM already, or waiting for it "
		              "would deadlock",
		              err);
		return;
	}
	JSValue argv[3] = {vm->bridge, JS_NewFloat64(vm->ctx, vm->host_lo),
	                   JS_NewFloat64(vm->ctx, vm->host_hi)};
	guard_begin(vm, NULL, NULL, 0, NULL, 0);
	JSValue obj = pp_js_settle(vm, JS_Call(vm->ctx, c->factory, JS_UNDEFINED, 3, argv));
	char *failure = NULL;
	js_impl *impl = NULL;
	if (JS_IsException(obj))
		code = exception_code(vm, &failure);
	else if ((impl = impl_new(vm->ctx, c, obj, &failure)) == NULL)
		code = failure                    ? PP_ERR_GENERIC
		       : JS_HasException(vm->ctx) ? exception_code(vm, &failure)
		                                  : PP_ERR_OUT_OF_MEMORY;
	code = guard_end(vm, code, &failure);
	if (code != PP_OK) {
		impl_free(vm->ctx, c, impl);
	} else {
		/* Unique in the runtime, never reused: an id from a replaced
		 * version can never name an instance of the new one. Its rest
		 * modulo PP_JS_MAX_CONCURRENCY is the VM that made it. */
		uint64_t id = atomic_fetch_add_explicit(&vm->rt->next_instance_id, 1,
		                                        memory_order_relaxed) *
		                      PP_JS_MAX_CONCURRENCY +
		              vm->index;
		if (later_room(vm) && map_put(&c->instances, id, impl)) {
			vm->instances++;
			out->data = (void *)(uintptr_t)id;
			out->contract_id = c->contract_id;
		} else {
			impl_free(vm->ctx, c, impl);
			code = PP_ERR_OUT_OF_MEMORY;
		}
	}
	vm_leave(vm);
	if (code == PP_ERR_TIMEOUT) {
		char why[96];
		snprintf(why, sizeof why, "the factory stopped after its CPU limit of %llu ms",
		         (unsigned long long)(vm->cpu_budget_ns / 1000000u));
		create_failed(vm, c, code, why, err);
	} else if (code == PP_ERR_INVALID_POINTER) {
		create_failed(vm, c, code, failure, err);
	} else if (code != PP_OK) {
		char *why = pp__strprintf("the factory failed: %s",
		                          failure ? failure : "out of memory");
		create_failed(vm, c, code, why ? why : "the factory failed (out of memory)", err);
		free(why);
	}
	free(failure);
}

/* Frees the instances whose destroy was left for later (destroy_when_free)
 * if the VM is free, in an entry of their own; else its holder does, as it
 * gives the VM back (give_slow). */
static __attribute__((noinline, cold)) void destroy_left(js_vm *vm)
{
	uintptr_t free_ = 0;
	if (!atomic_compare_exchange_strong_explicit(&vm->owner, &free_, pp__thread_id(),
	                                             memory_order_acquire, memory_order_relaxed))
		return;
	vm_begin(vm, 0);
	/* a few at a time, off the list's end, so that the list keeps its room
	 * and the lock is not held while instances are freed */
	for (;;) {
		struct js_later batch[16];
		pthread_mutex_lock(&vm->park);
		size_t n = atomic_load_explicit(&vm->later_n, memory_order_relaxed);
		size_t k = n < 16 ? n : 16;
		memcpy(batch, vm->later + (n - k), k * sizeof *batch);
		atomic_store_explicit(&vm->later_n, n - k, memory_order_relaxed);
		if (k && k == n) /* they no longer wait for the VM */
			atomic_fetch_sub_explicit(&vm->parked, 1, memory_order_relaxed);
		pthread_mutex_unlock(&vm->park);
		if (!k)
			break;
		for (size_t i = 0; i < k; i++) {
			js_contract *c = &vm->contracts[batch[i].slot];
			js_impl *impl;
			if (map_take(&c->instances, batch[i].id, &impl)) {
				vm->instances--;
				impl_free(vm->ctx, c, impl);
			}
		}
	}
	vm_leave(vm);
}

/* Leaves instance id of c to the VM's holder, who frees it as it gives the
 * VM back (the host's destroy has already unlisted it: it must not stay
 * alive, holding the VM's memory, until unload), or frees it now if the VM
 * is free. */
static __attribute__((noinline, cold)) void destroy_when_free(js_vm *vm, const js_contract *c,
                                                              uint64_t id)
{
	pthread_mutex_lock(&vm->park);
	/* Room was made when the instance was (later_room): the runtime
	 * destroys each instance in the maps once. Only a plugin calling the
	 * interface's destroy itself, with values it was not given, can find
	 * the list full. */
	size_t n = atomic_load_explicit(&vm->later_n, memory_order_relaxed);
	bool kept = n < vm->later_cap;
	if (kept) {
		/* The destroys left for later count as one waiter: the holder's
		 * give then takes the slow path, which does them (give_slow). */
		if (n == 0)
			atomic_fetch_add_explicit(&vm->parked, 1, memory_order_seq_cst);
		vm->later[n] = (struct js_later){c->slot, id};
		atomic_store_explicit(&vm->later_n, n + 1, memory_order_relaxed);
	}
	pthread_mutex_unlock(&vm->park);
	if (!kept) {
		pp__log(vm->rt, PP_LOG_WARN, SCOPE,
		        "bundle '%s', contract '%s': more destroys than instances (instance "
		        "%llu destroyed through the interface, not the runtime): ignored",
		        vm->bundle, c->name, (unsigned long long)id);
		return;
	}
	/* as a waiter does (vm_wait): counted, then the fence vm_give leaves to
	 * us, then the try; if the holder gave before our count, we take it */
	if (vm->light_give)
		(void)pp__try_heavy_fence(vm->rt);
	destroy_left(vm);
}

/* vm_give when someone waits: wakes a waiter, and if destroys were left for
 * later (destroy_when_free), takes the VM back to do them — the thread that
 * left them may be gone, and no other entry may come. */
static __attribute__((noinline)) void give_slow(js_vm *vm)
{
	pthread_mutex_lock(&vm->park);
	bool later = atomic_load_explicit(&vm->later_n, memory_order_relaxed) != 0;
	pthread_cond_signal(&vm->unparked);
	pthread_mutex_unlock(&vm->park);
	if (later && vm->rt->look_hook) /* tests only: another takes it first */
		vm->rt->look_hook(vm->rt->look_hook_ud, PP_LOOK_LATER_GIVEN);
	if (later)
		destroy_left(vm);
}

static void js_destroy_instance(pp_vm_loader_data ld, const pp_host_api *host,
                                pp_guest_contract_instance inst)
{
	(void)host;
	js_contract *c = ld.data;
	uint64_t id = (uint64_t)(uintptr_t)inst.data;
	if (!c || id == 0)
		return; /* the default impl lives as long as the bundle */
	js_vm *vm = instance_vm(c->pool, id);
	c = &vm->contracts[c->slot];
	/* Destroying from inside a call on this same thread is safe: the thread
	 * already holds the VM. The instance the call runs on (nothing else of
	 * this VM can be running) is unlisted now and freed when the call ends:
	 * QuickJS borrows its object and method until then. */
	uintptr_t me = pp__thread_id();
	bool took = atomic_load_explicit(&vm->owner, memory_order_relaxed) != me;
	if (took && vm_enter(vm) != PP_OK) {  /* an entry like any other: fresh call state */
		destroy_when_free(vm, c, id); /* waiting would close a cycle */
		return;
	}
	js_impl *impl;
	if (map_take(&c->instances, id, &impl)) {
		vm->instances--;
		if (impl == vm->calling)
			vm->doomed = impl;
		else
			impl_free(vm->ctx, c, impl);
	}
	if (took)
		vm_leave(vm);
}

/* ---- Loading --------------------------------------------------------------- */

static void contract_free(js_vm *vm, js_contract *c)
{
	JSContext *ctx = vm->ctx;
	for (uint32_t i = 0; c->functions && i < c->fn_count; i++)
		JS_FreeValue(ctx, c->functions[i]);
	for (size_t i = 0; i < c->instances.cap; i++)
		if (c->instances.keys[i] != MAP_EMPTY && c->instances.keys[i] != MAP_GONE)
			impl_free(ctx, c, c->instances.values[i]);
	JS_FreeValue(ctx, c->factory);
	impl_free(ctx, c, c->default_impl);
	free(c->instances.keys);
	free(c->instances.values);
	free(c->functions);
	for (uint32_t i = 0; c->fn_names && i < c->fn_count; i++)
		free(c->fn_names[i]);
	free(c->fn_names);
	for (uint32_t i = 0; c->sigs && i < c->fn_count; i++)
		pp_js_sig_free(ctx, &c->sigs[i]);
	free(c->sigs);
	free(c->layouts);
	free(c->fn_layouts);
	free(c->name);
}

/* Frees what a VM holds; its own memory is its pool's. A VM never made
 * (zeroes) holds nothing. */
static void vm_fini(js_vm *vm)
{
	if (!vm->rt)
		return;
	if (vm->watched.check)
		pp__watchdog_remove(vm->rt, &vm->watched);
	/* A guarded bundle's live blocks go with it, and so do those of a load
	 * that failed (nothing of it was published); a compat bundle may have
	 * handed its own to a caller. */
	pp_js_guard_free(vm, vm->guard.on || !vm->published);
	if (vm->ctx) {
		JS_UpdateStackTop(vm->qrt);
		pp_js_rejections_free(vm);
		for (size_t i = 0; i < vm->contract_count; i++)
			contract_free(vm, &vm->contracts[i]);
		JS_FreeValue(vm->ctx, vm->bridge);
		JS_FreeContext(vm->ctx);
	}
	if (vm->qrt)
		JS_FreeRuntime(vm->qrt);
	free(vm->contracts); /* their maps held the instances left for later */
	free(vm->later);
	free(vm->bundle);
	free(vm->module_dir);
	free(vm->importing);
	if (vm->index == 0)
		pp_js_srcmap_free(vm->srcmap);
	pthread_mutex_destroy(&vm->park);
	pthread_cond_destroy(&vm->unparked);
	memset(vm, 0, sizeof *vm);
}

/* Makes VM `index` of pool (zeroes until now): false, with the VM back to
 * zeroes, when QuickJS or memory fails. */
static bool vm_init(js_vm *vm, pp_runtime *rt, const pp_bundle_source *src, js_pool *pool,
                    uint32_t index)
{
	/* a waiter's 20 ms naps on the monotonic clock: a wall clock stepped
	 * back must not stretch them */
	if (!pp__cond_init_monotonic(&vm->unparked))
		return false; /* nothing made yet */
	vm->pool = pool;
	vm->index = index;
	pthread_mutex_init(&vm->park, NULL);
	atomic_init(&vm->owner, 0);
	atomic_init(&vm->parked, 0);
	atomic_init(&vm->calls, 0);
	vm->rt = rt;
	vm->light_give = rt->hot.membarrier;
	vm->host = &rt->host;
	vm->bridge = JS_UNDEFINED;
	vm->bundle = pp__strdup(src->name);
	uintptr_t host = (uintptr_t)vm->host;
	vm->host_lo = (double)(uint32_t)host;
	vm->host_hi = (double)(uint32_t)((uint64_t)host >> 32);
	vm->cpu_budget_ns = (uint64_t)src->js.cpu_ms * 1000000u;
	vm->qrt = vm->bundle ? JS_NewRuntime() : NULL;
	if (!vm->qrt) {
		vm_fini(vm);
		return false;
	}
	vm->jobs = JS_GetJobCountAddress(vm->qrt);
	/* QuickJS 2025-04-26 does not survive running out of memory while it
	 * builds a context (it dereferences what it failed to allocate). So the
	 * memory limit is set only once the context exists: a small limit cannot
	 * reach that code. A failing malloc still can; should QuickJS come back
	 * with a broken context, its runtime is left allocated (logged), since
	 * freeing it crashes in the collector. */
	vm->ctx = JS_NewContext(vm->qrt);
	if (!vm->ctx || JS_HasException(vm->ctx)) {
		pp__log(rt, PP_LOG_ERROR, SCOPE,
		        "bundle '%s': out of memory creating its QuickJS context; the partial "
		        "runtime cannot be freed safely and is left allocated",
		        src->name);
		vm->qrt = NULL;
		vm->ctx = NULL;
		vm_fini(vm);
		return false;
	}
	vm->memory_bytes = src->js.memory_bytes;
	JS_SetMemoryLimit(vm->qrt, src->js.memory_bytes);
	vm->stack_bytes = src->js.stack_bytes;
	JS_SetMaxStackSize(vm->qrt, src->js.stack_bytes);
	JS_SetInterruptHandler(vm->qrt, interrupt_handler, vm);
	JS_SetContextOpaque(vm->ctx, vm);
	/* DataView's and Uint8Array's classes, from objects made before any
	 * bundle code could replace the globals: only their objects are read as
	 * such. If this fails (memory), none is. */
	vm->dataview_class = class_of(vm->ctx, "new DataView(new ArrayBuffer(0))");
	vm->u8_class = class_of(vm->ctx, "new Uint8Array(0)");
	pp_js_modules_init(vm);
	vm->memory_mode = src->js.memory_mode;
	/* required: checked from the first line of the bundle on */
	vm->guard.on =
	        vm->memory_mode == PP_JS_MEMORY_GUARDED || vm->memory_mode == PP_JS_MEMORY_DECLARED;
	if (!pp_js_guard_init(&vm->guard)) {
		vm_fini(vm);
		return false;
	}
	vm->watched.period_ns = watch_period_ns(vm->cpu_budget_ns);
	vm->watched.check = vm_watch;
	if (pp__watchdog_add(rt, &vm->watched) != PP_OK) {
		vm->watched.check = NULL;
		vm_fini(vm);
		return false;
	}
	return true;
}

/* Where the source comes from: the directory (bundlePath), the file name for
 * stack traces, and the source itself (NUL-terminated, valid UTF-8). */
typedef struct js_source {
	char *dir;
	char *file;
	char *code;
	size_t len;
} js_source;

static void source_free(js_source *s)
{
	free(s->dir);
	free(s->file);
	free(s->code);
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static pp_status source_read(pp_runtime *rt, const pp_bundle_source *src, js_source *s)
{
	memset(s, 0, sizeof *s);
	if (src->code) {
		s->dir = pp__strdup("");
		s->file = pp__strdup(src->name);
		s->code = pp__strndup(src->code, src->code_len);
		s->len = src->code_len;
		if (!s->dir || !s->file || !s->code)
			return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	} else {
		size_t n = strlen(src->path);
		while (n > 1 && src->path[n - 1] == '/')
			n--;
		if (is_dir(src->path)) {
			s->dir = pp__strndup(src->path, n);
			s->file = s->dir ? pp__path_join(s->dir, "bundle.js") : NULL;
		} else {
			s->file = pp__strndup(src->path, n);
			const char *slash =
			        memchr(src->path, '/', n) ? strrchr(s->file, '/') : NULL;
			s->dir = slash ? pp__strndup(s->file, (size_t)(slash - s->file))
			               : pp__strdup(".");
		}
		if (!s->dir || !s->file)
			return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
		/* bundle.js of a directory must be inside it, like a manifest's file */
		pp_bundle_source at = *src;
		if (!at.dir && is_dir(src->path))
			at.dir = src->path;
		pp_status st;
		int fd = pp__open_bundle_file(rt, &at, s->file, &st);
		if (fd < 0)
			return st;
		/* no more than the VM may hold (run_init says so by name) */
		s->code = pp__read_fd(fd, src->js.memory_bytes, &s->len);
		if (!s->code && errno == EFBIG)
			return pp__error(
			        rt, PP_ERR_OUT_OF_MEMORY,
			        "bundle '%s' (%s): the source is larger than the VM's memory "
			        "limit of %zu bytes",
			        src->name, s->file, src->js.memory_bytes);
		if (!s->code)
			return pp__error(rt, errno == ENOMEM ? PP_ERR_OUT_OF_MEMORY : PP_ERR_IO,
			                 "bundle '%s': cannot read '%s': %s", src->name, s->file,
			                 strerror(errno));
	}
	size_t bad = pp_utf8_prefix((const uint8_t *)s->code, s->len);
	if (bad != s->len) {
		return pp__error(
		        rt, PP_ERR_LOAD_FAILED,
		        "bundle '%s' (%s): the source is not valid UTF-8 (bad byte at offset "
		        "%zu)",
		        src->name, s->file, bad);
	}
	return PP_OK;
}

/* The error for a failure inside the VM while loading: a limit, or a throw. */
static pp_status load_exception(js_vm *vm, const js_source *s, pp_status code, const char *what)
{
	char *text;
	uint32_t why = exception_code(vm, &text);
	pp_status st;
	if (why == PP_ERR_TIMEOUT)
		st = pp__error(vm->rt, PP_ERR_TIMEOUT,
		               "bundle '%s' (%s): %s exceeded the CPU limit of %llu ms", vm->bundle,
		               s->file, what, (unsigned long long)(vm->cpu_budget_ns / 1000000u));
	else
		st = pp__error(vm->rt, why == PP_ERR_OUT_OF_MEMORY ? PP_ERR_OUT_OF_MEMORY : code,
		               "bundle '%s' (%s): %s failed: %s", vm->bundle, s->file, what,
		               text ? text : "out of memory");
	free(text);
	return st;
}

/* obj[name]; a getter that throws (or runs past the CPU limit) fails the
 * load with that cause instead of reading as undefined. */
static pp_status get_prop(js_vm *vm, const js_source *s, JSValueConst obj, const char *name,
                          JSValue *out)
{
	*out = JS_GetPropertyStr(vm->ctx, obj, name);
	if (!JS_IsException(*out))
		return PP_OK;
	*out = JS_UNDEFINED;
	char what[96];
	snprintf(what, sizeof what, "reading '%s' of a registration", name);
	return load_exception(vm, s, PP_ERR_INIT_FAILED, what);
}

/* A byte count the guest declares: an integer in [0, 2^31). */
static bool layout_size(JSContext *ctx, JSValueConst obj, const char *name, uint32_t *out,
                        char *why, size_t cap)
{
	JSValue v = JS_GetPropertyStr(ctx, obj, name);
	if (JS_IsException(v))
		return false;
	uint32_t n = 0;
	bool ok = exact_u32(v, &n) && n < (1u << 31);
	if (!ok) {
		char shown[80];
		pp_js_describe_value(ctx, v, shown, sizeof shown);
		snprintf(why, cap, "%s is %s, not a byte count (an integer in 0 .. 2^31-1)", name,
		         shown);
	}
	JS_FreeValue(ctx, v);
	*out = n;
	return ok;
}

/* Each function's layout: from its typed signature, else from the
 * registration's `interface.layouts[i] = { args: bytes, out: bytes }` (a
 * polyplug-c extension the reference ignores), else unknown. */
static pp_status read_layouts(js_vm *vm, const js_source *s, JSValueConst iface, js_contract *c)
{
	JSContext *ctx = vm->ctx;
	c->layouts = calloc((size_t)c->fn_count + 1, sizeof *c->layouts);
	if (!c->layouts)
		return pp__error(vm->rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	JSValue all;
	pp_status st = get_prop(vm, s, iface, "layouts", &all);
	bool given = st == PP_OK && !JS_IsUndefined(all) && !JS_IsNull(all);
	if (given && !JS_IsArray(ctx, all))
		st = pp__error(vm->rt, PP_ERR_INIT_FAILED,
		               "bundle '%s' (%s): contract '%s': interface.layouts is not an array",
		               vm->bundle, s->file, c->name);
	for (uint32_t i = 0; st == PP_OK && i < c->fn_count; i++) {
		js_layout *l = &c->layouts[i];
		if (c->sigs && c->sigs[i].typed) {
			*l = (js_layout){c->sigs[i].args_size, c->sigs[i].out_size, true};
			continue;
		}
		if (!given)
			continue;
		JSValue spec = JS_GetPropertyUint32(ctx, all, i);
		char why[160] = "";
		if (JS_IsException(spec)) {
			spec = JS_UNDEFINED;
			st = load_exception(vm, s, PP_ERR_INIT_FAILED, "reading interface.layouts");
		} else if (JS_IsObject(spec)) {
			if (layout_size(ctx, spec, "args", &l->args, why, sizeof why) &&
			    layout_size(ctx, spec, "out", &l->out, why, sizeof why))
				l->known = true;
			else if (!*why)
				st = load_exception(vm, s, PP_ERR_INIT_FAILED,
				                    "reading interface.layouts");
		} else if (!JS_IsUndefined(spec) && !JS_IsNull(spec)) {
			snprintf(why, sizeof why, "it is not an object { args, out }");
		}
		if (st == PP_OK && *why)
			st = pp__error(vm->rt, PP_ERR_INIT_FAILED,
			               "bundle '%s' (%s): contract '%s': interface.layouts[%u]: %s",
			               vm->bundle, s->file, c->name, i, why);
		JS_FreeValue(ctx, spec);
	}
	JS_FreeValue(ctx, all);
	return st;
}

/* obj[name] read the way the reference reads u32 fields: `f64 as u32`
 * (saturating; anything but a number is 0). */
static pp_status prop_u32(js_vm *vm, const js_source *s, JSValueConst obj, const char *name,
                          uint32_t *out)
{
	JSValue v;
	pp_status st = get_prop(vm, s, obj, name, &v);
	double d = 0;
	if (JS_IsNumber(v))
		JS_ToFloat64(vm->ctx, &d, v);
	JS_FreeValue(vm->ctx, v);
	*out = !(d > 0) ? 0 : d >= 4294967295.0 ? UINT32_MAX : (uint32_t)d;
	return st;
}

/* A function's name for messages: the method its signature names, else the
 * function's own `name` (a getter's throw or a non-string is no name). At
 * most 64 bytes, printable ASCII; NULL if none (or out of memory). */
static char *function_name(JSContext *ctx, const js_contract *c, uint32_t i)
{
	const char *text = NULL;
	JSValue v = JS_UNDEFINED;
	if (c->sigs && c->sigs[i].method != JS_ATOM_NULL) {
		text = JS_AtomToCString(ctx, c->sigs[i].method);
	} else {
		v = JS_GetPropertyStr(ctx, c->functions[i], "name");
		if (JS_IsString(v))
			text = JS_ToCString(ctx, v);
	}
	/* a getter that threw is no name; one the CPU limit stopped stays pending */
	pp_js_clear_exception(ctx);
	char *name = NULL;
	if (text && *text && (name = malloc(65))) {
		size_t n = 0;
		for (; text[n] && n < 64; n++) {
			name[n] = '?';
			if (text[n] >= 0x20 && text[n] < 0x7f)
				name[n] = text[n];
		}
		name[n] = '\0';
	}
	JS_FreeCString(ctx, text);
	JS_FreeValue(ctx, v);
	return name;
}

static pp_status read_names(js_vm *vm, const js_source *s, js_contract *c)
{
	c->fn_names = calloc((size_t)c->fn_count + 1, sizeof(char *));
	if (!c->fn_names)
		return pp__error(vm->rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	for (uint32_t i = 0; i < c->fn_count; i++) {
		c->fn_names[i] = function_name(vm->ctx, c, i);
		if (JS_HasException(vm->ctx)) /* a name getter ran past a limit */
			return load_exception(vm, s, PP_ERR_INIT_FAILED,
			                      "reading a function's name");
	}
	return PP_OK;
}

/* Host memory for a bundle's registrations (function tables, names,
 * signatures) counts against its VM's limit with its heap: a few lines of
 * JS (one Proxy as every registration's functions) must not make the host
 * allocate gigabytes. Takes bytes of what is left, or says there is not
 * enough. */
static pp_status table_take(js_vm *vm, const js_source *s, const js_contract *c, size_t bytes)
{
	size_t used = JS_GetMemoryInUse(vm->qrt) + vm->table_bytes;
	if (used <= vm->memory_bytes && bytes <= vm->memory_bytes - used) {
		vm->table_bytes += bytes;
		return PP_OK;
	}
	return pp__error(vm->rt, PP_ERR_OUT_OF_MEMORY,
	                 "bundle '%s' (%s): contract '%s' (%u functions): its tables need more "
	                 "host memory than is left of the VM's memory limit of %zu bytes",
	                 vm->bundle, s->file, c->name, c->fn_count, vm->memory_bytes);
}

/* Reads the optional typed signatures: interface.signatures[i] = {params,
 * result} (or null) for function i. */
static pp_status read_signatures(js_vm *vm, const js_source *s, JSValueConst iface, js_contract *c)
{
	JSContext *ctx = vm->ctx;
	JSValue sigs;
	pp_status st = get_prop(vm, s, iface, "signatures", &sigs);
	if (st != PP_OK || JS_IsUndefined(sigs) || JS_IsNull(sigs))
		goto done;
	if (!JS_IsArray(ctx, sigs)) {
		st = pp__error(vm->rt, PP_ERR_INIT_FAILED,
		               "bundle '%s' (%s): contract '%s': interface.signatures is not an "
		               "array",
		               vm->bundle, s->file, c->name);
		goto done;
	}
	c->sigs = calloc((size_t)c->fn_count + 1, sizeof *c->sigs);
	if (!c->sigs) {
		st = pp__error(vm->rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
		goto done;
	}
	for (uint32_t i = 0; i < c->fn_count && st == PP_OK; i++) {
		JSValue spec = JS_GetPropertyUint32(ctx, sigs, i);
		char why[160];
		if (JS_IsException(spec)) {
			spec = JS_UNDEFINED;
			st = load_exception(vm, s, PP_ERR_INIT_FAILED,
			                    "reading interface.signatures");
		} else if (!JS_IsUndefined(spec) && !JS_IsNull(spec) &&
		           !pp_js_sig_read(ctx, spec, &c->sigs[i], why, sizeof why))
			st = JS_HasException(ctx) /* a getter threw, or the CPU limit */
			             ? load_exception(vm, s, PP_ERR_INIT_FAILED,
			                              "reading interface.signatures")
			             : pp__error(vm->rt, PP_ERR_INIT_FAILED,
			                         "bundle '%s' (%s): contract '%s' function %u: bad "
			                         "signature: %s",
			                         vm->bundle, s->file, c->name, i, why);
		else
			st = table_take(vm, s, c, pp_js_sig_bytes(&c->sigs[i]));
		c->methods = c->methods || c->sigs[i].method != JS_ATOM_NULL;
		JS_FreeValue(ctx, spec);
	}
done:
	JS_FreeValue(ctx, sigs);
	return st;
}

/* Reads registrations[i] into c, and builds its default impl. */
static pp_status read_registration(js_vm *vm, const js_source *s, JSValueConst entry,
                                   js_contract *c)
{
	JSContext *ctx = vm->ctx;
	pp_status st = PP_OK;
	c->vm = vm;
	c->pool = vm->pool;
	c->slot = (uint32_t)(c - vm->contracts);
	c->factory = JS_UNDEFINED;
	c->default_impl = NULL;
	uint32_t lo = 0, hi = 0, packed = 0, fns_n = 0;
	if ((st = prop_u32(vm, s, entry, "contractLo", &lo)) != PP_OK ||
	    (st = prop_u32(vm, s, entry, "contractHi", &hi)) != PP_OK ||
	    (st = prop_u32(vm, s, entry, "fnCount", &fns_n)) != PP_OK ||
	    (st = prop_u32(vm, s, entry, "version", &packed)) != PP_OK)
		return st;
	c->contract_id = (uint64_t)hi << 32 | lo;
	/* major << 16 | minor: a registration of 1.2 is found with min 1.1 */
	c->version = (pp_version){packed >> 16, packed & 0xFFFFu, 0};

	JSValue name;
	if ((st = get_prop(vm, s, entry, "contractName", &name)) != PP_OK)
		return st;
	size_t cname_len = 0;
	const char *cname = JS_IsString(name) ? JS_ToCStringLen(ctx, &cname_len, name) : NULL;
	JS_FreeValue(ctx, name);
	if (!cname)
		return pp__error(vm->rt, PP_ERR_INIT_FAILED,
		                 "bundle '%s' (%s): registration entry missing contractName",
		                 vm->bundle, s->file);
	if (cname_len > PP_MAX_NAME_BYTES || strlen(cname) != cname_len) {
		st = pp__error(vm->rt, PP_ERR_INIT_FAILED,
		               cname_len > PP_MAX_NAME_BYTES
		                       ? "bundle '%s' (%s): contractName '%.40s...' is %zu bytes "
		                         "long; the limit is %u (PP_MAX_NAME_BYTES)"
		                       : "bundle '%s' (%s): contractName '%s' contains a NUL "
		                         "character (%zu bytes; limit %u)",
		               vm->bundle, s->file, cname, cname_len, PP_MAX_NAME_BYTES);
		JS_FreeCString(ctx, cname);
		return st;
	}
	if (fns_n > PP_MAX_CONTRACT_FUNCTIONS) {
		st = pp__error(
		        vm->rt, PP_ERR_INIT_FAILED,
		        "bundle '%s' (%s): contract '%s' declares fnCount=%u; the limit is %u",
		        vm->bundle, s->file, cname, fns_n, PP_MAX_CONTRACT_FUNCTIONS);
		JS_FreeCString(ctx, cname);
		return st;
	}
	c->fn_count = fns_n;
	c->name = pp__strdup(cname);
	JS_FreeCString(ctx, cname);
	if (!c->name)
		return pp__error(vm->rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	/* each function's value, name (at most 64 bytes), signature and layout;
	 * a signature's structs are taken as they are read */
	st = table_take(vm, s, c,
	                (size_t)fns_n * (sizeof(JSValue) + sizeof(char *) + 65 + sizeof(js_sig) +
	                                 sizeof(js_layout)));
	if (st != PP_OK)
		return st;

	JSValue iface, fns = JS_UNDEFINED;
	if ((st = get_prop(vm, s, entry, "interface", &iface)) != PP_OK)
		goto done;
	if (!JS_IsObject(iface)) {
		st = pp__error(vm->rt, PP_ERR_INIT_FAILED,
		               "bundle '%s' (%s): registration entry missing interface", vm->bundle,
		               s->file);
		goto done;
	}
	if ((st = get_prop(vm, s, iface, "functions", &fns)) != PP_OK)
		goto done;
	if (!JS_IsObject(fns)) {
		st = pp__error(
		        vm->rt, PP_ERR_INIT_FAILED,
		        "bundle '%s' (%s): interface for contract '%s' has no 'functions' array",
		        vm->bundle, s->file, c->name);
		goto done;
	}
	c->functions = calloc((size_t)c->fn_count + 1, sizeof *c->functions);
	if (!c->functions) {
		st = pp__error(vm->rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
		goto done;
	}
	for (uint32_t i = 0; i < c->fn_count; i++) {
		c->functions[i] = JS_GetPropertyUint32(ctx, fns, i);
		if (JS_IsException(c->functions[i])) {
			c->functions[i] = JS_UNDEFINED;
			c->fn_count = i + 1; /* free what was read */
			st = load_exception(vm, s, PP_ERR_INIT_FAILED,
			                    "reading interface.functions");
			goto done;
		}
		if (!JS_IsFunction(ctx, c->functions[i])) {
			st = pp__error(
			        vm->rt, PP_ERR_INIT_FAILED,
			        "bundle '%s' (%s): interface for contract '%s' declares fnCount=%u "
			        "but functions[%u] is missing or not a function",
			        vm->bundle, s->file, c->name, c->fn_count, i);
			c->fn_count = i + 1; /* free what was read */
			goto done;
		}
	}
	if ((st = get_prop(vm, s, iface, "factory", &c->factory)) != PP_OK)
		goto done;
	if (!JS_IsFunction(ctx, c->factory)) {
		st = pp__error(
		        vm->rt, PP_ERR_INIT_FAILED,
		        "bundle '%s' (%s): interface for contract '%s' has no 'factory' function",
		        vm->bundle, s->file, c->name);
		goto done;
	}
	st = read_signatures(vm, s, iface, c);
	if (st == PP_OK)
		st = read_layouts(vm, s, iface, c);
	if (st == PP_OK)
		st = read_names(vm, s, c);
	if (st != PP_OK)
		goto done;
	JSValue argv[3] = {vm->bridge, JS_NewFloat64(ctx, vm->host_lo),
	                   JS_NewFloat64(ctx, vm->host_hi)};
	JSValue obj = pp_js_settle(vm, JS_Call(ctx, c->factory, JS_UNDEFINED, 3, argv));
	if (JS_IsException(obj)) {
		st = load_exception(vm, s, PP_ERR_INIT_FAILED, "the default impl factory call");
		goto done;
	}
	char *why;
	c->default_impl = impl_new(ctx, c, obj, &why);
	if (why)
		st = pp__error(vm->rt, PP_ERR_INIT_FAILED,
		               "bundle '%s' (%s): contract '%s': the default implementation: %s",
		               vm->bundle, s->file, c->name, why);
	else if (!c->default_impl && JS_HasException(ctx))
		st = load_exception(vm, s, PP_ERR_INIT_FAILED,
		                    "reading the default impl's methods");
	else if (!c->default_impl)
		st = pp__error(vm->rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	free(why);
done:
	JS_FreeValue(ctx, fns);
	JS_FreeValue(ctx, iface);
	return st;
}

/* ---- Parsing at run time ----------------------------------------------------- */

/* eval and the Function constructors parse JavaScript while the bundle runs.
 * QuickJS's parser does not survive an allocation failing under it, so a
 * bundle near its memory limit could crash the host through them. Each is
 * replaced by a wrapper that converts its arguments to strings under the
 * limit, parses with QuickJS's limit lifted and ours held at the parser's
 * polls instead (interrupt_handler: a parse past it ends the call as out of
 * memory, as the CPU limit ends it), and runs whatever runs under the limit
 * again. A side effect: `eval` is always the global (indirect) eval. */

void pp_js_heap_limit(js_vm *vm, bool lifted)
{
	vm->lifted = lifted;
	JS_SetMemoryLimit(vm->qrt, lifted ? (size_t)-1 : heap_limit(vm));
}

static JSValue parse_eval(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	if (argc < 1 || !JS_IsString(argv[0]))
		return JS_DupValue(ctx, argc < 1 ? JS_UNDEFINED : argv[0]); /* as eval does */
	js_vm *vm = JS_GetContextOpaque(ctx);
	size_t len;
	const char *src = JS_ToCStringLen(ctx, &len, argv[0]);
	if (!src)
		return JS_EXCEPTION;
	pp_js_heap_limit(vm, true);
	JSValue fn =
	        JS_Eval(ctx, src, len, "<eval>", JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY);
	pp_js_heap_limit(vm, false);
	JS_FreeCString(ctx, src);
	return JS_IsException(fn) ? fn : JS_EvalFunction(ctx, fn);
}

/* data[0]: the constructor wrapped. Parsing makes a function; nothing runs. */
static JSValue parse_function(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv,
                              int magic, JSValue *data)
{
	(void)this_val;
	(void)magic;
	js_vm *vm = JS_GetContextOpaque(ctx);
	JSValue strs[16];
	if (argc > 16)
		return JS_ThrowRangeError(ctx, "more than 16 arguments to a Function constructor");
	for (int i = 0; i < argc; i++) {
		strs[i] = JS_ToString(ctx, argv[i]); /* user code, under the limit */
		if (JS_IsException(strs[i])) {
			while (i--)
				JS_FreeValue(ctx, strs[i]);
			return JS_EXCEPTION;
		}
	}
	pp_js_heap_limit(vm, true);
	JSValue fn = JS_Call(ctx, data[0], JS_UNDEFINED, argc, (JSValueConst *)strs);
	pp_js_heap_limit(vm, false);
	for (int i = 0; i < argc; i++)
		JS_FreeValue(ctx, strs[i]);
	return fn;
}

/* Puts a wrapper in place of ctor: as ctor.prototype.constructor, and as
 * global[name] when given. */
static int wrap_constructor(JSContext *ctx, JSValueConst global, JSValue ctor, const char *name)
{
	JSValue proto = JS_GetPropertyStr(ctx, ctor, "prototype");
	JSValue w = JS_NewCFunctionData(ctx, parse_function, 1, 0, 1, &ctor);
	int ok = !JS_IsException(proto) && !JS_IsException(w) && JS_SetConstructorBit(ctx, w, 1) &&
	         JS_DefinePropertyValueStr(ctx, w, "prototype", JS_DupValue(ctx, proto), 0) >= 0 &&
	         JS_DefinePropertyValueStr(ctx, proto, "constructor", JS_DupValue(ctx, w),
	                                   JS_PROP_CONFIGURABLE | JS_PROP_WRITABLE) >= 0 &&
	         (!name || JS_SetPropertyStr(ctx, global, name, JS_DupValue(ctx, w)) >= 0);
	JS_FreeValue(ctx, w);
	JS_FreeValue(ctx, proto);
	JS_FreeValue(ctx, ctor);
	return ok ? 0 : -1;
}

static int guard_parsers(js_vm *vm)
{
	JSContext *ctx = vm->ctx;
	JSValue global = JS_GetGlobalObject(ctx);
	static const char find[] =
	        "[Function, Object.getPrototypeOf(async function () {}).constructor,"
	        " Object.getPrototypeOf(function* () {}).constructor,"
	        " Object.getPrototypeOf(async function* () {}).constructor]";
	JSValue ctors = JS_Eval(ctx, find, sizeof find - 1, "<polyplug>", JS_EVAL_TYPE_GLOBAL);
	int st = JS_IsException(ctors) ? -1 : 0;
	for (uint32_t i = 0; st == 0 && i < 4; i++)
		st = wrap_constructor(ctx, global, JS_GetPropertyUint32(ctx, ctors, i),
		                      i == 0 ? "Function" : NULL);
	JSValue ev = st == 0 ? JS_NewCFunction(ctx, parse_eval, "eval", 1) : JS_EXCEPTION;
	if (st == 0 && (JS_IsException(ev) || JS_SetPropertyStr(ctx, global, "eval", ev) < 0))
		st = -1;
	JS_FreeValue(ctx, ctors);
	JS_FreeValue(ctx, global);
	return st;
}

/* Compiles the bundle: as a script, the reference's kind of bundle, when it
 * parses as one, else as an ES module (it has import or export statements,
 * or a top-level await). Text that merely looks like a module (a comment or
 * a string with a line starting "export ") cannot turn a script into one.
 * When neither parses, the error shown is the kind the text looks like. */
static JSValue compile_bundle(js_vm *vm, const js_source *s, bool *module)
{
	JSContext *ctx = vm->ctx;
	const int flags = JS_EVAL_FLAG_COMPILE_ONLY;
	JSValue fn, as_script = JS_UNDEFINED;
	*module = false;
	/* no script starts with an import or export: those skip the first try */
	if (!JS_DetectModule(s->code, s->len)) {
		fn = JS_Eval(ctx, s->code, s->len, s->file, JS_EVAL_TYPE_GLOBAL | flags);
		if (!JS_IsException(fn))
			return fn;
		as_script = JS_GetException(ctx);
	}
	fn = JS_Eval(ctx, s->code, s->len, s->file, JS_EVAL_TYPE_MODULE | flags);
	*module = !JS_IsException(fn);
	if (*module || JS_IsUndefined(as_script) || pp_js_looks_like_module(s->code, s->len)) {
		JS_FreeValue(ctx, as_script);
		return fn;
	}
	JS_FreeValue(ctx, JS_GetException(ctx)); /* the module's: it is a script */
	return JS_Throw(ctx, as_script);
}

/* Evaluates the bundle and runs the polyplug_init protocol, filling
 * vm->contracts. Runs with the VM entered. */
static pp_status run_init(js_vm *vm, const pp_bundle_source *src, const js_source *s)
{
	JSContext *ctx = vm->ctx;
	vm->bridge = pp_js_bridge_new(vm);
	if (JS_IsException(vm->bridge)) {
		vm->bridge = JS_UNDEFINED;
		return load_exception(vm, s, PP_ERR_LOAD_FAILED, "creating the bridge");
	}
	if (guard_parsers(vm) != 0)
		return load_exception(vm, s, PP_ERR_LOAD_FAILED, "guarding eval and Function");
	if (pp_js_globals_install(vm) != 0)
		return load_exception(vm, s, PP_ERR_LOAD_FAILED, "making console and TextEncoder");
	JSValue global = JS_GetGlobalObject(ctx);
	JS_SetPropertyStr(ctx, global, "bundlePath", JS_NewString(ctx, s->dir));
	pp_status st = PP_OK;
	JSValue init = JS_UNDEFINED, result = JS_UNDEFINED, abi_err = JS_UNDEFINED,
	        regs = JS_UNDEFINED;

	/* QuickJS's parser does not survive running out of memory (it goes on
	 * with a failed allocation's -1 or NULL and crashes), so the bundle is
	 * compiled without the memory limit, its size bounded by the source's
	 * (itself at most the limit); its top-level code then runs under it. */
	if (s->len > vm->memory_bytes) {
		st = pp__error(
		        vm->rt, PP_ERR_OUT_OF_MEMORY,
		        "bundle '%s' (%s): the source is %zu bytes, more than the VM's memory "
		        "limit of %zu bytes",
		        vm->bundle, s->file, s->len, vm->memory_bytes);
		goto done;
	}
	/* imports come from a bundle directory only (one a manifest names its
	 * file in, too): a single file's directory may hold other bundles */
	const char *root = src->code ? "" : src->dir ? src->dir : is_dir(src->path) ? s->dir : "";
	size_t root_len = strlen(root);
	while (root_len > 1 && root[root_len - 1] == '/')
		root_len--;
	vm->module_dir = pp__strndup(root, root_len);
	if (!vm->module_dir) {
		st = pp__error(vm->rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
		goto done;
	}
	/* read once per pool: VM 0's serves every VM (and is freed last) */
	vm->srcmap = vm->index == 0 ? pp_js_srcmap_load(vm, s->dir, s->file, s->code, s->len)
	                            : vm->pool->vms[0].vm.srcmap;
	bool module;
	pp_js_heap_limit(vm, true);
	JSValue fn = compile_bundle(vm, s, &module);
	pp_js_heap_limit(vm, false);
	if (JS_IsException(fn)) {
		st = load_exception(vm, s, PP_ERR_LOAD_FAILED, "compiling the bundle");
		goto done;
	}
	JSModuleDef *mod = module ? JS_VALUE_GET_PTR(fn) : NULL;
	/* a module's imports are loaded here, and its body's promise settled; a
	 * script's completion value is not awaited (nor reported as the load's) */
	JSValue ev = JS_EvalFunction(ctx, fn); /* takes fn */
	if (!module && !JS_IsException(ev)) {
		JS_FreeValue(ctx, ev);
		ev = JS_UNDEFINED;
	}
	ev = pp_js_settle(vm, ev);
	if (JS_IsException(ev)) {
		st = load_exception(vm, s, PP_ERR_LOAD_FAILED, "evaluating the bundle");
		goto done;
	}
	JS_FreeValue(ctx, ev);
	init = module ? pp_js_module_init_fn(ctx, mod)
	              : JS_GetPropertyStr(ctx, global, "polyplug_init");
	if (JS_IsException(init)) {
		init = JS_UNDEFINED;
		st = load_exception(vm, s, PP_ERR_LOAD_FAILED, "reading polyplug_init");
		goto done;
	}
	if (!JS_IsFunction(ctx, init)) {
		st = pp__error(vm->rt, PP_ERR_LOAD_FAILED,
		               module ? "bundle '%s' (%s): the module exports no polyplug_init "
		                        "function (as 'polyplug_init' or its default export)"
		                      : "bundle '%s' (%s): no global function polyplug_init",
		               vm->bundle, s->file);
		goto done;
	}

	pp_bundle_init_context ictx = {src->bundle_id, {(const uint8_t *)s->dir, strlen(s->dir)}};
	uint64_t ip = (uint64_t)(uintptr_t)&ictx;
	JSValue argv[5] = {JS_NewFloat64(ctx, vm->host_lo), JS_NewFloat64(ctx, vm->host_hi),
	                   JS_NewFloat64(ctx, (double)(uint32_t)ip),
	                   JS_NewFloat64(ctx, (double)(uint32_t)(ip >> 32)), vm->bridge};
	result = pp_js_settle(vm, JS_Call(ctx, init, JS_UNDEFINED, 5, argv));
	if (JS_IsException(result)) {
		st = load_exception(vm, s, PP_ERR_INIT_FAILED, "the polyplug_init call");
		goto done;
	}
	/* [registrations, {code, message}]: the error first. */
	abi_err = JS_IsObject(result) ? JS_GetPropertyUint32(ctx, result, 1) : JS_UNDEFINED;
	if (!JS_IsObject(abi_err)) {
		st = pp__error(vm->rt, PP_ERR_INIT_FAILED,
		               "bundle '%s' (%s): polyplug_init did not return [registrations, "
		               "{code, message}]",
		               vm->bundle, s->file);
		goto done;
	}
	/* A missing code is success, as in the reference; a number must be a
	 * status (where the reference would truncate it). */
	JSValue cv;
	if ((st = get_prop(vm, s, abi_err, "code", &cv)) != PP_OK)
		goto done;
	uint32_t code = PP_OK;
	bool valid = JS_IsUndefined(cv) || JS_IsNull(cv) || exact_u32(cv, &code);
	if (!valid) {
		char shown[80];
		pp_js_describe_value(ctx, cv, shown, sizeof shown);
		st = pp__error(vm->rt, PP_ERR_INIT_FAILED,
		               "bundle '%s' (%s): polyplug_init returned code %s; " STATUS_RULE,
		               vm->bundle, s->file, shown);
	}
	JS_FreeValue(ctx, cv);
	if (!valid)
		goto done;
	if (code != PP_OK) {
		JSValue m = JS_GetPropertyStr(ctx, abi_err, "message");
		const char *msg = JS_IsString(m) ? JS_ToCString(ctx, m) : NULL;
		st = pp__error(vm->rt, PP_ERR_INIT_FAILED,
		               "bundle '%s' (%s): polyplug_init returned error code %u (%s)%s%s",
		               vm->bundle, s->file, code, pp_status_name(code),
		               msg && *msg ? ": " : "", msg && *msg ? msg : "");
		JS_FreeCString(ctx, msg);
		JS_FreeValue(ctx, m);
		goto done;
	}
	regs = JS_GetPropertyUint32(ctx, result, 0);
	if (JS_IsArray(ctx, regs) != 1) {
		st = pp__error(
		        vm->rt, PP_ERR_INIT_FAILED,
		        "bundle '%s' (%s): polyplug_init did not return a registrations array",
		        vm->bundle, s->file);
		goto done;
	}
	uint32_t n;
	if ((st = prop_u32(vm, s, regs, "length", &n)) != PP_OK)
		goto done;
	if (n > PP_MAX_REGISTRATIONS) {
		st = pp__error(
		        vm->rt, PP_ERR_INIT_FAILED,
		        "bundle '%s' (%s): polyplug_init returned %u registrations; the limit "
		        "is %u",
		        vm->bundle, s->file, n, PP_MAX_REGISTRATIONS);
		goto done;
	}
	if (n == 0) {
		st = pp__error(
		        vm->rt, PP_ERR_INIT_FAILED,
		        "bundle '%s' (%s): polyplug_init returned an empty registrations array",
		        vm->bundle, s->file);
		goto done;
	}
	vm->contracts = calloc(n, sizeof *vm->contracts);
	if (!vm->contracts) {
		st = pp__error(vm->rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
		goto done;
	}
	for (uint32_t i = 0; i < n && st == PP_OK; i++) {
		JSValue entry = JS_GetPropertyUint32(ctx, regs, i);
		vm->contract_count = i + 1;
		if (!JS_IsObject(entry))
			st = pp__error(vm->rt, PP_ERR_INIT_FAILED,
			               "bundle '%s' (%s): registrations[%u] is not an object",
			               vm->bundle, s->file, i);
		else
			st = read_registration(vm, s, entry, &vm->contracts[i]);
		JS_FreeValue(ctx, entry);
	}
done:
	JS_FreeValue(ctx, regs);
	JS_FreeValue(ctx, abi_err);
	JS_FreeValue(ctx, result);
	JS_FreeValue(ctx, init);
	JS_FreeValue(ctx, global);
	return st;
}

/* The sizes the host declared for a contract bound what the bundle may
 * declare, and stand in for what it does not. With PP_JS_MEMORY_DECLARED
 * every function must have them. */
static pp_status apply_declared_layouts(js_vm *vm, const js_source *s, js_contract *c)
{
	uint32_t n = 0;
	pp_fn_layout *host = NULL;
	pp_status st = pp__declared_layouts(vm->rt, c->contract_id, &host, &n);
	if (st != PP_OK)
		return st;
	if (vm->memory_mode == PP_JS_MEMORY_DECLARED && (!host || n < c->fn_count)) {
		free(host);
		return pp__error(vm->rt, PP_ERR_LOAD_FAILED,
		                 "bundle '%s' (%s): the host requires its own layouts "
		                 "(PP_JS_MEMORY_DECLARED), but declared none for function %u of "
		                 "contract '%s' (pp_contract_declare_layouts)",
		                 vm->bundle, s->file, n, c->name);
	}
	for (uint32_t f = 0; host && f < c->fn_count && f < n && st == PP_OK; f++) {
		js_layout *l = &c->layouts[f];
		if (!l->known)
			*l = (js_layout){host[f].args_size, host[f].out_size, true};
		else if (l->args > host[f].args_size || l->out > host[f].out_size)
			st = pp__error(
			        vm->rt, PP_ERR_LOAD_FAILED,
			        "bundle '%s' (%s): contract '%s', function %u declares args of "
			        "%u and out of %u bytes; the host's callers pass %u and %u "
			        "(pp_contract_declare_layouts)",
			        vm->bundle, s->file, c->name, f, l->args, l->out, host[f].args_size,
			        host[f].out_size);
	}
	free(host);
	return st;
}

/* Guarded or compat, once the functions are known (see PP_JS_MEMORY_*). */
static pp_status choose_memory_mode(js_vm *vm, const js_source *s)
{
	for (size_t i = 0; i < vm->contract_count; i++) {
		pp_status st = apply_declared_layouts(vm, s, &vm->contracts[i]);
		if (st != PP_OK)
			return st;
	}
	const js_contract *lacking = NULL;
	uint32_t fn = 0;
	for (size_t i = 0; i < vm->contract_count && !lacking; i++)
		for (fn = 0; fn < vm->contracts[i].fn_count && !lacking; fn++)
			if (!vm->contracts[i].layouts[fn].known)
				lacking = &vm->contracts[i];
	if (lacking && vm->memory_mode == PP_JS_MEMORY_GUARDED) /* DECLARED lacks none */
		return pp__error(vm->rt, PP_ERR_LOAD_FAILED,
		                 "bundle '%s' (%s): guarded memory is required, but function %u of "
		                 "contract '%s' has neither a typed signature nor a layout "
		                 "(interface.layouts[%u] = { args, out })",
		                 vm->bundle, s->file, fn - 1, lacking->name, fn - 1);
	vm->guard.on = vm->memory_mode != PP_JS_MEMORY_COMPAT && !lacking;
	/* every function's sizes known: the interfaces say so to their callers */
	for (size_t i = 0; i < vm->contract_count && !lacking; i++) {
		js_contract *c = &vm->contracts[i];
		if (!(c->fn_layouts = calloc((size_t)c->fn_count + 1, sizeof *c->fn_layouts)))
			return pp__error(vm->rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
		for (uint32_t f = 0; f < c->fn_count; f++)
			c->fn_layouts[f] = (pp_fn_layout){c->layouts[f].args, c->layouts[f].out,
			                                  PP_LAYOUT_NO_ARENA, 0, NULL};
	}
	return PP_OK;
}

/* Registers every contract through the host table, so the runtime stages
 * them for this bundle; any refusal fails the whole load. */
static pp_status register_contracts(js_vm *vm, const js_source *s)
{
	for (size_t i = 0; i < vm->contract_count; i++) {
		js_contract *c = &vm->contracts[i];
		pp_guest_contract_interface iface = {
		        .size = (uint32_t)sizeof iface,
		        .contract_id = c->contract_id,
		        .dispatch_type = PP_DISPATCH_VM,
		        .create_instance = js_create_instance,
		        .destroy_instance = js_destroy_instance,
		        .dispatch.vm = {js_call, {c}},
		};
		iface.contract_version = c->version;
		iface.layouts = c->fn_layouts;
		pp_plugin_descriptor d = {PP_SV("js-quickjs-plugin"),
		                          {(const uint8_t *)c->name, strlen(c->name)},
		                          c->version};
		pp_abi_error err = {PP_OK, {NULL, 0}};
		vm->host->register_guest_contract(vm->host, &d, &iface, &err);
		if (err.code != PP_OK) {
			char msg[1024];
			pp__view_copy(msg, sizeof msg, err.message);
			return pp__error(
			        vm->rt, PP_ERR_INIT_FAILED,
			        "bundle '%s' (%s): registering contract '%s' failed (%s): %s",
			        vm->bundle, s->file, c->name, pp_status_name(err.code), msg);
		}
		pp__registry_staged_function_count(vm->rt, c->contract_id, c->fn_count);
	}
	return PP_OK;
}

/* Loads one VM of a pool: runs the bundle's init in it and settles its
 * memory mode. */
static pp_status load_vm(pp_runtime *rt, const pp_bundle_source *src, const js_source *s,
                         js_pool *pool, uint32_t index, js_imports *imports, js_vm **out)
{
	js_vm *vm = &pool->vms[index].vm;
	*out = vm;
	if (!vm_init(vm, rt, src, pool, index))
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY,
		                 "bundle '%s': cannot create a QuickJS runtime", src->name);
	vm_enter(vm);
	guard_begin(vm, NULL, NULL, 0, NULL, 0);
	vm->imports = imports;
	pp_status st = run_init(vm, src, s);
	vm->imports = NULL; /* imports at call time read the files then */
	char *violation = NULL;
	if (guard_end(vm, PP_OK, &violation) != PP_OK && st == PP_OK)
		st = pp__error(rt, PP_ERR_INVALID_POINTER, "bundle '%s' (%s): loading: %s",
		               src->name, s->file, violation);
	free(violation);
	vm_leave(vm);
	return st == PP_OK ? choose_memory_mode(vm, s) : st;
}

/* A pool's VMs must serve the same contracts the same way: calls go to any
 * of them through the first one's interfaces. */
static pp_status same_as_first(const js_vm *first, const js_vm *vm, const js_source *s)
{
	const char *what = NULL;
	size_t i = 0;
	uint32_t f = 0;
	if (vm->contract_count != first->contract_count)
		what = "a different number of contracts";
	for (i = 0; i < first->contract_count && !what; i++) {
		const js_contract *a = &first->contracts[i], *b = &vm->contracts[i];
		if (a->contract_id != b->contract_id || a->fn_count != b->fn_count ||
		    (a->version.major != b->version.major) ||
		    (a->version.minor != b->version.minor))
			what = "a different contract, version or function count";
		else if (vm->guard.on != first->guard.on)
			what = "functions of different sizes (guarded in one, not in the other)";
		for (f = 0; f < a->fn_count && !what; f++) {
			bool typed_a = a->sigs && a->sigs[f].typed,
			     typed_b = b->sigs && b->sigs[f].typed;
			if (a->layouts[f].known != b->layouts[f].known ||
			    a->layouts[f].args != b->layouts[f].args ||
			    a->layouts[f].out != b->layouts[f].out || typed_a != typed_b ||
			    (typed_a && !pp_js_sig_same_shape(&a->sigs[f], &b->sigs[f])))
				what = "a different layout or signature";
		}
	}
	if (!what)
		return PP_OK;
	return pp__error(first->rt, PP_ERR_LOAD_FAILED,
	                 "bundle '%s' (%s): with concurrency = %u, VM %u registered %s than VM 0 "
	                 "(registrations %zu, function %u): every VM runs the same init and must "
	                 "register the same contracts",
	                 first->bundle, s->file, first->pool->n, vm->index, what, i ? i - 1 : 0,
	                 f ? f - 1 : 0);
}

static void pool_free(js_pool *pool)
{
	for (uint32_t i = pool->n; i-- > 0;) /* VM 0 last: it owns the source map */
		vm_fini(&pool->vms[i].vm);
	free(pool);
}

static pp_status js_load(pp_runtime *rt, const pp_loader *self, const pp_bundle_source *src,
                         void **out_code)
{
	(void)self;
	js_source s;
	pp_status st = source_read(rt, src, &s);
	uint32_t n = src->js.concurrency ? src->js.concurrency : 1;
	js_pool *pool = NULL;
	/* n <= PP_JS_MAX_CONCURRENCY: the size cannot overflow */
	if (st == PP_OK && !(pool = pp__calloc_lines(sizeof *pool + n * sizeof pool->vms[0])))
		st = pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	if (pool) {
		pool->n = n;
		/* a waiter for any VM waits for these */
		pool->owners = (pp_wait_set){&pool->vms[0].vm.owner, sizeof pool->vms[0], n};
	}
	js_vm *first = NULL;
	js_imports imports = {NULL, 0, 0, 0}; /* one code for all the VMs */
	for (uint32_t i = 0; pool && i < n && st == PP_OK; i++) {
		js_vm *vm = NULL;
		st = load_vm(rt, src, &s, pool, i, n > 1 ? &imports : NULL, &vm);
		if (st != PP_OK && i > 0) { /* the first VMs loaded: say which did not */
			char *why = pp__strdup(pp_last_error(rt));
			if (why)
				pp__error(rt, st,
				          "%s (VM %u of the pool of %u; those before it loaded)",
				          why, i, n);
			free(why);
		}
		if (i == 0)
			first = vm;
		else if (st == PP_OK && first && vm)
			st = same_as_first(first, vm, &s);
	}
	if (st == PP_OK && first)
		st = register_contracts(first, &s);
	for (uint32_t i = 0; pool && i < n && pool->vms[i].vm.rt; i++)
		pool->vms[i].vm.published = st == PP_OK;
	source_free(&s);
	pp_js_imports_free(&imports);
	if (st != PP_OK) {
		if (pool)
			pool_free(pool); /* nothing of it was published */
		return st;
	}
	*out_code = pool;
	return PP_OK;
}

static void pool_reclaim(pp_runtime *rt, pp_retired *r)
{
	(void)rt;
	pool_free(pp_container_of(r, js_pool, retired));
}

/* Runs after the grace period that followed the version's retirement. The
 * VMs wait one more: a thread looking for wait cycles may have read the
 * address of an owner word from another thread's state just before that
 * thread stopped waiting, and must be able to read it once more. */
static void js_release(pp_runtime *rt, const pp_loader *self, void *code)
{
	(void)self;
	js_pool *pool = code;
	if (pool)
		pp__retire(rt, &pool->retired, pool_reclaim);
}

static bool js_accepts(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return false;
	size_t n = strlen(path);
	if (S_ISREG(st.st_mode))
		return n > 3 && pp__ends_with(path, n, ".js");
	return S_ISDIR(st.st_mode) && pp__dir_may_hold(path, "bundle.js", true);
}

const pp_loader pp_js_loader = {
        .name = "js-quickjs",
        .language = 5, /* SupportedLanguage::JavaScript */
        .supports_hot_reload = true,
        .accepts = js_accepts,
        .load = js_load,
        .release = js_release,
        .owns = NULL,
        .userdata = NULL,
};

bool pp_js_checks_instances(const pp_guest_contract_interface *iface)
{
	return iface->dispatch_type == PP_DISPATCH_VM && iface->dispatch.vm.call == js_call;
}

const js_layout *pp_js_layout_of(const pp_guest_contract_interface *iface, uint32_t fn)
{
	if (iface->dispatch_type != PP_DISPATCH_VM || iface->dispatch.vm.call != js_call)
		return NULL;
	const js_contract *c = iface->dispatch.vm.loader_data.data;
	return fn < c->fn_count && c->layouts[fn].known ? &c->layouts[fn] : NULL;
}

const js_sig *pp_js_callee_sig(const pp_guest_contract_interface *iface, uint32_t fn)
{
	if (iface->dispatch_type != PP_DISPATCH_VM || iface->dispatch.vm.call != js_call)
		return NULL;
	const js_contract *c = iface->dispatch.vm.loader_data.data;
	return fn < c->fn_count && c->sigs && c->sigs[fn].typed ? &c->sigs[fn] : NULL;
}
