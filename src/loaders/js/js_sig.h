/*
 * js_sig.h — typed signatures: polyplug-c's fast path for host -> JS calls.
 *
 * A bundle may give `interface.signatures[fn] = { params: [types], result:
 * type }`. For such a function the loader reads the args struct itself (the
 * params laid out in order with natural alignment, as a C compiler lays out
 * a struct of them) and calls `functions[fn](impl, ...values)`; the value it
 * returns is written to `out` as `result`. No bridge call per field, no
 * pointer arithmetic in JS. Types: bool, i8, u8, i16, u16, i32, u32, i64, u64
 * (BigInt), f32, f64, StringView (a string, UTF-8 on the C side), Buffer
 * (a Uint8Array copy in; an ArrayBuffer or any typed array / DataView out),
 * and void (result only). StringView and Buffer results are copied into the
 * call's arena.
 */
#ifndef PP_JS_SIG_H
#define PP_JS_SIG_H

#include <quickjs.h>

#include <polyplug/abi.h>

#define PP_JS_SIG_MAX_PARAMS 16

typedef struct js_sig {
	bool typed; /* false: the function takes the reference's raw arguments */
	uint8_t nparams;
	uint8_t result;
	uint8_t types[PP_JS_SIG_MAX_PARAMS];
	uint16_t offsets[PP_JS_SIG_MAX_PARAMS];
} js_sig;

/* Reads one signature object into *sig. On a bad one returns false with the
 * reason in why (a pending JS exception is consumed). */
bool pp_js_sig_read(JSContext *ctx, JSValueConst spec, js_sig *sig, char *why, size_t cap);

/* Converts the args struct into argv[0..nparams). On failure returns false
 * with a JS exception pending and nothing left to free. */
bool pp_js_sig_args(JSContext *ctx, const js_sig *sig, const void *args, JSValue *argv);

/* Writes a typed function's returned value to out. Returns PP_OK, or a status
 * with the reason in why. */
uint32_t pp_js_sig_result(JSContext *ctx, const js_sig *sig, JSValueConst ret, void *out,
                          pp_call_arena *arena, char *why, size_t cap);

#endif
