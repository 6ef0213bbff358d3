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

static bool fail_now(void)
{
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(every_failing_allocation_along_a_native_load_reload_and_unload),
	        cmocka_unit_test(every_failing_allocation_along_a_js_load_reload_and_unload),
	        cmocka_unit_test(every_failing_allocation_along_a_js_pool_load_reload_and_unload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
