/* shout — a C bundle providing demo.Transform@1: upper-cases its input. */
#include <ctype.h>

#include "../demo_contracts.h"

static const pp_host_api *host;

static void transform(pp_guest_contract_instance self, const void *args, void *out,
                      pp_abi_error *err)
{
	(void)self;
	const pp_string_view *in = args;
	pp_string_view *result = out;
	uint8_t *buf = in->len ? host->alloc(host, in->len, 1) : NULL;
	if (in->len && !buf) {
		err->code = PP_ERR_OUT_OF_MEMORY;
		err->message = demo_view("shout: out of memory");
		return;
	}
	for (size_t i = 0; i < in->len; i++)
		buf[i] = (uint8_t)toupper(in->ptr[i]);
	result->ptr = buf;
	result->len = in->len;
}

static const void *const functions[] = {(const void *)transform};

PP_DEFINE_ABI_VERSION()

PP_EXPORT pp_abi_error polyplug_init(const pp_host_api *h, const pp_bundle_init_context *ctx)
{
	(void)ctx;
	host = h;
	return demo_register(h, "shout", "demo.Transform", functions, 1, demo_stateless_create,
	                     demo_stateless_destroy);
}
