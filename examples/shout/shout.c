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

PP_EXPORT uint32_t polyplug_abi_version(void)
{
	return PP_ABI_VERSION;
}

PP_EXPORT pp_abi_error polyplug_init(const pp_host_api *h, const pp_bundle_init_context *ctx)
{
	(void)ctx;
	host = h;
	pp_guest_contract_interface iface = {
	        .contract_id = DEMO_TRANSFORM,
	        .contract_version = {1, 0, 0},
	        .dispatch_type = PP_DISPATCH_NATIVE,
	        .create_instance = demo_stateless_create,
	        .destroy_instance = demo_stateless_destroy,
	        .dispatch.native = {1, functions},
	};
	pp_plugin_descriptor d = {demo_view("shout"), demo_view("demo.Transform@1"), {1, 0, 0}};
	pp_abi_error err = {0, {NULL, 0}};
	h->register_guest_contract(h, &d, &iface, &err);
	return err;
}
