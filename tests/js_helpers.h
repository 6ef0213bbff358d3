/* js_helpers.h — building and loading JS bundles in tests. */
#ifndef PP_JS_HELPERS_H
#define PP_JS_HELPERS_H

#include <stdatomic.h>

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

/* test.latch@1, a host contract: fn 0 marks the caller as inside and writes
 * whether the test has let it go yet (it naps a millisecond when not, so a
 * JS init polling it uses little of its CPU limit); fn 1 lets it go. A
 * bundle holds itself at a known point with it while the test, or another
 * bundle, acts. */
typedef struct latch {
	pp_host_contract_interface iface; /* first: the instance is the latch */
	atomic_int inside, go;
} latch;

static inline void latch_poll(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)args;
	(void)err;
	latch *l = state;
	atomic_store(&l->inside, 1);
	int32_t go = atomic_load(&l->go);
	if (!go) {
		struct timespec ms = {0, 1000000L};
		nanosleep(&ms, NULL);
	}
	memcpy(out, &go, sizeof go);
}

/* fn 1: lets the latch go, for a bundle that releases another. */
static inline void latch_release(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)args;
	(void)out;
	(void)err;
	atomic_store(&((latch *)state)->go, 1);
}

static const void *const latch_fns[] = {(const void *)latch_poll, (const void *)latch_release};

static inline pp_host_contract_instance latch_instance(const pp_host_contract_interface *self,
                                                       const void *args)
{
	(void)args;
	pp_host_contract_instance i = {(void *)self};
	return i;
}

static inline void latch_register(pp_runtime *rt, latch *l)
{
	memset(l, 0, sizeof *l);
	l->iface = (pp_host_contract_interface){
	        .contract_id = pp_host_contract_id("test.latch", 1),
	        .contract_version = {1, 0, 0},
	        .flags = PP_HOST_CONTRACT_SINGLETON,
	        .dispatch_type = PP_DISPATCH_NATIVE,
	        .create_instance = latch_instance,
	        .destroy_instance = drop_instance,
	        .dispatch.native = {2, latch_fns},
	};
	assert_int_equal(pp_host_contract_register(rt, &l->iface), PP_OK);
}

/* JS: held() is true until the test lets the latch go. */
#define JS_LATCH                                                                  \
	"var latch = cid('host_contract:test.latch@1');\n"                        \
	"function held(b) {\n"                                                    \
	"  var p = b.alloc(4), at = p[0] + p[1] * 4294967296;\n"                  \
	"  var rc = b.callHostContract(latch[0], latch[1], 0x10000, 0, 0, at);\n" \
	"  var go = b.readI32(at); b.free(p[0], p[1], 4, 1);\n"                   \
	"  if (rc !== 0) throw new Error('test.latch: ' + rc);\n"                 \
	"  return go === 0;\n}\n"                                                 \
	"function letGo(b) {\n"                                                   \
	"  var rc = b.callHostContract(latch[0], latch[1], 0x10000, 1, 0, 0);\n"  \
	"  if (rc !== 0) throw new Error('test.latch: ' + rc);\n}\n"

#endif
