/*
 * bench_ppc.c — calls through ppc's generated glue, next to the floors
 * measured in the same run:
 *   JS   add(i32,i32) into a generated JS bundle, against the raw JS_Call add
 *        floor: through its resolved interface (straight into the loader, as
 *        a cached caller would), and through the generated host caller
 *        (revision check, then pp_call on the caller's instance, inlined:
 *        the JS loader's lookup of the instance is the only check it meets,
 *        call_inline.h); echo(StringView, 1 KiB) through the
 *        generated caller, against the empty JS_Call floor
 *   C    add(i32,i32) into a generated C bundle: through the generated host
 *        caller and through a plain pp_call of the same function, against a
 *        direct call through a function pointer
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PPC_HOST
#include "gen.h"

#include "bench.h"

typedef struct gen_bench {
	pp_runtime *rt;
	long iters;
	bench_genjs js;
	bench_genc c;
	pp_call_arena arena;
	char text[1024];
} gen_bench;

static volatile int32_t sink;

static int32_t direct_add(int32_t a, int32_t b)
{
	return a + b;
}

static double floor_direct(void *p)
{
	gen_bench *g = p;
	int32_t (*volatile fn)(int32_t, int32_t) = direct_add;
	int32_t out = 0;
	double t0 = bench_now_ns();
	for (long i = 0; i < g->iters; i++)
		out = fn((int32_t)i, out & 1);
	double t = bench_now_ns() - t0;
	sink = out;
	return t / (double)g->iters;
}

static double gen_c_add(void *p)
{
	gen_bench *g = p;
	int32_t out = 0;
	double t0 = bench_now_ns();
	for (long i = 0; i < g->iters; i++)
		bench_genc_add(&g->c, (int32_t)i, out & 1, &out);
	double t = bench_now_ns() - t0;
	sink = out;
	return t / (double)g->iters;
}

static double gen_js_add(void *p)
{
	gen_bench *g = p;
	int32_t out = 0;
	double t0 = bench_now_ns();
	for (long i = 0; i < g->iters; i++)
		bench_genjs_add(&g->js, (int32_t)i, out & 1, &out);
	double t = bench_now_ns() - t0;
	sink = out;
	return t / (double)g->iters;
}

/* The same JS add through the resolved interface: what the glue costs
 * inside the loader, without the host side's pp_call. On an instance the
 * interface made itself: pp_instance_create's value is for pp_call. */
static double gen_js_add_resolved(void *p)
{
	gen_bench *g = p;
	const pp_guest_contract_interface *iface = pp_resolve(g->rt, g->js.base.h);
	const pp_host_api *host = pp_runtime_host_api(g->rt);
	pp_vm_dispatch d = iface->dispatch.vm;
	pp_guest_contract_instance inst = {NULL, 0};
	pp_abi_error err = {0, {NULL, 0}};
	iface->create_instance(d.loader_data, host, NULL, &inst, &err);
	bench_genjs_add_args args = {0, 0};
	int32_t out = 0;
	double t0 = bench_now_ns();
	for (long i = 0; i < g->iters && err.code == PP_OK; i++) {
		args.a = (int32_t)i;
		args.b = out & 1;
		d.call(d.loader_data, inst, BENCH_GENJS_FN_ADD, &args, &out, NULL, &err);
	}
	double t = bench_now_ns() - t0;
	iface->destroy_instance(d.loader_data, host, inst);
	if (err.code != PP_OK) { /* a row that measured a failure is no row */
		fprintf(stderr, "bench: the resolved JS add failed with code %u\n", err.code);
		exit(1);
	}
	sink = out;
	return t / (double)g->iters;
}

/* The C add through a plain pp_call: the generated caller's own cost is
 * what it adds to this. */
static double gen_c_pp_call(void *p)
{
	gen_bench *g = p;
	bench_genc_add_args args = {0, 0};
	int32_t out = 0;
	double t0 = bench_now_ns();
	for (long i = 0; i < g->iters; i++) {
		args.a = (int32_t)i;
		args.b = out & 1;
		pp_call(g->rt, g->c.base.h, g->c.base.inst, BENCH_GENC_FN_ADD, &args, &out, NULL);
	}
	double t = bench_now_ns() - t0;
	sink = out;
	return t / (double)g->iters;
}

static double gen_js_echo(void *p)
{
	gen_bench *g = p;
	pp_string_view in = {(const uint8_t *)g->text, sizeof g->text}, out = {NULL, 0};
	long n = g->iters / 4;
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++) {
		bench_genjs_echo(&g->js, in, &g->arena, &out);
		pp_call_arena_reset(&g->arena);
	}
	double t = bench_now_ns() - t0;
	sink = (int32_t)out.len;
	return t / (double)n;
}

int bench_ppc(bool quick, int rounds)
{
	gen_bench g = {.iters = quick ? 2000 : 2000000};
	memset(g.text, 'x', sizeof g.text);
	uint8_t mem[4096];
	if (pp_runtime_new(NULL, &g.rt) != PP_OK)
		return 1;
	pp_call_arena_init(&g.arena, mem, sizeof mem, pp_runtime_host_api(g.rt));
	pp_load_options o = {.name = "bench_gen_js"};
	int failed = pp_bundle_load(g.rt, PP_BENCH_GEN_JS, &o, NULL) != PP_OK ||
	             pp_bundle_load(g.rt, PP_BENCH_GEN_C, NULL, NULL) != PP_OK ||
	             bench_genjs_open(&g.js, g.rt) != PP_OK || bench_genc_open(&g.c, g.rt) != PP_OK;
	js_bench *floors = bench_js_floors_new(quick);
	failed |= floors == NULL;
	int32_t check = 0;
	if (!failed)
		failed = bench_genjs_add(&g.js, 2, 3, &check) != PP_OK || check != 5 ||
		         bench_genc_add(&g.c, 2, 3, &check) != PP_OK || check != 5;
	if (failed) {
		fprintf(stderr, "bench: ppc glue: %s\n",
		        floors ? pp_last_error(g.rt) : "cannot make the floors' QuickJS VM");
	} else {
		bench_row rows[] = {{bench_js_floor_empty, floors, 0},
		                    {bench_js_floor_add, floors, 0},
		                    {floor_direct, &g, 0},
		                    {gen_js_add, &g, 0},
		                    {gen_js_add_resolved, &g, 0},
		                    {gen_js_echo, &g, 0},
		                    {gen_c_add, &g, 0},
		                    {gen_c_pp_call, &g, 0}};
		bench_rounds(rows, (int)(sizeof rows / sizeof rows[0]), rounds);
		double js_floor = rows[0].best, add_floor = rows[1].best, c_floor = rows[2].best;
		double js_add = rows[3].best, js_add_resolved = rows[4].best;
		double js_echo = rows[5].best, c_add = rows[6].best, c_pp_call = rows[7].best;
		printf("\nppc-generated glue (%ld calls per round)\n", g.iters);
		printf("                                      ns/call  x floor\n");
		printf("  %-34s %8.2f  %7.2f\n", "JS_Call, add(a, b), Int32s (floor)", add_floor,
		       1.0);
		printf("  %-34s %8.2f  %7.2f\n", "JS add(i32,i32), resolved interface",
		       js_add_resolved, js_add_resolved / add_floor);
		printf("  %-34s %8.2f  %7.2f  (goal <= 1.6)\n", "JS add(i32,i32), generated caller",
		       js_add, js_add / add_floor);
		printf("  %-34s %8.2f  %7.2f\n", "JS_Call, empty fn (floor)", js_floor, 1.0);
		printf("  %-34s %8.2f  %7.2f\n", "JS echo(1 KiB string), generated", js_echo,
		       js_echo / js_floor);
		printf("  %-34s %8.2f  %7.2f\n", "C direct call (floor)", c_floor, 1.0);
		printf("  %-34s %8.2f  %7.2f\n", "C add(i32,i32), pp_call", c_pp_call,
		       c_pp_call / c_floor);
		printf("  %-34s %8.2f  %7.2f  %+.2f ns over pp_call (goal <= +1 ns)\n",
		       "C add(i32,i32), generated caller", c_add, c_add / c_floor,
		       c_add - c_pp_call);
	}
	bench_js_floors_free(floors);
	bench_genjs_close(&g.js);
	bench_genc_close(&g.c);
	pp_call_arena_free(&g.arena);
	pp_runtime_free(g.rt);
	return failed;
}
