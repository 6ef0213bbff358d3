/*
 * demo_host.c — what `make run` runs: a host program that offers a logging
 * contract, loads every example bundle under the directory it is given, calls
 * what they provide, reloads one while holding a handle, and unloads them.
 *
 *   demo_host EXAMPLES_DIR
 *
 * A C example is the directory EXAMPLES_DIR/NAME with NAME.c; its built
 * library lives in PP_EXAMPLES_BUILD_DIR/NAME. A JS example holds bundle.js.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

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
        .singleton = true,
        .dispatch_type = PP_DISPATCH_NATIVE,
        .create_instance = log_create,
        .destroy_instance = log_destroy,
        .dispatch.native = {1, log_functions},
};

/* ---- Loading the examples ------------------------------------------------ */

static int is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int load_examples(pp_runtime *rt, const char *dir)
{
	struct dirent **entries;
	int n = scandir(dir, &entries, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "demo: cannot open %s\n", dir);
		return -1;
	}
	char src[1024], bundle[1024];
	int loaded = 0;
	for (int i = 0; i < n; i++) {
		const char *name = entries[i]->d_name;
		snprintf(src, sizeof src, "%s/%s/%s.c", dir, name, name);
		snprintf(bundle, sizeof bundle, "%s/%s/bundle.js", dir, name);
		if (name[0] != '.' && (is_file(src) || is_file(bundle))) {
			/* C examples load from where CMake built them */
			snprintf(bundle, sizeof bundle, "%s/%s",
			         is_file(src) ? PP_EXAMPLES_BUILD_DIR : dir, name);
			pp_load_options opts = {.name = name};
			if (pp_bundle_load(rt, bundle, &opts, NULL) == PP_OK)
				loaded++;
			else
				printf("could not load %s: %s\n", name, pp_last_error(rt));
		}
		free(entries[i]);
	}
	free(entries);
	return loaded;
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
		printf("demo.WordCount failed (%u): %s\n", code, pp_last_error(rt));
}

static void run_transform(pp_runtime *rt)
{
	const pp_host_api *host = pp_runtime_host_api(rt);
	pp_guest_contract_handle h = pp_find(rt, DEMO_TRANSFORM, 1);
	pp_string_view in = demo_view("make some noise"), out = {NULL, 0};
	uint32_t code = pp_call(rt, h, no_instance(), 0, &in, &out, NULL);
	if (code != PP_OK) {
		printf("demo.Transform failed (%u): %s\n", code, pp_last_error(rt));
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
	printf("demo.Counter without an instance: error %u (%s)\n", code, pp_last_error(rt));
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
		printf("demo.Headline failed (%u): %s\n", code, pp_last_error(rt));
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
		printf("demo.Score failed (%u): %s\n", code, pp_last_error(rt));
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
	       "(code %u)\n",
	       (unsigned long long)before, (unsigned long long)*pp_revision_counter(rt), words,
	       code);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "examples";
	pp_runtime *rt;
	if (pp_runtime_new(NULL, &rt) != PP_OK) {
		fprintf(stderr, "demo: cannot create a runtime\n");
		return 1;
	}
	printf("polyplug-c demo host\n");
	log_contract.contract_id = DEMO_LOG;
	if (pp_host_contract_register(rt, &log_contract) != PP_OK) {
		fprintf(stderr, "demo: %s\n", pp_last_error(rt));
		return 1;
	}
	if (load_examples(rt, dir) <= 0) {
		fprintf(stderr, "demo: no example bundles loaded from %s\n", dir);
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

	pp_runtime_free(rt);
	printf("runtime freed; every bundle unloaded\n");
	return 0;
}
