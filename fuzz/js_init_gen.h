/*
 * js_init_gen.h — turns fuzz input bytes into a JS bundle whose
 * polyplug_init returns generated values: the shapes the loader reads
 * (registrations, interfaces, signatures, the error object) filled with the
 * values a hostile plugin would pick (NaN, -1, 2^53, 2^32-1 and 2^32+5 as
 * counts, huge strings, getters that throw or loop, proxies, BigInts).
 * Shared by fuzz/fuzz_js_init.c and the test that replays its corpus;
 * fuzz/js_call_gen.h writes its bundles with the same reader and writer
 * (js_gen, gen_byte, gen_put).
 *
 * The generated functions never touch memory through the bridge: that is
 * the raw reference bridge's trust model, not what is fuzzed here.
 */
#ifndef PP_JS_INIT_GEN_H
#define PP_JS_INIT_GEN_H

#include <polyplug/polyplug.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct js_gen {
	const uint8_t *in;
	size_t len, at;
	char *out;
	size_t cap, used;
	int depth;
} js_gen;

static inline unsigned gen_byte(js_gen *g)
{
	return g->at < g->len ? g->in[g->at++] : 0;
}

static inline void gen_put(js_gen *g, const char *s)
{
	size_t n = strlen(s);
	if (g->used + n + 1 > g->cap)
		n = g->cap - g->used - 1; /* the generator's own budget: a shorter bundle */
	memcpy(g->out + g->used, s, n);
	g->used += n;
	g->out[g->used] = '\0';
}

static const char *const gen_numbers[] = {
        "0",          "1",          "-1",          "NaN",     "Infinity",    "-Infinity",
        "0.5",        "2 ** 31",    "2 ** 32 - 1", "2 ** 32", "2 ** 32 + 5", "2 ** 53",
        "-(2 ** 53)", "1e308",      "65536",       "65537",   "4096",        "4097",
        "0x00010002", "0x7fffffff", "3",           "-0",      "2 ** 40",     "255"};
static const char *const gen_keys[] = {
        "contractLo", "contractHi", "contractName", "version", "fnCount", "interface",
        "factory",    "functions",  "signatures",   "code",    "message", "params",
        "result",     "method",     "struct",       "length",  "0",       "1"};
static const char *const gen_types[] = {"'i32'",    "'u8'",          "'f64'", "'StringView'",
                                        "'Buffer'", "'Arena'",       "'i64'", "'bool'",
                                        "'nope'",   "{ struct: [] }"};

static inline void gen_value(js_gen *g);

static inline void gen_object(js_gen *g, int fields)
{
	gen_put(g, "{");
	for (int i = 0; i < fields; i++) {
		unsigned k = gen_byte(g);
		gen_put(g, i ? ", " : " ");
		if (k % 7 == 6) { /* a getter that throws, or runs forever */
			gen_put(g, "get ");
			gen_put(g, gen_keys[k % (sizeof gen_keys / sizeof *gen_keys)]);
			gen_put(g, k & 0x80 ? "() { for (;;) {} }"
			                    : "() { throw new Error('getter'); }");
			continue;
		}
		gen_put(g, "'");
		gen_put(g, gen_keys[k % (sizeof gen_keys / sizeof *gen_keys)]);
		gen_put(g, "': ");
		gen_value(g);
	}
	gen_put(g, " }");
}

static inline void gen_value(js_gen *g)
{
	unsigned c = gen_byte(g);
	if (++g->depth > 6)
		c = 0; /* deep enough: a leaf */
	char buf[64];
	switch (c % 16) {
	case 0:
	case 1:
		gen_put(g, gen_numbers[gen_byte(g) % (sizeof gen_numbers / sizeof *gen_numbers)]);
		break;
	case 2:
		gen_put(g, gen_byte(g) & 1 ? "'test.f@1'" : "'\\u{10FFFF}x'");
		break;
	case 3:
		gen_put(g, "'x'.repeat(");
		gen_put(g, gen_numbers[gen_byte(g) % 6]);
		gen_put(g, " > 0 ? 1 << 20 : 3)");
		break;
	case 4: { /* an array of values */
		int n = (int)(gen_byte(g) % 4);
		gen_put(g, "[");
		for (int i = 0; i < n; i++) {
			gen_put(g, i ? ", " : "");
			gen_value(g);
		}
		gen_put(g, "]");
		break;
	}
	case 5:
	case 6:
		gen_object(g, (int)(gen_byte(g) % 5));
		break;
	case 7:
		gen_put(g, "function () { return ");
		gen_value(g);
		gen_put(g, "; }");
		break;
	case 8:
		gen_put(g, gen_byte(g) & 1 ? "null" : "undefined");
		break;
	case 9:
		gen_put(g, "12345678901234567890n");
		break;
	case 10: /* a registration that is nearly right */
		snprintf(buf, sizeof buf, "reg('test.f', %u, ", gen_byte(g) % 4);
		gen_put(g, buf);
		gen_value(g);
		gen_put(g, ")");
		break;
	case 11:
		gen_put(g, "new Proxy({}, { get() { throw new Error('proxy'); } })");
		break;
	case 12: /* an array with a hostile length */
		gen_put(g, "(function () { var a = []; a.length = ");
		gen_put(g, gen_numbers[gen_byte(g) % (sizeof gen_numbers / sizeof *gen_numbers)]);
		gen_put(g, " >>> 0; return a; })()");
		break;
	case 13:
		gen_put(g, "{ params: [");
		gen_put(g, gen_types[gen_byte(g) % (sizeof gen_types / sizeof *gen_types)]);
		gen_put(g, "], result: ");
		gen_put(g, gen_types[gen_byte(g) % (sizeof gen_types / sizeof *gen_types)]);
		gen_put(g, " }");
		break;
	case 14:
		gen_put(g, "Symbol('s')");
		break;
	default:
		gen_put(g, "true");
		break;
	}
	g->depth--;
}

/* The whole bundle: helpers, then a polyplug_init returning generated parts.
 * Returns the source's length. */
static inline size_t js_init_bundle(const uint8_t *in, size_t len, char *out, size_t cap)
{
	js_gen g = {in, len, 0, out, cap, 0, 0};
	out[0] = '\0';
	gen_put(&g, "function cid(s) { var h = 0xcbf29ce484222325n;\n"
	            "  for (var i = 0; i < s.length; i++) {\n"
	            "    h ^= BigInt(s.charCodeAt(i)); h = (h * 0x100000001b3n) & "
	            "0xffffffffffffffffn; }\n"
	            "  return [Number(h & 0xffffffffn), Number(h >> 32n)]; }\n"
	            "function reg(name, n, extra) {\n"
	            "  var id = cid('guest_contract:' + name + '@1'), fns = [];\n"
	            "  for (var i = 0; i < n; i++) fns.push(function () { return 0; });\n"
	            "  var r = { contractLo: id[0], contractHi: id[1], contractName: name + '@1',\n"
	            "    version: 0x00010000, fnCount: n,\n"
	            "    interface: { factory: function () { return {}; }, functions: fns } };\n"
	            "  if (extra && typeof extra === 'object') Object.assign(r.interface, extra);\n"
	            "  return r; }\n"
	            "function polyplug_init(hl, hh, cl, ch, bridge) {\n  return ");
	switch (gen_byte(&g) % 4) {
	case 0: /* anything at all */
		gen_value(&g);
		break;
	case 1: /* [registrations, error] with generated parts */
		gen_put(&g, "[[");
		gen_value(&g);
		gen_put(&g, "], ");
		gen_value(&g);
		gen_put(&g, "]");
		break;
	case 2: /* a registration with generated fields */
		gen_put(&g, "[[Object.assign(reg('test.f', 1), ");
		gen_object(&g, (int)(gen_byte(&g) % 6));
		gen_put(&g, ")], { code: 0, message: '' }]");
		break;
	default: /* a good registration, a generated interface */
		gen_put(&g, "[[reg('test.f', 2, ");
		gen_object(&g, (int)(gen_byte(&g) % 6));
		gen_put(&g, ")], ");
		gen_object(&g, (int)(gen_byte(&g) % 3));
		gen_put(&g, "]");
		break;
	}
	gen_put(&g, ";\n}\n");
	return g.used;
}

/* Loads the bundle made from the input and, if it loads, calls what it
 * registered (default instance and a fresh one), then unloads it. Whatever
 * the input, this returns; a status is all it may produce. */
static inline void js_init_run(pp_runtime *rt, const uint8_t *in, size_t len)
{
	static char src[1 << 16];
	size_t n = js_init_bundle(in, len, src, sizeof src);
	pp_load_options o = {.name = "fz", .js = {.cpu_ms = 50, .memory_bytes = 32u << 20}};
	uint64_t id = 0;
	if (pp_bundle_load_source(rt, src, n, &o, &id) != PP_OK)
		return;
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.f", 1), 0);
	_Alignas(16) uint8_t args[256] = {0}, out[256];
	for (uint32_t fn = 0; fn < 3; fn++) {
		pp_guest_contract_instance none = {NULL, 0}, inst = {NULL, 0};
		pp_call(rt, h, none, fn, args, out, NULL);
		if (pp_instance_create(rt, h, NULL, &inst) == PP_OK && inst.data) {
			pp_call(rt, h, inst, fn, args, out, NULL);
			pp_instance_destroy(rt, h, inst);
		}
	}
	pp_bundle_unload(rt, id, 0);
}

#endif
