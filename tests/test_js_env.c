/* test_js_env.c — the JavaScript environment a bundle runs in beyond
 * ECMAScript: console, TextEncoder/TextDecoder, queueMicrotask, and async
 * functions settled within the call. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "../fuzz/srcmap_gen.h"
#include "js_helpers.h"
#include "runtime/utf8.h"

/* A runtime logging to c at Trace, JS calls limited to cpu_ms. */
static pp_runtime *rt_env(log_capture *c, uint32_t cpu_ms)
{
	pp_runtime_config cfg;
	pp_runtime_config_init(&cfg);
	cfg.log = capture_log;
	cfg.log_userdata = c;
	cfg.log_level = PP_LOG_TRACE;
	cfg.js.cpu_ms = cpu_ms;
	pp_runtime *rt = NULL;
	assert_int_equal(pp_runtime_new(&cfg, &rt), PP_OK);
	return rt;
}

/* A bundle 'env' whose contract js.env@1 has the given raw functions (each
 * returns a status). */
static void load_env(pp_runtime *rt, const char *fns)
{
	char src[8192];
	snprintf(src, sizeof src,
	         JS_PRELUDE "function polyplug_init() {\n"
	                    "  return ok([reg('js.env', [%s])]);\n}\n",
	         fns);
	js_load_ok(rt, "env", src);
}

static void console_routes_to_the_host_log_with_the_bundle_as_scope(void **state)
{
	(void)state;
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_env(&c, 0);
	load_env(rt, "function () { console.log('hello', 42, { a: [1, 'x'] }, null, undefined);"
	             "  return 0; },"
	             "function () { console.warn('careful'); return 0; },"
	             "function () { console.error(new RangeError('bad')); return 0; },"
	             "function () { console.debug('dbg'); console.info('inf'); return 0; },"
	             "function () { var o = {}; o.self = o; console.log(o, Symbol('s'),"
	             "  function f() {}, 10n); return 0; },"
	             "function () { console.trace('deep'); return 0; }");
	assert_int_equal(js_call(rt, "js.env", 0, NULL, NULL), PP_OK);
	assert_string_equal(c.last_scope, "env");
	assert_int_equal(c.last_level, PP_LOG_INFO);
	assert_string_equal(c.last, "hello 42 {\"a\":[1,\"x\"]} null undefined");
	assert_int_equal(js_call(rt, "js.env", 1, NULL, NULL), PP_OK);
	assert_int_equal(c.last_level, PP_LOG_WARN);
	assert_string_equal(c.last, "careful");
	assert_int_equal(js_call(rt, "js.env", 2, NULL, NULL), PP_OK);
	assert_int_equal(c.last_level, PP_LOG_ERROR);
	assert_contains(c.last, "RangeError: bad\n    at "); /* an error comes with its stack */
	int debug = c.count[PP_LOG_DEBUG];
	assert_int_equal(js_call(rt, "js.env", 3, NULL, NULL), PP_OK);
	assert_int_equal(c.count[PP_LOG_DEBUG], debug + 1);
	assert_string_equal(c.last, "inf");
	/* a cycle, a symbol, a function and a BigInt print, and nothing throws */
	assert_int_equal(js_call(rt, "js.env", 4, NULL, NULL), PP_OK);
	assert_contains(c.last, "[object Object] Symbol() function f() {} 10");
	assert_int_equal(js_call(rt, "js.env", 5, NULL, NULL), PP_OK);
	assert_int_equal(c.last_level, PP_LOG_TRACE);
	pp_runtime_free(rt);
}

/* What one console line reached the host with. */
typedef struct line_seen {
	size_t len;
	bool well_formed;
	char head[32];
} line_seen;

static void see_line(void *ud, uint32_t level, pp_string_view scope, pp_string_view msg)
{
	(void)level;
	(void)scope;
	line_seen *l = ud;
	l->len = msg.len;
	l->well_formed = pp_utf8_prefix(msg.ptr, msg.len) == msg.len;
	snprintf(l->head, sizeof l->head, "%.*s", (int)(msg.len < 31 ? msg.len : 31),
	         (const char *)msg.ptr);
}

/* A console line is at most 16 KiB of whole characters, in well-formed
 * UTF-8 (a lone surrogate is U+FFFD), however long what is logged: an
 * error's message and stack are taken only as far as a line shows (they
 * were copied whole, outside the VM's memory limit). */
static void console_lines_are_well_formed_and_bounded(void **state)
{
	(void)state;
	line_seen l = {0};
	pp_runtime *rt = rt_logging_to(see_line, &l, 0);
	load_env(rt,
	         "function () { console.error('\\u00e9'.repeat(20000)); return 0; },"
	         "function () { console.error('a\\ud800b'); return 0; },"
	         "function () { console.error(new Error('\\u00e9'.repeat(1 << 22))); return 0; },"
	         "function () { console.error('x', '\\u20ac'.repeat(6000)); return 0; }");
	for (uint32_t fn = 0; fn < 4; fn++) {
		assert_int_equal(js_call(rt, "js.env", fn, NULL, NULL), PP_OK);
		assert_true(l.well_formed);
		assert_true(l.len < 16384);
		if (fn != 1)
			assert_true(l.len > 16000);
	}
	assert_int_equal(js_call(rt, "js.env", 1, NULL, NULL), PP_OK);
	assert_string_equal(l.head, "a\xef\xbf\xbd"
	                            "b");
	assert_int_equal(js_call(rt, "js.env", 2, NULL, NULL), PP_OK);
	assert_memory_equal(l.head, "Error: \xc3\xa9", 9);
	pp_runtime_free(rt);
}

/* A guest's exception whose text is empty (throw '', or a toString that
 * returns '') is reported like any other: the loader's frame counting read
 * past the end of the empty text (ASan: heap-buffer-overflow). */
static void an_empty_exception_is_reported_like_any_other(void **state)
{
	(void)state;
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_env(&c, 0);
	load_env(rt, "function () { throw ''; },"
	             "function () { throw { toString: function () { return ''; } }; },"
	             "function () { queueMicrotask(function () { throw ''; }); return 0; },"
	             "function () { Promise.reject(''); return 0; },"
	             "function () { throw null; }");
	/* null is what QuickJS throws when it cannot allocate its error: said */
	assert_int_equal(js_call(rt, "js.env", 4, NULL, NULL), PP_ERR_OUT_OF_MEMORY);
	assert_contains(pp_last_error(rt), ": null (what QuickJS throws when out of memory)");
	for (uint32_t fn = 0; fn < 2; fn++) {
		assert_int_equal(js_call(rt, "js.env", fn, NULL, NULL), PP_ERR_GENERIC);
		assert_contains(pp_last_error(rt), "bundle 'env'");
	}
	for (uint32_t fn = 2; fn < 4; fn++)
		(void)js_call(rt, "js.env", fn, NULL, NULL); /* reported, however it ends */
	int32_t out = 0;
	assert_int_equal(js_call(rt, "js.env", 0, NULL, &out), PP_ERR_GENERIC);
	pp_runtime_free(rt);
}

static void text_encoder_and_decoder_speak_utf8(void **state)
{
	(void)state;
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_env(&c, 0);
	/* each function checks one behaviour and returns 0, or the number of the
	 * check that failed */
	load_env(rt,
	         "function () {\n"
	         "  var e = new TextEncoder(), d = new TextDecoder();\n"
	         "  if (e.encoding !== 'utf-8' || d.encoding !== 'utf-8') return 1;\n"
	         "  var b = e.encode('h\\u00e9\\u20ac\\ud83d\\ude00');\n"
	         "  if (!(b instanceof Uint8Array) || b.length !== 10) return 2;\n"
	         "  if (b.join() !== '104,195,169,226,130,172,240,159,152,128') return 3;\n"
	         "  if (d.decode(b) !== 'h\\u00e9\\u20ac\\ud83d\\ude00') return 4;\n"
	         "  if (d.decode(b.buffer) !== d.decode(new DataView(b.buffer))) return 5;\n"
	         "  var fake = { buffer: b.buffer, byteOffset: 0, byteLength: 1 };\n"
	         "  try { d.decode(fake); return 8; } catch (x) { if (!(x instanceof TypeError))\n"
	         "    return 9; }\n"
	         "  if (e.encode().length !== 0 || d.decode() !== '') return 6;\n"
	         "  if (e.encode('\\ud800x').join() !== '239,191,189,120') return 7;\n"
	         "  return 0; },\n"
	         "function () {\n" /* invalid input: replacement, or fatal */
	         "  var d = new TextDecoder();\n"
	         "  var bad = new Uint8Array([0x61, 0xff, 0x62, 0xed, 0xa0, 0x80, 0xe2, 0x82]);\n"
	         "  if (d.decode(bad) !== 'a\\ufffdb\\ufffd\\ufffd\\ufffd\\ufffd') return 1;\n"
	         "  var f = new TextDecoder('utf-8', { fatal: true });\n"
	         "  try { f.decode(bad); return 2; } catch (x) {\n"
	         "    if (!(x instanceof TypeError)) return 3; }\n"
	         "  var bom = new Uint8Array([0xef, 0xbb, 0xbf, 0x41]);\n"
	         "  if (d.decode(bom) !== 'A') return 4;\n"
	         "  if (new TextDecoder('UTF8', { ignoreBOM: true }).decode(bom) !== '\\ufeffA')\n"
	         "    return 5;\n"
	         "  try { new TextDecoder('latin1'); return 6; } catch (x) {\n"
	         "    if (!(x instanceof RangeError)) return 7; }\n"
	         "  try { d.decode(bom, { stream: true }); return 8; } catch (x) {\n"
	         "    if (!(x instanceof TypeError)) return 16; }\n"
	         "  try { d.decode('text'); return 9; } catch (x) {}\n"
	         "  try { TextDecoder(); return 10; } catch (x) {}\n"
	         "  try { new TextDecoder('utf-8\\0junk'); return 11; } catch (x) {\n"
	         "    if (!(x instanceof RangeError)) return 12; }\n"
	         "  try { new TextDecoder('utf-8\\0'); return 13; } catch (x) {\n"
	         "    if (!(x instanceof RangeError)) return 14; }\n"
	         "  if (new TextDecoder(' utf-8\\t').encoding !== 'utf-8') return 15;\n"
	         "  return 0; },\n"
	         "function () {\n" /* encodeInto: whole characters, as many as fit */
	         "  var e = new TextEncoder(), u = new Uint8Array(5);\n"
	         "  var r = e.encodeInto('a\\u20ac\\ud83d\\ude00', u);\n"
	         "  if (r.read !== 2 || r.written !== 4) return 1;\n"
	         "  if (Array.from(u.subarray(0, 4)).join() !== '97,226,130,172') return 2;\n"
	         "  r = e.encodeInto('\\ud83d\\ude00', new Uint8Array(4));\n"
	         "  if (r.read !== 2 || r.written !== 4) return 3;\n"
	         "  try { e.encodeInto('x', [1, 2]); return 4; } catch (x) {}\n"
	         "  try { e.encodeInto('x', new Uint8ClampedArray(2)); return 5; } catch (x) {}\n"
	         "  try { e.encodeInto('x', new Int8Array(2)); return 6; } catch (x) {}\n"
	         "  return 0; },\n"
	         "function () {\n" /* a toString that detaches the destination */
	         "  var ab = new ArrayBuffer(8), u = new Uint8Array(ab);\n"
	         "  var evil = { toString() { ab.transfer(); return 'xxxxxxxx'; } };\n"
	         "  try { new TextEncoder().encodeInto(evil, u); return 1; } catch (x) {\n"
	         "    return x instanceof TypeError ? 0 : 2; } }");
	for (uint32_t fn = 0; fn < 4; fn++) {
		uint32_t code = js_call(rt, "js.env", fn, NULL, NULL);
		if (code != PP_OK)
			fail_msg("function %u: check %u failed (%s)", fn, code, pp_last_error(rt));
	}
	pp_runtime_free(rt);
}

/* Loads a bundle whose js.env function 0 is `checks` (a function returning
 * 0, or the number of the check that failed) and expects 0 from a call. */
static void checks_pass(const char *checks)
{
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_env(&c, 0);
	load_env(rt, checks);
	uint32_t code = js_call(rt, "js.env", 0, NULL, NULL);
	if (code != PP_OK)
		fail_msg("check %u failed (%s)", code, pp_last_error(rt));
	pp_runtime_free(rt);
}

/* The log callback: notes a record holding U+FFFD. */
static void split_character_logged(void *ud, uint32_t level, pp_string_view scope,
                                   pp_string_view msg)
{
	(void)level;
	(void)scope;
	if (memmem(msg.ptr, msg.len, "\xef\xbf\xbd", 3))
		atomic_store((atomic_bool *)ud, true);
}

/* A guest picks the size of what it throws, up to its heap: the loader
 * keeps at most 16 KiB of an exception's message and of its stack (whole
 * characters, " ..." where cut), whose copies (the error a failed load
 * returns, the thread's last error, the log) are outside the VM's memory
 * limit. A failed call's message is at most 2 KiB of it, and a log record
 * 1 KiB, each cut between characters. */
static void a_huge_exception_reaches_the_host_cut_to_a_bounded_message(void **state)
{
	(void)state;
	atomic_bool split = false;
	pp_runtime *rt = rt_logging_to(split_character_logged, &split, PP_LOG_TRACE);
	static const struct {
		const char *body, *cut, *also;
	} cases[] = {
	        {"throw new Error('\\u20ac'.repeat(1 << 20));", "\xe2\x82\xac ...\n",
	         "at polyplug_init"},
	        {"const name = 'f'.repeat(1 << 20);\n"
	         "const o = { [name]: function () { throw new Error('in a long name'); } };\n"
	         "o[name]();",
	         "fff ...", "Error: in a long name\n"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char src[512];
		snprintf(src, sizeof src, "function polyplug_init() { %s }\n", cases[i].body);
		assert_int_equal(js_load_src(rt, "huge", src, NULL), PP_ERR_INIT_FAILED);
		const char *e = pp_last_error(rt);
		if (strlen(e) > 40000)
			fail_msg("case %zu: a message of %zu bytes", i, strlen(e));
		assert_contains(e, cases[i].cut);
		assert_contains(e, cases[i].also);
	}
	/* three offsets: one of them puts a character across the cut */
	load_env(rt,
	         "(i, a, o, ar, b, s) => { throw new Error('\\u20ac'.repeat(1 << 20)); },\n"
	         "(i, a, o, ar, b, s) => { throw new Error('x' + '\\u20ac'.repeat(1 << 20)); },\n"
	         "(i, a, o, ar, b, s) => { throw new Error('xx' + '\\u20ac'.repeat(1 << 20)); }");
	for (uint32_t fn = 0; fn < 3; fn++) {
		assert_int_equal(js_call(rt, "js.env", fn, NULL, NULL), PP_ERR_GENERIC);
		const char *e = pp_last_error(rt);
		assert_true(strlen(e) < 2048 + 256); /* and the bundle, contract and function */
		assert_contains(e, "\xe2\x82\xac\xe2\x82\xac");
		if (strstr(e, "\xef\xbf\xbd"))
			fail_msg("function %u: a character was split: %s", fn, e + strlen(e) - 12);
	}
	assert_false(atomic_load(&split)); /* nor in a log record, cut at 1 KiB */
	pp_runtime_free(rt);
}

/* Web IDL's brand check: TextDecoder's and TextEncoder's methods and
 * attributes work on their own objects only, and throw a TypeError on any
 * other `this` — a plain object that says {fatal: true}, the prototype, the
 * other class's object. A decoder's options are its own, read-only: what a
 * guest defines on it shows through the attribute but decodes nothing. */
static void text_codec_methods_throw_on_a_this_not_their_own(void **state)
{
	(void)state;
	checks_pass(
	        "function () {\n"
	        "  var ok = new Uint8Array([0x61]), bad = new Uint8Array([0xff]);\n"
	        "  var D = TextDecoder.prototype, E = TextEncoder.prototype;\n"
	        "  function refused(f) { try { f(); return false; } catch (x) {\n"
	        "    return x instanceof TypeError; } }\n"
	        "  var get = (p, n) => Object.getOwnPropertyDescriptor(p, n).get;\n"
	        "  var others = [{ fatal: true }, {}, D, Object.create(D), new TextEncoder(),\n"
	        "    undefined, null, 1, 'x', ok];\n"
	        "  for (var i = 0; i < others.length; i++) {\n"
	        "    var o = others[i];\n"
	        "    if (!refused(() => D.decode.call(o, ok))) return 1;\n"
	        "    if (!refused(() => get(D, 'fatal').call(o))) return 2;\n"
	        "    if (!refused(() => get(D, 'ignoreBOM').call(o))) return 3;\n"
	        "    if (!refused(() => get(D, 'encoding').call(o))) return 4;\n"
	        "  }\n"
	        "  others[4] = new TextDecoder(); others[2] = E; others[3] = Object.create(E);\n"
	        "  for (var i = 0; i < others.length; i++) {\n"
	        "    var o = others[i];\n"
	        "    if (!refused(() => E.encode.call(o, 'a'))) return 5;\n"
	        "    if (!refused(() => E.encodeInto.call(o, 'a', new Uint8Array(1)))) return 6;\n"
	        "    if (!refused(() => get(E, 'encoding').call(o))) return 7;\n"
	        "  }\n"
	        "  var f = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });\n"
	        "  if (f.fatal !== true || f.ignoreBOM !== true || f.encoding !== 'utf-8')\n"
	        "    return 8;\n"
	        "  if (new TextDecoder().fatal !== false) return 9;\n"
	        "  if (!refused(() => { 'use strict'; f.fatal = false; })) return 10;\n"
	        "  Object.defineProperty(f, 'fatal', { value: false });\n"
	        "  if (f.fatal !== false || !refused(() => f.decode(bad))) return 11;\n"
	        "  class Sub extends TextDecoder {}\n"
	        "  var s = new Sub('utf-8', { fatal: true });\n"
	        "  if (!s.fatal || !refused(() => s.decode(bad)) || s.decode(ok) !== 'a') return "
	        "12;\n"
	        "  var tag = (o) => Object.prototype.toString.call(o);\n"
	        "  if (tag(f) !== '[object TextDecoder]' || tag(new TextEncoder()) !==\n"
	        "      '[object TextEncoder]' || tag(s) !== '[object TextDecoder]') return 13;\n"
	        "  return 0; }");
}

/* new.target's prototype is taken as ECMAScript's GetPrototypeFromConstructor
 * takes it: where it is not an object (a bound function has none, a Proxy
 * may say anything), the object gets its constructor's own prototype, as
 * QuickJS's built-in classes do; it was made with none (no methods). A
 * prototype getter that throws ends the construction with its error. */
static void text_codecs_made_for_a_new_target_without_a_prototype_get_their_own(void **state)
{
	(void)state;
	checks_pass("function () {\n"
	            "  var bound = function () {}.bind(), ok = new Uint8Array([0x61]);\n"
	            "  var odd = new Proxy(function () {}, { get: (t, k) =>\n"
	            "    k === 'prototype' ? 42 : t[k] });\n"
	            "  var d = Reflect.construct(TextDecoder, ['utf-8', { fatal: true }], bound);\n"
	            "  if (Object.getPrototypeOf(d) !== TextDecoder.prototype) return 1;\n"
	            "  if (!d.fatal || d.decode(ok) !== 'a') return 2;\n"
	            "  var e = Reflect.construct(TextEncoder, [], odd);\n"
	            "  if (Object.getPrototypeOf(e) !== TextEncoder.prototype) return 3;\n"
	            "  if (e.encode('a')[0] !== 0x61) return 4;\n"
	            "  var boom = new Proxy(function () {}, { get: () => { throw 'boom'; } });\n"
	            "  try { Reflect.construct(TextDecoder, [], boom); return 5; }\n"
	            "  catch (x) { if (x !== 'boom') return 6; }\n"
	            "  return 0; }");
}

/* The global object holds ECMAScript's globals (as QuickJS 2025-04-26 has
 * them), the documented additions and what the bundle defines, and nothing
 * else: no timers, no require/process/std/os (docs/js.md, The environment). */
static void the_global_object_has_exactly_the_documented_names(void **state)
{
	(void)state;
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_env(&c, 0);
	/* each function returns 0, or logs what differs and returns non-zero */
	load_env(rt,
	         "function () {\n"
	         "  var ecma = ['AggregateError', 'Array', 'ArrayBuffer', 'Atomics', 'BigInt',\n"
	         "    'BigInt64Array', 'BigUint64Array', 'Boolean', 'DataView', 'Date', 'Error',\n"
	         "    'EvalError', 'FinalizationRegistry', 'Float32Array', 'Float64Array',\n"
	         "    'Function', 'Infinity', 'Int16Array', 'Int32Array', 'Int8Array',\n"
	         "    'InternalError', 'JSON', 'Map', 'Math', 'NaN', 'Number', 'Object',\n"
	         "    'Promise', 'Proxy', 'RangeError', 'ReferenceError', 'Reflect', 'RegExp',\n"
	         "    'Set', 'SharedArrayBuffer', 'String', 'Symbol', 'SyntaxError', 'TypeError',\n"
	         "    'URIError', 'Uint16Array', 'Uint32Array', 'Uint8Array',\n"
	         "    'Uint8ClampedArray', 'WeakMap', 'WeakRef', 'WeakSet', 'decodeURI',\n"
	         "    'decodeURIComponent', 'encodeURI', 'encodeURIComponent', 'escape', 'eval',\n"
	         "    'globalThis', 'isFinite', 'isNaN', 'parseFloat', 'parseInt', 'undefined',\n"
	         "    'unescape'];\n"
	         "  var documented = ['console', 'TextEncoder', 'TextDecoder', 'queueMicrotask',\n"
	         "    'bundlePath', 'polyplug_init'];\n"
	         "  var own = ['cid', 'reg', 'ok']; /* JS_PRELUDE's */\n"
	         "  var want = ecma.concat(documented, own).sort();\n"
	         "  var got = Object.getOwnPropertyNames(globalThis).sort();\n"
	         "  var extra = got.filter(n => want.indexOf(n) < 0);\n"
	         "  var missing = want.filter(n => got.indexOf(n) < 0);\n"
	         "  if (!extra.length && !missing.length) return 0;\n"
	         "  console.error('extra: ' + extra.join(' ') + '; missing: ' + missing.join(' "
	         "'));\n"
	         "  return 1;\n"
	         "},\n"
	         "function () {\n"
	         "  var names = Object.getOwnPropertyNames(console).sort().join(' ');\n"
	         "  if (names === 'debug error info log trace warn') return 0;\n"
	         "  console.error('console has: ' + names);\n"
	         "  return 1;\n"
	         "},\n"
	         "function () {\n"
	         "  var absent = ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval',\n"
	         "    'require', 'process', 'std', 'os', 'fetch'];\n"
	         "  var present = absent.filter(n => typeof globalThis[n] !== 'undefined' ||\n"
	         "    n in globalThis);\n"
	         "  if (typeof setTimeout !== 'undefined' || typeof require !== 'undefined' ||\n"
	         "      typeof process !== 'undefined' || typeof std !== 'undefined' ||\n"
	         "      typeof os !== 'undefined')\n"
	         "    present.push('(by typeof)');\n"
	         "  if (!present.length) return 0;\n"
	         "  console.error('present: ' + present.join(' '));\n"
	         "  return 1;\n"
	         "},\n"
	         "function () {\n"
	         "  return typeof eval === 'function' && typeof Function === 'function' ? 0 : 1;\n"
	         "}");
	for (uint32_t fn = 0; fn < 4; fn++) {
		c.last[0] = '\0';
		uint32_t code = js_call(rt, "js.env", fn, NULL, NULL);
		if (code != PP_OK)
			fail_msg("function %u: %u (%s) %s", fn, code, pp_last_error(rt), c.last);
	}
	pp_runtime_free(rt);
}

/* eval is the loader's wrapper, so no call to it is a direct eval: it never
 * sees the caller's scope, and its declarations are globals (js.md, Limits:
 * "eval is therefore always the global (indirect) eval"). */
static void eval_is_always_the_global_eval(void **state)
{
	(void)state;
	checks_pass("function () {\n"
	            "  var secret = 1;\n"
	            "  if (eval('typeof secret') !== 'undefined') return 1;\n"
	            "  (function () { 'use strict'; eval('var leaked = 5'); })();\n"
	            "  if (globalThis.leaked !== 5) return 2;\n"
	            "  return 0; }");
}

static void microtasks_and_promises_run_before_the_call_returns(void **state)
{
	(void)state;
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_env(&c, 200);
	load_env(rt, "function () { var seen = [];\n"
	             "  queueMicrotask(() => seen.push(1));\n"
	             "  Promise.resolve().then(() => seen.push(2));\n"
	             "  globalThis.seen = seen; return 0; },\n"
	             "function () { return globalThis.seen.join() === '1,2' ? 0 : 7; },\n"
	             "async function (impl) { await null; impl.n = (impl.n || 0) + 1;\n"
	             "  return impl.n === 1 ? 0 : 8; },\n"
	             "async function () { await null; throw new Error('later'); },\n"
	             "function () { return new Promise(() => {}); },\n"
	             "function () { queueMicrotask(() => { throw new Error('in a task'); });\n"
	             "  return 0; },\n"
	             "async function () { await null; for (;;) {} },\n"
	             "function () { try { queueMicrotask(5); } catch (e) {\n"
	             "  return e instanceof TypeError ? 0 : 9; } return 10; },\n"
	             "async function () { var e = new Error('coded'); e.code = 300;\n"
	             "  await null; throw e; }");
	/* the jobs a call queued ran before it returned */
	assert_int_equal(js_call(rt, "js.env", 0, NULL, NULL), PP_OK);
	assert_int_equal(js_call(rt, "js.env", 1, NULL, NULL), PP_OK);
	/* an async function's resolved value is the status; a rejection is a throw */
	assert_int_equal(js_call(rt, "js.env", 2, NULL, NULL), PP_OK);
	assert_int_equal(js_call(rt, "js.env", 3, NULL, NULL), PP_ERR_GENERIC);
	assert_contains(pp_last_error(rt), "Error: later");
	assert_int_equal(js_call(rt, "js.env", 4, NULL, NULL), PP_ERR_GENERIC);
	assert_contains(pp_last_error(rt), "the returned Promise never settled");
	/* a microtask that throws is reported; the call itself succeeded */
	assert_int_equal(js_call(rt, "js.env", 5, NULL, NULL), PP_OK);
	assert_string_equal(c.last_scope, "env");
	assert_contains(c.last, "uncaught exception in a microtask: Error: in a task");
	/* the CPU limit holds inside jobs, and the VM stays usable */
	assert_int_equal(js_call(rt, "js.env", 6, NULL, NULL), PP_ERR_TIMEOUT);
	assert_contains(pp_last_error(rt), "CPU limit of 200 ms");
	assert_int_equal(js_call(rt, "js.env", 1, NULL, NULL), PP_OK);
	assert_int_equal(js_call(rt, "js.env", 7, NULL, NULL), PP_OK);
	pp_runtime_free(rt);
}

/* A promise rejected with no handler once the call's jobs have run is
 * reported on the log with the bundle as scope; one handled later in the
 * call, and the call's own rejected result (the call's error), are not. */
static void unhandled_rejections_are_reported_once_the_jobs_have_run(void **state)
{
	(void)state;
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_env(&c, 200);
	load_env(
	        rt,
	        "function () { Promise.reject(new Error('lost')); return 0; },\n"
	        "function () { var p = Promise.reject(new Error('late'));\n"
	        "  queueMicrotask(() => p.catch(() => {})); return 0; },\n"
	        "async function () { await null; throw new Error('mine'); },\n"
	        "function () { for (var i = 0; i < 20; i++) Promise.reject(i);\n"
	        "  return 0; },\n"
	        "function () { Promise.resolve().then(() => { throw new TypeError('in then'); });\n"
	        "  return 0; },\n"
	        "function () { for (var i = 0; i < 20; i++) Promise.reject(i);\n"
	        "  for (;;) {} },\n"
	        "function () { var r = { toString() { Promise.reject(r); return 'again'; } };\n"
	        "  Promise.reject(r); return 0; },\n"
	        "function () { for (var i = 0; i < 20; i++) Promise.reject(i);\n"
	        "  throw new Error('thrown'); },\n"
	        "async function () { for (var i = 0; i < 20; i++) Promise.reject(i);\n"
	        "  await null; throw new Error('rejected'); }");
	int errors = c.count[PP_LOG_ERROR];
	assert_int_equal(js_call(rt, "js.env", 0, NULL, NULL), PP_OK);
	assert_int_equal(c.count[PP_LOG_ERROR], errors + 1);
	assert_string_equal(c.last_scope, "env");
	assert_contains(c.last, "unhandled promise rejection: Error: lost\n    at ");
	/* handled by a later job of the same call: nothing to report */
	errors = c.count[PP_LOG_ERROR];
	assert_int_equal(js_call(rt, "js.env", 1, NULL, NULL), PP_OK);
	assert_int_equal(c.count[PP_LOG_ERROR], errors);
	/* the call's own rejection is its error, logged once as the call's */
	errors = c.count[PP_LOG_ERROR];
	assert_int_equal(js_call(rt, "js.env", 2, NULL, NULL), PP_ERR_GENERIC);
	assert_int_equal(c.count[PP_LOG_ERROR], errors + 1);
	assert_contains(c.last, "Error: mine");
	assert_false(strstr(c.last, "unhandled") != NULL);
	/* many: a few kept and reported, the rest counted */
	errors = c.count[PP_LOG_ERROR];
	assert_int_equal(js_call(rt, "js.env", 3, NULL, NULL), PP_OK);
	assert_int_equal(c.count[PP_LOG_ERROR], errors + 9);
	assert_contains(c.last, "12 more unhandled promise rejections");
	/* the same, and then a throw: none of those counted is the call's own */
	errors = c.count[PP_LOG_ERROR];
	assert_int_equal(js_call(rt, "js.env", 7, NULL, NULL), PP_ERR_GENERIC);
	assert_contains(pp_last_error(rt), "Error: thrown");
	assert_int_equal(c.count[PP_LOG_ERROR], errors + 10); /* 8, the rest, the call */
	assert_contains(c.previous, "12 more unhandled promise rejections");
	/* and a rejected result, among those counted, is the call's own */
	errors = c.count[PP_LOG_ERROR];
	assert_int_equal(js_call(rt, "js.env", 8, NULL, NULL), PP_ERR_GENERIC);
	assert_contains(pp_last_error(rt), "Error: rejected");
	assert_int_equal(c.count[PP_LOG_ERROR], errors + 10);
	assert_contains(c.previous, "12 more unhandled promise rejections");
	/* a handler that throws leaves its derived promise rejected */
	assert_int_equal(js_call(rt, "js.env", 4, NULL, NULL), PP_OK);
	assert_contains(c.last, "unhandled promise rejection: TypeError: in then");
	/* a call stopped by its CPU limit reports nothing of its own, and the
	 * next call starts clean: none kept, none counted */
	errors = c.count[PP_LOG_ERROR];
	assert_int_equal(js_call(rt, "js.env", 5, NULL, NULL), PP_ERR_TIMEOUT);
	assert_int_equal(c.count[PP_LOG_ERROR], errors + 1); /* the timeout itself */
	errors = c.count[PP_LOG_ERROR];
	assert_int_equal(js_call(rt, "js.env", 1, NULL, NULL), PP_OK);
	assert_int_equal(c.count[PP_LOG_ERROR], errors);
	assert_int_equal(js_call(rt, "js.env", 0, NULL, NULL), PP_OK);
	assert_int_equal(c.count[PP_LOG_ERROR], errors + 1);
	assert_contains(c.last, "Error: lost");
	/* a reason whose text rejects again cannot loop: reported in rounds,
	 * each round's text making the next, a few rounds at most */
	errors = c.count[PP_LOG_ERROR];
	assert_int_equal(js_call(rt, "js.env", 6, NULL, NULL), PP_OK);
	assert_true(c.count[PP_LOG_ERROR] > errors && c.count[PP_LOG_ERROR] <= errors + 4);
	assert_contains(c.last, "unhandled promise rejection: again");
	errors = c.count[PP_LOG_ERROR];
	assert_int_equal(js_call(rt, "js.env", 1, NULL, NULL), PP_OK);
	assert_int_equal(c.count[PP_LOG_ERROR], errors); /* nothing left over */
	pp_runtime_free(rt);
}

/* Reporting a rejection runs the reason's getters, none of which may leave
 * the call, or the next one, with an exception or a log line it did not
 * make: a stack getter that throws, a toString the CPU limit stops. */
static void reporting_a_rejection_leaves_no_exception_behind(void **state)
{
	(void)state;
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_env(&c, 200);
	const char *src = JS_PRELUDE
	        "function polyplug_init() {\n"
	        "  var r = reg('js.stale', [\n"
	        "    function (impl, a) { if (a === 1) Promise.reject({ toString() { return 'r'; "
	        "},\n"
	        "      get stack() { throw new Error('STALE'); } }); return a; },\n"
	        "    function () { Promise.reject({ toString() { for (;;) {} } }); return 0; }]);\n"
	        "  r.interface.signatures = [{ params: ['i32'], result: 'i32' },\n"
	        "                            { params: [], result: 'i32' }];\n"
	        "  return ok([r]);\n}\n";
	js_load_ok(rt, "stale", src);
	int32_t a = 1, out = 0;
	assert_int_equal(js_call(rt, "js.stale", 0, &a, &out), PP_OK);
	assert_int_equal(out, 1);
	assert_contains(c.last, "unhandled promise rejection: r");
	/* the stack getter's error did not stay pending: the next call fails
	 * for its own reason, and names no STALE */
	a = 2;
	assert_int_equal(js_call(rt, "js.stale", 0, &a, NULL), PP_ERR_INVALID_ARGUMENT);
	assert_null(strstr(pp_last_error(rt), "STALE"));
	/* a toString stopped by the CPU limit ends the call, unreported */
	int errors = c.count[PP_LOG_ERROR];
	assert_int_equal(js_call(rt, "js.stale", 1, NULL, &out), PP_ERR_TIMEOUT);
	assert_int_equal(c.count[PP_LOG_ERROR], errors + 1); /* the timeout itself */
	assert_null(strstr(c.last, "unhandled"));
	a = 3;
	assert_int_equal(js_call(rt, "js.stale", 0, &a, &out), PP_OK);
	assert_int_equal(out, 3);
	pp_runtime_free(rt);
}

/* Counts the log records that report "unhandled promise rejection: Error:
 * late" (the rejection a guest makes while the loader reads its error). */
static void count_late_rejections(void *ud, uint32_t level, pp_string_view scope,
                                  pp_string_view msg)
{
	(void)level;
	(void)scope;
	static const char late[] = "unhandled promise rejection: Error: late";
	if (memmem(msg.ptr, msg.len, late, sizeof late - 1))
		atomic_fetch_add((atomic_int *)ud, 1);
}

/* A rejection made by guest code the loader runs after the call's jobs (a
 * thrown object's toString, a thrown code's getter, a struct field's getter)
 * is reported by that same call, once (js.md, Promises and async
 * functions): the tracker queues a job, which the call runs before it ends. */
static void a_rejection_made_while_the_loader_reads_a_result_is_reported_by_that_call(void **state)
{
	(void)state;
	atomic_int late = 0;
	pp_runtime *rt = rt_logging_to(count_late_rejections, &late, PP_LOG_TRACE);
	js_load_ok(rt, "late",
	           JS_PRELUDE
	           "function rejectLate() { Promise.reject(new Error('late')); }\n"
	           "function polyplug_init() {\n"
	           "  var r = reg('js.late', [\n"
	           "    function () { throw { toString() { rejectLate(); return 'bye'; } }; },\n"
	           "    function () { throw { get code() { rejectLate(); return 300; } }; },\n"
	           "    function () { return { get x() { rejectLate(); return 7; } }; },\n"
	           "    function () { Promise.reject(new Error('own')); return { x: 1 }; }]);\n"
	           "  var i32 = { params: [], result: 'i32' };\n"
	           "  var st = { params: [], result: { struct: [['x', 'i32']] } };\n"
	           "  r.interface.signatures = [i32, i32, st, st];\n"
	           "  return ok([r]);\n}\n");
	int32_t out = 0;
	assert_int_equal(js_call(rt, "js.late", 0, NULL, &out), PP_ERR_GENERIC);
	assert_contains(pp_last_error(rt), "bye");
	assert_int_equal(atomic_load(&late), 1);
	assert_int_equal(js_call(rt, "js.late", 1, NULL, &out), 300);
	assert_int_equal(atomic_load(&late), 2);
	assert_int_equal(js_call(rt, "js.late", 2, NULL, &out), PP_OK);
	assert_int_equal(out, 7);
	assert_int_equal(atomic_load(&late), 3);
	/* none is left for a later call to report again */
	assert_int_equal(js_call(rt, "js.late", 3, NULL, &out), PP_OK);
	assert_int_equal(atomic_load(&late), 3);
	pp_runtime_free(rt);
}

/* A load's own error is not also an unhandled rejection (an ES module's
 * body rejects an inner promise with it), and a script's completion value
 * is not awaited: a script ending in a rejected promise loads, the
 * rejection reported as unhandled. */
static void a_load_reports_its_own_error_once(void **state)
{
	(void)state;
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_env(&c, 200);
	const char *mod = "throw new Error('top level');\n"
	                  "export function polyplug_init() { return [[], { code: 0 }]; }\n";
	pp_load_options o = {.name = "badmod"};
	int errors = c.count[PP_LOG_ERROR];
	assert_int_not_equal(pp_bundle_load_source(rt, mod, strlen(mod), &o, NULL), PP_OK);
	assert_contains(pp_last_error(rt), "top level");
	assert_int_equal(c.count[PP_LOG_ERROR], errors); /* its error is the load's only */
	const char *script =
	        JS_PRELUDE "function polyplug_init() {\n"
	                   "  return ok([reg('js.script', [function () { return 0; }])]); }\n"
	                   "Promise.reject(new Error('completion'));\n";
	o.name = "script";
	errors = c.count[PP_LOG_ERROR];
	assert_int_equal(pp_bundle_load_source(rt, script, strlen(script), &o, NULL), PP_OK);
	assert_int_equal(c.count[PP_LOG_ERROR], errors + 1); /* the unhandled rejection */
	pp_runtime_free(rt);
}

/* Async typed functions and an async polyplug_init: the settled value is
 * what the loader uses. */
static void async_typed_functions_and_init_are_awaited(void **state)
{
	(void)state;
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_env(&c, 0);
	js_load_ok(
	        rt, "async",
	        JS_PRELUDE
	        "async function polyplug_init() {\n"
	        "  await null;\n"
	        "  var r = reg('js.async', [async (impl, a, b) => { await null; return a + b; },\n"
	        "                           async () => { await null; throw 'plain'; }]);\n"
	        "  r.interface.signatures = [{ params: ['i32', 'i32'], result: 'i32' },\n"
	        "                            { params: [], result: 'i32' }];\n"
	        "  return ok([r]);\n}\n");
	int32_t ab[2] = {40, 2}, out = 0;
	assert_int_equal(js_call(rt, "js.async", 0, ab, &out), PP_OK);
	assert_int_equal(out, 42);
	assert_int_equal(js_call(rt, "js.async", 1, NULL, &out), PP_ERR_GENERIC);
	assert_contains(pp_last_error(rt), "plain");
	pp_runtime_free(rt);
}

/* An ES module bundle (JS_PRELUDE's helpers, exported), as the text of
 * bundle.js: imports, then polyplug_init exported as `how`. */
#define MODULE_BUNDLE(imports, how, fns)                       \
	imports JS_PRELUDE how " function polyplug_init() {\n" \
	                       "  return ok([reg('js.mod', [" fns "])]);\n}\n"

static uint64_t load_dir(pp_runtime *rt, const char *dir, pp_status want)
{
	uint64_t id = 0;
	pp_status st = pp_bundle_load(rt, dir, NULL, &id);
	if (st != want)
		fail_msg("loading %s: %s, want %s (%s)", dir, pp_status_name(st),
		         pp_status_name(want), pp_last_error(rt));
	return id;
}

static void es_modules_import_files_of_their_own_directory(void **state)
{
	(void)state;
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_env(&c, 0);
	char dir[64], sub[128];
	temp_dir(dir, sizeof dir);
	snprintf(sub, sizeof sub, "%s/lib", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	write_text(sub, "math.js",
	           "export const add = (a, b) => a + b;\n"
	           "export function boom() { throw new Error('deep'); }\n");
	write_text(sub, "twice.js",
	           "import { add } from '../lib/./math.js';\n"
	           "export default function twice(x) { return add(x, x); }\n");
	write_text(dir, "bundle.js",
	           MODULE_BUNDLE("import { add, boom } from './lib/math.js';\n"
	                         "import twice from './lib/twice.js';\n",
	                         "export",
	                         "() => add(2, 3) === 5 && twice(4) === 8 ? 0 : 9,"
	                         "() => boom()"));
	uint64_t id = load_dir(rt, dir, PP_OK);
	assert_int_equal(js_call(rt, "js.mod", 0, NULL, NULL), PP_OK);
	assert_int_equal(js_call(rt, "js.mod", 1, NULL, NULL), PP_ERR_GENERIC);
	assert_contains(pp_last_error(rt), "Error: deep");
	assert_contains(pp_last_error(rt), "lib/math.js:2"); /* frames name the module's file */
	/* a reload reads the modules again */
	write_text(sub, "math.js",
	           "export const add = (a, b) => a + b + 1;\n"
	           "export function boom() { return 0; }\n");
	assert_int_equal(pp_bundle_reload(rt, id), PP_OK);
	assert_int_equal(js_call(rt, "js.mod", 0, NULL, NULL), 9);
	assert_int_equal(js_call(rt, "js.mod", 1, NULL, NULL), PP_OK);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	/* polyplug_init as the default export, itself or inside an object */
	write_text(dir, "bundle.js", MODULE_BUNDLE("", "export default", "() => 0"));
	id = load_dir(rt, dir, PP_OK);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	write_text(dir, "bundle.js",
	           "export default { polyplug_init };\n" MODULE_BUNDLE("", "", "() => 0"));
	id = load_dir(rt, dir, PP_OK);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	write_text(dir, "bundle.js", "export const nothing = 1;\n");
	load_dir(rt, dir, PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "the module exports no polyplug_init function");
	pp_runtime_free(rt);
	remove_tree(dir);
}

/* A script is a script whenever it parses as one: a comment or a string
 * with a line that starts like an import or export statement does not make
 * the reference's kind of bundle a module (whose global polyplug_init would
 * then be missing). What parses as neither reports the error of the kind it
 * looks like. */
static void a_script_that_only_looks_like_a_module_stays_a_script(void **state)
{
	(void)state;
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_env(&c, 0);
	js_load_ok(rt, "looks",
	           "/*\nexport default nothing: this bundle is a script\n*/\n"
	           "var help = `\nimport { your, data } from './here.js'\n`;\n" JS_PRELUDE
	           "function polyplug_init() {\n"
	           "  return ok([reg('js.mod', [() => this === globalThis && help.length > 9 "
	           "? 0 : 9])]);\n}\n");
	assert_int_equal(js_call(rt, "js.mod", 0, NULL, NULL), PP_OK);
	/* a top-level await makes a module without any import or export */
	static const char awaits[] = "await Promise.resolve();\nfunction polyplug_init() {}\n";
	assert_int_equal(js_load_src(rt, "awaits", awaits, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "the module exports no polyplug_init function");
	/* a module's own syntax error, not the script's at its first import */
	static const char bad_module[] =
	        "import { x } from './x.js';\nexport function polyplug_init() {\n  return (;\n}\n";
	assert_int_equal(js_load_src(rt, "bad-module", bad_module, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "SyntaxError");
	assert_contains(pp_last_error(rt), ":3");
	pp_runtime_free(rt);
}

/* Source that parses as neither kind: the module's syntax error when a line
 * (not only the first) starts with `import` or `export`, else the script's
 * (js.md, Loading). The two errors are on different lines here. */
static void a_bundle_parsing_as_neither_reports_the_error_of_the_kind_it_looks_like(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	/* the script stops at line 2's export, the module at line 3 */
	static const char later_export[] = "var a = 1;\n"
	                                   "export function polyplug_init() {}\n"
	                                   "var b = (;\n";
	assert_int_equal(js_load_src(rt, "later", later_export, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "SyntaxError");
	assert_contains(pp_last_error(rt), "later:3");
	/* no line starts with one: the script's error, at the export */
	static const char inline_export[] = "var a = 1; export function polyplug_init() {}\n"
	                                    "var b = (;\n";
	assert_int_equal(js_load_src(rt, "inline", inline_export, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "SyntaxError");
	assert_contains(pp_last_error(rt), "inline:1");
	pp_runtime_free(rt);
}

/* A manifest naming the bundle's script (file = "src/main.js") leaves the
 * bundle directory the root of its imports: they resolve from the script's
 * own directory, and may reach the rest of the bundle but not beyond. (Its
 * imports were refused as those of a single file.) */
static void a_script_a_manifest_names_imports_from_its_bundle_directory(void **state)
{
	(void)state;
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_env(&c, 0);
	char dir[64], src[128], lib[128];
	temp_dir(dir, sizeof dir);
	snprintf(src, sizeof src, "%s/src", dir);
	snprintf(lib, sizeof lib, "%s/lib", dir);
	assert_int_equal(mkdir(src, 0755), 0);
	assert_int_equal(mkdir(lib, 0755), 0);
	write_text(lib, "util.js", "export const add = (a, b) => a + b;\n");
	write_text(src, "twice.js", "export const twice = (x) => 2 * x;\n");
	write_text(src, "main.js",
	           MODULE_BUNDLE("import { add } from '../lib/util.js';\n"
	                         "import { twice } from './twice.js';\n",
	                         "export", "() => add(2, 3) === 5 && twice(4) === 8 ? 0 : 9"));
	write_text(dir, "manifest.toml", "name = \"named\"\nfile = \"src/main.js\"\n");
	uint64_t id = load_dir(rt, dir, PP_OK);
	assert_int_equal(js_call(rt, "js.mod", 0, NULL, NULL), PP_OK);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	write_text(src, "main.js",
	           MODULE_BUNDLE("import { add } from '../../outside.js';\n", "export", "() => 0"));
	load_dir(rt, dir, PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "../../outside.js");
	pp_runtime_free(rt);
	remove_tree(dir);
}

static void imports_that_leave_the_bundle_directory_are_refused(void **state)
{
	(void)state;
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_env(&c, 0);
	char root[64], dir[128], outside[160], link[160];
	temp_dir(root, sizeof root);
	snprintf(dir, sizeof dir, "%s/bundle", root);
	assert_int_equal(mkdir(dir, 0755), 0);
	write_text(root, "outside.js", "export const secret = 42;\n");
	snprintf(outside, sizeof outside, "%s/outside.js", root);
	snprintf(link, sizeof link, "%s/inside.js", dir);
	assert_int_equal(symlink(outside, link), 0);
	static const struct {
		const char *import, *error;
	} bad[] = {
	        {"import { secret } from '../outside.js';",
	         "the path leaves bundle 'bundle''s directory"},
	        {"import { secret } from './a/../../outside.js';", "the path leaves bundle"},
	        {"import { secret } from '/etc/hostname';", "only files of the bundle directory"},
	        {"import { secret } from 'lodash';", "only files of the bundle directory"},
	        {"import { secret } from './inside.js';", "outside the bundle directory"},
	        {"import { secret } from './missing.js';", "cannot open"},
	        {"import { secret } from './a/..';", "the path names, not a file of, bundle"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char src[2048];
		snprintf(src, sizeof src, "%s\n" MODULE_BUNDLE("", "export", "() => secret"),
		         bad[i].import);
		write_text(dir, "bundle.js", src);
		load_dir(rt, dir, PP_ERR_LOAD_FAILED);
		char importer[192];
		snprintf(importer, sizeof importer, "' in %s/bundle.js: ", dir);
		assert_contains(pp_last_error(rt), importer);
		assert_contains(pp_last_error(rt), "bundle 'bundle'");
		assert_contains(pp_last_error(rt), bad[i].error);
	}
	/* a dynamic import() at call time is held to the same rule */
	write_text(dir, "bundle.js",
	           MODULE_BUNDLE("", "export",
	                         "async () => { await import('../outside.js'); return 0; }"));
	load_dir(rt, dir, PP_OK);
	assert_int_equal(js_call(rt, "js.mod", 0, NULL, NULL), PP_ERR_GENERIC);
	assert_contains(pp_last_error(rt), "leaves bundle 'bundle''s directory");
	/* a specifier is read up to its first NUL (js.md): what follows it
	 * cannot lead out */
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("bundle"), 0), PP_OK);
	write_text(dir, "a.js", "export const inside = 7;\n");
	write_text(dir, "bundle.js",
	           MODULE_BUNDLE("", "export",
	                         "async () => (await import('./a.js\\0/../../outside.js')).inside"
	                         " === 7 ? 0 : 9"));
	load_dir(rt, dir, PP_OK);
	assert_int_equal(js_call(rt, "js.mod", 0, NULL, NULL), PP_OK);
	/* through a link: the guest learns that it leads out, not where to */
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("bundle"), 0), PP_OK);
	write_text(dir, "bundle.js",
	           MODULE_BUNDLE("", "export",
	                         "async () => { try { await import('./inside.js'); }"
	                         " catch (e) { throw new Error('saw: ' + e.message); } }"));
	load_dir(rt, dir, PP_OK);
	assert_int_equal(js_call(rt, "js.mod", 0, NULL, NULL), PP_ERR_GENERIC);
	assert_contains(pp_last_error(rt), "saw: ");
	assert_contains(pp_last_error(rt), "leads outside the bundle directory");
	assert_null(strstr(pp_last_error(rt), "outside.js'"));
	/* a module loaded from memory has no directory to import from */
	static const char mem[] =
	        "import { x } from './x.js';\n" MODULE_BUNDLE("", "export", "() => 0");
	pp_load_options o = {.name = "memory"};
	assert_int_equal(pp_bundle_load_source(rt, mem, strlen(mem), &o, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "was loaded from memory");
	pp_runtime_free(rt);
	remove_tree(root);
}

/* root (a new temporary directory) and dir, root/bundle, holding links
 * named links[i][0] to the absolute paths root/links[i][1] (root's real
 * path: the links lead back inside only through an absolute path). */
static void bundle_with_links(char *root, char *dir, const char *const (*links)[2], size_t n)
{
	char real[128], to[192], link[192];
	temp_dir(root, 64);
	snprintf(dir, 128, "%s/bundle", root);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_non_null(realpath(root, real));
	for (size_t i = 0; i < n; i++) {
		snprintf(to, sizeof to, "%s/%s", real, links[i][1]);
		snprintf(link, sizeof link, "%s/%s", dir, links[i][0]);
		assert_int_equal(symlink(to, link), 0);
	}
}

/* root (a new temporary directory) and dir, root/bundle, a bundle whose
 * links lead out (to files that exist and do not), by absolute path back
 * inside, and by relative path inside; its function 0 imports each and
 * fails unless the links out and the absolute ones all fail alike, and the
 * relative one imports. */
static void bundle_probing_outside(char *root, char *dir)
{
	static const char *const links[][2] = {{"a.js", "exists.js"},
	                                       {"b.js", "missing.js"},
	                                       {"c.js", "bundle/../exists.js"},
	                                       {"d.js", "no/such/dir/x.js"},
	                                       {"e.js", "bundle/lib.js"},
	                                       {"f.js", "present/../bundle/lib.js"},
	                                       {"g.js", "absent/../bundle/lib.js"}};
	char rel[192];
	bundle_with_links(root, dir, links, sizeof links / sizeof links[0]);
	write_text(root, "exists.js", "export const secret = 42;\n");
	write_text(dir, "lib.js", "export const inside = 7;\n");
	snprintf(rel, sizeof rel, "%s/present", root);
	assert_int_equal(mkdir(rel, 0755), 0);
	snprintf(rel, sizeof rel, "%s/h.js", dir);
	assert_int_equal(symlink("lib.js", rel), 0); /* relative, inside: followed */
	snprintf(rel, sizeof rel, "%s/i.js", dir);   /* relative, out */
	assert_int_equal(symlink("../exists.js", rel), 0);
	snprintf(rel, sizeof rel, "%s/inner", dir);
	assert_int_equal(mkdir(rel, 0755), 0);
	snprintf(rel, sizeof rel, "%s/j.js", dir);
	assert_int_equal(symlink("inner/../../missing.js", rel), 0);
	write_text(dir, "bundle.js",
	           MODULE_BUNDLE(
	                   "", "export",
	                   "async () => { const seen = [];\n"
	                   "  for (const f of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'i', 'j']) {\n"
	                   "    try { await import('./' + f + '.js'); seen.push('imported'); }\n"
	                   "    catch (e) { seen.push(e.message.split('/' + f + '.js').join('?')); "
	                   "} }\n"
	                   "  if (seen.some((m) => m !== seen[0])) throw new Error(seen.join(' | "
	                   "'));\n"
	                   "  console.log(seen[0]);\n"
	                   "  return (await import('./h.js')).inside === 7 ? 0 : 9; }"));
}

/* What bundle_probing_outside's dir shows when loaded and called: NULL if
 * all went as it should, else what did not (no cmocka: it runs in a
 * child too). */
static const char *probe_outside(const char *dir)
{
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_env(&c, 0);
	static char why[4096];
	const char *bad = NULL;
	if (pp_bundle_load(rt, dir, NULL, NULL) != PP_OK ||
	    js_call(rt, "js.mod", 0, NULL, NULL) != PP_OK)
		bad = pp_last_error(rt);
	else if (!strstr(c.last, "leads outside the bundle directory"))
		bad = c.last;
	if (bad) {
		snprintf(why, sizeof why, "%s", bad);
		fprintf(stderr, "%s\n", why);
	}
	pp_runtime_free(rt);
	return bad ? why : NULL;
}

/* A bundle may ship links, and read the message of an import it catches:
 * a link out fails the same way whether or not its target exists, so a
 * bundle cannot probe the host's files — nor through an absolute link that
 * would come back inside only if a directory outside exists, so absolute
 * links are refused wherever they lead. A relative link inside works. */
static void an_import_error_never_tells_whether_a_path_outside_exists(void **state)
{
	(void)state;
	char root[64], dir[128];
	bundle_probing_outside(root, dir);
	assert_null(probe_outside(dir));
	remove_tree(root);
}

/* A directory's bundle.js that links out is refused alike whether or not
 * its target exists, however the directory's path is written ("b//"
 * names b too: it once made the check fall back to one that tells). (A
 * host that lets the loader be picked by the path learns more — no loader
 * takes a dangling link — but a bundle cannot load bundles.) */
static void a_bundle_js_linking_out_fails_alike_however_its_directory_is_written(void **state)
{
	(void)state;
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_env(&c, 0);
	static const char *const targets[][2] = {{"bundle.js", "exists.js"},
	                                         {"bundle.js", "missing.js"}};
	char msg[2][1024];
	for (int i = 0; i < 2; i++) {
		char root[64], dir[128], as_given[160];
		bundle_with_links(root, dir, &targets[i], 1);
		write_text(root, "exists.js", "function polyplug_init() {}\n");
		/* the loader named, so that it is not picked by looking at the file */
		write_text(dir, "manifest.toml", "name = \"b\"\nloader = \"js-quickjs\"\n");
		snprintf(as_given, sizeof as_given, "%s//", dir);
		assert_int_equal(pp_bundle_load(rt, as_given, NULL, NULL), PP_ERR_LOAD_FAILED);
		snprintf(msg[i], sizeof msg[i], "%s", pp_last_error(rt));
		assert_contains(msg[i], "leads outside the bundle directory");
		remove_tree(root);
	}
	/* the same words, but for the temporary directories' names */
	for (int i = 0; i < 2; i++)
		for (char *t = strstr(msg[i], "pp-test-"); t; t = strstr(t + 8, "pp-test-"))
			memset(t + 8, '?', 6);
	assert_string_equal(msg[0], msg[1]);
	pp_runtime_free(rt);
}

/* Makes openat2 fail with EPERM in this process, as a container's seccomp
 * profile may (older Docker profiles do), so that the files are opened the
 * way they are where there is none. false if it could not. */
static bool refuse_openat2(void)
{
	struct sock_filter code[] = {
	        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
	        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
	/* (valgrind, which knows no openat2, answers ENOSYS) */
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
	       prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0 &&
	       syscall(SYS_openat2, AT_FDCWD, ".", NULL, 0) == -1 &&
	       (errno == EPERM || errno == ENOSYS);
}

/* Runs check(dir) in a child whose openat2 fails with EPERM, and asserts it
 * returned NULL. */
static void without_openat2(const char *(*check)(const char *dir), const char *dir)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(!refuse_openat2() ? 2 : check(dir) ? 1 : 0);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Where the kernel has no openat2, or a container's seccomp profile refuses
 * it, the files are opened one step at a time in its place (files.c
 * walk_beneath), and what an import says is the same: a link out fails
 * alike whether or not its target exists, an absolute link is refused
 * wherever it leads, a relative link inside works. (It once opened the
 * path and checked where it had led: a link to a missing file said
 * "cannot open", one to a file that exists "leads outside".) */
static void without_openat2_an_import_error_never_tells_whether_a_path_outside_exists(void **state)
{
	(void)state;
	char root[64], dir[128];
	bundle_probing_outside(root, dir);
	without_openat2(probe_outside, dir);
	remove_tree(root);
}

/* What a bundle in dir imports without openat2: NULL if all went as it
 * should, else what did not. */
static const char *imports_checked_by_hand(const char *dir)
{
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_env(&c, 0);
	bool ok = pp_bundle_load(rt, dir, NULL, NULL) == PP_OK &&
	          js_call(rt, "js.mod", 0, NULL, NULL) == PP_ERR_GENERIC &&
	          strstr(pp_last_error(rt), "leads outside the bundle directory") &&
	          js_call(rt, "js.mod", 1, NULL, NULL) == PP_OK;
	const char *why = ok ? NULL : pp_last_error(rt);
	if (why)
		fprintf(stderr, "%s\n", why);
	pp_runtime_free(rt);
	return why;
}

/* Without openat2 a bundle's files still stay inside: a link out is
 * refused, a relative link and a '..' that stays inside import. */
static void bundle_files_stay_inside_where_openat2_is_refused(void **state)
{
	(void)state;
	static const char *const links[][2] = {{"out.js", "out.js"}};
	char root[64], dir[128], sub[160], link[192];
	bundle_with_links(root, dir, links, 1);
	snprintf(sub, sizeof sub, "%s/sub", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(link, sizeof link, "%s/back.js", sub);
	assert_int_equal(symlink("../sub/../lib.js", link), 0);
	write_text(root, "out.js", "export const v = 1;\n");
	write_text(dir, "lib.js", "export const v = 7;\n");
	write_text(dir, "bundle.js",
	           "import { v } from './lib.js';\n" MODULE_BUNDLE(
	                   "", "export",
	                   "async () => (await import('./out.js')).v,\n"
	                   "async () => (await import('./sub/../sub/back.js')).v === v ? 0 : 9"));
	without_openat2(imports_checked_by_hand, dir);
	remove_tree(root);
}

/* Loads the bundle in dir and calls its js.mod function 0: NULL if the call
 * returns `want` (and, given `says`, its message holds it), else why not
 * (printed too: a check run in a child says only that it failed). */
static const char *call_outcome(const char *dir, uint32_t want, const char *says)
{
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_env(&c, 0);
	bool ok = pp_bundle_load(rt, dir, NULL, NULL) == PP_OK &&
	          js_call(rt, "js.mod", 0, NULL, NULL) == want &&
	          (!says || strstr(pp_last_error(rt), says));
	static char why[4096];
	snprintf(why, sizeof why, "%s", ok ? "" : pp_last_error(rt));
	if (!ok)
		fprintf(stderr, "%s\n", why);
	pp_runtime_free(rt);
	return ok ? NULL : why;
}

/* What a bundle in dir says of './dot.js' (a link to lib.js/../lib.js):
 * NULL if it fails as "Not a directory", else what it said. */
static const char *import_through_a_file(const char *dir)
{
	return call_outcome(dir, PP_ERR_GENERIC, "/dot.js': Not a directory");
}

/* A path that goes on after a file is refused as openat2 refuses it, even
 * where a '..' would come back: without openat2, the walk once kept the
 * file as a directory it went down, and "lib.js/../lib.js" opened. */
static void a_file_on_the_way_is_not_a_directory_with_or_without_openat2(void **state)
{
	(void)state;
	char root[64], dir[128], link[160];
	temp_dir(root, sizeof root);
	snprintf(dir, sizeof dir, "%s/bundle", root);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(link, sizeof link, "%s/dot.js", dir);
	assert_int_equal(symlink("lib.js/../lib.js", link), 0);
	write_text(dir, "lib.js", "export const v = 7;\n");
	write_text(dir, "bundle.js",
	           MODULE_BUNDLE("", "export", "async () => (await import('./dot.js')).v"));
	assert_null(import_through_a_file(dir));
	without_openat2(import_through_a_file, dir);
	remove_tree(root);
}

/* What a bundle in dir says when its function 0 imports a file 300
 * directories deep: NULL if it imported, else why not. */
static const char *import_deep(const char *dir)
{
	return call_outcome(dir, PP_OK, NULL);
}

/* A path however deep inside opens as openat2 opens it: without openat2,
 * the walk once held every directory it went down open, at most 255 of
 * them (a deeper path failed "File name too long", and a guest importing
 * in a loop kept that many of the host's descriptors busy). */
static void a_deep_path_inside_opens_with_or_without_openat2(void **state)
{
	(void)state;
	char root[64], dir[128], deep[768];
	temp_dir(root, sizeof root);
	snprintf(dir, sizeof dir, "%s/bundle", root);
	assert_int_equal(mkdir(dir, 0755), 0);
	int n = snprintf(deep, sizeof deep, "%s", dir);
	for (int i = 0; i < 300; i++) {
		n += snprintf(deep + n, sizeof deep - (size_t)n, "/d");
		assert_int_equal(mkdir(deep, 0755), 0);
	}
	write_text(deep, "f.js", "export const v = 7;\n");
	/* and up.js, a link beside it all the way up and down again */
	char up[2048], link[800];
	n = 0;
	for (int i = 0; i < 300; i++)
		n += snprintf(up + n, sizeof up - (size_t)n, "../");
	for (int i = 0; i < 300; i++)
		n += snprintf(up + n, sizeof up - (size_t)n, "d/");
	snprintf(up + n, sizeof up - (size_t)n, "f.js");
	snprintf(link, sizeof link, "%s/up.js", deep);
	assert_int_equal(symlink(up, link), 0);
	write_text(dir, "bundle.js",
	           MODULE_BUNDLE("", "export",
	                         "async () => { const d = './' + 'd/'.repeat(300);\n"
	                         "  const a = await import(d + 'f.js'), b = await import(d + "
	                         "'up.js');\n"
	                         "  return a.v === 7 && b.v === 7 ? 0 : 9; }"));
	assert_null(import_deep(dir));
	without_openat2(import_deep, dir);
	remove_tree(root);
}

/* Guest code the environment runs for the guest — toJSON and toString in
 * console.log, getters in TextDecoder.decode, promise handlers, the text of
 * an error a microtask threw — cannot
 * swallow the CPU limit's error: the call ends as PP_ERR_TIMEOUT. */
static void the_cpu_limit_cannot_be_caught_through_the_environment(void **state)
{
	(void)state;
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_env(&c, 150);
	load_env(rt,
	         "function () { function level(k) { return { toJSON() {\n"
	         "    if (!k) for (;;) {} var inner = level(k - 1);\n"
	         "    for (;;) console.log(inner); } }; }\n"
	         "  for (;;) console.log(level(3)); },\n"
	         "function () { for (;;) { try { new TextDecoder().decode(\n"
	         "  { get buffer() { for (;;) {} } }); } catch (e) {} } },\n"
	         "function () { return Promise.resolve().then(() => { for (;;) {} })\n"
	         "  .then(null, () => 0); },\n"
	         "function () { var e = new Error('x');\n"
	         "  e.toString = function () { throw new Error('no'); };\n"
	         "  console.log(e, { get a() { throw 1; }, toJSON() { throw 2; } }); return 0; },\n"
	         "function () { return 0; },\n"
	         "function () { queueMicrotask(function () {\n"
	         "  throw { toString() { for (;;) {} } }; }); return 0; }");
	static const uint32_t stopped[] = {0, 1, 2, 5};
	for (size_t i = 0; i < sizeof stopped / sizeof stopped[0]; i++) {
		uint32_t fn = stopped[i];
		uint32_t code = js_call(rt, "js.env", fn, NULL, NULL);
		if (code != PP_ERR_TIMEOUT)
			fail_msg("function %u: %s (%s), want PP_ERR_TIMEOUT", fn,
			         pp_status_name(code), pp_last_error(rt));
		assert_int_equal(js_call(rt, "js.env", 4, NULL, NULL), PP_OK); /* still usable */
	}
	/* what an ordinary throw in toString or toJSON does: printed another way */
	assert_int_equal(js_call(rt, "js.env", 3, NULL, NULL), PP_OK);
	assert_int_equal(js_call(rt, "js.env", 4, NULL, NULL), PP_OK);
	pp_runtime_free(rt);
}

/* Counts the log records that are not well-formed UTF-8. */
typedef struct utf8_records {
	pthread_mutex_t lock;
	int records, bad;
} utf8_records;

static void check_utf8_log(void *ud, uint32_t level, pp_string_view scope, pp_string_view msg)
{
	(void)level;
	utf8_records *r = ud;
	pthread_mutex_lock(&r->lock);
	r->records++;
	if (pp_utf8_prefix(scope.ptr, scope.len) != scope.len ||
	    pp_utf8_prefix(msg.ptr, msg.len) != msg.len)
		r->bad++;
	pthread_mutex_unlock(&r->lock);
}

/* A lone surrogate in a JS string is written by QuickJS as CESU-8 (ED A0
 * 80), which is not UTF-8. Whatever way it reaches the host — a thrown
 * error, the raw bridge's log, an unhandled rejection, a job's uncaught
 * throw — the host gets well-formed UTF-8, with U+FFFD in its place. */
static void messages_and_log_records_reach_the_host_as_well_formed_utf8(void **state)
{
	(void)state;
	utf8_records r = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_logging_to(check_utf8_log, &r, PP_LOG_TRACE);
	js_load_ok(rt, "sur",
	           JS_ONE("js.sur", "function () { throw new Error('a\\ud800b'); },"
	                            "function (i, a, o, ar, b) { b.log(3, 's\\udfff', 'm\\ud800'); "
	                            "  Promise.reject(new Error('r\\ud800'));"
	                            "  queueMicrotask(() => { throw 'q\\udfff'; }); return 0; }"));
	assert_int_not_equal(js_call(rt, "js.sur", 0, NULL, NULL), PP_OK);
	const char *e = pp_last_error(rt);
	assert_int_equal(pp_utf8_prefix((const uint8_t *)e, strlen(e)), strlen(e));
	assert_contains(e, "a\xEF\xBF\xBD");
	int before = r.records;
	assert_int_equal(js_call(rt, "js.sur", 1, NULL, NULL), PP_OK);
	assert_true(r.records >= before + 3); /* the log, the rejection, the throw */
	assert_int_equal(r.bad, 0);
	pp_runtime_free(rt);
}

/* A FIFO would block the host in open(); a huge (sparse) file would fill
 * its memory: both are refused before they are read. A bundle that is a
 * single file has no directory to import from (it may hold other bundles). */
static void imports_read_only_regular_files_within_the_limit(void **state)
{
	(void)state;
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime_config cfg;
	pp_runtime_config_init(&cfg);
	cfg.log = capture_log;
	cfg.log_userdata = &c;
	cfg.js.memory_bytes = 4u << 20;
	pp_runtime *rt = NULL;
	assert_int_equal(pp_runtime_new(&cfg, &rt), PP_OK);
	char dir[64], path[128];
	temp_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/fifo.js", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	snprintf(path, sizeof path, "%s/huge.js", dir);
	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)64 << 20), 0); /* 64 MiB of holes */
	close(fd);
	static const struct {
		const char *import, *error;
	} bad[] = {
	        {"import { x } from './fifo.js';", "fifo.js' is not a regular file"},
	        {"import { x } from './huge.js';", "larger than the VM's memory limit"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char src[2048], importer[160];
		snprintf(src, sizeof src, "%s\n" MODULE_BUNDLE("", "export", "() => x"),
		         bad[i].import);
		write_text(dir, "bundle.js", src);
		load_dir(rt, dir, PP_ERR_LOAD_FAILED);
		snprintf(importer, sizeof importer, "' in %s/bundle.js: bundle '", dir);
		assert_contains(pp_last_error(rt), importer);
		assert_contains(pp_last_error(rt), bad[i].error);
	}
	/* the bundle file itself: the same */
	snprintf(path, sizeof path, "%s/huge.js", dir);
	pp_load_options o = {.loader = "js-quickjs"};
	assert_int_equal(pp_bundle_load(rt, path, &o, NULL), PP_ERR_OUT_OF_MEMORY);
	assert_contains(pp_last_error(rt), "larger than the VM's memory limit");
	/* a single-file bundle imports nothing, not even its neighbours */
	write_text(dir, "lib.js", "export const x = 1;\n");
	write_text(dir, "single.js",
	           "import { x } from './lib.js';\n" MODULE_BUNDLE("", "export", "() => x"));
	snprintf(path, sizeof path, "%s/single.js", dir);
	assert_int_equal(pp_bundle_load(rt, path, NULL, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "has no bundle directory to import from");
	pp_runtime_free(rt);
	remove_tree(dir);
}

/* A file of the bundle that an import cannot read — a directory named like
 * a module, a FIFO, one over the size bound, one not there, one that is not
 * UTF-8 — fails with a message naming the specifier, the module whose
 * import asked for it (not only the bundle's file), the bundle and why:
 * at load in pp_last_error, and as the rejection of an import() at call
 * time. */
static void an_import_that_cannot_be_read_names_its_importer(void **state)
{
	(void)state;
	pp_runtime_config cfg = quiet_config();
	cfg.js.memory_bytes = 4u << 20;
	pp_runtime *rt = NULL;
	assert_int_equal(pp_runtime_new(&cfg, &rt), PP_OK);
	char root[64], dir[128], lib[160], path[192];
	temp_dir(root, sizeof root);
	snprintf(dir, sizeof dir, "%s/bundle", root);
	snprintf(lib, sizeof lib, "%s/lib", dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(mkdir(lib, 0755), 0);
	snprintf(path, sizeof path, "%s/dir.js", lib);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/fifo.js", lib);
	assert_int_equal(mkfifo(path, 0600), 0);
	snprintf(path, sizeof path, "%s/huge.js", lib);
	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)64 << 20), 0);
	close(fd);
	write_text(lib, "latin1.js", "export const x = '\xE9';\n");
	static const struct {
		const char *file, *error;
	} bad[] = {
	        {"dir.js", "/lib/dir.js' is not a regular file"},
	        {"fifo.js", "/lib/fifo.js' is not a regular file"},
	        {"huge.js", "/lib/huge.js' is larger than the VM's memory limit"},
	        {"missing.js", "cannot open '"},
	        {"latin1.js", "/lib/latin1.js' is not valid UTF-8"},
	};
	write_text(dir, "bundle.js",
	           MODULE_BUNDLE("import { x } from './lib/a.js';\n", "export", "() => 0"));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char src[256], want[320];
		snprintf(src, sizeof src, "import { x } from './%s';\nexport { x };\n",
		         bad[i].file);
		write_text(lib, "a.js", src);
		load_dir(rt, dir, PP_ERR_LOAD_FAILED);
		snprintf(want, sizeof want,
		         "import './%s' in %s/a.js: bundle 'bundle': ", bad[i].file, lib);
		assert_contains(pp_last_error(rt), want);
		assert_contains(pp_last_error(rt), bad[i].error);
	}
	/* at call time: what the bundle catches says the same */
	write_text(lib, "a.js", "export const load = (f) => import('./' + f);\n");
	write_text(dir, "bundle.js",
	           MODULE_BUNDLE("import { load } from './lib/a.js';\n", "export",
	                         "async () => { try { await load('dir.js'); return 9; }"
	                         " catch (e) { throw new Error('saw: ' + e.message); } }"));
	load_dir(rt, dir, PP_OK);
	assert_int_equal(js_call(rt, "js.mod", 0, NULL, NULL), PP_ERR_GENERIC);
	char want[512];
	snprintf(want, sizeof want,
	         "saw: import './dir.js' in %s/a.js: bundle 'bundle': '%s/dir.js' is not a "
	         "regular file",
	         lib, lib);
	assert_contains(pp_last_error(rt), want);
	pp_runtime_free(rt);
	remove_tree(root);
}

/* A module that is read but does not parse, or lacks a name imported from
 * it, fails the load with QuickJS's SyntaxError, which names that module
 * (and the line of a parse error): what docs/js.md promises of them. */
static void a_broken_or_short_imported_module_fails_naming_that_module(void **state)
{
	(void)state;
	pp_runtime_config cfg = quiet_config();
	pp_runtime *rt = NULL;
	assert_int_equal(pp_runtime_new(&cfg, &rt), PP_OK);
	char dir[64], want[192];
	temp_dir(dir, sizeof dir);
	write_text(dir, "bundle.js",
	           MODULE_BUNDLE("import { nope } from './lib.js';\n", "export", "() => nope"));
	write_text(dir, "lib.js", "export const x = 1;\n");
	load_dir(rt, dir, PP_ERR_LOAD_FAILED);
	snprintf(want, sizeof want, "Could not find export 'nope' in module '%s/lib.js'", dir);
	assert_contains(pp_last_error(rt), want);
	write_text(dir, "lib.js", "export const x = 1;\nexport const nope = (;\n");
	load_dir(rt, dir, PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "SyntaxError");
	snprintf(want, sizeof want, "%s/lib.js:2", dir);
	assert_contains(pp_last_error(rt), want);
	pp_runtime_free(rt);
	remove_tree(dir);
}

/* Each file within the limit, many of them (or one file under many names)
 * could still take the host's memory: a pool's load keeps what its first VM
 * read for the others, and a file that is one comment compiles to nothing
 * the VM's limit sees. What the load keeps totals at most the limit; what
 * one VM reads, compiles and frees (a load of one VM, an import() at call
 * time) is bounded file by file, and charges nothing for later. */
static void what_a_pools_load_keeps_of_its_imports_totals_at_most_the_memory_limit(void **state)
{
	(void)state;
	pp_runtime_config cfg = quiet_config();
	cfg.js.memory_bytes = 4u << 20;
	pp_runtime *rt = NULL;
	assert_int_equal(pp_runtime_new(&cfg, &rt), PP_OK);
	char dir[64], path[128], link_path[128];
	temp_dir(dir, sizeof dir);
	/* 3 MiB: a comment of holes, then an export */
	snprintf(path, sizeof path, "%s/part.js", dir);
	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	static const char tail[] = "*/ export const x = 1;\n";
	off_t end = (off_t)3 << 20;
	assert_int_equal(pwrite(fd, "/*", 2, 0), 2);
	assert_int_equal(pwrite(fd, tail, sizeof tail - 1, end), (ssize_t)(sizeof tail - 1));
	close(fd);
	snprintf(link_path, sizeof link_path, "%s/again.js", dir);
	assert_int_equal(link(path, link_path), 0);
	write_text(dir, "broken.js", "export const = ;\n");
	/* the same file twice, under two names */
	write_text(dir, "bundle.js",
	           "import { x } from './part.js';\nimport { x as y } from './again.js';\n"
	           "const z = async () => { for (let i = 0; i < 5; i++)\n"
	           "    await import('./broken.js').catch(() => 0);\n"
	           "  return (await import('./part.js')).x + (await import('./again.js')).x; };\n"
	           "var got = -1; z().then((v) => { got = v; });\n" MODULE_BUNDLE(
	                   "", "export",
	                   "(i, a, o, ar, b) => { b.writeI32(o, x + y); return 0; },"
	                   "(i, a, o, ar, b) => { b.writeI32(o, got); return 0; }"));
	pp_load_options pool = {.js.concurrency = 2};
	assert_int_equal(pp_bundle_load(rt, dir, &pool, NULL), PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "again.js', with the files the load imported before, "
	                                   "is past the VM's memory limit of 4194304 bytes");
	/* one VM keeps nothing for others; nor do imports at call time, those
	 * that fail included */
	uint64_t id = load_dir(rt, dir, PP_OK);
	int32_t out = 0;
	assert_int_equal(js_call(rt, "js.mod", 0, NULL, &out), PP_OK);
	assert_int_equal(out, 2);
	assert_int_equal(js_call(rt, "js.mod", 1, NULL, &out), PP_OK);
	assert_int_equal(out, 2);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	pp_runtime_free(rt);
	remove_tree(dir);
}

/* Loads, from memory, a bundle 'inline' whose function 0 throws from line 2
 * and whose sourceMappingURL is url. */
static uint64_t load_inline_mapped(pp_runtime *rt, const char *url, uint32_t concurrency)
{
	char src[4096];
	snprintf(src, sizeof src,
	         "function thrower() {\n"
	         "  throw new Error('mapped');\n"
	         "}\n" JS_PRELUDE "function polyplug_init() {\n"
	         "  return ok([reg('js.inline', [() => thrower()])]);\n}\n"
	         "//# sourceMappingURL=%s\n",
	         url);
	pp_load_options o = {.name = "inline", .js.concurrency = concurrency};
	uint64_t id = 0;
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), &o, &id), PP_OK);
	return id;
}

/* Calls js.inline's thrower 200 times (threads at once spread over a
 * pool's VMs), counting errors whose frame is not mapped. */
typedef struct mapped_caller {
	pp_runtime *rt;
	int unmapped;
} mapped_caller;

static void *call_mapped(void *p)
{
	mapped_caller *c = p;
	for (int i = 0; i < 200; i++)
		if (js_call(c->rt, "js.inline", 0, NULL, NULL) != PP_ERR_GENERIC ||
		    !strstr(pp_last_error(c->rt), "at thrower (src/inline.ts:10:3)"))
			c->unmapped++;
	return NULL;
}

/* An inline map (a base64 data: URL, as esbuild --sourcemap=inline writes)
 * is read too, by in-memory bundles as well; a malformed one, or one of
 * another media type, is a warning. */
static void inline_source_maps_are_read(void **state)
{
	(void)state;
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_env(&c, 0);
	/* {"version":3,"sources":["src/inline.ts"],"names":[],"mappings":"AAAA;AASE"} */
#define INLINE_MAP                                                         \
	"eyJ2ZXJzaW9uIjozLCJzb3VyY2VzIjpbInNyYy9pbmxpbmUudHMiXSwibmFtZXMi" \
	"OltdLCJtYXBwaW5ncyI6IkFBQUE7QUFTRSJ9"
	static const char *const urls[] = {
	        "data:application/json;base64," INLINE_MAP,
	        "data:application/json;charset=utf-8;base64," INLINE_MAP};
	for (size_t i = 0; i < 2; i++) {
		uint64_t id = load_inline_mapped(rt, urls[i], 1);
		assert_int_equal(js_call(rt, "js.inline", 0, NULL, NULL), PP_ERR_GENERIC);
		assert_contains(pp_last_error(rt), "at thrower (src/inline.ts:10:3)");
		assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	}
	/* not base64, not JSON, not a JSON type: a warning, the bundle's lines */
	static const char *const bad[] = {
	        "data:application/json;base64,e!!", "data:application/json;base64,bm90IGpzb24=",
	        "data:text/plain;base64,e30=", "data:application/jsonp;base64," INLINE_MAP};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int warned = c.count[PP_LOG_WARN];
		uint64_t id = load_inline_mapped(rt, bad[i], 1);
		assert_int_equal(c.count[PP_LOG_WARN], warned + 1);
		assert_int_equal(js_call(rt, "js.inline", 0, NULL, NULL), PP_ERR_GENERIC);
		assert_null(strstr(pp_last_error(rt), "inline.ts"));
		assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	}
	/* a pool reads its map once: one warning, and every VM applies it */
	int warned = c.count[PP_LOG_WARN];
	uint64_t id = load_inline_mapped(rt, bad[0], 4);
	assert_int_equal(c.count[PP_LOG_WARN], warned + 1);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	id = load_inline_mapped(rt, urls[0], 4);
	mapped_caller callers[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		callers[i] = (mapped_caller){.rt = rt};
		assert_int_equal(pthread_create(&th[i], NULL, call_mapped, &callers[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(callers[i].unmapped, 0);
	}
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	pp_runtime_free(rt);
}

/* A bundle's source map (a sourceMappingURL comment naming a file of its
 * directory) is applied to the frames its errors show; a missing or broken
 * map is said so once and leaves the frames as they are. */
/* The bundle in dir (throwing from thrower(), at bundle.js:2:3) with a map
 * of just under and just over cap bytes: the first is applied, the second
 * not read (a warning says why). */
static void map_read_up_to(pp_runtime *rt, log_capture *c, const char *dir, size_t cap)
{
	for (size_t size = cap - 64; size <= cap + 64; size += 128) {
		char *map = malloc(size + 1);
		assert_non_null(map);
		int k = snprintf(map, 128,
		                 "{\"sources\":[\"src/orig.ts\"],\"mappings\":\"AAAA;AASE\"}");
		memset(map + k, ' ', size - (size_t)k); /* JSON's own whitespace */
		map[size] = '\0';
		write_text(dir, "bundle.js.map", map);
		free(map);
		int warned = c->count[PP_LOG_WARN];
		uint64_t id = load_dir(rt, dir, PP_OK);
		bool over = size > cap;
		assert_int_equal(c->count[PP_LOG_WARN], warned + over);
		assert_int_equal(js_call(rt, "js.mapped", 0, NULL, NULL), PP_ERR_GENERIC);
		if (over)
			assert_null(strstr(pp_last_error(rt), "src/orig.ts"));
		else
			assert_contains(pp_last_error(rt), "at thrower (src/orig.ts:10:3)");
		assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	}
}

static void source_maps_name_the_original_file_and_line(void **state)
{
	(void)state;
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_env(&c, 0);
	char dir[64];
	temp_dir(dir, sizeof dir);
	static const char src[] = "function thrower() {\n"
	                          "  throw new Error('mapped');\n"
	                          "}\n" JS_PRELUDE "function polyplug_init() {\n"
	                          "  return ok([reg('js.mapped', [() => thrower()])]);\n}\n"
	                          "//# sourceMappingURL=bundle.js.map\n";
	write_text(dir, "bundle.js", src);
	/* line 1 -> orig.ts:1:1, line 2 -> orig.ts:10:3 (0-based 9 and 2) */
	write_text(dir, "bundle.js.map",
	           "{\"version\":3,\"sources\":[\"src/orig.ts\"],\"names\":[],"
	           "\"mappings\":\"AAAA;AASE\"}");
	uint64_t id = load_dir(rt, dir, PP_OK);
	assert_int_equal(js_call(rt, "js.mapped", 0, NULL, NULL), PP_ERR_GENERIC);
	assert_contains(pp_last_error(rt), "at thrower (src/orig.ts:10:3)");
	assert_null(strstr(pp_last_error(rt), "bundle.js:2:")); /* replaced */
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	/* broken maps: the bundle's own lines, and a warning */
	static const struct {
		const char *map, *why;
	} broken[] = {{"not json", "(SyntaxError: "},
	              {"[1, 2]", "(its sources are not 1 to 65535 strings)"},
	              {"7", "(not a JSON object)"},
	              {"{\"sources\":[\"a.ts\"],\"mappings\":\"A!!\"}", "(its mappings are not"},
	              {"{\"sources\":[],\"mappings\":\"AAAA\"}", "(its sources are not"},
	              {"{\"sources\":[\"a.ts\"],\"mappings\":\"ACAA\"}", /* source 1 of 1 */
	               "(its mappings are not"},
	              {"{\"sources\":[\"a.ts\"],\"mappings\":\"AAAA,gggggggggggA\"}",
	               "(its mappings are not"}};
	for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
		write_text(dir, "bundle.js.map", broken[i].map);
		int warned = c.count[PP_LOG_WARN];
		id = load_dir(rt, dir, PP_OK);
		assert_int_equal(c.count[PP_LOG_WARN], warned + 1); /* "source map ... not read" */
		assert_contains(c.previous, broken[i].why);         /* before "loaded bundle" */
		assert_int_equal(js_call(rt, "js.mapped", 0, NULL, NULL), PP_ERR_GENERIC);
		assert_contains(pp_last_error(rt), "bundle.js:2:");
		assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	}
	/* a guest's message repeating the file name is rewritten 64 times at
	 * most (the C work is not under the CPU limit), and a map whose tables
	 * would outgrow their share of the VM's memory is refused */
	write_text(dir, "bundle.js.map",
	           "{\"version\":3,\"sources\":[\"src/orig.ts\"],\"names\":[],"
	           "\"mappings\":\"AAAA;AASE\"}");
	static const char noisy[] =
	        "function thrower() {\n"
	        "  throw new Error((bundlePath + '/bundle.js:2:3 ').repeat(30000));\n"
	        "}\n" JS_PRELUDE "function polyplug_init() {\n"
	        "  return ok([reg('js.mapped', [() => thrower(), () => { throw '\\n'.repeat(18); "
	        "}])]);\n"
	        "}\n//# sourceMappingURL=bundle.js.map\n";
	write_text(dir, "bundle.js", noisy);
	id = load_dir(rt, dir, PP_OK);
	assert_int_equal(js_call(rt, "js.mapped", 0, NULL, NULL), PP_ERR_GENERIC);
	assert_contains(pp_last_error(rt), "src/orig.ts:10:3 "); /* the first ones are mapped */
	/* a message of newlines only: cut at 16 frames without writing past it */
	assert_int_equal(js_call(rt, "js.mapped", 1, NULL, NULL), PP_ERR_GENERIC);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	pp_runtime_free(rt);

	pp_runtime_config cfg;
	pp_runtime_config_init(&cfg);
	cfg.log = capture_log;
	cfg.log_userdata = &c;
	cfg.js.memory_bytes = 4u << 20; /* map tables: 1 MiB at most */
	assert_int_equal(pp_runtime_new(&cfg, &rt), PP_OK);
	size_t lines = 300000;
	char *big = malloc(lines + 128);
	assert_non_null(big);
	int k = snprintf(big, 128, "{\"sources\":[\"a.ts\"],\"mappings\":\"");
	memset(big + k, ';', lines);
	strcpy(big + k + lines, "\"}");
	write_text(dir, "bundle.js.map", big);
	free(big);
	int warned = c.count[PP_LOG_WARN];
	id = load_dir(rt, dir, PP_OK);
	assert_int_equal(c.count[PP_LOG_WARN], warned + 1);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	/* and the map's file is read up to a quarter of the VM's memory limit
	 * (1 MiB here): just under it is applied, just over it is not read */
	write_text(dir, "bundle.js", src);
	map_read_up_to(rt, &c, dir, 1u << 20);
	pp_runtime_free(rt);
	/* and never past 16 MiB, whatever the limit (a quarter of 128 MiB is
	 * 32 MiB) */
	cfg.js.memory_bytes = 128u << 20;
	assert_int_equal(pp_runtime_new(&cfg, &rt), PP_OK);
	map_read_up_to(rt, &c, dir, 16u << 20);
	pp_runtime_free(rt);
	remove_tree(dir);
}

/* A bundle that is a single file has no directory of its own (the one it
 * sits in may hold other bundles' files): it may not read its source map
 * from there, as it may not import from there; an inline map is its own. */
static void a_single_file_bundle_reads_no_source_map_from_its_neighbours(void **state)
{
	(void)state;
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_env(&c, 0);
	char dir[64], path[128];
	temp_dir(dir, sizeof dir);
	write_text(dir, "neighbour.json",
	           "{\"version\":3,\"sources\":[\"SECRET\"],\"names\":[],"
	           "\"mappings\":\"AAAA;AASE\"}");
	write_text(dir, "single.js",
	           "function thrower() {\n"
	           "  throw new Error('mapped');\n"
	           "}\n" JS_PRELUDE "function polyplug_init() {\n"
	           "  return ok([reg('js.single', [() => thrower()])]);\n}\n"
	           "//# sourceMappingURL=neighbour.json\n");
	snprintf(path, sizeof path, "%s/single.js", dir);
	uint64_t id = 0;
	assert_int_equal(pp_bundle_load(rt, path, NULL, &id), PP_OK);
	assert_int_equal(js_call(rt, "js.single", 0, NULL, NULL), PP_ERR_GENERIC);
	assert_null(strstr(pp_last_error(rt), "SECRET"));
	assert_contains(pp_last_error(rt), "single.js:2:");
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	pp_runtime_free(rt);
	remove_tree(dir);
}

static pp_runtime *replay_rt;

static void replay_srcmap(const char *data, size_t len, const char *name)
{
	(void)name;
	srcmap_run(replay_rt, (const uint8_t *)data, len);
	assert_int_equal(pp_runtime_quiesce(replay_rt), PP_OK);
}

/* What fuzz_srcmap found, and its seeds: maps of every shape, applied to
 * messages that name the bundle's positions at will, load (or are
 * ignored) and rewrite cleanly, and the runtime stays usable. */
static void the_source_map_fuzz_corpus_loads_and_rewrites_cleanly(void **state)
{
	(void)state;
	replay_rt = rt_new();
	assert_true(replay_dir(PP_SOURCE_DIR "/fuzz/corpus/srcmap", replay_srcmap) > 0);
	replay_dir(PP_SOURCE_DIR "/fuzz/regressions/srcmap", replay_srcmap);
	/* a seed's map is applied: its message names the original file */
	static const uint8_t seed[] = "boom at fz:6:31\0{\"sources\":[\"src/a.ts\"],"
	                              "\"mappings\":\"AAAA;AACA;AACA;AACA;AACA;AAAA,8BAAE\"}";
	static char src[1 << 12];
	size_t n = srcmap_bundle(seed, sizeof seed - 1, src, sizeof src);
	pp_load_options o = {.name = "fz"};
	assert_int_equal(pp_bundle_load_source(replay_rt, src, n, &o, NULL), PP_OK);
	pp_guest_contract_handle h = pp_find(replay_rt, pp_guest_contract_id("fz.M", 1), 0);
	uint8_t out[8];
	assert_int_not_equal(
	        pp_call(replay_rt, h, (pp_guest_contract_instance){NULL, 0}, 0, NULL, out, NULL),
	        PP_OK);
	assert_contains(pp_last_error(replay_rt), "src/a.ts:");
	pp_runtime_free(replay_rt);
}

/* A bundle that starts importing a module whose evaluation never settles,
 * and is then unloaded, is freed cleanly: QuickJS freed the module while
 * the pending evaluation's functions still held it (ASan: use after free;
 * a plain build aborted in glibc). A module that imports itself, and one
 * awaited at load, likewise. */
static void a_module_left_evaluating_is_freed_with_its_bundle(void **state)
{
	(void)state;
	static const char *const calls[] = {
	        "function () { import('./never.js'); return 0; }",
	        "function () { import('./self.js'); return 0; }",
	        "function () { import('./never.js').then(function () {}); return 0; }"};
	for (size_t i = 0; i < 3; i++) {
		pp_runtime *rt = rt_new();
		char dir[64], src[1024];
		temp_dir(dir, sizeof dir);
		write_text(dir, "never.js", "await new Promise(function () {});\n");
		write_text(
		        dir, "self.js",
		        "import * as me from './self.js';\nawait new Promise(function () {});\n");
		snprintf(src, sizeof src,
		         JS_PRELUDE "export function polyplug_init() {\n"
		                    "  return ok([reg('js.never', [%s])]);\n}\n",
		         calls[i]);
		write_text(dir, "bundle.js", src);
		uint64_t id = 0;
		assert_int_equal(pp_bundle_load(rt, dir, NULL, &id), PP_OK);
		assert_int_equal(js_call(rt, "js.never", 0, NULL, NULL), PP_OK);
		assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
		assert_int_equal(pp_runtime_quiesce(rt), PP_OK); /* its VM is freed */
		pp_runtime_free(rt);
		remove_tree(dir);
	}
}

/* A dynamic import() that fails (a file that is not there, one that throws
 * as it is evaluated, one that does not parse, one outside the directory)
 * and is caught is the bundle's business: nothing is logged as unhandled. */
static void a_caught_failing_dynamic_import_is_not_reported_unhandled(void **state)
{
	(void)state;
	log_capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_env(&c, 0);
	char dir[64];
	temp_dir(dir, sizeof dir);
	write_text(dir, "throws.js", "throw new Error('at evaluation');\n");
	write_text(dir, "broken.js", "export const = ;\n");
	write_text(dir, "bundle.js",
	           MODULE_BUNDLE("", "export",
	                         "async () => { for (const f of ['./missing.js', './throws.js',"
	                         " './broken.js', '../out.js']) {"
	                         " try { await import(f); return 9; } catch (e) {} } return 0; }"));
	load_dir(rt, dir, PP_OK);
	assert_int_equal(js_call(rt, "js.mod", 0, NULL, NULL), PP_OK);
	if (c.count[PP_LOG_ERROR])
		fail_msg("%d errors logged, the last: %s", c.count[PP_LOG_ERROR], c.last);
	pp_runtime_free(rt);
	remove_tree(dir);
}

static pp_status load_limited(pp_runtime *rt, const char *name, const char *src, uint32_t cpu_ms)
{
	pp_load_options o = {.name = name, .js = {.cpu_ms = cpu_ms}};
	return pp_bundle_load_source(rt, src, strlen(src), &o, NULL);
}

/* Jobs that guest code queues where the loader runs it after a call has
 * settled (an exception's toString, a method getter at instance creation or
 * at load), and jobs still queued when the CPU limit stops a call, never run
 * in the bundle's next call, another caller's, under its budget: they run in
 * the entry that made them, or (past its limit) not at all. */
static void jobs_a_call_leaves_never_reach_the_next_caller(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	static const char tostr[] = JS_PRELUDE
	        "function polyplug_init() {\n"
	        "  return ok([reg('js.tostr', [function () { return 0; },\n"
	        "    function () { throw { toString() {\n"
	        "      queueMicrotask(function () { for (;;) {} }); return 'bye'; } }; },\n"
	        "    function () { queueMicrotask(function () { for (;;) {} });\n"
	        "      queueMicrotask(function () { for (;;) {} }); return 0; }])]);\n}\n";
	assert_int_equal(load_limited(rt, "tostr", tostr, 200), PP_OK);
	assert_int_equal(js_call(rt, "js.tostr", 1, NULL, NULL), PP_ERR_GENERIC);
	assert_int_equal(js_call(rt, "js.tostr", 0, NULL, NULL), PP_OK);
	/* two spinning jobs: the first is stopped, the second never runs */
	assert_int_equal(js_call(rt, "js.tostr", 2, NULL, NULL), PP_ERR_TIMEOUT);
	assert_int_equal(js_call(rt, "js.tostr", 0, NULL, NULL), PP_OK);

	static const char getter[] = JS_PRELUDE
	        "var ran = 0, made = 0;\n"
	        "function polyplug_init() {\n"
	        "  var r = reg('js.getter', [function () {}]);\n"
	        "  r.interface.signatures = [{ params: [], result: 'i32', method: 'get' }];\n"
	        "  r.interface.factory = function () {\n"
	        "    var first = made++ === 0;\n"
	        "    return { get get() { if (!first) queueMicrotask(function () {\n"
	        "        ran++; for (;;) {} });\n"
	        "      return function () { return ran; }; } }; };\n"
	        "  return ok([r]);\n}\n";
	assert_int_equal(load_limited(rt, "getter", getter, 200), PP_OK);
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("js.getter", 1), 0);
	pp_guest_contract_instance none = {NULL, 0}, inst = {NULL, 0};
	int32_t out = -1;
	assert_int_equal(pp_instance_create(rt, h, NULL, &inst), PP_OK);
	assert_int_equal(pp_call(rt, h, none, 0, NULL, &out, NULL), PP_OK);
	assert_int_equal(out, 1); /* it ran, in the create, and was stopped there */
	assert_int_equal(pp_instance_destroy(rt, h, inst), PP_OK);

	static const char late[] = JS_PRELUDE
	        "var ran = 0;\n"
	        "function polyplug_init() {\n"
	        "  var r = reg('js.late', [function () {}]);\n"
	        "  r.interface.signatures = [{ params: [], result: 'i32', method: 'get' }];\n"
	        "  r.interface.factory = function () {\n"
	        "    return { get get() { queueMicrotask(function () { ran++; });\n"
	        "      return function () { return ran; }; } }; };\n"
	        "  return ok([r]);\n}\n";
	assert_int_equal(load_limited(rt, "late", late, 0), PP_OK);
	assert_int_equal(js_call(rt, "js.late", 0, NULL, &out), PP_OK);
	assert_int_equal(out, 1); /* the load's job ran at the load */
	pp_runtime_free(rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(console_routes_to_the_host_log_with_the_bundle_as_scope),
	        cmocka_unit_test(console_lines_are_well_formed_and_bounded),
	        cmocka_unit_test(an_empty_exception_is_reported_like_any_other),
	        cmocka_unit_test(text_encoder_and_decoder_speak_utf8),
	        cmocka_unit_test(a_huge_exception_reaches_the_host_cut_to_a_bounded_message),
	        cmocka_unit_test(text_codec_methods_throw_on_a_this_not_their_own),
	        cmocka_unit_test(
	                text_codecs_made_for_a_new_target_without_a_prototype_get_their_own),
	        cmocka_unit_test(the_global_object_has_exactly_the_documented_names),
	        cmocka_unit_test(eval_is_always_the_global_eval),
	        cmocka_unit_test(microtasks_and_promises_run_before_the_call_returns),
	        cmocka_unit_test(unhandled_rejections_are_reported_once_the_jobs_have_run),
	        cmocka_unit_test(reporting_a_rejection_leaves_no_exception_behind),
	        cmocka_unit_test(
	                a_rejection_made_while_the_loader_reads_a_result_is_reported_by_that_call),
	        cmocka_unit_test(a_load_reports_its_own_error_once),
	        cmocka_unit_test(async_typed_functions_and_init_are_awaited),
	        cmocka_unit_test(es_modules_import_files_of_their_own_directory),
	        cmocka_unit_test(a_script_that_only_looks_like_a_module_stays_a_script),
	        cmocka_unit_test(
	                a_bundle_parsing_as_neither_reports_the_error_of_the_kind_it_looks_like),
	        cmocka_unit_test(imports_that_leave_the_bundle_directory_are_refused),
	        cmocka_unit_test(a_script_a_manifest_names_imports_from_its_bundle_directory),
	        cmocka_unit_test(an_import_error_never_tells_whether_a_path_outside_exists),
	        cmocka_unit_test(bundle_files_stay_inside_where_openat2_is_refused),
	        cmocka_unit_test(a_file_on_the_way_is_not_a_directory_with_or_without_openat2),
	        cmocka_unit_test(a_deep_path_inside_opens_with_or_without_openat2),
	        cmocka_unit_test(
	                without_openat2_an_import_error_never_tells_whether_a_path_outside_exists),
	        cmocka_unit_test(
	                a_bundle_js_linking_out_fails_alike_however_its_directory_is_written),
	        cmocka_unit_test(the_cpu_limit_cannot_be_caught_through_the_environment),
	        cmocka_unit_test(messages_and_log_records_reach_the_host_as_well_formed_utf8),
	        cmocka_unit_test(imports_read_only_regular_files_within_the_limit),
	        cmocka_unit_test(an_import_that_cannot_be_read_names_its_importer),
	        cmocka_unit_test(a_broken_or_short_imported_module_fails_naming_that_module),
	        cmocka_unit_test(
	                what_a_pools_load_keeps_of_its_imports_totals_at_most_the_memory_limit),
	        cmocka_unit_test(source_maps_name_the_original_file_and_line),
	        cmocka_unit_test(a_single_file_bundle_reads_no_source_map_from_its_neighbours),
	        cmocka_unit_test(inline_source_maps_are_read),
	        cmocka_unit_test(the_source_map_fuzz_corpus_loads_and_rewrites_cleanly),
	        cmocka_unit_test(a_module_left_evaluating_is_freed_with_its_bundle),
	        cmocka_unit_test(a_caught_failing_dynamic_import_is_not_reported_unhandled),
	        cmocka_unit_test(jobs_a_call_leaves_never_reach_the_next_caller),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
