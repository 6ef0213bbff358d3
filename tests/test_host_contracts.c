/* test_host_contracts.c — contracts the host offers: singletons and per-call
 * instances, lookups by version, and a plugin calling one. */
#include "helpers.h"

#define COUNTER pp_host_contract_id("test.counter", 1)

/* A host contract embedded in the host's own state, recovered from `self`. */
typedef struct counter_host {
	pp_host_contract_interface iface;
	int created, destroyed;
	int64_t total_at_destroy; /* of the last instance destroyed */
} counter_host;

typedef struct counter {
	int64_t total;
} counter;

static void counter_add(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)err;
	counter *c = state;
	c->total += *(const int32_t *)args;
	*(int64_t *)out = c->total;
}

static const void *const counter_fns[] = {(const void *)counter_add};

static pp_host_contract_instance counter_create(const pp_host_contract_interface *self,
                                                const void *args)
{
	(void)args;
	counter_host *h = (counter_host *)(void *)self;
	h->created++;
	pp_host_contract_instance inst = {calloc(1, sizeof(counter))};
	return inst;
}

static void counter_destroy(const pp_host_contract_interface *self, pp_host_contract_instance inst)
{
	counter_host *h = (counter_host *)(void *)self;
	h->destroyed++;
	h->total_at_destroy = ((counter *)inst.data)->total;
	free(inst.data);
}

static void counter_init(counter_host *h, bool singleton, uint32_t minor)
{
	memset(h, 0, sizeof *h);
	h->iface.contract_id = COUNTER;
	h->iface.contract_version = (pp_version){1, minor, 0};
	h->iface.flags = singleton ? PP_HOST_CONTRACT_SINGLETON : 0;
	h->iface.dispatch_type = PP_DISPATCH_NATIVE;
	h->iface.create_instance = counter_create;
	h->iface.destroy_instance = counter_destroy;
	h->iface.dispatch.native.function_count = 1;
	h->iface.dispatch.native.functions = counter_fns;
}

static int64_t hostcall(pp_runtime *rt, int32_t n, uint32_t *code)
{
	int64_t out = -1;
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.hostcall", 1), 0);
	pp_guest_contract_instance none = {NULL, 0};
	*code = pp_call(rt, h, none, 0, &n, &out, NULL);
	return out;
}

static void singleton_is_created_once_and_shared(void **state)
{
	(void)state;
	counter_host host;
	counter_init(&host, true, 0);
	pp_runtime *rt = rt_new();
	assert_int_equal(pp_host_contract_register(rt, &host.iface), PP_OK);
	assert_int_equal(host.created, 1);
	load_ok(rt, fx("host_caller"));
	uint32_t code;
	assert_int_equal(hostcall(rt, 5, &code), 5);
	assert_int_equal(code, PP_OK);
	assert_int_equal(hostcall(rt, 7, &code), 12); /* the same instance */
	assert_int_equal(host.created, 1);
	assert_int_equal(host.destroyed, 0);
	pp_stats st;
	pp_runtime_stats(rt, &st);
	assert_int_equal(st.host_contracts, 1);
	pp_runtime_free(rt);
	assert_int_equal(host.destroyed, 1);
}

static void per_call_instances_are_created_and_destroyed_each_call(void **state)
{
	(void)state;
	counter_host host;
	counter_init(&host, false, 3);
	pp_runtime *rt = rt_new();
	assert_int_equal(pp_host_contract_register(rt, &host.iface), PP_OK);
	assert_int_equal(host.created, 0);
	load_ok(rt, fx("host_caller"));
	uint32_t code;
	assert_int_equal(hostcall(rt, 5, &code), 5);
	assert_int_equal(hostcall(rt, 7, &code), 7); /* fresh state each call */
	assert_int_equal(host.created, 2);
	assert_int_equal(host.destroyed, 2);
	pp_runtime_free(rt);
	/* host_caller's shutdown made one more call on its way out */
	assert_int_equal(host.created, 3);
	assert_int_equal(host.destroyed, 3);
}

static void plugin_shutdown_still_finds_the_hosts_singleton(void **state)
{
	(void)state;
	counter_host host;
	counter_init(&host, true, 0);
	pp_runtime *rt = rt_new();
	assert_int_equal(pp_host_contract_register(rt, &host.iface), PP_OK);
	load_ok(rt, fx("host_caller"));
	uint32_t code;
	assert_int_equal(hostcall(rt, 5, &code), 5);
	pp_runtime_free(rt);
	/* the shutdown's call (+1) reached the singleton before it was destroyed */
	assert_int_equal(host.destroyed, 1);
	assert_int_equal(host.total_at_destroy, 6);
}

static void lookups_check_the_packed_version(void **state)
{
	(void)state;
	counter_host host;
	counter_init(&host, true, 3); /* 1.3 */
	pp_runtime *rt = rt_new();
	assert_int_equal(pp_host_contract_register(rt, &host.iface), PP_OK);
	const pp_host_api *api = pp_runtime_host_api(rt);
	assert_ptr_equal(api->resolve_host_contract_interface(api, COUNTER, 0), &host.iface);
	assert_ptr_equal(api->resolve_host_contract_interface(api, COUNTER, 0x10000), &host.iface);
	assert_ptr_equal(api->resolve_host_contract_interface(api, COUNTER, 0x10003), &host.iface);
	assert_null(api->resolve_host_contract_interface(api, COUNTER, 0x10004));
	assert_int_equal(api->get_error_len(api), strlen(pp_last_error(rt)));
	assert_contains(pp_last_error(rt), "version mismatch");
	assert_null(api->resolve_host_contract_interface(api, COUNTER, 0x20000));
	assert_null(api->resolve_host_contract_interface(api, pp_host_contract_id("x", 1), 0));
	assert_contains(pp_last_error(rt), "not registered");
	pp_host_contract_instance none =
	        api->get_host_contract(api, pp_host_contract_id("x", 1), 0);
	assert_null(none.data);

	/* get_last_error copies the whole message or nothing */
	char buf[256];
	size_t n = api->get_last_error(api, (uint8_t *)buf, sizeof buf);
	assert_int_equal(n, strlen(pp_last_error(rt)));
	assert_int_equal(api->get_last_error(api, (uint8_t *)buf, 3), 0);
	pp_runtime_free(rt);
}

static void plugin_sees_missing_host_contract(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	load_ok(rt, fx("host_caller"));
	uint32_t code;
	hostcall(rt, 1, &code);
	assert_int_equal(code, PP_ERR_HOST_CONTRACT_NOT_FOUND);
	pp_runtime_free(rt);
}

static void registration_is_validated(void **state)
{
	(void)state;
	counter_host host, twin, bad;
	counter_init(&host, false, 0);
	counter_init(&twin, false, 0);
	pp_runtime *rt = rt_new();
	assert_int_equal(pp_host_contract_register(rt, &host.iface), PP_OK);
	assert_int_equal(pp_host_contract_register(rt, &twin.iface), PP_ERR_DUPLICATE_PROVIDER);
	assert_int_equal(pp_host_contract_register(rt, NULL), PP_ERR_INVALID_POINTER);
	counter_init(&bad, false, 0);
	bad.iface.contract_id = pp_host_contract_id("bad", 1);
	bad.iface.dispatch_type = 9;
	assert_int_equal(pp_host_contract_register(rt, &bad.iface), PP_ERR_INVALID_ARGUMENT);
	assert_contains(pp_last_error(rt), "unknown dispatch type 9");
	counter_init(&bad, false, 0);
	bad.iface.contract_id = pp_host_contract_id("bad", 1);
	static const void *const holes[] = {(const void *)counter_add, NULL};
	bad.iface.dispatch.native.functions = holes;
	bad.iface.dispatch.native.function_count = 2;
	assert_int_equal(pp_host_contract_register(rt, &bad.iface), PP_ERR_INVALID_POINTER);
	bad.iface.dispatch.native.function_count = 1;
	/* both instance hooks are required */
	bad.iface.create_instance = NULL;
	assert_int_equal(pp_host_contract_register(rt, &bad.iface), PP_ERR_INVALID_POINTER);
	assert_contains(pp_last_error(rt), "create_instance and destroy_instance are required");
	bad.iface.create_instance = host.iface.create_instance;
	bad.iface.destroy_instance = NULL;
	assert_int_equal(pp_host_contract_register(rt, &bad.iface), PP_ERR_INVALID_POINTER);
	assert_contains(pp_last_error(rt), "create_instance and destroy_instance are required");
	bad.iface.destroy_instance = host.iface.destroy_instance;
	assert_int_equal(pp_host_contract_register(rt, &bad.iface), PP_OK);
	pp_stats st;
	pp_runtime_stats(rt, &st);
	assert_int_equal(st.host_contracts, 2);
	pp_runtime_free(rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(singleton_is_created_once_and_shared),
	        cmocka_unit_test(per_call_instances_are_created_and_destroyed_each_call),
	        cmocka_unit_test(plugin_shutdown_still_finds_the_hosts_singleton),
	        cmocka_unit_test(lookups_check_the_packed_version),
	        cmocka_unit_test(plugin_sees_missing_host_contract),
	        cmocka_unit_test(registration_is_validated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
