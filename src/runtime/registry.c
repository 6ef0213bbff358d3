/*
 * registry.c — the guest contract registry: generational slots that handles
 * point at, an RCU hash table from contract id to providers, and the staging
 * that makes a bundle's registrations one transaction.
 *
 * Readers (find, resolve) take no lock: they run inside an RCU read-side
 * section and see either the old or the new state of every slot. Writers hold
 * rt->lock. Unpublished nodes are freed after a grace period.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static unsigned long hash_id(uint64_t id)
{
	/* ids are FNV hashes already; fold to the word size. */
	return (unsigned long)(id ^ (id >> 32));
}

static int match_id(struct cds_lfht_node *n, const void *key)
{
	const pp_contract_node *c = caa_container_of(n, pp_contract_node, ht_node);
	PP_TSAN_ACQUIRE(c); /* published through liburcu, which TSan cannot see */
	return c->iface.contract_id == *(const uint64_t *)key;
}

pp_status pp__registry_init(pp_runtime *rt)
{
	pp_registry *r = &rt->reg;
	for (size_t i = 0; i < PP_MAX_CHUNKS; i++)
		atomic_init(&r->chunks[i], NULL);
	r->free_head = UINT32_MAX;
	r->ht = cds_lfht_new_flavor(16, 16, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING,
	                            &urcu_bp_flavor, NULL);
	return r->ht ? PP_OK : PP_ERR_OUT_OF_MEMORY;
}

static void node_free(pp_contract_node *n)
{
	while (n->live) {
		pp_live_instance *l = n->live;
		n->live = l->next;
		free(l);
	}
	pthread_mutex_destroy(&n->inst_lock);
	free(n->contract_name);
	free(n->plugin_name);
	free(n);
}

void pp__registry_destroy(pp_runtime *rt)
{
	pp_registry *r = &rt->reg;
	/* Every bundle is gone by now, so the table is empty. */
	cds_lfht_destroy(r->ht, NULL);
	for (size_t i = 0; i < PP_MAX_CHUNKS; i++)
		free(atomic_load_explicit(&r->chunks[i], memory_order_relaxed));
}

bool pp__version_matches(pp_version v, uint32_t min_version)
{
	if (min_version == 0)
		return true;
	/* Below 65536 a plain major (what generated callers pass); above, the
	 * packed major << 16 | minor of JS registrations and host lookups. */
	uint32_t major = min_version < 65536 ? min_version : min_version >> 16;
	uint32_t minor = min_version < 65536 ? 0 : min_version & 0xFFFFu;
	return v.major == major && v.minor >= minor;
}

/* ---- Slots ---------------------------------------------------------------- */

static pp_slot *slot_at(pp_registry *r, uint32_t index)
{
	if (index / PP_SLOT_CHUNK >= PP_MAX_CHUNKS)
		return NULL;
	pp_slot *chunk =
	        atomic_load_explicit(&r->chunks[index / PP_SLOT_CHUNK], memory_order_acquire);
	return chunk ? &chunk[index % PP_SLOT_CHUNK] : NULL;
}

/* Takes a free slot (writer side). Its generation is bumped, so handles to a
 * previous occupant can never match the new one. */
static pp_slot *slot_acquire(pp_registry *r, uint32_t *out_index)
{
	uint32_t index;
	if (r->free_head != UINT32_MAX) {
		index = r->free_head;
		r->free_head = slot_at(r, index)->next_free;
	} else {
		index = r->slot_count;
		uint32_t chunk = index / PP_SLOT_CHUNK;
		if (chunk >= PP_MAX_CHUNKS)
			return NULL;
		if (!atomic_load_explicit(&r->chunks[chunk], memory_order_relaxed)) {
			pp_slot *c = calloc(PP_SLOT_CHUNK, sizeof *c);
			if (!c)
				return NULL;
			for (uint32_t i = 0; i < PP_SLOT_CHUNK; i++)
				atomic_init(&c[i].node, NULL);
			atomic_store_explicit(&r->chunks[chunk], c, memory_order_release);
		}
		r->slot_count++;
	}
	pp_slot *s = slot_at(r, index);
	s->generation++;
	if (s->generation == 0)
		s->generation = 1; /* 0 is the null handle's */
	*out_index = index;
	return s;
}

static void slot_release(pp_registry *r, uint32_t index)
{
	pp_slot *s = slot_at(r, index);
	atomic_store_explicit(&s->node, NULL, memory_order_release);
	s->generation++; /* stale from now on, even before reuse */
	s->next_free = r->free_head;
	r->free_head = index;
}

/* ---- Staging -------------------------------------------------------------- */

static bool view_ok(pp_string_view v)
{
	return (v.ptr != NULL || v.len == 0) && v.len < (1u << 20) && pp__utf8_valid(v.ptr, v.len);
}

pp_status pp__registry_stage(pp_runtime *rt, pp_bundle *b, const pp_plugin_descriptor *d,
                             const pp_guest_contract_interface *iface)
{
	if (!d || !iface)
		return pp__error(rt, PP_ERR_INVALID_POINTER,
		                 "bundle '%s': register_guest_contract with a NULL %s", b->name,
		                 d ? "interface" : "descriptor");
	if (!view_ok(d->name) || !view_ok(d->contract_name))
		return pp__error(rt, PP_ERR_INVALID_ARGUMENT,
		                 "bundle '%s': contract descriptor names must be valid UTF-8",
		                 b->name);
	/* Read the dispatch type as the raw integer it is on the wire. */
	uint32_t dt;
	memcpy(&dt, (const uint8_t *)iface + offsetof(pp_guest_contract_interface, dispatch_type),
	       sizeof dt);
	const char *cname = d->contract_name.len ? "" : "(unnamed)";
	int clen = (int)d->contract_name.len;
	if (dt != PP_DISPATCH_NATIVE && dt != PP_DISPATCH_VM)
		return pp__error(rt, PP_ERR_INVALID_ARGUMENT,
		                 "bundle '%s': contract '%.*s%s' has unknown dispatch type %u",
		                 b->name, clen, (const char *)d->contract_name.ptr, cname, dt);
	if (!iface->create_instance || !iface->destroy_instance)
		return pp__error(rt, PP_ERR_INVALID_POINTER,
		                 "bundle '%s': contract '%.*s%s' lacks create_instance or "
		                 "destroy_instance",
		                 b->name, clen, (const char *)d->contract_name.ptr, cname);
	if (dt == PP_DISPATCH_NATIVE) {
		const pp_native_dispatch *nd = &iface->dispatch.native;
		if (nd->function_count && !nd->functions)
			return pp__error(rt, PP_ERR_INVALID_POINTER,
			                 "bundle '%s': contract '%.*s%s' declares %u functions "
			                 "but a NULL table",
			                 b->name, clen, (const char *)d->contract_name.ptr, cname,
			                 nd->function_count);
		for (uint32_t i = 0; i < nd->function_count; i++)
			if (!nd->functions[i])
				return pp__error(rt, PP_ERR_INVALID_POINTER,
				                 "bundle '%s': contract '%.*s%s' has a NULL "
				                 "function at index %u",
				                 b->name, clen, (const char *)d->contract_name.ptr,
				                 cname, i);
	} else if (!iface->dispatch.vm.call) {
		return pp__error(rt, PP_ERR_INVALID_POINTER,
		                 "bundle '%s': contract '%.*s%s' has VM dispatch with a NULL call",
		                 b->name, clen, (const char *)d->contract_name.ptr, cname);
	}
	for (const pp_contract_node *n = b->staged; n; n = n->next)
		if (n->iface.contract_id == iface->contract_id)
			return pp__error(rt, PP_ERR_DUPLICATE_PROVIDER,
			                 "bundle '%s' registered contract '%s' twice", b->name,
			                 n->contract_name);

	pp_contract_node *n = calloc(1, sizeof *n);
	if (!n)
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	pthread_mutex_init(&n->inst_lock, NULL);
	n->iface = *iface;
	n->iface.dispatch_type = dt;
	n->rt = rt;
	n->bundle = b;
	n->bundle_id = b->id;
	n->contract_name = pp__strndup(d->contract_name.ptr, d->contract_name.len);
	n->plugin_name = pp__strndup(d->name.ptr, d->name.len);
	if (!n->contract_name || !n->plugin_name) {
		node_free(n);
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	}
	n->function_count = dt == PP_DISPATCH_NATIVE ? iface->dispatch.native.function_count : 0;
	cds_lfht_node_init(&n->ht_node);
	n->next = b->staged;
	b->staged = n;
	b->staged_count++;
	return PP_OK;
}

void pp__registry_staged_function_count(pp_runtime *rt, uint64_t contract_id, uint32_t count)
{
	pp_bundle *b = pp__init_bundle(rt);
	for (pp_contract_node *n = b ? b->staged : NULL; n; n = n->next)
		if (n->iface.contract_id == contract_id)
			n->function_count = count;
}

void pp__registry_discard_staged(pp_runtime *rt, pp_bundle *b)
{
	(void)rt;
	while (b->staged) {
		pp_contract_node *n = b->staged;
		b->staged = n->next;
		node_free(n);
	}
	b->staged_count = 0;
}

/* ---- Publish / unpublish -------------------------------------------------- */

/* Runs after the grace period, and before the version's code is released
 * (call_rcu callbacks run in the order they were queued, and a version's
 * nodes are always retired before its code). */
static void node_reclaim(struct rcu_head *head)
{
	pp_contract_node *n = caa_container_of(head, pp_contract_node, rcu);
	PP_TSAN_ACQUIRE(head);
	pp_runtime *rt = n->rt;
	pp__reclaim_begin(rt);
	pthread_mutex_lock(&n->inst_lock);
	pp_live_instance *left = n->live;
	n->live = NULL;
	pthread_mutex_unlock(&n->inst_lock);
	pp_vm_loader_data ld = {n->iface.dispatch_type == PP_DISPATCH_VM
	                                ? n->iface.dispatch.vm.loader_data.data
	                                : NULL};
	while (left) {
		pp_live_instance *l = left;
		left = l->next;
		pp_guest_contract_instance inst = {l->data, n->iface.contract_id};
		n->iface.destroy_instance(ld, &rt->host, inst);
		free(l);
	}
	node_free(n);
	pp__reclaim_end(rt);
}

pp_status pp__instance_track(pp_contract_node *n, void *data)
{
	pp_live_instance *l = malloc(sizeof *l);
	if (!l)
		return PP_ERR_OUT_OF_MEMORY;
	l->data = data;
	pthread_mutex_lock(&n->inst_lock);
	l->next = n->live;
	n->live = l;
	pthread_mutex_unlock(&n->inst_lock);
	return PP_OK;
}

bool pp__instance_untrack(pp_contract_node *n, void *data)
{
	pthread_mutex_lock(&n->inst_lock);
	pp_live_instance **link = &n->live;
	while (*link && (*link)->data != data)
		link = &(*link)->next;
	pp_live_instance *l = *link;
	if (l)
		*link = l->next;
	pthread_mutex_unlock(&n->inst_lock);
	free(l);
	return l != NULL;
}

/* Removes a published node from the table and schedules it for reclamation. */
static void node_retire(pp_runtime *rt, pp_contract_node *n)
{
	rcu_read_lock();
	cds_lfht_del(rt->reg.ht, &n->ht_node);
	rcu_read_unlock();
	rt->reg.published--;
	pp__defer(rt, &n->rcu, node_reclaim);
}

static pp_contract_node *find_published(pp_bundle *b, uint64_t contract_id)
{
	for (pp_contract_node *n = b->contracts; n; n = n->next)
		if (n->iface.contract_id == contract_id)
			return n;
	return NULL;
}

/*
 * Publishes b's staged registrations. A contract b already published (a
 * reload) keeps its slot and generation — the new node is swapped in, so
 * handles stay valid — and its registration order; contracts b no longer
 * provides are unpublished; new ones get fresh slots. All or nothing: slots
 * are taken before anything becomes visible.
 */
pp_status pp__registry_publish(pp_runtime *rt, pp_bundle *b)
{
	pp_registry *r = &rt->reg;
	uint32_t need = 0;
	for (pp_contract_node *n = b->staged; n; n = n->next)
		if (!find_published(b, n->iface.contract_id))
			need++;
	/* Reserve the fresh slots up front so that failure leaves nothing behind. */
	uint32_t *fresh = need ? calloc(need, sizeof *fresh) : NULL;
	if (need && !fresh)
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	for (uint32_t i = 0; i < need; i++) {
		if (!slot_acquire(r, &fresh[i])) {
			while (i--)
				slot_release(r, fresh[i]);
			free(fresh);
			return pp__error(rt, PP_ERR_OUT_OF_MEMORY,
			                 "bundle '%s': the registry is full", b->name);
		}
	}

	pp_contract_node *old = b->contracts, *published = NULL;
	b->contracts = NULL;
	uint32_t next_fresh = 0;
	while (b->staged) {
		pp_contract_node *n = b->staged;
		b->staged = n->next;
		pp_contract_node *prev = NULL, *o = old;
		while (o && o->iface.contract_id != n->iface.contract_id) {
			prev = o;
			o = o->next;
		}
		if (o) { /* reload: same slot, same generation, same order */
			if (prev)
				prev->next = o->next;
			else
				old = o->next;
			n->slot = o->slot;
			n->generation = o->generation;
			n->seq = o->seq;
		} else {
			if (!fresh || next_fresh >= need)
				abort(); /* counted above: a broken invariant, not bad input */
			n->slot = fresh[next_fresh++];
			n->generation = slot_at(r, n->slot)->generation;
			n->seq = r->next_seq++;
		}
		PP_TSAN_RELEASE(&rt->tsan_sync);
		PP_TSAN_RELEASE(n);
		rcu_read_lock();
		cds_lfht_add(r->ht, hash_id(n->iface.contract_id), &n->ht_node);
		rcu_read_unlock();
		atomic_store_explicit(&slot_at(r, n->slot)->node, n, memory_order_release);
		r->published++;
		if (o)
			node_retire(rt, o);
		n->next = published;
		published = n;
	}
	b->staged_count = 0;
	free(fresh);
	/* Whatever the old version provided and the new one does not. */
	while (old) {
		pp_contract_node *o = old;
		old = o->next;
		slot_release(r, o->slot);
		node_retire(rt, o);
	}
	b->contracts = published;
	return PP_OK;
}

void pp__registry_unpublish(pp_runtime *rt, pp_bundle *b)
{
	while (b->contracts) {
		pp_contract_node *n = b->contracts;
		b->contracts = n->next;
		slot_release(&rt->reg, n->slot);
		node_retire(rt, n);
	}
}

/* ---- Reads ---------------------------------------------------------------- */

/* During a bundle's init it sees only what it declared as dependencies:
 * contracts it named (from anyone), and anything the bundles it named by
 * name provide. NULL viewer (the host, calls after init): everything. */
typedef enum { SEE_ALL, SEE_NONE, SEE_FROM_BUNDLE_DEPS } visibility;

static visibility visible_to(const pp_bundle *viewer, uint64_t contract_id)
{
	if (!viewer)
		return SEE_ALL;
	for (size_t i = 0; i < viewer->dep_count; i++)
		if (viewer->deps[i].contract_id == contract_id)
			return SEE_ALL;
	return viewer->bundle_dep_count ? SEE_FROM_BUNDLE_DEPS : SEE_NONE;
}

static bool from_bundle_deps(const pp_bundle *viewer, const pp_contract_node *n)
{
	for (size_t i = 0; i < viewer->bundle_dep_count; i++)
		if (pp_bundle_id(viewer->bundle_deps[i]) == n->bundle_id)
			return true;
	return false;
}

/* Calls fn for each live provider of contract_id that matches min_version
 * (and, with only_deps_of, that one of its bundle dependencies provides), in
 * no particular order. The caller holds the read lock. */
static void for_each_match(pp_runtime *rt, uint64_t contract_id, uint32_t min_version,
                           const pp_bundle *only_deps_of,
                           void (*fn)(const pp_contract_node *n, void *ud), void *ud)
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *hn;
	cds_lfht_lookup(rt->reg.ht, hash_id(contract_id), match_id, &contract_id, &it);
	for (; (hn = cds_lfht_iter_get_node(&it)) != NULL;
	     cds_lfht_next_duplicate(rt->reg.ht, match_id, &contract_id, &it)) {
		const pp_contract_node *n = caa_container_of(hn, pp_contract_node, ht_node);
		PP_TSAN_ACQUIRE(&rt->tsan_sync);
		/* During a reload swap both nodes are in the table; the slot says
		 * which one is live. */
		if (atomic_load_explicit(&slot_at(&rt->reg, n->slot)->node, memory_order_acquire) ==
		            n &&
		    pp__version_matches(n->iface.contract_version, min_version) &&
		    (!only_deps_of || from_bundle_deps(only_deps_of, n)))
			fn(n, ud);
	}
}

typedef struct {
	uint64_t seq;
	pp_guest_contract_handle h;
} ordered_handle;

static void keep_first(const pp_contract_node *n, void *ud)
{
	ordered_handle *best = ud;
	if (n->seq < best->seq) {
		best->seq = n->seq;
		best->h.index = n->slot;
		best->h.generation = n->generation;
	}
}

pp_guest_contract_handle pp__registry_find(pp_runtime *rt, uint64_t contract_id,
                                           uint32_t min_version, const pp_bundle *viewer)
{
	ordered_handle best = {UINT64_MAX, pp_handle_null()};
	visibility vis = visible_to(viewer, contract_id);
	if (vis == SEE_NONE)
		return best.h;
	rcu_read_lock();
	for_each_match(rt, contract_id, min_version, vis == SEE_ALL ? NULL : viewer, keep_first,
	               &best);
	PP_TSAN_RELEASE(&rt->tsan_sync);
	rcu_read_unlock();
	return best.h;
}

typedef struct {
	ordered_handle local[32];
	ordered_handle *all;
	size_t count, room;
} handle_list;

static void collect(const pp_contract_node *n, void *ud)
{
	handle_list *l = ud;
	if (l->count == l->room) {
		ordered_handle *bigger = malloc(l->room * 2 * sizeof *bigger);
		if (!bigger)
			return; /* report what fits */
		memcpy(bigger, l->all, l->count * sizeof *bigger);
		if (l->all != l->local)
			free(l->all);
		l->all = bigger;
		l->room *= 2;
	}
	ordered_handle *o = &l->all[l->count++];
	o->seq = n->seq;
	o->h.index = n->slot;
	o->h.generation = n->generation;
}

static int by_seq(const void *a, const void *b)
{
	uint64_t x = ((const ordered_handle *)a)->seq, y = ((const ordered_handle *)b)->seq;
	return x < y ? -1 : x > y;
}

size_t pp__registry_find_all(pp_runtime *rt, uint64_t contract_id, uint32_t min_version,
                             const pp_bundle *viewer, pp_guest_contract_handle *out, size_t cap)
{
	visibility vis = visible_to(viewer, contract_id);
	if (vis == SEE_NONE)
		return 0;
	handle_list l;
	l.all = l.local;
	l.count = 0;
	l.room = sizeof l.local / sizeof l.local[0];
	rcu_read_lock();
	for_each_match(rt, contract_id, min_version, vis == SEE_ALL ? NULL : viewer, collect, &l);
	PP_TSAN_RELEASE(&rt->tsan_sync);
	rcu_read_unlock();
	qsort(l.all, l.count, sizeof *l.all, by_seq);
	for (size_t i = 0; i < l.count && i < cap; i++)
		out[i] = l.all[i].h;
	size_t count = l.count;
	if (l.all != l.local)
		free(l.all);
	return count;
}

/* Caller holds the read lock (or otherwise knows the node cannot go away). */
const pp_contract_node *pp__registry_resolve(pp_runtime *rt, pp_guest_contract_handle h)
{
	if (h.generation == 0)
		return NULL;
	pp_slot *s = slot_at(&rt->reg, h.index);
	if (!s)
		return NULL;
	pp_contract_node *n = atomic_load_explicit(&s->node, memory_order_acquire);
	return n && n->generation == h.generation ? n : NULL;
}
