/* test_registry.c — registry semantics through real native bundles: version
 * matching, several providers, duplicates, stale handles, the revision
 * counter, reload swaps, and the init-time trust rule. */
#include <stdatomic.h>

#include "js_helpers.h"
#include "runtime/internal.h"
#include "runtime/ptrset.h"
#include "runtime/strset.h"

static uint64_t revision(pp_runtime *rt)
{
	return atomic_load_explicit((_Atomic uint64_t *)(void *)pp_revision_counter(rt),
	                            memory_order_acquire);
}

static void find_matches_major_and_minimum_minor(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	load_ok(rt, fx("calc_v1")); /* test.calc 1.2 */
	assert_false(pp_handle_is_null(pp_find(rt, CALC, 0)));
	assert_false(pp_handle_is_null(pp_find(rt, CALC, 1)));       /* plain major */
	assert_true(pp_handle_is_null(pp_find(rt, CALC, 2)));        /* other major */
	assert_false(pp_handle_is_null(pp_find(rt, CALC, 0x10000))); /* 1.0 */
	assert_false(pp_handle_is_null(pp_find(rt, CALC, 0x10002))); /* 1.2 */
	assert_true(pp_handle_is_null(pp_find(rt, CALC, 0x10003)));  /* 1.3 */
	assert_true(pp_handle_is_null(pp_find(rt, CALC, 0x20000)));  /* 2.0 */
	assert_true(pp_handle_is_null(pp_find(rt, pp_guest_contract_id("test.calc", 2), 0)));
	assert_true(pp_handle_is_null(pp_find(rt, pp_guest_contract_id("nope", 1), 0)));
	pp_runtime_free(rt);
}

static void several_bundles_provide_one_contract_in_registration_order(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	load_ok(rt, fx("calc_alt")); /* 1.0, tag 7 */
	load_ok(rt, fx("calc_v1"));  /* 1.2, tag 1 */
	pp_guest_contract_handle all[4];
	assert_int_equal(pp_find_all(rt, CALC, 0, all, 4), 2);
	uint32_t code;
	int32_t tag;
	pp_guest_contract_instance none = {NULL, 0};
	assert_int_equal(pp_call(rt, all[0], none, 1, NULL, &tag, NULL), PP_OK);
	assert_int_equal(tag, 7);
	assert_int_equal(pp_call(rt, all[1], none, 1, NULL, &tag, NULL), PP_OK);
	assert_int_equal(tag, 1);
	/* find gives the first registered that matches */
	assert_int_equal(call_i32(rt, "test.calc", 1, 0, &code), 7);
	assert_int_equal(code, PP_OK);
	pp_guest_contract_handle h = pp_find(rt, CALC, 0x10001);
	assert_int_equal(pp_call(rt, h, none, 1, NULL, &tag, NULL), PP_OK);
	assert_int_equal(tag, 1);
	assert_int_equal(pp_find_all(rt, CALC, 0x10001, all, 4), 1);
	/* a small buffer still reports the full count */
	assert_int_equal(pp_find_all(rt, CALC, 0, all, 1), 2);

	/* the host table's find_all returns an array the caller frees */
	const pp_host_api *host = pp_runtime_host_api(rt);
	pp_array a = host->find_all_guest_contracts(host, CALC, 0);
	assert_int_equal(a.len, 2);
	assert_int_equal(a.align, _Alignof(pp_guest_contract_handle));
	host->free(host, a.items, a.len * sizeof(pp_guest_contract_handle), a.align);
	pp_runtime_free(rt);
}

static void same_bundle_registering_twice_is_a_duplicate(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	assert_int_equal(pp_bundle_load(rt, fx("broken_dup"), NULL, NULL), PP_ERR_INIT_FAILED);
	assert_contains(pp_last_error(rt), "broken_dup");
	assert_contains(pp_last_error(rt), "code 7");
	assert_contains(pp_last_error(rt), "twice");
	assert_true(pp_handle_is_null(pp_find(rt, pp_guest_contract_id("test.broken", 1), 0)));
	pp_stats st;
	pp_runtime_stats(rt, &st);
	assert_int_equal(st.contracts, 0);
	assert_int_equal(st.bundles, 0);
	pp_runtime_free(rt);
}

static void unload_makes_old_handles_stale(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	uint64_t id = load_ok(rt, fx("calc_v1"));
	pp_guest_contract_handle h = pp_find(rt, CALC, 0);
	assert_non_null(pp_resolve(rt, h));
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	assert_null(pp_resolve(rt, h));
	assert_true(pp_handle_is_null(pp_find(rt, CALC, 0)));
	pp_guest_contract_instance none = {NULL, 0};
	int32_t out;
	pair p = {1, 2};
	assert_int_equal(pp_call(rt, h, none, 0, &p, &out, NULL), PP_ERR_STALE_HANDLE);
	assert_contains(pp_last_error(rt), "stale");
	/* the host table agrees */
	const pp_host_api *host = pp_runtime_host_api(rt);
	assert_null(host->resolve_guest_contract(host, h));

	/* the slot is reused, but the old handle never resolves to the newcomer */
	load_ok(rt, fx("calc_v2"));
	pp_guest_contract_handle h2 = pp_find(rt, CALC, 0);
	assert_int_equal(h2.index, h.index);
	assert_true(h2.generation != h.generation);
	assert_null(pp_resolve(rt, h));
	assert_non_null(pp_resolve(rt, h2));
	/* null and out-of-range handles */
	assert_null(pp_resolve(rt, pp_handle_null()));
	pp_guest_contract_handle wild = {123456, 1};
	assert_null(pp_resolve(rt, wild));
	assert_int_equal(pp_call(rt, pp_handle_null(), none, 0, &p, &out, NULL),
	                 PP_ERR_STALE_HANDLE);
	pp_runtime_free(rt);
}

/* A call through the null handle (what a find that found nothing gives)
 * or a stale one fails with PP_ERR_STALE_HANDLE and a message saying which
 * handle and which it was (README's host: "handle ... is null"). */
static void a_call_through_a_null_or_stale_handle_says_which(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	pp_guest_contract_instance none = {NULL, 0};
	int32_t out;
	pp_guest_contract_handle missing = pp_find_named(rt, "math.Adder@1", 0, NULL);
	assert_int_equal(pp_call(rt, missing, none, 0, NULL, &out, NULL), PP_ERR_STALE_HANDLE);
	assert_string_equal(pp_last_error(rt), "handle 4294967295:0 is null");
	uint64_t id = load_ok(rt, fx("calc_v1"));
	pp_guest_contract_handle h = pp_find(rt, CALC, 0);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	assert_int_equal(pp_call(rt, h, none, 0, NULL, &out, NULL), PP_ERR_STALE_HANDLE);
	char want[96];
	snprintf(want, sizeof want, "handle %u:%u is stale (its bundle was unloaded)", h.index,
	         h.generation);
	assert_string_equal(pp_last_error(rt), want);
	pp_runtime_free(rt);
}

static void unknown_function_is_not_available(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	load_ok(rt, fx("calc_v1"));
	pp_guest_contract_instance none = {NULL, 0};
	int32_t out;
	pp_guest_contract_handle h = pp_find(rt, CALC, 0);
	assert_int_equal(pp_call(rt, h, none, 4, NULL, &out, NULL), PP_ERR_FUNCTION_NOT_AVAILABLE);
	assert_int_equal(pp_call(rt, h, none, UINT32_MAX, NULL, &out, NULL),
	                 PP_ERR_FUNCTION_NOT_AVAILABLE);
	assert_contains(pp_last_error(rt), "test.calc");
	/* plugin-defined codes and messages pass through verbatim */
	assert_int_equal(pp_call(rt, h, none, 2, NULL, &out, NULL), 300);
	assert_contains(pp_last_error(rt), "calc refused: negative input");
	assert_contains(pp_last_error(rt), "calc_v1");
	pp_runtime_free(rt);
}

static void revision_counter_moves_on_every_change(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	const pp_host_api *host = pp_runtime_host_api(rt);
	assert_ptr_equal(host->revision_counter(host), pp_revision_counter(rt));
	uint64_t r0 = revision(rt);
	uint64_t id = load_ok(rt, fx("calc_v1"));
	uint64_t r1 = revision(rt);
	assert_true(r1 > r0);
	/* a failed load changes nothing */
	assert_int_not_equal(pp_bundle_load(rt, fx("broken_init_fail"), NULL, NULL), PP_OK);
	assert_true(revision(rt) == r1);
	assert_int_equal(pp_bundle_reload(rt, id), PP_OK);
	uint64_t r2 = revision(rt);
	assert_true(r2 > r1);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	assert_true(revision(rt) > r2);
	pp_runtime_free(rt);
}

static void reload_swaps_code_behind_the_same_handle(void **state)
{
	(void)state;
	char dir[64], so[128];
	temp_dir(dir, sizeof dir);
	snprintf(so, sizeof so, "%s/calc.so", dir);
	copy_file(fx("calc_v1"), so);

	log_capture logs = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with_log(&logs, PP_LOG_ERROR);
	uint64_t id = load_ok(rt, so);
	pp_guest_contract_handle h = pp_find(rt, CALC, 0);
	uint32_t code;
	assert_int_equal(call_i32(rt, "test.calc", 1, 0, &code), 1);
	copy_file(fx("calc_v2"), so);
	assert_int_equal(pp_bundle_reload(rt, id), PP_OK);
	pp_guest_contract_instance none = {NULL, 0};
	int32_t tag;
	assert_int_equal(pp_call(rt, h, none, 1, NULL, &tag, NULL), PP_OK);
	assert_int_equal(tag, 2); /* same handle, new code */
	pp_guest_contract_handle again = pp_find(rt, CALC, 0);
	assert_int_equal(again.index, h.index);
	assert_int_equal(again.generation, h.generation);

	/* a reload whose new code fails keeps the old version serving, and its
	 * error is returned and logged (docs/runtime.md, Reloading) */
	copy_file(fx("broken_init_fail"), so);
	assert_int_equal(pp_bundle_reload(rt, id), PP_ERR_INIT_FAILED);
	assert_contains(pp_last_error(rt), "no config file found");
	pthread_mutex_lock(&logs.lock);
	assert_int_equal(logs.count[PP_LOG_ERROR], 1);
	assert_contains(logs.last, "reload of 'calc' failed, old version kept: ");
	assert_contains(logs.last, "no config file found");
	pthread_mutex_unlock(&logs.lock);
	assert_int_equal(pp_call(rt, h, none, 1, NULL, &tag, NULL), PP_OK);
	assert_int_equal(tag, 2);
	pp_runtime_free(rt);
	remove_tree(dir);
}

/* A JS bundle answering `value` from fn 0 of each contract it names. */
#define JS_ANSWERS(value, regs)                                                                 \
	JS_PRELUDE "function answer(i, a, o, ar, b) { b.writeI32(o, " #value "); return 0; }\n" \
	           "function polyplug_init() { return ok([" regs "]); }\n"

static int32_t answer_of(pp_runtime *rt, pp_guest_contract_handle h)
{
	int32_t v = -1;
	pp_guest_contract_instance none = {NULL, 0};
	assert_int_equal(pp_call(rt, h, none, 0, NULL, &v, NULL), PP_OK);
	return v;
}

/* docs/runtime.md, Reloading: contracts a reload provides again keep their
 * slot, generation and registration order; those it no longer provides are
 * unpublished; new ones are added. */
static void a_reload_keeps_what_it_provides_again_in_place_and_drops_the_rest(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char dir[64];
	js_write_dir(dir, sizeof dir,
	             JS_ANSWERS(1, "reg('r.Kept', [answer]), reg('r.Dropped', [answer])"));
	uint64_t id = load_ok(rt, dir);
	js_load_ok(rt, "second", JS_ANSWERS(9, "reg('r.Kept', [answer])"));
	uint64_t kept_id = pp_guest_contract_id("r.Kept", 1);
	pp_guest_contract_handle kept = pp_find(rt, kept_id, 0);
	pp_guest_contract_handle dropped = pp_find(rt, pp_guest_contract_id("r.Dropped", 1), 0);
	assert_int_equal(answer_of(rt, kept), 1);

	write_text(dir, "bundle.js",
	           JS_ANSWERS(2, "reg('r.Added', [answer]), reg('r.Kept', [answer])"));
	assert_int_equal(pp_bundle_reload(rt, id), PP_OK);
	pp_guest_contract_handle all[3];
	assert_int_equal(pp_find_all(rt, kept_id, 0, all, 3), 2);
	assert_int_equal(all[0].index, kept.index); /* still first, in its slot */
	assert_int_equal(all[0].generation, kept.generation);
	assert_int_equal(answer_of(rt, kept), 2); /* the new code */
	assert_int_equal(answer_of(rt, all[1]), 9);
	assert_int_equal(answer_of(rt, pp_find(rt, kept_id, 0)), 2);

	pp_guest_contract_instance none = {NULL, 0};
	int32_t v;
	assert_int_equal(pp_call(rt, dropped, none, 0, NULL, &v, NULL), PP_ERR_STALE_HANDLE);
	assert_true(pp_handle_is_null(pp_find(rt, pp_guest_contract_id("r.Dropped", 1), 0)));
	assert_int_equal(answer_of(rt, pp_find(rt, pp_guest_contract_id("r.Added", 1), 0)), 2);
	pp_runtime_free(rt);
	remove_tree(dir);
}

static void init_sees_only_declared_dependencies(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	load_ok(rt, fx("calc_v1"));
	uint32_t code;
	/* no declared dependency: the lookup during init finds nothing */
	uint64_t id = load_ok(rt, fx("peeker"));
	assert_int_equal(call_i32(rt, "test.peek", 0, 0, &code), 0);
	assert_int_equal(call_i32(rt, "test.peek", 1, 0, &code), 0);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	/* declared: visible, and get_dependencies reports it */
	pp_dependency dep = {CALC, 1};
	pp_load_options o = {.dependencies = &dep, .dependency_count = 1};
	assert_int_equal(pp_bundle_load(rt, fx("peeker"), &o, NULL), PP_OK);
	assert_int_equal(call_i32(rt, "test.peek", 0, 0, &code), 1);
	assert_int_equal(call_i32(rt, "test.peek", 1, 0, &code), 1);
	/* outside any init the host sees everything */
	assert_false(pp_handle_is_null(pp_find(rt, CALC, 0)));
	pp_runtime_free(rt);
}

/* What the host declares in pp_load_options is a dependency like a
 * manifest's: required at load, and it guards the provider's unload. */
static void a_dependency_the_host_declares_must_be_loaded_first(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	pp_dependency dep = {CALC, 1};
	pp_load_options o = {.name = "peeker", .dependencies = &dep, .dependency_count = 1};
	char expect[128];
	snprintf(expect, sizeof expect, "bundle 'peeker' needs contract %016llx (major 1), which",
	         (unsigned long long)CALC);
	assert_int_equal(pp_bundle_load(rt, fx("peeker"), &o, NULL), PP_ERR_NOT_FOUND);
	assert_contains(pp_last_error(rt), expect);
	assert_int_equal(pp_bundle_foreach(rt, NULL, NULL), 0);
	/* a provider of an older minor does not meet it; the message names it */
	pp_dependency newer = {CALC, 1u << 16 | 99u};
	o.dependencies = &newer;
	uint64_t calc = load_ok(rt, fx("calc_v1"));
	assert_int_equal(pp_bundle_load(rt, fx("peeker"), &o, NULL), PP_ERR_NOT_FOUND);
	assert_contains(pp_last_error(rt), "needs contract 'test.calc@1' (min version 1.99)");
	o.dependencies = &dep;
	uint64_t peek;
	assert_int_equal(pp_bundle_load(rt, fx("peeker"), &o, &peek), PP_OK);
	assert_int_equal(pp_bundle_unload(rt, calc, 0), PP_ERR_DEPENDENCY_IN_USE);
	assert_int_equal(pp_bundle_unload(rt, peek, 0), PP_OK);
	assert_int_equal(pp_bundle_unload(rt, calc, 0), PP_OK);
	pp_runtime_free(rt);
}

/* PP_MAX_REGISTRATIONS holds for a native bundle as for a JS one: up to
 * it a bundle loads, reloads and unloads; one more fails its load, with
 * nothing published, and the runtime goes on. */
static void a_bundle_registers_at_most_the_registration_limit(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	uint64_t id = load_ok(rt, fx("many_4096"));
	pp_stats st;
	pp_runtime_stats(rt, &st);
	assert_int_equal(st.contracts, PP_MAX_REGISTRATIONS);
	pp_guest_contract_handle last = pp_find(rt, pp_guest_contract_id("test.many.4095", 1), 0);
	assert_false(pp_handle_is_null(last));
	pp_guest_contract_instance none = {NULL, 0};
	assert_int_equal(pp_call(rt, last, none, 0, NULL, NULL, NULL), PP_OK);
	assert_int_equal(pp_bundle_reload(rt, id), PP_OK);
	assert_int_equal(pp_call(rt, last, none, 0, NULL, NULL, NULL), PP_OK);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);

	assert_int_equal(pp_bundle_load(rt, fx("broken_4097"), NULL, NULL), PP_ERR_INIT_FAILED);
	assert_contains(pp_last_error(rt), "broken_4097");
	assert_contains(pp_last_error(rt), "contract 'test.many.4096' is one more than a bundle "
	                                   "may register (the limit is PP_MAX_REGISTRATIONS, "
	                                   "4096)");
	pp_runtime_stats(rt, &st);
	assert_int_equal(st.contracts, 0);
	assert_int_equal(st.bundles, 0);
	load_ok(rt, fx("calc_v1")); /* still usable */
	assert_int_equal(calc_add(rt, 2, 3), 5);
	pp_runtime_free(rt);
}

static void registration_outside_init_is_refused(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	const pp_host_api *host = pp_runtime_host_api(rt);
	pp_guest_contract_interface iface = {0};
	pp_plugin_descriptor d = {
	        {(const uint8_t *)"x", 1}, {(const uint8_t *)"x@1", 3}, {1, 0, 0}};
	pp_abi_error err = {0, {NULL, 0}};
	host->register_guest_contract(host, &d, &iface, &err);
	assert_int_equal(err.code, PP_ERR_GENERIC);
	assert_non_null(err.message.ptr);
	assert_contains((const char *)err.message.ptr, "only allowed during a bundle's init");
	pp_runtime_free(rt);
}

static void bad_interfaces_are_refused_and_never_stored(void **state)
{
	(void)state;
	static const char *const bad[] = {
	        "broken_null_fn",        "broken_bad_dispatch", "broken_bad_utf8",
	        "broken_bad_layout",     "broken_view_outside", "broken_out_view_outside",
	        "broken_too_many_views", "broken_no_create",    "broken_no_destroy"};
	static const char *const why[] = {
	        "NULL function at index 1",
	        "unknown dispatch type 7",
	        "valid UTF-8",
	        "(args 16 bytes, 1000000 views) has more views than PP_MAX_LAYOUT_VIEWS",
	        "(args 16 bytes, 1 views) has a view outside its args",
	        "(args 16 bytes, 1 views) has a result view outside its out",
	        "(args 16 bytes, 2 views) has more views than its args can hold",
	        "contract 'test.broken@1' lacks create_instance or destroy_instance",
	        "contract 'test.broken@1' lacks create_instance or destroy_instance"};
	pp_runtime *rt = rt_new();
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(pp_bundle_load(rt, fx(bad[i]), NULL, NULL), PP_ERR_INIT_FAILED);
		assert_contains(pp_last_error(rt), bad[i]);
		assert_contains(pp_last_error(rt), why[i]);
		assert_true(
		        pp_handle_is_null(pp_find(rt, pp_guest_contract_id("test.broken", 1), 0)));
	}
	pp_stats st;
	pp_runtime_stats(rt, &st);
	assert_int_equal(st.contracts, 0);
	load_ok(rt, fx("calc_v1")); /* still usable */
	assert_int_equal(calc_add(rt, 2, 3), 5);
	pp_runtime_free(rt);
}

/* An interface's size below what ABI 2 first shipped is no version of it:
 * refused with PP_ERR_ABI_MISMATCH, naming the size (docs/abi.md). */
static void a_guest_interface_smaller_than_any_version_is_refused(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	assert_int_equal(pp_bundle_load(rt, fx("broken_small_iface"), NULL, NULL),
	                 PP_ERR_INIT_FAILED);
	assert_contains(pp_last_error(rt), "(PP_ERR_ABI_MISMATCH)");
	assert_contains(pp_last_error(rt), "contract 'test.broken' has an interface of 16 bytes, "
	                                   "smaller than any version of it (64)");
	assert_true(pp_handle_is_null(pp_find(rt, pp_guest_contract_id("test.broken", 1), 0)));
	pp_runtime_free(rt);
}

/* A plugin built against a newer release passes a bigger interface: what
 * it appends describes, so it is ignored, never read as this library's
 * members (docs/abi.md, "Compatibility across releases"). */
static void a_bigger_guest_interface_from_a_newer_release_is_read_to_what_is_known(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	load_ok(rt, fx("newer_iface"));
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.broken", 1), 0);
	assert_false(pp_handle_is_null(h));
	pp_guest_contract_instance none = {NULL, 0};
	assert_int_equal(pp_call(rt, h, none, 0, NULL, NULL, NULL), PP_OK);
	pp_runtime_free(rt);
}

static void instances_are_created_and_destroyed_through_the_runtime(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	load_ok(rt, fx("calc_v1"));
	pp_guest_contract_handle h = pp_find(rt, CALC, 0);
	pp_guest_contract_instance a, b;
	int64_t start = 10;
	assert_int_equal(pp_instance_create(rt, h, &start, &a), PP_OK);
	assert_int_equal(pp_instance_create(rt, h, NULL, &b), PP_OK);
	assert_non_null(a.data);
	assert_true(a.contract_id == CALC);
	int64_t n;
	assert_int_equal(pp_call(rt, h, a, 3, NULL, &n, NULL), PP_OK);
	assert_int_equal(n, 11);
	assert_int_equal(pp_call(rt, h, a, 3, NULL, &n, NULL), PP_OK);
	assert_int_equal(n, 12);
	assert_int_equal(pp_call(rt, h, b, 3, NULL, &n, NULL), PP_OK);
	assert_int_equal(n, 1); /* instances never share state */
	assert_int_equal(pp_instance_destroy(rt, h, a), PP_OK);
	assert_int_equal(pp_instance_destroy(rt, h, b), PP_OK);
	pp_guest_contract_instance c;
	assert_int_equal(pp_instance_create(rt, pp_handle_null(), NULL, &c), PP_ERR_STALE_HANDLE);
	assert_null(c.data);
	pp_runtime_free(rt);
}

/* An instance belongs to the runtime that made it: handed to another
 * runtime (with that runtime's handle to the same contract of the same
 * library), it is none of that runtime's instances and is refused before
 * any plugin code runs, and it goes on working where it was made. */
static void an_instance_from_another_runtime_is_refused_there(void **state)
{
	(void)state;
	pp_runtime *a = rt_new(), *b = rt_new();
	load_ok(a, fx("calc_v1"));
	load_ok(b, fx("calc_v1"));
	pp_guest_contract_handle ha = pp_find(a, CALC, 0), hb = pp_find(b, CALC, 0);
	pp_guest_contract_instance x;
	int64_t start = 10, n = 0;
	assert_int_equal(pp_instance_create(a, ha, &start, &x), PP_OK);
	assert_int_equal(pp_call(b, hb, x, 3, NULL, &n, NULL), PP_ERR_STALE_INSTANCE);
	assert_int_equal(pp_instance_destroy(b, hb, x), PP_ERR_STALE_HANDLE);
	assert_int_equal(pp_call(a, ha, x, 3, NULL, &n, NULL), PP_OK);
	assert_int_equal(n, 11); /* untouched by b */
	assert_int_equal(pp_instance_destroy(a, ha, x), PP_OK);
	pp_runtime_free(b);
	pp_runtime_free(a);
}

static void instances_left_behind_are_destroyed_with_their_version(void **state)
{
	(void)state;
	counting_alloc t = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_counting(&t);
	uint64_t id = load_ok(rt, fx("calc_v1"));
	pp_guest_contract_handle h = pp_find(rt, CALC, 0);
	pp_guest_contract_instance a, b;
	assert_int_equal(pp_instance_create(rt, h, NULL, &a), PP_OK);
	assert_int_equal(pp_instance_create(rt, h, NULL, &b), PP_OK);
	assert_int_equal(t.allocs, 2);

	/* a reload retires the version that made them */
	assert_int_equal(pp_bundle_reload(rt, id), PP_OK);
	assert_int_equal(pp_instance_destroy(rt, h, a), PP_ERR_STALE_HANDLE);
	assert_contains(pp_last_error(rt), "not created by the version now loaded");
	assert_int_equal(pp_runtime_quiesce(rt), PP_OK);
	assert_int_equal(t.frees, 2);

	/* an unload does the same */
	pp_guest_contract_instance c;
	assert_int_equal(pp_instance_create(rt, h, NULL, &c), PP_OK);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	assert_int_equal(pp_instance_destroy(rt, h, c), PP_ERR_STALE_HANDLE);
	assert_int_equal(pp_runtime_quiesce(rt), PP_OK);
	assert_int_equal(t.allocs, 3);
	assert_int_equal(t.frees, 3);
	assert_int_equal(t.live, 0);
	(void)b;
	pp_runtime_free(rt);
}

/* The set instances and interfaces are looked up in, against a plain
 * array as the model: keys that collide, repeat, and come and go while the
 * table grows and shrinks. */
static void a_pointer_set_counts_every_key_through_growth_and_shrinking(void **state)
{
	(void)state;
	enum { KEYS = 3000, STEPS = 60000 };
	static size_t model[KEYS];
	static char base[KEYS * 16];
	pp_ptrset s = {0};
	unsigned seed = 7;
	for (int round = 0; round < 2; round++)
		for (int step = 0; step < STEPS; step++) {
			seed = seed * 1103515245u + 12345u;
			size_t k = (seed >> 8) % KEYS;
			/* addresses 16 apart, as an allocator's; a round that mostly
			 * adds, then one that mostly removes */
			const void *p = base + k * 16;
			bool add = ((seed >> 24) % 4) < (round == 0 ? 3u : 1u);
			if (add) {
				assert_true(pp__ptrset_add(&s, p, 0));
				model[k]++;
			} else {
				assert_int_equal(pp__ptrset_remove(&s, p), model[k] > 0);
				model[k] -= model[k] > 0;
			}
			if (step % 997 == 0)
				for (size_t i = 0; i < KEYS; i++)
					assert_int_equal(pp__ptrset_count(&s, base + i * 16),
					                 model[i]);
		}
	size_t distinct = 0;
	for (size_t i = 0; i < KEYS; i++)
		distinct += model[i] > 0;
	assert_int_equal(s.live, distinct);
	for (size_t i = 0; i < KEYS; i++)
		while (model[i]--)
			assert_true(pp__ptrset_remove(&s, base + i * 16));
	/* empty: shrunk to the smallest table, kept for the next add */
	assert_int_equal(atomic_load(&s.table)->cap, 16);
	assert_int_equal(s.live, 0);
	assert_false(pp__ptrset_remove(&s, base));
	assert_int_equal(pp__ptrset_count(&s, NULL), 0);
	pp__ptrset_clear(&s);
	assert_null(atomic_load(&s.table));
}

/* The set the watcher keeps a plugins directory's names in, against a
 * plain array as the model: names that come and go while the table grows,
 * each removal moving the rest of its chain back. */
static void a_string_set_finds_every_name_through_growth_and_removals(void **state)
{
	(void)state;
	enum { KEYS = 2000, STEPS = 40000 };
	static bool in[KEYS];
	static size_t value[KEYS];
	pp_strset s = {0};
	unsigned seed = 11;
	char key[32];
	for (int round = 0; round < 2; round++)
		for (int step = 0; step < STEPS; step++) {
			seed = seed * 1103515245u + 12345u;
			size_t k = (seed >> 8) % KEYS;
			snprintf(key, sizeof key, "entry-%zu", k);
			if (((seed >> 24) % 4) < (round == 0 ? 3u : 1u)) {
				assert_true(pp__strset_put(&s, key, (size_t)step));
				in[k] = true;
				value[k] = (size_t)step;
			} else {
				assert_int_equal(pp__strset_remove(&s, key), in[k]);
				in[k] = false;
			}
			if (step % 997 == 0)
				for (size_t i = 0; i < KEYS; i++) {
					snprintf(key, sizeof key, "entry-%zu", i);
					size_t *v = pp__strset_get(&s, key);
					assert_int_equal(v != NULL, in[i]);
					if (v)
						assert_int_equal(*v, value[i]);
				}
		}
	size_t count = 0;
	for (size_t i = 0; i < KEYS; i++)
		count += in[i];
	assert_int_equal(s.count, count);
	assert_null(pp__strset_get(&s, "not there"));
	pp__strset_clear(&s);
	assert_int_equal(s.count, 0);
	assert_null(pp__strset_get(&s, "entry-1"));
	assert_false(pp__strset_remove(&s, "entry-1"));
}

/* Lookups take no lock (pp_call checks each instance that way) while the
 * owner adds and removes other keys, growing, shrinking and rebuilding the
 * table: a key that stays is always found, one never added never is. The
 * tables the set stops using are kept until the end, as a grace period
 * would keep them from lookups still probing. */
typedef struct retired_tables {
	pp_ptrset_table *list[8192];
	size_t count;
} retired_tables;

static void keep_table(void *ctx, pp_ptrset_table *t)
{
	retired_tables *r = ctx;
	assert_true(r->count < 8192);
	r->list[r->count++] = t;
}

typedef struct set_reader {
	pp_ptrset *s;
	pthread_mutex_t *lock; /* the owner's, held for each change */
	const char *base;
	atomic_bool *stop;
	size_t misses, phantoms;
	atomic_size_t lookups;
} set_reader;

enum { SET_STAYING = 64, SET_CHURNING = 2000 };

static void *look_up_staying_keys(void *arg)
{
	set_reader *r = arg;
	while (!atomic_load(r->stop)) {
		for (size_t i = 0; i < SET_STAYING; i++) {
			r->misses += pp__ptrset_lookup(r->s, r->base + i * 16, r->lock) != 1;
			/* odd addresses: never added */
			r->phantoms += pp__ptrset_lookup(r->s, r->base + i * 16 + 1, r->lock) != 0;
		}
		atomic_fetch_add(&r->lookups, (size_t)2 * SET_STAYING);
	}
	return NULL;
}

static pthread_mutex_t set_lock = PTHREAD_MUTEX_INITIALIZER;

static bool add_locked(pp_ptrset *s, const void *p)
{
	pthread_mutex_lock(&set_lock);
	bool ok = pp__ptrset_add(s, p, 0);
	pthread_mutex_unlock(&set_lock);
	return ok;
}

static bool remove_locked(pp_ptrset *s, const void *p)
{
	pthread_mutex_lock(&set_lock);
	bool ok = pp__ptrset_remove(s, p);
	pthread_mutex_unlock(&set_lock);
	return ok;
}

static void pointer_set_lookups_racing_changes_find_exactly_what_stays(void **state)
{
	(void)state;
	static char base[(SET_STAYING + 2 * SET_CHURNING) * 16];
	static retired_tables kept;
	kept.count = 0;
	pp_ptrset s = {.retire = keep_table, .ctx = &kept};
	for (size_t i = 0; i < SET_STAYING; i++)
		assert_true(pp__ptrset_add(&s, base + i * 16, 0));
	atomic_bool stop = false;
	set_reader rd[2] = {{&s, &set_lock, base, &stop, 0, 0, 0},
	                    {&s, &set_lock, base, &stop, 0, 0, 0}};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, look_up_staying_keys, &rd[i]), 0);
	const char *more = base + (size_t)SET_STAYING * 16;
	const char *other = more + (size_t)SET_CHURNING * 16;
	/* the rounds run until both readers have looked many times (a valgrind
	 * run serialises the threads), within what the list of tables holds */
	for (int round = 0;
	     round < 600 &&
	     (round < race_rounds(40) || atomic_load(&rd[0].lookups) < (size_t)100 * SET_STAYING ||
	      atomic_load(&rd[1].lookups) < (size_t)100 * SET_STAYING);
	     round++) {
		/* grow to thousands of keys, then empty down to the staying ones:
		 * tables grow, fill with removed slots, shrink */
		for (size_t i = 0; i < SET_CHURNING; i++)
			assert_true(add_locked(&s, more + i * 16));
		/* a quarter removed (too few to shrink), then given to other
		 * keys and taken back by their own */
		for (size_t i = 0; i < SET_CHURNING; i += 4)
			assert_true(remove_locked(&s, more + i * 16));
		for (size_t i = 0; i < SET_CHURNING; i += 4)
			assert_true(add_locked(&s, other + i * 16));
		for (size_t i = 0; i < SET_CHURNING; i += 8)
			assert_true(add_locked(&s, more + i * 16));
		for (size_t i = 0; i < SET_CHURNING; i += 4)
			assert_true(remove_locked(&s, other + i * 16));
		for (size_t i = 0; i < SET_CHURNING; i++)
			if (i % 4 != 0 || i % 8 == 0)
				assert_true(remove_locked(&s, more + i * 16));
		/* at a level: the table is rewritten in place under the lookups */
		for (size_t i = 0; i < SET_CHURNING; i++) {
			assert_true(add_locked(&s, other + i * 16));
			assert_true(remove_locked(&s, other + i * 16));
		}
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_true(atomic_load(&rd[i].lookups) >= (size_t)100 * SET_STAYING);
		assert_int_equal(rd[i].misses, 0);
		assert_int_equal(rd[i].phantoms, 0);
	}
	assert_true(kept.count > 10);          /* the tables really were replaced */
	assert_true(atomic_load(&s.seq) > 10); /* and rewritten in place */
	for (size_t i = 0; i < SET_STAYING; i++)
		assert_true(pp__ptrset_remove(&s, base + i * 16));
	pp__ptrset_clear(&s);
	while (kept.count)
		free(kept.list[--kept.count]);
}

/* A host that makes and destroys an instance per request keeps the number
 * of keys level: the set reuses removed slots and never replaces its
 * table, so nothing waits for a grace period (which a long call would hold
 * off: every replaced table would pile up meanwhile). */
static void adds_and_removes_at_a_level_never_replace_the_table(void **state)
{
	(void)state;
	static char base[4096 * 16];
	static retired_tables kept;
	kept.count = 0;
	pp_ptrset s = {.retire = keep_table, .ctx = &kept};
	for (size_t i = 0; i < 3; i++)
		assert_true(pp__ptrset_add(&s, base + i * 16, 0));
	pp_ptrset_table *t = atomic_load(&s.table);
	for (size_t i = 3; i < 4096; i++) { /* a new address every time */
		assert_true(pp__ptrset_add(&s, base + i * 16, 0));
		assert_int_equal(pp__ptrset_count(&s, base + i * 16), 1);
		assert_true(pp__ptrset_remove(&s, base + i * 16));
		assert_int_equal(pp__ptrset_count(&s, base + i * 16), 0);
	}
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(pp__ptrset_count(&s, base + i * 16), 1);
		assert_true(pp__ptrset_remove(&s, base + i * 16));
	}
	assert_ptr_equal(atomic_load(&s.table), t);
	assert_int_equal(kept.count, 0);
	assert_true(atomic_load(&s.seq) > 0); /* rewritten in place, more than once */
	pp__ptrset_clear(&s);
}

/* The same through the runtime, while another thread is inside a call
 * (which holds off every grace period): a host making and destroying an
 * instance per request leaves nothing waiting to be reclaimed. */
typedef struct long_call {
	pp_runtime *rt;
	atomic_int phase; /* 1: inside; 2: may leave */
} long_call;

static void *stay_in_a_call(void *arg)
{
	long_call *c = arg;
	pp_tstate *ts = pp__read_lock(c->rt);
	atomic_store(&c->phase, 1);
	while (atomic_load(&c->phase) != 2)
		sched_yield();
	pp__read_unlock(ts);
	return NULL;
}

static void instances_made_and_destroyed_during_a_long_call_leave_nothing_to_reclaim(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	load_ok(rt, fx("calc_v1"));
	pp_guest_contract_handle h = pp_find(rt, CALC, 1);
	long_call c = {.rt = rt};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, stay_in_a_call, &c), 0);
	while (atomic_load(&c.phase) != 1)
		sched_yield();
	uint64_t before = atomic_load(&rt->pending_reclaims);
	for (int i = 0; i < 20000; i++) {
		pp_guest_contract_instance inst;
		assert_int_equal(pp_instance_create(rt, h, NULL, &inst), PP_OK);
		int64_t out = 0;
		assert_int_equal(pp_call(rt, h, inst, 3, NULL, &out, NULL), PP_OK);
		assert_int_equal(pp_instance_destroy(rt, h, inst), PP_OK);
	}
	uint64_t piled = atomic_load(&rt->pending_reclaims) - before;
	atomic_store(&c.phase, 2);
	assert_int_equal(pthread_join(t, NULL), 0);
	pp_runtime_free(rt);
	assert_true(piled <= 1);
}

/* A slot's generation never wraps back to one a kept handle carries: the
 * slot is retired instead. 2^31 loads are out of a test's reach, so the slot
 * is aged by hand, between loads, while nothing else runs. */
static void a_handle_never_matches_again_after_its_slot_ages_out(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	uint64_t id = load_ok(rt, fx("calc_v1"));
	pp_guest_contract_handle first = pp_find(rt, CALC, 1);
	assert_int_equal(first.generation, rt->reg.generation_base + 1);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	pp__slot_at(&rt->reg, first.index)->generation = UINT32_MAX - 3;
	rt->reg.generation_base = first.generation - 1; /* a new slot starts as the first did */
	id = load_ok(rt, fx("calc_v1"));                /* the same slot, at UINT32_MAX - 2 */
	pp_guest_contract_handle old = pp_find(rt, CALC, 1);
	assert_int_equal(old.index, first.index);
	assert_int_equal(old.generation, UINT32_MAX - 2);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	for (int i = 0; i < 3; i++) { /* the slot is never taken again */
		id = load_ok(rt, fx("calc_v1"));
		pp_guest_contract_handle now = pp_find(rt, CALC, 1);
		assert_int_not_equal(now.index, first.index);
		assert_int_equal(calc_add(rt, 2, 3), 5);
		pp_guest_contract_instance none = {NULL, 0};
		pair p = {1, 1};
		int32_t out = 0;
		assert_int_equal(pp_call(rt, first, none, 0, &p, &out, NULL), PP_ERR_STALE_HANDLE);
		assert_int_equal(pp_call(rt, old, none, 0, &p, &out, NULL), PP_ERR_STALE_HANDLE);
		assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	}
	pp_runtime_free(rt);
}

/* A handle carries no runtime: one kept from another runtime, live or
 * freed, names a slot there too, and must find it stale, not call what
 * that runtime keeps in the slot (each runtime starts its generations
 * elsewhere). */
static void a_handle_from_another_runtime_is_stale_there(void **state)
{
	(void)state;
	for (int freed = 0; freed < 2; freed++) {
		pp_runtime *a = rt_new(), *b = rt_new();
		load_ok(a, fx("calc_v1"));
		pp_guest_contract_handle h = pp_find(a, CALC, 1);
		assert_false(pp_handle_is_null(h));
		if (freed)
			pp_runtime_free(a);
		load_ok(b, fx("calc_v1"));
		pp_guest_contract_handle mine = pp_find(b, CALC, 1);
		assert_int_equal(mine.index, h.index); /* the same slot */
		pair p = {2, 3};
		int32_t out = 0;
		pp_guest_contract_instance none = {NULL, 0};
		assert_int_equal(pp_call(b, h, none, 0, &p, &out, NULL), PP_ERR_STALE_HANDLE);
		assert_null(pp_resolve(b, h));
		assert_int_equal(pp_call(b, mine, none, 0, &p, &out, NULL), PP_OK);
		assert_int_equal(out, 5);
		pp_runtime_free(b);
		if (!freed)
			pp_runtime_free(a);
	}
}

/* A NULL runtime is refused, also on a thread that never called before
 * (whose call cache is fresh: it must not take NULL for its runtime). */
static void *null_runtime_calls(void *arg)
{
	(void)arg;
	pp_guest_contract_handle h = {0, 1};
	pp_guest_contract_instance none = {NULL, 0}, made = {NULL, 0};
	int32_t out = 0;
	bool ok = (pp_call)(NULL, h, none, 0, NULL, &out, NULL) == PP_ERR_INVALID_ARGUMENT &&
	          pp_handle_is_null(pp_find(NULL, CALC, 1)) &&
	          pp_handle_is_null(pp_find_named(NULL, "test.calc@1", 0, NULL)) &&
	          pp_find_all(NULL, CALC, 1, NULL, 0) == 0 && pp_resolve(NULL, h) == NULL &&
	          pp_instance_create(NULL, h, NULL, &made) == PP_ERR_INVALID_ARGUMENT &&
	          pp_instance_destroy(NULL, h, none) == PP_ERR_INVALID_ARGUMENT;
#ifndef __clang_analyzer__ /* which cannot know that a fresh cache never holds NULL */
	/* the inline path: the thread's call cache is fresh, and does not
	 * take NULL for its runtime */
	ok = ok && pp_call(NULL, h, none, 0, NULL, &out, NULL) == PP_ERR_INVALID_ARGUMENT;
#endif
	return ok ? arg : NULL;
}

static void calls_on_a_null_runtime_are_refused_on_any_thread(void **state)
{
	(void)state;
	pthread_t t;
	static int token;
	void *ok = NULL;
	assert_int_equal(pthread_create(&t, NULL, null_runtime_calls, &token), 0);
	assert_int_equal(pthread_join(t, &ok), 0);
	assert_ptr_equal(ok, &token);
}

/* A counter moves by one before a change is published and by one after:
 * odd exactly while it is under way, even between changes — also on a
 * reload, where the old and the new version both provide the contract. */
static void revision_counters_move_twice_per_change_and_are_even_between(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	const _Atomic uint64_t *mine =
	        (const _Atomic uint64_t *)(const void *)pp_contract_revision_counter(rt, CALC);
	const _Atomic uint64_t *all =
	        (const _Atomic uint64_t *)(const void *)pp_revision_counter(rt);
	uint64_t m0 = atomic_load(mine), a0 = atomic_load(all);
	uint64_t id = load_ok(rt, fx("calc_v1"));
	assert_int_equal(atomic_load(mine), m0 + 2);
	assert_int_equal(atomic_load(all), a0 + 2);
	assert_int_equal(pp_bundle_reload(rt, id), PP_OK);
	assert_int_equal(atomic_load(mine), m0 + 4);
	load_ok(rt, fx("ping")); /* another contract's change moves only the runtime's */
	assert_int_equal(atomic_load(mine), m0 + 4);
	assert_int_equal(atomic_load(all), a0 + 6);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	assert_int_equal(atomic_load(mine), m0 + 6);
	assert_int_equal(atomic_load(mine) % 2, 0);
	assert_int_equal(atomic_load(all) % 2, 0);
	pp_runtime_free(rt);
}

/* A bundle registering contracts a and b, each with one function. */
#define JS_TWO(a, b)                                \
	JS_PRELUDE "function polyplug_init() {\n"   \
	           "  function f() { return 0; }\n" \
	           "  return ok([reg('" a "', [f]), reg('" b "', [f])]);\n}\n"

/* A registry holds at most 2^20 contracts at once (runtime.md "Capacity";
 * the test lowers the bound to 4): past it a load fails with "the registry
 * is full", publishing nothing and keeping none of the slots it took; a
 * reload, which keeps its slots, still works, and an unload makes room. */
static void a_full_registry_refuses_a_load_and_keeps_none_of_its_slots(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	rt->reg.slot_limit = 4;
	uint64_t one = js_load_ok(rt, "one", JS_TWO("r.A", "r.B"));
	uint64_t two = js_load_ok(rt, "two", JS_ONE("r.C", "function () { return 0; }"));
	static const char three[] = JS_TWO("r.D", "r.E");
	assert_int_equal(js_load_src(rt, "three", three, NULL), PP_ERR_OUT_OF_MEMORY);
	assert_string_equal(pp_last_error(rt), "bundle 'three': the registry is full");
	assert_true(pp_handle_is_null(pp_find(rt, pp_guest_contract_id("r.D", 1), 0)));
	/* the slot it took first is free again */
	uint64_t four = js_load_ok(rt, "four", JS_ONE("r.F", "function () { return 0; }"));
	assert_int_equal(pp_bundle_reload(rt, one), PP_OK);
	assert_int_equal(js_load_src(rt, "three", three, NULL), PP_ERR_OUT_OF_MEMORY);
	assert_int_equal(pp_bundle_unload(rt, two, 0), PP_OK);
	assert_int_equal(pp_bundle_unload(rt, four, 0), PP_OK);
	assert_int_equal(pp_runtime_quiesce(rt), PP_OK);
	js_load_ok(rt, "three", three);
	assert_false(pp_handle_is_null(pp_find(rt, pp_guest_contract_id("r.E", 1), 0)));
	assert_false(pp_handle_is_null(pp_find(rt, pp_guest_contract_id("r.A", 1), 0)));
	pp_runtime_free(rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(find_matches_major_and_minimum_minor),
	        cmocka_unit_test(several_bundles_provide_one_contract_in_registration_order),
	        cmocka_unit_test(same_bundle_registering_twice_is_a_duplicate),
	        cmocka_unit_test(unload_makes_old_handles_stale),
	        cmocka_unit_test(a_call_through_a_null_or_stale_handle_says_which),
	        cmocka_unit_test(unknown_function_is_not_available),
	        cmocka_unit_test(revision_counter_moves_on_every_change),
	        cmocka_unit_test(reload_swaps_code_behind_the_same_handle),
	        cmocka_unit_test(a_reload_keeps_what_it_provides_again_in_place_and_drops_the_rest),
	        cmocka_unit_test(init_sees_only_declared_dependencies),
	        cmocka_unit_test(a_dependency_the_host_declares_must_be_loaded_first),
	        cmocka_unit_test(registration_outside_init_is_refused),
	        cmocka_unit_test(bad_interfaces_are_refused_and_never_stored),
	        cmocka_unit_test(a_guest_interface_smaller_than_any_version_is_refused),
	        cmocka_unit_test(
	                a_bigger_guest_interface_from_a_newer_release_is_read_to_what_is_known),
	        cmocka_unit_test(a_bundle_registers_at_most_the_registration_limit),
	        cmocka_unit_test(instances_are_created_and_destroyed_through_the_runtime),
	        cmocka_unit_test(instances_left_behind_are_destroyed_with_their_version),
	        cmocka_unit_test(a_pointer_set_counts_every_key_through_growth_and_shrinking),
	        cmocka_unit_test(a_string_set_finds_every_name_through_growth_and_removals),
	        cmocka_unit_test(pointer_set_lookups_racing_changes_find_exactly_what_stays),
	        cmocka_unit_test(adds_and_removes_at_a_level_never_replace_the_table),
	        cmocka_unit_test(
	                instances_made_and_destroyed_during_a_long_call_leave_nothing_to_reclaim),
	        cmocka_unit_test(a_handle_never_matches_again_after_its_slot_ages_out),
	        cmocka_unit_test(a_handle_from_another_runtime_is_stale_there),
	        cmocka_unit_test(calls_on_a_null_runtime_are_refused_on_any_thread),
	        cmocka_unit_test(revision_counters_move_twice_per_change_and_are_even_between),
	        cmocka_unit_test(a_full_registry_refuses_a_load_and_keeps_none_of_its_slots),
	        cmocka_unit_test(an_instance_from_another_runtime_is_refused_there),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
