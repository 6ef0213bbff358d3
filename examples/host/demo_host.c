/*
 * demo_host.c — what `make run` runs: a host program that offers a logging
 * contract, loads every bundle under the plugins directory it is given (in
 * dependency order, as their manifests say), calls what they provide,
 * reloads one while holding a handle, hot-reloads a JS bundle it rewrites on
 * disk, and unloads them all.
 *
 *   demo_host EXAMPLES_DIR
 */
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <polyplug/polyplug.h>

#include "../demo_contracts.h"

/* ---- The host's own contract: demo.Log@1 --------------------------------- */

static void log_line(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)state;
	(void)out;
	(void)err;
	const pp_string_view *line = args;
	printf("  [host log] %.*s\n", (int)line->len, (const char *)line->ptr);
}

static const void *const log_functions[] = {(const void *)log_line};

static pp_host_contract_instance log_create(const pp_host_contract_interface *self,
                                            const void *args)
{
	(void)self;
	(void)args;
	pp_host_contract_instance none = {NULL};
	return none;
}

static void log_destroy(const pp_host_contract_interface *self, pp_host_contract_instance inst)
{
	(void)self;
	(void)inst;
}

/* The runtime keeps this pointer: it lives as long as the program. */
static pp_host_contract_interface log_contract = {
        .contract_version = {1, 0, 0},
        .flags = PP_HOST_CONTRACT_SINGLETON,
        .dispatch_type = PP_DISPATCH_NATIVE,
        .create_instance = log_create,
        .destroy_instance = log_destroy,
        .dispatch.native = {1, log_functions},
};

/* ---- Loading the examples ------------------------------------------------ */

static void report(void *ud, const pp_dir_entry *e)
{
	(void)ud;
	if (e->status == PP_OK)
		printf("  #%u %-10s from %s\n", e->order, e->name, e->path);
	else
		printf("  %-13s NOT LOADED: %s\n", e->name, e->error);
}

static void print_bundle(void *ud, const pp_bundle_info *info)
{
	(void)ud;
	printf("  %-10s %-7s %u contract(s)\n", info->name, info->loader, info->contract_count);
}

static pp_guest_contract_instance no_instance(void)
{
	pp_guest_contract_instance none = {NULL, 0};
	return none;
}

/* ---- The show ------------------------------------------------------------ */

static void run_wordcount(pp_runtime *rt)
{
	pp_guest_contract_handle h = pp_find(rt, DEMO_WORDCOUNT, 1);
	const char *text = "the quick brown fox jumps over the lazy dog";
	pp_string_view in = demo_view(text);
	uint32_t words = 0;
	uint32_t code = pp_call(rt, h, no_instance(), 0, &in, &words, NULL);
	if (code == PP_OK)
		printf("demo.WordCount: \"%s\" has %u words\n", text, words);
	else
		printf("demo.WordCount failed (%s): %s\n", pp_status_name(code), pp_last_error(rt));
}

static void run_transform(pp_runtime *rt)
{
	const pp_host_api *host = pp_runtime_host_api(rt);
	pp_guest_contract_handle h = pp_find(rt, DEMO_TRANSFORM, 1);
	pp_string_view in = demo_view("make some noise"), out = {NULL, 0};
	uint32_t code = pp_call(rt, h, no_instance(), 0, &in, &out, NULL);
	if (code != PP_OK) {
		printf("demo.Transform failed (%s): %s\n", pp_status_name(code), pp_last_error(rt));
		return;
	}
	printf("demo.Transform: \"%.*s\" -> \"%.*s\"\n", (int)in.len, (const char *)in.ptr,
	       (int)out.len, (const char *)out.ptr);
	host->free(host, (void *)out.ptr, out.len, 1);
}

static void run_counter(pp_runtime *rt)
{
	pp_guest_contract_handle h = pp_find(rt, DEMO_COUNTER, 1);
	pp_guest_contract_instance a, b;
	int64_t start_a = 0, start_b = 100, total = 0, step = 5;
	if (pp_instance_create(rt, h, &start_a, &a) != PP_OK ||
	    pp_instance_create(rt, h, &start_b, &b) != PP_OK) {
		printf("demo.Counter: %s\n", pp_last_error(rt));
		return;
	}
	printf("demo.Counter: instance A counts");
	for (int i = 0; i < 3; i++) {
		pp_call(rt, h, a, 0, &step, &total, NULL);
		printf(" %lld", (long long)total);
	}
	pp_call(rt, h, b, 0, &step, &total, NULL);
	printf("; instance B (from 100) counts %lld\n", (long long)total);
	/* the default instance has no state: the plugin says so */
	uint32_t code = pp_call(rt, h, no_instance(), 0, &step, &total, NULL);
	printf("demo.Counter without an instance: %s (%s)\n", pp_status_name(code),
	       pp_last_error(rt));
	pp_instance_destroy(rt, h, a);
	pp_instance_destroy(rt, h, b);
}

/* JS -> C peers and a host contract, in one call. */
static void run_headline(pp_runtime *rt)
{
	uint8_t mem[256];
	pp_call_arena arena;
	pp_call_arena_init(&arena, mem, sizeof mem, pp_runtime_host_api(rt));
	pp_guest_contract_handle h = pp_find(rt, DEMO_HEADLINE, 1);
	pp_string_view in = demo_view("plugins written in two languages"), out = {NULL, 0};
	uint32_t code = pp_call(rt, h, no_instance(), 0, &in, &out, &arena);
	if (code == PP_OK)
		printf("demo.Headline (JS, via C and the host): \"%.*s\"\n", (int)out.len,
		       (const char *)out.ptr);
	else
		printf("demo.Headline failed (%s): %s\n", pp_status_name(code), pp_last_error(rt));
	pp_call_arena_free(&arena);
}

/* Typed signatures: the JS functions see plain strings. */
static void run_score(pp_runtime *rt)
{
	uint8_t mem[64];
	pp_call_arena arena;
	pp_call_arena_init(&arena, mem, sizeof mem, pp_runtime_host_api(rt));
	pp_guest_contract_handle h = pp_find(rt, DEMO_SCORE, 1);
	pp_string_view pair[2] = {demo_view("quartz"), demo_view("jukebox")}, best = {NULL, 0};
	uint32_t points = 0;
	uint32_t code = pp_call(rt, h, no_instance(), 0, &pair[0], &points, NULL);
	if (code == PP_OK)
		code = pp_call(rt, h, no_instance(), 1, pair, &best, &arena);
	if (code == PP_OK)
		printf("demo.Score (JS, typed): \"quartz\" scores %u; of quartz and jukebox the "
		       "better word is \"%.*s\"\n",
		       points, (int)best.len, (const char *)best.ptr);
	else
		printf("demo.Score failed (%s): %s\n", pp_status_name(code), pp_last_error(rt));
	pp_call_arena_free(&arena);
}

static void run_reload(pp_runtime *rt)
{
	pp_guest_contract_handle h = pp_find(rt, DEMO_WORDCOUNT, 1);
	uint64_t before = *pp_revision_counter(rt);
	if (pp_bundle_reload(rt, pp_bundle_id("wordcount")) != PP_OK) {
		printf("reload failed: %s\n", pp_last_error(rt));
		return;
	}
	pp_string_view in = demo_view("reloaded and still counting");
	uint32_t words = 0;
	uint32_t code = pp_call(rt, h, no_instance(), 0, &in, &words, NULL);
	printf("reloaded 'wordcount' (revision %llu -> %llu); the old handle still works: %u words "
	       "(%s)\n",
	       (unsigned long long)before, (unsigned long long)*pp_revision_counter(rt), words,
	       pp_status_name(code));
}

/* ---- Hot reload ----------------------------------------------------------- */

static _Atomic int reloads;

static void on_event(void *ud, uint64_t id, const char *name, uint32_t phase, const char *why)
{
	(void)ud;
	(void)id;
	if (phase == PP_RELOAD_RELOADED && strcmp(name, "live") == 0)
		atomic_fetch_add(&reloads, 1);
	else if (phase == PP_RELOAD_FAILED)
		printf("  reload of '%s' failed: %s\n", name, why);
}

static void write_live_bundle(const char *dir, const char *greeting)
{
	char path[512], tmp[512];
	snprintf(path, sizeof path, "%s/bundle.js", dir);
	snprintf(tmp, sizeof tmp, "%s/.bundle.js.swp", dir);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	/* demo.Transform@2: transform(text) -> "<greeting>, <text>" (typed) */
	fprintf(f,
	        "function polyplug_init(hl, hh, cl, ch, bridge) {\n"
	        "  let h = 0xcbf29ce484222325n;\n"
	        "  for (const c of 'guest_contract:demo.Transform@2')\n"
	        "    h = ((h ^ BigInt(c.charCodeAt(0))) * 0x100000001b3n) & 0xffffffffffffffffn;\n"
	        "  return [[{ contractLo: Number(h & 0xffffffffn), contractHi: Number(h >> 32n),\n"
	        "    contractName: 'demo.Transform@2', version: 0x00020000, fnCount: 1,\n"
	        "    interface: { factory: () => ({}),\n"
	        "      functions: [(impl, text) => '%s, ' + text],\n"
	        "      signatures: [{ params: ['StringView'], result: 'StringView' }] } }],\n"
	        "    { code: 0, message: '' }];\n"
	        "}\n",
	        greeting);
	fclose(f);
	rename(tmp, path);
}

static void greet(pp_runtime *rt, pp_guest_contract_handle h, const char *when)
{
	uint8_t mem[128];
	pp_call_arena arena;
	pp_call_arena_init(&arena, mem, sizeof mem, pp_runtime_host_api(rt));
	pp_string_view in = demo_view("world"), out = {NULL, 0};
	uint32_t code = pp_call(rt, h, no_instance(), 0, &in, &out, &arena);
	if (code == PP_OK)
		printf("  %s: \"%.*s\"\n", when, (int)out.len, (const char *)out.ptr);
	else
		printf("  %s: %s (%s)\n", when, pp_status_name(code), pp_last_error(rt));
	pp_call_arena_free(&arena);
}

/* Writes a JS bundle to a scratch directory, watches it, rewrites it, and
 * shows the running host picking up the new code by itself. */
static void run_hot_reload(pp_runtime *rt)
{
	char dir[] = "/tmp/polyplug-demo-XXXXXX";
	if (!mkdtemp(dir))
		return;
	write_live_bundle(dir, "Hello");
	pp_load_options opts = {.name = "live"};
	if (pp_bundle_load(rt, dir, &opts, NULL) != PP_OK || pp_watch_start(rt, 50) != PP_OK) {
		printf("hot reload demo: %s\n", pp_last_error(rt));
		return;
	}
	printf("hot reload: watching %s/bundle.js\n", dir);
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("demo.Transform", 2), 2);
	greet(rt, h, "before the edit");
	struct timespec pause = {0, 200 * 1000000L};
	nanosleep(&pause, NULL); /* the watcher has picked the bundle up */
	write_live_bundle(dir, "Bonjour");
	for (int i = 0; i < 200 && atomic_load(&reloads) == 0; i++) {
		struct timespec tick = {0, 10 * 1000000L};
		nanosleep(&tick, NULL);
	}
	greet(rt, h,
	      atomic_load(&reloads) ? "after the edit, reloaded by the watcher"
	                            : "after the edit (no reload seen!)");
	pp_watch_stop(rt);
	pp_bundle_unload(rt, pp_bundle_id("live"), 0);
	char path[512];
	snprintf(path, sizeof path, "%s/bundle.js", dir);
	unlink(path);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "examples";
	pp_runtime *rt;
	pp_runtime_config cfg;
	pp_runtime_config_init(&cfg);
	cfg.on_reload = on_event;
	if (pp_runtime_new(&cfg, &rt) != PP_OK) {
		fprintf(stderr, "demo: cannot create a runtime\n");
		return 1;
	}
	printf("polyplug-c demo host\n");
	log_contract.contract_id = DEMO_LOG;
	if (pp_host_contract_register(rt, &log_contract) != PP_OK) {
		fprintf(stderr, "demo: %s\n", pp_last_error(rt));
		return 1;
	}
	printf("loading %s in dependency order:\n", dir);
	size_t loaded = 0;
	if (pp_bundle_load_dir(rt, dir, report, NULL, &loaded) != PP_OK || loaded == 0) {
		fprintf(stderr, "demo: %s\n", pp_last_error(rt));
		pp_runtime_free(rt);
		return 1;
	}
	printf("loaded bundles:\n");
	pp_bundle_foreach(rt, print_bundle, NULL);

	run_wordcount(rt);
	run_transform(rt);
	run_counter(rt);
	run_headline(rt);
	run_score(rt);
	run_reload(rt);
	run_hot_reload(rt);

	pp_runtime_free(rt);
	printf("runtime freed; every bundle unloaded\n");
	return 0;
}
