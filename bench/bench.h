/* bench.h — timing helpers shared by the benchmark's sections. */
#ifndef PP_BENCH_H
#define PP_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

static inline double bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* One measurement: ns per operation. */
typedef double (*bench_fn)(void *ctx);

/* A row of a table: what it runs, on what, and its best time so far. */
typedef struct bench_row {
	bench_fn fn;
	void *ctx;
	double best;
} bench_row;

/* Best of several rounds for each of n rows, the rows taking turns: each
 * round runs every row once, in order. Compared rows are then measured side
 * by side, so a slow spell of the machine (a neighbour's load, a clock
 * change) falls on all of a round's rows alike instead of on whichever row
 * was running, and a ratio compares like with like. */
static inline void bench_rounds(bench_row *rows, int n, int rounds)
{
	for (int i = 0; i < n; i++)
		rows[i].best = 1e30;
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < n; i++) {
			double t = rows[i].fn(rows[i].ctx);
			if (t < rows[i].best)
				rows[i].best = t;
		}
	}
}

/* Each section returns 0, or 1 after printing why it could not run. */
int bench_native(bool quick, int rounds);
int bench_js(bool quick, int rounds);
int bench_threads(bool quick, int rounds);
int bench_ppc(bool quick, int rounds);
/* The raw JS_Call floors in a VM of their own, to be measured in another
 * section's rounds: an empty function with 5 Numbers, and add(a, b) with two
 * Int32s and its result read back. NULL when the VM cannot be made. */
typedef struct js_bench js_bench;
js_bench *bench_js_floors_new(bool quick);
double bench_js_floor_empty(void *b);
double bench_js_floor_add(void *b);
void bench_js_floors_free(js_bench *b);

#endif
