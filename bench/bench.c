/*
 * bench.c — what calls through polyplug-c cost, next to the floors they are
 * measured against, all in the same run. Prints ns per call and ratios.
 *
 *   pp_bench [--quick] [native|js|threads|ppc]
 *                            --quick: a few iterations, to keep it working;
 *                            a section name runs only that section
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"

static const struct {
	const char *name;
	int (*run)(bool quick, int rounds);
} sections[] = {
        {"native", bench_native}, {"js", bench_js}, {"threads", bench_threads}, {"ppc", bench_ppc}};

/* The index of the section called name, or -1. */
static int section(const char *name)
{
	for (int i = 0; i < (int)(sizeof sections / sizeof sections[0]); i++)
		if (strcmp(sections[i].name, name) == 0)
			return i;
	return -1;
}

int main(int argc, char **argv)
{
	bool quick = false;
	const char *only = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			quick = true;
		else if (!only && section(argv[i]) >= 0)
			only = argv[i];
		else {
			fprintf(stderr, "usage: pp_bench [--quick] [native|js|threads|ppc]\n");
			return 2;
		}
	}
	int rounds = quick ? 1 : 5;
	printf("polyplug-c benchmark (best of %d rounds%s)\n", rounds,
	       quick ? ", --quick: timings meaningless" : "");
	int failed = 0;
	for (int i = 0; i < (int)(sizeof sections / sizeof sections[0]); i++)
		if (!only || i == section(only))
			failed |= sections[i].run(quick, rounds);
	return failed;
}
