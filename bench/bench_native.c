/*
 * bench_native.c — host -> native guest calls. Measured:
 *   floor     the plugin's add() called directly through a function pointer
 *   resolved  the way generated callers call: a cached interface, one
 *             acquire load of the revision counter per call, then the slot
 *   bare      an out-of-line function with pp_call's signature that only
 *             calls the plugin: the part of pp_call's cost that is being a
 *             call at all
 *   pp_call   the runtime-mediated call (safe against concurrent unload) as
 *             a host compiles it: call_inline.h's fast path inlined here
 *             (thread-local compare, read section, slot, dispatch)
 *   exported  the same through the exported pp_call, as a host built with
 *             PP_NO_INLINE_CALL (or an FFI) calls it
 *   instance  pp_call on an instance from pp_instance_create: the exported
 *             pp_call, which checks that the version reached made it (a
 *             lookup in its instance set)
 *   cold      find + resolve + call every time
 */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <polyplug/polyplug.h>

#include "bench.h"

typedef struct {
	int32_t a, b;
} add_args;

/* Defeats constant folding of the loop bodies. */
static volatile int32_t sink;

typedef struct bench_ctx {
	pp_runtime *rt;
	pp_guest_contract_handle h;
	pp_guest_contract_instance inst; /* NULL data: the default */
	pp_native_guest_fn direct;
	long iters;
} bench_ctx;

static double run_floor(void *ctx)
{
	bench_ctx *c = ctx;
	pp_native_guest_fn volatile fn = c->direct;
	pp_guest_contract_instance none = {NULL, 0};
	int32_t out = 0;
	double t0 = bench_now_ns();
	for (long i = 0; i < c->iters; i++) {
		add_args a = {(int32_t)i, 1};
		pp_abi_error err = {0, {NULL, 0}};
		fn(none, &a, &out, &err);
	}
	double t = bench_now_ns() - t0;
	sink = out;
	return t / (double)c->iters;
}

/* The generated-caller pattern: resolve once, re-resolve only when the
 * revision counter moved. */
typedef struct cached_caller {
	pp_runtime *rt;
	pp_guest_contract_handle h;
	const _Atomic uint64_t *rev;
	uint64_t seen;
	const pp_guest_contract_interface *iface;
} cached_caller;

static inline uint32_t cached_add(cached_caller *cc, const add_args *a, int32_t *out)
{
	uint64_t rev = atomic_load_explicit(cc->rev, memory_order_acquire);
	if (__builtin_expect(rev != cc->seen || !cc->iface, 0)) {
		cc->iface = pp_resolve(cc->rt, cc->h);
		cc->seen = rev;
		if (!cc->iface)
			return PP_ERR_STALE_HANDLE;
	}
	pp_guest_contract_instance none = {NULL, 0};
	pp_abi_error err = {0, {NULL, 0}};
	((pp_native_guest_fn)cc->iface->dispatch.native.functions[0])(none, a, out, &err);
	return err.code;
}

static double run_resolved(void *ctx)
{
	bench_ctx *c = ctx;
	cached_caller cc = {c->rt, c->h,
	                    (const _Atomic uint64_t *)(const void *)pp_revision_counter(c->rt), 0,
	                    NULL};
	cached_caller *volatile ccp = &cc; /* keep the call honest */
	int32_t out = 0;
	double t0 = bench_now_ns();
	for (long i = 0; i < c->iters; i++) {
		add_args a = {(int32_t)i, 1};
		cached_add(ccp, &a, &out);
	}
	double t = bench_now_ns() - t0;
	sink = out;
	return t / (double)c->iters;
}

/* An out-of-line function with pp_call's signature that only makes the
 * plugin call: what any non-inline entry point costs before it does any
 * work of its own (7 arguments, two of them on the stack). */
__attribute__((noinline)) static uint32_t bare_entry(pp_native_guest_fn fn, pp_runtime *rt,
                                                     pp_guest_contract_handle h,
                                                     pp_guest_contract_instance inst,
                                                     uint32_t fn_id, const void *args, void *out,
                                                     pp_call_arena *arena)
{
	(void)rt;
	(void)h;
	(void)fn_id;
	(void)arena;
	pp_abi_error err = {0, {NULL, 0}};
	fn(inst, args, out, &err);
	return err.code;
}

static double run_bare_entry(void *ctx)
{
	bench_ctx *c = ctx;
	pp_native_guest_fn volatile fn = c->direct;
	pp_guest_contract_instance none = {NULL, 0};
	int32_t out = 0;
	double t0 = bench_now_ns();
	for (long i = 0; i < c->iters; i++) {
		add_args a = {(int32_t)i, 1};
		bare_entry(fn, c->rt, c->h, none, 0, &a, &out, NULL);
	}
	double t = bench_now_ns() - t0;
	sink = out;
	return t / (double)c->iters;
}

static double run_pp_call(void *ctx)
{
	bench_ctx *c = ctx;
	pp_guest_contract_instance inst = c->inst; /* a local, as a host's would be */
	int32_t out = 0;
	double t0 = bench_now_ns();
	for (long i = 0; i < c->iters; i++) {
		add_args a = {(int32_t)i, 1};
		pp_call(c->rt, c->h, inst, 0, &a, &out, NULL);
	}
	double t = bench_now_ns() - t0;
	sink = out;
	return t / (double)c->iters;
}

static double run_pp_call_exported(void *ctx)
{
	bench_ctx *c = ctx;
	pp_guest_contract_instance none = {NULL, 0};
	int32_t out = 0;
	double t0 = bench_now_ns();
	for (long i = 0; i < c->iters; i++) {
		add_args a = {(int32_t)i, 1};
		(pp_call)(c->rt, c->h, none, 0, &a, &out, NULL);
	}
	double t = bench_now_ns() - t0;
	sink = out;
	return t / (double)c->iters;
}

static double run_cold(void *ctx)
{
	bench_ctx *c = ctx;
	pp_guest_contract_instance none = {NULL, 0};
	uint64_t id = pp_guest_contract_id("bench.Add", 1);
	int32_t out = 0;
	long n = c->iters / 10;
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++) {
		add_args a = {(int32_t)i, 1};
		pp_call(c->rt, pp_find(c->rt, id, 1), none, 0, &a, &out, NULL);
	}
	double t = bench_now_ns() - t0;
	sink = out;
	return t / (double)n;
}

int bench_native(bool quick, int rounds)
{
	bench_ctx c = {.iters = quick ? 10000 : 20000000};
	if (pp_runtime_new(NULL, &c.rt) != PP_OK)
		return 1;
	if (pp_bundle_load(c.rt, PP_BENCH_PLUGIN, NULL, NULL) != PP_OK) {
		fprintf(stderr, "bench: %s\n", pp_last_error(c.rt));
		pp_runtime_free(c.rt);
		return 1;
	}
	c.h = pp_find(c.rt, pp_guest_contract_id("bench.Add", 1), 1);
	/* The floor calls the same code: take it from a second mapping of the
	 * plugin, which has exactly the same instructions. */
	void *dl = dlopen(PP_BENCH_PLUGIN, RTLD_NOW | RTLD_LOCAL);
	c.direct = dl ? (pp_native_guest_fn)dlsym(dl, "bench_add_direct") : NULL;
	if (!c.direct) {
		fprintf(stderr, "bench: cannot open the plugin directly\n");
		if (dl)
			dlclose(dl);
		pp_runtime_free(c.rt);
		return 1;
	}

	bench_ctx ci = c;
	if (pp_instance_create(c.rt, c.h, NULL, &ci.inst) != PP_OK) {
		fprintf(stderr, "bench: %s\n", pp_last_error(c.rt));
		dlclose(dl);
		pp_runtime_free(c.rt);
		return 1;
	}

	bench_row rows[] = {
	        {run_floor, &c, 0},   {run_resolved, &c, 0},         {run_bare_entry, &c, 0},
	        {run_pp_call, &c, 0}, {run_pp_call_exported, &c, 0}, {run_pp_call, &ci, 0},
	        {run_cold, &c, 0}};
	bench_rounds(rows, (int)(sizeof rows / sizeof rows[0]), rounds);
	double floor = rows[0].best, resolved = rows[1].best, bare = rows[2].best;
	double mediated = rows[3].best, exported = rows[4].best, checked = rows[5].best;
	double cold = rows[6].best;

	printf("\nnative guest add(i32,i32)->i32 (%ld calls per round)\n", c.iters);
	printf("                                    ns/call   x floor   overhead\n");
	printf("  direct call (floor)               %7.2f      1.00\n", floor);
	printf("  resolved interface + revision     %7.2f   %7.2f   %+6.2f ns  (not unload-safe)\n",
	       resolved, resolved / floor, resolved - floor);
	printf("  bare entry, pp_call's signature   %7.2f   %7.2f   %+6.2f ns  (no work: the call "
	       "itself)\n",
	       bare, bare / floor, bare - floor);
	printf("  pp_call (unload-safe)             %7.2f   %7.2f   %+6.2f ns  (goal <= +1 ns)\n",
	       mediated, mediated / floor, mediated - floor);
	printf("  pp_call exported (not inline)     %7.2f   %7.2f   %+6.2f ns\n", exported,
	       exported / floor, exported - floor);
	printf("  pp_call on an instance (checked)  %7.2f   %7.2f   %+6.2f ns\n", checked,
	       checked / floor, checked - floor);
	printf("  find + pp_call every time         %7.2f   %7.2f   %+6.2f ns\n", cold,
	       cold / floor, cold - floor);
	pp_instance_destroy(c.rt, c.h, ci.inst);
	dlclose(dl);
	pp_runtime_free(c.rt);
	return 0;
}
