/*
 * bench.c — what calls through polyplug-c cost, next to the floors they are
 * measured against, all in the same run. Prints ns per call and ratios.
 *
 *   pp_bench [--quick]      --quick: a few iterations, to keep it working
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"

int main(int argc, char **argv)
{
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	int rounds = quick ? 1 : 5;
	printf("polyplug-c benchmark (best of %d rounds%s)\n", rounds,
	       quick ? ", --quick: timings meaningless" : "");
	int failed = bench_native(quick, rounds);
	failed |= bench_js(quick, rounds);
	failed |= bench_ppc(quick, rounds);
	return failed;
}
