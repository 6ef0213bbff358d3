/*
 * bundle.c — loading, unloading and reloading bundles.
 *
 * A load or reload builds a new bundle version: it picks the loader, runs
 * the bundle's init with the version's registrations staged on it, and
 * checks them against the manifest. Then, under rt->lock, it publishes the
 * version as one transaction; a reload's old version is retired as one unit
 * and reclaimed (instances, host-contract singletons, code) after a grace
 * period. An unload unpublishes the serving version and retires it with the
 * bundle itself.
 *
 * Locking: rt->lock guards the bundle list, the registry's writer side and
 * the host table's; it is never held while plugin or host code runs (init,
 * shutdown, factories, on_reload, listing callbacks). A bundle that one
 * thread is loading, reloading or unloading is "busy": other host threads
 * wait for it, while a thread running plugin code (which may hold what the
 * busy thread needs) is refused with PP_ERR_REENTRANT_CALL instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "internal.h"
#include "manifest.h"

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The name a bundle gets from its path: a directory's name, or a library's
 * or script's file name without "lib" and the extension. */
static char *name_from_path(const char *path)
{
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	const char *base = path;
	for (size_t i = 0; i < len; i++)
		if (path[i] == '/' && i + 1 < len)
			base = path + i + 1;
	size_t n = len - (size_t)(base - path);
	if (!is_dir(path) && (pp__ends_with(base, n, ".so") || pp__ends_with(base, n, ".js"))) {
		n -= 3;
		if (n > 3 && strncmp(base, "lib", 3) == 0) {
			base += 3;
			n -= 3;
		}
	}
	return pp__strndup(base, n);
}

/* A bundle name is used in messages, file names and lookups: printable,
 * no path separators, no "." or "..". */
static pp_status check_name(pp_runtime *rt, const char *name, const char *path)
{
	size_t n = strlen(name);
	const char *why = NULL;
	if (n == 0)
		why = "it is empty";
	else if (n > 255)
		why = "it is longer than 255 bytes";
	else if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		why = "it is '.' or '..'";
	for (size_t i = 0; !why && i < n; i++)
		if (name[i] == '/' || name[i] == '\\')
			why = "it contains a path separator";
		else if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			why = "it contains a control character";
	if (!why && !pp__utf8_valid((const uint8_t *)name, n))
		why = "it is not valid UTF-8";
	if (!why)
		return PP_OK;
	return pp__error(rt, PP_ERR_INVALID_ARGUMENT,
	                 "bundle name '%.*s' (from '%s') is refused: %s", (int)(n > 64 ? 64 : n),
	                 name, path && *path ? path : "load options", why);
}

static const pp_loader *loader_by_name(pp_runtime *rt, const char *name)
{
	const pp_loader *found = NULL;
	pthread_mutex_lock(&rt->lock);
	for (size_t i = 0; i < rt->loader_count && !found; i++)
		if (strcmp(rt->loaders[i]->name, name) == 0)
			found = rt->loaders[i];
	pthread_mutex_unlock(&rt->lock);
	return found;
}

const pp_loader *pp__loader_for_path(pp_runtime *rt, const char *path)
{
	const pp_loader *l[8];
	pthread_mutex_lock(&rt->lock);
	size_t n = rt->loader_count;
	memcpy(l, rt->loaders, n * sizeof(const pp_loader *));
	pthread_mutex_unlock(&rt->lock);
	for (size_t i = 0; i < n; i++)
		if (l[i]->accepts(path))
			return l[i];
	return NULL;
}

/* Any bundle in the list with this id, loading or loaded. Caller holds the lock. */
static pp_bundle *bundle_any(pp_runtime *rt, uint64_t id)
{
	for (pp_bundle *b = rt->bundles; b; b = b->next)
		if (b->id == id)
			return b;
	return NULL;
}

pp_bundle *pp__bundle_by_id(pp_runtime *rt, uint64_t id)
{
	pp_bundle *b = bundle_any(rt, id);
	return b && b->cur ? b : NULL;
}

pp_bundle_version *pp__version_owning(pp_runtime *rt, const void *addr)
{
	for (pp_bundle *b = rt->bundles; b; b = b->next)
		if (b->cur && b->cur->loader->owns && b->cur->loader->owns(b->cur->code, addr))
			return b->cur;
	return NULL;
}

pp_bundle_version *pp__foreign_owner(pp_runtime *rt, const pp_bundle_version *init,
                                     const void *iface, const void *create, const void *destroy)
{
	const void *const parts[] = {iface, create, destroy};
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		pp_bundle_version *v = pp__version_owning(rt, parts[i]);
		if (v && v != init)
			return v;
	}
	return NULL;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* ---- Bundles and versions ------------------------------------------------- */

static void bundle_free(pp_bundle *b)
{
	free(b->name);
	free(b->path);
	free(b->source);
	free(b->loader_name);
	free(b->host_deps);
	free(b);
}

static pp_bundle *bundle_new(pp_runtime *rt, const char *name, const char *path,
                             const pp_load_options *opts)
{
	pp_bundle *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	b->rt = rt;
	b->name = pp__strdup(name);
	b->path = pp__strdup(path);
	b->id = pp_bundle_id(name);
	bool ok = b->name && b->path;
	if (opts && opts->dependency_count) {
		size_t n = opts->dependency_count;
		b->host_deps = n <= SIZE_MAX / sizeof *b->host_deps && opts->dependencies
		                       ? malloc(n * sizeof *b->host_deps)
		                       : NULL;
		if (b->host_deps) {
			memcpy(b->host_deps, opts->dependencies, n * sizeof *b->host_deps);
			b->host_dep_count = n;
		}
		ok &= b->host_deps != NULL;
	}
	if (opts && opts->loader)
		ok &= (b->loader_name = pp__strdup(opts->loader)) != NULL;
	b->host_reinit = opts && opts->reinit_on_dep_reload;
	b->js = rt->cfg.js;
	if (opts && opts->js.memory_bytes)
		b->js.memory_bytes = opts->js.memory_bytes;
	if (opts && opts->js.stack_bytes)
		b->js.stack_bytes = opts->js.stack_bytes;
	if (opts && opts->js.cpu_ms)
		b->js.cpu_ms = opts->js.cpu_ms;
	if (opts && opts->js.memory_mode)
		b->js.memory_mode = opts->js.memory_mode;
	b->host_concurrency = opts ? opts->js.concurrency : 0;
	if (!ok) {
		bundle_free(b);
		return NULL;
	}
	return b;
}

static void version_free(pp_bundle_version *v)
{
	free(v->load_path);
	free(v->deps);
	free_names(v->bundle_deps, v->bundle_dep_count);
	pp__manifest_free(v->manifest);
	free(v);
}

/* A version of b as manifest m describes it (m may be NULL; the version
 * takes it, even on failure). NULL if out of memory. */
static pp_bundle_version *version_new(pp_bundle *b, pp_manifest *m)
{
	pp_bundle_version *v = calloc(1, sizeof *v);
	if (!v) {
		pp__manifest_free(m);
		return NULL;
	}
	v->bundle = b;
	v->manifest = m;
	v->reinit_on_dep_reload = b->host_reinit || (m && m->reinit_on_dep_reload);
	size_t nd = b->host_dep_count + (m ? m->dep_count : 0);
	size_t nb = m ? m->bundle_dep_count : 0;
	for (size_t i = 0; m && i < m->dep_count; i++)
		nb += m->deps[i].bundle != NULL;
	v->deps = malloc((nd + 1) * sizeof *v->deps); /* + 1: never a 0-byte request */
	v->bundle_deps = calloc(nb + 1, sizeof *v->bundle_deps);
	bool ok = v->deps && v->bundle_deps;
	if (ok && b->host_dep_count)
		memcpy(v->deps, b->host_deps, b->host_dep_count * sizeof *v->deps);
	v->dep_count = ok ? b->host_dep_count : 0;
	for (size_t i = 0; ok && m && i < m->dep_count; i++)
		v->deps[v->dep_count++] = m->deps[i].dep;
	for (size_t i = 0; ok && m && i < m->bundle_dep_count; i++)
		ok = (v->bundle_deps[v->bundle_dep_count++] = pp__strdup(m->bundle_deps[i])) !=
		     NULL;
	for (size_t i = 0; ok && m && i < m->dep_count; i++)
		if (m->deps[i].bundle)
			ok = (v->bundle_deps[v->bundle_dep_count++] =
			              pp__strdup(m->deps[i].bundle)) != NULL;
	if (ok && m && m->file)
		ok = (v->load_path = pp__strdup(m->file)) != NULL;
	if (!ok) {
		version_free(v);
		return NULL;
	}
	return v;
}

/* Undoes a version that was never published: its registrations, its
 * host-contract singletons, its code. No lock held: this runs plugin code. */
static void version_discard(pp_runtime *rt, pp_bundle_version *v)
{
	pp__registry_free_nodes(rt, v);
	pp__host_contracts_free(rt, v);
	if (v->code)
		v->loader->release(rt, v->loader, v->code);
	version_free(v);
}

/* A retired version, after its grace period: the instances still alive are
 * destroyed and the singletons dropped with its code still loaded, then the
 * code is released — one unit, in this order, on the reclaimer thread. */
static void version_reclaim(pp_runtime *rt, pp_retired *r)
{
	pp_bundle_version *v = pp_container_of(r, pp_bundle_version, retired);
	pp_bundle *b = v->frees_bundle ? v->bundle : NULL;
	pp__registry_free_nodes(rt, v);
	pp__host_contracts_free(rt, v);
	v->loader->release(rt, v->loader, v->code);
	version_free(v);
	if (b)
		bundle_free(b);
}

/* Runs the loader for v: its init registers into v. On failure nothing of
 * v's code is left loaded. No lock held. */
static pp_status build_version(pp_runtime *rt, pp_bundle_version *v)
{
	pp_bundle *b = v->bundle;
	pp_tstate *ts = pp__tstate(rt);
	if (!ts)
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	if (ts->init_depth == PP_INIT_DEPTH_MAX)
		return pp__error(rt, PP_ERR_LOAD_FAILED,
		                 "bundle '%s': bundles loading bundles nest deeper than %d",
		                 b->name, PP_INIT_DEPTH_MAX);
	/* The manifest may ask for guarded memory (never less than the host
	 * requires), or for compat unless the host requires guarded. */
	pp_js_limits js = b->js;
	uint32_t asked = v->manifest ? v->manifest->memory_mode : PP_JS_MEMORY_AUTO;
	bool required =
	        js.memory_mode == PP_JS_MEMORY_GUARDED || js.memory_mode == PP_JS_MEMORY_DECLARED;
	if (asked == PP_JS_MEMORY_COMPAT && required)
		return pp__error(rt, PP_ERR_LOAD_FAILED,
		                 "bundle '%s': %s asks for memory = \"compat\", but the host "
		                 "requires guarded memory for JS bundles",
		                 b->name, v->manifest->file_path);
	if (asked == PP_JS_MEMORY_GUARDED ? !required : js.memory_mode == PP_JS_MEMORY_AUTO)
		js.memory_mode = asked ? asked : js.memory_mode;
	/* VMs: the host's choice for this bundle, else its manifest's, else the
	 * runtime's */
	if (b->host_concurrency)
		js.concurrency = b->host_concurrency;
	else if (v->manifest && v->manifest->concurrency)
		js.concurrency = v->manifest->concurrency;
	if (!js.concurrency)
		js.concurrency = 1;
	pp_bundle_source src = {
	        .name = b->name,
	        .bundle_id = b->id,
	        .path = v->load_path ? v->load_path : b->path,
	        .dir = *b->path && is_dir(b->path) ? b->path : NULL,
	        .code = b->source,
	        .code_len = b->source_len,
	        .js = js,
	};
	/* Init runs in a read section, like a call: what it finds and calls
	 * (its dependencies) cannot be reclaimed under it. */
	ts->init_stack[ts->init_depth].version = v;
	ts->init_stack[ts->init_depth++].nest = ts->rd.nest + 1;
	pp__read_lock(rt);
	pp_status st = v->loader->load(rt, v->loader, &src, &v->code);
	pp__read_unlock(ts);
	ts->init_depth--;
	if (st == PP_OK && v->contract_count == 0)
		st = pp__error(rt, PP_ERR_LOAD_FAILED,
		               "bundle '%s' (%s): its init succeeded but registered no contracts",
		               b->name, *b->path ? b->path : "in-memory source");
	/* What it registered must be what its manifest says it provides. */
	if (st == PP_OK && v->manifest)
		st = pp__manifest_check(rt, v->manifest, v);
	return st;
}

/* Publishes nv in place of old (NULL for a first load): its contracts and
 * its host contracts, all or nothing. Caller holds the lock. */
static pp_status publish(pp_runtime *rt, pp_bundle_version *nv, pp_bundle_version *old)
{
	/* between two bumps of the revisions: a caller that saw a version
	 * published (its call reached it) sees the revision moved */
	const pp_bundle_version *const both[] = {nv, old};
	pp__bump_revisions(rt, both, 2);
	pp_host_table *t;
	pp_status st = pp__host_contracts_prepare(rt, nv, old, &t);
	if (st == PP_OK && (st = pp__registry_publish(rt, nv, old)) != PP_OK)
		free(t);
	if (st == PP_OK)
		pp__host_contracts_commit(rt, t);
	pp__bump_revisions(rt, both, 2);
	return st;
}

/* Takes n versions' contracts and host contracts out of sight at once, or,
 * out of memory, none. Caller holds the lock. */
static pp_status unpublish(pp_runtime *rt, pp_bundle_version *const *vs, size_t n)
{
	const pp_bundle_version *const *all = (const pp_bundle_version *const *)vs;
	pp__bump_revisions(rt, all, n); /* as in publish */
	pp_host_table *t;
	pp_status st = pp__host_contracts_prepare_drop(rt, all, n, &t);
	if (st == PP_OK && (st = pp__registry_unpublish(rt, vs, n)) != PP_OK)
		free(t);
	if (st == PP_OK)
		pp__host_contracts_commit(rt, t);
	pp__bump_revisions(rt, all, n);
	return st;
}

static void notify(pp_runtime *rt, const pp_bundle *b, uint32_t phase, const char *reason)
{
	if (rt->cfg.on_reload)
		rt->cfg.on_reload(rt->cfg.reload_userdata, b->id, b->name, phase, reason);
}

/* Whether this thread may wait for busy bundle b to be let go (PP_OK), or
 * the error that refuses the operation instead. */
static pp_status may_wait_for(pp_runtime *rt, const pp_tstate *ts, const pp_bundle *b,
                              const char *what)
{
	if (b->busy == pp__thread_id())
		return pp__error(rt, PP_ERR_REENTRANT_CALL,
		                 "cannot %s bundle '%s': this thread is loading, reloading or "
		                 "unloading it (from its init or a callback)",
		                 what, b->name);
	/* A thread in plugin code, or one that has a bundle busy itself (an
	 * on_reload callback), may hold what the other thread needs: it is
	 * refused rather than made to wait. */
	if (pp__in_plugin(rt) || ts->claims)
		return pp__error(rt, PP_ERR_REENTRANT_CALL,
		                 "cannot %s bundle '%s': another thread is loading, reloading "
		                 "or unloading it, and this thread %s",
		                 what, b->name,
		                 ts->claims ? "has a bundle busy itself (a lifecycle callback)"
		                            : "runs plugin code, which must not wait for that");
	return PP_OK;
}

/* Marks the loaded bundle with this id busy for this thread, waiting while
 * another thread has it (unless this thread runs plugin code). Caller holds
 * the lock. */
static pp_status claim(pp_runtime *rt, uint64_t id, const char *what, pp_bundle **out)
{
	uintptr_t me = pp__thread_id();
	pp_tstate *ts = pp__tstate(rt);
	if (!ts)
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	for (;;) {
		pp_bundle *b = bundle_any(rt, id);
		if (!b || (!b->cur && !b->busy))
			return pp__error(rt, PP_ERR_NOT_FOUND,
			                 "cannot %s: no bundle with id %016llx is loaded", what,
			                 (unsigned long long)id);
		if (!b->busy) {
			b->busy = me;
			ts->claims++;
			*out = b;
			return PP_OK;
		}
		pp_status st = may_wait_for(rt, ts, b, what);
		if (st != PP_OK)
			return st;
		pthread_cond_wait(&rt->idle, &rt->lock);
	}
}

static void unclaim(pp_runtime *rt, pp_bundle *b)
{
	pp_tstate *ts = pp__tstate_peek(rt); /* made by claim */
	if (ts && ts->claims)
		ts->claims--;
	b->busy = 0;
	pthread_cond_broadcast(&rt->idle);
}

/* ---- Dependencies --------------------------------------------------------- */

/*
 * One rule, checked under the lock wherever it could break: what every
 * published version needs (the contracts the host and its manifest declared,
 * the bundles it names) is served by the other bundles' published versions.
 * So a load is refused if its needs are not met, at its start and again at
 * its publish (a dependency may have gone while it initialised); an unload
 * is refused while a bundle relies on it (has a need nothing else serves)
 * unless it cascades, which gathers and commits everything that relies on
 * it as one set, and once it commits, the set meets nobody's needs; a
 * reload is refused
 * if its new version's needs are not met or it would stop serving what a
 * dependent needs. The checks walk every bundle's contracts, under the
 * lock, at each load and reload: linear in what is loaded per dependency,
 * which is cheap next to running a bundle's init.
 */

/* A change about to be made: bundle `bundle` to serve version `next`, and
 * with `gathered` the bundles an unload has gathered serving nobody. */
typedef struct change {
	const pp_bundle *bundle;
	const pp_bundle_version *next;
	bool gathered;
} change;

/* The version b serves once c is made (c may be NULL): NULL if none. */
static const pp_bundle_version *serving(const pp_bundle *b, const change *c)
{
	if (c && b == c->bundle)
		return c->next;
	if (b->unloading || (c && c->gathered && b->gathered))
		return NULL;
	return b->cur;
}

/* The node of a bundle other than `self` that meets dep once c is made (from
 * the bundle named `from` only, unless NULL), or NULL. */
static const pp_contract_node *provider(pp_runtime *rt, const pp_dependency *dep, const char *from,
                                        const pp_bundle *self, const change *c)
{
	for (const pp_bundle *b = rt->bundles; b; b = b->next) {
		const pp_bundle_version *p = b == self ? NULL : serving(b, c);
		if (!p || (from && strcmp(b->name, from) != 0))
			continue;
		for (const pp_contract_node *n = p->contracts; n; n = n->next)
			if (n->iface.contract_id == dep->contract_id &&
			    pp__version_matches(n->iface.contract_version, dep->min_version))
				return n;
	}
	return NULL;
}

/* A contract's name for messages: the manifest's, else one a loaded bundle
 * registered under its id, else the id. */
static void contract_name(pp_runtime *rt, uint64_t id, const char *declared, char *buf, size_t cap)
{
	const pp_dependency any = {id, 0};
	const pp_contract_node *n = declared ? NULL : provider(rt, &any, NULL, NULL, NULL);
	if (declared)
		snprintf(buf, cap, "contract '%s'", declared);
	else if (n && n->contract_name && *n->contract_name)
		snprintf(buf, cap, "contract '%s@%u'", n->contract_name,
		         (unsigned)n->iface.contract_version.major);
	else
		snprintf(buf, cap, "contract %016llx", (unsigned long long)id);
}

typedef enum { NEEDS_MET, NEEDS_CONTRACT, NEEDS_BUNDLE } need;

/* Whether v's needs are met once c is made (c may be NULL); if not, what is
 * missing, described in buf: "contract 'm.A@1' (min version 1.2)" or
 * "bundle 'a'". With `before`, only a need met before c and not after
 * counts: what c would take from v. */
static need unmet_need(pp_runtime *rt, const pp_bundle_version *v, const change *before,
                       const change *c, char *buf, size_t cap)
{
	/* v->deps holds the host's, then the manifest's */
	const size_t host = v->bundle->host_dep_count;
	for (size_t i = 0; i < v->dep_count; i++) {
		const pp_manifest_dep *md = i >= host ? &v->manifest->deps[i - host] : NULL;
		const pp_dependency *d = &v->deps[i];
		const char *from = md ? md->bundle : NULL;
		if (provider(rt, d, from, v->bundle, c) ||
		    (before && !provider(rt, d, from, v->bundle, before)))
			continue;
		char name[192], version[48] = "";
		contract_name(rt, d->contract_id, md ? md->contract : NULL, name, sizeof name);
		if (d->min_version >= 65536)
			snprintf(version, sizeof version, " (min version %u.%u)",
			         d->min_version >> 16, d->min_version & 0xFFFFu);
		else if (d->min_version)
			snprintf(version, sizeof version, " (major %u)", d->min_version);
		snprintf(buf, cap, "%s%s%s%s%s", name, version, from ? " from bundle '" : "",
		         from ? from : "", from ? "'" : "");
		return NEEDS_CONTRACT;
	}
	for (size_t i = 0; i < v->bundle_dep_count; i++) {
		const pp_bundle *d = pp__bundle_by_id(rt, pp_bundle_id(v->bundle_deps[i]));
		bool was = d && d != v->bundle && serving(d, before);
		if ((!d || d == v->bundle || !serving(d, c)) && (!before || was)) {
			snprintf(buf, cap, "bundle '%s'", v->bundle_deps[i]);
			return NEEDS_BUNDLE;
		}
	}
	return NEEDS_MET;
}

/* What v needs must be served already (once c is made; c may be NULL). */
static pp_status check_needs(pp_runtime *rt, const pp_bundle_version *v, const change *c)
{
	char what[320];
	switch (unmet_need(rt, v, NULL, c, what, sizeof what)) {
	case NEEDS_CONTRACT:
		return pp__error(rt, PP_ERR_NOT_FOUND,
		                 "bundle '%s' needs %s, which no loaded bundle provides",
		                 v->bundle->name, what);
	case NEEDS_BUNDLE:
		return pp__error(rt, PP_ERR_NOT_FOUND, "bundle '%s' needs %s, which is not loaded",
		                 v->bundle->name, what);
	default:
		return PP_OK;
	}
}

/* True if version d needs what b's serving version provides, or b by name
 * (whether or not another bundle could serve it too). */
static bool depends_on(const pp_bundle_version *d, const pp_bundle *b)
{
	for (size_t i = 0; i < d->bundle_dep_count; i++)
		if (strcmp(d->bundle_deps[i], b->name) == 0)
			return true;
	for (size_t i = 0; b->cur && i < d->dep_count; i++)
		for (const pp_contract_node *n = b->cur->contracts; n; n = n->next)
			if (n->iface.contract_id == d->deps[i].contract_id)
				return true;
	return false;
}

/* True if a need of bundle d would go unmet without the bundles gathered
 * (rt->lock held; n of them in set): what an unload of them must not leave
 * behind. Another provider of the same contract still serves d. */
static bool relies_on(pp_runtime *rt, const pp_bundle *d, pp_bundle *const *set, size_t n)
{
	if (!d->cur || d->gathered)
		return false;
	bool named = false; /* first the cheap question: does d name any of them */
	for (size_t i = 0; i < n && !named; i++)
		named = depends_on(d->cur, set[i]);
	/* a need met now and not once they are gone: one served only by them */
	const change now = {NULL, NULL, false}, gone = {NULL, NULL, true};
	char what[320];
	return named && unmet_need(rt, d->cur, &now, &gone, what, sizeof what) != NEEDS_MET;
}

/* A reload of b to nv: nv's needs must be met, and its dependents' still be. */
static pp_status check_reload(pp_runtime *rt, const pp_bundle *b, const pp_bundle_version *nv)
{
	const change c = {b, nv, false}, now = {NULL, NULL, false};
	pp_status st = check_needs(rt, nv, &c);
	char what[320];
	/* what a dependent has now and would not have after */
	for (const pp_bundle *d = rt->bundles; st == PP_OK && d; d = d->next)
		if (d != b && d->cur && depends_on(d->cur, b) &&
		    unmet_need(rt, d->cur, &now, &c, what, sizeof what) != NEEDS_MET)
			st = pp__error(
			        rt, PP_ERR_DEPENDENCY_IN_USE,
			        "cannot reload bundle '%s': bundle '%s' needs %s, which its new "
			        "version does not provide",
			        b->name, d->name, what);
	return st;
}

/* ---- Load ----------------------------------------------------------------- */

static pp_status closing(pp_runtime *rt, const pp_bundle *b)
{
	return pp__error(rt, PP_ERR_UNSUPPORTED,
	                 "bundle '%s': the runtime is being freed; no more loads", b->name);
}

/* Takes b off the bundle list (caller holds the lock). */
static void unlink_bundle(pp_runtime *rt, pp_bundle *b)
{
	pp_bundle **link = &rt->bundles;
	while (*link != b)
		link = &(*link)->next;
	*link = b->next;
}

/* Loads b (not yet listed) as version v. Takes both. */
static pp_status load_bundle(pp_runtime *rt, pp_bundle *b, pp_bundle_version *v, uint64_t *out_id)
{
	const uint64_t id = b->id;
	pp_status st = PP_OK;
	pthread_mutex_lock(&rt->lock);
	pp_bundle *other = bundle_any(rt, id);
	if (rt->closing)
		st = closing(rt, b);
	else if (other)
		st = pp__error(rt, PP_ERR_DUPLICATE_PROVIDER, "bundle '%s' is already %s", b->name,
		               other->cur ? "loaded" : "being loaded");
	else
		st = check_needs(rt, v, NULL);
	pp_tstate *ts = st == PP_OK ? pp__tstate(rt) : NULL;
	if (st == PP_OK && !ts)
		st = pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	if (st == PP_OK && ts) { /* reserve the name: a second load of it now fails */
		b->busy = pp__thread_id();
		ts->claims++;
		pp_bundle **tail = &rt->bundles;
		while (*tail)
			tail = &(*tail)->next;
		*tail = b;
	}
	pthread_mutex_unlock(&rt->lock);
	if (st != PP_OK) {
		version_free(v);
		bundle_free(b);
		return st;
	}

	st = build_version(rt, v);
	pthread_mutex_lock(&rt->lock);
	if (st == PP_OK && rt->closing)
		st = closing(rt, b);
	if (st == PP_OK) /* a dependency may have been unloaded while it initialised */
		st = check_needs(rt, v, NULL);
	if (st == PP_OK)
		st = publish(rt, v, NULL);
	if (st == PP_OK) {
		b->cur = v;
		rt->bundle_count++;
		pp__watch_load_published(rt, b);
		atomic_fetch_add_explicit(&rt->bundle_changes, 1, memory_order_relaxed);
	} else {
		unlink_bundle(rt, b);
		unclaim(rt, b);
	}
	pthread_mutex_unlock(&rt->lock);
	if (st != PP_OK) {
		version_discard(rt, v);
		bundle_free(b);
		return st;
	}
	pp__log(rt, PP_LOG_INFO, "runtime", "loaded bundle '%s' (%s loader)", b->name,
	        v->loader->name);
	notify(rt, b, PP_RELOAD_LOADED, NULL);
	pthread_mutex_lock(&rt->lock);
	unclaim(rt, b);
	pthread_mutex_unlock(&rt->lock);
	if (out_id)
		*out_id = id;
	return PP_OK;
}

/* The loader for v: named by the host, else by the manifest, else the first
 * that takes the path. */
static pp_status pick_loader(pp_runtime *rt, pp_bundle_version *v, const pp_loader *fallback)
{
	pp_bundle *b = v->bundle;
	const char *name = b->loader_name ? b->loader_name
	                   : v->manifest  ? v->manifest->loader
	                                  : NULL;
	if (name) {
		v->loader = loader_by_name(rt, name);
		if (!v->loader)
			return pp__error(rt, PP_ERR_UNSUPPORTED,
			                 "bundle '%s': no loader named '%s'", b->name, name);
		return PP_OK;
	}
	if (fallback) {
		v->loader = fallback;
		return PP_OK;
	}
	const char *at = v->load_path ? v->load_path : b->path;
	v->loader = pp__loader_for_path(rt, at);
	if (v->loader)
		return PP_OK;
	struct stat st;
	if (stat(at, &st) != 0)
		return pp__error(rt, PP_ERR_IO, "bundle '%s': cannot open '%s'", b->name, at);
	return pp__error(rt, PP_ERR_UNSUPPORTED,
	                 "bundle '%s': no loader takes '%s' (expected a native .so, a .js file, "
	                 "or a directory holding one of them)",
	                 b->name, at);
}

/* Load options as this runtime reads them: what the host's struct has (its
 * size, or ABI 2's first when 0), members it lacks zero. Checked. */
static pp_status take_options(pp_runtime *rt, const pp_load_options *opts, pp_load_options *out)
{
	memset(out, 0, sizeof *out);
	if (!opts)
		return PP_OK;
	size_t at;
	pp_status st =
	        pp__take_grown(out, sizeof *out, opts, offsetof(pp_load_options, js.concurrency),
	                       PP_LOAD_OPTIONS_V2_SIZE, &at);
	if (st == PP_ERR_UNSUPPORTED)
		return pp__error(rt, st,
		                 "pp_load_options.size is %u, from a newer release, and sets byte "
		                 "%zu, a member this library (%zu bytes) does not know",
		                 opts->size, at, sizeof *out);
	if (st != PP_OK)
		return pp__error(
		        rt, st, "pp_load_options.size is %u; a version of it has %zu to %u bytes",
		        opts->size, offsetof(pp_load_options, js.concurrency), PP_MAX_STRUCT_SIZE);
	if (out->js.memory_mode > PP_JS_MEMORY_DECLARED)
		return pp__error(rt, PP_ERR_INVALID_ARGUMENT,
		                 "pp_load_options.js.memory_mode is %u, not a PP_JS_MEMORY_* value",
		                 out->js.memory_mode);
	if (out->js.concurrency > PP_JS_MAX_CONCURRENCY)
		return pp__error(rt, PP_ERR_INVALID_ARGUMENT,
		                 "pp_load_options.js.concurrency is %u VMs; the limit is %u",
		                 out->js.concurrency, PP_JS_MAX_CONCURRENCY);
	return PP_OK;
}

pp_status pp_bundle_load(pp_runtime *rt, const char *path, const pp_load_options *opts,
                         uint64_t *out_id)
{
	if (!rt || !path || !*path)
		return rt ? pp__error(rt, PP_ERR_INVALID_ARGUMENT, "pp_bundle_load: empty path")
		          : PP_ERR_INVALID_ARGUMENT;
	/* Noted before anything is read: the watcher compares with it. */
	pp_unseen unseen = pp__watch_load_begins(rt, path);
	/* The manifest is read before the runtime's lock is taken again. */
	pp_manifest *m = NULL;
	if (is_dir(path) && pp__manifest_exists(path)) {
		pp_status st = pp__manifest_read(rt, path, &m);
		if (st != PP_OK)
			return st;
	}
	return pp__bundle_load_read(rt, path, opts, unseen, m, out_id);
}

pp_status pp__bundle_load_read(pp_runtime *rt, const char *path, const pp_load_options *opts,
                               pp_unseen unseen, pp_manifest *m, uint64_t *out_id)
{
	pp_load_options o;
	if (take_options(rt, opts, &o) != PP_OK) {
		pp__manifest_free(m);
		return PP_ERR_INVALID_ARGUMENT;
	}
	opts = opts ? &o : NULL;
	char *name = opts && opts->name ? pp__strdup(opts->name)
	             : m                ? pp__strdup(m->name)
	                                : name_from_path(path);
	pp_status st = name ? check_name(rt, name, path)
	                    : pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	pp_bundle *b = st == PP_OK ? bundle_new(rt, name, path, opts) : NULL;
	pp_bundle_version *v = NULL;
	if (b) {
		b->unseen = unseen;
		v = version_new(b, m); /* takes m */
	} else {
		pp__manifest_free(m);
	}
	free(name);
	if (st == PP_OK && !v)
		st = pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	if (st == PP_OK && v && v->load_path) {
		/* opened as its loader will open it: inside the directory, and
		 * saying nothing of what lies outside */
		pp_bundle_source at = {.name = b->name, .dir = b->path};
		int fd = pp__open_bundle_file(rt, &at, v->load_path, &st);
		if (fd >= 0)
			close(fd);
	}
	if (st == PP_OK && v)
		st = pick_loader(rt, v, NULL);
	if (st != PP_OK || !b || !v) {
		if (v)
			version_free(v);
		if (b)
			bundle_free(b);
		return st;
	}
	return load_bundle(rt, b, v, out_id);
}

pp_status pp_bundle_load_source(pp_runtime *rt, const void *source, size_t len,
                                const pp_load_options *opts, uint64_t *out_id)
{
	pp_load_options o;
	if (!opts)
		return pp__error(rt, PP_ERR_INVALID_ARGUMENT,
		                 "pp_bundle_load_source: options with a bundle name are required");
	pp_status st = take_options(rt, opts, &o);
	if (st != PP_OK)
		return st;
	opts = &o;
	if (!opts->name || !*opts->name)
		return pp__error(rt, PP_ERR_INVALID_ARGUMENT,
		                 "pp_bundle_load_source: a bundle name is required");
	if (!source && len)
		return pp__error(rt, PP_ERR_INVALID_POINTER, "bundle '%s': NULL source",
		                 opts->name);
	st = check_name(rt, opts->name, "");
	if (st != PP_OK)
		return st;
	pp_bundle *b = bundle_new(rt, opts->name, "", opts);
	pp_bundle_version *v = b ? version_new(b, NULL) : NULL;
	if (b && (b->source = malloc(len ? len : 1)) != NULL && len)
		memcpy(b->source, source, len);
	if (!v || !b->source) {
		if (v)
			version_free(v);
		if (b)
			bundle_free(b);
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	}
	b->source_len = len;
	if (!b->loader_name)
		v->loader = loader_by_name(rt, "js-quickjs");
	st = v->loader ? PP_OK : pick_loader(rt, v, NULL);
	if (st != PP_OK) {
		version_free(v);
		bundle_free(b);
		return st;
	}
	return load_bundle(rt, b, v, out_id);
}

/* ---- Unload --------------------------------------------------------------- */

/* The set one unload takes: b, and with a cascade everything that relies
 * on what the set takes, to any depth and around any cycle. Gathered under
 * the lock, each member marked `gathered` meanwhile. */
typedef struct unload_set {
	pp_bundle **m;
	pp_bundle_version **v; /* the members' versions, for the unpublish */
	size_t n, cap;
} unload_set;

static void ungather(unload_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		s->m[i]->gathered = false;
	s->n = 0;
}

/* Gathers b and (cascade) what relies on the set, or (not) b and in
 * *first the first bundle that relies on b; false if out of memory. */
static bool gather(pp_runtime *rt, pp_bundle *b, bool cascade, unload_set *s,
                   const pp_bundle **first)
{
	size_t listed = 1; /* b at least */
	for (const pp_bundle *d = rt->bundles; d; d = d->next)
		listed++;
	if (!s->m || !s->v || s->cap < listed) {
		pp_bundle **m = realloc(s->m, listed * sizeof(pp_bundle *));
		if (m)
			s->m = m;
		pp_bundle_version **v =
		        m ? realloc(s->v, listed * sizeof(pp_bundle_version *)) : NULL;
		if (!v)
			return false;
		s->v = v;
		s->cap = listed;
	}
	s->m[s->n++] = b;
	b->gathered = true;
	*first = NULL;
	for (bool grew = true; grew;) {
		grew = false;
		for (pp_bundle *d = rt->bundles; d; d = d->next)
			if (relies_on(rt, d, s->m, s->n)) {
				if (!cascade) {
					*first = d;
					return true;
				}
				s->m[s->n++] = d;
				d->gathered = true;
				grew = true;
			}
	}
	return true;
}

/* "'x', 'y' and 3 more": the bundles that rely on set (gathered). */
static void dependents_named(pp_runtime *rt, unload_set *s, char *names, size_t cap)
{
	size_t used = 0, found = 0, unnamed = 0;
	names[0] = '\0';
	for (const pp_bundle *d = rt->bundles; d; d = d->next) {
		if (!relies_on(rt, d, s->m, s->n))
			continue;
		found++;
		int k = snprintf(names + used, cap - used, "%s'%s'", used ? ", " : "", d->name);
		if (!unnamed && k > 0 && (size_t)k < cap - used - 32)
			used += (size_t)k;
		else
			unnamed++;
	}
	names[used] = '\0';
	if (unnamed)
		snprintf(names + used, cap - used, " and %zu more", unnamed);
	snprintf(names + strlen(names), cap - strlen(names), " depend%s on it",
	         found > 1 ? "" : "s");
}

/* The order of a set's UNLOADING reports, dependents first: the members'
 * strongly connected groups by what each relies on (a need met now and not
 * without the other), in reverse topological order (Tarjan). Only the
 * reports' order: the set is unpublished at once. */
typedef struct ordering {
	pp_runtime *rt;
	unload_set *s;
	size_t *index, *low, *stack, sp, next, out;
	bool *on;
	pp_bundle **placed; /* dependencies first; reversed at the end */
} ordering;

#define UNVISITED SIZE_MAX

static bool leans_on(pp_runtime *rt, const pp_bundle *x, const pp_bundle *y)
{
	const change now = {NULL, NULL, false}, without = {y, NULL, false};
	char what[320];
	return unmet_need(rt, x->cur, &now, &without, what, sizeof what) != NEEDS_MET;
}

static void connect(ordering *o, size_t v)
{
	o->index[v] = o->low[v] = o->next++;
	o->stack[o->sp++] = v;
	o->on[v] = true;
	for (size_t w = 0; w < o->s->n; w++) {
		if (w == v || !leans_on(o->rt, o->s->m[v], o->s->m[w]))
			continue;
		if (o->index[w] == UNVISITED) {
			connect(o, w);
			o->low[v] = o->low[w] < o->low[v] ? o->low[w] : o->low[v];
		} else if (o->on[w] && o->index[w] < o->low[v]) {
			o->low[v] = o->index[w];
		}
	}
	if (o->low[v] != o->index[v])
		return;
	size_t w;
	do {
		w = o->stack[--o->sp];
		o->on[w] = false;
		o->placed[o->out++] = o->s->m[w];
	} while (w != v);
}

static void dependents_first(pp_runtime *rt, unload_set *s)
{
	size_t n = s->n;
	if (n < 2)
		return;
	ordering o = {rt,
	              s,
	              calloc(n, sizeof(size_t)),
	              calloc(n, sizeof(size_t)),
	              calloc(n, sizeof(size_t)),
	              0,
	              0,
	              0,
	              calloc(n, sizeof(bool)),
	              calloc(n, sizeof(pp_bundle *))};
	if (o.index && o.low && o.stack && o.on && o.placed) { /* else: the gathered order */
		for (size_t i = 0; i < n; i++)
			o.index[i] = UNVISITED;
		for (size_t i = 0; i < n; i++)
			if (o.index[i] == UNVISITED)
				connect(&o, i);
		for (size_t i = 0; i < n; i++)
			s->m[i] = o.placed[n - 1 - i];
	}
	free(o.index);
	free(o.low);
	free(o.stack);
	free(o.on);
	free(o.placed);
}

/* Claims every member of the set for this thread, or none. When another
 * thread has one busy and this thread may wait (as claim), it waits, lets
 * the set go and sets *again: the caller gathers anew. */
static pp_status claim_all(pp_runtime *rt, unload_set *s, bool *again)
{
	uintptr_t me = pp__thread_id();
	pp_tstate *ts = pp__tstate(rt);
	*again = false;
	if (!ts)
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	for (size_t i = 0; i < s->n; i++) {
		const pp_bundle *m = s->m[i];
		if (!m->busy)
			continue;
		pp_status st = may_wait_for(rt, ts, m, "unload");
		if (st != PP_OK)
			return st;
		ungather(s);
		pthread_cond_wait(&rt->idle, &rt->lock);
		*again = true;
		return PP_OK;
	}
	for (size_t i = 0; i < s->n; i++) {
		s->m[i]->busy = me;
		ts->claims++;
	}
	return PP_OK;
}

/* Unloads bundle id; with PP_UNLOAD_CASCADE first everything that relies
 * on it, to any depth and around any cycle, all committed together. */
pp_status pp_bundle_unload(pp_runtime *rt, uint64_t id, uint32_t flags)
{
	unload_set s = {NULL, NULL, 0, 0};
	pp_status st = PP_OK;
	bool again = true;
	pthread_mutex_lock(&rt->lock);
	while (again) {
		again = false;
		pp_bundle *b = bundle_any(rt, id), *loading = NULL;
		const pp_bundle *first = NULL;
		if (b && !b->cur && b->busy) { /* being loaded: wait for it, look again */
			st = claim(rt, id, "unload", &loading);
			if (st == PP_OK && loading)
				unclaim(rt, loading);
			again = st == PP_OK;
		} else if (!b || !b->cur) {
			st = pp__error(rt, PP_ERR_NOT_FOUND,
			               "cannot unload: no bundle with id %016llx is loaded",
			               (unsigned long long)id);
		} else if (!gather(rt, b, flags & PP_UNLOAD_CASCADE, &s, &first)) {
			st = pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
		} else if (first) {
			char names[512];
			dependents_named(rt, &s, names, sizeof names);
			st = pp__error(rt, PP_ERR_DEPENDENCY_IN_USE,
			               "cannot unload bundle '%s': %s", b->name, names);
		} else {
			st = claim_all(rt, &s, &again);
		}
	}
	if (st != PP_OK) {
		ungather(&s);
		pthread_mutex_unlock(&rt->lock);
		free(s.m);
		free(s.v);
		return st;
	}
	/* Committed: from now on the set meets nobody's needs, so a dependent
	 * loading while the host hears of the unload fails instead of
	 * outliving it. */
	for (size_t i = 0; i < s.n; i++) /* the marks go; the members stay */
		s.m[i]->gathered = false;
	dependents_first(rt, &s);
	const size_t taken = s.n;
	for (size_t i = 0; i < taken; i++) {
		s.m[i]->unloading = true;
		s.v[i] = s.m[i]->cur;
	}
	pthread_mutex_unlock(&rt->lock);

	for (size_t i = 0; i < taken; i++)
		notify(rt, s.m[i], PP_RELOAD_UNLOADING, NULL);
	pthread_mutex_lock(&rt->lock);
	/* all at once, or (out of memory) none: the set stays as it was */
	st = unpublish(rt, s.v, taken);
	for (size_t i = 0; i < taken; i++) {
		pp_bundle *b = s.m[i];
		if (st != PP_OK) {
			b->unloading = false;
			continue;
		}
		unlink_bundle(rt, b);
		rt->bundle_count--;
		atomic_fetch_add_explicit(&rt->bundle_changes, 1, memory_order_relaxed);
	}
	if (st != PP_OK && taken) {
		/* Told UNLOADING, the host hears that they stay: while the set is
		 * still ours (claimed), without the lock. The reason is copied, and
		 * is the call's last error again after the callbacks. */
		char *why = pp__strdup(pp_last_error(rt));
		pthread_mutex_unlock(&rt->lock);
		for (size_t i = 0; i < taken; i++)
			notify(rt, s.m[i], PP_RELOAD_FAILED, why ? why : "out of memory");
		st = pp__error(rt, st, "%s", why ? why : "out of memory");
		free(why);
		pthread_mutex_lock(&rt->lock);
	}
	/* Waiters look the gone ones up again by id and do not find them. */
	for (size_t i = 0; i < taken; i++)
		unclaim(rt, s.m[i]);
	pthread_mutex_unlock(&rt->lock);
	for (size_t i = 0; st == PP_OK && i < taken; i++) {
		pp_bundle *b = s.m[i];
		pp_bundle_version *v = b->cur;
		pp__log(rt, PP_LOG_INFO, "runtime", "unloaded bundle '%s'", b->name);
		/* Last: the reclaimer may free v and b (and run the plugin's
		 * shutdown) at once. */
		v->frees_bundle = true;
		pp__retire(rt, &v->retired, version_reclaim);
	}
	free(s.m);
	free(s.v);
	return st;
}

/* True if a loaded bundle relies on b (rt->lock held). */
static bool needed(pp_runtime *rt, pp_bundle *b)
{
	pp_bundle *one[1] = {b};
	b->gathered = true;
	bool found = false;
	for (const pp_bundle *d = rt->bundles; d && !found; d = d->next)
		found = relies_on(rt, d, one, 1);
	b->gathered = false;
	return found;
}

void pp__bundles_unload_all(pp_runtime *rt)
{
	/* A bundle nothing relies on first, the last loaded if it is one (so
	 * sets stay small); bundles that need each other go together. */
	uintptr_t me = pp__thread_id();
	for (;;) {
		pthread_mutex_lock(&rt->lock);
		pp_bundle *pick = NULL;
		bool loading = false;
		for (pp_bundle *b = rt->bundles; b; b = b->next) {
			if (b->cur)
				pick = b;
			loading |= !b->cur && b->busy && b->busy != me;
		}
		if (pick && needed(rt, pick))
			for (pp_bundle *b = rt->bundles; b; b = b->next)
				if (b->cur && !needed(rt, b)) {
					pick = b;
					break;
				}
		if (!pick && loading) {
			/* a load under way on another thread (a plugin's) fails at its
			 * publish now that the runtime is closing: wait for it to go */
			pthread_cond_wait(&rt->idle, &rt->lock);
			pthread_mutex_unlock(&rt->lock);
			continue;
		}
		uint64_t id = pick ? pick->id : 0;
		pthread_mutex_unlock(&rt->lock);
		if (!id)
			return;
		pp_status st = pp_bundle_unload(rt, id, PP_UNLOAD_CASCADE);
		if (st != PP_OK && st != PP_ERR_NOT_FOUND) { /* not found: gone meanwhile */
			/* Out of memory, or a plugin thread still busy with it: leaking
			 * is the only safe choice left. */
			pp__log(rt, PP_LOG_ERROR, "runtime",
			        "cannot unload at teardown, leaking: %s", pp_last_error(rt));
			return;
		}
	}
}

/* ---- Reload --------------------------------------------------------------- */

/* The bundles one pp_bundle_reload reloads: the one asked for, then, in
 * the order found, the dependents that asked to be reinitialised when a
 * dependency reloads (and theirs). Each reloads once, however the bundles
 * are tied together; a list, not recursion, so a long chain costs no stack. */
typedef struct worklist {
	uint64_t *ids;
	size_t n, cap;
} worklist;

/* Adds id unless it is listed already; false if out of memory. */
static bool worklist_add(worklist *w, uint64_t id)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->ids[i] == id)
			return true;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 8;
		uint64_t *ids =
		        cap <= SIZE_MAX / sizeof *ids ? realloc(w->ids, cap * sizeof *ids) : NULL;
		if (!ids)
			return false;
		w->ids = ids;
		w->cap = cap;
	}
	w->ids[w->n++] = id;
	return true;
}

/* Reloads bundle id; on success lists its dependents that asked to be
 * reinitialised in todo. */
static pp_status reload_one(pp_runtime *rt, uint64_t id, worklist *todo)
{
	pp_bundle *b = NULL;
	pthread_mutex_lock(&rt->lock);
	pp_status st = claim(rt, id, "reload", &b);
	if (st == PP_OK && b) {
		if (rt->closing) /* teardown would wait for a new version only to unload it */
			st = pp__error(rt, PP_ERR_UNSUPPORTED,
			               "cannot reload bundle '%s': the runtime is being freed",
			               b->name);
		else if (!rt->cfg.hot_reload_enabled)
			st = pp__error(rt, PP_ERR_UNSUPPORTED,
			               "cannot reload bundle '%s': hot reload is disabled in the "
			               "runtime config",
			               b->name);
		else if (!b->cur->loader->supports_hot_reload)
			st = pp__error(
			        rt, PP_ERR_UNSUPPORTED,
			        "cannot reload bundle '%s': the %s loader does not support it",
			        b->name, b->cur->loader->name);
		if (st != PP_OK)
			unclaim(rt, b);
	}
	pp_bundle_version *old = st == PP_OK && b ? b->cur : NULL;
	bool unseen = b && b->unseen.check != PP_UNSEEN_NONE;
	pthread_mutex_unlock(&rt->lock);
	if (st != PP_OK || !b || !old)
		return st;

	notify(rt, b, PP_RELOAD_PREPARING, NULL);
	/* Not yet looked at by the watcher: what this reload reads replaces
	 * what the load read, so the note is taken again. */
	pp_unseen note = unseen ? pp__watch_load_begins(rt, b->path) : (pp_unseen){0};
	/* A bundle directory's manifest is read again (no lock held): the new
	 * version may provide other contracts or live in another file. */
	pp_manifest *m = NULL;
	if (*b->path && is_dir(b->path) && pp__manifest_exists(b->path))
		st = pp__manifest_read(rt, b->path, &m);
	pp_bundle_version *v = st == PP_OK ? version_new(b, m) : NULL;
	if (st == PP_OK && !v)
		st = pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	if (st == PP_OK && v && !m && old->load_path &&
	    !(v->load_path = pp__strdup(old->load_path)))
		st = pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	if (st == PP_OK && v)
		st = pick_loader(rt, v, m && m->loader ? NULL : old->loader);
	if (st == PP_OK && v)
		st = build_version(rt, v);
	pthread_mutex_lock(&rt->lock);
	if (st == PP_OK && v)
		st = check_reload(rt, b, v);
	if (st == PP_OK && v)
		st = publish(rt, v, old);
	if (st == PP_OK && v) {
		b->cur = v;
		b->reload_count++;
		if (unseen && b->unseen.check != PP_UNSEEN_NONE) { /* still not looked at */
			b->unseen = note;
			pp__watch_load_published(rt, b);
		}
		pp__retire(rt, &old->retired, version_reclaim);
	}
	pthread_mutex_unlock(&rt->lock);

	if (st != PP_OK) {
		/* The reason is copied: a failing call made by the callback must
		 * not change it under the callback. */
		char *why = pp__strdup(pp_last_error(rt));
		if (v)
			version_discard(rt, v);
		pp__log(rt, PP_LOG_ERROR, "runtime", "reload of '%s' failed, old version kept: %s",
		        b->name, why ? why : "out of memory");
		notify(rt, b, PP_RELOAD_FAILED, why ? why : "out of memory");
		if (why)
			pp__error(rt, st, "%s", why);
		free(why);
	} else {
		pp__log(rt, PP_LOG_INFO, "runtime", "reloaded bundle '%s'", b->name);
		notify(rt, b, PP_RELOAD_RELOADED, NULL);
	}

	/* Dependents that asked for it are reinitialised against the new code. */
	bool listed = true;
	pthread_mutex_lock(&rt->lock);
	unclaim(rt, b);
	for (pp_bundle *d = rt->bundles; st == PP_OK && d && listed; d = d->next)
		if (d != b && d->cur && d->cur->reinit_on_dep_reload && depends_on(d->cur, b))
			listed = worklist_add(todo, d->id);
	pthread_mutex_unlock(&rt->lock);
	if (!listed) /* by id: b is no longer ours to read */
		pp__log(rt, PP_LOG_ERROR, "runtime",
		        "out of memory: some dependents of bundle %016llx that ask to be "
		        "reinitialised when it reloads were not",
		        (unsigned long long)id);
	return st;
}

pp_status pp_bundle_reload(pp_runtime *rt, uint64_t bundle_id)
{
	worklist todo = {NULL, 0, 0};
	if (!worklist_add(&todo, bundle_id))
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	/* the caller hears of the bundle it asked for; the dependents' own
	 * failures are reported through on_reload and the log */
	pp_status st = reload_one(rt, bundle_id, &todo);
	for (size_t i = 1; i < todo.n; i++) /* todo grows as they reload */
		(void)reload_one(rt, todo.ids[i], &todo);
	free(todo.ids);
	return st;
}

/* ---- Listing -------------------------------------------------------------- */

/* Listing callbacks are host code: they run on a snapshot, without the lock,
 * so they may call anything (even load or unload). */
typedef struct snapshot {
	pp_bundle_info *infos;
	pp_contract_info *contracts;
	char **strings;
	size_t count, string_count;
} snapshot;

static void snapshot_free(snapshot *s)
{
	free_names(s->strings, s->string_count);
	free(s->infos);
	free(s->contracts);
}

static const char *keep(snapshot *s, const char *str, size_t cap)
{
	if (!str || s->string_count == cap)
		return str ? "" : NULL;
	char *copy = pp__strdup(str);
	if (copy)
		s->strings[s->string_count++] = copy;
	return copy ? copy : "";
}

size_t pp_bundle_foreach(pp_runtime *rt, void (*fn)(void *ud, const pp_bundle_info *info), void *ud)
{
	snapshot s = {0};
	pthread_mutex_lock(&rt->lock);
	size_t n = rt->bundle_count, cap = 4 * n;
	if (fn && n) {
		s.infos = calloc(n, sizeof *s.infos);
		s.strings = calloc(cap + 1, sizeof *s.strings);
	}
	for (pp_bundle *b = rt->bundles; fn && s.infos && s.strings && b; b = b->next) {
		if (!b->cur)
			continue;
		pp_bundle_info *info = &s.infos[s.count++];
		info->id = b->id;
		info->name = keep(&s, b->name, cap);
		info->path = keep(&s, b->path, cap);
		info->loader = keep(&s, b->cur->loader->name, cap);
		info->contract_count = b->cur->contract_count;
		info->reload_count = b->reload_count;
		info->version = keep(&s, b->cur->manifest ? b->cur->manifest->version : NULL, cap);
	}
	pthread_mutex_unlock(&rt->lock);
	for (size_t i = 0; i < s.count; i++)
		fn(ud, &s.infos[i]);
	snapshot_free(&s);
	return n;
}

size_t pp_bundle_contracts(pp_runtime *rt, uint64_t bundle_id,
                           void (*fn)(void *ud, const pp_contract_info *c), void *ud)
{
	snapshot s = {0};
	pthread_mutex_lock(&rt->lock);
	pp_bundle *b = pp__bundle_by_id(rt, bundle_id);
	size_t n = b ? b->cur->contract_count : 0;
	if (fn && n) {
		s.contracts = calloc(n, sizeof *s.contracts);
		s.strings = calloc(n + 1, sizeof *s.strings);
	}
	for (const pp_contract_node *c = b ? b->cur->contracts : NULL;
	     fn && s.contracts && s.strings && c; c = c->next) {
		pp_contract_info *info = &s.contracts[s.count++];
		info->name = keep(&s, c->contract_name, n);
		info->contract_id = c->iface.contract_id;
		info->version = c->iface.contract_version;
		info->function_count = c->function_count;
		info->dispatch_type = c->iface.dispatch_type;
	}
	pthread_mutex_unlock(&rt->lock);
	for (size_t i = 0; i < s.count; i++)
		fn(ud, &s.contracts[i]);
	snapshot_free(&s);
	return n;
}
