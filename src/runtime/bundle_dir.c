/*
 * bundle_dir.c — loading every bundle under a plugins directory in
 * dependency order (pp_bundle_load_dir).
 *
 * Each subdirectory holding a manifest.toml, a bundle.js or a shared library
 * is a bundle. Manifests say what each provides and needs; bundles without
 * one declare nothing and load first. A dependency nobody provides, or a
 * cycle, fails the bundles concerned (naming them) and the rest still load.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "manifest.h"

typedef struct node {
	char *name;
	char *path;
	pp_manifest *manifest; /* NULL: none, or taken by the load */
	pp_unseen unseen;      /* noted before the manifest was read (watch.c) */
	char *error;           /* why it is not loaded (NULL if out of memory) */
	pp_status status;      /* PP_OK until something fails it */
	size_t *deps;          /* indexes of nodes that must load first */
	size_t dep_count;
	int mark;    /* 0 unvisited, 1 on the DFS stack, 2 done */
	uint64_t id; /* once loaded */
	uint32_t order;
} node;

typedef struct scan {
	pp_runtime *rt;
	const char *dir;
	node *nodes;
	size_t count;
	size_t *order; /* topological order */
	size_t ordered;
} scan;

__attribute__((format(printf, 3, 4))) static void node_fail(node *n, pp_status st, const char *fmt,
                                                            ...)
{
	if (n->status != PP_OK)
		return;
	n->status = st ? st : PP_ERR_LOAD_FAILED;
	va_list ap;
	va_start(ap, fmt);
	n->error = pp__vstrprintf(fmt, ap);
	va_end(ap);
}

bool pp__holds_a_bundle(pp_runtime *rt, const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
	       (pp__manifest_exists(path) || pp__loader_for_path(rt, path) != NULL);
}

static bool add_dep(node *n, size_t dep)
{
	for (size_t i = 0; i < n->dep_count; i++)
		if (n->deps[i] == dep)
			return true;
	size_t *d = realloc(n->deps, (n->dep_count + 1) * sizeof *d);
	if (!d)
		return false;
	n->deps = d;
	n->deps[n->dep_count++] = dep;
	return true;
}

/* The subdirectories that are bundles, sorted by name, manifests read. */
static pp_status find_bundles(scan *s)
{
	struct dirent **entries;
	int n = scandir(s->dir, &entries, NULL, alphasort);
	if (n < 0)
		return pp__error(s->rt, PP_ERR_IO, "cannot open plugins directory '%s'", s->dir);
	s->nodes = calloc((size_t)n + 1, sizeof *s->nodes);
	pp_status st = PP_OK;
	for (int i = 0; i < n; i++) {
		const char *e = entries[i]->d_name;
		bool look = s->nodes && st == PP_OK && e[0] != '.';
		char *path = look ? pp__path_join(s->dir, e) : NULL;
		if (look && !path) /* not passed over */
			st = pp__error(s->rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
		if (path && pp__holds_a_bundle(s->rt, path)) {
			node *nd = &s->nodes[s->count++];
			nd->path = path;
			path = NULL;
			nd->unseen = pp__watch_load_begins(s->rt, nd->path);
			if (pp__manifest_exists(nd->path)) {
				pp_status ms = pp__manifest_read(s->rt, nd->path, &nd->manifest);
				if (ms != PP_OK)
					node_fail(nd, ms, "%s", pp_last_error(s->rt));
			}
			nd->name = pp__strdup(nd->manifest ? nd->manifest->name : e);
			if (!nd->name)
				st = pp__error(s->rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
		}
		free(path);
		free(entries[i]);
	}
	free(entries);
	return s->nodes ? st : pp__error(s->rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
}

static node *by_name(scan *s, const char *name)
{
	for (size_t i = 0; i < s->count; i++)
		if (strcmp(s->nodes[i].name, name) == 0)
			return &s->nodes[i];
	return NULL;
}

/* Edges from each manifest's needs to the bundles that meet them. */
static pp_status link_dependencies(scan *s)
{
	for (size_t i = 0; i < s->count; i++) {
		node *n = &s->nodes[i];
		const pp_manifest *m = n->manifest;
		if (n->status != PP_OK || !m)
			continue;
		bool ok = true;
		for (size_t d = 0; d < m->dep_count && n->status == PP_OK; d++) {
			const pp_manifest_dep *dep = &m->deps[d];
			bool found = false;
			for (size_t j = 0; j < s->count; j++) {
				const pp_manifest *pm = s->nodes[j].manifest;
				if (j == i || !pm ||
				    (dep->bundle && strcmp(s->nodes[j].name, dep->bundle) != 0))
					continue;
				for (size_t k = 0; k < pm->provides_count; k++)
					if (pm->provides[k].id == dep->dep.contract_id) {
						ok &= add_dep(n, j);
						found = true;
					}
			}
			/* Bundles without a manifest might provide it: they load first. */
			for (size_t j = 0; j < s->count && !found; j++)
				if (j != i && !s->nodes[j].manifest &&
				    s->nodes[j].status == PP_OK &&
				    (!dep->bundle || strcmp(s->nodes[j].name, dep->bundle) == 0)) {
					ok &= add_dep(n, j);
					found = true;
				}
			if (!found &&
			    pp_handle_is_null(pp_find_named(s->rt, dep->contract,
			                                    dep->dep.min_version, dep->bundle)))
				node_fail(n, PP_ERR_NOT_FOUND,
				          "bundle '%s' needs contract '%s'%s%s%s, which no bundle "
				          "in '%s' "
				          "provides and none loaded does",
				          n->name, dep->contract,
				          dep->bundle ? " from bundle '" : "",
				          dep->bundle ? dep->bundle : "", dep->bundle ? "'" : "",
				          s->dir);
		}
		for (size_t d = 0; d < m->bundle_dep_count && n->status == PP_OK; d++) {
			node *b = by_name(s, m->bundle_deps[d]);
			if (b && b != n)
				ok &= add_dep(n, (size_t)(b - s->nodes));
			else if (!b && !pp__bundle_by_id(s->rt, pp_bundle_id(m->bundle_deps[d])))
				node_fail(n, PP_ERR_NOT_FOUND,
				          "bundle '%s' needs bundle '%s', which is not in '%s' and "
				          "not "
				          "loaded",
				          n->name, m->bundle_deps[d], s->dir);
		}
		if (!ok)
			return pp__error(s->rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	}
	return PP_OK;
}

/* Fails every bundle on the cycle that closes at node i (on the stack from
 * `from` up to depth), the cycle spelled out. Out of line: visit's frames
 * stay small. */
static __attribute__((noinline)) void fail_cycle(scan *s, const size_t *stack, size_t from,
                                                 size_t depth, size_t i)
{
	char cycle[1024];
	size_t used = 0;
	for (size_t k = from; k < depth && used < sizeof cycle; k++) {
		int w = snprintf(cycle + used, sizeof cycle - used, "'%s' -> ",
		                 s->nodes[stack[k]].name);
		used += w > 0 ? (size_t)w : 0;
	}
	if (used < sizeof cycle)
		snprintf(cycle + used, sizeof cycle - used, "'%s'", s->nodes[i].name);
	for (size_t k = from; k < depth; k++)
		node_fail(&s->nodes[stack[k]], PP_ERR_LOAD_FAILED, "dependency cycle: %s", cycle);
}

/* Depth-first: a node goes into the order after everything it needs. A back
 * edge is a cycle; every bundle on it fails. A chain deeper than
 * PP_MAX_DEPENDENCY_DEPTH fails where it passes the limit, which keeps the
 * recursion, on whatever stack the host calls from, shallow. */
static void visit(scan *s, size_t i, size_t *stack, size_t depth)
{
	node *n = &s->nodes[i];
	if (n->mark == 2)
		return;
	if (n->mark == 1) {
		size_t from = depth;
		while (from > 0 && stack[from - 1] != i)
			from--;
		fail_cycle(s, stack, from - 1, depth, i);
		return;
	}
	n->mark = 1;
	stack[depth] = i;
	if (depth >= PP_MAX_DEPENDENCY_DEPTH && n->dep_count)
		node_fail(n, PP_ERR_LOAD_FAILED,
		          "bundle '%s': its chain of dependencies is more than %d bundles deep",
		          n->name, PP_MAX_DEPENDENCY_DEPTH);
	for (size_t d = 0; d < n->dep_count && depth < PP_MAX_DEPENDENCY_DEPTH; d++)
		visit(s, n->deps[d], stack, depth + 1);
	n->mark = 2;
	s->order[s->ordered++] = i;
}

/* The watcher loads bundle directories that appear in a plugins directory
 * later; it learns of the directory here. */
static void remember_dir(pp_runtime *rt, const char *dir)
{
	pthread_mutex_lock(&rt->lock);
	bool seen = false;
	for (size_t i = 0; i < rt->plugin_dir_count && !seen; i++)
		seen = strcmp(rt->plugin_dirs[i], dir) == 0;
	char **bigger =
	        seen ? NULL : realloc(rt->plugin_dirs, (rt->plugin_dir_count + 1) * sizeof *bigger);
	if (bigger) {
		rt->plugin_dirs = bigger;
		if ((bigger[rt->plugin_dir_count] = pp__strdup(dir)) != NULL) {
			rt->plugin_dir_count++;
			/* the watcher rebuilds its set on the next turn */
			atomic_fetch_add_explicit(&rt->bundle_changes, 1, memory_order_relaxed);
		}
	}
	pthread_mutex_unlock(&rt->lock);
}

pp_status pp_bundle_load_dir(pp_runtime *rt, const char *dir,
                             void (*report)(void *ud, const pp_dir_entry *e), void *ud,
                             size_t *loaded)
{
	if (loaded)
		*loaded = 0;
	if (!rt || !dir)
		return rt ? pp__error(rt, PP_ERR_INVALID_ARGUMENT,
		                      "pp_bundle_load_dir: no directory")
		          : PP_ERR_INVALID_ARGUMENT;
	scan s = {rt, dir, NULL, 0, NULL, 0};
	pp_status st = find_bundles(&s);
	if (st == PP_OK)
		remember_dir(rt, dir);
	if (st == PP_OK)
		st = link_dependencies(&s);
	size_t *stack = st == PP_OK ? calloc(s.count + 1, sizeof *stack) : NULL;
	s.order = st == PP_OK ? calloc(s.count + 1, sizeof *s.order) : NULL;
	if (st == PP_OK && (!stack || !s.order))
		st = pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	/* bundles without a manifest first: they may provide what others need */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; st == PP_OK && stack && s.order && i < s.count; i++)
			if ((s.nodes[i].manifest != NULL) == pass)
				visit(&s, i, stack, 0);
	free(stack);

	pp_status first = st;
	uint32_t order = 0;
	for (size_t k = 0; st == PP_OK && s.order && k < s.ordered; k++) {
		node *n = &s.nodes[s.order[k]];
		for (size_t d = 0; d < n->dep_count && n->status == PP_OK; d++)
			if (s.nodes[n->deps[d]].status != PP_OK)
				node_fail(
				        n, PP_ERR_LOAD_FAILED,
				        "bundle '%s' not loaded: it depends on '%s', which failed",
				        n->name, s.nodes[n->deps[d]].name);
		if (n->status == PP_OK) {
			pp_load_options o = {.name = n->name};
			/* the manifest the order came from is the one loaded */
			pp_status ls = pp__bundle_load_read(rt, n->path, &o, n->unseen, n->manifest,
			                                    &n->id);
			n->manifest = NULL;
			if (ls != PP_OK)
				node_fail(n, ls, "%s", pp_last_error(rt));
			else
				n->order = order++;
		}
	}
	size_t ok = 0;
	for (size_t i = 0; i < s.count; i++) {
		node *n = &s.nodes[i];
		bool good = st == PP_OK && n->status == PP_OK;
		if (!good && first == PP_OK)
			first = n->status;
		ok += good;
		if (report) {
			pp_dir_entry e = {n->name,
			                  n->path,
			                  good ? n->id : 0,
			                  good        ? PP_OK
			                  : n->status ? n->status
			                              : st,
			                  good       ? NULL
			                  : n->error ? n->error
			                             : "out of memory",
			                  good ? n->order : UINT32_MAX};
			report(ud, &e);
		}
		free(n->name);
		free(n->path);
		free(n->error);
		free(n->deps);
		pp__manifest_free(n->manifest);
	}
	free(s.nodes);
	free(s.order);
	if (loaded)
		*loaded = ok;
	if (first != PP_OK && st == PP_OK)
		return pp__error(rt, first, "%zu of %zu bundles in '%s' did not load", s.count - ok,
		                 s.count, dir);
	return first;
}
