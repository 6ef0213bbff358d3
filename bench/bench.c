/*
 * bench.c — what calls through polyplug-c cost, next to the floors they are
 * measured against, all in the same run. Prints ns per call and ratios.
 *
 *   pp_bench [--quick]
 *
 * Native guest calls:
 *   floor     the plugin's add() called directly through a function pointer
 *   resolved  the way generated callers call: a cached interface, one
 *             acquire load of the revision counter per call, then the slot
 *   pp_call   the runtime-mediated call (safe against concurrent unload)
 *   cold      find + resolve + call every time
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <polyplug/polyplug.h>

typedef struct {
	int32_t a, b;
} add_args;

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Defeats constant folding of the loop bodies. */
static volatile int32_t sink;

typedef struct bench_ctx {
	pp_runtime *rt;
	pp_guest_contract_handle h;
	pp_native_guest_fn direct;
	long iters;
} bench_ctx;

typedef double (*bench_fn)(bench_ctx *c);

static double run_floor(bench_ctx *c)
{
	pp_native_guest_fn volatile fn = c->direct;
	pp_guest_contract_instance none = {NULL, 0};
	int32_t out = 0;
	double t0 = now_ns();
	for (long i = 0; i < c->iters; i++) {
		add_args a = {(int32_t)i, 1};
		pp_abi_error err = {0, {NULL, 0}};
		fn(none, &a, &out, &err);
	}
	double t = now_ns() - t0;
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

static double run_resolved(bench_ctx *c)
{
	cached_caller cc = {c->rt, c->h,
	                    (const _Atomic uint64_t *)(const void *)pp_revision_counter(c->rt), 0,
	                    NULL};
	cached_caller *volatile ccp = &cc; /* keep the call honest */
	int32_t out = 0;
	double t0 = now_ns();
	for (long i = 0; i < c->iters; i++) {
		add_args a = {(int32_t)i, 1};
		cached_add(ccp, &a, &out);
	}
	double t = now_ns() - t0;
	sink = out;
	return t / (double)c->iters;
}

static double run_pp_call(bench_ctx *c)
{
	pp_guest_contract_instance none = {NULL, 0};
	int32_t out = 0;
	double t0 = now_ns();
	for (long i = 0; i < c->iters; i++) {
		add_args a = {(int32_t)i, 1};
		pp_call(c->rt, c->h, none, 0, &a, &out, NULL);
	}
	double t = now_ns() - t0;
	sink = out;
	return t / (double)c->iters;
}

static double run_cold(bench_ctx *c)
{
	pp_guest_contract_instance none = {NULL, 0};
	uint64_t id = pp_guest_contract_id("bench.Add", 1);
	int32_t out = 0;
	long n = c->iters / 10;
	double t0 = now_ns();
	for (long i = 0; i < n; i++) {
		add_args a = {(int32_t)i, 1};
		pp_call(c->rt, pp_find(c->rt, id, 1), none, 0, &a, &out, NULL);
	}
	double t = now_ns() - t0;
	sink = out;
	return t / (double)n;
}

/* Best of several rounds: the least disturbed measurement. */
static double best_of(bench_fn fn, bench_ctx *c, int rounds)
{
	double best = 1e30;
	for (int r = 0; r < rounds; r++) {
		double ns = fn(c);
		if (ns < best)
			best = ns;
	}
	return best;
}

int main(int argc, char **argv)
{
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	bench_ctx c = {.iters = quick ? 10000 : 20000000};
	int rounds = quick ? 1 : 5;
	if (pp_runtime_new(NULL, &c.rt) != PP_OK)
		return 1;
	if (pp_bundle_load(c.rt, PP_BENCH_PLUGIN, NULL, NULL) != PP_OK) {
		fprintf(stderr, "bench: %s\n", pp_last_error(c.rt));
		return 1;
	}
	c.h = pp_find(c.rt, pp_guest_contract_id("bench.Add", 1), 1);
	/* The floor calls the same code: take it from a second mapping of the
	 * plugin, which has exactly the same instructions. */
	void *dl = dlopen(PP_BENCH_PLUGIN, RTLD_NOW | RTLD_LOCAL);
	c.direct = dl ? (pp_native_guest_fn)dlsym(dl, "bench_add_direct") : NULL;
	if (!c.direct) {
		fprintf(stderr, "bench: cannot open the plugin directly\n");
		return 1;
	}

	double floor = best_of(run_floor, &c, rounds);
	double resolved = best_of(run_resolved, &c, rounds);
	double mediated = best_of(run_pp_call, &c, rounds);
	double cold = best_of(run_cold, &c, rounds);

	printf("polyplug-c benchmark (%ld calls per round, best of %d)\n", c.iters, rounds);
	printf("native guest add(i32,i32)->i32       ns/call   x floor   overhead\n");
	printf("  direct call (floor)               %7.2f      1.00\n", floor);
	printf("  resolved interface + revision     %7.2f   %7.2f   %+6.2f ns  (goal <= +1 ns)\n",
	       resolved, resolved / floor, resolved - floor);
	printf("  pp_call (unload-safe)             %7.2f   %7.2f   %+6.2f ns\n", mediated,
	       mediated / floor, mediated - floor);
	printf("  find + pp_call every time         %7.2f   %7.2f   %+6.2f ns\n", cold,
	       cold / floor, cold - floor);
	dlclose(dl);
	pp_runtime_free(c.rt);
	return 0;
}
