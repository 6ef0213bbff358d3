/* test_abi.c — the ABI's fixed layouts, the identity hashes and the call arena. */
#include "helpers.h"

#define OFF(type, field, expected) assert_int_equal(offsetof(type, field), (expected))

static void layouts_are_pinned(void **state)
{
	(void)state;
	assert_int_equal(sizeof(pp_string_view), 16);
	OFF(pp_string_view, ptr, 0);
	OFF(pp_string_view, len, 8);
	assert_int_equal(sizeof(pp_abi_error), 24);
	OFF(pp_abi_error, code, 0);
	OFF(pp_abi_error, message, 8);
	assert_int_equal(sizeof(pp_version), 12);
	OFF(pp_version, minor, 4);
	OFF(pp_version, patch, 8);
	assert_int_equal(sizeof(pp_guest_contract_handle), 8);
	OFF(pp_guest_contract_handle, generation, 4);
	assert_int_equal(sizeof(pp_guest_contract_instance), 16);
	OFF(pp_guest_contract_instance, contract_id, 8);
	assert_int_equal(sizeof(pp_vm_loader_data), 8);
	assert_int_equal(sizeof(pp_native_dispatch), 16);
	OFF(pp_native_dispatch, functions, 8);
	assert_int_equal(sizeof(pp_vm_dispatch), 16);
	OFF(pp_vm_dispatch, loader_data, 8);
	assert_int_equal(sizeof(pp_dispatch_mechanisms), 16);

	/* ABI 2: growable structs lead with their size */
	assert_int_equal(sizeof(pp_guest_contract_interface), 72);
	assert_int_equal(PP_GUEST_CONTRACT_INTERFACE_V2_SIZE, 64); /* what size 0 means */
	OFF(pp_guest_contract_interface, layouts, 64);
	OFF(pp_guest_contract_interface, size, 0);
	OFF(pp_guest_contract_interface, dispatch_type, 4);
	OFF(pp_guest_contract_interface, contract_id, 8);
	OFF(pp_guest_contract_interface, contract_version, 16);
	OFF(pp_guest_contract_interface, create_instance, 32);
	OFF(pp_guest_contract_interface, destroy_instance, 40);
	OFF(pp_guest_contract_interface, dispatch, 48);

	assert_int_equal(sizeof(pp_host_contract_interface), 72);
	assert_int_equal(PP_HOST_CONTRACT_INTERFACE_V2_SIZE, 64);
	OFF(pp_host_contract_interface, layouts, 64);
	OFF(pp_host_contract_interface, size, 0);
	OFF(pp_host_contract_interface, flags, 4);
	OFF(pp_host_contract_interface, contract_id, 8);
	OFF(pp_host_contract_interface, contract_version, 16);
	OFF(pp_host_contract_interface, dispatch_type, 28);
	OFF(pp_host_contract_interface, create_instance, 32);
	OFF(pp_host_contract_interface, destroy_instance, 40);
	OFF(pp_host_contract_interface, dispatch, 48);
	assert_int_equal(sizeof(pp_host_contract_instance), 8);

	assert_int_equal(sizeof(pp_plugin_descriptor), 48);
	OFF(pp_plugin_descriptor, contract_name, 16);
	OFF(pp_plugin_descriptor, version, 32);
	assert_int_equal(sizeof(pp_bundle_init_context), 24);
	OFF(pp_bundle_init_context, bundle_path, 8);
	assert_int_equal(sizeof(pp_array), 24);
	OFF(pp_array, len, 8);
	OFF(pp_array, align, 16);
	assert_int_equal(sizeof(pp_dependency_info), 24);
	OFF(pp_dependency_info, min_version, 8);
	OFF(pp_dependency_info, bundle_id, 16);

	assert_int_equal(sizeof(pp_call_arena), 40);
	OFF(pp_call_arena, end, 8);
	OFF(pp_call_arena, base, 16);
	OFF(pp_call_arena, host, 24);
	OFF(pp_call_arena, first_overflow, 32);
	assert_int_equal(sizeof(pp_arena_overflow_block), 24); /* {next, capacity, used} */
	OFF(pp_arena_overflow_block, capacity, 8);
	OFF(pp_arena_overflow_block, used, 16);

	/* What hosts' inline calls read (call_inline.h): part of this soname's
	 * ABI; internal.h pins them to the runtime's private structs. */
	assert_int_equal(PP__MAX_SLOTS, 1u << 20);
	assert_int_equal(sizeof(pp__reader), 16);
	OFF(pp__reader, nest, 8);
	OFF(pp__node_view, function_count, 4);
	OFF(pp__node_view, iface, 8);
	OFF(pp__node_view, instance_key, 8 + sizeof(pp_guest_contract_interface));
	OFF(pp__node_view, loader_checks_instances, 16 + sizeof(pp_guest_contract_interface));
	assert_int_equal(sizeof(pp__slot_view), 16);
	OFF(pp__runtime_head, slots, 8);
	OFF(pp__runtime_head, membarrier, 16);
	OFF(pp__runtime_head, fence_word, 20);
	OFF(pp__runtime_head, tsan_sync, 24);
	assert_int_equal(sizeof(pp__thread_cache), 16);
	OFF(pp__thread_cache, reader, 8);
}

static void host_api_keeps_the_reference_order_after_its_size(void **state)
{
	(void)state;
	assert_int_equal(sizeof(pp_host_api), 208);
	OFF(pp_host_api, size, 0);
	OFF(pp_host_api, abi_version, 4);
	OFF(pp_host_api, runtime, 8);
	OFF(pp_host_api, register_guest_contract, 16);
	OFF(pp_host_api, alloc, 24);
	OFF(pp_host_api, free, 32);
	OFF(pp_host_api, find_guest_contract, 40);
	OFF(pp_host_api, find_all_guest_contracts, 48);
	OFF(pp_host_api, resolve_guest_contract, 56);
	OFF(pp_host_api, get_host_contract, 64);
	OFF(pp_host_api, resolve_host_contract_interface, 72);
	OFF(pp_host_api, list_bundles, 80);
	OFF(pp_host_api, get_dependencies, 88);
	OFF(pp_host_api, load_bundle, 96);
	OFF(pp_host_api, reload_bundle, 104);
	OFF(pp_host_api, register_host_contract, 112);
	OFF(pp_host_api, register_loader, 120);
	OFF(pp_host_api, get_last_error, 128);
	OFF(pp_host_api, get_error_len, 136);
	OFF(pp_host_api, unload_bundle, 144);
	OFF(pp_host_api, log, 152);
	OFF(pp_host_api, create_guest_instance, 160);
	OFF(pp_host_api, destroy_guest_instance, 168);
	OFF(pp_host_api, revision_counter, 176);
	OFF(pp_host_api, reserved, 184);
	OFF(pp_host_api, call_guest_contract, 192); /* appended since */
	OFF(pp_host_api, call_host_contract, 200);
}

static void host_api_entries_are_all_set(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	const pp_host_api *h = pp_runtime_host_api(rt);
	const void *const *slots = (const void *const *)(const void *)h;
	assert_int_equal(h->size, sizeof *h);
	assert_int_equal(h->abi_version, PP_ABI_VERSION);
	assert_ptr_equal(h->runtime, rt);
	size_t reserved = offsetof(pp_host_api, reserved) / sizeof(void *);
	for (size_t i = 2; i < sizeof *h / sizeof(void *); i++)
		if (i != reserved && !slots[i])
			fail_msg("HostApi entry %zu is NULL", i);
	assert_null(h->reserved);
	pp_runtime_free(rt);
}

static void fnv_golden_values(void **state)
{
	(void)state;
	assert_true(pp_fnv1a64("image.decode@1", 14) == 0xa1ba05dd7da18569ull);
	assert_true(pp_bundle_id("my-bundle") == 0xfe6226876e3a35b2ull);
	assert_true(pp_fnv1a64("", 0) == PP_FNV_OFFSET);
	/* The contract helpers hash the documented strings. */
	const char *g = "guest_contract:pipeline.Decoder@1";
	assert_true(pp_guest_contract_id("pipeline.Decoder", 1) == pp_fnv1a64(g, strlen(g)));
	const char *hc = "host_contract:host.Logger@12";
	assert_true(pp_host_contract_id("host.Logger", 12) == pp_fnv1a64(hc, strlen(hc)));
	const char *big = "guest_contract:x@4294967295";
	assert_true(pp_guest_contract_id("x", UINT32_MAX) == pp_fnv1a64(big, strlen(big)));
	assert_true(pp_guest_contract_id("a", 1) != pp_host_contract_id("a", 1));
	assert_true(pp_guest_contract_id("a", 1) != pp_guest_contract_id("a", 2));
}

static void handles_pack_like_the_reference(void **state)
{
	(void)state;
	pp_guest_contract_handle null = pp_handle_null();
	assert_true(pp_handle_is_null(null));
	assert_true(pp_handle_pack(null) == UINT64_MAX);
	assert_true(pp_handle_is_null(pp_handle_unpack(UINT64_MAX)));
	pp_guest_contract_handle h = {0x80000001u, 0xFFFFFFFEu};
	uint64_t packed = pp_handle_pack(h);
	assert_true(packed == 0xFFFFFFFE80000001ull);
	pp_guest_contract_handle back = pp_handle_unpack(packed);
	assert_int_equal(back.index, h.index);
	assert_int_equal(back.generation, h.generation);
	assert_int_equal(pp_version_pack(1, 2), 0x10002);
}

/* The numbers docs/abi.md gives: a host or plugin of another language
 * spells them out, so each is part of the ABI, not just its name. */
static void the_documented_constants_keep_their_values(void **state)
{
	(void)state;
	assert_int_equal(PP_ABI_VERSION, 2);
	assert_int_equal(PP_DISPATCH_NATIVE, 0);
	assert_int_equal(PP_DISPATCH_VM, 1);
	assert_int_equal(PP_MAX_CONTRACT_FUNCTIONS, 65536);
	assert_int_equal(PP_MAX_REGISTRATIONS, 4096);
	assert_int_equal(PP_MAX_NAME_BYTES, 4096);
	assert_int_equal(PP_MAX_LAYOUT_VIEWS, 256);
	assert_int_equal(PP_MAX_STRUCT_SIZE, 4096);
	assert_int_equal(PP_ARENA_BLOCK_MIN, 4096);
	/* the reference's codes, then polyplug-c's inside the runtime's range */
	static const uint32_t codes[] = {
	        PP_OK,
	        PP_ERR_GENERIC,
	        PP_ERR_BUFFER_TOO_SMALL,
	        PP_ERR_PANIC,
	        PP_ERR_NOT_FOUND,
	        PP_ERR_STALE_HANDLE,
	        PP_ERR_FUNCTION_NOT_AVAILABLE,
	        PP_ERR_DUPLICATE_PROVIDER,
	        PP_ERR_INVALID_POINTER,
	        PP_ERR_REENTRANT_CALL,
	        PP_ERR_DEPENDENCY_IN_USE,
	        PP_ERR_INVALID_ARGUMENT,
	        PP_ERR_LOAD_FAILED,
	        PP_ERR_ABI_MISMATCH,
	        PP_ERR_INIT_FAILED,
	        PP_ERR_OUT_OF_MEMORY,
	        PP_ERR_IO,
	        PP_ERR_UNSUPPORTED,
	        PP_ERR_TIMEOUT,
	        PP_ERR_VM_DEAD,
	        PP_ERR_STALE_INSTANCE,
	};
	for (uint32_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		assert_int_equal(codes[i], i);
	assert_int_equal(PP_ERR_HOST_CONTRACT_NOT_FOUND, 100);
	assert_int_equal(PP_ERR_HOST_CONTRACT_VERSION_MISMATCH, 101);
	assert_int_equal(PP_ERR_HOST_CONTRACT_CALL_FAILED, 102);
	assert_int_equal(PP_ERR_PLUGIN_FIRST, 256);
}

#define PP_NAME_OF(x) #x
#define PP_EXPANDED_NAME(x) PP_NAME_OF(x)

/* A host compiled with the inline call path links against names that carry
 * the private layout's version, so one built for another layout fails to
 * load instead of misreading (docs/abi.md, "The inline call path"). */
static void inline_hosts_link_against_names_that_carry_the_layout_version(void **state)
{
	(void)state;
	assert_string_equal(PP_EXPANDED_NAME(pp__tls), "pp__tls_layout3");
	assert_string_equal(PP_EXPANDED_NAME(pp__call_failed), "pp__call_failed_layout3");
}

/* ---- Arena ---------------------------------------------------------------- */

typedef struct counting_host {
	pp_host_api api;
	int allocs, frees;
	size_t live_bytes;
	bool fail;
} counting_host;

static void *c_alloc(const pp_host_api *self, size_t size, size_t align)
{
	counting_host *c = (counting_host *)(void *)self;
	if (c->fail)
		return NULL;
	void *p = aligned_alloc(align, (size + align - 1) & ~(align - 1));
	c->allocs++;
	c->live_bytes += size;
	return p;
}

static void c_free(const pp_host_api *self, void *ptr, size_t size, size_t align)
{
	(void)align;
	counting_host *c = (counting_host *)(void *)self;
	c->frees++;
	c->live_bytes -= size;
	free(ptr);
}

static counting_host *new_counting_host(void)
{
	counting_host *c = calloc(1, sizeof *c);
	c->api.alloc = c_alloc;
	c->api.free = c_free;
	return c;
}

static void arena_bumps_within_its_buffer(void **state)
{
	(void)state;
	counting_host *h = new_counting_host();
	_Alignas(16) uint8_t buf[256];
	pp_call_arena a;
	pp_call_arena_init(&a, buf, sizeof buf, &h->api);
	uint8_t *p1 = pp_call_arena_alloc(&a, 3, 1);
	uint8_t *p2 = pp_call_arena_alloc(&a, 8, 8);
	uint8_t *p3 = pp_call_arena_alloc(&a, 16, 16);
	assert_ptr_equal(p1, buf);
	assert_true(((uintptr_t)p2 & 7) == 0 && p2 >= p1 + 3);
	assert_true(((uintptr_t)p3 & 15) == 0 && p3 >= p2 + 8);
	assert_true(p3 + 16 <= buf + sizeof buf);
	assert_int_equal(h->allocs, 0);
	/* refused requests */
	assert_null(pp_call_arena_alloc(&a, 0, 1));
	assert_null(pp_call_arena_alloc(&a, 8, 3));
	assert_null(pp_call_arena_alloc(&a, 8, 0));
	pp_call_arena_reset(&a);
	assert_ptr_equal(pp_call_arena_alloc(&a, 1, 1), buf);
	pp_call_arena_free(&a);
	assert_int_equal(h->frees, 0);
	free(h);
}

/* Writes every byte of an arena allocation. Out of line: inlined, GCC's
 * -O2 bounds check cannot tell that an allocation too big for the stack
 * buffer never comes from it, and warns. */
__attribute__((noinline)) static void touch(void *p, int byte, size_t n)
{
	memset(p, byte, n);
}

static void arena_overflows_into_host_blocks_and_keeps_them(void **state)
{
	(void)state;
	counting_host *h = new_counting_host();
	uint8_t buf[64];
	pp_call_arena a;
	pp_call_arena_init(&a, buf, sizeof buf, &h->api);
	assert_non_null(pp_call_arena_alloc(&a, 60, 1));
	uint8_t *o1 = pp_call_arena_alloc(&a, 100, 8); /* does not fit the buffer */
	assert_non_null(o1);
	assert_true(o1 < buf || o1 >= buf + sizeof buf);
	assert_int_equal(h->allocs, 1);
	const pp_arena_overflow_block *first = a.first_overflow;
	if (!first)
		fail_msg("no overflow block");
	else
		assert_true(first->capacity >= PP_ARENA_BLOCK_MIN);
	touch(o1, 0xAB, 100);
	/* a second small one shares the block */
	assert_non_null(pp_call_arena_alloc(&a, 100, 8));
	assert_int_equal(h->allocs, 1);
	/* a big one chains a new block sized for it */
	uint8_t *big = pp_call_arena_alloc(&a, 100000, 64);
	assert_non_null(big);
	assert_true(((uintptr_t)big & 63) == 0);
	touch(big, 1, 100000);
	assert_int_equal(h->allocs, 2);
	first = a.first_overflow;
	if (!first)
		fail_msg("no overflow block");
	else
		assert_true(first->capacity >= 100000 + sizeof(pp_arena_overflow_block));

	/* reset keeps the blocks and reuses them */
	pp_call_arena_reset(&a);
	assert_ptr_equal(pp_call_arena_alloc(&a, 10, 1), buf);
	assert_non_null(pp_call_arena_alloc(&a, 90000, 8));
	assert_non_null(pp_call_arena_alloc(&a, 2000, 8));
	assert_int_equal(h->allocs, 2);

	pp_call_arena_free(&a);
	assert_int_equal(h->frees, 2);
	assert_int_equal(h->live_bytes, 0);
	assert_null(a.first_overflow);
	free(h);
}

static void arena_without_buffer_or_host(void **state)
{
	(void)state;
	counting_host *h = new_counting_host();
	pp_call_arena a;
	pp_call_arena_init(&a, NULL, 0, &h->api);
	assert_non_null(pp_call_arena_alloc(&a, 1, 1));
	assert_int_equal(h->allocs, 1);
	h->fail = true;
	assert_null(pp_call_arena_alloc(&a, 8192, 1)); /* host refuses: NULL, no crash */
	h->fail = false;
	pp_call_arena_free(&a);
	assert_int_equal(h->live_bytes, 0);

	pp_call_arena no_host;
	uint8_t buf[16];
	pp_call_arena_init(&no_host, buf, sizeof buf, NULL);
	assert_non_null(pp_call_arena_alloc(&no_host, 16, 1));
	assert_null(pp_call_arena_alloc(&no_host, 1, 1));
	pp_call_arena_free(&no_host);
	assert_null(pp_call_arena_alloc(&no_host, SIZE_MAX - 8, 1));
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(layouts_are_pinned),
	        cmocka_unit_test(host_api_keeps_the_reference_order_after_its_size),
	        cmocka_unit_test(host_api_entries_are_all_set),
	        cmocka_unit_test(fnv_golden_values),
	        cmocka_unit_test(handles_pack_like_the_reference),
	        cmocka_unit_test(the_documented_constants_keep_their_values),
	        cmocka_unit_test(inline_hosts_link_against_names_that_carry_the_layout_version),
	        cmocka_unit_test(arena_bumps_within_its_buffer),
	        cmocka_unit_test(arena_overflows_into_host_blocks_and_keeps_them),
	        cmocka_unit_test(arena_without_buffer_or_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
