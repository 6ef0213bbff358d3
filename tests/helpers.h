/* helpers.h — shared by the cmocka test programs. */
#ifndef PP_TEST_HELPERS_H
#define PP_TEST_HELPERS_H

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "polyplug/polyplug.h"

/* Path of a test plugin built from tests/fixtures. */
static inline const char *fx(const char *name)
{
	static _Thread_local char buf[4][512];
	static _Thread_local int next;
	char *p = buf[next++ % 4];
	snprintf(p, sizeof buf[0], "%s/%s.so", PP_FIXTURE_DIR, name);
	return p;
}

/* n rounds of a race a test provokes, or a tenth of them under valgrind
 * (CTest's valgrind_ tests), which runs every call some fifty times slower:
 * enough rounds to meet the race, not minutes of them. */
static inline int race_rounds(int n)
{
	const char *v = getenv("PP_TEST_UNDER_VALGRIND");
	return v && *v == '1' && n >= 10 ? n / 10 : n;
}

/* A thread that changes bundles under a test's calls: race_rounds(rounds)
 * rounds, each reloading the named bundles — or, every unload_every-th
 * round, unloading them and loading them again from their paths. done is
 * set when it stops (at the end, or at the first failure). */
typedef struct churn {
	pp_runtime *rt;
	const char *names[4], *paths[4]; /* NULL-ended */
	int rounds, unload_every;
	atomic_int done;
} churn;

static inline void *churn_bundles(void *arg)
{
	churn *c = arg;
	bool ok = true;
	for (int i = 1, n = race_rounds(c->rounds); ok && i <= n; i++)
		for (int b = 0; ok && b < 4 && c->names[b]; b++) {
			uint64_t id = pp_bundle_id(c->names[b]);
			if (c->unload_every && i % c->unload_every == 0)
				ok = pp_bundle_unload(c->rt, id, 0) == PP_OK &&
				     pp_bundle_load(c->rt, c->paths[b], NULL, NULL) == PP_OK;
			else
				ok = pp_bundle_reload(c->rt, id) == PP_OK;
		}
	atomic_store(&c->done, 1);
	return NULL;
}

/* Captures log records so that expected failures do not spam the output. */
typedef struct log_capture {
	pthread_mutex_t lock; /* the runtime logs from any thread */
	int count[6];
	char last[1024];
	char previous[1024]; /* the record before last */
	char last_scope[64];
	uint32_t last_level;
} log_capture;

static inline void capture_log(void *ud, uint32_t level, pp_string_view scope, pp_string_view msg)
{
	log_capture *c = ud;
	pthread_mutex_lock(&c->lock);
	c->count[level <= 5 ? level : 0]++;
	c->last_level = level;
	memcpy(c->previous, c->last, sizeof c->previous);
	snprintf(c->last, sizeof c->last, "%.*s", (int)msg.len, (const char *)msg.ptr);
	snprintf(c->last_scope, sizeof c->last_scope, "%.*s", (int)scope.len,
	         (const char *)scope.ptr);
	pthread_mutex_unlock(&c->lock);
}

/* A runtime whose log records go to log(ud, ...), at level (0: the config's
 * default), with on_reload(rud, ...) if given. */
static inline pp_runtime *rt_configured(pp_log_fn log, void *ud, uint32_t level,
                                        pp_reload_fn on_reload, void *rud)
{
	pp_runtime_config cfg;
	pp_runtime_config_init(&cfg);
	cfg.log = log;
	cfg.log_userdata = ud;
	if (level)
		cfg.log_level = level;
	cfg.on_reload = on_reload;
	cfg.reload_userdata = rud;
	pp_runtime *rt = NULL;
	assert_int_equal(pp_runtime_new(&cfg, &rt), PP_OK);
	return rt;
}

/* A runtime logging to c at level, with on_reload(ud, ...) if given. */
static inline pp_runtime *rt_with(log_capture *c, uint32_t level, pp_reload_fn on_reload, void *ud)
{
	return rt_configured(capture_log, c, level, on_reload, ud);
}

static inline pp_runtime *rt_logging_to(pp_log_fn log, void *ud, uint32_t level)
{
	return rt_configured(log, ud, level, NULL, NULL);
}

static inline pp_runtime *rt_with_log(log_capture *c, uint32_t level)
{
	return rt_with(c, level, NULL, NULL);
}

/* An allocator that counts, for runtimes whose plugin memory is checked. */
typedef struct counting_alloc {
	pthread_mutex_t lock;
	int allocs, frees;
	size_t live;
	/* if set, run once at the next allocation, before it: host code the
	 * runtime calls with no lock held, as another host thread acting then */
	void (*before_next)(struct counting_alloc *c);
	void *arg;
} counting_alloc;

static inline void *ca_alloc(void *ud, size_t size, size_t align)
{
	counting_alloc *c = ud;
	void (*hook)(counting_alloc *) = c->before_next;
	c->before_next = NULL;
	if (hook)
		hook(c);
	pthread_mutex_lock(&c->lock);
	c->allocs++;
	c->live += size;
	pthread_mutex_unlock(&c->lock);
	return aligned_alloc(align, (size + align - 1) & ~(align - 1));
}

static inline void ca_free(void *ud, void *ptr, size_t size, size_t align)
{
	(void)align;
	counting_alloc *c = ud;
	pthread_mutex_lock(&c->lock);
	c->frees++;
	c->live -= size;
	pthread_mutex_unlock(&c->lock);
	free(ptr);
}

static inline pp_runtime *rt_counting(counting_alloc *c)
{
	pp_runtime_config cfg;
	pp_runtime_config_init(&cfg);
	cfg.alloc = ca_alloc;
	cfg.free = ca_free;
	cfg.alloc_userdata = c;
	pp_runtime *rt = NULL;
	assert_int_equal(pp_runtime_new(&cfg, &rt), PP_OK);
	return rt;
}

/* Where the runtimes of tests that do not read their logs log to. */
static inline log_capture *quiet_log(void)
{
	static log_capture sink = {.lock = PTHREAD_MUTEX_INITIALIZER};
	return &sink;
}

/* The default config, logging to quiet_log(). */
static inline pp_runtime_config quiet_config(void)
{
	pp_runtime_config cfg;
	pp_runtime_config_init(&cfg);
	cfg.log = capture_log;
	cfg.log_userdata = quiet_log();
	return cfg;
}

static inline pp_runtime *rt_new(void)
{
	return rt_with(quiet_log(), PP_LOG_TRACE, NULL, NULL);
}

/* A runtime reporting lifecycle events to on_reload(ud, ...). */
static inline pp_runtime *rt_reporting(pp_reload_fn on_reload, void *ud)
{
	return rt_with(quiet_log(), PP_LOG_TRACE, on_reload, ud);
}

static inline uint64_t load_ok(pp_runtime *rt, const char *path)
{
	uint64_t id = 0;
	pp_status st = pp_bundle_load(rt, path, NULL, &id);
	if (st != PP_OK)
		fail_msg("loading %s: %u %s", path, st, pp_last_error(rt));
	return id;
}

typedef struct {
	int32_t a, b;
} pair;

/* The contract of the calc fixtures. */
#define CALC pp_guest_contract_id("test.calc", 1)

static inline int32_t calc_add(pp_runtime *rt, int32_t a, int32_t b)
{
	pair p = {a, b};
	int32_t out = -1;
	pp_guest_contract_handle h = pp_find(rt, CALC, 1);
	pp_guest_contract_instance none = {NULL, 0};
	uint32_t code = pp_call(rt, h, none, 0, &p, &out, NULL);
	if (code != PP_OK)
		fail_msg("calc add: %u %s", code, pp_last_error(rt));
	return out;
}

static inline int32_t call_i32(pp_runtime *rt, const char *contract, uint32_t fn, int32_t arg,
                               uint32_t *code)
{
	int32_t out = -1;
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id(contract, 1), 0);
	pp_guest_contract_instance none = {NULL, 0};
	*code = pp_call(rt, h, none, fn, &arg, &out, NULL);
	return out;
}

/* Copies a file (the tests swap plugin versions on disk). */
static inline void copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (in < 0 || out < 0)
		fail_msg("cannot copy %s to %s", from, to);
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n)
			fail_msg("short write to %s", to);
	close(in);
	close(out);
}

static inline int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* rm -rf */
static inline void remove_tree(const char *dir)
{
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh directory under /tmp, in buf. */
static inline const char *temp_dir(char *buf, size_t cap)
{
	snprintf(buf, cap, "/tmp/pp-test-XXXXXX");
	if (!mkdtemp(buf))
		fail_msg("mkdtemp failed");
	return buf;
}

/* Feeds every file of dir (its first 64 KiB; dotfiles skipped) to fn;
 * returns how many. For fuzz corpora and regressions. */
static inline int replay_dir(const char *dir,
                             void (*fn)(const char *data, size_t len, const char *name))
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	static char data[1 << 16];
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "rb");
		if (!f)
			continue;
		size_t len = fread(data, 1, sizeof data, f);
		fclose(f);
		fn(data, len, e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

/* Writes text to DIR/NAME. */
static inline void write_text(const char *dir, const char *name, const char *text)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		fail_msg("cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

/* Writes DIR/NAME the way editors save: a scratch file, then a rename, so a
 * watcher never reads it half-written. */
static inline void save_text(const char *dir, const char *name, const char *text)
{
	char scratch[256], tmp[1024], path[1024];
	snprintf(scratch, sizeof scratch, ".%s.swp", name);
	write_text(dir, scratch, text);
	snprintf(tmp, sizeof tmp, "%s/%s", dir, scratch);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (rename(tmp, path) != 0)
		fail_msg("cannot rename to %s", path);
}

/* Records the runtime's lifecycle events (on_reload) as "phase:name ". */
typedef struct event_log {
	pthread_mutex_t lock;
	char log[8192];
} event_log;

static inline void record_event(void *ud, uint64_t id, const char *name, uint32_t phase,
                                const char *why)
{
	(void)id;
	(void)why;
	static const char *const names[] = {"preparing", "reloaded", "failed", "unloading",
	                                    "loaded"};
	event_log *e = ud;
	pthread_mutex_lock(&e->lock);
	size_t n = strlen(e->log);
	snprintf(e->log + n, sizeof e->log - n, "%s:%s ", phase < 5 ? names[phase] : "?", name);
	pthread_mutex_unlock(&e->lock);
}

#define assert_contains(haystack, needle)                                    \
	do {                                                                 \
		const char *h_ = (haystack);                                 \
		if (!strstr(h_, (needle)))                                   \
			fail_msg("expected \"%s\" in \"%s\"", (needle), h_); \
	} while (0)

/* Waits until COND holds, polling every millisecond, and fails the test if it
 * has not after SECONDS. Racing tests use it to know the other thread has
 * really run (a loaded CI machine may not schedule it for a while) instead of
 * assuming a sleep was long enough. */
#define await_true(cond, seconds)                                                            \
	do {                                                                                 \
		struct timespec t0_, now_, ms_ = {0, 1000000L};                              \
		clock_gettime(CLOCK_MONOTONIC, &t0_);                                        \
		while (!(cond)) {                                                            \
			clock_gettime(CLOCK_MONOTONIC, &now_);                               \
			if (now_.tv_sec - t0_.tv_sec > (seconds))                            \
				fail_msg("still not true after %d s: %s", (seconds), #cond); \
			nanosleep(&ms_, NULL);                                               \
		}                                                                            \
	} while (0)

/* A host contract's instance hooks for stateless test contracts. */
static inline pp_host_contract_instance no_instance(const pp_host_contract_interface *self,
                                                    const void *args)
{
	(void)self;
	(void)args;
	pp_host_contract_instance none = {NULL};
	return none;
}

static inline void drop_instance(const pp_host_contract_interface *self,
                                 pp_host_contract_instance i)
{
	(void)self;
	(void)i;
}

#endif
