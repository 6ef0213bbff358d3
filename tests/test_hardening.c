/* test_hardening.c — what a hostile plugin or a host with many threads must
 * not be able to do to the runtime: leave code behind that was unmapped,
 * deadlock bundles against each other, overflow the host's stack, stall
 * another runtime, reuse an identity, or sneak an unchecked size past a
 * limit. Threads are real; a watchdog turns a deadlock into a failure. */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../fuzz/js_call_gen.h" /* and js_init_gen.h */
#include "js_helpers.h"

/* Joins n threads, failing the test if they are not done within `seconds`
 * (a deadlock), instead of hanging until CTest's timeout. */
static void join_within(pthread_t *threads, size_t n, int seconds)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += seconds;
	for (size_t i = 0; i < n; i++)
		if (pthread_timedjoin_np(threads[i], NULL, &until) != 0)
			fail_msg("thread %zu still running after %d s: a deadlock", i, seconds);
}

/* Runs fn(arg) on a thread with a stack of `bytes`, to its end (watchdog). */
static void run_with_stack(size_t bytes, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, bytes);
	pthread_t t;
	assert_int_equal(pthread_create(&t, &attr, fn, arg), 0);
	pthread_attr_destroy(&attr);
	join_within(&t, 1, 60);
}

static const pp_host_contract_interface *host_iface(pp_runtime *rt, const char *name)
{
	const pp_host_api *h = pp_runtime_host_api(rt);
	return h->resolve_host_contract_interface(h, pp_host_contract_id(name, 1), 0);
}

static uint32_t bundle_count(pp_runtime *rt)
{
	pp_stats st;
	pp_runtime_stats(rt, &st);
	return st.bundles;
}

typedef struct inside {
	pp_runtime *rt;
	atomic_int entered;
	uint32_t st;
	const void *data;
} inside;

/* ---- Lifetimes ------------------------------------------------------------ */

static void host_contracts_a_plugin_registered_leave_with_its_version(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	const pp_host_api *h = pp_runtime_host_api(rt);
	uint64_t id = load_ok(rt, fx("hostprov"));
	assert_non_null(host_iface(rt, "test.provided"));
	assert_null(host_iface(rt, "test.late"));
	uint32_t code;
	/* registered from a call, outside init: still the bundle's */
	assert_int_equal(call_i32(rt, "test.hostprov", 0, 0, &code), PP_OK);
	assert_int_equal(code, PP_OK);
	assert_non_null(host_iface(rt, "test.late"));

	assert_int_equal(pp_bundle_reload(rt, id), PP_OK);
	assert_non_null(host_iface(rt, "test.provided")); /* the new version's */
	assert_null(host_iface(rt, "test.late"));         /* the old version's went with it */
	pp_host_contract_instance inst =
	        h->get_host_contract(h, pp_host_contract_id("test.provided", 1), 0);
	assert_non_null(inst.data);

	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	assert_null(host_iface(rt, "test.provided"));
	inst = h->get_host_contract(h, pp_host_contract_id("test.provided", 1), 0);
	assert_null(inst.data);
	assert_int_equal(pp_runtime_quiesce(rt), PP_OK);
	pp_stats st;
	pp_runtime_stats(rt, &st);
	assert_int_equal(st.host_contracts, 0);
	pp_runtime_free(rt); /* nothing left to call into unmapped code */
}

static void a_bundle_loading_itself_from_its_init_yields_one_bundle(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	load_ok(rt, fx("selfload"));
	uint32_t code;
	assert_int_equal(call_i32(rt, "test.selfload", 0, 0, &code), PP_ERR_DUPLICATE_PROVIDER);
	assert_int_equal(code, PP_OK);
	assert_int_equal(bundle_count(rt), 1);
	/* nor may a plugin register a loader: it would be called after it is gone */
	assert_int_equal(call_i32(rt, "test.selfload", 1, 0, &code), PP_ERR_UNSUPPORTED);
	/* a path that is not one (NULL with a length, SIZE_MAX bytes, a NUL
	 * inside) is refused before it is copied */
	static const pp_status refused[] = {PP_ERR_INVALID_POINTER, PP_ERR_INVALID_ARGUMENT,
	                                    PP_ERR_INVALID_ARGUMENT};
	for (int32_t k = 0; k < 3; k++) {
		assert_int_equal(call_i32(rt, "test.selfload", 2, k, &code), refused[k]);
		assert_int_equal(code, PP_OK);
	}
	assert_int_equal(bundle_count(rt), 1);
	pp_runtime_free(rt);
}

/* An init may load other bundles (docs/runtime.md, Loading: registrations
 * are attributed through a per-thread stack of bundles being initialised,
 * popped on every exit path): what a nested load registers is the loaded
 * bundle's, and what the init registers after it — after a nested load
 * that failed, too — is still the init's own. */
static void registrations_around_a_nested_load_stay_with_their_bundle(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	uint64_t outer = load_ok(rt, fx("loadsib"));
	uint32_t code;
	assert_int_equal(call_i32(rt, "test.outer.a", 0, 0, &code), PP_ERR_INIT_FAILED);
	assert_int_equal(code, PP_OK);
	assert_int_equal(call_i32(rt, "test.outer.b", 0, 0, &code), PP_OK);
	assert_int_equal(code, PP_OK);
	assert_int_equal(bundle_count(rt), 2);
	assert_int_equal(calc_add(rt, 40, 2), 42);
	/* both of the outer's contracts go with it; test.calc stays calc_v1's */
	assert_int_equal(pp_bundle_unload(rt, outer, 0), PP_OK);
	assert_true(pp_handle_is_null(pp_find(rt, pp_guest_contract_id("test.outer.a", 1), 0)));
	assert_true(pp_handle_is_null(pp_find(rt, pp_guest_contract_id("test.outer.b", 1), 0)));
	assert_int_equal(calc_add(rt, 40, 2), 42);
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("calc_v1"), 0), PP_OK);
	assert_true(pp_handle_is_null(pp_find(rt, CALC, 0)));
	assert_int_equal(bundle_count(rt), 0);
	pp_runtime_free(rt);
}

typedef struct racer {
	pp_runtime *rt;
	const char *src;
	atomic_int *go;
	int rounds;
	pp_status st;
	char why[256];
	int bad; /* statuses outside the allowed set */
} racer;

static void *load_once(void *p)
{
	racer *r = p;
	while (!atomic_load(r->go))
		;
	r->st = js_load_src(r->rt, "twin", r->src, NULL);
	snprintf(r->why, sizeof r->why, "%s", r->st ? pp_last_error(r->rt) : "");
	return NULL;
}

static void concurrent_loads_of_one_name_yield_one_bundle(void **state)
{
	(void)state;
	/* top-level work widens the window in which the loads overlap */
	static const char src[] = "for (var i = 0; i < 200000; i++) {}\n" JS_ONE(
	        "test.twin", "function () { return 0; }");
	for (int round = 0; round < 5; round++) {
		pp_runtime *rt = rt_new();
		atomic_int go = 0;
		racer r[4];
		pthread_t t[4];
		for (int i = 0; i < 4; i++) {
			r[i] = (racer){.rt = rt, .src = src, .go = &go};
			pthread_create(&t[i], NULL, load_once, &r[i]);
		}
		atomic_store(&go, 1);
		join_within(t, 4, 60);
		int ok = 0;
		for (int i = 0; i < 4; i++) {
			if (r[i].st == PP_OK) {
				ok++;
				continue;
			}
			assert_int_equal(r[i].st, PP_ERR_DUPLICATE_PROVIDER);
			assert_contains(r[i].why, "bundle 'twin' is already");
		}
		assert_int_equal(ok, 1);
		assert_int_equal(bundle_count(rt), 1);
		pp_runtime_free(rt);
	}
}

static void *load_twin_held(void *p)
{
	racer *r = p;
	r->st = js_load_src(r->rt, "held-twin", r->src, NULL);
	return NULL;
}

/* A bundle being loaded holds its name (docs/runtime.md, Loading): a
 * second load of it while its init runs fails at once, "being loaded",
 * rather than waiting or loading a second copy; once it is loaded, "already
 * loaded". Its init is held at a latch while the second load is tried. */
static void a_second_load_while_the_first_initialises_fails_as_being_loaded(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	latch l;
	latch_register(rt, &l);
	static const char src[] = JS_PRELUDE JS_LATCH
	        "function polyplug_init(hl, hh, cl, ch, b) {\n"
	        "  while (held(b)) {}\n"
	        "  return ok([reg('test.heldtwin', [function () { return 0; }])]);\n}\n";
	racer first = {.rt = rt, .src = src};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, load_twin_held, &first), 0);
	await_true(atomic_load(&l.inside), 30);
	assert_int_equal(js_load_src(rt, "held-twin", src, NULL), PP_ERR_DUPLICATE_PROVIDER);
	assert_contains(pp_last_error(rt), "bundle 'held-twin' is already being loaded");
	int still_held = !atomic_load(&l.go); /* it did not wait for the first */
	atomic_store(&l.go, 1);
	join_within(&t, 1, 60);
	assert_true(still_held);
	assert_int_equal(first.st, PP_OK);
	assert_int_equal(js_load_src(rt, "held-twin", src, NULL), PP_ERR_DUPLICATE_PROVIDER);
	assert_contains(pp_last_error(rt), "bundle 'held-twin' is already loaded");
	assert_int_equal(bundle_count(rt), 1);
	pp_runtime_free(rt);
}

static void *churn_loads(void *p)
{
	racer *r = p;
	for (int i = 0; i < r->rounds; i++) {
		pp_status st = js_load_src(r->rt, "churn", r->src, NULL);
		r->bad += st != PP_OK && st != PP_ERR_DUPLICATE_PROVIDER;
	}
	return NULL;
}

static void *churn_unloads(void *p)
{
	racer *r = p;
	for (int i = 0; i < r->rounds; i++) {
		pp_status st = pp_bundle_unload(r->rt, pp_bundle_id("churn"), 0);
		r->bad += st != PP_OK && st != PP_ERR_NOT_FOUND;
	}
	return NULL;
}

static void *churn_calls(void *p)
{
	racer *r = p;
	for (int i = 0; i < r->rounds * 4; i++) {
		int32_t out = 0;
		uint32_t st = js_call(r->rt, "test.churn", 0, NULL, &out);
		r->bad += st != PP_OK && st != PP_ERR_STALE_HANDLE;
	}
	return NULL;
}

static void loads_unloads_and_calls_racing_never_touch_a_freed_bundle(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	static const char src[] = JS_ONE("test.churn", "function () { return 0; }");
	racer r[3] = {{.rt = rt, .src = src, .rounds = 150},
	              {.rt = rt, .src = src, .rounds = 150},
	              {.rt = rt, .src = src, .rounds = 150}};
	pthread_t t[3];
	pthread_create(&t[0], NULL, churn_loads, &r[0]);
	pthread_create(&t[1], NULL, churn_unloads, &r[1]);
	pthread_create(&t[2], NULL, churn_calls, &r[2]);
	join_within(t, 3, 120);
	for (int i = 0; i < 3; i++)
		assert_int_equal(r[i].bad, 0);
	pp_runtime_free(rt);
}

static void a_native_init_that_offers_a_host_contract_then_fails_leaves_nothing(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	assert_int_equal(pp_bundle_load(rt, fx("broken_host_then_fail"), NULL, NULL),
	                 PP_ERR_INIT_FAILED);
	assert_contains(pp_last_error(rt), "changed my mind");
	assert_null(host_iface(rt, "test.doomed"));
	assert_int_equal(bundle_count(rt), 0);
	pp_runtime_free(rt);
}

typedef struct late_call {
	pp_runtime *rt;
	atomic_int inside, go; /* hostprov's fn 1 gate */
	uint32_t st;
	int32_t out;
} late_call;

static void *register_late_when_let(void *p)
{
	late_call *c = p;
	struct {
		atomic_int *inside, *go;
	} gate = {&c->inside, &c->go};
	pp_guest_contract_instance none = {NULL, 0};
	pp_guest_contract_handle h = pp_find(c->rt, pp_guest_contract_id("test.hostprov", 1), 0);
	c->st = pp_call(c->rt, h, none, 1, &gate, &c->out, NULL);
	return NULL;
}

static void replaced_code_cannot_register_a_host_contract(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	uint64_t id = load_ok(rt, fx("hostprov"));
	late_call c = {.rt = rt};
	pthread_t t;
	pthread_create(&t, NULL, register_late_when_let, &c);
	/* the call waits in the old version's code, then registers from it */
	await_true(atomic_load(&c.inside), 30);
	assert_int_equal(pp_bundle_reload(rt, id), PP_OK);
	atomic_store(&c.go, 1);
	join_within(&t, 1, 90);
	/* the plugin passes the registration's error on as its call's */
	assert_int_equal(c.st, PP_ERR_STALE_HANDLE);
	assert_int_equal(c.out, PP_ERR_STALE_HANDLE);
	assert_null(host_iface(rt, "test.late"));
	assert_int_equal(pp_runtime_quiesce(rt), PP_OK); /* the old code is unmapped */
	assert_null(host_iface(rt, "test.late"));
	pp_runtime_free(rt);
}

static void *load_dependent(void *p)
{
	inside *in = p;
	atomic_store(&in->entered, 1);
	/* its init calls calc again and again while calc is unloaded under it,
	 * until the test lets the latch go */
	pp_dependency needs = {pp_guest_contract_id("test.calc", 1), 0};
	pp_load_options o = {.name = "dependent", .dependencies = &needs, .dependency_count = 1};
	static const char src[] = JS_PRELUDE JS_LATCH
	        "var calc = cid('guest_contract:test.calc@1');\n"
	        "function polyplug_init(hl, hh, cl, ch, b) {\n"
	        "  while (held(b)) {\n"
	        "    var h = b.findByContract(calc[0], calc[1], 0);\n"
	        "    b.resolveGuestContract(h);\n"
	        "    var p = b.alloc(12), ptr = p[0] + p[1] * 4294967296;\n"
	        "    b.writeI32(ptr, 1); b.writeI32(ptr + 4, 2);\n"
	        "    b.dispatchPeer(calc[0], calc[1], 0, 0, ptr, ptr + 8);\n"
	        "    b.free(p[0], p[1], 12, 1);\n"
	        "  }\n"
	        "  return ok([reg('test.dependent', [function () { return 0; }])]);\n}\n";
	in->st = pp_bundle_load_source(in->rt, src, strlen(src), &o, NULL);
	return NULL;
}

static void
a_dependency_unloaded_during_a_dependents_init_stays_mapped_until_it_returns(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	latch l;
	latch_register(rt, &l);
	uint64_t calc = load_ok(rt, fx("calc_v1"));
	inside in = {.rt = rt};
	pthread_t t;
	pthread_create(&t, NULL, load_dependent, &in);
	await_true(atomic_load(&l.inside), 30);
	assert_int_equal(pp_bundle_unload(rt, calc, 0), PP_OK);
	atomic_store(&l.go, 1);
	assert_int_equal(pp_runtime_quiesce(rt), PP_OK); /* waits for the init to return */
	join_within(&t, 1, 60);
	/* its init ran to the end on mapped code, and then its load was refused:
	 * what it declared it needs is gone */
	assert_int_equal(in.st, PP_ERR_NOT_FOUND);
	assert_int_equal(pp_bundle_foreach(rt, NULL, NULL), 0);
	pp_runtime_free(rt);
}

typedef struct finder {
	pp_runtime *rt;
	atomic_int done;
	atomic_long lookups;
	long misses;
} finder;

static void *find_forever(void *p)
{
	finder *f = p;
	uint64_t cid = pp_guest_contract_id("test.stay", 1);
	while (!atomic_load(&f->done)) {
		f->misses += pp_handle_is_null(pp_find(f->rt, cid, 0));
		atomic_fetch_add(&f->lookups, 1);
	}
	return NULL;
}

static void find_never_misses_a_contract_that_is_being_reloaded(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char dir[256];
	js_write_dir(dir, sizeof dir, JS_ONE("test.stay", "function () { return 0; }"));
	uint64_t id = load_ok(rt, dir);
	finder f = {.rt = rt};
	pthread_t t;
	pthread_create(&t, NULL, find_forever, &f);
	/* the finder is looking before the reloads start and through each */
	await_true(atomic_load(&f.lookups) > 0, 30);
	for (int i = 0; i < 150; i++) {
		long before = atomic_load(&f.lookups);
		assert_int_equal(pp_bundle_reload(rt, id), PP_OK);
		await_true(atomic_load(&f.lookups) > before, 30);
	}
	atomic_store(&f.done, 1);
	join_within(&t, 1, 60);
	assert_int_equal(f.misses, 0);
	pp_runtime_free(rt);
	remove_tree(dir);
}

/* Reloading bundle `a` (index 0) or `b` (1) makes its PREPARING callback
 * reload the other one. */
typedef struct crossed {
	pp_runtime *rt;
	uint64_t ids[2];
	atomic_int nested_ok, nested_refused, nested_other;
} crossed;

static void reload_the_other(void *ud, uint64_t id, const char *name, uint32_t phase,
                             const char *reason)
{
	(void)name;
	(void)reason;
	crossed *x = ud;
	if (phase != PP_RELOAD_PREPARING || !x->rt)
		return;
	usleep(10 * 1000);
	pp_status st = pp_bundle_reload(x->rt, id == x->ids[0] ? x->ids[1] : x->ids[0]);
	if (st == PP_OK)
		atomic_fetch_add(&x->nested_ok, 1);
	else if (st == PP_ERR_REENTRANT_CALL)
		atomic_fetch_add(&x->nested_refused, 1);
	else
		atomic_fetch_add(&x->nested_other, 1);
}

typedef struct reloader {
	pp_runtime *rt;
	uint64_t id;
} reloader;

static void *reload_five_times(void *p)
{
	reloader *r = p;
	for (int i = 0; i < 5; i++)
		pp_bundle_reload(r->rt, r->id);
	return NULL;
}

static void reloads_crossed_through_callbacks_never_deadlock(void **state)
{
	(void)state;
	crossed x = {0};
	pp_runtime *rt = rt_reporting(reload_the_other, &x);
	x.ids[0] = js_load_ok(rt, "a", JS_ONE("test.a", "function () { return 0; }"));
	x.ids[1] = js_load_ok(rt, "b", JS_ONE("test.b", "function () { return 0; }"));
	x.rt = rt;
	reloader r[2] = {{rt, x.ids[0]}, {rt, x.ids[1]}};
	pthread_t t[2];
	pthread_create(&t[0], NULL, reload_five_times, &r[0]);
	pthread_create(&t[1], NULL, reload_five_times, &r[1]);
	join_within(t, 2, 60);
	assert_int_equal(atomic_load(&x.nested_other), 0);
	assert_true(atomic_load(&x.nested_ok) + atomic_load(&x.nested_refused) > 0);
	x.rt = NULL;
	pp_runtime_free(rt);
}

static void a_native_bundle_finds_libraries_beside_it_through_origin(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char path[512];
	snprintf(path, sizeof path, "%s/origin/origin.so", PP_FIXTURE_DIR);
	uint64_t id = load_ok(rt, path);
	uint32_t code;
	assert_int_equal(call_i32(rt, "test.origin", 0, 0, &code), 42);
	assert_int_equal(code, PP_OK);
	assert_int_equal(pp_bundle_reload(rt, id), PP_OK); /* a second copy, same place */
	assert_int_equal(call_i32(rt, "test.origin", 0, 0, &code), 42);
	pp_runtime_free(rt);
}

static void bundle_names_that_are_paths_are_refused_for_every_loader(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	static const char *const bad[] = {"a/b", "..", ".", "../up", "tab\there", ""};
	static const char src[] = JS_ONE("test.n", "function () { return 0; }");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pp_load_options o = {.name = bad[i]};
		assert_int_equal(pp_bundle_load(rt, fx("calc_v1"), &o, NULL),
		                 PP_ERR_INVALID_ARGUMENT);
		if (*bad[i])
			assert_contains(pp_last_error(rt), "is refused");
		assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), &o, NULL),
		                 PP_ERR_INVALID_ARGUMENT);
	}
	assert_int_equal(bundle_count(rt), 0);
	pp_runtime_free(rt);
}

/* A name over 255 bytes, or with a control character (tab, \x01, DEL), is
 * refused by every loader with the reason; 255 bytes are accepted
 * (docs/runtime.md, Objects). */
static void long_bundle_names_and_control_characters_are_refused_with_the_reason(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char longest[256], too_long[257];
	memset(longest, 'n', 255);
	longest[255] = '\0';
	memset(too_long, 'n', 256);
	too_long[256] = '\0';
	static const char src[] = JS_ONE("test.n", "function () { return 0; }");
	const char *const bad[] = {too_long, "tab\there", "a\x01b", "del\x7f"};
	const char *const why[] = {"it is longer than 255 bytes", "it contains a control character",
	                           "it contains a control character",
	                           "it contains a control character"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pp_load_options o = {.name = bad[i]};
		assert_int_equal(pp_bundle_load(rt, fx("calc_v1"), &o, NULL),
		                 PP_ERR_INVALID_ARGUMENT);
		assert_contains(pp_last_error(rt), "is refused: ");
		assert_contains(pp_last_error(rt), why[i]);
		assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), &o, NULL),
		                 PP_ERR_INVALID_ARGUMENT);
		assert_contains(pp_last_error(rt), why[i]);
	}
	assert_int_equal(bundle_count(rt), 0);
	/* 255 bytes is still a name, for both loaders */
	pp_load_options o = {.name = longest};
	uint64_t id = 0;
	assert_int_equal(pp_bundle_load(rt, fx("calc_v1"), &o, &id), PP_OK);
	assert_int_equal(id, pp_bundle_id(longest));
	assert_int_equal(calc_add(rt, 2, 3), 5);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	assert_int_equal(js_load_src(rt, longest, src, &id), PP_OK);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	pp_runtime_free(rt);
}

static void a_source_with_a_bad_last_byte_is_refused_at_once_with_its_offset(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	size_t n = 1u << 20;
	char *src = malloc(n);
	assert_non_null(src);
	memset(src, ' ', n);
	src[0] = src[1] = '/';
	src[n - 1] = (char)0xFF;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pp_load_options o = {.name = "bad_utf8"};
	assert_int_equal(pp_bundle_load_source(rt, src, n, &o, NULL), PP_ERR_LOAD_FAILED);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_contains(pp_last_error(rt), "not valid UTF-8 (bad byte at offset 1048575)");
	/* one pass: the old scan took minutes here */
	assert_true(t1.tv_sec - t0.tv_sec < 30);
	/* the same from a file */
	char dir[256];
	temp_dir(dir, sizeof dir);
	char path[512];
	snprintf(path, sizeof path, "%s/bundle.js", dir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(src, 1, n, f), n);
	fclose(f);
	assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "bad byte at offset 1048575");
	free(src);
	remove_tree(dir);
	pp_runtime_free(rt);
}

static void contract_names_too_long_or_not_utf8_say_which(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char src[8192];
	snprintf(src, sizeof src,
	         JS_PRELUDE "function polyplug_init() { var r = reg('x.Long', [function () {"
	                    " return 0; }]); r.contractName = 'n'.repeat(%u) + '@1';"
	                    " return ok([r]); }",
	         PP_MAX_NAME_BYTES);
	assert_int_equal(js_load_src(rt, "long_name", src, NULL), PP_ERR_INIT_FAILED);
	assert_contains(pp_last_error(rt), "bytes long; the limit is 4096 (PP_MAX_NAME_BYTES)");
	snprintf(src, sizeof src,
	         JS_PRELUDE "function polyplug_init() { var r = reg('x.Bad', [function () {"
	                    " return 0; }]); r.contractName = 'ab\\uD800@1'; return ok([r]); }");
	assert_int_equal(js_load_src(rt, "surrogate_name", src, NULL), PP_ERR_INIT_FAILED);
	assert_contains(pp_last_error(rt), "contract name 'ab...' is not valid UTF-8 (bad byte at "
	                                   "offset 2)");
	assert_int_equal(bundle_count(rt), 0);
	pp_runtime_free(rt);
}

static void files_resolving_outside_the_bundle_directory_are_refused(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char outside[256], dir[256], link[512], target[512];
	temp_dir(outside, sizeof outside);
	static const char src[] = JS_ONE("test.escape", "function () { return 0; }");
	write_text(outside, "evil.js", src);
	snprintf(target, sizeof target, "%s/evil.js", outside);

	/* bundle.js itself a symlink to outside */
	temp_dir(dir, sizeof dir);
	snprintf(link, sizeof link, "%s/bundle.js", dir);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "outside the bundle directory");
	remove_tree(dir);

	/* a manifest's file through a symlinked subdirectory */
	temp_dir(dir, sizeof dir);
	snprintf(link, sizeof link, "%s/sub", dir);
	assert_int_equal(symlink(outside, link), 0);
	write_text(dir, "manifest.toml", "name = \"escape\"\nfile = \"sub/evil.js\"\n");
	assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "leads outside");
	assert_contains(pp_last_error(rt), "outside the bundle directory");
	remove_tree(dir);

	/* a native library symlinked from outside */
	temp_dir(dir, sizeof dir);
	snprintf(link, sizeof link, "%s/calc.so", dir);
	assert_int_equal(symlink(fx("calc_v1"), link), 0);
	assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "outside the bundle directory");
	remove_tree(dir);
	assert_int_equal(bundle_count(rt), 0);

	/* a symlink that stays inside is fine */
	temp_dir(dir, sizeof dir);
	write_text(dir, "real.js", src);
	snprintf(link, sizeof link, "%s/bundle.js", dir);
	assert_int_equal(symlink("real.js", link), 0);
	assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_OK);
	remove_tree(dir);
	remove_tree(outside);
	pp_runtime_free(rt);
}

/* Fills the heap to the limit in a different shape each trial, then does a
 * little of everything with it exhausted: throws (backtraces), generators,
 * closures, regexps, JSON, eval. Each of these found a QuickJS bug under
 * ASan (scripts/quickjs/0003-survive-out-of-memory.patch). */
#define EXHAUSTED_JS                                                                             \
	"function f(n) { if (n) return f(n - 1); throw new Error('deep' + n); }\n"               \
	"var ops = [\n"                                                                          \
	" function () { f(5); }, function () { null.x; },\n"                                     \
	" function () { JSON.parse('{\"a\":[1,2,3,{\"b\":\"c\"}]}'); },\n"                       \
	" function () { /(\\d+)-(\\d+)/.exec('12-34'); },\n"                                     \
	" function () { 'abc'.split('').map(function (c) { return c + c; }).join('|'); },\n"     \
	" function () { new Map([[1, 2]]); }, function () { [3, 1, 2].sort(); },\n"              \
	" function () { Promise.resolve(1).then(function () {}); },\n"                           \
	" function () { class A { constructor() { this.x = 1; } }; new A(); },\n"                \
	" function () { new Error('e').stack; }, function () { eval('1 + 1'); },\n"              \
	" function () { new Proxy({}, { get: function () { throw new TypeError('t'); }"          \
	" }).q; },\n"                                                                            \
	" function () { (function* () { yield 1; })().next(); },\n"                              \
	" function () { (async function () { await 1; })(); },\n"                                \
	" function () { Reflect.ownKeys(globalThis); }, function () { String(Symbol('q')); },\n" \
	"];\n"                                                                                   \
	"function exhaust(impl, args, out) {\n"                                                  \
	"  for (var t = 0; t < 60; t++) {\n"                                                     \
	"    var a = [];\n"                                                                      \
	"    try { for (var i = 0;; i++) a.push(i % (t % 7 + 1) ? { k: i } :"                    \
	" 'y'.repeat(t % 50) + i); } catch (e) {}\n"                                             \
	"    for (var o = 0; o < ops.length; o++) {\n"                                           \
	"      try { ops[(o + t) % ops.length](); } catch (e) { try { e.stack; } catch (e2) {} " \
	"}\n"                                                                                    \
	"    }\n"                                                                                \
	"    a = null;\n"                                                                        \
	"  }\n"                                                                                  \
	"  return 0;\n"                                                                          \
	"}\n"

static void a_guest_working_with_its_heap_exhausted_never_corrupts_the_host(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	static const char src[] = JS_PRELUDE EXHAUSTED_JS
	        "function polyplug_init() {\n"
	        "  return ok([reg('test.exhaust', [exhaust, function (i, a, o, ar, b) {"
	        " b.writeI32(o, 42); return 0; }])]);\n}\n";
	pp_load_options o = {.name = "exhaust", .js = {.memory_bytes = 2u << 20, .cpu_ms = 3000}};
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), &o, NULL), PP_OK);
	for (int round = 0; round < 3; round++) {
		uint32_t code = js_call(rt, "test.exhaust", 0, NULL, NULL);
		/* it may finish, run out of memory where it did not catch, or time out */
		if (code != PP_OK && code != PP_ERR_OUT_OF_MEMORY && code != PP_ERR_GENERIC &&
		    code != PP_ERR_TIMEOUT)
			fail_msg("status %u: %s", code, pp_last_error(rt));
		int32_t r = 0;
		assert_int_equal(js_call(rt, "test.exhaust", 1, NULL, &r), PP_OK);
		assert_int_equal(r, 42);
	}
	pp_runtime_free(rt);
}

static void a_bundle_running_out_of_memory_while_compiling_fails_cleanly(void **state)
{
	(void)state;
	/* QuickJS's parser crashes when an allocation fails under it; the loader
	 * compiles outside the limit, so wherever the limit falls, the load fails
	 * (or succeeds) with a status */
	size_t cap = 1u << 20, n = 0;
	char *src = malloc(cap);
	assert_non_null(src);
	/* big to parse, small to run: the functions sit in one never called, so
	 * running it does not reach the limit (running out of memory in ordinary
	 * code is QuickJS's own affair: docs/js.md) */
	n += (size_t)snprintf(src + n, cap - n, "function never() {\n");
	for (int i = 0; i < 5000 && n + 200 < cap; i++)
		n += (size_t)snprintf(
		        src + n, cap - n,
		        "function f%d(a, b) { var x = [a, b, %d]; return x.length + a * b; }\n", i,
		        i);
	n += (size_t)snprintf(src + n, cap - n, "%s",
	                      "}\n" JS_PRELUDE "function polyplug_init() {\n"
	                      "  return ok([reg('test.big', [never])]);\n}\n");
	pp_runtime *rt = rt_new();
	for (size_t limit = 200000; limit < 4000000; limit += 37000) {
		pp_load_options o = {.name = "big", .js = {.memory_bytes = limit}};
		pp_status st = pp_bundle_load_source(rt, src, n, &o, NULL);
		if (st == PP_OK)
			assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("big"), 0), PP_OK);
		else
			assert_true(*pp_last_error(rt));
	}
	pp_load_options o = {.name = "big", .js = {.memory_bytes = 100000}};
	assert_int_equal(pp_bundle_load_source(rt, src, n, &o, NULL), PP_ERR_OUT_OF_MEMORY);
	assert_contains(pp_last_error(rt), "more than the VM's memory limit of 100000 bytes");
	pp_runtime_free(rt);
	free(src);
}

/* A bundle's file is read no further than the VM's memory limit: one larger
 * is refused as out of memory, naming the limit, as source text is (js.md,
 * Limits). */
static void a_bundle_file_larger_than_the_memory_limit_is_refused_naming_it(void **state)
{
	(void)state;
	static const char head[] = JS_ONE("test.bigfile", "function () { return 0; }") "//";
	size_t n = sizeof head - 1 + 200000;
	char *src = malloc(n + 2);
	assert_non_null(src);
	memcpy(src, head, sizeof head - 1);
	memset(src + sizeof head - 1, 'x', n - (sizeof head - 1));
	memcpy(src + n, "\n", 2);
	char dir[64];
	js_write_dir(dir, sizeof dir, src);
	free(src);
	pp_runtime *rt = rt_new();
	pp_load_options o = {.name = "bigfile", .js = {.memory_bytes = 100000}};
	assert_int_equal(pp_bundle_load(rt, dir, &o, NULL), PP_ERR_OUT_OF_MEMORY);
	assert_contains(pp_last_error(rt), "bundle 'bigfile'");
	assert_contains(pp_last_error(rt), "memory limit of 100000 bytes");
	o.js.memory_bytes = 16u << 20; /* where it fits, it loads */
	assert_int_equal(pp_bundle_load(rt, dir, &o, NULL), PP_OK);
	pp_runtime_free(rt);
	remove_tree(dir);
}

static pp_runtime *replay_rt;

static void replay_js_init(const char *data, size_t len, const char *name)
{
	(void)name;
	js_init_run(replay_rt, (const uint8_t *)data, len);
	assert_int_equal(pp_runtime_quiesce(replay_rt), PP_OK);
}

static void the_js_init_fuzz_corpus_loads_or_fails_cleanly(void **state)
{
	(void)state;
	replay_rt = rt_new();
	assert_true(replay_dir(PP_SOURCE_DIR "/fuzz/corpus/js_init", replay_js_init) > 0);
	replay_dir(PP_SOURCE_DIR "/fuzz/regressions/js_init", replay_js_init);
	/* and the runtime is as usable as before */
	int32_t out;
	js_load_ok(replay_rt, "after", JS_ONE("test.after", "function () { return 0; }"));
	assert_int_equal(js_call(replay_rt, "test.after", 0, NULL, &out), PP_OK);
	pp_runtime_free(replay_rt);
}

static void replay_js_call(const char *data, size_t len, const char *name)
{
	const char *broken = js_call_run(replay_rt, (const uint8_t *)data, len);
	if (broken)
		fail_msg("%s: %s", name, broken);
}

/* Each input's bundle does hostile things during its calls; after each
 * call the runtime's promises to its caller hold (fuzz/js_call_gen.h). */
static void the_js_call_fuzz_corpus_keeps_what_a_call_promises_its_caller(void **state)
{
	(void)state;
	pp_runtime_config cfg = quiet_config();
	js_call_config(&cfg);
	assert_int_equal(pp_runtime_new(&cfg, &replay_rt), PP_OK);
	js_call_host_register(replay_rt);
	assert_true(replay_dir(PP_SOURCE_DIR "/fuzz/corpus/js_call", replay_js_call) > 0);
	replay_dir(PP_SOURCE_DIR "/fuzz/regressions/js_call", replay_js_call);
	int32_t out;
	js_load_ok(replay_rt, "after", JS_ONE("test.after", "function () { return 0; }"));
	assert_int_equal(js_call(replay_rt, "test.after", 0, NULL, &out), PP_OK);
	pp_runtime_free(replay_rt);
	assert_int_equal(jc_host_heap.live, 0);
}

static void instances_made_through_the_host_table_are_tracked_like_the_hosts(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	const pp_host_api *h = pp_runtime_host_api(rt);
	uint64_t id = load_ok(rt, fx("calc_v1")); /* its instances are host->alloc'd */
	pp_guest_contract_handle hd = pp_find(rt, pp_guest_contract_id("test.calc", 1), 0);
	const pp_guest_contract_interface *iface = h->resolve_guest_contract(h, hd);
	assert_non_null(iface);
	/* made by the host: what it holds is not the plugin's value, which the
	 * table takes, so the table refuses it; destroyed once */
	pp_guest_contract_instance a;
	assert_int_equal(pp_instance_create(rt, hd, NULL, &a), PP_OK);
	h->destroy_guest_instance(h, iface, a);
	assert_contains(pp_last_error(rt), "is not live");
	assert_int_equal(pp_instance_destroy(rt, hd, a), PP_OK);
	assert_int_equal(pp_instance_destroy(rt, hd, a), PP_ERR_STALE_HANDLE);
	/* made through the table, destroyed through it: once */
	pp_abi_error err = {PP_OK, {NULL, 0}};
	h->create_guest_instance(h, iface, NULL, &a, &err);
	assert_int_equal(err.code, PP_OK);
	h->destroy_guest_instance(h, iface, a);
	h->destroy_guest_instance(h, iface, a); /* again: refused, not freed twice */
	assert_contains(pp_last_error(rt), "is not live");
	/* made through the table and left alive: the unload destroys it */
	pp_guest_contract_instance b;
	h->create_guest_instance(h, iface, NULL, &b, &err);
	assert_int_equal(err.code, PP_OK);
	assert_non_null(b.data);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	assert_int_equal(pp_runtime_quiesce(rt), PP_OK); /* LeakSanitizer: b is gone */
	pp_runtime_free(rt);
}

/* The host contract test.counter@1 that host_caller calls: inside that call
 * (so the version it resolves stays mapped), it makes an instance of
 * test.calc through the host table, reloads test.calc, and destroys the
 * instance through the table with the interface it made it with. */
typedef struct reload_between {
	pp_host_contract_interface iface;
	pp_runtime *rt;
	uint64_t calc;
	uint32_t reload;
	int64_t made;
	char second_destroy[256];
} reload_between;

static void create_reload_destroy(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)args;
	(void)err;
	reload_between *rb = state;
	const pp_host_api *h = pp_runtime_host_api(rb->rt);
	pp_guest_contract_handle hd =
	        h->find_guest_contract(h, pp_guest_contract_id("test.calc", 1), 1);
	const pp_guest_contract_interface *iface = h->resolve_guest_contract(h, hd);
	int64_t start = 41;
	pp_guest_contract_instance inst = {NULL, 0};
	pp_abi_error e = {PP_OK, {NULL, 0}};
	h->create_guest_instance(h, iface, &start, &inst, &e);
	rb->made = inst.data ? *(int64_t *)inst.data : -1;
	rb->reload = pp_bundle_reload(rb->rt, rb->calc);
	h->destroy_guest_instance(h, iface, inst); /* its version is retired, not freed */
	h->destroy_guest_instance(h, iface, inst); /* again: refused */
	snprintf(rb->second_destroy, sizeof rb->second_destroy, "%s", pp_last_error(rb->rt));
	/* made through the replaced version and left alive: its reclamation
	 * destroys it */
	h->create_guest_instance(h, iface, &start, &inst, &e);
	*(int64_t *)out = 0;
}

static const void *const reload_between_fns[] = {(const void *)create_reload_destroy};

static pp_host_contract_instance reload_between_self(const pp_host_contract_interface *self,
                                                     const void *args)
{
	(void)args;
	return (pp_host_contract_instance){(void *)self};
}

static void reload_between_none(const pp_host_contract_interface *self,
                                pp_host_contract_instance inst)
{
	(void)self;
	(void)inst;
}

/* Registers *iface as test.counter@1 (what host_caller calls): a
 * singleton whose instance is the interface itself, fn 0 the one given. */
static void register_counter(pp_runtime *rt, pp_host_contract_interface *iface,
                             const void *const *fns)
{
	iface->contract_id = pp_host_contract_id("test.counter", 1);
	iface->contract_version = (pp_version){1, 0, 0};
	iface->flags = PP_HOST_CONTRACT_SINGLETON;
	iface->dispatch_type = PP_DISPATCH_NATIVE;
	iface->create_instance = reload_between_self;
	iface->destroy_instance = reload_between_none;
	iface->dispatch.native.function_count = 1;
	iface->dispatch.native.functions = fns;
	assert_int_equal(pp_host_contract_register(rt, iface), PP_OK);
}

static void an_instance_of_a_version_replaced_during_the_call_is_destroyed_once(void **state)
{
	(void)state;
	counting_alloc ca = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_counting(&ca);
	reload_between rb = {.rt = rt};
	register_counter(rt, &rb.iface, reload_between_fns);
	rb.calc = load_ok(rt, fx("calc_v1"));
	load_ok(rt, fx("host_caller"));
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.hostcall", 1), 0);
	int32_t one = 1;
	int64_t out = -1;
	assert_int_equal(pp_call(rt, h, (pp_guest_contract_instance){NULL, 0}, 0, &one, &out, NULL),
	                 PP_OK);
	assert_int_equal(rb.made, 41);
	assert_int_equal(rb.reload, PP_OK);
	assert_contains(rb.second_destroy, "is not live in its version");
	assert_int_equal(pp_runtime_quiesce(rt), PP_OK); /* the old version is reclaimed */
	/* each made once and freed once: the first not again by the old
	 * version's reclamation, the second by it */
	pthread_mutex_lock(&ca.lock);
	int allocs = ca.allocs, frees = ca.frees;
	pthread_mutex_unlock(&ca.lock);
	assert_int_equal(frees, allocs);
	pp_runtime_free(rt);
	assert_int_equal(ca.frees, ca.allocs);
	assert_int_equal(ca.live, 0);
}

/* A host (or a plugin through the host table) may keep any number of
 * instances and destroy them in any order: each destroy finds its instance
 * at once (a list walk made destroying 200000 in creation order take
 * minutes), each is destroyed once, and the ones left are destroyed with
 * their version. */
static void many_instances_are_destroyed_in_any_order_each_once(void **state)
{
	(void)state;
	enum { N = 200000 };
	counting_alloc ca = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_counting(&ca);
	uint64_t id = load_ok(rt, fx("calc_v1"));
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.calc", 1), 0);
	pp_guest_contract_instance *inst = malloc(N * sizeof *inst);
	assert_non_null(inst);
	for (int64_t i = 0; i < N; i++)
		assert_int_equal(pp_instance_create(rt, h, &i, &inst[i]), PP_OK);
	/* the oldest half first, oldest first; then every other one of the
	 * rest, newest first */
	for (int i = 0; i < N / 2; i++)
		assert_int_equal(pp_instance_destroy(rt, h, inst[i]), PP_OK);
	for (int i = N - 1; i >= N / 2; i -= 2)
		assert_int_equal(pp_instance_destroy(rt, h, inst[i]), PP_OK);
	/* the ones left still work, the destroyed ones are refused */
	int64_t n = 0;
	assert_int_equal(pp_call(rt, h, inst[N / 2], 3, NULL, &n, NULL), PP_OK);
	assert_int_equal(n, N / 2 + 1);
	assert_int_equal(pp_instance_destroy(rt, h, inst[N - 1]), PP_ERR_STALE_HANDLE);
	assert_int_equal(pp_instance_destroy(rt, h, inst[0]), PP_ERR_STALE_HANDLE);
	pthread_mutex_lock(&ca.lock);
	assert_int_equal(ca.allocs - ca.frees, N / 4);
	pthread_mutex_unlock(&ca.lock);
	/* the quarter left goes with the version */
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	assert_int_equal(pp_runtime_quiesce(rt), PP_OK);
	pthread_mutex_lock(&ca.lock);
	assert_int_equal(ca.frees, ca.allocs);
	assert_int_equal(ca.live, 0);
	pthread_mutex_unlock(&ca.lock);
	free(inst);
	pp_runtime_free(rt);
}

/* A plugin that hands out one pointer for several instances has it
 * destroyed as often as it was made (docs/runtime.md, Instances): by the
 * host, then no more, and with its version for the ones left — never
 * once for all, nor once too often. nest's -5 hands out one shared node. */
static void one_pointer_made_several_times_is_destroyed_as_often(void **state)
{
	(void)state;
	log_capture logs = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with_log(&logs, PP_LOG_WARN);
	uint64_t id = load_ok(rt, fx("nest"));
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.nest", 1), 0);
	int32_t shared = -5;
	pp_guest_contract_instance inst[3];
	for (int i = 0; i < 3; i++)
		assert_int_equal(pp_instance_create(rt, h, &shared, &inst[i]), PP_OK);
	assert_ptr_equal(inst[0].data, inst[2].data);
	assert_int_equal(pp_instance_destroy(rt, h, inst[0]), PP_OK);
	assert_string_equal(logs.last, "shared: 2 left");
	assert_int_equal(pp_instance_destroy(rt, h, inst[1]), PP_OK);
	assert_int_equal(pp_instance_destroy(rt, h, inst[2]), PP_OK);
	assert_string_equal(logs.last, "shared: 0 left");
	assert_int_equal(pp_instance_destroy(rt, h, inst[0]), PP_ERR_STALE_HANDLE);
	assert_int_equal(logs.count[PP_LOG_WARN], 3); /* the refused one destroyed nothing */

	for (int i = 0; i < 2; i++) /* left alive for the version's teardown */
		assert_int_equal(pp_instance_create(rt, h, &shared, &inst[i]), PP_OK);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	assert_int_equal(pp_runtime_quiesce(rt), PP_OK);
	pthread_mutex_lock(&logs.lock);
	assert_int_equal(logs.count[PP_LOG_WARN], 5);
	assert_int_equal(logs.count[PP_LOG_ERROR], 0);
	assert_string_equal(logs.last, "shared: 0 left");
	pthread_mutex_unlock(&logs.lock);
	pp_runtime_free(rt);
}

static void *load_with_manifest_dependency(void *p)
{
	inside *in = p;
	atomic_store(&in->entered, 1);
	in->st = pp_bundle_load(in->rt, (const char *)in->data, NULL, NULL);
	return NULL;
}

static void a_dependency_unloaded_during_init_fails_the_dependents_load(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	latch l;
	latch_register(rt, &l);
	uint64_t calc = load_ok(rt, fx("calc_v1"));
	char dir[256];
	js_write_dir(dir, sizeof dir,
	             JS_PRELUDE JS_LATCH
	             "function polyplug_init(hl, hh, cl, ch, b) {\n"
	             "  while (held(b)) {}\n"
	             "  return ok([reg('test.needy', [function () { return 0; }])]);\n}\n");
	write_text(dir, "manifest.toml",
	           "name = \"needy\"\nprovides = [\"test.needy@1\"]\n"
	           "[[dependency]]\ncontract = \"test.calc@1\"\nmin_version = \"1.0\"\n");
	inside in = {.rt = rt, .data = dir};
	pthread_t t;
	pthread_create(&t, NULL, load_with_manifest_dependency, &in);
	await_true(atomic_load(&l.inside), 30); /* its init is running */
	assert_int_equal(pp_bundle_unload(rt, calc, 0), PP_OK);
	atomic_store(&l.go, 1);
	join_within(&t, 1, 60);
	assert_int_equal(in.st, PP_ERR_NOT_FOUND);
	assert_int_equal(bundle_count(rt), 0);
	pp_runtime_free(rt);
	remove_tree(dir);
}

static void eval_and_function_near_the_memory_limit_never_crash_the_host(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	/* they still work as JavaScript says */
	js_load_ok(rt, "evals",
	           JS_PRELUDE
	           "function polyplug_init() {\n"
	           "  var good = eval('1 + 2') === 3 && (0, eval)('typeof polyplug_init') "
	           "=== 'function'\n"
	           "    && new Function('a', 'b', 'return a + b')(40, 2) === 42\n"
	           "    && Function('return 7')() === 7\n"
	           "    && (function () {}) instanceof Function\n"
	           "    && Function.prototype.constructor === Function\n"
	           "    && Object.getPrototypeOf(function* () {}).constructor('yield 5')()"
	           ".next().value === 5\n"
	           "    && eval(17) === 17;\n"
	           "  if (!good) throw new Error('eval or Function misbehaves');\n"
	           "  return ok([reg('test.evals', [function () { return 0; }])]);\n}\n");
	/* Parsing at run time with the heap nearly full: the heap is filled to a
	 * known level in one allocation (running out of memory in ordinary code
	 * is QuickJS's own affair: docs/js.md), then a source whose parse needs
	 * more than what is left is given to eval and to Function. Running what
	 * was parsed allocates little: one closure. */
	for (int mib = 2; mib <= 7; mib++) {
		char src[2048];
		snprintf(src, sizeof src,
		         "var body = '(function () {';\n"
		         "for (var i = 0; i < 4000; i++) body += 'function f' + i + '(a, b) { var "
		         "x = "
		         "[a, b, ' + i + ']; return x.length + a * b; }\\n';\n"
		         "body += '})';\n"
		         "var ballast = new ArrayBuffer(%d << 20);\n"
		         "var a = (0, eval)(body), b = eval(body), c = new Function(body);\n"
		         "function polyplug_init() {\n"
		         "  return [typeof a === 'function' && typeof b === 'function' && c ? [] : "
		         "0,\n"
		         "          { code: 0, message: '' }];\n}\n",
		         mib);
		pp_load_options o = {.name = "full", .js = {.memory_bytes = 8u << 20}};
		pp_status st = pp_bundle_load_source(rt, src, strlen(src), &o, NULL);
		/* the parses need more than is left, yet they do not crash; what
		 * they made stays, so later code may find the heap full: a status
		 * with a message either way (the bundle registers nothing) */
		if (st == PP_OK || !*pp_last_error(rt))
			fail_msg("%d MiB: status %u: '%s'", mib, st, pp_last_error(rt));
	}
	pp_runtime_free(rt);
}

/* eval and Function parse with QuickJS's own limit lifted (its parser does
 * not survive an allocation failing): the VM's limit still holds, at the
 * parser's polls. A parse that needs more (here about 0.5 GiB for 10 MB of
 * source, under a 32 MiB limit) ends the call as out of memory, the host's
 * memory stays near the limit, and the VM goes on working. */
static void a_parse_that_needs_more_than_the_memory_limit_ends_the_call(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	static const char src[] =
	        JS_ONE("test.parse",
	               "function () { eval('function f() {}'.repeat(7e5)); return 0; },"
	               "function () { new Function('function f() {}'.repeat(7e5)); return 0; },"
	               "function () { return 0; }");
	pp_load_options o = {.name = "parser", .js = {.memory_bytes = 32u << 20, .cpu_ms = 60000}};
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), &o, NULL), PP_OK);
	struct rusage before, after;
	getrusage(RUSAGE_SELF, &before);
	for (uint32_t fn = 0; fn < 2; fn++) {
		uint32_t code = js_call(rt, "test.parse", fn, NULL, NULL);
		if (code != PP_ERR_OUT_OF_MEMORY)
			fail_msg("function %u: %s (%s)", fn, pp_status_name(code),
			         pp_last_error(rt));
		assert_contains(pp_last_error(rt),
		                "parsing needed more memory than the VM's limit");
		assert_int_equal(js_call(rt, "test.parse", 2, NULL, NULL), PP_OK);
	}
	getrusage(RUSAGE_SELF, &after);
	long grew_kib = after.ru_maxrss - before.ru_maxrss;
	if (grew_kib > 256L * 1024)
		fail_msg("the peak resident set grew by %ld MiB", grew_kib / 1024);
	pp_runtime_free(rt);
}

typedef struct chain {
	pp_runtime *rt;
	const char *dir;
	pp_status st;
	int too_deep;
} chain;

static void count_too_deep(void *ud, const pp_dir_entry *e)
{
	chain *c = ud;
	if (e->error && strstr(e->error, "chain of dependencies is more than 64 bundles deep"))
		c->too_deep++;
}

static void *load_chain(void *p)
{
	chain *c = p;
	c->st = pp_bundle_load_dir(c->rt, c->dir, count_too_deep, c, NULL);
	return NULL;
}

/* A plugins directory of 1000 bundles, each needing the next: the
 * ordering once recursed a frame of over 1 KiB per link, so the host's
 * thread overflowed its stack (here 256 KiB) before anything loaded. A
 * chain deeper than an unload could cascade fails where it passes 64. */
static void a_long_dependency_chain_fails_at_its_limit_not_on_the_stack(void **state)
{
	(void)state;
	char root[256], dir[512], text[256];
	temp_dir(root, sizeof root);
	for (int i = 0; i < 1000; i++) {
		snprintf(dir, sizeof dir, "%s/b%04d", root, i);
		assert_int_equal(mkdir(dir, 0755), 0);
		int n = snprintf(text, sizeof text, "name = \"b%04d\"\nprovides = [\"t.B%d@1\"]\n",
		                 i, i);
		if (i < 999) /* the next one, which the scan orders after it */
			snprintf(text + n, sizeof text - (size_t)n,
			         "[[dependency]]\ncontract = \"t.B%d@1\"\n", i + 1);
		write_text(dir, "manifest.toml", text);
		write_text(dir, "bundle.js", "\xff"); /* a bundle, refused before it runs */
	}
	chain c = {.rt = rt_new(), .dir = root};
	run_with_stack(256u << 10, load_chain, &c);
	assert_int_not_equal(c.st, PP_OK);
	assert_true(c.too_deep > 0);
	pp_runtime_free(c.rt);
	remove_tree(root);
}

/* ---- Callbacks ------------------------------------------------------------ */

typedef struct reload_probe {
	pp_runtime *rt;
	bool stop_watch;
	atomic_int failed;
	char reason[512];
} reload_probe;

static void probe_reload(void *ud, uint64_t id, const char *name, uint32_t phase,
                         const char *reason)
{
	(void)id;
	(void)name;
	reload_probe *p = ud;
	if (phase != PP_RELOAD_FAILED)
		return;
	/* a failing call replaces this thread's last error */
	pp_guest_contract_handle bad = {12345, 99};
	pp_guest_contract_instance none = {NULL, 0};
	int32_t out;
	pp_call(p->rt, bad, none, 0, NULL, &out, NULL);
	if (p->stop_watch)
		pp_watch_stop(p->rt); /* on the watcher's own thread */
	snprintf(p->reason, sizeof p->reason, "%s", reason ? reason : "(null)");
	atomic_store(&p->failed, 1);
}

static pp_runtime *rt_probed(reload_probe *p)
{
	return p->rt = rt_reporting(probe_reload, p);
}

#define BROKEN_JS "function polyplug_init() { throw new Error('broken on purpose'); }\n"

static void reload_reason_outlives_a_failing_call_in_the_callback(void **state)
{
	(void)state;
	reload_probe p = {0};
	pp_runtime *rt = rt_probed(&p);
	char dir[256];
	js_write_dir(dir, sizeof dir, JS_ONE("test.r", "function () { return 0; }"));
	uint64_t id = load_ok(rt, dir);
	write_text(dir, "bundle.js", BROKEN_JS);
	assert_int_not_equal(pp_bundle_reload(rt, id), PP_OK);
	assert_int_equal(atomic_load(&p.failed), 1);
	assert_contains(p.reason, "broken on purpose");
	assert_contains(pp_last_error(rt), "broken on purpose"); /* the reload's, again */
	pp_runtime_free(rt);
	remove_tree(dir);
}

static void watch_stop_from_on_reload_on_the_watcher_thread_is_safe(void **state)
{
	(void)state;
	reload_probe p = {.stop_watch = true};
	pp_runtime *rt = rt_probed(&p);
	char dir[256];
	js_write_dir(dir, sizeof dir, JS_ONE("test.w", "function () { return 0; }"));
	load_ok(rt, dir);
	assert_int_equal(pp_watch_start(rt, 20), PP_OK);
	save_text(dir, "bundle.js", BROKEN_JS); /* whole: never reloaded half-written */
	await_true(atomic_load(&p.failed) == 1, 30);
	assert_contains(p.reason, "broken on purpose");
	usleep(50 * 1000);
	write_text(dir, "bundle.js", BROKEN_JS); /* nobody watches any more */
	pp_runtime_free(rt);                     /* joins the watcher that stopped itself */
	remove_tree(dir);
}

/* A bundle's own lifecycle callback cannot reload or unload it: the
 * callback's thread has it busy, and waiting for itself would never end
 * (docs/runtime.md, Reloading: "a reload of it from the callback is
 * PP_ERR_REENTRANT_CALL"). */
typedef struct own_callback {
	pp_runtime *rt;
	uint64_t id;
	pp_status reload[2], unload[2]; /* 0: from PREPARING, 1: from UNLOADING */
	char why[256];
} own_callback;

static void act_on_own_bundle(void *ud, uint64_t id, const char *name, uint32_t phase,
                              const char *reason)
{
	(void)name;
	(void)reason;
	own_callback *o = ud;
	if (id != o->id || (phase != PP_RELOAD_PREPARING && phase != PP_RELOAD_UNLOADING))
		return;
	int k = phase == PP_RELOAD_UNLOADING;
	o->reload[k] = pp_bundle_reload(o->rt, id);
	snprintf(o->why, sizeof o->why, "%s", pp_last_error(o->rt));
	o->unload[k] = pp_bundle_unload(o->rt, id, 0);
}

static void a_bundle_cannot_be_reloaded_or_unloaded_from_its_own_callback(void **state)
{
	(void)state;
	own_callback o = {.reload = {PP_OK, PP_OK}, .unload = {PP_OK, PP_OK}};
	pp_runtime *rt = o.rt = rt_reporting(act_on_own_bundle, &o);
	o.id = load_ok(rt, fx("calc_v1"));
	alarm(60); /* a thread waiting for itself ends the test instead of hanging */
	assert_int_equal(pp_bundle_reload(rt, o.id), PP_OK);
	assert_int_equal(o.reload[0], PP_ERR_REENTRANT_CALL);
	assert_int_equal(o.unload[0], PP_ERR_REENTRANT_CALL);
	assert_contains(o.why, "cannot reload bundle 'calc_v1': this thread is loading, "
	                       "reloading or unloading it");
	assert_int_equal(calc_add(rt, 2, 3), 5); /* the reload went ahead, the bundle serves */
	assert_int_equal(pp_bundle_unload(rt, o.id, 0), PP_OK);
	assert_int_equal(o.reload[1], PP_ERR_REENTRANT_CALL);
	assert_int_equal(o.unload[1], PP_ERR_REENTRANT_CALL);
	alarm(0);
	pp_runtime_free(rt);
}

/* test.counter for host_caller (plugin code calling the host), reloading a
 * bundle that another thread has busy: its PREPARING callback holds it
 * until the test lets it go, or 5 s pass — so a runtime that made the
 * plugin's thread wait fails the test rather than hang it. */
typedef struct busy_elsewhere {
	pp_host_contract_interface iface; /* first: the instance is its address */
	pp_runtime *rt;
	uint64_t held;
	pthread_mutex_t lock;
	pthread_cond_t moved;
	bool inside, go, timed_out;
	pp_status got;
	char why[256];
} busy_elsewhere;

static void hold_while_preparing(void *ud, uint64_t id, const char *name, uint32_t phase,
                                 const char *reason)
{
	(void)name;
	(void)reason;
	busy_elsewhere *b = ud;
	if (phase != PP_RELOAD_PREPARING || id != b->held)
		return;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&b->lock);
	b->inside = true;
	pthread_cond_broadcast(&b->moved);
	while (!b->go && !b->timed_out)
		b->timed_out = pthread_cond_timedwait(&b->moved, &b->lock, &until) != 0;
	pthread_mutex_unlock(&b->lock);
}

static void reload_the_held_bundle(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)args;
	(void)err;
	busy_elsewhere *b = state;
	b->got = pp_bundle_reload(b->rt, b->held);
	snprintf(b->why, sizeof b->why, "%s", pp_last_error(b->rt));
	*(int64_t *)out = 0;
}

static const void *const busy_elsewhere_fns[] = {(const void *)reload_the_held_bundle};

static void *reload_held(void *p)
{
	busy_elsewhere *b = p;
	pp_bundle_reload(b->rt, b->held);
	return NULL;
}

/* A thread in plugin code may hold what the thread with a bundle busy
 * needs, so it is refused (PP_ERR_REENTRANT_CALL) rather than made to wait
 * for that bundle (docs/runtime.md, Threads). */
static void plugin_code_is_refused_rather_than_made_to_wait_for_a_busy_bundle(void **state)
{
	(void)state;
	busy_elsewhere b = {
	        .lock = PTHREAD_MUTEX_INITIALIZER, .moved = PTHREAD_COND_INITIALIZER, .got = PP_OK};
	pp_runtime *rt = b.rt = rt_reporting(hold_while_preparing, &b);
	register_counter(rt, &b.iface, busy_elsewhere_fns);
	b.held = load_ok(rt, fx("calc_v1"));
	load_ok(rt, fx("host_caller"));
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, reload_held, &b), 0);
	pthread_mutex_lock(&b.lock);
	while (!b.inside)
		pthread_cond_wait(&b.moved, &b.lock);
	pthread_mutex_unlock(&b.lock);

	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.hostcall", 1), 0);
	int32_t one = 1;
	int64_t out = -1;
	assert_int_equal(pp_call(rt, h, (pp_guest_contract_instance){NULL, 0}, 0, &one, &out, NULL),
	                 PP_OK);
	pthread_mutex_lock(&b.lock);
	bool waited = b.timed_out; /* the call waited for the bundle instead */
	b.go = true;
	pthread_cond_broadcast(&b.moved);
	pthread_mutex_unlock(&b.lock);
	join_within(&t, 1, 60);
	assert_false(waited);
	assert_int_equal(b.got, PP_ERR_REENTRANT_CALL);
	assert_contains(b.why, "cannot reload bundle 'calc_v1': another thread is loading, "
	                       "reloading or unloading it, and this thread runs plugin code");
	assert_int_equal(calc_add(rt, 2, 3), 5);
	pp_runtime_free(rt);
}

/* ---- Inits and the code they call ----------------------------------------- */

/* While bundle x's init runs, what it registers and looks up is x's. Code it
 * calls — a peer, a host contract — acts for itself: a host contract a peer
 * registers stays the peer's and leaves with the peer's code (else the host
 * table kept an interface into unmapped code: a crash at the next lookup and
 * at pp_runtime_free). */
#define CALLS_HOSTPROV_IN_INIT(fn, args_js)                                            \
	JS_PRELUDE "var hp = cid('guest_contract:test.hostprov@1');\n"                 \
	           "function polyplug_init(hl, hh, cl, ch, b) {\n"                     \
	           "  var m = b.alloc(16); var io = m[0] + m[1] * 4294967296;\n"       \
	           "  " args_js "\n"                                                   \
	           "  var st = b.dispatchPeer(hp[0], hp[1], 0, " fn ", io, io + 8);\n" \
	           "  var said = b.readI32(io + 8); b.free(m[0], m[1], 16, 1);\n"      \
	           "  if (st !== 0) throw new Error('hostprov said ' + st);\n"         \
	           "  if (said !== 0) throw new Error('registration: ' + said);\n"     \
	           "  return ok([reg('test.x', [function () { return 0; }])]);\n}\n"

static void a_host_contract_a_peer_registers_during_an_init_stays_the_peers(void **state)
{
	(void)state;
	for (int native = 0; native < 2; native++) {
		pp_runtime *rt = rt_new();
		uint64_t y = load_ok(rt, fx("hostprov"));
		pp_dependency needs = {pp_guest_contract_id("test.hostprov", 1), 0};
		pp_load_options o = {.name = "x", .dependencies = &needs, .dependency_count = 1};
		static const char x[] = CALLS_HOSTPROV_IN_INIT("0", "b.writeI32(io, 0);");
		if (native) { /* the init calls hostprov through its resolved interface */
			uint64_t peek = 0;
			assert_int_equal(pp_bundle_load(rt, fx("peeker_calls"), &o, &peek), PP_OK);
			uint32_t code;
			assert_int_equal(call_i32(rt, "test.peek", 0, 0, &code), PP_OK);
			assert_int_equal(code, PP_OK);
		} else {
			assert_int_equal(pp_bundle_load_source(rt, x, strlen(x), &o, NULL), PP_OK);
		}
		assert_non_null(host_iface(rt, "test.late"));
		/* the contract goes with hostprov's code, not with x */
		assert_int_equal(pp_bundle_reload(rt, y), PP_OK);
		assert_int_equal(pp_runtime_quiesce(rt), PP_OK);
		assert_non_null(host_iface(rt, "test.provided"));
		assert_null(host_iface(rt, "test.late"));
		pp_runtime_free(rt); /* and nothing of it is left to drop */
	}
}

/* A host contract the host registers — from a host function a bundle's
 * init called — is the host's: it outlives the bundle. */
static pp_runtime *setup_rt;
static int setup_destroyed;
static void setup_noop(void *st, const void *a, void *o, pp_abi_error *e)
{
	(void)st;
	(void)a;
	(void)o;
	(void)e;
}
static const void *const setup_noop_fns[] = {(const void *)setup_noop};
static pp_host_contract_instance setup_make(const pp_host_contract_interface *self, const void *a)
{
	(void)self;
	(void)a;
	return (pp_host_contract_instance){&setup_destroyed};
}
static void setup_unmake(const pp_host_contract_interface *self, pp_host_contract_instance i)
{
	(void)self;
	(void)i;
	setup_destroyed++;
}
static pp_host_contract_interface setup_own = {.flags = PP_HOST_CONTRACT_SINGLETON,
                                               .contract_version = {1, 0, 0},
                                               .dispatch_type = PP_DISPATCH_NATIVE,
                                               .create_instance = setup_make,
                                               .destroy_instance = setup_unmake,
                                               .dispatch.native = {1, setup_noop_fns}};
static void setup_register(void *st, const void *a, void *o, pp_abi_error *e)
{
	(void)st;
	(void)a;
	(void)o;
	setup_own.contract_id = pp_host_contract_id("test.hostown", 1);
	e->code = pp_host_contract_register(setup_rt, &setup_own);
}
static const void *const setup_fns[] = {(const void *)setup_register};

static void a_host_registration_made_from_an_init_stays_the_hosts(void **state)
{
	(void)state;
	pp_runtime *rt = setup_rt = rt_new();
	setup_destroyed = 0;
	pp_host_contract_interface setup = {.contract_id = pp_host_contract_id("test.setup", 1),
	                                    .flags = PP_HOST_CONTRACT_SINGLETON,
	                                    .contract_version = {1, 0, 0},
	                                    .dispatch_type = PP_DISPATCH_NATIVE,
	                                    .create_instance = setup_make,
	                                    .destroy_instance = setup_unmake,
	                                    .dispatch.native = {1, setup_fns}};
	assert_int_equal(pp_host_contract_register(rt, &setup), PP_OK);
	static const char x[] =
	        JS_PRELUDE "var s = cid('host_contract:test.setup@1');\n"
	                   "function polyplug_init(hl, hh, cl, ch, b) {\n"
	                   "  var st = b.callHostContract(s[0], s[1], 0, 0, 0, 0);\n"
	                   "  if (st !== 0) throw new Error('setup said ' + st);\n"
	                   "  return ok([reg('test.x', [function () { return 0; }])]);\n}\n";
	uint64_t id = js_load_ok(rt, "x", x);
	assert_non_null(host_iface(rt, "test.hostown"));
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	assert_int_equal(pp_runtime_quiesce(rt), PP_OK);
	assert_non_null(host_iface(rt, "test.hostown"));
	assert_int_equal(setup_destroyed, 0);
	pp_runtime_free(rt);
	assert_int_equal(setup_destroyed, 2); /* both singletons, with the runtime */
}

/* A peer that x's init calls looks its own peers up as it would for
 * anyone: not through x's declared dependencies. */
static void a_peer_called_from_an_init_looks_up_for_itself(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	load_ok(rt, fx("ping"));
	load_ok(rt, fx("pong"));
	uint32_t code;
	assert_int_equal(call_i32(rt, "test.ping", 0, 3, &code), 3);
	assert_int_equal(code, PP_OK);
	pp_dependency needs = {pp_guest_contract_id("test.ping", 1), 0};
	pp_load_options o = {.name = "x", .dependencies = &needs, .dependency_count = 1};
	static const char x[] =
	        JS_PRELUDE "var p = cid('guest_contract:test.ping@1');\n"
	                   "var q = cid('guest_contract:test.pong@1');\n"
	                   "function polyplug_init(hl, hh, cl, ch, b) {\n"
	                   "  var m = b.alloc(8); var io = m[0] + m[1] * 4294967296;\n"
	                   "  b.writeI32(io, 3);\n"
	                   "  var st = b.dispatchPeer(p[0], p[1], 0, 0, io, io + 4);\n"
	                   "  var own = b.dispatchPeer(q[0], q[1], 0, 0, io, io + 4);\n"
	                   "  b.free(m[0], m[1], 8, 1);\n"
	                   "  if (st !== 0) throw new Error('ping.bounce(3) failed with ' + st);\n"
	                   "  if (own !== 4) throw new Error('x itself saw pong, undeclared');\n"
	                   "  return ok([reg('test.x', [function () { return 0; }])]);\n}\n";
	pp_status st = pp_bundle_load_source(rt, x, strlen(x), &o, NULL);
	if (st != PP_OK)
		fail_msg("%s: %s", pp_status_name(st), pp_last_error(rt));
	pp_runtime_free(rt);
}

/* Only a bundle's own init registers guest contracts: a peer's code the
 * init called directly is refused, naming both (its registration would
 * have been published, and retired, with the init's bundle). */
static void a_peer_cannot_register_guest_contracts_through_anothers_init(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	load_ok(rt, fx("hostprov"));
	uint32_t code;
	assert_int_equal(call_i32(rt, "test.hostprov", 2, 0, &code), PP_ERR_GENERIC);
	assert_int_equal(code, PP_OK); /* the call worked; outside any init, it was refused */
	pp_dependency needs = {pp_guest_contract_id("test.hostprov", 1), 0};
	pp_load_options o = {.name = "x", .dependencies = &needs, .dependency_count = 1};
	assert_int_equal(pp_bundle_load(rt, fx("peeker_calls"), &o, NULL), PP_OK);
	assert_int_equal(call_i32(rt, "test.peek", 1, 0, &code), PP_ERR_GENERIC);
	assert_true(pp_handle_is_null(pp_find(rt, pp_guest_contract_id("test.sneak", 1), 0)));
	static const char x[] = CALLS_HOSTPROV_IN_INIT("2", "");
	pp_load_options js = {.name = "xjs", .dependencies = &needs, .dependency_count = 1};
	assert_int_equal(pp_bundle_load_source(rt, x, strlen(x), &js, NULL), PP_ERR_INIT_FAILED);
	assert_contains(pp_last_error(rt), "registration: 1");
	assert_true(pp_handle_is_null(pp_find(rt, pp_guest_contract_id("test.sneak", 1), 0)));
	pp_runtime_free(rt);
}

/* The host table's call entries find, call and release in one read section
 * of their own: a plugin's own thread, outside any call the runtime made,
 * calls a peer and a host contract while both providers reload under it. */
static void host_table_calls_are_safe_from_a_thread_outside_any_call(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	load_ok(rt, fx("calc_v1"));
	load_ok(rt, fx("hostprov"));
	const pp_host_api *h = pp_runtime_host_api(rt);
	assert_true(h->size >= offsetof(pp_host_api, call_host_contract) + sizeof(void *));
	churn r = {.rt = rt, .names = {"calc_v1", "hostprov"}, .rounds = 150};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, churn_bundles, &r), 0);
	long calls = 0, wrong = 0;
	while (!atomic_load(&r.done)) {
		pair p = {20, 22};
		int32_t sum = 0, total = 0, one = 1;
		pp_abi_error e = {PP_OK, {NULL, 0}};
		h->call_guest_contract(h, pp_guest_contract_id("test.calc", 1), 1, 0, &p, &sum,
		                       NULL, &e);
		wrong += e.code == PP_OK ? sum != 42 : e.code != PP_ERR_NOT_FOUND;
		h->call_host_contract(h, pp_host_contract_id("test.provided", 1), 1 << 16, 0, &one,
		                      &total, &e);
		wrong += e.code == PP_OK ? total <= 0 : e.code != PP_ERR_NOT_FOUND;
		calls += 2;
	}
	pthread_join(t, NULL);
	if (wrong)
		fail_msg("%ld of %ld calls went wrong", wrong, calls);
	/* a peer's message is read before its instance goes (here it lives in
	 * the instance), and a create that fails says so, not an older error */
	load_ok(rt, fx("msgpeer"));
	pp_abi_error m = {PP_OK, {NULL, 0}};
	h->call_guest_contract(h, pp_guest_contract_id("test.msg", 1), 1, 0, NULL, NULL, NULL, &m);
	assert_int_equal(m.code, 300);
	assert_contains(pp_last_error(rt), "kept in the instance");
	assert_true(pp_handle_is_null(pp_find(rt, pp_guest_contract_id("test.none", 1), 0)));
	h->call_guest_contract(h, pp_guest_contract_id("test.refuse", 1), 1, 0, NULL, NULL, NULL,
	                       &m);
	assert_int_equal(m.code, PP_ERR_GENERIC);
	assert_contains(pp_last_error(rt), "create_instance failed: peer create refused: quota");
	assert_contains((const char *)m.message.ptr, "peer create refused");
	/* failures say what failed */
	pp_abi_error e = {PP_OK, {NULL, 0}};
	h->call_guest_contract(h, pp_guest_contract_id("test.calc", 1), 1, 99, NULL, NULL, NULL,
	                       &e);
	assert_int_equal(e.code, PP_ERR_FUNCTION_NOT_AVAILABLE);
	assert_contains(pp_last_error(rt),
	                "bundle 'calc_v1', contract 'test.calc' has no function 99");
	h->call_host_contract(h, pp_host_contract_id("test.nothing", 1), 0, 0, NULL, NULL, &e);
	assert_int_equal(e.code, PP_ERR_NOT_FOUND);
	assert_contains(pp_last_error(rt), "not registered");
	/* a lookup that finds nothing says what there is, as pp_find does */
	assert_true(pp_handle_is_null(
	        h->find_guest_contract(h, pp_guest_contract_id("test.calx", 1), 1)));
	assert_contains(pp_last_error(rt), "no bundle provides contract 0x");
	assert_contains(pp_last_error(rt), "test.calc@1 1.2.0 from bundle 'calc_v1'");
	int32_t one = 1, total = 0; /* a minor newer than registered: the message says so */
	h->call_host_contract(h, pp_host_contract_id("test.provided", 1), 1 << 16 | 9, 0, &one,
	                      &total, &e);
	assert_int_equal(e.code, PP_ERR_NOT_FOUND);
	assert_contains(pp_last_error(rt), "version mismatch");
	pp_runtime_free(rt);
}

/* ---- Instances and versions ----------------------------------------------- */

#define COUNTER_JS                                                                  \
	JS_PRELUDE "function polyplug_init(hl, hh, cl, ch, bridge) {\n"             \
	           "  return ok([reg('test.ctr', [function (impl, a, o, ar, b) {\n" \
	           "    impl.n++; b.writeI32(o, impl.n); return 0; }])]);\n}\n"

static void instance_ids_are_never_reused_across_versions(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char dir[256];
	js_write_dir(dir, sizeof dir, COUNTER_JS);
	uint64_t id = load_ok(rt, dir);
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.ctr", 1), 0);
	pp_guest_contract_instance old, fresh;
	int32_t out = 0;
	assert_int_equal(pp_instance_create(rt, h, NULL, &old), PP_OK);
	assert_int_equal(pp_call(rt, h, old, 0, NULL, &out, NULL), PP_OK);
	assert_int_equal(out, 1);
	assert_int_equal(pp_bundle_reload(rt, id), PP_OK);
	assert_int_equal(pp_instance_create(rt, h, NULL, &fresh), PP_OK);
	assert_ptr_not_equal(old.data, fresh.data);
	/* the replaced version's instance is not the new one's: calling it
	 * through the new code is refused (docs/runtime.md, Instances), and
	 * destroying it is stale */
	out = -1;
	assert_int_equal(pp_call(rt, h, old, 0, NULL, &out, NULL), PP_ERR_STALE_INSTANCE);
	assert_contains(pp_last_error(rt), "was not made by this version of the bundle");
	assert_int_equal(out, -1);
	/* the instance is told first, whatever the function, as for a native
	 * contract (the JS loader's lookup being the check) */
	assert_int_equal(pp_call(rt, h, old, 9, NULL, &out, NULL), PP_ERR_STALE_INSTANCE);
	assert_int_equal(pp_instance_destroy(rt, h, old), PP_ERR_STALE_HANDLE);
	assert_int_equal(pp_call(rt, h, old, 0, NULL, &out, NULL), PP_ERR_STALE_INSTANCE);
	assert_int_equal(pp_call(rt, h, fresh, 0, NULL, &out, NULL), PP_OK);
	assert_int_equal(out, 1);
	assert_int_equal(pp_call(rt, h, fresh, 0, NULL, &out, NULL), PP_OK);
	assert_int_equal(out, 2);
	assert_int_equal(pp_instance_destroy(rt, h, fresh), PP_OK);
	pp_runtime_free(rt);
	remove_tree(dir);
}

/* pp_call leaves a JS contract's instances to the loader, which finds each
 * in its map (call_inline.h): the one value that decodes to no instance at
 * all, the version's key itself, must be refused there, not taken for the
 * default instance. Inline and exported alike. */
static void the_value_decoding_to_no_instance_is_refused_not_the_default(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	js_load_ok(rt, "ctr", COUNTER_JS);
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.ctr", 1), 0);
	const pp__node_view *n = /* the head of the node (call_inline.h) */
	        (const void *)((const char *)pp_resolve(rt, h) - offsetof(pp__node_view, iface));
	assert_true(n->loader_checks_instances);
	pp_guest_contract_instance key = {(void *)n->instance_key, 0};
	int32_t out = -1;
	assert_int_equal(pp_call(rt, h, key, 0, NULL, &out, NULL), PP_ERR_STALE_INSTANCE);
	assert_contains(pp_last_error(rt), "was not made by this version of the bundle");
	assert_int_equal((pp_call)(rt, h, key, 0, NULL, &out, NULL), PP_ERR_STALE_INSTANCE);
	assert_int_equal(out, -1);
	assert_int_equal(pp_instance_destroy(rt, h, key), PP_ERR_STALE_HANDLE);
	pp_runtime_free(rt);
}

/* A native provider is not asked about an instance: its code would use
 * whatever pointer it is handed. So pp_call checks that the version a call
 * reaches made the instance and has not destroyed it. After a reload, the
 * old version's instances were destroyed with it (calc frees its counter),
 * and the new code never sees them; nor a pointer the runtime never handed
 * out, nor a destroyed one. */
enum { CALC_COUNT = 3 };

static void native_code_never_runs_with_an_instance_its_version_did_not_make(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	uint64_t id = load_ok(rt, fx("calc_v1"));
	pp_guest_contract_handle h = pp_find(rt, CALC, 1);
	pp_guest_contract_instance old, fresh;
	int64_t start = 41, out = 0;
	assert_int_equal(pp_instance_create(rt, h, &start, &old), PP_OK);
	assert_int_equal(pp_call(rt, h, old, CALC_COUNT, NULL, &out, NULL), PP_OK);
	assert_int_equal(out, 42);
	assert_int_equal(pp_bundle_reload(rt, id), PP_OK);
	out = -1;
	assert_int_equal(pp_call(rt, h, old, CALC_COUNT, NULL, &out, NULL), PP_ERR_STALE_INSTANCE);
	assert_contains(pp_last_error(rt), "bundle 'calc_v1', contract 'test.calc', function 3: "
	                                   "instance");
	assert_contains(pp_last_error(rt), "was not made by this version of the bundle");
	assert_int_equal(out, -1);
	int64_t mine = 5; /* never made by the runtime */
	pp_guest_contract_instance forged = {&mine, CALC};
	assert_int_equal(pp_call(rt, h, forged, CALC_COUNT, NULL, &out, NULL),
	                 PP_ERR_STALE_INSTANCE);
	assert_int_equal(mine, 5);
	assert_int_equal(pp_instance_create(rt, h, NULL, &fresh), PP_OK);
	assert_int_equal(pp_call(rt, h, fresh, CALC_COUNT, NULL, &out, NULL), PP_OK);
	assert_int_equal(out, 1);
	assert_int_equal(pp_instance_destroy(rt, h, fresh), PP_OK);
	assert_int_equal(pp_call(rt, h, fresh, CALC_COUNT, NULL, &out, NULL),
	                 PP_ERR_STALE_INSTANCE);
	assert_int_equal(out, 1);
	assert_int_equal(calc_add(rt, 2, 3), 5); /* the default instance is not checked */
	pp_runtime_free(rt);
}

/* The allocator gives a reclaimed version's instance addresses to the next
 * version's instances (about 20 of 32 here): what the host holds for an old
 * instance must still be refused, and destroying it must not destroy the
 * instance now at that address. */
static void a_replaced_versions_instance_stays_refused_when_its_address_is_reused(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	uint64_t id = load_ok(rt, fx("calc_v1"));
	pp_guest_contract_handle h = pp_find(rt, CALC, 1);
	enum { N = 32 };
	pp_guest_contract_instance old[N], now[N];
	for (int i = 0; i < N; i++)
		assert_int_equal(pp_instance_create(rt, h, NULL, &old[i]), PP_OK);
	assert_int_equal(pp_bundle_reload(rt, id), PP_OK);
	assert_int_equal(pp_runtime_quiesce(rt), PP_OK); /* the old ones are freed */
	for (int i = 0; i < N; i++)
		assert_int_equal(pp_instance_create(rt, h, NULL, &now[i]), PP_OK);
	int64_t out = 0;
	for (int i = 0; i < N; i++) {
		assert_int_equal(pp_call(rt, h, old[i], CALC_COUNT, NULL, &out, NULL),
		                 PP_ERR_STALE_INSTANCE);
		assert_int_equal(pp_instance_destroy(rt, h, old[i]), PP_ERR_STALE_HANDLE);
	}
	for (int i = 0; i < N; i++) { /* every current instance untouched */
		assert_int_equal(pp_call(rt, h, now[i], CALC_COUNT, NULL, &out, NULL), PP_OK);
		assert_int_equal(out, 1);
		assert_int_equal(pp_instance_destroy(rt, h, now[i]), PP_OK);
	}
	pp_runtime_free(rt);
}

/* An instance holding another instance of its contract (made through the
 * host table) uses and destroys its child in its own destroy. The runtime,
 * destroying what a version left alive, destroys each once, parents before
 * their children (nest logs an ERROR for a second destroy, or a child gone
 * before its parent); a destroy trying to make instances meanwhile is
 * refused, so nothing is left behind. */
static void instances_holding_instances_are_each_destroyed_once(void **state)
{
	(void)state;
	log_capture logs = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with_log(&logs, PP_LOG_WARN);
	uint64_t id = load_ok(rt, fx("nest"));
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.nest", 1), 0);
	pp_guest_contract_instance inst;
	int32_t depth = 2, got = 0;
	assert_int_equal(pp_instance_create(rt, h, &depth, &inst), PP_OK);
	assert_int_equal(pp_call(rt, h, inst, 0, NULL, &got, NULL), PP_OK);
	assert_int_equal(got, 3);
	depth = 1; /* tracked after their children, in whatever slots */
	for (int i = 0; i < 16; i++)
		assert_int_equal(pp_instance_create(rt, h, &depth, &inst), PP_OK);
	/* left alive: the reload destroys all 35 with the old version */
	assert_int_equal(pp_bundle_reload(rt, id), PP_OK);
	assert_int_equal(pp_runtime_quiesce(rt), PP_OK);
	assert_int_equal(logs.count[PP_LOG_ERROR], 0);
	/* destroyed by the host: the parent destroys its children */
	depth = 2;
	assert_int_equal(pp_instance_create(rt, h, &depth, &inst), PP_OK);
	assert_int_equal(pp_instance_destroy(rt, h, inst), PP_OK);
	assert_int_equal(logs.count[PP_LOG_ERROR], 0);
	/* a respawner left alive: its destroy's create is refused */
	int32_t respawn = -2;
	assert_int_equal(pp_instance_create(rt, h, &respawn, &inst), PP_OK);
	int warned = logs.count[PP_LOG_WARN];
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	assert_int_equal(pp_runtime_quiesce(rt), PP_OK);
	assert_int_equal(logs.count[PP_LOG_WARN], warned + 1);
	assert_string_equal(logs.last, "respawn refused");
	assert_int_equal(logs.count[PP_LOG_ERROR], 0);
	pp_runtime_free(rt);
}

/* The order holds across the version's contracts (a parent of test.nest
 * holding a test.nest.leaf child, whose contract's instances came and went
 * before) and for a child made in a call after the parent's create: the
 * host's instances go first, then the plugin's, newest first. */
static void children_in_other_contracts_or_made_later_go_after_their_parent(void **state)
{
	(void)state;
	log_capture logs = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with_log(&logs, PP_LOG_WARN);
	uint64_t id = load_ok(rt, fx("nest_two"));
	pp_guest_contract_handle leaf = pp_find(rt, pp_guest_contract_id("test.nest.leaf", 1), 0);
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.nest", 1), 0);
	pp_guest_contract_instance inst;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pp_instance_create(rt, leaf, NULL, &inst), PP_OK);
		assert_int_equal(pp_instance_destroy(rt, leaf, inst), PP_OK);
	}
	int32_t cross = -3, got = 0;
	assert_int_equal(pp_instance_create(rt, h, &cross, &inst), PP_OK);
	assert_int_equal(pp_call(rt, h, inst, 0, NULL, &got, NULL), PP_OK);
	assert_int_equal(got, 2);
	assert_int_equal(pp_instance_create(rt, h, NULL, &inst), PP_OK);    /* a leaf... */
	assert_int_equal(pp_call(rt, h, inst, 1, NULL, NULL, NULL), PP_OK); /* ...given a child */
	assert_int_equal(pp_call(rt, h, inst, 0, NULL, &got, NULL), PP_OK);
	assert_int_equal(got, 2);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	assert_int_equal(pp_runtime_quiesce(rt), PP_OK);
	assert_int_equal(logs.count[PP_LOG_ERROR], 0);
	pp_runtime_free(rt);
}

/* Nor can a create_instance fail with it. */
static void a_create_failing_with_the_runtimes_refusal_fails_generic(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	load_ok(rt, fx("nest"));
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.nest", 1), 0);
	int32_t pretend = -20;
	pp_guest_contract_instance inst;
	assert_int_equal(pp_instance_create(rt, h, &pretend, &inst), PP_ERR_GENERIC);
	assert_contains(pp_last_error(rt), "create_instance failed with PP_ERR_STALE_INSTANCE, a "
	                                   "code only the runtime gives: nest: pretending");
	pp_runtime_free(rt);
}

/* A native create_instance that sets its error fails pp_instance_create
 * with that status and a message naming the bundle, the contract and the
 * cause, and hands out no instance — never PP_OK without one
 * (docs/runtime.md, Instances). nest's pool of nodes runs out after 256. */
static void a_native_create_that_fails_gives_its_status_and_cause_and_no_instance(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	load_ok(rt, fx("nest"));
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.nest", 1), 0);
	int32_t leaf = 0;
	pp_guest_contract_instance inst;
	pp_status st;
	int made = 0;
	while ((st = pp_instance_create(rt, h, &leaf, &inst)) == PP_OK && made < 1000)
		made++;
	assert_int_equal(made, 256);
	assert_int_equal(st, PP_ERR_OUT_OF_MEMORY);
	assert_null(inst.data);
	assert_string_equal(pp_last_error(rt), "bundle 'nest', contract 'test.nest': "
	                                       "create_instance failed: nest: no nodes left");
	pp_runtime_free(rt); /* the 256 are destroyed with the version */
}

/* Unloads a bundle from inside a host allocation and waits for its
 * teardown, noting the bytes then live: what the runtime holds for itself. */
typedef struct unload_at_alloc {
	pp_runtime *rt;
	const char *name;
	size_t live_after;
} unload_at_alloc;

static void unload_named(counting_alloc *c)
{
	unload_at_alloc *u = c->arg;
	assert_int_equal(pp_bundle_unload(u->rt, pp_bundle_id(u->name), 0), PP_OK);
	assert_int_equal(pp_runtime_quiesce(u->rt), PP_OK);
	pthread_mutex_lock(&c->lock);
	u->live_after = c->live;
	pthread_mutex_unlock(&c->lock);
}

/* find_all_guest_contracts and list_bundles hand back arrays their caller
 * frees with len * size bytes: a bundle unloaded while the array was made
 * (between counting and filling) leaves an array of that size still, and
 * none when nothing is left. They used to hand back a shorter len for the
 * block, so a host allocator that tracks sizes was told a wrong one. */
static void host_table_arrays_are_freed_with_the_size_allocated(void **state)
{
	(void)state;
	counting_alloc c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_counting(&c);
	const pp_host_api *h = pp_runtime_host_api(rt);
	load_ok(rt, fx("calc_v1"));
	pp_load_options alt = {.size = sizeof alt, .name = "calc_alt"};
	assert_int_equal(pp_bundle_load(rt, fx("calc_alt"), &alt, NULL), PP_OK);
	assert_int_equal(pp_bundle_load(rt, fx("msgpeer"), NULL, NULL), PP_OK);
	unload_at_alloc u = {rt, "calc_alt", 0};
	c.arg = &u;
	c.before_next = unload_named;
	pp_array a = h->find_all_guest_contracts(h, CALC, 0);
	assert_int_equal(a.len, 1);
	h->free(h, a.items, a.len * sizeof(pp_guest_contract_handle), a.align);
	assert_int_equal(c.live, u.live_after);

	u.name = "msgpeer";
	c.before_next = unload_named;
	a = h->list_bundles(h);
	assert_int_equal(a.len, 1);
	assert_true(((const uint64_t *)a.items)[0] == pp_bundle_id("calc_v1"));
	h->free(h, a.items, a.len * sizeof(uint64_t), a.align);
	assert_int_equal(c.live, u.live_after);

	u.name = "calc_v1"; /* the last provider */
	c.before_next = unload_named;
	a = h->find_all_guest_contracts(h, CALC, 0);
	assert_int_equal(a.len, 0);
	assert_null(a.items);
	assert_int_equal(c.live, u.live_after);
	pp_runtime_free(rt);
}

/* A create that fails through the host table leaves its cause as the
 * calling thread's last error (abi.md: entries that fail leave a message),
 * not an older one, and hands the plugin the same message. */
static void a_failed_create_through_the_host_table_leaves_its_cause(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	load_ok(rt, fx("msgpeer"));
	const pp_host_api *h = pp_runtime_host_api(rt);
	assert_null(h->resolve_guest_contract(h, pp_handle_null())); /* an older failure */
	pp_guest_contract_handle hd =
	        h->find_guest_contract(h, pp_guest_contract_id("test.refuse", 1), 0);
	const pp_guest_contract_interface *iface = h->resolve_guest_contract(h, hd);
	assert_non_null(iface);
	pp_guest_contract_instance inst;
	pp_abi_error e = {PP_OK, {NULL, 0}};
	h->create_guest_instance(h, iface, NULL, &inst, &e);
	assert_int_equal(e.code, PP_ERR_GENERIC);
	assert_null(inst.data);
	assert_string_equal(pp_last_error(rt),
	                    "bundle 'msgpeer', contract 'test.refuse': "
	                    "create_instance failed: peer create refused: quota");
	assert_int_equal(e.message.len, strlen(pp_last_error(rt)));
	assert_memory_equal(e.message.ptr, pp_last_error(rt), e.message.len);
	pp_runtime_free(rt);
}

/* reload_bundle names a bundle by the path it was loaded from: an empty
 * path is none (bundles loaded from memory have no path: it once reloaded
 * one of them), and a path two bundles were loaded from names neither. */
static void reload_bundle_by_path_reloads_only_the_bundle_it_names(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	js_load_ok(rt, "inmem", JS_ONE("test.mem", "function () { return 0; }"));
	const pp_host_api *h = pp_runtime_host_api(rt);
	pp_abi_error e = {PP_OK, {NULL, 0}};
	h->reload_bundle(h, NULL, 0, &e);
	assert_int_equal(e.code, PP_ERR_INVALID_ARGUMENT);
	assert_string_equal(pp_last_error(rt), "reload_bundle: the path is empty");
	h->load_bundle(h, (const uint8_t *)"", 0, &e);
	assert_int_equal(e.code, PP_ERR_INVALID_ARGUMENT);

	const char *path = fx("calc_v1");
	pp_load_options o = {.size = sizeof o, .name = "one"};
	assert_int_equal(pp_bundle_load(rt, path, &o, NULL), PP_OK);
	h->reload_bundle(h, (const uint8_t *)path, strlen(path), &e);
	assert_int_equal(e.code, PP_OK);
	o.name = "two";
	assert_int_equal(pp_bundle_load(rt, path, &o, NULL), PP_OK);
	h->reload_bundle(h, (const uint8_t *)path, strlen(path), &e);
	assert_int_equal(e.code, PP_ERR_INVALID_ARGUMENT);
	assert_contains(pp_last_error(rt), "reload_bundle: bundles 'one' and 'two' were both "
	                                   "loaded from '");
	pp_runtime_free(rt);
}

/* load_bundle and reload_bundle refuse a length of PATH_MAX or more before
 * copying it; one byte shorter is a path, looked for like any other. */
static void host_table_paths_of_path_max_bytes_are_refused_before_use(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	const pp_host_api *h = pp_runtime_host_api(rt);
	char *path = malloc(PATH_MAX + 1);
	assert_non_null(path);
	memset(path, 'a', PATH_MAX);
	path[0] = '/';
	path[PATH_MAX] = '\0';
	pp_abi_error e = {PP_OK, {NULL, 0}};
	h->load_bundle(h, (const uint8_t *)path, PATH_MAX, &e);
	assert_int_equal(e.code, PP_ERR_INVALID_ARGUMENT);
	assert_contains(pp_last_error(rt), "load_bundle: not a path");
	e = (pp_abi_error){PP_OK, {NULL, 0}};
	h->reload_bundle(h, (const uint8_t *)path, PATH_MAX, &e);
	assert_int_equal(e.code, PP_ERR_INVALID_ARGUMENT);
	assert_contains(pp_last_error(rt), "reload_bundle: not a path");
	e = (pp_abi_error){PP_OK, {NULL, 0}};
	h->load_bundle(h, (const uint8_t *)path, PATH_MAX - 1, &e);
	assert_int_not_equal(e.code, PP_OK); /* no such file, but a path */
	assert_null(strstr(pp_last_error(rt), "not a path"));
	free(path);
	pp_runtime_free(rt);
}

/* An instance holding a child made from another bundle's interface: when
 * that bundle reloads, its old version's reclamation destroys the child and
 * frees the interface; the parent's later destroy of the child through it
 * is refused, not made through freed memory (ASan saw a use after free; a
 * plain build called into the unloaded code). */
static void a_child_of_a_reloaded_bundle_is_not_destroyed_through_its_old_interface(void **state)
{
	(void)state;
	log_capture logs = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with(&logs, PP_LOG_WARN, NULL, NULL);
	uint64_t leaf = load_ok(rt, fx("nest_leaf"));
	load_ok(rt, fx("nest"));
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.nest", 1), 0);
	int32_t kind = -4;
	pp_guest_contract_instance parent;
	assert_int_equal(pp_instance_create(rt, h, &kind, &parent), PP_OK);
	int32_t depth = 0;
	assert_int_equal(pp_call(rt, h, parent, 0, NULL, &depth, NULL), PP_OK);
	assert_int_equal(depth, 2); /* the child is there */
	assert_int_equal(pp_bundle_reload(rt, leaf), PP_OK);
	for (int i = 0; i < 3; i++) /* what the reclamation retires in turn, too */
		assert_int_equal(pp_runtime_quiesce(rt), PP_OK);
	assert_int_equal(pp_instance_destroy(rt, h, parent), PP_OK);
	assert_contains(pp_last_error(rt), "destroy_guest_instance: ");
	assert_contains(pp_last_error(rt), " is no interface of a loaded version");
	assert_int_equal(logs.count[PP_LOG_ERROR], 0);
	/* nor does the table make instances through it */
	const pp_host_api *t = pp_runtime_host_api(rt);
	pp_guest_contract_instance made = {NULL, 0};
	pp_abi_error e = {PP_OK, {NULL, 0}};
	t->create_guest_instance(t, (const pp_guest_contract_interface *)(const void *)&logs, NULL,
	                         &made, &e);
	assert_int_equal(e.code, PP_ERR_STALE_HANDLE);
	assert_null(made.data);
	pp_runtime_free(rt);
}

/* What an on_reload callback sees while its thread has the bundle busy. */
typedef struct quiesce_in_callback {
	pp_runtime *rt;
	log_capture logs; /* the worker's lines, at WARN */
	int step;         /* 1: ask the worker; 2: quiesce */
	pp_status quiesced;
} quiesce_in_callback;

static int warnings(log_capture *c)
{
	pthread_mutex_lock(&c->lock);
	int n = c->count[PP_LOG_WARN];
	pthread_mutex_unlock(&c->lock);
	return n;
}

static void quiesce_on_reload(void *ud, uint64_t id, const char *name, uint32_t phase,
                              const char *reason)
{
	(void)id;
	(void)name;
	(void)reason;
	quiesce_in_callback *q = ud;
	if (phase == PP_RELOAD_PREPARING && q->step == 1) {
		q->step = 2;
		uint32_t code;
		call_i32(q->rt, "test.worker", 0, 0, &code); /* the worker reloads its bundle */
		assert_int_equal(code, PP_OK);
		await_true(warnings(&q->logs) >= 1, 30); /* "reloading" */
		struct timespec ms = {0, 20 * 1000000L};
		nanosleep(&ms, NULL); /* it waits its turn for the bundle now */
	} else if (phase == PP_RELOAD_RELOADED && q->step == 2) {
		q->step = 0;
		q->quiesced = pp_runtime_quiesce(q->rt);
	}
}

/* pp_runtime_quiesce from an on_reload callback is refused: the old
 * version's shutdown, which quiesce waits for, joins the plugin's own
 * thread, which waits for the bundle the callback's thread has busy. It
 * used to hang there for good. */
static void quiesce_from_a_reload_callback_is_refused_rather_than_hang(void **state)
{
	(void)state;
	quiesce_in_callback q = {.logs = {.lock = PTHREAD_MUTEX_INITIALIZER}, .step = 0};
	q.rt = rt_with(&q.logs, PP_LOG_WARN, quiesce_on_reload, &q);
	uint64_t id = load_ok(q.rt, fx("worker"));
	q.step = 1;
	alarm(120); /* a hang ends the test instead of waiting for CTest's timeout */
	assert_int_equal(pp_bundle_reload(q.rt, id), PP_OK);
	assert_int_equal(q.quiesced, PP_ERR_REENTRANT_CALL);
	assert_contains(pp_last_error(q.rt), "pp_runtime_quiesce called while this thread has a "
	                                     "bundle busy");
	/* the worker's reload then goes ahead, and quiesce works outside */
	await_true(warnings(&q.logs) >= 2, 30);
	pthread_mutex_lock(&q.logs.lock);
	assert_string_equal(q.logs.last, "reloaded: 0");
	pthread_mutex_unlock(&q.logs.lock);
	assert_int_equal(pp_runtime_quiesce(q.rt), PP_OK);
	alarm(0);
	pp_runtime_free(q.rt);
}

/* test.counter for host_caller, calling pp_runtime_quiesce: from inside the
 * plugin's call, then from its teardown. */
typedef struct quiesce_inside {
	pp_host_contract_interface iface; /* first: the instance is its address */
	pp_runtime *rt;
	int calls;
	pp_status got[2];
	char why[2][160];
} quiesce_inside;

static void quiesce_from_host_contract(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)args;
	(void)err;
	quiesce_inside *q = state;
	int k = q->calls < 2 ? q->calls++ : 1;
	q->got[k] = pp_runtime_quiesce(q->rt);
	snprintf(q->why[k], sizeof q->why[k], "%s", pp_last_error(q->rt));
	*(int64_t *)out = 0;
}

static const void *const quiesce_inside_fns[] = {(const void *)quiesce_from_host_contract};

/* pp_runtime_quiesce waits for every thread's read sections and for the
 * reclaimer's work: from inside a plugin call, or from a plugin's teardown
 * (which the reclaimer runs), it would wait for itself. Both are refused,
 * and neither hangs. */
static void quiesce_from_inside_a_call_or_a_teardown_is_refused(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	quiesce_inside q = {.rt = rt};
	register_counter(rt, &q.iface, quiesce_inside_fns);
	uint64_t id = load_ok(rt, fx("host_caller"));
	alarm(120); /* a hang ends the test instead of waiting for CTest's timeout */
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.hostcall", 1), 0);
	int32_t one = 1;
	int64_t total = -1; /* add(i32) -> i64 */
	assert_int_equal(
	        pp_call(rt, h, (pp_guest_contract_instance){NULL, 0}, 0, &one, &total, NULL),
	        PP_OK);
	assert_int_equal(q.got[0], PP_ERR_REENTRANT_CALL);
	assert_string_equal(q.why[0], "pp_runtime_quiesce called from inside a plugin call");
	/* its shutdown calls test.counter once more, on the reclaimer */
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	assert_int_equal(pp_runtime_quiesce(rt), PP_OK);
	assert_int_equal(q.calls, 2);
	assert_int_equal(q.got[1], PP_ERR_REENTRANT_CALL);
	assert_contains(q.why[1], "pp_runtime_quiesce called from a plugin's teardown");
	alarm(0);
	pp_runtime_free(rt);
}

/* What a reload asked for while the runtime is freed gets. */
typedef struct reload_in_teardown {
	pp_runtime *rt;
	uint64_t other; /* the bundle to reload */
	bool tearing;   /* pp_runtime_free has begun */
	pp_status got;  /* what the reload returned */
	char why[256];
} reload_in_teardown;

static void reload_other_on_unload(void *ud, uint64_t id, const char *name, uint32_t phase,
                                   const char *reason)
{
	(void)name;
	(void)reason;
	reload_in_teardown *r = ud;
	if (phase != PP_RELOAD_UNLOADING || !r->tearing || id == r->other || r->got != PP_OK)
		return;
	r->got = pp_bundle_reload(r->rt, r->other);
	snprintf(r->why, sizeof r->why, "%s", pp_last_error(r->rt));
}

/* A reload asked for while the runtime is freed (by a plugin's thread, or
 * from a callback of the teardown's own unloads) is refused, as a load is:
 * it used to build and initialise a new version only for the teardown to
 * unload it, and a plugin reloading in a loop could keep the teardown
 * waiting for the bundle. */
static void a_reload_while_the_runtime_is_freed_is_refused(void **state)
{
	(void)state;
	reload_in_teardown r = {.got = PP_OK};
	log_capture logs = {.lock = PTHREAD_MUTEX_INITIALIZER};
	r.rt = rt_with(&logs, PP_LOG_WARN, reload_other_on_unload, &r);
	r.other = load_ok(r.rt, fx("calc_v1"));
	load_ok(r.rt, fx("ping")); /* the later load is unloaded first */
	assert_int_equal(pp_bundle_reload(r.rt, r.other), PP_OK); /* reloads before the free */
	r.tearing = true;
	pp_runtime_free(r.rt);
	assert_int_equal(r.got, PP_ERR_UNSUPPORTED);
	assert_contains(r.why, "cannot reload bundle 'calc_v1': the runtime is being freed");
}

/* What a load asked for while the runtime is freed gets. */
typedef struct load_in_teardown {
	pp_runtime *rt;
	bool tearing;  /* pp_runtime_free has begun */
	int loads;     /* tried */
	pp_status got; /* what the first returned */
	char why[256];
} load_in_teardown;

static void load_on_unload(void *ud, uint64_t id, const char *name, uint32_t phase,
                           const char *reason)
{
	(void)id;
	(void)name;
	(void)reason;
	load_in_teardown *l = ud;
	if (phase != PP_RELOAD_UNLOADING || !l->tearing || l->loads++)
		return;
	l->got = pp_bundle_load(l->rt, fx("calc_alt"), NULL, NULL);
	snprintf(l->why, sizeof l->why, "%s", pp_last_error(l->rt));
}

/* pp_runtime_free refuses further loads (docs/runtime.md, Threads), here
 * from a callback of its own unloads: a bundle loaded then would be left
 * for a runtime that is going away. */
static void a_load_while_the_runtime_is_freed_is_refused(void **state)
{
	(void)state;
	load_in_teardown l = {.got = PP_OK};
	l.rt = rt_reporting(load_on_unload, &l);
	load_ok(l.rt, fx("calc_v1"));
	l.tearing = true;
	pp_runtime_free(l.rt);
	assert_int_equal(l.loads, 1);
	assert_int_equal(l.got, PP_ERR_UNSUPPORTED);
	assert_contains(l.why, "bundle 'calc_alt': the runtime is being freed; no more loads");
}

/* Nor reach a plugin as the runtime's refusal, through the host table's
 * create_guest_instance: a plugin's caller retrying on it would rerun what
 * the create's failure was meant to stop. */
static void a_plugin_never_gets_the_runtimes_refusal_from_a_create(void **state)
{
	(void)state;
	log_capture logs = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with(&logs, PP_LOG_WARN, NULL, NULL);
	load_ok(rt, fx("nest"));
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.nest", 1), 0);
	int32_t parent = -21;
	pp_guest_contract_instance inst;
	assert_int_equal(pp_instance_create(rt, h, &parent, &inst), PP_ERR_GENERIC);
	assert_string_equal(logs.last, "the child's create failed with code 1");
	assert_contains(pp_last_error(rt), "bundle 'nest', contract 'test.nest': create_instance "
	                                   "failed with PP_ERR_STALE_INSTANCE, a code only the "
	                                   "runtime gives: nest: pretending");
	pp_runtime_free(rt);
}

/* A plugin cannot return the code the runtime refuses an instance with:
 * callers take it to mean that nothing ran, and call again. */
static void a_function_returning_the_runtimes_refusal_fails_generic(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	js_load_ok(rt, "pretender", JS_ONE("test.pretend", "function () { return 20; }"));
	assert_int_equal(js_call(rt, "test.pretend", 0, NULL, NULL), PP_ERR_GENERIC);
	assert_contains(pp_last_error(rt), "bundle 'pretender', contract 'test.pretend@1', "
	                                   "function 0 returned PP_ERR_STALE_INSTANCE, a code "
	                                   "only the runtime gives");
	pp_runtime_free(rt);
}

/* The same, raced: callers that each keep an instance and make a new one
 * when theirs is refused, a thread that makes and destroys instances of the
 * same version (so the set being looked up is rebuilt under the lookups),
 * and reloads. A caller's own instance is never refused while its version
 * lives, its count never jumps, and no call reaches freed memory (ASan). */
typedef struct instance_caller {
	pp_runtime *rt;
	atomic_bool *stop;
	uint64_t contract; /* its function `count` writes the instance's next count as an i64 */
	uint32_t count;
	long ok, refused, wrong;
} instance_caller;

static void *call_own_instance(void *arg)
{
	instance_caller *c = arg;
	pp_guest_contract_handle h = pp_find(c->rt, c->contract, 1);
	pp_guest_contract_instance inst = {NULL, 0};
	int64_t expect = 1;
	while (!atomic_load(c->stop)) {
		if (!inst.data) {
			if (pp_instance_create(c->rt, h, NULL, &inst) != PP_OK)
				inst.data = NULL;
			expect = 1;
			continue;
		}
		int64_t out = 0;
		uint32_t rc = pp_call(c->rt, h, inst, c->count, NULL, &out, NULL);
		if (rc == PP_OK) {
			c->ok++;
			c->wrong += out != expect++;
		} else if (rc == PP_ERR_STALE_INSTANCE) {
			c->refused++; /* its version was replaced: make a new one */
			assert_int_equal(pp_instance_destroy(c->rt, h, inst), PP_ERR_STALE_HANDLE);
			inst.data = NULL;
		} else {
			c->wrong++;
		}
	}
	if (inst.data)
		pp_instance_destroy(c->rt, h, inst);
	return NULL;
}

static void *churn_instances(void *arg)
{
	instance_caller *c = arg;
	pp_guest_contract_handle h = pp_find(c->rt, c->contract, 1);
	pp_guest_contract_instance made[64];
	while (!atomic_load(c->stop)) {
		size_t n = 0;
		while (n < 64 && pp_instance_create(c->rt, h, NULL, &made[n]) == PP_OK)
			n++;
		while (n)
			(void)pp_instance_destroy(c->rt, h, made[--n]);
		c->ok++;
	}
	return NULL;
}

/* Two callers on instances of their own and a churner making and
 * destroying them, while bundle id is reloaded. */
static void race_instances_across_reloads(pp_runtime *rt, uint64_t id, uint64_t contract,
                                          uint32_t count)
{
	atomic_bool stop = false;
	instance_caller c[3];
	for (int i = 0; i < 3; i++)
		c[i] = (instance_caller){rt, &stop, contract, count, 0, 0, 0};
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&t[i], NULL,
		                                i < 2 ? call_own_instance : churn_instances, &c[i]),
		                 0);
	for (int i = 0; i < race_rounds(60); i++) {
		struct timespec pause = {0, 2000000};
		nanosleep(&pause, NULL); /* let the callers run on each version */
		assert_int_equal(pp_bundle_reload(rt, id), PP_OK);
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < 2; i++) {
		assert_true(c[i].ok > 0);
		assert_int_equal(c[i].wrong, 0);
	}
	assert_true(c[0].refused + c[1].refused > 0); /* the race was run */
	assert_true(c[2].ok > 0);
}

static void instances_of_a_replaced_native_version_never_reach_its_successor(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	uint64_t id = load_ok(rt, fx("calc_v1"));
	race_instances_across_reloads(rt, id, CALC, CALC_COUNT);
	pp_runtime_free(rt);
}

/* The same for a JS bundle of two VMs, whose instances pp_call leaves to
 * the loader's lookup (call_inline.h): ids are never reused, so one of a
 * replaced version, or destroyed, is refused as the runtime's set would. */
static void instances_of_a_replaced_js_version_never_reach_its_successor(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char dir[256];
	js_write_dir(dir, sizeof dir,
	             JS_PRELUDE "function polyplug_init() {\n"
	                        "  return ok([reg('test.ctr64', [function (impl, a, o, ar, b) {\n"
	                        "    impl.n++; b.writeI32(o, impl.n); b.writeI32(o + 4, 0);\n"
	                        "    return 0; }])]);\n}\n");
	write_text(dir, "manifest.toml", "name = \"ctr64\"\nconcurrency = 2\n");
	uint64_t id = load_ok(rt, dir);
	race_instances_across_reloads(rt, id, pp_guest_contract_id("test.ctr64", 1), 0);
	pp_runtime_free(rt);
	remove_tree(dir);
}

static void js_registrations_keep_their_minor_version(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	static const char src[] =
	        JS_PRELUDE "function polyplug_init() {\n"
	                   "  var r = reg('test.minor', [function () { return 0; }]);\n"
	                   "  r.version = 0x00010002;\n"
	                   "  return ok([r]);\n}\n";
	js_load_ok(rt, "minor", src);
	uint64_t cid = pp_guest_contract_id("test.minor", 1);
	assert_false(pp_handle_is_null(pp_find(rt, cid, pp_version_pack(1, 1))));
	assert_false(pp_handle_is_null(pp_find(rt, cid, pp_version_pack(1, 2))));
	assert_true(pp_handle_is_null(pp_find(rt, cid, pp_version_pack(1, 3))));
	const pp_guest_contract_interface *i = pp_resolve(rt, pp_find(rt, cid, 1));
	assert_non_null(i);
	assert_int_equal(i->contract_version.major, 1);
	assert_int_equal(i->contract_version.minor, 2);
	pp_runtime_free(rt);
}

/* ---- Sizes from plugin input ---------------------------------------------- */

static void expect_refused(pp_runtime *rt, const char *src, pp_status want, const char *needle)
{
	pp_status st = js_load_src(rt, "huge", src, NULL);
	if (st != want)
		fail_msg("status %u (want %u): %s", st, want, pp_last_error(rt));
	assert_contains(pp_last_error(rt), needle);
	assert_int_equal(bundle_count(rt), 0);
}

#define WITH_FN_COUNT(count)                                                    \
	JS_PRELUDE "function polyplug_init() {\n"                               \
	           "  var r = reg('test.huge', [function () { return 0; }]);\n" \
	           "  r.fnCount = " count ";\n"                                 \
	           "  return ok([r]);\n}\n"

/* 40 registrations of 65536 functions each, all one function behind a
 * Proxy: a few lines that once made the host hold 628 MB for a bundle
 * limited to 16 MiB. The tables registrations need count against the VM's
 * limit; the load fails before they are made. */
static void registration_tables_count_against_the_memory_limit(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	static const char src[] =
	        JS_PRELUDE "function polyplug_init() {\n"
	                   "  var f = function () { return 0; }, regs = [];\n"
	                   "  for (var k = 0; k < 40; k++) {\n"
	                   "    var r = reg('test.wide' + k, [f]);\n"
	                   "    r.fnCount = 65536;\n"
	                   "    r.interface.functions = new Proxy([], { get: function () {"
	                   " return f; } });\n"
	                   "    regs.push(r);\n  }\n"
	                   "  return ok(regs);\n}\n";
	pp_load_options o = {.name = "wide", .js = {.memory_bytes = 16u << 20}};
	struct rusage before, after;
	getrusage(RUSAGE_SELF, &before);
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), &o, NULL),
	                 PP_ERR_OUT_OF_MEMORY);
	getrusage(RUSAGE_SELF, &after);
	assert_contains(pp_last_error(rt), "its tables need more host memory than is left of the "
	                                   "VM's memory limit of 16777216 bytes");
	long grew_kib = after.ru_maxrss - before.ru_maxrss;
	if (grew_kib > 128L * 1024)
		fail_msg("the peak resident set grew by %ld MiB", grew_kib / 1024);
	/* what fits still loads */
	o.js.memory_bytes = 64u << 20;
	static const char fits[] =
	        JS_PRELUDE "function polyplug_init() {\n"
	                   "  var f = function () { return 0; };\n"
	                   "  var r = reg('test.wide', [f]);\n"
	                   "  r.fnCount = 65536;\n"
	                   "  r.interface.functions = new Proxy([], { get: function () {"
	                   " return f; } });\n"
	                   "  return ok([r]);\n}\n";
	assert_int_equal(pp_bundle_load_source(rt, fits, strlen(fits), &o, NULL), PP_OK);
	pp_runtime_free(rt);
}

static void sizes_from_plugins_are_bounded_before_they_reach_an_allocator(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	expect_refused(rt, WITH_FN_COUNT("4294967295"), PP_ERR_INIT_FAILED, "limit is 65536");
	expect_refused(rt, WITH_FN_COUNT("2 ** 53"), PP_ERR_INIT_FAILED, "limit is 65536");
	expect_refused(rt, WITH_FN_COUNT("Infinity"), PP_ERR_INIT_FAILED, "limit is 65536");
	expect_refused(rt, WITH_FN_COUNT("65537"), PP_ERR_INIT_FAILED, "limit is 65536");
	/* more functions declared than given: refused, naming the missing one */
	expect_refused(rt, WITH_FN_COUNT("3"), PP_ERR_INIT_FAILED, "functions[1]");
	expect_refused(rt,
	               JS_PRELUDE "function polyplug_init() {\n"
	                          "  var r = []; r.length = 4294967295;\n"
	                          "  return ok(r);\n}\n",
	               PP_ERR_INIT_FAILED, "limit is 4096");
	/* NaN and negative counts read as 0, as the reference reads them */
	js_load_ok(rt, "nan", WITH_FN_COUNT("NaN"));
	int32_t out;
	assert_int_equal(js_call(rt, "test.huge", 0, NULL, &out), PP_ERR_FUNCTION_NOT_AVAILABLE);
	assert_int_equal(pp_bundle_load(rt, fx("broken_huge_count"), NULL, NULL),
	                 PP_ERR_INIT_FAILED);
	assert_contains(pp_last_error(rt), "limit is 65536");
	/* and the runtime is as usable as before */
	js_load_ok(rt, "fine", JS_ONE("test.fine", "function () { return 0; }"));
	assert_int_equal(js_call(rt, "test.fine", 0, NULL, &out), PP_OK);
	pp_runtime_free(rt);
}

static void a_throwing_registration_getter_fails_the_load_with_its_cause(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	expect_refused(rt,
	               JS_PRELUDE "function polyplug_init() {\n"
	                          "  var r = reg('test.g', [function () { return 0; }]);\n"
	                          "  Object.defineProperty(r, 'fnCount', { get: function () {\n"
	                          "    throw new Error('no count for you'); } });\n"
	                          "  return ok([r]);\n}\n",
	               PP_ERR_INIT_FAILED, "no count for you");
	expect_refused(rt,
	               JS_PRELUDE "function polyplug_init() {\n"
	                          "  var r = reg('test.g', [function () { return 0; }]);\n"
	                          "  Object.defineProperty(r.interface, 'functions', { get: "
	                          "function () {\n"
	                          "    throw new TypeError('functions withheld'); } });\n"
	                          "  return ok([r]);\n}\n",
	               PP_ERR_INIT_FAILED, "functions withheld");
	/* a getter that never returns is stopped by the CPU limit */
	static const char loop[] =
	        JS_PRELUDE "function polyplug_init() {\n"
	                   "  var r = reg('test.g', [function () { return 0; }]);\n"
	                   "  Object.defineProperty(r, 'contractLo', { get: function () {\n"
	                   "    for (;;) {} } });\n"
	                   "  return ok([r]);\n}\n";
	pp_load_options o = {.name = "looping_getter", .js = {.cpu_ms = 100}};
	assert_int_equal(pp_bundle_load_source(rt, loop, strlen(loop), &o, NULL), PP_ERR_TIMEOUT);
	assert_contains(pp_last_error(rt), "reading 'contractLo' of a registration exceeded the "
	                                   "CPU limit of 100 ms");
	assert_int_equal(bundle_count(rt), 0);
	/* the same inside a signature: the getter's error, or the limit's, is
	 * what the load reports, not a bad signature */
	expect_refused(rt,
	               JS_PRELUDE "function polyplug_init() {\n"
	                          "  var r = reg('test.g', [function () { return 0; }]);\n"
	                          "  r.interface.signatures = [{ get params() {\n"
	                          "    throw new Error('params withheld'); }, result: 'i32' }];\n"
	                          "  return ok([r]);\n}\n",
	               PP_ERR_INIT_FAILED,
	               "reading interface.signatures failed: Error: params "
	               "withheld");
	static const char sig_loop[] =
	        JS_PRELUDE "function polyplug_init() {\n"
	                   "  var r = reg('test.g', [function () { return 0; }]);\n"
	                   "  r.interface.signatures = [{ params: [], get result() {\n"
	                   "    for (;;) {} } }];\n"
	                   "  return ok([r]);\n}\n";
	assert_int_equal(pp_bundle_load_source(rt, sig_loop, strlen(sig_loop), &o, NULL),
	                 PP_ERR_TIMEOUT);
	assert_contains(pp_last_error(rt), "reading interface.signatures exceeded the CPU limit");
	assert_int_equal(bundle_count(rt), 0);
	pp_runtime_free(rt);
}

/* ---- The ABI: failures and sizes ------------------------------------------ */

static void instance_creation_failures_reach_the_caller_with_their_cause(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	static const char src[] = JS_PRELUDE
	        "var made = 0;\n"
	        "function polyplug_init() {\n"
	        "  return ok([reg('test.fussy', [function () { return 0; }],\n"
	        "    function () { if (made++ > 0) throw new Error('no more instances');\n"
	        "                  return {}; }),\n"
	        "    reg('test.slowmake', [function () { return 0; }],\n"
	        "    function () { if (made > 1) for (;;) {} return {}; })]);\n}\n";
	pp_load_options o = {.name = "fussy", .js = {.cpu_ms = 100}};
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), &o, NULL), PP_OK);
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.fussy", 1), 0);
	pp_guest_contract_instance inst = {(void *)1, 1};
	assert_int_equal(pp_instance_create(rt, h, NULL, &inst), PP_ERR_GENERIC);
	assert_null(inst.data);
	assert_contains(pp_last_error(rt), "bundle 'fussy', contract 'test.fussy@1'");
	assert_contains(pp_last_error(rt), "no more instances");
	h = pp_find(rt, pp_guest_contract_id("test.slowmake", 1), 0);
	assert_int_equal(pp_instance_create(rt, h, NULL, &inst), PP_ERR_TIMEOUT);
	assert_null(inst.data);
	assert_contains(pp_last_error(rt), "CPU limit of 100 ms");
	/* the VM is still usable */
	int32_t out;
	assert_int_equal(js_call(rt, "test.fussy", 0, NULL, &out), PP_OK);
	pp_runtime_free(rt);
}

/* Size 0 means the struct as ABI 2 first shipped it, not as this library
 * has it: a host's struct ends where its members end, and members appended
 * later must not be read past it (ASan sees a read beyond these blocks). */
static void a_struct_of_size_zero_is_read_to_its_first_version_only(void **state)
{
	(void)state;
	pp_runtime_config cfg;
	pp_runtime_config_init(&cfg);
	cfg.size = 0;
	cfg.js.cpu_ms = 100;
	void *block = malloc(PP_RUNTIME_CONFIG_V2_SIZE); /* what a host's struct holds */
	assert_non_null(block);
	memcpy(block, &cfg, PP_RUNTIME_CONFIG_V2_SIZE);
	pp_runtime *rt = NULL;
	assert_int_equal(pp_runtime_new(block, &rt), PP_OK);
	free(block);

	pp_load_options o = {.size = 0, .name = "zero"};
	o.js.concurrency = PP_JS_MAX_CONCURRENCY + 1; /* the first version's last member */
	block = malloc(PP_LOAD_OPTIONS_V2_SIZE);
	assert_non_null(block);
	memcpy(block, &o, PP_LOAD_OPTIONS_V2_SIZE);
	static const char src[] = JS_ONE("test.zero", "function () { for (;;) {} }");
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), block, NULL),
	                 PP_ERR_INVALID_ARGUMENT);
	assert_contains(pp_last_error(rt), "concurrency is 65 VMs");
	o.js.concurrency = 2;
	memcpy(block, &o, PP_LOAD_OPTIONS_V2_SIZE);
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), block, NULL), PP_OK);
	free(block);
	int32_t out = 0;
	assert_int_equal(js_call(rt, "test.zero", 0, NULL, &out), PP_ERR_TIMEOUT);
	assert_contains(pp_last_error(rt), "CPU limit of 100 ms"); /* the config's */
	pp_runtime_free(rt);
}

/* A host built against a newer release passes bigger structs. What they
 * add is taken as unset only if it is: a set member this library does not
 * know (a limit, say) is refused, not silently dropped, and a size no
 * version has (garbage) is refused before anything past the struct is read.
 * An interface's appended members describe rather than ask: a bigger one is
 * read to what this library knows. */
static void a_struct_from_a_newer_release_is_taken_only_if_what_it_adds_is_unset(void **state)
{
	(void)state;
	enum { MORE = 24 };
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime_config cfg;
	pp_runtime_config_init(&cfg);
	cfg.log = capture_log;
	cfg.log_userdata = &c;
	cfg.js.cpu_ms = 100;
	unsigned char *block = calloc(1, sizeof cfg + MORE);
	assert_non_null(block);
	cfg.size = (uint32_t)(sizeof cfg + MORE);
	memcpy(block, &cfg, sizeof cfg);
	pp_runtime *rt = NULL;
	block[sizeof cfg + MORE - 1] = 1;
	assert_int_equal(pp_runtime_new((pp_runtime_config *)(void *)block, &rt),
	                 PP_ERR_UNSUPPORTED);
	assert_null(rt);
	block[sizeof cfg + MORE - 1] = 0;
	cfg.size = PP_MAX_STRUCT_SIZE + 1;
	memcpy(block, &cfg.size, sizeof cfg.size);
	assert_int_equal(pp_runtime_new((pp_runtime_config *)(void *)block, &rt),
	                 PP_ERR_INVALID_ARGUMENT);
	cfg.size = (uint32_t)(sizeof cfg + MORE);
	memcpy(block, &cfg.size, sizeof cfg.size);
	assert_int_equal(pp_runtime_new((pp_runtime_config *)(void *)block, &rt), PP_OK);
	free(block);

	pp_load_options o = {.size = (uint32_t)(sizeof o + MORE), .name = "newer"};
	block = calloc(1, sizeof o + MORE);
	assert_non_null(block);
	memcpy(block, &o, sizeof o);
	block[sizeof o + 3] = 0x80;
	static const char src[] = JS_ONE("test.newer", "function () { for (;;) {} }");
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), (void *)block, NULL),
	                 PP_ERR_UNSUPPORTED);
	char want[64];
	snprintf(want, sizeof want, "sets byte %zu, a member", sizeof o + 3);
	assert_contains(pp_last_error(rt), want);
	block[sizeof o + 3] = 0;
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), (void *)block, NULL), PP_OK);
	free(block);
	int32_t out = 0;
	assert_int_equal(js_call(rt, "test.newer", 0, NULL, &out), PP_ERR_TIMEOUT);
	assert_contains(pp_last_error(rt), "CPU limit of 100 ms"); /* the config was read */

	struct {
		pp_host_contract_interface iface;
		uint64_t appended[2];
	} hc = {.iface = {.size = sizeof hc,
	                  .contract_id = pp_host_contract_id("test.newer", 1),
	                  .contract_version = {1, 0, 0},
	                  .dispatch_type = PP_DISPATCH_NATIVE,
	                  .create_instance = no_instance,
	                  .destroy_instance = drop_instance},
	        .appended = {~0ull, ~0ull}};
	assert_int_equal(pp_host_contract_register(rt, &hc.iface), PP_OK);
	pp_runtime_free(rt);
}

static void structs_smaller_than_any_version_are_refused(void **state)
{
	(void)state;
	pp_runtime_config cfg;
	pp_runtime_config_init(&cfg);
	assert_int_equal(cfg.size, sizeof cfg);
	cfg.size = 8;
	pp_runtime *rt = NULL;
	assert_int_equal(pp_runtime_new(&cfg, &rt), PP_ERR_INVALID_ARGUMENT);
	assert_null(rt);
	cfg.size = 0; /* 0: this version's size */
	assert_int_equal(pp_runtime_new(&cfg, &rt), PP_OK);

	pp_load_options o = {.size = 4, .name = "tiny"};
	static const char src[] = JS_ONE("test.tiny", "function () { return 0; }");
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), &o, NULL),
	                 PP_ERR_INVALID_ARGUMENT);
	assert_contains(pp_last_error(rt), "pp_load_options.size is 4");
	o.size = sizeof o;
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), &o, NULL), PP_OK);

	pp_host_contract_interface hc = {
	        .size = 16,
	        .contract_id = pp_host_contract_id("test.small", 1),
	        .contract_version = {1, 0, 0},
	        .dispatch_type = PP_DISPATCH_NATIVE,
	        .create_instance = no_instance,
	        .destroy_instance = drop_instance,
	};
	assert_int_equal(pp_host_contract_register(rt, &hc), PP_ERR_ABI_MISMATCH);
	assert_contains(pp_last_error(rt), "smaller than any version");
	hc.size = sizeof hc;
	hc.flags = 0x80;
	assert_int_equal(pp_host_contract_register(rt, &hc), PP_ERR_INVALID_ARGUMENT);
	assert_contains(pp_last_error(rt), "unknown flags 0x80");
	hc.flags = 0;
	assert_int_equal(pp_host_contract_register(rt, &hc), PP_OK);
	pp_runtime_free(rt);
}

/* A pp_load_options whose size is above PP_MAX_STRUCT_SIZE is no version
 * of it (garbage): refused before anything past it is read, as the config
 * is (docs/abi.md). */
static void load_options_larger_than_any_version_are_refused(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	static const char src[] = JS_ONE("test.big", "function () { return 0; }");
	/* all of it there and zero: only the size is wrong */
	unsigned char *block = calloc(1, PP_MAX_STRUCT_SIZE + 1);
	assert_non_null(block);
	pp_load_options o = {.size = PP_MAX_STRUCT_SIZE + 1, .name = "big"};
	memcpy(block, &o, sizeof o);
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), (void *)block, NULL),
	                 PP_ERR_INVALID_ARGUMENT);
	assert_contains(pp_last_error(rt), "pp_load_options.size is 4097; a version of it has");
	assert_contains(pp_last_error(rt), "to 4096 bytes");
	o.size = PP_MAX_STRUCT_SIZE; /* the largest a version may have */
	memcpy(block, &o, sizeof o);
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), (void *)block, NULL), PP_OK);
	free(block);
	pp_runtime_free(rt);
}

/* ---- Threads -------------------------------------------------------------- */

/* Bundle SELF: fn 0 spins, then calls fn 1 of PEER; fn 1 returns at once. */
#define PINGPONG_JS(self, peer)                                                                 \
	JS_PRELUDE "function spin(ms) { var t = Date.now(); while (Date.now() - t < ms) {} }\n" \
	           "var peer = cid('guest_contract:" peer "@1');\n"                             \
	           "function polyplug_init() {\n"                                               \
	           "  return ok([reg('" self "', [\n"                                           \
	           "    function (impl, a, o, ar, b) { spin(2);\n"                              \
	           "      return b.dispatchPeer(peer[0], peer[1], 0, 1, 0, 0); },\n"            \
	           "    function () { return 0; }])]);\n}\n"

typedef struct caller {
	pp_runtime *rt;
	const char *contract;
	int rounds, ok, refused, other;
} caller;

static void *call_loop(void *p)
{
	caller *c = p;
	for (int i = 0; i < c->rounds; i++) {
		int32_t out;
		uint32_t st = js_call(c->rt, c->contract, 0, NULL, &out);
		if (st == PP_OK)
			c->ok++;
		else if (st == PP_ERR_REENTRANT_CALL)
			c->refused++;
		else
			c->other++;
	}
	return NULL;
}

static void peer_calls_between_two_js_bundles_never_deadlock(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	js_load_ok(rt, "ping", PINGPONG_JS("test.jping", "test.jpong"));
	js_load_ok(rt, "pong", PINGPONG_JS("test.jpong", "test.jping"));
	caller c[2] = {{rt, "test.jping", 150, 0, 0, 0}, {rt, "test.jpong", 150, 0, 0, 0}};
	pthread_t t[2];
	pthread_create(&t[0], NULL, call_loop, &c[0]);
	pthread_create(&t[1], NULL, call_loop, &c[1]);
	join_within(t, 2, 120);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(c[i].other, 0);
		assert_int_equal(c[i].ok + c[i].refused, 150);
	}
	assert_true(c[0].ok + c[1].ok > 0);
	pp_runtime_free(rt);
}

/* A log callback that calls back into the runtime it logs for: listing,
 * finding, and at the records of a load, reload and unload, a reload, an
 * unload and a load of its own. None of it may hang (runtime.md: no lock is
 * held while the log callback runs). */
typedef struct log_reenter {
	_Atomic(pp_runtime *) rt;
	atomic_uint calc;
	uint32_t reload_st, unload_st, load_st; /* UINT32_MAX: not reached */
	atomic_int records;
} log_reenter;

static void reenter_log(void *ud, uint32_t level, pp_string_view scope, pp_string_view msg)
{
	(void)level;
	(void)scope;
	log_reenter *l = ud;
	pp_runtime *rt = atomic_load(&l->rt);
	if (!rt)
		return;
	atomic_fetch_add(&l->records, 1);
	char text[256];
	snprintf(text, sizeof text, "%.*s", (int)msg.len, (const char *)msg.ptr);
	pp_bundle_foreach(rt, NULL, NULL);
	(void)pp_find_named(rt, "test.calc@1", 0, NULL);
	uint64_t calc = pp_bundle_id("calc_v1");
	if (strcmp(text, "loaded bundle 'calc_v1' (native loader)") == 0 &&
	    l->reload_st == UINT32_MAX)
		l->reload_st = pp_bundle_reload(rt, calc);
	else if (strcmp(text, "reloaded bundle 'calc_v1'") == 0 && l->unload_st == UINT32_MAX)
		l->unload_st = pp_bundle_unload(rt, calc, 0);
	else if (strcmp(text, "unloaded bundle 'calc_v1'") == 0 && l->load_st == UINT32_MAX)
		l->load_st = pp_bundle_load(rt, fx("calc_v2"), NULL, NULL);
}

static void *reenter_steps(void *p)
{
	log_reenter *l = p;
	pp_runtime *rt = atomic_load(&l->rt);
	uint64_t id;
	if (pp_bundle_load(rt, fx("calc_v1"), NULL, &id) != PP_OK)
		return NULL;
	(void)pp_bundle_reload(rt, id);
	(void)pp_bundle_unload(rt, id, 0);
	(void)pp_bundle_load(rt, "/nonexistent/bundle.so", NULL, NULL); /* an error record */
	return NULL;
}

static void a_log_callback_calling_back_into_the_runtime_never_hangs(void **state)
{
	(void)state;
	static log_reenter l;
	memset(&l, 0, sizeof l);
	l.reload_st = l.unload_st = l.load_st = UINT32_MAX;
	pp_runtime *rt = rt_logging_to(reenter_log, &l, PP_LOG_DEBUG);
	atomic_store(&l.rt, rt);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, reenter_steps, &l), 0);
	join_within(&t, 1, 60);
	assert_true(atomic_load(&l.records) > 0);
	/* each step was reached, and either ran or was refused as re-entry (a
	 * reload of the bundle whose load is logging), never waited for */
	const uint32_t *st[] = {&l.reload_st, &l.unload_st, &l.load_st};
	for (int i = 0; i < 3; i++)
		if (*st[i] != PP_OK && *st[i] != PP_ERR_REENTRANT_CALL)
			fail_msg("step %d: %u (%s)", i, *st[i], pp_last_error(rt));
	atomic_store(&l.rt, NULL);
	pp_runtime_free(rt);
}

/* A ring of RING threads: thread k, inside bundle k, waits until all are
 * inside theirs, then calls bundle k+1 (mod RING), which thread k+1 holds.
 * The last wait closes a cycle of RING threads, as long as the look follows
 * (runtime.md: up to 64). */
enum { RING = 64 };

typedef struct ring {
	pp_host_contract_interface iface; /* first: the instance is the ring */
	pthread_barrier_t all_inside;
} ring;

static void ring_wait(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)args;
	(void)out;
	(void)err;
	pthread_barrier_wait(&((ring *)state)->all_inside);
}

static const void *const ring_fns[] = {(const void *)ring_wait};

typedef struct ring_member {
	pp_runtime *rt;
	char contract[32];
	uint32_t st;
} ring_member;

static void *ring_call(void *p)
{
	ring_member *m = p;
	int32_t out;
	m->st = js_call(m->rt, m->contract, 0, NULL, &out);
	return NULL;
}

static void a_wait_closing_a_cycle_of_64_threads_is_refused_and_the_others_go_on(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	static ring r;
	r.iface = (pp_host_contract_interface){
	        .contract_id = pp_host_contract_id("test.ring", 1),
	        .contract_version = {1, 0, 0},
	        .flags = PP_HOST_CONTRACT_SINGLETON,
	        .dispatch_type = PP_DISPATCH_NATIVE,
	        .create_instance = latch_instance,
	        .destroy_instance = drop_instance,
	        .dispatch.native = {1, ring_fns},
	};
	pthread_barrier_init(&r.all_inside, NULL, RING);
	assert_int_equal(pp_host_contract_register(rt, &r.iface), PP_OK);
	static ring_member m[RING];
	for (int k = 0; k < RING; k++) {
		char name[16], src[2048];
		snprintf(name, sizeof name, "ring%d", k);
		snprintf(m[k].contract, sizeof m[k].contract, "test.ring%d", k);
		snprintf(src, sizeof src,
		         JS_PRELUDE
		         "var r = cid('host_contract:test.ring@1');\n"
		         "var next = cid('guest_contract:test.ring%d@1');\n"
		         "function polyplug_init() {\n"
		         "  return ok([reg('test.ring%d', [\n"
		         "    function (impl, a, o, ar, b) {\n"
		         "      var rc = b.callHostContract(r[0], r[1], 0x10000, 0, 0, 0);\n"
		         "      if (rc !== 0) throw new Error('test.ring: ' + rc);\n"
		         "      return b.dispatchPeer(next[0], next[1], 0, 1, 0, 0); },\n"
		         "    function () { return 0; }])]);\n}\n",
		         (k + 1) % RING, k);
		js_load_ok(rt, name, src);
		m[k].rt = rt;
	}
	pthread_t t[RING];
	for (int k = 0; k < RING; k++)
		assert_int_equal(pthread_create(&t[k], NULL, ring_call, &m[k]), 0);
	join_within(t, RING, 120);
	int refused = 0;
	for (int k = 0; k < RING; k++) {
		if (m[k].st == PP_ERR_REENTRANT_CALL)
			refused++;
		else
			assert_int_equal(m[k].st, PP_OK);
	}
	/* exactly one (looks take turns, and the refused thread's wait is
	 * withdrawn before the next: a member's look again every 20 ms then
	 * finds it going on), each of the others through */
	assert_int_equal(refused, 1);
	pthread_barrier_destroy(&r.all_inside);
	pp_runtime_free(rt);
}

static void *call_slow_x(void *p)
{
	inside *in = p;
	atomic_store(&in->entered, 1);
	int32_t out;
	in->st = js_call(in->rt, "test.x", 0, NULL, &out);
	return NULL;
}

static void a_load_whose_init_calls_a_busy_bundle_never_deadlocks(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	latch l;
	latch_register(rt, &l);
	load_ok(rt, fx("hostprov"));
	/* X, fn 0: held until Y's init lets it go, then spins so that Y finds it
	 * busy, then calls a native plugin that uses the host table
	 * (register_host_contract takes the runtime's lock). */
	js_load_ok(rt, "x",
	           JS_PRELUDE JS_LATCH
	           "function spin(ms) { var t = Date.now(); while (Date.now() - t < ms) {} }\n"
	           "var hp = cid('guest_contract:test.hostprov@1');\n"
	           "function polyplug_init(hl, hh, cl, ch, bridge) {\n"
	           "  return ok([reg('test.x', [\n"
	           "    function (impl, a, o, ar, b) { while (held(b)) {} spin(300);\n"
	           "      return b.dispatchPeer(hp[0], hp[1], 0, 0, 0, o); },\n"
	           "    function () { return 0; }])]);\n}\n");
	inside in = {.rt = rt};
	pthread_t t;
	pthread_create(&t, NULL, call_slow_x, &in);
	await_true(atomic_load(&l.inside), 30); /* the other thread is inside X */
	/* Y's init calls X, which the other thread is inside. */
	pp_dependency needs_x = {pp_guest_contract_id("test.x", 1), 0};
	pp_load_options o = {.name = "y", .dependencies = &needs_x, .dependency_count = 1};
	static const char y[] = JS_PRELUDE JS_LATCH
	        "var x = cid('guest_contract:test.x@1');\n"
	        "function polyplug_init(hl, hh, cl, ch, b) {\n"
	        "  letGo(b);\n"
	        "  var st = b.dispatchPeer(x[0], x[1], 0, 1, 0, 0);\n"
	        "  if (st !== 0) throw new Error('x said ' + st);\n"
	        "  return ok([reg('test.y', [function () { return 0; }])]);\n}\n";
	assert_int_equal(pp_bundle_load_source(rt, y, strlen(y), &o, NULL), PP_OK);
	join_within(&t, 1, 60);
	assert_int_equal(in.st, PP_OK);
	assert_non_null(host_iface(rt, "test.late"));
	pp_runtime_free(rt);
}

#define RECURSE_JS                                                  \
	JS_PRELUDE "function deep(n) { return deep(n + 1) + 1; }\n" \
	           "function polyplug_init() {\n"                   \
	           "  return ok([reg('test.deep', [function () { return deep(0); }])]);\n}\n"

static void *call_deep(void *p)
{
	inside *in = p;
	int32_t out;
	in->st = js_call(in->rt, "test.deep", 0, NULL, &out);
	return NULL;
}

static void deep_recursion_on_a_small_thread_throws_in_the_guest(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new(); /* the default JS stack budget (1 MiB) exceeds the thread's */
	js_load_ok(rt, "deep", RECURSE_JS);
	inside in = {.rt = rt};
	run_with_stack(256u << 10, call_deep, &in);
	assert_int_equal(in.st, PP_ERR_GENERIC); /* "stack overflow", thrown in the guest */
	pp_runtime_free(rt);
}

/* Each bundle of the chain recurses until its stack budget runs out, then
 * calls the next one from there. */
#define CHAIN_JS(self, next)                                                         \
	JS_PRELUDE "var next = cid('guest_contract:" next "@1'); var b;\n"           \
	           "function dive() { try { return dive() + 1; } catch (e) {\n"      \
	           "  return b.dispatchPeer(next[0], next[1], 0, 0, 0, 0); } }\n"    \
	           "function polyplug_init() {\n"                                    \
	           "  return ok([reg('" self "', [function (impl, a, o, ar, br) {\n" \
	           "    b = br; dive(); return 0; }])]);\n}\n"

static void *call_chain(void *p)
{
	inside *in = p;
	int32_t out;
	in->st = js_call(in->rt, "test.c1", 0, NULL, &out);
	return NULL;
}

static void nested_vm_entries_share_the_thread_stack(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	js_load_ok(rt, "c3", CHAIN_JS("test.c3", "test.none"));
	js_load_ok(rt, "c2", CHAIN_JS("test.c2", "test.c3"));
	js_load_ok(rt, "c1", CHAIN_JS("test.c1", "test.c2"));
	inside in = {.rt = rt};
	run_with_stack(1u << 20, call_chain, &in);
	assert_int_equal(in.st, PP_OK); /* it returned: no SIGSEGV on the way */
	pp_runtime_free(rt);
}

/* ---- Grace periods -------------------------------------------------------- */

static void *call_slow(void *p)
{
	inside *in = p;
	atomic_store(&in->entered, 1);
	int32_t out;
	in->st = js_call(in->rt, "test.slow", 0, NULL, &out);
	atomic_store(&in->entered, 2);
	return NULL;
}

/* The reclaimer lets a burst of retirements gather before their grace
 * period starts; no one has to wait in pp_runtime_quiesce for them to be
 * reclaimed. */
static void a_burst_of_retirements_is_reclaimed_with_no_one_waiting(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	for (int i = 0; i < 20; i++) {
		uint64_t id =
		        js_load_ok(rt, "burst", JS_ONE("test.burst", "function () { return 0; }"));
		assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	}
	pp_stats st;
	pp_runtime_stats(rt, &st);
	for (int ms = 0; ms < 10000 && st.pending_reclaims; ms++) {
		usleep(1000);
		pp_runtime_stats(rt, &st);
	}
	assert_int_equal(st.pending_reclaims, 0);
	assert_true(st.reclaimed >= 40); /* each bundle's version and VM, at least */
	pp_runtime_free(rt);
}

static void quiesce_is_not_held_up_by_a_long_call_in_another_runtime(void **state)
{
	(void)state;
	pp_runtime *busy = rt_new(), *rt = rt_new();
	latch l;
	latch_register(busy, &l);
	js_load_ok(busy, "slow",
	           JS_PRELUDE JS_LATCH
	           "function polyplug_init() {\n"
	           "  return ok([reg('test.slow', [function (i, a, o, ar, b) {\n"
	           "    while (held(b)) {} return 0; }])]);\n}\n");
	inside in = {.rt = busy};
	pthread_t t;
	pthread_create(&t, NULL, call_slow, &in);
	await_true(atomic_load(&l.inside), 30); /* the call is running in `busy` */
	uint64_t id = js_load_ok(rt, "quick", JS_ONE("test.quick", "function () { return 0; }"));
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	pp_status quiesced = pp_runtime_quiesce(rt);
	pp_stats st;
	pp_runtime_stats(rt, &st);
	int still_running = atomic_load(&in.entered) == 1;
	atomic_store(&l.go, 1);
	join_within(&t, 1, 60);
	assert_int_equal(quiesced, PP_OK);
	assert_int_equal(st.pending_reclaims, 0);
	assert_true(still_running); /* quiesce returned while the other call ran */
	assert_int_equal(in.st, PP_OK);
	pp_runtime_free(rt);
	pp_runtime_free(busy);
}

static void quiesce_returns_under_load_and_unload_churn(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	static const char src[] = JS_ONE("test.churn", "function () { return 0; }");
	racer r[2] = {{.rt = rt, .src = src, .rounds = 300}, {.rt = rt, .src = src, .rounds = 300}};
	pthread_t t[2];
	pthread_create(&t[0], NULL, churn_loads, &r[0]);
	pthread_create(&t[1], NULL, churn_unloads, &r[1]);
	for (int i = 0; i < 30; i++)
		assert_int_equal(pp_runtime_quiesce(rt), PP_OK);
	join_within(t, 2, 120);
	pp_runtime_free(rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(host_contracts_a_plugin_registered_leave_with_its_version),
	        cmocka_unit_test(a_bundle_loading_itself_from_its_init_yields_one_bundle),
	        cmocka_unit_test(registrations_around_a_nested_load_stay_with_their_bundle),
	        cmocka_unit_test(concurrent_loads_of_one_name_yield_one_bundle),
	        cmocka_unit_test(a_second_load_while_the_first_initialises_fails_as_being_loaded),
	        cmocka_unit_test(loads_unloads_and_calls_racing_never_touch_a_freed_bundle),
	        cmocka_unit_test(
	                a_native_init_that_offers_a_host_contract_then_fails_leaves_nothing),
	        cmocka_unit_test(replaced_code_cannot_register_a_host_contract),
	        cmocka_unit_test(instances_made_through_the_host_table_are_tracked_like_the_hosts),
	        cmocka_unit_test(
	                an_instance_of_a_version_replaced_during_the_call_is_destroyed_once),
	        cmocka_unit_test(many_instances_are_destroyed_in_any_order_each_once),
	        cmocka_unit_test(one_pointer_made_several_times_is_destroyed_as_often),
	        cmocka_unit_test(a_dependency_unloaded_during_init_fails_the_dependents_load),
	        cmocka_unit_test(a_native_bundle_finds_libraries_beside_it_through_origin),
	        cmocka_unit_test(bundle_names_that_are_paths_are_refused_for_every_loader),
	        cmocka_unit_test(
	                long_bundle_names_and_control_characters_are_refused_with_the_reason),
	        cmocka_unit_test(a_source_with_a_bad_last_byte_is_refused_at_once_with_its_offset),
	        cmocka_unit_test(contract_names_too_long_or_not_utf8_say_which),
	        cmocka_unit_test(files_resolving_outside_the_bundle_directory_are_refused),
	        cmocka_unit_test(a_guest_working_with_its_heap_exhausted_never_corrupts_the_host),
	        cmocka_unit_test(a_bundle_running_out_of_memory_while_compiling_fails_cleanly),
	        cmocka_unit_test(a_bundle_file_larger_than_the_memory_limit_is_refused_naming_it),
	        cmocka_unit_test(eval_and_function_near_the_memory_limit_never_crash_the_host),
	        cmocka_unit_test(a_parse_that_needs_more_than_the_memory_limit_ends_the_call),
	        cmocka_unit_test(a_long_dependency_chain_fails_at_its_limit_not_on_the_stack),
	        cmocka_unit_test(
	                a_dependency_unloaded_during_a_dependents_init_stays_mapped_until_it_returns),
	        cmocka_unit_test(find_never_misses_a_contract_that_is_being_reloaded),
	        cmocka_unit_test(reloads_crossed_through_callbacks_never_deadlock),
	        cmocka_unit_test(reload_reason_outlives_a_failing_call_in_the_callback),
	        cmocka_unit_test(watch_stop_from_on_reload_on_the_watcher_thread_is_safe),
	        cmocka_unit_test(a_bundle_cannot_be_reloaded_or_unloaded_from_its_own_callback),
	        cmocka_unit_test(plugin_code_is_refused_rather_than_made_to_wait_for_a_busy_bundle),
	        cmocka_unit_test(a_reload_while_the_runtime_is_freed_is_refused),
	        cmocka_unit_test(a_load_while_the_runtime_is_freed_is_refused),
	        cmocka_unit_test(instance_ids_are_never_reused_across_versions),
	        cmocka_unit_test(the_value_decoding_to_no_instance_is_refused_not_the_default),
	        cmocka_unit_test(native_code_never_runs_with_an_instance_its_version_did_not_make),
	        cmocka_unit_test(
	                a_replaced_versions_instance_stays_refused_when_its_address_is_reused),
	        cmocka_unit_test(a_function_returning_the_runtimes_refusal_fails_generic),
	        cmocka_unit_test(instances_holding_instances_are_each_destroyed_once),
	        cmocka_unit_test(a_create_failing_with_the_runtimes_refusal_fails_generic),
	        cmocka_unit_test(
	                a_native_create_that_fails_gives_its_status_and_cause_and_no_instance),
	        cmocka_unit_test(a_plugin_never_gets_the_runtimes_refusal_from_a_create),
	        cmocka_unit_test(quiesce_from_a_reload_callback_is_refused_rather_than_hang),
	        cmocka_unit_test(quiesce_from_inside_a_call_or_a_teardown_is_refused),
	        cmocka_unit_test(host_table_arrays_are_freed_with_the_size_allocated),
	        cmocka_unit_test(a_failed_create_through_the_host_table_leaves_its_cause),
	        cmocka_unit_test(reload_bundle_by_path_reloads_only_the_bundle_it_names),
	        cmocka_unit_test(host_table_paths_of_path_max_bytes_are_refused_before_use),
	        cmocka_unit_test(
	                a_child_of_a_reloaded_bundle_is_not_destroyed_through_its_old_interface),
	        cmocka_unit_test(children_in_other_contracts_or_made_later_go_after_their_parent),
	        cmocka_unit_test(instances_of_a_replaced_native_version_never_reach_its_successor),
	        cmocka_unit_test(instances_of_a_replaced_js_version_never_reach_its_successor),
	        cmocka_unit_test(js_registrations_keep_their_minor_version),
	        cmocka_unit_test(sizes_from_plugins_are_bounded_before_they_reach_an_allocator),
	        cmocka_unit_test(registration_tables_count_against_the_memory_limit),
	        cmocka_unit_test(a_throwing_registration_getter_fails_the_load_with_its_cause),
	        cmocka_unit_test(the_js_init_fuzz_corpus_loads_or_fails_cleanly),
	        cmocka_unit_test(the_js_call_fuzz_corpus_keeps_what_a_call_promises_its_caller),
	        cmocka_unit_test(instance_creation_failures_reach_the_caller_with_their_cause),
	        cmocka_unit_test(structs_smaller_than_any_version_are_refused),
	        cmocka_unit_test(load_options_larger_than_any_version_are_refused),
	        cmocka_unit_test(a_host_contract_a_peer_registers_during_an_init_stays_the_peers),
	        cmocka_unit_test(a_host_registration_made_from_an_init_stays_the_hosts),
	        cmocka_unit_test(a_peer_called_from_an_init_looks_up_for_itself),
	        cmocka_unit_test(a_peer_cannot_register_guest_contracts_through_anothers_init),
	        cmocka_unit_test(host_table_calls_are_safe_from_a_thread_outside_any_call),
	        cmocka_unit_test(
	                a_struct_from_a_newer_release_is_taken_only_if_what_it_adds_is_unset),
	        cmocka_unit_test(a_struct_of_size_zero_is_read_to_its_first_version_only),
	        cmocka_unit_test(peer_calls_between_two_js_bundles_never_deadlock),
	        cmocka_unit_test(a_log_callback_calling_back_into_the_runtime_never_hangs),
	        cmocka_unit_test(
	                a_wait_closing_a_cycle_of_64_threads_is_refused_and_the_others_go_on),
	        cmocka_unit_test(a_load_whose_init_calls_a_busy_bundle_never_deadlocks),
	        cmocka_unit_test(deep_recursion_on_a_small_thread_throws_in_the_guest),
	        cmocka_unit_test(nested_vm_entries_share_the_thread_stack),
	        cmocka_unit_test(a_burst_of_retirements_is_reclaimed_with_no_one_waiting),
	        cmocka_unit_test(quiesce_is_not_held_up_by_a_long_call_in_another_runtime),
	        cmocka_unit_test(quiesce_returns_under_load_and_unload_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
