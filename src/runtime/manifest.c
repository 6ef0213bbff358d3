/*
 * manifest.c — reading and checking manifest.toml (see manifest.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "manifest.h"
#include "toml.h"

#if defined(__x86_64__)
#define PP_ARCH "x86_64"
#elif defined(__aarch64__)
#define PP_ARCH "aarch64"
#elif defined(__i386__)
#define PP_ARCH "x86"
#else
#define PP_ARCH "unknown"
#endif
#define PP_OS "linux"

bool pp__manifest_exists(const char *dir)
{
	/* anything of that name: reading it says what is wrong with it */
	return pp__dir_may_hold(dir, "manifest.toml", false);
}

void pp__manifest_free(pp_manifest *m)
{
	if (!m)
		return;
	free(m->file_path);
	free(m->name);
	free(m->version);
	free(m->loader);
	free(m->file);
	for (size_t i = 0; i < m->provides_count; i++)
		free(m->provides[i].name);
	free(m->provides);
	for (size_t i = 0; i < m->dep_count; i++) {
		free(m->deps[i].contract);
		free(m->deps[i].bundle);
	}
	free(m->deps);
	for (size_t i = 0; i < m->bundle_dep_count; i++)
		free(m->bundle_deps[i]);
	free(m->bundle_deps);
	free(m);
}

bool pp__contract_ref(const char *s, char *name, size_t cap, uint32_t *major)
{
	const char *at = strrchr(s, '@');
	if (!at || at == s || !at[1])
		return false;
	unsigned long long v = 0;
	for (const char *p = at + 1; *p; p++) {
		if (*p < '0' || *p > '9' || v > 0xFFFFFFFFull / 10)
			return false;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (v > 0xFFFFFFFFull || (size_t)(at - s) >= cap)
		return false;
	memcpy(name, s, (size_t)(at - s));
	name[at - s] = '\0';
	*major = (uint32_t)v;
	return true;
}

/* ---- Reading ------------------------------------------------------------------ */

typedef struct reader {
	pp_runtime *rt;
	const char *file;
	pp_status st;
} reader;

/* The first error wins; it names file, line, column and key. */
__attribute__((format(printf, 4, 5))) static void bad(reader *r, const pp_toml_value *at,
                                                      const char *key, const char *fmt, ...)
{
	if (r->st != PP_OK)
		return;
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	r->st = pp__error(r->rt, PP_ERR_LOAD_FAILED, "%s:%d:%d: key '%s': %s", r->file,
	                  at ? at->line : 1, at ? at->col : 1, key, what);
}

/* A manifest lists at most this many contracts, dependencies or bundles
 * in one key: the load checks each against what is loaded, under the
 * runtime's lock, so a longer list would only slow every load down. As
 * many as a TOML table holds, so function_count can name every contract. */
#define MAX_LISTED 256u

/* A string value holding a NUL: what C reads of it stops there, so it would
 * be taken for a shorter string than the file says. */
static bool nul_inside(const pp_toml_value *v)
{
	return v->type == PP_TOML_STRING && strlen(v->u.string.ptr) != v->u.string.len;
}

static const pp_toml_value *typed(reader *r, const pp_toml_value *t, const char *key,
                                  pp_toml_type type)
{
	const pp_toml_value *v = pp_toml_get(t, key);
	if (v && v->type != type) {
		bad(r, v, key, "expected %s, found %s", pp_toml_type_name(type),
		    pp_toml_type_name(v->type));
		return NULL;
	}
	if (v && nul_inside(v)) {
		bad(r, v, key, "contains a NUL character");
		return NULL;
	}
	if (v && type == PP_TOML_ARRAY && v->u.array.count > MAX_LISTED) {
		bad(r, v, key, "%zu entries; at most %u are read", v->u.array.count, MAX_LISTED);
		return NULL;
	}
	return v;
}

static char *string_of(reader *r, const pp_toml_value *v, const char *key)
{
	if (!v)
		return NULL;
	if (nul_inside(v)) {
		bad(r, v, key, "contains a NUL character");
		return NULL;
	}
	char *s = pp__strdup(v->u.string.ptr);
	if (!s)
		bad(r, v, key, "out of memory");
	return s;
}

/* One of two spellings of a key (the second is the older one). */
static const pp_toml_value *either(reader *r, const pp_toml_value *t, const char *key,
                                   const char *old, pp_toml_type type, const char **used)
{
	const pp_toml_value *a = typed(r, t, key, type), *b = typed(r, t, old, type);
	/* The reference's own files give both with the same value. */
	bool same = a && b &&
	            ((type == PP_TOML_STRING && strcmp(a->u.string.ptr, b->u.string.ptr) == 0) ||
	             (type == PP_TOML_INTEGER && a->u.integer.value == b->u.integer.value));
	if (a && b && !same) {
		if (type == PP_TOML_STRING)
			bad(r, b, old, "'%s' differs from %s = '%s'", b->u.string.ptr, key,
			    a->u.string.ptr);
		else
			bad(r, b, old, "give either '%s' or '%s', not both with different values",
			    key, old);
	}
	*used = b && !a ? old : key;
	return a ? a : b;
}

static void read_file_key(reader *r, const pp_toml_value *root, const char *dir, pp_manifest *m)
{
	const pp_toml_value *f = pp_toml_get(root, "file");
	if (!f)
		return;
	const pp_toml_value *name = f;
	if (f->type == PP_TOML_TABLE) {
		name = pp_toml_get(pp_toml_get(f, PP_OS), PP_ARCH);
		if (!name) {
			bad(r, f, "file", "no entry for this platform (%s.%s)", PP_OS, PP_ARCH);
			return;
		}
	}
	if (name->type != PP_TOML_STRING) {
		bad(r, name, "file", "expected a string or a table of os.arch = \"file\", found %s",
		    pp_toml_type_name(name->type));
		return;
	}
	const char *s = name->u.string.ptr;
	if (!*s || strlen(s) != name->u.string.len || s[0] == '/' || strstr(s, "..")) {
		bad(r, name, "file", "'%s' is not a file name inside the bundle directory", s);
		return;
	}
	m->file = pp__path_join(dir, s);
	if (!m->file)
		bad(r, name, "file", "out of memory");
}

/* "Name@major" into a contract entry. */
static bool contract_of(reader *r, const pp_toml_value *v, const char *key, char **out_name,
                        uint64_t *id, uint32_t *major)
{
	char name[256];
	if (v->type != PP_TOML_STRING) {
		bad(r, v, key, "expected a contract \"Name@major\", found %s",
		    pp_toml_type_name(v->type));
		return false;
	}
	if (!pp__contract_ref(v->u.string.ptr, name, sizeof name, major)) {
		bad(r, v, key, "'%s' is not a contract \"Name@major\"", v->u.string.ptr);
		return false;
	}
	if (*major > 0xFFFF) {
		bad(r, v, key, "'%s': a major version above 65535 cannot be matched",
		    v->u.string.ptr);
		return false;
	}
	*id = pp_guest_contract_id(name, *major);
	*out_name = string_of(r, v, key);
	return *out_name != NULL;
}

static void read_provides(reader *r, const pp_toml_value *root, pp_manifest *m)
{
	const pp_toml_value *p = typed(r, root, "provides", PP_TOML_ARRAY);
	/* no provides key: nothing is declared, and function_count has nothing
	 * to name (m->provides stays NULL) */
	m->provides = p ? calloc(p->u.array.count + 1, sizeof *m->provides) : NULL;
	if (p && !m->provides) {
		bad(r, p, "provides", "out of memory");
		return;
	}
	for (size_t i = 0; p && i < p->u.array.count && r->st == PP_OK; i++) {
		pp_manifest_contract *c = &m->provides[m->provides_count];
		uint32_t major;
		if (!contract_of(r, p->u.array.items[i], "provides", &c->name, &c->id, &major))
			break;
		c->function_count = UINT32_MAX;
		m->provides_count++;
		for (size_t j = 0; j + 1 < m->provides_count; j++)
			if (m->provides[j].id == c->id)
				bad(r, p->u.array.items[i], "provides", "'%s' is listed twice",
				    c->name);
	}
	const pp_toml_value *fc = typed(r, root, "function_count", PP_TOML_TABLE);
	for (size_t i = 0; fc && i < fc->u.table.count && r->st == PP_OK; i++) {
		const char *cname = fc->u.table.keys[i];
		const pp_toml_value *n = fc->u.table.values[i];
		pp_manifest_contract *c = NULL;
		for (size_t j = 0; j < m->provides_count; j++)
			if (strcmp(m->provides[j].name, cname) == 0)
				c = &m->provides[j];
		if (!c)
			bad(r, n, "function_count", "'%s' is not in provides", cname);
		else if (n->type != PP_TOML_INTEGER || n->u.integer.is_unsigned ||
		         n->u.integer.value < 0 || n->u.integer.value > UINT32_MAX - 1)
			bad(r, n, "function_count", "'%s' must be a count (0 or more)", cname);
		else
			c->function_count = (uint32_t)n->u.integer.value;
	}
}

/* A version part: 1 to 5 decimal digits, at most 65535 (no sign, space or
 * other leniency of strtoul's). Advances *s past it. */
static bool version_part(const char **s, unsigned long *out)
{
	size_t n = strspn(*s, "0123456789");
	if (n == 0 || n > 5)
		return false;
	*out = strtoul(*s, NULL, 10);
	*s += n;
	return *out <= 0xFFFF;
}

/* min_version as written: "major.minor" (a patch is ignored) or an integer
 * major. */
static bool version_of(reader *r, const pp_toml_value *v, unsigned long *maj_out,
                       unsigned long *min_out)
{
	unsigned long maj = 0, min = 0, patch;
	if (v->type == PP_TOML_INTEGER && !v->u.integer.is_unsigned && v->u.integer.value >= 0 &&
	    v->u.integer.value <= 0xFFFF) {
		maj = (unsigned long)v->u.integer.value;
	} else if (v->type == PP_TOML_STRING) {
		const char *at = v->u.string.ptr;
		bool ok = version_part(&at, &maj);
		if (ok && *at == '.') {
			at++;
			ok = version_part(&at, &min);
		}
		if (ok && *at == '.') { /* a patch number is allowed and ignored */
			at++;
			ok = version_part(&at, &patch);
		}
		if (!ok || *at || nul_inside(v)) {
			bad(r, v, "min_version",
			    "'%s' is not a version \"major.minor\" (decimal numbers up to 65535)",
			    v->u.string.ptr);
			return false;
		}
	} else {
		bad(r, v, "min_version", "expected \"major.minor\" or an integer");
		return false;
	}
	*maj_out = maj;
	*min_out = min;
	return true;
}

static bool min_version_of(reader *r, const pp_toml_value *v, uint32_t major, uint32_t *out)
{
	if (!v) {
		*out = major << 16; /* any minor of that major */
		return true;
	}
	unsigned long maj, min;
	if (!version_of(r, v, &maj, &min))
		return false;
	if (maj != major) {
		bad(r, v, "min_version", "major %lu does not match the contract's @%u", maj, major);
		return false;
	}
	if (maj == 0 && min > 0) {
		/* packed, 0.N is N, which every lookup reads as "major N" */
		bad(r, v, "min_version",
		    "\"0.%lu\": a minimum minor of a major-0 contract cannot be required (the "
		    "ABI's min_version reads it as major %lu); leave min_version out",
		    min, min);
		return false;
	}
	*out = (uint32_t)(maj << 16 | min);
	return true;
}

/* The reference generator's form: `contract` a bare name, its major taken
 * from min_version ("major.minor"); d->contract becomes "name@major". */
static bool bare_contract(reader *r, const pp_toml_value *c, const pp_toml_value *mv,
                          pp_manifest_dep *d, uint32_t *major)
{
	unsigned long maj, min;
	if (!mv) {
		bad(r, c, "contract",
		    "'%s' has no @major, so min_version (\"major.minor\") is required",
		    c->u.string.ptr);
		return false;
	}
	if (!version_of(r, mv, &maj, &min))
		return false;
	size_t n = strlen(c->u.string.ptr) + 16;
	char *ref = malloc(n);
	if (!ref) {
		bad(r, c, "contract", "out of memory");
		return false;
	}
	snprintf(ref, n, "%s@%lu", c->u.string.ptr, maj);
	char name[256];
	if (!pp__contract_ref(ref, name, sizeof name, major) || !*name) {
		bad(r, c, "contract", "'%s' is not a contract name", c->u.string.ptr);
		free(ref);
		return false;
	}
	d->contract = ref;
	d->dep.contract_id = pp_guest_contract_id(name, *major);
	return true;
}

static void read_dependency(reader *r, const pp_toml_value *t, const char *key, pp_manifest *m)
{
	if (t->type != PP_TOML_TABLE) {
		bad(r, t, key, "expected a table {contract, min_version, …}, found %s",
		    pp_toml_type_name(t->type));
		return;
	}
	pp_manifest_dep *d = &m->deps[m->dep_count];
	const pp_toml_value *c = pp_toml_get(t, "contract");
	if (!c) {
		bad(r, t, key, "a dependency needs 'contract'");
		return;
	}
	if (nul_inside(c)) {
		bad(r, c, "contract", "contains a NUL character");
		return;
	}
	const pp_toml_value *mv = pp_toml_get(t, "min_version");
	uint32_t major = 0;
	if (c->type == PP_TOML_STRING && !strchr(c->u.string.ptr, '@') &&
	    !bare_contract(r, c, mv, d, &major))
		return;
	if (!d->contract &&
	    !contract_of(r, c, "contract", &d->contract, &d->dep.contract_id, &major))
		return;
	m->dep_count++;
	if (!min_version_of(r, mv, major, &d->dep.min_version))
		return;
	const pp_toml_value *id = pp_toml_get(t, "contract_id");
	if (id &&
	    (id->type != PP_TOML_INTEGER || (uint64_t)id->u.integer.value != d->dep.contract_id))
		bad(r, id, "contract_id", "does not match '%s' (expected %#llx)", d->contract,
		    (unsigned long long)d->dep.contract_id);
	const pp_toml_value *b = typed(r, t, "bundle", PP_TOML_STRING);
	d->bundle = string_of(r, b, "bundle");
	const pp_toml_value *bid = pp_toml_get(t, "bundle_id");
	if (bid && d->bundle &&
	    (bid->type != PP_TOML_INTEGER ||
	     (uint64_t)bid->u.integer.value != pp_bundle_id(d->bundle)))
		bad(r, bid, "bundle_id", "does not match bundle '%s'", d->bundle);
	const pp_toml_value *kind = typed(r, t, "kind", PP_TOML_STRING);
	if (kind && strcmp(kind->u.string.ptr, "contract") != 0 &&
	    strcmp(kind->u.string.ptr, "bundle") != 0)
		bad(r, kind, "kind", "expected \"contract\" or \"bundle\", found '%s'",
		    kind->u.string.ptr);
	if (kind && strcmp(kind->u.string.ptr, "bundle") == 0 && !d->bundle)
		bad(r, kind, "kind", "a \"bundle\" dependency needs 'bundle'");
}

static void read_dependencies(reader *r, const pp_toml_value *root, pp_manifest *m)
{
	const char *used;
	const pp_toml_value *deps =
	        either(r, root, "dependency", "dependencies", PP_TOML_ARRAY, &used);
	if (deps) {
		m->deps = calloc(deps->u.array.count + 1, sizeof *m->deps);
		if (!m->deps)
			bad(r, deps, used, "out of memory");
		for (size_t i = 0; m->deps && i < deps->u.array.count && r->st == PP_OK; i++)
			read_dependency(r, deps->u.array.items[i], used, m);
	}
	const pp_toml_value *bd = typed(r, root, "bundle_dependencies", PP_TOML_ARRAY);
	if (!bd)
		return;
	m->bundle_deps = calloc(bd->u.array.count + 1, sizeof *m->bundle_deps);
	if (!m->bundle_deps) {
		bad(r, bd, "bundle_dependencies", "out of memory");
		return;
	}
	for (size_t i = 0; i < bd->u.array.count && r->st == PP_OK; i++) {
		const pp_toml_value *v = bd->u.array.items[i];
		if (v->type != PP_TOML_STRING || !v->u.string.len) {
			bad(r, v, "bundle_dependencies", "expected bundle names (strings)");
			return;
		}
		m->bundle_deps[m->bundle_dep_count] = string_of(r, v, "bundle_dependencies");
		if (m->bundle_deps[m->bundle_dep_count])
			m->bundle_dep_count++;
	}
}

static const char *const known_keys[] = {
        "name",
        "bundle_name",
        "id",
        "bundle_id",
        "version",
        "loader",
        "runtime",
        "file",
        "provides",
        "function_count",
        "dependency",
        "dependencies",
        "bundle_dependencies",
        "needs_reinit_on_dep_reload",
        "memory",
        "concurrency",
        "contracts", /* contract files, for tools (polyplug call); the runtime ignores them */
        "description",
        "authors",
        "license",
};

static void read_root(reader *r, const pp_toml_value *root, const char *dir, pp_manifest *m)
{
	const char *used;
	const pp_toml_value *name = either(r, root, "name", "bundle_name", PP_TOML_STRING, &used);
	if (!name && r->st == PP_OK)
		bad(r, NULL, "name", "missing: a manifest names its bundle");
	if (name && !name->u.string.len)
		bad(r, name, used, "the bundle name is empty");
	m->name = string_of(r, name, used);
	const pp_toml_value *id = either(r, root, "id", "bundle_id", PP_TOML_INTEGER, &used);
	if (id && m->name && (uint64_t)id->u.integer.value != pp_bundle_id(m->name))
		bad(r, id, used, "%llu is not the id of bundle '%s' (%llu)",
		    (unsigned long long)id->u.integer.value, m->name,
		    (unsigned long long)pp_bundle_id(m->name));
	m->version = string_of(r, typed(r, root, "version", PP_TOML_STRING), "version");
	const pp_toml_value *loader = either(r, root, "loader", "runtime", PP_TOML_STRING, &used);
	m->loader = string_of(r, loader, used);
	read_file_key(r, root, dir, m);
	read_provides(r, root, m);
	read_dependencies(r, root, m);
	const pp_toml_value *re = typed(r, root, "needs_reinit_on_dep_reload", PP_TOML_BOOL);
	m->reinit_on_dep_reload = re && re->u.boolean;
	const pp_toml_value *mem = typed(r, root, "memory", PP_TOML_STRING);
	if (mem && strcmp(mem->u.string.ptr, "guarded") == 0)
		m->memory_mode = PP_JS_MEMORY_GUARDED;
	else if (mem && strcmp(mem->u.string.ptr, "compat") == 0)
		m->memory_mode = PP_JS_MEMORY_COMPAT;
	else if (mem)
		bad(r, mem, "memory", "expected \"guarded\" or \"compat\", found \"%s\"",
		    mem->u.string.ptr);
	const pp_toml_value *conc = typed(r, root, "concurrency", PP_TOML_INTEGER);
	if (conc && conc->u.integer.is_unsigned) /* above INT64_MAX */
		bad(r, conc, "concurrency", "%llu VMs: expected 1 to %u",
		    (unsigned long long)(uint64_t)conc->u.integer.value, PP_JS_MAX_CONCURRENCY);
	else if (conc &&
	         (conc->u.integer.value < 1 || conc->u.integer.value > PP_JS_MAX_CONCURRENCY))
		bad(r, conc, "concurrency", "%lld VMs: expected 1 to %u",
		    (long long)conc->u.integer.value, PP_JS_MAX_CONCURRENCY);
	else if (conc)
		m->concurrency = (uint32_t)conc->u.integer.value;
	for (size_t i = 0; i < root->u.table.count && r->st == PP_OK; i++) {
		bool known = false;
		for (size_t k = 0; k < sizeof known_keys / sizeof known_keys[0]; k++)
			known |= strcmp(root->u.table.keys[i], known_keys[k]) == 0;
		if (!known) {
			const pp_toml_value *v = root->u.table.values[i];
			const char *near = NULL;
			size_t best = 3; /* a typo, not another word */
			for (size_t k = 0; k < sizeof known_keys / sizeof known_keys[0]; k++) {
				size_t d = pp__edit_distance(root->u.table.keys[i], known_keys[k]);
				if (d < best) {
					best = d;
					near = known_keys[k];
				}
			}
			pp__log(r->rt, PP_LOG_WARN, "manifest",
			        "%s:%d:%d: unknown key '%s' ignored%s%s%s", r->file, v->line,
			        v->col, root->u.table.keys[i], near ? " (did you mean '" : "",
			        near ? near : "", near ? "'?)" : "");
		}
	}
}

pp_status pp__manifest_read(pp_runtime *rt, const char *dir, pp_manifest **out)
{
	*out = NULL;
	pp_manifest *m = calloc(1, sizeof *m);
	char *path = pp__path_join(dir, "manifest.toml");
	if (!m || !path) {
		free(m);
		free(path);
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	}
	m->file_path = path;
	size_t len = 0;
	/* a regular file of the bundle directory, as the bundle's code is (a
	 * FIFO would block, a symlink out would read another's) */
	pp_bundle_source at = {.name = dir, .dir = dir};
	pp_status st = PP_OK;
	int fd = pp__open_bundle_file(rt, &at, path, &st);
	char *text = fd >= 0 ? pp__read_fd(fd, PP_MANIFEST_MAX_BYTES, &len) : NULL;
	if (!text) {
		if (fd >= 0 && errno == EFBIG)
			st = pp__error(rt, PP_ERR_LOAD_FAILED,
			               "%s: larger than a manifest may be (%u bytes)", path,
			               PP_MANIFEST_MAX_BYTES);
		else if (fd >= 0)
			st = pp__error(rt, PP_ERR_IO, "cannot read %s: %s", path, strerror(errno));
		pp__manifest_free(m);
		return st;
	}
	char err[512];
	pp_toml_value *root = pp_toml_parse(text, len, path, err, sizeof err);
	free(text);
	if (!root) {
		pp__manifest_free(m);
		return pp__error(rt, PP_ERR_LOAD_FAILED, "%s", err);
	}
	reader r = {rt, path, PP_OK};
	read_root(&r, root, dir, m);
	pp_toml_free(root);
	if (r.st != PP_OK) {
		pp__manifest_free(m);
		return r.st;
	}
	*out = m;
	return PP_OK;
}

/* ---- Checking a load against it ------------------------------------------------ */

pp_status pp__manifest_check(pp_runtime *rt, const pp_manifest *m, const pp_bundle_version *v)
{
	const pp_bundle *b = v->bundle;
	if (!m->provides) /* no provides key: nothing declared, nothing to check */
		return PP_OK;
	for (size_t i = 0; i < m->provides_count; i++) {
		const pp_manifest_contract *c = &m->provides[i];
		const pp_contract_node *n = v->contracts;
		while (n && n->iface.contract_id != c->id)
			n = n->next;
		if (!n)
			return pp__error(
			        rt, PP_ERR_LOAD_FAILED,
			        "bundle '%s': %s declares it provides '%s', but its init did "
			        "not register it",
			        b->name, m->file_path, c->name);
		if (c->function_count != UINT32_MAX && n->function_count != c->function_count)
			return pp__error(rt, PP_ERR_LOAD_FAILED,
			                 "bundle '%s': %s declares %u functions for '%s', but it "
			                 "registered %u",
			                 b->name, m->file_path, c->function_count, c->name,
			                 n->function_count);
	}
	for (const pp_contract_node *n = v->contracts; n; n = n->next) {
		bool declared = false;
		for (size_t i = 0; i < m->provides_count; i++)
			declared |= m->provides[i].id == n->iface.contract_id;
		if (!declared)
			return pp__error(rt, PP_ERR_LOAD_FAILED,
			                 "bundle '%s' registered '%s', which %s does not list in "
			                 "provides",
			                 b->name, n->contract_name, m->file_path);
	}
	return PP_OK;
}
