/* test_native_loader.c — loading shared-library bundles, and every way a load
 * can fail leaving the runtime as it was. */
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

static void assert_untouched(pp_runtime *rt)
{
	pp_stats st;
	pp_runtime_stats(rt, &st);
	assert_int_equal(st.bundles, 0);
	assert_int_equal(st.contracts, 0);
	/* and still fully usable */
	uint64_t id = load_ok(rt, fx("calc_v1"));
	assert_int_equal(calc_add(rt, 40, 2), 42);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
}

static void good_bundle_loads_and_answers(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	uint64_t id = load_ok(rt, fx("calc_v1"));
	assert_true(id == pp_bundle_id("calc_v1")); /* named after the file */
	assert_int_equal(calc_add(rt, 2, 3), 5);
	assert_int_equal(calc_add(rt, -7, 3), -4);
	const pp_guest_contract_interface *i =
	        pp_resolve(rt, pp_find(rt, pp_guest_contract_id("test.calc", 1), 0));
	assert_non_null(i);
	assert_int_equal(i->dispatch_type, PP_DISPATCH_NATIVE);
	assert_int_equal(i->dispatch.native.function_count, 4);
	assert_int_equal(i->contract_version.minor, 2);
	pp_runtime_free(rt);
}

static void init_failure_names_bundle_and_cause(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	assert_int_equal(pp_bundle_load(rt, fx("broken_init_fail"), NULL, NULL),
	                 PP_ERR_INIT_FAILED);
	const char *e = pp_last_error(rt);
	assert_contains(e, "bundle 'broken_init_fail'");
	assert_contains(e, "broken_init_fail.so");
	assert_contains(e, "code 42");
	assert_contains(e, "no config file found");
	/* it registered before failing: nothing of it may be visible */
	assert_true(pp_handle_is_null(pp_find(rt, pp_guest_contract_id("test.broken", 1), 0)));
	assert_untouched(rt);
	pp_runtime_free(rt);
}

static void wrong_abi_version_is_refused(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	assert_int_equal(pp_bundle_load(rt, fx("broken_wrong_abi"), NULL, NULL),
	                 PP_ERR_ABI_MISMATCH);
	assert_contains(pp_last_error(rt), "broken_wrong_abi");
	char want[64];
	snprintf(want, sizeof want, "built for ABI version %u", PP_ABI_VERSION + 1);
	assert_contains(pp_last_error(rt), want);
	/* one built against ABI 1 (whose interfaces had no size) is refused too */
	assert_int_equal(pp_bundle_load(rt, fx("broken_abi_1"), NULL, NULL), PP_ERR_ABI_MISMATCH);
	assert_contains(pp_last_error(rt), "built for ABI version 1");
	assert_untouched(rt);
	pp_runtime_free(rt);
}

static void missing_init_symbol_is_named(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	assert_int_equal(pp_bundle_load(rt, fx("broken_no_init"), NULL, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "missing symbol polyplug_init");
	assert_contains(pp_last_error(rt), "broken_no_init");
	assert_untouched(rt);
	pp_runtime_free(rt);
}

/* runtime.md, "Native symbols": opened RTLD_NOW, a library whose symbol
 * resolves nowhere fails its load, naming the symbol, before its init. */
static void a_library_with_an_undefined_symbol_fails_to_load_naming_it(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	assert_int_equal(pp_bundle_load(rt, fx("broken_undefined_symbol"), NULL, NULL),
	                 PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "broken_undefined_symbol");
	assert_contains(pp_last_error(rt), "pp_fixture_defined_nowhere");
	assert_untouched(rt);
	pp_runtime_free(rt);
}

/* Opened RTLD_LOCAL: two bundles exporting a function of one name each call
 * their own (in the global scope, the second would call the first's). */
static void a_bundles_exported_symbols_never_serve_another_bundle(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	uint64_t one = load_ok(rt, fx("interpose_1"));
	uint64_t two = load_ok(rt, fx("interpose_2"));
	pp_guest_contract_handle h[2];
	uint64_t id = pp_guest_contract_id("test.interpose", 1);
	assert_int_equal(pp_find_all(rt, id, 0, h, 2), 2);
	int32_t seen = 0;
	for (int i = 0; i < 2; i++) {
		const pp_guest_contract_interface *f = pp_resolve(rt, h[i]);
		assert_non_null(f);
		int32_t out = 0;
		pp_abi_error err = {0};
		((pp_native_guest_fn)f->dispatch.native.functions[0])(
		        (pp_guest_contract_instance){0}, NULL, &out, &err);
		assert_int_equal(err.code, 0);
		seen |= 1 << out;
	}
	assert_int_equal(seen, (1 << 1) | (1 << 2));
	assert_int_equal(pp_bundle_unload(rt, two, 0), PP_OK);
	assert_int_equal(pp_bundle_unload(rt, one, 0), PP_OK);
	pp_runtime_free(rt);
}

static void bundle_that_registers_nothing_is_refused(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	assert_int_equal(pp_bundle_load(rt, fx("broken_nothing"), NULL, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "registered no contracts");
	assert_contains(pp_last_error(rt), "broken_nothing");
	assert_untouched(rt);
	pp_runtime_free(rt);
}

/* README: a plugin that fails to initialise, registers garbage or sizes
 * near 2^32, or was built for another ABI is refused with a message naming
 * the bundle, the file and the cause, and the runtime stays as it was. */
static void every_refused_native_bundle_is_named_with_its_file_and_cause(void **state)
{
	(void)state;
	static const struct {
		const char *fixture, *cause;
	} refused[] = {
	        {"broken_wrong_abi", "built for ABI version"},
	        {"broken_abi_1", "built for ABI version 1"},
	        {"broken_no_init", "missing symbol polyplug_init"},
	        {"broken_init_fail", "no config file found"},
	        {"broken_nothing", "registered no contracts"},
	        {"broken_null_fn", "has a NULL function at index 1"},
	        {"broken_huge_count", "declares 4294967295 functions; the limit is 65536"},
	        {"broken_bad_dispatch", "has unknown dispatch type 7"},
	        {"broken_bad_utf8", "is not valid UTF-8 (bad byte at offset 5)"},
	        {"broken_no_create", "lacks create_instance or destroy_instance"},
	        {"broken_dup", "registered contract 'test.broken' twice"},
	        {"broken_undefined_symbol", "undefined symbol: pp_fixture_defined_nowhere"},
	};
	pp_runtime *rt = rt_new();
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		const char *path = fx(refused[i].fixture);
		assert_int_not_equal(pp_bundle_load(rt, path, NULL, NULL), PP_OK);
		char named[600];
		snprintf(named, sizeof named, "bundle '%s' (%s): ", refused[i].fixture, path);
		const char *e = pp_last_error(rt);
		if (strncmp(e, named, strlen(named)) != 0 || !strstr(e, refused[i].cause))
			fail_msg("%s: \"%s\" does not open with \"%s\" and say \"%s\"",
			         refused[i].fixture, e, named, refused[i].cause);
		assert_untouched(rt);
	}
	pp_runtime_free(rt);
}

/* docs/runtime.md, Objects: a bundle loaded without a name is named after
 * its path — a file's name without its .so and a leading "lib", or a
 * directory's name as it is (trailing slash or not). */
static void a_bundle_is_named_after_its_file_without_lib_and_extension(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char dir[64], path[160];
	temp_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/libkeep.so", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	static const struct {
		const char *copy, *load, *name;
	} cases[] = {{"libmath.so", "libmath.so", "math"},
	             {"plain.so", "plain.so", "plain"},
	             {"lib.so", "lib.so", "lib"},
	             {"libkeep.so/calc.so", "libkeep.so/", "libkeep.so"}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, cases[i].copy);
		copy_file(fx("calc_v1"), path);
		snprintf(path, sizeof path, "%s/%s", dir, cases[i].load);
		uint64_t id = 0;
		assert_int_equal(pp_bundle_load(rt, path, NULL, &id), PP_OK);
		if (id != pp_bundle_id(cases[i].name))
			fail_msg("%s: not named '%s'", cases[i].load, cases[i].name);
		assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	}
	pp_runtime_free(rt);
	remove_tree(dir);
}

static void unreadable_and_foreign_paths_fail_cleanly(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	assert_int_equal(pp_bundle_load(rt, "/nonexistent/thing.so", NULL, NULL), PP_ERR_IO);
	assert_contains(pp_last_error(rt), "/nonexistent/thing.so");
	assert_int_equal(pp_bundle_load(rt, "/etc/hostname", NULL, NULL), PP_ERR_UNSUPPORTED);
	assert_contains(pp_last_error(rt), "no loader takes");
	assert_int_equal(pp_bundle_load(rt, "", NULL, NULL), PP_ERR_INVALID_ARGUMENT);
	pp_load_options o = {.loader = "cobol"};
	assert_int_equal(pp_bundle_load(rt, fx("calc_v1"), &o, NULL), PP_ERR_UNSUPPORTED);
	assert_contains(pp_last_error(rt), "no loader named 'cobol'");
	/* not a shared library at all, forced through the native loader */
	char dir[64], path[128];
	temp_dir(dir, sizeof dir);
	write_text(dir, "fake.so", "not an ELF file\n");
	snprintf(path, sizeof path, "%s/fake.so", dir);
	assert_int_equal(pp_bundle_load(rt, path, NULL, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "is not a shared library (no ELF header)");
	assert_contains(pp_last_error(rt), "bundle 'fake'");
	/* a 3 GiB sparse file is refused before it is copied (it once wrote
	 * 2.9 GiB next to the bundle, for dlopen to refuse after) */
	snprintf(path, sizeof path, "%s/huge.so", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\177ELF", 4), 4);
	assert_int_equal(ftruncate(fd, (off_t)3 << 30), 0);
	close(fd);
	assert_int_equal(pp_bundle_load(rt, path, NULL, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "is not a shared library (larger than 1 GiB");
	unlink(path);
	DIR *d = opendir(dir); /* no private copy was left behind */
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		assert_null(strstr(e->d_name, ".polyplug-"));
	closedir(d);
	remove_tree(dir);
	assert_untouched(rt);
	pp_runtime_free(rt);
}

static void loading_the_same_bundle_twice_is_refused(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	load_ok(rt, fx("calc_v1"));
	assert_int_equal(pp_bundle_load(rt, fx("calc_v1"), NULL, NULL), PP_ERR_DUPLICATE_PROVIDER);
	assert_contains(pp_last_error(rt), "already loaded");
	/* under another name it is a second, independent provider */
	pp_load_options o = {.name = "calc-copy"};
	uint64_t id;
	assert_int_equal(pp_bundle_load(rt, fx("calc_v1"), &o, &id), PP_OK);
	assert_true(id == pp_bundle_id("calc-copy"));
	pp_guest_contract_handle all[3];
	assert_int_equal(pp_find_all(rt, pp_guest_contract_id("test.calc", 1), 0, all, 3), 2);
	pp_runtime_free(rt);
}

static void bundle_directory_is_loaded_by_its_library(void **state)
{
	(void)state;
	char dir[64], bundle[128], file[256];
	temp_dir(dir, sizeof dir);
	snprintf(bundle, sizeof bundle, "%s/my-calc", dir);
	mkdir(bundle, 0755);
	snprintf(file, sizeof file, "%s/libmycalc.so", bundle);
	copy_file(fx("calc_v2"), file);
	strcat(bundle, "/");
	pp_runtime *rt = rt_new();
	uint64_t id = 0;
	assert_int_equal(pp_bundle_load(rt, bundle, NULL, &id), PP_OK);
	assert_true(id == pp_bundle_id("my-calc"));
	uint32_t code;
	assert_int_equal(call_i32(rt, "test.calc", 1, 0, &code), 2);
	/* two libraries: ambiguous */
	snprintf(bundle, sizeof bundle, "%s/two", dir);
	mkdir(bundle, 0755);
	snprintf(file, sizeof file, "%s/a.so", bundle);
	copy_file(fx("calc_v1"), file);
	snprintf(file, sizeof file, "%s/b.so", bundle);
	copy_file(fx("calc_v2"), file);
	assert_int_equal(pp_bundle_load(rt, bundle, NULL, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "2 shared libraries");
	pp_runtime_free(rt);
	remove_tree(dir);
}

static void bundles_call_each_other(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	load_ok(rt, fx("ping"));
	uint32_t code;
	/* the peer is missing: the error comes back as a code */
	call_i32(rt, "test.ping", 0, 3, &code);
	assert_int_equal(code, PP_ERR_NOT_FOUND);
	load_ok(rt, fx("pong"));
	assert_int_equal(call_i32(rt, "test.ping", 0, 9, &code), 9);
	assert_int_equal(code, PP_OK);
	assert_int_equal(call_i32(rt, "test.pong", 0, 100, &code), 100);
	assert_int_equal(code, PP_OK);
	pp_runtime_free(rt);
}

/* The first n bytes of calc_v1.so, as libcut.so in dir. */
static void write_cut(const char *path, long n)
{
	FILE *in = fopen(fx("calc_v1"), "rb");
	assert_non_null(in);
	static char buf[1 << 20];
	size_t got = fread(buf, 1, sizeof buf, in);
	fclose(in);
	assert_true(n >= 0 && (size_t)n <= got);
	FILE *out = fopen(path, "wb");
	assert_non_null(out);
	assert_int_equal(fwrite(buf, 1, (size_t)n, out), (size_t)n);
	assert_int_equal(fclose(out), 0);
}

/* A library cut short on disk (a build or copy still writing it, a disk
 * that filled up) keeps an intact ELF header: its load fails, naming the
 * file and where it ends, where dlopen used to map its segments past the
 * end of the file and ld.so to touch them (SIGBUS in the host). Cut
 * anywhere, it loads or fails; the host never crashes. */
static void a_library_cut_short_fails_to_load_rather_than_crash(void **state)
{
	(void)state;
	char dir[64], path[128];
	temp_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/libcut.so", dir);
	struct stat st;
	assert_int_equal(stat(fx("calc_v1"), &st), 0);
	pp_runtime *rt = rt_new();
	write_cut(path, 9000);
	assert_int_equal(pp_bundle_load(rt, path, NULL, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "bundle 'cut': '");
	assert_contains(pp_last_error(rt), "libcut.so' is cut short (9000 bytes): its segment ");
	for (long n = 0; n < (long)st.st_size; n += (long)st.st_size / 97 + 1) {
		write_cut(path, n);
		uint64_t id = 0;
		pp_status got = pp_bundle_load(rt, path, NULL, &id);
		if (got == PP_OK)
			assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
		else if (got != PP_ERR_LOAD_FAILED)
			fail_msg("cut at %ld: %s", n, pp_last_error(rt));
	}
	pp_runtime_free(rt);
	remove_tree(dir);
}

/* Cut short in place under a loaded bundle and reloaded (as the watcher
 * would): the reload fails and the old version keeps serving. */
static void reloading_a_library_cut_short_keeps_the_old_version(void **state)
{
	(void)state;
	char dir[64], path[128];
	temp_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/libcut.so", dir);
	copy_file(fx("calc_v1"), path);
	pp_runtime *rt = rt_new();
	uint64_t id;
	assert_int_equal(pp_bundle_load(rt, path, NULL, &id), PP_OK);
	assert_int_equal(truncate(path, 9000), 0);
	assert_int_equal(pp_bundle_reload(rt, id), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "is cut short");
	assert_int_equal(calc_add(rt, 20, 22), 42);
	pp_runtime_free(rt);
	remove_tree(dir);
}

static void two_runtimes_do_not_share_plugin_state(void **state)
{
	(void)state;
	pp_runtime *a = rt_new(), *b = rt_new();
	load_ok(a, fx("calc_v1"));
	assert_true(pp_handle_is_null(pp_find(b, pp_guest_contract_id("test.calc", 1), 0)));
	load_ok(b, fx("calc_v2"));
	uint32_t code;
	assert_int_equal(call_i32(a, "test.calc", 1, 0, &code), 1);
	assert_int_equal(call_i32(b, "test.calc", 1, 0, &code), 2);
	/* errors are per runtime: b keeps its own last one (from the find) */
	char before[512];
	snprintf(before, sizeof before, "%s", pp_last_error(b));
	assert_contains(before, "no bundle provides contract");
	assert_int_not_equal(pp_bundle_load(a, "/nonexistent", NULL, NULL), PP_OK);
	assert_contains(pp_last_error(a), "/nonexistent");
	assert_string_equal(pp_last_error(b), before);
	pp_runtime_free(a);
	assert_int_equal(call_i32(b, "test.calc", 1, 0, &code), 2);
	pp_runtime_free(b);

	/* ping keeps its host table in a global: each runtime must get its own
	 * copy of the library, or b's load would redirect a's calls into b */
	a = rt_new();
	b = rt_new();
	load_ok(a, fx("ping"));
	load_ok(a, fx("pong"));
	load_ok(b, fx("ping"));
	assert_int_equal(call_i32(a, "test.ping", 0, 4, &code), 4);
	assert_int_equal(code, PP_OK);
	call_i32(b, "test.ping", 0, 4, &code);
	assert_int_equal(code, PP_ERR_NOT_FOUND);
	pp_runtime_free(a);
	pp_runtime_free(b);
}

static void unload_refuses_while_a_dependent_is_loaded(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	uint64_t calc = load_ok(rt, fx("calc_v1"));
	pp_dependency dep = {pp_guest_contract_id("test.calc", 1), 1};
	pp_load_options o = {.dependencies = &dep, .dependency_count = 1};
	uint64_t peek;
	assert_int_equal(pp_bundle_load(rt, fx("peeker"), &o, &peek), PP_OK);
	assert_int_equal(pp_bundle_unload(rt, calc, 0), PP_ERR_DEPENDENCY_IN_USE);
	assert_contains(pp_last_error(rt), "'peeker' depends on it");
	assert_int_equal(calc_add(rt, 1, 1), 2);
	assert_int_equal(pp_bundle_unload(rt, calc, PP_UNLOAD_CASCADE), PP_OK);
	assert_int_equal(pp_bundle_foreach(rt, NULL, NULL), 0);
	assert_int_equal(pp_bundle_unload(rt, peek, 0), PP_ERR_NOT_FOUND);
	pp_runtime_free(rt);
}

static void list_info(void *ud, const pp_bundle_info *info)
{
	char *out = ud;
	char line[256];
	snprintf(line, sizeof line, "%s:%s:%u;", info->name, info->loader, info->contract_count);
	strcat(out, line);
}

static void bundles_are_listed_in_load_order(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	load_ok(rt, fx("pong"));
	load_ok(rt, fx("calc_v1"));
	char out[1024] = "";
	assert_int_equal(pp_bundle_foreach(rt, list_info, out), 2);
	assert_string_equal(out, "pong:native:1;calc_v1:native:1;");
	const pp_host_api *host = pp_runtime_host_api(rt);
	pp_array ids = host->list_bundles(host);
	assert_int_equal(ids.len, 2);
	assert_true(((uint64_t *)ids.items)[1] == pp_bundle_id("calc_v1"));
	host->free(host, ids.items, ids.len * sizeof(uint64_t), ids.align);
	pp_runtime_free(rt);
}

static void shutdown_runs_after_unload(void **state)
{
	(void)state;
	log_capture logs = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with_log(&logs, PP_LOG_DEBUG);
	uint64_t id = load_ok(rt, fx("calc_v1"));
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	assert_int_equal(pp_runtime_quiesce(rt), PP_OK);
	/* calc's polyplug_shutdown logs at debug level under its own scope */
	assert_string_equal(logs.last_scope, "fixture.calc");
	assert_string_equal(logs.last, "shutdown");
	pp_stats st;
	pp_runtime_stats(rt, &st);
	assert_int_equal(st.pending_reclaims, 0);
	assert_true(st.reclaimed >= 2); /* the code and its contract */
	pp_runtime_free(rt);
}

static void host_table_loads_and_unloads(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	const pp_host_api *host = pp_runtime_host_api(rt);
	const char *p = fx("calc_v1");
	pp_abi_error err;
	host->load_bundle(host, (const uint8_t *)p, strlen(p), &err);
	assert_int_equal(err.code, PP_OK);
	assert_int_equal(calc_add(rt, 1, 2), 3);
	host->reload_bundle(host, (const uint8_t *)p, strlen(p), &err);
	assert_int_equal(err.code, PP_OK);
	host->reload_bundle(host, (const uint8_t *)"/x", 2, &err);
	assert_int_equal(err.code, PP_ERR_NOT_FOUND);
	host->unload_bundle(host, pp_bundle_id("calc_v1"), &err);
	assert_int_equal(err.code, PP_OK);
	host->unload_bundle(host, pp_bundle_id("calc_v1"), &err);
	assert_int_equal(err.code, PP_ERR_NOT_FOUND);
	assert_non_null(err.message.ptr);
	pp_runtime_free(rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(good_bundle_loads_and_answers),
	        cmocka_unit_test(init_failure_names_bundle_and_cause),
	        cmocka_unit_test(wrong_abi_version_is_refused),
	        cmocka_unit_test(missing_init_symbol_is_named),
	        cmocka_unit_test(every_refused_native_bundle_is_named_with_its_file_and_cause),
	        cmocka_unit_test(bundle_that_registers_nothing_is_refused),
	        cmocka_unit_test(a_library_with_an_undefined_symbol_fails_to_load_naming_it),
	        cmocka_unit_test(a_bundles_exported_symbols_never_serve_another_bundle),
	        cmocka_unit_test(unreadable_and_foreign_paths_fail_cleanly),
	        cmocka_unit_test(loading_the_same_bundle_twice_is_refused),
	        cmocka_unit_test(bundle_directory_is_loaded_by_its_library),
	        cmocka_unit_test(a_bundle_is_named_after_its_file_without_lib_and_extension),
	        cmocka_unit_test(bundles_call_each_other),
	        cmocka_unit_test(a_library_cut_short_fails_to_load_rather_than_crash),
	        cmocka_unit_test(reloading_a_library_cut_short_keeps_the_old_version),
	        cmocka_unit_test(two_runtimes_do_not_share_plugin_state),
	        cmocka_unit_test(unload_refuses_while_a_dependent_is_loaded),
	        cmocka_unit_test(bundles_are_listed_in_load_order),
	        cmocka_unit_test(shutdown_runs_after_unload),
	        cmocka_unit_test(host_table_loads_and_unloads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
