/*
 * test_toml.c — the strict TOML reader: everything it reads, read right, and
 * everything it refuses, refused with file, line and column. Also replays
 * fuzz/regressions/toml (inputs that once broke it) and the fuzz seed corpus.
 */
#include "helpers.h"
#include "runtime/toml.h"

static pp_toml_value *parse_ok(const char *text)
{
	char err[256];
	pp_toml_value *v = pp_toml_parse(text, strlen(text), "t.toml", err, sizeof err);
	if (!v)
		fail_msg("parse failed: %s\n--- input:\n%s", err, text);
	return v;
}

static const pp_toml_value *at(const pp_toml_value *t, const char *dotted)
{
	char key[128];
	snprintf(key, sizeof key, "%s", dotted);
	const pp_toml_value *v = t;
	for (char *part = strtok(key, "."); part; part = strtok(NULL, "."))
		v = pp_toml_get(v, part);
	return v;
}

static void want_string(const pp_toml_value *root, const char *key, const char *want)
{
	const pp_toml_value *v = at(root, key);
	if (!v || v->type != PP_TOML_STRING)
		fail_msg("%s: not a string", key);
	else
		assert_string_equal(v->u.string.ptr, want);
}

static void want_int(const pp_toml_value *root, const char *key, int64_t want)
{
	const pp_toml_value *v = at(root, key);
	if (!v || v->type != PP_TOML_INTEGER)
		fail_msg("%s: not an integer", key);
	else
		assert_true(v->u.integer.value == want);
}

static void reads_scalars_keys_and_comments(void **state)
{
	(void)state;
	pp_toml_value *r = parse_ok("# a manifest\n"
	                            "name = \"demo\"   # trailing comment\n"
	                            "lit = 'C:\\path\\no\\escapes'\n"
	                            "esc = \"tab\\tq\\\"b\\\\ \\u00e9 \\U0001F600\"\n"
	                            "empty = \"\"\n"
	                            "\"quoted key\" = 1\n"
	                            "'lit key' = -2\n"
	                            "bare-key_9 = +3\n"
	                            "big = 1_000_000\n"
	                            "hex = 0xDEAD_beef\n"
	                            "oct = 0o755\n"
	                            "bin = 0b1010\n"
	                            "min = -9223372036854775808\n"
	                            "yes = true\n"
	                            "no = false\n"
	                            "\r\n"
	                            "crlf = 5\r\n");
	want_string(r, "name", "demo");
	want_string(r, "lit", "C:\\path\\no\\escapes");
	want_string(r, "esc", "tab\tq\"b\\ \xc3\xa9 \xf0\x9f\x98\x80");
	want_string(r, "empty", "");
	want_int(r, "quoted key", 1);
	want_int(r, "lit key", -2);
	want_int(r, "bare-key_9", 3);
	want_int(r, "big", 1000000);
	want_int(r, "hex", 0xDEADBEEF);
	want_int(r, "oct", 0755);
	want_int(r, "bin", 10);
	want_int(r, "min", INT64_MIN);
	want_int(r, "crlf", 5);
	assert_true(at(r, "yes")->u.boolean);
	assert_false(at(r, "no")->u.boolean);
	/* positions are recorded */
	assert_int_equal(at(r, "name")->line, 2);
	assert_int_equal(at(r, "name")->col, 8);
	pp_toml_free(r);
}

static void reads_u64_ids_of_generated_manifests(void **state)
{
	(void)state;
	pp_toml_value *r =
	        parse_ok("bundle_id = 9589753868596421602\nmax = 18446744073709551615\n");
	const pp_toml_value *id = at(r, "bundle_id");
	assert_true(id->u.integer.is_unsigned);
	assert_true((uint64_t)id->u.integer.value == 9589753868596421602u);
	assert_true((uint64_t)at(r, "max")->u.integer.value == UINT64_MAX);
	pp_toml_free(r);
}

static void reads_tables_arrays_and_inline_tables(void **state)
{
	(void)state;
	pp_toml_value *r = parse_ok("provides = [\"a.B@1\", 'c.D@2',]\n"
	                            "nested = [ [1, 2], [\"x\"] ]\n"
	                            "multi = [\n  1, # one\n  2,\n\n  3\n]\n"
	                            "function_count = { \"a.B@1\" = 3, c = { d = 4 } }\n"
	                            "dotted.key.here = 'deep'\n"
	                            "[file]\n"
	                            "linux.x86_64 = \"lib.so\"\n"
	                            "linux.aarch64 = \"lib-arm.so\"\n"
	                            "[a.b.c]\n"
	                            "x = 1\n"
	                            "[a]\n"
	                            "y = 2\n"
	                            "[[dependency]]\n"
	                            "contract = \"one@1\"\n"
	                            "[dependency.extra]\n"
	                            "k = 1\n"
	                            "[[dependency]]\n"
	                            "contract = \"two@1\"\n");
	const pp_toml_value *p = at(r, "provides");
	assert_int_equal(p->type, PP_TOML_ARRAY);
	assert_int_equal(p->u.array.count, 2);
	assert_string_equal(p->u.array.items[1]->u.string.ptr, "c.D@2");
	const pp_toml_value *n = at(r, "nested");
	assert_int_equal(n->u.array.items[0]->u.array.count, 2);
	assert_int_equal(at(r, "multi")->u.array.count, 3);
	assert_int_equal(at(r, "multi")->u.array.items[2]->u.integer.value, 3);
	assert_int_equal(pp_toml_get(at(r, "function_count"), "a.B@1")->u.integer.value, 3);
	want_int(r, "function_count.c.d", 4);
	want_string(r, "dotted.key.here", "deep");
	want_string(r, "file.linux.x86_64", "lib.so");
	want_string(r, "file.linux.aarch64", "lib-arm.so");
	want_int(r, "a.b.c.x", 1);
	want_int(r, "a.y", 2);
	const pp_toml_value *d = at(r, "dependency");
	assert_int_equal(d->type, PP_TOML_ARRAY);
	assert_int_equal(d->u.array.count, 2);
	want_string(d->u.array.items[0], "contract", "one@1");
	want_int(d->u.array.items[0], "extra.k", 1);
	want_string(d->u.array.items[1], "contract", "two@1");
	pp_toml_free(r);
}

/* Each bad input: the message must hold "t.toml:LINE:COL: " and the text. */
static void refuses_what_it_does_not_read(void **state)
{
	(void)state;
	static const struct {
		const char *text, *where, *what;
	} bad[] = {
	        {"a = 1.5\n", "1:6", "floats"},
	        {"a = 1e3\n", "1:6", "floats"},
	        {"a = inf\n", "1:5", "floats"},
	        {"d = 1979-05-27\n", "1:9", "dates"},
	        {"s = \"\"\"multi\"\"\"\n", "1:5", "multi-line strings"},
	        {"s = \"open\n", "1:10", "unterminated string"},
	        {"s = 'open", "1:10", "unterminated string"},
	        {"s = \"bad \\q\"\n", "1:11", "unknown escape"},
	        {"s = \"\\u12\"\n", "1:10", "4 hex digits"},
	        {"s = \"\\uD800\"\n", "1:12", "not a Unicode scalar value"},
	        {"s = \"\xff\"\n", "1:6", "invalid UTF-8"},
	        {"s = \"a\tb\x01\"\n", "1:9", "control character"},
	        {"a = 1\na = 2\n", "2:1", "defined twice"},
	        {"[t]\n[t]\n", "2:2", "defined twice"},
	        {"a = 1\n[a]\n", "2:2", "already a value"},
	        {"a = []\n[[a]]\n", "2:3", "static array"},
	        {"a = {x = 1}\n[a]\n", "2:2", "defined twice"},
	        {"a = {x = 1}\na.y = 2\n", "2:1", "inline table"},
	        {"[a.b]\n[a]\nb.c = 1\n", "3:1", "defined by a header"},
	        {"a = 01\n", "1:5", "leading zeros"},
	        {"a = 1__0\n", "1:7", "between digits"},
	        {"a = 99999999999999999999\n", "1:24", "out of range"},
	        {"a = -9223372036854775809\n", "1:25", "out of range"},
	        {"a = +0x10\n", "1:6", "no sign"},
	        {"a = 12abc\n", "1:7", "unexpected 'a' in a number"},
	        {"a = \n", "1:5", "expected a value"},
	        {"a = 1 2\n", "1:7", "end of the line"},
	        {"a 1\n", "1:3", "expected '='"},
	        {"= 1\n", "1:1", "where a key should be"},
	        {"a = [1 2]\n", "1:8", "expected ',' or ']'"},
	        {"a = [1,\n", "2:1", "expected a value"},
	        {"a = {x = 1,}\n", "1:12", "no trailing comma"},
	        {"a = {x = 1\n}\n", "1:11", "on one line"},
	        {"[a\n", "1:3", "expected ']'"},
	        {"[[a]\n", "1:4", "expected ']]'"},
	        {"a = yes\n", "1:5", "where a value should be"},
	        {"# bell \x07\n", "1:8", "control character"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char err[256];
		pp_toml_value *v =
		        pp_toml_parse(bad[i].text, strlen(bad[i].text), "t.toml", err, sizeof err);
		if (v) {
			pp_toml_free(v);
			fail_msg("accepted: %s", bad[i].text);
		}
		char where[32];
		snprintf(where, sizeof where, "t.toml:%s: ", bad[i].where);
		if (!strstr(err, where) || !strstr(err, bad[i].what))
			fail_msg("input %zu (%s): got '%s', want '%s' and '%s'", i, bad[i].text,
			         err, where, bad[i].what);
	}
}

static void deep_nesting_is_bounded(void **state)
{
	(void)state;
	char text[4096] = "a = ";
	for (int i = 0; i < 1000; i++)
		strcat(text, "[");
	char err[256];
	assert_null(pp_toml_parse(text, strlen(text), "t.toml", err, sizeof err));
	assert_contains(err, "nested more than");
}

/* Each key is checked against its table's others, so a table's keys are
 * bounded: 1 MiB of short keys used to cost a minute of strcmp. The
 * bound holds for dotted keys, headers and inline tables alike. */
static void a_table_holds_at_most_256_keys(void **state)
{
	(void)state;
	static char text[64 << 10];
	for (int shape = 0; shape < 4; shape++)
		for (int keys = 256; keys <= 257; keys++) {
			size_t used = 0, cap = sizeof text;
			if (shape == 3)
				used += (size_t)snprintf(text, cap, "t = {");
			for (int i = 0; i < keys; i++)
				if (shape == 0)
					used += (size_t)snprintf(text + used, cap - used,
					                         "k%d = 1\n", i);
				else if (shape == 1)
					used += (size_t)snprintf(text + used, cap - used,
					                         "t.k%d = 1\n", i);
				else if (shape == 2)
					used += (size_t)snprintf(text + used, cap - used, "[k%d]\n",
					                         i);
				else
					used += (size_t)snprintf(text + used, cap - used,
					                         "%sk%d = 1", i ? ", " : "", i);
			if (shape == 3)
				used += (size_t)snprintf(text + used, sizeof text - used, "}\n");
			char err[256] = "";
			pp_toml_value *v = pp_toml_parse(text, used, "t.toml", err, sizeof err);
			if (keys == 256) {
				assert_non_null(v);
			} else {
				assert_null(v);
				assert_contains(err, "a table has more than 256 keys");
			}
			pp_toml_free(v);
		}
}

/* Every file of a directory goes through the parser: no crash, no leak. */
static void parse_one(const char *data, size_t len, const char *name)
{
	char err[256];
	pp_toml_free(pp_toml_parse(data, len, name, err, sizeof err));
}

static void fuzz_regressions_and_corpus_replay(void **state)
{
	(void)state;
	int seeds = replay_dir(PP_SOURCE_DIR "/fuzz/corpus/toml", parse_one);
	replay_dir(PP_SOURCE_DIR "/fuzz/regressions/toml", parse_one);
	assert_true(seeds > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(reads_scalars_keys_and_comments),
	        cmocka_unit_test(reads_u64_ids_of_generated_manifests),
	        cmocka_unit_test(reads_tables_arrays_and_inline_tables),
	        cmocka_unit_test(refuses_what_it_does_not_read),
	        cmocka_unit_test(deep_nesting_is_bounded),
	        cmocka_unit_test(a_table_holds_at_most_256_keys),
	        cmocka_unit_test(fuzz_regressions_and_corpus_replay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
