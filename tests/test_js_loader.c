/* test_js_loader.c — the QuickJS loader against the reference loader's
 * behaviour: the polyplug_init protocol, every way a load fails, dispatch,
 * instances, and every bridge function with its edge cases. */
#include <math.h>
#include <sys/mman.h>

#include "js_helpers.h"

#define ADD_FN                              \
	"function (impl, a, o, arena, b) {" \
	" b.writeI32(o, b.readI32(a) + b.readI32(a + 4)); return 0; }"

/* ---- Loading --------------------------------------------------------------- */

static void loads_by_directory_and_by_file(void **state)
{
	(void)state;
	char dir[64], file[128];
	js_write_dir(dir, sizeof dir,
	             JS_PRELUDE "function polyplug_init(hl, hh, cl, ch, bridge) {\n"
	                        "  var path = globalThis.bundlePath;\n"
	                        "  return ok([reg('js.path', [function (i, a, o, ar, b) {\n"
	                        "    b.writeI32(o, path.length); return 0; }])]);\n}\n");
	pp_runtime *rt = rt_new();
	uint64_t id;
	assert_int_equal(pp_bundle_load(rt, dir, NULL, &id), PP_OK);
	int32_t len = 0;
	assert_int_equal(js_call(rt, "js.path", 0, NULL, &len), PP_OK);
	assert_int_equal(len, strlen(dir)); /* bundlePath is the bundle directory */
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	snprintf(file, sizeof file, "%s/bundle.js", dir);
	pp_load_options o = {.name = "by-file"};
	assert_int_equal(pp_bundle_load(rt, file, &o, NULL), PP_OK);
	assert_int_equal(js_call(rt, "js.path", 0, NULL, &len), PP_OK);
	assert_int_equal(len, strlen(dir));
	pp_runtime_free(rt);
	remove_tree(dir);
}

/* Source text has no directory: its bundlePath is the empty string (js.md,
 * Loading). */
static void a_bundle_loaded_from_source_text_has_an_empty_bundle_path(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	js_load_ok(rt, "text",
	           JS_ONE("js.path", "function () {"
	                             " return bundlePath === '' ? 0 : 9; }"));
	assert_int_equal(js_call(rt, "js.path", 0, NULL, NULL), PP_OK);
	pp_runtime_free(rt);
}

static void code_and_path_sources_give_the_same_results(void **state)
{
	(void)state;
	const char *src = JS_ONE("js.add", ADD_FN);
	char dir[64];
	js_write_dir(dir, sizeof dir, src);
	pp_runtime *a = rt_new(), *b = rt_new();
	load_ok(a, dir);
	js_load_ok(b, "adder", src);
	pair p = {19, 23};
	int32_t ra = 0, rb = 0;
	assert_int_equal(js_call(a, "js.add", 0, &p, &ra), PP_OK);
	assert_int_equal(js_call(b, "js.add", 0, &p, &rb), PP_OK);
	assert_int_equal(ra, 42);
	assert_int_equal(rb, 42);
	pp_runtime_free(a);
	pp_runtime_free(b);
	remove_tree(dir);
}

static void bytes_must_be_valid_utf8(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char src[4096];
	snprintf(src, sizeof src, "%s// caf\xc3\xa9 \xe2\x82\xac\n", JS_ONE("js.add", ADD_FN));
	js_load_ok(rt, "utf8", src);
	snprintf(src, sizeof src, "%s// bad \xff\xfe\n", JS_ONE("js.other", ADD_FN));
	assert_int_equal(js_load_src(rt, "latin1", src, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "bundle 'latin1'");
	assert_contains(pp_last_error(rt), "not valid UTF-8");
	pp_runtime_free(rt);
}

static void every_registration_is_registered(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	uint64_t id = js_load_ok(rt, "two",
	                         JS_PRELUDE "function polyplug_init(hl, hh, cl, ch, b) {\n"
	                                    "  return ok([reg('js.one', [" ADD_FN "]),\n"
	                                    "             reg('js.two', [" ADD_FN "])]);\n}\n");
	pair p = {1, 2};
	int32_t r;
	assert_int_equal(js_call(rt, "js.one", 0, &p, &r), PP_OK);
	assert_int_equal(js_call(rt, "js.two", 0, &p, &r), PP_OK);
	assert_int_equal(r, 3);
	pp_stats st;
	pp_runtime_stats(rt, &st);
	assert_int_equal(st.contracts, 2);
	/* attributed to the real bundle: unloading it takes both */
	assert_true(id == pp_bundle_id("two"));
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	pp_runtime_stats(rt, &st);
	assert_int_equal(st.contracts, 0);
	pp_runtime_free(rt);
}

static void one_bad_registration_publishes_none(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	assert_int_equal(js_load_src(rt, "half",
	                             JS_PRELUDE "function polyplug_init(hl, hh, cl, ch, b) {\n"
	                                        "  var bad = reg('js.two', [" ADD_FN "]);\n"
	                                        "  delete bad.interface.factory;\n"
	                                        "  return ok([reg('js.one', [" ADD_FN
	                                        "]), bad]);\n}\n",
	                             NULL),
	                 PP_ERR_INIT_FAILED);
	assert_contains(pp_last_error(rt), "no 'factory' function");
	assert_true(pp_handle_is_null(pp_find(rt, pp_guest_contract_id("js.one", 1), 0)));
	/* the same with a registration the registry itself refuses (a duplicate) */
	assert_int_equal(js_load_src(rt, "dup",
	                             JS_PRELUDE "function polyplug_init(hl, hh, cl, ch, b) {\n"
	                                        "  return ok([reg('js.one', [" ADD_FN "]),\n"
	                                        "             reg('js.one', [" ADD_FN "])]);\n}\n",
	                             NULL),
	                 PP_ERR_INIT_FAILED);
	assert_contains(pp_last_error(rt), "(PP_ERR_DUPLICATE_PROVIDER)");
	assert_true(pp_handle_is_null(pp_find(rt, pp_guest_contract_id("js.one", 1), 0)));
	pp_stats st;
	pp_runtime_stats(rt, &st);
	assert_int_equal(st.bundles, 0);
	pp_runtime_free(rt);
}

typedef struct {
	const char *name, *src, *expect;
	pp_status code;
} bad_bundle;

static void load_errors_name_the_bundle_and_the_missing_piece(void **state)
{
	(void)state;
	static const bad_bundle cases[] = {
	        {"syntax", "function polyplug_init() {\n  return [[], {code: 0}];\n}\nvar x = );\n",
	         "SyntaxError", PP_ERR_LOAD_FAILED},
	        {"throws", "throw new Error('top-level boom');\n", "top-level boom",
	         PP_ERR_LOAD_FAILED},
	        {"no-init", "var nothing = 1;\n", "no global function polyplug_init",
	         PP_ERR_LOAD_FAILED},
	        {"init-throws", "function polyplug_init() { throw new TypeError('init boom'); }\n",
	         "TypeError: init boom", PP_ERR_INIT_FAILED},
	        {"code-msg",
	         "function polyplug_init() { return [[], {code: 42, message: 'nope'}]; }\n",
	         "returned error code 42 (PP_ERR_UNKNOWN): nope", PP_ERR_INIT_FAILED},
	        {"code-only", "function polyplug_init() { return [[], {code: 300}]; }\n",
	         "returned error code 300 (PP_ERR_PLUGIN)", PP_ERR_INIT_FAILED},
	        {"no-abierror", "function polyplug_init() { return 5; }\n", "did not return",
	         PP_ERR_INIT_FAILED},
	        {"no-array", "function polyplug_init() { return [{}, {code: 0}]; }\n",
	         "registrations array", PP_ERR_INIT_FAILED},
	        {"empty", "function polyplug_init() { return [[], {code: 0}]; }\n",
	         "empty registrations array", PP_ERR_INIT_FAILED},
	        {"no-name",
	         JS_PRELUDE "function polyplug_init() { var r = reg('x', []);"
	                    " delete r.contractName; return ok([r]); }\n",
	         "missing contractName", PP_ERR_INIT_FAILED},
	        {"no-iface",
	         JS_PRELUDE "function polyplug_init() { var r = reg('x', []);"
	                    " delete r.interface; return ok([r]); }\n",
	         "missing interface", PP_ERR_INIT_FAILED},
	        {"no-functions",
	         JS_PRELUDE "function polyplug_init() { var r = reg('x', []);"
	                    " delete r.interface.functions; return ok([r]); }\n",
	         "has no 'functions' array", PP_ERR_INIT_FAILED},
	        {"short",
	         JS_PRELUDE "function polyplug_init() { var r = reg('x', [" ADD_FN "]);"
	                    " r.fnCount = 3; return ok([r]); }\n",
	         "fnCount=3 but functions[1] is missing", PP_ERR_INIT_FAILED},
	        {"not-fn", JS_PRELUDE "function polyplug_init() { return ok([reg('x', [42])]); }\n",
	         "functions[0] is missing or not a function", PP_ERR_INIT_FAILED},
	        {"factory-throws",
	         JS_PRELUDE "function polyplug_init() { return ok([reg('x', [], function () {"
	                    " throw new Error('factory boom'); })]); }\n",
	         "factory boom", PP_ERR_INIT_FAILED},
	};
	log_capture logs = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with_log(&logs, PP_LOG_TRACE);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		pp_status st = js_load_src(rt, cases[i].name, cases[i].src, NULL);
		if (st != cases[i].code)
			fail_msg("%s: got %u (%s)", cases[i].name, st, pp_last_error(rt));
		char want[64];
		snprintf(want, sizeof want, "bundle '%s'", cases[i].name);
		assert_contains(pp_last_error(rt), want);
		assert_contains(pp_last_error(rt), cases[i].expect);
	}
	/* a syntax error says where */
	js_load_src(rt, "syntax", cases[0].src, NULL);
	assert_contains(pp_last_error(rt), "syntax:4");
	pp_stats st;
	pp_runtime_stats(rt, &st);
	assert_int_equal(st.bundles, 0);
	js_load_ok(rt, "fine", JS_ONE("js.add", ADD_FN)); /* and the runtime is still usable */
	pp_runtime_free(rt);
}

/* The same refusals of a bundle loaded from disk name its file as well
 * (js.md, Loading: "Load errors name the bundle, the file and the missing
 * piece"). */
static void load_errors_from_disk_name_the_bundle_its_file_and_the_cause(void **state)
{
	(void)state;
	static const bad_bundle cases[] = {
	        {"syntax", "var x = );\n", "compiling the bundle failed: SyntaxError",
	         PP_ERR_LOAD_FAILED},
	        {"no-init", "var nothing = 1;\n", "no global function polyplug_init",
	         PP_ERR_LOAD_FAILED},
	        {"init-throws", "function polyplug_init() { throw new TypeError('init boom'); }\n",
	         "TypeError: init boom", PP_ERR_INIT_FAILED},
	        {"empty", "function polyplug_init() { return [[], {code: 0}]; }\n",
	         "empty registrations array", PP_ERR_INIT_FAILED},
	        {"not-fn", JS_PRELUDE "function polyplug_init() { return ok([reg('x', [42])]); }\n",
	         "functions[0] is missing or not a function", PP_ERR_INIT_FAILED},
	};
	pp_runtime *rt = rt_new();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char dir[64], named[256];
		js_write_dir(dir, sizeof dir, cases[i].src);
		pp_load_options o = {.name = cases[i].name};
		pp_status st = pp_bundle_load(rt, dir, &o, NULL);
		const char *e = pp_last_error(rt);
		snprintf(named, sizeof named, "bundle '%s' (%s/bundle.js): ", cases[i].name, dir);
		if (st != cases[i].code || strncmp(e, named, strlen(named)) != 0 ||
		    !strstr(e, cases[i].expect))
			fail_msg("%s: got %u \"%s\", want %u \"%s...%s\"", cases[i].name, st, e,
			         cases[i].code, named, cases[i].expect);
		remove_tree(dir);
	}
	pp_stats st;
	pp_runtime_stats(rt, &st);
	assert_int_equal(st.bundles, 0);
	pp_runtime_free(rt);
}

/* A registration's id must be the one its name gives: a mistyped id would
 * otherwise publish the contract where no caller of that name finds it. */
static void a_contract_id_that_is_not_its_names_is_refused(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	static const char wrong[] =
	        JS_PRELUDE "function polyplug_init() {\n"
	                   "  var r = reg('js.named', [function () { return 0; }]);\n"
	                   "  r.contractLo = (r.contractLo + 1) >>> 0;\n"
	                   "  return ok([r]);\n}\n";
	assert_int_equal(js_load_src(rt, "wrong", wrong, NULL), PP_ERR_INIT_FAILED);
	assert_contains(pp_last_error(rt), "bundle 'wrong'");
	assert_contains(pp_last_error(rt), "contract 'js.named@1' has id 0x");
	assert_contains(pp_last_error(rt), "but its name gives 0x");
	pp_stats stats;
	pp_runtime_stats(rt, &stats);
	assert_int_equal(stats.bundles, 0);
	/* a name without "@major" takes the version's major */
	static const char plain[] =
	        JS_PRELUDE "function polyplug_init() {\n"
	                   "  var r = reg('js.plain', [function () { return 0; }]);\n"
	                   "  r.contractName = 'js.plain'; r.version = 0x00010002;\n"
	                   "  return ok([r]);\n}\n";
	js_load_ok(rt, "plain", plain);
	assert_int_equal(js_call(rt, "js.plain", 0, NULL, NULL), PP_OK);
	/* a name carrying its major must carry the version's */
	static const char wrong_major[] = JS_PRELUDE
	        "function polyplug_init() {\n"
	        "  var r = reg('js.maj', [function () { return 0; }]);\n"
	        "  r.contractName = 'js.maj@2'; var id = cid('guest_contract:js.maj@2');\n"
	        "  r.contractLo = id[0]; r.contractHi = id[1];\n"
	        "  return ok([r]);\n}\n";
	assert_int_equal(js_load_src(rt, "wrong_major", wrong_major, NULL), PP_ERR_INIT_FAILED);
	assert_contains(pp_last_error(rt), "contract 'js.maj@2' is version 1.0.0; its name must "
	                                   "end in \"@1\"");
	/* ... and the name's suggestion for a caller carries it */
	assert_true(pp_handle_is_null(pp_find_named(rt, "js.plainn@1", 0, NULL)));
	assert_contains(pp_last_error(rt), "js.plain@1 1.2.0 from bundle 'plain'");
	assert_contains(pp_last_error(rt), "did you mean js.plain@1?");
	static const char major2[] =
	        JS_PRELUDE "function polyplug_init() {\n"
	                   "  var r = reg('js.two', [function () { return 0; }]);\n"
	                   "  r.contractName = 'js.two'; r.version = 0x00020000;\n"
	                   "  return ok([r]);\n}\n";
	assert_int_equal(js_load_src(rt, "major2", major2, NULL), PP_ERR_INIT_FAILED);
	assert_contains(pp_last_error(rt), "contract 'js.two' has id");
	pp_runtime_free(rt);
}

/* A bundle named `bundle` whose contract `name` (e.g. 'math.Adder'), version
 * 1.minor, answers `answer` from function 0. */
static void load_provider(pp_runtime *rt, const char *bundle, const char *name, int minor,
                          int answer)
{
	char src[2048];
	snprintf(src, sizeof src,
	         JS_PRELUDE "function polyplug_init() {\n"
	                    "  var r = reg('%s', [function () { return %d; }]);\n"
	                    "  r.version = 0x%08x;\n"
	                    "  return ok([r]);\n}\n",
	         name, answer, 0x10000 | minor);
	js_load_ok(rt, bundle, src);
}

static void a_lookup_that_finds_nothing_says_what_is_loaded(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	uint64_t id = pp_guest_contract_id("math.Adder", 1);
	assert_true(pp_handle_is_null(pp_find(rt, id, 1)));
	char want[128];
	snprintf(want, sizeof want,
	         "no bundle provides contract 0x%016llx with major 1 (nothing is "
	         "loaded)",
	         (unsigned long long)id);
	assert_string_equal(pp_last_error(rt), want);
	load_provider(rt, "adder", "math.Adder", 0, 300);
	assert_true(pp_handle_is_null(pp_find_named(rt, "math.Addr@1", 0, NULL)));
	assert_string_equal(pp_last_error(rt),
	                    "no bundle provides math.Addr@1 (loaded: math.Adder@1 1.0.0 from "
	                    "bundle 'adder'); did you mean math.Adder@1?");
	pp_guest_contract_handle h = pp_find_named(rt, "math.Adder@1", 0, NULL);
	pp_guest_contract_handle by_id = pp_find(rt, id, 0);
	assert_false(pp_handle_is_null(h));
	assert_true(h.index == by_id.index && h.generation == by_id.generation);
	/* too old a version says so */
	assert_true(
	        pp_handle_is_null(pp_find_named(rt, "math.Adder@1", pp_version_pack(1, 2), NULL)));
	assert_string_equal(pp_last_error(rt), "no bundle provides math.Adder@1 at 1.2 or later "
	                                       "(loaded: math.Adder@1 1.0.0 from bundle 'adder')");
	/* one bundle's provider among several */
	load_provider(rt, "adder2", "math.Adder", 3, 301);
	pp_guest_contract_instance none = {NULL, 0};
	h = pp_find_named(rt, "math.Adder@1", 0, "adder2");
	assert_int_equal(pp_call(rt, h, none, 0, NULL, NULL, NULL), 301);
	h = pp_find_named(rt, "math.Adder@1", 0, "adder");
	assert_int_equal(pp_call(rt, h, none, 0, NULL, NULL, NULL), 300);
	assert_true(pp_handle_is_null(pp_find_named(rt, "math.Adder@1", 0, "other")));
	assert_contains(pp_last_error(rt),
	                "no bundle named 'other' provides math.Adder@1 (loaded: ");
	assert_contains(pp_last_error(rt), "math.Adder@1 1.3.0 from bundle 'adder2'");
	/* asking for another major than the name's is a mistake, said so */
	assert_true(pp_handle_is_null(pp_find_named(rt, "math.Adder@1", 2, NULL)));
	assert_contains(pp_last_error(rt), "'math.Adder@1' is major 1, but min_version asks for "
	                                   "major 2");
	assert_false(
	        pp_handle_is_null(pp_find_named(rt, "math.Adder@1", pp_version_pack(1, 3), NULL)));
	/* a long list is cut short */
	for (int i = 0; i < 10; i++) {
		char bundle[16], name[32];
		snprintf(bundle, sizeof bundle, "b%d", i);
		snprintf(name, sizeof name, "many.C%d", i);
		load_provider(rt, bundle, name, 0, 0);
	}
	assert_true(pp_handle_is_null(pp_find_named(rt, "nothing.Like@7", 0, NULL)));
	assert_contains(pp_last_error(rt), " and 4 more)");
	assert_null(strstr(pp_last_error(rt), "did you mean"));
	/* long names: whole entries only, and the count of the rest survives */
	char longname[160];
	memset(longname, 'z', 150);
	longname[150] = '\0';
	for (int i = 0; i < 8; i++) {
		char bundle[200], name[200];
		snprintf(bundle, sizeof bundle, "%.150s%d", longname, i);
		snprintf(name, sizeof name, "long.%.150s%d", longname, i);
		load_provider(rt, bundle, name, 0, 0);
	}
	assert_true(pp_handle_is_null(pp_find_named(rt, "nothing.Like@7", 0, NULL)));
	const char *e = pp_last_error(rt);
	assert_true(strlen(e) > 6);
	assert_string_equal(e + strlen(e) - 6, " more)"); /* the count of the rest survives */
	assert_null(strstr(e, "zzz,"));                   /* no entry cut in the middle */
	/* what is not a name with its major is refused, and said so */
	static const char *const bad[] = {"math.Adder", "math.Adder@", "math.Adder@1a", "@x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_true(pp_handle_is_null(pp_find_named(rt, bad[i], 0, NULL)));
		assert_contains(pp_last_error(rt), "is not a contract name with its major");
	}
	assert_true(pp_handle_is_null(pp_find_named(rt, NULL, 0, NULL)));
	assert_contains(pp_last_error(rt), "'(null)' is not a contract name");
	pp_runtime_free(rt);
}

static void missing_file_fails(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char dir[64];
	temp_dir(dir, sizeof dir);
	pp_load_options o = {.loader = "js-quickjs"};
	assert_int_equal(pp_bundle_load(rt, dir, &o, NULL), PP_ERR_IO);
	assert_contains(pp_last_error(rt), "bundle.js");
	assert_int_equal(pp_bundle_load(rt, "/nonexistent/x.js", &o, NULL), PP_ERR_IO);
	pp_runtime_free(rt);
	remove_tree(dir);
}

/* ---- Dispatch ---------------------------------------------------------------- */

static void registration_is_vm_dispatch_with_loader_data(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	js_load_ok(rt, "adder", JS_ONE("js.add", ADD_FN));
	const pp_guest_contract_interface *i =
	        pp_resolve(rt, pp_find(rt, pp_guest_contract_id("js.add", 1), 0));
	assert_non_null(i);
	assert_int_equal(i->dispatch_type, PP_DISPATCH_VM);
	assert_non_null(i->dispatch.vm.loader_data.data);
	assert_true(i->contract_id == pp_guest_contract_id("js.add", 1)); /* lo/hi round trip */
	assert_int_equal(i->contract_version.major, 1);
	assert_int_equal(i->contract_version.minor, 0);
	/* called directly through the interface, as generated callers do */
	pair p = {-5, 3};
	int32_t out = 0;
	pp_abi_error err = {PP_OK, {NULL, 0}};
	pp_guest_contract_instance none = {NULL, 0};
	i->dispatch.vm.call(i->dispatch.vm.loader_data, none, 0, &p, &out, NULL, &err);
	assert_int_equal(err.code, PP_OK);
	assert_int_equal(out, -2);
	pp_runtime_free(rt);
}

static void return_values_and_throws_become_codes(void **state)
{
	(void)state;
	log_capture logs = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with_log(&logs, PP_LOG_TRACE);
	js_load_ok(rt, "codes",
	           JS_ONE("js.codes", "function () { return 0; },"
	                              "function () { return 300; },"
	                              "function () { throw new Error('guest exploded'); },"
	                              "function () { return 'yes'; },"
	                              "function () { }"));
	assert_int_equal(js_call(rt, "js.codes", 0, NULL, NULL), PP_OK);
	assert_int_equal(js_call(rt, "js.codes", 1, NULL, NULL), 300);
	assert_int_equal(js_call(rt, "js.codes", 2, NULL, NULL), PP_ERR_GENERIC);
	assert_string_equal(logs.last_scope, "loader.js");
	assert_contains(logs.last, "guest exploded");
	assert_contains(logs.last, "at "); /* the stack came along */
	assert_contains(pp_last_error(rt), "function 2: ");
	assert_contains(pp_last_error(rt),
	                "Error: guest exploded"); /* the cause reaches the caller */
	assert_int_equal(js_call(rt, "js.codes", 3, NULL, NULL), PP_ERR_GENERIC);
	assert_contains(logs.last, "returned the string \"yes\"; a status is an integer");
	assert_int_equal(js_call(rt, "js.codes", 4, NULL, NULL), PP_ERR_GENERIC);
	assert_contains(pp_last_error(rt), "returned undefined");
	/* fnCount is out of range; the VM is fine afterwards */
	assert_int_equal(js_call(rt, "js.codes", 5, NULL, NULL), PP_ERR_FUNCTION_NOT_AVAILABLE);
	assert_int_equal(js_call(rt, "js.codes", 0, NULL, NULL), PP_OK);
	pp_runtime_free(rt);
}

/* A status is an integer in [0, 2^32): nothing wraps into PP_OK (2^32) or
 * another code (2^32 + 5 would be PP_ERR_STALE_HANDLE). */
static void statuses_that_are_not_u32_integers_fail_naming_the_value(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	static const struct {
		const char *value, *shown;
	} bad[] = {
	        {"NaN", "returned NaN"},
	        {"Infinity", "returned Infinity"},
	        {"-Infinity", "returned -Infinity"},
	        {"0.5", "returned 0.5"},
	        {"-1", "returned -1"},
	        {"2 ** 32", "returned 4294967296"},
	        {"2 ** 32 + 5", "returned 4294967301"},
	        {"2 ** 40", "returned 1099511627776"},
	        {"2 ** 53", "returned 9007199254740992"},
	        {"({ valueOf() { return 0; } })", "returned an object"},
	        {"0n", "returned a BigInt"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char src[2048];
		snprintf(src, sizeof src,
		         JS_ONE("js.status", "function () { return %s; },"
		                             "function () { return 4294967295; },"
		                             "function () { return -0; }"),
		         bad[i].value);
		uint64_t id = js_load_ok(rt, "status", src);
		assert_int_equal(js_call(rt, "js.status", 0, NULL, NULL), PP_ERR_GENERIC);
		assert_contains(pp_last_error(rt), bad[i].shown);
		assert_contains(pp_last_error(rt), "a status is an integer in 0 .. 4294967295");
		assert_int_equal(js_call(rt, "js.status", 1, NULL, NULL), UINT32_MAX);
		assert_int_equal(js_call(rt, "js.status", 2, NULL, NULL), PP_OK);
		assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	}
	/* polyplug_init's { code } follows the same rule; a missing code is
	 * success, as in the reference */
	static const char *const codes[] = {"NaN", "0.5", "2 ** 32", "-1", "'0'"};
	for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
		char src[512];
		snprintf(src, sizeof src,
		         "function polyplug_init() { return [[], { code: %s, message: '' }]; }",
		         codes[i]);
		assert_int_equal(js_load_src(rt, "init_status", src, NULL), PP_ERR_INIT_FAILED);
		assert_contains(pp_last_error(rt), "polyplug_init returned code");
		assert_contains(pp_last_error(rt), "a status is an integer");
	}
	const char *absent =
	        JS_PRELUDE "function polyplug_init() {"
	                   " return [[reg('js.ok', [function () { return 0; }])], {}]; }";
	js_load_ok(rt, "no_code", absent);
	assert_int_equal(js_call(rt, "js.ok", 0, NULL, NULL), PP_OK);
	pp_runtime_free(rt);
}

static void instances_have_their_own_state(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	js_load_ok(rt, "counter",
	           JS_ONE("js.count", "function (impl, a, o, ar, b) {"
	                              " impl.n++; b.writeI32(o, impl.n); return 0; }"));
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("js.count", 1), 0);
	pp_guest_contract_instance x, y, none = {NULL, 0};
	assert_int_equal(pp_instance_create(rt, h, NULL, &x), PP_OK);
	assert_int_equal(pp_instance_create(rt, h, NULL, &y), PP_OK);
	assert_true(x.data && y.data && x.data != y.data); /* ids: never 0, never shared */
	assert_true(x.contract_id == pp_guest_contract_id("js.count", 1));
	int32_t n;
	pp_call(rt, h, x, 0, NULL, &n, NULL);
	pp_call(rt, h, x, 0, NULL, &n, NULL);
	assert_int_equal(n, 2);
	pp_call(rt, h, y, 0, NULL, &n, NULL);
	assert_int_equal(n, 1);
	pp_call(rt, h, none, 0, NULL, &n, NULL);
	assert_int_equal(n, 1); /* the default impl */
	assert_int_equal(pp_instance_destroy(rt, h, x), PP_OK);
	/* a destroyed (or never made) instance is refused by pp_call before
	 * the VM is entered... */
	assert_int_equal(pp_call(rt, h, x, 0, NULL, &n, NULL), PP_ERR_STALE_INSTANCE);
	pp_guest_contract_instance bogus = {(void *)(uintptr_t)77, 0};
	assert_int_equal(pp_call(rt, h, bogus, 0, NULL, &n, NULL), PP_ERR_STALE_INSTANCE);
	/* ...and by the loader itself, called through the interface (the
	 * reference's code) */
	const pp_guest_contract_interface *iface = pp_resolve(rt, h);
	pp_abi_error e = {PP_OK, {NULL, 0}};
	iface->dispatch.vm.call(iface->dispatch.vm.loader_data, bogus, 0, NULL, &n, NULL, &e);
	assert_int_equal(e.code, PP_ERR_FUNCTION_NOT_AVAILABLE);
	pp_runtime_free(rt); /* y is destroyed by the runtime */
}

/* ---- The bridge -------------------------------------------------------------- */

static void bridge_has_every_method_and_is_never_global(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	js_load_ok(
	        rt, "shape",
	        JS_PRELUDE
	        "var names = ['findByContract', 'findByBundle', 'findAllByContract',\n"
	        "  'resolveGuestContract', 'revision', 'dispatchPeer', 'callHostContract',\n"
	        "  'alloc', 'arenaAlloc', 'free', 'log', 'readI32', 'writeI32', 'readU32',\n"
	        "  'writeU32', 'readF32', 'writeF32', 'readF64', 'writeF64', 'readByte',\n"
	        "  'writeByte', 'readMemory'];\n"
	        "var missing = -1, leaked = 0, sameBridge = 0, hostOk = 0;\n"
	        "function polyplug_init(hl, hh, cl, ch, bridge) {\n"
	        "  names.forEach(function (n, i) {\n"
	        "    if (typeof bridge[n] !== 'function' && missing < 0) missing = i; });\n"
	        "  /* exactly those, enumerable, in that order, plus polyplug-c's `fast` */\n"
	        "  if (Object.keys(bridge).join() !== names.concat(['fast']).join()) missing = "
	        "99;\n"
	        "  if (Object.keys(bridge.fast).join() !== "
	        "'readString,utf8Length,writeString,readBytes,writeBytes')\n"
	        "    missing = 98;\n"
	        "  for (var k in globalThis) if (globalThis[k] === bridge) leaked = 1;\n"
	        "  hostOk = (hl === Math.floor(hl) && hh === Math.floor(hh) && hl >= 0) ? 1 : 0;\n"
	        "  return ok([reg('js.shape', [function (i, a, o, ar, b) {\n"
	        "    sameBridge = (b === bridge) ? 1 : 0;\n"
	        "    b.writeI32(o, missing * 1000 + leaked * 100 + sameBridge * 10 + hostOk);\n"
	        "    return 0; }])]);\n}\n");
	int32_t r = 0;
	assert_int_equal(js_call(rt, "js.shape", 0, NULL, &r), PP_OK);
	assert_int_equal(r, -1000 + 0 + 10 + 1);
	pp_runtime_free(rt);
}

/* Memory at an address whose low half is above 2^31, so pointer halves and
 * pointers passed as Numbers are tested where sign extension would bite.
 * Any 4 GiB window holds such an address: reserve one, open len bytes. */
#define HIGH_SPAN ((size_t)4 << 30)
static uint8_t *high_memory(size_t len, void **reservation)
{
	uint8_t *r = mmap(NULL, HIGH_SPAN + 2 * len, PROT_NONE,
	                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED)
		fail_msg("cannot reserve address space");
	uintptr_t p = ((uintptr_t)r + 4095) & ~(uintptr_t)4095;
	if ((p & 0xFFFFFFFFu) < 0x80000000u)
		p += 0x80000000u - (p & 0xFFFFFFFFu);
	if (mprotect((void *)p, len, PROT_READ | PROT_WRITE) != 0)
		fail_msg("mprotect failed");
	*reservation = r;
	return (uint8_t *)p;
}

typedef struct {
	uint8_t *base;
	size_t used;
	int allocs, frees;
	size_t live;
} high_alloc;

static void *ha_alloc(void *ud, size_t size, size_t align)
{
	high_alloc *h = ud;
	h->used = (h->used + align - 1) & ~(align - 1);
	void *p = h->base + h->used;
	h->used += size;
	h->allocs++;
	h->live += size;
	return p;
}

static void ha_free(void *ud, void *ptr, size_t size, size_t align)
{
	(void)ptr;
	(void)align;
	high_alloc *h = ud;
	h->frees++;
	h->live -= size;
}

static void pointer_halves_and_u32_values_stay_exact(void **state)
{
	(void)state;
	void *reservation;
	high_alloc ha = {high_memory(1 << 20, &reservation), 0, 0, 0, 0};
	assert_true(((uintptr_t)ha.base & 0xFFFFFFFFu) >= 0x80000000u);
	pp_runtime_config cfg;
	pp_runtime_config_init(&cfg);
	cfg.alloc = ha_alloc;
	cfg.free = ha_free;
	cfg.alloc_userdata = &ha;
	pp_runtime *rt;
	assert_int_equal(pp_runtime_new(&cfg, &rt), PP_OK);
	js_load_ok(
	        rt, "mem",
	        JS_ONE("js.mem",
	               /* 0: alloc, write through the joined pointer, free with the size */
	               "function (i, a, o, ar, b) {"
	               "  var p = b.alloc(16);"
	               "  if (p[0] < 2147483648 || p[0] !== Math.floor(p[0])) return 901;"
	               "  var ptr = p[1] * 4294967296 + p[0];"
	               "  b.writeU32(ptr, 4000000000);"
	               "  var back = b.readU32(ptr);"
	               "  b.free(p[0], p[1], 16, 1);"
	               "  return back === 4000000000 ? 0 : 902; },"
	               /* 1: u32 round trips and the reference's saturating writeU32 */
	               "function (i, a, o, ar, b) {"
	               "  b.writeU32(o, 4294967295); if (b.readU32(o) !== 4294967295) return 911;"
	               "  b.writeU32(o, -1); if (b.readU32(o) !== 0) return 912;"
	               "  b.writeU32(o, 2147483648); if (b.readI32(o) !== -2147483648) return 913;"
	               "  b.writeI32(o, -7); if (b.readU32(o) !== 4294967289) return 914;"
	               "  b.writeByte(o, 0x1ff); if (b.readByte(o) !== 255) return 915;"
	               "  return 0; },"
	               /* 2: zero pointers read 0 and writes to them do nothing */
	               "function (i, a, o, ar, b) {"
	               "  b.writeI32(0, 5); b.writeF64(0, 1.5); b.writeU32(0, 1); b.writeByte(0, "
	               "1);"
	               "  if (b.readI32(0) !== 0 || b.readU32(0) !== 0 || b.readF64(0) !== 0"
	               "      || b.readByte(0) !== 0 || b.readMemory(0, 4).length !== 0) return "
	               "921;"
	               "  b.free(0, 0, 16, 1); return 0; },"
	               /* 3: floats keep their bits */
	               "function (i, a, o, ar, b) {"
	               "  b.writeF64(o, b.readF64(a) * 2.0 + 0.25);"
	               "  b.writeF32(o + 8, 1.5); return b.readF32(o + 8) === 1.5 ? 0 : 931; },"
	               /* 4: readMemory gives a plain array of bytes */
	               "function (i, a, o, ar, b) {"
	               "  var m = b.readMemory(a, 4);"
	               "  return (Array.isArray(m) && m.join() === '1,2,254,255') ? 0 : 941; }"));
	int32_t scratch[8];
	assert_int_equal(js_call(rt, "js.mem", 0, NULL, scratch), PP_OK);
	assert_int_equal(ha.live, 0); /* freed with the size it was allocated with */
	assert_int_equal(ha.allocs, ha.frees);
	uint32_t *out = (uint32_t *)(void *)(ha.base + 4096); /* a high address, too */
	assert_int_equal(js_call(rt, "js.mem", 1, NULL, out), PP_OK);
	assert_int_equal(js_call(rt, "js.mem", 2, NULL, out), PP_OK);
	double in = 1234.5625;
	double fout[2] = {0, 0};
	assert_int_equal(js_call(rt, "js.mem", 3, &in, fout), PP_OK);
	assert_true(fout[0] == 2469.375);
	uint8_t bytes[4] = {1, 2, 254, 255};
	assert_int_equal(js_call(rt, "js.mem", 4, bytes, NULL), PP_OK);
	pp_runtime_free(rt);
	munmap(reservation, HIGH_SPAN + 2 * ((size_t)1 << 20));
}

static void arena_alloc_overflows_into_host_blocks(void **state)
{
	(void)state;
	counting_alloc ca = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_counting(&ca);
	js_load_ok(rt, "arena",
	           JS_ONE("js.arena",
	                  /* writes `n` bytes of 7 into arena memory, returns the view in out */
	                  "function (impl, a, o, ar, b) {"
	                  "  var n = b.readU32(a);"
	                  "  var p = b.arenaAlloc(n, ar); var ptr = p[1] * 4294967296 + p[0];"
	                  "  for (var k = 0; k < n; k += 997) b.writeByte(ptr + k, 7);"
	                  "  b.writeByte(ptr + n - 1, 7);"
	                  "  b.writeU32(o, p[0]); b.writeU32(o + 4, p[1]); b.writeU32(o + 8, n);"
	                  "  return 0; }"));
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("js.arena", 1), 0);
	pp_guest_contract_instance none = {NULL, 0};
	uint8_t buf[64];
	pp_call_arena arena;
	pp_call_arena_init(&arena, buf, sizeof buf, pp_runtime_host_api(rt));
	uint32_t n = 32;
	pp_string_view out = {NULL, 0};
	assert_int_equal(pp_call(rt, h, none, 0, &n, &out, &arena), PP_OK);
	assert_ptr_equal(out.ptr, buf); /* fits the arena's own buffer */
	assert_int_equal(out.len, 32);
	n = 10000; /* does not: a host block is chained */
	assert_int_equal(pp_call(rt, h, none, 0, &n, &out, &arena), PP_OK);
	assert_true(out.ptr < buf || out.ptr >= buf + sizeof buf);
	assert_int_equal(out.ptr[9999], 7);
	assert_int_equal(ca.allocs, 1);
	pp_call_arena_free(&arena);
	assert_int_equal(ca.live, 0);
	/* without an arena, arenaAlloc falls back to host->alloc */
	n = 16;
	assert_int_equal(pp_call(rt, h, none, 0, &n, &out, NULL), PP_OK);
	assert_int_equal(ca.allocs, 2);
	const pp_host_api *host = pp_runtime_host_api(rt);
	host->free(host, (void *)out.ptr, 16, 1);
	assert_int_equal(ca.live, 0);
	pp_runtime_free(rt);
}

static void log_levels_arrive_as_the_reference_maps_them(void **state)
{
	(void)state;
	log_capture logs = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with_log(&logs, PP_LOG_TRACE);
	js_load_ok(rt, "logger",
	           JS_ONE("js.log",
	                  "function (i, a, o, ar, b) {"
	                  " b.log(b.readF64(a), 'guest.logger', 'level test'); return 0; }"));
	double levels[] = {3, 99, 2.5, NAN, 5, -1, 0};
	uint32_t expect[] = {PP_LOG_INFO,  PP_LOG_ERROR, PP_LOG_ERROR, PP_LOG_ERROR,
	                     PP_LOG_TRACE, PP_LOG_ERROR, PP_LOG_ERROR};
	for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
		assert_int_equal(js_call(rt, "js.log", 0, &levels[i], NULL), PP_OK);
		assert_int_equal(logs.last_level, expect[i]);
		assert_string_equal(logs.last_scope, "guest.logger");
		assert_string_equal(logs.last, "level test");
	}
	pp_runtime_free(rt);
}

/* The bridge's minimum versions (js.md, The bridge): a guest contract's is a
 * plain major below 65536, else packed major << 16 | minor; a host
 * contract's is always packed. */
static void bridge_versions_are_a_plain_major_or_packed_for_guests_packed_for_hosts(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	latch l;
	latch_register(rt, &l); /* test.latch 1.0 */
	atomic_store(&l.go, 1);
	load_provider(rt, "provider", "js.ver", 2, 0); /* js.ver 1.2 */
	js_load_ok(rt, "finder",
	           JS_PRELUDE JS_LATCH
	           "var ver = cid('guest_contract:js.ver@1');\n"
	           "function polyplug_init() {\n"
	           "  return ok([reg('js.find', [\n"
	           "    function (i, a, o, ar, b) {\n"
	           "      return b.findByContract(ver[0], ver[1], b.readU32(a)) === null ? 1 : 0;"
	           " },\n"
	           "    function (i, a, o, ar, b) {\n"
	           "      return b.callHostContract(latch[0], latch[1], b.readU32(a), 1, 0, 0); "
	           "}])]);\n}\n");
	static const struct {
		uint32_t min;
		bool found;
	} guest[] = {{0, true},       {1, true},        {2, false},      {0x10000, true},
	             {0x10002, true}, {0x10003, false}, {0x20000, false}};
	for (size_t i = 0; i < sizeof guest / sizeof guest[0]; i++)
		if (js_call(rt, "js.find", 0, &guest[i].min, NULL) != (guest[i].found ? 0u : 1u))
			fail_msg("findByContract with minVer 0x%x: want %s", guest[i].min,
			         guest[i].found ? "found" : "null");
	/* 1 is no plain major for a host contract: packed, it asks for 0.1 */
	static const uint32_t host_ok[] = {0, 0x10000}, host_refused[] = {1, 0x10001, 0x20000};
	for (size_t i = 0; i < sizeof host_ok / sizeof host_ok[0]; i++)
		assert_int_equal(js_call(rt, "js.find", 1, &host_ok[i], NULL), PP_OK);
	for (size_t i = 0; i < sizeof host_refused / sizeof host_refused[0]; i++)
		if (js_call(rt, "js.find", 1, &host_refused[i], NULL) == PP_OK)
			fail_msg("callHostContract with minVer 0x%x reached test.latch 1.0",
			         host_refused[i]);
	pp_runtime_free(rt);
}

static void alloc_and_free_work_during_init(void **state)
{
	(void)state;
	counting_alloc ca = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_counting(&ca);
	js_load_ok(rt, "init-mem",
	           JS_PRELUDE
	           "var made = 0;\n"
	           "function polyplug_init(hl, hh, cl, ch, b) {\n"
	           "  var p = b.alloc(64); var ptr = p[1] * 4294967296 + p[0];\n"
	           "  b.writeI32(ptr, 99); made = b.readI32(ptr); b.free(p[0], p[1], 64, 1);\n"
	           "  return ok([reg('js.made', [function (i, a, o, ar, bb) {"
	           " bb.writeI32(o, made); return 0; }])]);\n}\n");
	int32_t made = 0;
	assert_int_equal(js_call(rt, "js.made", 0, NULL, &made), PP_OK);
	assert_int_equal(made, 99);
	assert_int_equal(ca.allocs, 1);
	assert_int_equal(ca.live, 0);
	pp_runtime_free(rt);
}

static void init_context_carries_the_bundle_id(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	js_load_ok(rt, "who-am-i",
	           JS_PRELUDE
	           "var idlo = 0, idhi = 0;\n"
	           "function polyplug_init(hl, hh, cl, ch, b) {\n"
	           "  var ctx = ch * 4294967296 + cl;\n"
	           "  idlo = b.readU32(ctx); idhi = b.readU32(ctx + 4);\n"
	           "  return ok([reg('js.who', [function (i, a, o, ar, bb) {"
	           " bb.writeU32(o, idlo); bb.writeU32(o + 4, idhi); return 0; }])]);\n}\n");
	uint64_t id = 0;
	assert_int_equal(js_call(rt, "js.who", 0, NULL, &id), PP_OK);
	assert_true(id == pp_bundle_id("who-am-i"));
	pp_runtime_free(rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(loads_by_directory_and_by_file),
	        cmocka_unit_test(a_bundle_loaded_from_source_text_has_an_empty_bundle_path),
	        cmocka_unit_test(code_and_path_sources_give_the_same_results),
	        cmocka_unit_test(bytes_must_be_valid_utf8),
	        cmocka_unit_test(every_registration_is_registered),
	        cmocka_unit_test(one_bad_registration_publishes_none),
	        cmocka_unit_test(load_errors_name_the_bundle_and_the_missing_piece),
	        cmocka_unit_test(load_errors_from_disk_name_the_bundle_its_file_and_the_cause),
	        cmocka_unit_test(a_contract_id_that_is_not_its_names_is_refused),
	        cmocka_unit_test(a_lookup_that_finds_nothing_says_what_is_loaded),
	        cmocka_unit_test(missing_file_fails),
	        cmocka_unit_test(registration_is_vm_dispatch_with_loader_data),
	        cmocka_unit_test(return_values_and_throws_become_codes),
	        cmocka_unit_test(statuses_that_are_not_u32_integers_fail_naming_the_value),
	        cmocka_unit_test(instances_have_their_own_state),
	        cmocka_unit_test(bridge_has_every_method_and_is_never_global),
	        cmocka_unit_test(pointer_halves_and_u32_values_stay_exact),
	        cmocka_unit_test(arena_alloc_overflows_into_host_blocks),
	        cmocka_unit_test(log_levels_arrive_as_the_reference_maps_them),
	        cmocka_unit_test(
	                bridge_versions_are_a_plain_major_or_packed_for_guests_packed_for_hosts),
	        cmocka_unit_test(alloc_and_free_work_during_init),
	        cmocka_unit_test(init_context_carries_the_bundle_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
