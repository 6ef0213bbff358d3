/* test_runtime.c — the runtime object itself: configuration, the logging
 * funnel, per-thread last errors and the plugin allocator. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#include "helpers.h"

static void config_defaults(void **state)
{
	(void)state;
	pp_runtime_config cfg;
	memset(&cfg, 0xFF, sizeof cfg);
	unsetenv("POLYPLUG_LOG");
	pp_runtime_config_init(&cfg);
	assert_null(cfg.log);
	assert_int_equal(cfg.log_level, 0); /* "the default": Info, or Warn on stderr */
	assert_true(cfg.hot_reload_enabled);
	assert_null(cfg.alloc);
	/* the defaults docs/js.md "Limits" gives */
	assert_int_equal(cfg.js.memory_bytes, 256u << 20);
	assert_int_equal(cfg.js.stack_bytes, 1u << 20);
	assert_int_equal(cfg.js.cpu_ms, 5000);
	assert_int_equal(cfg.js.memory_mode, PP_JS_MEMORY_AUTO);
	pp_runtime *rt = NULL;
	assert_int_equal(pp_runtime_new(NULL, &rt), PP_OK);
	assert_non_null(rt);
	pp_runtime_free(rt);
	pp_runtime_free(NULL);
	assert_int_equal(pp_runtime_new(NULL, NULL), PP_ERR_INVALID_ARGUMENT);
}

static void *only_alloc(void *ud, size_t size, size_t align)
{
	(void)ud;
	(void)align;
	return malloc(size);
}

static void half_an_allocator_is_refused(void **state)
{
	(void)state;
	pp_runtime_config cfg;
	pp_runtime_config_init(&cfg);
	cfg.alloc = only_alloc;
	pp_runtime *rt = (pp_runtime *)&cfg;
	assert_int_equal(pp_runtime_new(&cfg, &rt), PP_ERR_INVALID_ARGUMENT);
	assert_null(rt);
}

static void log_levels_filter_and_clamp(void **state)
{
	(void)state;
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with_log(&c, PP_LOG_INFO);
	const pp_host_api *h = pp_runtime_host_api(rt);
	pp_string_view scope = {(const uint8_t *)"guest.test", 10};
	pp_string_view msg = {(const uint8_t *)"hello", 5};
	h->log(h, PP_LOG_INFO, scope, msg);
	assert_int_equal(c.count[PP_LOG_INFO], 1);
	assert_string_equal(c.last, "hello");
	assert_string_equal(c.last_scope, "guest.test");
	h->log(h, PP_LOG_DEBUG, scope, msg); /* below the configured level */
	assert_int_equal(c.count[PP_LOG_DEBUG], 0);
	h->log(h, 99, scope, msg); /* unknown levels are errors */
	h->log(h, 0, scope, msg);
	assert_int_equal(c.count[PP_LOG_ERROR], 2);
	assert_int_equal(c.last_level, PP_LOG_ERROR);
	pp_string_view empty = {NULL, 0};
	h->log(h, PP_LOG_WARN, empty, empty); /* null views are legal */
	assert_int_equal(c.count[PP_LOG_WARN], 1);
	assert_string_equal(c.last, "");
	pp_runtime_free(rt);
}

static void runtime_logs_loads_through_the_funnel(void **state)
{
	(void)state;
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with_log(&c, PP_LOG_INFO);
	load_ok(rt, fx("calc_v1"));
	assert_contains(c.last, "loaded bundle 'calc_v1'");
	assert_string_equal(c.last_scope, "runtime");
	pp_runtime_free(rt);
}

/* Logs one record at each level through the host table. */
static void log_every_level(pp_runtime *rt)
{
	const pp_host_api *h = pp_runtime_host_api(rt);
	for (uint32_t l = PP_LOG_ERROR; l <= PP_LOG_TRACE; l++)
		h->log(h, l, PP_SV("guest.test"), PP_SV("record"));
}

static void log_level_zero_means_info_for_a_callback(void **state)
{
	(void)state;
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	unsetenv("POLYPLUG_LOG");
	pp_runtime *rt = rt_with_log(&c, 0);
	log_every_level(rt);
	assert_int_equal(c.count[PP_LOG_INFO], 1);
	assert_int_equal(c.count[PP_LOG_DEBUG], 0);
	pp_runtime_free(rt);
}

static void polyplug_log_sets_the_default_level(void **state)
{
	(void)state;
	static const struct {
		const char *value;
		uint32_t level;
	} cases[] = {{"error", PP_LOG_ERROR}, {"WARN", PP_LOG_WARN},   {"info", PP_LOG_INFO},
	             {"Debug", PP_LOG_DEBUG}, {"trace", PP_LOG_TRACE}, {"4", PP_LOG_DEBUG},
	             {"1", PP_LOG_ERROR}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		setenv("POLYPLUG_LOG", cases[i].value, 1);
		pp_runtime_config cfg;
		pp_runtime_config_init(&cfg);
		assert_int_equal(cfg.log_level, cases[i].level);
		log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
		cfg.log = capture_log;
		cfg.log_userdata = &c;
		pp_runtime *rt = NULL;
		assert_int_equal(pp_runtime_new(&cfg, &rt), PP_OK);
		log_every_level(rt);
		for (uint32_t l = PP_LOG_ERROR; l <= PP_LOG_TRACE; l++)
			assert_int_equal(c.count[l], l <= cases[i].level);
		pp_runtime_free(rt);
	}
	/* a host's own choice wins over the environment */
	setenv("POLYPLUG_LOG", "trace", 1);
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with_log(&c, PP_LOG_WARN);
	log_every_level(rt);
	assert_int_equal(c.count[PP_LOG_INFO] + c.count[PP_LOG_DEBUG] + c.count[PP_LOG_TRACE], 0);
	pp_runtime_free(rt);
	/* a value naming no level is ignored, and said so */
	static const char *const bad[] = {"loud", "0", "6", "45", "debugx"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		setenv("POLYPLUG_LOG", bad[i], 1);
		memset(&c, 0, sizeof c);
		pthread_mutex_init(&c.lock, NULL);
		rt = rt_with_log(&c, 0);
		assert_int_equal(c.count[PP_LOG_WARN], 1);
		assert_contains(c.last, "POLYPLUG_LOG=");
		assert_contains(c.last, bad[i]);
		log_every_level(rt); /* the default stands: Info */
		assert_int_equal(c.count[PP_LOG_INFO], 1);
		assert_int_equal(c.count[PP_LOG_DEBUG], 0);
		pp_runtime_free(rt);
		pthread_mutex_destroy(&c.lock);
	}
	unsetenv("POLYPLUG_LOG");
}

/* With no callback, records at or below the level go to stderr. */
static void without_a_callback_the_level_filters_stderr(void **state)
{
	(void)state;
	static const struct {
		const char *env;
		int lines;
	} cases[] = {{NULL, 2}, {"error", 1}, {"debug", 4}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (cases[i].env)
			setenv("POLYPLUG_LOG", cases[i].env, 1);
		else
			unsetenv("POLYPLUG_LOG");
		fflush(stderr);
		FILE *tmp = tmpfile();
		assert_non_null(tmp);
		int saved = dup(2);
		assert_true(saved >= 0 && dup2(fileno(tmp), 2) == 2);
		pp_runtime *rt = NULL;
		assert_int_equal(pp_runtime_new(NULL, &rt), PP_OK);
		log_every_level(rt);
		pp_runtime_free(rt);
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
		rewind(tmp);
		char line[256];
		int lines = 0;
		while (fgets(line, sizeof line, tmp))
			lines += strstr(line, "[guest.test] record") != NULL;
		fclose(tmp);
		assert_int_equal(lines, cases[i].lines);
	}
	unsetenv("POLYPLUG_LOG");
}

static void status_codes_have_names_and_descriptions(void **state)
{
	(void)state;
	assert_string_equal(pp_status_name(PP_OK), "PP_OK");
	assert_string_equal(pp_status_name(PP_ERR_TIMEOUT), "PP_ERR_TIMEOUT");
	assert_string_equal(pp_status_name(PP_ERR_HOST_CONTRACT_CALL_FAILED),
	                    "PP_ERR_HOST_CONTRACT_CALL_FAILED");
	assert_string_equal(pp_status_name(PP_ERR_PLUGIN_FIRST), "PP_ERR_PLUGIN");
	assert_string_equal(pp_status_name(UINT32_MAX), "PP_ERR_PLUGIN");
	assert_string_equal(pp_status_name(42), "PP_ERR_UNKNOWN");
	assert_contains(pp_status_describe(PP_ERR_TIMEOUT), "CPU-time limit");
	assert_contains(pp_status_describe(300), "plugin");
	/* every runtime code abi.h defines has its own name and a description */
	for (uint32_t code = 0; code < PP_ERR_PLUGIN_FIRST; code++) {
		const char *name = pp_status_name(code);
		const char *what = pp_status_describe(code);
		assert_non_null(name);
		assert_true(what && *what);
		bool defined =
		        code <= PP_ERR_STALE_INSTANCE || (code >= PP_ERR_HOST_CONTRACT_NOT_FOUND &&
		                                          code <= PP_ERR_HOST_CONTRACT_CALL_FAILED);
		assert_int_equal(strcmp(name, "PP_ERR_UNKNOWN") != 0, defined);
		for (uint32_t other = 0; defined && other < code; other++)
			if (strcmp(pp_status_name(other), "PP_ERR_UNKNOWN") != 0)
				assert_string_not_equal(pp_status_name(other), name);
	}
}

typedef struct {
	pp_runtime *rt;
	char seen[256];
} err_thread;

static void *fail_in_thread(void *p)
{
	err_thread *t = p;
	pp_bundle_load(t->rt, "/nonexistent/other.so", NULL, NULL);
	snprintf(t->seen, sizeof t->seen, "%s", pp_last_error(t->rt));
	return NULL;
}

static void last_error_is_per_thread(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	assert_string_equal(pp_last_error(rt), "");
	assert_int_equal(pp_bundle_load(rt, "/nonexistent/mine.so", NULL, NULL), PP_ERR_IO);
	err_thread t = {rt, ""};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, fail_in_thread, &t), 0);
	pthread_join(th, NULL);
	assert_contains(t.seen, "other.so");
	assert_contains(pp_last_error(rt), "mine.so");
	pp_runtime_free(rt);
}

/* The thread-local fast path to a thread's state must never confuse two
 * runtimes, nor outlive one: a worker alternates between two, then one is
 * freed while the worker lives (its cached state with it) and a new one —
 * often at the same address — takes its place. */
typedef struct alternating {
	pp_runtime *rt[2];
	pthread_barrier_t step;
	char err[2][256];
	int32_t sum;
} alternating;

static void *alternate_then_use_a_successor(void *p)
{
	alternating *a = p;
	for (int i = 0; i < 1000; i++)
		a->sum += calc_add(a->rt[i & 1], i, 1);
	pp_bundle_load(a->rt[0], "/nonexistent/zero.so", NULL, NULL);
	calc_add(a->rt[1], 1, 1);
	pp_bundle_load(a->rt[1], "/nonexistent/one.so", NULL, NULL);
	calc_add(a->rt[0], 1, 1); /* rt[0]'s state is the cached one now */
	snprintf(a->err[0], sizeof a->err[0], "%s", pp_last_error(a->rt[0]));
	snprintf(a->err[1], sizeof a->err[1], "%s", pp_last_error(a->rt[1]));
	pthread_barrier_wait(&a->step); /* rt[0] is freed and replaced */
	pthread_barrier_wait(&a->step);
	a->sum += calc_add(a->rt[0], 2, 3);
	snprintf(a->err[0], sizeof a->err[0], "%s", pp_last_error(a->rt[0]));
	return NULL;
}

static void a_thread_alternating_runtimes_keeps_each_ones_state(void **state)
{
	(void)state;
	alternating a = {.sum = 0};
	for (int i = 0; i < 2; i++) {
		a.rt[i] = rt_new();
		load_ok(a.rt[i], fx("calc_v1"));
	}
	pthread_barrier_init(&a.step, NULL, 2);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, alternate_then_use_a_successor, &a), 0);
	pthread_barrier_wait(&a.step);
	assert_contains(a.err[0], "zero.so");
	assert_contains(a.err[1], "one.so");
	assert_int_equal(a.sum, 999 * 1000 / 2 + 1000);
	pp_runtime_free(a.rt[0]);
	a.rt[0] = rt_new();
	load_ok(a.rt[0], fx("calc_v1"));
	pthread_barrier_wait(&a.step);
	pthread_join(th, NULL);
	assert_int_equal(a.sum, 999 * 1000 / 2 + 1000 + 5);
	assert_string_equal(a.err[0], ""); /* a new runtime's state, not the freed one's */
	pthread_barrier_destroy(&a.step);
	pp_runtime_free(a.rt[0]);
	pp_runtime_free(a.rt[1]);
}

/* Threads that used a runtime and then exit on their own (a host's worker
 * pool) may be inside their exit while the runtime is freed: each state is
 * freed once, by whichever side finishes with it, and never touched after.
 * (ASan and TSan see a use after free or a race if not.) */
typedef struct exiting {
	pp_runtime *rt;
	atomic_int used;
} exiting;

static void *use_and_exit(void *p)
{
	exiting *e = p;
	pp_find(e->rt, pp_guest_contract_id("test.calc", 1), 0); /* a state in rt */
	unsigned delay = (unsigned)atomic_fetch_add(&e->used, 1) * 53u % 400u;
	usleep(delay); /* its own work after the runtime's: then its exit */
	return NULL;
}

static void threads_exiting_while_their_runtime_is_freed_are_safe(void **state)
{
	(void)state;
	pthread_attr_t detached;
	pthread_attr_init(&detached);
	pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
	enum { THREADS = 8 };
	for (int round = 0; round < 400; round++) {
		exiting e = {.rt = rt_new()};
		for (int i = 0; i < THREADS; i++) {
			pthread_t t;
			assert_int_equal(pthread_create(&t, &detached, use_and_exit, &e), 0);
		}
		while (atomic_load(&e.used) < THREADS)
			sched_yield();
		pp_runtime_free(e.rt); /* no call runs: some threads exit meanwhile */
	}
	pthread_attr_destroy(&detached);
	usleep(20000); /* the last round's threads end (their exits free what they hold) */
}

/* Another library's thread-exit destructor that calls in after the
 * runtime's own destructor retired the thread's state (glibc runs them
 * again, PTHREAD_DESTRUCTOR_ITERATIONS rounds): it is refused a new state,
 * which nothing would retire; LeakSanitizer sees one left behind. */
static pthread_key_t late_key;
static pp_runtime *late_rt;

static void late_destructor(void *p)
{
	(void)p;
	pp_find(late_rt, pp_guest_contract_id("test.calc", 1), 0);
	pthread_setspecific(late_key, (void *)1); /* and another round */
}

static void *use_with_a_late_destructor(void *p)
{
	(void)p;
	pthread_setspecific(late_key, (void *)1);
	pp_find(late_rt, pp_guest_contract_id("test.calc", 1), 0);
	return NULL;
}

static void a_destructor_calling_in_after_the_thread_exit_gets_no_state(void **state)
{
	(void)state;
	late_rt = rt_new();
	assert_int_equal(pthread_key_create(&late_key, late_destructor), 0);
	for (int i = 0; i < 8; i++) {
		pthread_t t;
		assert_int_equal(pthread_create(&t, NULL, use_with_a_late_destructor, NULL), 0);
		pthread_join(t, NULL);
	}
	pp_runtime_free(late_rt);
	pthread_key_delete(late_key);
}

static void plugin_memory_goes_through_the_configured_allocator(void **state)
{
	(void)state;
	counting_alloc c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_counting(&c);
	load_ok(rt, fx("calc_v1"));
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.calc", 1), 0);
	pp_guest_contract_instance inst;
	assert_int_equal(pp_instance_create(rt, h, NULL, &inst), PP_OK);
	assert_int_equal(c.allocs, 1); /* calc allocates its counter with host->alloc */
	assert_int_equal(pp_instance_destroy(rt, h, inst), PP_OK);
	assert_int_equal(c.frees, 1);

	const pp_host_api *host = pp_runtime_host_api(rt);
	void *p = host->alloc(host, 100, 64);
	assert_non_null(p);
	assert_true(((uintptr_t)p & 63) == 0);
	host->free(host, p, 100, 64);
	assert_null(host->alloc(host, 0, 8));
	assert_null(host->alloc(host, 8, 3));
	host->free(host, NULL, 0, 1);
	assert_int_equal(c.live, 0);
	pp_runtime_free(rt);
}

static void default_allocator_honours_alignment(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	const pp_host_api *host = pp_runtime_host_api(rt);
	size_t aligns[] = {1, 8, 16, 64, 4096};
	for (size_t i = 0; i < 5; i++) {
		void *p = host->alloc(host, 33, aligns[i]);
		assert_non_null(p);
		assert_true(((uintptr_t)p & (aligns[i] - 1)) == 0);
		memset(p, 0, 33);
		host->free(host, p, 33, aligns[i]);
	}
	pp_runtime_free(rt);
}

/* pp_last_error stays valid until the thread's next failing call, so a host
 * may hand it back in (a name it reports, a path): the next message, which
 * quotes it, was formatted over it — garbled, and once it outgrew its
 * buffer, read from memory the realloc had freed (ASan). */
static void a_message_quoting_the_last_error_quotes_it_whole(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char name[600], before[2048];
	memset(name, 'x', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	for (int round = 0; round < 4; round++) { /* small and heap buffers, both ways */
		const char *ask = round % 2 ? pp_last_error(rt) : name;
		snprintf(before, sizeof before, "%s", pp_last_error(rt));
		assert_true(pp_handle_is_null(pp_find_named(rt, ask, 0, NULL)));
		if (round % 2)
			assert_non_null(strstr(pp_last_error(rt), before));
		snprintf(before, sizeof before, "%s", pp_last_error(rt));
		assert_int_not_equal(pp_bundle_load(rt, pp_last_error(rt), NULL, NULL), PP_OK);
		assert_non_null(strstr(pp_last_error(rt), before));
		assert_true(pp_handle_is_null(pp_find_named(rt, "a", 0, NULL))); /* a short one */
	}
	/* and a refusal never leaves the one before it as its message */
	assert_int_equal(pp_instance_create(rt, pp_handle_null(), NULL, NULL),
	                 PP_ERR_INVALID_ARGUMENT);
	assert_string_equal(pp_last_error(rt), "pp_instance_create: out is NULL");
	pp_runtime_free(rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(config_defaults),
	        cmocka_unit_test(half_an_allocator_is_refused),
	        cmocka_unit_test(log_levels_filter_and_clamp),
	        cmocka_unit_test(log_level_zero_means_info_for_a_callback),
	        cmocka_unit_test(polyplug_log_sets_the_default_level),
	        cmocka_unit_test(without_a_callback_the_level_filters_stderr),
	        cmocka_unit_test(status_codes_have_names_and_descriptions),
	        cmocka_unit_test(runtime_logs_loads_through_the_funnel),
	        cmocka_unit_test(last_error_is_per_thread),
	        cmocka_unit_test(a_thread_alternating_runtimes_keeps_each_ones_state),
	        cmocka_unit_test(threads_exiting_while_their_runtime_is_freed_are_safe),
	        cmocka_unit_test(a_destructor_calling_in_after_the_thread_exit_gets_no_state),
	        cmocka_unit_test(plugin_memory_goes_through_the_configured_allocator),
	        cmocka_unit_test(default_allocator_honours_alignment),
	        cmocka_unit_test(a_message_quoting_the_last_error_quotes_it_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
