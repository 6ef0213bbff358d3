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

/* Best of several rounds: the least disturbed measurement. */
static inline double bench_best(bench_fn fn, void *ctx, int rounds)
{
	double best = 1e30;
	for (int r = 0; r < rounds; r++) {
		double ns = fn(ctx);
		if (ns < best)
			best = ns;
	}
	return best;
}

/* Each section returns 0, or 1 after printing why it could not run. */
int bench_native(bool quick, int rounds);
int bench_js(bool quick, int rounds);
int bench_ppc(bool quick, int rounds);
/* The raw JS_Call floors, measured now: an empty function with 5 Numbers,
 * and add(a, b) with two Int32s and its result read back. */
void bench_js_floors(bool quick, int rounds, double *empty, double *add);

#endif
