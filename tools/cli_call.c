/*
 * cli_call.c — `polyplug call`: load a bundle (or a plugins directory), call
 * one function of one contract, print its result and the log. Arguments are
 * typed by a contract file (--contracts FILE, or the files the bundle's
 * manifest lists under `contracts`), laid out as ppc lays them out; without
 * one, the args struct is given as raw bytes. See docs/cli.md.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <polyplug/polyplug.h>

#include "cli.h"
#include "ppc/model.h"
#include "runtime/toml.h"

static const char usage_call[] =
        "usage: polyplug call [--contracts FILE] [--bundle NAME] [--out-size N]\n"
        "                     DIR CONTRACT@MAJOR FUNCTION [ARGS...]\n"
        "\n"
        "Loads DIR (a bundle directory or file, or a plugins directory), calls\n"
        "FUNCTION of CONTRACT@MAJOR on its default instance and prints the result;\n"
        "log records (console.log, host->log) go to stderr.\n"
        "  --contracts FILE  a ppc contract file typing FUNCTION's params and result\n"
        "                    (default: the files the providing bundle's manifest\n"
        "                    lists under `contracts`); FUNCTION is a name or an\n"
        "                    index, and each\n"
        "                    ARG is a param: numbers, true/false, enum variants, text\n"
        "                    for StringView and Buffer (hex:0a0b for bytes)\n"
        "  --bundle NAME     call the provider from bundle NAME (default: the first)\n"
        "  --out-size N      without a contract: the result's size in bytes, printed\n"
        "                    as hex; ARGS are then the args struct as hex bytes\n"
        "Exit status: 0 the call succeeded, 1 it (or the load) failed, 2 usage.\n";

/* ---- Contract files ------------------------------------------------------------- */

/* The contract files one source lists: the --contracts files, or one
 * bundle's manifest's `contracts`. */
typedef struct listed {
	char *dir; /* the bundle's directory; NULL for --contracts */
	ppc_model **m;
	size_t count, cap;
	char *error;           /* why they could not all be read, or NULL */
	const ppc_contract *c; /* the first of them defining CONTRACT@MAJOR, or NULL */
} listed;

/* Every source: the --contracts files alone, DIR's bundle, or one per
 * subdirectory of a plugins directory. */
typedef struct sources {
	listed *l;
	size_t count, cap;
} sources;

static listed *add_source(sources *s, const char *dir)
{
	if (s->count == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		listed *more = realloc(s->l, cap * sizeof *more);
		if (!more)
			return NULL;
		s->l = more;
		s->cap = cap;
	}
	listed *l = &s->l[s->count];
	*l = (listed){.dir = dir ? strdup(dir) : NULL};
	if (dir && !l->dir)
		return NULL;
	s->count++;
	return l;
}

static void free_sources(sources *s)
{
	for (size_t i = 0; i < s->count; i++) {
		for (size_t k = 0; k < s->l[i].count; k++)
			ppc_model_free(s->l[i].m[k]);
		free(s->l[i].m);
		free(s->l[i].dir);
		free(s->l[i].error);
	}
	free(s->l);
}

/* Writes a reason into err (cut to cap). */
__attribute__((format(printf, 3, 4))) static void say(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
}

/* Reads one contract file into l; 2 with the reason in err if it cannot. */
static int read_contracts(listed *l, const char *path, char *err, size_t cap)
{
	if (l->count == l->cap) {
		size_t n = l->cap ? 2 * l->cap : 4;
		ppc_model **more = realloc(l->m, n * sizeof(ppc_model *));
		if (!more) {
			say(err, cap, "out of memory");
			return 2;
		}
		l->m = more;
		l->cap = n;
	}
	size_t len;
	char *text = ppc_read_file(path, CLI_MAX_FILE, &len);
	if (!text) {
		say(err, cap, "cannot read %s: %s", path, strerror(errno));
		return 2;
	}
	ppc_model *m = ppc_model_read(text, len, path, err, cap);
	free(text);
	if (!m)
		return 2;
	l->m[l->count++] = m;
	return 0;
}

/* Whether path, resolved, lies inside dir, resolved: a bundle's manifest
 * and the files it names are read from its own directory only, as the
 * runtime reads them (a symbolic link out of it is not followed). */
static bool inside_dir(const char *dir, const char *path)
{
	char d[PATH_MAX], p[PATH_MAX];
	if (!realpath(dir, d) || !realpath(path, p))
		return false;
	size_t n = strlen(d);
	return strncmp(p, d, n) == 0 && (p[n] == '/' || (n == 1 && d[0] == '/'));
}

/* The contract files a bundle directory's manifest lists (`contracts`);
 * 2 with the reason in err if one cannot be read. */
static int manifest_contracts(listed *l, const char *dir, char *err, size_t cap)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/manifest.toml", dir);
	if (!inside_dir(dir, path))
		return 0; /* none, or out of the directory: the load reports it */
	size_t len;
	char *text = ppc_read_file(path, CLI_MAX_FILE, &len);
	if (!text)
		return 0; /* no manifest: nothing listed */
	pp_toml_value *root = pp_toml_parse(text, len, path, err, cap);
	free(text);
	if (!root)
		return 0; /* the load reports it */
	const pp_toml_value *list = pp_toml_get(root, "contracts");
	int st = 0;
	for (size_t i = 0; list && list->type == PP_TOML_ARRAY && i < list->u.array.count && !st;
	     i++) {
		const pp_toml_value *f = list->u.array.items[i];
		if (f->type != PP_TOML_STRING || strstr(f->u.string.ptr, "..") ||
		    f->u.string.ptr[0] == '/') {
			say(err, cap,
			    "%s:%d:%d: key 'contracts': expected file names in the bundle "
			    "directory",
			    path, f->line, f->col);
			st = 2;
			break;
		}
		char file[4096];
		snprintf(file, sizeof file, "%s/%s", dir, f->u.string.ptr);
		if (!inside_dir(dir, file)) {
			say(err, cap,
			    "%s:%d:%d: key 'contracts': '%s' is missing or leads out of the "
			    "bundle directory",
			    path, f->line, f->col, f->u.string.ptr);
			st = 2;
			break;
		}
		st = read_contracts(l, file, err, cap);
	}
	pp_toml_free(root);
	return st;
}

/* A bundle's directory: DIR itself, or the directory of a bundle file. */
static bool is_bundle(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return false;
	if (!S_ISDIR(st.st_mode))
		return true;
	static const char *const marks[] = {"manifest.toml", "bundle.js"};
	for (size_t i = 0; i < 2; i++) {
		char p[4096];
		snprintf(p, sizeof p, "%s/%s", path, marks[i]);
		if (stat(p, &st) == 0)
			return true;
	}
	return false;
}

/* The contract files each bundle under a plugins directory lists, one
 * source per subdirectory. A bundle whose list cannot be read keeps the
 * reason: it matters only if that bundle turns out to be the provider. */
static int plugins_dir_contracts(sources *s, const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0; /* the load reports it */
	int st = 0;
	for (struct dirent *e; !st && (e = readdir(d)) != NULL;) {
		if (e->d_name[0] == '.')
			continue;
		char sub[4096], err[512] = "";
		snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
		listed *l = add_source(s, sub);
		bool read = l && manifest_contracts(l, sub, err, sizeof err) == 0;
		if (!l || (!read && !(l->error = strdup(err)))) {
			fprintf(stderr, "polyplug: out of memory\n");
			st = 2;
		}
	}
	closedir(d);
	return st;
}

static const ppc_contract *find_contract(const listed *l, const char *name, uint32_t major)
{
	for (size_t i = 0; i < l->count; i++)
		for (size_t k = 0; k < l->m[i]->contract_count; k++) {
			const ppc_contract *c = &l->m[i]->contracts[k];
			if (!c->host && c->major == major && strcmp(c->name, name) == 0)
				return c;
		}
	return NULL;
}

/* ---- Arguments in ---------------------------------------------------------------- */

static int hex_digit(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	                              : -1;
}

/* An integer as docs/cli.md says: decimal (a leading 0 does not make it
 * octal) or 0x… hex, with '-' only for a signed type; no spaces, no '+'. */
static bool parse_int(const char *s, ppc_kind kind, int64_t *out)
{
	static const struct {
		int64_t lo;
		uint64_t hi;
	} range[] = {
	        [PPC_I8] = {INT8_MIN, INT8_MAX},    [PPC_U8] = {0, UINT8_MAX},
	        [PPC_I16] = {INT16_MIN, INT16_MAX}, [PPC_U16] = {0, UINT16_MAX},
	        [PPC_I32] = {INT32_MIN, INT32_MAX}, [PPC_U32] = {0, UINT32_MAX},
	        [PPC_I64] = {INT64_MIN, INT64_MAX}, [PPC_U64] = {0, UINT64_MAX},
	};
	char *end;
	errno = 0;
	bool is_unsigned = range[kind].lo == 0;
	const char *digits = s + (s[0] == '-');
	int base = digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X') ? 16 : 10;
	if (base == 16)
		digits += 2;
	if (hex_digit(digits[0]) < 0 || (base == 10 && digits[0] > '9') ||
	    (is_unsigned && s[0] == '-'))
		return false; /* no spaces or '+' (strtoll skips them), no sign for unsigned */
	if (s[0] == '-') {
		long long v = strtoll(s, &end, base);
		if (errno || *end || end == s || v < range[kind].lo)
			return false;
		*out = v;
		return true;
	}
	unsigned long long v = strtoull(s, &end, base);
	if (errno || *end || end == s || v > range[kind].hi)
		return false;
	*out = (int64_t)v;
	return true;
}

static void store_int(void *p, ppc_kind kind, int64_t v)
{
	switch (kind) {
	case PPC_I8:
	case PPC_U8:
		*(uint8_t *)p = (uint8_t)v;
		break;
	case PPC_I16:
	case PPC_U16:
		*(uint16_t *)p = (uint16_t)v;
		break;
	case PPC_I32:
	case PPC_U32:
		*(uint32_t *)p = (uint32_t)v;
		break;
	default:
		*(uint64_t *)p = (uint64_t)v;
		break;
	}
}

/* Hex text into bytes (malloc'd); NULL if it is not whole hex bytes. */
static uint8_t *from_hex(const char *s, size_t *len)
{
	size_t n = strlen(s);
	if (n % 2)
		return NULL;
	uint8_t *b = malloc(n / 2 + 1);
	for (size_t i = 0; b && i < n / 2; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			free(b);
			return NULL;
		}
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return b;
}

/* Writes the text of one param into the args struct at p. Bytes a view
 * points at are kept in *keep (freed by the caller). Returns false with the
 * reason printed. */
static bool put_param(const ppc_field *f, const char *text, uint8_t *p, uint8_t **keep)
{
	ppc_kind kind = f->type.kind;
	int64_t v = 0;
	switch (kind) {
	case PPC_BOOL:
		if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0)
			break;
		*p = text[0] == 't';
		return true;
	case PPC_F32:
	case PPC_F64: {
		/* no leading spaces (strtod skips them) and no '+', as for
		 * integers; a value the type cannot hold is refused: overflowing
		 * to inf, underflowing to 0 */
		char *end;
		errno = 0;
		double d = strtod(text, &end);
		if (*end || end == text || isspace((unsigned char)text[0]) || text[0] == '+' ||
		    (errno == ERANGE && (isinf(d) || d == 0)))
			break;
		if (kind == PPC_F32 && !isinf(d) && fabs(d) > FLT_MAX)
			break; /* (converting it is undefined) */
		if (kind == PPC_F32) {
			float x = (float)d;
			if (x == 0 && d != 0)
				break;
			memcpy(p, &x, sizeof x);
		} else {
			memcpy(p, &d, sizeof d);
		}
		return true;
	}
	case PPC_STRING:
	case PPC_BUFFER: {
		size_t len = strlen(text);
		const uint8_t *bytes = (const uint8_t *)text;
		if (kind == PPC_BUFFER && strncmp(text, "hex:", 4) == 0) {
			*keep = from_hex(text + 4, &len);
			if (!*keep)
				break;
			bytes = *keep;
		}
		pp_string_view view = {bytes, len};
		memcpy(p, &view, sizeof view);
		return true;
	}
	case PPC_ENUM:
		for (size_t i = 0; i < f->type.en->variant_count; i++)
			if (strcmp(text, f->type.en->variants[i].name) == 0) {
				store_int(p, f->type.en->repr, f->type.en->variants[i].value);
				return true;
			}
		if (!parse_int(text, f->type.en->repr, &v))
			break;
		store_int(p, f->type.en->repr, v);
		return true;
	case PPC_STRUCT:
		fprintf(stderr,
		        "polyplug: param '%s' is a struct (%s): struct params cannot be "
		        "given on the command line\n",
		        f->name, f->type.st->name);
		return false;
	case PPC_VOID:
		break;
	default:
		if (!parse_int(text, kind, &v))
			break;
		store_int(p, kind, v);
		return true;
	}
	fprintf(stderr, "polyplug: param '%s' (%s): '%s' is not a value of that type\n", f->name,
	        ppc_type_name(f->type), text);
	return false;
}

/* ---- Layouts declared to the runtime ------------------------------------------------ */

/* Args and out buffers are at least this big and zeroed, so a plugin that
 * reads a little more than it was given reads zeros, not the heap. */
#define CALL_PAD 4096u

/* What the call declares for CONTRACT@MAJOR before anything loads, so that
 * a JS provider whose own signature or layout would read or write more is
 * refused at load instead of overrunning the buffers: for each function,
 * the largest args and out the contract files give it; for the function
 * called by index, at least the sizes of the buffers a raw call passes. The
 * buffers of the call are made at least as big as what is declared for its
 * function (call_sizes). A function nothing says anything about is not
 * called by this command: it is left unbounded. */
typedef struct plan {
	pp_fn_layout *l;
	uint32_t count;
} plan;

static uint32_t size32(size_t n)
{
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

static uint32_t max32(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

static int plan_layouts(plan *p, const ppc_contract *const *cs, size_t ncs, long index,
                        uint32_t raw_args, uint32_t raw_out)
{
	size_t n = index >= 0 ? (size_t)index + 1 : 0;
	for (size_t i = 0; i < ncs; i++)
		if (cs[i]->function_count > n)
			n = cs[i]->function_count;
	if (n > PP_MAX_CONTRACT_FUNCTIONS)
		n = PP_MAX_CONTRACT_FUNCTIONS;
	p->count = (uint32_t)n;
	p->l = calloc(n + 1, sizeof *p->l);
	if (!p->l) {
		fprintf(stderr, "polyplug: out of memory\n");
		return 2;
	}
	for (size_t f = 0; f < n; f++) {
		bool said = index >= 0 && (size_t)index == f;
		uint32_t args = said ? raw_args : 0, out = said ? raw_out : 0;
		for (size_t i = 0; i < ncs; i++)
			if (f < cs[i]->function_count) {
				said = true;
				args = max32(args, size32(cs[i]->functions[f].args_size));
				out = max32(out, size32(ppc_type_size(cs[i]->functions[f].result)));
			}
		p->l[f] = (pp_fn_layout){said ? args : UINT32_MAX, said ? out : UINT32_MAX,
		                         PP_LAYOUT_NO_ARENA, 0, NULL};
	}
	return 0;
}

/* The buffers a call of fn_id passes: at least what it needs (*args, *out)
 * and what was declared for it. False if nothing was declared for a
 * function that exists (which the plan rules out). */
static bool call_sizes(const plan *p, uint32_t fn_id, size_t *args, size_t *out)
{
	*args = *args > CALL_PAD ? *args : CALL_PAD;
	*out = *out > CALL_PAD ? *out : CALL_PAD;
	if (fn_id >= p->count)
		return true; /* no such function: the call is refused before it runs */
	const pp_fn_layout *l = &p->l[fn_id];
	if (l->args_size == UINT32_MAX || l->out_size == UINT32_MAX)
		return false;
	*args = *args > l->args_size ? *args : l->args_size;
	*out = *out > l->out_size ? *out : l->out_size;
	return true;
}

/* ---- Results out ------------------------------------------------------------------ */

static int64_t load_int(const uint8_t *p, ppc_kind kind)
{
	switch (kind) {
	case PPC_I8:
		return *(const int8_t *)p;
	case PPC_U8:
		return *p;
	case PPC_I16:
		return *(const int16_t *)(const void *)p;
	case PPC_U16:
		return *(const uint16_t *)(const void *)p;
	case PPC_I32:
		return *(const int32_t *)(const void *)p;
	case PPC_U32:
		return *(const uint32_t *)(const void *)p;
	default:
		return *(const int64_t *)(const void *)p;
	}
}

static void print_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

/* Whether n bytes at p lie in what the call's arena handed out: its buffer
 * up to where it got to, or an overflow block's used part. */
static bool in_arena(const pp_call_arena *a, const uint8_t *p, uint64_t n)
{
	uintptr_t at = (uintptr_t)p;
	if (n == 0)
		return true;
	if (a->base && at >= (uintptr_t)a->base && at <= (uintptr_t)a->cur &&
	    n <= (uintptr_t)a->cur - at)
		return true;
	for (const pp_arena_overflow_block *b = a->first_overflow; b; b = b->next) {
		uintptr_t lo = (uintptr_t)b + sizeof *b, hi = (uintptr_t)b + b->used;
		if (at >= lo && at <= hi && n <= hi - at)
			return true;
	}
	return false;
}

/* Whether the text and bytes of a result of type t at p (nested in structs
 * too) lie in the call's arena, where the callee puts them. The contract
 * file saying so is no proof: a JS bundle whose own signature differs
 * writes numbers there, which would be read as a pointer and a length. */
static bool views_in(const pp_call_arena *a, ppc_type t, const uint8_t *p)
{
	if (t.kind == PPC_STRING || t.kind == PPC_BUFFER) {
		const pp_string_view *v = (const void *)p;
		return in_arena(a, v->ptr, v->len);
	}
	for (size_t i = 0; t.kind == PPC_STRUCT && i < t.st->field_count; i++)
		if (!views_in(a, t.st->fields[i].type, p + t.st->fields[i].offset))
			return false;
	return true;
}

static void print_value(ppc_type t, const uint8_t *p, bool top)
{
	switch (t.kind) {
	case PPC_VOID:
		break;
	case PPC_BOOL:
		printf("%s", *p ? "true" : "false");
		break;
	case PPC_U64:
		printf("%" PRIu64, *(const uint64_t *)(const void *)p);
		break;
	case PPC_F32:
		printf("%.9g", (double)*(const float *)(const void *)p);
		break;
	case PPC_F64:
		printf("%.17g", *(const double *)(const void *)p);
		break;
	case PPC_STRING: {
		/* on a terminal, its control characters show as '?' (an escape
		 * sequence could retitle or rewrite the terminal); piped, the
		 * bytes are the plugin's */
		const pp_string_view *v = (const void *)p;
		size_t n = v->ptr ? v->len : 0;
		fputs(top ? "" : "\"", stdout);
		if (isatty(STDOUT_FILENO))
			cli_put_text(stdout, v->ptr, n);
		else
			fwrite(v->ptr ? (const void *)v->ptr : "", 1, n, stdout);
		fputs(top ? "" : "\"", stdout);
		break;
	}
	case PPC_BUFFER: {
		const pp_string_view *v = (const void *)p;
		printf("hex:");
		print_hex(v->ptr, v->ptr ? v->len : 0);
		break;
	}
	case PPC_ENUM: {
		int64_t v = load_int(p, t.en->repr);
		const char *name = NULL;
		for (size_t i = 0; i < t.en->variant_count; i++)
			if (t.en->variants[i].value == v)
				name = t.en->variants[i].name;
		if (name)
			printf("%s", name);
		else
			printf("%" PRId64 " (not a %s variant)", v, t.en->name);
		break;
	}
	case PPC_STRUCT:
		printf("{ ");
		for (size_t i = 0; i < t.st->field_count; i++) {
			const ppc_field *f = &t.st->fields[i];
			printf("%s%s: ", i ? ", " : "", f->name);
			print_value(f->type, p + f->offset, false);
		}
		printf(" }");
		break;
	default:
		printf("%" PRId64, load_int(p, t.kind));
		break;
	}
}

/* ---- The command --------------------------------------------------------------------- */

/* The runtime's own scopes: what they would say reaches the user as the
 * command's error message, so they are shown only when POLYPLUG_LOG asks. */
static bool runtime_scope(pp_string_view scope)
{
	static const char *const own[] = {"runtime", "loader.js", "loader.native", "manifest",
	                                  "watch"};
	for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
		if (scope.len == strlen(own[i]) && memcmp(scope.ptr, own[i], scope.len) == 0)
			return true;
	return false;
}

/* Plugins' records (console.log, host->log) go to stderr. ud: whether the
 * runtime's own records are wanted too. */
static void log_to_stderr(void *ud, uint32_t level, pp_string_view scope, pp_string_view msg)
{
	if (!ud && runtime_scope(scope))
		return;
	static const char *const names[] = {"", "error ", "warn ", "", "debug ", "trace "};
	fprintf(stderr, "%s[", level <= PP_LOG_TRACE ? names[level] : "");
	cli_put_text(stderr, scope.ptr, scope.len);
	fputs("] ", stderr);
	cli_put_text(stderr, msg.ptr, msg.len);
	fputc('\n', stderr);
}

/* pp_bundle_load_dir's report: a bundle of the directory that did not load
 * (the call goes on if another provides the contract). */
static void say_unloaded(void *ud, const pp_dir_entry *e)
{
	(void)ud;
	if (e->status == PP_OK)
		return;
	const char *why = e->error ? e->error : "";
	fputs("polyplug: bundle '", stderr);
	cli_put_text(stderr, (const uint8_t *)e->name, strlen(e->name));
	fprintf(stderr, "' not loaded: %s: ", pp_status_name(e->status));
	cli_put_text(stderr, (const uint8_t *)why, strlen(why));
	fputc('\n', stderr);
}

typedef struct call_opts {
	const char *contracts[16];
	size_t contract_count;
	const char *bundle;
	long out_size; /* -1: not given */
} call_opts;

/* Calls with the args built from ARGS; prints the result. The buffers are
 * args_cap and out_cap bytes (call_sizes). */
static int call_typed(pp_runtime *rt, pp_guest_contract_handle h, const ppc_function *fn,
                      uint32_t fn_id, size_t args_cap, size_t out_cap, int argc, char **argv)
{
	if ((size_t)argc != fn->param_count) {
		fprintf(stderr, "polyplug: %s takes %zu argument%s (", fn->name, fn->param_count,
		        fn->param_count == 1 ? "" : "s");
		for (size_t i = 0; i < fn->param_count; i++)
			fprintf(stderr, "%s%s %s", i ? ", " : "", ppc_type_name(fn->params[i].type),
			        fn->params[i].name);
		fprintf(stderr, "), not %d\n", argc);
		return 2;
	}
	const pp_host_api *host = pp_runtime_host_api(rt);
	pp_call_arena arena;
	alignas(16) uint8_t mem[256];
	pp_call_arena_init(&arena, mem, sizeof mem, host);
	uint8_t *args = calloc(1, args_cap);
	uint8_t *keep[PPC_MAX_PARAMS] = {NULL};
	uint8_t *out = calloc(1, out_cap);
	int status = args && out ? 0 : 2;
	if (status)
		fprintf(stderr, "polyplug: out of memory\n");
	for (size_t i = 0; !status && i < fn->param_count; i++)
		if (!put_param(&fn->params[i], argv[i], args + fn->params[i].offset, &keep[i]))
			status = 2;
	if (!status && fn->needs_arena) {
		pp_call_arena *a = &arena;
		memcpy(args + fn->arena_offset, &a, sizeof(pp_call_arena *));
	}
	if (!status) {
		uint32_t code = pp_call(rt, h, (pp_guest_contract_instance){NULL, 0}, fn_id, args,
		                        out, &arena);
		if (code == PP_OK && !views_in(&arena, fn->result, out)) {
			fprintf(stderr,
			        "polyplug: %s's result holds text or bytes outside the memory the "
			        "call was given: the bundle does not return what the contract file "
			        "says\n",
			        fn->name);
			status = 1;
		} else if (code == PP_OK) {
			print_value(fn->result, out, true);
			printf("%s", fn->result.kind == PPC_VOID ? "(void)\n" : "\n");
		} else {
			fprintf(stderr, "polyplug: %s: %s\n", pp_status_name(code),
			        pp_last_error(rt));
			status = 1;
		}
	}
	for (size_t i = 0; i < PPC_MAX_PARAMS; i++)
		free(keep[i]);
	free(args);
	free(out);
	pp_call_arena_free(&arena);
	return status;
}

/* Without a contract: ARGS are the args struct in hex, the result out_size
 * bytes printed as hex. The buffers are at least args_cap and out_cap bytes
 * (call_sizes), padded and zeroed: the sizes come from the command line,
 * not from the plugin. */
static int call_raw(pp_runtime *rt, pp_guest_contract_handle h, uint32_t fn_id, long out_size,
                    size_t args_cap, size_t out_cap, int argc, char **argv)
{
	size_t total = 0;
	uint8_t *args = NULL;
	for (int i = 0; i < argc; i++) {
		size_t n;
		uint8_t *b = from_hex(argv[i], &n);
		uint8_t *grown = b ? realloc(args, total + n + 1) : NULL;
		if (!grown) {
			fprintf(stderr,
			        "polyplug: '%s' is not hex bytes (without a contract, ARGS are "
			        "the args struct in hex)\n",
			        argv[i]);
			free(b);
			free(args);
			return 2;
		}
		args = grown;
		memcpy(args + total, b, n);
		total += n;
		free(b);
	}
	uint8_t *padded = calloc(1, total > args_cap ? total : args_cap);
	uint8_t *out = calloc(1, (size_t)out_size > out_cap ? (size_t)out_size : out_cap);
	if (!padded || !out) {
		fprintf(stderr, "polyplug: out of memory\n");
		free(padded);
		free(out);
		free(args);
		return 2;
	}
	if (total)
		memcpy(padded, args, total);
	pp_call_arena arena;
	pp_call_arena_init(&arena, NULL, 0, pp_runtime_host_api(rt));
	uint32_t code =
	        pp_call(rt, h, (pp_guest_contract_instance){NULL, 0}, fn_id, padded, out, &arena);
	free(padded);
	int status = 0;
	if (code == PP_OK) {
		print_hex(out, (size_t)out_size);
		printf("\n");
	} else {
		fprintf(stderr, "polyplug: %s: %s\n", pp_status_name(code), pp_last_error(rt));
		status = 1;
	}
	pp_call_arena_free(&arena);
	free(out);
	free(args);
	return status;
}

static int parse_opts(int *argc, char ***argv, call_opts *o)
{
	o->out_size = -1;
	while (*argc > 0 && (*argv)[0][0] == '-' && (*argv)[0][1] == '-') {
		const char *flag = (*argv)[0];
		if (*argc < 2)
			return usage_error(usage_call);
		const char *value = (*argv)[1];
		if (strcmp(flag, "--contracts") == 0 && o->contract_count < 16) {
			o->contracts[o->contract_count++] = value;
		} else if (strcmp(flag, "--bundle") == 0) {
			o->bundle = value;
		} else if (strcmp(flag, "--out-size") == 0) {
			char *end;
			o->out_size = strtol(value, &end, 10);
			if (*end || end == value || o->out_size < 0 || o->out_size > (1 << 20))
				return usage_error(usage_call);
		} else {
			return usage_error(usage_call);
		}
		*argc -= 2;
		*argv += 2;
	}
	return *argc < 3 ? usage_error(usage_call) : 0;
}

/* The bundle whose provider of CONTRACT@MAJOR a call reaches (h): its name
 * and the path it was loaded from. */
typedef struct found_provider {
	pp_runtime *rt;
	const char *contract;
	pp_guest_contract_handle h;
	char name[CLI_FIELD];
	char path[PATH_MAX];
} found_provider;

static void find_provider(void *ud, const pp_bundle_info *info)
{
	found_provider *fp = ud;
	if (fp->name[0])
		return;
	pp_guest_contract_handle h = pp_find_named(fp->rt, fp->contract, 0, info->name);
	if (h.index == fp->h.index && h.generation == fp->h.generation && !pp_handle_is_null(h)) {
		snprintf(fp->name, sizeof fp->name, "%s", info->name);
		snprintf(fp->path, sizeof fp->path, "%s", info->path);
	}
}

/* Whether a and b, resolved, are the same file. */
static bool same_file(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];
	return a && b && realpath(a, ra) && realpath(b, rb) && strcmp(ra, rb) == 0;
}

/* FUNCTION as an index (digits only), or -1 if it is a name. */
static long function_index(const char *function)
{
	char *end;
	errno = 0;
	unsigned long index = strtoul(function, &end, 10);
	if (function[0] < '0' || function[0] > '9' || *end || errno || index >= UINT32_MAX)
		return -1;
	return (long)index;
}

/* The buffer sizes a raw call passes with ARGS (hex bytes) and --out-size. */
static void raw_sizes(int argc, char **argv, long out_size, uint32_t *args, uint32_t *out)
{
	size_t total = 0;
	for (int i = 0; i < argc; i++)
		total += strlen(argv[i]) / 2;
	*args = max32(size32(total), CALL_PAD);
	*out = max32(size32(out_size < 0 ? 0 : (size_t)out_size), CALL_PAD);
}

int cli_call(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage_call, stdout);
		return 0;
	}
	call_opts o = {0};
	int st = parse_opts(&argc, &argv, &o);
	if (st)
		return st;
	const char *dir = argv[0], *contract = argv[1], *function = argv[2];
	const char *at = strrchr(contract, '@');
	char *end = NULL;
	unsigned long major = at ? strtoul(at + 1, &end, 10) : 0;
	char canonical[16];
	snprintf(canonical, sizeof canonical, "%lu", major);
	/* as written, the name is what the lookup hashes: "x@01" would find a
	 * contract other than the x@1 whose sizes are declared */
	if (!at || at == contract || !at[1] || *end || major > UINT32_MAX ||
	    strcmp(at + 1, canonical) != 0) {
		fprintf(stderr, "polyplug: '%s' is not CONTRACT@MAJOR (e.g. demo.Hello@1)\n",
		        contract);
		return 2;
	}
	bool bundle = is_bundle(dir);
	char name[256], err[512] = "";
	snprintf(name, sizeof name, "%.*s", (int)(at - contract), contract);
	sources s = {NULL, 0, 0};
	if (o.contract_count || bundle) {
		listed *l = add_source(&s, o.contract_count ? NULL : dir);
		for (size_t i = 0; l && i < o.contract_count && !st; i++)
			st = read_contracts(l, o.contracts[i], err, sizeof err);
		if (l && !o.contract_count)
			st = manifest_contracts(l, dir, err, sizeof err);
		if (!l)
			snprintf(err, sizeof err, "out of memory");
		if (!l || st) {
			fprintf(stderr, "polyplug: %s\n", err);
			st = 2;
		}
	} else {
		st = plugins_dir_contracts(&s, dir);
	}

	/* which bundle provides the contract is known once loaded; until then
	 * every source's definition of it counts for the sizes declared */
	long index = function_index(function);
	const ppc_contract **defs = calloc(s.count + 1, sizeof(const ppc_contract *));
	size_t ndefs = 0;
	bool untyped = o.out_size >= 0 || s.count == 0; /* a raw call is possible */
	for (size_t i = 0; defs && i < s.count; i++) {
		listed *l = &s.l[i];
		l->c = l->error ? NULL : find_contract(l, name, (uint32_t)major);
		if (l->c)
			defs[ndefs++] = l->c;
		untyped |= !l->c || (index >= 0 && (size_t)index >= l->c->function_count);
	}
	uint32_t raw_args, raw_out;
	raw_sizes(argc - 3, argv + 3, o.out_size, &raw_args, &raw_out);
	plan p = {NULL, 0};
	if (!st && !defs) {
		fprintf(stderr, "polyplug: out of memory\n");
		st = 2;
	}
	if (!st)
		st = plan_layouts(&p, defs, ndefs, untyped ? index : -1, raw_args, raw_out);
	free(defs);

	pp_runtime_config cfg;
	pp_runtime_config_init(&cfg);
	cfg.log = log_to_stderr;
	cfg.log_userdata = cfg.log_level ? (void *)1 : NULL; /* POLYPLUG_LOG was set */
	/* a JS bundle's bridge is checked from its init on, against the sizes
	 * declared below: the buffers this tool passes are all it may reach */
	cfg.js.memory_mode = PP_JS_MEMORY_GUARDED;
	pp_runtime *rt = NULL;
	if (!st && pp_runtime_new(&cfg, &rt) != PP_OK) {
		fprintf(stderr, "polyplug: cannot create a runtime\n");
		st = 2;
	}
	if (!st && p.count) {
		pp_status ds = pp_contract_declare_layouts(
		        rt, pp_guest_contract_id(name, (uint32_t)major), p.l, p.count);
		if (ds != PP_OK) {
			fprintf(stderr, "polyplug: %s: %s\n", pp_status_name(ds),
			        pp_last_error(rt));
			st = 2;
		}
	}
	if (!st && bundle) {
		pp_status ls = pp_bundle_load(rt, dir, NULL, NULL);
		if (ls != PP_OK) {
			fprintf(stderr, "polyplug: %s: %s\n", pp_status_name(ls),
			        pp_last_error(rt));
			st = 1;
		}
	} else if (!st) { /* a bundle that does not load is said, and passed over */
		size_t loaded = 0;
		pp_status ls = pp_bundle_load_dir(rt, dir, say_unloaded, NULL, &loaded);
		if (ls != PP_OK && !loaded) {
			fprintf(stderr, "polyplug: %s: %s\n", pp_status_name(ls),
			        pp_last_error(rt));
			st = 1;
		}
	}
	pp_guest_contract_handle h = pp_handle_null();
	if (!st) {
		h = pp_find_named(rt, contract, 0, o.bundle);
		if (pp_handle_is_null(h)) {
			fprintf(stderr, "polyplug: %s: %s\n", pp_status_name(PP_ERR_NOT_FOUND),
			        pp_last_error(rt));
			st = 1;
		}
	}

	/* the provider's own contract files type the call (or --contracts) */
	found_provider fp = {rt, contract, h, "", ""};
	const listed *pl = NULL;
	if (!st)
		pp_bundle_foreach(rt, find_provider, &fp);
	if (!st && (o.contract_count || bundle)) {
		pl = &s.l[0];
	} else if (!st) {
		for (size_t i = 0; i < s.count && !pl; i++)
			if (same_file(s.l[i].dir, fp.path))
				pl = &s.l[i];
	}
	if (!st && pl && pl->error) {
		fprintf(stderr, "polyplug: %s\n", pl->error);
		st = 2;
	}
	const ppc_contract *c = pl ? pl->c : NULL;

	/* the function called: by name in the contract file, or by index */
	const ppc_function *fn = NULL;
	uint32_t fn_id = UINT32_MAX;
	for (size_t i = 0; c && i < c->function_count && !fn; i++)
		if (strcmp(c->functions[i].name, function) == 0) {
			fn = &c->functions[i];
			fn_id = (uint32_t)i;
		}
	if (!fn && index >= 0) {
		fn_id = (uint32_t)index;
		if (c && (size_t)index < c->function_count)
			fn = &c->functions[index];
	}
	bool typed = fn && o.out_size < 0;
	size_t args_cap = typed ? fn->args_size : 0,
	       out_cap = typed ? ppc_type_size(fn->result) : 0;
	if (!st && fn_id != UINT32_MAX && !call_sizes(&p, fn_id, &args_cap, &out_cap)) {
		fprintf(stderr, "polyplug: no layout was declared for function %" PRIu32 "\n",
		        fn_id);
		st = 2;
	}
	if (st) {
		/* nothing to call */
	} else if (typed) {
		st = call_typed(rt, h, fn, fn_id, args_cap, out_cap, argc - 3, argv + 3);
	} else if (fn_id != UINT32_MAX && (!c || o.out_size >= 0)) {
		st = call_raw(rt, h, fn_id, o.out_size < 0 ? 0 : o.out_size, args_cap, out_cap,
		              argc - 3, argv + 3);
	} else if (c) {
		fprintf(stderr, "polyplug: %s has no function '%s'", contract, function);
		for (size_t i = 0; i < c->function_count; i++)
			fprintf(stderr, "%s%s", i ? ", " : " (it has: ", c->functions[i].name);
		fprintf(stderr, ")\n");
		st = 2;
	} else {
		char who[CLI_FIELD];
		if (o.contract_count)
			fprintf(stderr, "polyplug: no --contracts file defines %s", contract);
		else
			fprintf(stderr,
			        "polyplug: bundle '%s' lists no contract file defining %s "
			        "(`contracts` in its manifest)",
			        cli_one_line(who, sizeof who, fp.name[0] ? fp.name : dir),
			        contract);
		fprintf(stderr, ", so '%s' cannot be called by name: give %sits index\n", function,
		        o.contract_count ? "a file that does, or " : "--contracts FILE, or ");
		st = 2;
	}
	pp_runtime_free(rt);
	free(p.l);
	free_sources(&s);
	return st;
}
