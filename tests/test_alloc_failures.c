/* test_alloc_failures.c — allocation-failure injection. The runtime and
 * QuickJS (linked in statically) are built against wrapped malloc, calloc,
 * realloc and aligned_alloc (-Wl,--wrap): once armed on this thread, the Nth
 * allocation fails. QuickJS's own allocations are not failed (it does not
 * survive that: see tests/CMakeLists.txt and docs/js.md). For every N along
 * a bundle load (native, JS, and JS with a pool of 2 VMs, each from a
 * directory with a manifest), a reload and an unload, the operation either
 * succeeds or fails with a status and a message, the runtime stays usable
 * (the same operation then succeeds), and nothing leaks (LeakSanitizer, in
 * the ASan build, checks that at exit). */
#include <dlfcn.h>

#include "js_helpers.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);

static _Thread_local long countdown; /* 0: disarmed; the allocation at 1 fails */
static _Thread_local long failed;
/* A thread that marked itself starved fails every allocation past its
 * first `spared` while `starving` is set: for a thread of the runtime's,
 * which a test cannot arm (the watcher's, from an on_reload callback it
 * runs). */
static _Thread_local bool starved_here;
static _Thread_local long spared_here;
static atomic_bool starving;
static atomic_long spared;
static atomic_long starved_failures; /* allocations a starved thread was refused */

static bool fail_now(void)
{
	if (starved_here && atomic_load(&starving)) {
		if (spared_here > 0) {
			spared_here--;
			return false;
		}
		failed++;
		atomic_fetch_add(&starved_failures, 1);
		return true;
	}
	if (countdown == 0)
		return false;
	if (--countdown > 0)
		return false;
	failed++;
	return true;
}

void *__wrap_malloc(size_t n);
void *__wrap_malloc(size_t n)
{
	return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size)
{
	return fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n)
{
	return fail_now() ? NULL : __real_realloc(p, n);
}

void *__wrap_aligned_alloc(size_t align, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n)
{
	return fail_now() ? NULL : __real_aligned_alloc(align, n);
}

static void arm(long n)
{
	failed = 0;
	countdown = n;
}

static bool disarm(void) /* true if an allocation was made to fail */
{
	countdown = 0;
	return failed != 0;
}

static void native_dir(char *dir, size_t cap)
{
	char so[512];
	temp_dir(dir, cap);
	snprintf(so, sizeof so, "%s/libcalc.so", dir);
	copy_file(fx("calc_v1"), so);
	write_text(dir, "manifest.toml",
	           "name = \"calc\"\nversion = \"1.0.0\"\nloader = \"native\"\n"
	           "file = \"libcalc.so\"\nprovides = [\"test.calc@1\"]\n"
	           "function_count = { \"test.calc@1\" = 4 }\n");
}

/* A JS bundle of `vms` VMs. */
static void js_dir(char *dir, size_t cap, int vms)
{
	js_write_dir(
	        dir, cap,
	        JS_ONE("test.js", "function (i, a, o, ar, b) { b.writeI32(o, 7); return 0; }"));
	char manifest[256];
	snprintf(manifest, sizeof manifest,
	         "name = \"jsb\"\nversion = \"1.0.0\"\nprovides = [\"test.js@1\"]\n"
	         "function_count = { \"test.js@1\" = 1 }\nconcurrency = %d\n",
	         vms);
	write_text(dir, "manifest.toml", manifest);
}

/* Checks a status from a run with an injected failure. */
static void clear_outcome(pp_runtime *rt, pp_status st, long n)
{
	if (st == PP_OK)
		return;
	const char *why = pp_last_error(rt);
	if (st != PP_ERR_OUT_OF_MEMORY && !*why)
		fail_msg("allocation %ld failing gave status %u with no message", n, st);
}

static int32_t answer(pp_runtime *rt, const char *contract)
{
	int32_t out = -1;
	pair p = {40, 2};
	uint32_t st = js_call(rt, contract, 0, &p, &out);
	return st == PP_OK ? out : -(int32_t)st;
}

typedef enum { LOAD, RELOAD, UNLOAD } op;

static void has_its_manifest(void *ud, const pp_bundle_info *info)
{
	if (!info->version || strcmp(info->version, "1.0.0") != 0)
		fail_msg("allocation %ld failing: bundle '%s' lost its manifest", *(long *)ud,
		         info->name);
}

/* Runs `what` on a fresh runtime with the Nth allocation failing, for N =
 * 1, 2, ... until a run needs fewer allocations than N. Returns how many. */
static long every_failure(const char *path, const char *contract, int32_t expect, op what)
{
	long n;
	for (n = 1;; n++) {
		pp_runtime *rt = rt_new();
		uint64_t id = 0;
		if (what != LOAD)
			id = load_ok(rt, path);
		arm(n);
		pp_status st = what == LOAD     ? pp_bundle_load(rt, path, NULL, &id)
		               : what == RELOAD ? pp_bundle_reload(rt, id)
		                                : pp_bundle_unload(rt, id, 0);
		bool injected = disarm();
		clear_outcome(rt, st, n);
		/* whatever happened, the runtime is usable: the operation works now */
		if (what == LOAD && st != PP_OK)
			assert_int_equal(pp_bundle_load(rt, path, NULL, &id), PP_OK);
		if (what == RELOAD && st != PP_OK)
			assert_int_equal(pp_bundle_reload(rt, id), PP_OK);
		if (what == UNLOAD) {
			if (st != PP_OK)
				assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
			assert_int_equal(pp_bundle_load(rt, path, NULL, &id), PP_OK);
		}
		assert_int_equal(answer(rt, contract), expect);
		pp_bundle_foreach(rt, has_its_manifest, &n);
		pp_runtime_free(rt);
		if (!injected)
			return n;
	}
}

/* Every N along a load, a reload and an unload of the bundle in dir. */
static void every_failure_of(const char *what, const char *dir, const char *contract,
                             int32_t expect)
{
	long load = every_failure(dir, contract, expect, LOAD);
	long reload = every_failure(dir, contract, expect, RELOAD);
	long unload = every_failure(dir, contract, expect, UNLOAD);
	print_message("%s: %ld, %ld and %ld allocations tried\n", what, load, reload, unload);
	assert_true(load > 5 && reload > 5); /* the runtime's and the loader's own */
}

static void every_failing_allocation_along_a_native_load_reload_and_unload(void **state)
{
	(void)state;
	char dir[256];
	native_dir(dir, sizeof dir);
	every_failure_of("native", dir, "test.calc", 42);
	remove_tree(dir);
}

static void every_failing_allocation_along_a_js_load_reload_and_unload(void **state)
{
	(void)state;
	char dir[256];
	js_dir(dir, sizeof dir, 1);
	every_failure_of("js", dir, "test.js", 7);
	remove_tree(dir);
}

/* A failure while the second VM is made leaves the first made and the
 * second not: both must be freed, the one by its parts, the other not at
 * all. */
static void every_failing_allocation_along_a_js_pool_load_reload_and_unload(void **state)
{
	(void)state;
	char dir[256];
	js_dir(dir, sizeof dir, 2);
	every_failure_of("js pool", dir, "test.js", 7);
	remove_tree(dir);
}

/* "A native call allocates nothing once its thread has called into the
 * runtime before" (runtime.md "Calls"): with every allocation failing after
 * one call, calls through pp_call, inline and exported, on the default
 * instance and on one made before, all succeed and try to allocate nothing. */
static void a_native_call_allocates_nothing_after_its_threads_first(void **state)
{
	(void)state;
	char dir[256];
	native_dir(dir, sizeof dir);
	pp_runtime *rt = rt_new();
	load_ok(rt, dir);
	assert_int_equal(answer(rt, "test.calc"), 42); /* the thread's first call */
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.calc", 1), 1);
	pp_guest_contract_instance none = {NULL, 0}, made;
	assert_int_equal(pp_instance_create(rt, h, NULL, &made), PP_OK);
	pair p = {40, 2};
	arm(1);
	for (int i = 0; i < 1000; i++) {
		int32_t out = 0;
		pp_guest_contract_instance on = i % 2 ? made : none;
		uint32_t st = i % 3 ? pp_call(rt, h, on, 0, &p, &out, NULL)
		                    : (pp_call)(rt, h, on, 0, &p, &out, NULL);
		if (st != PP_OK || out != 42) {
			disarm();
			fail_msg("call %d: status %u, out %d", i, st, out);
		}
	}
	assert_false(disarm());
	assert_int_equal(pp_instance_destroy(rt, h, made), PP_OK);
	pp_runtime_free(rt);
	remove_tree(dir);
}

/* An ES module pool whose load imports two files and fails to import a
 * third: the first VM keeps what it read, and why it could not read, for
 * the second (js_modules.c), and a failure anywhere along it frees what
 * was kept. */
static void every_failing_allocation_along_a_js_pool_load_that_imports(void **state)
{
	(void)state;
	char dir[256];
	js_write_dir(dir, sizeof dir,
	             "import { seven } from './a.js';\n" JS_PRELUDE
	             "try { await import('./none.js'); } catch (e) {}\n"
	             "export function polyplug_init() {\n"
	             "  return ok([reg('test.js', [function (i, a, o, ar, b) {\n"
	             "    b.writeI32(o, seven()); return 0; }])]);\n}\n");
	write_text(dir, "a.js",
	           "import { three } from './b.js';\n"
	           "export function seven() { return three + 4; }\n");
	write_text(dir, "b.js", "export const three = 3;\n");
	write_text(dir, "manifest.toml",
	           "name = \"jsm\"\nversion = \"1.0.0\"\nprovides = [\"test.js@1\"]\n"
	           "concurrency = 2\n");
	every_failure_of("js pool with imports", dir, "test.js", 7);
	remove_tree(dir);
}

/* A guarded bundle whose call allocates through the bridge, frees, calls a
 * typed peer for a string twice (taking it once, leaving it once: the
 * loader frees that one) and makes an instance of a native contract
 * through the host table: every allocation along it may fail. */
static const char guarded_caller[] = JS_PRELUDE
        "function regl(name, fns, layouts) {\n"
        "  var r = reg(name, fns); r.interface.layouts = layouts; return r;\n}\n"
        "function at(p) { if (!p[0] && !p[1]) throw new Error('no memory'); /* as C's NULL */\n"
        "  return p[1] * 4294967296 + p[0]; }\n"
        "function polyplug_init() {\n"
        "  var id = cid('guest_contract:test.text@1');\n"
        "  var fns = [function (i, a, o, ar, b) {\n"
        "    var p = b.alloc(64); b.writeI32(at(p), 5); b.free(p[0], p[1], 64, 1);\n"
        "    var out = at(b.alloc(16));\n"
        "    var rc = b.dispatchPeer(id[0], id[1], 1, 0, 0, out, [0]); if (rc) return rc;\n"
        "    var len = b.readU32(out + 8);\n"
        "    b.free(b.readU32(out), b.readU32(out + 4), len, 1);\n"
        "    rc = b.dispatchPeer(id[0], id[1], 1, 0, 0, out); if (rc) return rc;\n"
        "    b.writeI32(o, len); return 0; }];\n"
        "  return ok([regl('test.guard', fns, [{ args: 8, out: 4 }])]);\n}\n";

/* The peer, in a VM of its own. */
static const char typed_peer[] =
        JS_PRELUDE "function polyplug_init() {\n"
                   "  var text = reg('test.text', [function () { return 'typed bytes'; }]);\n"
                   "  text.interface.signatures = [{ params: [], result: 'StringView' }];\n"
                   "  return ok([text]);\n}\n";

static void every_failing_allocation_along_a_guarded_call(void **state)
{
	(void)state;
	long n;
	for (n = 1;; n++) {
		pp_runtime *rt = rt_new();
		js_load_ok(rt, "guarded", guarded_caller);
		js_load_ok(rt, "peer", typed_peer);
		load_ok(rt, fx("calc_v1"));
		pp_guest_contract_handle calc =
		        pp_find(rt, pp_guest_contract_id("test.calc", 1), 0);
		arm(n);
		int32_t out = -1;
		pair p = {1, 2};
		uint32_t st = js_call(rt, "test.guard", 0, &p, &out);
		pp_guest_contract_instance inst = {NULL, 0};
		pp_status made = st == PP_OK ? pp_instance_create(rt, calc, NULL, &inst) : PP_OK;
		bool injected = disarm();
		clear_outcome(rt, st, n);
		clear_outcome(rt, made, n);
		bool no_memory = st == PP_ERR_OUT_OF_MEMORY ||
		                 (st == PP_ERR_GENERIC && strstr(pp_last_error(rt), "no memory"));
		if (st != PP_OK && !no_memory)
			fail_msg("allocation %ld failing: status %u, %s", n, st, pp_last_error(rt));
		if (inst.data)
			assert_int_equal(pp_instance_destroy(rt, calc, inst), PP_OK);
		/* the runtime and the bundle are as usable as before */
		st = js_call(rt, "test.guard", 0, &p, &out);
		if (st != PP_OK || out != 11)
			fail_msg("after allocation %ld failed: status %u, %d, %s", n, st, out,
			         pp_last_error(rt));
		pp_runtime_free(rt);
		if (!injected)
			break;
	}
	print_message("guarded call: %ld allocations tried\n", n);
	assert_true(n > 3);
}

/* A JS instance made through every allocation its create makes outside
 * QuickJS (the loader's map and its room for a destroy left for later, the
 * runtime's set): each failing fails the create with a status and a
 * message and leaves no instance; the next create, call and destroy work. */
static void every_failing_allocation_along_a_js_instance_create(void **state)
{
	(void)state;
	static const char made[] =
	        JS_PRELUDE "function polyplug_init() {\n"
	                   "  var r = reg('test.made', [function (i, a, o, ar, b) {\n"
	                   "    b.writeI32(o, ++i.n); return 0; }]);\n"
	                   "  r.interface.factory = function () { return { n: 0 }; };\n"
	                   "  return ok([r]);\n}\n";
	long n;
	for (n = 1;; n++) {
		pp_runtime *rt = rt_new();
		js_load_ok(rt, "made", made);
		pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.made", 1), 0);
		pp_guest_contract_instance inst = {NULL, 0};
		arm(n);
		pp_status st = pp_instance_create(rt, h, NULL, &inst);
		bool injected = disarm();
		clear_outcome(rt, st, n);
		if (st != PP_OK && (st != PP_ERR_OUT_OF_MEMORY || inst.data))
			fail_msg("allocation %ld failing: status %u, %p, %s", n, st, inst.data,
			         pp_last_error(rt));
		if (st == PP_OK)
			assert_int_equal(pp_instance_destroy(rt, h, inst), PP_OK);
		int32_t out = 0;
		assert_int_equal(pp_instance_create(rt, h, NULL, &inst), PP_OK);
		assert_int_equal(pp_call(rt, h, inst, 0, NULL, &out, NULL), PP_OK);
		assert_int_equal(out, 1);
		assert_int_equal(pp_instance_destroy(rt, h, inst), PP_OK);
		pp_runtime_free(rt);
		if (!injected)
			break;
	}
	print_message("JS instance create: %ld allocations tried\n", n);
	assert_true(n > 2);
}

/* A bundle claiming more than the host's callers pass is refused at load
 * whichever allocation fails: the copy of the host's layouts failing must
 * not read as "the host declared none" (it did, once). */
static void no_failing_allocation_lets_a_bundle_past_the_hosts_layouts(void **state)
{
	(void)state;
	static const char liar[] =
	        JS_PRELUDE "function polyplug_init() {\n"
	                   "  var r = reg('test.liar', [function () { return 0; }]);\n"
	                   "  r.interface.layouts = [{ args: 8, out: 4096 }];\n"
	                   "  return ok([r]);\n}\n";
	static const pp_fn_layout host[] = {{8, 4, PP_LAYOUT_NO_ARENA, 0, NULL}};
	uint64_t id = pp_guest_contract_id("test.liar", 1);
	long n;
	for (n = 1;; n++) {
		pp_runtime *rt = rt_new();
		assert_int_equal(pp_contract_declare_layouts(rt, id, host, 1), PP_OK);
		arm(n);
		pp_status st = js_load_src(rt, "liar", liar, NULL);
		bool injected = disarm();
		if (st == PP_OK)
			fail_msg("allocation %ld failing let the bundle load", n);
		clear_outcome(rt, st, n);
		assert_int_equal(js_load_src(rt, "liar", liar, NULL), PP_ERR_LOAD_FAILED);
		assert_contains(pp_last_error(rt), "the host's callers pass 8 and 4");
		pp_runtime_free(rt);
		if (!injected)
			break;
	}
	print_message("refused liar: %ld allocations tried\n", n);
}

static void count_bundle(void *ud, const pp_bundle_info *info)
{
	(void)info;
	++*(int *)ud;
}

/* A cascade over a chain a <- b <- c, every allocation failing in turn:
 * it takes all three or (out of memory) none, and then works. */
typedef struct phases {
	int n[5];
} phases;

static void count_phase(void *ud, uint64_t id, const char *name, uint32_t phase, const char *reason)
{
	(void)id;
	(void)name;
	(void)reason;
	if (phase < 5)
		((phases *)ud)->n[phase]++;
}

static void every_failing_allocation_along_a_cascading_unload(void **state)
{
	(void)state;
	char dirs[3][256];
	static const char *const names[] = {"a", "b", "c"}, *const contracts[] = {"t.A", "t.B",
	                                                                          "t.C"};
	for (int i = 0; i < 3; i++) {
		char src[1024], manifest[256];
		snprintf(src, sizeof src,
		         JS_ONE("%s", "function (i, a, o, ar, b) { b.writeI32(o, 7); return 0; }"),
		         contracts[i]);
		js_write_dir(dirs[i], sizeof dirs[i], src);
		int n = snprintf(manifest, sizeof manifest,
		                 "name = \"%s\"\nprovides = [\"%s@1\"]\n", names[i], contracts[i]);
		if (i > 0)
			snprintf(manifest + n, sizeof manifest - (size_t)n,
			         "[[dependency]]\ncontract = \"%s@1\"\n", contracts[i - 1]);
		write_text(dirs[i], "manifest.toml", manifest);
	}
	long n;
	for (n = 1;; n++) {
		phases seen = {0};
		log_capture lc = {.lock = PTHREAD_MUTEX_INITIALIZER};
		pp_runtime *rt = rt_with(&lc, PP_LOG_ERROR, count_phase, &seen);
		for (int i = 0; i < 3; i++)
			load_ok(rt, dirs[i]);
		arm(n);
		pp_status st = pp_bundle_unload(rt, pp_bundle_id("a"), PP_UNLOAD_CASCADE);
		bool injected = disarm();
		clear_outcome(rt, st, n);
		/* every bundle told UNLOADING is gone, or hears it stays */
		if (st != PP_OK && seen.n[PP_RELOAD_FAILED] != seen.n[PP_RELOAD_UNLOADING])
			fail_msg("allocation %ld failing: %d UNLOADING, %d FAILED", n,
			         seen.n[PP_RELOAD_UNLOADING], seen.n[PP_RELOAD_FAILED]);
		int left = 0;
		pp_bundle_foreach(rt, count_bundle, &left);
		if (st == PP_OK)
			assert_int_equal(left, 0);
		else if (left != 3)
			fail_msg("allocation %ld failing: %d of 3 bundles left", n, left);
		if (st != PP_OK) {
			assert_int_equal(answer(rt, "t.C"), 7);
			assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("a"), PP_UNLOAD_CASCADE),
			                 PP_OK);
		}
		pp_runtime_free(rt);
		if (!injected)
			break;
	}
	print_message("cascading unload: %ld allocations tried\n", n);
	assert_true(n > 3);
	for (int i = 0; i < 3; i++)
		remove_tree(dirs[i]);
}

typedef struct bundle_ids {
	uint64_t id[8];
	int n;
} bundle_ids;

/* Collects the ids of the bundles loaded, each under its manifest's name
 * (a bundle loaded without its manifest has its directory's). */
static void collect_id(void *ud, const pp_bundle_info *info)
{
	bundle_ids *ids = ud;
	if (ids->n < 8)
		ids->id[ids->n++] = info->id;
	if (strlen(info->name) != 1 && strcmp(info->name, "4-plain") != 0)
		fail_msg("bundle '%s' loaded without its manifest", info->name);
}

/* A plugins directory of a chain c -> b -> a (manifests naming them) and a
 * bundle without one, loaded by pp_bundle_load_dir with every allocation failing in
 * turn: it loads all four, or fails with a message having loaded only
 * bundles whose needs are met; with those unloaded, it loads all four. */
static void every_failing_allocation_along_a_plugins_directory_load(void **state)
{
	(void)state;
	char root[256], dir[512];
	temp_dir(root, sizeof root);
	static const char *const dirs[] = {"3-a", "2-b", "1-c", "4-plain"},
	                         *const names[] = {"a", "b", "c", NULL},
	                         *const contracts[] = {"t.A", "t.B", "t.C", "t.P"};
	for (int i = 0; i < 4; i++) {
		char src[1024], manifest[256];
		snprintf(dir, sizeof dir, "%s/%s", root, dirs[i]);
		assert_int_equal(mkdir(dir, 0700), 0);
		snprintf(src, sizeof src,
		         JS_ONE("%s", "function (i, a, o, ar, b) { b.writeI32(o, 7); return 0; }"),
		         contracts[i]);
		write_text(dir, "bundle.js", src);
		if (!names[i])
			continue;
		int n = snprintf(manifest, sizeof manifest,
		                 "name = \"%s\"\nprovides = [\"%s@1\"]\n", names[i], contracts[i]);
		if (i > 0)
			snprintf(manifest + n, sizeof manifest - (size_t)n,
			         "[[dependency]]\ncontract = \"%s@1\"\n", contracts[i - 1]);
		write_text(dir, "manifest.toml", manifest);
	}
	long n;
	for (n = 1;; n++) {
		log_capture lc = {.lock = PTHREAD_MUTEX_INITIALIZER};
		pp_runtime *rt = rt_with(&lc, PP_LOG_ERROR, NULL, NULL);
		size_t loaded = 0;
		arm(n);
		pp_status st = pp_bundle_load_dir(rt, root, NULL, NULL, &loaded);
		bool injected = disarm();
		clear_outcome(rt, st, n);
		bundle_ids ids = {.n = 0};
		pp_bundle_foreach(rt, collect_id, &ids);
		assert_int_equal((size_t)ids.n, loaded);
		if (st == PP_OK)
			assert_int_equal(loaded, 4);
		/* what loaded works: c only with b, b only with a */
		if (answer(rt, "t.C") == 7)
			assert_int_equal(answer(rt, "t.B"), 7);
		if (answer(rt, "t.B") == 7)
			assert_int_equal(answer(rt, "t.A"), 7);
		for (int i = ids.n; i-- > 0;)
			assert_int_equal(
			        pp_bundle_unload(rt, ids.id[i], PP_UNLOAD_CASCADE) == PP_OK ||
			                pp_bundle_unload(rt, ids.id[i], 0) == PP_ERR_NOT_FOUND,
			        1);
		assert_int_equal(pp_bundle_load_dir(rt, root, NULL, NULL, &loaded), PP_OK);
		assert_int_equal(loaded, 4);
		assert_int_equal(answer(rt, "t.C"), 7);
		pp_runtime_free(rt);
		if (!injected)
			break;
	}
	print_message("plugins directory load: %ld allocations tried\n", n);
	assert_true(n > 20);
	remove_tree(root);
}

static bool reloaded(event_log *e, const char *what)
{
	pthread_mutex_lock(&e->lock);
	bool seen = strstr(e->log, what) != NULL;
	pthread_mutex_unlock(&e->lock);
	return seen;
}

/* pp_watch_start builds its watches on the caller's thread (a plugins
 * directory, its bundles, their subdirectories): with every allocation
 * failing in turn it starts, or fails with a status and a message and then
 * starts; once started, it watches everything (a change in a bundle's
 * subdirectory reloads it), and nothing leaks. */
static void every_failing_allocation_along_a_watch_start(void **state)
{
	(void)state;
	char root[256], dir[512], lib[600];
	temp_dir(root, sizeof root);
	static const char *const names[] = {"a", "b"};
	for (int i = 0; i < 2; i++) {
		char src[1024];
		snprintf(dir, sizeof dir, "%s/%s", root, names[i]);
		assert_int_equal(mkdir(dir, 0700), 0);
		snprintf(lib, sizeof lib, "%s/lib", dir);
		assert_int_equal(mkdir(lib, 0700), 0);
		snprintf(src, sizeof src,
		         JS_ONE("t.W%d",
		                "function (i, a, o, ar, b) { b.writeI32(o, 7); return 0; }"),
		         i);
		write_text(dir, "bundle.js", src);
	}
	long n;
	for (n = 1;; n++) {
		event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
		log_capture lc = {.lock = PTHREAD_MUTEX_INITIALIZER};
		pp_runtime *rt = rt_with(&lc, PP_LOG_ERROR, record_event, &ev);
		size_t loaded = 0;
		assert_int_equal(pp_bundle_load_dir(rt, root, NULL, NULL, &loaded), PP_OK);
		assert_int_equal(loaded, 2);
		arm(n);
		pp_status st = pp_watch_start(rt, 10);
		bool injected = disarm();
		clear_outcome(rt, st, n);
		if (st != PP_OK)
			assert_int_equal(pp_watch_start(rt, 10), PP_OK);
		for (int i = 0; i < 2; i++) {
			char what[32];
			snprintf(lib, sizeof lib, "%s/%s/lib", root, names[i]);
			write_text(lib, "x.js", "x");
			snprintf(what, sizeof what, "reloaded:%s ", names[i]);
			for (int ms = 0; !reloaded(&ev, what); ms++) {
				if (ms == 20000)
					fail_msg("allocation %ld failing (pp_watch_start: %u): a "
					         "change "
					         "in %s did not reload it",
					         n, st, lib);
				struct timespec one = {0, 1000000L};
				nanosleep(&one, NULL);
			}
		}
		pp_watch_stop(rt);
		pp_runtime_free(rt);
		if (!injected)
			break;
	}
	print_message("watch start: %ld allocations tried\n", n);
	assert_true(n > 10);
	remove_tree(root);
}

/* Marks the watcher's thread starved once it has reloaded a bundle (the
 * thread running on_reload for a reload the watcher made), and records the
 * events. */
static void starve_after_reload(void *ud, uint64_t id, const char *name, uint32_t phase,
                                const char *why)
{
	record_event(ud, id, name, phase, why);
	if (phase == PP_RELOAD_RELOADED && atomic_load(&starving) && !starved_here) {
		starved_here = true;
		spared_here = atomic_load(&spared);
	}
}

/* Whether a log record has named `want` (recorded without allocating: the
 * thread logging may be starved). */
typedef struct log_watch {
	char want[600];
	atomic_bool seen;
} log_watch;

static void watch_log(void *ud, uint32_t level, pp_string_view scope, pp_string_view msg)
{
	(void)scope;
	log_watch *lw = ud;
	char text[1024];
	snprintf(text, sizeof text, "%.*s", (int)msg.len, (const char *)msg.ptr);
	if (level == PP_LOG_WARN && strstr(text, lw->want))
		atomic_store(&lw->seen, true);
}

static const char *const js_answer = "function (i, a, o, ar, b) { b.writeI32(o, %d); return 0; }";

/* Writes a one-contract JS bundle answering value at dir/bundle.js, as a save. */
static void save_answer(const char *dir, const char *contract, int value)
{
	char body[128], src[1024];
	snprintf(body, sizeof body, js_answer, value);
	snprintf(src, sizeof src, JS_ONE("%s", "%s"), contract, body);
	save_text(dir, "bundle.js", src);
}

/* Saves contract's bundle at dir answering value until it does (a save
 * before the watch set is whole again is not seen): at most 20 s. */
static bool saved_until_answered(pp_runtime *rt, const char *dir, const char *contract, int value)
{
	for (int i = 0; i < 80 && answer(rt, contract) != value; i++) {
		save_answer(dir, contract, value);
		usleep(250 * 1000);
	}
	return answer(rt, contract) == value;
}

/* A runtime watching plugins directory root, which holds bundle a (t.A, 7),
 * logging warnings to lw and reloads to ev; its watcher's thread is starved
 * past n allocations once it has reloaded a, which a save makes it do. */
static pp_runtime *starved_watcher(const char *root, long n, event_log *ev, log_watch *lw)
{
	char dir[512];
	snprintf(dir, sizeof dir, "%s/a", root);
	assert_int_equal(mkdir(dir, 0700), 0);
	save_answer(dir, "t.A", 7);
	pp_runtime *rt = rt_configured(watch_log, lw, PP_LOG_WARN, starve_after_reload, ev);
	size_t loaded = 0;
	assert_int_equal(pp_bundle_load_dir(rt, root, NULL, NULL, &loaded), PP_OK);
	assert_int_equal(loaded, 1);
	assert_int_equal(pp_watch_start(rt, 10), PP_OK);
	atomic_store(&spared, n);
	atomic_store(&starving, true);
	save_answer(dir, "t.A", 8);
	await_true(reloaded(ev, "reloaded:a "), 20);
	return rt;
}

/* A bundle directory b arrives in a watched plugins directory while the
 * watcher's own thread cannot allocate past `n` allocations (0 to 4: each
 * of the arrival's allocations fails in turn: its path, the arrivals'
 * array, the set of arriving paths). Expects a warning naming it, then,
 * memory back (and, with `nudge`, a load making the watcher rebuild its
 * set), b loaded. */
static void lose_an_arrival(long n, bool nudge)
{
	char root[256], dir[512], made[256], spare[256] = "", src[1024], body[128];
	temp_dir(root, sizeof root);
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	log_watch lw = {.seen = false}; /* named before the watcher's thread reads it */
	snprintf(lw.want, sizeof lw.want, "'%s/b'", root);
	pp_runtime *rt = starved_watcher(root, n, &ev, &lw);
	/* b arrives whole (made elsewhere, then moved in) */
	snprintf(body, sizeof body, js_answer, 7);
	snprintf(src, sizeof src, JS_ONE("t.B", "%s"), body);
	js_write_dir(made, sizeof made, src);
	snprintf(dir, sizeof dir, "%s/b", root);
	assert_int_equal(rename(made, dir), 0);
	await_true(atomic_load(&lw.seen), 20);
	atomic_store(&starving, false);

	if (nudge) {
		snprintf(src, sizeof src, JS_ONE("t.S", "%s"), body);
		js_write_dir(spare, sizeof spare, src);
		assert_int_equal(pp_bundle_load(rt, spare, NULL, NULL), PP_OK);
	}
	await_true(answer(rt, "t.B") == 7, 20);
	pp_watch_stop(rt);
	pp_runtime_free(rt);
	remove_tree(root);
	if (*spare)
		remove_tree(spare);
}

/* An arrival the watcher's thread cannot record for lack of memory is not
 * silently dropped: a warning names it, and the next listing of its plugins
 * directory (here the rebuild after a load) finds and loads it. */
static void an_arrival_the_watcher_cannot_record_is_logged(void **state)
{
	(void)state;
	for (long n = 0; n < 5; n++)
		lose_an_arrival(n, true);
}

/* Nor does it wait for something else to make the watcher list its plugins
 * directory again (a load, an unload, a new subdirectory): the watcher
 * lists it again on its own, soon, then less often while memory stays
 * short, and loads the bundle once memory is back. */
static void an_arrival_lost_for_memory_is_loaded_once_memory_is_back(void **state)
{
	(void)state;
	for (long n = 0; n < 5; n++)
		lose_an_arrival(n, false);
}

/* A rebuild of the watch set on the watcher's own thread that runs out of
 * memory (here listing the bundles, after a load) leaves the set short: a
 * warning says so, and once memory is back the watcher rebuilds it on its
 * own, so a save in a bundle it left out reloads it again. */
static void a_watch_set_left_short_for_memory_is_rebuilt_once_memory_is_back(void **state)
{
	(void)state;
	char root[256], dir[512], spare[256], src[1024], body[128];
	temp_dir(root, sizeof root);
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	log_watch lw = {.seen = false};
	snprintf(lw.want, sizeof lw.want, "'the loaded bundles'");
	pp_runtime *rt = starved_watcher(root, 0, &ev, &lw);
	snprintf(body, sizeof body, js_answer, 7);
	snprintf(src, sizeof src, JS_ONE("t.S", "%s"), body);
	js_write_dir(spare, sizeof spare, src);
	assert_int_equal(pp_bundle_load(rt, spare, NULL, NULL), PP_OK); /* a rebuild */
	await_true(atomic_load(&lw.seen), 20);
	atomic_store(&starving, false);
	snprintf(dir, sizeof dir, "%s/a", root);
	assert_true(saved_until_answered(rt, dir, "t.A", 9));
	pp_watch_stop(rt);
	pp_runtime_free(rt);
	remove_tree(root);
	remove_tree(spare);
}

/* Every allocation of a rebuild on the watcher's own thread failing in
 * turn (and every one after it: the thread stays starved until the test
 * feeds it): whatever the rebuild left of the set, the watcher keeps
 * running, never looks at a half-made entry, and once memory is back a save
 * in each bundle reloads it. */
static void every_failing_allocation_along_a_watcher_rebuild(void **state)
{
	(void)state;
	long n = 1; /* 0 is the test above */
	for (;; n++) {
		char root[256], dir[512], spare[256], src[1024], body[128];
		temp_dir(root, sizeof root);
		event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
		log_watch lw = {.seen = false};
		atomic_store(&starved_failures, 0);
		pp_runtime *rt = starved_watcher(root, n, &ev, &lw);
		snprintf(body, sizeof body, js_answer, 7);
		snprintf(src, sizeof src, JS_ONE("t.S", "%s"), body);
		js_write_dir(spare, sizeof spare, src);
		assert_int_equal(pp_bundle_load(rt, spare, NULL, NULL), PP_OK); /* a rebuild */
		/* the rebuild comes within a quarter of a second of the load (3 s
		 * on a loaded machine: none refused by then ends the loop) */
		for (int i = 0; i < 300 && atomic_load(&starved_failures) == 0; i++)
			usleep(10 * 1000);
		atomic_store(&starving, false);
		bool refused = atomic_load(&starved_failures) > 0;
		snprintf(dir, sizeof dir, "%s/a", root);
		if (!saved_until_answered(rt, dir, "t.A", 9) ||
		    !saved_until_answered(rt, spare, "t.S", 3))
			fail_msg("allocation %ld of the rebuild failing: a save was never reloaded",
			         n);
		pp_watch_stop(rt);
		pp_runtime_free(rt);
		remove_tree(root);
		remove_tree(spare);
		if (!refused)
			break;
	}
	print_message("watcher rebuild: %ld allocations tried\n", n);
	assert_true(n > 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(every_failing_allocation_along_a_native_load_reload_and_unload),
	        cmocka_unit_test(every_failing_allocation_along_a_watch_start),
	        cmocka_unit_test(an_arrival_the_watcher_cannot_record_is_logged),
	        cmocka_unit_test(an_arrival_lost_for_memory_is_loaded_once_memory_is_back),
	        cmocka_unit_test(a_watch_set_left_short_for_memory_is_rebuilt_once_memory_is_back),
	        cmocka_unit_test(every_failing_allocation_along_a_watcher_rebuild),
	        cmocka_unit_test(every_failing_allocation_along_a_js_load_reload_and_unload),
	        cmocka_unit_test(every_failing_allocation_along_a_js_pool_load_reload_and_unload),
	        cmocka_unit_test(every_failing_allocation_along_a_js_pool_load_that_imports),
	        cmocka_unit_test(a_native_call_allocates_nothing_after_its_threads_first),
	        cmocka_unit_test(every_failing_allocation_along_a_guarded_call),
	        cmocka_unit_test(every_failing_allocation_along_a_js_instance_create),
	        cmocka_unit_test(no_failing_allocation_lets_a_bundle_past_the_hosts_layouts),
	        cmocka_unit_test(every_failing_allocation_along_a_cascading_unload),
	        cmocka_unit_test(every_failing_allocation_along_a_plugins_directory_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
