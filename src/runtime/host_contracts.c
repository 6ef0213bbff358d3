/*
 * host_contracts.c — contracts offered to plugins through the host table:
 * by the host program, or by a plugin (host->register_host_contract). The
 * table is an immutable array swapped in whole under rt->lock and read in
 * read sections without a lock.
 *
 * Each entry has an owner: NULL for the host, else the bundle version that
 * registered it. A plugin's entries leave the table when that version is
 * replaced or unloaded, and their singletons are destroyed with the
 * version's code, before it is unmapped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void table_reclaim(pp_runtime *rt, pp_retired *r)
{
	(void)rt;
	free(pp_container_of(r, pp_host_table, retired));
}

static pp_status check_iface(pp_runtime *rt, const pp_host_contract_interface *iface)
{
	if (!iface)
		return pp__error(rt, PP_ERR_INVALID_POINTER,
		                 "register_host_contract: NULL interface");
	unsigned long long id = (unsigned long long)iface->contract_id;
	uint32_t dt = iface->dispatch_type;
	if (iface->size && iface->size < PP_HOST_CONTRACT_INTERFACE_V2_SIZE)
		return pp__error(
		        rt, PP_ERR_ABI_MISMATCH,
		        "host contract %016llx: an interface of %u bytes, smaller than any "
		        "version of it (%zu)",
		        id, iface->size, (size_t)PP_HOST_CONTRACT_INTERFACE_V2_SIZE);
	if (iface->flags & ~(uint32_t)PP_HOST_CONTRACT_SINGLETON)
		return pp__error(rt, PP_ERR_INVALID_ARGUMENT,
		                 "host contract %016llx: unknown flags %#x", id,
		                 iface->flags & ~(uint32_t)PP_HOST_CONTRACT_SINGLETON);
	if (dt != PP_DISPATCH_NATIVE && dt != PP_DISPATCH_VM)
		return pp__error(rt, PP_ERR_INVALID_ARGUMENT,
		                 "host contract %016llx: unknown dispatch type %u", id, dt);
	if (!iface->create_instance || !iface->destroy_instance)
		return pp__error(rt, PP_ERR_INVALID_POINTER,
		                 "host contract %016llx: create_instance and destroy_instance are "
		                 "required",
		                 id);
	if (dt == PP_DISPATCH_NATIVE) {
		const pp_native_dispatch *nd = &iface->dispatch.native;
		if (nd->function_count > PP_MAX_CONTRACT_FUNCTIONS)
			return pp__error(rt, PP_ERR_INVALID_ARGUMENT,
			                 "host contract %016llx: %u functions; the limit is %u", id,
			                 nd->function_count, PP_MAX_CONTRACT_FUNCTIONS);
		if (nd->function_count && !nd->functions)
			return pp__error(rt, PP_ERR_INVALID_POINTER,
			                 "host contract %016llx: NULL function table", id);
		for (uint32_t i = 0; i < nd->function_count; i++)
			if (!nd->functions[i])
				return pp__error(rt, PP_ERR_INVALID_POINTER,
				                 "host contract %016llx: NULL function at index %u",
				                 id, i);
		/* kept, not copied, like the interface: checked once here */
		const pp_fn_layout *layouts = pp__host_layouts(iface);
		char who[48];
		snprintf(who, sizeof who, "host contract %016llx", id);
		size_t views;
		if (layouts)
			return pp__check_layouts(rt, who, layouts, nd->function_count, &views);
	} else if (!iface->dispatch.vm.call) {
		return pp__error(rt, PP_ERR_INVALID_POINTER,
		                 "host contract %016llx: VM dispatch with a NULL call", id);
	}
	return PP_OK;
}

static pp_status duplicate(pp_runtime *rt, uint64_t id)
{
	return pp__error(rt, PP_ERR_DUPLICATE_PROVIDER,
	                 "host contract %016llx is already registered", (unsigned long long)id);
}

/* True if the table has id from anyone but drop's bundle version. */
/* True if e belongs to one of the versions dropped. */
static bool dropped_by(const pp_host_entry *e, const pp_bundle_version *const *drop, size_t ndrop)
{
	for (size_t i = 0; i < ndrop; i++)
		if (e->owner == drop[i])
			return true;
	return false;
}

static bool taken(const pp_host_table *t, uint64_t id, const pp_bundle_version *const *drop,
                  size_t ndrop)
{
	for (size_t i = 0; t && i < t->count; i++)
		if (t->entries[i].iface->contract_id == id &&
		    !dropped_by(&t->entries[i], drop, ndrop))
			return true;
	return false;
}

/* A new table: the current one less the dropped versions' entries plus
 * add[0..n). Caller holds rt->lock. *out is NULL when nothing would
 * change. */
static pp_status table_build(pp_runtime *rt, const pp_host_entry *add, size_t n,
                             const pp_bundle_version *const *drop, size_t ndrop,
                             pp_host_table **out)
{
	*out = NULL;
	pp_host_table *old = atomic_load_explicit(&rt->hosts, memory_order_relaxed);
	size_t keep = 0, dropped = 0;
	for (size_t i = 0; old && i < old->count; i++) {
		bool gone = dropped_by(&old->entries[i], drop, ndrop);
		keep += !gone;
		dropped += gone;
	}
	if (n == 0 && dropped == 0)
		return PP_OK;
	for (size_t i = 0; i < n; i++) {
		if (taken(old, add[i].iface->contract_id, drop, ndrop))
			return duplicate(rt, add[i].iface->contract_id);
		for (size_t j = 0; j < i; j++)
			if (add[j].iface->contract_id == add[i].iface->contract_id)
				return duplicate(rt, add[i].iface->contract_id);
	}
	pp_host_table *t = malloc(sizeof *t + (keep + n + 1) * sizeof t->entries[0]);
	if (!t)
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY,
		                 "out of memory registering a host contract");
	t->count = 0;
	for (size_t i = 0; old && i < old->count; i++)
		if (!dropped_by(&old->entries[i], drop, ndrop))
			t->entries[t->count++] = old->entries[i];
	for (size_t i = 0; i < n; i++)
		t->entries[t->count++] = add[i];
	*out = t;
	return PP_OK;
}

void pp__host_contracts_commit(pp_runtime *rt, pp_host_table *t)
{
	if (!t)
		return;
	PP_TSAN_RELEASE(&rt->hot.tsan_sync);
	pp_host_table *old = atomic_exchange_explicit(&rt->hosts, t, memory_order_acq_rel);
	if (old)
		pp__retire(rt, &old->retired, table_reclaim);
}

static pp_host_contract_instance make_singleton(const pp_host_contract_interface *iface)
{
	pp_host_contract_instance none = {NULL};
	return iface->flags & PP_HOST_CONTRACT_SINGLETON ? iface->create_instance(iface, NULL)
	                                                 : none;
}

static void drop_singleton(const pp_host_entry *e)
{
	if (e->iface->flags & PP_HOST_CONTRACT_SINGLETON)
		e->iface->destroy_instance(e->iface, e->singleton);
}

/* Appends e to v's list (v's init, or rt->lock held). */
static bool remember(pp_bundle_version *v, const pp_host_entry *e)
{
	pp_host_entry *bigger = realloc(v->hosts, (v->host_count + 1) * sizeof *bigger);
	if (!bigger)
		return false;
	bigger[v->host_count++] = *e;
	v->hosts = bigger;
	return true;
}

/* Adds the owner of one pointer of a plugin's host contract. */
static pp_status owner_of(pp_runtime *rt, const void *p, uint64_t id, pp_bundle_version **owner)
{
	pp_bundle_version *v = pp__version_owning(rt, p);
	if (!v && pp__native_is_bundle_code(p))
		return pp__error(rt, PP_ERR_STALE_HANDLE,
		                 "host contract %016llx: registered with code of a bundle version "
		                 "that is not serving (replaced, unloaded, or still initialising)",
		                 (unsigned long long)id);
	if (v && *owner && v != *owner)
		return pp__error(rt, PP_ERR_INVALID_ARGUMENT,
		                 "host contract %016llx: its code lies in two bundles",
		                 (unsigned long long)id);
	if (v)
		*owner = v;
	return PP_OK;
}

/* The serving version whose code holds the interface or any code it points
 * to (NULL: none, the host's). Refused when one of those pointers reaches
 * into a bundle copy that is not serving, or they reach into two bundles.
 * Caller holds rt->lock. */
static pp_status find_owner(pp_runtime *rt, const pp_host_contract_interface *iface,
                            pp_bundle_version **owner)
{
	uint64_t id = iface->contract_id;
	*owner = NULL;
	pp_status st = owner_of(rt, iface, id, owner);
	if (st == PP_OK)
		st = owner_of(rt, (const void *)iface->create_instance, id, owner);
	if (st == PP_OK)
		st = owner_of(rt, (const void *)iface->destroy_instance, id, owner);
	if (st == PP_OK && iface->dispatch_type == PP_DISPATCH_VM)
		st = owner_of(rt, (const void *)iface->dispatch.vm.call, id, owner);
	const pp_native_dispatch *nd = &iface->dispatch.native;
	for (uint32_t i = 0;
	     st == PP_OK && iface->dispatch_type == PP_DISPATCH_NATIVE && i < nd->function_count;
	     i++)
		st = owner_of(rt, nd->functions[i], id, owner);
	return st;
}

pp_status pp__host_contracts_register(pp_runtime *rt, const pp_host_contract_interface *iface,
                                      bool by_plugin)
{
	pp_status st = check_iface(rt, iface);
	if (st != PP_OK)
		return st;
	/* The host's own registrations are never a bundle's, whatever runs on
	 * the thread; a plugin's, made by the code of the init running, are
	 * published with that init's version. */
	pp_bundle_version *staging = by_plugin ? pp__init_version(rt) : NULL;
	if (staging) {
		pthread_mutex_lock(&rt->lock);
		if (pp__foreign_owner(rt, staging, iface, (const void *)iface->create_instance,
		                      (const void *)iface->destroy_instance))
			staging = NULL; /* a peer's code, called by the init: the peer's */
		pthread_mutex_unlock(&rt->lock);
	}
	if (staging) {
		/* Published with the version; checked early for a clear error. */
		for (size_t i = 0; i < staging->host_count; i++)
			if (staging->hosts[i].iface->contract_id == iface->contract_id)
				return duplicate(rt, iface->contract_id);
		pthread_mutex_lock(&rt->lock);
		const pp_bundle_version *cur = staging->bundle->cur;
		bool dup = taken(atomic_load_explicit(&rt->hosts, memory_order_relaxed),
		                 iface->contract_id, &cur, cur ? 1 : 0);
		pthread_mutex_unlock(&rt->lock);
		if (dup)
			return duplicate(rt, iface->contract_id);
		pp_host_entry e = {iface, make_singleton(iface), staging};
		if (!remember(staging, &e)) {
			drop_singleton(&e);
			return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
		}
		return PP_OK;
	}
	/* The singleton is made outside the lock: it is plugin or host code. */
	pp_host_entry e = {iface, make_singleton(iface), NULL};
	pthread_mutex_lock(&rt->lock);
	if (rt->closing)
		st = pp__error(rt, PP_ERR_UNSUPPORTED,
		               "host contract %016llx: the runtime is being freed",
		               (unsigned long long)iface->contract_id);
	/* From plugin code outside init: the version whose code holds it owns
	 * it, found in the same locked section that publishes it, so a reload
	 * cannot retire the owner in between. Code of a replaced version may
	 * not register at all: nothing would remove it before its unmapping. */
	if (st == PP_OK && by_plugin)
		st = find_owner(rt, iface, &e.owner);
	pp_host_table *t = NULL;
	if (st == PP_OK)
		st = table_build(rt, &e, 1, NULL, 0, &t);
	if (st == PP_OK && e.owner && !remember(e.owner, &e))
		st = pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	if (st == PP_OK)
		pp__host_contracts_commit(rt, t);
	else
		free(t);
	pthread_mutex_unlock(&rt->lock);
	if (st != PP_OK)
		drop_singleton(&e);
	return st;
}

pp_status pp__host_contracts_prepare(pp_runtime *rt, const pp_bundle_version *nv,
                                     const pp_bundle_version *old, pp_host_table **out)
{
	return table_build(rt, nv ? nv->hosts : NULL, nv ? nv->host_count : 0, &old, old ? 1 : 0,
	                   out);
}

pp_status pp__host_contracts_prepare_drop(pp_runtime *rt, const pp_bundle_version *const *drop,
                                          size_t n, pp_host_table **out)
{
	return table_build(rt, NULL, 0, drop, n, out);
}

void pp__host_contracts_free(pp_runtime *rt, pp_bundle_version *v)
{
	(void)rt;
	for (size_t i = 0; i < v->host_count; i++)
		drop_singleton(&v->hosts[i]);
	free(v->hosts);
	v->hosts = NULL;
	v->host_count = 0;
}

const pp_host_entry *pp__host_contracts_find(pp_runtime *rt, uint64_t contract_id,
                                             uint32_t min_version, uint32_t *why)
{
	pp_host_table *t = atomic_load_explicit(&rt->hosts, memory_order_acquire);
	PP_TSAN_ACQUIRE(&rt->hot.tsan_sync);
	*why = PP_ERR_HOST_CONTRACT_NOT_FOUND;
	for (size_t i = 0; t && i < t->count; i++) {
		const pp_host_contract_interface *h = t->entries[i].iface;
		if (h->contract_id != contract_id)
			continue;
		/* Host lookups pack major << 16 | minor; 0 takes any version. */
		if (min_version != 0 && (h->contract_version.major != (min_version >> 16) ||
		                         h->contract_version.minor < (min_version & 0xFFFFu))) {
			*why = PP_ERR_HOST_CONTRACT_VERSION_MISMATCH;
			return NULL;
		}
		*why = PP_OK;
		return &t->entries[i];
	}
	return NULL;
}

void pp__host_contracts_destroy(pp_runtime *rt)
{
	/* Every bundle is unloaded: what is left is the host's own. */
	pthread_mutex_lock(&rt->lock);
	pp_host_table *t = atomic_exchange_explicit(&rt->hosts, NULL, memory_order_acq_rel);
	pthread_mutex_unlock(&rt->lock);
	if (!t)
		return;
	for (size_t i = 0; i < t->count; i++)
		if (!t->entries[i].owner)
			drop_singleton(&t->entries[i]);
	pp__retire(rt, &t->retired, table_reclaim);
}

pp_status pp_host_contract_register(pp_runtime *rt, const pp_host_contract_interface *iface)
{
	return pp__host_contracts_register(rt, iface, false);
}
