/*
 * js_call_gen.h — turns fuzz input bytes into a guarded JS bundle whose
 * contract functions do hostile things when the host calls them, calls each
 * through pp_call (default instance and a created one) and checks after
 * every call what the runtime promises its caller. Shared by
 * fuzz/fuzz_js_call.c and the test that replays its corpus.
 *
 * Each function is typed (generated params and result, returning values of
 * the wrong type or range, getters that throw or spin, Proxies, Promises
 * and thenables) or raw with a declared layout (bridge reads and writes at
 * generated addresses and sizes, arena and alloc blocks of hostile sizes,
 * generated statuses). Either kind may call back into its own contract,
 * throw values that are not Errors and queue microtasks that keep queueing.
 *
 * The runtime's host allocator is a tracking one (js_call_config), so a
 * block freed with another size, freed twice or never freed is caught, and
 * a typed StringView/Buffer result is known to be the caller's.
 */
#ifndef PP_JS_CALL_GEN_H
#define PP_JS_CALL_GEN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "js_init_gen.h" /* js_gen, gen_byte, gen_put */

/* ---- The host allocator, tracking every block it hands out -------------- */

#define JC_SLOTS (1u << 14)

typedef struct jc_heap {
	pthread_mutex_t lock;
	struct {
		void *p;
		size_t size, align;
	} slot[JC_SLOTS];
	size_t live;
	const char *broken; /* the first misuse seen, or NULL */
	char why[160];
} jc_heap;

static jc_heap jc_host_heap = {.lock = PTHREAD_MUTEX_INITIALIZER};

static inline size_t jc_slot_of(const void *p)
{
	return (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull >> 50) & (JC_SLOTS - 1);
}

/* The slot holding p, or the empty one where it would go. Lock held. */
static inline size_t jc_find(const jc_heap *h, const void *p)
{
	size_t i = jc_slot_of(p);
	while (h->slot[i].p && h->slot[i].p != p)
		i = (i + 1) & (JC_SLOTS - 1);
	return i;
}

/* Records the first misuse (a block freed wrongly). Lock held. */
static inline void jc_note(jc_heap *h, const void *p, size_t size, size_t align, bool known)
{
	if (h->broken)
		return;
	if (known)
		snprintf(h->why, sizeof h->why,
		         "block %p was freed with size %zu and align %zu, not as allocated", p,
		         size, align);
	else
		snprintf(h->why, sizeof h->why,
		         "the host allocator was asked to free %p (%zu bytes, align %zu), which it "
		         "did not hand out or has freed",
		         p, size, align);
	h->broken = h->why;
}

static void *jc_alloc(void *ud, size_t size, size_t align)
{
	jc_heap *h = ud;
	if (size == 0 || size > (64u << 20))
		return NULL;
	void *p = aligned_alloc(align < 16 ? 16 : align, (size + 15) & ~(size_t)15);
	if (!p)
		return NULL;
	pthread_mutex_lock(&h->lock);
	if (h->live >= JC_SLOTS / 2) { /* the table's own budget: as if out of memory */
		pthread_mutex_unlock(&h->lock);
		free(p);
		return NULL;
	}
	size_t i = jc_find(h, p);
	h->slot[i].p = p;
	h->slot[i].size = size;
	h->slot[i].align = align;
	h->live++;
	pthread_mutex_unlock(&h->lock);
	return p;
}

static void jc_free(void *ud, void *p, size_t size, size_t align)
{
	jc_heap *h = ud;
	pthread_mutex_lock(&h->lock);
	size_t i = jc_find(h, p);
	if (!h->slot[i].p) {
		jc_note(h, p, size, align, false);
		pthread_mutex_unlock(&h->lock);
		return;
	}
	if (h->slot[i].size != size || h->slot[i].align != align)
		jc_note(h, p, size, align, true);
	/* backward-shift deletion keeps every probe chain whole */
	size_t hole = i, j = i;
	for (;;) {
		j = (j + 1) & (JC_SLOTS - 1);
		if (!h->slot[j].p)
			break;
		size_t home = jc_slot_of(h->slot[j].p);
		if (((j - home) & (JC_SLOTS - 1)) >= ((j - hole) & (JC_SLOTS - 1))) {
			h->slot[hole] = h->slot[j];
			hole = j;
		}
	}
	h->slot[hole].p = NULL;
	h->live--;
	pthread_mutex_unlock(&h->lock);
	free(p);
}

/* The size of the live block starting at p, or 0. */
static inline size_t jc_block(jc_heap *h, const void *p)
{
	pthread_mutex_lock(&h->lock);
	size_t i = jc_find(h, p), size = h->slot[i].p ? h->slot[i].size : 0;
	pthread_mutex_unlock(&h->lock);
	return size;
}

/* A runtime config whose host allocator is the tracking one. */
static inline void js_call_config(pp_runtime_config *cfg)
{
	cfg->alloc = jc_alloc;
	cfg->free = jc_free;
	cfg->alloc_userdata = &jc_host_heap;
}

/* ---- A host contract the guest may call: test.h@1 ------------------------------
 * 0 answers a StringView it allocates, 1 echoes the StringView it was given
 * (memory its caller holds), 2 allocates its answer and then fails, 3 adds
 * two i32s: each with its layout, so a guarded caller may call it. */

static const pp_host_api *jc_host;

static void jc_hello(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)state;
	(void)args;
	(void)err;
	uint8_t *p = jc_host->alloc(jc_host, 5, 1);
	if (p)
		memcpy(p, "hello", 5);
	pp_string_view v = {p, p ? 5 : 0};
	memcpy(out, &v, sizeof v);
}

static void jc_echo(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)state;
	(void)err;
	memcpy(out, args, sizeof(pp_string_view));
}

static void jc_hello_fail(void *state, const void *args, void *out, pp_abi_error *err)
{
	jc_hello(state, args, out, err);
	err->code = PP_ERR_GENERIC;
}

static void jc_add(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)state;
	(void)err;
	int32_t ab[2];
	memcpy(ab, args, sizeof ab);
	uint32_t sum = (uint32_t)ab[0] + (uint32_t)ab[1];
	memcpy(out, &sum, sizeof sum);
}

static pp_host_contract_instance jc_host_self(const pp_host_contract_interface *self,
                                              const void *args)
{
	(void)args;
	return (pp_host_contract_instance){(void *)self};
}

static void jc_host_drop(const pp_host_contract_interface *self, pp_host_contract_instance inst)
{
	(void)self;
	(void)inst;
}

/* Registers test.h@1 with rt (once per runtime). */
static inline void js_call_host_register(pp_runtime *rt)
{
	static const void *const fns[] = {(const void *)jc_hello, (const void *)jc_echo,
	                                  (const void *)jc_hello_fail, (const void *)jc_add};
	static const uint32_t result[] = {PP_LAYOUT_OUT_VIEW | 0};
	static const uint32_t echo[] = {0, PP_LAYOUT_OUT_VIEW | 0};
	static const pp_fn_layout layouts[] = {{0, 16, PP_LAYOUT_NO_ARENA, 1, result},
	                                       {16, 16, PP_LAYOUT_NO_ARENA, 2, echo},
	                                       {0, 16, PP_LAYOUT_NO_ARENA, 1, result},
	                                       {8, 4, PP_LAYOUT_NO_ARENA, 0, NULL}};
	static pp_host_contract_interface iface = {
	        .size = sizeof iface,
	        .flags = PP_HOST_CONTRACT_SINGLETON,
	        .contract_version = {1, 0, 0},
	        .dispatch_type = PP_DISPATCH_NATIVE,
	        .create_instance = jc_host_self,
	        .destroy_instance = jc_host_drop,
	        .dispatch.native = {4, fns},
	        .layouts = layouts,
	};
	iface.contract_id = pp_host_contract_id("test.h", 1);
	jc_host = pp_runtime_host_api(rt);
	if (pp_host_contract_register(rt, &iface) != PP_OK)
		abort(); /* the harness's own setup */
}

/* ---- The bundle ------------------------------------------------------------ */

/* Types as the loader lays them out: S1 and S2 are the prelude's structs. */
enum {
	JC_BOOL,
	JC_I8,
	JC_U8,
	JC_I16,
	JC_U16,
	JC_I32,
	JC_U32,
	JC_I64,
	JC_U64,
	JC_F32,
	JC_F64,
	JC_STRING,
	JC_BUFFER,
	JC_S1,
	JC_S2,
	JC_ARENA,
	JC_VOID
};

static const struct {
	const char *js;
	uint8_t size, align;
} jc_types[] = {
        [JC_BOOL] = {"'bool'", 1, 1},      [JC_I8] = {"'i8'", 1, 1},
        [JC_U8] = {"'u8'", 1, 1},          [JC_I16] = {"'i16'", 2, 2},
        [JC_U16] = {"'u16'", 2, 2},        [JC_I32] = {"'i32'", 4, 4},
        [JC_U32] = {"'u32'", 4, 4},        [JC_I64] = {"'i64'", 8, 8},
        [JC_U64] = {"'u64'", 8, 8},        [JC_F32] = {"'f32'", 4, 4},
        [JC_F64] = {"'f64'", 8, 8},        [JC_STRING] = {"'StringView'", 16, 8},
        [JC_BUFFER] = {"'Buffer'", 16, 8}, [JC_S1] = {"S1", 16, 8},
        [JC_S2] = {"S2", 32, 8},           [JC_ARENA] = {"'Arena'", 8, 8},
        [JC_VOID] = {"'void'", 0, 1},
};

/* The C side of S1 and S2, to check a struct result's bools. */
typedef struct jc_s1 {
	int32_t a;
	uint8_t b;
	double c;
} jc_s1;
typedef struct jc_s2 {
	uint8_t x;
	jc_s1 p;
	uint64_t q;
} jc_s2;

#define JC_MAX_FNS 4
#define JC_MAX_PARAMS 5

typedef struct jc_fn {
	bool typed;
	uint8_t nparams, params[JC_MAX_PARAMS], result;
	uint16_t offsets[JC_MAX_PARAMS];
	uint32_t args_size, out_size;
} jc_fn;

typedef struct jc_bundle {
	jc_fn fns[JC_MAX_FNS];
	uint32_t nfn, concurrency;
} jc_bundle;

#define JC_PICK(g, list) ((list)[gen_byte(g) % (sizeof(list) / sizeof *(list))])

static const char *const jc_thrown[] = {
        "Symbol('thrown')",
        "{ toString: function () { throw new Error('toString'); } }",
        "{ toString: function () { spin(); } }",
        "{ toString: function () { q(5); return 'queued'; } }",
        "'t'.repeat(1 << 20)",
        "'\\uD800 lone'",
        "null",
        "undefined",
        "42",
        "{ code: 20 }",
        "{ code: 2 ** 32 }",
        "{ code: -1 }",
        "{ code: NaN }",
        "{ code: 404, message: 'm' }",
        "Object.assign(new Error('coded'), { code: 20 })",
        "Object.assign(new Error('coded'), { code: 4294967295 })",
        "{ get code() { throw new Error('code getter'); } }",
        "{ get code() { spin(); } }",
        "new Proxy({}, { get: function () { throw new Error('proxy'); } })",
        "Object.defineProperty(new Error('s'), 'stack', { get: function () { throw 2; } })",
        "Object.defineProperty(new Error('s'), 'stack', { value: 'x\\n'.repeat(1 << 16) })",
        "new RangeError('r')",
        "(function () { var r = Proxy.revocable({}, {}); r.revoke(); return r.proxy; })()",
};

static const char *const jc_offsets[] = {
        "0",     "1",       "4",   "-1",   "-4",  "8",        "A",     "O",     "O - 4",
        "O - 1", "2 ** 53", "NaN", "4096", "0.5", "Infinity", "A - 1", "O - 8", "-(2 ** 53)"};
static const char *const jc_bases[] = {"a",
                                       "o",
                                       "o",
                                       "ar",
                                       "G.ab",
                                       "G.blk",
                                       "0",
                                       "16",
                                       "(G.last ? G.last[1] : 0)",
                                       "(G.last ? G.last[0] : 0)"};
static const char *const jc_sizes[] = {
        "0",       "1", "4",     "8", "16",  "-1",  "NaN",         "2 ** 32", "2 ** 53", "2 ** 31",
        "1 << 20", "O", "O + 1", "A", "0.5", "'8'", "2 ** 32 - 1", "A + 1",   "24"};
static const char *const jc_strings[] = {"''",
                                         "'h\\u00e9llo'",
                                         "'\\uD800'",
                                         "'a\\uDC00b'",
                                         "'x'.repeat(1 << 20)",
                                         "'\\u{10FFFF}'",
                                         "'7'",
                                         "'\\0'",
                                         "'\\uDBFF\\uDFFF\\uD800'"};

/* A pointer as a Number: P([lo, hi]). */
static inline void jc_addr(js_gen *g)
{
	gen_put(g, "(");
	gen_put(g, JC_PICK(g, jc_bases));
	gen_put(g, " + ");
	gen_put(g, JC_PICK(g, jc_offsets));
	gen_put(g, ")");
}

/* A bridge call from a template: each '@' an address, each '$' a size. */
static inline void jc_bridge_call(js_gen *g, const char *t)
{
	for (; *t; t++) {
		if (*t == '@')
			jc_addr(g);
		else if (*t == '$')
			gen_put(g, JC_PICK(g, jc_sizes));
		else
			gen_put(g, (char[]){*t, 0});
	}
}

static inline void jc_value(js_gen *g, uint8_t kind, int depth);

/* A value the type takes (mostly; a field of a struct may be anything). */
static inline void jc_good(js_gen *g, uint8_t kind, int depth)
{
	static const char *const ints[][4] = {
	        [JC_I8] = {"-128", "127", "0", "-1"},
	        [JC_U8] = {"0", "255", "1", "128"},
	        [JC_I16] = {"-32768", "32767", "7", "-7"},
	        [JC_U16] = {"65535", "0", "256", "3"},
	        [JC_I32] = {"-2147483648", "2147483647", "-(2 ** 31)", "12"},
	        [JC_U32] = {"4294967295", "2 ** 31", "0", "2 ** 32 - 1"},
	        [JC_I64] = {"-(2n ** 63n)", "2n ** 63n - 1n", "2 ** 53", "-(2 ** 63)"},
	        [JC_U64] = {"2n ** 64n - 1n", "2 ** 53", "2 ** 63", "0n"},
	};
	static const char *const floats[] = {"1.5", "NaN", "-0", "Infinity", "1e308", "-1e-320"};
	static const char *const buffers[] = {
	        "new Uint8Array([1, 2, 3])",
	        "new ArrayBuffer(0)",
	        "new DataView(new ArrayBuffer(16), 2, 3)",
	        "new Float64Array([NaN, -0])",
	        "new Uint8Array(1 << 20)",
	        "new Uint8Array(new ArrayBuffer(8), 8)",
	        "(function () { var b = new ArrayBuffer(8, { maxByteLength: 16 }); "
	        "var u = new Uint8Array(b); b.resize(2); return u; })()",
	        "(function () { var b = new ArrayBuffer(8); var u = new Uint8Array(b); "
	        "b.transfer(); return u; })()",
	        "(function () { var d = new DataView(new ArrayBuffer(16)); "
	        "Object.defineProperty(d, 'byteLength', { get: function () { return 2 ** 40; } }); "
	        "return d; })()",
	        "(function () { var d = new DataView(new ArrayBuffer(16), 4); "
	        "Object.defineProperty(d, 'buffer', { get: function () { return new "
	        "ArrayBuffer(1 << 20); } }); return d; })()",
	        "Object.create(DataView.prototype)",
	};
	switch (kind) {
	case JC_BOOL:
		gen_put(g, gen_byte(g) & 1 ? "true" : "false");
		break;
	case JC_F32:
	case JC_F64:
		gen_put(g, JC_PICK(g, floats));
		break;
	case JC_STRING:
		gen_put(g, JC_PICK(g, jc_strings));
		break;
	case JC_BUFFER:
		gen_put(g, JC_PICK(g, buffers));
		break;
	case JC_S1:
		gen_put(g, "{ a: ");
		jc_value(g, JC_I32, depth + 1);
		gen_put(g, ", b: ");
		jc_value(g, JC_BOOL, depth + 1);
		gen_put(g, ", c: ");
		jc_value(g, JC_F64, depth + 1);
		gen_put(g, " }");
		break;
	case JC_S2:
		gen_put(g, "{ x: ");
		jc_value(g, JC_U8, depth + 1);
		gen_put(g, ", p: ");
		jc_value(g, JC_S1, depth + 1);
		gen_put(g, ", q: ");
		jc_value(g, JC_U64, depth + 1);
		gen_put(g, " }");
		break;
	case JC_VOID:
		gen_put(g, "undefined");
		break;
	default:
		gen_put(g, ints[kind][gen_byte(g) % 4]);
		break;
	}
}

/* A value returned for (or inside) a result of kind: mostly one it takes,
 * else one a hostile guest would pick. */
static inline void jc_value(js_gen *g, uint8_t kind, int depth)
{
	static const char *const numbers[] = {"NaN",     "-0",
	                                      "2 ** 53", "2 ** 64",
	                                      "-1",      "0.5",
	                                      "2 ** 31", "2 ** 32",
	                                      "256",     "-129",
	                                      "1e308",   "Infinity",
	                                      "2 ** 63", "-(2 ** 63) - 4096",
	                                      "65536",   "2 ** 53 + 2"};
	static const char *const bigints[] = {
	        "0n", "-1n", "2n ** 63n", "2n ** 64n", "-(2n ** 63n) - 1n", "10n ** 30n", "1n"};
	static const char *const others[] = {"null", "undefined", "Symbol('s')",
	                                     "{}",   "[]",        "function () {}",
	                                     "'5'",  "[1]",       "new Date(0)"};
	unsigned c = gen_byte(g);
	if (depth > 3)
		c = 0;
	switch (c % 24) {
	case 12: /* an object whose fields a getter reads: throwing, spinning, queueing */
		gen_put(g,
		        JC_PICK(g, ((const char *const[]){
		                           "{ get a() { throw new Error('getter a'); }, b: true, "
		                           "c: 1 }",
		                           "{ a: 1, get b() { spin(); }, c: 1 }",
		                           "{ a: 1, b: false, get c() { q(3); return 2; } }",
		                           "{ a: 1, b: true, get c() { qforever(); return 2; } }",
		                           "{ x: 1, get p() { return { a: 1, b: true, c: 0 }; }, "
		                           "q: 1n }",
		                           "{ x: 1, p: { a: 1, b: 2, c: 0 }, q: 1n }",
		                           "{ x: 1, q: 1n }",
		                           "{ a: 1, c: 1 }",
		                           "Object.create({ a: 1, b: true, c: 1 })",
		                           "{ a: 1, b: true, get c() { Promise.reject(new "
		                           "Error('late')); return 3; } }",
		                   })));
		break;
	case 13: /* Proxies */
		gen_put(g, "new Proxy({}, { get: function (t, k) { ");
		gen_put(g, JC_PICK(g, ((const char *const[]){
		                              "throw new Error('proxy get');",
		                              "spin();",
		                              "return k === 'b' ? true : k === 'p' ? { a: 1, b: "
		                              "false, c: 1 } : 1;",
		                              "return k === 'then' ? undefined : 7;",
		                              "q(2); return 1;",
		                      })));
		gen_put(g, " } })");
		break;
	case 14:
		gen_put(g, "Promise.resolve(");
		jc_value(g, kind, depth + 1);
		gen_put(g, ")");
		break;
	case 15:
		gen_put(g, "Promise.reject(");
		gen_put(g, JC_PICK(g, jc_thrown));
		gen_put(g, ")");
		break;
	case 16:
		gen_put(g, gen_byte(g) & 1 ? "new Promise(function () {})"
		                           : "new Promise(function (r) { queueMicrotask(function "
		                             "() { r(1); }); })");
		break;
	case 17: /* thenables */
		gen_put(g,
		        JC_PICK(g, ((const char *const[]){
		                           "{ then: function (r) { r(G.tv); }, x: (G.tv = ",
		                           "{ then: function (r, j) { j(G.tv); }, x: (G.tv = ",
		                           "{ then: function () { spin(); }, x: (",
		                           "{ then: function () { throw new Error('then'); }, x: (",
		                           "{ get then() { throw new Error('then getter'); }, x: (",
		                   })));
		jc_value(g, kind, depth + 1);
		gen_put(g, ") }");
		break;
	case 18:
		gen_put(g, "(async function () { await null; q(2); return ");
		jc_value(g, kind, depth + 1);
		gen_put(g, "; })()");
		break;
	case 19:
		gen_put(g, JC_PICK(g, numbers));
		break;
	case 20:
		gen_put(g, JC_PICK(g, bigints));
		break;
	case 21:
		gen_put(g, JC_PICK(g, jc_strings));
		break;
	case 22:
		gen_put(g, JC_PICK(g, others));
		break;
	case 23: /* the other kind's good value */
		jc_good(g, (uint8_t)(gen_byte(g) % JC_ARENA), depth + 1);
		break;
	default:
		jc_good(g, kind, depth);
		break;
	}
}

/* One statement of a function's body (a, o, ar, A, O in scope). */
static inline void jc_action(js_gen *g, const jc_bundle *b, int depth)
{
	char buf[96];
	unsigned c = gen_byte(g);
	switch (c % 23) {
	case 1:
		gen_put(g, JC_PICK(g, ((const char *const[]){"q(1);", "q(100);", "q(10000);"})));
		break;
	case 2:
		gen_put(g, c & 0x80 ? "qforever();" : "q(3);");
		break;
	case 3:
		gen_put(g, "throw ");
		gen_put(g, JC_PICK(g, jc_thrown));
		gen_put(g, ";");
		break;
	case 4:
		gen_put(g, "Promise.reject(");
		gen_put(g, JC_PICK(g, jc_thrown));
		gen_put(g, ");");
		break;
	case 5:
		gen_put(g, "console.log(");
		jc_value(g, (uint8_t)(gen_byte(g) % JC_ARENA), 2);
		gen_put(g, ");");
		break;
	case 6: /* back into its own contract */
		snprintf(buf, sizeof buf, "G.r = G.bridge.dispatchPeer(ID[0], ID[1], 1, %u, ",
		         gen_byte(g) % (b->nfn + 1));
		gen_put(g, buf);
		jc_addr(g);
		gen_put(g, ", ");
		jc_addr(g);
		gen_put(g, JC_PICK(g, ((const char *const[]){");", ", [0]);", ", [0, 0]);",
		                                             ", [8]);", ", [NaN]);"})));
		break;
	case 21: /* a host contract */
		snprintf(buf, sizeof buf,
		         "G.r = G.bridge.callHostContract(HID[0], HID[1], 0x10000, %u, ",
		         gen_byte(g) % 5);
		gen_put(g, buf);
		jc_addr(g);
		gen_put(g, ", ");
		jc_addr(g);
		gen_put(g,
		        JC_PICK(g, ((const char *const[]){");", ", [0]);", ", [4]);", ", []);"})));
		break;
	case 7:
		gen_put(g, "G.blk = P(G.bridge.alloc(");
		gen_put(g, JC_PICK(g, jc_sizes));
		gen_put(g, "));");
		break;
	case 8:
		gen_put(g, "G.bridge.free(G.blk % 4294967296, Math.floor(G.blk / 4294967296), ");
		gen_put(g, JC_PICK(g, jc_sizes));
		gen_put(g, ", 1);");
		break;
	case 9:
		gen_put(g, "G.ab = P(G.bridge.arenaAlloc(");
		gen_put(g, JC_PICK(g, jc_sizes));
		gen_put(g, ", ");
		gen_put(g, JC_PICK(g, ((const char *const[]){"ar", "0", "ar + 8", "16", "o"})));
		gen_put(g, "));");
		break;
	case 10:
	case 11: { /* a write */
		static const char *const writes[] = {
		        "G.bridge.writeI32(@, -1);",
		        "G.bridge.writeU32(@, 2 ** 32 + 1);",
		        "G.bridge.writeF64(@, NaN);",
		        "G.bridge.writeF32(@, 1e300);",
		        "G.bridge.writeByte(@, 300);",
		        "W64(@, G.ab);",
		        "W64(@, G.blk);",
		        "G.bridge.fast.writeString(@, $, 'h\\u00e9\\uD800llo'.repeat(3));",
		        "G.bridge.fast.writeBytes(@, $, new Uint8Array(40).fill(7));",
		        "G.bridge.fast.writeBytes(@, $, new DataView(new ArrayBuffer(8)));",
		};
		jc_bridge_call(g, JC_PICK(g, writes));
		break;
	}
	case 12: { /* a read */
		static const char *const reads[] = {
		        "G.v = G.bridge.readI32(@);",
		        "G.v = G.bridge.readU32(@);",
		        "G.v = G.bridge.readF64(@);",
		        "G.v = G.bridge.readByte(@);",
		        "G.v = G.bridge.readF32(@);",
		        "G.v = G.bridge.readMemory(@, $);",
		        "G.v = G.bridge.fast.readString(@, $);",
		        "G.v = G.bridge.fast.readBytes(@, $);",
		};
		jc_bridge_call(g, JC_PICK(g, reads));
		break;
	}
	case 13:
		gen_put(g, "G.last = [a, o, ar];");
		break;
	case 14:
		gen_put(g, c & 0x80 ? "spin();" : "G.n++;");
		break;
	case 15:
		if (depth < 2) {
			gen_put(g, "try { ");
			jc_action(g, b, depth + 1);
			jc_action(g, b, depth + 1);
			gen_put(g, " } catch (e) { G.e = e; }");
		}
		break;
	case 16:
		gen_put(g, "G.bridge.log(");
		gen_put(g, JC_PICK(g, ((const char *const[]){"3", "NaN", "99", "-1"})));
		gen_put(g, ", 'scope', ");
		gen_put(g, JC_PICK(g, jc_strings));
		gen_put(g, ");");
		break;
	case 17:
		gen_put(g, "G.h = G.bridge.findByContract(ID[0], ID[1], 1); "
		           "G.i = G.h && G.bridge.resolveGuestContract(G.h);");
		break;
	case 18:
		gen_put(g, c & 0x80 ? "G.big = 'y'.repeat(1 << 22);" : "G.big = null;");
		break;
	case 19:
		gen_put(g, "G.e = new Function('return ' + ");
		gen_put(g, JC_PICK(g, jc_strings));
		gen_put(g, ".length)();");
		break;
	case 20: /* a getter on the impl's own object that a later call reads */
		gen_put(g, "G.st = ");
		jc_value(g, (uint8_t)(gen_byte(g) % JC_ARENA), 2);
		gen_put(g, ";");
		break;
	default:
		break;
	}
}

/* The function's body: statements, then what it returns. */
static inline void jc_body(js_gen *g, const jc_bundle *b, const jc_fn *f)
{
	char buf[96];
	snprintf(buf, sizeof buf, "var A = %u, O = %u; ", f->args_size, f->out_size);
	gen_put(g, buf);
	if (f->typed)
		gen_put(g, "var a = 0, o = 0, ar = 0; ");
	for (unsigned n = gen_byte(g) % 5; n > 0; n--) {
		jc_action(g, b, 0);
		gen_put(g, " ");
	}
	gen_put(g, "return ");
	if (f->typed) {
		if (f->nparams && gen_byte(g) % 8 == 0) /* the first param, echoed */
			gen_put(g, "p0");
		else
			jc_value(g, f->result, 0);
	} else {
		static const char *const statuses[] = {"0",
		                                       "0",
		                                       "0",
		                                       "0",
		                                       "1",
		                                       "6",
		                                       "9",
		                                       "20",
		                                       "256",
		                                       "2 ** 32",
		                                       "-1",
		                                       "NaN",
		                                       "0.5",
		                                       "'0'",
		                                       "undefined",
		                                       "Promise.resolve(0)",
		                                       "Promise.resolve(20)",
		                                       "new Promise(function () {})",
		                                       "{ then: function (r) { r(0); } }",
		                                       "G.r",
		                                       "G.st",
		                                       "2 ** 32 + 5",
		                                       "{ valueOf: function () { return 0; } }"};
		unsigned s = gen_byte(g);
		if (s % 8 == 7) {
			gen_put(g, "Promise.reject(");
			gen_put(g, JC_PICK(g, jc_thrown));
			gen_put(g, ")");
		} else {
			gen_put(g, statuses[s % (sizeof statuses / sizeof *statuses)]);
		}
	}
	gen_put(g, ";");
}

/* Function i's C side: a typed signature or a raw layout. */
static inline void jc_shape(js_gen *g, jc_fn *f)
{
	static const uint32_t raw_sizes[] = {0, 4, 8, 16, 24, 64};
	f->typed = gen_byte(g) % 3 != 0;
	if (!f->typed) {
		f->args_size = raw_sizes[gen_byte(g) % 6];
		f->out_size = raw_sizes[gen_byte(g) % 6];
		return;
	}
	f->nparams = (uint8_t)(gen_byte(g) % (JC_MAX_PARAMS + 1));
	size_t off = 0, align = 1;
	bool arena = false;
	for (uint8_t i = 0; i < f->nparams; i++) {
		uint8_t k = (uint8_t)(gen_byte(g) % (JC_ARENA + 1));
		if (k == JC_ARENA && arena)
			k = JC_I32;
		arena = arena || k == JC_ARENA;
		f->params[i] = k;
		off = (off + jc_types[k].align - 1) & ~(size_t)(jc_types[k].align - 1);
		f->offsets[i] = (uint16_t)off;
		off += jc_types[k].size;
		align = jc_types[k].align > align ? jc_types[k].align : align;
	}
	f->args_size = (uint32_t)((off + align - 1) & ~(align - 1));
	uint8_t r = (uint8_t)(gen_byte(g) % (JC_VOID + 1));
	f->result = r == JC_ARENA ? JC_I32 : r;
	f->out_size = jc_types[f->result].size;
}

/* The whole bundle; b receives each function's C side. Returns the
 * source's length. */
static inline size_t js_call_bundle(js_gen *g, jc_bundle *b)
{
	g->out[0] = '\0';
	memset(b, 0, sizeof *b);
	b->nfn = 1 + gen_byte(g) % JC_MAX_FNS;
	b->concurrency = gen_byte(g) % 4 == 0 ? 2 : 1;
	gen_put(g,
	        "function cid(s) { var h = 0xcbf29ce484222325n;\n"
	        "  for (var i = 0; i < s.length; i++) {\n"
	        "    h ^= BigInt(s.charCodeAt(i)); h = (h * 0x100000001b3n) & "
	        "0xffffffffffffffffn; }\n"
	        "  return [Number(h & 0xffffffffn), Number(h >> 32n)]; }\n"
	        "var ID = cid('guest_contract:test.c@1');\n"
	        "var HID = cid('host_contract:test.h@1');\n"
	        "var G = { bridge: null, last: null, ab: 0, blk: 0, n: 0, r: 0, spun: 0, gets: 0 "
	        "};\n"
	        "function P(x) { return x ? x[0] + x[1] * 4294967296 : 0; }\n"
	        "function W64(at, v) { G.bridge.writeU32(at, v % 4294967296);\n"
	        "  G.bridge.writeU32(at + 4, Math.floor(v / 4294967296)); }\n"
	        /* one endless loop per VM and input, to keep an input's time short */
	        "function spin() { if (!G.spun++) for (;;) {} }\n"
	        "function q(n) { if (n > 0) queueMicrotask(function () { q(n - 1); }); }\n"
	        "function qforever() { if (!G.spun++) (function f() { queueMicrotask(f); })(); }\n"
	        "var S1 = { struct: [['a', 'i32'], ['b', 'bool'], ['c', 'f64']] };\n"
	        "var S2 = { struct: [['x', 'u8'], ['p', S1], ['q', 'u64']] };\n"
	        "var F = [], S = [], L = [], M = {};\n");
	for (uint32_t i = 0; i < b->nfn; i++) {
		jc_fn *f = &b->fns[i];
		jc_shape(g, f);
		char buf[128];
		bool async = gen_byte(g) % 4 == 0;
		if (!f->typed) {
			snprintf(buf, sizeof buf, "L[%u] = { args: %u, out: %u };\n", i,
			         f->args_size, f->out_size);
			gen_put(g, buf);
			snprintf(buf, sizeof buf, "F[%u] = %sfunction (impl, a, o, ar, b) { ", i,
			         async ? "async " : "");
			gen_put(g, buf);
			jc_body(g, b, f);
			gen_put(g, " };\n");
			continue;
		}
		bool method = gen_byte(g) % 4 == 0;
		snprintf(buf, sizeof buf, "S[%u] = { params: [", i);
		gen_put(g, buf);
		for (uint8_t p = 0; p < f->nparams; p++) {
			gen_put(g, p ? ", " : "");
			gen_put(g, jc_types[f->params[p]].js);
		}
		gen_put(g, "], result: ");
		gen_put(g, jc_types[f->result].js);
		if (method) {
			snprintf(buf, sizeof buf, ", method: 'm%u'", i);
			gen_put(g, buf);
		}
		gen_put(g, " };\n");
		/* a method is called with the impl as this, and without it as a param */
		if (method)
			snprintf(buf, sizeof buf, "F[%u] = M.m%u = %sfunction (", i, i,
			         async ? "async " : "");
		else
			snprintf(buf, sizeof buf, "F[%u] = %sfunction (impl", i,
			         async ? "async " : "");
		gen_put(g, buf);
		for (uint8_t p = 0; p < f->nparams; p++) {
			snprintf(buf, sizeof buf, "%sp%u", p || !method ? ", " : "", p);
			gen_put(g, buf);
		}
		gen_put(g, ") { ");
		jc_body(g, b, f);
		gen_put(g, " };\n");
	}
	char buf[256];
	snprintf(buf, sizeof buf,
	         "function polyplug_init(hl, hh, cl, ch, bridge) {\n"
	         "  G.bridge = bridge;\n"
	         "  return [[{ contractLo: ID[0], contractHi: ID[1], contractName: 'test.c@1',\n"
	         "    version: 0x00010000, fnCount: %u, interface: {\n",
	         b->nfn);
	gen_put(g, buf);
	/* the impl whose methods a create looks up: plain, or behind a Proxy,
	 * a Promise or a thenable, or with getters that fail after a few */
	static const char *const impls[] = {
	        "o",
	        "o",
	        "o",
	        "new Proxy(o, { get: function (t, k) { q(1); return t[k]; } })",
	        "Promise.resolve(o)",
	        "Object.assign({ then: function (r) { r(o); } }, M)",
	        "(function () { for (var k in M) Object.defineProperty(o, k, { get: (function (f) {"
	        " return function () { if (++G.gets > 3) throw new Error('method getter');"
	        " return f; }; })(M[k]) }); return o; })()",
	        "(async function () { await null; return o; })()",
	};
	gen_put(g, "      factory: function (br) { G.bridge = br; var o = { n: 0 };\n"
	           "        for (var k in M) o[k] = M[k]; return ");
	gen_put(g, JC_PICK(g, impls));
	gen_put(g,
	        "; },\n"
	        "      functions: F, signatures: S, layouts: L } }], { code: 0, message: '' }];\n"
	        "}\n");
	return g->used;
}

/* ---- The calls and their checks -------------------------------------------- */

#define JC_PAD 64
#define JC_REGION 256
#define JC_CANARY 0xA5

/* Whether p[0..n) is well-formed UTF-8. */
static inline bool jc_utf8(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint8_t c = p[i];
		size_t len = c < 0x80             ? 1
		             : (c & 0xE0) == 0xC0 ? 2
		             : (c & 0xF0) == 0xE0 ? 3
		             : (c & 0xF8) == 0xF0 ? 4
		                                  : 0;
		if (!len || len > n - i || (len == 2 && c < 0xC2))
			return false;
		uint32_t cp = len == 1 ? c : c & (0x7F >> len);
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3F);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
			return false;
		i += len;
	}
	return true;
}

static char jc_why[512];

#define JC_BROKEN(...) (snprintf(jc_why, sizeof jc_why, __VA_ARGS__), (const char *)jc_why)

/* What a PP_OK typed result of kind at p must hold; NULL if it does. A
 * StringView/Buffer without an arena is the caller's block: freed here. */
static inline const char *jc_result_ok(pp_runtime *rt, uint8_t kind, uint8_t *p, bool arena)
{
	if (kind == JC_BOOL && *p > 1)
		return JC_BROKEN("a bool result of %u", *p);
	if (kind == JC_S1 || kind == JC_S2) {
		jc_s1 s;
		memcpy(&s, p + (kind == JC_S2 ? offsetof(jc_s2, p) : 0), sizeof s);
		if (s.b > 1)
			return JC_BROKEN("a struct result whose bool field holds %u", s.b);
	}
	if (kind != JC_STRING && kind != JC_BUFFER)
		return NULL;
	pp_string_view v;
	memcpy(&v, p, sizeof v);
	if (!v.len)
		return v.ptr ? JC_BROKEN("an empty %s result at %p, not NULL", jc_types[kind].js,
		                         (const void *)v.ptr)
		             : NULL;
	if (!v.ptr)
		return JC_BROKEN("a %s result of %zu bytes at NULL", jc_types[kind].js, v.len);
	size_t block = jc_block(&jc_host_heap, v.ptr);
	if (arena && block)
		return JC_BROKEN("a %s result in a host block with an arena given",
		                 jc_types[kind].js);
	if (!arena && block != v.len)
		return JC_BROKEN("a %s result of %zu bytes in a host block of %zu",
		                 jc_types[kind].js, v.len, block);
	if (kind == JC_STRING && !jc_utf8(v.ptr, v.len))
		return JC_BROKEN("a StringView result that is not well-formed UTF-8");
	if (!arena) {
		const pp_host_api *h = pp_runtime_host_api(rt);
		h->free(h, (void *)v.ptr, v.len, 1);
	}
	return NULL;
}

/* The blocks a raw function's out names after it succeeded without an
 * arena are the caller's (bytes it took with arenaAlloc): freed here. */
static inline void jc_take_raw_blocks(pp_runtime *rt, const uint8_t *out, size_t len)
{
	const pp_host_api *h = pp_runtime_host_api(rt);
	for (size_t off = 0; off + sizeof(void *) <= len; off += sizeof(void *)) {
		void *p;
		memcpy(&p, out + off, sizeof p);
		size_t size = p ? jc_block(&jc_host_heap, p) : 0;
		if (size)
			h->free(h, p, size, 1);
	}
}

/* One call of function fn with generated args, and its checks. */
static inline const char *jc_call(pp_runtime *rt, js_gen *g, pp_guest_contract_handle h,
                                  pp_guest_contract_instance inst, uint32_t fn, const jc_fn *f)
{
	_Alignas(16) static uint8_t args[JC_PAD + JC_REGION + JC_PAD], args_was[sizeof args];
	_Alignas(16) static uint8_t out[JC_PAD + JC_REGION + JC_PAD];
	_Alignas(16) static uint8_t strings[JC_MAX_PARAMS][32], arena_buf[256], arena2_buf[64];
	memset(args, JC_CANARY, sizeof args);
	memset(out, JC_CANARY, sizeof out);
	memset(out + JC_PAD, 0x5A, f->out_size);
	uint8_t *a = args + JC_PAD, *o = out + JC_PAD;
	for (uint32_t i = 0; i < f->args_size; i++)
		a[i] = (uint8_t)gen_byte(g);
	unsigned how = gen_byte(g);
	pp_call_arena arena, arena2;
	pp_call_arena_init(&arena, how & 1 ? arena_buf : NULL, how & 2 ? sizeof arena_buf : 0,
	                   pp_runtime_host_api(rt));
	pp_call_arena_init(&arena2, arena2_buf, sizeof arena2_buf, pp_runtime_host_api(rt));
	bool with_arena = how & 4, args_arena = false;
	for (uint8_t i = 0; f->typed && i < f->nparams; i++) {
		uint8_t *at = a + f->offsets[i];
		if (f->params[i] == JC_STRING || f->params[i] == JC_BUFFER) {
			size_t n = gen_byte(g) % 24;
			for (size_t k = 0; k < n; k++)
				strings[i][k] = (uint8_t)gen_byte(g);
			pp_string_view v = {n ? strings[i] : NULL, n};
			memcpy(at, &v, sizeof v);
		} else if (f->params[i] == JC_ARENA) {
			pp_call_arena *p = gen_byte(g) & 1 ? &arena2 : NULL;
			args_arena = p != NULL;
			memcpy(at, &p, sizeof p);
		} else if (f->params[i] == JC_BOOL) {
			*at &= 1;
		}
	}
	memcpy(args_was, args, sizeof args);
	const void *args_p = !f->args_size && (how & 8) ? NULL : a;
	void *out_p = !f->out_size && (how & 16) ? NULL : o;
	uint32_t code = pp_call(rt, h, inst, fn, args_p, out_p, with_arena ? &arena : NULL);
	const char *broken = NULL;
	const char *err = pp_last_error(rt);
	char where[32];
	snprintf(where, sizeof where, "function %u", fn);
	if (code == PP_ERR_STALE_INSTANCE)
		broken = JC_BROKEN("function %u returned PP_ERR_STALE_INSTANCE to the host", fn);
	else if (code != PP_OK && (!err || !strstr(err, "bundle 'fzc'") || !strstr(err, where)))
		broken = JC_BROKEN("function %u failed with %u but pp_last_error is \"%.200s\"", fn,
		                   code, err ? err : "(null)");
	else if (memcmp(args, args_was, sizeof args) != 0)
		broken = JC_BROKEN("function %u: the args (or the bytes around them) changed", fn);
	for (size_t i = 0; !broken && i < sizeof out; i++)
		if ((i < JC_PAD || i >= JC_PAD + f->out_size) && out[i] != JC_CANARY)
			broken =
			        JC_BROKEN("function %u (status %u): byte %d of out, outside its %u "
			                  "bytes, changed",
			                  fn, code, (int)i - JC_PAD, f->out_size);
	if (!broken && code == PP_OK && f->typed)
		broken = jc_result_ok(rt, f->result, o, with_arena || args_arena);
	else if (!broken && code == PP_OK && !with_arena)
		jc_take_raw_blocks(rt, o, f->out_size);
	pp_call_arena_free(&arena);
	pp_call_arena_free(&arena2);
	return broken;
}

/* Loads the bundle made from the input and calls each of its functions
 * (and one past them) twice, on the default instance and on a created one,
 * then unloads it. Returns NULL, or what the runtime broke of its promises
 * to its caller. rt must have been made with js_call_config. */
static inline const char *js_call_run(pp_runtime *rt, const uint8_t *in, size_t len)
{
	static char src[1 << 16];
	js_gen g = {in, len, 0, src, sizeof src, 0, 0};
	jc_bundle b;
	size_t n = js_call_bundle(&g, &b);
	pp_load_options o = {.name = "fzc",
	                     .js = {.cpu_ms = 50,
	                            .memory_bytes = 32u << 20,
	                            .memory_mode = PP_JS_MEMORY_GUARDED,
	                            .concurrency = b.concurrency}};
	uint64_t id = 0;
	const char *broken = NULL;
	if (pp_bundle_load_source(rt, src, n, &o, &id) == PP_OK) {
		pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.c", 1), 0);
		pp_guest_contract_instance none = {NULL, 0}, inst = {NULL, 0};
		if (pp_instance_create(rt, h, NULL, &inst) != PP_OK)
			inst.data = NULL;
		static const jc_fn past = {.typed = false};
		for (int round = 0; round < 2 && !broken; round++)
			for (uint32_t fn = 0; fn <= b.nfn && !broken; fn++) {
				const jc_fn *f = fn < b.nfn ? &b.fns[fn] : &past;
				broken = jc_call(rt, &g, h, none, fn, f);
				if (!broken && inst.data)
					broken = jc_call(rt, &g, h, inst, fn, f);
			}
		if (inst.data)
			pp_instance_destroy(rt, h, inst);
		pp_bundle_unload(rt, id, 0);
	}
	pp_runtime_quiesce(rt);
	if (!broken && jc_host_heap.broken)
		broken = jc_host_heap.broken;
	if (!broken && jc_host_heap.live)
		broken = JC_BROKEN("%zu host blocks are left once the bundle is unloaded",
		                   jc_host_heap.live);
	return broken;
}

#endif
