/*
 * bundle.c — loading, unloading and reloading bundles: picks the loader, runs
 * the bundle's init with its registrations attributed to it, publishes them as
 * one transaction, and hands replaced code to deferred reclamation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "manifest.h"

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
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
	struct stat st;
	bool is_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
	if (!is_dir && (ends_with(base, n, ".so") || ends_with(base, n, ".js"))) {
		n -= 3;
		if (n > 3 && strncmp(base, "lib", 3) == 0) {
			base += 3;
			n -= 3;
		}
	}
	return pp__strndup(base, n);
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static const pp_loader *loader_by_name(pp_runtime *rt, const char *name)
{
	for (size_t i = 0; i < rt->loader_count; i++)
		if (strcmp(rt->loaders[i]->name, name) == 0)
			return rt->loaders[i];
	return NULL;
}

pp_bundle *pp__bundle_by_id(pp_runtime *rt, uint64_t id)
{
	for (pp_bundle *b = rt->bundles; b; b = b->next)
		if (b->id == id)
			return b;
	return NULL;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void bundle_free(pp_bundle *b)
{
	free(b->name);
	free(b->path);
	free(b->load_path);
	free(b->source);
	free(b->deps);
	free_names(b->bundle_deps, b->bundle_dep_count);
	pp__manifest_free(b->manifest);
	free(b);
}

/* What a bundle depends on, the host's declarations plus its manifest's. */
typedef struct dep_set {
	pp_dependency *deps;
	size_t dep_count;
	char **bundle_deps;
	size_t bundle_dep_count;
	bool reinit;
} dep_set;

static void dep_set_free(dep_set *d)
{
	free(d->deps);
	free_names(d->bundle_deps, d->bundle_dep_count);
}

/* b's host dependencies combined with m's (m may be NULL), in fresh arrays. */
static bool dep_set_build(const pp_bundle *b, const pp_manifest *m, dep_set *out)
{
	memset(out, 0, sizeof *out);
	out->reinit = b->host_reinit || (m && m->reinit_on_dep_reload);
	size_t nd = b->host_dep_count + (m ? m->dep_count : 0);
	size_t nb = m ? m->bundle_dep_count : 0;
	for (size_t i = 0; m && i < m->dep_count; i++)
		nb += m->deps[i].bundle != NULL;
	out->deps = malloc((nd + 1) * sizeof *out->deps); /* + 1: never a 0-byte request */
	out->bundle_deps = calloc(nb + 1, sizeof *out->bundle_deps);
	if (!out->deps || !out->bundle_deps) {
		dep_set_free(out);
		return false;
	}
	for (size_t i = 0; i < b->host_dep_count; i++)
		out->deps[out->dep_count++] = b->deps[i];
	for (size_t i = 0; m && i < m->dep_count; i++)
		out->deps[out->dep_count++] = m->deps[i].dep;
	bool ok = true;
	for (size_t i = 0; m && i < m->bundle_dep_count; i++)
		ok &= (out->bundle_deps[out->bundle_dep_count++] = pp__strdup(m->bundle_deps[i])) !=
		      NULL;
	for (size_t i = 0; m && i < m->dep_count; i++)
		if (m->deps[i].bundle)
			ok &= (out->bundle_deps[out->bundle_dep_count++] =
			               pp__strdup(m->deps[i].bundle)) != NULL;
	if (!ok)
		dep_set_free(out);
	return ok;
}

/* Puts d in b, handing b's previous set back in d. */
static void dep_set_swap(pp_bundle *b, dep_set *d)
{
	dep_set old = {b->deps, b->dep_count, b->bundle_deps, b->bundle_dep_count,
	               b->reinit_on_dep_reload};
	b->deps = d->deps;
	b->dep_count = d->dep_count;
	b->bundle_deps = d->bundle_deps;
	b->bundle_dep_count = d->bundle_dep_count;
	b->reinit_on_dep_reload = d->reinit;
	*d = old;
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
	if (opts && opts->dependency_count) {
		b->deps = malloc(opts->dependency_count * sizeof *b->deps);
		if (b->deps) {
			memcpy(b->deps, opts->dependencies,
			       opts->dependency_count * sizeof *b->deps);
			b->dep_count = b->host_dep_count = opts->dependency_count;
		}
	}
	b->reinit_on_dep_reload = b->host_reinit = opts && opts->reinit_on_dep_reload;
	b->js = rt->cfg.js;
	if (opts && opts->js.memory_bytes)
		b->js.memory_bytes = opts->js.memory_bytes;
	if (opts && opts->js.stack_bytes)
		b->js.stack_bytes = opts->js.stack_bytes;
	if (opts && opts->js.cpu_ms)
		b->js.cpu_ms = opts->js.cpu_ms;
	if (!b->name || !b->path || (opts && opts->dependency_count && !b->deps)) {
		bundle_free(b);
		return NULL;
	}
	return b;
}

/* Runs loader->load for b with registrations staged on b. On success *code
 * holds the loaded code and b->staged what it registered. */
static pp_status run_load(pp_runtime *rt, pp_bundle *b, void **code)
{
	pp_tstate *ts = pp__tstate(rt);
	if (!ts)
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	if (ts->init_depth == PP_INIT_DEPTH_MAX)
		return pp__error(rt, PP_ERR_LOAD_FAILED,
		                 "bundle '%s': bundles loading bundles nest deeper than %d",
		                 b->name, PP_INIT_DEPTH_MAX);
	pp_bundle_source src = {b->name,   b->id,         b->load_path ? b->load_path : b->path,
	                        b->source, b->source_len, b->js};
	ts->init_stack[ts->init_depth++] = b;
	*code = NULL;
	pp_status st = b->loader->load(rt, b->loader, &src, code);
	ts->init_depth--;
	if (st != PP_OK) {
		pp__registry_discard_staged(rt, b);
		return st;
	}
	if (b->staged_count == 0) {
		b->loader->release(rt, b->loader, *code);
		*code = NULL;
		return pp__error(rt, PP_ERR_LOAD_FAILED,
		                 "bundle '%s' (%s): its init succeeded but registered no contracts",
		                 b->name, *b->path ? b->path : "in-memory source");
	}
	/* What it registered must be what its manifest says it provides. */
	st = b->manifest ? pp__manifest_check(rt, b->manifest, b) : PP_OK;
	if (st != PP_OK) {
		pp__registry_discard_staged(rt, b);
		b->loader->release(rt, b->loader, *code);
		*code = NULL;
	}
	return st;
}

/* run_load, then publish what it staged. On failure nothing of the new code
 * is left: staged registrations are dropped and the code is released. */
static pp_status load_and_publish(pp_runtime *rt, pp_bundle *b, void **code)
{
	pp_status st = run_load(rt, b, code);
	if (st != PP_OK)
		return st;
	st = pp__registry_publish(rt, b);
	if (st != PP_OK) {
		pp__registry_discard_staged(rt, b);
		b->loader->release(rt, b->loader, *code);
		*code = NULL;
	}
	return st;
}

/* Deferred: the code of an unloaded or replaced bundle version. */
typedef struct retired_code {
	struct rcu_head rcu;
	pp_runtime *rt;
	const pp_loader *loader;
	void *code;
	pp_bundle *bundle; /* freed too when the bundle itself was unloaded */
} retired_code;

static void code_reclaim(struct rcu_head *head)
{
	retired_code *r = caa_container_of(head, retired_code, rcu);
	PP_TSAN_ACQUIRE(head);
	pp_runtime *rt = r->rt;
	pp__reclaim_begin(rt);
	r->loader->release(rt, r->loader, r->code);
	if (r->bundle)
		bundle_free(r->bundle);
	free(r);
	pp__reclaim_end(rt);
}

static void retire_code(pp_runtime *rt, const pp_loader *loader, void *code, pp_bundle *b)
{
	retired_code *r = malloc(sizeof *r);
	if (!r) {
		/* Cannot defer: leaking is the only safe choice left. */
		pp__log(rt, PP_LOG_ERROR, "runtime",
		        "out of memory retiring bundle code; leaking it");
		return;
	}
	r->rt = rt;
	r->loader = loader;
	r->code = code;
	r->bundle = b;
	pp__defer(rt, &r->rcu, code_reclaim);
}

static void notify(pp_runtime *rt, const pp_bundle *b, uint32_t phase, const char *reason)
{
	if (rt->cfg.on_reload)
		rt->cfg.on_reload(rt->cfg.reload_userdata, b->id, b->name, phase, reason);
}

static pp_status load_bundle(pp_runtime *rt, pp_bundle *b, const char *loader_name,
                             uint64_t *out_id)
{
	if (loader_name) {
		b->loader = loader_by_name(rt, loader_name);
		if (!b->loader) {
			pp_status st = pp__error(rt, PP_ERR_UNSUPPORTED,
			                         "bundle '%s': no loader named '%s'", b->name,
			                         loader_name);
			bundle_free(b);
			return st;
		}
	} else {
		const char *at = b->load_path ? b->load_path : b->path;
		for (size_t i = 0; i < rt->loader_count && !b->loader; i++)
			if (rt->loaders[i]->accepts(at))
				b->loader = rt->loaders[i];
		if (!b->loader) {
			struct stat st;
			pp_status code =
			        stat(b->path, &st) != 0
			                ? pp__error(rt, PP_ERR_IO, "bundle '%s': cannot open '%s'",
			                            b->name, b->path)
			                : pp__error(
			                          rt, PP_ERR_UNSUPPORTED,
			                          "bundle '%s': no loader takes '%s' (expected a "
			                          "native .so, a .js file, or a directory holding "
			                          "one of them)",
			                          b->name, b->path);
			bundle_free(b);
			return code;
		}
	}

	pthread_mutex_lock(&rt->lock);
	pp_status need = PP_OK;
	if (pp__bundle_by_id(rt, b->id))
		need = pp__error(rt, PP_ERR_DUPLICATE_PROVIDER, "bundle '%s' is already loaded",
		                 b->name);
	/* What the manifest says the bundle needs must be there already. */
	const pp_manifest *m = b->manifest;
	for (size_t i = 0; need == PP_OK && m && i < m->dep_count; i++)
		if (pp_handle_is_null(
		            pp_find(rt, m->deps[i].dep.contract_id, m->deps[i].dep.min_version)))
			need = pp__error(
			        rt, PP_ERR_NOT_FOUND,
			        "bundle '%s' needs contract '%s' (min version %u.%u), which no "
			        "loaded bundle provides",
			        b->name, m->deps[i].contract, m->deps[i].dep.min_version >> 16,
			        m->deps[i].dep.min_version & 0xFFFFu);
	for (size_t i = 0; need == PP_OK && i < b->bundle_dep_count; i++)
		if (!pp__bundle_by_id(rt, pp_bundle_id(b->bundle_deps[i])))
			need = pp__error(rt, PP_ERR_NOT_FOUND,
			                 "bundle '%s' needs bundle '%s', which is not loaded",
			                 b->name, b->bundle_deps[i]);
	if (need != PP_OK) {
		pthread_mutex_unlock(&rt->lock);
		bundle_free(b);
		return need;
	}
	void *code = NULL;
	pp_status st = load_and_publish(rt, b, &code);
	if (st != PP_OK) {
		pthread_mutex_unlock(&rt->lock);
		bundle_free(b);
		return st;
	}
	b->code = code;
	pp_bundle **tail = &rt->bundles;
	while (*tail)
		tail = &(*tail)->next;
	*tail = b;
	rt->bundle_count++;
	pp__bump_revision(rt);
	atomic_fetch_add_explicit(&rt->bundle_changes, 1, memory_order_relaxed);
	notify(rt, b, PP_RELOAD_LOADED, NULL);
	pthread_mutex_unlock(&rt->lock);
	pp__log(rt, PP_LOG_INFO, "runtime", "loaded bundle '%s' (%s loader)", b->name,
	        b->loader->name);
	if (out_id)
		*out_id = b->id;
	return PP_OK;
}

pp_status pp_bundle_load(pp_runtime *rt, const char *path, const pp_load_options *opts,
                         uint64_t *out_id)
{
	if (!rt || !path || !*path)
		return rt ? pp__error(rt, PP_ERR_INVALID_ARGUMENT, "pp_bundle_load: empty path")
		          : PP_ERR_INVALID_ARGUMENT;
	pp_manifest *m = NULL;
	if (is_dir(path) && pp__manifest_exists(path)) {
		pp_status st = pp__manifest_read(rt, path, &m);
		if (st != PP_OK)
			return st;
	}
	char *name = opts && opts->name ? pp__strdup(opts->name)
	             : m                ? pp__strdup(m->name)
	                                : name_from_path(path);
	pp_bundle *b = name && *name ? bundle_new(rt, name, path, opts) : NULL;
	pp_status st = PP_OK;
	if (name && !*name)
		st = pp__error(rt, PP_ERR_INVALID_ARGUMENT, "cannot derive a bundle name from '%s'",
		               path);
	else if (!b)
		st = pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	free(name);
	if (!b) {
		pp__manifest_free(m);
		return st;
	}
	b->manifest = m;
	dep_set deps;
	bool stored = !m || ((!m->file || (b->load_path = pp__strdup(m->file)) != NULL) &&
	                     dep_set_build(b, m, &deps));
	if (stored && m) {
		dep_set_swap(b, &deps);
		dep_set_free(&deps);
	}
	if (!stored)
		st = pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	struct stat sb;
	if (st == PP_OK && m && b->load_path && stat(b->load_path, &sb) != 0)
		st = pp__error(rt, PP_ERR_IO,
		               "bundle '%s': %s names file '%s', which cannot be opened", b->name,
		               m->file_path, b->load_path);
	if (st != PP_OK) {
		bundle_free(b);
		return st;
	}
	const char *loader = opts && opts->loader ? opts->loader
	                     : b->manifest        ? b->manifest->loader
	                                          : NULL;
	return load_bundle(rt, b, loader, out_id);
}

pp_status pp_bundle_load_source(pp_runtime *rt, const void *source, size_t len,
                                const pp_load_options *opts, uint64_t *out_id)
{
	if (!opts || !opts->name || !*opts->name)
		return pp__error(rt, PP_ERR_INVALID_ARGUMENT,
		                 "pp_bundle_load_source: a bundle name is required");
	if (!source && len)
		return pp__error(rt, PP_ERR_INVALID_POINTER, "bundle '%s': NULL source",
		                 opts->name);
	pp_bundle *b = bundle_new(rt, opts->name, "", opts);
	if (!b)
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	b->source = malloc(len ? len : 1);
	if (!b->source) {
		bundle_free(b);
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	}
	if (len)
		memcpy(b->source, source, len);
	b->source_len = len;
	return load_bundle(rt, b, opts->loader ? opts->loader : "js-quickjs", out_id);
}

/* ---- Unload --------------------------------------------------------------- */

static bool depends_on(const pp_bundle *d, const pp_bundle *b)
{
	for (size_t i = 0; i < d->bundle_dep_count; i++)
		if (strcmp(d->bundle_deps[i], b->name) == 0)
			return true;
	for (size_t i = 0; i < d->dep_count; i++)
		for (const pp_contract_node *n = b->contracts; n; n = n->next)
			if (n->iface.contract_id == d->deps[i].contract_id)
				return true;
	return false;
}

/* Caller holds rt->lock. */
static pp_status unload_locked(pp_runtime *rt, pp_bundle *b, uint32_t flags, int depth)
{
	if (depth > 64)
		return pp__error(rt, PP_ERR_DEPENDENCY_IN_USE,
		                 "bundle '%s': dependency chain too deep to cascade", b->name);
	char names[512];
	size_t used = 0;
	names[0] = '\0';
	for (pp_bundle *d = rt->bundles; d;) {
		if (d == b || !depends_on(d, b)) {
			d = d->next;
			continue;
		}
		if (flags & PP_UNLOAD_CASCADE) {
			pp_status st = unload_locked(rt, d, flags, depth + 1);
			if (st != PP_OK)
				return st;
			d = rt->bundles; /* the list changed; start over */
			continue;
		}
		int n = snprintf(names + used, sizeof names - used, "%s'%s'", used ? ", " : "",
		                 d->name);
		if (n > 0 && (size_t)n < sizeof names - used)
			used += (size_t)n;
		d = d->next;
	}
	if (used)
		return pp__error(rt, PP_ERR_DEPENDENCY_IN_USE,
		                 "cannot unload bundle '%s': %s depend%s on it", b->name, names,
		                 strchr(names, ',') ? "" : "s");

	notify(rt, b, PP_RELOAD_UNLOADING, NULL);
	pp_bundle **link = &rt->bundles;
	while (*link && *link != b)
		link = &(*link)->next;
	*link = b->next;
	rt->bundle_count--;
	pp__registry_unpublish(rt, b);
	pp__bump_revision(rt);
	atomic_fetch_add_explicit(&rt->bundle_changes, 1, memory_order_relaxed);
	pp__log(rt, PP_LOG_INFO, "runtime", "unloaded bundle '%s'", b->name);
	retire_code(rt, b->loader, b->code, b);
	return PP_OK;
}

pp_status pp_bundle_unload(pp_runtime *rt, uint64_t bundle_id, uint32_t flags)
{
	pthread_mutex_lock(&rt->lock);
	pp_bundle *b = pp__bundle_by_id(rt, bundle_id);
	pp_status st = b ? unload_locked(rt, b, flags, 0)
	                 : pp__error(rt, PP_ERR_NOT_FOUND, "no bundle with id %016llx is loaded",
	                             (unsigned long long)bundle_id);
	pthread_mutex_unlock(&rt->lock);
	return st;
}

void pp__bundles_unload_all(pp_runtime *rt)
{
	pthread_mutex_lock(&rt->lock);
	/* Last loaded first, so dependents go before what they depend on. */
	while (rt->bundles) {
		pp_bundle *last = rt->bundles;
		while (last->next)
			last = last->next;
		if (unload_locked(rt, last, PP_UNLOAD_CASCADE, 0) != PP_OK) {
			/* cascades cannot fail short of a 64-deep chain; force it */
			pp_bundle **link = &rt->bundles;
			while (*link != last)
				link = &(*link)->next;
			*link = NULL;
			rt->bundle_count--;
			pp__registry_unpublish(rt, last);
			retire_code(rt, last->loader, last->code, last);
		}
	}
	pthread_mutex_unlock(&rt->lock);
}

/* ---- Reload --------------------------------------------------------------- */

typedef struct visited {
	uint64_t ids[64];
	size_t n;
} visited;

static pp_status reload_locked(pp_runtime *rt, pp_bundle *b, visited *seen)
{
	if (seen->n == sizeof seen->ids / sizeof seen->ids[0])
		return PP_OK;
	for (size_t i = 0; i < seen->n; i++)
		if (seen->ids[i] == b->id)
			return PP_OK; /* a dependency cycle: each bundle reloads once */
	seen->ids[seen->n++] = b->id;

	if (!rt->cfg.hot_reload_enabled)
		return pp__error(rt, PP_ERR_UNSUPPORTED,
		                 "cannot reload bundle '%s': hot reload is disabled in the runtime "
		                 "config",
		                 b->name);
	if (!b->loader->supports_hot_reload)
		return pp__error(rt, PP_ERR_UNSUPPORTED,
		                 "cannot reload bundle '%s': the %s loader does not support it",
		                 b->name, b->loader->name);

	notify(rt, b, PP_RELOAD_PREPARING, NULL);
	/* A bundle directory's manifest is read again: the new version may
	 * provide other contracts or live in another file. */
	pp_manifest *old_manifest = b->manifest, *m = NULL;
	char *old_load_path = b->load_path;
	dep_set deps; /* the new dependencies while loading; the old ones after */
	bool swapped = false;
	pp_status st = PP_OK;
	if (*b->path && is_dir(b->path) && pp__manifest_exists(b->path)) {
		st = pp__manifest_read(rt, b->path, &m);
		if (st == PP_OK && m->file && !(b->load_path = pp__strdup(m->file)))
			st = pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
		if (st == PP_OK && !m->file)
			b->load_path = NULL;
		if (st == PP_OK && !(swapped = dep_set_build(b, m, &deps)))
			st = pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
		if (swapped)
			dep_set_swap(b, &deps); /* its init sees what it now declares */
		b->manifest = m;
	}
	void *code = NULL;
	if (st == PP_OK)
		st = load_and_publish(rt, b, &code);
	if (swapped && st != PP_OK)
		dep_set_swap(b, &deps); /* back to what the serving version declared */
	if (swapped)
		dep_set_free(&deps);
	if (b->manifest != old_manifest) {
		if (st == PP_OK) {
			pp__manifest_free(old_manifest);
			if (b->load_path != old_load_path)
				free(old_load_path);
		} else {
			pp__manifest_free(b->manifest);
			if (b->load_path != old_load_path)
				free(b->load_path);
			b->manifest = old_manifest;
			b->load_path = old_load_path;
		}
	}
	if (st != PP_OK) {
		const char *why = pp_last_error(rt);
		pp__log(rt, PP_LOG_ERROR, "runtime", "reload of '%s' failed, old version kept: %s",
		        b->name, why);
		notify(rt, b, PP_RELOAD_FAILED, why);
		return st;
	}
	retire_code(rt, b->loader, b->code, NULL);
	b->code = code;
	b->reload_count++;
	pp__bump_revision(rt);
	pp__log(rt, PP_LOG_INFO, "runtime", "reloaded bundle '%s'", b->name);
	notify(rt, b, PP_RELOAD_RELOADED, NULL);

	/* Dependents that asked for it are reinitialised against the new code. */
	for (pp_bundle *d = rt->bundles; d; d = d->next)
		if (d != b && d->reinit_on_dep_reload && depends_on(d, b))
			reload_locked(rt, d, seen);
	return PP_OK;
}

pp_status pp_bundle_reload(pp_runtime *rt, uint64_t bundle_id)
{
	pthread_mutex_lock(&rt->lock);
	pp_bundle *b = pp__bundle_by_id(rt, bundle_id);
	visited seen = {.n = 0};
	pp_status st = b ? reload_locked(rt, b, &seen)
	                 : pp__error(rt, PP_ERR_NOT_FOUND, "no bundle with id %016llx is loaded",
	                             (unsigned long long)bundle_id);
	pthread_mutex_unlock(&rt->lock);
	return st;
}

/* ---- Listing -------------------------------------------------------------- */

size_t pp_bundle_foreach(pp_runtime *rt, void (*fn)(void *ud, const pp_bundle_info *info), void *ud)
{
	size_t n = 0;
	pthread_mutex_lock(&rt->lock);
	for (pp_bundle *b = rt->bundles; b; b = b->next, n++) {
		if (!fn)
			continue;
		pp_bundle_info info = {b->id,
		                       b->name,
		                       b->path,
		                       b->loader->name,
		                       0,
		                       b->reload_count,
		                       b->manifest ? b->manifest->version : NULL};
		for (const pp_contract_node *c = b->contracts; c; c = c->next)
			info.contract_count++;
		fn(ud, &info);
	}
	pthread_mutex_unlock(&rt->lock);
	return n;
}

size_t pp_bundle_contracts(pp_runtime *rt, uint64_t bundle_id,
                           void (*fn)(void *ud, const pp_contract_info *c), void *ud)
{
	size_t n = 0;
	pthread_mutex_lock(&rt->lock);
	pp_bundle *b = pp__bundle_by_id(rt, bundle_id);
	for (const pp_contract_node *c = b ? b->contracts : NULL; c; c = c->next, n++) {
		pp_contract_info info = {c->contract_name, c->iface.contract_id,
		                         c->iface.contract_version, c->function_count,
		                         c->iface.dispatch_type};
		if (fn)
			fn(ud, &info);
	}
	pthread_mutex_unlock(&rt->lock);
	return n;
}
