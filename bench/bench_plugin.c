/* bench_plugin.c — the native guest the benchmark calls: bench.Add@1,
 * fn 0: add(i32 a, i32 b) -> i32. */
#include <polyplug/abi.h>

typedef struct {
	int32_t a, b;
} add_args;

static void add(pp_guest_contract_instance self, const void *args, void *out, pp_abi_error *err)
{
	(void)self;
	(void)err;
	const add_args *p = args;
	*(int32_t *)out = p->a + p->b;
}

static const void *const functions[] = {(const void *)add};

static void create(pp_vm_loader_data ld, const pp_host_api *h, const void *args,
                   pp_guest_contract_instance *out, pp_abi_error *err)
{
	(void)ld;
	(void)h;
	(void)args;
	(void)err;
	static char state; /* add keeps none; an instance needs an address */
	out->data = &state;
}

static void destroy(pp_vm_loader_data ld, const pp_host_api *h, pp_guest_contract_instance i)
{
	(void)ld;
	(void)h;
	(void)i;
}

/* The floor: the same function, exported for a direct call. */
PP_EXPORT void bench_add_direct(pp_guest_contract_instance self, const void *args, void *out,
                                pp_abi_error *err);
PP_EXPORT void bench_add_direct(pp_guest_contract_instance self, const void *args, void *out,
                                pp_abi_error *err)
{
	add(self, args, out, err);
}

PP_DEFINE_ABI_VERSION()

PP_EXPORT pp_abi_error polyplug_init(const pp_host_api *h, const pp_bundle_init_context *ctx)
{
	(void)ctx;
	pp_guest_contract_interface iface = {
	        .contract_id = pp_guest_contract_id("bench.Add", 1),
	        .contract_version = {1, 0, 0},
	        .dispatch_type = PP_DISPATCH_NATIVE,
	        .create_instance = create,
	        .destroy_instance = destroy,
	        .dispatch.native = {1, functions},
	};
	pp_plugin_descriptor d = {
	        {(const uint8_t *)"bench", 5}, {(const uint8_t *)"bench.Add@1", 11}, {1, 0, 0}};
	pp_abi_error err = {0, {NULL, 0}};
	h->register_guest_contract(h, &d, &iface, &err);
	return err;
}
