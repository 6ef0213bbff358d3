/* every_c.c — a C bundle written against ppc's generated header: it
 * implements test.EveryC, test.Geometry and test.RelayC (which drives the
 * JS bundle's test.EveryJs through the generated peer callers). */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>

#define PPC_BUNDLE_NAME "every_c"
#define PPC_IMPLEMENT_TEST_EVERYC
#define PPC_IMPLEMENT_TEST_GEOMETRY
#define PPC_IMPLEMENT_TEST_RELAYC
#define PPC_IMPLEMENT_TEST_TALLY
#define TEST_TALLY_STATEFUL
#include "every.h"

/* ---- test.EveryC ------------------------------------------------------------ */

uint32_t test_everyc_scalars_impl(ppc_ctx *ctx, bool b, int8_t s8, uint8_t u8v, int16_t s16,
                                  uint16_t u16v, int32_t s32, uint32_t u32v, int64_t s64,
                                  uint64_t u64v, float f, double d, pp_string_view *result)
{
	char text[256];
	int n = snprintf(text, sizeof text,
	                 "%s,%d,%u,%d,%u,%" PRId32 ",%" PRIu32 ",%" PRId64 ",%" PRIu64 ",%g,%g",
	                 b ? "true" : "false", s8, u8v, s16, u16v, s32, u32v, s64, u64v, (double)f,
	                 d);
	return ppc_result_bytes(ctx, text, (size_t)n, result);
}

uint32_t test_everyc_echo_impl(ppc_ctx *ctx, pp_string_view text, pp_string_view *result)
{
	uint8_t *p = text.len + 1 <= 1 << 22 ? ctx->host->alloc(ctx->host, text.len + 1, 1) : NULL;
	if (!p)
		return PP_ERR_OUT_OF_MEMORY;
	if (text.len)
		memcpy(p, text.ptr, text.len);
	p[text.len] = '!';
	uint32_t st = ppc_result_bytes(ctx, p, text.len + 1, result);
	ctx->host->free(ctx->host, p, text.len + 1, 1);
	return st;
}

uint32_t test_everyc_reverse_impl(ppc_ctx *ctx, pp_string_view data, pp_string_view *result)
{
	uint32_t st = ppc_result_bytes(ctx, data.ptr, data.len, result);
	uint8_t *p = (uint8_t *)result->ptr;
	for (size_t i = 0; st == PP_OK && i < data.len / 2; i++) {
		uint8_t t = p[i];
		p[i] = p[data.len - 1 - i];
		p[data.len - 1 - i] = t;
	}
	return st;
}

uint32_t test_everyc_next_mood_impl(ppc_ctx *ctx, Mood m, Mood *result)
{
	(void)ctx;
	*result = (Mood)(m == Mood_Calm ? Mood_Happy : m == Mood_Happy ? Mood_Grumpy : Mood_Calm);
	return PP_OK;
}

uint32_t test_everyc_wide_impl(ppc_ctx *ctx, int64_t x, uint64_t y, uint64_t *result)
{
	(void)ctx;
	*result = y - (uint64_t)x;
	return PP_OK;
}

uint32_t test_everyc_ping_impl(ppc_ctx *ctx)
{
	(void)ctx;
	return PP_OK;
}

uint32_t test_everyc_fail_impl(ppc_ctx *ctx, uint32_t code, bool *result)
{
	(void)ctx;
	*result = true;
	return code;
}

uint32_t test_everyc_shout_impl(ppc_ctx *ctx, pp_string_view line, pp_string_view *result)
{
	uint32_t st = test_log_log(ctx->host, Mood_Happy, line);
	if (st != PP_OK)
		return st;
	st = ppc_result_bytes(ctx, line.ptr, line.len, result);
	for (size_t i = 0; st == PP_OK && i < line.len; i++)
		((uint8_t *)result->ptr)[i] = (uint8_t)toupper(line.ptr[i]);
	return st;
}

uint32_t test_everyc_midpoint_impl(ppc_ctx *ctx, Segment s, Point *result)
{
	return test_geometry_midpoint_impl(ctx, s, result);
}

/* ---- test.Geometry -------------------------------------------------------------- */

uint32_t test_geometry_midpoint_impl(ppc_ctx *ctx, Segment s, Point *result);
uint32_t test_geometry_midpoint_impl(ppc_ctx *ctx, Segment s, Point *result)
{
	(void)ctx;
	result->tag = (uint8_t)(s.from.tag + s.to.tag);
	result->x = (s.from.x + s.to.x) / 2;
	result->y = (s.from.y + s.to.y) / 2;
	result->mood = s.from.mood;
	if (s.from.mood != s.to.mood)
		result->mood = Mood_Grumpy;
	return PP_OK;
}

/* ---- test.Tally: state per instance ------------------------------------------------ */

void *test_tally_create(ppc_ctx *ctx, const void *args)
{
	(void)args;
	int64_t *total = ctx->host->alloc(ctx->host, sizeof *total, _Alignof(int64_t));
	if (total)
		*total = 0;
	return total;
}

void test_tally_destroy(ppc_ctx *ctx, void *self)
{
	ctx->host->free(ctx->host, self, sizeof(int64_t), _Alignof(int64_t));
}

uint32_t test_tally_add_impl(ppc_ctx *ctx, int64_t n, int64_t *result)
{
	int64_t *total = ctx->self;
	if (!total)
		return PP_ERR_FUNCTION_NOT_AVAILABLE; /* the default instance has no state */
	*total += n;
	*result = *total;
	return PP_OK;
}

/* ---- test.RelayC: C -> JS ---------------------------------------------------------- */

static bool view_is(pp_string_view v, const char *s)
{
	return v.len == strlen(s) && (!v.len || memcmp(v.ptr, s, v.len) == 0);
}

#define EXPECT(cond, what)                                                        \
	do {                                                                      \
		if (!(cond))                                                      \
			return ppc_result_bytes(ctx, what, strlen(what), result); \
	} while (0)

uint32_t test_relayc_check_impl(ppc_ctx *ctx, pp_string_view *result)
{
	const pp_host_api *h = ctx->host;
	uint8_t mem[64];
	pp_call_arena arena;
	pp_call_arena_init(&arena, mem, sizeof mem, h);
	pp_string_view out = {NULL, 0};
	uint32_t st =
	        test_everyjs_peer_scalars(h, true, -128, 255, -32768, 65535, INT32_MIN, UINT32_MAX,
	                                  INT64_MIN, UINT64_MAX, 1.5f, -0.25, &arena, &out);
	EXPECT(st == PP_OK, "scalars failed");
	EXPECT(view_is(out, "true,-128,255,-32768,65535,-2147483648,4294967295,"
	                    "-9223372036854775808,18446744073709551615,1.5,-0.25"),
	       "scalars differ");
	st = test_everyjs_peer_echo(h, ppc_str("h\xc3\xa9"), &arena, &out);
	EXPECT(st == PP_OK && view_is(out, "h\xc3\xa9!"), "echo differs");
	st = test_everyjs_peer_echo(h, ppc_str(""), &arena, &out);
	EXPECT(st == PP_OK && view_is(out, "!"), "empty echo differs");
	/* a result bigger than the arena's buffer: overflow blocks */
	static char big[100000];
	memset(big, 'z', sizeof big - 1);
	st = test_everyjs_peer_echo(h, ppc_str(big), &arena, &out);
	EXPECT(st == PP_OK && out.len == sizeof big && out.ptr[sizeof big - 2] == 'z' &&
	               out.ptr[sizeof big - 1] == '!',
	       "big echo differs");
	static const uint8_t bytes[] = {1, 2, 3};
	pp_string_view in = {bytes, 3};
	st = test_everyjs_peer_reverse(h, in, &arena, &out);
	EXPECT(st == PP_OK && out.len == 3 && out.ptr[0] == 3 && out.ptr[2] == 1,
	       "reverse differs");
	static uint8_t blob[1 << 20];
	for (size_t i = 0; i < sizeof blob; i++)
		blob[i] = (uint8_t)(i * 13);
	pp_string_view large = {blob, sizeof blob};
	st = test_everyjs_peer_reverse(h, large, &arena, &out);
	EXPECT(st == PP_OK && out.len == sizeof blob && out.ptr[0] == blob[sizeof blob - 1] &&
	               out.ptr[sizeof blob - 1] == blob[0],
	       "large reverse differs");
	Mood m = Mood_Calm;
	st = test_everyjs_peer_next_mood(h, Mood_Happy, &m);
	EXPECT(st == PP_OK && m == Mood_Grumpy, "next_mood differs");
	uint64_t w = 0;
	st = test_everyjs_peer_wide(h, -1, 1, &w);
	EXPECT(st == PP_OK && w == 2, "wide differs");
	EXPECT(test_everyjs_peer_ping(h) == PP_OK, "ping failed");
	bool ok = false;
	EXPECT(test_everyjs_peer_fail(h, 0, &ok) == PP_OK && ok, "fail(0) differs");
	EXPECT(test_everyjs_peer_fail(h, 42, &ok) == 42, "fail(42) differs");
	Segment seg = {{1, 2.0, 4.0f, Mood_Happy}, {2, 4.0, -4.0f, Mood_Happy}};
	Point mid;
	memset(&mid, 0, sizeof mid);
	st = test_everyjs_peer_midpoint(h, seg, &mid);
	EXPECT(st == PP_OK && mid.tag == 3 && mid.x == 3.0 && mid.y == 0.0f &&
	               mid.mood == Mood_Happy,
	       "midpoint differs");
	st = test_everyjs_peer_shout(h, ppc_str("from c"), NULL, &out); /* no arena: host memory */
	EXPECT(st == PP_OK && view_is(out, "FROM C"), "shout differs");
	h->free(h, (void *)out.ptr, out.len, 1);
	pp_call_arena_free(&arena);
	return ppc_result_bytes(ctx, "ok", 2, result);
}
