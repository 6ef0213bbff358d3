/*
 * test_ppc.c — ppc's generated code end to end. The header (every.h) and the
 * JS bundle are generated at build time from tests/contracts/every.toml; a C
 * bundle (tests/ppc/every_c.c) and a JS bundle (tests/ppc/every_impl.js)
 * implement the same functions. Every type goes host -> C and host -> JS
 * through the generated typed callers; test.RelayC and test.RelayJs check
 * C -> JS and JS -> C through the generated peer callers; both call the
 * host's test.Log through the generated host-contract callers.
 */
#include <inttypes.h>
#include <stdatomic.h>

#define PPC_HOST
#include "every.h"
#include "js_helpers.h"

/* ---- The host's test.Log ------------------------------------------------------ */

typedef struct log_state {
	pthread_mutex_t lock;
	uint32_t count;
	char last[128];
	Mood last_mood;
} log_state;

static log_state host_log = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void (*on_log)(void); /* a test's hook, run (once) by the next log */

static void log_fn(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)state;
	(void)out;
	(void)err;
	const test_log_log_args *a = args;
	void (*hook)(void) = on_log;
	on_log = NULL;
	if (hook)
		hook();
	pthread_mutex_lock(&host_log.lock);
	host_log.count++;
	host_log.last_mood = a->mood;
	snprintf(host_log.last, sizeof host_log.last, "%.*s", (int)a->line.len,
	         (const char *)a->line.ptr);
	pthread_mutex_unlock(&host_log.lock);
}

static void count_fn(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)state;
	(void)args;
	(void)err;
	pthread_mutex_lock(&host_log.lock);
	*(uint32_t *)out = host_log.count;
	pthread_mutex_unlock(&host_log.lock);
}

static const void *const log_fns[] = {(const void *)log_fn, (const void *)count_fn};

static pp_host_contract_instance log_create(const pp_host_contract_interface *self,
                                            const void *args)
{
	(void)self;
	(void)args;
	pp_host_contract_instance none = {NULL};
	return none;
}

static void log_destroy(const pp_host_contract_interface *self, pp_host_contract_instance i)
{
	(void)self;
	(void)i;
}

static pp_host_contract_interface log_iface = {
        .size = sizeof(pp_host_contract_interface),
        .contract_id = TEST_LOG_ID,
        .contract_version = {TEST_LOG_VERSION_MAJOR, TEST_LOG_VERSION_MINOR, 0},
        .flags = PP_HOST_CONTRACT_SINGLETON,
        .dispatch_type = PP_DISPATCH_NATIVE,
        .create_instance = log_create,
        .destroy_instance = log_destroy,
        .dispatch.native = {TEST_LOG_FUNCTION_COUNT, log_fns},
        .layouts = ppc__test_log_layouts,
};

static log_capture logs = {.lock = PTHREAD_MUTEX_INITIALIZER};

static pp_runtime *setup(void)
{
	pp_runtime *rt = rt_with_log(&logs, PP_LOG_TRACE);
	assert_int_equal(pp_host_contract_register(rt, &log_iface), PP_OK);
	load_ok(rt, PPC_EVERY_C);
	/* its manifest is ppc's too: the load holds the bundle to it */
	if (pp_bundle_load(rt, PPC_EVERY_JS, NULL, NULL) != PP_OK)
		fail_msg("loading the ppc JS bundle: %s", pp_last_error(rt));
	return rt;
}

static bool view_is(pp_string_view v, const char *s)
{
	return v.len == strlen(s) && (!v.len || memcmp(v.ptr, s, v.len) == 0);
}

/* ---- host -> C and host -> JS: one set of checks, run against both ------------ */

/* The two generated callers have the same shape; a macro runs the checks on
 * either (C has no generics). */
#define CHECK_EVERY(prefix, c)                                                                    \
	do {                                                                                      \
		uint8_t mem[64];                                                                  \
		pp_call_arena arena;                                                              \
		pp_call_arena_init(&arena, mem, sizeof mem, pp_runtime_host_api(rt));             \
		pp_string_view out = {NULL, 0};                                                   \
		assert_int_equal(prefix##_scalars(c, true, INT8_MIN, UINT8_MAX, INT16_MIN,        \
		                                  UINT16_MAX, INT32_MIN, UINT32_MAX, INT64_MIN,   \
		                                  UINT64_MAX, 1.5f, -0.25, &arena, &out),         \
		                 PP_OK);                                                          \
		if (!view_is(out, "true,-128,255,-32768,65535,-2147483648,4294967295,"            \
		                  "-9223372036854775808,18446744073709551615,1.5,-0.25"))         \
			fail_msg(#prefix " scalars: %.*s", (int)out.len, (const char *)out.ptr);  \
		assert_int_equal(                                                                 \
		        prefix##_scalars(c, false, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, &arena, &out),   \
		        PP_OK);                                                                   \
		assert_true(view_is(out, "false,0,0,0,0,0,0,0,0,0,0"));                           \
		assert_int_equal(prefix##_echo(c, ppc_str("h\xc3\xa9llo"), &arena, &out), PP_OK); \
		assert_true(view_is(out, "h\xc3\xa9llo!"));                                       \
		pp_string_view none = {NULL, 0};                                                  \
		assert_int_equal(prefix##_echo(c, none, &arena, &out), PP_OK);                    \
		assert_true(view_is(out, "!"));                                                   \
		/* 1 MiB through a 64-byte arena: overflow blocks */                              \
		size_t big = (size_t)1 << 20;                                                     \
		char *text = malloc(big + 1);                                                     \
		memset(text, 'q', big);                                                           \
		text[big] = '\0';                                                                 \
		assert_int_equal(prefix##_echo(c, ppc_str(text), &arena, &out), PP_OK);           \
		assert_int_equal(out.len, big + 1);                                               \
		assert_true(out.ptr[big - 1] == 'q' && out.ptr[big] == '!');                      \
		assert_true(out.ptr < mem || out.ptr >= mem + sizeof mem);                        \
		free(text);                                                                       \
		uint8_t *blob = malloc(big);                                                      \
		for (size_t i = 0; i < big; i++)                                                  \
			blob[i] = (uint8_t)(i * 31);                                              \
		pp_string_view bytes = {blob, big};                                               \
		assert_int_equal(prefix##_reverse(c, bytes, &arena, &out), PP_OK);                \
		assert_int_equal(out.len, big);                                                   \
		assert_true(out.ptr[0] == blob[big - 1] && out.ptr[big - 1] == blob[0]);          \
		free(blob);                                                                       \
		assert_int_equal(prefix##_reverse(c, none, &arena, &out), PP_OK);                 \
		assert_int_equal(out.len, 0);                                                     \
		Mood m = Mood_Calm;                                                               \
		assert_int_equal(prefix##_next_mood(c, Mood_Happy, &m), PP_OK);                   \
		assert_int_equal(m, Mood_Grumpy);                                                 \
		assert_int_equal(prefix##_next_mood(c, Mood_Grumpy, &m), PP_OK);                  \
		assert_int_equal(m, Mood_Calm);                                                   \
		uint64_t w = 0;                                                                   \
		assert_int_equal(prefix##_wide(c, INT64_MIN, 0, &w), PP_OK);                      \
		assert_true(w == (uint64_t)1 << 63);                                              \
		assert_int_equal(prefix##_ping(c), PP_OK);                                        \
		bool ok = false;                                                                  \
		assert_int_equal(prefix##_fail(c, 0, &ok), PP_OK);                                \
		assert_true(ok);                                                                  \
		assert_int_equal(prefix##_fail(c, 4242, &ok), 4242);                              \
		/* without an arena the bytes are the host's: the caller frees them */            \
		assert_int_equal(prefix##_shout(c, ppc_str("hey"), NULL, &out), PP_OK);           \
		assert_true(view_is(out, "HEY"));                                                 \
		const pp_host_api *h_ = pp_runtime_host_api(rt);                                  \
		h_->free(h_, (void *)out.ptr, out.len, 1);                                        \
		assert_string_equal(host_log.last, "hey");                                        \
		assert_int_equal(host_log.last_mood, Mood_Happy);                                 \
		pp_call_arena_free(&arena);                                                       \
	} while (0)

static void every_type_host_to_c(void **state)
{
	(void)state;
	pp_runtime *rt = setup();
	test_everyc c;
	assert_int_equal(test_everyc_open(&c, rt), PP_OK);
	CHECK_EVERY(test_everyc, &c);
	test_everyc_close(&c);
	pp_runtime_free(rt);
}

static void every_type_host_to_js(void **state)
{
	(void)state;
	pp_runtime *rt = setup();
	test_everyjs c;
	assert_int_equal(test_everyjs_open(&c, rt), PP_OK);
	CHECK_EVERY(test_everyjs, &c);
	test_everyjs_close(&c);
	pp_runtime_free(rt);
}

static void relays_check_c_to_js_and_js_to_c(void **state)
{
	(void)state;
	pp_runtime *rt = setup();
	uint8_t mem[256];
	pp_call_arena arena;
	pp_call_arena_init(&arena, mem, sizeof mem, pp_runtime_host_api(rt));
	pp_string_view out = {NULL, 0};
	test_relayc rc;
	assert_int_equal(test_relayc_open(&rc, rt), PP_OK);
	assert_int_equal(test_relayc_check(&rc, &arena, &out), PP_OK);
	if (!view_is(out, "ok"))
		fail_msg("C -> JS: %.*s", (int)out.len, (const char *)out.ptr);
	test_relayjs rj;
	assert_int_equal(test_relayjs_open(&rj, rt), PP_OK);
	uint32_t st = test_relayjs_check(&rj, &arena, &out);
	if (st != PP_OK || !view_is(out, "ok"))
		fail_msg("JS -> C: %u %s (log: %s)", st, pp_last_error(rt), logs.last);
	assert_string_equal(host_log.last, "relay checked");
	test_relayc_close(&rc);
	test_relayjs_close(&rj);
	pp_call_arena_free(&arena);
	pp_runtime_free(rt);
}

static void structs_by_value(void **state)
{
	(void)state;
	pp_runtime *rt = setup();
	test_geometry g;
	assert_int_equal(test_geometry_open(&g, rt), PP_OK);
	Segment s = {{1, 2.0, 4.0f, Mood_Happy}, {2, 4.0, -4.0f, Mood_Happy}};
	Point mid;
	memset(&mid, 0xEE, sizeof mid);
	assert_int_equal(test_geometry_midpoint(&g, s, &mid), PP_OK);
	assert_int_equal(mid.tag, 3);
	assert_true(mid.x == 3.0 && mid.y == 0.0f);
	assert_int_equal(mid.mood, Mood_Happy);
	test_geometry_close(&g);
	pp_runtime_free(rt);
}

static void stateful_contracts_get_an_instance_per_caller(void **state)
{
	(void)state;
	counting_alloc ca = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_counting(&ca);
	assert_int_equal(pp_host_contract_register(rt, &log_iface), PP_OK);
	load_ok(rt, PPC_EVERY_C);
	test_tally a, b;
	assert_int_equal(test_tally_open(&a, rt), PP_OK);
	assert_int_equal(test_tally_open(&b, rt), PP_OK);
	int64_t t = 0;
	assert_int_equal(test_tally_add(&a, 5, &t), PP_OK);
	assert_int_equal(test_tally_add(&a, 5, &t), PP_OK);
	assert_true(t == 10);
	assert_int_equal(test_tally_add(&b, -1, &t), PP_OK);
	assert_true(t == -1);
	test_tally_close(&a);
	test_tally_close(&b);
	assert_int_equal(ca.live, 0); /* both states freed */
	/* the default instance, reached with a plain pp_call, has none */
	pp_guest_contract_instance none = {NULL, 0};
	test_tally_add_args args = {1};
	assert_int_equal(pp_call(rt, pp_find(rt, TEST_TALLY_ID, 1), none, TEST_TALLY_FN_ADD, &args,
	                         &t, NULL),
	                 PP_ERR_FUNCTION_NOT_AVAILABLE);
	pp_runtime_free(rt);
}

/* The generated caller notices the revision counter: after a reload it
 * finds the contract again and makes a new instance. */
static void callers_follow_reloads_and_report_missing_contracts(void **state)
{
	(void)state;
	pp_runtime *rt = setup();
	test_everyjs c;
	assert_int_equal(test_everyjs_open(&c, rt), PP_OK);
	uint64_t w = 0;
	assert_int_equal(test_everyjs_wide(&c, 1, 3, &w), PP_OK);
	assert_int_equal(pp_bundle_reload(rt, pp_bundle_id("every_js")), PP_OK);
	assert_int_equal(test_everyjs_wide(&c, 1, 5, &w), PP_OK);
	assert_true(w == 4);
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("every_js"), PP_UNLOAD_CASCADE), PP_OK);
	assert_int_equal(test_everyjs_wide(&c, 1, 5, &w), PP_ERR_NOT_FOUND);
	test_everyjs_close(&c);
	test_everyjs none;
	assert_int_equal(test_everyjs_open(&none, rt), PP_ERR_NOT_FOUND);
	/* the failed open says what is loaded instead */
	assert_contains(pp_last_error(rt), "no bundle provides test.EveryJs@1 (loaded: ");
	assert_contains(pp_last_error(rt), "test.EveryC@1 1.");
	test_everyjs_close(&none);
	pp_runtime_free(rt);
}

static void version_of(void *ud, const pp_bundle_info *b)
{
	if (strcmp(b->name, "every_js") == 0)
		snprintf(ud, 32, "%s", b->version ? b->version : "");
}

/* ppc manifest: name, version, provides and function counts, checked by
 * the load (a wrong promise would have failed it). */
static void ppc_writes_the_manifest_the_load_checks(void **state)
{
	(void)state;
	pp_runtime *rt = setup();
	char version[32] = "";
	pp_bundle_foreach(rt, version_of, version);
	assert_string_equal(version, "1.2.0");
	char path[512];
	snprintf(path, sizeof path, "%s/manifest.toml", PPC_EVERY_JS);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char text[2048] = "";
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	assert_contains(text, "provides = [\"test.EveryJs@1\", \"test.RelayJs@1\"]");
	assert_contains(text, "loader = \"js-quickjs\"");
	pp_runtime_free(rt);
}

/* open_in targets one bundle's provider rather than the first. */
static void callers_can_target_a_bundle_by_name(void **state)
{
	(void)state;
	pp_runtime *rt = setup();
	test_everyjs c;
	assert_int_equal(test_everyjs_open_in(&c, rt, "every_js"), PP_OK);
	uint64_t w = 0;
	assert_int_equal(test_everyjs_wide(&c, 1, 3, &w), PP_OK);
	test_everyjs_close(&c);
	assert_int_equal(test_everyjs_open_in(&c, rt, "elsewhere"), PP_ERR_NOT_FOUND);
	assert_contains(pp_last_error(rt), "no bundle named 'elsewhere' provides test.EveryJs@1 "
	                                   "(loaded: ");
	assert_contains(pp_last_error(rt), "test.EveryJs@1 1.0.0 from bundle 'every_js'");
	test_everyjs_close(&c);
	pp_runtime_free(rt);
}

/* <contract>_declare(rt) holds a JS provider to the contract's sizes: the
 * ppc bundle, whose sizes are the contract's, loads; a bundle declaring
 * larger ones for the same contract is refused, naming the function. */
static void the_generated_declare_holds_js_providers_to_the_contract_sizes(void **state)
{
	(void)state;
	pp_runtime *rt = rt_with_log(&logs, PP_LOG_TRACE);
	assert_int_equal(test_everyjs_declare(rt), PP_OK);
	pp_load_options o = {.size = sizeof o, .name = "liar", .loader = "js-quickjs"};
	char src[2048];
	snprintf(src, sizeof src,
	         "function polyplug_init(hl, hh, cl, ch, bridge) {\n"
	         "  var fns = [], layouts = [];\n"
	         "  for (var i = 0; i < %d; i++) {\n"
	         "    fns.push(function () { return 0; });\n"
	         "    layouts.push({ args: 4096, out: 4096 });\n"
	         "  }\n"
	         "  return [[{ contractLo: %u, contractHi: %u, contractName: 'test.EveryJs@1',\n"
	         "    version: 0x10000, fnCount: fns.length,\n"
	         "    interface: { factory: function () { return {}; }, functions: fns,\n"
	         "                 layouts: layouts } }], { code: 0, message: '' }];\n"
	         "}\n",
	         TEST_EVERYJS_FUNCTION_COUNT, (unsigned)(TEST_EVERYJS_ID & 0xffffffffu),
	         (unsigned)(TEST_EVERYJS_ID >> 32));
	assert_int_not_equal(pp_bundle_load_source(rt, src, strlen(src), &o, NULL), PP_OK);
	assert_contains(pp_last_error(rt), "bundle 'liar'");
	assert_contains(pp_last_error(rt), "function 0 declares args of 4096 and out of 4096 "
	                                   "bytes; the host's callers pass 56 and 16");
	if (pp_bundle_load(rt, PPC_EVERY_JS, NULL, NULL) != PP_OK)
		fail_msg("loading the ppc JS bundle: %s", pp_last_error(rt));
	pp_runtime_free(rt);
}

/* A plugin's generated host-contract caller finds the contract once per
 * call: a plugin-provided host contract reloaded and unloaded under it never
 * hands its code a missing instance or another version's (relay_c counts
 * the calls that went wrong; hostprov's add reads its singleton). */
static void a_generated_host_caller_survives_its_provider_reloading(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	load_ok(rt, fx("hostprov"));
	if (pp_bundle_load(rt, PPC_RELAY_C, NULL, NULL) != PP_OK)
		fail_msg("relay: %s", pp_last_error(rt));
	pp_guest_contract_handle relay = pp_find(rt, pp_guest_contract_id("test.relay", 1), 1);
	churn c = {.rt = rt,
	           .names = {"hostprov"},
	           .paths = {PP_FIXTURE_DIR "/hostprov.so"},
	           .rounds = 40,
	           .unload_every = 4};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, churn_bundles, &c), 0);
	uint32_t wrong = 0, rounds = 0;
	pp_guest_contract_instance none = {NULL, 0};
	while (!atomic_load(&c.done)) {
		uint32_t n = 200, bad = 0;
		assert_int_equal(pp_call(rt, relay, none, 0, &n, &bad, NULL), PP_OK);
		wrong += bad;
		rounds++;
	}
	pthread_join(t, NULL);
	if (wrong)
		fail_msg("%u of %u calls went wrong", wrong, rounds * 200);
	pp_runtime_free(rt);
}

/* Calls one(caller) until ch's thread has done its reloads; the test fails
 * if any call did (the first failure's message is printed). */
static void call_while_reloading(pp_runtime *rt, churn *ch, bool (*one)(void *), void *caller)
{
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, churn_bundles, ch), 0);
	long calls = 0, failed = 0;
	while (!atomic_load(&ch->done)) {
		if (!one(caller) && !failed++)
			fprintf(stderr, "%s\n", pp_last_error(rt));
		calls++;
	}
	pthread_join(t, NULL);
	if (failed)
		fail_msg("%ld of %ld calls failed", failed, calls);
}

static bool call_wide(void *c)
{
	uint64_t w = 0;
	return test_everyjs_wide(c, 1, 5, &w) == PP_OK && w == 4;
}

/* A reload landing between the caller's revision check and its call: the
 * old instance is refused before anything runs, and the caller finds the
 * contract again — no call fails for it. */
static void a_caller_racing_a_reload_never_fails_for_it(void **state)
{
	(void)state;
	pp_runtime *rt = setup();
	test_everyjs c;
	assert_int_equal(test_everyjs_open(&c, rt), PP_OK);
	churn ch = {.rt = rt, .names = {"every_js"}, .rounds = 30};
	call_while_reloading(rt, &ch, call_wide, &c);
	test_everyjs_close(&c);
	pp_runtime_free(rt);
}

typedef struct tally_caller {
	test_tally c;
	int64_t last;
} tally_caller;

/* Each total counts from its instance's start, never from another's. */
static bool call_tally(void *arg)
{
	tally_caller *t = arg;
	int64_t total = 0;
	bool ok = test_tally_add(&t->c, 1, &total) == PP_OK && (total == t->last + 1 || total == 1);
	t->last = total;
	return ok;
}

/* The same with a native stateful provider, whose code is not asked about
 * an instance: the runtime refuses the replaced version's instance before
 * any code runs, and the caller makes a new one and calls once more. */
static void a_native_stateful_caller_racing_reloads_never_fails_for_it(void **state)
{
	(void)state;
	pp_runtime *rt = rt_with_log(&logs, PP_LOG_ERROR);
	assert_int_equal(pp_host_contract_register(rt, &log_iface), PP_OK);
	pp_load_options o = {.size = sizeof o, .name = "every_c"};
	assert_int_equal(pp_bundle_load(rt, PPC_EVERY_C, &o, NULL), PP_OK);
	tally_caller t = {.last = 0};
	assert_int_equal(test_tally_open(&t.c, rt), PP_OK);
	churn ch = {.rt = rt, .names = {"every_c"}, .rounds = 100};
	call_while_reloading(rt, &ch, call_tally, &t);
	test_tally_close(&t.c);
	pp_runtime_free(rt);
}

/* A function that ran and failed is not run again by the caller, whatever
 * happened meanwhile: another bundle providing the contract loaded from
 * inside the call (the revision moved), or the answering bundle itself
 * reloaded (the contract now has another version); nor when it returns
 * PP_ERR_STALE_INSTANCE itself, the code the caller retries on, which only
 * the runtime may give. */
static pp_runtime *hook_rt;

static void load_another_provider(void)
{
	pp_load_options o = {.name = "every_js_too"};
	assert_int_equal(pp_bundle_load(hook_rt, PPC_EVERY_JS, &o, NULL), PP_OK);
}

static void reload_the_failing_bundle(void)
{
	assert_int_equal(pp_bundle_reload(hook_rt, pp_bundle_id("fails")), PP_OK);
}

/* Loads "fails", whose function FN_FAIL logs once through test.Log (running
 * hook, when set) and returns code; calls it through the generated caller,
 * which must return expect, with the function run once. */
static void runs_once(void (*hook)(void), uint32_t code, uint32_t expect)
{
	pp_runtime *rt = hook_rt = rt_with_log(&logs, PP_LOG_TRACE);
	assert_int_equal(pp_host_contract_register(rt, &log_iface), PP_OK);
	char src[2048];
	snprintf(src, sizeof src,
	         JS_PRELUDE "var log = cid('host_contract:test.Log@1');\n"
	                    "function polyplug_init() {\n"
	                    "  var fns = [];\n"
	                    "  for (var k = 0; k < %d; k++) fns.push(function () { return 0; });\n"
	                    "  fns[%d] = function (i, a, o, ar, b) {\n"
	                    "    var m = b.alloc(24), p = m[0] + m[1] * 4294967296;\n"
	                    "    b.writeI32(p, 1);\n"
	                    "    b.callHostContract(log[0], log[1], 0x10001, 0, p, 0);\n"
	                    "    b.free(m[0], m[1], 24, 1);\n"
	                    "    return %u; };\n"
	                    "  return ok([reg('test.EveryJs', fns)]);\n}\n",
	         TEST_EVERYJS_FUNCTION_COUNT, TEST_EVERYJS_FN_FAIL, code);
	assert_int_equal(js_load_src(rt, "fails", src, NULL), PP_OK);
	test_everyjs c;
	assert_int_equal(test_everyjs_open_in(&c, rt, "fails"), PP_OK);
	uint32_t before = host_log.count;
	bool done = false;
	on_log = hook;
	assert_int_equal(test_everyjs_fail(&c, 6, &done), expect);
	if (expect != code)
		assert_contains(pp_last_error(rt),
		                "returned PP_ERR_STALE_INSTANCE, a code only the "
		                "runtime gives");
	assert_null(on_log); /* the hook ran during the call */
	assert_int_equal(host_log.count - before, 1);
	test_everyjs_close(&c);
	pp_runtime_free(rt);
}

static void a_caller_never_runs_a_failing_function_twice(void **state)
{
	(void)state;
	runs_once(load_another_provider, PP_ERR_FUNCTION_NOT_AVAILABLE,
	          PP_ERR_FUNCTION_NOT_AVAILABLE);
	runs_once(reload_the_failing_bundle, PP_ERR_FUNCTION_NOT_AVAILABLE,
	          PP_ERR_FUNCTION_NOT_AVAILABLE);
	runs_once(reload_the_failing_bundle, PP_ERR_STALE_INSTANCE, PP_ERR_GENERIC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(every_type_host_to_c),
	        cmocka_unit_test(the_generated_declare_holds_js_providers_to_the_contract_sizes),
	        cmocka_unit_test(callers_can_target_a_bundle_by_name),
	        cmocka_unit_test(ppc_writes_the_manifest_the_load_checks),
	        cmocka_unit_test(every_type_host_to_js),
	        cmocka_unit_test(relays_check_c_to_js_and_js_to_c),
	        cmocka_unit_test(structs_by_value),
	        cmocka_unit_test(stateful_contracts_get_an_instance_per_caller),
	        cmocka_unit_test(callers_follow_reloads_and_report_missing_contracts),
	        cmocka_unit_test(a_generated_host_caller_survives_its_provider_reloading),
	        cmocka_unit_test(a_caller_racing_a_reload_never_fails_for_it),
	        cmocka_unit_test(a_native_stateful_caller_racing_reloads_never_fails_for_it),
	        cmocka_unit_test(a_caller_never_runs_a_failing_function_twice),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
