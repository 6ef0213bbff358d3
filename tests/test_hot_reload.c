/*
 * test_hot_reload.c — the watcher (pp_watch_start): one reload per save,
 * JS and native bundles rewritten while other threads keep calling them
 * (every call gets the old or the new answer, never an error, and after the
 * reload only the new one), a new version that fails to load, and
 * needs_reinit_on_dep_reload.
 */
#include <stdatomic.h>
#include <time.h>

#include "js_helpers.h"

#define DEBOUNCE_MS 80

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Writes DIR/NAME the way editors save: a scratch file, then a rename. */
static void save(const char *dir, const char *name, const char *text)
{
	char scratch[256], tmp[1024], path[1024];
	snprintf(scratch, sizeof scratch, ".%s.swp", name);
	write_text(dir, scratch, text);
	snprintf(tmp, sizeof tmp, "%s/%s", dir, scratch);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (rename(tmp, path) != 0)
		fail_msg("cannot rename to %s", path);
}

static void js_value_bundle(const char *dir, const char *contract, int value)
{
	char src[2048];
	snprintf(src, sizeof src,
	         JS_ONE("%s", "function (i, a, o, ar, b) { b.writeI32(o, %d); return 0; }"),
	         contract, value);
	save(dir, "bundle.js", src);
}

/* ---- Events ------------------------------------------------------------------- */

static int count(event_log *e, const char *what)
{
	pthread_mutex_lock(&e->lock);
	int n = 0;
	for (const char *p = e->log; (p = strstr(p, what)) != NULL; p += strlen(what))
		n++;
	pthread_mutex_unlock(&e->lock);
	return n;
}

/* Waits (up to 10 s) until `what` has happened n times. */
static void await_events(event_log *e, const char *what, int n)
{
	for (int waited = 0; count(e, what) < n; waited += 10) {
		if (waited > 10000)
			fail_msg("timed out waiting for %d x '%s'; events: %s", n, what, e->log);
		sleep_ms(10);
	}
}

static pp_runtime *watched_runtime(event_log *e)
{
	pp_runtime_config cfg;
	pp_runtime_config_init(&cfg);
	cfg.on_reload = record_event;
	cfg.reload_userdata = e;
	cfg.log_level = 0;
	static log_capture quiet = {.lock = PTHREAD_MUTEX_INITIALIZER};
	cfg.log = capture_log;
	cfg.log_userdata = &quiet;
	pp_runtime *rt = NULL;
	assert_int_equal(pp_runtime_new(&cfg, &rt), PP_OK);
	return rt;
}

static int32_t value_of(pp_runtime *rt, const char *contract, uint32_t fn)
{
	int32_t out = -1;
	uint32_t code = js_call(rt, contract, fn, NULL, &out);
	return code == PP_OK ? out : -(int32_t)code;
}

/* ---- Tests ------------------------------------------------------------------------ */

static void a_save_makes_one_reload(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	char dir[256];
	temp_dir(dir, sizeof dir);
	js_value_bundle(dir, "w.Save", 1);
	assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_OK);
	assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);
	assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_ERR_INVALID_ARGUMENT);
	sleep_ms(300); /* the watcher has built its watch set */
	/* a save, then a build tool touching it twice more within the quiet period */
	js_value_bundle(dir, "w.Save", 2);
	sleep_ms(10);
	js_value_bundle(dir, "w.Save", 3);
	sleep_ms(10);
	js_value_bundle(dir, "w.Save", 4);
	await_events(&ev, "reloaded:", 1);
	sleep_ms(5 * DEBOUNCE_MS);
	assert_int_equal(count(&ev, "reloaded:"), 1);
	assert_int_equal(value_of(rt, "w.Save", 0), 4);
	/* scratch files alone do nothing */
	write_text(dir, "notes.txt~", "x");
	sleep_ms(5 * DEBOUNCE_MS);
	assert_int_equal(count(&ev, "reloaded:"), 1);
	pp_watch_stop(rt);
	pp_watch_stop(rt); /* twice is fine */
	pp_runtime_free(rt);
	remove_tree(dir);
}

typedef struct caller {
	pp_runtime *rt;
	const char *contract;
	uint32_t fn;
	int32_t old_value, new_value;
	atomic_bool stop;
	long calls, bad, went_back;
	bool saw_new;
} caller;

static void *keep_calling(void *arg)
{
	caller *c = arg;
	pp_guest_contract_handle h = pp_find(c->rt, pp_guest_contract_id(c->contract, 1), 0);
	pp_guest_contract_instance none = {NULL, 0};
	while (!atomic_load(&c->stop)) {
		int32_t out = 0;
		uint32_t code = pp_call(c->rt, h, none, c->fn, NULL, &out, NULL);
		c->calls++;
		if (code != PP_OK || (out != c->old_value && out != c->new_value))
			c->bad++;
		else if (out == c->new_value)
			c->saw_new = true;
		else if (c->saw_new)
			c->went_back++; /* old after new: the swap was not atomic */
	}
	return NULL;
}

static void js_and_native_rewritten_under_load(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	char js[256], native[256], lib[512];
	temp_dir(js, sizeof js);
	temp_dir(native, sizeof native);
	js_value_bundle(js, "w.Js", 1);
	snprintf(lib, sizeof lib, "%s/libcalc.so", native);
	copy_file(fx("calc_v1"), lib);
	assert_int_equal(pp_bundle_load(rt, js, NULL, NULL), PP_OK);
	assert_int_equal(pp_bundle_load(rt, native, NULL, NULL), PP_OK);
	assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);
	sleep_ms(300);

	caller c[3] = {{rt, "w.Js", 0, 1, 2, false, 0, 0, 0, false},
	               {rt, "w.Js", 0, 1, 2, false, 0, 0, 0, false},
	               {rt, "test.calc", 1, 1, 2, false, 0, 0, 0, false}};
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, keep_calling, &c[i]);
	sleep_ms(50);
	js_value_bundle(js, "w.Js", 2);
	/* a compiler writes the new library in place, in pieces */
	char tmp[600];
	snprintf(tmp, sizeof tmp, "%s/.libcalc.so.tmp", native);
	copy_file(fx("calc_v2"), tmp);
	assert_int_equal(rename(tmp, lib), 0);
	await_events(&ev, "reloaded:", 2);
	sleep_ms(50);
	for (int i = 0; i < 3; i++) {
		atomic_store(&c[i].stop, true);
		pthread_join(t[i], NULL);
		assert_true(c[i].calls > 0);
		assert_int_equal(c[i].bad, 0);
		assert_int_equal(c[i].went_back, 0);
		assert_true(c[i].saw_new);
	}
	assert_int_equal(value_of(rt, "w.Js", 0), 2);
	assert_int_equal(value_of(rt, "test.calc", 1), 2);
	pp_runtime_free(rt);
	remove_tree(js);
	remove_tree(native);
}

static void a_broken_version_keeps_the_old_one(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	char dir[256];
	temp_dir(dir, sizeof dir);
	js_value_bundle(dir, "w.Broken", 1);
	assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_OK);
	assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);
	sleep_ms(300);
	save(dir, "bundle.js", "function polyplug_init( { syntax error\n");
	await_events(&ev, "failed:", 1);
	assert_int_equal(value_of(rt, "w.Broken", 0), 1);
	js_value_bundle(dir, "w.Broken", 7);
	await_events(&ev, "reloaded:", 1);
	assert_int_equal(value_of(rt, "w.Broken", 0), 7);
	pp_runtime_free(rt); /* stops the watcher too */
	remove_tree(dir);
}

static void dependents_reinit_after_a_dependency_reloads(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	char base[256], user[256];
	temp_dir(base, sizeof base);
	temp_dir(user, sizeof user);
	js_value_bundle(base, "w.Base", 1);
	save(base, "manifest.toml", "name = \"base\"\nprovides = [\"w.Base@1\"]\n");
	js_value_bundle(user, "w.User", 1);
	save(user, "manifest.toml",
	     "name = \"user\"\nprovides = [\"w.User@1\"]\nneeds_reinit_on_dep_reload = true\n"
	     "[[dependency]]\ncontract = \"w.Base@1\"\n");
	assert_int_equal(pp_bundle_load(rt, base, NULL, NULL), PP_OK);
	assert_int_equal(pp_bundle_load(rt, user, NULL, NULL), PP_OK);
	assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);
	sleep_ms(300);
	js_value_bundle(base, "w.Base", 2);
	await_events(&ev, "reloaded:user", 1);
	assert_int_equal(count(&ev, "reloaded:base"), 1);
	assert_true(strstr(ev.log, "reloaded:base") < strstr(ev.log, "reloaded:user"));
	assert_int_equal(value_of(rt, "w.Base", 0), 2);
	pp_runtime_free(rt);
	remove_tree(base);
	remove_tree(user);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(a_save_makes_one_reload),
	        cmocka_unit_test(js_and_native_rewritten_under_load),
	        cmocka_unit_test(a_broken_version_keeps_the_old_one),
	        cmocka_unit_test(dependents_reinit_after_a_dependency_reloads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
