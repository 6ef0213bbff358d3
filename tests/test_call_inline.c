/* test_call_inline.c — pp_call's inline fast path (call_inline.h) against the
 * exported pp_call: the same results and the same errors in every case the
 * fast path hands over, a thread's first call, native and JS calls racing a
 * reload and an unload, and the thread cache a freed runtime leaves. */
#include <stdatomic.h>

#include "js_helpers.h"

uint32_t call_exported(pp_runtime *rt, pp_guest_contract_handle h,
                       pp_guest_contract_instance instance, uint32_t fn_id, const void *args,
                       void *out, pp_call_arena *arena);

/* One call both ways; each must give the same code, out and message. */
static void both_ways_agree(pp_runtime *rt, pp_guest_contract_handle h, uint32_t fn_id,
                            uint32_t expect)
{
	pp_guest_contract_instance none = {NULL, 0};
	pair p = {20, 22};
	int32_t out_inline = -1, out_exported = -1;
	char msg[512];
	uint32_t inl = pp_call(rt, h, none, fn_id, &p, &out_inline, NULL);
	snprintf(msg, sizeof msg, "%s", pp_last_error(rt));
	uint32_t exp = call_exported(rt, h, none, fn_id, &p, &out_exported, NULL);
	assert_int_equal(inl, expect);
	assert_int_equal(exp, expect);
	assert_int_equal(out_inline, out_exported);
	if (expect != PP_OK)
		assert_string_equal(msg, pp_last_error(rt));
}

static void inline_and_exported_calls_give_the_same_results_and_errors(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	uint64_t id = load_ok(rt, fx("calc_v1"));
	pp_guest_contract_handle h = pp_find(rt, CALC, 0);
	both_ways_agree(rt, h, 0, PP_OK); /* add */
	both_ways_agree(rt, h, 2, 300);   /* the plugin's own code */
	assert_contains(pp_last_error(rt), "calc refused: negative input");
	both_ways_agree(rt, h, 4, PP_ERR_FUNCTION_NOT_AVAILABLE); /* past the table */
	both_ways_agree(rt, h, UINT32_MAX, PP_ERR_FUNCTION_NOT_AVAILABLE);
	assert_contains(pp_last_error(rt), "has no function");
	/* handles the fast path cannot take: null, past the slot table, stale */
	both_ways_agree(rt, pp_handle_null(), 0, PP_ERR_STALE_HANDLE);
	pp_guest_contract_handle wild = {(1u << 20) + 5, h.generation};
	both_ways_agree(rt, wild, 0, PP_ERR_STALE_HANDLE);
	pp_guest_contract_handle other_gen = {h.index, h.generation + 1};
	both_ways_agree(rt, other_gen, 0, PP_ERR_STALE_HANDLE);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	both_ways_agree(rt, h, 0, PP_ERR_STALE_HANDLE);
	assert_contains(pp_last_error(rt), "stale");
	pp_runtime_free(rt);
}

typedef struct first_call {
	pp_runtime *rt;
	pp_guest_contract_handle h;
	int32_t sums[3];
	uint32_t codes[3];
} first_call;

static void *call_three_times(void *p)
{
	first_call *f = p;
	pp_guest_contract_instance none = {NULL, 0};
	for (int i = 0; i < 3; i++) {
		pair args = {i, 40};
		f->codes[i] = pp_call(f->rt, f->h, none, 0, &args, &f->sums[i], NULL);
	}
	return NULL;
}

/* A new thread has no state in the runtime: its first call takes the
 * exported path, which makes the state; the next ones are inline. */
static void a_threads_first_call_makes_its_state_and_the_next_ones_inline(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	load_ok(rt, fx("calc_v1"));
	first_call f = {.rt = rt, .h = pp_find(rt, CALC, 0)};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, call_three_times, &f), 0);
	pthread_join(th, NULL);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(f.codes[i], PP_OK);
		assert_int_equal(f.sums[i], i + 40);
	}
	pp_runtime_free(rt);
}

typedef struct racer {
	pp_runtime *rt;
	pp_guest_contract_handle h;
	_Atomic int stop;
	_Atomic int ok, attempts;
	int stale, wrong;
} racer;

static void *call_until_stopped(void *p)
{
	racer *r = p;
	pp_guest_contract_instance none = {NULL, 0};
	pp_guest_contract_handle h = r->h;
	while (!atomic_load(&r->stop)) {
		pair args = {1, 2};
		int32_t sum = 0;
		uint32_t code = pp_call(r->rt, h, none, 0, &args, &sum, NULL);
		atomic_fetch_add(&r->attempts, 1);
		if (code == PP_OK && sum == 3) {
			atomic_fetch_add(&r->ok, 1);
		} else if (code == PP_ERR_STALE_HANDLE) {
			r->stale++;
			h = pp_find(r->rt, CALC, 0); /* the next load's, once there */
		} else {
			r->wrong++;
		}
	}
	return NULL;
}

/* The JS twin of calc's add, raw protocol: the same contract id. */
#define JS_CALC                                                                         \
	JS_ONE("test.calc", "function (impl, a, o, ar, b) {\n"                          \
	                    "  b.writeI32(o, (b.readI32(a) + b.readI32(a + 4)) | 0);\n" \
	                    "  return 0;\n}")

static uint64_t load_calc(pp_runtime *rt, bool js)
{
	return js ? js_load_ok(rt, "jscalc", JS_CALC) : load_ok(rt, fx("calc_v1"));
}

/* Inline calls in a loop while the bundle is reloaded, unloaded and loaded
 * again: each call runs a version that is still there or is stale, never
 * code that was released (ASan and TSan builds check the memory). */
static void race_reload_and_unload(bool js)
{
	pp_runtime *rt = rt_new();
	uint64_t id = load_calc(rt, js);
	racer r = {.rt = rt, .h = pp_find(rt, CALC, 0)};
	atomic_init(&r.stop, 0);
	atomic_init(&r.ok, 0);
	atomic_init(&r.attempts, 0);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, call_until_stopped, &r), 0);
	/* The caller is calling before the churn starts and keeps calling
	 * through every round, however slowly the machine schedules it. */
	await_true(atomic_load(&r.ok) > 0, 30);
	for (int round = 0; round < 20; round++) {
		int before = atomic_load(&r.attempts);
		assert_int_equal(pp_bundle_reload(rt, id), PP_OK);
		assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
		id = load_calc(rt, js);
		await_true(atomic_load(&r.attempts) > before, 30);
	}
	atomic_store(&r.stop, 1);
	pthread_join(th, NULL);
	assert_int_equal(r.wrong, 0);
	pp_runtime_free(rt);
}

static void inline_calls_racing_reload_and_unload_run_live_code_or_are_stale(void **state)
{
	(void)state;
	race_reload_and_unload(false);
}

static void inline_js_calls_racing_reload_and_unload_run_live_code_or_are_stale(void **state)
{
	(void)state;
	race_reload_and_unload(true);
}

/* Freeing a runtime empties the thread's cache to a value that matches no
 * runtime, not even a NULL one: a later call cannot reach the freed state. */
static void a_freed_runtime_leaves_the_thread_cache_matching_nothing(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	load_ok(rt, fx("calc_v1"));
	pp_guest_contract_instance none = {NULL, 0};
	pair p = {1, 2};
	int32_t out = 0;
	assert_int_equal(pp_call(rt, pp_find(rt, CALC, 0), none, 0, &p, &out, NULL), PP_OK);
	assert_ptr_equal(pp__tls.rt, rt);
	pp_runtime_free(rt);
	assert_true(pp__tls.rt != rt);
	assert_non_null(pp__tls.rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(inline_and_exported_calls_give_the_same_results_and_errors),
	        cmocka_unit_test(a_threads_first_call_makes_its_state_and_the_next_ones_inline),
	        cmocka_unit_test(inline_calls_racing_reload_and_unload_run_live_code_or_are_stale),
	        cmocka_unit_test(
	                inline_js_calls_racing_reload_and_unload_run_live_code_or_are_stale),
	        cmocka_unit_test(a_freed_runtime_leaves_the_thread_cache_matching_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
