/* relay_c.c — test.relay@1 through ppc's generated host-contract caller:
 * add_many(n) calls test.provided's add(1) n times and counts the calls
 * that went wrong — a status other than PP_OK or "not there right now", or
 * a total that is not a running count (hostprov's destroyed singleton
 * reads -1000). */
#define PPC_BUNDLE_NAME "relay_c"
#define PPC_IMPLEMENT_TEST_RELAY
#include "provided.h"

uint32_t test_relay_add_many_impl(ppc_ctx *ctx, uint32_t n, uint32_t *result)
{
	uint32_t wrong = 0;
	for (uint32_t i = 0; i < n; i++) {
		int32_t total = 0;
		uint32_t st = test_provided_add(ctx->host, 1, &total);
		if (st == PP_OK ? total <= 0 : st != PP_ERR_NOT_FOUND)
			wrong++;
	}
	*result = wrong;
	return PP_OK;
}
