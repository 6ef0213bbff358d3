/*
 * test_ppc_model.c — ppc's contract-file reader: layouts it computes, and
 * every way a contract file can be wrong, each named by file, line, column
 * and key. Also replays the ppc fuzz corpus and regressions.
 */
#include "gen.h"
#include "js_helpers.h"
#include "model.h"

static ppc_model *read_ok(const char *text)
{
	char err[512];
	ppc_model *m = ppc_model_read(text, strlen(text), "c.toml", err, sizeof err);
	if (!m)
		fail_msg("rejected: %s", err);
	return m;
}

/* A contract file ppc refuses, and what its message must hold. */
typedef struct refusal {
	const char *src, *expect;
} refusal;

static void refused_each(const refusal *bad, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char err[512] = "";
		ppc_model *m =
		        ppc_model_read(bad[i].src, strlen(bad[i].src), "x.toml", err, sizeof err);
		if (m || !strstr(err, bad[i].expect))
			fail_msg("case %zu: %s, want '%s'", i, m ? "accepted" : err, bad[i].expect);
		ppc_model_free(m);
	}
}

static void layouts_follow_c(void **state)
{
	(void)state;
	ppc_model *m = read_ok(
	        "[[enum]]\nname = \"E\"\nrepr = \"u8\"\nvariants = [{ name = \"A\", value = 1 }]\n"
	        "[[struct]]\nname = \"P\"\n"
	        "fields = [{ name = \"a\", type = \"u8\" }, { name = \"b\", type = \"f64\" },"
	        " { name = \"c\", type = \"E\" }]\n"
	        "[[guest_contract]]\nname = \"x.Y\"\nversion = \"3.1.4\"\n"
	        "[[guest_contract.functions]]\nname = \"f\"\n"
	        "params = [{ name = \"a\", type = \"u8\" }, { name = \"p\", type = \"P\" },"
	        " { name = \"s\", type = \"StringView\" }, { name = \"e\", type = \"E\" }]\n"
	        "return = \"Buffer\"\n"
	        "[[guest_contract.functions]]\nname = \"g\"\n");
	typedef struct {
		uint8_t a;
		double b;
		uint8_t c;
	} P;
	typedef struct {
		uint8_t a;
		P p;
		pp_string_view s;
		uint8_t e;
		pp_call_arena *arena;
	} F;
	assert_int_equal(m->struct_count, 1);
	assert_int_equal(m->structs[0].size, sizeof(P));
	assert_int_equal(m->structs[0].fields[2].offset, offsetof(P, c));
	const ppc_contract *c = &m->contracts[0];
	assert_true(c->id == pp_guest_contract_id("x.Y", 3));
	assert_int_equal(c->minor, 1);
	const ppc_function *f = &c->functions[0];
	assert_int_equal(f->params[1].offset, offsetof(F, p));
	assert_int_equal(f->params[2].offset, offsetof(F, s));
	assert_int_equal(f->params[3].offset, offsetof(F, e));
	assert_true(f->needs_arena);
	assert_int_equal(f->arena_offset, offsetof(F, arena));
	assert_int_equal(f->args_size, sizeof(F));
	assert_int_equal(c->functions[1].result.kind, PPC_VOID);
	assert_int_equal(c->functions[1].args_size, 0);
	ppc_model_free(m);
}

static void errors_name_file_line_column_and_key(void **state)
{
	(void)state;
	static const char head[] = "[[guest_contract]]\nname = \"x.Y\"\nversion = \"1.0.0\"\n"
	                           "[[guest_contract.functions]]\nname = \"f\"\n";
	static const struct {
		const char *tail, *expect;
	} bad[] = {
	        {"params = [{ name = \"a\", type = \"i33\" }]\n",
	         "c.toml:6:32: key 'type': unknown type 'i33'"},
	        {"params = [{ name = \"a\", type = \"void\" }]\n",
	         "key 'type': void is only a return type"},
	        {"params = [{ name = \"a\" }]\n", "key 'type': expected a type name"},
	        {"params = [{ name = \"a b\", type = \"u8\" }]\n",
	         "key 'name': 'a b' is not an identifier"},
	        {"params = [{ name = \"a\", type = \"u8\" }, { name = \"a\", type = \"u8\" }]\n",
	         "key 'name': 'a' is used twice"},
	        {"params = [{ name = \"a\", type = \"u8\", kind = 1 }]\n",
	         "key 'kind': unknown key in params"},
	        {"return = { docs = \"x\" }\n", "key 'return': a return table needs 'type'"},
	        {"params = [{ name = \"class\", type = \"u8\" }]\n", "'class' is reserved"},
	        {"params = [{ name = \"ppc_x\", type = \"u8\" }]\n", "'ppc_x' is reserved"},
	        {"return = 5\n", "key 'return': expected a type name"},
	        {"colour = \"red\"\n", "c.toml:6:10: key 'colour': unknown key in a function"},
	        {"[[guest_contract.functions]]\nname = \"f\"\n",
	         "key 'name': function 'f' is declared twice"},
	        {"[[guest_contract]]\nname = \"x.Y\"\nversion = \"1.2.0\"\n"
	         "[[guest_contract.functions]]\nname = \"g\"\n",
	         "c.toml:7:8: key 'name': contract 'x.Y@1' is declared twice"},
	        {"[[guest_contract]]\nname = \"x..Y\"\nversion = \"1.0.0\"\n",
	         "is not a contract name"},
	        {"[[guest_contract]]\nname = \"x.Z\"\nversion = \"1.0\"\n",
	         "key 'version': '1.0' is not \"major.minor.patch\""},
	        {"[[guest_contract]]\nname = \"x.Z\"\nversion = \"1.0.0\"\n",
	         "key 'functions': a contract needs at least one function"},
	        {"[[struct]]\nname = \"S\"\nfields = [{ name = \"t\", type = \"StringView\" }]\n",
	         "a struct field has a fixed size: StringView is not allowed"},
	        {"[[struct]]\nname = \"S\"\nfields = [{ name = \"t\", type = \"S\" }]\n",
	         "key 'type': unknown type 'S'"},
	        {"[[enum]]\nname = \"E\"\nrepr = \"f32\"\nvariants = [{ name = \"A\", value = 1 "
	         "}]\n",
	         "key 'repr': an enum's repr is an integer type"},
	        {"[[enum]]\nname = \"E\"\nvariants = []\n", "an enum needs at least one variant"},
	        {"[[enum]]\nname = \"E\"\nvariants = [{ name = \"A\", value = \"x\" }]\n",
	         "key 'value': expected an integer"},
	        {"[[enum]]\nname = \"u8\"\nvariants = [{ name = \"A\", value = 1 }]\n",
	         "'u8' is not a free identifier"},
	        {"[[widget]]\nname = \"w\"\n", "key 'widget': unknown key in a contract file"},
	        {"params = [{ name = \"a\", type = \"u8\" ]\n", "c.toml:6:"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[1024], err[512];
		snprintf(text, sizeof text, "%s%s", head, bad[i].tail);
		ppc_model *m = ppc_model_read(text, strlen(text), "c.toml", err, sizeof err);
		if (m) {
			ppc_model_free(m);
			fail_msg("case %zu accepted", i);
		}
		if (!strstr(err, bad[i].expect))
			fail_msg("case %zu: got '%s', want '%s'", i, err, bad[i].expect);
	}
	char err[256];
	assert_null(ppc_model_read("", 0, "empty.toml", err, sizeof err));
	assert_contains(err,
	                "empty.toml:1:1: key 'guest_contract': the file declares no contracts");
}

static void layout_changes_need_a_new_major(void **state)
{
	(void)state;
	static const char base[] =
	        "[[struct]]\nname = \"P\"\nfields = [{ name = \"x\", type = \"i32\" }]\n"
	        "[[guest_contract]]\nname = \"x.Y\"\nversion = \"%s\"\n"
	        "[[guest_contract.functions]]\nname = \"f\"\n"
	        "params = [{ name = \"a\", type = \"%s\" }]\nreturn = \"%s\"\n%s";
	char text[1024], err[512];
	snprintf(text, sizeof text, base, "1.0.0", "i32", "P", "");
	ppc_model *old = read_ok(text);
	static const struct {
		const char *version, *param, *result, *extra, *expect;
	} cases[] = {
	        {"1.0.0", "i32", "P", "", NULL},
	        {"1.0.1", "i32", "P", "", NULL},
	        {"1.1.0", "i32", "P", "[[guest_contract.functions]]\nname = \"g\"\n", NULL},
	        {"2.0.0", "i64", "P", "", NULL}, /* a new major is a new contract */
	        {"1.0.0", "i64", "P", "", "function 'f' changed the type of a param"},
	        {"1.0.0", "i32", "i32", "", "function 'f' changed its return type"},
	        {"1.0.0", "i32", "P", "[[guest_contract.functions]]\nname = \"g\"\n",
	         "functions were added; that needs version 1.1.0"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(text, sizeof text, base, cases[i].version, cases[i].param, cases[i].result,
		         cases[i].extra);
		ppc_model *m = read_ok(text);
		bool ok = ppc_model_compatible(old, m, err, sizeof err);
		ppc_model_free(m);
		if (ok != !cases[i].expect || (!ok && !strstr(err, cases[i].expect)))
			fail_msg("case %zu: %s", i, ok ? "accepted" : err);
		if (!ok)
			assert_contains(err, "needs version");
	}
	ppc_model_free(old);
}

static void parse_one(const char *data, size_t len, const char *name)
{
	char err[512];
	ppc_model_free(ppc_model_read(data, len, name, err, sizeof err));
}

static void fuzz_corpus_and_regressions_replay(void **state)
{
	(void)state;
	assert_true(replay_dir(PP_SOURCE_DIR "/fuzz/corpus/ppc", parse_one) > 0);
	replay_dir(PP_SOURCE_DIR "/fuzz/regressions/ppc", parse_one);
}

/* A growing text for generated contract files. */
typedef struct text {
	char *p;
	size_t len;
	FILE *f;
} text;

static void text_open(text *t)
{
	t->p = NULL;
	t->len = 0;
	t->f = open_memstream(&t->p, &t->len);
	assert_non_null(t->f);
}

static const char *text_close(text *t)
{
	fclose(t->f);
	return t->p;
}

static void expect_refused(const char *src, const char *line, const char *needle)
{
	char err[512];
	ppc_model *m = ppc_model_read(src, strlen(src), "c.toml", err, sizeof err);
	if (m)
		fail_msg("accepted a contract the loader would refuse (%s)", needle);
	assert_contains(err, line);
	assert_contains(err, needle);
}

/* n params of type `type` for function f of contract x.Y, on line 4 */
static char *with_params(int n, const char *type, const char *ret)
{
	text t;
	text_open(&t);
	fprintf(t.f, "[[guest_contract]]\nname = \"x.Y\"\nversion = \"1.0.0\"\n"
	             "[[guest_contract.functions]]\nname = \"f\"\nparams = [");
	for (int i = 0; i < n; i++)
		fprintf(t.f, "%s{ name = \"p%d\", type = \"%s\" }", i ? ", " : "", i, type);
	fprintf(t.f, "]\nreturn = \"%s\"\n", ret);
	return (char *)text_close(&t);
}

/* struct S0 { a: i32 }, S(k) { inner: S(k-1), b: i32 }: S(n-1) nests n deep */
static void nested_structs(FILE *f, int n)
{
	fprintf(f, "[[struct]]\nname = \"S0\"\nfields = [{ name = \"a\", type = \"i32\" }]\n");
	for (int k = 1; k < n; k++)
		fprintf(f,
		        "[[struct]]\nname = \"S%d\"\nfields = [{ name = \"inner\", type = \"S%d\" "
		        "}, "
		        "{ name = \"b\", type = \"i32\" }]\n",
		        k, k - 1);
}

static void contracts_past_the_loaders_limits_are_refused_with_their_place(void **state)
{
	(void)state;
	char *src = with_params(PPC_MAX_PARAMS + 1, "i32", "void");
	expect_refused(src, "c.toml:6:", "17 params; the limit is 16");
	free(src);
	src = with_params(PPC_MAX_PARAMS, "i32", "StringView"); /* + the hidden arena */
	expect_refused(src, "c.toml:6:", "and a hidden arena; the limit is 16");
	free(src);
	src = with_params(PPC_MAX_PARAMS, "i32", "i32"); /* exactly at the limit: fine */
	ppc_model_free(read_ok(src));
	free(src);

	text t;
	text_open(&t);
	fputs("[[struct]]\nname = \"Wide\"\nfields = [", t.f);
	for (int i = 0; i <= PPC_MAX_FIELDS; i++)
		fprintf(t.f, "%s{ name = \"f%d\", type = \"u8\" }", i ? ", " : "", i);
	fputs("]\n", t.f);
	src = (char *)text_close(&t);
	expect_refused(src, "c.toml:3:", "65 fields; the limit is 64");
	free(src);

	text_open(&t);
	nested_structs(t.f, PPC_MAX_DEPTH + 1);
	src = (char *)text_close(&t);
	expect_refused(src, "c.toml:", "nests structs 10 deep; the limit is 9");
	free(src);

	/* 33 struct values in one signature: 3 params of an 11-struct nest */
	text_open(&t);
	nested_structs(t.f, 8);
	fputs("[[struct]]\nname = \"T\"\nfields = [{ name = \"x\", type = \"S7\" }, "
	      "{ name = \"y\", type = \"S1\" }]\n",
	      t.f);
	fputs("[[guest_contract]]\nname = \"x.Y\"\nversion = \"1.0.0\"\n"
	      "[[guest_contract.functions]]\nname = \"f\"\n"
	      "params = [{ name = \"a\", type = \"T\" }, { name = \"b\", type = \"T\" }, "
	      "{ name = \"c\", type = \"T\" }]\n",
	      t.f);
	src = (char *)text_close(&t);
	expect_refused(src, "c.toml:", "spells out 33 structs in its signature; the limit is 32");
	free(src);

	char name[200];
	memset(name, 'n', PPC_MAX_IDENT + 1);
	name[PPC_MAX_IDENT + 1] = '\0';
	text_open(&t);
	fprintf(t.f, "[[struct]]\nname = \"P\"\nfields = [{ name = \"%s\", type = \"u8\" }]\n",
	        name);
	src = (char *)text_close(&t);
	expect_refused(src, "c.toml:3:", "not an identifier of at most 63 bytes");
	free(src);
	memset(name, 'c', PPC_MAX_CONTRACT_NAME + 1);
	name[PPC_MAX_CONTRACT_NAME + 1] = '\0';
	text_open(&t);
	fprintf(t.f,
	        "[[guest_contract]]\nname = \"%s\"\nversion = \"1.0.0\"\n"
	        "[[guest_contract.functions]]\nname = \"f\"\n",
	        name);
	src = (char *)text_close(&t);
	expect_refused(src, "c.toml:2:", "at most 127 bytes");
	free(src);

	/* 65,536 functions a contract, the loaders' limit; one more is refused */
	text_open(&t);
	fputs("[[guest_contract]]\nname = \"d.Big\"\nversion = \"1.0.0\"\n", t.f);
	for (int i = 0; i < PPC_MAX_FUNCTIONS; i++)
		fprintf(t.f, "[[guest_contract.functions]]\nname = \"f%d\"\n", i);
	src = (char *)text_close(&t);
	ppc_model *m = read_ok(src);
	assert_int_equal(m->contracts[0].function_count, PPC_MAX_FUNCTIONS);
	ppc_model_free(m);
	size_t len = strlen(src);
	char *more = malloc(len + 64);
	assert_non_null(more);
	snprintf(more, len + 64, "%s[[guest_contract.functions]]\nname = \"past\"\n", src);
	expect_refused(more, "c.toml:", "contract 'd.Big' has 65537 functions; the limit is 65536");
	free(more);
	free(src);
}

/* A file holds at most PPC_MAX_CONTRACTS contracts; the one past it is
 * refused with its place. Names are checked by sorting, not pair by pair
 * (65,536 functions once took 17 s, 40,000 contracts 26 s), and a
 * duplicate far from the first is still found where it is declared. */
static void contracts_past_4096_are_refused_and_duplicates_are_found_anywhere(void **state)
{
	(void)state;
	text t;
	text_open(&t);
	for (int i = 0; i < PPC_MAX_CONTRACTS; i++)
		fprintf(t.f,
		        "[[guest_contract]]\nname = \"d.C%d\"\nversion = \"1.0.0\"\n"
		        "[[guest_contract.functions]]\nname = \"f\"\n",
		        i);
	char *src = (char *)text_close(&t);
	ppc_model *m = read_ok(src);
	assert_int_equal(m->contract_count, PPC_MAX_CONTRACTS);
	ppc_model_free(m);
	size_t len = strlen(src);
	char *more = malloc(len + 256);
	assert_non_null(more);
	snprintf(more, len + 256,
	         "%s[[host_contract]]\nname = \"h.H\"\nversion = \"1.0.0\"\n"
	         "[[host_contract.functions]]\nname = \"f\"\n",
	         src);
	expect_refused(more, "c.toml:20481:",
	               "key 'host_contract': the file declares more than 4096 contracts; the "
	               "limit is 4096");
	/* the contract past the limit is named by its place: the 4097th guest */
	snprintf(more, len + 256,
	         "%s[[guest_contract]]\nname = \"d.X\"\nversion = \"1.0.0\"\n"
	         "[[guest_contract.functions]]\nname = \"f\"\n",
	         src);
	expect_refused(more, "c.toml:20481:", "more than 4096 contracts");
	free(more);
	free(src);

	/* two contracts alike, 3000 contracts apart */
	text_open(&t);
	for (int i = 0; i < 3000; i++)
		fprintf(t.f,
		        "[[guest_contract]]\nname = \"%s%d\"\nversion = \"1.0.0\"\n"
		        "[[guest_contract.functions]]\nname = \"f\"\n",
		        i ? "d.C" : "D.c", i ? i : 2999);
	src = (char *)text_close(&t);
	expect_refused(src, "c.toml:", "contracts 'D.c2999' (line 1) and 'd.C2999' (line 14996)");
	free(src);

	/* a function declared twice, the second 60,000 functions later */
	text_open(&t);
	fputs("[[guest_contract]]\nname = \"d.Big\"\nversion = \"1.0.0\"\n", t.f);
	for (int i = 0; i < 60000; i++)
		fprintf(t.f, "[[guest_contract.functions]]\nname = \"f%d\"\n", i ? i : 59999);
	src = (char *)text_close(&t);
	expect_refused(src, "c.toml:120003:8:", "key 'name': function 'f59999' is declared twice");
	free(src);
}

/* Enum values are read exactly: a u64 past INT64_MAX (quoted or not) was
 * cut to INT64_MAX or refused as "expected an integer", a string past 64
 * bits silently became INT64_MAX, and " 7" was taken for 7. */
static void enum_values_are_read_exactly_or_refused(void **state)
{
	(void)state;
#define ENUM(repr, value)                                                                         \
	"[[enum]]\nname = \"E\"\nrepr = \"" repr "\"\nvariants = [{ name = \"A\", value = " value \
	" }]\n[[guest_contract]]\nname = \"d.C\"\nversion = \"1.0.0\"\n"                          \
	"[[guest_contract.functions]]\nname = \"f\"\nparams = [{ name = \"e\", type = \"E\" }]\n"
	static const struct {
		const char *src;
		uint64_t bits;
	} ok[] = {
	        {ENUM("u64", "\"18446744073709551615\""), UINT64_MAX},
	        {ENUM("u64", "18446744073709551615"), UINT64_MAX},
	        {ENUM("u64", "\"0xffffffffffffffff\""), UINT64_MAX},
	        {ENUM("i64", "-9223372036854775808"), (uint64_t)INT64_MIN},
	        {ENUM("i64", "\"-9223372036854775808\""), (uint64_t)INT64_MIN},
	        {ENUM("i8", "\"-128\""), (uint64_t)(int64_t)-128},
	        {ENUM("u8", "\"010\""), 10}, /* decimal, not octal */
	        {ENUM("u8", "\"0x10\""), 16},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		ppc_model *m = read_ok(ok[i].src);
		if ((uint64_t)m->enums[0].variants[0].value != ok[i].bits)
			fail_msg("case %zu: read %lld", i,
			         (long long)m->enums[0].variants[0].value);
		char shown[32];
		ppc_value_text(&m->enums[0], m->enums[0].variants[0].value, shown, sizeof shown);
		if (i < 3)
			assert_string_equal(shown, "18446744073709551615");
		ppc_model_free(m);
	}
	static const refusal bad[] = {
	        {ENUM("i64", "\"99999999999999999999\""),
	         "c.toml:4:35: key 'value': '99999999999999999999' is past the range of a 64-bit "
	         "integer"},
	        {ENUM("i64", "\"9223372036854775808\""),
	         "9223372036854775808 does not fit enum 'E''s repr i64"},
	        {ENUM("i64", "9223372036854775808"), "9223372036854775808 does not fit"},
	        {ENUM("u64", "-1"), "-1 does not fit enum 'E''s repr u64"},
	        {ENUM("i8", "\"-129\""), "-129 does not fit"},
	        {ENUM("u8", "\" 7\""), "key 'value': expected an integer"},
	        {ENUM("u8", "\"+7\""), "key 'value': expected an integer"},
	        {ENUM("u8", "\"7 \""), "key 'value': expected an integer"},
	        {ENUM("u8", "\"3\\u00005\""), "key 'value': expected an integer"},
	        {ENUM("u8", "\"0x\""), "key 'value': expected an integer"},
	};
	/* a string with a NUL inside is not read as the text before it */
	expect_refused(ENUM("u8\\u0000x", "1"),
	               "c.toml:3:", "key 'repr': the string holds a NUL character");
#undef ENUM
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_refused(bad[i].src, "c.toml:4:", bad[i].expect);
}

static void glue_for_the_widest_deepest_structs_is_never_cut_short(void **state)
{
	(void)state;
	/* 64 fields of long names, nested as deep as allowed */
	text t;
	text_open(&t);
	fputs("[[struct]]\nname = \"S0\"\nfields = [", t.f);
	for (int i = 0; i < PPC_MAX_FIELDS; i++)
		fprintf(t.f,
		        "%s{ name = \"field_number_%02d_with_a_rather_long_name_to_fill\", "
		        "type = \"u8\" }",
		        i ? ", " : "", i);
	fputs("]\n", t.f);
	for (int k = 1; k < 4; k++)
		fprintf(t.f,
		        "[[struct]]\nname = \"S%d\"\nfields = [{ name = \"inner_%d\", type = "
		        "\"S%d\" "
		        "}]\n",
		        k, k, k - 1);
	fputs("[[guest_contract]]\nname = \"x.Y\"\nversion = \"1.0.0\"\n"
	      "[[guest_contract.functions]]\nname = \"f\"\n"
	      "params = [{ name = \"deep\", type = \"S3\" }]\nreturn = \"S3\"\n",
	      t.f);
	char *src = (char *)text_close(&t);
	ppc_model *m = read_ok(src);
	text out;
	text_open(&out);
	const ppc_contract *mine[] = {&m->contracts[0]};
	assert_int_equal(ppc_gen_js(out.f, m, mine, 1, "class Y {}\n", 11, "y.js"), 0);
	const char *js = text_close(&out);
	/* the last field of the innermost struct, in the signature and in the
	 * peer caller's reader and writer */
	assert_contains(js, "['field_number_63_with_a_rather_long_name_to_fill', 'u8']");
	assert_contains(js,
	                "field_number_63_with_a_rather_long_name_to_fill: $b.readByte($out + 63)");
	assert_contains(
	        js, "deep.inner_3.inner_2.inner_1.field_number_63_with_a_rather_long_name_to_fill");
	free(out.p);
	ppc_model_free(m);
	free(src);
}

static size_t count_of(const char *in, const char *what)
{
	size_t n = 0;
	for (const char *p = in; (p = strstr(p, what)) != NULL; p += strlen(what))
		n++;
	return n;
}

/* A contract's docs go into C and JSDoc comments: a closer inside once
 * ended the .d.ts's comment and let the docs declare TypeScript, and an
 * opener inside failed the C header under -Wcomment. Each is split. */
static void docs_can_neither_end_nor_open_a_comment(void **state)
{
	(void)state;
	static const char *const docs[] = {"ends */ declare const evil: number; /* opens", "*/*/",
	                                   "/*", "a\n*/ b\n/* c", "**//**"};
	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
		for (int js = 0; js < 2; js++) {
			char *out = NULL;
			size_t len = 0;
			FILE *f = open_memstream(&out, &len);
			assert_non_null(f);
			ppc_comment(f, "  ", js ? "/**" : "/*", docs[i]);
			fclose(f);
			if (count_of(out, "/*") != 1 || count_of(out, "*/") != 1 ||
			    strncmp(out, js ? "  /**" : "  /*", js ? 5 : 4) != 0)
				fail_msg("docs '%s' became: %s", docs[i], out);
			free(out);
		}
}

/* Names the generated code could not hold: two contracts with the same C
 * names (the header did not compile) or the same JS context member (the
 * glue's later one silently won), and names the C uses itself. */
static void names_the_generated_code_cannot_hold_are_refused(void **state)
{
	(void)state;
#define FNS(name, fn) "[[guest_contract]]\nname = \"" name "\"\nversion = \"1.0.0\"\n" FN(fn)
#define FN(fn) "[[guest_contract.functions]]\nname = \"" fn "\"\n"
#define CONTRACT(name, params)                                           \
	"[[guest_contract]]\nname = \"" name "\"\nversion = \"1.0.0\"\n" \
	"[[guest_contract.functions]]\nname = \"go\"\nparams = [" params "]\nreturn = \"i32\"\n"
	static const refusal bad[] = {
	        {CONTRACT("a.B", "") CONTRACT("a.b", ""), "contracts 'a.B' (line 1) and 'a.b'"},
	        {CONTRACT("a.Y", "") CONTRACT("b.Y", ""), "same member of the JS context"},
	        {CONTRACT("a.P", "{ name = \"memset\", type = \"i32\" }"), "'memset' is reserved"},
	        {CONTRACT("a.P", "{ name = \"NULL\", type = \"i32\" }"), "'NULL' is reserved"},
	        {"[[struct]]\nname = \"pp_string_view\"\nfields = [{ name = \"a\", type = "
	         "\"i32\" }]\n" CONTRACT("a.S", ""),
	         "'pp_string_view' is not a free identifier"},
	        /* one name made twice in the C header, or a name a JS class or
	         * object literal cannot carry (a hostile review's findings) */
	        {FNS("store.Kv", "create") FN("destroy"), "define 'ppc__store_kv_create' twice"},
	        {FNS("a.B", "functions"), "define 'ppc__a_b_functions' twice"},
	        {FNS("a.B", "layouts"), "define 'ppc__a_b_layouts' twice"},
	        {FNS("fs.File", "open") FN("close"), "define 'fs_file_close' twice"},
	        {FNS("a.B", "open_in"), "define 'a_b_open_in' twice"},
	        {FNS("a.B", "declare"), "define 'a_b_declare' twice"},
	        {FNS("a.B", "x") FN("peer_x"), "define 'a_b_peer_x' twice"},
	        {FNS("a.B", "x") FN("x_impl"), "define 'a_b_x_impl' twice"},
	        {FNS("a.B", "x_args") FN("peer_x"), "define 'a_b_peer_x_args' twice"},
	        {FNS("a.B", "get") FN("GET"), "define 'A_B_FN_GET' twice"},
	        {FNS("a", "b_c") FNS("a.b", "c"),
	         "define 'a_b_c' twice: for function 'b_c' of contract 'a' and for function 'c'"},
	        {FNS("kv.Store", "id") FNS("kv.Store.fn", "x"), "define 'KV_STORE_FN_ID' twice"},
	        {"[[struct]]\nname = \"geo_point\"\nfields = [{ name = \"a\", type = "
	         "\"i32\" }]\n" FNS("geo.Point", "x"),
	         "define 'geo_point' twice"},
	        {"[[enum]]\nname = \"Color\"\nvariants = [{ name = \"Red\", value = 1 }]\n"
	         "[[enum]]\nname = \"Color_Red\"\nvariants = [{ name = \"A\", value = 1 }]\n" FNS(
	                 "a.B", "x"),
	         "define 'Color_Red' twice"},
	        {"[[struct]]\nname = \"Point\"\nfields = [{ name = \"x\", type = \"f64\" "
	         "}]\n" CONTRACT("geo.Shapes", "{ name = \"Point\", type = \"Point\" }"),
	         "parameter 'Point' of function 'go'"},
	        {"[[enum]]\nname = \"Mode\"\nvariants = [{ name = \"Read\", value = 1 }, "
	         "{ name = \"Read\", value = 2 }]\n" FNS("a.B", "x"),
	         "two variants named 'Read'"},
	        {"[[enum]]\nname = \"Small\"\nrepr = \"u8\"\nvariants = [{ name = \"Big\", "
	         "value = 300 }]\n" FNS("a.B", "x"),
	         "300 does not fit enum 'Small''s repr u8"},
	        {"[[enum]]\nname = \"Small\"\nrepr = \"u8\"\nvariants = [{ name = \"Neg\", "
	         "value = -1 }]\n" FNS("a.B", "x"),
	         "-1 does not fit"},
	        {"[[struct]]\nname = \"S\"\nfields = [{ name = \"__proto__\", type = "
	         "\"i32\" }]\n" FNS("a.B", "x"),
	         "'__proto__' is reserved"},
	        {"[[enum]]\nname = \"E\"\nvariants = [{ name = \"__proto__\", value = 1 }]\n" FNS(
	                 "a.B", "x"),
	         "'__proto__' is not a usable identifier"},
	        {FNS("text.String", "shout"), "named 'String', which would shadow"},
	        {"[[enum]]\nname = \"Error\"\nvariants = [{ name = \"None\", value = 0 }]\n" FNS(
	                 "fs.Lookup", "find"),
	         "enum 'Error' would shadow the JavaScript global"},
	        {FNS("a.B", "constructor"), "'constructor' is not a usable function name"},
	        /* names the headers the generated code includes define or reserve */
	        {"[[struct]]\nname = \"PPC_SUPPORT_\"\nfields = [{ name = \"a\", type = "
	         "\"i32\" }]\n" FNS("a.B", "x"),
	         "'PPC_SUPPORT_' is not a free identifier"},
	        {"[[struct]]\nname = \"max_align_t\"\nfields = [{ name = \"a\", type = "
	         "\"i32\" }]\n" FNS("a.B", "x"),
	         "define 'max_align_t' (for struct 'max_align_t'), a name C or the headers"},
	        {"[[enum]]\nname = \"memory_order\"\nvariants = [{ name = \"A\", value = 1 "
	         "}]\n" FNS("a.B", "x"),
	         "define 'memory_order'"},
	        {"[[struct]]\nname = \"strdup\"\nfields = [{ name = \"a\", type = "
	         "\"i32\" }]\n" FNS("a.B", "x"),
	         "define 'strdup'"},
	        {FNS("size.t", "x"), "define 'size_t' (for contract 'size.t')"},
	        {FNS("a.B", "x") "params = [{ name = \"INT8_MAX\", type = \"i32\" }]\n",
	         "define 'INT8_MAX'"},
	        {FNS("a.B", "x") "params = [{ name = \"arena\", type = \"StringView\" }]\n"
	                         "return = \"StringView\"\n",
	         "parameter 'arena' of function 'x'"},
	};
#undef CONTRACT
#undef FNS
#undef FN
	refused_each(bad, sizeof bad / sizeof bad[0]);
}

/* Names C itself takes, that a header compiled as C11, C23 or GNU C could
 * not use as ppc writes them (a hostile review's findings: `ppc check`
 * accepted each, and the header did not compile). */
static void names_c_reserves_or_gnu_c_predefines_are_refused(void **state)
{
	(void)state;
#define FN_WITH(param)                                                             \
	"[[guest_contract.functions]]\nname = \"go\"\nparams = [{ name = \"" param \
	"\", type = \"i32\" }]\n"
#define HELLO(fns) "[[guest_contract]]\nname = \"demo.Hello\"\nversion = \"1.0.0\"\n" fns
#define STRUCT(name, field) \
	"[[struct]]\nname = \"" name "\"\nfields = [{ name = \"" field "\", type = \"i32\" }]\n"
	static const refusal bad[] = {
	        {HELLO(FN_WITH("_Float64")), "'_Float64' is reserved"},
	        /* what string.h declares under -std=gnu11 */
	        {"[[guest_contract]]\nname = \"Index\"\nversion = \"1.0.0\"\n" FN_WITH("p"),
	         "define 'index' (for contract 'Index')"},
	        {STRUCT("bzero", "x") HELLO(FN_WITH("p")), "define 'bzero'"},
	        /* polyplug's own names: its entry points, its include guards */
	        {"[[guest_contract]]\nname = \"polyplug\"\nversion = \"1.0.0\"\n"
	         "[[guest_contract.functions]]\nname = \"init\"\n",
	         "of contract 'polyplug'), a name C or the headers it includes define"},
	        {STRUCT("polyplug_shutdown", "x") HELLO(FN_WITH("p")),
	         "define 'polyplug_shutdown'"},
	        {HELLO(FN_WITH("POLYPLUG_CALL_INLINE_H")), "POLYPLUG_CALL_INLINE_H"},
	        {HELLO(FN_WITH("_Complex")), "'_Complex' is reserved"},
	        {HELLO(FN_WITH("_Imaginary")), "'_Imaginary' is reserved"},
	        {HELLO(FN_WITH("asm")), "'asm' is reserved"},
	        {HELLO(FN_WITH("linux")), "'linux' is reserved"},
	        {HELLO(FN_WITH("unix")), "'unix' is reserved"},
	        {HELLO(FN_WITH("i386")), "'i386' is reserved"},
	        {HELLO(FN_WITH("constexpr")), "'constexpr' is reserved"},
	        {HELLO(FN_WITH("nullptr")), "'nullptr' is reserved"},
	        {HELLO(FN_WITH("thread_local")), "'thread_local' is reserved"},
	        {HELLO(FN_WITH("typeof_unqual")), "'typeof_unqual' is reserved"},
	        {STRUCT("P", "__LINE__") HELLO(FN_WITH("p")), "'__LINE__' is reserved"},
	        {STRUCT("P", "INT8_MAX") HELLO(FN_WITH("p")),
	         "field 'INT8_MAX' of struct 'P': the generated C would define 'INT8_MAX'"},
	        {STRUCT("P", "DEMO_HELLO_ID") HELLO(FN_WITH("p")),
	         "field 'DEMO_HELLO_ID' of struct 'P' has the name of a file-scope name of the "
	         "generated C (of contract 'demo.Hello')"},
	        {STRUCT("unix", "x") HELLO(FN_WITH("p")), "'unix' is not a free identifier"},
	        {STRUCT("asm", "x") HELLO(FN_WITH("p")), "'asm' is not a free identifier"},
	        {STRUCT("_Float32", "x") HELLO(FN_WITH("p")),
	         "'_Float32' is not a free identifier"},
	        {"[[enum]]\nname = \"thread\"\nvariants = [{ name = \"local\", value = 1 "
	         "}]\n" HELLO(FN_WITH("p")),
	         "define 'thread_local' (for enum 'thread')"},
	        {"[[guest_contract]]\nname = \"Double\"\nversion = \"1.0.0\"\n" FN_WITH("p"),
	         "define 'double' (for contract 'Double')"},
	        {"[[guest_contract]]\nname = \"Int\"\nversion = \"1.0.0\"\n" FN_WITH("p"),
	         "define 'int' (for contract 'Int')"},
	        {"[[guest_contract]]\nname = \"Unix\"\nversion = \"1.0.0\"\n" FN_WITH("p"),
	         "define 'unix' (for contract 'Unix')"},
	        {"[[guest_contract]]\nname = \"_Bool.x\"\nversion = \"1.0.0\"\n" FN_WITH("p"),
	         "the generated C would define '_BOOL_X_"},
	};
#undef STRUCT
#undef HELLO
#undef FN_WITH
	refused_each(bad, sizeof bad / sizeof bad[0]);
}

/* Names the JS glue (strict mode) or the TypeScript declarations could not
 * hold: the glue did not parse (`typeof class`, a param `private`), tsc
 * refused an interface `number`, or a struct merged silently with a
 * generated interface. */
static void names_the_js_glue_or_the_declarations_cannot_hold_are_refused(void **state)
{
	(void)state;
#define CONTRACT(name, param)                                                                    \
	"[[guest_contract]]\nname = \"" name "\"\nversion = \"1.0.0\"\n"                         \
	"[[guest_contract.functions]]\nname = \"go\"\nparams = [{ name = \"" param "\", type = " \
	"\"i32\" }]\n"
#define STRUCT(name) \
	"[[struct]]\nname = \"" name "\"\nfields = [{ name = \"x\", type = \"i32\" }]\n"
	static const refusal bad[] = {
	        {CONTRACT("demo.Hello", "implements"), "'implements' is reserved"},
	        {CONTRACT("demo.Hello", "interface"), "'interface' is reserved"},
	        {CONTRACT("demo.Hello", "package"), "'package' is reserved"},
	        {CONTRACT("demo.Hello", "private"), "'private' is reserved"},
	        {CONTRACT("demo.Hello", "protected"), "'protected' is reserved"},
	        {CONTRACT("demo.Hello", "public"), "'public' is reserved"},
	        {CONTRACT("demo.Hello", "let"), "'let' is reserved"},
	        {CONTRACT("demo.Hello", "yield"), "'yield' is reserved"},
	        {CONTRACT("demo.class", "n"), "x.toml:2:8: key 'name': contract 'demo.class': its "
	                                      "last segment names the JS class implementing it, "
	                                      "and 'class' is reserved"},
	        {CONTRACT("demo.function", "n"), "and 'function' is reserved"},
	        {CONTRACT("demo.this", "n"), "and 'this' is reserved"},
	        {STRUCT("number") CONTRACT("demo.Hello", "n"), "'number' is not a free identifier"},
	        {STRUCT("any") CONTRACT("demo.Hello", "n"), "'any' is not a free identifier"},
	        {STRUCT("string") CONTRACT("demo.Hello", "n"), "'string' is not a free identifier"},
	        {STRUCT("keyof") CONTRACT("demo.Hello", "n"), "'keyof' is not a free identifier"},
	        {STRUCT("infer") CONTRACT("demo.Hello", "n"), "'infer' is not a free identifier"},
	        {"[[enum]]\nname = \"unknown\"\nvariants = [{ name = \"A\", value = 1 "
	         "}]\n" CONTRACT("demo.Hello", "n"),
	         "'unknown' is not a free identifier"},
	        {STRUCT("HelloContract") CONTRACT("demo.Hello", "n"),
	         "the TypeScript declarations would declare 'HelloContract' twice"},
	        {STRUCT("HelloCaller") CONTRACT("demo.Hello", "n"),
	         "would declare 'HelloCaller' twice"},
	        {STRUCT("PpcContext") CONTRACT("demo.Hello", "n"),
	         "would declare 'PpcContext' twice"},
	        {CONTRACT("demo.Hello",
	                  "n") "[[host_contract]]\nname = \"host.Hello\"\nversion = "
	                       "\"1.0.0\"\n[[host_contract.functions]]\nname = \"go\"\n",
	         "would declare 'HelloCaller' twice: for contract '"},
	};
#undef STRUCT
#undef CONTRACT
	refused_each(bad, sizeof bad / sizeof bad[0]);
}

/* The glue's own bindings are $ names: a class named like one it once had
 * (context, makeContext, bridge, ppc, …) is the class the glue finds and
 * constructs, not the glue's object. */
static void the_glue_constructs_the_authors_class_whatever_its_name(void **state)
{
	(void)state;
	static const char *const names[] = {
	        "context",       "makeContext", "makeSupport",  "bridge", "ppc",
	        "registrations", "hostLo",      "STATUS_NAMES", "peers",  "host"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char toml[512], impl[256], contract[128];
		snprintf(contract, sizeof contract, "demo.%s", names[i]);
		snprintf(toml, sizeof toml,
		         "[[guest_contract]]\nname = \"%s\"\nversion = \"1.0.0\"\n"
		         "[[guest_contract.functions]]\nname = \"greet\"\n"
		         "params = [{ name = \"n\", type = \"i32\" }]\nreturn = \"i32\"\n",
		         contract);
		snprintf(impl, sizeof impl, "class %s { greet(n) { return n + 1; } }\n", names[i]);
		ppc_model *m = read_ok(toml);
		text out;
		text_open(&out);
		const ppc_contract *mine[] = {&m->contracts[0]};
		assert_int_equal(ppc_gen_js(out.f, m, mine, 1, impl, strlen(impl), "impl.js"), 0);
		const char *js = text_close(&out);
		pp_runtime *rt = rt_new();
		js_load_ok(rt, names[i], js);
		int32_t n = 41, got = 0;
		uint32_t rc = js_call(rt, contract, 0, &n, &got);
		if (rc != PP_OK || got != 42)
			fail_msg("contract %s: code %u (%s), result %d", contract, rc,
			         pp_last_error(rt), got);
		pp_runtime_free(rt);
		free(out.p);
		ppc_model_free(m);
	}
}

/* A file path goes into a comment of every generated file (the header's
 * opening block comment, the bundle's and the .d.ts's `//` lines, the
 * manifest's `#` line): a directory named `a* /int evil = 42;/ *` (without
 * the spaces) once defined `evil` in the header, and one holding a line
 * break or U+2028 put live JS in the bundle. */
static void paths_in_generated_comments_stay_comments(void **state)
{
	(void)state;
	static const char *const paths[] = {"a*/int evil = 42;/*/c.toml",
	                                    "n\nglobalThis.pwned=1;/c.toml",
	                                    "r\rglobalThis.pwned=1;/c.toml",
	                                    "u\xe2\x80\xa8globalThis.pwned=1;/c.toml",
	                                    "p\xe2\x80\xa9globalThis.pwned=1;/c.toml",
	                                    "bad\xff\xfe utf8\\/c.toml",
	                                    "caf\xc3\xa9/c.toml"};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		text t;
		text_open(&t);
		ppc_comment_path(t.f, paths[i]);
		const char *out = text_close(&t);
		if (strstr(out, "*/") || strstr(out, "/*") || strstr(out, "\xe2\x80\xa8") ||
		    strstr(out, "\xe2\x80\xa9") || strchr(out, '\n') || strchr(out, '\r') ||
		    strchr(out, '\xff'))
			fail_msg("path %zu became '%s'", i, out);
		free(t.p);
	}
	text t;
	text_open(&t);
	ppc_comment_path(t.f, "caf\xc3\xa9 a\\b\n*/");
	assert_string_equal(text_close(&t), "caf\xc3\xa9 a\\\\b\\x0a\\x2a/");
	free(t.p);

	/* the generators use it: the line the path is on ends as it should */
	static const char src[] = "[[guest_contract]]\nname = \"demo.Hello\"\nversion = "
	                          "\"1.0.0\"\n[[guest_contract.functions]]\nname = \"go\"\n";
	char err[256];
	ppc_model *m = ppc_model_read(src, strlen(src), paths[1], err, sizeof err);
	assert_non_null(m);
	const ppc_contract *mine[] = {&m->contracts[0]};
	text_open(&t);
	assert_int_equal(ppc_gen_js(t.f, m, mine, 1, "class Hello { go() {} }\n", 24, paths[3]), 0);
	assert_int_equal(ppc_gen_dts(t.f, m), 0);
	const char *out = text_close(&t);
	assert_null(strstr(out, "\nglobalThis.pwned"));
	assert_null(strstr(out, "\xe2\x80\xa8"));
	assert_contains(
	        out,
	        "// ---- u\\xe2\\x80\\xa8globalThis.pwned=1;/c.toml (the implementation) ----\n");
	assert_contains(out,
	                "// ---- generated by ppc from n\\x0aglobalThis.pwned=1;/c.toml: do not "
	                "edit below this line ----\n");
	assert_contains(
	        out, "// Generated by ppc from n\\x0aglobalThis.pwned=1;/c.toml. Do not edit.\n");
	free(t.p);
	ppc_model_free(m);
}

/* What --implement names, for `ppc js` and `ppc manifest` alike (one
 * reader): guest contracts only, each once, 1 to 64, empty names refused
 * rather than skipped. */
static void implement_lists_name_each_guest_contract_once_and_at_most_64(void **state)
{
	(void)state;
	text t;
	text_open(&t);
	for (int i = 0; i < PPC_MAX_IMPLEMENT + 1; i++)
		fprintf(t.f,
		        "[[guest_contract]]\nname = \"g.C%d\"\nversion = \"1.0.0\"\n"
		        "[[guest_contract.functions]]\nname = \"f\"\n",
		        i);
	fputs("[[host_contract]]\nname = \"h.H\"\nversion = \"1.0.0\"\n"
	      "[[host_contract.functions]]\nname = \"f\"\n",
	      t.f);
	char *src = (char *)text_close(&t);
	ppc_model *m = read_ok(src);
	const ppc_contract *out[PPC_MAX_IMPLEMENT];
	char err[256];
	assert_int_equal(ppc_pick_guests(m, "g.C3,g.C1", out, err, sizeof err), 2);
	assert_string_equal(out[0]->name, "g.C3");
	assert_string_equal(out[1]->name, "g.C1");
	static const struct {
		const char *names, *why;
	} refused[] = {
	        {"g.C1,g.C1", "--implement names 'g.C1' twice"},
	        {"h.H", "c.toml declares no guest contract 'h.H'"},
	        {"g.C", "c.toml declares no guest contract 'g.C'"},
	        {"", "c.toml declares no guest contract ''"},
	        {"g.C1,,g.C2", "c.toml declares no guest contract ''"},
	        {"g.C1,", "c.toml declares no guest contract ''"},
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		strcpy(err, "unset");
		assert_int_equal(ppc_pick_guests(m, refused[i].names, out, err, sizeof err), 0);
		assert_string_equal(err, refused[i].why);
	}
	/* 64 is the most; the 65th is refused, not dropped */
	char all[PPC_MAX_IMPLEMENT * 8 + 16] = "";
	for (int i = 0; i < PPC_MAX_IMPLEMENT; i++)
		sprintf(all + strlen(all), "%sg.C%d", i ? "," : "", i);
	assert_int_equal(ppc_pick_guests(m, all, out, err, sizeof err), PPC_MAX_IMPLEMENT);
	assert_string_equal(out[PPC_MAX_IMPLEMENT - 1]->name, "g.C63");
	strcat(all, ",g.C64");
	assert_int_equal(ppc_pick_guests(m, all, out, err, sizeof err), 0);
	assert_string_equal(err, "--implement names more than 64 contracts");
	ppc_model_free(m);
	free(src);
}

/* Refusals found only once the whole file is read (names the generated code
 * would make twice, names it would shadow) point at the declaration that
 * makes the clash, not at the file's first line. */
static void refusals_found_after_reading_point_at_the_declaration(void **state)
{
	(void)state;
#define FN "[[guest_contract.functions]]\nname = \"f\"\n"
	static const struct {
		const char *src, *where;
	} cases[] = {
	        /* two contracts whose C names fold alike: the second */
	        {"[[guest_contract]]\nname = \"a.B\"\nversion = \"1.0.0\"\n" FN
	         "[[guest_contract]]\nname = \"a.b\"\nversion = \"1.0.0\"\n" FN,
	         "c.toml:7:8: key 'guest_contract'"},
	        /* a struct field named like a macro the header includes */
	        {"[[struct]]\nname = \"S\"\nfields = [\n  { name = \"x\", type = \"u8\" },\n"
	         "  { name = \"INT8_MAX\", type = \"u8\" }]\n"
	         "[[guest_contract]]\nname = \"a.B\"\nversion = \"1.0.0\"\n" FN,
	         "c.toml:5:12: key 'fields'"},
	        /* an enum variant making a C keyword: at the variant */
	        {"[[enum]]\nname = \"thread\"\nvariants = [\n  { name = \"a\", value = 0 },\n"
	         "  { name = \"local\", value = 1 }]\n"
	         "[[guest_contract]]\nname = \"a.B\"\nversion = \"1.0.0\"\n" FN,
	         "c.toml:5:12: key 'name'"},
	        /* an enum shadowing a JS global */
	        {"[[enum]]\nname = \"Error\"\nvariants = [{ name = \"A\", value = 0 }]\n"
	         "[[guest_contract]]\nname = \"a.B\"\nversion = \"1.0.0\"\n" FN,
	         "c.toml:2:8: key 'enum'"},
	        /* a struct the declarations would merge with a contract's interface */
	        {"[[struct]]\nname = \"HelloContract\"\n"
	         "fields = [{ name = \"x\", type = \"u8\" }]\n"
	         "[[guest_contract]]\nname = \"demo.Hello\"\nversion = \"1.0.0\"\n" FN,
	         "c.toml:5:8: key 'name'"},
	};
#undef FN
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char err[512];
		ppc_model *m = ppc_model_read(cases[i].src, strlen(cases[i].src), "c.toml", err,
		                              sizeof err);
		if (m)
			fail_msg("case %zu accepted", i);
		if (strncmp(err, cases[i].where, strlen(cases[i].where)) != 0)
			fail_msg("case %zu: '%s', want it at '%s'", i, err, cases[i].where);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(layouts_follow_c),
	        cmocka_unit_test(errors_name_file_line_column_and_key),
	        cmocka_unit_test(layout_changes_need_a_new_major),
	        cmocka_unit_test(fuzz_corpus_and_regressions_replay),
	        cmocka_unit_test(contracts_past_the_loaders_limits_are_refused_with_their_place),
	        cmocka_unit_test(contracts_past_4096_are_refused_and_duplicates_are_found_anywhere),
	        cmocka_unit_test(enum_values_are_read_exactly_or_refused),
	        cmocka_unit_test(glue_for_the_widest_deepest_structs_is_never_cut_short),
	        cmocka_unit_test(docs_can_neither_end_nor_open_a_comment),
	        cmocka_unit_test(names_the_generated_code_cannot_hold_are_refused),
	        cmocka_unit_test(names_c_reserves_or_gnu_c_predefines_are_refused),
	        cmocka_unit_test(names_the_js_glue_or_the_declarations_cannot_hold_are_refused),
	        cmocka_unit_test(the_glue_constructs_the_authors_class_whatever_its_name),
	        cmocka_unit_test(paths_in_generated_comments_stay_comments),
	        cmocka_unit_test(implement_lists_name_each_guest_contract_once_and_at_most_64),
	        cmocka_unit_test(refusals_found_after_reading_point_at_the_declaration),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
