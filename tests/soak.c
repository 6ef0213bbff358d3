/*
 * soak.c — `make soak`: for a while (argv[1] seconds, default 300), one
 * thread loads, reloads and unloads a native and a JS bundle (one VM or a
 * pool of two, chosen at each load) in a random order, and now and then
 * stops and starts the file watcher, while four threads call them and create,
 * use and destroy instances, and a fifth keeps saving a third bundle's file,
 * which the watcher reloads.
 *
 * Passes when nothing crashed, every call returned PP_OK or a status that
 * says the bundle is not there right now (stale handle, not found), the
 * watcher loaded the last save, and the resident set stayed flat after
 * warm-up (it prints both; a plain build allows 16 MiB of growth, sanitizer
 * builds only print). Exit status 0 on success; a closing line "N passed,
 * M failed" for CI.
 */
#define _GNU_SOURCE
#include <polyplug/polyplug.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rss.h"

#define JS_SOURCE                                                                               \
	"function cid(s) { var h = 0xcbf29ce484222325n;\n"                                      \
	"  for (var i = 0; i < s.length; i++) {\n"                                              \
	"    h ^= BigInt(s.charCodeAt(i)); h = (h * 0x100000001b3n) & 0xffffffffffffffffn; }\n" \
	"  return [Number(h & 0xffffffffn), Number(h >> 32n)]; }\n"                             \
	"function polyplug_init() {\n"                                                          \
	"  var id = cid('guest_contract:soak.Js@1');\n"                                         \
	"  return [[{ contractLo: id[0], contractHi: id[1], contractName: 'soak.Js@1',\n"       \
	"    version: 0x00010000, fnCount: 1, interface: {\n"                                   \
	"      factory: function () { return { n: 0, junk: new Array(64).fill(1) }; },\n"       \
	"      functions: [function (impl, a, o, ar, b) {\n"                                    \
	"        impl.n++; b.writeI32(o, b.readI32(a) + b.readI32(a + 4)); return 0; }] }\n"    \
	"  }], { code: 0, message: '' }];\n}\n"

/* The watched bundle: fn 0 answers the value of its last save. */
#define JS_SAVED                                                                                   \
	"function cid(s) { var h = 0xcbf29ce484222325n;\n"                                         \
	"  for (var i = 0; i < s.length; i++) {\n"                                                 \
	"    h ^= BigInt(s.charCodeAt(i)); h = (h * 0x100000001b3n) & 0xffffffffffffffffn; }\n"    \
	"  return [Number(h & 0xffffffffn), Number(h >> 32n)]; }\n"                                \
	"function polyplug_init() {\n"                                                             \
	"  var id = cid('guest_contract:soak.Saved@1');\n"                                         \
	"  return [[{ contractLo: id[0], contractHi: id[1], contractName: 'soak.Saved@1',\n"       \
	"    version: 0x00010000, fnCount: 1, interface: { factory: function () { return {}; },\n" \
	"      functions: [function (impl, a, o, ar, b) { b.writeI32(o, %d); return 0; }] }\n"     \
	"  }], { code: 0, message: '' }];\n}\n"

typedef struct soak {
	pp_runtime *rt;
	atomic_bool stop;
	atomic_long calls, instances, bad, churns, saves;
	char native[512];
	char saved_dir[64]; /* the watched bundle's directory */
} soak;

static bool allowed(uint32_t st)
{
	return st == PP_OK || st == PP_ERR_STALE_HANDLE || st == PP_ERR_NOT_FOUND;
}

static void *caller(void *p)
{
	soak *s = p;
	unsigned seed = (unsigned)(uintptr_t)pthread_self();
	const uint64_t ids[2] = {pp_guest_contract_id("test.calc", 1),
	                         pp_guest_contract_id("soak.Js", 1)};
	const uint64_t saved = pp_guest_contract_id("soak.Saved", 1);
	while (!atomic_load(&s->stop)) {
		if (rand_r(&seed) % 8 == 0) { /* the watched bundle, reloading as it is saved */
			int32_t out = 0;
			uint32_t st =
			        pp_call(s->rt, pp_find(s->rt, saved, 0),
			                (pp_guest_contract_instance){NULL, 0}, 0, NULL, &out, NULL);
			if (!allowed(st) || (st == PP_OK && out < 1)) {
				fprintf(stderr, "soak: the saved bundle: status %u, %d: %s\n", st,
				        out, pp_last_error(s->rt));
				atomic_fetch_add(&s->bad, 1);
			}
			atomic_fetch_add(&s->calls, 1);
			continue;
		}
		bool js = rand_r(&seed) & 1;
		pp_guest_contract_handle h = pp_find(s->rt, ids[js], 0);
		int32_t args[2] = {40, 2}, out = 0;
		pp_guest_contract_instance inst = {NULL, 0};
		/* Own instances of either bundle: one outliving a reload is
		 * refused (docs/runtime.md, "Instances"). */
		bool own = rand_r(&seed) % 4 == 0;
		uint32_t st = own ? pp_instance_create(s->rt, h, NULL, &inst) : PP_OK;
		if (st == PP_OK) {
			st = pp_call(s->rt, h, inst, 0, args, &out, NULL);
			if (st == PP_ERR_STALE_INSTANCE && inst.data)
				st = PP_ERR_STALE_HANDLE; /* made before a reload */
			if (st == PP_OK && out != 42) {
				fprintf(stderr, "soak: 40 + 2 = %d\n", out);
				atomic_fetch_add(&s->bad, 1);
			}
		}
		if (!allowed(st)) {
			fprintf(stderr, "soak: call status %u: %s\n", st, pp_last_error(s->rt));
			atomic_fetch_add(&s->bad, 1);
		}
		if (own && inst.data) {
			uint32_t d = pp_instance_destroy(s->rt, h, inst);
			if (!allowed(d)) {
				fprintf(stderr, "soak: destroy status %u\n", d);
				atomic_fetch_add(&s->bad, 1);
			}
			atomic_fetch_add(&s->instances, 1);
		}
		atomic_fetch_add(&s->calls, 1);
	}
	return NULL;
}

/* Saves the watched bundle answering value, as an editor does: a scratch
 * file (ignored) renamed over bundle.js. */
static bool save(const soak *s, int value)
{
	char tmp[128], path[128], src[2048];
	snprintf(tmp, sizeof tmp, "%s/bundle.js.tmp", s->saved_dir);
	snprintf(path, sizeof path, "%s/bundle.js", s->saved_dir);
	snprintf(src, sizeof src, JS_SAVED, value);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return false;
	bool ok = fputs(src, f) >= 0;
	ok = fclose(f) == 0 && ok;
	return ok && rename(tmp, path) == 0;
}

static void *saver(void *p)
{
	soak *s = p;
	while (!atomic_load(&s->stop)) {
		if (!save(s, 2 + (int)atomic_fetch_add(&s->saves, 1))) {
			fprintf(stderr, "soak: cannot save %s/bundle.js\n", s->saved_dir);
			atomic_fetch_add(&s->bad, 1);
		}
		usleep(30 * 1000);
	}
	return NULL;
}

static int32_t saved_answer(const soak *s)
{
	int32_t out = 0;
	uint32_t st = pp_call(s->rt, pp_find(s->rt, pp_guest_contract_id("soak.Saved", 1), 0),
	                      (pp_guest_contract_instance){NULL, 0}, 0, NULL, &out, NULL);
	return st == PP_OK ? out : -1;
}

/* One lifecycle step on one of the two bundles. */
static void churn(soak *s, unsigned *seed)
{
	bool js = rand_r(seed) & 1;
	uint64_t id = pp_bundle_id(js ? "soakjs" : "calc");
	pp_status st;
	switch (rand_r(seed) % 3) {
	case 0:
		if (js) { /* one VM or a pool of two */
			pp_load_options o = {.size = sizeof o,
			                     .name = "soakjs",
			                     .js.concurrency = 1 + (uint32_t)(rand_r(seed) % 2)};
			st = pp_bundle_load_source(s->rt, JS_SOURCE, strlen(JS_SOURCE), &o, NULL);
		} else {
			pp_load_options o = {.name = "calc"};
			st = pp_bundle_load(s->rt, s->native, &o, NULL);
		}
		if (st != PP_OK && st != PP_ERR_DUPLICATE_PROVIDER)
			goto bad;
		break;
	case 1:
		st = pp_bundle_reload(s->rt, id);
		if (st != PP_OK && st != PP_ERR_NOT_FOUND)
			goto bad;
		break;
	default:
		st = pp_bundle_unload(s->rt, id, 0);
		if (st != PP_OK && st != PP_ERR_NOT_FOUND)
			goto bad;
		break;
	}
	atomic_fetch_add(&s->churns, 1);
	return;
bad:
	fprintf(stderr, "soak: lifecycle status %u: %s\n", st, pp_last_error(s->rt));
	atomic_fetch_add(&s->bad, 1);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? strtod(argv[1], NULL) : 300;
	if (!(seconds > 0))
		seconds = 300;
	soak s = {0};
	snprintf(s.native, sizeof s.native, "%s/calc_v1.so", PP_FIXTURE_DIR);
	pp_runtime_config cfg;
	pp_runtime_config_init(&cfg);
	cfg.log_level = PP_LOG_ERROR;
	if (pp_runtime_new(&cfg, &s.rt) != PP_OK)
		return 2;
	snprintf(s.saved_dir, sizeof s.saved_dir, "/tmp/pp-soak-XXXXXX");
	pp_load_options saved = {.name = "soaksaved"};
	if (!mkdtemp(s.saved_dir) || !save(&s, 1) ||
	    pp_bundle_load(s.rt, s.saved_dir, &saved, NULL) != PP_OK ||
	    pp_watch_start(s.rt, 20) != PP_OK) {
		fprintf(stderr, "soak: cannot set up the watched bundle: %s\n",
		        pp_last_error(s.rt));
		return 2;
	}
	pthread_t t[5];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, caller, &s);
	pthread_create(&t[4], NULL, saver, &s);
	unsigned seed = 12345;
	double start = now_s(), warm_at = start + seconds / 5;
	long warm = 0, peak = 0;
	for (;;) {
		double now = now_s();
		if (now - start >= seconds)
			break;
		churn(&s, &seed);
		if (rand_r(&seed) % 64 == 0)
			pp_runtime_quiesce(s.rt);
		if (rand_r(&seed) % 512 == 0) { /* saves made meanwhile are not seen */
			pp_watch_stop(s.rt);
			if (pp_watch_start(s.rt, 20) != PP_OK) {
				fprintf(stderr, "soak: pp_watch_start: %s\n", pp_last_error(s.rt));
				atomic_fetch_add(&s.bad, 1);
			}
		}
		if (!warm && now >= warm_at) {
			pp_runtime_quiesce(s.rt);
			warm = rss_kib();
		}
		if (warm) {
			long r = rss_kib();
			if (r > peak)
				peak = r;
		}
		usleep(200);
	}
	atomic_store(&s.stop, true);
	for (int i = 0; i < 5; i++)
		pthread_join(t[i], NULL);
	/* the last save, made with the watcher running, is what loads */
	int32_t last = 2 + (int32_t)atomic_load(&s.saves);
	bool seen = save(&s, last);
	for (int i = 0; seen && i < 2000 && saved_answer(&s) != last; i++)
		usleep(10 * 1000);
	if (!seen || saved_answer(&s) != last) {
		fprintf(stderr, "soak: the last save (%d) was not loaded: the bundle answers %d\n",
		        last, saved_answer(&s));
		atomic_fetch_add(&s.bad, 1);
	}
	pp_watch_stop(s.rt);
	pp_runtime_quiesce(s.rt);
	long end = rss_kib();
	pp_runtime_free(s.rt);
	char path[128];
	snprintf(path, sizeof path, "%s/bundle.js", s.saved_dir);
	unlink(path);
	rmdir(s.saved_dir);

	long growth = end - warm;
	printf("soak: %.0f s, %ld calls, %ld instances, %ld lifecycle steps, %ld saves\n", seconds,
	       atomic_load(&s.calls), atomic_load(&s.instances), atomic_load(&s.churns),
	       atomic_load(&s.saves));
	printf("soak: RSS after warm-up %ld KiB, peak %ld KiB, at the end %ld KiB (%+ld KiB)\n",
	       warm, peak, end, growth);
	int failed = atomic_load(&s.bad) != 0;
#if !defined(PP_SANITIZE_ADDRESS) && !defined(PP_SANITIZE_THREAD)
	if (growth > 16L * 1024) {
		printf("soak: RSS grew by more than 16 MiB after warm-up\n");
		failed = 1;
	}
#endif
	if (atomic_load(&s.calls) == 0 || atomic_load(&s.churns) == 0)
		failed = 1;
	printf("%d passed, %d failed\n", !failed, failed);
	return failed;
}
