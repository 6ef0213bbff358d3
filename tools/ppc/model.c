/*
 * model.c — reading a contract file (TOML, the reference's api.toml shape)
 * into a ppc_model and computing layouts. Every error names the file, the
 * line and column, and the key.
 */
#include "model.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <polyplug/abi.h>

#include "runtime/toml.h"
#include "runtime/utf8.h"

void ppc_comment(FILE *f, const char *indent, const char *open, const char *docs)
{
	if (!docs || !*docs)
		return;
	fprintf(f, "%s%s ", indent, open);
	for (const char *p = docs; *p; p++) {
		if ((p[0] == '*' && p[1] == '/') || (p[0] == '/' && p[1] == '*'))
			fprintf(f, "%c ", p[0]); /* "* /", "/ *": neither ends nor opens one */
		else if (*p == '\n')
			fprintf(f, "\n%s * ", indent);
		else
			fputc(*p, f);
	}
	fputs(" */\n", f);
}

void ppc_comment_path(FILE *f, const char *path)
{
	size_t len = strlen(path);
	for (size_t i = 0, n; i < len; i += n) {
		const uint8_t *p = (const uint8_t *)path + i;
		uint32_t cp = 0;
		size_t seq = pp_utf8_seq(p, len - i, &cp);
		n = seq ? seq : 1; /* not UTF-8: that one byte */
		bool plain = seq && cp >= 0x20 && cp != 0x7f && cp != 0x2028 && cp != 0x2029 &&
		             !(p[0] == '*' && p[1] == '/') && !(p[0] == '/' && p[1] == '*');
		if (p[0] == '\\')
			fputs("\\\\", f);
		else if (plain)
			fwrite(p, 1, n, f);
		else
			for (size_t k = 0; k < n; k++)
				fprintf(f, "\\x%02x", p[k]);
	}
}

char *ppc_read_file(const char *path, size_t max, size_t *len)
{
	/* a regular file only: a FIFO would block, a device never end */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	char *text = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *grown = n <= max ? realloc(text, cap) : NULL;
			if (!grown) {
				free(text);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			text = grown;
		}
		size_t got = fread(text + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	bool failed = ferror(f);
	fclose(f);
	if (failed || n > max) {
		free(text);
		errno = failed ? EIO : ENOMEM;
		return NULL;
	}
	text[n] = '\0';
	*len = n;
	return text;
}

typedef struct reader {
	const char *file;
	char *err;
	size_t errcap;
	bool failed;
	const pp_toml_value *root;
} reader;

static void vbad(reader *r, ppc_pos at, const char *key, const char *fmt, va_list ap)
{
	if (r->failed)
		return;
	r->failed = true;
	int n = snprintf(r->err, r->errcap, "%s:%d:%d: key '%s': ", r->file, at.line, at.col, key);
	if (n >= 0 && (size_t)n < r->errcap)
		vsnprintf(r->err + n, r->errcap - (size_t)n, fmt, ap);
}

/* The first failure, at the value `at` (NULL: the file's start). */
__attribute__((format(printf, 4, 5))) static void bad(reader *r, const pp_toml_value *at,
                                                      const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vbad(r, at ? (ppc_pos){at->line, at->col} : (ppc_pos){1, 1}, key, fmt, ap);
	va_end(ap);
}

/* The same, at a declaration's place. */
__attribute__((format(printf, 4, 5))) static void bad_at(reader *r, ppc_pos at, const char *key,
                                                         const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vbad(r, at, key, fmt, ap);
	va_end(ap);
}

/* The later of two places: a clash is reported where it is made. */
static ppc_pos later(ppc_pos a, ppc_pos b)
{
	return a.line > b.line || (a.line == b.line && a.col > b.col) ? a : b;
}

/* Where table t's name is written (t itself if it has none). */
static ppc_pos name_pos(const pp_toml_value *t)
{
	const pp_toml_value *v = pp_toml_get(t, "name");
	return v ? (ppc_pos){v->line, v->col} : (ppc_pos){t->line, t->col};
}

static char *str_dup(reader *r, const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d)
		bad(r, NULL, "-", "out of memory");
	return d;
}

/* ---- Types ------------------------------------------------------------------ */

static const struct {
	const char *name;
	ppc_kind kind;
	uint8_t size;
} builtins[] = {
        {"void", PPC_VOID, 0},
        {"bool", PPC_BOOL, 1},
        {"i8", PPC_I8, 1},
        {"u8", PPC_U8, 1},
        {"i16", PPC_I16, 2},
        {"u16", PPC_U16, 2},
        {"i32", PPC_I32, 4},
        {"u32", PPC_U32, 4},
        {"i64", PPC_I64, 8},
        {"u64", PPC_U64, 8},
        {"f32", PPC_F32, 4},
        {"f64", PPC_F64, 8},
        {"StringView", PPC_STRING, 16},
        {"Buffer", PPC_BUFFER, 16},
};

size_t ppc_views(ppc_type t, size_t base, size_t *out, size_t n, size_t cap)
{
	if (t.kind == PPC_STRING || t.kind == PPC_BUFFER) {
		if (n < cap)
			out[n] = base;
		return n + 1;
	}
	if (t.kind == PPC_STRUCT)
		for (size_t i = 0; i < t.st->field_count; i++)
			n = ppc_views(t.st->fields[i].type, base + t.st->fields[i].offset, out, n,
			              cap);
	return n;
}

size_t ppc_type_size(ppc_type t)
{
	if (t.kind == PPC_ENUM)
		return builtins[t.en->repr].size;
	if (t.kind == PPC_STRUCT)
		return t.st->size;
	return builtins[t.kind].size;
}

size_t ppc_type_align(ppc_type t)
{
	if (t.kind == PPC_STRUCT)
		return t.st->align;
	size_t s = ppc_type_size(t);
	return s > 8 ? 8 : s ? s : 1;
}

const char *ppc_type_name(ppc_type t)
{
	if (t.kind == PPC_ENUM)
		return t.en->name;
	if (t.kind == PPC_STRUCT)
		return t.st->name;
	return builtins[t.kind].name;
}

void ppc_c_ident(const char *name, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *p = name; *p && n + 1 < cap; p++) {
		char c = *p;
		if (c == '.' || c == '-')
			c = '_';
		else if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		out[n++] = c;
	}
	out[n] = '\0';
}

static bool identifier(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9') || strlen(s) > PPC_MAX_IDENT)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* Names the generated C or JS could not use: keywords of either language
 * (JS's strict-mode reserved words, the glue being strict; C23's and GNU C's: a header compiled with -std=gnu11 meets `asm` and
 * the predefined macros `linux`, `unix`, `i386`), the C implementation's own
 * names (`_` and a capital, or `__`: `_Float64`, `__LINE__`), what the
 * generated C calls, and the pp_/ppc_ prefixes of the runtime's and the
 * glue's own names. */
static bool reserved(const char *s)
{
	static const char *const words[] = {
	        "asm",
	        "constexpr",
	        "nullptr",
	        "thread_local",
	        "typeof_unqual",
	        "static_assert",
	        "alignas",
	        "alignof",
	        "linux",
	        "unix",
	        "i386",
	        "auto",
	        "break",
	        "case",
	        "char",
	        "const",
	        "continue",
	        "default",
	        "do",
	        "double",
	        "else",
	        "enum",
	        "extern",
	        "float",
	        "for",
	        "goto",
	        "if",
	        "inline",
	        "int",
	        "long",
	        "register",
	        "restrict",
	        "return",
	        "short",
	        "signed",
	        "sizeof",
	        "static",
	        "struct",
	        "switch",
	        "typedef",
	        "union",
	        "unsigned",
	        "void",
	        "volatile",
	        "while",
	        "bool",
	        "true",
	        "false",
	        "catch",
	        "class",
	        "debugger",
	        "delete",
	        "export",
	        "extends",
	        "finally",
	        "function",
	        "import",
	        "in",
	        "instanceof",
	        "new",
	        "null",
	        "super",
	        "this",
	        "throw",
	        "try",
	        "typeof",
	        "var",
	        "with",
	        "yield",
	        "let",
	        "await",
	        "arguments",
	        "eval",
	        "implements",
	        "interface",
	        "package",
	        "private",
	        "protected",
	        "public",
	        "impl",
	        "undefined",
	        "NULL",
	        /* what the generated C calls or names */
	        "memcpy",
	        "memset",
	        "strlen",
	        "free",
	        "offsetof",
	        "size_t",
	        "uint8_t",
	        "int8_t",
	        "uint16_t",
	        "int16_t",
	        "uint32_t",
	        "int32_t",
	        "uint64_t",
	        "int64_t",
	        "UINT64_C",
	};
	/* the prefixes of the runtime's and the glue's own names */
	if (strncmp(s, "ppc_", 4) == 0 || strncmp(s, "PPC_", 4) == 0 || strncmp(s, "pp_", 3) == 0 ||
	    strncmp(s, "PP_", 3) == 0 || strncmp(s, "$", 1) == 0)
		return true;
	/* _Bool, _Float64, __LINE__; and __proto__, which in a JS object literal
	 * sets the prototype rather than a member */
	if (s[0] == '_' && (s[1] == '_' || (s[1] >= 'A' && s[1] <= 'Z')))
		return true;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcmp(words[i], s) == 0)
			return true;
	return false;
}

/* "a.b.C": dot-separated identifiers */
static bool contract_name_ok(const char *s)
{
	char part[128];
	size_t n = 0;
	for (;; s++) {
		if (*s == '.' || !*s) {
			part[n] = '\0';
			if (!identifier(part))
				return false;
			if (!*s)
				return true;
			n = 0;
		} else if (n + 1 < sizeof part) {
			part[n++] = *s;
		} else {
			return false;
		}
	}
}

/* ---- Field access ------------------------------------------------------------- */

/* Whether v is a string holding a NUL (TOML's \u0000): read as C text, it
 * would be cut there, and "u8\u0000x" taken for u8. */
static bool nul_inside(const pp_toml_value *v)
{
	return v && v->type == PP_TOML_STRING && strlen(v->u.string.ptr) != v->u.string.len;
}

static const pp_toml_value *get(reader *r, const pp_toml_value *t, const char *key,
                                pp_toml_type type, bool required)
{
	const pp_toml_value *v = pp_toml_get(t, key);
	if (!v) {
		if (required)
			bad(r, t, key, "missing");
		return NULL;
	}
	if (v->type != type) {
		bad(r, v, key, "expected %s, found %s", pp_toml_type_name(type),
		    pp_toml_type_name(v->type));
		return NULL;
	}
	if (nul_inside(v)) {
		bad(r, v, key, "the string holds a NUL character");
		return NULL;
	}
	return v;
}

static char *get_string(reader *r, const pp_toml_value *t, const char *key, bool required)
{
	const pp_toml_value *v = get(r, t, key, PP_TOML_STRING, required);
	return v ? str_dup(r, v->u.string.ptr) : required ? NULL : str_dup(r, "");
}

/* Only the keys given may appear in t. */
static void only_keys(reader *r, const pp_toml_value *t, const char *where, const char *const *keys)
{
	for (size_t i = 0; t && t->type == PP_TOML_TABLE && i < t->u.table.count; i++) {
		bool known = false;
		for (const char *const *k = keys; *k; k++)
			known |= strcmp(*k, t->u.table.keys[i]) == 0;
		if (!known)
			bad(r, t->u.table.values[i], t->u.table.keys[i], "unknown key in %s",
			    where);
	}
}

/* ---- Enums and structs ---------------------------------------------------------- */

static int builtin_kind(const char *name)
{
	for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
		if (strcmp(builtins[i].name, name) == 0)
			return (int)builtins[i].kind;
	return -1;
}

/* A name an enum or a struct can take: also a type name in TypeScript,
 * where the primitive types' names are not free. */
static bool type_name_free(const char *s)
{
	/* TypeScript's type words, and the type operators that cannot name a
	 * type either (`p: keyof` does not parse) */
	static const char *const ts_types[] = {"any",      "bigint", "boolean", "never",   "number",
	                                       "object",   "string", "symbol",  "unknown", "keyof",
	                                       "readonly", "unique", "infer"};
	if (!identifier(s) || builtin_kind(s) >= 0 || reserved(s))
		return false;
	for (size_t i = 0; i < sizeof ts_types / sizeof ts_types[0]; i++)
		if (strcmp(s, ts_types[i]) == 0)
			return false;
	return true;
}

static bool resolve_type(reader *r, ppc_model *m, const pp_toml_value *v, const char *key,
                         ppc_type *out)
{
	memset(out, 0, sizeof *out);
	if (!v || v->type != PP_TOML_STRING || nul_inside(v)) {
		bad(r, v, key, "expected a type name");
		return false;
	}
	const char *name = v->u.string.ptr;
	int k = builtin_kind(name);
	if (k >= 0) {
		out->kind = (ppc_kind)k;
		return true;
	}
	for (size_t i = 0; i < m->enum_count; i++)
		if (strcmp(m->enums[i].name, name) == 0) {
			out->kind = PPC_ENUM;
			out->en = &m->enums[i];
			return true;
		}
	for (size_t i = 0; i < m->struct_count; i++)
		if (strcmp(m->structs[i].name, name) == 0) {
			out->kind = PPC_STRUCT;
			out->st = &m->structs[i];
			return true;
		}
	bad(r, v, key, "unknown type '%s'", name);
	return false;
}

static const pp_toml_value *array_of_tables(reader *r, const pp_toml_value *t, const char *key)
{
	const pp_toml_value *a = get(r, t, key, PP_TOML_ARRAY, false);
	for (size_t i = 0; a && i < a->u.array.count; i++)
		if (a->u.array.items[i]->type != PP_TOML_TABLE) {
			bad(r, a->u.array.items[i], key, "expected tables");
			return NULL;
		}
	return a;
}

/* The largest magnitude of a value of the integer kind k (PPC_I8 … PPC_U64)
 * on the side `negative` says. */
static uint64_t repr_bound(ppc_kind k, bool negative)
{
	static const uint64_t max[] = {
	        [PPC_I8] = INT8_MAX,    [PPC_U8] = UINT8_MAX,   [PPC_I16] = INT16_MAX,
	        [PPC_U16] = UINT16_MAX, [PPC_I32] = INT32_MAX,  [PPC_U32] = UINT32_MAX,
	        [PPC_I64] = INT64_MAX,  [PPC_U64] = UINT64_MAX,
	};
	bool is_signed = k == PPC_I8 || k == PPC_I16 || k == PPC_I32 || k == PPC_I64;
	if (negative)
		return is_signed ? max[k] + 1 : 0;
	return max[k];
}

/* A variant's value: an integer, or a string of one ("3", "-0x10": the
 * reference writes value = "0"), exactly, and of the enum's repr. A u64
 * above INT64_MAX is kept as its bit pattern (ppc_variant). */
static int64_t variant_value(reader *r, const pp_toml_value *v, const ppc_enum *e)
{
	bool negative = false, number = false;
	uint64_t mag = 0;
	if (v && v->type == PP_TOML_INTEGER) {
		number = true;
		negative = !v->u.integer.is_unsigned && v->u.integer.value < 0;
		mag = negative ? 0 - (uint64_t)v->u.integer.value : (uint64_t)v->u.integer.value;
	} else if (v && v->type == PP_TOML_STRING) {
		const char *p = v->u.string.ptr;
		negative = *p == '-';
		p += negative;
		bool hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
		char *end;
		errno = 0;
		mag = strtoull(p, &end, hex ? 16 : 10); /* "010" is ten, not octal */
		number = *p >= '0' && *p <= '9' && (!hex || isxdigit((unsigned char)p[2])) &&
		         end == v->u.string.ptr + v->u.string.len && end != p;
		if (number && errno == ERANGE) {
			bad(r, v, "value", "'%s' is past the range of a 64-bit integer",
			    v->u.string.ptr);
			return 0;
		}
	}
	if (!number) {
		bad(r, v, "value", "expected an integer");
		return 0;
	}
	if (mag > repr_bound(e->repr, negative)) {
		bad(r, v, "value", "%s%llu does not fit enum '%s''s repr %s", negative ? "-" : "",
		    (unsigned long long)mag, e->name, builtins[e->repr].name);
		return 0;
	}
	return negative ? (int64_t)(0 - mag) : (int64_t)mag;
}

static void read_enums(reader *r, ppc_model *m)
{
	const pp_toml_value *a = array_of_tables(r, r->root, "enum");
	if (!a || r->failed)
		return;
	m->enums = calloc(a->u.array.count + 1, sizeof *m->enums);
	if (!m->enums) {
		bad(r, a, "enum", "out of memory");
		return;
	}
	static const char *const keys[] = {"name", "docs", "repr", "variants", NULL};
	for (size_t i = 0; i < a->u.array.count && !r->failed; i++) {
		const pp_toml_value *t = a->u.array.items[i];
		ppc_enum *e = &m->enums[m->enum_count++];
		only_keys(r, t, "an enum", keys);
		e->name = get_string(r, t, "name", true);
		e->at = name_pos(t);
		e->docs = get_string(r, t, "docs", false);
		if (r->failed)
			return;
		if (!type_name_free(e->name)) {
			bad(r, pp_toml_get(t, "name"), "name", "'%s' is not a free identifier",
			    e->name);
			return;
		}
		const pp_toml_value *rv = get(r, t, "repr", PP_TOML_STRING, false);
		int k = rv ? builtin_kind(rv->u.string.ptr) : PPC_U32;
		if (k < PPC_I8 || k > PPC_U64) {
			bad(r, rv, "repr", "an enum's repr is an integer type (i8 … u64)");
			return;
		}
		e->repr = (ppc_kind)k;
		const pp_toml_value *vs = array_of_tables(r, t, "variants");
		if (!vs || !vs->u.array.count) {
			bad(r, t, "variants", "an enum needs at least one variant");
			return;
		}
		e->variants = calloc(vs->u.array.count, sizeof *e->variants);
		if (!e->variants) {
			bad(r, vs, "variants", "out of memory");
			return;
		}
		static const char *const vkeys[] = {"name", "value", "docs", NULL};
		for (size_t j = 0; j < vs->u.array.count && !r->failed; j++) {
			const pp_toml_value *vt = vs->u.array.items[j];
			ppc_variant *var = &e->variants[e->variant_count++];
			only_keys(r, vt, "a variant", vkeys);
			var->name = get_string(r, vt, "name", true);
			var->at = name_pos(vt);
			var->docs = get_string(r, vt, "docs", false);
			var->value = variant_value(r, pp_toml_get(vt, "value"), e);
			if (!r->failed && (!identifier(var->name) || reserved(var->name)))
				bad(r, pp_toml_get(vt, "name"), "name",
				    "'%s' is not a usable identifier", var->name);
			for (size_t v = 0; v + 1 < e->variant_count && !r->failed; v++)
				if (strcmp(e->variants[v].name, var->name) == 0)
					bad(r, pp_toml_get(vt, "name"), "name",
					    "enum '%s' has two variants named '%s'", e->name,
					    var->name);
		}
	}
}

/* Lays a list of fields out as a C struct; returns size and alignment. */
static void lay_out(ppc_field *f, size_t n, size_t *size, size_t *align)
{
	size_t off = 0, al = 1;
	for (size_t i = 0; i < n; i++) {
		size_t a = ppc_type_align(f[i].type);
		off = (off + a - 1) & ~(a - 1);
		f[i].offset = off;
		off += ppc_type_size(f[i].type);
		if (a > al)
			al = a;
	}
	*size = (off + al - 1) & ~(al - 1);
	*align = al;
}

/* name/type/docs entries (params and struct fields). */
static ppc_field *read_fields(reader *r, ppc_model *m, const pp_toml_value *a, const char *key,
                              bool allow_variable, size_t *count)
{
	*count = 0;
	ppc_field *f = calloc(a->u.array.count + 1, sizeof *f);
	if (!f) {
		bad(r, a, key, "out of memory");
		return NULL;
	}
	static const char *const keys[] = {"name", "type", "docs", NULL};
	for (size_t i = 0; i < a->u.array.count && !r->failed; i++) {
		const pp_toml_value *t = a->u.array.items[i];
		if (t->type != PP_TOML_TABLE) {
			bad(r, t, key, "expected {name, type, docs} tables");
			break;
		}
		ppc_field *fd = &f[(*count)++];
		only_keys(r, t, key, keys);
		fd->name = get_string(r, t, "name", true);
		fd->at = name_pos(t);
		fd->docs = get_string(r, t, "docs", false);
		if (r->failed)
			break;
		if (!identifier(fd->name)) {
			bad(r, pp_toml_get(t, "name"), "name",
			    "'%.80s' is not an identifier of at most %d bytes", fd->name,
			    PPC_MAX_IDENT);
			break;
		}
		if (reserved(fd->name)) {
			bad(r, pp_toml_get(t, "name"), "name",
			    "'%s' is reserved (a C or JS keyword, a name the generated C uses, or "
			    "a "
			    "pp_/ppc_ prefix)",
			    fd->name);
			break;
		}
		for (size_t j = 0; j + 1 < *count; j++)
			if (strcmp(f[j].name, fd->name) == 0)
				bad(r, pp_toml_get(t, "name"), "name", "'%s' is used twice",
				    fd->name);
		const pp_toml_value *tv = pp_toml_get(t, "type");
		if (!resolve_type(r, m, tv, "type", &fd->type))
			break;
		if (fd->type.kind == PPC_VOID)
			bad(r, tv, "type", "void is only a return type");
		else if (!allow_variable &&
		         (fd->type.kind == PPC_STRING || fd->type.kind == PPC_BUFFER))
			bad(r, tv, "type", "a struct field has a fixed size: %s is not allowed",
			    ppc_type_name(fd->type));
	}
	return f;
}

static void read_structs(reader *r, ppc_model *m)
{
	const pp_toml_value *a = array_of_tables(r, r->root, "struct");
	if (!a || r->failed)
		return;
	m->structs = calloc(a->u.array.count + 1, sizeof *m->structs);
	if (!m->structs) {
		bad(r, a, "struct", "out of memory");
		return;
	}
	static const char *const keys[] = {"name", "docs", "fields", NULL};
	/* names first: fields may name any struct; a struct may only contain
	 * structs declared before it (so there are no cycles) */
	for (size_t i = 0; i < a->u.array.count && !r->failed; i++) {
		const pp_toml_value *t = a->u.array.items[i];
		ppc_struct *s = &m->structs[m->struct_count++];
		only_keys(r, t, "a struct", keys);
		s->name = get_string(r, t, "name", true);
		s->at = name_pos(t);
		s->docs = get_string(r, t, "docs", false);
		if (r->failed)
			return;
		if (!type_name_free(s->name)) {
			bad(r, pp_toml_get(t, "name"), "name", "'%s' is not a free identifier",
			    s->name);
			return;
		}
		for (size_t j = 0; j < m->enum_count; j++)
			if (strcmp(m->enums[j].name, s->name) == 0) {
				bad(r, pp_toml_get(t, "name"), "name", "'%s' is already an enum",
				    s->name);
				return;
			}
		const pp_toml_value *fs = get(r, t, "fields", PP_TOML_ARRAY, true);
		if (!fs || !fs->u.array.count) {
			bad(r, fs ? fs : t, "fields", "a struct needs at least one field");
			return;
		}
		if (fs->u.array.count > PPC_MAX_FIELDS) {
			bad(r, fs, "fields", "struct '%s' has %zu fields; the limit is %d", s->name,
			    fs->u.array.count, PPC_MAX_FIELDS);
			return;
		}
		m->struct_count--; /* its fields see only the structs before it */
		s->fields = read_fields(r, m, fs, "fields", false, &s->field_count);
		m->struct_count++;
		if (r->failed)
			return;
		lay_out(s->fields, s->field_count, &s->size, &s->align);
		s->depth = 1;
		s->structs = 1;
		for (size_t k = 0; k < s->field_count; k++)
			if (s->fields[k].type.kind == PPC_STRUCT) {
				const ppc_struct *in = s->fields[k].type.st;
				if (in->depth + 1 > s->depth)
					s->depth = in->depth + 1;
				s->structs += in->structs;
			}
		if (s->depth > PPC_MAX_DEPTH)
			bad(r, pp_toml_get(t, "name"), "name",
			    "struct '%s' nests structs %zu deep; the limit is %d", s->name,
			    s->depth, PPC_MAX_DEPTH);
		else if (s->structs > PPC_MAX_STRUCTS)
			bad(r, pp_toml_get(t, "name"), "name",
			    "struct '%s' spells out %zu structs; a signature may hold %d", s->name,
			    s->structs, PPC_MAX_STRUCTS);
	}
}

/* ---- Contracts ------------------------------------------------------------------ */

static void read_function(reader *r, ppc_model *m, const pp_toml_value *t, ppc_function *fn)
{
	static const char *const keys[] = {"name", "docs", "params", "return", NULL};
	only_keys(r, t, "a function", keys);
	fn->name = get_string(r, t, "name", true);
	fn->at = name_pos(t);
	fn->docs = get_string(r, t, "docs", false);
	if (r->failed)
		return;
	/* 'constructor': a JS class's method of that name is the class itself */
	if (!identifier(fn->name) || reserved(fn->name) || strcmp(fn->name, "constructor") == 0) {
		bad(r, pp_toml_get(t, "name"), "name", "'%s' is not a usable function name",
		    fn->name);
		return;
	}
	const pp_toml_value *ps = get(r, t, "params", PP_TOML_ARRAY, false);
	if (ps)
		fn->params = read_fields(r, m, ps, "params", true, &fn->param_count);
	const pp_toml_value *ret = pp_toml_get(t, "return");
	const pp_toml_value *rt = ret;
	if (ret && ret->type == PP_TOML_TABLE) {
		static const char *const rkeys[] = {"type", "docs", NULL};
		only_keys(r, ret, "return", rkeys);
		rt = pp_toml_get(ret, "type");
		fn->result_docs = get_string(r, ret, "docs", false);
		if (!rt) {
			bad(r, ret, "return", "a return table needs 'type'");
			return;
		}
	} else {
		fn->result_docs = str_dup(r, "");
	}
	if (rt && !resolve_type(r, m, rt, "return", &fn->result))
		return;
	if (r->failed)
		return;
	/* what the JS loader's typed signature for it may hold */
	bool arena = fn->result.kind == PPC_STRING || fn->result.kind == PPC_BUFFER;
	size_t structs = fn->result.kind == PPC_STRUCT ? fn->result.st->structs : 0;
	for (size_t i = 0; i < fn->param_count; i++)
		if (fn->params[i].type.kind == PPC_STRUCT)
			structs += fn->params[i].type.st->structs;
	if (fn->param_count + arena > PPC_MAX_PARAMS)
		bad(r, ps, "params", "function '%s' has %zu params%s; the limit is %d", fn->name,
		    fn->param_count, arena ? " and a hidden arena" : "", PPC_MAX_PARAMS);
	else if (structs > PPC_MAX_STRUCTS)
		bad(r, ps ? ps : t, "params",
		    "function '%s' spells out %zu structs in its signature; the limit is %d",
		    fn->name, structs, PPC_MAX_STRUCTS);
	if (r->failed)
		return;
	/* the args struct: params, then the hidden arena when the result needs memory */
	lay_out(fn->params, fn->param_count, &fn->args_size, &fn->args_align);
	fn->needs_arena = fn->result.kind == PPC_STRING || fn->result.kind == PPC_BUFFER;
	if (fn->needs_arena) {
		size_t end = fn->param_count
		                     ? fn->params[fn->param_count - 1].offset +
		                               ppc_type_size(fn->params[fn->param_count - 1].type)
		                     : 0;
		fn->arena_offset = (end + 7) & ~(size_t)7;
		fn->args_size = fn->arena_offset + 8;
		fn->args_align = 8;
	}
}

typedef struct fn_ref {
	const ppc_function *fn;
} fn_ref;

static int fn_ref_cmp(const void *a, const void *b)
{
	const ppc_function *fa = ((const fn_ref *)a)->fn, *fb = ((const fn_ref *)b)->fn;
	int c = strcmp(fa->name, fb->name);
	return c ? c : (fa > fb) - (fa < fb); /* equal names in declaration order */
}

/* No function of c is declared twice: sorted by name, not each against
 * every other (a contract may have PPC_MAX_FUNCTIONS). */
static void functions_distinct(reader *r, const ppc_contract *c, const pp_toml_value *fs)
{
	fn_ref *v = malloc(c->function_count * sizeof *v);
	if (!v) {
		bad(r, fs, "functions", "out of memory");
		return;
	}
	for (size_t i = 0; i < c->function_count; i++)
		v[i].fn = &c->functions[i];
	qsort(v, c->function_count, sizeof *v, fn_ref_cmp);
	for (size_t i = 0; i + 1 < c->function_count && !r->failed; i++)
		if (strcmp(v[i].fn->name, v[i + 1].fn->name) == 0)
			bad(r, pp_toml_get(fs->u.array.items[v[i + 1].fn - c->functions], "name"),
			    "name", "function '%s' is declared twice", v[i + 1].fn->name);
	free(v);
}

static void read_contracts(reader *r, ppc_model *m, const char *key, bool host)
{
	const pp_toml_value *a = array_of_tables(r, r->root, key);
	if (!a || r->failed)
		return;
	if (a->u.array.count > PPC_MAX_CONTRACTS - m->contract_count) {
		bad(r, a->u.array.items[PPC_MAX_CONTRACTS - m->contract_count], key,
		    "the file declares more than %d contracts; the limit is %d", PPC_MAX_CONTRACTS,
		    PPC_MAX_CONTRACTS);
		return;
	}
	ppc_contract *all =
	        realloc(m->contracts, (m->contract_count + a->u.array.count + 1) * sizeof *all);
	if (!all) {
		bad(r, a, key, "out of memory");
		return;
	}
	m->contracts = all;
	static const char *const keys[] = {"name", "version", "docs", "functions", NULL};
	for (size_t i = 0; i < a->u.array.count && !r->failed; i++) {
		const pp_toml_value *t = a->u.array.items[i];
		ppc_contract *c = &m->contracts[m->contract_count++];
		memset(c, 0, sizeof *c);
		c->host = host;
		c->line = t->line;
		only_keys(r, t, host ? "a host contract" : "a guest contract", keys);
		c->name = get_string(r, t, "name", true);
		c->at = name_pos(t);
		c->docs = get_string(r, t, "docs", false);
		char *version = get_string(r, t, "version", true);
		if (r->failed) {
			free(version);
			return;
		}
		const pp_toml_value *nv = pp_toml_get(t, "name");
		const char *last = strrchr(c->name, '.');
		last = last ? last + 1 : c->name;
		if (strlen(c->name) > PPC_MAX_CONTRACT_NAME || !contract_name_ok(c->name))
			bad(r, nv, "name",
			    "'%.140s' is not a contract name (identifiers joined by '.', at most "
			    "%d "
			    "bytes)",
			    c->name, PPC_MAX_CONTRACT_NAME);
		else if (reserved(last))
			bad(r, nv, "name",
			    "contract '%s': its last segment names the JS class implementing it, "
			    "and '%s' is reserved (a C or JS keyword, a name the generated code "
			    "uses, or a pp_/ppc_ prefix)",
			    c->name, last);
		unsigned long parts[3] = {0, 0, 0};
		const char *p = version;
		bool well_formed = true;
		for (int k = 0; k < 3 && well_formed; k++) {
			char *end;
			well_formed = *p >= '0' && *p <= '9';
			parts[k] = strtoul(p, &end, 10);
			well_formed &= parts[k] <= 0xFFFF && *end == (k < 2 ? '.' : '\0');
			p = end + (k < 2);
		}
		unsigned maj = (unsigned)parts[0], min = (unsigned)parts[1],
		         pat = (unsigned)parts[2];
		if (!r->failed && !well_formed)
			bad(r, pp_toml_get(t, "version"), "version",
			    "'%s' is not \"major.minor.patch\"", version);
		free(version);
		if (r->failed)
			return;
		c->major = maj;
		c->minor = min;
		c->patch = pat;
		c->id = host ? pp_host_contract_id(c->name, maj)
		             : pp_guest_contract_id(c->name, maj);
		for (size_t j = 0; j + 1 < m->contract_count; j++)
			if (m->contracts[j].id == c->id) {
				bad(r, nv, "name", "contract '%s@%u' is declared twice", c->name,
				    maj);
				return;
			}
		const pp_toml_value *fs = array_of_tables(r, t, "functions");
		if (!fs || !fs->u.array.count) {
			bad(r, fs ? fs : t, "functions", "a contract needs at least one function");
			return;
		}
		if (fs->u.array.count > PPC_MAX_FUNCTIONS) {
			bad(r, fs, "functions", "contract '%s' has %zu functions; the limit is %d",
			    c->name, fs->u.array.count, PPC_MAX_FUNCTIONS);
			return;
		}
		c->functions = calloc(fs->u.array.count, sizeof *c->functions);
		if (!c->functions) {
			bad(r, fs, "functions", "out of memory");
			return;
		}
		for (size_t j = 0; j < fs->u.array.count && !r->failed; j++)
			read_function(r, m, fs->u.array.items[j],
			              &c->functions[c->function_count++]);
		if (!r->failed)
			functions_distinct(r, c, fs);
	}
}

/* ---- Whole file ----------------------------------------------------------------- */

static void free_fields(ppc_field *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].name);
		free(f[i].docs);
	}
	free(f);
}

void ppc_model_free(ppc_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->contract_count; i++) {
		ppc_contract *c = &m->contracts[i];
		for (size_t j = 0; j < c->function_count; j++) {
			free(c->functions[j].name);
			free(c->functions[j].docs);
			free(c->functions[j].result_docs);
			free_fields(c->functions[j].params, c->functions[j].param_count);
		}
		free(c->functions);
		free(c->name);
		free(c->docs);
	}
	free(m->contracts);
	for (size_t i = 0; i < m->enum_count; i++) {
		for (size_t j = 0; j < m->enums[i].variant_count; j++) {
			free(m->enums[i].variants[j].name);
			free(m->enums[i].variants[j].docs);
		}
		free(m->enums[i].variants);
		free(m->enums[i].name);
		free(m->enums[i].docs);
	}
	free(m->enums);
	for (size_t i = 0; i < m->struct_count; i++) {
		free_fields(m->structs[i].fields, m->structs[i].field_count);
		free(m->structs[i].name);
		free(m->structs[i].docs);
	}
	free(m->structs);
	free(m->file);
	free(m);
}

/* A contract under one of the names the generated code gives it. */
typedef struct contract_key {
	char key[PPC_MAX_CONTRACT_NAME + 3];
	const ppc_contract *c;
} contract_key;

static int contract_key_cmp(const void *a, const void *b)
{
	const contract_key *ka = a, *kb = b;
	int c = strcmp(ka->key, kb->key);
	return c ? c : (ka->c > kb->c) - (ka->c < kb->c); /* equal keys in declaration order */
}

/* Two contracts the generated code would name alike: the C names fold case
 * and dots (a.B and a.b are both a_b), and the JS glue's context members are
 * a contract's last segment (a.Y and b.Y are both peers.y). Sorted, not
 * each against every other (a file may have PPC_MAX_CONTRACTS). */
static void distinct_names(reader *r, const ppc_model *m)
{
	contract_key *v = malloc((m->contract_count + 1) * sizeof *v);
	if (!v) {
		bad(r, NULL, "-", "out of memory");
		return;
	}
	for (int js = 0; js < 2 && !r->failed; js++) {
		for (size_t i = 0; i < m->contract_count; i++) {
			const ppc_contract *c = &m->contracts[i];
			v[i].c = c;
			if (!js) {
				ppc_c_ident(c->name, v[i].key, sizeof v[i].key);
				continue;
			}
			const char *last = strrchr(c->name, '.');
			last = last ? last + 1 : c->name;
			size_t n = 0;
			v[i].key[n++] = c->host ? 'h' : 'g'; /* peers and host are two objects */
			for (; *last && n + 1 < sizeof v[i].key; last++)
				v[i].key[n++] =
				        (char)(*last >= 'A' && *last <= 'Z' ? *last + 32 : *last);
			v[i].key[n] = '\0';
		}
		if (m->contract_count)
			qsort(v, m->contract_count, sizeof *v, contract_key_cmp);
		for (size_t i = 0; i + 1 < m->contract_count && !r->failed; i++) {
			const ppc_contract *a = v[i].c, *b = v[i + 1].c;
			if (strcmp(v[i].key, v[i + 1].key) == 0)
				bad_at(r, later(a->at, b->at),
				       a->host ? "host_contract" : "guest_contract",
				       "contracts '%s' (line %d) and '%s' (line %d) would have the "
				       "same %s in the generated code",
				       a->name, a->line, b->name, b->line,
				       js ? "member of the JS context" : "C names");
		}
	}
	free(v);
}

/* ---- Names at file scope ------------------------------------------------ */

/* Every name the generated C header gives file scope — types, functions,
 * macros, enumerators, and what the author defines (<id>_<fn>_impl, the
 * stateful hooks) — spelled as gen_c.c spells them (keep the two together).
 * A name made twice is refused here: the header would not compile, or would
 * compile and call the wrong function (a contract 'kv.Store.fn' makes the
 * macro KV_STORE_FN_ID, which replaces the enumerator of kv.Store's 'id'). */
typedef struct c_name {
	char name[320];
	char from[200];
	ppc_pos at; /* where `from` is declared */
} c_name;

typedef struct c_names {
	c_name *v;
	size_t n, cap;
	bool oom;
	ppc_pos at; /* of the names added next */
} c_names;

__attribute__((format(printf, 3, 4))) static void c_name_add(c_names *ns, const char *from,
                                                             const char *fmt, ...)
{
	if (ns->oom)
		return;
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 64;
		c_name *v = realloc(ns->v, cap * sizeof *v);
		if (!v) {
			ns->oom = true;
			return;
		}
		ns->v = v;
		ns->cap = cap;
	}
	c_name *e = &ns->v[ns->n++];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->name, sizeof e->name, fmt, ap);
	va_end(ap);
	snprintf(e->from, sizeof e->from, "%s", from);
	e->at = ns->at;
}

static int c_name_cmp(const void *a, const void *b)
{
	return strcmp(((const c_name *)a)->name, ((const c_name *)b)->name);
}

void ppc_value_text(const ppc_enum *e, int64_t value, char *out, size_t cap)
{
	if (e->repr == PPC_U64)
		snprintf(out, cap, "%llu", (unsigned long long)(uint64_t)value);
	else
		snprintf(out, cap, "%lld", (long long)value);
}

void ppc_c_upper(const char *s, char *out, size_t cap)
{
	size_t n = 0;
	for (; *s && n + 1 < cap; s++)
		out[n++] = (char)(*s >= 'a' && *s <= 'z' ? *s - 32 : *s);
	out[n] = '\0';
}

static void c_names_of(c_names *ns, const ppc_model *m)
{
	char from[200];
	for (size_t i = 0; i < m->enum_count; i++) {
		const ppc_enum *e = &m->enums[i];
		snprintf(from, sizeof from, "enum '%s'", e->name);
		ns->at = e->at;
		c_name_add(ns, from, "%s", e->name);
		for (size_t j = 0; j < e->variant_count; j++) {
			ns->at = e->variants[j].at;
			c_name_add(ns, from, "%s_%s", e->name, e->variants[j].name);
		}
	}
	for (size_t i = 0; i < m->struct_count; i++) {
		snprintf(from, sizeof from, "struct '%s'", m->structs[i].name);
		ns->at = m->structs[i].at;
		c_name_add(ns, from, "%s", m->structs[i].name);
	}
	for (size_t i = 0; i < m->contract_count; i++) {
		const ppc_contract *c = &m->contracts[i];
		ns->at = c->at;
		char id[160], ID[160];
		ppc_c_ident(c->name, id, sizeof id);
		ppc_c_upper(id, ID, sizeof ID);
		snprintf(from, sizeof from, "contract '%s'", c->name);
		static const char *const macros[] = {"NAME",          "ID",
		                                     "VERSION_MAJOR", "VERSION_MINOR",
		                                     "VERSION_PATCH", "FUNCTION_COUNT"};
		for (size_t k = 0; k < sizeof macros / sizeof macros[0]; k++)
			c_name_add(ns, from, "%s_%s", ID, macros[k]);
		c_name_add(ns, from, "PPC_LAYOUTS_%s_", id);
		c_name_add(ns, from, "ppc__%s_layouts", id);
		if (!c->host) {
			static const char *const own[] = {"create", "destroy", "declare",
			                                  "open",   "open_in", "close"};
			for (size_t k = 0; k < sizeof own / sizeof own[0]; k++)
				c_name_add(ns, from, "%s_%s", id, own[k]);
			c_name_add(ns, from, "%s", id);
			c_name_add(ns, from, "%s_STATEFUL", ID);
			c_name_add(ns, from, "PPC_IMPLEMENT_%s", ID);
			static const char *const glue[] = {"functions", "create", "destroy",
			                                   "register"};
			for (size_t k = 0; k < sizeof glue / sizeof glue[0]; k++)
				c_name_add(ns, from, "ppc__%s_%s", id, glue[k]);
		}
		for (size_t j = 0; j < c->function_count; j++) {
			const char *fn = c->functions[j].name;
			char FN[128], what[320];
			ppc_c_upper(fn, FN, sizeof FN);
			snprintf(what, sizeof what, "function '%s' of contract '%s'", fn, c->name);
			ns->at = c->functions[j].at;
			c_name_add(ns, what, "%s_FN_%s", ID, FN);
			c_name_add(ns, what, "%s_%s_args", id, fn);
			c_name_add(ns, what, "ppc__%s_%s_views", id, fn);
			c_name_add(ns, what, "%s_%s", id,
			           fn); /* the host's or the plugin's caller */
			if (!c->host) {
				c_name_add(ns, what, "%s_%s_impl", id, fn);
				c_name_add(ns, what, "ppc__%s_%s", id, fn);
				c_name_add(ns, what, "%s_peer_%s", id, fn);
			}
		}
	}
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* A name the headers the generated code includes (stddef, stdint,
 * stdbool, string, stdatomic, polyplug's) define or reserve: a type, struct
 * or function of that name would clash with theirs. */
static bool std_name(const char *s)
{
	static const char *const prefixes[] = {"atomic_",   "ATOMIC_",  "memory_order", "__",
	                                       "pp_",       "PP_",      "ppc_",         "PPC_",
	                                       "polyplug_", "POLYPLUG_"};
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
		if (strncmp(s, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	/* POSIX's _t types; string.h's str* and mem* */
	if (has_suffix(s, "_t") || ((strncmp(s, "str", 3) == 0 || strncmp(s, "mem", 3) == 0) &&
	                            s[3] >= 'a' && s[3] <= 'z'))
		return true;
	/* stdint's limits and constant macros: INT8_MIN, UINT64_C, SIZE_MAX, … */
	static const char *const limits[] = {"INT",   "UINT", "SIZE",      "PTRDIFF",
	                                     "WCHAR", "WINT", "SIG_ATOMIC"};
	for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++)
		if (strncmp(s, limits[i], strlen(limits[i])) == 0 &&
		    (has_suffix(s, "_MIN") || has_suffix(s, "_MAX") || has_suffix(s, "_C")))
			return true;
	/* and what string.h adds under -std=gnu11 (glibc's POSIX and BSD
	 * functions) */
	static const char *const words[] = {"NULL",           "offsetof", "bool",
	                                    "true",           "false",    "kill_dependency",
	                                    "static_assert",  "alignof",  "alignas",
	                                    "noreturn",       "index",    "rindex",
	                                    "bcmp",           "bcopy",    "bzero",
	                                    "explicit_bzero", "ffs",      "ffsl",
	                                    "ffsll",          "stpcpy",   "stpncpy"};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcmp(s, words[i]) == 0)
			return true;
	return false;
}

/* The names ppc makes with its own prefix (ppc__<id>_…, PPC_IMPLEMENT_<ID>,
 * PPC_LAYOUTS_<id>_): theirs to take. */
static bool ppc_own(const char *s)
{
	return strncmp(s, "ppc__", 5) == 0 || strncmp(s, "PPC_IMPLEMENT_", 14) == 0 ||
	       strncmp(s, "PPC_LAYOUTS_", 12) == 0;
}

/* A parameter's or a struct field's name (`kind` 'parameter' of `owner`
 * 'function' `name` in contract `contract`, or 'field' of 'struct' `name`)
 * is neither a name the C headers define nor one of the generated C's
 * file-scope names (ns, sorted). */
static void member_free(reader *r, const c_names *ns, const char *key, const ppc_field *f,
                        const char *kind, const char *owner, const char *name, const char *contract)
{
	const char *s = f->name;
	char where[300];
	snprintf(where, sizeof where, "%s '%s' of %s '%s'%s%s%s", kind, s, owner, name,
	         contract ? " in contract '" : "", contract ? contract : "", contract ? "'" : "");
	c_name key_name;
	snprintf(key_name.name, sizeof key_name.name, "%s", s);
	const c_name *hit =
	        ns->n ? bsearch(&key_name, ns->v, ns->n, sizeof *ns->v, c_name_cmp) : NULL;
	if (hit)
		bad_at(r, f->at, key,
		       "%s has the name of a file-scope name of the generated C (of %s); rename it",
		       where, hit->from);
	else if (std_name(s))
		bad_at(r, f->at, key,
		       "%s: the generated C would define '%s', a name the C headers it includes "
		       "define or reserve; rename it",
		       where, s);
}

static void c_names_distinct(reader *r, const ppc_model *m)
{
	c_names ns = {0};
	c_names_of(&ns, m);
	if (ns.oom) {
		free(ns.v);
		bad(r, NULL, "-", "out of memory");
		return;
	}
	if (ns.n)
		qsort(ns.v, ns.n, sizeof *ns.v, c_name_cmp);
	for (size_t i = 0; i < ns.n && !r->failed; i++)
		if ((std_name(ns.v[i].name) || reserved(ns.v[i].name)) && !ppc_own(ns.v[i].name))
			bad_at(r, ns.v[i].at, "name",
			       "the generated C would define '%s' (for %s), a name C or the "
			       "headers "
			       "it includes define or reserve; rename it",
			       ns.v[i].name, ns.v[i].from);
	for (size_t i = 0; i + 1 < ns.n && !r->failed; i++)
		if (strcmp(ns.v[i].name, ns.v[i + 1].name) == 0)
			bad_at(r, later(ns.v[i].at, ns.v[i + 1].at), "name",
			       "the generated C would define '%s' twice: for %s and for %s; rename "
			       "one",
			       ns.v[i].name, ns.v[i].from, ns.v[i + 1].from);
	/* A parameter named like a type or a file-scope name hides it in the
	 * prototypes and bodies that name it after the parameter; a parameter or
	 * a struct field named like a macro (INT8_MAX, DEMO_HELLO_ID) is
	 * replaced by it. */
	for (size_t i = 0; i < m->struct_count && !r->failed; i++) {
		const ppc_struct *st = &m->structs[i];
		for (size_t k = 0; k < st->field_count && !r->failed; k++)
			member_free(r, &ns, "fields", &st->fields[k], "field", "struct", st->name,
			            NULL);
	}
	for (size_t i = 0; i < m->contract_count && !r->failed; i++) {
		const ppc_contract *c = &m->contracts[i];
		for (size_t j = 0; j < c->function_count && !r->failed; j++) {
			const ppc_function *fn = &c->functions[j];
			for (size_t k = 0; k < fn->param_count && !r->failed; k++) {
				if (fn->needs_arena && strcmp(fn->params[k].name, "arena") == 0)
					bad_at(r, fn->params[k].at, "params",
					       "parameter 'arena' of function '%s' in contract "
					       "'%s': "
					       "a function returning %s has a member of that name "
					       "for "
					       "its result's bytes; rename it",
					       fn->name, c->name, ppc_type_name(fn->result));
				member_free(r, &ns, "params", &fn->params[k], "parameter",
				            "function", fn->name, c->name);
			}
		}
	}
	free(ns.v);
}

/* JavaScript globals of a bundle's VM (docs/js.md): a class, an enum or a
 * struct the glue and the declarations name after a contract segment, an
 * enum or a struct must not take one's name, or it would shadow it in the
 * bundle (the glue's own `String(…)` would call the author's class) or be
 * taken for the global (`'Error' in globalThis`: the enum never defined). */
static bool js_global(const char *s)
{
	static const char *const names[] = {"AggregateError",
	                                    "Array",
	                                    "ArrayBuffer",
	                                    "Atomics",
	                                    "BigInt",
	                                    "BigInt64Array",
	                                    "BigUint64Array",
	                                    "Boolean",
	                                    "DataView",
	                                    "Date",
	                                    "Error",
	                                    "EvalError",
	                                    "FinalizationRegistry",
	                                    "Float16Array",
	                                    "Float32Array",
	                                    "Float64Array",
	                                    "Function",
	                                    "Infinity",
	                                    "Int16Array",
	                                    "Int32Array",
	                                    "Int8Array",
	                                    "InternalError",
	                                    "Iterator",
	                                    "JSON",
	                                    "Map",
	                                    "Math",
	                                    "NaN",
	                                    "Number",
	                                    "Object",
	                                    "Promise",
	                                    "Proxy",
	                                    "RangeError",
	                                    "ReferenceError",
	                                    "Reflect",
	                                    "RegExp",
	                                    "Set",
	                                    "SharedArrayBuffer",
	                                    "String",
	                                    "Symbol",
	                                    "SyntaxError",
	                                    "TextDecoder",
	                                    "TextEncoder",
	                                    "TypeError",
	                                    "URIError",
	                                    "Uint16Array",
	                                    "Uint32Array",
	                                    "Uint8Array",
	                                    "Uint8ClampedArray",
	                                    "WeakMap",
	                                    "WeakRef",
	                                    "WeakSet",
	                                    "console",
	                                    "globalThis",
	                                    "queueMicrotask",
	                                    "polyplug_init"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(s, names[i]) == 0)
			return true;
	return false;
}

static void js_names_free(reader *r, const ppc_model *m)
{
	for (size_t i = 0; i < m->enum_count && !r->failed; i++)
		if (js_global(m->enums[i].name))
			bad_at(r, m->enums[i].at, "enum",
			       "enum '%s' would shadow the JavaScript global '%s'",
			       m->enums[i].name, m->enums[i].name);
	for (size_t i = 0; i < m->struct_count && !r->failed; i++)
		if (js_global(m->structs[i].name))
			bad_at(r, m->structs[i].at, "struct",
			       "struct '%s' would shadow the JavaScript global '%s'",
			       m->structs[i].name, m->structs[i].name);
	for (size_t i = 0; i < m->contract_count && !r->failed; i++) {
		const char *last = strrchr(m->contracts[i].name, '.');
		last = last ? last + 1 : m->contracts[i].name;
		if (js_global(last))
			bad_at(r, m->contracts[i].at,
			       m->contracts[i].host ? "host_contract" : "guest_contract",
			       "contract '%s' (line %d): a JS class implementing it is named '%s', "
			       "which would shadow the JavaScript global",
			       m->contracts[i].name, m->contracts[i].line, last);
	}
	/* The declarations' type names: the enums, the structs, PpcContext and
	 * each contract's <Last>Contract and <Last>Caller. One made twice would
	 * silently merge two interfaces into one that types neither. */
	c_names ts = {0};
	char from[200];
	ts.at = (ppc_pos){1, 1};
	c_name_add(&ts, "the declarations' own", "PpcContext");
	for (size_t i = 0; i < m->enum_count; i++) {
		snprintf(from, sizeof from, "enum '%s'", m->enums[i].name);
		ts.at = m->enums[i].at;
		c_name_add(&ts, from, "%s", m->enums[i].name);
	}
	for (size_t i = 0; i < m->struct_count; i++) {
		snprintf(from, sizeof from, "struct '%s'", m->structs[i].name);
		ts.at = m->structs[i].at;
		c_name_add(&ts, from, "%s", m->structs[i].name);
	}
	for (size_t i = 0; i < m->contract_count; i++) {
		const ppc_contract *c = &m->contracts[i];
		ts.at = c->at;
		const char *last = strrchr(c->name, '.');
		last = last ? last + 1 : c->name;
		snprintf(from, sizeof from, "contract '%s'", c->name);
		if (!c->host)
			c_name_add(&ts, from, "%sContract", last);
		c_name_add(&ts, from, "%sCaller", last);
	}
	if (ts.oom)
		bad(r, NULL, "-", "out of memory");
	else if (ts.n)
		qsort(ts.v, ts.n, sizeof *ts.v, c_name_cmp);
	for (size_t i = 0; !ts.oom && i + 1 < ts.n && !r->failed; i++)
		if (strcmp(ts.v[i].name, ts.v[i + 1].name) == 0)
			bad_at(r, later(ts.v[i].at, ts.v[i + 1].at), "name",
			       "the TypeScript declarations would declare '%s' twice: for %s and "
			       "for %s; rename one",
			       ts.v[i].name, ts.v[i].from, ts.v[i + 1].from);
	free(ts.v);
}

ppc_model *ppc_model_read(const char *text, size_t len, const char *file, char *err, size_t errcap)
{
	pp_toml_value *root = pp_toml_parse(text, len, file, err, errcap);
	if (!root)
		return NULL;
	ppc_model *m = calloc(1, sizeof *m);
	reader r = {file, err, errcap, false, root};
	if (!m) {
		pp_toml_free(root);
		snprintf(err, errcap, "%s: out of memory", file);
		return NULL;
	}
	m->file = str_dup(&r, file);
	static const char *const keys[] = {"guest_contract", "host_contract", "enum", "struct",
	                                   NULL};
	only_keys(&r, root, "a contract file", keys);
	read_enums(&r, m);
	read_structs(&r, m);
	read_contracts(&r, m, "guest_contract", false);
	read_contracts(&r, m, "host_contract", true);
	if (!r.failed)
		distinct_names(&r, m);
	if (!r.failed)
		c_names_distinct(&r, m);
	if (!r.failed)
		js_names_free(&r, m);
	if (!r.failed && m->contract_count == 0)
		bad(&r, NULL, "guest_contract", "the file declares no contracts");
	pp_toml_free(root);
	if (r.failed) {
		ppc_model_free(m);
		return NULL;
	}
	return m;
}

/* ---- Compatibility ------------------------------------------------------------- */

static bool same_layout(ppc_type a, ppc_type b)
{
	ppc_kind ka = a.kind == PPC_ENUM ? a.en->repr : a.kind;
	ppc_kind kb = b.kind == PPC_ENUM ? b.en->repr : b.kind;
	if (ka != kb)
		return false;
	if (ka != PPC_STRUCT)
		return true;
	if (a.st->field_count != b.st->field_count || a.st->size != b.st->size)
		return false;
	for (size_t i = 0; i < a.st->field_count; i++)
		if (a.st->fields[i].offset != b.st->fields[i].offset ||
		    !same_layout(a.st->fields[i].type, b.st->fields[i].type))
			return false;
	return true;
}

static const char *function_break(const ppc_function *o, const ppc_function *n)
{
	if (strcmp(o->name, n->name) != 0)
		return "was replaced by another function at its position";
	if (o->param_count != n->param_count)
		return "changed its number of params";
	for (size_t i = 0; i < o->param_count; i++)
		if (!same_layout(o->params[i].type, n->params[i].type))
			return "changed the type of a param";
	if (!same_layout(o->result, n->result))
		return "changed its return type";
	return NULL;
}

bool ppc_model_compatible(const ppc_model *older, const ppc_model *newer, char *err, size_t errcap)
{
	for (size_t i = 0; i < older->contract_count; i++) {
		const ppc_contract *o = &older->contracts[i];
		const ppc_contract *n = NULL;
		for (size_t j = 0; j < newer->contract_count && !n; j++)
			if (newer->contracts[j].host == o->host &&
			    strcmp(newer->contracts[j].name, o->name) == 0 &&
			    newer->contracts[j].major == o->major)
				n = &newer->contracts[j];
		if (!n)
			continue; /* gone, or a new major: a different contract */
		const char *why = NULL;
		const char *fn = "";
		if (n->function_count < o->function_count) {
			why = "removed functions";
			fn = o->functions[n->function_count].name;
		}
		for (size_t k = 0; !why && k < o->function_count; k++) {
			why = function_break(&o->functions[k], &n->functions[k]);
			fn = o->functions[k].name;
		}
		if (why) {
			snprintf(err, errcap,
			         "%s:%d: contract '%s@%u': function '%s' %s since %s; a change of "
			         "layout "
			         "needs version %u.0.0",
			         newer->file, n->line, n->name, n->major, fn, why, older->file,
			         o->major + 1);
			return false;
		}
		if (n->minor < o->minor ||
		    (n->function_count > o->function_count && n->minor == o->minor)) {
			snprintf(err, errcap,
			         "%s:%d: contract '%s@%u': %s; that needs version %u.%u.0",
			         newer->file, n->line, n->name, n->major,
			         n->minor < o->minor ? "its minor version went down"
			                             : "functions were added",
			         o->major, o->minor + 1);
			return false;
		}
	}
	return true;
}

size_t ppc_pick_guests(const ppc_model *m, const char *names, const ppc_contract **out, char *err,
                       size_t errcap)
{
	size_t n = 0;
	for (const char *p = names;; p++) {
		size_t len = strcspn(p, ",");
		const ppc_contract *found = NULL;
		for (size_t i = 0; i < m->contract_count && !found; i++)
			if (!m->contracts[i].host && strlen(m->contracts[i].name) == len &&
			    strncmp(m->contracts[i].name, p, len) == 0)
				found = &m->contracts[i];
		for (size_t i = 0; i < n && found; i++)
			if (out[i] == found) {
				snprintf(err, errcap, "--implement names '%.*s' twice", (int)len,
				         p);
				return 0;
			}
		if (!found) {
			snprintf(err, errcap, "%s declares no guest contract '%.*s'", m->file,
			         (int)len, p);
			return 0;
		}
		if (n == PPC_MAX_IMPLEMENT) {
			snprintf(err, errcap, "--implement names more than %d contracts",
			         PPC_MAX_IMPLEMENT);
			return 0;
		}
		out[n++] = found;
		p += len;
		if (!*p)
			return n;
	}
}
