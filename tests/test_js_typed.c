/*
 * test_js_typed.c — typed signatures, the JS loader's fast path: every type
 * in both directions (host -> JS args, JS -> host results), strings and
 * buffers of every size with arena overflow, status codes, bad signatures,
 * instances, and a raw JS caller reaching a typed function as a peer.
 */
#include <stdbool.h>

#include "js_helpers.h"

/* treg(name, fns, sigs): a registration whose interface has signatures. */
#define TYPED_PRELUDE                                                                   \
	JS_PRELUDE                                                                      \
	"function treg(name, fns, sigs, factory) {\n"                                   \
	"  var r = reg(name, fns, factory); r.interface.signatures = sigs; return r;\n" \
	"}\n"

/* A bundle with one typed contract: fns and sigs are JS array bodies. */
#define JS_TYPED(contract, fns, sigs)                                      \
	TYPED_PRELUDE "function polyplug_init(hl, hh, cl, ch, bridge) {\n" \
	              "  return ok([treg('" contract "', [" fns "], [" sigs "])]);\n}\n"

static uint32_t call_on(pp_runtime *rt, const char *contract, uint32_t fn, const void *args,
                        void *out, pp_call_arena *arena)
{
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id(contract, 1), 0);
	pp_guest_contract_instance none = {NULL, 0};
	return pp_call(rt, h, none, fn, args, out, arena);
}

static bool view_is(pp_string_view v, const char *s)
{
	return v.len == strlen(s) && (v.len == 0 || memcmp(v.ptr, s, v.len) == 0);
}

/* ---- Host -> JS: every param type, laid out as C lays out the struct ----- */

typedef struct {
	bool b;
	int8_t i8;
	uint8_t u8;
	int16_t i16;
	uint16_t u16;
	int32_t i32;
	uint32_t u32;
	int64_t i64;
	uint64_t u64;
	float f32;
	double f64;
	pp_string_view s;
	pp_string_view buf;
} all_args;

static void every_param_type_arrives_exactly(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	js_load_ok(
	        rt, "params",
	        JS_TYPED("js.params",
	                 "function (impl, b, i8, u8, i16, u16, i32, u32, i64, u64, f32, f64, s, "
	                 "buf) {\n"
	                 "  var kinds = [b, i8, u8, i16, u16, i32, u32, i64, u64, f32, f64, s, "
	                 "buf].map(function (v) { return typeof v; }).join(' ');\n"
	                 "  var bytes = Array.prototype.join.call(buf, '.');\n"
	                 "  return [b, i8, u8, i16, u16, i32, u32, i64, u64, f32, f64, s, "
	                 "buf instanceof Uint8Array, bytes].join(',') + '|' + kinds; }",
	                 "{ params: ['bool', 'i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', "
	                 "'u64', 'f32', 'f64', 'StringView', 'Buffer'], result: 'StringView' }"));
	static const uint8_t bytes[] = {1, 2, 255};
	all_args a = {true,       INT8_MIN,  UINT8_MAX,  INT16_MIN,
	              UINT16_MAX, INT32_MIN, UINT32_MAX, INT64_MIN,
	              UINT64_MAX, 1.5f,      -2.25,      {(const uint8_t *)"h\xc3\xa9", 3},
	              {bytes, 3}};
	uint8_t mem[256];
	pp_call_arena arena;
	pp_call_arena_init(&arena, mem, sizeof mem, pp_runtime_host_api(rt));
	pp_string_view out = {NULL, 0};
	assert_int_equal(call_on(rt, "js.params", 0, &a, &out, &arena), PP_OK);
	const char *want = "true,-128,255,-32768,65535,-2147483648,4294967295,"
	                   "-9223372036854775808,18446744073709551615,1.5,-2.25,h\xc3\xa9,true,"
	                   "1.2.255|boolean number number number number number number bigint "
	                   "bigint number number string object";
	if (!view_is(out, want))
		fail_msg("got '%.*s'", (int)out.len, (const char *)out.ptr);
	pp_call_arena_free(&arena);
	pp_runtime_free(rt);
}

/* Signatures of i32s only are read as an int32_t array, with no dispatch on
 * each param's type: every position and extreme arrives as it is. */
static void i32_params_arrive_in_place_at_every_extreme(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	js_load_ok(rt, "i32s",
	           JS_TYPED("js.i32s",
	                    "function (impl, a, b, c, d, e) { return [a, b, c, d, e].join(); },"
	                    "function (impl, a, b) { return (a - b) | 0; },"
	                    "function (impl, a, b) { return a - b; }",
	                    "{ params: ['i32', 'i32', 'i32', 'i32', 'i32'], result: 'StringView' },"
	                    "{ params: ['i32', 'i32'], result: 'i32' },"
	                    "{ params: ['i32', 'i32'], result: 'i32' }"));
	int32_t five[5] = {INT32_MIN, -1, 0, 1, INT32_MAX};
	uint8_t mem[128];
	pp_call_arena arena;
	pp_call_arena_init(&arena, mem, sizeof mem, pp_runtime_host_api(rt));
	pp_string_view text = {NULL, 0};
	assert_int_equal(call_on(rt, "js.i32s", 0, five, &text, &arena), PP_OK);
	if (!view_is(text, "-2147483648,-1,0,1,2147483647"))
		fail_msg("got '%.*s'", (int)text.len, (const char *)text.ptr);
	pp_call_arena_free(&arena);
	int32_t two[2] = {INT32_MIN, 1}, out = 0;
	assert_int_equal(call_on(rt, "js.i32s", 1, two, &out, NULL), PP_OK);
	assert_int_equal(out, INT32_MAX); /* wrapped by the guest's | 0 */
	/* without the | 0 the difference is a double out of range: refused */
	out = 7;
	assert_int_equal(call_on(rt, "js.i32s", 2, two, &out, NULL), PP_ERR_GENERIC);
	assert_contains(pp_last_error(rt), "its i32 result is -2147483649");
	assert_int_equal(out, 7);
	pp_runtime_free(rt);
}

/* ---- JS -> host: every result type ----------------------------------------- */

#define ID "function (impl, x) { return x; }"
#define SIG(t) "{ params: ['" t "'], result: '" t "' }"

static void every_result_type_is_written_back(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	js_load_ok(
	        rt, "results",
	        JS_TYPED(
	                "js.results",
	                ID "," ID "," ID "," ID "," ID "," ID "," ID "," ID "," ID "," ID "," ID
	                   ",",
	                SIG("bool") "," SIG("i8") "," SIG("u8") "," SIG("i16") "," SIG("u16") "," SIG("i32") "," SIG(
	                        "u32") "," SIG("i64") "," SIG("u64") "," SIG("f32") "," SIG("f6"
	                                                                                    "4")));
	union {
		uint8_t u8;
		int8_t i8;
		int16_t i16;
		uint16_t u16;
		int32_t i32;
		uint32_t u32;
		int64_t i64;
		uint64_t u64;
		float f32;
		double f64;
		uint8_t raw[8];
	} in, out;
#define ROUND_TRIP(fn, field, value)                                                     \
	do {                                                                             \
		memset(&in, 0, sizeof in);                                               \
		memset(&out, 0xEE, sizeof out);                                          \
		in.field = (value);                                                      \
		assert_int_equal(call_on(rt, "js.results", fn, &in, &out, NULL), PP_OK); \
		assert_true(out.field == in.field);                                      \
	} while (0)
	ROUND_TRIP(0, u8, 1);
	ROUND_TRIP(1, i8, -7);
	ROUND_TRIP(2, u8, 200);
	ROUND_TRIP(3, i16, -30000);
	ROUND_TRIP(4, u16, 60000);
	ROUND_TRIP(5, i32, INT32_MIN);
	ROUND_TRIP(6, u32, 0x80000001u);
	ROUND_TRIP(7, i64, INT64_MIN + 1);
	ROUND_TRIP(8, u64, UINT64_MAX - 1);
	ROUND_TRIP(9, f32, -0.375f);
	ROUND_TRIP(10, f64, 1e300);
#undef ROUND_TRIP
	/* only the result's own bytes are written */
	memset(&out, 0xEE, sizeof out);
	in.u16 = 0x1234;
	assert_int_equal(call_on(rt, "js.results", 4, &in, &out, NULL), PP_OK);
	assert_int_equal(out.raw[2], 0xEE);
	pp_runtime_free(rt);
}

/* A typed result is the type it declares, in range, or the call fails
 * naming the function, the field, the value and what was expected: never a
 * silent 0 or a wrapped number. */
static void results_of_the_wrong_type_or_range_fail_naming_them(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	static const struct {
		const char *type, *value;
		const char *error; /* NULL: accepted */
	} cases[] = {
	        {"u8", "255", NULL},
	        {"u8", "300", "its u8 result is 300; expected an integer in 0..255"},
	        {"u8", "-1", "its u8 result is -1; expected an integer in 0..255"},
	        {"i8", "-128", NULL},
	        {"i8", "128", "expected an integer in -128..127"},
	        {"i16", "-32769", "expected an integer in -32768..32767"},
	        {"u16", "65536", "expected an integer in 0..65535"},
	        {"u32", "-1", "its u32 result is -1; expected an integer in 0..4294967295"},
	        {"u32", "4294967295", NULL},
	        {"u32", "-0", NULL},
	        {"u32", "2 ** 32", "its u32 result is 4294967296"},
	        {"i32", "-(2 ** 31)", NULL},
	        {"i32", "2 ** 31 - 1", NULL},
	        {"i32", "2 ** 31",
	         "its i32 result is 2147483648; expected an integer in "
	         "-2147483648..2147483647"},
	        {"i32", "-(2 ** 31) - 1", "its i32 result is -2147483649"},
	        {"i32", "-0", NULL},
	        {"i32", "2.75", "its i32 result is 2.75; expected an integer"},
	        {"i32", "NaN", "its i32 result is NaN"},
	        {"i32", "Infinity", "its i32 result is Infinity"},
	        {"i32", "'7'", "its i32 result is the string \"7\"; expected an integer"},
	        {"i32", "undefined", "its i32 result is undefined"},
	        {"i32", "null", "its i32 result is null"},
	        {"i32", "true", "its i32 result is true"},
	        {"i32", "7n", "its i32 result is a BigInt"},
	        {"i32", "({ valueOf() { return 1; } })", "its i32 result is an object"},
	        {"i32", "Promise.resolve(1)", NULL}, /* awaited: the value is checked */
	        {"i32", "Promise.resolve('1')", "its i32 result is the string \"1\""},
	        {"i32", "new Promise(() => {})", "TypeError: the returned Promise never settled"},
	        {"{ struct: [['x', 'i32']] }", "({ x: Promise.resolve(1) })",
	         "its struct result, field 'x', is a Promise; expected an integer in "
	         "-2147483648..2147483647 (only a returned Promise is awaited)"},
	        {"i64", "2 ** 53", NULL},
	        {"i64", "-(2 ** 63)", NULL},
	        {"i64", "2 ** 63", "its i64 result is 9.2233720368547758e+18"},
	        {"i64", "2n ** 63n - 1n", NULL},
	        {"i64", "2n ** 63n",
	         "its i64 result is a BigInt; expected a BigInt or an integer "
	         "Number in -2^63..2^63-1"},
	        {"u64", "2n ** 64n - 1n", NULL},
	        {"u64", "2 ** 63", NULL},
	        {"u64", "-1n", "its u64 result is a BigInt"},
	        {"u64", "2 ** 64", "its u64 result is 1.8446744073709552e+19"},
	        {"u64", "0.5", "its u64 result is 0.5"},
	        {"bool", "true", NULL},
	        {"bool", "1", "its bool result is 1; expected true or false"},
	        {"bool", "'yes'", "its bool result is the string \"yes\"; expected true or false"},
	        {"f64", "NaN", NULL},
	        {"f64", "1n", "its f64 result is a BigInt; expected a Number"},
	        {"f32", "'1.5'", "its f32 result is the string \"1.5\"; expected a Number"},
	        {"void", "'not void'", NULL},
	        {"{ struct: [['x', 'i32'], ['y', 'f64']] }", "({ x: 1, y: 2.5 })", NULL},
	        {"{ struct: [['x', 'i32'], ['y', 'f64']] }", "({ x: 1 })",
	         "its struct result, field 'y', is undefined; expected a Number"},
	        {"{ struct: [['x', 'i32'], ['y', 'f64']] }", "({ x: 1.5, y: 0 })",
	         "its struct result, field 'x', is 1.5; expected an integer"},
	        {"{ struct: [['p', { struct: [['a', 'u8']] }]] }", "({ p: { a: 256 } })",
	         "its struct result, field 'p.a', is 256; expected an integer in 0..255"},
	        {"{ struct: [['x', 'i32']] }", "7", "its struct result is 7; expected an object"},
	        {"StringView", "42", "its StringView result is 42; expected a string"},
	        {"Buffer", "'text'",
	         "its Buffer result is the string \"text\"; expected an "
	         "ArrayBuffer, a typed array or a DataView"},
	        /* shaped like a DataView, even made by the global's name */
	        {"Buffer", "({ buffer: new ArrayBuffer(2), byteOffset: 0, byteLength: 2 })",
	         "its Buffer result is an object; expected an ArrayBuffer, a typed array or a "
	         "DataView"},
	        {"Buffer",
	         "(function () { globalThis.DataView = function () { return { buffer: new "
	         "ArrayBuffer(2), byteOffset: 0, byteLength: 2 }; }; return new DataView(); })()",
	         "its Buffer result is an object; expected an ArrayBuffer"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char src[4096];
		snprintf(src, sizeof src,
		         JS_TYPED("js.results", "function value() { return %s; }",
		                  "{ params: [], result: %s%s%s }"),
		         cases[i].value, cases[i].type[0] == '{' ? "" : "'", cases[i].type,
		         cases[i].type[0] == '{' ? "" : "'");
		uint64_t id = js_load_ok(rt, "results", src);
		uint64_t out[4] = {0};
		uint8_t mem[64];
		pp_call_arena arena;
		pp_call_arena_init(&arena, mem, sizeof mem, pp_runtime_host_api(rt));
		uint32_t code = call_on(rt, "js.results", 0, NULL, out, &arena);
		pp_call_arena_free(&arena);
		if (!cases[i].error) {
			if (code != PP_OK)
				fail_msg("%s %s: %s", cases[i].type, cases[i].value,
				         pp_last_error(rt));
		} else {
			if (code != PP_ERR_GENERIC)
				fail_msg("%s %s: accepted (code %u)", cases[i].type, cases[i].value,
				         code);
			assert_contains(pp_last_error(rt), "function 0: in value(): ");
			assert_contains(pp_last_error(rt), cases[i].error);
		}
		assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
	}
	pp_runtime_free(rt);
}

/* ---- Strings and buffers --------------------------------------------------- */

static void strings_cross_as_utf8_of_any_size(void **state)
{
	(void)state;
	counting_alloc ca = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_counting(&ca);
	js_load_ok(rt, "strings",
	           JS_TYPED("js.strings",
	                    "function (impl, s) { return s + s; },"
	                    "function (impl, s) { return s.length; }",
	                    "{ params: ['StringView'], result: 'StringView' },"
	                    "{ params: ['StringView'], result: 'u32' }"));
	uint8_t mem[64];
	pp_call_arena arena;
	pp_call_arena_init(&arena, mem, sizeof mem, pp_runtime_host_api(rt));
	pp_string_view in = {(const uint8_t *)"", 0}, out = {NULL, 0};
	/* empty, and a NULL view, are the empty string; an empty result is {NULL, 0} */
	assert_int_equal(call_on(rt, "js.strings", 0, &in, &out, &arena), PP_OK);
	assert_int_equal(out.len, 0);
	in.ptr = NULL;
	uint32_t n = 99;
	assert_int_equal(call_on(rt, "js.strings", 1, &in, &n, NULL), PP_OK);
	assert_int_equal(n, 0);
	/* multi-byte UTF-8 both ways; fits the arena's own buffer */
	const char *s = "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80";
	in = (pp_string_view){(const uint8_t *)s, strlen(s)};
	assert_int_equal(call_on(rt, "js.strings", 0, &in, &out, &arena), PP_OK);
	assert_int_equal(out.len, 2 * strlen(s));
	assert_memory_equal(out.ptr, s, strlen(s));
	assert_memory_equal(out.ptr + strlen(s), s, strlen(s));
	assert_true(out.ptr >= mem && out.ptr < mem + sizeof mem);
	assert_int_equal(ca.allocs, 0);
	assert_int_equal(call_on(rt, "js.strings", 1, &in, &n, NULL), PP_OK);
	assert_int_equal(n, 10); /* UTF-16 units: the emoji is a pair */
	/* 1 MiB: the result overflows into a host block */
	size_t big = (size_t)1 << 20;
	char *text = malloc(big);
	memset(text, 'x', big);
	text[big / 2] = 'y';
	in = (pp_string_view){(const uint8_t *)text, big};
	assert_int_equal(call_on(rt, "js.strings", 0, &in, &out, &arena), PP_OK);
	assert_int_equal(out.len, 2 * big);
	assert_int_equal(out.ptr[big / 2], 'y');
	assert_int_equal(out.ptr[big + big / 2], 'y');
	assert_true(out.ptr < mem || out.ptr >= mem + sizeof mem);
	assert_int_equal(ca.allocs, 1);
	pp_call_arena_free(&arena);
	assert_int_equal(ca.live, 0);
	free(text);
	pp_runtime_free(rt);
}

/* Where a result's bytes go: an Arena param in the args struct (how
 * generated glue says it), else the call's arena, else the host's
 * allocator, the caller freeing with host->free. */
/* A StringView or Buffer (16 bytes) is aligned as C aligns it, by its
 * pointer (8), not by its size: after an i32 it starts at 8, not 16. */
static void string_and_buffer_params_sit_where_c_lays_them_out(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	js_load_ok(rt, "views",
	           JS_TYPED("js.views",
	                    "function (impl, n, s, k, b, m) {"
	                    "  return [s, n, k, b.length, m].join(':'); }",
	                    "{ params: ['i32', 'StringView', 'u8', 'Buffer', 'u32'],"
	                    "  result: 'StringView' }"));
	struct {
		int32_t n;
		pp_string_view s;
		uint8_t k;
		pp_string_view b;
		uint32_t m;
	} args = {7, {(const uint8_t *)"hello", 5}, 3, {(const uint8_t *)"xy", 2}, 9};
	uint8_t mem[64];
	pp_call_arena arena;
	pp_call_arena_init(&arena, mem, sizeof mem, pp_runtime_host_api(rt));
	pp_string_view out = {NULL, 0};
	assert_int_equal(call_on(rt, "js.views", 0, &args, &out, &arena), PP_OK);
	assert_int_equal(out.len, strlen("hello:7:3:2:9"));
	assert_memory_equal(out.ptr, "hello:7:3:2:9", out.len);
	pp_call_arena_free(&arena);
	pp_runtime_free(rt);
}

static void result_bytes_go_to_the_args_arena_call_arena_or_host(void **state)
{
	(void)state;
	log_capture logs = {.lock = PTHREAD_MUTEX_INITIALIZER};
	counting_alloc ca = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime_config cfg;
	pp_runtime_config_init(&cfg);
	cfg.log = capture_log;
	cfg.log_userdata = &logs;
	cfg.alloc = ca_alloc;
	cfg.free = ca_free;
	cfg.alloc_userdata = &ca;
	pp_runtime *rt = NULL;
	assert_int_equal(pp_runtime_new(&cfg, &rt), PP_OK);
	js_load_ok(rt, "where",
	           JS_TYPED("js.where",
	                    "function () { return 'abc'; }, function () { return ''; },"
	                    "function () { return 42; },"
	                    "function (impl, n) { return 'x'.repeat(n); }",
	                    "{ params: [], result: 'StringView' }, { params: [], result: "
	                    "'StringView' }, { params: [], result: 'StringView' },"
	                    "{ params: ['u32', 'Arena'], result: 'StringView' }"));
	const pp_host_api *host = pp_runtime_host_api(rt);
	pp_string_view out = {NULL, 0};
	/* no arena at all: the host's allocator */
	assert_int_equal(call_on(rt, "js.where", 0, NULL, &out, NULL), PP_OK);
	assert_true(view_is(out, "abc"));
	assert_int_equal(ca.allocs, 1);
	host->free(host, (void *)out.ptr, out.len, 1);
	assert_int_equal(ca.live, 0);
	/* an empty string needs no memory */
	assert_int_equal(call_on(rt, "js.where", 1, NULL, &out, NULL), PP_OK);
	assert_int_equal(out.len, 0);
	assert_int_equal(ca.allocs, 1);
	/* the args' Arena wins over the call's */
	uint8_t mem1[32], mem2[32];
	pp_call_arena a1, a2;
	pp_call_arena_init(&a1, mem1, sizeof mem1, host);
	pp_call_arena_init(&a2, mem2, sizeof mem2, host);
	struct {
		uint32_t n;
		pp_call_arena *arena;
	} args = {5, &a1};
	assert_int_equal(call_on(rt, "js.where", 3, &args, &out, &a2), PP_OK);
	assert_true(view_is(out, "xxxxx"));
	assert_true(out.ptr >= mem1 && out.ptr < mem1 + sizeof mem1);
	args.arena = NULL; /* then the call's */
	assert_int_equal(call_on(rt, "js.where", 3, &args, &out, &a2), PP_OK);
	assert_true(out.ptr >= mem2 && out.ptr < mem2 + sizeof mem2);
	/* a result of the wrong kind is an error, not a guess */
	assert_int_equal(call_on(rt, "js.where", 2, NULL, &out, &a1), PP_ERR_GENERIC);
	assert_contains(logs.last, "its StringView result is 42; expected a string");
	assert_contains(logs.last, "bundle 'where'");
	/* no out pointer for a result */
	assert_int_equal(call_on(rt, "js.where", 0, NULL, NULL, &a1), PP_ERR_INVALID_ARGUMENT);
	pp_call_arena_free(&a1);
	pp_call_arena_free(&a2);
	pp_runtime_free(rt);
	assert_int_equal(ca.live, 0);
}

static void buffers_are_copies_in_and_any_view_out(void **state)
{
	(void)state;
	log_capture logs = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with_log(&logs, PP_LOG_TRACE);
	js_load_ok(rt, "buffers",
	           JS_TYPED("js.buffers",
	                    /* reverses a copy, scribbling on the one it was given */
	                    "function (impl, u8) { var r = u8.slice().reverse(); u8.fill(0);"
	                    "  return r; },"
	                    "function (impl, u8) { return u8.buffer; },"
	                    "function (impl, u8) { return new DataView(u8.buffer, 1, 2); },"
	                    "function (impl, u8) { return new Uint16Array([0x0201, 0x0403]);"
	                    "  },"
	                    "function (impl, u8) { return u8.subarray(2); },"
	                    "function (impl, u8) { return 'text'; }",
	                    "{ params: ['Buffer'], result: 'Buffer' },"
	                    "{ params: ['Buffer'], result: 'Buffer' },"
	                    "{ params: ['Buffer'], result: 'Buffer' },"
	                    "{ params: ['Buffer'], result: 'Buffer' },"
	                    "{ params: ['Buffer'], result: 'Buffer' },"
	                    "{ params: ['Buffer'], result: 'Buffer' }"));
	static const uint8_t data[] = {10, 20, 30, 40}; /* read-only memory: JS writes a copy */
	pp_string_view in = {data, sizeof data}, out = {NULL, 0};
	uint8_t mem[64];
	pp_call_arena arena;
	pp_call_arena_init(&arena, mem, sizeof mem, pp_runtime_host_api(rt));
	assert_int_equal(call_on(rt, "js.buffers", 0, &in, &out, &arena), PP_OK);
	assert_int_equal(out.len, 4);
	assert_memory_equal(out.ptr, ((uint8_t[]){40, 30, 20, 10}), 4);
	assert_int_equal(data[0], 10);
	assert_int_equal(call_on(rt, "js.buffers", 1, &in, &out, &arena), PP_OK);
	assert_memory_equal(out.ptr, data, 4);
	assert_int_equal(call_on(rt, "js.buffers", 2, &in, &out, &arena), PP_OK);
	assert_int_equal(out.len, 2);
	assert_memory_equal(out.ptr, ((uint8_t[]){20, 30}), 2);
	assert_int_equal(call_on(rt, "js.buffers", 3, &in, &out, &arena), PP_OK);
	assert_int_equal(out.len, 4);
	assert_memory_equal(out.ptr, ((uint8_t[]){1, 2, 3, 4}), 4);
	assert_int_equal(call_on(rt, "js.buffers", 4, &in, &out, &arena), PP_OK);
	assert_int_equal(out.len, 2);
	assert_memory_equal(out.ptr, ((uint8_t[]){30, 40}), 2);
	assert_int_equal(call_on(rt, "js.buffers", 5, &in, &out, &arena), PP_ERR_GENERIC);
	assert_contains(logs.last, "its Buffer result is the string \"text\"; expected an "
	                           "ArrayBuffer, a typed array or a DataView");
	/* empty and NULL buffers are empty Uint8Arrays */
	in = (pp_string_view){NULL, 0};
	assert_int_equal(call_on(rt, "js.buffers", 0, &in, &out, &arena), PP_OK);
	assert_int_equal(out.len, 0);
	/* 4 MiB each way, through a host block */
	size_t big = (size_t)4 << 20;
	uint8_t *blob = malloc(big);
	for (size_t i = 0; i < big; i++)
		blob[i] = (uint8_t)(i * 7);
	in = (pp_string_view){blob, big};
	assert_int_equal(call_on(rt, "js.buffers", 0, &in, &out, &arena), PP_OK);
	assert_int_equal(out.len, big);
	assert_int_equal(out.ptr[0], blob[big - 1]);
	assert_int_equal(out.ptr[big - 1], blob[0]);
	assert_int_equal(blob[5], (uint8_t)35);
	free(blob);
	pp_call_arena_free(&arena);
	pp_runtime_free(rt);
}

/* A view-like object whose `buffer` getter makes a new ArrayBuffer: the
 * only reference to it is the loader's, which must outlive the copy (a Buffer
 * result) and the decode (TextDecoder); freed first, both read freed memory. */
/* A DataView's own getters are the guest's to replace: the one for its
 * buffer here makes a new one, which nothing else holds, for each read. */
static void a_view_whose_buffer_getter_makes_a_new_one_is_read_while_held(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	js_load_ok(rt, "fresh",
	           "function fresh() { var dv = new DataView(new ArrayBuffer(4096));\n"
	           "  return Object.defineProperty(dv, 'buffer', { get() {\n"
	           "    var ab = new ArrayBuffer(4096); new Uint8Array(ab).fill(65); return ab;\n"
	           "  } }); }\n" JS_TYPED(
	                   "js.fresh",
	                   "function () { return fresh(); },"
	                   "function () { var s = new TextDecoder().decode(fresh());"
	                   "  return s === 'A'.repeat(4096) ? 1 : 0; }",
	                   "{ params: [], result: 'Buffer' }, { params: [], result: 'i32' }"));
	uint8_t mem[8192];
	pp_call_arena arena;
	pp_call_arena_init(&arena, mem, sizeof mem, pp_runtime_host_api(rt));
	pp_string_view out = {NULL, 0};
	assert_int_equal(call_on(rt, "js.fresh", 0, NULL, &out, &arena), PP_OK);
	assert_int_equal(out.len, 4096);
	for (size_t i = 0; i < out.len; i++)
		assert_int_equal(out.ptr[i], 65);
	int32_t same = 0;
	assert_int_equal(call_on(rt, "js.fresh", 1, NULL, &same, NULL), PP_OK);
	assert_int_equal(same, 1);
	pp_call_arena_free(&arena);
	pp_runtime_free(rt);
}

/* Text crosses as well-formed UTF-8 both ways: invalid bytes arrive as one
 * U+FFFD per maximal bad sequence (no valid byte lost), a lone surrogate
 * leaves as U+FFFD; and a struct param's fields are the object's own,
 * whatever setters Object.prototype has. */
static void text_crosses_as_well_formed_utf8_and_structs_as_own_fields(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	js_load_ok(
	        rt, "text",
	        "var seen = 0;\n"
	        "Object.defineProperty(Object.prototype, 'x', { set: function (v) { seen = v; },"
	        " configurable: true });\n" JS_TYPED(
	                "js.text",
	                "function (impl, s) { return escape(s); },"
	                "function () { return 'a\\uD800b\\uDFFF'; },"
	                "function (impl, p) { return (Object.prototype.hasOwnProperty.call(p, 'x')"
	                " && p.x === 7 ? 1000 : 0) + seen; }",
	                "{ params: ['StringView'], result: 'StringView' },"
	                "{ params: [], result: 'StringView' },"
	                "{ params: [{ struct: [['x', 'i32'], ['y', 'i32']] }], result: 'i32' }"));
	uint8_t mem[256];
	pp_call_arena arena;
	pp_call_arena_init(&arena, mem, sizeof mem, pp_runtime_host_api(rt));
	pp_string_view in = {(const uint8_t *)"\x80"
	                                      "A\xe2\x82"
	                                      "BC",
	                     6},
	               out = {NULL, 0};
	assert_int_equal(call_on(rt, "js.text", 0, &in, &out, &arena), PP_OK);
	assert_true(view_is(out, "%uFFFDA%uFFFDBC"));
	assert_int_equal(call_on(rt, "js.text", 1, NULL, &out, &arena), PP_OK);
	assert_int_equal(out.len, 8);
	assert_memory_equal(out.ptr,
	                    "a\xef\xbf\xbd"
	                    "b\xef\xbf\xbd",
	                    8);
	int32_t xy[2] = {7, 8}, r = -1;
	assert_int_equal(call_on(rt, "js.text", 2, xy, &r, NULL), PP_OK);
	assert_int_equal(r, 1000);
	pp_call_arena_free(&arena);
	pp_runtime_free(rt);
}

/* bridge.fast: whole strings in one call for glue that keeps the raw
 * protocol (reading a StringView arg, writing a StringView result). */
static void fast_string_helpers_move_whole_strings(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	js_load_ok(rt, "fast",
	           JS_ONE("js.fast",
	                  "function (impl, a, o, ar, b) {\n"
	                  "  var ptr = b.readU32(a + 4) * 4294967296 + b.readU32(a);\n"
	                  "  var s = b.fast.readString(ptr, b.readU32(a + 8)).toUpperCase();\n"
	                  "  var n = b.fast.utf8Length(s);\n"
	                  "  var m = b.arenaAlloc(n, ar); var p = m[1] * 4294967296 + m[0];\n"
	                  "  var wrote = b.fast.writeString(p, n, s);\n"
	                  "  var short = b.fast.writeString(p, 2, s);\n"
	                  "  var none = b.fast.writeString(0, 5, s);\n"
	                  "  b.writeU32(o, m[0]); b.writeU32(o + 4, m[1]);\n"
	                  "  b.writeU32(o + 8, wrote); b.writeU32(o + 12, short * 100 + none);\n"
	                  "  return 0; }"));
	const char *s = "gr\xc3\xbc\xc3\x9f \xe2\x82\xac";
	pp_string_view in = {(const uint8_t *)s, strlen(s)};
	struct {
		uint32_t lo, hi, wrote, truncated_and_null;
	} out;
	uint8_t mem[64];
	pp_call_arena arena;
	pp_call_arena_init(&arena, mem, sizeof mem, pp_runtime_host_api(rt));
	assert_int_equal(call_on(rt, "js.fast", 0, &in, &out, &arena), PP_OK);
	/* "GRÜSS €": ß upper-cases to SS; the bytes went into the arena */
	const char *want = "GR\xc3\x9cSS \xe2\x82\xac";
	const uint8_t *p = (const uint8_t *)(uintptr_t)((uint64_t)out.hi << 32 | out.lo);
	assert_int_equal(out.wrote, strlen(want));
	assert_memory_equal(p, want, strlen(want));
	assert_true(p >= mem && p < mem + sizeof mem);
	/* a short capacity writes that many bytes; a NULL pointer writes none */
	assert_int_equal(out.truncated_and_null, 2 * 100 + 0);
	pp_call_arena_free(&arena);
	pp_runtime_free(rt);
}

static void fast_byte_helpers_move_whole_buffers(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	js_load_ok(
	        rt, "bytes",
	        JS_ONE("js.bytes",
	               "function (impl, a, o, ar, b) {\n"
	               "  var ptr = b.readU32(a + 4) * 4294967296 + b.readU32(a);\n"
	               "  var u8 = b.fast.readBytes(ptr, b.readU32(a + 8));\n"
	               "  if (!(u8 instanceof Uint8Array)) return 90;\n"
	               "  u8.reverse();\n"
	               "  var m = b.arenaAlloc(u8.length, ar); var p = m[1] * 4294967296 + m[0];\n"
	               "  var wrote = b.fast.writeBytes(p, u8.length, u8.subarray(0));\n"
	               "  var viaBuffer = b.fast.writeBytes(p, 1, u8.buffer);\n"
	               "  var bad = 0; try { b.fast.writeBytes(p, 1, 'text'); } catch (e) { bad = "
	               "1; }\n"
	               "  b.writeU32(o, m[0]); b.writeU32(o + 4, m[1]);\n"
	               "  b.writeU32(o + 8, wrote); b.writeU32(o + 12, viaBuffer * 10 + bad);\n"
	               "  return 0; }"));
	static const uint8_t data[] = {1, 2, 3, 250};
	pp_string_view in = {data, sizeof data};
	struct {
		uint32_t lo, hi, wrote, checks;
	} out;
	uint8_t mem[64];
	pp_call_arena arena;
	pp_call_arena_init(&arena, mem, sizeof mem, pp_runtime_host_api(rt));
	assert_int_equal(call_on(rt, "js.bytes", 0, &in, &out, &arena), PP_OK);
	const uint8_t *p = (const uint8_t *)(uintptr_t)((uint64_t)out.hi << 32 | out.lo);
	assert_int_equal(out.wrote, 4);
	assert_memory_equal(p, ((uint8_t[]){250, 3, 2, 1}), 4);
	assert_int_equal(out.checks, 11); /* one byte via the ArrayBuffer; a string refused */
	pp_call_arena_free(&arena);
	pp_runtime_free(rt);
}

/* ---- Status codes and errors ----------------------------------------------- */

static void throws_give_codes_and_messages(void **state)
{
	(void)state;
	log_capture logs = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with_log(&logs, PP_LOG_TRACE);
	js_load_ok(rt, "throws",
	           JS_TYPED("js.throws",
	                    "function () { var e = new Error('not found'); e.code = 404;"
	                    "  throw e; },"
	                    "function () { throw new Error('typed guest exploded'); },"
	                    "function () { throw { code: 'ENOENT' }; },"
	                    "function (impl, x) { return x * 2; }",
	                    "{ params: [], result: 'i32' }, { params: [], result: 'i32' },"
	                    "{ params: [], result: 'i32' }, { params: ['i32'], result: 'i32' }"));
	int32_t out = 0;
	assert_int_equal(call_on(rt, "js.throws", 0, NULL, &out, NULL), 404);
	assert_contains(logs.last, "not found");
	assert_int_equal(call_on(rt, "js.throws", 1, NULL, &out, NULL), PP_ERR_GENERIC);
	assert_contains(logs.last, "typed guest exploded");
	assert_contains(pp_last_error(rt), "bundle 'throws'");
	assert_int_equal(call_on(rt, "js.throws", 2, NULL, &out, NULL), PP_ERR_GENERIC);
	/* args are read from the struct: a NULL one is an error, not a crash */
	assert_int_equal(call_on(rt, "js.throws", 3, NULL, &out, NULL), PP_ERR_GENERIC);
	int32_t x = 21;
	assert_int_equal(call_on(rt, "js.throws", 3, &x, &out, NULL), PP_OK);
	assert_int_equal(out, 42);
	pp_runtime_free(rt);
}

static void bad_signatures_fail_the_load_by_name(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	static const struct {
		const char *sigs, *expect;
	} cases[] = {
	        {"{ params: ['i33'], result: 'i32' }", "unknown type 'i33'"},
	        {"{ params: ['i32'], result: 'string' }", "unknown type 'string'"},
	        {"{ params: 'i32', result: 'i32' }", "params must be an array"},
	        {"{ params: ['void'] }", "void is only a result type"},
	        {"{ params: [7] }", "params[0] is not a type name"},
	        {"{ params: ['Arena', 'Arena'] }", "only one Arena param"},
	        {"{ params: [{ struct: [] }] }", "with 1 to 64 fields"},
	        {"{ params: [{ struct: [['s', 'StringView']] }] }",
	         "a struct field has a fixed size"},
	        {"{ params: [{ struct: [[7, 'u8']] }] }", "with a string name"},
	        {"{ params: [{ struct: [['a', 'u9']] }] }", "unknown type 'u9'"},
	        {"{ params: [], result: 'Arena' }", "Arena is only a param type"},
	        {"'i32'", "must be an object"},
	        {"{ params: ['i32','i32','i32','i32','i32','i32','i32','i32','i32','i32',"
	         "'i32','i32','i32','i32','i32','i32','i32'] }",
	         "at most 16"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char src[4096];
		snprintf(src, sizeof src,
		         TYPED_PRELUDE "function polyplug_init(hl, hh, cl, ch, bridge) {\n"
		                       "  return ok([treg('js.bad', [function () { return 0; }],"
		                       " [%s])]);\n}\n",
		         cases[i].sigs);
		assert_int_equal(js_load_src(rt, "badsig", src, NULL), PP_ERR_INIT_FAILED);
		assert_contains(pp_last_error(rt), "bundle 'badsig'");
		assert_contains(pp_last_error(rt), "contract 'js.bad@1' function 0");
		assert_contains(pp_last_error(rt), cases[i].expect);
	}
	/* not an array at all */
	assert_int_equal(js_load_src(rt, "badsig",
	                             TYPED_PRELUDE
	                             "function polyplug_init(hl, hh, cl, ch, bridge) {\n"
	                             "  return ok([treg('js.bad', [function () { return 0; }],"
	                             " 'i32')]);\n}\n",
	                             NULL),
	                 PP_ERR_INIT_FAILED);
	assert_contains(pp_last_error(rt), "signatures is not an array");
	/* nothing was left registered; a good one loads under the same name */
	assert_true(pp_handle_is_null(pp_find(rt, pp_guest_contract_id("js.bad", 1), 0)));
	js_load_ok(rt, "badsig",
	           JS_TYPED("js.bad", "function (impl, a) { return a + 1; }",
	                    "{ params: ['i32'], result: 'i32' }"));
	int32_t a = 1, out = 0;
	assert_int_equal(call_on(rt, "js.bad", 0, &a, &out, NULL), PP_OK);
	assert_int_equal(out, 2);
	pp_runtime_free(rt);
}

/* ---- Instances and peers ---------------------------------------------------- */

static void typed_functions_get_the_instance_impl(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	js_load_ok(rt, "acc",
	           TYPED_PRELUDE
	           "function polyplug_init(hl, hh, cl, ch, bridge) {\n"
	           "  return ok([treg('js.acc', [function (impl, x) { impl.n += x; return "
	           "impl.n; }],\n"
	           "    [{ params: ['i64'], result: 'i64' }],\n"
	           "    function () { return { n: 0n }; })]);\n}\n");
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("js.acc", 1), 0);
	pp_guest_contract_instance i1, i2;
	assert_int_equal(pp_instance_create(rt, h, NULL, &i1), PP_OK);
	assert_int_equal(pp_instance_create(rt, h, NULL, &i2), PP_OK);
	int64_t x = 5, out = 0;
	assert_int_equal(pp_call(rt, h, i1, 0, &x, &out, NULL), PP_OK);
	assert_int_equal(pp_call(rt, h, i1, 0, &x, &out, NULL), PP_OK);
	assert_true(out == 10);
	x = -1;
	assert_int_equal(pp_call(rt, h, i2, 0, &x, &out, NULL), PP_OK);
	assert_true(out == -1);
	assert_int_equal(pp_instance_destroy(rt, h, i1), PP_OK);
	assert_int_equal(pp_instance_destroy(rt, h, i2), PP_OK);
	pp_runtime_free(rt);
}

/* { method: 'name' }: the loader calls the impl's method with the impl as
 * this (no wrapper function). Methods are looked up once, when the factory
 * has made the impl: a method replaced later is not seen, and a missing one
 * fails the load (the default impl) or the create (an instance), naming it. */
static void methods_are_bound_when_the_impl_is_made(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	js_load_ok(rt, "methods",
	           TYPED_PRELUDE
	           "class Acc { constructor() { this.n = 10; } add(x) { return this.n += x; } }\n"
	           "var made = 0;\n"
	           "function polyplug_init(hl, hh, cl, ch, bridge) {\n"
	           "  return ok([treg('js.methods', [function () { return 99; },\n"
	           "                                 function () { return 0; }],\n"
	           "    [{ params: ['i32'], result: 'i32', method: 'add' },\n"
	           "     { params: [], result: 'i32' }],\n"
	           "    function () {\n"
	           "      var a = new Acc(), n = made++;\n"
	           "      if (n === 1) a.add = function () { return -1; };\n"
	           "      if (n === 2) delete Acc.prototype.add;\n"
	           "      return a; })]);\n}\n");
	int32_t x = 5, out = 0;
	assert_int_equal(call_on(rt, "js.methods", 0, &x, &out, NULL), PP_OK);
	assert_int_equal(out, 15); /* the method ran, not functions[0] */
	assert_int_equal(call_on(rt, "js.methods", 0, &x, &out, NULL), PP_OK);
	assert_int_equal(out, 20);
	/* an instance whose own add shadows the class's gets its own */
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("js.methods", 1), 0);
	pp_guest_contract_instance inst;
	assert_int_equal(pp_instance_create(rt, h, NULL, &inst), PP_OK);
	assert_int_equal(pp_call(rt, h, inst, 0, &x, &out, NULL), PP_OK);
	assert_int_equal(out, -1);
	assert_int_equal(pp_instance_destroy(rt, h, inst), PP_OK);
	/* the default impl keeps the method it was made with */
	assert_int_equal(call_on(rt, "js.methods", 0, &x, &out, NULL), PP_OK);
	assert_int_equal(out, 25);
	/* the third factory call deletes the method from the class: the create
	 * fails naming it, and the runtime stays usable */
	pp_guest_contract_instance none = {NULL, 0};
	assert_int_equal(pp_instance_create(rt, h, NULL, &inst), PP_ERR_GENERIC);
	assert_true(inst.data == NULL);
	assert_contains(pp_last_error(rt), "no method 'add' (function 0)");
	assert_contains(pp_last_error(rt), "js.methods");
	assert_int_equal(pp_call(rt, h, none, 0, &x, &out, NULL), PP_OK);
	assert_int_equal(out, 30);

	assert_int_equal(
	        js_load_src(rt, "missing",
	                    TYPED_PRELUDE
	                    "class Half { a() { return 1; } }\n"
	                    "function polyplug_init(hl, hh, cl, ch, bridge) {\n"
	                    "  return ok([treg('js.half', [function () {}, function () {}],\n"
	                    "    [{ params: [], result: 'i32', method: 'a' },\n"
	                    "     { params: [], result: 'i32', method: 'b' }],\n"
	                    "    function () { return new Half(); })]);\n}\n",
	                    NULL),
	        PP_ERR_INIT_FAILED);
	assert_contains(pp_last_error(rt), "bundle 'missing'");
	assert_contains(pp_last_error(rt), "contract 'js.half@1'");
	assert_contains(pp_last_error(rt), "no method 'b' (function 1)");
	assert_int_equal(js_load_src(rt, "badmethod",
	                             TYPED_PRELUDE
	                             "function polyplug_init(hl, hh, cl, ch, bridge) {\n"
	                             "  return ok([treg('js.bm', [function () { return 0; }],"
	                             " [{ params: [], method: 7 }])]);\n}\n",
	                             NULL),
	                 PP_ERR_INIT_FAILED);
	assert_contains(pp_last_error(rt), "method must be a string");
	pp_runtime_free(rt);
}

/* test.Destroy fn 0: destroys the instance named here, from inside a call. */
static struct {
	pp_runtime *rt;
	pp_guest_contract_handle h;
	pp_guest_contract_instance inst;
} doomed;

static void destroy_doomed(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)state;
	(void)args;
	(void)out;
	err->code = pp_instance_destroy(doomed.rt, doomed.h, doomed.inst);
}

/* A method that has the host destroy its own instance keeps running on live
 * objects: the impl is freed only when the call ends. The method does not
 * use `this` (a `this` binding would hold the object itself), so only the
 * loader keeps the method and its closure alive: valgrind and ASan see a
 * use after free otherwise. */
static void an_instance_destroyed_inside_its_own_call_outlives_the_call(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	static const void *const fns[] = {(const void *)destroy_doomed};
	static const pp_fn_layout none[] = {{0, 0, PP_LAYOUT_NO_ARENA, 0, NULL}};
	static pp_host_contract_interface d = {
	        .size = sizeof d,
	        .contract_version = {1, 0, 0},
	        .dispatch_type = PP_DISPATCH_NATIVE,
	        .create_instance = no_instance,
	        .destroy_instance = drop_instance,
	        .dispatch.native = {1, fns},
	        .layouts = none,
	};
	d.contract_id = pp_host_contract_id("test.Destroy", 1);
	assert_int_equal(pp_host_contract_register(rt, &d), PP_OK);
	js_load_ok(rt, "selfdestroy",
	           TYPED_PRELUDE
	           "function polyplug_init(hl, hh, cl, ch, b) {\n"
	           "  return ok([treg('js.selfdestroy', [function () { return 0; }],\n"
	           "    [{ params: ['i32'], result: 'i32', method: 'run' }],\n"
	           "    function (bridge) {\n"
	           "      var n = 7;\n"
	           "      return { run: function (x) {\n"
	           "        var d = cid('host_contract:test.Destroy@1');\n"
	           "        var rc = bridge.callHostContract(d[0], d[1], 0x10000, 0, 0, 0);\n"
	           "        return rc === 0 ? x + n : -rc; } }; })]);\n}\n");
	doomed.rt = rt;
	doomed.h = pp_find(rt, pp_guest_contract_id("js.selfdestroy", 1), 0);
	assert_int_equal(pp_instance_create(rt, doomed.h, NULL, &doomed.inst), PP_OK);
	int32_t x = 5, out = 0;
	assert_int_equal(pp_call(rt, doomed.h, doomed.inst, 0, &x, &out, NULL), PP_OK);
	assert_int_equal(out, 12);
	/* gone now: a second call is refused, not run */
	assert_int_equal(pp_call(rt, doomed.h, doomed.inst, 0, &x, &out, NULL),
	                 PP_ERR_STALE_INSTANCE);
	pp_runtime_free(rt);
}

/* A bundle using the reference's raw protocol calls a typed function of
 * another bundle with dispatchPeer: callers cannot tell the difference. */
static void raw_peers_call_typed_functions(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	js_load_ok(rt, "typed-add",
	           JS_TYPED("js.tadd", "function (impl, a, b) { return a + b; }",
	                    "{ params: ['i32', 'i32'], result: 'i32' }"));
	js_load_ok(rt, "raw-caller",
	           JS_ONE("js.rawcaller",
	                  "function (impl, a, o, ar, b) {\n"
	                  "  var id = cid('guest_contract:js.tadd@1');\n"
	                  "  var m = b.alloc(12); var p = m[1] * 4294967296 + m[0];\n"
	                  "  b.writeI32(p, b.readI32(a)); b.writeI32(p + 4, 1000);\n"
	                  "  var rc = b.dispatchPeer(id[0], id[1], 1, 0, p, p + 8);\n"
	                  "  b.writeI32(o, b.readI32(p + 8)); b.free(m[0], m[1], 12, 8);\n"
	                  "  return rc; }"));
	int32_t a = 234, out = 0;
	assert_int_equal(call_on(rt, "js.rawcaller", 0, &a, &out, NULL), PP_OK);
	assert_int_equal(out, 1234);
	pp_runtime_free(rt);
}

/* docs/debugging.md: a failed JS call's message carries the exception with
 * up to 16 frames of its stack; a deeper stack ends in "    ..." there. */
static void a_failed_calls_stack_is_cut_to_16_frames(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	js_load_ok(rt, "deep",
	           JS_PRELUDE
	           "function down(n) { if (n === 0) throw new Error('at the bottom');\n"
	           "                   return down(n - 1) + 1; }\n"
	           "function polyplug_init() {\n"
	           "  return ok([reg('js.deep', [() => down(10), () => down(40)])]);\n}\n");
	for (uint32_t deep = 0; deep <= 1; deep++) {
		assert_int_equal(js_call(rt, "js.deep", deep, NULL, NULL), PP_ERR_GENERIC);
		const char *e = pp_last_error(rt);
		assert_contains(e, "Error: at the bottom");
		int frames = 0;
		for (const char *at = strstr(e, "\n    at "); at; at = strstr(at + 1, "\n    at "))
			frames++;
		if (deep) {
			assert_int_equal(frames, 16);
			assert_contains(e, "\n    ...");
		} else {
			assert_int_equal(frames, 12); /* the 11 calls of down, and its caller */
			assert_null(strstr(e, "\n    ..."));
		}
	}
	pp_runtime_free(rt);
}

/* Whatever stops a JS call, the host's pp_last_error says where (bundle,
 * contract, function and its name) and why (the exception and the frames
 * with file:line, or the limit); "no such function" reads the same for
 * every loader. */
static void a_failed_call_names_its_function_cause_and_frames(void **state)
{
	(void)state;
	log_capture logs = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime_config cfg;
	pp_runtime_config_init(&cfg);
	cfg.log = capture_log;
	cfg.log_userdata = &logs;
	cfg.js.cpu_ms = 100;
	cfg.js.memory_bytes = 16u << 20;
	pp_runtime *rt = NULL;
	assert_int_equal(pp_runtime_new(&cfg, &rt), PP_OK);
	js_load_ok(rt, "named",
	           TYPED_PRELUDE "function helper(a) {\n"
	                         "  throw new RangeError('bad ' + a);\n"
	                         "}\n"
	                         "class Adder { add(a, b) { return helper(a); } }\n"
	                         "function polyplug_init() {\n"
	                         "  return ok([treg('js.named', [function () {},\n"
	                         "    function explode() { throw new Error('raw boom'); },\n"
	                         "    function spin() { for (;;) {} },\n"
	                         "    function hog() { return 'x'.repeat(1 << 25).length; }],\n"
	                         "    [{ params: ['i32', 'i32'], result: 'i32', method: 'add' }, "
	                         "null, null, null],\n"
	                         "    function () { return new Adder(); })]);\n}\n");
	int32_t ab[2] = {1, 2}, out = 0;
	assert_int_equal(call_on(rt, "js.named", 0, ab, &out, NULL), PP_ERR_GENERIC);
	const char *e = pp_last_error(rt);
	assert_contains(e, "bundle 'named', contract 'js.named@1', function 0: in add(): "
	                   "RangeError: bad 1");
	/* the frames, with file:line (the prelude takes lines 1-18) */
	assert_contains(e, "\n    at helper (named:20:");
	assert_contains(e, "\n    at add (named:22:");
	assert_contains(logs.last, e); /* the log has the same, whole */
	assert_int_equal(call_on(rt, "js.named", 1, NULL, &out, NULL), PP_ERR_GENERIC);
	assert_contains(pp_last_error(rt), "function 1: in explode(): Error: raw boom");
	assert_int_equal(call_on(rt, "js.named", 2, NULL, &out, NULL), PP_ERR_TIMEOUT);
	assert_contains(pp_last_error(rt),
	                "function 2: in spin(): stopped after its CPU limit of 100 ms");
	assert_int_equal(call_on(rt, "js.named", 3, NULL, &out, NULL), PP_ERR_OUT_OF_MEMORY);
	assert_contains(pp_last_error(rt), "function 3: in hog(): ran out of memory (the VM's "
	                                   "limit is 16777216 bytes)");
	assert_int_equal(call_on(rt, "js.named", 9, NULL, &out, NULL),
	                 PP_ERR_FUNCTION_NOT_AVAILABLE);
	assert_string_equal(pp_last_error(rt), "bundle 'named', contract 'js.named@1' has no "
	                                       "function 9 (it has 4, numbered from 0)");
	/* a native bundle's missing function reads the same */
	load_ok(rt, fx("calc_v1"));
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.calc", 1), 0);
	pp_guest_contract_instance none = {NULL, 0};
	assert_int_equal(pp_call(rt, h, none, 9, NULL, NULL, NULL), PP_ERR_FUNCTION_NOT_AVAILABLE);
	assert_contains(pp_last_error(rt), "' has no function 9 (it has ");
	/* an instance this version never made */
	pp_guest_contract_instance alien = {(void *)(uintptr_t)123456, 0};
	h = pp_find(rt, pp_guest_contract_id("js.named", 1), 0);
	assert_int_equal(pp_call(rt, h, alien, 0, ab, &out, NULL), PP_ERR_STALE_INSTANCE);
	assert_contains(pp_last_error(rt), "was not made by this version of the bundle");
	pp_runtime_free(rt);
}

/* A factory that returns no object, when a signature names a method, is
 * told apart from an object that lacks the method. */
static void a_factory_returning_no_object_is_named(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	static const char *const returns[] = {"undefined", "null", "7"};
	static const char *const shown[] = {"returned undefined", "returned null", "returned 7"};
	for (size_t i = 0; i < 3; i++) {
		char src[2048];
		snprintf(src, sizeof src,
		         TYPED_PRELUDE "function polyplug_init() {\n"
		                       "  return ok([treg('js.nofactory', [function () {}],\n"
		                       "    [{ params: [], result: 'i32', method: 'get' }],\n"
		                       "    function () { return %s; })]);\n}\n",
		         returns[i]);
		assert_int_equal(js_load_src(rt, "nofactory", src, NULL), PP_ERR_INIT_FAILED);
		assert_contains(pp_last_error(rt), shown[i]);
		assert_contains(pp_last_error(rt), "not an object with method 'get' (function 0)");
	}
	pp_runtime_free(rt);
}

/* Guest code the loader runs for itself — a struct result's getter, a
 * function's name getter at load — is held to the CPU limit like a call,
 * and what it leaves behind cannot fail a later call. */
static void getters_the_loader_runs_are_held_to_the_limits(void **state)
{
	(void)state;
	pp_runtime_config cfg;
	pp_runtime_config_init(&cfg);
	cfg.log = capture_log;
	cfg.log_userdata = quiet_log();
	cfg.js.cpu_ms = 100;
	pp_runtime *rt = NULL;
	assert_int_equal(pp_runtime_new(&cfg, &rt), PP_OK);
	js_load_ok(rt, "getters",
	           "var late = 0;\n" JS_TYPED(
	                   "js.getters",
	                   "function () { return { get x() { for (;;) {} } }; },"
	                   "function () { return { get x() { throw new Error('no x'); } }; },"
	                   "function () { var r = Proxy.revocable({}, {}); r.revoke();"
	                   "  return r.proxy; },"
	                   "function () { return 7; },"
	                   /* 4-6: jobs a getter queues run in its own call */
	                   "function () { return { get x() {"
	                   "  Promise.resolve().then(function () { late++; }); return 1; } }; },"
	                   "function () { return late; },"
	                   "function () { return { get x() {"
	                   "  queueMicrotask(function () { for (;;) {} }); return 1; } }; }",
	                   "{ params: [], result: { struct: [['x', 'i32']] } },"
	                   "{ params: [], result: { struct: [['x', 'i32']] } },"
	                   "{ params: [], result: 'i32' }, { params: [], result: 'i32' },"
	                   "{ params: [], result: { struct: [['x', 'i32']] } },"
	                   "{ params: [], result: 'i32' },"
	                   "{ params: [], result: { struct: [['x', 'i32']] } }"));
	int32_t out = 0;
	assert_int_equal(call_on(rt, "js.getters", 0, NULL, &out, NULL), PP_ERR_TIMEOUT);
	assert_contains(pp_last_error(rt), "CPU limit of 100 ms");
	assert_int_equal(call_on(rt, "js.getters", 1, NULL, &out, NULL), PP_ERR_GENERIC);
	assert_contains(pp_last_error(rt), "its struct result, field 'x': reading it failed: "
	                                   "Error: no x");
	assert_int_equal(call_on(rt, "js.getters", 2, NULL, &out, NULL), PP_ERR_GENERIC);
	assert_contains(pp_last_error(rt), "its i32 result is an object");
	assert_int_equal(call_on(rt, "js.getters", 4, NULL, &out, NULL), PP_OK);
	assert_int_equal(call_on(rt, "js.getters", 5, NULL, &out, NULL), PP_OK);
	assert_int_equal(out, 1); /* ran in call 4, not after this one's body */
	assert_int_equal(call_on(rt, "js.getters", 6, NULL, &out, NULL), PP_ERR_TIMEOUT);
	assert_contains(pp_last_error(rt), "CPU limit of 100 ms");
	/* nothing was left pending: an instance and a call still work */
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("js.getters", 1), 0);
	pp_guest_contract_instance inst;
	assert_int_equal(pp_instance_create(rt, h, NULL, &inst), PP_OK);
	assert_int_equal(pp_call(rt, h, inst, 3, NULL, &out, NULL), PP_OK);
	assert_int_equal(out, 7);
	assert_int_equal(pp_instance_destroy(rt, h, inst), PP_OK);
	/* a function's name getter that never returns fails the load in time */
	assert_int_equal(js_load_src(rt, "slow_name",
	                             JS_PRELUDE "function polyplug_init() {\n"
	                                        "  var f = function () { return 0; };\n"
	                                        "  Object.defineProperty(f, 'name', { get() {"
	                                        " for (;;) {} } });\n"
	                                        "  return ok([reg('js.slowname', [f])]);\n}\n",
	                             NULL),
	                 PP_ERR_TIMEOUT);
	assert_contains(pp_last_error(rt), "reading a function's name exceeded the CPU limit");
	pp_runtime_free(rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(every_param_type_arrives_exactly),
	        cmocka_unit_test(i32_params_arrive_in_place_at_every_extreme),
	        cmocka_unit_test(every_result_type_is_written_back),
	        cmocka_unit_test(results_of_the_wrong_type_or_range_fail_naming_them),
	        cmocka_unit_test(strings_cross_as_utf8_of_any_size),
	        cmocka_unit_test(string_and_buffer_params_sit_where_c_lays_them_out),
	        cmocka_unit_test(result_bytes_go_to_the_args_arena_call_arena_or_host),
	        cmocka_unit_test(buffers_are_copies_in_and_any_view_out),
	        cmocka_unit_test(a_view_whose_buffer_getter_makes_a_new_one_is_read_while_held),
	        cmocka_unit_test(text_crosses_as_well_formed_utf8_and_structs_as_own_fields),
	        cmocka_unit_test(fast_string_helpers_move_whole_strings),
	        cmocka_unit_test(fast_byte_helpers_move_whole_buffers),
	        cmocka_unit_test(throws_give_codes_and_messages),
	        cmocka_unit_test(bad_signatures_fail_the_load_by_name),
	        cmocka_unit_test(typed_functions_get_the_instance_impl),
	        cmocka_unit_test(methods_are_bound_when_the_impl_is_made),
	        cmocka_unit_test(a_failed_call_names_its_function_cause_and_frames),
	        cmocka_unit_test(a_failed_calls_stack_is_cut_to_16_frames),
	        cmocka_unit_test(getters_the_loader_runs_are_held_to_the_limits),
	        cmocka_unit_test(a_factory_returning_no_object_is_named),
	        cmocka_unit_test(an_instance_destroyed_inside_its_own_call_outlives_the_call),
	        cmocka_unit_test(raw_peers_call_typed_functions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
