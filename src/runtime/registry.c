/*
 * registry.c — the guest contract registry: generational slots that handles
 * point at, an immutable index from contract id to providers, and the
 * staging that makes a bundle version's registrations one transaction.
 *
 * Readers (find, resolve, call) take no lock: they run in a read section
 * (grace.c) and see either the old or the new state of every slot and the
 * old or the new index. Writers hold rt->lock. Nodes belong to their bundle
 * version and are freed with it, after a grace period.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

#include "internal.h"

static void table_reclaim(pp_runtime *rt, pp_retired *r)
{
	(void)rt;
	free((pp_ptrset_table *)(void *)r); /* retired comes first */
}

static void retire_table(void *rt, pp_ptrset_table *t)
{
	pp__retire(rt, &t->retired, table_reclaim);
}

static void node_free(pp_contract_node *n)
{
	pp__ptrset_clear(&n->live);
	pthread_mutex_destroy(&n->inst_lock);
	free(n->layouts);
	free(n->contract_name);
	free(n->plugin_name);
	free(n);
}

static void index_reclaim(pp_runtime *rt, pp_retired *r)
{
	(void)rt;
	free(pp_container_of(r, pp_index, retired));
}

pp_status pp__registry_init(pp_runtime *rt)
{
	pp_registry *r = &rt->reg;
	void *slots = mmap(NULL, (size_t)PP_MAX_SLOTS * sizeof(pp_slot), PROT_READ | PROT_WRITE,
	                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (slots == MAP_FAILED)
		return PP_ERR_OUT_OF_MEMORY;
	r->slots = slots;      /* zero: every node NULL, every generation 0 */
	rt->hot.slots = slots; /* what inline calls index */
	r->free_head = UINT32_MAX;
	r->slot_limit = PP_MAX_SLOTS;
	/* Where this runtime's generations start: a handle carries no runtime,
	 * so one kept from another runtime (or a freed one) names a slot here
	 * too; with its own start, its generation matches only by chance. Below
	 * 2^31: a slot serves at least 2^30 occupants before it retires. */
	uint32_t seed = 0;
	if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
		seed = (uint32_t)((uintptr_t)rt >> 4) ^ (uint32_t)time(NULL);
	r->generation_base = seed & 0x7FFFFFFFu;
	if (getrandom(&r->key_seed, sizeof r->key_seed, GRND_NONBLOCK) !=
	    (ssize_t)sizeof r->key_seed)
		r->key_seed = ((uint64_t)seed << 32) ^ (uint64_t)(uintptr_t)r;
	pp_index *empty = calloc(1, sizeof *empty);
	atomic_init(&r->index, empty);
	if (!empty) {
		munmap(r->slots, (size_t)PP_MAX_SLOTS * sizeof(pp_slot));
		return PP_ERR_OUT_OF_MEMORY;
	}
	pthread_mutex_init(&r->nodes_lock, NULL);
	return PP_OK;
}

void pp__registry_destroy(pp_runtime *rt)
{
	pp_registry *r = &rt->reg;
	/* Every bundle is gone and reclaimed by now. */
	free(atomic_load_explicit(&r->index, memory_order_relaxed));
	munmap(r->slots, (size_t)PP_MAX_SLOTS * sizeof(pp_slot));
	pp__ptrset_clear(&r->ifaces);
	pthread_mutex_destroy(&r->nodes_lock);
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

/* Takes a free slot (writer side). Its generation is bumped, so handles to a
 * previous occupant can never match the new one. Generations start past
 * the runtime's base (so never at 0, the null handle's) and never wrap: see
 * slot_release. */
static pp_slot *slot_acquire(pp_registry *r, uint32_t *out_index)
{
	uint32_t index;
	if (r->free_head != UINT32_MAX) {
		index = r->free_head;
		r->free_head = pp__slot_at(r, index)->next_free;
	} else {
		index = r->slot_count;
		if (index >= r->slot_limit)
			return NULL;
		r->slot_count++;
		pp__slot_at(r, index)->generation = r->generation_base;
	}
	pp_slot *s = pp__slot_at(r, index);
	s->generation++;
	*out_index = index;
	return s;
}

static void slot_release(pp_registry *r, uint32_t index)
{
	pp_slot *s = pp__slot_at(r, index);
	atomic_store_explicit(&s->node, NULL, memory_order_release);
	s->generation++; /* stale from now on, even before reuse */
	/* A slot whose next occupant would wrap the generation is retired, not
	 * freed: a handle kept from its first occupant would match again. (After
	 * 2^30 occupants or more, by where the runtime's generations start; it
	 * costs the slot.) */
	if (s->generation >= UINT32_MAX - 1)
		return;
	s->next_free = r->free_head;
	r->free_head = index;
}

/* ---- Staging -------------------------------------------------------------- */

/* Refuses a descriptor name (what = "plugin name" or "contract name") that
 * is not a string we can keep and print. */
static pp_status check_name(pp_runtime *rt, const char *bundle, const char *what, pp_string_view v)
{
	if (!v.ptr && v.len)
		return pp__error(rt, PP_ERR_INVALID_POINTER,
		                 "bundle '%s': the descriptor's %s is NULL with a length of %zu",
		                 bundle, what, v.len);
	if (v.len > PP_MAX_NAME_BYTES)
		return pp__error(rt, PP_ERR_INVALID_ARGUMENT,
		                 "bundle '%s': the descriptor's %s is %zu bytes long; the limit is "
		                 "%u (PP_MAX_NAME_BYTES)",
		                 bundle, what, v.len, PP_MAX_NAME_BYTES);
	size_t ok = pp_utf8_prefix(v.ptr, v.len);
	if (ok != v.len)
		return pp__error(rt, PP_ERR_INVALID_ARGUMENT,
		                 "bundle '%s': the descriptor's %s '%.*s...' is not valid UTF-8 "
		                 "(bad byte at offset %zu)",
		                 bundle, what, (int)ok, (const char *)v.ptr, ok);
	return PP_OK;
}

pp_status pp__check_layouts(pp_runtime *rt, const char *who, const pp_fn_layout *src,
                            uint32_t fn_count, size_t *views)
{
	*views = 0;
	for (uint32_t i = 0; i < fn_count; i++) {
		const pp_fn_layout *l = &src[i];
		const char *bad = NULL;
		uint32_t in_args = 0;
		if (l->view_count > PP_MAX_LAYOUT_VIEWS)
			bad = "more views than PP_MAX_LAYOUT_VIEWS";
		else if (l->view_count && !l->view_offsets)
			bad = "views with a NULL offset table";
		else if (l->arena_offset != PP_LAYOUT_NO_ARENA &&
		         (l->arena_offset > l->args_size ||
		          l->args_size - l->arena_offset < sizeof(void *)))
			bad = "an arena pointer outside its args";
		for (uint32_t k = 0; !bad && k < l->view_count; k++) {
			uint32_t at = l->view_offsets[k] & ~PP_LAYOUT_OUT_VIEW;
			bool out = l->view_offsets[k] & PP_LAYOUT_OUT_VIEW;
			uint32_t size = out ? l->out_size : l->args_size;
			in_args += !out;
			if (at > size || size - at < sizeof(pp_string_view))
				bad = out ? "a result view outside its out"
				          : "a view outside its args";
			/* each result is one allocation for the caller: two views
			 * over the same bytes would hand it over twice */
			for (uint32_t j = 0; out && !bad && j < k; j++) {
				uint32_t other = l->view_offsets[j] & ~PP_LAYOUT_OUT_VIEW;
				if ((l->view_offsets[j] & PP_LAYOUT_OUT_VIEW) &&
				    (other > at ? other - at : at - other) < sizeof(pp_string_view))
					bad = "result views that overlap";
			}
		}
		if (!bad && in_args > l->args_size / sizeof(pp_string_view))
			bad = "more views than its args can hold";
		if (bad)
			return pp__error(
			        rt, PP_ERR_INVALID_ARGUMENT,
			        "%s: the layout of function %u (args %u bytes, %u views) has "
			        "%s",
			        who, i, l->args_size, l->view_count, bad);
		*views += l->view_count;
	}
	return PP_OK;
}

/* A native contract's layouts, copied into one block with their view
 * offsets and checked there: the plugin changing its own table meanwhile
 * changes nothing (the first check only bounds what is copied). */
static pp_status copy_layouts(pp_runtime *rt, const char *bundle, const char *contract,
                              const pp_fn_layout *src, uint32_t fn_count, pp_fn_layout **out)
{
	*out = NULL;
	char who[160];
	snprintf(who, sizeof who, "bundle '%s': contract '%s'", bundle, contract);
	pp_fn_layout *copy = malloc((size_t)fn_count * sizeof *copy + 1);
	if (!copy)
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	if (fn_count)
		memcpy(copy, src, (size_t)fn_count * sizeof *copy);
	size_t views;
	pp_status st = pp__check_layouts(rt, who, copy, fn_count, &views);
	if (st != PP_OK) {
		free(copy);
		return st;
	}
	/* at most 65536 layouts of 256 views: no overflow */
	pp_fn_layout *all = realloc(copy, (size_t)fn_count * sizeof *copy + views * 4 + 1);
	if (!all) {
		free(copy);
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	}
	uint32_t *offsets = (uint32_t *)(all + fn_count);
	for (uint32_t i = 0; i < fn_count; i++) {
		if (all[i].view_count)
			memcpy(offsets, all[i].view_offsets, all[i].view_count * sizeof *offsets);
		all[i].view_offsets = all[i].view_count ? offsets : NULL;
		offsets += all[i].view_count;
	}
	st = pp__check_layouts(rt, who, all, fn_count, &views);
	if (st != PP_OK) {
		free(all);
		return st;
	}
	*out = all;
	return PP_OK;
}

/* Whether a name carries its major ("math.Adder@1"): sets *major. */
static bool name_major(pp_string_view name, uint32_t *major)
{
	const uint8_t *at = name.len ? memrchr(name.ptr, '@', name.len) : NULL;
	if (!at)
		return false;
	size_t n = name.len - (size_t)(at + 1 - name.ptr);
	uint64_t v = 0;
	for (size_t i = 0; i < n && v <= UINT32_MAX; i++)
		v = at[1 + i] >= '0' && at[1 + i] <= '9' ? v * 10 + (at[1 + i] - '0') : UINT64_MAX;
	*major = v <= UINT32_MAX && n ? (uint32_t)v : UINT32_MAX;
	return true;
}

uint64_t pp__contract_id_of_name(pp_string_view name, uint32_t major)
{
	uint64_t h = pp_fnv1a64("guest_contract:", 15);
	h = pp_fnv1a64_update(h, name.ptr, name.len);
	uint32_t carried;
	if (name_major(name, &carried))
		return h; /* "math.Adder@1": the name carries its major */
	char digits[16];
	int n = snprintf(digits, sizeof digits, "@%u", major);
	return pp_fnv1a64_update(h, digits, (size_t)n);
}

pp_status pp__registry_stage(pp_runtime *rt, pp_bundle_version *v, const pp_plugin_descriptor *d,
                             const pp_guest_contract_interface *iface)
{
	const char *bname = v->bundle->name;
	if (!d || !iface)
		return pp__error(rt, PP_ERR_INVALID_POINTER,
		                 "bundle '%s': register_guest_contract with a NULL %s", bname,
		                 d ? "interface" : "descriptor");
	pp_status st = check_name(rt, bname, "plugin name", d->name);
	if (st == PP_OK)
		st = check_name(rt, bname, "contract name", d->contract_name);
	if (st != PP_OK)
		return st;
	/* Read the size and dispatch type as the raw integers they are on the
	 * wire; copy only what the plugin's struct has. */
	uint32_t size, dt;
	memcpy(&size, iface, sizeof size);
	memcpy(&dt, (const uint8_t *)iface + offsetof(pp_guest_contract_interface, dispatch_type),
	       sizeof dt);
	const char *cname = d->contract_name.len ? "" : "(unnamed)";
	int clen = (int)d->contract_name.len;
	if (size && size < PP_GUEST_CONTRACT_INTERFACE_V2_SIZE)
		return pp__error(
		        rt, PP_ERR_ABI_MISMATCH,
		        "bundle '%s': contract '%.*s%s' has an interface of %u bytes, smaller "
		        "than any version of it (%zu)",
		        bname, clen, (const char *)d->contract_name.ptr, cname, size,
		        (size_t)PP_GUEST_CONTRACT_INTERFACE_V2_SIZE);
	if (dt != PP_DISPATCH_NATIVE && dt != PP_DISPATCH_VM)
		return pp__error(rt, PP_ERR_INVALID_ARGUMENT,
		                 "bundle '%s': contract '%.*s%s' has unknown dispatch type %u",
		                 bname, clen, (const char *)d->contract_name.ptr, cname, dt);
	if (!iface->create_instance || !iface->destroy_instance)
		return pp__error(rt, PP_ERR_INVALID_POINTER,
		                 "bundle '%s': contract '%.*s%s' lacks create_instance or "
		                 "destroy_instance",
		                 bname, clen, (const char *)d->contract_name.ptr, cname);
	/* The count and the table are read once, the table into the node, and
	 * checked there: a plugin changing its own copy meanwhile changes
	 * nothing. */
	uint32_t fn_count = 0;
	const void *const *table = NULL;
	if (dt == PP_DISPATCH_NATIVE) {
		pp_native_dispatch nd;
		memcpy(&nd, &iface->dispatch.native, sizeof nd);
		fn_count = nd.function_count;
		table = nd.functions;
		if (fn_count > PP_MAX_CONTRACT_FUNCTIONS)
			return pp__error(
			        rt, PP_ERR_INVALID_ARGUMENT,
			        "bundle '%s': contract '%.*s%s' declares %u functions; the "
			        "limit is %u",
			        bname, clen, (const char *)d->contract_name.ptr, cname, fn_count,
			        PP_MAX_CONTRACT_FUNCTIONS);
		if (fn_count && !table)
			return pp__error(rt, PP_ERR_INVALID_POINTER,
			                 "bundle '%s': contract '%.*s%s' declares %u functions "
			                 "but a NULL table",
			                 bname, clen, (const char *)d->contract_name.ptr, cname,
			                 fn_count);
	} else if (!iface->dispatch.vm.call) {
		return pp__error(rt, PP_ERR_INVALID_POINTER,
		                 "bundle '%s': contract '%.*s%s' has VM dispatch with a NULL call",
		                 bname, clen, (const char *)d->contract_name.ptr, cname);
	}
	uint32_t carried;
	if (name_major(d->contract_name, &carried) && carried != iface->contract_version.major)
		return pp__error(
		        rt, PP_ERR_INVALID_ARGUMENT,
		        "bundle '%s': contract '%.*s%s' is version %u.%u.%u; its name must "
		        "end in \"@%u\"",
		        bname, clen, (const char *)d->contract_name.ptr, cname,
		        iface->contract_version.major, iface->contract_version.minor,
		        iface->contract_version.patch, iface->contract_version.major);
	uint64_t named = pp__contract_id_of_name(d->contract_name, iface->contract_version.major);
	if (named != iface->contract_id)
		return pp__error(rt, PP_ERR_INVALID_ARGUMENT,
		                 "bundle '%s': contract '%.*s%s' has id 0x%016llx, but its name "
		                 "gives 0x%016llx (H(\"guest_contract:\" + name + \"@\" + major))",
		                 bname, clen, (const char *)d->contract_name.ptr, cname,
		                 (unsigned long long)iface->contract_id, (unsigned long long)named);
	for (const pp_contract_node *n = v->contracts; n; n = n->next)
		if (n->iface.contract_id == iface->contract_id)
			return pp__error(rt, PP_ERR_DUPLICATE_PROVIDER,
			                 "bundle '%s' registered contract '%s' twice", bname,
			                 n->contract_name);
	/* which also bounds the walks over a version's list, here and when it
	 * is published */
	if (v->contract_count >= PP_MAX_REGISTRATIONS)
		return pp__error(rt, PP_ERR_INVALID_ARGUMENT,
		                 "bundle '%s': contract '%.*s%s' is one more than a bundle may "
		                 "register (the limit is PP_MAX_REGISTRATIONS, %u)",
		                 bname, clen, (const char *)d->contract_name.ptr, cname,
		                 PP_MAX_REGISTRATIONS);

	pp_contract_node *n = calloc(1, sizeof *n + fn_count * sizeof(const void *));
	if (!n)
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	for (uint32_t i = 0; i < fn_count; i++)
		n->fns[i] = table[i];
	for (uint32_t i = 0; i < fn_count; i++)
		if (!n->fns[i]) {
			free(n);
			return pp__error(rt, PP_ERR_INVALID_POINTER,
			                 "bundle '%s': contract '%.*s%s' has a NULL function at "
			                 "index %u",
			                 bname, clen, (const char *)d->contract_name.ptr, cname, i);
		}
	pthread_mutex_init(&n->inst_lock, NULL);
	/* splitmix64 of a runtime-wide count: distinct for every node ever
	 * made. The top bit set: a user-space address never XORs to NULL. */
	uint64_t z = rt->reg.key_seed +
	             atomic_fetch_add(&rt->reg.keys_drawn, 1) * UINT64_C(0x9E3779B97F4A7C15);
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	n->instance_key =
	        (uintptr_t)(z ^ (z >> 31)) | ((uintptr_t)1 << (sizeof(uintptr_t) * 8 - 1));
	n->live.retire = retire_table; /* pp_call looks instances up without the lock */
	n->live.ctx = rt;
	/* what the plugin's struct has; members it lacks keep their defaults */
	size_t have = size ? size : PP_GUEST_CONTRACT_INTERFACE_V2_SIZE;
	memset(&n->iface, 0, sizeof n->iface);
	memcpy(&n->iface, iface, have < sizeof n->iface ? have : sizeof n->iface);
	n->loader_checks_instances = pp_js_checks_instances(&n->iface);
	n->iface.size = (uint32_t)sizeof n->iface;
	n->iface.dispatch_type = dt;
	n->rt = rt;
	n->version = v;
	n->contract_name = pp__strndup(d->contract_name.ptr, d->contract_name.len);
	n->plugin_name = pp__strndup(d->name.ptr, d->name.len);
	if (!n->contract_name || !n->plugin_name) {
		node_free(n);
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	}
	n->function_count = fn_count;
	if (dt == PP_DISPATCH_NATIVE) {
		n->iface.dispatch.native.function_count = fn_count;
		n->iface.dispatch.native.functions = n->fns;
		const pp_fn_layout *layouts = n->iface.layouts; /* the plugin's, if size has it */
		n->iface.layouts = NULL;
		st = layouts ? copy_layouts(rt, bname, n->contract_name, layouts, fn_count,
		                            &n->layouts)
		             : PP_OK;
		if (st != PP_OK) {
			node_free(n);
			return st;
		}
		n->iface.layouts = n->layouts;
	}
	pthread_mutex_lock(&rt->reg.nodes_lock);
	bool listed = pp__ptrset_add(&rt->reg.ifaces, &n->iface, 0);
	pthread_mutex_unlock(&rt->reg.nodes_lock);
	if (!listed) {
		node_free(n);
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	}
	pp_contract_node **tail = &v->contracts; /* registration order */
	while (*tail)
		tail = &(*tail)->next;
	*tail = n;
	v->contract_count++;
	return PP_OK;
}

void pp__registry_staged_function_count(pp_runtime *rt, uint64_t contract_id, uint32_t count)
{
	pp_bundle_version *v = pp__init_version(rt);
	for (pp_contract_node *n = v ? v->contracts : NULL; n; n = n->next)
		if (n->iface.contract_id == contract_id)
			n->function_count = count;
}

/* One instance still tracked by a version being reclaimed. */
typedef struct left_instance {
	pp_contract_node *node;
	const void *data;
	uint64_t order;
} left_instance;

static int newest_first(const void *a, const void *b)
{
	const left_instance *x = a, *y = b;
	return x->order < y->order ? 1 : x->order > y->order ? -1 : 0;
}

/* Destroys data of n as often as n tracks it. Each time it is untracked
 * first, so a destroy that destroys it again through the host table (an
 * instance holding it) finds it gone: once each. */
static void destroy_tracked(pp_runtime *rt, pp_contract_node *n, const void *data)
{
	for (;;) {
		pthread_mutex_lock(&n->inst_lock);
		bool live = pp__ptrset_remove(&n->live, data);
		pthread_mutex_unlock(&n->inst_lock);
		if (!live)
			return;
		pp_guest_contract_instance inst = {(void *)data, n->iface.contract_id};
		n->iface.destroy_instance(pp__loader_data(&n->iface), &rt->host, inst);
	}
}

/* The first instance n still tracks, or NULL. */
static const void *any_tracked(pp_contract_node *n)
{
	const void *data = NULL;
	pthread_mutex_lock(&n->inst_lock);
	pp_ptrset_table *t = atomic_load_explicit(&n->live.table, memory_order_relaxed);
	for (size_t i = 0; t && i < t->cap && !data; i++)
		if (atomic_load_explicit(&t->slots[i].count, memory_order_relaxed))
			data = atomic_load_explicit(&t->slots[i].key, memory_order_relaxed);
	pthread_mutex_unlock(&n->inst_lock);
	return data;
}

/* Destroys the instances v's nodes still track, newest first, while every
 * node stays listed: an instance made inside another's create (a child
 * through the host table) is older than its parent, so the parent's
 * destroy still finds it live and destroys it itself. From here on the
 * version makes no new instances (pp__instance_track refuses), so nothing
 * is left behind. Out of memory for the list: any order, still once each. */
static void destroy_left_instances(pp_runtime *rt, pp_bundle_version *v)
{
	size_t total = 0;
	for (pp_contract_node *n = v->contracts; n; n = n->next) {
		pthread_mutex_lock(&n->inst_lock);
		n->reclaiming = true;
		total += n->live.live;
		pthread_mutex_unlock(&n->inst_lock);
	}
	left_instance *all = total ? calloc(total, sizeof *all) : NULL;
	size_t k = 0;
	for (pp_contract_node *n = all ? v->contracts : NULL; n; n = n->next) {
		pthread_mutex_lock(&n->inst_lock);
		pp_ptrset_table *t = atomic_load_explicit(&n->live.table, memory_order_relaxed);
		for (size_t i = 0; t && i < t->cap && k < total; i++)
			if (atomic_load_explicit(&t->slots[i].count, memory_order_relaxed))
				all[k++] =
				        (left_instance){n,
				                        atomic_load_explicit(&t->slots[i].key,
				                                             memory_order_relaxed),
				                        t->slots[i].order};
		pthread_mutex_unlock(&n->inst_lock);
	}
	if (k)
		qsort(all, k, sizeof *all, newest_first);
	for (size_t i = 0; i < k; i++)
		destroy_tracked(rt, all[i].node, all[i].data);
	free(all);
	for (pp_contract_node *n = v->contracts; n; n = n->next) /* out of memory */
		for (const void *data; (data = any_tracked(n)) != NULL;)
			destroy_tracked(rt, n, data);
}

void pp__registry_free_nodes(pp_runtime *rt, pp_bundle_version *v)
{
	destroy_left_instances(rt, v);
	while (v->contracts) {
		pp_contract_node *n = v->contracts;
		v->contracts = n->next;
		pthread_mutex_lock(&rt->reg.nodes_lock); /* the host table finds it no more */
		(void)pp__ptrset_remove(&rt->reg.ifaces, &n->iface);
		pthread_mutex_unlock(&rt->reg.nodes_lock);
		node_free(n);
	}
	v->contract_count = 0;
}

pp_status pp__instance_track(pp_contract_node *n, void *data, bool by_host)
{
	/* The runtime's clock, not the node's: a version's instances of all
	 * its contracts are destroyed in one order. The host's own come first
	 * (the top bit): a plugin's instance may hold children made through
	 * the host table, at its create or later; the host's hold none. */
	uint64_t order = 0; /* a check alone (data NULL) takes no tick of the shared clock */
	if (data)
		order = atomic_fetch_add_explicit(&n->rt->reg.instance_clock, 1,
		                                  memory_order_relaxed) |
		        (by_host ? UINT64_C(1) << 63 : 0);
	pthread_mutex_lock(&n->inst_lock);
	bool refused = n->reclaiming,
	     added = !refused && (!data || pp__ptrset_add(&n->live, data, order));
	pthread_mutex_unlock(&n->inst_lock);
	if (refused)
		return pp__error(
		        n->rt, PP_ERR_STALE_HANDLE,
		        "bundle '%s', contract '%s': this version was unloaded or replaced and "
		        "makes no new instances",
		        n->version->bundle->name, n->contract_name);
	return added ? PP_OK : pp__error(n->rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
}

bool pp__instance_untrack(pp_contract_node *n, void *data)
{
	pthread_mutex_lock(&n->inst_lock);
	bool removed = pp__ptrset_remove(&n->live, data);
	pthread_mutex_unlock(&n->inst_lock);
	return removed;
}

/* ---- The index ------------------------------------------------------------ */

static int by_id_then_seq(const void *a, const void *b)
{
	const pp_contract_node *x = *(pp_contract_node *const *)a;
	const pp_contract_node *y = *(pp_contract_node *const *)b;
	if (x->iface.contract_id != y->iface.contract_id)
		return x->iface.contract_id < y->iface.contract_id ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Fills idx from the slots as they are now (writer side). */
static void index_fill(pp_registry *r, pp_index *idx)
{
	idx->count = 0;
	for (uint32_t i = 0; i < r->slot_count; i++) {
		pp_contract_node *n =
		        atomic_load_explicit(&pp__slot_at(r, i)->node, memory_order_relaxed);
		if (n)
			idx->nodes[idx->count++] = n;
	}
	qsort(idx->nodes, idx->count, sizeof(pp_contract_node *), by_id_then_seq);
}

static void index_swap(pp_runtime *rt, pp_index *idx)
{
	PP_TSAN_RELEASE(&rt->hot.tsan_sync);
	pp_index *old = atomic_exchange_explicit(&rt->reg.index, idx, memory_order_acq_rel);
	pp__retire(rt, &old->retired, index_reclaim);
}

/* ---- Publish / unpublish -------------------------------------------------- */

static pp_contract_node *find_in(pp_bundle_version *v, uint64_t contract_id)
{
	for (pp_contract_node *n = v ? v->contracts : NULL; n; n = n->next)
		if (n->iface.contract_id == contract_id)
			return n;
	return NULL;
}

pp_status pp__registry_publish(pp_runtime *rt, pp_bundle_version *nv, pp_bundle_version *old)
{
	pp_registry *r = &rt->reg;
	uint32_t fresh_count = 0, gone = 0;
	for (pp_contract_node *n = nv->contracts; n; n = n->next)
		fresh_count += find_in(old, n->iface.contract_id) == NULL;
	for (pp_contract_node *o = old ? old->contracts : NULL; o; o = o->next)
		gone += find_in(nv, o->iface.contract_id) == NULL;
	/* Everything that can fail is done before anything becomes visible. */
	size_t total = (size_t)r->published + fresh_count - gone;
	pp_index *idx = malloc(sizeof *idx + (total + 1) * sizeof(pp_contract_node *));
	uint32_t *fresh = calloc(fresh_count + 1u, sizeof *fresh);
	if (!idx || !fresh) {
		free(idx);
		free(fresh);
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "bundle '%s': out of memory publishing",
		                 nv->bundle->name);
	}
	for (uint32_t i = 0; i < fresh_count; i++) {
		if (!slot_acquire(r, &fresh[i])) {
			while (i--)
				slot_release(r, fresh[i]);
			free(fresh);
			free(idx);
			return pp__error(rt, PP_ERR_OUT_OF_MEMORY,
			                 "bundle '%s': the registry is full", nv->bundle->name);
		}
	}
	uint32_t next_fresh = 0;
	for (pp_contract_node *n = nv->contracts; n; n = n->next) {
		pp_contract_node *o = find_in(old, n->iface.contract_id);
		if (o) { /* reload: same slot, same generation, same order */
			n->slot = o->slot;
			n->generation = o->generation;
			n->seq = o->seq;
		} else {
			n->slot = fresh[next_fresh++];
			n->generation = pp__slot_at(r, n->slot)->generation;
			n->seq = r->next_seq++;
			r->published++;
		}
		PP_TSAN_RELEASE(&rt->hot.tsan_sync);
		atomic_store_explicit(&pp__slot_at(r, n->slot)->node, n, memory_order_release);
	}
	/* Whatever the old version provided and the new one does not. */
	for (pp_contract_node *o = old ? old->contracts : NULL; o; o = o->next)
		if (!find_in(nv, o->iface.contract_id)) {
			slot_release(r, o->slot);
			r->published--;
		}
	free(fresh);
	index_fill(r, idx);
	index_swap(rt, idx);
	return PP_OK;
}

pp_status pp__registry_unpublish(pp_runtime *rt, pp_bundle_version *const *vs, size_t n)
{
	pp_registry *r = &rt->reg;
	pp_index *idx = malloc(sizeof *idx + (r->published + 1) * sizeof(pp_contract_node *));
	if (!idx)
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "bundle '%s': out of memory unloading",
		                 vs[0]->bundle->name);
	for (size_t i = 0; i < n; i++)
		for (pp_contract_node *c = vs[i]->contracts; c; c = c->next) {
			slot_release(r, c->slot);
			r->published--;
		}
	index_fill(r, idx);
	index_swap(rt, idx);
	return PP_OK;
}

/* ---- Reads ---------------------------------------------------------------- */

/* During a bundle's init it sees only what it declared as dependencies:
 * contracts it named (from anyone), and anything the bundles it named by
 * name provide. NULL viewer (the host, calls after init): everything. */
typedef enum { SEE_ALL, SEE_NONE, SEE_FROM_BUNDLE_DEPS } visibility;

static visibility visible_to(const pp_bundle_version *viewer, uint64_t contract_id)
{
	if (!viewer)
		return SEE_ALL;
	for (size_t i = 0; i < viewer->dep_count; i++)
		if (viewer->deps[i].contract_id == contract_id)
			return SEE_ALL;
	return viewer->bundle_dep_count ? SEE_FROM_BUNDLE_DEPS : SEE_NONE;
}

static bool from_bundle_deps(const pp_bundle_version *viewer, const pp_contract_node *n)
{
	for (size_t i = 0; i < viewer->bundle_dep_count; i++)
		if (pp_bundle_id(viewer->bundle_deps[i]) == n->version->bundle->id)
			return true;
	return false;
}

/* Writes up to cap handles of the live providers of contract_id matching
 * min_version (and visible to viewer), in registration order; returns how
 * many there are in all. */
/* The node index entry i stands for, if it is still published: a node
 * unloaded since this index was built is gone (its slot is empty or has
 * another generation); one reloaded since has its successor there, with the
 * same handle. */
static const pp_contract_node *live_at(pp_runtime *rt, const pp_index *idx, size_t i)
{
	const pp_contract_node *n = atomic_load_explicit(
	        &pp__slot_at(&rt->reg, idx->nodes[i]->slot)->node, memory_order_acquire);
	if (!n || n->generation != idx->nodes[i]->generation ||
	    n->iface.contract_id != idx->nodes[i]->iface.contract_id)
		return NULL;
	return n;
}

/* Handles of the live providers of contract_id that match min_version (and
 * come from the bundle named `bundle`, unless NULL); returns how many match
 * in all, writing at most cap. */
static size_t matches(pp_runtime *rt, uint64_t contract_id, uint32_t min_version,
                      const pp_bundle_version *viewer, const char *bundle,
                      pp_guest_contract_handle *out, size_t cap)
{
	visibility vis = visible_to(viewer, contract_id);
	if (vis == SEE_NONE)
		return 0;
	pp_tstate *ts = pp__read_lock(rt);
	if (!ts)
		return 0;
	const pp_index *idx = atomic_load_explicit(&rt->reg.index, memory_order_acquire);
	PP_TSAN_ACQUIRE(&rt->hot.tsan_sync);
	size_t lo = 0, hi = idx->count, found = 0;
	while (lo < hi) { /* the first entry with this id */
		size_t mid = lo + (hi - lo) / 2;
		if (idx->nodes[mid]->iface.contract_id < contract_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < idx->count && idx->nodes[i]->iface.contract_id == contract_id;
	     i++) {
		const pp_contract_node *n = live_at(rt, idx, i);
		if (!n || !pp__version_matches(n->iface.contract_version, min_version) ||
		    (vis == SEE_FROM_BUNDLE_DEPS && !from_bundle_deps(viewer, n)) ||
		    (bundle && strcmp(n->version->bundle->name, bundle) != 0))
			continue;
		if (found < cap) {
			out[found].index = n->slot;
			out[found].generation = n->generation;
		}
		found++;
	}
	pp__read_unlock(ts);
	return found;
}

pp_guest_contract_handle pp__registry_find(pp_runtime *rt, uint64_t contract_id,
                                           uint32_t min_version, const pp_bundle_version *viewer)
{
	pp_guest_contract_handle h = pp_handle_null();
	matches(rt, contract_id, min_version, viewer, NULL, &h, 1);
	return h;
}

size_t pp__registry_find_all(pp_runtime *rt, uint64_t contract_id, uint32_t min_version,
                             const pp_bundle_version *viewer, pp_guest_contract_handle *out,
                             size_t cap)
{
	return matches(rt, contract_id, min_version, viewer, NULL, out, out ? cap : 0);
}

pp_guest_contract_handle pp__registry_find_in(pp_runtime *rt, uint64_t contract_id,
                                              uint32_t min_version, const char *bundle)
{
	pp_guest_contract_handle h = pp_handle_null();
	matches(rt, contract_id, min_version, NULL, bundle, &h, 1);
	return h;
}

size_t pp__edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return SIZE_MAX;
	size_t row[65];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* What min_version asks for, said after the contract: "", " with major 1",
 * " at 1.2 or later". A name carries its major: saying it again is noise. */
static void wanted_version(uint32_t min_version, bool named, char *buf, size_t cap)
{
	if (min_version == 0 || (named && min_version < 65536))
		buf[0] = '\0';
	else if (min_version < 65536)
		snprintf(buf, cap, " with major %u", min_version);
	else
		snprintf(buf, cap, " at %u.%u or later", min_version >> 16, min_version & 0xFFFFu);
}

uint32_t pp__registry_not_found(pp_runtime *rt, uint64_t contract_id, uint32_t min_version,
                                const char *name, const char *bundle)
{
	enum { SHOWN = 8 };
	/* Whole entries only, with room kept for " and N more". */
	char loaded[1024] = "", guess[160] = "", want[48], label[160], entry[600];
	size_t used = 0, shown = 0, total = 0, best = SIZE_MAX;
	wanted_version(min_version, name != NULL, want, sizeof want);
	if (name)
		snprintf(label, sizeof label, "%s", name);
	else
		snprintf(label, sizeof label, "contract 0x%016llx",
		         (unsigned long long)contract_id);
	pp_tstate *ts = pp__read_lock(rt);
	if (ts) {
		const pp_index *idx = atomic_load_explicit(&rt->reg.index, memory_order_acquire);
		PP_TSAN_ACQUIRE(&rt->hot.tsan_sync);
		for (size_t i = 0; i < idx->count; i++) {
			const pp_contract_node *n = live_at(rt, idx, i);
			if (!n)
				continue;
			total++;
			pp_version v = n->iface.contract_version;
			/* its name as a caller spells it: with "@major" */
			char full[PP_MAX_NAME_BYTES + 16];
			uint32_t carried;
			snprintf(full, sizeof full,
			         name_major((pp_string_view){(const uint8_t *)n->contract_name,
			                                     strlen(n->contract_name)},
			                    &carried)
			                 ? "%s"
			                 : "%s@%u",
			         n->contract_name, v.major);
			int k = snprintf(entry, sizeof entry, "%s%s %u.%u.%u from bundle '%s'",
			                 shown ? ", " : "", full, v.major, v.minor, v.patch,
			                 n->version->bundle->name);
			if (shown < SHOWN && k > 0 && (size_t)k < sizeof entry &&
			    used + (size_t)k + 32 < sizeof loaded) {
				memcpy(loaded + used, entry, (size_t)k + 1);
				used += (size_t)k;
				shown++;
			}
			size_t d = name ? pp__edit_distance(name, full) : SIZE_MAX;
			if (d < best && d <= 3 && strcmp(name, full) != 0 && strlen(full) < 128) {
				best = d;
				snprintf(guess, sizeof guess, "; did you mean %.128s?", full);
			}
		}
		pp__read_unlock(ts);
	}
	if (total > shown)
		snprintf(loaded + used, sizeof loaded - used, " and %zu more", total - shown);
	return pp__error(rt, PP_ERR_NOT_FOUND, "no bundle%s%s%s provides %s%s (%s%s)%s",
	                 bundle ? " named '" : "", bundle ? bundle : "", bundle ? "'" : "", label,
	                 want, total ? "loaded: " : "nothing is loaded", loaded, guess);
}

/* The node whose interface is at iface, or NULL: by address, since iface
 * may be anything, and read only once found. Holds nodes_lock. */
static pp_contract_node *node_of_iface(pp_runtime *rt, const pp_guest_contract_interface *iface)
{
	return pp__ptrset_count(&rt->reg.ifaces, iface)
	               ? (pp_contract_node *)((char *)iface - offsetof(pp_contract_node, iface))
	               : NULL;
}

const pp_contract_node *pp__node_by_iface(pp_runtime *rt, const pp_guest_contract_interface *iface)
{
	pthread_mutex_lock(&rt->reg.nodes_lock);
	const pp_contract_node *n = node_of_iface(rt, iface);
	pthread_mutex_unlock(&rt->reg.nodes_lock);
	return n;
}

pp_status pp__instance_by_iface(pp_runtime *rt, const pp_guest_contract_interface *iface,
                                void *data, bool track)
{
	pthread_mutex_lock(&rt->reg.nodes_lock);
	pp_contract_node *n = node_of_iface(rt, iface);
	pp_status st = PP_ERR_NOT_FOUND;
	if (n && track)
		st = pp__instance_track(n, data, false);
	else if (n && pp__instance_untrack(n, data))
		st = PP_OK;
	else if (n)
		st = pp__error(
		        rt, PP_ERR_STALE_HANDLE,
		        "destroy_guest_instance: instance %p of contract '%s' is not live in "
		        "its version",
		        data, n->contract_name);
	pthread_mutex_unlock(&rt->reg.nodes_lock);
	return st;
}
