/*
 * host_contracts.c — contracts the host program offers to plugins. The table
 * is an immutable array published through RCU: lookups take no lock, and a
 * registration copies the array and swaps it in.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void table_reclaim(struct rcu_head *head)
{
	pp_host_table *t = caa_container_of(head, pp_host_table, rcu);
	PP_TSAN_ACQUIRE(head);
	pp_runtime *rt = t->rt;
	pp__reclaim_begin(rt);
	free(t);
	pp__reclaim_end(rt);
}

pp_status pp__host_contracts_register(pp_runtime *rt, const pp_host_contract_interface *iface)
{
	if (!iface)
		return pp__error(rt, PP_ERR_INVALID_POINTER,
		                 "register_host_contract: NULL interface");
	uint32_t dt = iface->dispatch_type;
	if (dt != PP_DISPATCH_NATIVE && dt != PP_DISPATCH_VM)
		return pp__error(rt, PP_ERR_INVALID_ARGUMENT,
		                 "host contract %016llx: unknown dispatch type %u",
		                 (unsigned long long)iface->contract_id, dt);
	if (!iface->create_instance || !iface->destroy_instance)
		return pp__error(rt, PP_ERR_INVALID_POINTER,
		                 "host contract %016llx: create_instance and destroy_instance are "
		                 "required",
		                 (unsigned long long)iface->contract_id);
	if (dt == PP_DISPATCH_NATIVE) {
		const pp_native_dispatch *nd = &iface->dispatch.native;
		if (nd->function_count && !nd->functions)
			return pp__error(rt, PP_ERR_INVALID_POINTER,
			                 "host contract %016llx: NULL function table",
			                 (unsigned long long)iface->contract_id);
		for (uint32_t i = 0; i < nd->function_count; i++)
			if (!nd->functions[i])
				return pp__error(rt, PP_ERR_INVALID_POINTER,
				                 "host contract %016llx: NULL function at index %u",
				                 (unsigned long long)iface->contract_id, i);
	} else if (!iface->dispatch.vm.call) {
		return pp__error(rt, PP_ERR_INVALID_POINTER,
		                 "host contract %016llx: VM dispatch with a NULL call",
		                 (unsigned long long)iface->contract_id);
	}

	pthread_mutex_lock(&rt->lock);
	pp_host_table *old = atomic_load_explicit(&rt->hosts, memory_order_relaxed);
	size_t n = old ? old->count : 0;
	for (size_t i = 0; i < n; i++) {
		if (old->entries[i].iface->contract_id == iface->contract_id) {
			pthread_mutex_unlock(&rt->lock);
			return pp__error(rt, PP_ERR_DUPLICATE_PROVIDER,
			                 "host contract %016llx is already registered",
			                 (unsigned long long)iface->contract_id);
		}
	}
	pp_host_table *t = malloc(sizeof *t + (n + 1) * sizeof t->entries[0]);
	if (!t) {
		pthread_mutex_unlock(&rt->lock);
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	}
	t->rt = rt;
	t->count = n + 1;
	if (n)
		memcpy(t->entries, old->entries, n * sizeof t->entries[0]);
	t->entries[n].iface = iface;
	t->entries[n].singleton.data = NULL;
	if (iface->singleton)
		t->entries[n].singleton = iface->create_instance(iface, NULL);
	PP_TSAN_RELEASE(&rt->tsan_sync);
	atomic_store_explicit(&rt->hosts, t, memory_order_release);
	if (old)
		pp__defer(rt, &old->rcu, table_reclaim);
	pthread_mutex_unlock(&rt->lock);
	return PP_OK;
}

/* Caller holds the read lock. */
const pp_host_entry *pp__host_contracts_find(pp_runtime *rt, uint64_t contract_id,
                                             uint32_t min_version, uint32_t *why)
{
	pp_host_table *t = atomic_load_explicit(&rt->hosts, memory_order_acquire);
	PP_TSAN_ACQUIRE(&rt->tsan_sync);
	*why = PP_ERR_HOST_CONTRACT_NOT_FOUND;
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->count; i++) {
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
	pp_host_table *t = atomic_exchange_explicit(&rt->hosts, NULL, memory_order_acq_rel);
	if (!t)
		return;
	for (size_t i = 0; i < t->count; i++)
		if (t->entries[i].iface->singleton)
			t->entries[i].iface->destroy_instance(t->entries[i].iface,
			                                      t->entries[i].singleton);
	pp__defer(rt, &t->rcu, table_reclaim);
}

pp_status pp_host_contract_register(pp_runtime *rt, const pp_host_contract_interface *iface)
{
	return pp__host_contracts_register(rt, iface);
}
