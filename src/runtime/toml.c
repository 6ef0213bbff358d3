/*
 * toml.c — the strict TOML reader of toml.h. A recursive-descent parser over
 * the whole text, one pass, building a tree of pp_toml_value. Errors carry
 * the line and column where the parser stopped.
 */
#include "toml.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How a table came to be: TOML forbids defining the same table twice, or
 * adding to an inline table, or treating a value as a table. */
enum {
	HOW_IMPLICIT,  /* created as the parent of something ([a.b] creates a) */
	HOW_HEADER,    /* defined by its own [header] */
	HOW_DOTTED,    /* created by a dotted key (a.b = 1 creates a) */
	HOW_INLINE,    /* { ... }: closed once written */
	HOW_ARRAY_ELT, /* an element of [[array]] */
	HOW_TABLES,    /* an array made by [[array]] headers */
};

/* Nesting bound for arrays and inline tables: bad input cannot exhaust the
 * stack. */
#define MAX_DEPTH 64
/* Keys in one table: each new key is checked against the table's others,
 * so a bound keeps a hostile file's cost linear (about 0.3 s for 1 MiB of
 * the worst input). Configuration files need a few dozen. */
#define MAX_TABLE_KEYS 256

typedef struct parser {
	const char *p, *end, *line_start;
	int line;
	const char *file;
	char *err;
	size_t errcap;
	bool failed;
	int depth;
	/* the key being placed: where errors about placing it point */
	const char *key_at, *key_line_start;
	int key_line;
} parser;

__attribute__((format(printf, 2, 3))) static void fail(parser *ps, const char *fmt, ...)
{
	if (ps->failed)
		return;
	ps->failed = true;
	int n = snprintf(ps->err, ps->errcap, "%s:%d:%d: ", ps->file, ps->line,
	                 (int)(ps->p - ps->line_start) + 1);
	if (n < 0 || (size_t)n >= ps->errcap)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errcap - (size_t)n, fmt, ap);
	va_end(ap);
}

static void mark_key(parser *ps)
{
	ps->key_at = ps->p;
	ps->key_line = ps->line;
	ps->key_line_start = ps->line_start;
}

/* Errors about where a key goes point at the key, not past its value. */
#define fail_at_key(ps, ...)                             \
	do {                                             \
		(ps)->p = (ps)->key_at;                  \
		(ps)->line = (ps)->key_line;             \
		(ps)->line_start = (ps)->key_line_start; \
		fail((ps), __VA_ARGS__);                 \
	} while (0)

/* ---- Values ---------------------------------------------------------------- */

static pp_toml_value *new_value(parser *ps, pp_toml_type type)
{
	pp_toml_value *v = calloc(1, sizeof *v);
	if (!v) {
		fail(ps, "out of memory");
		return NULL;
	}
	v->type = type;
	v->line = ps->line;
	v->col = (int)(ps->p - ps->line_start) + 1;
	return v;
}

void pp_toml_free(pp_toml_value *v)
{
	if (!v)
		return;
	if (v->type == PP_TOML_STRING) {
		free(v->u.string.ptr);
	} else if (v->type == PP_TOML_ARRAY) {
		for (size_t i = 0; i < v->u.array.count; i++)
			pp_toml_free(v->u.array.items[i]);
		free(v->u.array.items);
	} else if (v->type == PP_TOML_TABLE) {
		for (size_t i = 0; i < v->u.table.count; i++) {
			free(v->u.table.keys[i]);
			pp_toml_free(v->u.table.values[i]);
		}
		free(v->u.table.keys);
		free(v->u.table.values);
	}
	free(v);
}

const pp_toml_value *pp_toml_get(const pp_toml_value *t, const char *key)
{
	if (!t || t->type != PP_TOML_TABLE)
		return NULL;
	for (size_t i = 0; i < t->u.table.count; i++)
		if (strcmp(t->u.table.keys[i], key) == 0)
			return t->u.table.values[i];
	return NULL;
}

const char *pp_toml_type_name(pp_toml_type t)
{
	switch (t) {
	case PP_TOML_STRING:
		return "a string";
	case PP_TOML_INTEGER:
		return "an integer";
	case PP_TOML_BOOL:
		return "a boolean";
	case PP_TOML_ARRAY:
		return "an array";
	default:
		return "a table";
	}
}

static pp_toml_value *table_get(pp_toml_value *t, const char *key)
{
	return (pp_toml_value *)pp_toml_get(t, key);
}

/* Adds key = v to table t (which takes v, also on failure). */
static bool table_put(parser *ps, pp_toml_value *t, char *key, pp_toml_value *v)
{
	if (t->u.table.count == MAX_TABLE_KEYS) {
		fail(ps, "a table has more than %d keys", MAX_TABLE_KEYS);
		free(key);
		pp_toml_free(v);
		return false;
	}
	if (t->u.table.count == t->u.table.cap) {
		size_t cap = t->u.table.cap ? t->u.table.cap * 2 : 8;
		char **keys = realloc(t->u.table.keys, cap * sizeof *keys);
		if (keys)
			t->u.table.keys = keys;
		pp_toml_value **values =
		        keys ? realloc(t->u.table.values, cap * sizeof(pp_toml_value *)) : NULL;
		if (!values) {
			fail(ps, "out of memory");
			free(key);
			pp_toml_free(v);
			return false;
		}
		t->u.table.values = values;
		t->u.table.cap = cap;
	}
	t->u.table.keys[t->u.table.count] = key;
	t->u.table.values[t->u.table.count++] = v;
	return true;
}

static bool array_push(parser *ps, pp_toml_value *a, pp_toml_value *v)
{
	if (a->u.array.count == a->u.array.cap) {
		size_t cap = a->u.array.cap ? a->u.array.cap * 2 : 8;
		pp_toml_value **items = realloc(a->u.array.items, cap * sizeof(pp_toml_value *));
		if (!items) {
			fail(ps, "out of memory");
			pp_toml_free(v);
			return false;
		}
		a->u.array.items = items;
		a->u.array.cap = cap;
	}
	a->u.array.items[a->u.array.count++] = v;
	return true;
}

/* ---- Lexing helpers ---------------------------------------------------------- */

static bool at_end(const parser *ps)
{
	return ps->p >= ps->end;
}

static int peek(const parser *ps)
{
	return at_end(ps) ? -1 : (unsigned char)*ps->p;
}

static int peek_at(const parser *ps, size_t k)
{
	return ps->p + k >= ps->end ? -1 : (unsigned char)ps->p[k];
}

static void skip_blanks(parser *ps)
{
	while (peek(ps) == ' ' || peek(ps) == '\t')
		ps->p++;
}

/* A comment runs to the end of the line; control characters are not allowed
 * in it (TOML), tabs are. */
static void skip_comment(parser *ps)
{
	if (peek(ps) != '#')
		return;
	while (!at_end(ps) && *ps->p != '\n') {
		unsigned char c = (unsigned char)*ps->p;
		if ((c < 0x20 && c != '\t' && !(c == '\r' && peek_at(ps, 1) == '\n')) ||
		    c == 0x7f) {
			fail(ps, "control character 0x%02x in a comment", c);
			return;
		}
		ps->p++;
	}
}

/* Consumes a newline (\n or \r\n); false if there is none here. */
static bool newline(parser *ps)
{
	if (peek(ps) == '\r' && peek_at(ps, 1) == '\n')
		ps->p++;
	if (peek(ps) != '\n')
		return false;
	ps->p++;
	ps->line++;
	ps->line_start = ps->p;
	return true;
}

/* Blanks, comments and newlines (inside arrays). */
static void skip_space_lines(parser *ps)
{
	for (;;) {
		skip_blanks(ps);
		skip_comment(ps);
		if (ps->failed || !newline(ps))
			return;
	}
}

/* After a key/value or a header: only blanks and a comment may follow. */
static void end_of_line(parser *ps)
{
	skip_blanks(ps);
	skip_comment(ps);
	if (ps->failed || at_end(ps))
		return;
	if (!newline(ps))
		fail(ps, "expected the end of the line, found '%c'", *ps->p);
}

/* ---- Strings ---------------------------------------------------------------- */

typedef struct buf {
	char *s;
	size_t len, cap;
} buf;

static bool buf_add(parser *ps, buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 32;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *d = realloc(b->s, cap);
		if (!d) {
			fail(ps, "out of memory");
			return false;
		}
		b->s = d;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return true;
}

/* UTF-8 of code point cp. */
static bool buf_add_utf8(parser *ps, buf *b, uint32_t cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return buf_add(ps, b, u, n);
}

/* One character of string content (not the quote), with its checks. */
static bool string_char(parser *ps, buf *b)
{
	unsigned char c = (unsigned char)*ps->p;
	if ((c < 0x20 && c != '\t') || c == 0x7f) {
		fail(ps, c == '\n' ? "unterminated string (strings end on their line)"
		                   : "control character in a string: write it as an escape");
		return false;
	}
	uint32_t cp;
	size_t n = pp_utf8_seq((const uint8_t *)ps->p, (size_t)(ps->end - ps->p), &cp);
	if (n == 0) {
		fail(ps, "invalid UTF-8 in a string");
		return false;
	}
	bool ok = buf_add(ps, b, ps->p, n);
	ps->p += n;
	return ok;
}

static bool hex_escape(parser *ps, buf *b, int digits)
{
	uint32_t cp = 0;
	for (int i = 0; i < digits; i++) {
		int c = peek(ps);
		int d = c >= '0' && c <= '9'   ? c - '0'
		        : c >= 'a' && c <= 'f' ? c - 'a' + 10
		        : c >= 'A' && c <= 'F' ? c - 'A' + 10
		                               : -1;
		if (d < 0) {
			fail(ps, "\\%c escape needs %d hex digits", digits == 4 ? 'u' : 'U',
			     digits);
			return false;
		}
		cp = cp << 4 | (uint32_t)d;
		ps->p++;
	}
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
		fail(ps, "escape U+%04X is not a Unicode scalar value", (unsigned)cp);
		return false;
	}
	return buf_add_utf8(ps, b, cp);
}

/* A basic ("...") or literal ('...') string; p is at the opening quote. */
static bool parse_string(parser *ps, buf *b)
{
	char quote = *ps->p;
	if (peek_at(ps, 1) == quote && peek_at(ps, 2) == quote) {
		fail(ps, "multi-line strings are not supported");
		return false;
	}
	ps->p++;
	b->len = 0;
	if (!buf_add(ps, b, "", 0))
		return false;
	for (;;) {
		if (at_end(ps)) {
			fail(ps, "unterminated string");
			return false;
		}
		char c = *ps->p;
		if (c == quote) {
			ps->p++;
			return true;
		}
		if (c != '\\' || quote == '\'') {
			if (!string_char(ps, b))
				return false;
			continue;
		}
		ps->p++;
		int e = peek(ps);
		ps->p++;
		const char *put = NULL;
		switch (e) {
		case 'b':
			put = "\b";
			break;
		case 't':
			put = "\t";
			break;
		case 'n':
			put = "\n";
			break;
		case 'f':
			put = "\f";
			break;
		case 'r':
			put = "\r";
			break;
		case '"':
			put = "\"";
			break;
		case '\\':
			put = "\\";
			break;
		case 'u':
			if (!hex_escape(ps, b, 4))
				return false;
			continue;
		case 'U':
			if (!hex_escape(ps, b, 8))
				return false;
			continue;
		default:
			ps->p--;
			fail(ps, "unknown escape '\\%c'", e < 0 ? ' ' : e);
			return false;
		}
		if (!buf_add(ps, b, put, 1))
			return false;
	}
}

/* ---- Keys ------------------------------------------------------------------- */

static bool bare_key_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* One key part (bare or quoted), malloc'd. */
static char *key_part(parser *ps)
{
	int c = peek(ps);
	if (c == '"' || c == '\'') {
		buf b = {0};
		if (!parse_string(ps, &b)) {
			free(b.s);
			return NULL;
		}
		if (strlen(b.s) != b.len) {
			fail(ps, "a key may not contain a NUL character");
			free(b.s);
			return NULL;
		}
		return b.s;
	}
	const char *start = ps->p;
	while (bare_key_char(peek(ps)))
		ps->p++;
	if (ps->p == start) {
		if (c < 0 || c == '\n' || c == '\r')
			fail(ps, "expected a key");
		else
			fail(ps, "unexpected '%c' where a key should be", c);
		return NULL;
	}
	char *k = malloc((size_t)(ps->p - start) + 1);
	if (!k) {
		fail(ps, "out of memory");
		return NULL;
	}
	memcpy(k, start, (size_t)(ps->p - start));
	k[ps->p - start] = '\0';
	return k;
}

typedef struct key_path {
	char *parts[MAX_DEPTH];
	int n;
} key_path;

static void key_path_free(key_path *k)
{
	for (int i = 0; i < k->n; i++)
		free(k->parts[i]);
	k->n = 0;
}

/* A possibly dotted key: a.b."c d" */
static bool parse_key(parser *ps, key_path *k)
{
	k->n = 0;
	for (;;) {
		skip_blanks(ps);
		if (k->n == MAX_DEPTH) {
			fail(ps, "key has more than %d parts", MAX_DEPTH);
			return false;
		}
		char *part = key_part(ps);
		if (!part)
			return false;
		k->parts[k->n++] = part;
		skip_blanks(ps);
		if (peek(ps) != '.')
			return true;
		ps->p++;
	}
}

/* ---- Numbers and other scalars ------------------------------------------------ */

static bool digit_in(int c, int base)
{
	if (base == 16)
		return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
	return c >= '0' && c < '0' + base;
}

static int digit_value(int c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static pp_toml_value *parse_integer(parser *ps)
{
	pp_toml_value *v = new_value(ps, PP_TOML_INTEGER);
	if (!v)
		return NULL;
	bool negative = false, sign = false;
	if (peek(ps) == '+' || peek(ps) == '-') {
		sign = true;
		negative = *ps->p++ == '-';
	}
	int base = 10;
	if (peek(ps) == '0' &&
	    (peek_at(ps, 1) == 'x' || peek_at(ps, 1) == 'o' || peek_at(ps, 1) == 'b')) {
		if (sign) {
			fail(ps, "a hex, octal or binary integer takes no sign");
			goto bad;
		}
		base = peek_at(ps, 1) == 'x' ? 16 : peek_at(ps, 1) == 'o' ? 8 : 2;
		ps->p += 2;
	} else if (peek(ps) == '0' && digit_in(peek_at(ps, 1), 10)) {
		fail(ps, "leading zeros are not allowed in an integer");
		goto bad;
	}
	uint64_t mag = 0;
	int digits = 0;
	bool last_underscore = false;
	for (;;) {
		int c = peek(ps);
		if (c == '_') {
			if (digits == 0 || last_underscore) {
				fail(ps, "'_' must sit between digits");
				goto bad;
			}
			last_underscore = true;
			ps->p++;
			continue;
		}
		if (!digit_in(c, base))
			break;
		uint64_t d = (uint64_t)digit_value(c);
		if (mag > (UINT64_MAX - d) / (uint64_t)base) {
			fail(ps, "integer out of range");
			goto bad;
		}
		mag = mag * (uint64_t)base + d;
		digits++;
		last_underscore = false;
		ps->p++;
	}
	if (digits == 0 || last_underscore) {
		fail(ps, digits ? "'_' must sit between digits" : "expected digits");
		goto bad;
	}
	int c = peek(ps);
	if (c == '.' || c == 'e' || c == 'E' || c == ':' || (c == '-' && base == 10 && !negative)) {
		fail(ps, "floats, dates and times are not supported");
		goto bad;
	}
	if (bare_key_char(c)) {
		fail(ps, "unexpected '%c' in a number", c);
		goto bad;
	}
	if (negative) {
		if (mag > (uint64_t)INT64_MAX + 1) {
			fail(ps, "integer out of range");
			goto bad;
		}
		v->u.integer.value = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
	} else if (mag > (uint64_t)INT64_MAX) {
		if (base != 10) {
			fail(ps, "integer out of range");
			goto bad;
		}
		v->u.integer.value = (int64_t)mag; /* wraps: read back as uint64_t */
		v->u.integer.is_unsigned = true;
	} else {
		v->u.integer.value = (int64_t)mag;
	}
	return v;
bad:
	pp_toml_free(v);
	return NULL;
}

static bool word_is(const parser *ps, const char *w)
{
	size_t n = strlen(w);
	return (size_t)(ps->end - ps->p) >= n && memcmp(ps->p, w, n) == 0 &&
	       !bare_key_char(peek_at(ps, n));
}

/* ---- Values, arrays, inline tables --------------------------------------------- */

static pp_toml_value *parse_value(parser *ps);
static bool put_dotted(parser *ps, pp_toml_value *table, key_path *k, pp_toml_value *v);

static pp_toml_value *parse_array(parser *ps)
{
	pp_toml_value *a = new_value(ps, PP_TOML_ARRAY);
	if (!a)
		return NULL;
	ps->p++; /* [ */
	for (;;) {
		skip_space_lines(ps);
		if (ps->failed)
			break;
		if (peek(ps) == ']') {
			ps->p++;
			return a;
		}
		pp_toml_value *item = parse_value(ps);
		if (!item || !array_push(ps, a, item))
			break;
		skip_space_lines(ps);
		if (ps->failed)
			break;
		if (peek(ps) == ',') {
			ps->p++;
			continue;
		}
		if (peek(ps) == ']') {
			ps->p++;
			return a;
		}
		fail(ps, at_end(ps) ? "unterminated array" : "expected ',' or ']' in an array");
		break;
	}
	pp_toml_free(a);
	return NULL;
}

static pp_toml_value *parse_inline_table(parser *ps)
{
	pp_toml_value *t = new_value(ps, PP_TOML_TABLE);
	if (!t)
		return NULL;
	t->how = HOW_INLINE;
	ps->p++; /* { */
	skip_blanks(ps);
	if (peek(ps) == '}') {
		ps->p++;
		return t;
	}
	for (;;) {
		key_path k;
		skip_blanks(ps);
		mark_key(ps);
		if (!parse_key(ps, &k)) {
			key_path_free(&k);
			break;
		}
		if (peek(ps) != '=') {
			fail(ps, "expected '=' after the key");
			key_path_free(&k);
			break;
		}
		ps->p++;
		skip_blanks(ps);
		pp_toml_value *v = parse_value(ps);
		bool ok = v && put_dotted(ps, t, &k, v);
		key_path_free(&k);
		if (!ok)
			break;
		skip_blanks(ps);
		if (peek(ps) == ',') {
			ps->p++;
			skip_blanks(ps);
			if (peek(ps) == '}') {
				fail(ps, "no trailing comma in an inline table");
				break;
			}
			continue;
		}
		if (peek(ps) == '}') {
			ps->p++;
			/* every table made inside is closed too */
			return t;
		}
		fail(ps, peek(ps) == '\n' || peek(ps) == '\r'
		                 ? "an inline table must be on one line"
		                 : "expected ',' or '}' in an inline table");
		break;
	}
	pp_toml_free(t);
	return NULL;
}

/* Inline tables close every table inside them. */
static void close_inline(pp_toml_value *v)
{
	if (v->type == PP_TOML_TABLE) {
		v->how = HOW_INLINE;
		for (size_t i = 0; i < v->u.table.count; i++)
			close_inline(v->u.table.values[i]);
	}
}

static pp_toml_value *parse_value(parser *ps)
{
	if (++ps->depth > MAX_DEPTH) {
		fail(ps, "values nested more than %d deep", MAX_DEPTH);
		ps->depth--;
		return NULL;
	}
	pp_toml_value *v = NULL;
	int c = peek(ps);
	if (c == '"' || c == '\'') {
		v = new_value(ps, PP_TOML_STRING);
		buf b = {0};
		if (v && parse_string(ps, &b)) {
			v->u.string.ptr = b.s;
			v->u.string.len = b.len;
		} else {
			free(b.s);
			pp_toml_free(v);
			v = NULL;
		}
	} else if (c == '[') {
		v = parse_array(ps);
	} else if (c == '{') {
		v = parse_inline_table(ps);
		if (v)
			close_inline(v);
	} else if (word_is(ps, "true") || word_is(ps, "false")) {
		v = new_value(ps, PP_TOML_BOOL);
		if (v) {
			v->u.boolean = *ps->p == 't';
			ps->p += v->u.boolean ? 4 : 5;
		}
	} else if (word_is(ps, "inf") || word_is(ps, "nan") || word_is(ps, "+inf") ||
	           word_is(ps, "-inf") || word_is(ps, "+nan") || word_is(ps, "-nan")) {
		fail(ps, "floats are not supported");
	} else if ((c >= '0' && c <= '9') || c == '+' || c == '-') {
		v = parse_integer(ps);
	} else if (c < 0 || c == '\n' || c == '\r') {
		fail(ps, "expected a value");
	} else {
		fail(ps, "unexpected '%c' where a value should be", c);
	}
	ps->depth--;
	return v;
}

/* ---- Placing values --------------------------------------------------------------- */

/* The table at parts[0..n) under t, creating missing ones as `create_as`.
 * Headers (create_as HOW_IMPLICIT) step into the last element of an array
 * of tables; dotted keys (HOW_DOTTED) may only extend tables that dotted
 * keys made. Nothing may extend a value or an inline table. */
static pp_toml_value *descend(parser *ps, pp_toml_value *t, char *const *parts, int n,
                              uint8_t create_as)
{
	for (int i = 0; i < n; i++) {
		pp_toml_value *next = table_get(t, parts[i]);
		if (!next) {
			next = new_value(ps, PP_TOML_TABLE);
			char *key = next ? strdup(parts[i]) : NULL;
			if (!key) {
				pp_toml_free(next);
				fail(ps, "out of memory");
				return NULL;
			}
			next->how = create_as;
			if (!table_put(ps, t, key, next))
				return NULL;
		} else if (next->type == PP_TOML_ARRAY && next->how == HOW_TABLES &&
		           create_as != HOW_DOTTED) {
			/* [[a]] then [a.b]: b goes into the last element */
			next = next->u.array.items[next->u.array.count - 1];
		} else if (next->type != PP_TOML_TABLE) {
			fail_at_key(ps, "'%s' is already %s, not a table", parts[i],
			            pp_toml_type_name(next->type));
			return NULL;
		} else if (next->how == HOW_INLINE) {
			fail_at_key(ps, "'%s' is an inline table; it cannot be extended", parts[i]);
			return NULL;
		} else if (create_as == HOW_DOTTED && next->how != HOW_DOTTED) {
			fail_at_key(
			        ps,
			        "table '%s' was defined by a header; a dotted key cannot add to it",
			        parts[i]);
			return NULL;
		}
		t = next;
	}
	return t;
}

/* key = value within table (dotted keys create tables on the way). */
static bool put_dotted(parser *ps, pp_toml_value *table, key_path *k, pp_toml_value *v)
{
	pp_toml_value *t = descend(ps, table, k->parts, k->n - 1, HOW_DOTTED);
	if (!t) {
		pp_toml_free(v);
		return false;
	}
	const char *last = k->parts[k->n - 1];
	if (table_get(t, last)) {
		fail_at_key(ps, "key '%s' is defined twice", last);
		pp_toml_free(v);
		return false;
	}
	char *key = strdup(last);
	if (!key) {
		fail(ps, "out of memory");
		pp_toml_free(v);
		return false;
	}
	return table_put(ps, t, key, v);
}

/* [a.b] or [[a.b]]: returns the table that following keys go into. */
static pp_toml_value *parse_header(parser *ps, pp_toml_value *root)
{
	bool array = peek_at(ps, 1) == '[';
	ps->p += array ? 2 : 1;
	skip_blanks(ps);
	mark_key(ps);
	key_path k;
	pp_toml_value *t = NULL;
	if (!parse_key(ps, &k))
		goto done;
	if (peek(ps) != ']' || (array && peek_at(ps, 1) != ']')) {
		fail(ps, array ? "expected ']]' to close the header"
		               : "expected ']' to close the header");
		goto done;
	}
	ps->p += array ? 2 : 1;
	pp_toml_value *parent = descend(ps, root, k.parts, k.n - 1, HOW_IMPLICIT);
	if (!parent)
		goto done;
	const char *last = k.parts[k.n - 1];
	pp_toml_value *existing = table_get(parent, last);
	if (array) {
		if (!existing) {
			existing = new_value(ps, PP_TOML_ARRAY);
			char *key = existing ? strdup(last) : NULL;
			if (!key) {
				pp_toml_free(existing);
				fail(ps, "out of memory");
				goto done;
			}
			existing->how = HOW_TABLES;
			if (!table_put(ps, parent, key, existing))
				goto done;
		} else if (existing->type != PP_TOML_ARRAY || existing->how != HOW_TABLES) {
			fail_at_key(ps, "'%s' is already %s, not an array of tables", last,
			            existing->type == PP_TOML_ARRAY
			                    ? "a static array"
			                    : pp_toml_type_name(existing->type));
			goto done;
		}
		pp_toml_value *elt = new_value(ps, PP_TOML_TABLE);
		if (!elt)
			goto done;
		elt->how = HOW_ARRAY_ELT;
		if (array_push(ps, existing, elt))
			t = elt;
	} else if (!existing) {
		pp_toml_value *nt = new_value(ps, PP_TOML_TABLE);
		char *key = nt ? strdup(last) : NULL;
		if (!key) {
			pp_toml_free(nt);
			fail(ps, "out of memory");
			goto done;
		}
		nt->how = HOW_HEADER;
		if (table_put(ps, parent, key, nt))
			t = nt;
	} else if (existing->type == PP_TOML_TABLE && existing->how == HOW_IMPLICIT) {
		existing->how = HOW_HEADER; /* [a.b] then [a]: a is defined now */
		t = existing;
	} else {
		fail_at_key(ps,
		            existing->type == PP_TOML_TABLE
		                    ? "table '%s' is defined twice"
		                    : "'%s' is already a value, not a table",
		            last);
	}
done:
	key_path_free(&k);
	if (t)
		end_of_line(ps);
	return ps->failed ? NULL : t;
}

pp_toml_value *pp_toml_parse(const char *text, size_t len, const char *file, char *err,
                             size_t errcap)
{
	parser ps = {.p = text,
	             .end = text + len,
	             .line_start = text,
	             .line = 1,
	             .file = file ? file : "<toml>",
	             .err = err,
	             .errcap = errcap,
	             .key_at = text,
	             .key_line_start = text,
	             .key_line = 1};
	if (errcap)
		err[0] = '\0';
	pp_toml_value *root = new_value(&ps, PP_TOML_TABLE);
	if (!root)
		return NULL;
	root->how = HOW_HEADER;
	/* a BOM is allowed at the very start */
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		ps.p += 3;
	pp_toml_value *current = root;
	while (!ps.failed && !at_end(&ps)) {
		skip_blanks(&ps);
		skip_comment(&ps);
		if (ps.failed || at_end(&ps))
			break;
		if (newline(&ps))
			continue;
		if (peek(&ps) == '[') {
			current = parse_header(&ps, root);
			continue;
		}
		key_path k;
		mark_key(&ps);
		if (!parse_key(&ps, &k)) {
			key_path_free(&k);
			break;
		}
		if (peek(&ps) != '=') {
			fail(&ps, "expected '=' after the key");
			key_path_free(&k);
			break;
		}
		ps.p++;
		skip_blanks(&ps);
		pp_toml_value *v = parse_value(&ps);
		bool ok = v && put_dotted(&ps, current, &k, v);
		key_path_free(&k);
		if (ok)
			end_of_line(&ps);
	}
	if (ps.failed) {
		pp_toml_free(root);
		return NULL;
	}
	return root;
}
