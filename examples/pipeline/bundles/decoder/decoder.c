/* decoder — pipeline.Decoder in C: "name,value,42" -> "DECODED:name|value|42".
 * Fields are trimmed; a record without exactly three fields fails with the plugin code
 * ERR_MALFORMED (plugin codes start at PP_ERR_PLUGIN_FIRST, 256). */
#include <stdio.h>

#define PPC_BUNDLE_NAME "decoder"
#define PPC_IMPLEMENT_PIPELINE_DECODER
#include "pipeline.h"

enum { ERR_MALFORMED = PP_ERR_PLUGIN_FIRST };

static void trim(const uint8_t **p, size_t *n)
{
	while (*n && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*n)--;
	}
	while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t' || (*p)[*n - 1] == '\r'))
		(*n)--;
}

uint32_t pipeline_decoder_decode_impl(ppc_ctx *ctx, pp_string_view input, pp_string_view *result)
{
	char out[1024];
	size_t used = (size_t)snprintf(out, sizeof out, "DECODED:");
	const uint8_t *field = input.ptr;
	size_t fields = 0;
	for (size_t i = 0; i <= input.len; i++) {
		if (i < input.len && input.ptr[i] != ',')
			continue;
		const uint8_t *p = field;
		size_t n = (size_t)(input.ptr + i - field);
		trim(&p, &n);
		if (used + n + 1 >= sizeof out)
			return ERR_MALFORMED;
		if (fields++)
			out[used++] = '|';
		memcpy(out + used, p, n);
		used += n;
		field = input.ptr + i + 1;
	}
	if (fields != 3) {
		char msg[128];
		snprintf(msg, sizeof msg, "decoder: %zu field(s) in '%.*s', want 3", fields,
		         (int)(input.len > 40 ? 40 : input.len), (const char *)input.ptr);
		host_logger_log(ctx->host, LogLevel_Warn, ppc_str(msg));
		return ERR_MALFORMED;
	}
	return ppc_result_bytes(ctx, out, used, result);
}
