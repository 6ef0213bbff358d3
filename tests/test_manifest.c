/*
 * test_manifest.c — bundle directories with manifest.toml, and plugins
 * directories loaded in dependency order: what a manifest sets, every way a
 * manifest or its promise can be wrong (each leaving the runtime as it was),
 * dependency order, missing dependencies, cycles, reload re-reading the
 * manifest, and lifecycle events.
 */
#include "../fuzz/manifest_run.h"
#include "js_helpers.h"

/* DIR/SUB as a fresh directory, in buf. */
static const char *subdir(char *buf, size_t cap, const char *dir, const char *sub)
{
	snprintf(buf, cap, "%s/%s", dir, sub);
	if (mkdir(buf, 0755) != 0)
		fail_msg("mkdir %s failed", buf);
	return buf;
}

/* A JS bundle providing contract@1 with one function returning `value`
 * and, if needs is not NULL, calling that contract's fn 0 at init (so it
 * fails unless what it needs is loaded first). */
static void js_bundle(const char *dir, const char *file, const char *contract, int value,
                      const char *needs)
{
	char src[4096];
	snprintf(src, sizeof src,
	         JS_PRELUDE "function polyplug_init(hl, hh, cl, ch, bridge) {\n"
	                    "  var needs = %s%s%s;\n"
	                    "  if (needs) { var id = cid('guest_contract:' + needs + '@1');\n"
	                    "    if (bridge.findByContract(id[0], id[1], 1) === null)\n"
	                    "      return [[], { code: 7, message: 'needs ' + needs }]; }\n"
	                    "  return ok([reg('%s', [function (i, a, o, ar, b) {\n"
	                    "    b.writeI32(o, %d); return 0; }])]);\n}\n",
	         needs ? "'" : "", needs ? needs : "null", needs ? "'" : "", contract, value);
	write_text(dir, file, src);
}

static int32_t value_of(pp_runtime *rt, const char *contract)
{
	int32_t out = -1;
	uint32_t code = js_call(rt, contract, 0, NULL, &out);
	return code == PP_OK ? out : -(int32_t)code;
}

/* DIR/NAME: a bundle providing contract@1 with manifest lines `rest`. */
static void bundle_with(const char *root, const char *name, const char *contract, int value,
                        const char *rest)
{
	char dir[512], text[512];
	js_bundle(subdir(dir, sizeof dir, root, name), "bundle.js", contract, value, NULL);
	snprintf(text, sizeof text, "name = \"%s\"\nprovides = [\"%s@1\"]\n%s", name, contract,
	         rest);
	write_text(dir, "manifest.toml", text);
}

static void load_named(pp_runtime *rt, const char *root, const char *name)
{
	char dir[512];
	snprintf(dir, sizeof dir, "%s/%s", root, name);
	if (pp_bundle_load(rt, dir, NULL, NULL) != PP_OK)
		fail_msg("load %s: %s", name, pp_last_error(rt));
}

/* ---- One bundle directory ------------------------------------------------ */

static void manifest_sets_name_loader_and_file(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char dir[256];
	temp_dir(dir, sizeof dir);
	js_bundle(dir, "main.js", "m.One", 11, NULL);
	write_text(
	        dir, "manifest.toml",
	        "name = \"one\"\nversion = \"1.2.0\"\nloader = \"js-quickjs\"\nfile = \"main.js\"\n"
	        "provides = [\"m.One@1\"]\nfunction_count = { \"m.One@1\" = 1 }\n"
	        "description = \"for people\"\nauthors = [\"A <a@example.org>\"]\n"
	        "license = \"MIT\"\n"); /* accepted and ignored */
	uint64_t id = 0;
	assert_int_equal(pp_bundle_load(rt, dir, NULL, &id), PP_OK);
	assert_true(id == pp_bundle_id("one"));
	assert_int_equal(value_of(rt, "m.One"), 11);
	pp_runtime_free(rt);
	remove_tree(dir);
}

/* docs/runtime.md, Manifests: a manifest's `name` names the bundle unless
 * the host gives one in pp_load_options, which overrides it — through a
 * reload, which reads the manifest again, too. */
static void the_hosts_name_overrides_the_manifests(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char dir[256];
	temp_dir(dir, sizeof dir);
	js_bundle(dir, "bundle.js", "m.Named", 1, NULL);
	write_text(dir, "manifest.toml", "name = \"from-manifest\"\nprovides = [\"m.Named@1\"]\n");
	pp_load_options o = {.name = "from-host"};
	uint64_t id = 0;
	assert_int_equal(pp_bundle_load(rt, dir, &o, &id), PP_OK);
	assert_true(id == pp_bundle_id("from-host"));
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("from-manifest"), 0), PP_ERR_NOT_FOUND);
	js_bundle(dir, "bundle.js", "m.Named", 2, NULL);
	assert_int_equal(pp_bundle_reload(rt, id), PP_OK);
	assert_int_equal(value_of(rt, "m.Named"), 2);
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("from-manifest"), 0), PP_ERR_NOT_FOUND);
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("from-host"), 0), PP_OK);
	/* without one, the manifest's */
	assert_int_equal(pp_bundle_load(rt, dir, NULL, &id), PP_OK);
	assert_true(id == pp_bundle_id("from-manifest"));
	pp_runtime_free(rt);
	remove_tree(dir);
}

/* A manifest is read up to 1 MiB (runtime.md "Manifests"): one of exactly
 * that loads, one byte more is refused naming the bound. */
static void a_manifest_past_1_mib_is_refused_naming_the_bound(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char dir[256];
	temp_dir(dir, sizeof dir);
	js_bundle(dir, "main.js", "m.Big", 12, NULL);
	static const char head[] = "name = \"big\"\nfile = \"main.js\"\n";
	size_t size = 1u << 20;
	char *text = malloc(size + 2);
	assert_non_null(text);
	memcpy(text, head, sizeof head - 1);
	memset(text + sizeof head - 1, ' ', size - (sizeof head - 1) - 1);
	text[sizeof head - 1] = '#'; /* a comment to the end */
	text[size - 1] = '\n';
	text[size] = '\0';
	write_text(dir, "manifest.toml", text);
	uint64_t id = 0;
	if (pp_bundle_load(rt, dir, NULL, &id) != PP_OK)
		fail_msg("a manifest of 1 MiB: %s", pp_last_error(rt));
	assert_int_equal(value_of(rt, "m.Big"), 12);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	text[size] = '\n';
	text[size + 1] = '\0';
	write_text(dir, "manifest.toml", text);
	assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "/manifest.toml: larger than a manifest may be "
	                                   "(1048576 bytes)");
	free(text);
	pp_runtime_free(rt);
	remove_tree(dir);
}

/* The shape polyplug's generator writes: runtime, a u64 bundle_id, a
 * per-platform [file] table. */
/* A directory whose path is 4085 bytes long (the most PATH_MAX allows is
 * 4095), holding bundle.js and a file named "manifest." and no manifest:
 * "DIR/manifest.toml" cut to 4095 bytes names that file. */
static void a_long_bundle_path_is_never_cut_to_another_files_name(void **state)
{
	(void)state;
	char root[64], path[4096];
	temp_dir(root, sizeof root);
	size_t n = (size_t)snprintf(path, sizeof path, "%s", root);
	while (n < 4085) { /* components of up to 200 bytes */
		size_t add = 4085 - n - 1 < 200 ? 4085 - n - 1 : 200;
		path[n++] = '/';
		memset(path + n, 'd', add);
		n += add;
		path[n] = '\0';
		if (mkdir(path, 0700) != 0)
			fail_msg("mkdir failed at length %zu", n);
	}
	assert_int_equal(strlen(path), 4085);
	char file[4096 + 16]; /* room the compiler can see for any path */
	snprintf(file, sizeof file, "%s/manifest.", path);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	snprintf(file, sizeof file, "%s/bundle.js", path);
	f = fopen(file, "w");
	assert_non_null(f);
	fputs(JS_PRELUDE "function polyplug_init(hl, hh, cl, ch, bridge) {\n"
	                 "  return ok([reg('m.Long', [function (i, a, o, ar, b) {\n"
	                 "    b.writeI32(o, 5); return 0; }])]);\n}\n",
	      f);
	fclose(f);
	pp_runtime *rt = rt_new();
	if (pp_bundle_load(rt, path, NULL, NULL) != PP_OK)
		fail_msg("load: %s", pp_last_error(rt));
	assert_int_equal(value_of(rt, "m.Long"), 5);
	pp_runtime_free(rt);
	remove_tree(root);
}

static void reads_generated_reference_manifests(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char dir[256], text[1024];
	temp_dir(dir, sizeof dir);
	copy_file(fx("calc_v1"), strcat(strcpy(text, dir), "/libcalc.so"));
	snprintf(text, sizeof text,
	         "# THIS FILE IS AUTO-GENERATED BY polyplugc. DO NOT EDIT.\n"
	         "name = \"cpp_calc\"\nbundle_id = %llu\nversion = \"1.0.0\"\n"
	         "runtime = \"native\"\nprovides = [\"test.calc@1\"]\n"
	         "function_count = { \"test.calc@1\" = 4 }\nneeds_reinit_on_dep_reload = false\n"
	         "[file]\nlinux.aarch64 = \"libcalc.so\"\nlinux.x86_64 = \"libcalc.so\"\n",
	         (unsigned long long)pp_bundle_id("cpp_calc"));
	write_text(dir, "manifest.toml", text);
	assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_OK);
	assert_int_equal(calc_add(rt, 40, 2), 42);
	pp_runtime_free(rt);
	remove_tree(dir);
}

/* The thread each "shutdown" record of the calc fixture came from. */
typedef struct {
	pthread_mutex_t lock;
	int shutdowns;
	pthread_t on;
} shutdown_seen;

static void see_shutdown(void *ud, uint32_t level, pp_string_view scope, pp_string_view msg)
{
	(void)level;
	shutdown_seen *s = ud;
	if (scope.len != 12 || memcmp(scope.ptr, "fixture.calc", 12) != 0 || msg.len != 8 ||
	    memcmp(msg.ptr, "shutdown", 8) != 0)
		return;
	pthread_mutex_lock(&s->lock);
	s->shutdowns++;
	s->on = pthread_self();
	pthread_mutex_unlock(&s->lock);
}

static int shutdowns_seen(shutdown_seen *s, pthread_t *on)
{
	pthread_mutex_lock(&s->lock);
	int n = s->shutdowns;
	*on = s->on;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* What runtime.md says of teardown: a retired version's runs on the
 * runtime's reclaimer, never the host's thread, nor one waiting in
 * pp_runtime_quiesce (docs/event-loop.md); a version a load undoes
 * after its init returned (a broken promise of its manifest) was never
 * published, and its teardown runs on the loading thread, before the
 * load returns. */
static void
teardown_runs_on_the_reclaimer_after_an_unload_and_on_the_loader_when_a_load_fails(void **state)
{
	(void)state;
	shutdown_seen seen = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_logging_to(see_shutdown, &seen, PP_LOG_DEBUG);
	char dir[256], path[512];
	temp_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/libcalc.so", dir);
	copy_file(fx("calc_v1"), path);
	write_text(dir, "manifest.toml",
	           "name = \"calc\"\nprovides = [\"test.calc@1\"]\n"
	           "function_count = { \"test.calc@1\" = 4 }\n");
	uint64_t id = 0;
	assert_int_equal(pp_bundle_load(rt, dir, NULL, &id), PP_OK);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	assert_int_equal(pp_runtime_quiesce(rt), PP_OK);
	pthread_t on;
	assert_int_equal(shutdowns_seen(&seen, &on), 1);
	assert_false(pthread_equal(on, pthread_self()));

	write_text(dir, "manifest.toml",
	           "name = \"calc\"\nprovides = [\"test.calc@1\"]\n"
	           "function_count = { \"test.calc@1\" = 3 }\n");
	assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_ERR_LOAD_FAILED);
	assert_int_equal(shutdowns_seen(&seen, &on), 2);
	assert_true(pthread_equal(on, pthread_self()));
	pp_runtime_free(rt);
	remove_tree(dir);
}

static uint32_t bundle_count(pp_runtime *rt)
{
	return (uint32_t)pp_bundle_foreach(rt, NULL, NULL);
}

/* Every bad manifest: the load fails naming file, line, column and key (or
 * the broken promise), and the runtime is exactly as before. */
/* A manifest.toml that is a FIFO was taken for no manifest at all (its
 * constraints silently dropped); one that links out of the directory was
 * read. Both are refused, as the bundle's own code would be. */
/* A manifest's file that is a link out of the directory is refused the
 * same way whether or not its target exists: the load says nothing of
 * what lies outside. */
static void a_manifest_file_linking_out_fails_alike_whether_its_target_exists(void **state)
{
	(void)state;
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with_log(&c, PP_LOG_ERROR);
	char root[256], dir[2][512], target[2][512], msg[2][1024];
	temp_dir(root, sizeof root);
	snprintf(target[0], sizeof target[0], "%s/exists.js", root);
	snprintf(target[1], sizeof target[1], "%s/missing.js", root);
	js_bundle(root, "exists.js", "m.Out", 1, NULL);
	for (int i = 0; i < 2; i++) {
		subdir(dir[i], sizeof dir[i], root, i ? "b2" : "b1");
		write_text(dir[i], "manifest.toml", "name = \"b\"\nfile = \"code.js\"\n");
		char link[600];
		snprintf(link, sizeof link, "%s/code.js", dir[i]);
		assert_int_equal(symlink(target[i], link), 0);
		assert_int_equal(pp_bundle_load(rt, dir[i], NULL, NULL), PP_ERR_LOAD_FAILED);
		snprintf(msg[i], sizeof msg[i], "%s", pp_last_error(rt));
		assert_contains(msg[i], "leads outside the bundle directory");
	}
	/* the same words, but for the directory's name */
	char *at = strstr(msg[1], "b2");
	while (at) {
		at[1] = '1';
		at = strstr(at, "b2");
	}
	assert_string_equal(msg[0], msg[1]);
	pp_runtime_free(rt);
	remove_tree(root);
}

static void a_manifest_that_is_not_a_file_of_the_bundle_is_refused(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char root[256], b[512], other[512], target[600], link[600];
	temp_dir(root, sizeof root);
	js_bundle(subdir(b, sizeof b, root, "b"), "bundle.js", "m.B", 1, NULL);
	snprintf(link, sizeof link, "%s/manifest.toml", b);
	assert_int_equal(mkfifo(link, 0644), 0);
	assert_int_equal(pp_bundle_load(rt, b, NULL, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "manifest.toml' is not a regular file");
	unlink(link);
	subdir(other, sizeof other, root, "other");
	write_text(other, "manifest.toml", "name = \"b\"\nsecret = 1\n");
	snprintf(target, sizeof target, "%s/manifest.toml", other);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(pp_bundle_load(rt, b, NULL, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "outside the bundle directory");
	assert_int_equal(bundle_count(rt), 0);
	pp_runtime_free(rt);
	remove_tree(root);
}

/* Case i: a bundle of m.B under manifest is refused with code and a message
 * holding expect, leaving nothing of it (rt holds one other bundle). */
static void refused_leaving_nothing(pp_runtime *rt, size_t i, const char *manifest, pp_status code,
                                    const char *expect)
{
	char dir[256];
	temp_dir(dir, sizeof dir);
	js_bundle(dir, "bundle.js", "m.B", 1, NULL);
	write_text(dir, "manifest.toml", manifest);
	uint64_t before = *pp_revision_counter(rt);
	pp_status st = pp_bundle_load(rt, dir, NULL, NULL);
	if (st != code || !strstr(pp_last_error(rt), expect))
		fail_msg("case %zu: got %u '%s', want %u '%s'", i, st, pp_last_error(rt), code,
		         expect);
	assert_int_equal(bundle_count(rt), 1);
	assert_true(pp_handle_is_null(pp_find(rt, pp_guest_contract_id("m.B", 1), 0)));
	assert_true(*pp_revision_counter(rt) == before);
	remove_tree(dir);
}

static void bad_manifests_fail_by_file_line_and_key(void **state)
{
	(void)state;
	static const struct {
		const char *manifest, *expect;
		pp_status code;
	} bad[] = {
	        {"version = \"1\"\n", "manifest.toml:1:1: key 'name': missing", PP_ERR_LOAD_FAILED},
	        {"name = 5\n", "manifest.toml:1:8: key 'name': expected a string, found an integer",
	         PP_ERR_LOAD_FAILED},
	        {"name = \"b\"\nname = \"c\"\n", "manifest.toml:2:1: key 'name' is defined twice",
	         PP_ERR_LOAD_FAILED},
	        {"name = \"b\"\nid = 12\n", "manifest.toml:2:6: key 'id': 12 is not the id",
	         PP_ERR_LOAD_FAILED},
	        {"name = \"b\"\nprovides = [\"m.B\"]\n",
	         "manifest.toml:2:13: key 'provides': 'm.B' is not a contract", PP_ERR_LOAD_FAILED},
	        {"name = \"b\"\nprovides = [\"m.B@1\"]\nfunction_count = { \"m.C@1\" = 1 }\n",
	         "key 'function_count': 'm.C@1' is not in provides", PP_ERR_LOAD_FAILED},
	        {"name = \"b\"\nfile = \"../x.js\"\n", "key 'file': '../x.js' is not a file name",
	         PP_ERR_LOAD_FAILED},
	        {"name = \"b\"\n[file]\nwindows.x86_64 = \"b.dll\"\n",
	         "key 'file': no entry for this platform", PP_ERR_LOAD_FAILED},
	        {"name = \"b\"\n[[dependency]]\ncontract = \"m.X@2\"\nmin_version = \"1.0\"\n",
	         "manifest.toml:4:15: key 'min_version': major 1 does not match",
	         PP_ERR_LOAD_FAILED},
	        /* packed, 0.5 would read as "major 5" and never be met */
	        {"name = \"b\"\n[[dependency]]\ncontract = \"m.X@0\"\nmin_version = \"0.5\"\n",
	         "manifest.toml:4:15: key 'min_version': \"0.5\": a minimum minor of a major-0 "
	         "contract cannot be required",
	         PP_ERR_LOAD_FAILED},
	        {"name = \"b\"\n[[dependency]]\nmin_version = \"1.0\"\n",
	         "a dependency needs 'contract'", PP_ERR_LOAD_FAILED},
	        /* only digits: strtoul's leniency (space, sign, "-0") is not a version */
	        {"name = \"b\"\n[[dependency]]\ncontract = \"m.X@1\"\nmin_version = \" 1.0\"\n",
	         "manifest.toml:4:15: key 'min_version': ' 1.0' is not a version",
	         PP_ERR_LOAD_FAILED},
	        {"name = \"b\"\n[[dependency]]\ncontract = \"m.X@1\"\nmin_version = \"+1.0\"\n",
	         "key 'min_version': '+1.0' is not a version", PP_ERR_LOAD_FAILED},
	        {"name = \"b\"\n[[dependency]]\ncontract = \"m.X@0\"\nmin_version = \"-0\"\n",
	         "key 'min_version': '-0' is not a version", PP_ERR_LOAD_FAILED},
	        {"name = \"b\"\n[[dependency]]\ncontract = \"m.X@1\"\nmin_version = \"1.\"\n",
	         "key 'min_version': '1.' is not a version", PP_ERR_LOAD_FAILED},
	        {"name = \"b\"\n[[dependency]]\ncontract = \"m.X@1\"\nmin_version = \"1.2.\"\n",
	         "key 'min_version': '1.2.' is not a version", PP_ERR_LOAD_FAILED},
	        {"name = \"b\"\n[[dependency]]\ncontract = \"m.X@1\"\nmin_version = \"1.0 \"\n",
	         "key 'min_version': '1.0 ' is not a version", PP_ERR_LOAD_FAILED},
	        {"name = \"b\"\n[[dependency]]\ncontract = \"m.X@1\"\nmin_version = \"1.65536\"\n",
	         "key 'min_version': '1.65536' is not a version", PP_ERR_LOAD_FAILED},
	        {"name = \"b\"\nloader = \"lua\"\n", "no loader named 'lua'", PP_ERR_UNSUPPORTED},
	        {"name = \"b\"\nfile = \"missing.js\"\n", "missing.js", PP_ERR_IO},
	        {"name = \"b\"\nprovides = [\"m.Other@1\"]\n",
	         "declares it provides 'm.Other@1', but its init did not register it",
	         PP_ERR_LOAD_FAILED},
	        {"name = \"b\"\nprovides = [\"m.B@1\"]\nfunction_count = { \"m.B@1\" = 3 }\n",
	         "declares 3 functions for 'm.B@1', but it registered 1", PP_ERR_LOAD_FAILED},
	        {"name = \"b\"\nprovides = [\"m.B@1\", \"m.Other@1\"]\n", "did not register it",
	         PP_ERR_LOAD_FAILED},
	        {"name = \"b\"\nprovides = []\n", "registered 'm.B@1', which", PP_ERR_LOAD_FAILED},
	        {"name = \"b\"\nversion = 1.0\n", "manifest.toml:2:12: floats, dates and times",
	         PP_ERR_LOAD_FAILED},
	        /* the reference's shapes, wrong */
	        {"name = \"b\"\nbundle_name = \"c\"\n",
	         "manifest.toml:2:15: key 'bundle_name': 'c' differs from name = 'b'",
	         PP_ERR_LOAD_FAILED},
	        {"name = \"b\"\n[[dependency]]\nkind = \"contract\"\ncontract = \"m.Bystander\"\n"
	         "contract_id = 0x1234\nmin_version = \"1.0\"\n",
	         "manifest.toml:5:15: key 'contract_id': does not match 'm.Bystander@1'",
	         PP_ERR_LOAD_FAILED},
	        {"name = \"b\"\n[[dependency]]\nkind = \"contract\"\ncontract = \"m.Bystander\"\n",
	         "manifest.toml:4:12: key 'contract': 'm.Bystander' has no @major, so min_version",
	         PP_ERR_LOAD_FAILED},
	        {"name = \"b\"\n[[dependency]]\nkind = \"capability\"\ncontract = "
	         "\"m.Bystander@1\"\n",
	         "manifest.toml:3:8: key 'kind': expected \"contract\" or \"bundle\", found "
	         "'capability'",
	         PP_ERR_LOAD_FAILED},
	        {"name = \"b\"\n[[dependency]]\nkind = \"bundle\"\ncontract = \"m.Bystander@1\"\n",
	         "key 'kind': a \"bundle\" dependency needs 'bundle'", PP_ERR_LOAD_FAILED},
	};
	pp_runtime *rt = rt_new();
	js_load_ok(rt, "bystander", JS_ONE("m.Bystander", "function () { return 0; }"));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		refused_leaving_nothing(rt, i, bad[i].manifest, bad[i].code, bad[i].expect);
	assert_int_equal(js_call(rt, "m.Bystander", 0, NULL, NULL), PP_OK);
	pp_runtime_free(rt);
}

/* C reads a string only up to a NUL: "guarded\u0000x" must not be taken
 * for "guarded", nor "m.A\u0000x" for the contract m.A (found while
 * writing fuzz_manifest; fuzz/regressions/manifest/nul-in-*). */
static void a_nul_in_a_string_value_is_refused_not_read_up_to_it(void **state)
{
	(void)state;
	static const struct {
		const char *manifest, *expect;
	} bad[] = {
	        {"name = \"b\"\nmemory = \"guarded\\u0000x\"\n",
	         "manifest.toml:2:10: key 'memory': contains a NUL character"},
	        {"name = \"b\"\nbundle_name = \"b\\u0000c\"\n",
	         "manifest.toml:2:15: key 'bundle_name': contains a NUL character"},
	        {"name = \"b\"\n[[dependency]]\ncontract = \"m.A@1\"\nbundle = \"a\"\n"
	         "kind = \"bundle\\u0000\"\n",
	         "manifest.toml:5:8: key 'kind': contains a NUL character"},
	        {"name = \"b\"\n[[dependency]]\ncontract = \"m.A\\u0000x\"\nmin_version = "
	         "\"1.0\"\n",
	         "manifest.toml:3:12: key 'contract': contains a NUL character"},
	        {"name = \"b\"\n[[dependency]]\ncontract = \"m.A@1\"\nmin_version = "
	         "\"1.0\\u0000x\"\n",
	         "manifest.toml:4:15: key 'min_version': '1.0' is not a version"},
	};
	pp_runtime *rt = rt_new();
	js_load_ok(rt, "a", JS_ONE("m.A", "function () { return 0; }"));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		refused_leaving_nothing(rt, i, bad[i].manifest, PP_ERR_LOAD_FAILED, bad[i].expect);
	pp_runtime_free(rt);
}

static void dependencies_guard_unload_and_reload_rereads(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char root[256], a[512], b[512];
	temp_dir(root, sizeof root);
	subdir(a, sizeof a, root, "a");
	subdir(b, sizeof b, root, "b");
	js_bundle(a, "bundle.js", "m.A", 1, NULL);
	write_text(a, "manifest.toml", "name = \"a\"\nprovides = [\"m.A@1\"]\n");
	js_bundle(b, "bundle.js", "m.B", 2, "m.A");
	write_text(b, "manifest.toml",
	           "name = \"b\"\nprovides = [\"m.B@1\"]\nbundle_dependencies = [\"a\"]\n");
	assert_int_equal(pp_bundle_load(rt, a, NULL, NULL), PP_OK);
	assert_int_equal(pp_bundle_load(rt, b, NULL, NULL), PP_OK);
	/* a is needed by name */
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("a"), 0), PP_ERR_DEPENDENCY_IN_USE);
	assert_contains(pp_last_error(rt), "'b'");
	/* reload reads the manifest again: the new version provides another contract */
	js_bundle(a, "bundle.js", "m.A2", 5, NULL);
	write_text(a, "manifest.toml", "name = \"a\"\nprovides = [\"m.A2@1\"]\n");
	assert_int_equal(pp_bundle_reload(rt, pp_bundle_id("a")), PP_OK);
	assert_int_equal(value_of(rt, "m.A2"), 5);
	/* a reload whose manifest is broken keeps the old version */
	write_text(a, "manifest.toml", "name = \"a\"\nprovides = [\"m.A2@1\"\n");
	assert_int_equal(pp_bundle_reload(rt, pp_bundle_id("a")), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "manifest.toml:3:1: unterminated array");
	assert_int_equal(value_of(rt, "m.A2"), 5);
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("a"), PP_UNLOAD_CASCADE), PP_OK);
	assert_int_equal(bundle_count(rt), 0);
	pp_runtime_free(rt);
	remove_tree(root);
}

/* A new version that declares a new dependency sees it during its init
 * (the trust rule follows the manifest being loaded, not the old one). */
static void reload_applies_new_dependencies(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char root[256], a[512], b[512];
	temp_dir(root, sizeof root);
	js_bundle(subdir(a, sizeof a, root, "a"), "bundle.js", "m.A", 1, NULL);
	write_text(a, "manifest.toml", "name = \"a\"\nprovides = [\"m.A@1\"]\n");
	js_bundle(subdir(b, sizeof b, root, "b"), "bundle.js", "m.B", 2, NULL);
	write_text(b, "manifest.toml", "name = \"b\"\nprovides = [\"m.B@1\"]\n");
	assert_int_equal(pp_bundle_load(rt, a, NULL, NULL), PP_OK);
	assert_int_equal(pp_bundle_load(rt, b, NULL, NULL), PP_OK);
	/* v2 of b looks m.A up at init: without declaring it, it cannot see it */
	js_bundle(b, "bundle.js", "m.B", 3, "m.A");
	assert_int_equal(pp_bundle_reload(rt, pp_bundle_id("b")), PP_ERR_INIT_FAILED);
	assert_int_equal(value_of(rt, "m.B"), 2);
	write_text(b, "manifest.toml",
	           "name = \"b\"\nprovides = [\"m.B@1\"]\n[[dependency]]\ncontract = \"m.A@1\"\n");
	assert_int_equal(pp_bundle_reload(rt, pp_bundle_id("b")), PP_OK);
	assert_int_equal(value_of(rt, "m.B"), 3);
	/* and now it guards a */
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("a"), 0), PP_ERR_DEPENDENCY_IN_USE);
	pp_runtime_free(rt);
	remove_tree(root);
}

/* Bundle a (m.A@1) and bundle b (m.B@1, which declares it needs m.A@1) in
 * fresh directories under root, not loaded. */
static void a_and_its_dependent_b(char *root, size_t rcap, char *a, char *b, size_t cap)
{
	temp_dir(root, rcap);
	js_bundle(subdir(a, cap, root, "a"), "bundle.js", "m.A", 1, NULL);
	write_text(a, "manifest.toml", "name = \"a\"\nprovides = [\"m.A@1\"]\n");
	js_bundle(subdir(b, cap, root, "b"), "bundle.js", "m.B", 2, "m.A");
	write_text(b, "manifest.toml",
	           "name = \"b\"\nprovides = [\"m.B@1\"]\n[[dependency]]\ncontract = \"m.A@1\"\n");
}

/* A reload may change what a bundle provides, but not so that a dependent
 * loses what it needs, and its own new needs must be met like a load's. */
static void a_reload_never_leaves_a_dependent_without_what_it_needs(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char root[256], a[512], b[512];
	a_and_its_dependent_b(root, sizeof root, a, b, sizeof a);
	assert_int_equal(pp_bundle_load(rt, a, NULL, NULL), PP_OK);
	assert_int_equal(pp_bundle_load(rt, b, NULL, NULL), PP_OK);
	/* a's new version would stop providing m.A@1, which b needs */
	js_bundle(a, "bundle.js", "m.A2", 5, NULL);
	write_text(a, "manifest.toml", "name = \"a\"\nprovides = [\"m.A2@1\"]\n");
	assert_int_equal(pp_bundle_reload(rt, pp_bundle_id("a")), PP_ERR_DEPENDENCY_IN_USE);
	assert_contains(pp_last_error(rt), "cannot reload bundle 'a': bundle 'b' needs contract "
	                                   "'m.A@1' (min version 1.0), which its new version "
	                                   "does not provide");
	assert_int_equal(value_of(rt, "m.A"), 1);
	assert_int_equal(value_of(rt, "m.B"), 2);
	/* providing it alongside something new is fine */
	js_bundle(a, "bundle.js", "m.A", 3, NULL);
	write_text(a, "manifest.toml", "name = \"a\"\nprovides = [\"m.A@1\"]\n");
	assert_int_equal(pp_bundle_reload(rt, pp_bundle_id("a")), PP_OK);
	assert_int_equal(value_of(rt, "m.A"), 3);
	/* b's new version needs what nobody provides: refused like a load */
	write_text(b, "manifest.toml",
	           "name = \"b\"\nprovides = [\"m.B@1\"]\n[[dependency]]\ncontract = \"m.A@1\"\n"
	           "[[dependency]]\ncontract = \"m.Gone@1\"\n");
	assert_int_equal(pp_bundle_reload(rt, pp_bundle_id("b")), PP_ERR_NOT_FOUND);
	assert_contains(pp_last_error(rt),
	                "bundle 'b' needs contract 'm.Gone@1' (min version 1.0), "
	                "which no loaded bundle provides");
	assert_int_equal(value_of(rt, "m.B"), 2);
	/* a dependency that names its provider is met by that bundle only */
	write_text(b, "manifest.toml",
	           "name = \"b\"\nprovides = [\"m.B@1\"]\n[[dependency]]\ncontract = \"m.A@1\"\n"
	           "bundle = \"other\"\n");
	assert_int_equal(pp_bundle_reload(rt, pp_bundle_id("b")), PP_ERR_NOT_FOUND);
	assert_contains(pp_last_error(rt),
	                "needs contract 'm.A@1' (min version 1.0) from bundle 'other'");
	assert_int_equal(bundle_count(rt), 2);
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("a"), PP_UNLOAD_CASCADE), PP_OK);
	assert_int_equal(bundle_count(rt), 0);
	pp_runtime_free(rt);
	remove_tree(root);
}

/* What the host does when it hears that bundle `of` is unloading. */
typedef struct at_unloading {
	pp_runtime *rt;
	const char *of;
	pp_status (*act)(struct at_unloading *u);
	char a[512], b[512];
	int tries;
	pp_status st;
	char error[512];
} at_unloading;

static void act_at_unloading(void *ud, uint64_t id, const char *name, uint32_t phase,
                             const char *reason)
{
	(void)id;
	(void)reason;
	at_unloading *u = ud;
	if (phase != PP_RELOAD_UNLOADING || strcmp(name, u->of) != 0)
		return;
	u->tries++;
	u->st = u->act(u);
	snprintf(u->error, sizeof u->error, "%s", pp_last_error(u->rt));
}

static pp_status load_b(at_unloading *u)
{
	return pp_bundle_load(u->rt, u->b, NULL, NULL);
}

/* Reloads a into a version that provides m.A2@1 instead of m.A@1. */
static pp_status reload_a_without_m_a(at_unloading *u)
{
	js_bundle(u->a, "bundle.js", "m.A2", 5, NULL);
	write_text(u->a, "manifest.toml", "name = \"a\"\nprovides = [\"m.A2@1\"]\n");
	return pp_bundle_reload(u->rt, pp_bundle_id("a"));
}

/* Two bundles may come to need each other (a reload adds the need, or the
 * other provider of what one needs goes away): neither unloads alone, a
 * cascading unload of either takes both, and pp_runtime_free frees both
 * (the cascade used to chase the cycle to its depth limit, and teardown
 * then leaked both bundles). */
static void bundles_that_need_each_other_unload_together(void **state)
{
	(void)state;
	char root[256], a[512], b[512];
	for (int how = 0; how < 3; how++) {
		pp_runtime *rt = rt_new();
		a_and_its_dependent_b(root, sizeof root, a, b, sizeof a);
		assert_int_equal(pp_bundle_load(rt, a, NULL, NULL), PP_OK);
		assert_int_equal(pp_bundle_load(rt, b, NULL, NULL), PP_OK);
		/* a's new version needs m.B@1, which b serves: a cycle */
		write_text(a, "manifest.toml",
		           "name = \"a\"\nprovides = [\"m.A@1\"]\n[[dependency]]\ncontract = "
		           "\"m.B@1\"\n");
		assert_int_equal(pp_bundle_reload(rt, pp_bundle_id("a")), PP_OK);
		assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("a"), 0),
		                 PP_ERR_DEPENDENCY_IN_USE);
		assert_contains(pp_last_error(rt), "'b' depends on it");
		assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("b"), 0),
		                 PP_ERR_DEPENDENCY_IN_USE);
		assert_contains(pp_last_error(rt), "'a' depends on it");
		assert_int_equal(value_of(rt, "m.A"), 1);
		if (how < 2) {
			uint64_t id = pp_bundle_id(how == 0 ? "a" : "b");
			assert_int_equal(pp_bundle_unload(rt, id, PP_UNLOAD_CASCADE), PP_OK);
			assert_int_equal(bundle_count(rt), 0);
		}
		pp_runtime_free(rt); /* how 2: the cycle is still loaded (LeakSanitizer) */
		remove_tree(root);
	}

	/* the other way: c also provides m.A@1 and needs m.B@1; once a goes,
	 * b needs c and c needs b */
	pp_runtime *rt = rt_new();
	char c[512];
	a_and_its_dependent_b(root, sizeof root, a, b, sizeof a);
	js_bundle(subdir(c, sizeof c, root, "c"), "bundle.js", "m.A", 3, NULL);
	write_text(c, "manifest.toml",
	           "name = \"c\"\nprovides = [\"m.A@1\"]\n[[dependency]]\ncontract = \"m.B@1\"\n");
	assert_int_equal(pp_bundle_load(rt, a, NULL, NULL), PP_OK);
	assert_int_equal(pp_bundle_load(rt, b, NULL, NULL), PP_OK);
	assert_int_equal(pp_bundle_load(rt, c, NULL, NULL), PP_OK);
	/* c serves what b needs: a may go without taking b */
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("a"), 0), PP_OK);
	assert_int_equal(value_of(rt, "m.A"), 3);
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("c"), 0), PP_ERR_DEPENDENCY_IN_USE);
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("c"), PP_UNLOAD_CASCADE), PP_OK);
	assert_int_equal(bundle_count(rt), 0);
	pp_runtime_free(rt);
	remove_tree(root);
}

/* b needs a. While the host hears that b unloads, b is still published,
 * so what it needs stays: unloading a from that callback is refused (an
 * unloading dependent once stopped counting). */
typedef struct at_b_unloading {
	pp_runtime *rt;
	pp_status st;
	int32_t b_answers;
} at_b_unloading;

static void unload_a_when_b_unloads(void *ud, uint64_t id, const char *name, uint32_t phase,
                                    const char *why)
{
	(void)id;
	(void)why;
	at_b_unloading *u = ud;
	if (phase == PP_RELOAD_UNLOADING && strcmp(name, "b") == 0) {
		u->st = pp_bundle_unload(u->rt, pp_bundle_id("a"), 0);
		u->b_answers = value_of(u->rt, "m.B");
	}
}

static void an_unloading_dependent_still_holds_what_it_needs(void **state)
{
	(void)state;
	at_b_unloading u = {.st = PP_OK};
	pp_runtime *rt = u.rt = rt_reporting(unload_a_when_b_unloads, &u);
	char root[256], a[512], b[512];
	a_and_its_dependent_b(root, sizeof root, a, b, sizeof a);
	assert_int_equal(pp_bundle_load(rt, a, NULL, NULL), PP_OK);
	assert_int_equal(pp_bundle_load(rt, b, NULL, NULL), PP_OK);
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("b"), 0), PP_OK);
	assert_int_equal(u.st, PP_ERR_DEPENDENCY_IN_USE);
	assert_int_equal(u.b_answers, 2);
	assert_int_equal(value_of(rt, "m.A"), 1);
	pp_runtime_free(rt);
	remove_tree(root);
}

/* A cascade takes any number of direct dependents (each sibling once
 * counted as relying on the next, since their common provider was on its
 * way out, and the cascade ran into its depth limit at 64). */
static void a_cascade_takes_any_number_of_direct_dependents(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char root[256];
	temp_dir(root, sizeof root);
	bundle_with(root, "base", "m.Base", 1, "");
	load_named(rt, root, "base");
	for (int i = 0; i < 100; i++) {
		char name[16], contract[16];
		snprintf(name, sizeof name, "fan%03d", i);
		snprintf(contract, sizeof contract, "m.F%03d", i);
		bundle_with(root, name, contract, i, "[[dependency]]\ncontract = \"m.Base@1\"\n");
		load_named(rt, root, name);
	}
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("base"), 0), PP_ERR_DEPENDENCY_IN_USE);
	assert_contains(pp_last_error(rt), " and 52 more depend on it"); /* too many to name */
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("base"), PP_UNLOAD_CASCADE), PP_OK);
	assert_int_equal(bundle_count(rt), 0);
	pp_runtime_free(rt);
	remove_tree(root);
}

/* Threads loading a, b (needs a) and c (needs b) and unloading them, with
 * and without cascades, never leave a dependent listed without what it
 * needs, and everything stays consistent to the end. */
typedef struct chain_churn {
	pp_runtime *rt;
	const char *dirs[3];
	unsigned seed;
	atomic_bool *stop;
} chain_churn;

static void *churn_chain(void *p)
{
	chain_churn *c = p;
	while (!atomic_load(c->stop)) {
		c->seed = c->seed * 1103515245u + 12345u;
		unsigned pick = (c->seed >> 16) % 6;
		if (pick < 3)
			(void)pp_bundle_load(c->rt, c->dirs[pick], NULL, NULL);
		else
			(void)pp_bundle_unload(c->rt, pp_bundle_id(pick == 4 ? "b" : "a"),
			                       pick == 5 ? 0 : PP_UNLOAD_CASCADE);
	}
	return NULL;
}

typedef struct listed {
	bool a, b, c;
} listed;

static void list_one(void *ud, const pp_bundle_info *info)
{
	listed *l = ud;
	l->a |= strcmp(info->name, "a") == 0;
	l->b |= strcmp(info->name, "b") == 0;
	l->c |= strcmp(info->name, "c") == 0;
}

static void dependents_never_outlive_what_they_need_under_concurrent_unloads(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char root[256], a[512], b[512], c[512];
	a_and_its_dependent_b(root, sizeof root, a, b, sizeof a);
	js_bundle(subdir(c, sizeof c, root, "c"), "bundle.js", "m.C", 3, NULL);
	write_text(c, "manifest.toml",
	           "name = \"c\"\nprovides = [\"m.C@1\"]\n[[dependency]]\ncontract = \"m.B@1\"\n");
	atomic_bool stop = false;
	chain_churn t[3];
	pthread_t th[3];
	for (int i = 0; i < 3; i++) {
		t[i] = (chain_churn){rt, {a, b, c}, 7919u * (unsigned)i + 1, &stop};
		assert_int_equal(pthread_create(&th[i], NULL, churn_chain, &t[i]), 0);
	}
	long bad = 0, looks = 0;
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		listed l = {false, false, false};
		pp_bundle_foreach(rt, list_one, &l);
		bad += (l.b && !l.a) || (l.c && !l.b);
		looks++;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - t0.tv_sec < 2);
	atomic_store(&stop, true);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	if (bad)
		fail_msg("%ld of %ld listings had a dependent without what it needs", bad, looks);
	pp_runtime_free(rt);
	remove_tree(root);
}

/* A cascade takes everything that relies on what it takes, however the
 * needs are shaped: c needs a and b (b needs a), by contract or by name; a
 * cycle a <-> b with c needing both; and a ring of 70 (past the 64 levels a
 * recursive cascade once had), which pp_runtime_free frees whole too. */
static int unloads_seen;

static void count_unloads(void *ud, uint64_t id, const char *name, uint32_t phase, const char *why)
{
	(void)ud;
	(void)id;
	(void)name;
	(void)why;
	unloads_seen += phase == PP_RELOAD_UNLOADING;
}

static void a_cascade_leaves_nothing_that_needed_what_it_took(void **state)
{
	(void)state;
	char root[256], a[512], b[512], c[512];
	static const char *const c_needs[] = {
	        "[[dependency]]\ncontract = \"m.A@1\"\n[[dependency]]\ncontract = \"m.B@1\"\n",
	        "bundle_dependencies = [\"b\"]\n[[dependency]]\ncontract = \"m.A@1\"\n"};
	for (int shape = 0; shape < 3; shape++) {
		pp_runtime *rt = rt_new();
		a_and_its_dependent_b(root, sizeof root, a, b, sizeof a);
		char text[256];
		snprintf(text, sizeof text, "name = \"c\"\nprovides = [\"m.C@1\"]\n%s",
		         c_needs[shape == 1]);
		js_bundle(subdir(c, sizeof c, root, "c"), "bundle.js", "m.C", 3, NULL);
		write_text(c, "manifest.toml", text);
		assert_int_equal(pp_bundle_load(rt, a, NULL, NULL), PP_OK);
		assert_int_equal(pp_bundle_load(rt, b, NULL, NULL), PP_OK);
		assert_int_equal(pp_bundle_load(rt, c, NULL, NULL), PP_OK);
		if (shape == 2) { /* a now needs b: a cycle, c needing both */
			write_text(
			        a, "manifest.toml",
			        "name = \"a\"\nprovides = [\"m.A@1\"]\n[[dependency]]\ncontract = "
			        "\"m.B@1\"\n");
			assert_int_equal(pp_bundle_reload(rt, pp_bundle_id("a")), PP_OK);
		}
		assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("a"), PP_UNLOAD_CASCADE), PP_OK);
		assert_int_equal(bundle_count(rt), 0);
		pp_runtime_free(rt);
		remove_tree(root);
	}

	enum { RING = 70 };
	unloads_seen = 0;
	pp_runtime *rt = rt_reporting(count_unloads, NULL);
	char text[256];
	temp_dir(root, sizeof root);
	for (int i = 0; i < RING; i++) {
		char name[16], contract[16];
		snprintf(name, sizeof name, "p%03d", i);
		snprintf(contract, sizeof contract, "m.P%03d", i);
		snprintf(text, sizeof text, "[[dependency]]\ncontract = \"m.P%03d@1\"\n", i - 1);
		bundle_with(root, name, contract, i, i > 0 ? text : "");
		load_named(rt, root, name);
	}
	snprintf(text, sizeof text, "[[dependency]]\ncontract = \"m.P%03d@1\"\n", RING - 1);
	char dir[512];
	snprintf(dir, sizeof dir, "%s/p000", root);
	remove_tree(dir);
	bundle_with(root, "p000", "m.P000", 0, text); /* it now needs the last */
	assert_int_equal(pp_bundle_reload(rt, pp_bundle_id("p000")), PP_OK);
	pp_runtime_free(rt); /* the ring is one cycle of 70: freed whole */
	assert_int_equal(unloads_seen, RING);
	remove_tree(root);
}

/* A cascade that finds a dependent another thread is unloading waits for
 * that unload and then goes on (it failed with "no bundle with id ..."). */
typedef struct slow_b {
	pp_runtime *rt;
	atomic_int in_callback;
} slow_b;

static void slow_when_b_unloads(void *ud, uint64_t id, const char *name, uint32_t phase,
                                const char *why)
{
	(void)id;
	(void)why;
	slow_b *s = ud;
	if (phase == PP_RELOAD_UNLOADING && strcmp(name, "b") == 0) {
		atomic_store(&s->in_callback, 1);
		struct timespec pause = {0, 200000000L};
		nanosleep(&pause, NULL);
	}
}

static void *unload_b(void *p)
{
	slow_b *s = p;
	return (void *)(intptr_t)pp_bundle_unload(s->rt, pp_bundle_id("b"), 0);
}

static void a_cascade_waits_for_a_dependent_another_thread_unloads(void **state)
{
	(void)state;
	slow_b s = {.in_callback = 0};
	pp_runtime *rt = s.rt = rt_reporting(slow_when_b_unloads, &s);
	char root[256], a[512], b[512];
	a_and_its_dependent_b(root, sizeof root, a, b, sizeof a);
	assert_int_equal(pp_bundle_load(rt, a, NULL, NULL), PP_OK);
	assert_int_equal(pp_bundle_load(rt, b, NULL, NULL), PP_OK);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, unload_b, &s), 0);
	while (!atomic_load(&s.in_callback))
		sched_yield();
	pp_status st = pp_bundle_unload(rt, pp_bundle_id("a"), PP_UNLOAD_CASCADE);
	if (st != PP_OK)
		fail_msg("cascade: %u %s", st, pp_last_error(rt));
	void *other;
	pthread_join(th, &other);
	assert_int_equal((intptr_t)other, PP_OK);
	assert_int_equal(bundle_count(rt), 0);
	pp_runtime_free(rt);
	remove_tree(root);
}

/* ---- What a cascade reports, and in what order ------------------------------ */

static char unloading_order[512];

static void record_unloading(void *ud, uint64_t id, const char *name, uint32_t phase,
                             const char *why)
{
	(void)id;
	(void)why;
	if (phase == PP_RELOAD_UNLOADING) {
		size_t n = strlen(unloading_order);
		snprintf(unloading_order + n, sizeof unloading_order - n, "%s ", name);
	}
	if (ud && phase == PP_RELOAD_UNLOADING) /* the operations of the test below */
		((void (*)(const char *))ud)(name);
}

/* UNLOADING comes dependents first, by what each really relies on: b needs
 * a by name, a needs m.B, which b provides but z serves too (so a does not
 * rely on b): b before a. A cycle a <-> b needing c: c last. */
static void a_cascade_reports_dependents_first(void **state)
{
	(void)state;
	char root[256];
	temp_dir(root, sizeof root);
	bundle_with(root, "z", "m.B", 9, "");
	bundle_with(root, "a", "m.A", 1, "[[dependency]]\ncontract = \"m.B@1\"\n");
	bundle_with(root, "b", "m.B", 2, "bundle_dependencies = [\"a\"]\n");
	pp_runtime *rt = rt_reporting(record_unloading, NULL);
	load_named(rt, root, "z");
	load_named(rt, root, "a");
	load_named(rt, root, "b");
	unloading_order[0] = '\0';
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("a"), PP_UNLOAD_CASCADE), PP_OK);
	assert_string_equal(unloading_order, "b a ");
	pp_runtime_free(rt);
	remove_tree(root);

	temp_dir(root, sizeof root);
	bundle_with(root, "c", "m.C", 3, "");
	bundle_with(root, "a", "m.A", 1, "[[dependency]]\ncontract = \"m.C@1\"\n");
	bundle_with(root, "b", "m.B", 2, "[[dependency]]\ncontract = \"m.A@1\"\n");
	rt = rt_reporting(record_unloading, NULL);
	load_named(rt, root, "c");
	load_named(rt, root, "a");
	load_named(rt, root, "b");
	char dir[512];
	snprintf(dir, sizeof dir, "%s/a", root);
	write_text(dir, "manifest.toml",
	           "name = \"a\"\nprovides = [\"m.A@1\"]\n[[dependency]]\ncontract = \"m.C@1\"\n"
	           "[[dependency]]\ncontract = \"m.B@1\"\n");
	assert_int_equal(pp_bundle_reload(rt, pp_bundle_id("a")), PP_OK);
	unloading_order[0] = '\0';
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("c"), PP_UNLOAD_CASCADE), PP_OK);
	assert_int_equal(strlen(unloading_order), 6);
	assert_string_equal(unloading_order + 4, "c ");
	assert_int_equal(bundle_count(rt), 0);
	pp_runtime_free(rt);
	remove_tree(root);
}

/* While a cascade takes {y, d}, q1 is relied on by nobody: d needs m.Q,
 * which q2 serves too. Reloading and unloading q1 from the callback go
 * through (d's need of y, already on its way out, once counted against
 * every other bundle). */
static pp_runtime *window_rt;
static pp_status window_reload, window_unload;

static void act_in_window(const char *name)
{
	if (strcmp(name, "d") != 0)
		return;
	window_reload = pp_bundle_reload(window_rt, pp_bundle_id("q1"));
	window_unload = pp_bundle_unload(window_rt, pp_bundle_id("q1"), 0);
}

static void a_cascade_holds_only_what_its_members_rely_on(void **state)
{
	(void)state;
	char root[256];
	temp_dir(root, sizeof root);
	bundle_with(root, "y", "m.Y", 1, "");
	bundle_with(root, "q1", "m.Q", 2, "");
	bundle_with(root, "q2", "m.Q", 3, "");
	bundle_with(root, "d", "m.D", 4,
	            "[[dependency]]\ncontract = \"m.Y@1\"\n[[dependency]]\ncontract = \"m.Q@1\"\n");
	window_reload = window_unload = PP_ERR_GENERIC;
	pp_runtime *rt = window_rt = rt_reporting(record_unloading, (void *)act_in_window);
	load_named(rt, root, "y");
	load_named(rt, root, "q1");
	load_named(rt, root, "q2");
	load_named(rt, root, "d");
	pp_status st = pp_bundle_unload(rt, pp_bundle_id("y"), PP_UNLOAD_CASCADE);
	if (st != PP_OK)
		fail_msg("cascade: %u %s", st, pp_last_error(rt));
	assert_int_equal(window_reload, PP_OK);
	assert_int_equal(window_unload, PP_OK);
	assert_int_equal(bundle_count(rt), 1); /* q2 */
	pp_runtime_free(rt);
	remove_tree(root);
}

/* Once an unload is under way, what it unloads meets nobody's needs: a
 * dependent loaded in that window would outlive its dependency. */
static void a_dependent_loaded_while_its_dependency_unloads_is_refused(void **state)
{
	(void)state;
	at_unloading u = {.of = "a", .act = load_b, .st = PP_OK};
	pp_runtime *rt = u.rt = rt_reporting(act_at_unloading, &u);
	char root[256];
	a_and_its_dependent_b(root, sizeof root, u.a, u.b, sizeof u.a);
	assert_int_equal(pp_bundle_load(rt, u.a, NULL, NULL), PP_OK);
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("a"), 0), PP_OK);
	assert_int_equal(u.tries, 1);
	assert_int_equal(u.st, PP_ERR_NOT_FOUND);
	assert_contains(u.error, "bundle 'b' needs contract 'm.A@1' (min version 1.0), "
	                         "which no loaded bundle provides");
	assert_int_equal(bundle_count(rt), 0);
	/* the same by name */
	write_text(u.b, "manifest.toml",
	           "name = \"b\"\nprovides = [\"m.B@1\"]\nbundle_dependencies = [\"a\"]\n");
	assert_int_equal(pp_bundle_load(rt, u.a, NULL, NULL), PP_OK);
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("a"), 0), PP_OK);
	assert_int_equal(u.tries, 2);
	assert_int_equal(u.st, PP_ERR_NOT_FOUND);
	assert_contains(u.error, "bundle 'b' needs bundle 'a', which is not loaded");
	assert_int_equal(bundle_count(rt), 0);
	pp_runtime_free(rt);
	remove_tree(root);
}

/* A bundle being unloaded is still published until it goes: while the
 * host hears of it, what it needs stays. */
static void a_reload_cannot_drop_what_an_unloading_dependent_needs(void **state)
{
	(void)state;
	at_unloading u = {.of = "b", .act = reload_a_without_m_a, .st = PP_OK};
	pp_runtime *rt = u.rt = rt_reporting(act_at_unloading, &u);
	char root[256];
	a_and_its_dependent_b(root, sizeof root, u.a, u.b, sizeof u.a);
	assert_int_equal(pp_bundle_load(rt, u.a, NULL, NULL), PP_OK);
	assert_int_equal(pp_bundle_load(rt, u.b, NULL, NULL), PP_OK);
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("b"), 0), PP_OK);
	assert_int_equal(u.tries, 1);
	assert_int_equal(u.st, PP_ERR_DEPENDENCY_IN_USE);
	assert_contains(u.error, "cannot reload bundle 'a': bundle 'b' needs contract 'm.A@1'");
	/* once b is gone, nothing holds a back */
	assert_int_equal(pp_bundle_reload(rt, pp_bundle_id("a")), PP_OK);
	assert_int_equal(value_of(rt, "m.A2"), 5);
	pp_runtime_free(rt);
	remove_tree(root);
}

typedef struct reloads_seen {
	size_t bundles, reloaded_once;
} reloads_seen;

static void count_reloads(void *ud, const pp_bundle_info *info)
{
	reloads_seen *r = ud;
	r->bundles++;
	r->reloaded_once += info->reload_count == 1;
}

/* A reload reinitialises every dependent that asks, however many and
 * however deep: 80 direct dependents and a chain of 80 each behind the
 * last (the reload stopped at 64 of either, silently, and went down the
 * chain on the stack). */
static void every_dependent_that_asks_is_reinitialised_once(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char root[256], text[256];
	temp_dir(root, sizeof root);
	bundle_with(root, "base", "m.Base", 1, "");
	load_named(rt, root, "base");
	for (int i = 0; i < 160; i++) {
		char name[16], contract[16];
		snprintf(name, sizeof name, "%s%03d", i < 80 ? "fan" : "chain", i);
		snprintf(contract, sizeof contract, "m.D%03d", i);
		if (i <= 80)
			snprintf(text, sizeof text, "needs_reinit_on_dep_reload = true\n%s",
			         "[[dependency]]\ncontract = \"m.Base@1\"\n");
		else
			snprintf(text, sizeof text,
			         "needs_reinit_on_dep_reload = true\n[[dependency]]\ncontract = "
			         "\"m.D%03d@1\"\n",
			         i - 1);
		bundle_with(root, name, contract, i, text);
		load_named(rt, root, name);
	}
	assert_int_equal(pp_bundle_reload(rt, pp_bundle_id("base")), PP_OK);
	reloads_seen seen = {0, 0};
	pp_bundle_foreach(rt, count_reloads, &seen);
	assert_int_equal(seen.bundles, 161);
	assert_int_equal(seen.reloaded_once, 161); /* each once, base too */
	pp_runtime_free(rt);
	remove_tree(root);
}

/* What a manifest lists is bounded (each entry is checked against what is
 * loaded at every load), and a function_count names what provides lists:
 * without provides it names nothing and is refused, not ignored. */
static void long_lists_and_stray_counts_are_refused(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char dir[256];
	temp_dir(dir, sizeof dir);
	js_bundle(dir, "bundle.js", "m.One", 1, NULL);
	static const char *const keys[] = {"provides", "dependencies", "bundle_dependencies"};
	size_t cap = 128u << 10;
	char *text = malloc(cap);
	assert_non_null(text);
	for (size_t k = 0; k < 3; k++) {
		size_t used = (size_t)snprintf(text, cap, "name = \"one\"\n%s = [", keys[k]);
		for (int i = 0; i < 257; i++)
			used += (size_t)snprintf(text + used, cap - used,
			                         k == 1   ? "%s{ contract = \"m.D%d@1\" }"
			                         : k == 0 ? "%s\"m.P%d@1\""
			                                  : "%s\"b%d\"",
			                         i ? ", " : "", i);
		snprintf(text + used, cap - used, "]\n");
		write_text(dir, "manifest.toml", text);
		assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_ERR_LOAD_FAILED);
		assert_contains(pp_last_error(rt), "257 entries; at most 256 are read");
	}
	free(text);
	write_text(dir, "manifest.toml", "name = \"one\"\nfunction_count = { \"m.One@1\" = 1 }\n");
	assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "'m.One@1' is not in provides");
	write_text(
	        dir, "manifest.toml",
	        "name = \"one\"\nprovides = [\"m.One@1\"]\nfunction_count = { \"m.One@1\" = 1 }\n");
	assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_OK);
	/* the longest list, each entry with its count: as many as a table holds */
	write_text(dir, "bundle.js",
	           JS_PRELUDE "function polyplug_init() {\n  var r = [];\n"
	                      "  for (var i = 0; i < 256; i++)\n"
	                      "    r.push(reg('m.P' + i, [function () { return 0; }]));\n"
	                      "  return ok(r);\n}\n");
	text = malloc(cap);
	assert_non_null(text);
	size_t used = (size_t)snprintf(text, cap, "name = \"many\"\nprovides = [");
	for (int i = 0; i < 256; i++)
		used += (size_t)snprintf(text + used, cap - used, "%s\"m.P%d@1\"", i ? ", " : "",
		                         i);
	used += (size_t)snprintf(text + used, cap - used, "]\n[function_count]\n");
	for (int i = 0; i < 256; i++)
		used += (size_t)snprintf(text + used, cap - used, "\"m.P%d@1\" = 1\n", i);
	write_text(dir, "manifest.toml", text);
	free(text);
	assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_OK);
	pp_runtime_free(rt);
	remove_tree(dir);
}

/* ---- Plugins directories -------------------------------------------------------- */

typedef struct seen {
	char names[16][32];
	pp_status status[16];
	uint32_t order[16];
	char errors[16][512];
	int n;
} seen;

static void record(void *ud, const pp_dir_entry *e)
{
	seen *s = ud;
	snprintf(s->names[s->n], sizeof s->names[0], "%s", e->name);
	s->status[s->n] = e->status;
	s->order[s->n] = e->order;
	snprintf(s->errors[s->n], sizeof s->errors[0], "%s", e->error ? e->error : "");
	s->n++;
}

static int find_seen(const seen *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return i;
	fail_msg("bundle %s was not reported", name);
	return -1;
}

static void plugins_load_in_dependency_order(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char root[256], d[512];
	temp_dir(root, sizeof root);
	/* 1-last needs 2-middle's contract; 2-middle needs 3-first by name:
	 * directory order is the reverse of what works (min_version's patch is
	 * allowed and ignored) */
	js_bundle(subdir(d, sizeof d, root, "1-last"), "bundle.js", "m.Last", 1, "m.Middle");
	write_text(d, "manifest.toml",
	           "name = \"last\"\nprovides = [\"m.Last@1\"]\n"
	           "[[dependency]]\nkind = \"contract\"\ncontract = \"m.Middle@1\"\nmin_version = "
	           "\"1.0.3\"\n");
	js_bundle(subdir(d, sizeof d, root, "2-middle"), "bundle.js", "m.Middle", 2, "m.First");
	write_text(d, "manifest.toml",
	           "name = \"middle\"\nprovides = [\"m.Middle@1\"]\nbundle_dependencies = "
	           "[\"first\"]\n");
	js_bundle(subdir(d, sizeof d, root, "3-first"), "bundle.js", "m.First", 3, NULL);
	write_text(d, "manifest.toml", "name = \"first\"\nprovides = [\"m.First@1\"]\n");
	/* not bundles: skipped */
	subdir(d, sizeof d, root, "docs");
	write_text(root, "README", "plugins live here\n");
	/* a bundle without a manifest loads first */
	js_bundle(subdir(d, sizeof d, root, "4-plain"), "bundle.js", "m.Plain", 4, NULL);

	seen s = {.n = 0};
	size_t loaded = 0;
	assert_int_equal(pp_bundle_load_dir(rt, root, record, &s, &loaded), PP_OK);
	assert_int_equal(loaded, 4);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.order[find_seen(&s, "first")], s.order[find_seen(&s, "middle")] - 1);
	assert_int_equal(s.order[find_seen(&s, "middle")], s.order[find_seen(&s, "last")] - 1);
	assert_int_equal(s.order[find_seen(&s, "4-plain")], 0);
	assert_int_equal(value_of(rt, "m.Last"), 1);
	assert_int_equal(value_of(rt, "m.First"), 3);
	pp_runtime_free(rt);
	remove_tree(root);
}

/* A log callback that rewrites a manifest when a bundle's init says so:
 * a file changed between the directory's scan and that bundle's load. */
typedef struct rewrite_cue {
	const char *dir, *text;
	int done;
} rewrite_cue;

static void rewrite_on_cue(void *ud, uint32_t level, pp_string_view scope, pp_string_view msg)
{
	(void)level;
	(void)scope;
	rewrite_cue *c = ud;
	if (!c->done && msg.len == 11 && memcmp(msg.ptr, "rewrite-now", 11) == 0) {
		write_text(c->dir, "manifest.toml", c->text);
		c->done = 1;
	}
}

static void id_of_2b(void *ud, const pp_dir_entry *e)
{
	if (strcmp(e->name, "2-b") == 0)
		*(uint64_t *)ud = e->bundle_id;
}

static void a_plugins_directory_loads_the_manifests_its_order_came_from(void **state)
{
	(void)state;
	char root[256], a[512], b[512];
	temp_dir(root, sizeof root);
	/* 1-a has no manifest, so it loads first; its init rewrites 2-b's
	 * manifest to promise a contract 2-b does not provide */
	write_text(subdir(a, sizeof a, root, "1-a"), "bundle.js",
	           JS_PRELUDE "function polyplug_init(hl, hh, cl, ch, bridge) {\n"
	                      "  console.log('rewrite-now');\n"
	                      "  return ok([reg('m.A', [function (i, a, o, ar, b) {\n"
	                      "    b.writeI32(o, 1); return 0; }])]);\n}\n");
	bundle_with(root, "2-b", "m.B", 2, "");
	snprintf(b, sizeof b, "%s/2-b", root);
	rewrite_cue cue = {b, "name = \"2-b\"\nprovides = [\"m.Nope@1\"]\n", 0};
	pp_runtime *rt = rt_logging_to(rewrite_on_cue, &cue, 0);
	size_t loaded = 0;
	uint64_t id = 0;
	pp_status st = pp_bundle_load_dir(rt, root, id_of_2b, &id, &loaded);
	if (st != PP_OK)
		fail_msg("%s", pp_last_error(rt));
	assert_int_equal(cue.done, 1);
	assert_int_equal(loaded, 2);
	assert_int_equal(value_of(rt, "m.B"), 2);
	/* a reload reads the file as it is now */
	assert_int_not_equal(id, 0);
	assert_int_equal(pp_bundle_reload(rt, id), PP_ERR_LOAD_FAILED);
	assert_non_null(strstr(pp_last_error(rt), "m.Nope@1"));
	pp_runtime_free(rt);
	remove_tree(root);
}

/* What polyplug's own files write: name and bundle_name both (the same),
 * the id as hex, a [function_count] table, and generated [[dependency]]
 * tables with a bare contract name, its id and a "major.minor" minimum. */
static void reference_manifests_load_unchanged_and_order_the_directory(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char root[256], d[512], text[1024];
	temp_dir(root, sizeof root);
	js_bundle(subdir(d, sizeof d, root, "1-user"), "bundle.js", "pipeline.User", 1,
	          "pipeline.Validator");
	snprintf(text, sizeof text,
	         "name = \"user\"\nbundle_name = \"user\"\nid = %#llx\nversion = \"1.0.0\"\n"
	         "provides = [\"pipeline.User@1\"]\n"
	         "[function_count]\n\"pipeline.User@1\" = 1\n"
	         "[[dependency]]\nkind = \"contract\"\ncontract = \"pipeline.Validator\"\n"
	         "contract_id = 0x%llX\nmin_version = \"1.0\"\n"
	         "[[dependency]]\nkind = \"bundle\"\nbundle = \"validator\"\nbundle_id = %llu\n"
	         "contract = \"pipeline.Validator\"\ncontract_id = %llu\nmin_version = \"1.0\"\n",
	         (unsigned long long)pp_bundle_id("user"),
	         (unsigned long long)pp_guest_contract_id("pipeline.Validator", 1),
	         (unsigned long long)pp_bundle_id("validator"),
	         (unsigned long long)pp_guest_contract_id("pipeline.Validator", 1));
	write_text(d, "manifest.toml", text);
	js_bundle(subdir(d, sizeof d, root, "2-validator"), "bundle.js", "pipeline.Validator", 2,
	          NULL);
	write_text(d, "manifest.toml",
	           "bundle_name = \"validator\"\nname = \"validator\"\n"
	           "provides = [\"pipeline.Validator@1\"]\n");
	seen s = {.n = 0};
	size_t loaded = 0;
	if (pp_bundle_load_dir(rt, root, record, &s, &loaded) != PP_OK)
		fail_msg("%s: %s / %s", pp_last_error(rt), s.errors[0], s.errors[1]);
	assert_int_equal(loaded, 2);
	/* the bare-named dependency ordered the directory: validator first */
	assert_int_equal(s.order[find_seen(&s, "validator")], 0);
	assert_int_equal(s.order[find_seen(&s, "user")], 1);
	assert_int_equal(value_of(rt, "pipeline.User"), 1);
	/* and it is a real dependency: the validator cannot go first */
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("validator"), 0),
	                 PP_ERR_DEPENDENCY_IN_USE);
	pp_runtime_free(rt);
	remove_tree(root);
}

static void missing_dependencies_and_cycles_are_named(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char root[256], d[512];
	temp_dir(root, sizeof root);
	js_bundle(subdir(d, sizeof d, root, "x"), "bundle.js", "m.X", 1, NULL);
	write_text(d, "manifest.toml",
	           "name = \"x\"\nprovides = [\"m.X@1\"]\n[[dependency]]\ncontract = \"m.Y@1\"\n");
	js_bundle(subdir(d, sizeof d, root, "y"), "bundle.js", "m.Y", 2, NULL);
	write_text(d, "manifest.toml",
	           "name = \"y\"\nprovides = [\"m.Y@1\"]\n[[dependency]]\ncontract = \"m.X@1\"\n");
	js_bundle(subdir(d, sizeof d, root, "lonely"), "bundle.js", "m.L", 3, NULL);
	write_text(d, "manifest.toml",
	           "name = \"lonely\"\nprovides = [\"m.L@1\"]\nbundle_dependencies = [\"ghost\"]\n"
	           "[[dependency]]\ncontract = \"m.Nobody@1\"\n");
	js_bundle(subdir(d, sizeof d, root, "broken"), "bundle.js", "m.Broken", 4, NULL);
	write_text(d, "bundle.js", "function polyplug_init( {\n");
	write_text(d, "manifest.toml", "name = \"broken\"\nprovides = [\"m.Broken@1\"]\n");
	js_bundle(subdir(d, sizeof d, root, "needs-broken"), "bundle.js", "m.NB", 5, NULL);
	write_text(d, "manifest.toml",
	           "name = \"needs-broken\"\nprovides = [\"m.NB@1\"]\nbundle_dependencies = "
	           "[\"broken\"]\n");
	js_bundle(subdir(d, sizeof d, root, "fine"), "bundle.js", "m.Fine", 6, NULL);
	write_text(d, "manifest.toml", "name = \"fine\"\nprovides = [\"m.Fine@1\"]\n");
	/* what a loaded bundle provides meets a need that names another */
	char out[256];
	temp_dir(out, sizeof out);
	js_bundle(out, "bundle.js", "m.Out", 7, NULL);
	pp_load_options o = {.name = "outside"};
	assert_int_equal(pp_bundle_load(rt, out, &o, NULL), PP_OK);
	js_bundle(subdir(d, sizeof d, root, "picky"), "bundle.js", "m.P", 8, NULL);
	write_text(d, "manifest.toml",
	           "name = \"picky\"\nprovides = [\"m.P@1\"]\n[[dependency]]\n"
	           "contract = \"m.Out@1\"\nbundle = \"other\"\n");

	seen s = {.n = 0};
	size_t loaded = 9;
	assert_int_not_equal(pp_bundle_load_dir(rt, root, record, &s, &loaded), PP_OK);
	assert_contains(pp_last_error(rt), "6 of 7 bundles");
	assert_contains(s.errors[find_seen(&s, "picky")],
	                "bundle 'picky' needs contract 'm.Out@1' from bundle 'other', which no "
	                "bundle in");
	assert_int_equal(loaded, 1);
	assert_int_equal(s.status[find_seen(&s, "fine")], PP_OK);
	int x = find_seen(&s, "x"), y = find_seen(&s, "y");
	assert_contains(s.errors[x], "dependency cycle");
	assert_contains(s.errors[x], "'x'");
	assert_contains(s.errors[x], "'y'");
	assert_contains(s.errors[y], "dependency cycle");
	int l = find_seen(&s, "lonely");
	assert_contains(s.errors[l], "bundle 'lonely' needs contract 'm.Nobody@1'");
	int b = find_seen(&s, "broken");
	assert_contains(s.errors[b], "SyntaxError");
	int nb = find_seen(&s, "needs-broken");
	assert_contains(s.errors[nb], "depends on 'broken', which failed");
	assert_int_equal(value_of(rt, "m.Fine"), 6);
	assert_int_equal(bundle_count(rt), 2);
	pp_runtime_free(rt);
	remove_tree(out);
	remove_tree(root);
}

static void lifecycle_events_reach_the_host(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime_config cfg;
	pp_runtime_config_init(&cfg);
	cfg.on_reload = record_event;
	cfg.reload_userdata = &ev;
	cfg.log_level = 0;
	pp_runtime *rt = NULL;
	assert_int_equal(pp_runtime_new(&cfg, &rt), PP_OK);
	char dir[256];
	temp_dir(dir, sizeof dir);
	js_bundle(dir, "bundle.js", "m.E", 1, NULL);
	write_text(dir, "manifest.toml", "name = \"ev\"\n");
	assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_OK);
	assert_int_equal(pp_bundle_reload(rt, pp_bundle_id("ev")), PP_OK);
	write_text(dir, "bundle.js", "syntax error here");
	assert_int_not_equal(pp_bundle_reload(rt, pp_bundle_id("ev")), PP_OK);
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("ev"), 0), PP_OK);
	assert_string_equal(ev.log, "loaded:ev preparing:ev reloaded:ev preparing:ev failed:ev "
	                            "unloading:ev ");
	pp_runtime_free(rt);
	remove_tree(dir);
}

static pp_runtime *replay_rt;
static char replay_at[256];

static void replay_manifest(const char *data, size_t len, const char *name)
{
	const char *broken = manifest_run(replay_rt, replay_at, (const uint8_t *)data, len);
	if (broken)
		fail_msg("%s: %s (%s)", name, broken, pp_last_error(replay_rt));
}

/* Each input of the manifest fuzz corpus, as a bundle's manifest.toml: a
 * refusal names the file, a load unloads (fuzz/manifest_run.h). */
static void the_manifest_fuzz_corpus_names_the_file_or_loads_and_unloads(void **state)
{
	(void)state;
	replay_rt = rt_new();
	temp_dir(replay_at, sizeof replay_at);
	assert_true(manifest_run_prepare(replay_at));
	assert_true(replay_dir(PP_SOURCE_DIR "/fuzz/corpus/manifest", replay_manifest) > 0);
	assert_true(manifest_run_loads > 0);
	replay_dir(PP_SOURCE_DIR "/fuzz/regressions/manifest", replay_manifest);
	/* and a bundle of the corpus loads and is called after them all */
	write_text(replay_at, "manifest.toml", "name = \"fz\"\nfile = \"main.js\"\n");
	assert_int_equal(pp_bundle_load(replay_rt, replay_at, NULL, NULL), PP_OK);
	int32_t out = -1;
	assert_int_equal(js_call(replay_rt, "fz.Main", 0, NULL, &out), PP_OK);
	pp_runtime_free(replay_rt);
	remove_tree(replay_at);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(manifest_sets_name_loader_and_file),
	        cmocka_unit_test(the_hosts_name_overrides_the_manifests),
	        cmocka_unit_test(a_manifest_past_1_mib_is_refused_naming_the_bound),
	        cmocka_unit_test(a_long_bundle_path_is_never_cut_to_another_files_name),
	        cmocka_unit_test(reads_generated_reference_manifests),
	        cmocka_unit_test(bad_manifests_fail_by_file_line_and_key),
	        cmocka_unit_test(a_nul_in_a_string_value_is_refused_not_read_up_to_it),
	        cmocka_unit_test(a_manifest_that_is_not_a_file_of_the_bundle_is_refused),
	        cmocka_unit_test(a_manifest_file_linking_out_fails_alike_whether_its_target_exists),
	        cmocka_unit_test(dependencies_guard_unload_and_reload_rereads),
	        cmocka_unit_test(reload_applies_new_dependencies),
	        cmocka_unit_test(a_reload_never_leaves_a_dependent_without_what_it_needs),
	        cmocka_unit_test(bundles_that_need_each_other_unload_together),
	        cmocka_unit_test(an_unloading_dependent_still_holds_what_it_needs),
	        cmocka_unit_test(a_cascade_takes_any_number_of_direct_dependents),
	        cmocka_unit_test(a_cascade_leaves_nothing_that_needed_what_it_took),
	        cmocka_unit_test(a_cascade_waits_for_a_dependent_another_thread_unloads),
	        cmocka_unit_test(a_cascade_reports_dependents_first),
	        cmocka_unit_test(a_cascade_holds_only_what_its_members_rely_on),
	        cmocka_unit_test(dependents_never_outlive_what_they_need_under_concurrent_unloads),
	        cmocka_unit_test(long_lists_and_stray_counts_are_refused),
	        cmocka_unit_test(every_dependent_that_asks_is_reinitialised_once),
	        cmocka_unit_test(a_dependent_loaded_while_its_dependency_unloads_is_refused),
	        cmocka_unit_test(a_reload_cannot_drop_what_an_unloading_dependent_needs),
	        cmocka_unit_test(plugins_load_in_dependency_order),
	        cmocka_unit_test(
	                teardown_runs_on_the_reclaimer_after_an_unload_and_on_the_loader_when_a_load_fails),
	        cmocka_unit_test(a_plugins_directory_loads_the_manifests_its_order_came_from),
	        cmocka_unit_test(reference_manifests_load_unchanged_and_order_the_directory),
	        cmocka_unit_test(missing_dependencies_and_cycles_are_named),
	        cmocka_unit_test(lifecycle_events_reach_the_host),
	        cmocka_unit_test(the_manifest_fuzz_corpus_names_the_file_or_loads_and_unloads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
