/*
 * js_srcmap.c — a bundle's source map, applied to the stack frames and
 * syntax errors its messages show, so that a bundle built from TypeScript
 * (or by any bundler) names its original files and lines.
 *
 * The map is the file a `//# sourceMappingURL=FILE` comment of the bundle
 * names, in the bundle directory (read like the bundle itself: a regular
 * file inside the directory, at most a quarter of the VM's memory limit),
 * or the comment's own `data:application/json;base64,...` URL (an inline
 * map, which an in-memory bundle may have too). Its JSON is
 * parsed by the VM at load; its "mappings" are decoded once into a table of
 * segments per generated line. A map that is missing or malformed is no
 * map: the messages then show the bundle's own lines, as without one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "js_vm.h"

typedef struct map_seg {
	uint32_t gen_col, src, line, col; /* 0-based, as in the map */
} map_seg;

struct js_srcmap {
	char *file; /* the bundle file the frames name */
	char **sources;
	size_t *source_len;
	uint32_t source_count;
	uint32_t line_count;
	uint32_t *line_start; /* line_count + 1 indexes into segs */
	map_seg *segs;
};

/* What a map may cost: its tables at most this share of the VM's memory
 * limit, its source names at most this long, and at most this many
 * positions rewritten in one message (the frames are 16 at most; a guest's
 * own message may repeat the file name at will). */
#define MAP_TABLE_SHARE 4
/* A map's JSON at most min(this, a quarter of the VM's memory limit):
 * QuickJS parses it in one builtin step, within the load's CPU limit but
 * without polling it (about 1 s for 16 MiB of the worst JSON). */
#define MAP_MAX_BYTES (16u << 20)
#define MAP_MAX_SOURCE_NAME 4096u
#define MAP_MAX_REWRITES 64

void pp_js_srcmap_free(js_srcmap *m)
{
	if (!m)
		return;
	for (uint32_t i = 0; i < m->source_count; i++)
		free(m->sources[i]);
	free(m->sources);
	free(m->source_len);
	free(m->line_start);
	free(m->segs);
	free(m->file);
	free(m);
}

static int base64_digit(char c)
{
	static const char alphabet[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(alphabet, c) : NULL;
	return p ? (int)(p - alphabet) : -1;
}

/* One base64 VLQ at *p; false if malformed or beyond 32 bits. */
static bool vlq(const char **p, const char *end, int64_t *out)
{
	uint64_t v = 0;
	for (unsigned shift = 0; *p < end && shift <= 30; shift += 5) {
		int d = base64_digit(**p);
		if (d < 0)
			return false;
		(*p)++;
		v |= (uint64_t)(d & 31) << shift;
		if (!(d & 32)) {
			*out = v & 1 ? -(int64_t)(v >> 1) : (int64_t)(v >> 1);
			return true;
		}
	}
	return false;
}

/* Decodes "mappings" into m's table; false if malformed, or if its tables
 * would take more than budget bytes. */
static bool decode(js_srcmap *m, const char *p, size_t len, size_t budget)
{
	const char *end = p + len;
	size_t lines = 1, segs = 0;
	for (const char *q = p; q < end; q++) {
		lines += *q == ';';
		segs += *q == ',' || *q == ';';
	}
	segs++;
	if (lines >= UINT32_MAX || segs >= UINT32_MAX ||
	    (lines + 1) * sizeof(uint32_t) + segs * sizeof(map_seg) > budget)
		return false;
	m->line_start = calloc(lines + 1, sizeof *m->line_start);
	m->segs = calloc(segs, sizeof *m->segs);
	if (!m->line_start || !m->segs)
		return false;
	m->line_count = (uint32_t)lines;
	int64_t src = 0, line = 0, col = 0;
	uint32_t n = 0, at_line = 0;
	while (p <= end) {
		int64_t gen_col = 0;
		m->line_start[at_line] = n;
		while (p < end && *p != ';') {
			int64_t f[4] = {0, 0, 0, 0};
			int fields = 0;
			while (p < end && *p != ',' && *p != ';') {
				if (fields == 5 ||
				    !vlq(&p, end, fields < 4 ? &f[fields] : &(int64_t){0}))
					return false;
				fields++;
			}
			if (fields != 1 && fields != 4 && fields != 5)
				return false;
			if (f[0] < 0 && n > m->line_start[at_line])
				return false; /* columns only grow within a line: lookup bisects */
			gen_col += f[0];
			if (fields >= 4) {
				src += f[1];
				line += f[2];
				col += f[3];
				if (gen_col < 0 || src < 0 || src >= m->source_count || line < 0 ||
				    col < 0 || gen_col > UINT32_MAX || line > UINT32_MAX ||
				    col > UINT32_MAX)
					return false;
				m->segs[n++] = (map_seg){(uint32_t)gen_col, (uint32_t)src,
				                         (uint32_t)line, (uint32_t)col};
			}
			if (p < end && *p == ',')
				p++;
		}
		at_line++;
		if (p >= end)
			break;
		p++; /* ';' */
	}
	for (uint32_t l = at_line; l <= m->line_count; l++)
		m->line_start[l] = n;
	return true;
}

/* The URL the last `//# sourceMappingURL=` comment gives (*n bytes), or
 * NULL. */
static const char *map_url(const char *code, size_t len, size_t *n)
{
	static const char mark[] = "//# sourceMappingURL=";
	const char *found = NULL;
	for (const char *p = code; (p = memmem(p, len - (size_t)(p - code), mark, sizeof mark - 1));
	     p += sizeof mark - 1)
		found = p + sizeof mark - 1;
	if (!found)
		return NULL;
	const char *end = found;
	while (end < code + len && !strchr("\r\n \t", *end) && *end)
		end++;
	*n = (size_t)(end - found);
	return *n ? found : NULL;
}

/* The JSON of an inline map, `data:application/json[;params];base64,...`
 * decoded (NULL if it is not one, is malformed or decodes to more than
 * max bytes). */
static char *inline_map(const char *url, size_t n, size_t max, size_t *len)
{
	static const char type[] = "data:application/json";
	const char *comma = memchr(url, ',', n);
	if (!comma || n < sizeof type || strncmp(url, type, sizeof type - 1) != 0 ||
	    (url[sizeof type - 1] != ';' && url[sizeof type - 1] != ',') || comma - url < 7 ||
	    strncmp(comma - 7, ";base64", 7) != 0)
		return NULL; /* not JSON (application/jsonp is not), or not base64 */
	const char *p = comma + 1, *end = url + n;
	size_t digits = (size_t)(end - p);
	while (digits && p[digits - 1] == '=')
		digits--;
	size_t cap = digits / 4 * 3 + 3;
	char *out = cap <= max ? malloc(cap + 1) : NULL;
	uint32_t acc = 0;
	size_t bits = 0, k = 0;
	for (size_t i = 0; out && i < digits; i++) {
		int d = base64_digit(p[i]);
		if (d < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[k++] = (char)((acc >> bits) & 0xff);
		}
	}
	if (out) {
		out[k] = '\0';
		*len = k;
	}
	return out;
}

/* A string array member of a parsed map, or false. */
static bool read_sources(JSContext *ctx, JSValueConst json, js_srcmap *m)
{
	JSValue srcs = JS_GetPropertyStr(ctx, json, "sources");
	JSValue len = JS_GetPropertyStr(ctx, srcs, "length");
	uint32_t n = 0;
	bool ok = JS_IsArray(ctx, srcs) > 0 && JS_ToUint32(ctx, &n, len) == 0 && n > 0 && n < 65536;
	if (ok)
		ok = (m->sources = calloc(n, sizeof(char *))) != NULL &&
		     (m->source_len = calloc(n, sizeof(size_t))) != NULL;
	for (uint32_t i = 0; ok && i < n; i++) {
		JSValue v = JS_GetPropertyUint32(ctx, srcs, i);
		const char *str = JS_IsString(v) ? JS_ToCString(ctx, v) : NULL;
		m->sources[i] = str && strlen(str) <= MAP_MAX_SOURCE_NAME ? strdup(str) : NULL;
		ok = m->sources[i] != NULL;
		if (ok)
			m->source_len[i] = strlen(m->sources[i]);
		m->source_count = ok ? i + 1 : i;
		JS_FreeCString(ctx, str);
		JS_FreeValue(ctx, v);
	}
	JS_FreeValue(ctx, len);
	JS_FreeValue(ctx, srcs);
	return ok;
}

js_srcmap *pp_js_srcmap_load(js_vm *vm, const char *dir, const char *file, const char *code,
                             size_t len)
{
	JSContext *ctx = vm->ctx;
	size_t url_len = 0;
	const char *url = map_url(code, len, &url_len);
	bool inline_ = url && url_len >= 5 && strncmp(url, "data:", 5) == 0;
	if (!url || (!inline_ && (!*vm->module_dir || url_len > 255)))
		return NULL; /* a file needs a bundle directory */
	js_srcmap *m = NULL;
	char *path = NULL, *text = NULL, why[512] = ""; /* why it was not read */
	size_t text_len = 0,
	       max = vm->memory_bytes / 4 < MAP_MAX_BYTES ? vm->memory_bytes / 4 : MAP_MAX_BYTES;
	char *name = inline_ ? pp__strdup("(inline)") : pp__strndup(url, url_len);
	if (inline_) {
		text = inline_map(url, url_len, max, &text_len);
		if (!text)
			snprintf(why, sizeof why, "not base64 JSON of at most %zu bytes", max);
	} else if (name && !strstr(name, "..") && name[0] != '/') {
		path = pp__path_join(dir, name);
		pp_bundle_source at = {.name = vm->bundle, .dir = vm->module_dir};
		pp_status st;
		int fd = path ? pp__open_bundle_file(vm->rt, &at, path, &st) : -1;
		if (fd >= 0 && !(text = pp__read_fd(fd, max, &text_len)) && errno == EFBIG)
			snprintf(why, sizeof why, "larger than %zu bytes", max);
		else if (fd >= 0 && !text)
			snprintf(why, sizeof why, "%s", strerror(errno));
		else if (fd < 0)
			snprintf(why, sizeof why, "%s", pp_last_error(vm->rt));
	} else if (name) {
		snprintf(why, sizeof why, "not a file name inside the bundle directory");
	}
	bool read = text != NULL;
	JSValue json = read ? JS_ParseJSON(ctx, text, text_len, name ? name : "map") : JS_UNDEFINED;
	free(text); /* parsed: the tables come from json */
	if (read && JS_IsException(json)) {
		char *text_of = pp_js_exception_text(ctx);
		snprintf(why, sizeof why, "%s", text_of ? text_of : "out of memory");
		free(text_of);
	}
	if (JS_IsObject(json) && (m = calloc(1, sizeof *m)) && (m->file = strdup(file)) &&
	    read_sources(ctx, json, m)) {
		JSValue mappings = JS_GetPropertyStr(ctx, json, "mappings");
		size_t mlen = 0;
		const char *mp =
		        JS_IsString(mappings) ? JS_ToCStringLen(ctx, &mlen, mappings) : NULL;
		bool ok = mp && decode(m, mp, mlen, vm->memory_bytes / MAP_TABLE_SHARE);
		JS_FreeCString(ctx, mp);
		JS_FreeValue(ctx, mappings);
		if (!ok) {
			pp_js_srcmap_free(m);
			m = NULL;
			snprintf(why, sizeof why,
			         "its mappings are not a valid table, or it would take more than "
			         "its "
			         "share of the VM's memory");
		}
	} else {
		if (m && m->file)
			snprintf(why, sizeof why, "its sources are not 1 to 65535 strings");
		else if (read && !*why && !JS_IsObject(json))
			snprintf(why, sizeof why, "not a JSON object");
		pp_js_srcmap_free(m);
		m = NULL;
	}
	pp_js_clear_exception(ctx);
	if (!m)
		pp__log(vm->rt, PP_LOG_WARN, vm->bundle,
		        "source map '%s' named by %s was not read (%s): messages show the "
		        "bundle's own lines",
		        name ? name : "?", file, *why ? why : "out of memory");
	JS_FreeValue(ctx, json);
	free(path);
	free(name);
	return m;
}

/* The segment for 1-based (line, col) of the bundle file, or NULL. */
static const map_seg *lookup(const js_srcmap *m, unsigned long line, unsigned long col)
{
	if (line == 0 || line > m->line_count)
		return NULL;
	/* the last segment of the line at or before col (0-based col - 1) */
	size_t lo = m->line_start[line - 1], hi = m->line_start[line];
	if (lo == hi || col == 0 || m->segs[lo].gen_col >= col)
		return NULL;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->segs[mid].gen_col < col)
			lo = mid;
		else
			hi = mid;
	}
	return &m->segs[lo];
}

/* ":LINE:COL" at p: sets line, col and the length read. */
static bool frame_position(const char *p, unsigned long *line, unsigned long *col, size_t *n)
{
	const char *start = p;
	char *end;
	if (*p != ':' || p[1] < '0' || p[1] > '9')
		return false;
	*line = strtoul(p + 1, &end, 10);
	if (*end != ':' || end[1] < '0' || end[1] > '9')
		return false;
	*col = strtoul(end + 1, &end, 10);
	*n = (size_t)(end - start);
	return true;
}

char *pp_js_srcmap_apply(const js_srcmap *m, char *text)
{
	if (!m || !text)
		return text;
	size_t flen = strlen(m->file), cap = strlen(text) * 2 + 64, used = 0;
	char *out = malloc(cap);
	if (!out)
		return text;
	int rewrites = 0;
	for (const char *p = text; *p;) {
		const char *hit = rewrites < MAP_MAX_REWRITES ? strstr(p, m->file) : NULL;
		unsigned long line = 0, col = 0;
		size_t n = 0;
		if (hit && frame_position(hit + flen, &line, &col, &n)) {
			const map_seg *s = lookup(m, line, col);
			const char *src = s ? m->sources[s->src] : NULL;
			size_t keep = (size_t)(hit - p);
			size_t need = keep + (src ? m->source_len[s->src] : 0) + 48;
			rewrites++;
			if (s && used + need < cap) {
				memcpy(out + used, p, keep);
				used += keep;
				used += (size_t)snprintf(out + used, cap - used, "%s:%u:%u", src,
				                         s->line + 1, s->col + 1);
				p = hit + flen + n;
				continue;
			}
		}
		size_t keep = hit ? (size_t)(hit - p) + flen : strlen(p);
		if (used + keep + 1 > cap) { /* no room: the text as it was */
			free(out);
			return text;
		}
		memcpy(out + used, p, keep);
		used += keep;
		p += keep;
	}
	out[used] = '\0';
	free(text);
	return out;
}
