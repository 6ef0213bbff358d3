/* encoder — pipeline.Encoder in C: "TRANSFORMED:NAME|v|43" -> "NAME,v,43",
 * counting what it encoded. */
#include <stdatomic.h>

#define PPC_BUNDLE_NAME "encoder"
#define PPC_IMPLEMENT_PIPELINE_ENCODER
#include "pipeline.h"

static _Atomic uint32_t encoded;

uint32_t pipeline_encoder_encode_impl(ppc_ctx *ctx, pp_string_view input, pp_string_view *result)
{
	static const char prefix[] = "TRANSFORMED:";
	size_t skip = sizeof prefix - 1;
	if (input.len < skip || memcmp(input.ptr, prefix, skip) != 0)
		return PP_ERR_INVALID_ARGUMENT;
	uint32_t st = ppc_result_bytes(ctx, input.ptr + skip, input.len - skip, result);
	for (size_t i = 0; st == PP_OK && i < result->len; i++)
		if (result->ptr[i] == '|')
			((uint8_t *)result->ptr)[i] = ',';
	if (st == PP_OK)
		atomic_fetch_add(&encoded, 1);
	return st;
}

uint32_t pipeline_encoder_encoded_impl(ppc_ctx *ctx, uint32_t *result)
{
	(void)ctx;
	*result = atomic_load(&encoded);
	return PP_OK;
}
