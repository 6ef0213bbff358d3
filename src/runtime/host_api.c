/*
 * host_api.c — the pp_host_api table every plugin receives: thin, self-passing
 * entry points that forward to the runtime, and the calls a plugin makes to
 * a peer or a host contract (its JS bridge's too). Each failing entry leaves
 * its message as the calling thread's last error.
 */
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define RT(self) ((pp_runtime *)(self)->runtime)

static void set_out(pp_runtime *rt, pp_abi_error *out_err, pp_status code)
{
	if (!out_err)
		return;
	out_err->code = code;
	out_err->message.ptr = NULL;
	out_err->message.len = 0;
	if (code != PP_OK) {
		const char *m = pp_last_error(rt);
		out_err->message.ptr = (const uint8_t *)m;
		out_err->message.len = strlen(m);
	}
}

static void h_register_guest_contract(const pp_host_api *self, const pp_plugin_descriptor *d,
                                      const pp_guest_contract_interface *iface,
                                      pp_abi_error *out_err)
{
	pp_runtime *rt = RT(self);
	/* The version being initialised belongs to this thread alone until it
	 * is published: staging needs no lock. */
	pp_bundle_version *v = pp__init_version(rt);
	pp_status st = v ? PP_OK
	                 : pp__error(rt, PP_ERR_GENERIC,
	                             "register_guest_contract is only allowed during a bundle's "
	                             "init");
	if (v && iface) { /* from the init's own code, not a peer's it called */
		pthread_mutex_lock(&rt->lock);
		pp_bundle_version *peer =
		        pp__foreign_owner(rt, v, iface, (const void *)iface->create_instance,
		                          (const void *)iface->destroy_instance);
		if (peer)
			st = pp__error(rt, PP_ERR_GENERIC,
			               "bundle '%s' called register_guest_contract while bundle "
			               "'%s''s init ran on its thread; it is only allowed during a "
			               "bundle's own init",
			               peer->bundle->name, v->bundle->name);
		pthread_mutex_unlock(&rt->lock);
	}
	if (st == PP_OK)
		st = pp__registry_stage(rt, v, d, iface);
	set_out(rt, out_err, st);
}

static void *h_alloc(const pp_host_api *self, size_t size, size_t align)
{
	return pp__host_alloc(RT(self), size, align);
}

static void h_free(const pp_host_api *self, void *ptr, size_t size, size_t align)
{
	pp__host_free(RT(self), ptr, size, align);
}

static pp_guest_contract_handle h_find(const pp_host_api *self, uint64_t contract_id,
                                       uint32_t min_version)
{
	pp_runtime *rt = RT(self);
	pp_guest_contract_handle h =
	        pp__registry_find(rt, contract_id, min_version, pp__init_version(rt));
	if (pp_handle_is_null(h)) /* a miss says what there is, as pp_find's does */
		pp__registry_not_found(rt, contract_id, min_version, NULL, NULL);
	return h;
}

/* The array a host-table entry hands back, whose caller frees len * size
 * bytes (abi.md): items has room for n, got of them filled. A list that
 * shrank in between (a bundle unloaded) is moved to a block of its size, so
 * the free names the size allocated; none at all gives no block. */
static pp_array fitted(pp_runtime *rt, void *items, size_t n, size_t got, size_t size, size_t align)
{
	pp_array a = {items, got, align};
	if (got == n)
		return a;
	a.items = got ? pp__host_alloc(rt, got * size, align) : NULL;
	if (a.items)
		memcpy(a.items, items, got * size);
	else
		a.len = 0;
	if (got && !a.items)
		pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	pp__host_free(rt, items, n * size, align);
	return a;
}

static pp_array h_find_all(const pp_host_api *self, uint64_t contract_id, uint32_t min_version)
{
	pp_runtime *rt = RT(self);
	pp_array a = {NULL, 0, _Alignof(pp_guest_contract_handle)};
	const pp_bundle_version *viewer = pp__init_version(rt);
	for (;;) {
		size_t n = pp__registry_find_all(rt, contract_id, min_version, viewer, NULL, 0);
		if (n == 0)
			return a;
		pp_guest_contract_handle *items =
		        pp__host_alloc(rt, n * sizeof *items, _Alignof(pp_guest_contract_handle));
		if (!items) {
			pp__error(rt, PP_ERR_OUT_OF_MEMORY,
			          "find_all_guest_contracts: out of memory");
			return a;
		}
		size_t got = pp__registry_find_all(rt, contract_id, min_version, viewer, items, n);
		if (got <= n)
			return fitted(rt, items, n, got, sizeof *items, a.align);
		/* a provider appeared in between: try again with more room */
		pp__host_free(rt, items, n * sizeof *items, _Alignof(pp_guest_contract_handle));
	}
}

static const pp_guest_contract_interface *h_resolve(const pp_host_api *self,
                                                    pp_guest_contract_handle h)
{
	pp_runtime *rt = RT(self);
	pp_tstate *ts = pp__read_lock(rt);
	const pp_contract_node *n = ts ? pp__registry_resolve(rt, h) : NULL;
	if (ts)
		pp__read_unlock(ts);
	if (!n)
		pp__error(rt, PP_ERR_STALE_HANDLE, "resolve_guest_contract: handle %u:%u is %s",
		          h.index, h.generation, pp_handle_is_null(h) ? "null" : "stale");
	return n ? &n->iface : NULL;
}

static void host_lookup_failed(pp_runtime *rt, uint32_t why, uint64_t contract_id,
                               uint32_t min_version)
{
	pp__error(rt, why, "host contract %016llx (min version %u): %s",
	          (unsigned long long)contract_id, min_version,
	          why == PP_ERR_HOST_CONTRACT_VERSION_MISMATCH ? "version mismatch"
	                                                       : "not registered");
}

static pp_host_contract_instance h_get_host_contract(const pp_host_api *self, uint64_t contract_id,
                                                     uint32_t min_version)
{
	pp_runtime *rt = RT(self);
	pp_host_contract_instance inst = {NULL};
	uint32_t why = PP_ERR_OUT_OF_MEMORY;
	pp_tstate *ts = pp__read_lock(rt);
	const pp_host_entry *e =
	        ts ? pp__host_contracts_find(rt, contract_id, min_version, &why) : NULL;
	if (e)
		inst = e->iface->flags & PP_HOST_CONTRACT_SINGLETON
		               ? e->singleton
		               : e->iface->create_instance(e->iface, NULL);
	if (ts)
		pp__read_unlock(ts);
	if (!e)
		host_lookup_failed(rt, why, contract_id, min_version);
	return inst;
}

static const pp_host_contract_interface *h_resolve_host(const pp_host_api *self,
                                                        uint64_t contract_id, uint32_t min_version)
{
	pp_runtime *rt = RT(self);
	uint32_t why = PP_ERR_OUT_OF_MEMORY;
	pp_tstate *ts = pp__read_lock(rt);
	const pp_host_entry *e =
	        ts ? pp__host_contracts_find(rt, contract_id, min_version, &why) : NULL;
	const pp_host_contract_interface *iface = e ? e->iface : NULL;
	if (ts)
		pp__read_unlock(ts);
	if (!iface)
		host_lookup_failed(rt, why, contract_id, min_version);
	return iface;
}

static pp_array h_list_bundles(const pp_host_api *self)
{
	pp_runtime *rt = RT(self);
	pp_array a = {NULL, 0, _Alignof(uint64_t)};
	/* Copied under the lock into a local list: the host allocator is host
	 * code and never runs under the lock. */
	for (;;) {
		size_t n = 0;
		pthread_mutex_lock(&rt->lock);
		for (pp_bundle *b = rt->bundles; b; b = b->next)
			n += b->cur != NULL;
		pthread_mutex_unlock(&rt->lock);
		if (n == 0)
			return a;
		uint64_t *ids = pp__host_alloc(rt, n * sizeof *ids, _Alignof(uint64_t));
		if (!ids)
			return a;
		size_t i = 0;
		bool fits = true;
		pthread_mutex_lock(&rt->lock);
		for (pp_bundle *b = rt->bundles; fits && b; b = b->next) {
			if (!b->cur)
				continue;
			fits = i < n; /* not if one was loaded in between */
			if (fits)
				ids[i++] = b->id;
		}
		pthread_mutex_unlock(&rt->lock);
		if (fits)
			return fitted(rt, ids, n, i, sizeof *ids, a.align);
		pp__host_free(rt, ids, n * sizeof *ids, _Alignof(uint64_t));
	}
}

static pp_array h_get_dependencies(const pp_host_api *self)
{
	pp_runtime *rt = RT(self);
	pp_array a = {NULL, 0, _Alignof(pp_dependency_info)};
	const pp_bundle_version *b = pp__init_version(rt);
	if (!b || !b->dep_count)
		return a;
	pp_dependency_info *items =
	        pp__host_alloc(rt, b->dep_count * sizeof *items, _Alignof(pp_dependency_info));
	if (!items)
		return a;
	for (size_t i = 0; i < b->dep_count; i++) {
		memset(&items[i], 0, sizeof items[i]);
		items[i].contract_id = b->deps[i].contract_id;
		items[i].min_version = b->deps[i].min_version;
	}
	a.items = items;
	a.len = b->dep_count;
	return a;
}

/* A path a plugin passes as bytes and a length, as a string of ours in
 * *out; one that is not a path is refused. */
static pp_status path_arg(pp_runtime *rt, const char *entry, const uint8_t *path, size_t len,
                          char **out)
{
	*out = NULL;
	if (!path && len)
		return pp__error(rt, PP_ERR_INVALID_POINTER,
		                 "%s: the path is NULL with a length of %zu", entry, len);
	if (!len) /* bundles loaded from memory have no path: never theirs */
		return pp__error(rt, PP_ERR_INVALID_ARGUMENT, "%s: the path is empty", entry);
	if (len >= PATH_MAX || (len && memchr(path, '\0', len)))
		return pp__error(rt, PP_ERR_INVALID_ARGUMENT,
		                 "%s: not a path: %zu bytes%s (a path is shorter than %d bytes, "
		                 "without a NUL)",
		                 entry, len, len < PATH_MAX ? " with a NUL inside" : "", PATH_MAX);
	if (!(*out = pp__strndup(path, len)))
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	return PP_OK;
}

static void h_load_bundle(const pp_host_api *self, const uint8_t *path, size_t len,
                          pp_abi_error *out_err)
{
	pp_runtime *rt = RT(self);
	char *p;
	pp_status st = path_arg(rt, "load_bundle", path, len, &p);
	if (st == PP_OK)
		st = pp_bundle_load(rt, p, NULL, NULL);
	free(p);
	set_out(rt, out_err, st);
}

static void h_reload_bundle(const pp_host_api *self, const uint8_t *path, size_t len,
                            pp_abi_error *out_err)
{
	pp_runtime *rt = RT(self);
	char *p;
	pp_status st = path_arg(rt, "reload_bundle", path, len, &p);
	uint64_t id = 0;
	char first[128] = "", other[128] = ""; /* two loaded from p: which is meant? */
	pthread_mutex_lock(&rt->lock);
	for (pp_bundle *b = rt->bundles; p && b; b = b->next)
		if (b->cur && strcmp(b->path, p) == 0) {
			snprintf(*first ? other : first, sizeof first, "%s", b->name);
			id = b->id;
		}
	pthread_mutex_unlock(&rt->lock);
	if (st == PP_OK && *other)
		st = pp__error(rt, PP_ERR_INVALID_ARGUMENT,
		               "reload_bundle: bundles '%s' and '%s' were both loaded from '%s'; "
		               "the host reloads one by id",
		               first, other, p);
	else if (st == PP_OK)
		st = id ? pp_bundle_reload(rt, id)
		        : pp__error(rt, PP_ERR_NOT_FOUND,
		                    "reload_bundle: no bundle loaded from '%s'", p);
	free(p);
	set_out(rt, out_err, st);
}

static void h_register_host_contract(const pp_host_api *self,
                                     const pp_host_contract_interface *iface, pp_abi_error *out_err)
{
	pp_runtime *rt = RT(self);
	/* A plugin's host contract lives as long as the version that made it
	 * (host_contracts.c); one the host registers through this table is the
	 * host's. */
	set_out(rt, out_err, pp__host_contracts_register(rt, iface, true));
}

static void h_register_loader(const pp_host_api *self, void *loader, pp_abi_error *out_err)
{
	pp_runtime *rt = RT(self);
	const pp_loader *l = loader;
	pp_status st = PP_OK;
	/* Loaders live as long as the runtime: a plugin's would be called after
	 * its code is gone, so only the host may add one. */
	if (pp__in_plugin(rt) || pp__native_is_bundle_code(l) ||
	    (l && pp__native_is_bundle_code((const void *)l->load))) {
		set_out(rt, out_err,
		        pp__error(rt, PP_ERR_UNSUPPORTED,
		                  "register_loader: only the host may register a loader"));
		return;
	}
	pthread_mutex_lock(&rt->lock);
	if (!l || !l->name || !l->load || !l->release || !l->accepts)
		st = pp__error(rt, PP_ERR_INVALID_POINTER, "register_loader: incomplete loader");
	else if (rt->loader_count == sizeof rt->loaders / sizeof rt->loaders[0])
		st = pp__error(rt, PP_ERR_GENERIC, "register_loader: too many loaders");
	else
		rt->loaders[rt->loader_count++] = l;
	pthread_mutex_unlock(&rt->lock);
	set_out(rt, out_err, st);
}

static size_t h_get_last_error(const pp_host_api *self, uint8_t *buf, size_t buf_len)
{
	const char *m = pp_last_error(RT(self));
	size_t n = strlen(m);
	if (n == 0 || !buf || buf_len < n)
		return 0;
	memcpy(buf, m, n); /* NOLINT(bugprone-not-null-terminated-result): bytes, by the ABI */
	return n;
}

static size_t h_get_error_len(const pp_host_api *self)
{
	return strlen(pp_last_error(RT(self)));
}

static void h_unload_bundle(const pp_host_api *self, uint64_t bundle_id, pp_abi_error *out_err)
{
	pp_runtime *rt = RT(self);
	set_out(rt, out_err, pp_bundle_unload(rt, bundle_id, 0));
}

static void h_log(const pp_host_api *self, uint32_t level, pp_string_view scope,
                  pp_string_view message)
{
	pp__log_view(RT(self), level, scope, message);
}

/* A create that failed, said as the thread's last error (naming bundle and
 * contract when the interface is the registry's), which the error handed
 * back points at. PP_ERR_STALE_INSTANCE becomes PP_ERR_GENERIC, as from
 * pp_instance_create: a caller retrying on the runtime's refusal must not
 * be led to rerun anything. */
static pp_abi_error create_failed(pp_runtime *rt, const pp_guest_contract_interface *iface,
                                  pp_abi_error err)
{
	uint32_t code = pp__create_failed(rt, pp__node_by_iface(rt, iface), err);
	const char *m = pp_last_error(rt);
	return (pp_abi_error){code, {(const uint8_t *)m, strlen(m)}};
}

/* The refusal of an interface the registry does not list. */
static pp_status unlisted(pp_runtime *rt, const char *what,
                          const pp_guest_contract_interface *iface)
{
	return pp__error(rt, PP_ERR_STALE_HANDLE,
	                 "%s_guest_instance: %p is no interface of a loaded version (its "
	                 "version is gone, with the instances it made, or it never was one)",
	                 what, (const void *)iface);
}

static void h_create_guest_instance(const pp_host_api *self,
                                    const pp_guest_contract_interface *iface, const void *args,
                                    pp_guest_contract_instance *out, pp_abi_error *out_err)
{
	pp_runtime *rt = RT(self);
	pp_abi_error err = {PP_OK, {NULL, 0}};
	if (!out || !iface) {
		set_out(rt, out_err,
		        pp__error(rt, PP_ERR_INVALID_POINTER, "create_guest_instance: NULL %s",
		                  out ? "interface" : "out"));
		return;
	}
	out->data = NULL;
	out->contract_id = 0;
	pp_tstate *ts = pp__read_lock(rt);
	if (!ts) {
		set_out(rt, out_err, pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory"));
		return;
	}
	/* Only through an interface the registry lists (its version current, or
	 * replaced during this call): one it does not may be of a version gone,
	 * freed memory. A version destroying what it left (a destroy making
	 * instances) makes none: refused before its create runs, so no destroy
	 * follows. */
	pp_status may = pp__instance_by_iface(rt, iface, NULL, true);
	if (may != PP_OK) {
		pp__read_unlock(ts);
		set_out(rt, out_err, may == PP_ERR_NOT_FOUND ? unlisted(rt, "create", iface) : may);
		return;
	}
	iface->create_instance(pp__loader_data(iface), self, args, out, &err);
	if (err.code != PP_OK)
		err = create_failed(rt, iface, err);
	/* tracked like one from pp_instance_create, so its version's
	 * reclamation finds it */
	pp_status st = err.code == PP_OK && out->data
	                       ? pp__instance_by_iface(rt, iface, out->data, true)
	                       : PP_ERR_NOT_FOUND;
	bool refused = st != PP_OK && st != PP_ERR_NOT_FOUND; /* out of memory, reclaiming */
	char why[256];
	if (refused) { /* the message outlives the destroy, which may set its own */
		snprintf(why, sizeof why, "%s", pp_last_error(rt));
		iface->destroy_instance(pp__loader_data(iface), self, *out);
		out->data = NULL;
		pp__error(rt, st, "%s", why);
	}
	pp__read_unlock(ts);
	if (refused)
		set_out(rt, out_err, st);
	else if (out_err)
		*out_err = err;
}

static void h_destroy_guest_instance(const pp_host_api *self,
                                     const pp_guest_contract_interface *iface,
                                     pp_guest_contract_instance instance)
{
	if (!iface)
		return;
	pp_runtime *rt = RT(self);
	pp_tstate *ts = pp__read_lock(rt);
	if (!ts)
		return;
	/* Through an interface the registry lists, only an instance it still
	 * tracks: one its version already destroyed (or never made) is left
	 * alone, and so is any through an interface it does not list — of a
	 * version gone, whose reclamation destroyed the instance. */
	pp_status st = instance.data ? pp__instance_by_iface(rt, iface, instance.data, false)
	               : pp__node_by_iface(rt, iface) ? PP_OK
	                                              : PP_ERR_NOT_FOUND;
	if (st == PP_OK)
		iface->destroy_instance(pp__loader_data(iface), self, instance);
	else if (st == PP_ERR_NOT_FOUND)
		unlisted(rt, "destroy", iface);
	pp__read_unlock(ts);
}

static const uint64_t *h_revision_counter(const pp_host_api *self)
{
	return pp_revision_counter(RT(self));
}

/* ---- Calls a plugin makes ------------------------------------------------- */

/* The whole call in one read section of its own: the contract is found
 * once, and its instance, its code and the instance's destroy all come from
 * that one version — from any thread, while anything reloads. (Through
 * resolve_* and get_host_contract a caller makes two lookups, which a reload
 * between them can answer from two versions.) */

uint32_t pp__call_peer(pp_runtime *rt, uint64_t contract_id, uint32_t min_version, uint32_t fn,
                       const void *args, void *out, pp_call_arena *arena, pp_callee_check check,
                       void *ud, bool *refused)
{
	/* found as the caller: an init sees only what it declared */
	pp_guest_contract_handle h =
	        pp__registry_find(rt, contract_id, min_version, pp__init_version(rt));
	pp_tstate *ts = pp__read_lock(rt);
	if (!ts)
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	const pp_contract_node *n = pp__registry_resolve(rt, h);
	if (!n) {
		pp__read_unlock(ts);
		return pp__registry_not_found(rt, contract_id, min_version, NULL, NULL);
	}
	const pp_guest_contract_interface *iface = &n->iface;
	pp_callee callee = {iface->dispatch_type, &iface->dispatch.native, iface->layouts, iface};
	if (check && !check(ud, &callee, &arena)) {
		pp__read_unlock(ts);
		*refused = true;
		return PP_ERR_INVALID_POINTER;
	}
	pp_vm_loader_data ld = pp__loader_data(iface);
	pp_guest_contract_instance inst = {NULL, 0};
	pp_abi_error err = {PP_OK, {NULL, 0}};
	iface->create_instance(ld, &rt->host, NULL, &inst, &err);
	/* A same-VM peer refuses to create (reentrant): its default instance
	 * serves, as in the reference. Any other failure is the call's. */
	if (err.code != PP_OK && err.code != PP_ERR_REENTRANT_CALL) {
		/* said inside the read section: n is not the caller's to keep */
		uint32_t code = pp__create_failed(rt, n, err);
		pp__read_unlock(ts);
		return code;
	}
	char msg[2048]; /* the callee's message may live in the instance */
	err = (pp_abi_error){PP_OK, {NULL, 0}};
	inst.contract_id = contract_id;
	if (!pp__dispatch((const pp__node_view *)(const void *)n, inst, fn, args, out, arena, &err))
		err.code = PP_ERR_FUNCTION_NOT_AVAILABLE;
	if (err.code != PP_OK) {
		pp__view_copy(msg, sizeof msg, err.message);
		err.message = (pp_string_view){(const uint8_t *)msg, strlen(msg)};
	}
	iface->destroy_instance(ld, &rt->host, inst);
	uint32_t code = err.code == PP_OK
	                        ? PP_OK
	                        : pp__call_failed(rt, (const pp__node_view *)(const void *)n, fn,
	                                          err, NULL);
	pp__read_unlock(ts);
	return code;
}

uint32_t pp__call_host(pp_runtime *rt, uint64_t contract_id, uint32_t min_version, uint32_t fn,
                       const void *args, void *out, pp_callee_check check, void *ud, bool *refused)
{
	pp_tstate *ts = pp__read_lock(rt);
	if (!ts)
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	uint32_t why;
	const pp_host_entry *e = pp__host_contracts_find(rt, contract_id, min_version, &why);
	if (!e) {
		pp__read_unlock(ts);
		host_lookup_failed(rt, why, contract_id, min_version);
		return PP_ERR_NOT_FOUND;
	}
	const pp_host_contract_interface *iface = e->iface;
	pp_callee callee = {iface->dispatch_type, &iface->dispatch.native, pp__host_layouts(iface),
	                    NULL};
	pp_call_arena *none_arena = NULL;
	if (check && !check(ud, &callee, &none_arena)) {
		pp__read_unlock(ts);
		*refused = true;
		return PP_ERR_INVALID_POINTER;
	}
	bool single = iface->flags & PP_HOST_CONTRACT_SINGLETON;
	pp_host_contract_instance inst =
	        single ? e->singleton : iface->create_instance(iface, NULL);
	pp_abi_error err = {PP_OK, {NULL, 0}};
	if (iface->dispatch_type == PP_DISPATCH_NATIVE) {
		const pp_native_dispatch *nd = &iface->dispatch.native;
		if (fn >= nd->function_count || !nd->functions || !nd->functions[fn])
			err.code = PP_ERR_FUNCTION_NOT_AVAILABLE;
		else
			((pp_native_host_fn)nd->functions[fn])(inst.data, args, out, &err);
	} else {
		pp_guest_contract_instance none = {NULL, 0};
		iface->dispatch.vm.call(iface->dispatch.vm.loader_data, none, fn, args, out, NULL,
		                        &err);
	}
	char msg[1024]; /* the callee's message may live in the instance */
	if (err.code != PP_OK)
		pp__view_copy(msg, sizeof msg, err.message);
	if (!single)
		iface->destroy_instance(iface, inst);
	pp__read_unlock(ts);
	if (err.code != PP_OK)
		pp__error(rt, err.code, "host contract %016llx, function %u %s%s",
		          (unsigned long long)contract_id, fn,
		          *msg ? "failed: " : "failed with code ",
		          *msg ? msg : pp_status_name(err.code));
	return err.code;
}

static void h_call_guest_contract(const pp_host_api *self, uint64_t contract_id,
                                  uint32_t min_version, uint32_t fn, const void *args, void *out,
                                  pp_call_arena *arena, pp_abi_error *out_err)
{
	pp_runtime *rt = RT(self);
	bool refused = false;
	set_out(rt, out_err,
	        pp__call_peer(rt, contract_id, min_version, fn, args, out, arena, NULL, NULL,
	                      &refused));
}

static void h_call_host_contract(const pp_host_api *self, uint64_t contract_id,
                                 uint32_t min_version, uint32_t fn, const void *args, void *out,
                                 pp_abi_error *out_err)
{
	pp_runtime *rt = RT(self);
	bool refused = false;
	set_out(rt, out_err,
	        pp__call_host(rt, contract_id, min_version, fn, args, out, NULL, NULL, &refused));
}

void pp__host_api_init(pp_runtime *rt)
{
	pp_host_api *h = &rt->host;
	h->size = (uint32_t)sizeof *h;
	h->abi_version = PP_ABI_VERSION;
	h->runtime = rt;
	h->register_guest_contract = h_register_guest_contract;
	h->alloc = h_alloc;
	h->free = h_free;
	h->find_guest_contract = h_find;
	h->find_all_guest_contracts = h_find_all;
	h->resolve_guest_contract = h_resolve;
	h->get_host_contract = h_get_host_contract;
	h->resolve_host_contract_interface = h_resolve_host;
	h->list_bundles = h_list_bundles;
	h->get_dependencies = h_get_dependencies;
	h->load_bundle = h_load_bundle;
	h->reload_bundle = h_reload_bundle;
	h->register_host_contract = h_register_host_contract;
	h->register_loader = h_register_loader;
	h->get_last_error = h_get_last_error;
	h->get_error_len = h_get_error_len;
	h->unload_bundle = h_unload_bundle;
	h->log = h_log;
	h->create_guest_instance = h_create_guest_instance;
	h->destroy_guest_instance = h_destroy_guest_instance;
	h->revision_counter = h_revision_counter;
	h->reserved = NULL;
	h->call_guest_contract = h_call_guest_contract;
	h->call_host_contract = h_call_host_contract;
}
