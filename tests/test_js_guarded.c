/*
 * test_js_guarded.c — guarded memory (docs/js.md "Memory safety"): a JS
 * bundle whose functions' sizes are known touches only the memory it was
 * given, and every abuse fails its call without touching the host.
 */
#include <stdatomic.h>

#include "js_helpers.h"

/* regl(name, fns, layouts): a registration with interface.layouts. */
#define GUARD_PRELUDE                                                           \
	JS_PRELUDE "function regl(name, fns, layouts) {\n"                      \
	           "  var r = reg(name, fns); r.interface.layouts = layouts;\n" \
	           "  return r;\n}\n"

#define ADD_RAW                             \
	"function (impl, a, o, arena, b) {" \
	" b.writeI32(o, b.readI32(a) + b.readI32(a + 4)); return 0; }"

/* Function 0 adds; each other one abuses the bridge once. Every function
 * declares args 8, out 4. */
static const struct abuse {
	const char *body; /* of function (impl, a, o, arena, b) */
	const char *entry, *needle;
} abuses[] = {
        {"b.writeI32(0, 1)", "bridge.writeI32 at address 0x0 (4 bytes)", "outside the memory"},
        {"b.writeI32(16, 1)", "bridge.writeI32 at address 0x10 (4 bytes)", "outside the memory"},
        {"b.writeI32(o + 4, 1)", "bridge.writeI32", "outside the memory"},
        {"b.writeByte(o + 4, 1)", "bridge.writeByte", "outside the memory"},
        {"b.writeI32(a, 1)", "bridge.writeI32", "the call's args, which is read-only"},
        {"b.fast.writeString(a, 8, 'overflow')", "bridge.fast.writeString", "read-only"},
        {"b.readI32(o + 2)", "bridge.readI32", "outside the memory"},
        {"b.readMemory(a, 9)", "bridge.readMemory", "outside the memory"},
        {"b.fast.readBytes(a + 4, 5)", "bridge.fast.readBytes", "outside the memory"},
        {"var p = b.alloc(16); var at = p[1] * 4294967296 + p[0];"
         " b.free(p[0], p[1], 16, 1); b.writeI32(at, 1)",
         "bridge.writeI32", "outside the memory"},
        {"var p = b.alloc(16); b.free(p[0], p[1], 16, 1); b.free(p[0], p[1], 16, 1)", "bridge.free",
         "not a live block this bundle allocated"},
        {"var p = b.alloc(16); b.free(p[0], p[1], 8, 1)", "bridge.free",
         "a live block of this bundle, but of another size"},
        {"var p = b.alloc(16); b.free(p[0] + 4, p[1], 12, 1)", "bridge.free",
         "not a live block this bundle allocated"},
        {"b.free(16, 0, 4, 1)", "bridge.free", "not a live block"},
        {"b.alloc(2 ** 40)", "bridge.alloc", "a size must be an integer"},
        {"b.alloc(-1)", "bridge.alloc", "not -1"},
        {"b.alloc(2 ** 53)", "bridge.alloc", "not 9007199254740992"},
        {"b.alloc(NaN)", "bridge.alloc", "not NaN"},
        {"b.arenaAlloc(2 ** 40, arena)", "bridge.arenaAlloc", "a size must be an integer"},
        {"b.arenaAlloc(NaN, arena)", "bridge.arenaAlloc", "a size must be an integer"},
        {"b.arenaAlloc(-1, arena)", "bridge.arenaAlloc", "not -1"},
        {"b.arenaAlloc(2 ** 53, arena)", "bridge.arenaAlloc", "not 9007199254740992"},
        {"b.arenaAlloc(8, 4096)", "bridge.arenaAlloc at address 0x1000", "outside the memory"},
        {"var id = cid('guest_contract:test.guard@1');"
         " b.dispatchPeer(id[0], id[1], 1, 0, 16, o)",
         "bridge.dispatchPeer at address 0x10", "outside the memory"},
        {"var id = cid('guest_contract:test.guard@1');"
         " b.dispatchPeer(id[0], id[1], 1, 0, a, a)",
         "bridge.dispatchPeer", "read-only"},
        {"var id = cid('guest_contract:test.guard@1');"
         " b.dispatchPeer(id[0], id[1], 1, 0, a + 4, o)",
         "bridge.dispatchPeer", "(8 bytes): outside the memory"},
        {"b.callHostContract(1, 2, 0x10000, 0, a, 16)", "bridge.callHostContract at address 0x10",
         "outside the memory"},
        /* ids, versions and function numbers are exact: NaN or 2^32 would
         * reach function 0, a NaN version would accept any */
        {"b.callHostContract(1, 2, 0x10000, NaN, 0, 0)", "bridge.callHostContract",
         "a function number must be an integer in 0 .. 4294967295, not NaN"},
        {"b.callHostContract(1, 2, 0x10000, 2 ** 32, 0, 0)", "bridge.callHostContract",
         "a function number must be an integer"},
        {"b.dispatchPeer(1, 2, NaN, 0, 0, 0)", "bridge.dispatchPeer",
         "a version must be an integer"},
        {"b.dispatchPeer(2 ** 32 + 1, 2, 1, 0, 0, 0)", "bridge.dispatchPeer",
         "a contract id word must be an integer"},
        /* lookups too: a wrapped id would find another contract */
        {"b.findByContract(NaN, 2, 1)", "bridge.findByContract",
         "a contract id word must be an integer"},
        {"b.findAllByContract(1, 2, -1)", "bridge.findAllByContract",
         "a version must be an integer"},
        /* a guest that catches the RangeError still fails its call */
        {"try { b.writeI32(0, 1); } catch (e) { }", "bridge.writeI32", "outside the memory"},
        /* an address kept from an earlier call is not this call's */
        {"if (!globalThis.kept) { globalThis.kept = o; return 0; } b.writeI32(kept, 1)",
         "bridge.writeI32", "outside the memory"},
};

#define N_ABUSES (sizeof abuses / sizeof abuses[0])

static char *guarded_source(void)
{
	size_t cap = 1 << 16;
	char *src = malloc(cap);
	assert_non_null(src);
	size_t n = (size_t)snprintf(src, cap, "%s", GUARD_PRELUDE);
	n += (size_t)snprintf(src + n, cap - n,
	                      "function polyplug_init() {\n  var fns = [" ADD_RAW);
	for (size_t i = 0; i < N_ABUSES; i++)
		n += (size_t)snprintf(src + n, cap - n,
		                      ",\n function (impl, a, o, arena, b) { %s; return 0; }",
		                      abuses[i].body);
	n += (size_t)snprintf(src + n, cap - n,
	                      "];\n  var layouts = fns.map(function () {"
	                      " return { args: 8, out: 4 }; });\n"
	                      "  return ok([regl('test.guard', fns, layouts)]);\n}\n");
	assert_true(n < cap);
	return src;
}

static uint32_t call_fn(pp_runtime *rt, uint32_t fn, pair *p, int32_t *out)
{
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.guard", 1), 0);
	pp_guest_contract_instance none = {NULL, 0};
	uint8_t buf[256];
	pp_call_arena arena;
	pp_call_arena_init(&arena, buf, sizeof buf, pp_runtime_host_api(rt));
	uint32_t code = pp_call(rt, h, none, fn, p, out, &arena);
	pp_call_arena_free(&arena);
	return code;
}

static void every_abuse_fails_its_call_and_the_bundle_keeps_working(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	char *src = guarded_source();
	js_load_ok(rt, "g", src);
	free(src);
	for (uint32_t i = 0; i < N_ABUSES; i++) {
		pair p = {40, 2};
		int32_t r = 0;
		int32_t other[2];
		uint32_t code = call_fn(rt, 1 + i, &p, &other[0]);
		if (strstr(abuses[i].body, "kept") && code == PP_OK) /* the first call keeps */
			code = call_fn(rt, 1 + i, &p, &other[1]);
		const char *m = pp_last_error(rt);
		if (code != PP_ERR_INVALID_POINTER || !strstr(m, "bundle 'g'") ||
		    !strstr(m, abuses[i].entry) || !strstr(m, abuses[i].needle))
			fail_msg("abuse '%s': status %u, message '%s'", abuses[i].body, code, m);
		/* the args were not written, and the VM still works */
		assert_int_equal(p.a, 40);
		assert_int_equal(call_fn(rt, 0, &p, &r), PP_OK);
		assert_int_equal(r, 42);
	}
	pp_runtime_free(rt);
}

/* Counts the host allocator's live bytes. */
typedef struct counting {
	_Atomic long long live;
} counting;

static void *count_alloc(void *ud, size_t size, size_t align)
{
	(void)align;
	atomic_fetch_add(&((counting *)ud)->live, (long long)size);
	return malloc(size ? size : 1);
}

static void count_free(void *ud, void *p, size_t size, size_t align)
{
	(void)align;
	atomic_fetch_sub(&((counting *)ud)->live, (long long)size);
	free(p);
}

/* A quiet runtime whose host allocations c counts. */
static pp_runtime *counting_runtime(counting *c)
{
	pp_runtime_config cfg;
	pp_runtime_config_init(&cfg);
	cfg.alloc = count_alloc;
	cfg.free = count_free;
	cfg.alloc_userdata = c;
	cfg.log = NULL;
	cfg.log_level = 0;
	pp_runtime *rt = NULL;
	assert_int_equal(pp_runtime_new(&cfg, &rt), PP_OK);
	return rt;
}

static void bridge_allocations_count_against_the_limit_and_go_with_the_bundle(void **state)
{
	(void)state;
	counting c = {0};
	pp_runtime *rt = counting_runtime(&c);
	static const char src[] = GUARD_PRELUDE
	        "var keep = [];\n"
	        "function polyplug_init() {\n"
	        "  var fns = [" ADD_RAW ",\n"
	        "    function (i, a, o, ar, b) { for (;;) keep.push(b.alloc(1 << 20)); },\n"
	        "    function (i, a, o, ar, b) { for (var k = 0; k < 4; k++)"
	        " keep.push(b.alloc(1000)); return 0; },\n"
	        "    function (i, a, o, ar, b) { for (;;) b.arenaAlloc(1 << 20, 0); },\n"
	        "    function (i, a, o, ar, b) { while (keep.length) { var p = keep.pop();"
	        " b.free(p[0], p[1], 1 << 20, 1); } return 0; }];\n"
	        "  return ok([regl('test.guard', fns, fns.map(function () {"
	        " return { args: 8, out: 4 }; }))]);\n}\n";
	pp_load_options o = {.name = "bomb", .js = {.memory_bytes = 16u << 20}};
	uint64_t id = 0;
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), &o, &id), PP_OK);
	long long baseline = atomic_load(&c.live);
	pair p = {1, 2};
	int32_t r = 0;
	assert_int_equal(call_fn(rt, 1, &p, &r), PP_ERR_OUT_OF_MEMORY);
	assert_true(atomic_load(&c.live) <= (16 << 20)); /* stopped at the limit */
	/* holding all it may in blocks, it still has room to run and free them */
	assert_int_equal(call_fn(rt, 0, &p, &r), PP_OK);
	assert_int_equal(call_fn(rt, 4, &p, &r), PP_OK);
	/* arenaAlloc is bounded per call too (and, guarded, served from the
	 * call's arena even when asked for none) */
	long long before = atomic_load(&c.live);
	assert_int_equal(call_fn(rt, 3, &p, &r), PP_ERR_OUT_OF_MEMORY);
	assert_true(atomic_load(&c.live) - before <= 0); /* the arena's blocks are freed */
	assert_int_equal(call_fn(rt, 0, &p, &r), PP_OK);
	assert_int_equal(r, 3);
	/* the bundle's live blocks are freed when it unloads */
	assert_int_equal(call_fn(rt, 2, &p, &r), PP_OK);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	pp_runtime_quiesce(rt);
	pp_runtime_quiesce(rt);
	assert_true(atomic_load(&c.live) == baseline); /* nothing of it is left */
	/* a load that fails frees what its init allocated */
	static const char failing[] = "function polyplug_init(hl, hh, cl, ch, b) {"
	                              " for (var i = 0; i < 4; i++) b.alloc(1000);"
	                              " throw new Error('no'); }";
	assert_int_equal(js_load_src(rt, "failing", failing, NULL), PP_ERR_INIT_FAILED);
	assert_true(atomic_load(&c.live) == baseline);
	pp_runtime_free(rt);
}

/* A host allocator whose blocks hold what a heap's reused blocks hold:
 * anything but zeros. */
static void *dirty_alloc(void *ud, size_t size, size_t align)
{
	(void)ud;
	(void)align;
	void *p = malloc(size ? size : 1);
	if (p)
		memset(p, 0xA5, size);
	return p;
}

static void plain_free(void *ud, void *p, size_t size, size_t align)
{
	(void)ud;
	(void)size;
	(void)align;
	free(p);
}

/* Memory the bridge hands a bundle (alloc, arenaAlloc, guarded or not, from
 * the host or from the caller's arena) holds zeros, never what the host's
 * heap or an earlier call left there: a bundle reads no one else's bytes. */
static void memory_a_bundle_is_given_holds_zeros(void **state)
{
	(void)state;
	pp_runtime_config cfg;
	pp_runtime_config_init(&cfg);
	cfg.alloc = dirty_alloc;
	cfg.free = plain_free;
	cfg.log_level = 0;
	pp_runtime *rt = NULL;
	assert_int_equal(pp_runtime_new(&cfg, &rt), PP_OK);
#define ZEROED_FNS                                                                    \
	"function zero(b, p, n) { for (var k = 0; k < n; k++) if (b.readByte(p + k))" \
	" return false; return true; }\n"                                             \
	"function fns() { return [function (i, a, o, ar, b) {\n"                      \
	"  var m = b.alloc(256), p = m[0] + m[1] * 4294967296;\n"                     \
	"  var x = b.arenaAlloc(64, ar), q = x[0] + x[1] * 4294967296;\n"             \
	"  var y = b.arenaAlloc(64, 0), r = y[0] + y[1] * 4294967296;\n"              \
	"  var ok = zero(b, p, 256) && zero(b, q, 64) && zero(b, r, 64);\n"           \
	"  b.free(m[0], m[1], 256, 1);\n"                                             \
	"  if (typeof compat !== 'undefined') b.free(y[0], y[1], 64, 1);\n"           \
	"  return ok ? 0 : 9; }]; }\n"
	static const char guarded[] = GUARD_PRELUDE ZEROED_FNS
	        "function polyplug_init() {\n"
	        "  return ok([regl('test.guard', fns(), [{ args: 8, out: 4 }])]);\n}\n";
	static const char compat[] = GUARD_PRELUDE
	        "var compat = 1;\n" ZEROED_FNS
	        "function polyplug_init() {\n  return ok([reg('test.guard', fns())]);\n}\n";
#undef ZEROED_FNS
	const char *const srcs[] = {guarded, compat};
	for (size_t i = 0; i < 2; i++) {
		uint64_t id = 0;
		pp_load_options o = {.name = i ? "compat" : "guarded"};
		assert_int_equal(pp_bundle_load_source(rt, srcs[i], strlen(srcs[i]), &o, &id),
		                 PP_OK);
		pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.guard", 1), 0);
		pp_guest_contract_instance none = {NULL, 0};
		uint8_t buf[512];
		memset(buf, 0xA5, sizeof buf); /* what an earlier call left */
		pp_call_arena arena;
		pp_call_arena_init(&arena, buf, sizeof buf, pp_runtime_host_api(rt));
		pair p = {1, 2};
		int32_t out = 0;
		uint32_t code = pp_call(rt, h, none, 0, &p, &out, &arena);
		pp_call_arena_free(&arena);
		if (code != PP_OK)
			fail_msg("%s: %s (%s)", o.name, pp_status_name(code), pp_last_error(rt));
		assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	}
	pp_runtime_free(rt);
}

/* With no call arena, guarded arenaAlloc takes its bytes from the host for
 * the caller to free: those the call's out names are the caller's, the
 * rest (which nobody could free) go when the call ends, as all of them do
 * when it fails. */
static void arena_bytes_nobody_can_free_go_when_the_call_ends(void **state)
{
	(void)state;
	counting c = {0};
	pp_runtime *rt = counting_runtime(&c);
	static const char src[] = GUARD_PRELUDE
	        "function polyplug_init() {\n"
	        "  var fns = [\n"
	        "    function (i, a, o, ar, b) { for (var k = 0; k < 4; k++)"
	        " b.arenaAlloc(1 << 20, 0); return 0; },\n"
	        "    function (i, a, o, ar, b) { var p = b.arenaAlloc(64, 0);"
	        " b.writeU32(o, p[0]); b.writeU32(o + 4, p[1]); b.writeU32(o + 8, 64);"
	        " b.arenaAlloc(1 << 20, 0); return 0; },\n"
	        "    function (i, a, o, ar, b) { var p = b.arenaAlloc(64, 0);"
	        " b.writeU32(o, p[0]); b.writeU32(o + 4, p[1]); throw new Error('no'); }];\n"
	        "  return ok([regl('test.guard', fns, fns.map(function () {"
	        " return { args: 8, out: 16 }; }))]);\n}\n";
	pp_load_options o = {
	        .name = "dropper",
	        .js = {.memory_bytes = 16u << 20, .memory_mode = PP_JS_MEMORY_GUARDED}};
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), &o, NULL), PP_OK);
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.guard", 1), 0);
	pp_guest_contract_instance none = {NULL, 0};
	pair p = {1, 2};
	long long before = atomic_load(&c.live);
	for (int i = 0; i < 50; i++) { /* 200 MiB in all, 16 MiB allowed */
		pp_string_view out = {NULL, 0};
		assert_int_equal(pp_call(rt, h, none, 0, &p, &out, NULL), PP_OK);
	}
	assert_true(atomic_load(&c.live) == before);
	/* the view out names is the caller's; the other block is not */
	pp_string_view out = {NULL, 0};
	assert_int_equal(pp_call(rt, h, none, 1, &p, &out, NULL), PP_OK);
	assert_non_null(out.ptr);
	assert_int_equal(out.len, 64);
	assert_true(atomic_load(&c.live) == before + 64);
	const pp_host_api *host = pp_runtime_host_api(rt);
	host->free(host, (void *)out.ptr, 64, 1);
	assert_true(atomic_load(&c.live) == before);
	/* a failed call hands nothing over */
	assert_int_equal(pp_call(rt, h, none, 2, &p, &out, NULL), PP_ERR_GENERIC);
	assert_true(atomic_load(&c.live) == before);
	pp_runtime_free(rt);
}

/* Writes src as a bundle directory dir whose manifest asks for guarded
 * memory, which rt refuses saying guarded_says, then for compat, which a
 * host requiring guarded memory (strict) refuses. */
static void manifests_ask(char *dir, size_t cap, const char *src, pp_runtime *rt,
                          const char *guarded_says, pp_runtime *strict)
{
	temp_dir(dir, cap);
	write_text(dir, "bundle.js", src);
	write_text(dir, "manifest.toml", "name = \"m1\"\nmemory = \"guarded\"\n");
	assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), guarded_says);
	write_text(dir, "manifest.toml", "name = \"m2\"\nmemory = \"compat\"\n");
	assert_int_equal(pp_bundle_load(strict, dir, NULL, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(strict),
	                "asks for memory = \"compat\", but the host requires");
}

/* A raw bundle (the reference's way) keeps running unchecked; a host or a
 * manifest can require guarded memory. */
static void modes_follow_the_functions_the_host_and_the_manifest(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	static const char raw[] = JS_ONE("test.raw", "function (i, a, o, ar, b) {"
	                                             " b.writeI32(0, 1); return 0; }");
	js_load_ok(rt, "raw", raw);
	/* compat: a write to 0 does nothing, as in the reference */
	assert_int_equal(js_call(rt, "test.raw", 0, NULL, NULL), PP_OK);

	/* a host that requires guarded memory refuses it, naming the function */
	pp_load_options req = {.name = "raw2", .js = {.memory_mode = PP_JS_MEMORY_GUARDED}};
	assert_int_equal(pp_bundle_load_source(rt, raw, strlen(raw), &req, NULL),
	                 PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "function 0 of contract 'test.raw@1' has neither a "
	                                   "typed signature nor a layout");
	/* the same for the whole runtime */
	pp_runtime_config cfg;
	pp_runtime_config_init(&cfg);
	cfg.js.memory_mode = PP_JS_MEMORY_GUARDED;
	pp_runtime *strict = NULL;
	assert_int_equal(pp_runtime_new(&cfg, &strict), PP_OK);
	pp_load_options plain = {.name = "raw3"};
	assert_int_equal(pp_bundle_load_source(strict, raw, strlen(raw), &plain, NULL),
	                 PP_ERR_LOAD_FAILED);
	/* ...unless the host allows one bundle compat */
	pp_load_options allow = {.name = "raw4", .js = {.memory_mode = PP_JS_MEMORY_COMPAT}};
	assert_int_equal(pp_bundle_load_source(strict, raw, strlen(raw), &allow, NULL), PP_OK);

	/* manifests: memory = "guarded" requires it; "compat" is refused where
	 * the host requires guarded */
	char dir[256];
	manifests_ask(dir, sizeof dir, raw, rt, "guarded memory is required", strict);
	write_text(dir, "manifest.toml", "name = \"m3\"\nmemory = \"loose\"\n");
	assert_int_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "expected \"guarded\" or \"compat\"");
	remove_tree(dir);

	/* a guarded-able bundle that asks for compat runs unchecked */
	char *src = guarded_source();
	pp_load_options compat = {.name = "g", .js = {.memory_mode = PP_JS_MEMORY_COMPAT}};
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), &compat, NULL), PP_OK);
	free(src);
	pair p = {1, 2};
	int32_t r = 0;
	assert_int_equal(call_fn(rt, 1, &p, &r), PP_OK); /* writeI32(0, 1): nothing, as raw */

	/* bad layouts are refused at load */
	static const char bad[] = GUARD_PRELUDE
	        "function polyplug_init() { return ok([regl('test.bad', [function () {"
	        " return 0; }], [{ args: NaN, out: 4 }])]); }";
	assert_int_equal(js_load_src(rt, "bad", bad, NULL), PP_ERR_INIT_FAILED);
	assert_contains(pp_last_error(rt), "interface.layouts[0]: args is NaN, not a byte count");

	/* where the host requires guarded memory, the init is checked too: a
	 * write to 16 or into the host table fails the load, and the runtime
	 * goes on (by default the init runs unchecked: README, js.md) */
	static const char *const targets[] = {"16", "hl + hh * 4294967296"};
	for (size_t i = 0; i < 2; i++) {
		char writes[1024];
		snprintf(writes, sizeof writes,
		         GUARD_PRELUDE "function polyplug_init(hl, hh, cl, ch, b) {"
		                       " b.writeI32(%s, 1); return ok([regl('test.iw', [" ADD_RAW
		                       "], [{ args: 8, out: 4 }])]); }",
		         targets[i]);
		pp_load_options o = {.name = "iw"};
		assert_int_not_equal(
		        pp_bundle_load_source(strict, writes, strlen(writes), &o, NULL), PP_OK);
		assert_contains(pp_last_error(strict), "bridge.writeI32 at address 0x");
		assert_contains(pp_last_error(strict), "outside the memory");
	}
	src = guarded_source();
	pp_load_options fine = {.name = "g2"};
	assert_int_equal(pp_bundle_load_source(strict, src, strlen(src), &fine, NULL), PP_OK);
	free(src);
	pp_runtime_free(strict);
	pp_runtime_free(rt);
}

/* A host contract writing 8 bytes of out. */
static void write8(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)state;
	(void)args;
	(void)err;
	memset(out, 7, 8);
}

/* A native callee that declares its layouts gets blocks at least that large
 * from a guarded caller, and only the caller's memory behind the pointers in
 * args it follows; one that declares none (built before layouts existed, size
 * 64, is not read past its size) cannot be called by a guarded bundle. */
static void native_callees_declaring_layouts_get_blocks_that_large(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	static const void *const fns[] = {(const void *)write8, (const void *)write8};
	static const uint32_t views[] = {0};
	static const pp_fn_layout layouts[] = {{0, 8, PP_LAYOUT_NO_ARENA, 0, NULL},
	                                       {24, 8, 16, 1, views}};
	pp_host_contract_interface sized = {
	        .size = sizeof sized,
	        .contract_id = pp_host_contract_id("test.Write8", 1),
	        .contract_version = {1, 0, 0},
	        .dispatch_type = PP_DISPATCH_NATIVE,
	        .create_instance = no_instance,
	        .destroy_instance = drop_instance,
	        .dispatch.native = {2, fns},
	        .layouts = layouts,
	};
	pp_host_contract_interface old = sized;
	old.size = PP_HOST_CONTRACT_INTERFACE_V2_SIZE;
	old.contract_id = pp_host_contract_id("test.Write8Old", 1);
	old.layouts = (const pp_fn_layout *)(uintptr_t)8; /* beyond its size: never read */
	assert_int_equal(pp_host_contract_register(rt, &sized), PP_OK);
	assert_int_equal(pp_host_contract_register(rt, &old), PP_OK);
	static const char src[] = GUARD_PRELUDE
	        "function hid(s) { return cid('host_contract:' + s + '@1'); }\n"
	        "function polyplug_init(hl, hh) {\n"
	        "  var fns = [" ADD_RAW ",\n"
	        "    function (i, a, o, ar, b) { var id = hid('test.Write8');"
	        " var p = b.alloc(4); var at = p[1] * 4294967296 + p[0];"
	        " return b.callHostContract(id[0], id[1], 0x10000, 0, 0, at); },\n"
	        "    function (i, a, o, ar, b) { var id = hid('test.Write8');"
	        " var p = b.alloc(8); var at = p[1] * 4294967296 + p[0];"
	        " var rc = b.callHostContract(id[0], id[1], 0x10000, 0, 0, at);"
	        " b.writeI32(o, b.readI32(at)); b.free(p[0], p[1], 8, 1); return rc; },\n"
	        "    function (i, a, o, ar, b) { var id = hid('test.Write8Old');"
	        " var p = b.alloc(8); var at = p[1] * 4294967296 + p[0];"
	        " var rc = b.callHostContract(id[0], id[1], 0x10000, 0, 0, at);"
	        " b.free(p[0], p[1], 8, 1); return rc; },\n"
	        /* 4-6: function 1 follows a StringView at 0 and an arena at 16 */
	        "    function (i, a, o, ar, b) { return viaArgs(b, hl, hh, 0); },\n"
	        "    function (i, a, o, ar, b) { return viaArgs(b, 0, 0, 4096); },\n"
	        "    function (i, a, o, ar, b) { var d = b.alloc(4);"
	        " return viaArgs(b, d[0], d[1], 0); }];\n"
	        "  function viaArgs(b, lo, hi, arena) { var id = hid('test.Write8');"
	        " var args = b.alloc(24), out = b.alloc(8), at = args[1] * 4294967296 + args[0];"
	        " b.writeU32(at, lo); b.writeU32(at + 4, hi); b.writeU32(at + 8, lo || hi ? 4 : 0);"
	        " b.writeU32(at + 12, 0); b.writeU32(at + 16, arena); b.writeU32(at + 20, 0);"
	        " return b.callHostContract(id[0], id[1], 0x10000, 1, at,"
	        " out[1] * 4294967296 + out[0]); }\n"
	        "  return ok([regl('test.guard', fns, fns.map(function () {"
	        " return { args: 8, out: 4 }; }))]);\n}\n";
	js_load_ok(rt, "caller", src);
	pair p = {1, 2};
	int32_t r = 0;
	assert_int_equal(call_fn(rt, 1, &p, &r), PP_ERR_INVALID_POINTER); /* 4 < 8 */
	assert_contains(pp_last_error(rt), "bridge.callHostContract");
	assert_contains(pp_last_error(rt), "(8 bytes): outside the memory");
	assert_int_equal(call_fn(rt, 2, &p, &r), PP_OK);
	assert_int_equal(r, 0x07070707);
	assert_int_equal(call_fn(rt, 3, &p, &r), PP_ERR_INVALID_POINTER);
	assert_contains(pp_last_error(rt), "declares no layout");
	assert_int_equal(call_fn(rt, 4, &p, &r), PP_ERR_INVALID_POINTER); /* the host table */
	assert_contains(pp_last_error(rt), "bridge.callHostContract");
	assert_int_equal(call_fn(rt, 5, &p, &r), PP_ERR_INVALID_POINTER); /* a foreign arena */
	assert_contains(pp_last_error(rt), "bridge.callHostContract at address 0x0 (1 bytes)");
	assert_int_equal(call_fn(rt, 6, &p, &r), PP_OK);
	pp_runtime_free(rt);
}

static void noop(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)state;
	(void)args;
	(void)out;
	(void)err;
}

/* Peers and host contracts cannot be used to reach memory: results a caller
 * pre-fills are cleared before the callee runs, a raw JS callee's views are
 * not adopted, a typed JS callee's pointer params must be the caller's, and
 * a function cannot hand out its own alloc blocks. */
static void outgoing_calls_cannot_forge_or_hand_out_memory(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	static const void *const fns[] = {(const void *)noop};
	static const uint32_t result_view[] = {PP_LAYOUT_OUT_VIEW | 0};
	static const pp_fn_layout noop_layout[] = {{0, 16, PP_LAYOUT_NO_ARENA, 1, result_view}};
	pp_host_contract_interface hc = {
	        .size = sizeof hc,
	        .contract_id = pp_host_contract_id("test.Noop", 1),
	        .contract_version = {1, 0, 0},
	        .dispatch_type = PP_DISPATCH_NATIVE,
	        .create_instance = no_instance,
	        .destroy_instance = drop_instance,
	        .dispatch.native = {1, fns},
	        .layouts = noop_layout,
	};
	assert_int_equal(pp_host_contract_register(rt, &hc), PP_OK);
	/* peers: a typed echo (Buffer, Arena) -> Buffer, and a raw one that
	 * writes a forged view (the host table's address) */
	static const char peers[] = GUARD_PRELUDE
	        "function polyplug_init(hl, hh) {\n"
	        "  var echo = reg('test.echo', [function (impl, u8) { return u8; }]);\n"
	        "  echo.interface.signatures = [{ params: ['Buffer', 'Arena'], result: 'Buffer' "
	        "}];\n"
	        "  var forge = regl('test.forge', [function (i, a, o, ar, b) {"
	        " b.writeU32(o, hl); b.writeU32(o + 4, hh); b.writeU32(o + 8, 64);"
	        " b.writeU32(o + 12, 0); return 0; }], [{ args: 0, out: 16 }]);\n"
	        "  var pair = reg('test.pair', [function () { return { p: hh * 4294967296 + hl,"
	        " n: 64 }; }]);\n"
	        "  pair.interface.signatures = [{ params: [], result: { struct: [['p', 'u64'],"
	        " ['n', 'u64']] } }];\n"
	        "  return ok([echo, forge, pair]);\n}\n";
	js_load_ok(rt, "peers", peers);
	static const char src[] = GUARD_PRELUDE
	        "function hid(s) { return cid('host_contract:' + s + '@1'); }\n"
	        "function at(p) { return p[1] * 4294967296 + p[0]; }\n"
	        "function polyplug_init(hl, hh) {\n"
	        "  var fns = [" ADD_RAW ",\n"
	        /* 1: pre-filled view, native callee that writes nothing */
	        "    function (i, a, o, ar, b) { var id = hid('test.Noop');"
	        " var p = at(b.alloc(16)); b.writeU32(p, hl); b.writeU32(p + 4, hh);"
	        " b.writeU32(p + 8, 64); b.callHostContract(id[0], id[1], 0x10000, 0, 0, p, [0]);"
	        " var lo = b.readU32(p), hi = b.readU32(p + 4);"
	        " if (lo || hi) return 99; return b.readI32(hi * 4294967296 + lo + 8); },\n"
	        /* 2: a raw JS callee's results are numbers: naming a view is refused */
	        "    function (i, a, o, ar, b) { var id = cid('guest_contract:test.forge@1');"
	        " var p = at(b.alloc(16));"
	        " b.dispatchPeer(id[0], id[1], 1, 0, 0, p, [0]);"
	        " return b.readI32(b.readU32(p + 4) * 4294967296 + b.readU32(p)); },\n"
	        /* 3: a typed peer's Buffer param pointing at the host table */
	        "    function (i, a, o, ar, b) { var id = cid('guest_contract:test.echo@1');"
	        " var args = at(b.alloc(24)), out = at(b.alloc(16));"
	        " b.writeU32(args, hl); b.writeU32(args + 4, hh); b.writeU32(args + 8, 64);"
	        " return b.dispatchPeer(id[0], id[1], 1, 0, args, out, [0]); },\n"
	        /* 4: a typed peer's Arena param set */
	        "    function (i, a, o, ar, b) { var id = cid('guest_contract:test.echo@1');"
	        " var args = at(b.alloc(24)), out = at(b.alloc(16));"
	        " for (var k = 0; k < 24; k += 4) b.writeU32(args + k, 0);"
	        " b.writeU32(args + 16, 4096);"
	        " return b.dispatchPeer(id[0], id[1], 1, 0, args, out, [0]); },\n"
	        /* 5: the same, honest: the echoed bytes are adopted, read, freed */
	        "    function (i, a, o, ar, b) { var id = cid('guest_contract:test.echo@1');"
	        " var args = at(b.alloc(24)), out = at(b.alloc(16)), data = at(b.alloc(4));"
	        " b.writeI32(data, 1234); b.writeU32(args, data % 4294967296);"
	        " b.writeU32(args + 4, Math.floor(data / 4294967296)); b.writeU32(args + 8, 4);"
	        " b.writeU32(args + 12, 0); b.writeU32(args + 16, 0); b.writeU32(args + 20, 0);"
	        " var rc = b.dispatchPeer(id[0], id[1], 1, 0, args, out, [0]); if (rc) return rc;"
	        " var lo = b.readU32(out), hi = b.readU32(out + 4);"
	        " b.writeI32(o, b.readI32(hi * 4294967296 + lo)); b.free(lo, hi, 4, 1);"
	        " return 0; },\n"
	        /* 6: handing out an alloc block as a result */
	        "    function (i, a, o, ar, b) { var p = b.alloc(16); b.writeU32(o, p[0]);"
	        " b.writeU32(o + 4, p[1]); b.writeU32(o + 8, 16); b.writeU32(o + 12, 0);"
	        " return 0; },\n"
	        /* 7: readMemory runs no setter mid-copy */
	        "    function (i, a, o, ar, b) { var p = b.alloc(8), called = 0;"
	        " Object.defineProperty(Array.prototype, 1, { set: function () { called++;"
	        " b.free(p[0], p[1], 8, 1); }, configurable: true });"
	        " var m = b.readMemory(at(p), 8); delete Array.prototype[1];"
	        " b.free(p[0], p[1], 8, 1); return called ? 98 : m.length === 8 ? 0 : 97; },\n"
	        /* 8: a typed peer's struct result is numbers, not a view to adopt */
	        "    function (i, a, o, ar, b) { var id = cid('guest_contract:test.pair@1');"
	        " var out = at(b.alloc(16)); b.dispatchPeer(id[0], id[1], 1, 0, 0, out, [0]);"
	        " return b.readI32(b.readU32(out + 4) * 4294967296 + b.readU32(out)); },\n"
	        /* 9: one view named twice */
	        "    function (i, a, o, ar, b) { var id = cid('guest_contract:test.echo@1');"
	        " var args = at(b.alloc(24)), out = at(b.alloc(32));"
	        " for (var k = 0; k < 24; k += 4) b.writeU32(args + k, 0);"
	        " return b.dispatchPeer(id[0], id[1], 1, 0, args, out, [0, 8]); },\n"
	        /* 10: views named with no out (none is computed from a NULL out:
	         * clang's UBSan reported the offset applied to it) */
	        "    function (i, a, o, ar, b) { var id = cid('guest_contract:test.echo@1');"
	        " return b.dispatchPeer(id[0], id[1], 1, 0, 0, 0, [0]); },\n"
	        /* 11: the same at another offset */
	        "    function (i, a, o, ar, b) { var id = cid('guest_contract:test.echo@1');"
	        " return b.dispatchPeer(id[0], id[1], 1, 0, 0, 0, [8]); }];\n"
	        "  var l = fns.map(function () { return { args: 8, out: 16 }; });\n"
	        "  return ok([regl('test.guard', fns, l)]);\n}\n";
	js_load_ok(rt, "caller", src);
	struct {
		uint32_t fn, code;
		const char *needle;
	} cases[] = {
	        {1, PP_ERR_INVALID_POINTER, "bridge.readI32 at address 0x8 "},
	        {2, PP_ERR_INVALID_POINTER,
	         "bridge.dispatchPeer: out offset 0 is no StringView/Buffer result of the "
	         "callee's function 0 (it returns 0)"},
	        {3, PP_ERR_INVALID_POINTER, "bridge.dispatchPeer"},
	        {4, PP_ERR_INVALID_POINTER, "bridge.dispatchPeer at address 0x0 (1 bytes)"},
	        {5, PP_OK, NULL},
	        {6, PP_ERR_INVALID_POINTER, "which stays the bundle's"},
	        {7, PP_OK, NULL},
	        {8, PP_ERR_INVALID_POINTER,
	         "bridge.dispatchPeer: out offset 0 is no StringView/Buffer result of the "
	         "callee's function 0 (it returns 0)"},
	        {9, PP_ERR_INVALID_POINTER, "result views at out offsets 0 and 8 overlap"},
	        {10, PP_ERR_INVALID_POINTER, "bridge.dispatchPeer at address 0x0 (16 bytes)"},
	        {11, PP_ERR_INVALID_POINTER, "bridge.dispatchPeer at address 0x0 (16 bytes)"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		pair p = {1, 2};
		int32_t r[4] = {0};
		uint32_t code = call_fn(rt, cases[i].fn, &p, r);
		if (code != cases[i].code ||
		    (cases[i].needle && !strstr(pp_last_error(rt), cases[i].needle)))
			fail_msg("fn %u: status %u, '%s'", cases[i].fn, code, pp_last_error(rt));
		if (cases[i].fn == 5)
			assert_int_equal(r[0], 1234);
		assert_int_equal(call_fn(rt, 0, &p, r), PP_OK);
	}
	pp_runtime_free(rt);
}

/* A host contract whose function 0 returns "hello" as a StringView from the
 * host's allocator, as its layout declares (PP_LAYOUT_OUT_VIEW). */
typedef struct hello_host {
	pp_host_contract_interface iface;
	const pp_host_api *host;
} hello_host;

static void hello(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)args;
	(void)err;
	const pp_host_api *h = ((hello_host *)state)->host;
	static const uint8_t text[] = {'h', 'e', 'l', 'l', 'o'};
	uint8_t *p = h->alloc(h, sizeof text, 1);
	memcpy(p, text, sizeof text);
	pp_string_view v = {p, sizeof text};
	memcpy(out, &v, sizeof v);
}

/* Function 2 makes its result, then fails. */
static void hello_then_fail(void *state, const void *args, void *out, pp_abi_error *err)
{
	hello(state, args, out, err);
	err->code = PP_ERR_GENERIC;
}

/* Function 1 answers the StringView it was given: memory its caller holds,
 * though its layout says it makes its result. */
static void echo_view(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)state;
	(void)err;
	memcpy(out, args, sizeof(pp_string_view));
}

static pp_host_contract_instance hello_self(const pp_host_contract_interface *self,
                                            const void *args)
{
	(void)args;
	return (pp_host_contract_instance){(void *)self};
}

/* The bytes a callee allocates for a guarded caller are the caller's if it
 * names them and freed by the loader if not; the result of a typed call
 * that a violation then failed is freed too. Nothing is left behind. */
/* Jobs queued by guest code the loader runs after a call settled (here a
 * thrown object's toString, called to word the failure) run inside that
 * call's guard. They ran after it: a violation in them was left pending and
 * failed the next call, an innocent one, with the old message; host bytes
 * they took with arenaAlloc (no call arena) were never freed; a failed
 * factory's jobs did the same to the next call. */
/* late(job) throws an object whose toString (which the loader calls to
 * word the failure) queues job. */
#define LATE_JOBS_BUNDLE                                                                 \
	GUARD_PRELUDE                                                                    \
	"function late(job) { throw { toString: function () {\n"                         \
	"  queueMicrotask(function () { try { job(); } catch (e) {} });\n"               \
	"  return 'thrown'; } }; }\n"                                                    \
	"var made = 0;\n"                                                                \
	"function polyplug_init() {\n"                                                   \
	"  var fns = [\n"                                                                \
	"    function (i, a, o, ar, b) { late(function () { b.writeI32(16, 1); }); },\n" \
	"    function (i, a, o, ar, b) {\n"                                              \
	"      late(function () { b.arenaAlloc(1 << 20, 0); }); },\n"                    \
	"    function (i, a, o, ar, b) {\n"                                              \
	"      b.writeI32(o, b.readI32(a) + b.readI32(a + 4)); return 0; }\n"            \
	"  ];\n"                                                                         \
	"  var r = regl('test.guard', fns,\n"                                            \
	"    [{args: 8, out: 4}, {args: 8, out: 4}, {args: 8, out: 4}]);\n"              \
	"  r.interface.factory = function (b) {\n"                                       \
	"    if (made++ < 2) return {}; /* the default, then one */\n"                   \
	"    late(function () { b.readI32(64); }); };\n"                                 \
	"  return ok([r]);\n}\n"

static void jobs_left_after_a_call_settled_are_charged_to_that_call(void **state)
{
	(void)state;
	counting_alloc ca = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_counting(&ca);
	js_load_ok(rt, "late", LATE_JOBS_BUNDLE);
	pair p = {40, 2};
	int32_t sum = 0;
	assert_int_equal(call_fn(rt, 0, &p, &sum), PP_ERR_INVALID_POINTER);
	assert_contains(pp_last_error(rt), "bridge.writeI32 at address 0x10");
	assert_int_equal(call_fn(rt, 2, &p, &sum), PP_OK); /* the next call is its own */
	assert_int_equal(sum, 42);
	size_t live = ca.live;
	for (int i = 0; i < 8; i++) {
		assert_int_equal(call_fn(rt, 1, &p, &sum), PP_ERR_GENERIC);
		assert_int_equal(call_fn(rt, 2, &p, &sum), PP_OK);
	}
	assert_true(ca.live < live + (1u << 20)); /* not 8 MiB more */
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.guard", 1), 0);
	pp_guest_contract_instance x;
	assert_int_equal(pp_instance_create(rt, h, NULL, &x), PP_OK);
	assert_int_equal(pp_instance_destroy(rt, h, x), PP_OK);
	assert_int_equal(pp_instance_create(rt, h, NULL, &x), PP_ERR_INVALID_POINTER);
	assert_contains(pp_last_error(rt), "bridge.readI32 at address 0x40");
	assert_int_equal(call_fn(rt, 2, &p, &sum), PP_OK);
	pp_runtime_free(rt);
}

static void results_a_guarded_caller_does_not_take_are_freed(void **state)
{
	(void)state;
	counting_alloc ca = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_counting(&ca);
	static const void *const fns[] = {(const void *)hello, (const void *)echo_view,
	                                  (const void *)hello_then_fail};
	static const uint32_t result_view[] = {PP_LAYOUT_OUT_VIEW | 0};
	static const uint32_t echo_views[] = {0, PP_LAYOUT_OUT_VIEW | 0};
	static const pp_fn_layout layout[] = {{0, 16, PP_LAYOUT_NO_ARENA, 1, result_view},
	                                      {16, 16, PP_LAYOUT_NO_ARENA, 2, echo_views},
	                                      {0, 16, PP_LAYOUT_NO_ARENA, 1, result_view}};
	hello_host hh = {
	        .iface = {.size = sizeof hh.iface,
	                  .contract_id = pp_host_contract_id("test.Hello", 1),
	                  .contract_version = {1, 0, 0},
	                  .flags = PP_HOST_CONTRACT_SINGLETON,
	                  .dispatch_type = PP_DISPATCH_NATIVE,
	                  .create_instance = hello_self,
	                  .destroy_instance = drop_instance,
	                  .dispatch.native = {3, fns},
	                  .layouts = layout},
	        .host = pp_runtime_host_api(rt),
	};
	/* two result views over the same bytes would hand one allocation over
	 * twice: such a layout is refused */
	static const uint32_t twice[] = {PP_LAYOUT_OUT_VIEW | 0, PP_LAYOUT_OUT_VIEW | 8};
	static const pp_fn_layout twice_layout[] = {{0, 32, PP_LAYOUT_NO_ARENA, 2, twice}};
	hello_host bad = hh;
	bad.iface.contract_id = pp_host_contract_id("test.Twice", 1);
	bad.iface.dispatch.native.function_count = 1;
	bad.iface.layouts = twice_layout;
	assert_int_equal(pp_host_contract_register(rt, &bad.iface), PP_ERR_INVALID_ARGUMENT);
	assert_contains(pp_last_error(rt), "has result views that overlap");
	assert_int_equal(pp_host_contract_register(rt, &hh.iface), PP_OK);
	static const char peers[] = GUARD_PRELUDE
	        "var B;\n"
	        "function polyplug_init(hl, hh, cl, ch, bridge) { B = bridge;\n"
	        "  var text = reg('test.text', [function () { return 'typed bytes'; },"
	        " function () { try { B.readI32(16); } catch (e) {}"
	        " return 'lost bytes'; },"
	        " function () { try { B.readI32(16); } catch (e) {} throw new Error('none'); }]);\n"
	        "  text.interface.signatures = [{ params: [], result: 'StringView' },"
	        " { params: [], result: 'StringView' }, { params: [], result: 'StringView' }];\n"
	        /* a raw callee handing out arena bytes no guarded caller may take */
	        "  var giver = regl('test.giver', [function (i, a, o, ar, b) {"
	        " var p = b.arenaAlloc(65536, ar); b.writeU32(o, p[0]); b.writeU32(o + 4, p[1]);"
	        " b.writeU32(o + 8, 65536); b.writeU32(o + 12, 0); return 0; }],"
	        " [{ args: 0, out: 16 }]);\n"
	        "  return ok([text, giver]);\n}\n";
	js_load_ok(rt, "peers", peers);
	static const char src[] = GUARD_PRELUDE
	        "function at(p) { return p[1] * 4294967296 + p[0]; }\n"
	        "function hello(b, views) { var id = cid('host_contract:test.Hello@1');"
	        " var out = at(b.alloc(16));"
	        " var rc = b.callHostContract(id[0], id[1], 0x10000, 0, 0, out, views);"
	        " return [rc, out]; }\n"
	        "function text(b, views) { var id = cid('guest_contract:test.text@1');"
	        " var out = at(b.alloc(16));"
	        " var rc = b.dispatchPeer(id[0], id[1], 1, 0, 0, out, views); return [rc, out]; }\n"
	        "function take(b, r, first) { var lo = b.readU32(r[1]), hi = b.readU32(r[1] + 4),"
	        " len = b.readU32(r[1] + 8), c = b.readByte(hi * 4294967296 + lo);"
	        " b.free(lo, hi, len, 1); return c === first ? len : -1; }\n"
	        "function polyplug_init() {\n"
	        "  var fns = [" ADD_RAW ",\n"
	        "    function (i, a, o, ar, b) { var r = hello(b, [0]);"
	        " b.writeI32(o, take(b, r, 104)); return r[0]; },\n"
	        "    function (i, a, o, ar, b) { var r = hello(b);"
	        " b.writeI32(o, b.readU32(r[1]) + b.readU32(r[1] + 4)); return r[0]; },\n"
	        "    function (i, a, o, ar, b) { var r = text(b, [0]);"
	        " b.writeI32(o, take(b, r, 116)); return r[0]; },\n"
	        "    function (i, a, o, ar, b) { var r = text(b);"
	        " b.writeI32(o, b.readU32(r[1]) + b.readU32(r[1] + 4)); return r[0]; },\n"
	        /* 5: a callee answering with the caller's own block */
	        "    function (i, a, o, ar, b) { var id = cid('host_contract:test.Hello@1');"
	        " var d = b.alloc(4), args = at(b.alloc(16)), out = at(b.alloc(16));"
	        " b.writeU32(args, d[0]); b.writeU32(args + 4, d[1]); b.writeU32(args + 8, 4);"
	        " b.writeU32(args + 12, 0);"
	        " try { b.callHostContract(id[0], id[1], 0x10000, 1, args, out, [0]); }"
	        " catch (e) {} b.free(d[0], d[1], 4, 1); return 0; },\n"
	        /* 6: twenty calls to the raw giver */
	        "    function (i, a, o, ar, b) { var id = cid('guest_contract:test.giver@1');"
	        " var out = at(b.alloc(16));"
	        " for (var k = 0; k < 20; k++) { var rc = b.dispatchPeer(id[0], id[1], 1, 0, 0, "
	        "out);"
	        " if (rc) return rc; } return 0; },\n"
	        /* 7: twenty calls whose callee made its result, then failed */
	        "    function (i, a, o, ar, b) { var id = cid('host_contract:test.Hello@1');"
	        " var out = at(b.alloc(16));"
	        " for (var k = 0; k < 20; k++) {"
	        " if (b.callHostContract(id[0], id[1], 0x10000, 2, 0, out, [0]) !== 1) return 99;"
	        " if (b.readU32(out) || b.readU32(out + 8)) return 98; } return 0; },\n"
	        /* 8: a function the host contract does not have */
	        "    function (i, a, o, ar, b) { var id = cid('host_contract:test.Hello@1');"
	        " return b.callHostContract(id[0], id[1], 0x10000, 7, 0, 0); }];\n"
	        "  return ok([regl('test.guard', fns, fns.map(function () {"
	        " return { args: 8, out: 4 }; }))]);\n}\n";
	js_load_ok(rt, "caller", src);
	pair p = {1, 2};
	int32_t r = -1;
	assert_int_equal(call_fn(rt, 1, &p, &r), PP_OK); /* named: read and freed by the guest */
	assert_int_equal(r, 5);
	assert_int_equal(call_fn(rt, 2, &p, &r), PP_OK); /* not named: freed, the slot cleared */
	assert_int_equal(r, 0);
	assert_int_equal(call_fn(rt, 3, &p, &r), PP_OK);
	assert_int_equal(r, 11);
	assert_int_equal(call_fn(rt, 4, &p, &r), PP_OK);
	assert_int_equal(r, 0);
	/* a result in memory the caller holds is neither adopted again nor freed:
	 * the caller's block stays its own, freed once */
	assert_int_equal(call_fn(rt, 5, &p, &r), PP_ERR_INVALID_POINTER);
	assert_contains(pp_last_error(rt), "the callee's result at out offset 0 is memory this "
	                                   "bundle holds");
	/* a raw callee's arena bytes go with the call */
	pthread_mutex_lock(&ca.lock);
	size_t before = ca.live;
	pthread_mutex_unlock(&ca.lock);
	assert_int_equal(call_fn(rt, 6, &p, &r), PP_OK);
	pthread_mutex_lock(&ca.lock);
	size_t grew = ca.live - before;
	pthread_mutex_unlock(&ca.lock);
	if (grew >= 65536)
		fail_msg("20 calls left %zu bytes of the host's", grew);
	/* the results of failed calls go with them, their slots cleared */
	pthread_mutex_lock(&ca.lock);
	before = ca.live;
	pthread_mutex_unlock(&ca.lock);
	assert_int_equal(call_fn(rt, 7, &p, &r), PP_OK);
	pthread_mutex_lock(&ca.lock);
	grew = ca.live - before;
	pthread_mutex_unlock(&ca.lock);
	if (grew >= 100) /* 20 results of 5 bytes */
		fail_msg("20 failed calls left %zu bytes of the host's", grew);
	/* past its functions: a status the guest gets, as unguarded */
	assert_int_equal(call_fn(rt, 8, &p, &r), PP_ERR_FUNCTION_NOT_AVAILABLE);
	/* a typed call that failed before writing a result leaves the host's
	 * out alone */
	const pp_host_api *host = pp_runtime_host_api(rt);
	static const uint8_t keep[] = {'k', 'e', 'e', 'p'};
	uint8_t *mine = host->alloc(host, sizeof keep, 1);
	memcpy(mine, keep, sizeof keep);
	pp_string_view kept = {mine, 4};
	pp_guest_contract_handle th = pp_find(rt, pp_guest_contract_id("test.text", 1), 0);
	assert_int_equal(
	        pp_call(rt, th, (pp_guest_contract_instance){NULL, 0}, 2, NULL, &kept, NULL),
	        PP_ERR_INVALID_POINTER);
	assert_ptr_equal(kept.ptr, mine);
	assert_memory_equal(mine, keep, sizeof keep);
	host->free(host, mine, 4, 1);
	/* a typed call whose guard found a violation leaves no bytes in out */
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.text", 1), 0);
	pp_string_view out = {NULL, 0};
	assert_int_equal(pp_call(rt, h, (pp_guest_contract_instance){NULL, 0}, 1, NULL, &out, NULL),
	                 PP_ERR_INVALID_POINTER);
	assert_null(out.ptr);
	assert_int_equal(out.len, 0);
	pp_runtime_free(rt);
	assert_int_equal(ca.frees, ca.allocs);
	assert_int_equal(ca.live, 0);
}

/* A raw bundle (the reference's way) of test.guard: add, and a function
 * writing 4 bytes past an out of 4. */
static const char RAW_GUARD[] = JS_ONE("test.guard", ADD_RAW ", function (i, a, o, ar, b) {"
                                                             " b.writeI32(o + 4, 1); return 0; }");

/* Declaring no sizes, it takes those the host declared (args 8, out 4) and
 * runs guarded against them. */
static void raw_bundle_is_held_to_the_hosts_sizes(pp_runtime *rt)
{
	js_load_ok(rt, "raw", RAW_GUARD);
	pair p = {40, 2};
	int32_t r = 0;
	assert_int_equal(call_fn(rt, 0, &p, &r), PP_OK);
	assert_int_equal(r, 42);
	assert_int_equal(call_fn(rt, 1, &p, &r), PP_ERR_INVALID_POINTER);
	assert_contains(pp_last_error(rt), "bridge.writeI32");
}

/* Sizes a bundle declares about itself are bounded by what the host
 * declares for the contract, and a raw bundle takes the host's sizes. */
static void host_declared_layouts_bound_what_a_bundle_declares(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	uint64_t id = pp_guest_contract_id("test.guard", 1);
	static const pp_fn_layout host[] = {{8, 4, PP_LAYOUT_NO_ARENA, 0, NULL},
	                                    {8, 4, PP_LAYOUT_NO_ARENA, 0, NULL}};
	assert_int_equal(pp_contract_declare_layouts(rt, id, host, 2), PP_OK);
	/* a bundle claiming a bigger out than the host passes is refused */
	static const char liar[] = GUARD_PRELUDE
	        "function polyplug_init() { return ok([regl('test.guard', [" ADD_RAW ","
	        " function (i, a, o, ar, b) { b.writeI32(o + 64, 1); return 0; }],"
	        " [{ args: 8, out: 4 }, { args: 8, out: 4096 }])]); }";
	assert_int_equal(js_load_src(rt, "liar", liar, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "function 1 declares args of 8 and out of 4096 bytes; "
	                                   "the host's callers pass 8 and 4");
	/* so is a typed result larger than the host's out */
	static const char typed[] = GUARD_PRELUDE
	        "function polyplug_init() { var r = reg('test.guard', [function () { return 1; },"
	        " function () { return 2; }]);\n"
	        " r.interface.signatures = [{ params: ['i32', 'i32'], result: 'i32' },"
	        " { params: [], result: { struct: [['a', 'u64'], ['b', 'u64']] } }];"
	        " return ok([r]); }";
	assert_int_equal(js_load_src(rt, "typed", typed, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "function 1 declares args of 0 and out of 16 bytes");
	/* a raw bundle (the reference's way) declares nothing: it takes the
	 * host's sizes and runs guarded */
	raw_bundle_is_held_to_the_hosts_sizes(rt);
	assert_int_equal(pp_contract_declare_layouts(rt, id, NULL, 3), PP_ERR_INVALID_ARGUMENT);
	pp_runtime_free(rt);
}

/* PP_JS_MEMORY_DECLARED: the host's sizes alone. A bundle providing a
 * function the host declared nothing for is refused, whatever it declares
 * about itself; a manifest cannot ask for less; a raw bundle runs guarded
 * against the host's sizes. */
static void a_host_requiring_its_own_layouts_refuses_what_it_did_not_declare(void **state)
{
	(void)state;
	pp_runtime_config cfg = quiet_config();
	cfg.js.memory_mode = PP_JS_MEMORY_DECLARED;
	pp_runtime *rt = NULL;
	assert_int_equal(pp_runtime_new(&cfg, &rt), PP_OK);
	uint64_t id = pp_guest_contract_id("test.guard", 1);
	/* honest about its sizes, but the host declared none */
	static const char honest[] = GUARD_PRELUDE
	        "function polyplug_init() { return ok([regl('test.guard', [" ADD_RAW ","
	        " function () { return 0; }], [{ args: 8, out: 4 }, { args: 8, out: 4 }])]); }";
	assert_int_equal(js_load_src(rt, "honest", honest, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "bundle 'honest'");
	assert_contains(pp_last_error(rt), "the host requires its own layouts "
	                                   "(PP_JS_MEMORY_DECLARED), but declared none for "
	                                   "function 0 of contract 'test.guard@1'");
	/* declared for one function of two */
	static const pp_fn_layout host[] = {{8, 4, PP_LAYOUT_NO_ARENA, 0, NULL},
	                                    {8, 4, PP_LAYOUT_NO_ARENA, 0, NULL}};
	assert_int_equal(pp_contract_declare_layouts(rt, id, host, 1), PP_OK);
	assert_int_equal(js_load_src(rt, "honest", honest, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "declared none for function 1 of contract");
	/* a manifest asking for guarded does not lower the requirement, and
	 * compat is refused */
	char dir[256];
	manifests_ask(dir, sizeof dir, honest, rt, "declared none for function 1", rt);
	remove_tree(dir);
	/* every function declared: a raw bundle (no sizes of its own) loads and
	 * is held to the host's */
	assert_int_equal(pp_contract_declare_layouts(rt, id, host, 2), PP_OK);
	raw_bundle_is_held_to_the_hosts_sizes(rt);
	/* the mode is checked where it is given */
	pp_load_options bad = {.name = "x", .js = {.memory_mode = PP_JS_MEMORY_DECLARED + 1}};
	assert_int_equal(pp_bundle_load_source(rt, RAW_GUARD, strlen(RAW_GUARD), &bad, NULL),
	                 PP_ERR_INVALID_ARGUMENT);
	cfg.js.memory_mode = PP_JS_MEMORY_DECLARED + 1;
	pp_runtime *none = NULL;
	assert_int_equal(pp_runtime_new(&cfg, &none), PP_ERR_INVALID_ARGUMENT);
	pp_runtime_free(rt);
	/* one bundle's load options can ask for it on a runtime that does not */
	rt = rt_new();
	pp_load_options strict = {.name = "strict", .js = {.memory_mode = PP_JS_MEMORY_DECLARED}};
	assert_int_equal(pp_bundle_load_source(rt, honest, strlen(honest), &strict, NULL),
	                 PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "declared none for function 0");
	js_load_ok(rt, "lenient", honest);
	pp_runtime_free(rt);
}

/* Under PP_JS_MEMORY_DECLARED the init is guarded as well, not only the
 * calls (README: "Its polyplug_init is guarded only then"): an init
 * reading the host table it is handed fails the load, and the same bundle
 * without that read loads. */
static void an_init_is_guarded_where_the_host_requires_its_own_layouts(void **state)
{
	(void)state;
	pp_runtime_config cfg = quiet_config();
	cfg.js.memory_mode = PP_JS_MEMORY_DECLARED;
	pp_runtime *rt = NULL;
	assert_int_equal(pp_runtime_new(&cfg, &rt), PP_OK);
	static const pp_fn_layout host[] = {{8, 4, PP_LAYOUT_NO_ARENA, 0, NULL},
	                                    {8, 4, PP_LAYOUT_NO_ARENA, 0, NULL}};
	assert_int_equal(
	        pp_contract_declare_layouts(rt, pp_guest_contract_id("test.guard", 1), host, 2),
	        PP_OK);
	static const char peeks[] = JS_PRELUDE
	        "function polyplug_init(hl, hh, cl, ch, b) { b.readI32(hl + hh * 4294967296);"
	        " return ok([reg('test.guard', [" ADD_RAW ", " ADD_RAW "])]); }";
	assert_int_not_equal(js_load_src(rt, "peeks", peeks, NULL), PP_OK);
	assert_contains(pp_last_error(rt), "bridge.readI32 at address 0x");
	assert_contains(pp_last_error(rt), "outside the memory");
	raw_bundle_is_held_to_the_hosts_sizes(rt);
	pp_runtime_free(rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(every_abuse_fails_its_call_and_the_bundle_keeps_working),
	        cmocka_unit_test(bridge_allocations_count_against_the_limit_and_go_with_the_bundle),
	        cmocka_unit_test(arena_bytes_nobody_can_free_go_when_the_call_ends),
	        cmocka_unit_test(memory_a_bundle_is_given_holds_zeros),
	        cmocka_unit_test(modes_follow_the_functions_the_host_and_the_manifest),
	        cmocka_unit_test(native_callees_declaring_layouts_get_blocks_that_large),
	        cmocka_unit_test(outgoing_calls_cannot_forge_or_hand_out_memory),
	        cmocka_unit_test(jobs_left_after_a_call_settled_are_charged_to_that_call),
	        cmocka_unit_test(results_a_guarded_caller_does_not_take_are_freed),
	        cmocka_unit_test(host_declared_layouts_bound_what_a_bundle_declares),
	        cmocka_unit_test(a_host_requiring_its_own_layouts_refuses_what_it_did_not_declare),
	        cmocka_unit_test(an_init_is_guarded_where_the_host_requires_its_own_layouts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
