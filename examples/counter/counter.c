/* counter — a C bundle providing demo.Counter@1, a contract with per-caller
 * state: each instance keeps its own running total. */
#include "../demo_contracts.h"

typedef struct counter {
	int64_t total;
} counter;

static void add(pp_guest_contract_instance self, const void *args, void *out, pp_abi_error *err)
{
	counter *c = self.data;
	if (!c) { /* the stateless default instance has nothing to add to */
		err->code = PP_ERR_INVALID_POINTER;
		err->message = demo_view("counter: create an instance first");
		return;
	}
	c->total += *(const int64_t *)args;
	*(int64_t *)out = c->total;
}

static const void *const functions[] = {(const void *)add};

static void create(pp_vm_loader_data ld, const pp_host_api *h, const void *args,
                   pp_guest_contract_instance *out, pp_abi_error *err)
{
	(void)ld;
	counter *c = h->alloc(h, sizeof *c, _Alignof(counter));
	if (c)
		c->total = args ? *(const int64_t *)args : 0;
	else
		*err = (pp_abi_error){PP_ERR_OUT_OF_MEMORY, PP_SV("no memory for a counter")};
	out->data = c;
	out->contract_id = DEMO_COUNTER;
}

static void destroy(pp_vm_loader_data ld, const pp_host_api *h, pp_guest_contract_instance inst)
{
	(void)ld;
	if (inst.data)
		h->free(h, inst.data, sizeof(counter), _Alignof(counter));
}

PP_DEFINE_ABI_VERSION()

PP_EXPORT pp_abi_error polyplug_init(const pp_host_api *h, const pp_bundle_init_context *ctx)
{
	(void)ctx;
	return demo_register(h, "counter", "demo.Counter", functions, 1, create, destroy);
}
