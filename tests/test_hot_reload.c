/*
 * test_hot_reload.c — the watcher (pp_watch_start): one reload per save,
 * JS and native bundles rewritten while other threads keep calling them
 * (every call gets the old or the new answer, never an error, and after the
 * reload only the new one), a new version that fails to load, and
 * needs_reinit_on_dep_reload.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "js_helpers.h"
#include "runtime/internal.h" /* the look hook */

#define DEBOUNCE_MS 80

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void js_value_bundle(const char *dir, const char *contract, int value)
{
	char src[2048];
	snprintf(src, sizeof src,
	         JS_ONE("%s", "function (i, a, o, ar, b) { b.writeI32(o, %d); return 0; }"),
	         contract, value);
	save_text(dir, "bundle.js", src);
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

/* Waits (up to 30 s: sanitizers and a loaded machine are slow) until `what`
 * has happened n times. */
static void await_events(event_log *e, const char *what, int n)
{
	for (int waited = 0; count(e, what) < n; waited += 10) {
		if (waited > 30000)
			fail_msg("timed out waiting for %d x '%s'; events: %s", n, what, e->log);
		sleep_ms(10);
	}
}

static pp_runtime *watched_runtime(event_log *e)
{
	return rt_reporting(record_event, e);
}

static int32_t value_of(pp_runtime *rt, const char *contract, uint32_t fn)
{
	int32_t out = -1;
	uint32_t code = js_call(rt, contract, fn, NULL, &out);
	return code == PP_OK ? out : -(int32_t)code;
}

/* Waits (up to 30 s) until fn 0 of contract answers want. */
static void await_value(pp_runtime *rt, const char *contract, int32_t want)
{
	for (int i = 0; i < 1500 && value_of(rt, contract, 0) != want; i++)
		sleep_ms(20);
	assert_int_equal(value_of(rt, contract, 0), want);
}

/* A fresh directory DIR holding a JS bundle whose fn 0 answers value,
 * loaded into rt; the watcher (started if `watch`) has built its set. */
static void watched_bundle(pp_runtime *rt, char *dir, size_t cap, const char *contract, int value,
                           bool watch)
{
	temp_dir(dir, cap);
	js_value_bundle(dir, contract, value);
	assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_OK);
	if (watch) {
		assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);
	}
}

/* ---- Tests ------------------------------------------------------------------------ */

static long elapsed_ms(const struct timespec *since)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

static void a_save_makes_one_reload(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt;
	char dir[256];
	for (int attempt = 1;; attempt++) {
		memset(ev.log, 0, sizeof ev.log);
		rt = watched_runtime(&ev);
		temp_dir(dir, sizeof dir);
		js_value_bundle(dir, "w.Save", 1);
		assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_OK);
		assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);
		assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_ERR_INVALID_ARGUMENT);
		/* a save, then a build tool touching it twice more within the quiet
		 * period; a machine too busy to keep them within it tries again */
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		js_value_bundle(dir, "w.Save", 2);
		sleep_ms(10);
		js_value_bundle(dir, "w.Save", 3);
		sleep_ms(10);
		js_value_bundle(dir, "w.Save", 4);
		if (elapsed_ms(&t0) < DEBOUNCE_MS / 2 || attempt == 5)
			break;
		pp_runtime_free(rt);
		remove_tree(dir);
	}
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

/* pp_watch_start returns with the loaded bundles watched: a save made the
 * moment it returns, before the watcher thread has run at all, is reloaded.
 * The thread is kept to one CPU, and made a FIFO real-time thread where that
 * is allowed, so the watcher it creates waits until the save is done. */
static void a_save_the_moment_watch_start_returns_is_reloaded(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	char dir[256];
	temp_dir(dir, sizeof dir);
	js_value_bundle(dir, "w.Now", 1);
	assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_OK);
	cpu_set_t all, one;
	assert_int_equal(sched_getaffinity(0, sizeof all, &all), 0);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);
	struct sched_param fifo = {.sched_priority = 1}, normal = {0};
	int policy;
	assert_int_equal(pthread_getschedparam(pthread_self(), &policy, &normal), 0);
	bool realtime = pthread_setschedparam(pthread_self(), SCHED_FIFO, &fifo) == 0;
	assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);
	js_value_bundle(dir, "w.Now", 2);
	if (realtime)
		assert_int_equal(pthread_setschedparam(pthread_self(), policy, &normal), 0);
	assert_int_equal(sched_setaffinity(0, sizeof all, &all), 0);
	await_events(&ev, "reloaded:", 1);
	assert_int_equal(value_of(rt, "w.Now", 0), 2);
	pp_runtime_free(rt);
	remove_tree(dir);
}

/* A bundle loaded while watching is watched at the watcher's next turn (up
 * to 250 ms later). A save in between is found by comparing its files with
 * what its load saw; a bundle nobody touched is not reloaded for it (a
 * native bundle's load writes its private copy beside its library). */
static void a_save_before_a_new_bundle_is_watched_is_reloaded(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	char old[256], fresh[256], quiet[256];
	js_value_bundle(temp_dir(old, sizeof old), "w.Old", 1);
	js_value_bundle(temp_dir(fresh, sizeof fresh), "w.Fresh", 1);
	/* native, its library in a subdirectory: its load makes a private copy
	 * there, which changes that directory's times */
	char lib[512];
	snprintf(lib, sizeof lib, "%s/lib", temp_dir(quiet, sizeof quiet));
	assert_int_equal(mkdir(lib, 0700), 0);
	snprintf(lib, sizeof lib, "%s/lib/libcalc.so", quiet);
	copy_file(fx("calc_v1"), lib);
	write_text(quiet, "manifest.toml",
	           "name = \"quiet\"\nloader = \"native\"\nfile = \"lib/libcalc.so\"\n"
	           "provides = [\"test.calc@1\"]\n");
	pp_load_options o = {.size = sizeof o, .name = "old"};
	assert_int_equal(pp_bundle_load(rt, old, &o, NULL), PP_OK);
	assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);

	/* the watcher sleeps in poll() for up to 250 ms: the save comes first */
	o.name = "fresh";
	assert_int_equal(pp_bundle_load(rt, fresh, &o, NULL), PP_OK);
	js_value_bundle(fresh, "w.Fresh", 2);
	await_events(&ev, "reloaded:fresh", 1);
	assert_int_equal(value_of(rt, "w.Fresh", 0), 2);

	/* quiet is compared when the watcher wakes for old's first save, and
	 * would be due before old's second */
	o.name = "quiet";
	assert_int_equal(pp_bundle_load(rt, quiet, &o, NULL), PP_OK);
	js_value_bundle(old, "w.Old", 2);
	await_events(&ev, "reloaded:old", 1);
	js_value_bundle(old, "w.Old", 3);
	await_events(&ev, "reloaded:old", 2);
	assert_int_equal(value_of(rt, "w.Old", 0), 3);
	if (count(&ev, "reloaded:quiet") != 0 || count(&ev, "reloaded:fresh") != 1)
		fail_msg("a bundle was reloaded for nothing: %s", ev.log);
	pp_runtime_free(rt);
	remove_tree(old);
	remove_tree(fresh);
	remove_tree(quiet);
}

typedef struct loader {
	pp_runtime *rt;
	const char *dir;
	pp_status st;
} loader;

static void *load_in_thread(void *p)
{
	loader *ld = p;
	ld->st = pp_bundle_load(ld->rt, ld->dir, NULL, NULL);
	return NULL;
}

/* A load that began before pp_watch_start and ends after the watcher first
 * listed the bundles is watched from the watcher's next turn; a save made
 * before that still reloads it. */
static void a_load_overlapping_watch_start_is_reloaded_for_a_save(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	latch l;
	latch_register(rt, &l);
	char dir[256];
	static const char held_init[] =
	        JS_PRELUDE JS_LATCH "function polyplug_init(hl, hh, cl, ch, b) {\n"
	                            "  while (held(b)) {}\n"
	                            "  return ok([reg('w.Slow', [function (i, a, o, ar, b) {\n"
	                            "    b.writeI32(o, 1); return 0; }])]);\n}\n";
	save_text(temp_dir(dir, sizeof dir), "bundle.js", held_init);
	loader ld = {rt, dir, PP_ERR_IO};
	pthread_t t;
	pthread_create(&t, NULL, load_in_thread, &ld);
	await_true(atomic_load(&l.inside), 30); /* read, and in its init */
	assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);
	atomic_store(&l.go, 1);
	pthread_join(t, NULL);
	assert_int_equal(ld.st, PP_OK);
	js_value_bundle(dir, "w.Slow", 2);
	await_true(value_of(rt, "w.Slow", 0) == 2, 30);
	pp_runtime_free(rt);
	remove_tree(dir);
}

/* A name unloaded from one directory and loaded from another between two of
 * the watcher's turns is a new bundle to it, whatever its id. */
static void a_name_loaded_again_from_elsewhere_is_reloaded_for_a_save(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	char first[256], second[256];
	js_value_bundle(temp_dir(first, sizeof first), "w.Same", 1);
	js_value_bundle(temp_dir(second, sizeof second), "w.Same", 10);
	pp_load_options o = {.size = sizeof o, .name = "same"};
	uint64_t id;
	assert_int_equal(pp_bundle_load(rt, first, &o, &id), PP_OK);
	assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);
	/* once it has reloaded, the watcher sleeps in poll() for 250 ms */
	js_value_bundle(first, "w.Same", 2);
	await_events(&ev, "reloaded:same", 1);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	assert_int_equal(pp_bundle_load(rt, second, &o, NULL), PP_OK);
	js_value_bundle(second, "w.Same", 11);
	await_events(&ev, "reloaded:same", 2);
	assert_int_equal(value_of(rt, "w.Same", 0), 11);
	pp_runtime_free(rt);
	remove_tree(first);
	remove_tree(second);
}

/* Holds the watcher inside its first reload's callback while the test
 * floods the kernel's event queue and changes another bundle unseen. */
typedef struct stall {
	event_log ev;
	atomic_int held, release;
} stall;

static void stall_watcher(void *ud, uint64_t id, const char *name, uint32_t phase,
                          const char *reason)
{
	stall *s = ud;
	record_event(&s->ev, id, name, phase, reason);
	if (phase == PP_RELOAD_RELOADED && atomic_exchange(&s->held, 1) == 0)
		while (!atomic_load(&s->release))
			sleep_ms(5);
}

/* A host that reloads a bundle it loaded while watching, before the
 * watcher first looked at it, makes the one reload: the watcher compares
 * with what the reload read, not the load. */
static void a_host_reload_before_the_watcher_looks_is_not_repeated(void **state)
{
	(void)state;
	stall s = {.ev = {.lock = PTHREAD_MUTEX_INITIALIZER}};
	pp_runtime *rt = rt_reporting(stall_watcher, &s);
	event_log *ev = &s.ev;
	char anchor[256], dir[256];
	js_value_bundle(temp_dir(anchor, sizeof anchor), "w.Anchor", 1);
	js_value_bundle(temp_dir(dir, sizeof dir), "w.Host", 1);
	pp_load_options o = {.size = sizeof o, .name = "anchor"};
	assert_int_equal(pp_bundle_load(rt, anchor, &o, NULL), PP_OK);
	assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);
	/* the watcher reloads the anchor and is held in its callback, so it
	 * cannot look at host until host has been loaded, saved and reloaded
	 * (a slow machine once let it look in between, and it then rightly
	 * reloaded the save it saw) */
	js_value_bundle(anchor, "w.Anchor", 2);
	await_true(atomic_load(&s.held) == 1, 30);
	o.name = "host";
	uint64_t id;
	assert_int_equal(pp_bundle_load(rt, dir, &o, &id), PP_OK);
	js_value_bundle(dir, "w.Host", 2);
	assert_int_equal(pp_bundle_reload(rt, id), PP_OK);
	assert_int_equal(value_of(rt, "w.Host", 0), 2);
	atomic_store(&s.release, 1);
	/* the anchor's next saves come after the watcher has looked at host;
	 * had it found host changed, host would be due before the anchor's
	 * third reload */
	js_value_bundle(anchor, "w.Anchor", 3);
	await_events(ev, "reloaded:anchor", 2);
	js_value_bundle(anchor, "w.Anchor", 4);
	await_events(ev, "reloaded:anchor", 3);
	if (count(ev, "reloaded:host") != 1)
		fail_msg("host was reloaded again: %s", ev->log);
	pp_runtime_free(rt);
	remove_tree(anchor);
	remove_tree(dir);
}

/* Reloads already due survive a rebuild of the watch set, however many
 * items the bundles due have (a bundle with many subdirectories once took
 * every slot of a fixed table, and another bundle's save was dropped). */
static void reloads_due_survive_a_rebuild_next_to_a_bundle_with_many_subdirectories(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	char big[256], small[256], later[256], sub[512];
	temp_dir(big, sizeof big);
	for (int i = 0; i < 70; i++) {
		snprintf(sub, sizeof sub, "%s/d%02d", big, i);
		assert_int_equal(mkdir(sub, 0700), 0);
	}
	js_value_bundle(big, "w.Big", 1);
	js_value_bundle(temp_dir(small, sizeof small), "w.Small", 1);
	js_value_bundle(temp_dir(later, sizeof later), "w.Later", 1);
	/* a long debounce: both reloads are still due when the set is rebuilt */
	assert_int_equal(pp_watch_start(rt, 1500), PP_OK);
	pp_load_options o = {.size = sizeof o, .name = "big"};
	assert_int_equal(pp_bundle_load(rt, big, &o, NULL), PP_OK);
	js_value_bundle(big, "w.Big", 2); /* before it is watched */
	o.name = "small";
	assert_int_equal(pp_bundle_load(rt, small, &o, NULL), PP_OK);
	/* the watcher's next turn (at most 250 ms) watches both and finds big
	 * changed; waiting for it only decides whether this test covers the
	 * case, never whether it passes */
	sleep_ms(400);
	js_value_bundle(small, "w.Small", 2);
	o.name = "later"; /* another rebuild while both are due */
	assert_int_equal(pp_bundle_load(rt, later, &o, NULL), PP_OK);
	await_events(&ev, "reloaded:big", 1);
	await_events(&ev, "reloaded:small", 1);
	assert_int_equal(value_of(rt, "w.Big", 0), 2);
	assert_int_equal(value_of(rt, "w.Small", 0), 2);
	pp_runtime_free(rt);
	remove_tree(big);
	remove_tree(small);
	remove_tree(later);
}

/* An ES module bundle.js whose fn 0 answers the `value` exported by the
 * module at ./FROM. */
static void module_bundle(const char *dir, const char *from)
{
	char src[4096];
	snprintf(src, sizeof src,
	         "import { value } from './%s';\n" JS_PRELUDE "export function polyplug_init() {\n"
	         "  return ok([reg('w.Mod', [function (i, a, o, ar, b) {\n"
	         "    b.writeI32(o, value); return 0; }])]);\n}\n",
	         from);
	save_text(dir, "bundle.js", src);
}

static void module_value(const char *dir, int value)
{
	char src[64];
	snprintf(src, sizeof src, "export const value = %d;\n", value);
	save_text(dir, "value.js", src);
}

/* A bundle reads its ES modules from its subdirectories: a module saved in
 * one reloads the bundle, and so does one in a subdirectory made while it
 * is watched. */
static void a_module_saved_in_a_subdirectory_is_reloaded(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	char dir[256], lib[512], deep[512], later[512];
	temp_dir(dir, sizeof dir);
	snprintf(lib, sizeof lib, "%s/lib", dir);
	snprintf(deep, sizeof deep, "%s/lib/deep", dir);
	snprintf(later, sizeof later, "%s/later", dir);
	assert_int_equal(mkdir(lib, 0700), 0);
	assert_int_equal(mkdir(deep, 0700), 0);
	module_value(deep, 1);
	module_bundle(dir, "lib/deep/value.js");
	assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_OK);
	assert_int_equal(value_of(rt, "w.Mod", 0), 1);
	assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);
	module_value(deep, 2);
	await_events(&ev, "reloaded:", 1);
	assert_int_equal(value_of(rt, "w.Mod", 0), 2);
	/* a new subdirectory: made, filled and imported in one save... */
	assert_int_equal(mkdir(later, 0700), 0);
	module_value(later, 3);
	module_bundle(dir, "later/value.js");
	await_value(rt, "w.Mod", 3);
	/* ...and watched from the reload on */
	module_value(later, 4);
	await_value(rt, "w.Mod", 4);
	pp_runtime_free(rt);
	remove_tree(dir);
}

/* What the watcher leaves alone never reloads a bundle: scratch files,
 * hidden directories and node_modules, a symbolic link's target outside
 * the bundle, and subdirectories past 8 levels; a file 8 levels down does. */
static void what_the_watcher_ignores_never_reloads(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	char dir[256], outside[256], path[512], link[512];
	temp_dir(outside, sizeof outside);
	temp_dir(dir, sizeof dir);
	js_value_bundle(dir, "w.Ign", 1);
	static const char *const subs[] = {"node_modules", ".hidden"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, subs[i]);
		assert_int_equal(mkdir(path, 0700), 0);
	}
	snprintf(link, sizeof link, "%s/linked", dir);
	assert_int_equal(symlink(outside, link), 0);
	size_t n = (size_t)snprintf(path, sizeof path, "%s", dir);
	char level8[512] = "", deep[520];
	for (int level = 1; level <= 9; level++) {
		n += (size_t)snprintf(path + n, sizeof path - n, "/d%d", level);
		assert_int_equal(mkdir(path, 0700), 0);
		if (level == 8)
			snprintf(level8, sizeof level8, "%s", path);
	}
	assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_OK);
	assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);

	static const char *const scratch[] = {".bundle.js.kate", "bundle.js~", ".bundle.js.swp",
	                                      "bundle.js.swp", "out.tmp"};
	for (size_t i = 0; i < 5; i++)
		write_text(dir, scratch[i], "x");
	snprintf(path, sizeof path, "%s/node_modules", dir);
	write_text(path, "dep.js", "x");
	snprintf(path, sizeof path, "%s/.hidden", dir);
	write_text(path, "x.js", "x");
	write_text(outside, "through-the-link.js", "x");
	snprintf(deep, sizeof deep, "%s/d9", level8);
	write_text(deep, "too-deep.js", "x");
	sleep_ms(6 * DEBOUNCE_MS);
	assert_int_equal(count(&ev, "reloaded:"), 0);

	write_text(level8, "deep.js", "x");
	await_events(&ev, "reloaded:", 1);
	pp_runtime_free(rt);
	remove_tree(dir);
	remove_tree(outside);
}

/* At most 256 subdirectories of a bundle are watched (runtime.md): of 300,
 * the first past the limit is named in a warning, and a change in it does
 * not reload; a change in the bundle's own directory still does. */
static void a_bundle_past_256_subdirectories_is_watched_up_to_them(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with(&c, PP_LOG_WARN, record_event, &ev);
	char dir[256], sub[512];
	temp_dir(dir, sizeof dir);
	js_value_bundle(dir, "w.Many", 1);
	for (int i = 0; i < 300; i++) {
		snprintf(sub, sizeof sub, "%s/s%03d", dir, i);
		assert_int_equal(mkdir(sub, 0700), 0);
	}
	assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_OK);
	assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);
	char skipped[512];
	pthread_mutex_lock(&c.lock);
	assert_int_equal(c.count[PP_LOG_WARN], 1);
	assert_contains(c.last, "watched 8 levels deep, 256 in all");
	const char *at = strstr(c.last, "not watching '");
	assert_non_null(at);
	snprintf(skipped, sizeof skipped, "%s", at + strlen("not watching '"));
	pthread_mutex_unlock(&c.lock);
	char *end = strchr(skipped, '\'');
	assert_non_null(end);
	*end = '\0';
	assert_true(strncmp(skipped, dir, strlen(dir)) == 0);
	write_text(skipped, "late.js", "x");
	sleep_ms(6 * DEBOUNCE_MS);
	assert_int_equal(count(&ev, "reloaded:"), 0);
	write_text(dir, "more.js", "x");
	await_events(&ev, "reloaded:", 1);
	pp_runtime_free(rt);
	remove_tree(dir);
}

/* Whether this process's inotify instances watch the directory at path:
 * /proc/thread-self/fdinfo lists each watch with its inode (thread-self:
 * /proc/self has no fd list once the main thread has ended). */
static bool inotify_watches(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	DIR *fds = opendir("/proc/thread-self/fd");
	assert_non_null(fds);
	bool found = false;
	struct dirent *e;
	while (!found && (e = readdir(fds)) != NULL) {
		char link[300], target[64] = "", line[512];
		snprintf(link, sizeof link, "/proc/thread-self/fd/%s", e->d_name);
		if (readlink(link, target, sizeof target - 1) < 0 ||
		    strcmp(target, "anon_inode:inotify") != 0)
			continue;
		snprintf(link, sizeof link, "/proc/thread-self/fdinfo/%s", e->d_name);
		FILE *f = fopen(link, "r");
		while (f && !found && fgets(line, sizeof line, f)) {
			const char *at = strstr(line, " ino:");
			found = strncmp(line, "inotify ", 8) == 0 && at &&
			        strtoul(at + 5, NULL, 16) == (unsigned long)st.st_ino;
		}
		if (f)
			fclose(f);
	}
	closedir(fds);
	return found;
}

/* A bundle the host loads through a symbolic link to its directory is the
 * directory the link leads to (the host chose the link): a module saved in
 * its subdirectory, watched as opened from there, reloads it, and a save
 * that changes nothing else does once, not again. */
static void
a_module_saved_in_a_subdirectory_of_a_bundle_loaded_through_a_link_is_reloaded(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	char dir[256], links[256], link[512], lib[512];
	temp_dir(dir, sizeof dir);
	temp_dir(links, sizeof links);
	snprintf(lib, sizeof lib, "%s/lib", dir);
	snprintf(link, sizeof link, "%s/bundle", links);
	assert_int_equal(mkdir(lib, 0700), 0);
	assert_int_equal(symlink(dir, link), 0);
	module_value(lib, 1);
	module_bundle(dir, "lib/value.js");
	assert_int_equal(pp_bundle_load(rt, link, NULL, NULL), PP_OK);
	assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);
	assert_true(inotify_watches(lib));
	module_value(lib, 2);
	await_value(rt, "w.Mod", 2);
	sleep_ms(6 * DEBOUNCE_MS);
	assert_int_equal(count(&ev, "reloaded:"), 1);
	pp_runtime_free(rt);
	remove_tree(links);
	remove_tree(dir);
}

/* The look hook (runtime/internal.h): at the watcher's first look at a
 * bundle's subdirectory at `stage`, `sub` is swapped for a link to
 * `outside` (its directory moved aside to a hidden name). */
typedef struct swap_subdir {
	int stage;
	const char *sub, *outside;
	atomic_bool swapped;
	atomic_int skip; /* looks at `stage` to let pass first */
} swap_subdir;

static int swap_for_a_link(void *ud, int stage)
{
	swap_subdir *s = ud;
	if (stage != s->stage || atomic_fetch_sub(&s->skip, 1) > 0 ||
	    atomic_exchange(&s->swapped, true))
		return 0;
	char aside[600];
	const char *slash = strrchr(s->sub, '/');
	snprintf(aside, sizeof aside, "%.*s/.moved-aside", (int)(slash - s->sub), s->sub);
	if (rename(s->sub, aside) != 0 || symlink(s->outside, s->sub) != 0)
		fail_msg("cannot swap %s for a link", s->sub);
	return 0;
}

/* A bundle's subdirectory swapped for a link to a directory outside the
 * bundle as the watcher watches it — after it found it a directory, or
 * after it opened it — leads the watch nowhere outside: the outside
 * directory is not watched, and a change in it does not reload the
 * bundle; a change in the bundle still does. */
static void a_subdirectory_swapped_for_a_link_is_never_watched_outside_the_bundle(void **state)
{
	(void)state;
	static const int stages[] = {PP_LOOK_SUBDIR, PP_LOOK_SUBDIR_OPENED};
	for (size_t i = 0; i < 2; i++) {
		event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
		pp_runtime *rt = watched_runtime(&ev);
		char dir[256], outside[256], lib[512];
		temp_dir(outside, sizeof outside);
		temp_dir(dir, sizeof dir);
		snprintf(lib, sizeof lib, "%s/lib", dir);
		assert_int_equal(mkdir(lib, 0700), 0);
		js_value_bundle(dir, "w.Swap", 1);
		assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_OK);
		swap_subdir swap = {stages[i], lib, outside, false, 0};
		rt->look_hook = swap_for_a_link;
		rt->look_hook_ud = &swap;
		assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);
		assert_true(atomic_load(&swap.swapped));
		assert_true(inotify_watches(dir));
		assert_false(inotify_watches(outside));
		/* the swap was a change in the bundle's directory */
		await_events(&ev, "reloaded:", 1);
		write_text(outside, "through-the-link.js", "x");
		sleep_ms(6 * DEBOUNCE_MS);
		assert_int_equal(count(&ev, "reloaded:"), 1);
		assert_false(inotify_watches(outside));
		write_text(dir, "more.js", "x");
		await_events(&ev, "reloaded:", 2);
		pp_runtime_free(rt);
		remove_tree(dir);
		remove_tree(outside);
	}
}

/* What a_watch_stays_inside_the_bundle_after_the_main_thread_has_ended's
 * child runs on a thread of its own once its main thread has ended: a
 * bundle with a subdirectory a/b whose parent a is swapped for a link to a
 * directory outside holding a b of its own, as the watcher watches b (opened
 * from a). Exits 0 when the b outside is not watched. Plain checks: cmocka's
 * asserts cannot fail on this thread. */
static void *watch_with_the_main_thread_gone(void *unused)
{
	(void)unused;
	/* ended once /proc/self finds no descriptor (polled, not joined: TSan
	 * cannot join a main thread) */
	char probe[64];
	snprintf(probe, sizeof probe, "/proc/self/fd/%d", open("/", O_PATH | O_CLOEXEC));
	for (int i = 0; access(probe, F_OK) == 0; i++) {
		if (i == 5000)
			_exit(7);
		sleep_ms(1);
	}
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	char dir[256], outside[256], a[512], b[600], outside_b[600];
	temp_dir(outside, sizeof outside);
	temp_dir(dir, sizeof dir);
	snprintf(a, sizeof a, "%s/a", dir);
	snprintf(b, sizeof b, "%s/b", a);
	snprintf(outside_b, sizeof outside_b, "%s/b", outside);
	if (mkdir(a, 0700) != 0 || mkdir(b, 0700) != 0 || mkdir(outside_b, 0700) != 0)
		_exit(2);
	js_value_bundle(dir, "w.Orphan", 1);
	if (pp_bundle_load(rt, dir, NULL, NULL) != PP_OK)
		_exit(3);
	swap_subdir swap = {PP_LOOK_SUBDIR_OPENED, a, outside, false, 1}; /* a's own look passes */
	rt->look_hook = swap_for_a_link;
	rt->look_hook_ud = &swap;
	int code = pp_watch_start(rt, DEBOUNCE_MS) != PP_OK ? 4
	           : !atomic_load(&swap.swapped)            ? 5
	           : inotify_watches(outside_b)             ? 6
	                                                    : 0;
	pp_runtime_free(rt);
	remove_tree(dir);
	remove_tree(outside);
	_exit(code); /* not exit: what cmocka holds for the ended main thread is not a leak */
}

/* The watcher watches a subdirectory as the directory it opened, through
 * the kernel's link to its descriptor; /proc/self/fd has none once the
 * host's main thread has ended (pthread_exit), and a watch by path would
 * follow a parent swapped for a link out of the bundle. */
static void a_watch_stays_inside_the_bundle_after_the_main_thread_has_ended(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pthread_t t;
		if (pthread_create(&t, NULL, watch_with_the_main_thread_gone, NULL) != 0)
			_exit(1);
		pthread_exit(NULL);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("the child %s %d",
		         WIFEXITED(status) ? "exited with" : "was killed by signal",
		         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

/* The look hook: inotify refuses every bundle subdirectory, as it would a
 * chmod 000 one for anyone but root. */
static int refuse_subdirs(void *ud, int stage)
{
	(void)ud;
	return stage == PP_LOOK_SUBDIR_OPENED ? EACCES : 0;
}

/* A directory the host asked to watch that inotify refuses (here a single
 * file bundle's parent, replaced by a file: ENOTDIR; in the field the
 * watch limit) fails pp_watch_start with PP_ERR_IO naming it and why,
 * rather than watch part of what was asked; nothing is left running, and
 * once the directory can be watched the watcher starts. */
static void a_bundle_directory_inotify_refuses_fails_watch_start_naming_it(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char dir[256], parent[300], path[320];
	temp_dir(dir, sizeof dir);
	snprintf(parent, sizeof parent, "%s/sub", dir);
	snprintf(path, sizeof path, "%s/bundle.js", parent);
	assert_int_equal(mkdir(parent, 0700), 0);
	js_value_bundle(parent, "w.Refused", 1);
	assert_int_equal(pp_bundle_load(rt, path, NULL, NULL), PP_OK);
	remove_tree(parent);
	write_text(dir, "sub", "a file where the directory was\n");

	assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_ERR_IO);
	char want[400];
	snprintf(want, sizeof want, "cannot watch '%s': %s", parent, strerror(ENOTDIR));
	assert_string_equal(pp_last_error(rt), want);
	pp_watch_stop(rt); /* none runs: nothing to stop */

	assert_int_equal(unlink(parent), 0);
	assert_int_equal(mkdir(parent, 0700), 0);
	assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);
	pp_runtime_free(rt);
	remove_tree(dir);
}

/* A subdirectory a bundle holds that cannot be watched does not turn hot
 * reload off (a bundle may ship one, or its init make one): pp_watch_start
 * succeeds, a warning names the subdirectory and why, and the rest of that
 * bundle and the other bundles are watched. */
static void an_unwatchable_subdirectory_in_a_bundle_is_a_warning_not_a_failed_start(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with(&c, PP_LOG_WARN, record_event, &ev);
	char dir[256], other[256], locked[512];
	temp_dir(dir, sizeof dir);
	snprintf(locked, sizeof locked, "%s/locked", dir);
	assert_int_equal(mkdir(locked, 0700), 0);
	js_value_bundle(dir, "w.Locked", 1);
	js_value_bundle(temp_dir(other, sizeof other), "w.Other", 1);
	pp_load_options o = {.size = sizeof o, .name = "locked"};
	assert_int_equal(pp_bundle_load(rt, dir, &o, NULL), PP_OK);
	o.name = "other";
	assert_int_equal(pp_bundle_load(rt, other, &o, NULL), PP_OK);
	rt->look_hook = refuse_subdirs;
	assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);
	char want[600];
	snprintf(want, sizeof want, "cannot watch '%s': %s", locked, strerror(EACCES));
	pthread_mutex_lock(&c.lock);
	assert_int_equal(c.count[PP_LOG_WARN], 1);
	assert_contains(c.last, want);
	pthread_mutex_unlock(&c.lock);
	js_value_bundle(dir, "w.Locked", 2);
	await_value(rt, "w.Locked", 2);
	js_value_bundle(other, "w.Other", 2);
	await_value(rt, "w.Other", 2);
	pp_runtime_free(rt);
	remove_tree(dir);
	remove_tree(other);
}

/* A subdirectory a bundle holds that stays unwatched — refused by inotify,
 * or past the 256 watched — is warned about once, not at every rebuild of
 * the watch set: a bundle shipping 256 of them would otherwise log 256
 * lines at each load, unload, single-file save or retry, for as long as the
 * host runs. Three loads (each a rebuild, awaited until it watches the new
 * bundle) add no warning. */
static void a_subdirectory_left_unwatched_is_warned_about_once_not_at_every_rebuild(void **state)
{
	(void)state;
	for (int refused = 1; refused >= 0; refused--) {
		log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
		pp_runtime *rt = rt_with(&c, PP_LOG_WARN, NULL, NULL);
		char dir[256], sub[512], more[3][256];
		temp_dir(dir, sizeof dir);
		js_value_bundle(dir, "w.Left", 1);
		for (int i = 0; i < (refused ? 1 : 257); i++) {
			snprintf(sub, sizeof sub, "%s/s%03d", dir, i);
			assert_int_equal(mkdir(sub, 0700), 0);
		}
		assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_OK);
		if (refused)
			rt->look_hook = refuse_subdirs;
		assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);
		pthread_mutex_lock(&c.lock);
		assert_int_equal(c.count[PP_LOG_WARN], 1);
		assert_contains(c.last, refused ? "cannot watch '" : "not watching '");
		pthread_mutex_unlock(&c.lock);
		for (int i = 0; i < 3; i++) {
			char contract[32];
			snprintf(contract, sizeof contract, "w.More%d", i);
			js_value_bundle(temp_dir(more[i], sizeof more[i]), contract, 1);
			assert_int_equal(pp_bundle_load(rt, more[i], NULL, NULL), PP_OK);
			await_true(inotify_watches(more[i]), 30);
		}
		sleep_ms(2 * DEBOUNCE_MS); /* the last rebuild's warnings, if any */
		pthread_mutex_lock(&c.lock);
		if (c.count[PP_LOG_WARN] != 1)
			fail_msg("%d warnings, the last: %s", c.count[PP_LOG_WARN], c.last);
		pthread_mutex_unlock(&c.lock);
		pp_runtime_free(rt);
		remove_tree(dir);
		for (int i = 0; i < 3; i++)
			remove_tree(more[i]);
	}
}

typedef struct caller {
	pp_runtime *rt;
	const char *contract;
	uint32_t fn;
	int32_t old_value, new_value;
	atomic_bool stop;
	atomic_long calls;
	long bad, went_back;
	atomic_bool saw_new;
} caller;

static void *keep_calling(void *arg)
{
	caller *c = arg;
	pp_guest_contract_handle h = pp_find(c->rt, pp_guest_contract_id(c->contract, 1), 0);
	pp_guest_contract_instance none = {NULL, 0};
	while (!atomic_load(&c->stop)) {
		int32_t out = 0;
		uint32_t code = pp_call(c->rt, h, none, c->fn, NULL, &out, NULL);
		atomic_fetch_add(&c->calls, 1);
		if (code != PP_OK || (out != c->old_value && out != c->new_value))
			c->bad++;
		else if (out == c->new_value)
			atomic_store(&c->saw_new, true);
		else if (atomic_load(&c->saw_new))
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

	caller c[3] = {{rt, "w.Js", 0, 1, 2, false, 0, 0, 0, false},
	               {rt, "w.Js", 0, 1, 2, false, 0, 0, 0, false},
	               {rt, "test.calc", 1, 1, 2, false, 0, 0, 0, false}};
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, keep_calling, &c[i]);
	for (int i = 0; i < 3; i++) /* every caller is calling the old versions */
		await_true(atomic_load(&c[i].calls) > 0, 30);
	js_value_bundle(js, "w.Js", 2);
	/* a compiler writes the new library in place, in pieces */
	char tmp[600];
	snprintf(tmp, sizeof tmp, "%s/.libcalc.so.tmp", native);
	copy_file(fx("calc_v2"), tmp);
	assert_int_equal(rename(tmp, lib), 0);
	await_events(&ev, "reloaded:", 2);
	for (int i = 0; i < 3; i++) /* and each goes on to reach the new one */
		await_true(atomic_load(&c[i].saw_new), 30);
	for (int i = 0; i < 3; i++) { /* and keeps calling it for a while */
		long seen = atomic_load(&c[i].calls);
		await_true(atomic_load(&c[i].calls) > seen + 100, 30);
	}
	for (int i = 0; i < 3; i++) {
		atomic_store(&c[i].stop, true);
		pthread_join(t[i], NULL);
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
	watched_bundle(rt, dir, sizeof dir, "w.Broken", 1, true);
	save_text(dir, "bundle.js", "function polyplug_init( { syntax error\n");
	await_events(&ev, "failed:", 1);
	assert_int_equal(value_of(rt, "w.Broken", 0), 1);
	js_value_bundle(dir, "w.Broken", 7);
	await_events(&ev, "reloaded:", 1);
	assert_int_equal(value_of(rt, "w.Broken", 0), 7);
	pp_runtime_free(rt); /* stops the watcher too */
	remove_tree(dir);
}

/* Bundle base (w.Base@1) and bundle user (w.User@1, which needs w.Base@1;
 * `more` adds manifest keys) in fresh directories, loaded into rt, which
 * then watches them. */
static void base_and_user(pp_runtime *rt, char *base, char *user, size_t cap, const char *more)
{
	char manifest[512];
	temp_dir(base, cap);
	temp_dir(user, cap);
	js_value_bundle(base, "w.Base", 1);
	save_text(base, "manifest.toml", "name = \"base\"\nprovides = [\"w.Base@1\"]\n");
	js_value_bundle(user, "w.User", 1);
	snprintf(manifest, sizeof manifest,
	         "name = \"user\"\nprovides = [\"w.User@1\"]\n%s"
	         "[[dependency]]\ncontract = \"w.Base@1\"\n",
	         more);
	save_text(user, "manifest.toml", manifest);
	assert_int_equal(pp_bundle_load(rt, base, NULL, NULL), PP_OK);
	assert_int_equal(pp_bundle_load(rt, user, NULL, NULL), PP_OK);
	assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);
}

static void dependents_reinit_after_a_dependency_reloads(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	char base[256], user[256];
	base_and_user(rt, base, user, sizeof base, "needs_reinit_on_dep_reload = true\n");
	js_value_bundle(base, "w.Base", 2);
	await_events(&ev, "reloaded:user", 1);
	assert_int_equal(count(&ev, "reloaded:base"), 1);
	assert_true(strstr(ev.log, "reloaded:base") < strstr(ev.log, "reloaded:user"));
	assert_int_equal(value_of(rt, "w.Base", 0), 2);
	pp_runtime_free(rt);
	remove_tree(base);
	remove_tree(user);
}

/* A provider saved without what its dependent needs is refused until the
 * dependent's new version, saved after it, stops needing it: then the
 * watcher tries the provider again. */
static void a_reload_refused_for_a_dependent_succeeds_once_the_dependent_reloads(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	char base[256], user[256];
	base_and_user(rt, base, user, sizeof base, "");
	save_text(base, "manifest.toml", "name = \"base\"\nprovides = [\"w.Base2@1\"]\n");
	js_value_bundle(base, "w.Base2", 2);
	await_events(&ev, "failed:base", 1); /* user still needs w.Base@1 */
	assert_int_equal(value_of(rt, "w.Base", 0), 1);
	save_text(user, "manifest.toml", "name = \"user\"\nprovides = [\"w.User@1\"]\n");
	await_events(&ev, "reloaded:base", 1);
	assert_true(strstr(ev.log, "reloaded:user") < strstr(ev.log, "reloaded:base"));
	assert_int_equal(value_of(rt, "w.Base2", 0), 2);
	assert_int_equal(count(&ev, "failed:base"), 1);
	pp_runtime_free(rt);
	remove_tree(base);
	remove_tree(user);
}

/* The other order: a dependent saved needing a contract its provider does
 * not give yet is refused (PP_ERR_NOT_FOUND) until the provider's new
 * version, saved after it, gives it: then the watcher tries the dependent
 * again. */
static void a_dependent_refused_for_a_missing_contract_reloads_once_its_provider_does(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	char base[256], user[256];
	base_and_user(rt, base, user, sizeof base, "");
	save_text(user, "manifest.toml",
	          "name = \"user\"\nprovides = [\"w.User@1\"]\n"
	          "[[dependency]]\ncontract = \"w.Base2@1\"\n");
	js_value_bundle(user, "w.User", 2);
	await_events(&ev, "failed:user", 1); /* nothing provides w.Base2@1 */
	assert_int_equal(value_of(rt, "w.User", 0), 1);
	save_text(base, "bundle.js",
	          JS_PRELUDE "function polyplug_init(hl, hh, cl, ch, b) {\n"
	                     "  function two(i, a, o, ar, b) { b.writeI32(o, 2); return 0; }\n"
	                     "  return ok([reg('w.Base', [two]), reg('w.Base2', [two])]);\n}\n");
	save_text(base, "manifest.toml",
	          "name = \"base\"\nprovides = [\"w.Base@1\", \"w.Base2@1\"]\n");
	await_events(&ev, "reloaded:user", 1);
	assert_true(strstr(ev.log, "reloaded:base") < strstr(ev.log, "reloaded:user"));
	assert_int_equal(value_of(rt, "w.User", 0), 2);
	assert_int_equal(value_of(rt, "w.Base2", 0), 2);
	assert_int_equal(count(&ev, "failed:user"), 1);
	pp_runtime_free(rt);
	remove_tree(base);
	remove_tree(user);
}

/* A dependent saved to need a contract no loaded bundle provides is
 * refused (PP_ERR_NOT_FOUND) and waits. Its provider may be a new bundle,
 * loaded while watching (a deploy dropping it into a plugins directory, or
 * the host loading it): that load meets the need, but only another
 * bundle's reload retried a waiting one, so the saved dependent was never
 * reloaded. */
static void a_dependent_waiting_for_a_new_bundle_reloads_once_it_is_loaded(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	char base[256], user[256], fresh[256];
	base_and_user(rt, base, user, sizeof base, "");
	save_text(user, "manifest.toml",
	          "name = \"user\"\nprovides = [\"w.User@1\"]\n"
	          "[[dependency]]\ncontract = \"w.New@1\"\n");
	js_value_bundle(user, "w.User", 2);
	await_events(&ev, "failed:user", 1); /* nothing provides w.New@1 yet */
	js_value_bundle(temp_dir(fresh, sizeof fresh), "w.New", 1);
	save_text(fresh, "manifest.toml", "name = \"fresh\"\nprovides = [\"w.New@1\"]\n");
	assert_int_equal(pp_bundle_load(rt, fresh, NULL, NULL), PP_OK);
	await_value(rt, "w.User", 2);
	pp_runtime_free(rt);
	remove_tree(base);
	remove_tree(user);
	remove_tree(fresh);
}

static void a_bundle_directory_deleted_and_recreated_is_reloaded(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	char dir[256];
	watched_bundle(rt, dir, sizeof dir, "w.Phoenix", 1, true);
	remove_tree(dir); /* the loaded version keeps serving */
	sleep_ms(3 * DEBOUNCE_MS);
	assert_int_equal(value_of(rt, "w.Phoenix", 0), 1);
	assert_int_equal(mkdir(dir, 0700), 0);
	js_value_bundle(dir, "w.Phoenix", 2);
	await_value(rt, "w.Phoenix", 2);
	/* and the new directory is watched in turn */
	js_value_bundle(dir, "w.Phoenix", 3);
	await_value(rt, "w.Phoenix", 3);
	pp_runtime_free(rt);
	remove_tree(dir);
}

static void lost_events_are_found_by_a_rescan(void **state)
{
	(void)state;
	stall s = {.ev = {.lock = PTHREAD_MUTEX_INITIALIZER}};
	log_capture warnings = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with(&warnings, PP_LOG_WARN, stall_watcher, &s);
	char a[256], b[256];
	watched_bundle(rt, a, sizeof a, "w.A", 1, false);
	watched_bundle(rt, b, sizeof b, "w.B", 1, true);
	js_value_bundle(a, "w.A", 2); /* the watcher reloads A and is held there */
	await_true(atomic_load(&s.held) == 1, 30);
	/* more events than the kernel queues (fs.inotify.max_queued_events) */
	long max = 16384;
	FILE *f = fopen("/proc/sys/fs/inotify/max_queued_events", "r");
	char line[32];
	if (f && fgets(line, sizeof line, f) && strtol(line, NULL, 10) > 0)
		max = strtol(line, NULL, 10);
	if (f)
		fclose(f);
	char path[512];
	snprintf(path, sizeof path, "%s/.churn", b);
	for (long i = 0; i < max / 2 + 64; i++) {
		FILE *t = fopen(path, "w"); /* create + modify + close: several events */
		if (t)
			fclose(t);
	}
	js_value_bundle(b, "w.B", 2); /* its events are lost in the overflow */
	atomic_store(&s.release, 1);
	await_value(rt, "w.B", 2);
	assert_int_equal(value_of(rt, "w.A", 0), 2);
	pp_runtime_free(rt);
	assert_true(warnings.count[PP_LOG_WARN] >= 1); /* the overflow did happen */
	assert_contains(warnings.last, "rescanning");
	remove_tree(a);
	remove_tree(b);
}

/* A save landing while its bundle's reload runs is seen by its events
 * (the echo rule reloads it). When those events are lost (the kernel's
 * queue overflowed while the reload ran), the rescan compares the files
 * with what the watcher noted when that reload ended, which is the save
 * already: nothing looked changed, and the save was never reloaded. */
static void a_save_lost_in_an_overflow_while_its_bundle_reloads_is_reloaded(void **state)
{
	(void)state;
	stall s = {.ev = {.lock = PTHREAD_MUTEX_INITIALIZER}};
	log_capture warnings = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with(&warnings, PP_LOG_WARN, stall_watcher, &s);
	char a[256];
	watched_bundle(rt, a, sizeof a, "w.A", 1, true);
	js_value_bundle(a, "w.A", 2); /* the watcher reloads A and is held there */
	await_true(atomic_load(&s.held) == 1, 30);
	long max = 16384;
	FILE *f = fopen("/proc/sys/fs/inotify/max_queued_events", "r");
	char line[32];
	if (f && fgets(line, sizeof line, f) && strtol(line, NULL, 10) > 0)
		max = strtol(line, NULL, 10);
	if (f)
		fclose(f);
	char path[512];
	snprintf(path, sizeof path, "%s/.churn", a);
	for (long i = 0; i < max / 2 + 64; i++) {
		FILE *t = fopen(path, "w");
		if (t)
			fclose(t);
	}
	js_value_bundle(a, "w.A", 3); /* as A's reload runs; its events are lost */
	atomic_store(&s.release, 1);
	await_value(rt, "w.A", 3);
	pp_runtime_free(rt);
	assert_true(warnings.count[PP_LOG_WARN] >= 1);
	assert_contains(warnings.last, "rescanning");
	remove_tree(a);
}

/* Makes a plugins directory at root holding bundle directory root/first
 * (w.First, answering 1), loads it into rt and watches it. */
static void watch_plugins_dir_with_first(pp_runtime *rt, char *root, size_t root_cap, char *first,
                                         size_t first_cap)
{
	temp_dir(root, root_cap);
	snprintf(first, first_cap, "%s/first", root);
	assert_int_equal(mkdir(first, 0700), 0);
	js_value_bundle(first, "w.First", 1);
	size_t loaded = 0;
	assert_int_equal(pp_bundle_load_dir(rt, root, NULL, NULL, &loaded), PP_OK);
	assert_int_equal(loaded, 1);
	assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);
}

static void a_bundle_directory_added_to_a_plugins_directory_is_loaded(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	char root[256], first[512], later[512];
	watch_plugins_dir_with_first(rt, root, sizeof root, first, sizeof first);
	snprintf(later, sizeof later, "%s/later", root);
	/* made empty first, filled afterwards, as a copy or an unpack does */
	assert_int_equal(mkdir(later, 0700), 0);
	sleep_ms(2 * DEBOUNCE_MS);
	js_value_bundle(later, "w.Later", 7);
	await_value(rt, "w.Later", 7);
	await_events(&ev, "loaded:later", 1);
	pp_runtime_free(rt);
	remove_tree(root);
}

/* A name in a plugins directory that held a file, replaced by a link to a
 * bundle directory the way `ln -sf` and deploy tools do it (a link made
 * under another name, renamed over the file): no name leaves the
 * directory, so the name was known and the link never became an arrival.
 * The file's own arrival used to last long enough to see it; since files
 * are dropped at first look, the bundle was never loaded. */
static void a_file_replaced_by_a_link_to_a_bundle_in_a_plugins_directory_is_loaded(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	char root[256], first[512], elsewhere[256], name[512], tmp[512];
	watch_plugins_dir_with_first(rt, root, sizeof root, first, sizeof first);
	temp_dir(elsewhere, sizeof elsewhere);
	snprintf(name, sizeof name, "%s/linked", root);
	snprintf(tmp, sizeof tmp, "%s/linked.new", root);
	write_text(root, "linked", "a placeholder");
	sleep_ms(5 * DEBOUNCE_MS); /* the watcher has looked at it */
	js_value_bundle(elsewhere, "w.Linked", 5);
	assert_int_equal(symlink(elsewhere, tmp), 0);
	assert_int_equal(rename(tmp, name), 0);
	await_value(rt, "w.Linked", 5);
	pp_runtime_free(rt);
	remove_tree(root);
	remove_tree(elsewhere);
}

/* A plugins directory ROOT (made, in root) holding good (a bundle of
 * w.Good) and bad (ROOT/bad, in bad: a script that does not parse), loaded
 * (good only) and watched. */
static void watch_good_and_bad(pp_runtime *rt, char *root, size_t root_cap, char *bad,
                               size_t bad_cap)
{
	char good[512];
	temp_dir(root, root_cap);
	snprintf(good, sizeof good, "%s/good", root);
	snprintf(bad, bad_cap, "%s/bad", root);
	assert_int_equal(mkdir(good, 0700), 0);
	assert_int_equal(mkdir(bad, 0700), 0);
	js_value_bundle(good, "w.Good", 1);
	save_text(bad, "bundle.js", "this is not javascript (");
	size_t loaded = 0;
	pp_bundle_load_dir(rt, root, NULL, NULL, &loaded);
	assert_int_equal(loaded, 1);
	assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);
}

/* A bundle directory of a plugins directory whose load failed is loaded
 * once it is fixed in place — there when watching began, or arrived later
 * (and not while it stays as it failed). It was only ever loaded again if
 * it left and came back. */
static void a_bundle_whose_load_failed_is_loaded_once_fixed_in_place(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	char root[256], bad[512], later[512];
	watch_good_and_bad(rt, root, sizeof root, bad, sizeof bad);
	snprintf(later, sizeof later, "%s/later", root);
	assert_int_equal(mkdir(later, 0700), 0);
	save_text(later, "bundle.js", "neither is this (");
	sleep_ms(1500); /* the arrival's load fails; both stay as they failed */
	assert_int_equal(count(&ev, "loaded:bad"), 0);
	assert_int_equal(count(&ev, "loaded:later"), 0);
	js_value_bundle(bad, "w.Bad", 7);
	js_value_bundle(later, "w.Later", 8);
	await_value(rt, "w.Bad", 7);
	await_value(rt, "w.Later", 8);
	pp_runtime_free(rt);
	remove_tree(root);
}

/* A bundle of a watched plugins directory that the host unloads stays
 * unloaded: saving its files does not load it again (it is not a load that
 * failed), while the directory's other bundles are still watched. */
static void a_bundle_the_host_unloads_is_not_loaded_again_by_the_watcher(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	char root[256], bad[512], good[512];
	watch_good_and_bad(rt, root, sizeof root, bad, sizeof bad);
	snprintf(good, sizeof good, "%s/good", root);
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("good"), 0), PP_OK);
	js_value_bundle(good, "w.Good", 2);
	js_value_bundle(bad, "w.Bad", 3); /* the watcher is still at work */
	await_value(rt, "w.Bad", 3);
	sleep_ms(1500); /* past a second look at what failed or left */
	assert_true(pp_handle_is_null(pp_find(rt, pp_guest_contract_id("w.Good", 1), 0)));
	pthread_mutex_lock(&ev.lock);
	const char *unloaded = strstr(ev.log, "unloading:good");
	assert_non_null(unloaded);
	assert_null(strstr(unloaded, "loaded:good")); /* nor reloaded */
	pthread_mutex_unlock(&ev.lock);
	pp_runtime_free(rt);
	remove_tree(root);
}

/* A name that left a plugins directory and comes back is a new bundle
 * directory, loaded like any: here one whose first load failed, deleted and
 * made again fixed. (A name once seen there was never loaded again.) */
static void a_bundle_directory_made_again_in_a_plugins_directory_is_loaded(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	char root[256], bad[512];
	watch_good_and_bad(rt, root, sizeof root, bad, sizeof bad);
	remove_tree(bad);
	sleep_ms(3 * DEBOUNCE_MS);
	assert_int_equal(mkdir(bad, 0700), 0);
	js_value_bundle(bad, "w.Bad", 7);
	await_value(rt, "w.Bad", 7);
	await_events(&ev, "loaded:bad", 1);
	pp_runtime_free(rt);
	remove_tree(root);
}

/* A plugins directory deleted and made again, with its bundles (a redeploy:
 * rm -rf, then a copy): nothing was left to watch it, and its bundles were
 * never reloaded again. Now the watcher looks until it is back, reloads the
 * bundle whose files came back, and watches it as before. */
static void a_plugins_directory_made_again_keeps_its_bundles_reloading(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	char root[256], plugins[512], a[600];
	temp_dir(root, sizeof root);
	snprintf(plugins, sizeof plugins, "%s/plugins", root);
	snprintf(a, sizeof a, "%s/a", plugins);
	assert_int_equal(mkdir(plugins, 0700), 0);
	assert_int_equal(mkdir(a, 0700), 0);
	js_value_bundle(a, "w.A", 1);
	size_t loaded = 0;
	assert_int_equal(pp_bundle_load_dir(rt, plugins, NULL, NULL, &loaded), PP_OK);
	assert_int_equal(loaded, 1);
	assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);
	remove_tree(plugins);
	sleep_ms(3 * DEBOUNCE_MS);
	assert_int_equal(mkdir(plugins, 0700), 0);
	assert_int_equal(mkdir(a, 0700), 0);
	js_value_bundle(a, "w.A", 2);
	await_value(rt, "w.A", 2);
	/* and it is watched again: the next save reloads it too */
	int reloads = count(&ev, "reloaded:a");
	sleep_ms(3 * DEBOUNCE_MS);
	js_value_bundle(a, "w.A", 3);
	await_value(rt, "w.A", 3);
	/* a reload is published before its callback runs: the event follows */
	await_events(&ev, "reloaded:a", reloads + 1);
	pp_runtime_free(rt);
	remove_tree(root);
}

/* A host thread's lifecycle callback stops the watcher while the watcher
 * waits for the very bundle that the callback keeps busy. */
typedef struct stopper {
	pp_runtime *rt;
	const char *dir;
	uint64_t id;
	atomic_int armed;
	pp_status st;
} stopper;

static void stop_from_callback(void *ud, uint64_t id, const char *name, uint32_t phase,
                               const char *reason)
{
	(void)id;
	(void)name;
	(void)reason;
	stopper *s = ud;
	if (phase != PP_RELOAD_PREPARING || !atomic_exchange(&s->armed, 0))
		return;
	js_value_bundle(s->dir, "w.Stop", 3); /* the watcher will want this bundle */
	sleep_ms(4 * DEBOUNCE_MS);
	pp_watch_stop(s->rt); /* must not wait for a watcher that waits for us */
}

static void *reload_it(void *p)
{
	stopper *s = p;
	s->st = pp_bundle_reload(s->rt, s->id);
	return NULL;
}

static void watch_stop_from_a_busy_bundles_callback_never_deadlocks(void **state)
{
	(void)state;
	stopper s = {0};
	pp_runtime *rt = rt_reporting(stop_from_callback, &s);
	char dir[256];
	watched_bundle(rt, dir, sizeof dir, "w.Stop", 1, true);
	s.rt = rt;
	s.dir = dir;
	s.id = pp_bundle_id(strrchr(dir, '/') + 1);
	atomic_store(&s.armed, 1);
	pthread_t t;
	pthread_create(&t, NULL, reload_it, &s);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 30;
	if (pthread_timedjoin_np(t, NULL, &until) != 0)
		fail_msg("the reload whose callback stopped the watcher never returned");
	assert_int_equal(s.st, PP_OK);
	pp_runtime_free(rt); /* joins the watcher once it is done */
	remove_tree(dir);
}

static uint64_t load_acq(const uint64_t *counter)
{
	return atomic_load_explicit((const _Atomic uint64_t *)(const void *)counter,
	                            memory_order_acquire);
}

/* Each contract has its own revision: loading, reloading or unloading bundle
 * A moves A's contracts' counters (and the runtime's), not B's, so B's
 * cached callers keep their handle and instance. */
static void a_reload_moves_only_its_own_contracts_revisions(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char a[256], b[256], c[256];
	temp_dir(a, sizeof a);
	temp_dir(b, sizeof b);
	temp_dir(c, sizeof c);
	js_value_bundle(a, "rev.A", 1);
	js_value_bundle(b, "rev.B", 2);
	js_value_bundle(c, "rev.C", 3);
	const uint64_t *ra = pp_contract_revision_counter(rt, pp_guest_contract_id("rev.A", 1));
	const uint64_t *rb = pp_contract_revision_counter(rt, pp_guest_contract_id("rev.B", 1));
	const uint64_t *all = pp_revision_counter(rt);
	uint64_t ida = 0;
	assert_int_equal(pp_bundle_load(rt, a, NULL, &ida), PP_OK);
	uint64_t a0 = load_acq(ra), all0 = load_acq(all);
	assert_true(a0 > 0);
	assert_int_equal(pp_bundle_load(rt, b, NULL, NULL), PP_OK);
	uint64_t b0 = load_acq(rb);
	assert_true(b0 > 0);
	assert_int_equal(load_acq(ra), a0); /* loading B leaves A's */
	/* a caller of B that keeps its handle and instance */
	pp_guest_contract_handle hb = pp_find(rt, pp_guest_contract_id("rev.B", 1), 0);
	pp_guest_contract_instance ib;
	assert_int_equal(pp_instance_create(rt, hb, NULL, &ib), PP_OK);
	assert_int_equal(pp_bundle_load(rt, c, NULL, NULL), PP_OK); /* another bundle */
	assert_int_equal(pp_bundle_reload(rt, ida), PP_OK);         /* A again */
	assert_true(load_acq(ra) > a0);
	assert_int_equal(load_acq(rb), b0);
	assert_true(load_acq(all) > all0); /* the runtime's still moves for every change */
	int32_t out = 0;
	assert_int_equal(pp_call(rt, hb, ib, 0, NULL, &out, NULL), PP_OK); /* still good */
	assert_int_equal(out, 2);
	assert_int_equal(pp_bundle_unload(rt, ida, 0), PP_OK);
	assert_int_equal(load_acq(rb), b0);
	pp_instance_destroy(rt, hb, ib);
	pp_runtime_free(rt);
	remove_tree(a);
	remove_tree(b);
	remove_tree(c);
}

/* pp_watch_stop from a host contract that a JS bundle called, while the
 * watcher's on_reload waits to call that same bundle (its VM is the
 * stopping call's): the stop cannot wait for the watcher, which waits for
 * the VM. It returns; the watcher ends once its callback does. */
typedef struct stop_inside {
	pp_host_contract_interface iface;
	pp_runtime *rt;
	atomic_int in_callback, in_call, callback_done;
	uint32_t callback_call;
} stop_inside;

static void stop_from_call(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)args;
	(void)out;
	(void)err;
	stop_inside *si = state;
	atomic_store(&si->in_call, 1);
	for (int i = 0; i < 3000 && !atomic_load(&si->in_callback); i++)
		sleep_ms(10);
	sleep_ms(100); /* the watcher's callback now waits for this call's VM */
	pp_watch_stop(si->rt);
}

static const void *const stop_fns[] = {(const void *)stop_from_call};

static pp_host_contract_instance stop_self(const pp_host_contract_interface *self, const void *args)
{
	(void)args;
	return (pp_host_contract_instance){(void *)self};
}

static void call_back_in(void *ud, uint64_t id, const char *name, uint32_t phase,
                         const char *reason)
{
	(void)id;
	(void)name;
	(void)reason;
	stop_inside *si = ud;
	if (phase != PP_RELOAD_PREPARING || atomic_exchange(&si->in_callback, 1))
		return;
	for (int i = 0; i < 3000 && !atomic_load(&si->in_call); i++)
		sleep_ms(10);
	int32_t out = 0;
	si->callback_call = js_call(si->rt, "w.Stopper", 1, NULL, &out);
	atomic_store(&si->callback_done, 1);
}

static void *call_stopper(void *p)
{
	stop_inside *si = p;
	int32_t out = 0;
	return (void *)(uintptr_t)js_call(si->rt, "w.Stopper", 0, NULL, &out);
}

static void a_watch_stop_inside_a_call_the_watcher_waits_for_returns(void **state)
{
	(void)state;
	stop_inside si = {.iface = {.contract_id = pp_host_contract_id("w.Stop", 1),
	                            .contract_version = {1, 0, 0},
	                            .flags = PP_HOST_CONTRACT_SINGLETON,
	                            .dispatch_type = PP_DISPATCH_NATIVE,
	                            .create_instance = stop_self,
	                            .destroy_instance = drop_instance,
	                            .dispatch.native = {1, stop_fns}}};
	si.rt = rt_reporting(call_back_in, &si);
	assert_int_equal(pp_host_contract_register(si.rt, &si.iface), PP_OK);
	js_load_ok(si.rt, "stopper",
	           JS_PRELUDE
	           "function polyplug_init() { var st = cid('host_contract:w.Stop@1');\n"
	           "  return ok([reg('w.Stopper', [function (i, a, o, ar, b) {"
	           " return b.callHostContract(st[0], st[1], 0x10000, 0, 0, 0); },"
	           " function (i, a, o, ar, b) { b.writeI32(o, 1); return 0; }])]); }\n");
	char dir[256];
	watched_bundle(si.rt, dir, sizeof dir, "w.Value", 1, true);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, call_stopper, &si), 0);
	for (int i = 0; i < 3000 && !atomic_load(&si.in_call); i++)
		sleep_ms(10);
	js_value_bundle(dir, "w.Value", 2); /* a save: the watcher reloads, calling back */
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 30;
	void *code = NULL;
	if (pthread_timedjoin_np(t, &code, &deadline) != 0)
		fail_msg("pp_watch_stop inside a call never returned (the watcher waits for its "
		         "VM)");
	assert_int_equal((uintptr_t)code, PP_OK);
	for (int i = 0; i < 3000 && !atomic_load(&si.callback_done); i++)
		sleep_ms(10);
	assert_int_equal(si.callback_call, PP_OK);
	pp_runtime_free(si.rt); /* joins the watcher */
	remove_tree(dir);
}

/* pp_runtime_free stops the watcher before it unloads the bundles: a start
 * from an UNLOADING callback (or plugin teardown) after that would watch a
 * runtime being freed. It is refused. */
typedef struct late_start {
	pp_runtime *rt;
	pp_status st;
	int tries;
} late_start;

static void start_while_unloading(void *ud, uint64_t id, const char *name, uint32_t phase,
                                  const char *reason)
{
	(void)id;
	(void)name;
	(void)reason;
	late_start *ls = ud;
	if (phase == PP_RELOAD_UNLOADING) {
		ls->st = pp_watch_start(ls->rt, DEBOUNCE_MS);
		ls->tries++;
	}
}

static void a_watch_started_while_the_runtime_is_freed_is_refused(void **state)
{
	(void)state;
	late_start ls = {.st = PP_OK};
	ls.rt = rt_reporting(start_while_unloading, &ls);
	char dir[256];
	watched_bundle(ls.rt, dir, sizeof dir, "w.Late", 1, false);
	pp_runtime_free(ls.rt);
	assert_int_equal(ls.tries, 1);
	assert_int_equal(ls.st, PP_ERR_INVALID_ARGUMENT);
	remove_tree(dir);
}

/* With hot_reload_enabled = 0, pp_bundle_reload is PP_ERR_UNSUPPORTED for
 * native and JS bundles alike (nothing is prepared, the loaded version keeps
 * serving) and pp_watch_start is refused the same way (docs/runtime.md,
 * Reloading). */
static void with_hot_reload_disabled_reload_and_watch_are_unsupported(void **state)
{
	(void)state;
	event_log e = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime_config cfg;
	pp_runtime_config_init(&cfg);
	cfg.log = capture_log;
	cfg.log_userdata = quiet_log();
	cfg.on_reload = record_event;
	cfg.reload_userdata = &e;
	cfg.hot_reload_enabled = 0;
	pp_runtime *rt = NULL;
	assert_int_equal(pp_runtime_new(&cfg, &rt), PP_OK);
	char dir[256];
	watched_bundle(rt, dir, sizeof dir, "w.Off", 1, false);
	uint64_t js = pp_bundle_id(strrchr(dir, '/') + 1);
	uint64_t native = load_ok(rt, fx("calc_v1"));
	assert_int_equal(pp_bundle_reload(rt, js), PP_ERR_UNSUPPORTED);
	assert_contains(pp_last_error(rt), "hot reload is disabled");
	assert_int_equal(pp_bundle_reload(rt, native), PP_ERR_UNSUPPORTED);
	assert_contains(pp_last_error(rt), "hot reload is disabled");
	assert_int_equal(count(&e, "preparing:"), 0);
	assert_int_equal(count(&e, "reloaded:"), 0);
	assert_int_equal(value_of(rt, "w.Off", 0), 1);
	assert_int_equal(calc_add(rt, 2, 3), 5);
	assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_ERR_UNSUPPORTED);
	assert_contains(pp_last_error(rt), "hot reload is disabled");
	pp_watch_stop(rt); /* nothing to stop */
	/* a save is not picked up: nothing watches */
	js_value_bundle(dir, "w.Off", 2);
	sleep_ms(3 * DEBOUNCE_MS);
	assert_int_equal(value_of(rt, "w.Off", 0), 1);
	/* loading and unloading are not affected */
	assert_int_equal(pp_bundle_unload(rt, js, 0), PP_OK);
	assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_OK);
	assert_int_equal(value_of(rt, "w.Off", 0), 2);
	pp_runtime_free(rt);
	remove_tree(dir);
}

/* ---- Hostile directories ------------------------------------------------------- */

/* A host contract that writes DIR/state.json each time it is called: what
 * a plugin does that keeps a cache, a log or a pid file next to its code. */
static char touch_dir[256];
static atomic_int touches;
static char save_during[2048]; /* saved as bundle.js at the next touch, if pending */
static atomic_bool save_pending;

static void touch_state(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)state;
	(void)args;
	(void)out;
	(void)err;
	char text[32];
	snprintf(text, sizeof text, "%d", atomic_fetch_add(&touches, 1));
	write_text(touch_dir, "state.json", text);
	if (atomic_exchange(&save_pending, false)) /* a save landing while the reload runs */
		save_text(touch_dir, "bundle.js", save_during);
}

static const void *const touch_fns[] = {(const void *)touch_state};

/* touch_state without the state file: only the pending save. */
static void save_if_pending(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)state;
	(void)args;
	(void)out;
	(void)err;
	if (atomic_exchange(&save_pending, false))
		save_text(touch_dir, "bundle.js", save_during);
}

static const void *const save_fns[] = {(const void *)save_if_pending};

/* A bundle whose init writes a file of its own directory (a native plugin
 * keeping its state or log next to its code): the reload a save makes
 * writes it again, which is not a save. It reloaded every debounce interval,
 * forever (about 20 reloads in 1.6 s). A reload that found nothing changed
 * since the one before is an echo of it; it is done (a save may have landed
 * while the reload read its files), an echo of an echo is not. A later save
 * reloads again. */
static void a_bundle_rewriting_its_own_file_in_init_does_not_reload_forever(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with(&c, PP_LOG_WARN, record_event, &ev);
	pp_host_contract_interface touch = {.contract_id = pp_host_contract_id("w.Touch", 1),
	                                    .contract_version = {1, 0, 0},
	                                    .flags = PP_HOST_CONTRACT_SINGLETON,
	                                    .dispatch_type = PP_DISPATCH_NATIVE,
	                                    .create_instance = no_instance,
	                                    .destroy_instance = drop_instance,
	                                    .dispatch.native = {1, touch_fns}};
	assert_int_equal(pp_host_contract_register(rt, &touch), PP_OK);
	temp_dir(touch_dir, sizeof touch_dir);
	atomic_store(&touches, 0);
	static const char src[] =
	        JS_PRELUDE "var t = cid('host_contract:w.Touch@1');\n"
	                   "function polyplug_init(hl, hh, cl, ch, b) {\n"
	                   "  b.callHostContract(t[0], t[1], 0x10000, 0, 0, 0);\n"
	                   "  return ok([reg('w.Touchy', [function (i, a, o, ar, b) {"
	                   " b.writeI32(o, %d); return 0; }])]);\n}\n";
	char text[2048];
	snprintf(text, sizeof text, src, 1);
	save_text(touch_dir, "bundle.js", text);
	assert_int_equal(pp_bundle_load(rt, touch_dir, NULL, NULL), PP_OK);
	assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);
	for (int save = 1; save <= 2; save++) {
		snprintf(text, sizeof text, src, 1 + save);
		save_text(touch_dir, "bundle.js", text);
		await_value(rt, "w.Touchy", 1 + save);
		sleep_ms(20 * DEBOUNCE_MS);
		int reloads = count(&ev, "reloaded:");
		if (reloads != 2 * save)
			fail_msg("%d saves made %d reloads (init wrote its state %d times)", save,
			         reloads, atomic_load(&touches));
		pthread_mutex_lock(&c.lock);
		assert_int_equal(c.count[PP_LOG_WARN], save);
		assert_contains(c.last, "changed only while its reload ran, twice in a row");
		pthread_mutex_unlock(&c.lock);
	}
	/* a save landing while a reload runs is not lost: the echo loads it */
	snprintf(save_during, sizeof save_during, src, 42);
	atomic_store(&save_pending, true);
	snprintf(text, sizeof text, src, 4);
	save_text(touch_dir, "bundle.js", text);
	await_value(rt, "w.Touchy", 42);
	pp_runtime_free(rt);
	remove_tree(touch_dir);
}

/* The same bundle, saved broken: its init writes its state, then fails.
 * Each failed reload wrote the directory again, and a reload that failed
 * never counted as an echo: it reloaded (and failed) every debounce
 * interval, forever, until the next save. */
static void a_failing_bundle_rewriting_its_own_file_in_init_does_not_reload_forever(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with(&c, PP_LOG_WARN, record_event, &ev);
	pp_host_contract_interface touch = {.contract_id = pp_host_contract_id("w.Touch", 1),
	                                    .contract_version = {1, 0, 0},
	                                    .flags = PP_HOST_CONTRACT_SINGLETON,
	                                    .dispatch_type = PP_DISPATCH_NATIVE,
	                                    .create_instance = no_instance,
	                                    .destroy_instance = drop_instance,
	                                    .dispatch.native = {1, touch_fns}};
	assert_int_equal(pp_host_contract_register(rt, &touch), PP_OK);
	temp_dir(touch_dir, sizeof touch_dir);
	atomic_store(&touches, 0);
	atomic_store(&save_pending, false);
	static const char src[] =
	        JS_PRELUDE "var t = cid('host_contract:w.Touch@1');\n"
	                   "function polyplug_init(hl, hh, cl, ch, b) {\n"
	                   "  b.callHostContract(t[0], t[1], 0x10000, 0, 0, 0);\n"
	                   "  %s\n"
	                   "  return ok([reg('w.Touchy', [function (i, a, o, ar, b) {"
	                   " b.writeI32(o, 1); return 0; }])]);\n}\n";
	char text[2048];
	snprintf(text, sizeof text, src, "");
	save_text(touch_dir, "bundle.js", text);
	assert_int_equal(pp_bundle_load(rt, touch_dir, NULL, NULL), PP_OK);
	assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);
	snprintf(text, sizeof text, src, "throw new Error('broken');");
	save_text(touch_dir, "bundle.js", text);
	await_events(&ev, "failed:", 1);
	sleep_ms(20 * DEBOUNCE_MS);
	int failed = count(&ev, "failed:");
	if (failed > 2)
		fail_msg("one broken save made %d failed reloads (init wrote its state %d times)",
		         failed, atomic_load(&touches));
	assert_int_equal(value_of(rt, "w.Touchy", 0), 1); /* the old version still answers */
	pp_runtime_free(rt);
	remove_tree(touch_dir);
}

/* A provider's reload refused for its dependent is tried again once the
 * dependent reloads: that retry applies the save, it is no echo. Counted as
 * one (nothing changed since the refused reload), it left a save landing
 * while the retry ran to be dropped as an echo of an echo. */
static void a_save_landing_while_a_refused_reload_is_retried_is_reloaded(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	pp_host_contract_interface touch = {.contract_id = pp_host_contract_id("w.Touch", 1),
	                                    .contract_version = {1, 0, 0},
	                                    .flags = PP_HOST_CONTRACT_SINGLETON,
	                                    .dispatch_type = PP_DISPATCH_NATIVE,
	                                    .create_instance = no_instance,
	                                    .destroy_instance = drop_instance,
	                                    .dispatch.native = {1, save_fns}};
	assert_int_equal(pp_host_contract_register(rt, &touch), PP_OK);
	char base[256], user[256];
	base_and_user(rt, base, user, sizeof base, "");
	snprintf(touch_dir, sizeof touch_dir, "%s", base);
	atomic_store(&save_pending, false);
	static const char src[] =
	        JS_PRELUDE "var t = cid('host_contract:w.Touch@1');\n"
	                   "function polyplug_init(hl, hh, cl, ch, b) {\n"
	                   "  %s\n"
	                   "  return ok([reg('w.Base2', [function (i, a, o, ar, b) {"
	                   " b.writeI32(o, %d); return 0; }])]);\n}\n";
	char text[2048];
	snprintf(save_during, sizeof save_during, src, "", 3);
	snprintf(text, sizeof text, src, "b.callHostContract(t[0], t[1], 0x10000, 0, 0, 0);", 2);
	save_text(base, "manifest.toml", "name = \"base\"\nprovides = [\"w.Base2@1\"]\n");
	save_text(base, "bundle.js", text);
	await_events(&ev, "failed:base", 1); /* user still needs w.Base@1 */
	atomic_store(&save_pending, true);   /* saved as the retry runs its init */
	save_text(user, "manifest.toml", "name = \"user\"\nprovides = [\"w.User@1\"]\n");
	await_events(&ev, "reloaded:base", 1);
	await_value(rt, "w.Base2", 3);
	pp_runtime_free(rt);
	remove_tree(base);
	remove_tree(user);
}

/* A bundle loaded while watching and saved before the watcher first looks
 * at it is reloaded for that save when the watcher compares its files with
 * what its load saw. That reload is for a save, not an echo of one: a save
 * landing while it runs is reloaded. It was counted as an echo (nothing
 * changed since the watcher looked), so the save landing then was dropped
 * as an echo of an echo. */
static void a_save_landing_while_a_new_bundles_first_reload_runs_is_reloaded(void **state)
{
	(void)state;
	stall s = {.ev = {.lock = PTHREAD_MUTEX_INITIALIZER}};
	pp_runtime *rt = rt_reporting(stall_watcher, &s);
	pp_host_contract_interface touch = {.contract_id = pp_host_contract_id("w.Touch", 1),
	                                    .contract_version = {1, 0, 0},
	                                    .flags = PP_HOST_CONTRACT_SINGLETON,
	                                    .dispatch_type = PP_DISPATCH_NATIVE,
	                                    .create_instance = no_instance,
	                                    .destroy_instance = drop_instance,
	                                    .dispatch.native = {1, save_fns}};
	assert_int_equal(pp_host_contract_register(rt, &touch), PP_OK);
	atomic_store(&save_pending, false);
	static const char src[] =
	        JS_PRELUDE "var t = cid('host_contract:w.Touch@1');\n"
	                   "function polyplug_init(hl, hh, cl, ch, b) {\n"
	                   "  b.callHostContract(t[0], t[1], 0x10000, 0, 0, 0);\n"
	                   "  return ok([reg('w.Late', [function (i, a, o, ar, b) {"
	                   " b.writeI32(o, %d); return 0; }])]);\n}\n";
	char anchor[256], text[2048];
	js_value_bundle(temp_dir(anchor, sizeof anchor), "w.Anchor", 1);
	temp_dir(touch_dir, sizeof touch_dir);
	snprintf(text, sizeof text, src, 1);
	save_text(touch_dir, "bundle.js", text);
	assert_int_equal(pp_bundle_load(rt, anchor, NULL, NULL), PP_OK);
	assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);
	/* the watcher is held in the anchor's reload: it cannot look at the
	 * new bundle before it is loaded and saved */
	js_value_bundle(anchor, "w.Anchor", 2);
	await_true(atomic_load(&s.held) == 1, 30);
	assert_int_equal(pp_bundle_load(rt, touch_dir, NULL, NULL), PP_OK);
	snprintf(text, sizeof text, src, 2);
	save_text(touch_dir, "bundle.js", text);
	snprintf(save_during, sizeof save_during, src, 42);
	atomic_store(&save_pending, true); /* saved as the reload for 2 runs its init */
	atomic_store(&s.release, 1);
	await_value(rt, "w.Late", 42);
	pp_runtime_free(rt);
	remove_tree(anchor);
	remove_tree(touch_dir);
}

/* A plugins directory that fills with names (a plugin's cache written
 * there, an unpacked archive, a hostile plugin): the watcher keeps up, a
 * save still reloads at once and pp_watch_stop returns at once. Each event
 * looked through every name seen and every arrival: 40000 names kept the
 * watcher busy for about 9 s (growing with their square), the save waited
 * as long and a pp_watch_stop then (or pp_runtime_free) too. */
static void many_names_in_a_plugins_directory_do_not_keep_the_watcher_busy(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = watched_runtime(&ev);
	char root[256], first[512], path[600];
	watch_plugins_dir_with_first(rt, root, sizeof root, first, sizeof first);
	int n = race_rounds(40000);
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/cache-entry-%06d", root, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0)
			fail_msg("cannot make %s", path);
		close(fd);
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	js_value_bundle(first, "w.First", 2);
	await_value(rt, "w.First", 2);
	long reload = elapsed_ms(&t0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pp_watch_stop(rt);
	long stop = elapsed_ms(&t0);
	pp_runtime_free(rt);
	remove_tree(root);
	if (reload > 3000 || stop > 1000)
		fail_msg("after %d names: a save reloaded in %ld ms, pp_watch_stop took %ld ms", n,
		         reload, stop);
}

/* A single-file bundle (a .js file) is watched through its parent
 * directory for its name, and each event there rebuilds the watch set (the
 * file may be a new inode): the rebuild notes the file's new signature
 * before the reload is due. The echo rule then saw every save after the
 * first as "nothing changed since the last reload" and dropped every other
 * save with the "twice in a row" warning. */
static void every_save_of_a_single_file_bundle_is_reloaded(void **state)
{
	(void)state;
	event_log ev = {.lock = PTHREAD_MUTEX_INITIALIZER};
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with(&c, PP_LOG_WARN, record_event, &ev);
	char dir[256], file[512], src[2048];
	temp_dir(dir, sizeof dir);
	snprintf(file, sizeof file, "%s/one.js", dir);
	for (int value = 1; value <= 4; value++) {
		snprintf(src, sizeof src,
		         JS_ONE("w.One",
		                "function (i, a, o, ar, b) { b.writeI32(o, %d); return 0; }"),
		         value);
		save_text(dir, "one.js", src);
		if (value == 1) {
			assert_int_equal(pp_bundle_load(rt, file, NULL, NULL), PP_OK);
			assert_int_equal(pp_watch_start(rt, DEBOUNCE_MS), PP_OK);
			continue;
		}
		await_value(rt, "w.One", value);
		sleep_ms(4 * DEBOUNCE_MS); /* quiet between saves, as a person types */
	}
	pthread_mutex_lock(&c.lock);
	if (c.count[PP_LOG_WARN] != 0)
		fail_msg("warned: %s", c.last);
	pthread_mutex_unlock(&c.lock);
	pp_runtime_free(rt);
	remove_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(a_watch_stop_inside_a_call_the_watcher_waits_for_returns),
	        cmocka_unit_test(a_watch_started_while_the_runtime_is_freed_is_refused),
	        cmocka_unit_test(with_hot_reload_disabled_reload_and_watch_are_unsupported),
	        cmocka_unit_test(a_save_makes_one_reload),
	        cmocka_unit_test(a_save_the_moment_watch_start_returns_is_reloaded),
	        cmocka_unit_test(a_save_before_a_new_bundle_is_watched_is_reloaded),
	        cmocka_unit_test(a_load_overlapping_watch_start_is_reloaded_for_a_save),
	        cmocka_unit_test(a_name_loaded_again_from_elsewhere_is_reloaded_for_a_save),
	        cmocka_unit_test(a_host_reload_before_the_watcher_looks_is_not_repeated),
	        cmocka_unit_test(
	                reloads_due_survive_a_rebuild_next_to_a_bundle_with_many_subdirectories),
	        cmocka_unit_test(a_module_saved_in_a_subdirectory_is_reloaded),
	        cmocka_unit_test(
	                a_module_saved_in_a_subdirectory_of_a_bundle_loaded_through_a_link_is_reloaded),
	        cmocka_unit_test(what_the_watcher_ignores_never_reloads),
	        cmocka_unit_test(a_bundle_past_256_subdirectories_is_watched_up_to_them),
	        cmocka_unit_test(
	                a_subdirectory_swapped_for_a_link_is_never_watched_outside_the_bundle),
	        cmocka_unit_test(a_watch_stays_inside_the_bundle_after_the_main_thread_has_ended),
	        cmocka_unit_test(a_bundle_directory_inotify_refuses_fails_watch_start_naming_it),
	        cmocka_unit_test(
	                an_unwatchable_subdirectory_in_a_bundle_is_a_warning_not_a_failed_start),
	        cmocka_unit_test(
	                a_subdirectory_left_unwatched_is_warned_about_once_not_at_every_rebuild),
	        cmocka_unit_test(a_reload_moves_only_its_own_contracts_revisions),
	        cmocka_unit_test(js_and_native_rewritten_under_load),
	        cmocka_unit_test(a_broken_version_keeps_the_old_one),
	        cmocka_unit_test(dependents_reinit_after_a_dependency_reloads),
	        cmocka_unit_test(
	                a_reload_refused_for_a_dependent_succeeds_once_the_dependent_reloads),
	        cmocka_unit_test(
	                a_dependent_refused_for_a_missing_contract_reloads_once_its_provider_does),
	        cmocka_unit_test(a_dependent_waiting_for_a_new_bundle_reloads_once_it_is_loaded),
	        cmocka_unit_test(a_bundle_directory_deleted_and_recreated_is_reloaded),
	        cmocka_unit_test(lost_events_are_found_by_a_rescan),
	        cmocka_unit_test(a_save_lost_in_an_overflow_while_its_bundle_reloads_is_reloaded),
	        cmocka_unit_test(a_bundle_directory_added_to_a_plugins_directory_is_loaded),
	        cmocka_unit_test(a_bundle_whose_load_failed_is_loaded_once_fixed_in_place),
	        cmocka_unit_test(a_bundle_the_host_unloads_is_not_loaded_again_by_the_watcher),
	        cmocka_unit_test(a_bundle_directory_made_again_in_a_plugins_directory_is_loaded),
	        cmocka_unit_test(a_plugins_directory_made_again_keeps_its_bundles_reloading),
	        cmocka_unit_test(watch_stop_from_a_busy_bundles_callback_never_deadlocks),
	        cmocka_unit_test(many_names_in_a_plugins_directory_do_not_keep_the_watcher_busy),
	        cmocka_unit_test(a_bundle_rewriting_its_own_file_in_init_does_not_reload_forever),
	        cmocka_unit_test(every_save_of_a_single_file_bundle_is_reloaded),
	        cmocka_unit_test(
	                a_failing_bundle_rewriting_its_own_file_in_init_does_not_reload_forever),
	        cmocka_unit_test(a_save_landing_while_a_refused_reload_is_retried_is_reloaded),
	        cmocka_unit_test(
	                a_file_replaced_by_a_link_to_a_bundle_in_a_plugins_directory_is_loaded),
	        cmocka_unit_test(a_save_landing_while_a_new_bundles_first_reload_runs_is_reloaded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
