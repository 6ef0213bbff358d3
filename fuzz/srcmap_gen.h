/*
 * srcmap_gen.h — turns fuzz input bytes into a JS bundle that carries them
 * as its inline source map, and exercises what the loader does with a map:
 * reads it at load, then rewrites the positions of the messages the
 * bundle's failing calls leave (a thrown Error whose text the input picks,
 * so it may name the bundle's own file and positions of its choosing, and a
 * TypeError QuickJS raises). Shared by fuzz/fuzz_srcmap.c and the test that
 * replays its corpus.
 *
 * Input: the thrown message, up to the first NUL (at most 200 bytes), then
 * the map's JSON.
 */
#ifndef PP_SRCMAP_GEN_H
#define PP_SRCMAP_GEN_H

#include <polyplug/polyplug.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline size_t srcmap_bundle(const uint8_t *in, size_t len, char *out, size_t cap)
{
	static const char b64[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint64_t id = pp_guest_contract_id("fz.M", 1);
	size_t msg = 0;
	while (msg < len && msg < 200 && in[msg])
		msg++;
	int n = snprintf(out, cap,
	                 "function polyplug_init(hl, hh, cl, ch, bridge) {\n"
	                 "  return [[{ contractLo: %u, contractHi: %u, contractName: 'fz.M@1',\n"
	                 "    version: 0x10000, fnCount: 2, interface: {\n"
	                 "      factory: function () { return {}; },\n"
	                 "      functions: [\n"
	                 "        function () { throw new Error('",
	                 (unsigned)(id & 0xffffffffu), (unsigned)(id >> 32));
	size_t used = n > 0 ? (size_t)n : 0;
	for (size_t i = 0; i < msg && used + 8 < cap; i++) /* every byte escaped */
		used += (size_t)snprintf(out + used, cap - used, "\\x%02x", in[i]);
	n = snprintf(out + used, cap - used,
	             "'); },\n"
	             "        function () { return null.x; }] } }], { code: 0, message: '' }];\n"
	             "}\n//# sourceMappingURL=data:application/json;base64,");
	used += n > 0 ? (size_t)n : 0;
	const uint8_t *p = in + msg + (msg < len);
	size_t left = len - msg - (msg < len);
	for (size_t i = 0; i < left && used + 6 < cap; i += 3) {
		size_t k = left - i; /* bytes left, 3 or more: a whole group */
		uint32_t v = (uint32_t)p[i] << 16 | (k > 1 ? (uint32_t)p[i + 1] << 8 : 0) |
		             (k > 2 ? p[i + 2] : 0);
		out[used++] = b64[v >> 18 & 63];
		out[used++] = b64[v >> 12 & 63];
		out[used++] = k > 1 ? b64[v >> 6 & 63] : '=';
		out[used++] = k > 2 ? b64[v & 63] : '=';
	}
	if (used + 2 <= cap)
		out[used++] = '\n';
	out[used < cap ? used : cap - 1] = '\0';
	return used < cap ? used : cap - 1;
}

static inline void srcmap_run(pp_runtime *rt, const uint8_t *in, size_t len)
{
	static char src[1 << 17];
	size_t n = srcmap_bundle(in, len, src, sizeof src);
	pp_load_options o = {.name = "fz", .js = {.cpu_ms = 200, .memory_bytes = 32u << 20}};
	uint64_t id = 0;
	if (pp_bundle_load_source(rt, src, n, &o, &id) != PP_OK)
		return;
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("fz.M", 1), 0);
	_Alignas(16) uint8_t out[64];
	for (uint32_t fn = 0; fn < 2; fn++) {
		pp_guest_contract_instance none = {NULL, 0};
		if (pp_call(rt, h, none, fn, NULL, out, NULL) == PP_OK)
			continue; /* both throw: never */
		const char *why = pp_last_error(rt);
		if (strlen(why) == 0) /* every failure says why */
			abort();
	}
	pp_bundle_unload(rt, id, 0);
}

#endif
