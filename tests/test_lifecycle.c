/* test_lifecycle.c — bundles coming and going while the host keeps working:
 * bounded memory over many load/unload cycles, calls racing unloads and
 * reloads on real threads, re-entrant cross-bundle calls, and a bundle that
 * unloads itself mid-call. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "rss.h"

/* Private plugin copies still mapped into this process (each maps several
 * segments; count the files). */
static int plugin_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return -1;
	char line[1024], needle[64], last[1024] = "";
	snprintf(needle, sizeof needle, "/.polyplug-%ld-", (long)getpid());
	int n = 0;
	while (fgets(line, sizeof line, f)) {
		char *path = strstr(line, needle);
		if (path && strcmp(path, last) != 0) {
			n++;
			snprintf(last, sizeof last, "%s", path);
		}
	}
	fclose(f);
	return n;
}

/* Private plugin copies left on disk, beside the fixtures or in $TMPDIR. */
static int copies_in(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	char prefix[64];
	snprintf(prefix, sizeof prefix, ".polyplug-%ld-", (long)getpid());
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

static int plugin_copies(void)
{
	const char *tmp = getenv("TMPDIR");
	return copies_in(PP_FIXTURE_DIR) + copies_in(tmp && *tmp ? tmp : "/tmp");
}

static void assert_everything_reclaimed(pp_runtime *rt)
{
	assert_int_equal(pp_runtime_quiesce(rt), PP_OK);
	pp_stats st;
	pp_runtime_stats(rt, &st);
	assert_int_equal(st.bundles, 0);
	assert_int_equal(st.contracts, 0);
	assert_int_equal(st.pending_reclaims, 0);
	assert_int_equal(plugin_mappings(), 0);
	assert_int_equal(plugin_copies(), 0);
}

/* POLYPLUG_KEEP_COPIES=1 (for debuggers, which read debug info from the
 * file) keeps a native bundle's private copy on disk while it is loaded,
 * and still removes it with the code. */
static void keep_copies_leaves_the_copy_until_the_code_is_released(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	load_ok(rt, fx("calc_v1"));
	assert_int_equal(plugin_copies(), 0); /* by default, unlinked once mapped */
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("calc_v1"), 0), PP_OK);
	assert_everything_reclaimed(rt);
	setenv("POLYPLUG_KEEP_COPIES", "1", 1);
	load_ok(rt, fx("calc_v1"));
	unsetenv("POLYPLUG_KEEP_COPIES");
	assert_int_equal(plugin_copies(), 1);
	assert_int_equal(plugin_mappings(), 1);
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("calc_v1"), 0), PP_OK);
	assert_everything_reclaimed(rt);
	pp_runtime_free(rt);
}

/* In a child: makes dir unwritable — a read-only mount of its own, for
 * root ignores permissions — and loads the library in it with TMPDIR set to
 * tmp. 0 if the copy lived in tmp while loaded (logged as such) and is gone
 * with the code, 77 if dir cannot be made read-only here. */
static int load_from_read_only(const char *dir, const char *tmp)
{
	if (geteuid() == 0) {
		if (unshare(CLONE_NEWNS) != 0 ||
		    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
		    mount("tmpfs", dir, "tmpfs", 0, "size=16m") != 0)
			return 77;
	}
	char lib[256];
	snprintf(lib, sizeof lib, "%s/calc.so", dir);
	copy_file(fx("calc_v1"), lib);
	if (geteuid() == 0 ? mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL) != 0
	                   : chmod(dir, 0555) != 0)
		return 77;
	setenv("TMPDIR", tmp, 1);
	setenv("POLYPLUG_KEEP_COPIES", "1", 1);
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with_log(&c, PP_LOG_WARN);
	uint64_t id = 0;
	int bad = 0;
	if (pp_bundle_load(rt, lib, NULL, &id) != PP_OK)
		bad = 1;
	else if (copies_in(tmp) != 1 || copies_in(dir) != 0 || calc_add(rt, 2, 3) != 5)
		bad = 2;
	else if (!strstr(c.last, "is not writable") || !strstr(c.last, tmp))
		bad = 3;
	else if (pp_bundle_unload(rt, id, 0) != PP_OK || pp_runtime_quiesce(rt) != PP_OK ||
	         copies_in(tmp) != 0)
		bad = 4;
	if (bad)
		fprintf(stderr, "step %d: %s | %s\n", bad, pp_last_error(rt), c.last);
	pp_runtime_free(rt);
	return bad;
}

/* A library in a directory the host cannot write is copied to $TMPDIR
 * instead, says so, and the copy goes with the code. */
static void a_library_in_a_read_only_directory_is_copied_to_tmpdir(void **state)
{
	(void)state;
	char dir[64], tmp[64];
	temp_dir(dir, sizeof dir);
	temp_dir(tmp, sizeof tmp);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(load_from_read_only(dir, tmp));
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	chmod(dir, 0755);
	remove_tree(dir);
	remove_tree(tmp);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip(); /* no mount namespace for root here */
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void load_unload_a_thousand_times_keeps_memory_bounded(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	long baseline = 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t id = load_ok(rt, fx("calc_v1"));
		assert_int_equal(calc_add(rt, i, 1), i + 1);
		assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
		if (i % 100 == 99) {
			/* never parked forever: each grace period reclaims everything */
			assert_everything_reclaimed(rt);
			if (i == 99)
				baseline = rss_kib();
		}
	}
	pp_stats st;
	pp_runtime_stats(rt, &st);
	assert_true(st.reclaimed >= 2000); /* every version's code and contract */
#if !defined(PP_SANITIZE_ADDRESS) && !defined(PP_SANITIZE_THREAD)
	long growth = rss_kib() - baseline;
	if (growth > 4096)
		fail_msg("RSS grew by %ld KiB over 900 load/unload cycles", growth);
#else
	(void)baseline;
#endif
	pp_runtime_free(rt);
}

static void reload_many_times_reclaims_each_version(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	uint64_t id = load_ok(rt, fx("calc_v1"));
	pp_guest_contract_handle h = pp_find(rt, CALC, 0);
	for (int i = 0; i < 300; i++) {
		assert_int_equal(pp_bundle_reload(rt, id), PP_OK);
		pp_guest_contract_instance none = {NULL, 0};
		pair p = {i, i};
		int32_t out = 0;
		assert_int_equal(pp_call(rt, h, none, 0, &p, &out, NULL), PP_OK);
		assert_int_equal(out, 2 * i);
	}
	assert_int_equal(pp_runtime_quiesce(rt), PP_OK);
	assert_int_equal(plugin_mappings(), 1); /* only the live version */
	assert_int_equal(plugin_copies(), 0);   /* mapped, yet nothing on disk to leak */
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	assert_everything_reclaimed(rt);
	pp_runtime_free(rt);
}

typedef struct race {
	pp_runtime *rt;
	atomic_bool stop;
	atomic_long ok_calls, gone_calls, wrong;
} race;

static void *caller(void *p)
{
	race *r = p;
	pp_guest_contract_instance none = {NULL, 0};
	long i = 0;
	while (!atomic_load(&r->stop)) {
		pp_guest_contract_handle h = pp_find(r->rt, CALC, 0);
		pair args = {(int32_t)(i & 0xFFFF), 3};
		int32_t out = 0;
		uint32_t code = pp_call(r->rt, h, none, 0, &args, &out, NULL);
		if (code == PP_OK) {
			if (out != args.a + 3)
				atomic_fetch_add(&r->wrong, 1);
			atomic_fetch_add(&r->ok_calls, 1);
		} else if (code == PP_ERR_STALE_HANDLE) {
			atomic_fetch_add(&r->gone_calls, 1);
		} else {
			atomic_fetch_add(&r->wrong, 1);
		}
		/* also through an instance, created and destroyed around the call */
		pp_guest_contract_instance inst;
		if (pp_instance_create(r->rt, h, NULL, &inst) == PP_OK && inst.data) {
			int64_t n = 0;
			code = pp_call(r->rt, h, inst, 3, NULL, &n, NULL);
			if (code == PP_OK && n != 1)
				atomic_fetch_add(&r->wrong, 1);
			pp_instance_destroy(r->rt, h, inst);
		}
		i++;
	}
	return NULL;
}

static void calls_race_unloads_and_reloads_safely(void **state)
{
	(void)state;
	race r = {.rt = rt_new()};
	atomic_init(&r.stop, false);
	atomic_init(&r.ok_calls, 0);
	atomic_init(&r.gone_calls, 0);
	atomic_init(&r.wrong, 0);
	load_ok(r.rt, fx("calc_v1"));
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, caller, &r), 0);
	for (int i = 0; i < 150; i++) {
		uint64_t id = pp_bundle_id("calc_v1");
		assert_int_equal(pp_bundle_reload(r.rt, id), PP_OK);
		assert_int_equal(pp_bundle_unload(r.rt, id, 0), PP_OK);
		usleep(200);
		load_ok(r.rt, fx("calc_v1"));
		usleep(200);
	}
	/* keep going until both callers have seen the bundle serving */
	while (atomic_load(&r.ok_calls) < 100)
		usleep(1000);
	atomic_store(&r.stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&r.wrong), 0);
	assert_true(atomic_load(&r.ok_calls) >= 100);
	pp_runtime_free(r.rt);
}

static void reentrant_calls_across_bundles_nest(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	load_ok(rt, fx("ping"));
	load_ok(rt, fx("pong"));
	uint32_t code;
	assert_int_equal(call_i32(rt, "test.ping", 0, 500, &code), 500);
	assert_int_equal(code, PP_OK);
	pp_runtime_free(rt);
}

static void bundle_unloading_itself_mid_call_keeps_running(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	load_ok(rt, fx("selfunload"));
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.self", 1), 0);
	pp_guest_contract_instance none = {NULL, 0};
	int32_t out = 0;
	assert_int_equal(pp_call(rt, h, none, 0, NULL, &out, NULL), PP_OK);
	int32_t expect = 0;
	for (const char *s = "still mapped"; *s; s++)
		expect += *s;
	assert_int_equal(out, expect);
	assert_null(pp_resolve(rt, h));
	assert_everything_reclaimed(rt);
	pp_runtime_free(rt);
}

static void *own_runtime(void *p)
{
	long *result = p;
	pp_runtime *rt = NULL;
	if (pp_runtime_new(NULL, &rt) != PP_OK)
		return NULL;
	long sum = 0;
	for (int i = 0; i < 50; i++) {
		uint64_t id;
		if (pp_bundle_load(rt, fx(i % 2 ? "calc_v1" : "calc_v2"), NULL, &id) != PP_OK)
			break;
		uint32_t code;
		sum += call_i32(rt, "test.calc", 1, 0, &code);
		pp_bundle_unload(rt, id, 0);
	}
	pp_runtime_free(rt);
	*result = sum;
	return NULL;
}

static void runtimes_on_four_threads_stay_isolated(void **state)
{
	(void)state;
	pthread_t t[4];
	long sums[4] = {0};
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, own_runtime, &sums[i]), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(sums[i], 25 * 1 + 25 * 2);
	}
}

/* Which thread each lifecycle event arrived on, against the one expected. */
typedef struct thread_check {
	pthread_mutex_t lock;
	pthread_t expected;
	int events, elsewhere;
} thread_check;

static void note_event_thread(void *ud, uint64_t id, const char *name, uint32_t phase,
                              const char *why)
{
	(void)id;
	(void)name;
	(void)phase;
	(void)why;
	thread_check *t = ud;
	pthread_mutex_lock(&t->lock);
	t->events++;
	t->elsewhere += !pthread_equal(pthread_self(), t->expected);
	pthread_mutex_unlock(&t->lock);
}

typedef struct churn_once {
	pp_runtime *rt;
	thread_check *check;
	pp_status load, reload, unload;
} churn_once;

static void *load_reload_unload(void *arg)
{
	churn_once *c = arg;
	pthread_mutex_lock(&c->check->lock);
	c->check->expected = pthread_self();
	pthread_mutex_unlock(&c->check->lock);
	uint64_t id = 0;
	c->load = pp_bundle_load(c->rt, fx("calc_v1"), NULL, &id);
	c->reload = pp_bundle_reload(c->rt, id);
	c->unload = pp_bundle_unload(c->rt, id, 0);
	return NULL;
}

/* docs/event-loop.md: on_reload runs on the thread that loads, reloads or
 * unloads, so a loop host must post it to the loop. */
static void lifecycle_events_arrive_on_the_thread_that_loads_reloads_or_unloads(void **state)
{
	(void)state;
	thread_check check = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_reporting(note_event_thread, &check);
	churn_once c = {.rt = rt, .check = &check};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, load_reload_unload, &c), 0);
	pthread_join(t, NULL);
	assert_int_equal(c.load, PP_OK);
	assert_int_equal(c.reload, PP_OK);
	assert_int_equal(c.unload, PP_OK);
	assert_true(check.events >= 4); /* loaded, preparing, reloaded, unloading */
	assert_int_equal(check.elsewhere, 0);
	pp_runtime_free(rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(keep_copies_leaves_the_copy_until_the_code_is_released),
	        cmocka_unit_test(a_library_in_a_read_only_directory_is_copied_to_tmpdir),
	        cmocka_unit_test(load_unload_a_thousand_times_keeps_memory_bounded),
	        cmocka_unit_test(reload_many_times_reclaims_each_version),
	        cmocka_unit_test(calls_race_unloads_and_reloads_safely),
	        cmocka_unit_test(reentrant_calls_across_bundles_nest),
	        cmocka_unit_test(bundle_unloading_itself_mid_call_keeps_running),
	        cmocka_unit_test(runtimes_on_four_threads_stay_isolated),
	        cmocka_unit_test(
	                lifecycle_events_arrive_on_the_thread_that_loads_reloads_or_unloads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
