/*
 * bench_js.c — host -> JS guest calls and JS bundle loads, next to the
 * QuickJS floors of SPEC §7 measured in the same run with the same QuickJS:
 *
 *   call floor   JS_Call of an empty JS function with 5 Number args (what
 *                a raw-protocol call passes)
 *   add floor    JS_Call of (a, b) => (a + b) | 0 with two Int32 args and the
 *                result read back with JS_ToInt32: a raw embedder's add
 *   load floor   JS_NewRuntime + JS_NewContext, then free both (SPEC §7)
 *   kept pair    the same pairs, all kept until the last is made and then
 *                freed untimed: creating alone, as a load has it (a loaded
 *                bundle's VM lives on; the bundles are unloaded untimed)
 *
 * Through the runtime, a JS bundle's functions are called the way generated
 * callers call (a resolved interface's vm.call) and through pp_call as a
 * host compiles it (its common case inlined here, call_inline.h):
 *   empty        fn 0: returns 0
 *   add, bridge  fn 1: reads both args and writes the sum with one bridge
 *                call per field (how the reference's bundles do it)
 *   add, typed   fn 2: the same through polyplug-c's typed signatures (the
 *                loader reads the args struct and writes the returned value)
 * and small bundles are loaded (each with its own contract, all kept until
 * the last is loaded), next to creating as many bare runtime+context pairs.
 * A load does what a kept pair does, plus compiling and running the bundle
 * (its init, in its VM) and what the loader adds to a VM (the bridge,
 * console and TextEncoder, the guards on eval and Function).
 *
 * Threads: calls per second of one thread against two, each making the same
 * number of typed-add pp_calls: into two different bundles (one each), into
 * one bundle with one VM (they take turns), and into one bundle with
 * concurrency = 2 (a VM each). The floor is one thread calling a bundle of
 * one VM; one thread calling the bundle of 2 VMs shows what the pool itself
 * costs a call. Memory: the heap in use grown per small
 * bundle loaded (its VM, context, parsed code and the runtime's records).
 *
 * Rows compared with each other take turns, round by round (bench.h's
 * bench_rounds): the call rows with their floors, the load rows with
 * theirs. The load rows still depend on the heap's state (what the rows
 * before them freed, what the allocator kept or gave back) and on this
 * machine's neighbours: from run to run they vary far more than the call
 * rows do.
 *
 * Guarded vs compat memory: the same bundle, once as written (raw functions
 * without layouts: compat, the bridge unchecked) and once declaring every
 * function's layout (guarded: each bridge read and write is checked against
 * the call's args and out). The typed add runs in each too: there the loader,
 * not the guest, touches memory, so guarding should cost nothing.
 */
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <polyplug/polyplug.h>
#include <quickjs.h>

#include "bench.h"

typedef struct {
	int32_t a, b;
} add_args;

enum { FN_EMPTY, FN_ADD_BRIDGE, FN_ADD_TYPED, FN_COUNT };

/* %" PRIu32 ": the contract id's halves; %s: its name, then more interface
 * properties (layouts, or nothing). */
static const char bundle_fmt[] =
        "function polyplug_init(hostLo, hostHi, ctxLo, ctxHi, bridge) {\n"
        "  const functions = [\n"
        "    function (impl, args, o, arena, b) { return 0; },\n"
        "    function (impl, args, o, arena, b) {\n"
        "      b.writeI32(o, (b.readI32(args) + b.readI32(args + 4)) | 0);\n"
        "      return 0;\n"
        "    },\n"
        "    function (impl, a, b) { return (a + b) | 0; },\n"
        "  ];\n"
        "  return [[{ contractLo: %" PRIu32 ", contractHi: %" PRIu32 ",\n"
        "             contractName: '%s@1', version: 0x00010000, fnCount: functions.length,\n"
        "             interface: { factory: function () { return {}; }, functions: functions,\n"
        "                          signatures: [null, null,\n"
        "                                       { params: ['i32', 'i32'], result: 'i32' }]%s } "
        "}],\n"
        "          { code: 0, message: '' }];\n"
        "}\n";

struct js_bench {
	long iters;
	/* the floors' own VM */
	JSRuntime *qrt;
	JSContext *ctx;
	JSValue empty, add;
	/* the runtime's */
	pp_runtime *rt;
	pp_guest_contract_handle h;
	const pp_guest_contract_interface *iface;
	const pp_guest_contract_interface *iface_guarded; /* the same with layouts */
	uint32_t fn;
	/* loads: one source per bundle (each its own contract) */
	int loads;
	char **sources;
	uint64_t *ids;
};

static volatile int32_t sink;

static const char guarded_layouts[] =
        ",\n layouts: [{ args: 8, out: 4 }, { args: 8, out: 4 }, null]";

static char *bundle_source(const char *contract, const char *more)
{
	uint64_t id = pp_guest_contract_id(contract, 1);
	size_t cap = sizeof bundle_fmt + 64 + strlen(contract) + strlen(more);
	char *src = malloc(cap);
	if (src)
		snprintf(src, cap, bundle_fmt, (uint32_t)id, (uint32_t)(id >> 32), contract, more);
	return src;
}

static double floor_call(void *p)
{
	js_bench *b = p;
	add_args args = {0, 1};
	int32_t out = 0;
	double t0 = bench_now_ns();
	for (long i = 0; i < b->iters; i++) {
		args.a = (int32_t)i;
		JSValue argv[5] = {JS_NewFloat64(b->ctx, (double)(uintptr_t)b),
		                   JS_NewFloat64(b->ctx, (double)(uintptr_t)&args),
		                   JS_NewFloat64(b->ctx, (double)(uintptr_t)&out),
		                   JS_NewFloat64(b->ctx, 0), JS_NewFloat64(b->ctx, (double)i)};
		JS_FreeValue(b->ctx, JS_Call(b->ctx, b->empty, JS_UNDEFINED, 5, argv));
	}
	double t = bench_now_ns() - t0;
	return t / (double)b->iters;
}

static double floor_add(void *p)
{
	js_bench *b = p;
	int32_t out = 0;
	double t0 = bench_now_ns();
	for (long i = 0; i < b->iters; i++) {
		JSValue argv[2] = {JS_NewInt32(b->ctx, (int32_t)i), JS_NewInt32(b->ctx, 1)};
		JSValue r = JS_Call(b->ctx, b->add, JS_UNDEFINED, 2, argv);
		JS_ToInt32(b->ctx, &out, r);
		JS_FreeValue(b->ctx, r);
	}
	double t = bench_now_ns() - t0;
	sink = out;
	return t / (double)b->iters;
}

/* The floors' VM and its two functions (0, or 1 on failure). */
static int floors_setup(js_bench *b)
{
	b->empty = b->add = JS_UNDEFINED;
	b->qrt = JS_NewRuntime();
	b->ctx = b->qrt ? JS_NewContext(b->qrt) : NULL;
	if (!b->ctx)
		return 1;
	static const char empty[] = "(function (a, b, c, d, e) {})";
	static const char add[] = "(function (a, b) { return (a + b) | 0; })";
	b->empty = JS_Eval(b->ctx, empty, sizeof empty - 1, "<floor>", JS_EVAL_TYPE_GLOBAL);
	b->add = JS_Eval(b->ctx, add, sizeof add - 1, "<floor>", JS_EVAL_TYPE_GLOBAL);
	return !JS_IsFunction(b->ctx, b->empty) || !JS_IsFunction(b->ctx, b->add);
}

static void floors_teardown(js_bench *b)
{
	if (b->ctx) {
		JS_FreeValue(b->ctx, b->empty);
		JS_FreeValue(b->ctx, b->add);
		JS_FreeContext(b->ctx);
	}
	if (b->qrt)
		JS_FreeRuntime(b->qrt);
	b->ctx = NULL;
	b->qrt = NULL;
}

/* Creates and frees a runtime+context pair b->loads times: µs each. */
static double floor_new_context(void *p)
{
	js_bench *b = p;
	double t0 = bench_now_ns();
	for (int i = 0; i < b->loads; i++) {
		JSRuntime *qrt = JS_NewRuntime();
		JSContext *ctx = qrt ? JS_NewContext(qrt) : NULL;
		if (ctx)
			JS_FreeContext(ctx);
		if (qrt)
			JS_FreeRuntime(qrt);
	}
	return (bench_now_ns() - t0) / (double)b->loads / 1000.0;
}

/* The same pairs kept until all are made, then freed untimed, as js_load
 * keeps its bundles: what creating costs without the free. */
static double floor_kept_contexts(void *p)
{
	js_bench *b = p;
	JSContext **ctxs = calloc((size_t)b->loads, sizeof(JSContext *));
	if (!ctxs)
		return 0;
	double t0 = bench_now_ns();
	for (int i = 0; i < b->loads; i++) {
		JSRuntime *qrt = JS_NewRuntime();
		if (qrt && !(ctxs[i] = JS_NewContext(qrt)))
			JS_FreeRuntime(qrt);
	}
	double t = bench_now_ns() - t0;
	for (int i = 0; i < b->loads; i++) {
		if (ctxs[i]) {
			JSRuntime *qrt = JS_GetRuntime(ctxs[i]);
			JS_FreeContext(ctxs[i]);
			JS_FreeRuntime(qrt);
		}
	}
	free(ctxs);
	return t / (double)b->loads / 1000.0;
}

/* How generated callers call: straight into the resolved interface. */
static double js_resolved(void *p)
{
	js_bench *b = p;
	pp_vm_dispatch d = b->iface->dispatch.vm;
	pp_guest_contract_instance none = {NULL, 0};
	add_args args = {0, 1};
	int32_t out = 0;
	double t0 = bench_now_ns();
	for (long i = 0; i < b->iters; i++) {
		pp_abi_error err = {0, {NULL, 0}};
		args.a = (int32_t)i;
		d.call(d.loader_data, none, b->fn, &args, &out, NULL, &err);
	}
	double t = bench_now_ns() - t0;
	sink = out;
	return t / (double)b->iters;
}

static double js_pp_call(void *p)
{
	js_bench *b = p;
	pp_guest_contract_instance none = {NULL, 0};
	add_args args = {0, 1};
	int32_t out = 0;
	double t0 = bench_now_ns();
	for (long i = 0; i < b->iters; i++) {
		args.a = (int32_t)i;
		pp_call(b->rt, b->h, none, b->fn, &args, &out, NULL);
	}
	double t = bench_now_ns() - t0;
	sink = out;
	return t / (double)b->iters;
}

/* A call row: which interface and function js_resolved / js_pp_call run. */
typedef struct js_pick {
	js_bench *b;
	const pp_guest_contract_interface *iface;
	uint32_t fn;
} js_pick;

static double pick_resolved(void *p)
{
	js_pick *k = p;
	k->b->iface = k->iface;
	k->b->fn = k->fn;
	return js_resolved(k->b);
}

static double pick_pp_call(void *p)
{
	js_pick *k = p;
	k->b->fn = k->fn;
	return js_pp_call(k->b);
}

/* Loads every source as its own bundle: µs each, as the loading thread
 * sees it. Unloaded untimed: a bundle's VM is freed on the runtime's
 * reclaimer thread, which batches its work. */
static double js_load(void *p)
{
	js_bench *b = p;
	double t0 = bench_now_ns();
	for (int i = 0; i < b->loads; i++) {
		char name[32];
		snprintf(name, sizeof name, "load%d", i);
		pp_load_options o = {.name = name};
		b->ids[i] = 0;
		pp_bundle_load_source(b->rt, b->sources[i], strlen(b->sources[i]), &o, &b->ids[i]);
	}
	double t = bench_now_ns() - t0;
	for (int i = 0; i < b->loads; i++)
		pp_bundle_unload(b->rt, b->ids[i], 0);
	pp_runtime_quiesce(b->rt);
	return t / (double)b->loads / 1000.0;
}

/* Before timing anything: every variant must compute 2 + 3. */
static int check_calls(const pp_guest_contract_interface *iface)
{
	for (uint32_t fn = FN_ADD_BRIDGE; fn < FN_COUNT; fn++) {
		add_args args = {2, 3};
		int32_t out = 0;
		pp_guest_contract_instance none = {NULL, 0};
		pp_abi_error err = {0, {NULL, 0}};
		iface->dispatch.vm.call(iface->dispatch.vm.loader_data, none, fn, &args, &out, NULL,
		                        &err);
		uint32_t rc = err.code;
		if (rc != PP_OK || out != 5) {
			fprintf(stderr, "bench: JS fn %u gave %d (status %u), not 5\n", fn, out,
			        rc);
			return 1;
		}
	}
	return 0;
}

static int setup(js_bench *b)
{
	if (floors_setup(b))
		return 1;
	if (pp_runtime_new(NULL, &b->rt) != PP_OK)
		return 1;
	for (int guarded = 0; guarded < 2; guarded++) {
		const char *contract = guarded ? "bench.JsAddGuarded" : "bench.JsAdd";
		char *src = bundle_source(contract, guarded ? guarded_layouts : "");
		pp_load_options o = {.name = guarded ? "bench-js-guarded" : "bench-js"};
		pp_status st = src ? pp_bundle_load_source(b->rt, src, strlen(src), &o, NULL)
		                   : PP_ERR_OUT_OF_MEMORY;
		free(src);
		if (st != PP_OK) {
			fprintf(stderr, "bench: %s\n", pp_last_error(b->rt));
			return 1;
		}
		pp_guest_contract_handle h = pp_find(b->rt, pp_guest_contract_id(contract, 1), 1);
		const pp_guest_contract_interface *iface = pp_resolve(b->rt, h);
		if (!iface || check_calls(iface))
			return 1;
		if (guarded) {
			b->iface_guarded = iface;
		} else {
			b->h = h;
			b->iface = iface;
		}
	}

	b->sources = calloc((size_t)b->loads, sizeof *b->sources);
	b->ids = calloc((size_t)b->loads, sizeof *b->ids);
	if (!b->sources || !b->ids)
		return 1;
	for (int i = 0; i < b->loads; i++) {
		char contract[32];
		snprintf(contract, sizeof contract, "bench.Load%d", i);
		if (!(b->sources[i] = bundle_source(contract, "")))
			return 1;
	}
	return 0;
}

static void teardown(js_bench *b)
{
	floors_teardown(b);
	if (b->rt)
		pp_runtime_free(b->rt);
	for (int i = 0; b->sources && i < b->loads; i++)
		free(b->sources[i]);
	free(b->sources);
	free(b->ids);
}

static void row(const char *what, double ns, double floor, const char *goal)
{
	printf("  %-34s %8.2f  %7.2f%s\n", what, ns, ns / floor, goal);
}

js_bench *bench_js_floors_new(bool quick)
{
	js_bench *b = calloc(1, sizeof *b);
	if (b) {
		b->iters = quick ? 2000 : 2000000;
		if (floors_setup(b) != 0) {
			bench_js_floors_free(b);
			return NULL;
		}
	}
	return b;
}

double bench_js_floor_empty(void *b)
{
	return floor_call(b);
}

double bench_js_floor_add(void *b)
{
	return floor_add(b);
}

void bench_js_floors_free(js_bench *b)
{
	if (b)
		floors_teardown(b);
	free(b);
}

/* ---- Threads ---------------------------------------------------------------- */

typedef struct worker {
	pp_runtime *rt;
	pp_guest_contract_handle h;
	long iters;
	pthread_barrier_t *go;
	uint32_t failed;
	int32_t last;      /* the last result: a use of every call's out */
	double start, end; /* its own clock: the main thread may not run meanwhile */
} worker;

static void *work(void *p)
{
	worker *w = p;
	pp_guest_contract_instance none = {NULL, 0};
	add_args args = {0, 1};
	int32_t out = 0;
	uint32_t failed = 0; /* a local: the workers' structs share a cache line */
	pthread_barrier_wait(w->go);
	w->start = bench_now_ns();
	for (long i = 0; i < w->iters; i++) {
		args.a = (int32_t)i;
		failed |= pp_call(w->rt, w->h, none, FN_ADD_TYPED, &args, &out, NULL);
	}
	w->end = bench_now_ns();
	w->failed = failed;
	w->last = out; /* its own: the workers would race on the global sink */
	return NULL;
}

/* Calls per µs of n threads, thread i calling h[i] iters times: from the
 * first one's start to the last one's end. */
static double throughput(pp_runtime *rt, const pp_guest_contract_handle *h, int n, long iters)
{
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, (unsigned)n);
	worker w[2];
	pthread_t th[2];
	for (int i = 0; i < n; i++) {
		w[i] = (worker){.rt = rt, .h = h[i], .iters = iters, .go = &go};
		pthread_create(&th[i], NULL, work, &w[i]);
	}
	uint32_t failed = 0;
	double start = 1e300, end = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		failed |= w[i].failed;
		start = w[i].start < start ? w[i].start : start;
		end = w[i].end > end ? w[i].end : end;
	}
	pthread_barrier_destroy(&go);
	return failed ? 0 : (double)iters * n / (end - start) * 1000.0;
}

/* Loads the bench bundle as `name` providing `contract`, with VMs. */
static pp_guest_contract_handle load_copy(pp_runtime *rt, const char *name, const char *contract,
                                          uint32_t vms)
{
	char *src = bundle_source(contract, "");
	pp_load_options o = {.size = sizeof o, .name = name, .js.concurrency = vms};
	pp_status st =
	        src ? pp_bundle_load_source(rt, src, strlen(src), &o, NULL) : PP_ERR_OUT_OF_MEMORY;
	free(src);
	if (st != PP_OK)
		fprintf(stderr, "bench: %s\n", pp_last_error(rt));
	return pp_find(rt, pp_guest_contract_id(contract, 1), 1);
}

/* Bytes malloc has handed out and not taken back (this thread's arena and
 * its large mappings): what loading bundles adds, whatever the process's
 * resident size already held. */
static double heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();
	return (double)mi.uordblks + (double)mi.hblkhd;
}

int bench_threads(bool quick, int rounds)
{
	pp_runtime *rt;
	if (pp_runtime_new(NULL, &rt) != PP_OK)
		return 1;
	pp_guest_contract_handle a = load_copy(rt, "t-a", "bench.ThreadA", 1);
	pp_guest_contract_handle b = load_copy(rt, "t-b", "bench.ThreadB", 1);
	pp_guest_contract_handle pool = load_copy(rt, "t-pool", "bench.ThreadPool", 2);
	if (pp_handle_is_null(a) || pp_handle_is_null(b) || pp_handle_is_null(pool)) {
		pp_runtime_free(rt);
		return 1;
	}
	long iters = quick ? 2000 : 1000000;
	/* one thread; one thread on the pool; two: different, one VM, pool */
	double best[5] = {0, 0, 0, 0, 0};
	for (int r = 0; r < rounds; r++) {
		pp_guest_contract_handle ab[2] = {a, b}, aa[2] = {a, a}, pp[2] = {pool, pool};
		double t[5]; /* in this order: an initializer's calls are unsequenced */
		t[0] = throughput(rt, &a, 1, iters);
		t[1] = throughput(rt, &pool, 1, iters);
		t[2] = throughput(rt, ab, 2, iters);
		t[3] = throughput(rt, aa, 2, iters);
		t[4] = throughput(rt, pp, 2, iters);
		for (int i = 0; i < 5; i++)
			best[i] = t[i] > best[i] ? t[i] : best[i];
	}
	printf("\nThreads: typed add via pp_call, %ld calls per thread\n", iters);
	printf("                                     calls/us   x one thread\n");
	printf("  %-34s %8.2f  %7.2f\n", "one thread (floor)", best[0], 1.0);
	printf("  %-34s %8.2f  %7.2f\n", "one thread, one bundle, 2 VMs", best[1],
	       best[1] / best[0]);
	printf("  %-34s %8.2f  %7.2f\n", "two threads, two bundles", best[2], best[2] / best[0]);
	printf("  %-34s %8.2f  %7.2f\n", "two threads, one bundle, one VM", best[3],
	       best[3] / best[0]);
	printf("  %-34s %8.2f  %7.2f  (goal >= 1.8)\n", "two threads, one bundle, 2 VMs", best[4],
	       best[4] / best[0]);

	/* memory: many small bundles loaded at once */
	int n = quick ? 4 : 50;
	pp_runtime_quiesce(rt);
	double before = heap_in_use();
	for (int i = 0; i < n; i++) {
		char name[32], contract[32];
		snprintf(name, sizeof name, "mem%d", i);
		snprintf(contract, sizeof contract, "bench.Mem%d", i);
		load_copy(rt, name, contract, 1);
	}
	double grown = heap_in_use() - before;
	printf("  %-34s %8.0f KiB per bundle (heap in use, %d loaded)\n",
	       "memory of a small JS bundle", grown / n / 1024, n);
	pp_runtime_free(rt);
	return 0;
}

int bench_js(bool quick, int rounds)
{
	js_bench b = {
	        .iters = quick ? 2000 : 2000000, .loads = quick ? 4 : 100, .empty = JS_UNDEFINED};
	if (setup(&b)) {
		fprintf(stderr, "bench: cannot set up the JS benchmark\n");
		teardown(&b);
		return 1;
	}
	floor_call(&b); /* warm-up: caches, branch predictors, clock speed */
	/* The call rows, taking turns (bench_rounds): the two floors; each
	 * function resolved, then through pp_call; the two adds in the guarded
	 * copy of the bundle. picks[i] is what rows[i] calls. */
	enum { GUARDED = FN_COUNT - FN_ADD_BRIDGE, ROWS = 2 + 2 * FN_COUNT + GUARDED };
	js_pick picks[ROWS];
	bench_row rows[ROWS] = {{floor_call, &b, 0}, {floor_add, &b, 0}};
	int n = 2;
	for (uint32_t fn = 0; fn < FN_COUNT; fn++) {
		picks[n] = (js_pick){&b, b.iface, fn};
		rows[n] = (bench_row){pick_resolved, &picks[n], 0};
		n++;
		picks[n] = (js_pick){&b, b.iface, fn};
		rows[n] = (bench_row){pick_pp_call, &picks[n], 0};
		n++;
	}
	for (uint32_t fn = FN_ADD_BRIDGE; fn < FN_COUNT; fn++) {
		picks[n] = (js_pick){&b, b.iface_guarded, fn};
		rows[n] = (bench_row){pick_resolved, &picks[n], 0};
		n++;
	}
	bench_rounds(rows, n, rounds);
	double floor = rows[0].best, add_floor = rows[1].best;
	double t[FN_COUNT][2], g[FN_COUNT] = {0};
	for (uint32_t fn = 0; fn < FN_COUNT; fn++) {
		t[fn][0] = rows[2 + 2 * fn].best;
		t[fn][1] = rows[3 + 2 * fn].best;
	}
	for (uint32_t fn = FN_ADD_BRIDGE; fn < FN_COUNT; fn++)
		g[fn] = rows[2 + 2 * FN_COUNT + (fn - FN_ADD_BRIDGE)].best;
	bench_row loads[] = {
	        {floor_new_context, &b, 0}, {floor_kept_contexts, &b, 0}, {js_load, &b, 0}};
	bench_rounds(loads, 3, rounds);
	double load_floor = loads[0].best, kept_floor = loads[1].best, load = loads[2].best;

	printf("\nJS guest (QuickJS, %ld calls per round)\n", b.iters);
	printf("                                      ns/call  x floor\n");
	row("JS_Call, empty fn, 5 Numbers (floor)", floor, floor, "");
	row("empty fn, resolved interface", t[FN_EMPTY][0], floor, "");
	row("empty fn, pp_call", t[FN_EMPTY][1], floor, "  (goal <= 1.2)");
	row("JS_Call, add(a, b), Int32s (floor)", add_floor, add_floor, "");
	row("add, typed signature, resolved", t[FN_ADD_TYPED][0], add_floor, "");
	row("add, typed signature, pp_call", t[FN_ADD_TYPED][1], add_floor, "  (goal <= 1.5)");
	row("add, bridge per field, resolved", t[FN_ADD_BRIDGE][0], add_floor, "");
	row("add, bridge per field, pp_call", t[FN_ADD_BRIDGE][1], add_floor, "");
	printf("\nGuarded vs compat memory (the same bundle with and without layouts)\n");
	printf("                                       compat  guarded    ratio\n");
	printf("  %-34s %7.2f  %7.2f  %7.2f  (goal <= 1.10)\n", "add, bridge per field, resolved",
	       t[FN_ADD_BRIDGE][0], g[FN_ADD_BRIDGE], g[FN_ADD_BRIDGE] / t[FN_ADD_BRIDGE][0]);
	printf("  %-34s %7.2f  %7.2f  %7.2f  (goal: no measurable cost)\n",
	       "add, typed signature, resolved", t[FN_ADD_TYPED][0], g[FN_ADD_TYPED],
	       g[FN_ADD_TYPED] / t[FN_ADD_TYPED][0]);
	printf("                                      us/load  x floor\n");
	row("new runtime+context, free (floor)", load_floor, load_floor, "");
	row("new runtime+context, kept", kept_floor, load_floor, "");
	row("small bundle load", load, load_floor, "  (goal <= 1.5)");
	printf("  %-34s %8s  %7.2f\n", "small bundle load / kept pair", "", load / kept_floor);
	teardown(&b);
	return 0;
}
