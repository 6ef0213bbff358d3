/* wordcount — a C bundle providing demo.WordCount@1. It reports each count
 * through the host's demo.Log@1 contract. */
#include <ctype.h>
#include <stdio.h>

#include "../demo_contracts.h"

static const pp_host_api *host;

static void log_line(const char *line)
{
	const pp_host_contract_interface *log =
	        host->resolve_host_contract_interface(host, DEMO_LOG, pp_version_pack(1, 0));
	if (!log || log->dispatch_type != PP_DISPATCH_NATIVE)
		return;
	pp_host_contract_instance inst =
	        host->get_host_contract(host, DEMO_LOG, pp_version_pack(1, 0));
	pp_string_view v = demo_view(line);
	pp_abi_error err = {0, {NULL, 0}};
	((pp_native_host_fn)log->dispatch.native.functions[0])(inst.data, &v, NULL, &err);
	if (!(log->flags & PP_HOST_CONTRACT_SINGLETON))
		log->destroy_instance(log, inst);
}

static void count(pp_guest_contract_instance self, const void *args, void *out, pp_abi_error *err)
{
	(void)self;
	(void)err;
	const pp_string_view *text = args;
	uint32_t words = 0;
	int in_word = 0;
	for (size_t i = 0; i < text->len; i++) {
		int space = isspace(text->ptr[i]);
		words += !space && !in_word;
		in_word = !space;
	}
	*(uint32_t *)out = words;
	char line[64];
	snprintf(line, sizeof line, "wordcount counted %u words", words);
	log_line(line);
}

static const void *const functions[] = {(const void *)count};

PP_DEFINE_ABI_VERSION()

PP_EXPORT pp_abi_error polyplug_init(const pp_host_api *h, const pp_bundle_init_context *ctx)
{
	(void)ctx;
	host = h;
	return demo_register(h, "wordcount", "demo.WordCount", functions, 1, demo_stateless_create,
	                     demo_stateless_destroy);
}
