/*
 * js_modules.c — bundles written as ES modules.
 *
 * A bundle whose source has top-level `import` or `export` is compiled as a
 * module. It may import files of its own bundle directory, by relative
 * specifier ('./util.js', '../lib/x.js' from a subdirectory); what would
 * leave the directory — a path out of it, an absolute path, a symlink that
 * resolves outside — is refused, and so are bare specifiers ('lodash') and
 * any import of a bundle loaded from memory or from a single file (whose
 * directory may hold other bundles). Files are read only if regular, and no
 * larger than the VM's memory limit. Every import that cannot be resolved
 * or read names the specifier, the importer, the bundle and why (a module
 * that is read but does not parse, or lacks a name imported from it, fails
 * with QuickJS's SyntaxError naming that module). polyplug_init is the
 * module's export of that name, or its default export (the function, or an
 * object holding polyplug_init).
 *
 * Module names are the files' paths, so stack frames name them; each file
 * is read through pp__open_bundle_file, which never leaves the directory
 * while it resolves the path (nor says what lies outside).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "js_vm.h"

/* Removes "." segments and applies ".." lexically; false if a ".." would
 * climb above the start of path. In place. */
static bool squash(char *path)
{
	char *out = path, *p = path;
	bool absolute = *p == '/';
	if (absolute)
		out = ++p;
	char *start = out;
	while (*p) {
		char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (out == start)
				return false;
			out--; /* the '/' after the last segment kept */
			while (out > start && out[-1] != '/')
				out--;
		} else {
			memmove(out, p, n);
			out += n;
			*out++ = '/';
		}
		p += n + (end != NULL);
	}
	if (out > start && out[-1] == '/')
		out--;
	*out = '\0';
	return true;
}

/* Throws, as one of JS_Throw*Error's kinds, "import 'SPEC' in IMPORTER:
 * WHY", WHY naming the bundle. Made here because JS_Throw*Error cuts a
 * message at 255 bytes, which long paths would fill before the cause; the
 * specifier, the bundle's own string of any size, is shown up to 1 KiB. */
static __attribute__((format(printf, 5, 6))) void
import_error(JSContext *ctx, JSValue (*kind)(JSContext *, const char *, ...), const char *spec,
             const char *base, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *why = pp__vstrprintf(fmt, ap);
	va_end(ap);
	size_t shown = pp_utf8_prefix((const uint8_t *)spec, strnlen(spec, 1024));
	char *msg = why ? pp__strprintf("import '%.*s%s' in %s: %s", (int)shown, spec,
	                                spec[shown] ? "..." : "", base, why)
	                : NULL;
	free(why);
	JSValue text = msg ? JS_NewString(ctx, msg) : JS_EXCEPTION;
	free(msg);
	kind(ctx, "import");
	JSValue e = JS_GetException(ctx);
	if (JS_IsException(text) ||
	    JS_DefinePropertyValueStr(ctx, e, "message", text,
	                              JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE) < 0) {
		JS_FreeValue(ctx, e);
		JS_FreeValue(ctx, JS_GetException(ctx));
		JS_ThrowOutOfMemory(ctx);
	} else {
		JS_Throw(ctx, e);
	}
}

static char *module_normalize(JSContext *ctx, const char *base, const char *name, void *opaque)
{
	js_vm *vm = opaque;
	/* QuickJS tells module_load, which it calls next for a module not
	 * loaded yet, only the path: what that says on failure is the import's */
	size_t nn = strlen(name), bn = strlen(base);
	free(vm->importing);
	if (!(vm->importing = malloc(nn + bn + 2))) {
		JS_ThrowOutOfMemory(ctx);
		return NULL;
	}
	memcpy(vm->importing, name, nn + 1);
	memcpy(vm->importing + nn + 1, base, bn + 1);
	if (!*vm->module_dir) {
		import_error(ctx, JS_ThrowReferenceError, name, base,
		             "bundle '%s' has no bundle directory to import from (it was loaded "
		             "from memory or from a single file)",
		             vm->bundle);
		return NULL;
	}
	if (name[0] != '.' || (name[1] != '/' && (name[1] != '.' || name[2] != '/'))) {
		import_error(ctx, JS_ThrowReferenceError, name, base,
		             "bundle '%s': only files of the bundle directory can be imported, by "
		             "a path starting with './' or '../'",
		             vm->bundle);
		return NULL;
	}
	/* the importer's directory, relative to the bundle directory */
	size_t dn = strlen(vm->module_dir);
	const char *rel =
	        strncmp(base, vm->module_dir, dn) == 0 && base[dn] == '/' ? base + dn + 1 : "";
	const char *slash = strrchr(rel, '/');
	size_t rn = slash ? (size_t)(slash - rel) : 0;
	size_t cap = rn + nn + 2;
	char *joined = malloc(cap);
	if (!joined) {
		JS_ThrowOutOfMemory(ctx);
		return NULL;
	}
	snprintf(joined, cap, "%.*s%s%s", (int)rn, rel, rn ? "/" : "", name);
	bool inside = squash(joined);
	char *full = NULL;
	if (!inside || !*joined)
		import_error(ctx, JS_ThrowReferenceError, name, base,
		             "the path %s bundle '%s''s directory",
		             inside ? "names, not a file of," : "leaves", vm->bundle);
	else if ((full = js_malloc(ctx, dn + strlen(joined) + 2)))
		sprintf(full, "%s/%s", vm->module_dir, joined);
	free(joined);
	return full;
}

void pp_js_imports_free(js_imports *im)
{
	for (size_t i = 0; i < im->n; i++) {
		free(im->files[i].name);
		free(im->files[i].code);
		free(im->files[i].error);
	}
	free(im->files);
	memset(im, 0, sizeof *im);
}

/* name's file as the load read it first, or NULL. */
static const struct js_import *imported(const js_vm *vm, const char *name)
{
	for (size_t i = 0; vm->imports && i < vm->imports->n; i++)
		if (strcmp(vm->imports->files[i].name, name) == 0)
			return &vm->imports->files[i];
	return NULL;
}

/* Reads name's file into *f: its code, or why it could not be read, naming
 * the bundle and the file (false only when out of memory for even that).
 * A pool's load keeps what its first VM read for the others, all of it at
 * most the VM's memory limit (a file that is one comment compiles to
 * nothing the VM's heap counts); other reads are freed once compiled. */
static bool read_import(js_vm *vm, const char *name, struct js_import *f)
{
	pp_bundle_source at = {.name = vm->bundle, .dir = vm->module_dir};
	pp_status st;
	int fd = pp__open_bundle_file(vm->rt, &at, name, &st);
	size_t kept = vm->imports ? vm->imports->bytes : 0;
	if (fd >= 0 && (f->code = pp__read_fd(fd, vm->memory_bytes - kept, &f->len)))
		return true;
	f->too_big = fd >= 0 && errno == EFBIG;
	if (f->too_big)
		f->error = pp__strprintf("bundle '%s': '%s'%s the VM's memory limit of %zu bytes",
		                         vm->bundle, name,
		                         kept ? ", with the files the load imported before, is past"
		                              : " is larger than",
		                         vm->memory_bytes);
	else if (fd >= 0)
		f->error = pp__strprintf("bundle '%s': cannot read '%s': %s", vm->bundle, name,
		                         strerror(errno));
	else /* pp__open_bundle_file's message names the bundle and the file */
		f->error = pp__strdup(pp_last_error(vm->rt));
	return f->error != NULL;
}

/* Keeps what *f holds (taken: *f is emptied) as name's for the load's
 * other VMs; NULL if out of memory (freed). */
static const struct js_import *keep_import(js_vm *vm, const char *name, struct js_import *f)
{
	js_imports *im = vm->imports;
	char *copy = NULL;
	if (im->n == im->cap) {
		size_t cap = im->cap ? im->cap * 2 : 8;
		struct js_import *bigger = realloc(im->files, cap * sizeof *bigger);
		if (!bigger)
			goto fail;
		im->files = bigger;
		im->cap = cap;
	}
	if (!(copy = strdup(name)))
		goto fail;
	f->name = copy;
	im->bytes += f->len;
	im->files[im->n] = *f;
	*f = (struct js_import){0};
	return &im->files[im->n++];
fail:
	free(f->code);
	free(f->error);
	return NULL;
}

static JSModuleDef *module_load(JSContext *ctx, const char *name, void *opaque)
{
	js_vm *vm = opaque;
	/* a pool's VMs load what the first one read, whatever changes on disk
	 * in between: one load, one code */
	const struct js_import *kept = imported(vm, name);
	struct js_import read = {0};
	if (!kept && (!read_import(vm, name, &read) ||
	              (vm->imports && !(kept = keep_import(vm, name, &read))))) {
		JS_ThrowOutOfMemory(ctx);
		return NULL;
	}
	const struct js_import *f = kept ? kept : &read;
	/* the importer of what module_normalize passed: it called us next */
	const char *spec = vm->importing, *base = spec + strlen(spec) + 1;
	if (f->error) {
		import_error(ctx, f->too_big ? JS_ThrowRangeError : JS_ThrowReferenceError, spec,
		             base, "%s", f->error);
		free(read.error);
		return NULL;
	}
	const char *code = f->code;
	size_t len = f->len;
	JSValue m = JS_UNDEFINED;
	if (pp_utf8_prefix((const uint8_t *)code, len) != len)
		import_error(ctx, JS_ThrowSyntaxError, spec, base,
		             "bundle '%s': '%s' is not valid UTF-8", vm->bundle, name);
	else {
		/* parsed with the limit lifted, as the bundle itself is (js_loader.c) */
		pp_js_heap_limit(vm, true);
		m = JS_Eval(ctx, code, len, name, JS_EVAL_TYPE_MODULE | JS_EVAL_FLAG_COMPILE_ONLY);
		pp_js_heap_limit(vm, false);
	}
	free(read.code); /* NULL when the load keeps it */
	if (JS_IsUndefined(m) || JS_IsException(m))
		return NULL;
	JSModuleDef *def = JS_VALUE_GET_PTR(m);
	JS_FreeValue(ctx, m); /* the runtime's module list keeps it */
	return def;
}

bool pp_js_looks_like_module(const char *code, size_t len)
{
	if (JS_DetectModule(code, len)) /* the first statement */
		return true;
	/* or any line that starts with an import or export statement (a
	 * dynamic import(...) is not one) */
	for (const char *p = code, *end = code + len; p < end;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *q = p;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		size_t n = (size_t)((eol ? eol : end) - q);
		for (int k = 0; k < 2; k++) {
			const char *word = k ? "import" : "export";
			if (n > 6 && memcmp(q, word, 6) == 0 && strchr(" \t{*\"'", q[6]))
				return true;
		}
		p = eol ? eol + 1 : end;
	}
	return false;
}

void pp_js_modules_init(js_vm *vm)
{
	JS_SetModuleLoaderFunc(vm->qrt, module_normalize, module_load, vm);
}

JSValue pp_js_module_init_fn(JSContext *ctx, JSModuleDef *m)
{
	JSValue ns = JS_GetModuleNamespace(ctx, m);
	if (JS_IsException(ns))
		return ns;
	JSValue init = JS_GetPropertyStr(ctx, ns, "polyplug_init");
	if (!JS_IsException(init) && !JS_IsFunction(ctx, init)) {
		JS_FreeValue(ctx, init);
		init = JS_GetPropertyStr(ctx, ns, "default");
		if (!JS_IsException(init) && !JS_IsFunction(ctx, init) && JS_IsObject(init)) {
			JSValue inner = JS_GetPropertyStr(ctx, init, "polyplug_init");
			JS_FreeValue(ctx, init);
			init = inner;
		}
	}
	JS_FreeValue(ctx, ns);
	return init;
}
