/* js_helpers.h — building and loading JS bundles in tests. */
#ifndef PP_JS_HELPERS_H
#define PP_JS_HELPERS_H

#include "helpers.h"

/* Prepended to every test bundle: cid(name) computes a contract id's
 * [lo, hi] the way polyplug does, and reg(...) builds one registration. */
#define JS_PRELUDE                                                                                 \
	"function cid(s) {\n"                                                                      \
	"  var h = 0xcbf29ce484222325n;\n"                                                         \
	"  for (var i = 0; i < s.length; i++) {\n"                                                 \
	"    h ^= BigInt(s.charCodeAt(i)); h = (h * 0x100000001b3n) & 0xffffffffffffffffn;\n"      \
	"  }\n"                                                                                    \
	"  return [Number(h & 0xffffffffn), Number(h >> 32n)];\n"                                  \
	"}\n"                                                                                      \
	"function reg(name, fns, factory) {\n"                                                     \
	"  var id = cid('guest_contract:' + name + '@1');\n"                                       \
	"  return { contractLo: id[0], contractHi: id[1], contractName: name + '@1',\n"            \
	"           version: 0x00010000, fnCount: fns.length,\n"                                   \
	"           interface: { factory: factory || function (b, lo, hi) { return { n: 0 }; },\n" \
	"                        functions: fns } };\n"                                            \
	"}\n"                                                                                      \
	"function ok(regs) { return [regs, { code: 0, message: '' }]; }\n"

/* A bundle whose polyplug_init returns ok([reg(contract, [fns...])]). */
#define JS_ONE(contract, fns)                                           \
	JS_PRELUDE "function polyplug_init(hl, hh, cl, ch, bridge) {\n" \
	           "  return ok([reg('" contract "', [" fns "])]);\n}\n"

static inline pp_status js_load_src(pp_runtime *rt, const char *name, const char *src, uint64_t *id)
{
	pp_load_options o = {.name = name};
	return pp_bundle_load_source(rt, src, strlen(src), &o, id);
}

static inline uint64_t js_load_ok(pp_runtime *rt, const char *name, const char *src)
{
	uint64_t id = 0;
	pp_status st = js_load_src(rt, name, src, &id);
	if (st != PP_OK)
		fail_msg("loading JS bundle %s: %u %s", name, st, pp_last_error(rt));
	return id;
}

/* Writes src as DIR/bundle.js in a fresh directory; returns DIR in buf. */
static inline const char *js_write_dir(char *buf, size_t cap, const char *src)
{
	temp_dir(buf, cap);
	write_text(buf, "bundle.js", src);
	return buf;
}

/* Calls fn of contract@1 on the default instance with args/out. */
static inline uint32_t js_call(pp_runtime *rt, const char *contract, uint32_t fn, const void *args,
                               void *out)
{
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id(contract, 1), 0);
	pp_guest_contract_instance none = {NULL, 0};
	return pp_call(rt, h, none, fn, args, out, NULL);
}

#endif
