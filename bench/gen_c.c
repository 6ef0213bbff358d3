/* The C side of bench.GenC, written against ppc's generated header. */
#define PPC_BUNDLE_NAME "bench_gen_c"
#define PPC_IMPLEMENT_BENCH_GENC
#include "gen.h"

uint32_t bench_genc_add_impl(ppc_ctx *ctx, int32_t a, int32_t b, int32_t *result)
{
	(void)ctx;
	*result = a + b;
	return PP_OK;
}
