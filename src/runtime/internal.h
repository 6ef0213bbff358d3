/*
 * internal.h — the runtime's private structures, shared by src/runtime and the
 * loaders. Nothing here is part of the public API.
 */
#ifndef PP_INTERNAL_H
#define PP_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>

#include "polyplug/polyplug.h"
#include "rcu.h"

typedef struct pp_bundle pp_bundle;
typedef struct pp_watcher pp_watcher;
typedef struct pp_loader pp_loader;

/* ---- Loaders ------------------------------------------------------------- */

/* What a loader is given to load: a path (directory or file) or source bytes. */
typedef struct pp_bundle_source {
	const char *name; /* bundle name */
	uint64_t bundle_id;
	const char *path; /* directory or file as given; "" for in-memory */
	const void *code; /* in-memory source, or NULL */
	size_t code_len;
	pp_js_limits js; /* effective limits (defaults resolved) */
} pp_bundle_source;

/* A loader turns a bundle into registrations. load runs the bundle's init
 * while the runtime attributes every registration to that bundle; release
 * frees what load produced and runs only after a grace period (no call can
 * still be inside the code). */
struct pp_loader {
	const char *name;
	uint32_t language; /* SupportedLanguage: 1 native (C), 5 JavaScript */
	bool supports_hot_reload;
	/* true if this loader takes the file or directory at path */
	bool (*accepts)(const char *path);
	pp_status (*load)(pp_runtime *rt, const pp_loader *self, const pp_bundle_source *src,
	                  void **out_code);
	void (*release)(pp_runtime *rt, const pp_loader *self, void *code);
	void *userdata;
};

extern const pp_loader pp_native_loader; /* immutable; safe to share */
extern const pp_loader pp_js_loader;

/* ---- Registry ------------------------------------------------------------ */

/* One published (or staged) guest contract. Immutable once published; freed
 * after a grace period when unpublished. iface comes first: resolve hands out
 * &node->iface. */
typedef struct pp_contract_node {
	pp_guest_contract_interface iface;
	struct cds_lfht_node ht_node;
	struct rcu_head rcu;
	pp_runtime *rt;
	pp_bundle *bundle;
	uint64_t bundle_id;
	uint64_t seq; /* registration order, for find */
	uint32_t slot;
	uint32_t generation;
	char *contract_name;
	char *plugin_name;
	uint32_t function_count;       /* native: the table's; VM: what its loader says */
	struct pp_contract_node *next; /* bundle's list (staged or published) */
	/* Instances made through pp_instance_create and not yet destroyed: when
	 * this version is retired, the runtime destroys them with this version's
	 * code (before the code itself is released). */
	pthread_mutex_t inst_lock;
	struct pp_live_instance *live;
} pp_contract_node;

typedef struct pp_live_instance {
	void *data;
	struct pp_live_instance *next;
} pp_live_instance;

typedef struct pp_slot {
	pp_contract_node *_Atomic node; /* NULL when free */
	uint32_t generation;            /* of the current or last occupant (writer only) */
	uint32_t next_free;
} pp_slot;

#define PP_SLOT_CHUNK 256u
#define PP_MAX_CHUNKS 4096u

typedef struct pp_registry {
	pp_slot *_Atomic chunks[PP_MAX_CHUNKS];
	uint32_t slot_count;
	uint32_t free_head; /* UINT32_MAX when empty */
	uint32_t published;
	uint64_t next_seq;
	struct cds_lfht *ht;
} pp_registry;

/* ---- Host contracts ------------------------------------------------------ */

typedef struct pp_host_entry {
	const pp_host_contract_interface *iface;
	pp_host_contract_instance singleton;
} pp_host_entry;

typedef struct pp_host_table {
	size_t count;
	struct rcu_head rcu;
	pp_runtime *rt;
	pp_host_entry entries[];
} pp_host_table;

/* ---- Bundles ------------------------------------------------------------- */

struct pp_bundle {
	pp_runtime *rt;
	uint64_t id;
	char *name;
	char *path;
	void *source; /* copy of in-memory source, or NULL */
	size_t source_len;
	const pp_loader *loader;
	void *code;                  /* what loader->load produced */
	pp_contract_node *contracts; /* published */
	pp_contract_node *staged;    /* during init */
	uint32_t staged_count;
	pp_dependency *deps; /* the host's (first host_dep_count), then the manifest's */
	size_t dep_count, host_dep_count;
	char **bundle_deps; /* names of bundles this one needs loaded first */
	size_t bundle_dep_count;
	bool reinit_on_dep_reload, host_reinit;
	struct pp_manifest *manifest; /* manifest.toml of a bundle directory, or NULL */
	char *load_path;              /* what the loader opens (path, or the manifest's file) */
	pp_js_limits js;              /* effective JS limits */
	uint32_t reload_count;
	pp_bundle *next;
	struct rcu_head rcu;
};

/* Per (runtime, thread) state: the last error and the init-bundle stack. */
#define PP_INIT_DEPTH_MAX 16
typedef struct pp_tstate {
	pp_runtime *rt;
	char *err;
	size_t err_cap;
	pp_bundle *init_stack[PP_INIT_DEPTH_MAX];
	int init_depth;
	struct pp_tstate *prev, *next;
} pp_tstate;

struct pp_runtime {
	pp_host_api host; /* first: plugins get &rt->host */
	pp_runtime_config cfg;
	_Atomic uint64_t revision;

	pthread_mutex_t lock; /* recursive: loads, unloads, reloads, registrations */
	pp_registry reg;
	pp_bundle *bundles; /* load order */
	uint32_t bundle_count;
	const pp_loader *loaders[8];
	size_t loader_count;

	pp_host_table *_Atomic hosts;

	pthread_key_t tkey;
	pthread_mutex_t tstate_lock;
	pp_tstate *tstates;

	_Atomic uint64_t pending_reclaims;
	_Atomic uint64_t reclaimed;
	uint64_t tmp_seq;                /* unique names for native copies (under lock) */
	_Atomic uint64_t bundle_changes; /* bumped by every load and unload */
	pp_watcher *watcher;             /* hot-reload thread, or NULL */
	int tsan_sync;                   /* address TSan annotations synchronise on */
};

/* runtime.c */
pp_status pp__error(pp_runtime *rt, pp_status code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
void pp__clear_error(pp_runtime *rt);
void pp__log(pp_runtime *rt, uint32_t level, const char *scope, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
void pp__log_view(pp_runtime *rt, uint32_t level, pp_string_view scope, pp_string_view msg);
pp_tstate *pp__tstate(pp_runtime *rt);
pp_bundle *pp__init_bundle(pp_runtime *rt); /* bundle being initialised on this thread */
void *pp__host_alloc(pp_runtime *rt, size_t size, size_t align);
void pp__host_free(pp_runtime *rt, void *ptr, size_t size, size_t align);
char *pp__strdup(const char *s);
/* Copies a borrowed view into buf (NUL-terminated, truncated to cap - 1);
 * safe when the view points into this thread's last-error buffer. */
const char *pp__view_copy(char *buf, size_t cap, pp_string_view v);
char *pp__strndup(const void *s, size_t n);
/* A whole file, NUL-terminated, malloc'd; NULL with errno set on failure. */
char *pp__read_file(const char *path, size_t *len);
/* dir "/" name, malloc'd (NULL if out of memory). */
char *pp__path_join(const char *dir, const char *name);
bool pp__utf8_valid(const uint8_t *s, size_t n);
void pp__defer(pp_runtime *rt, struct rcu_head *head, void (*fn)(struct rcu_head *));
/* Every deferred callback starts with pp__reclaim_begin and ends with
 * pp__reclaim_end (which may be its last use of rt). */
void pp__reclaim_begin(pp_runtime *rt);
void pp__reclaim_end(pp_runtime *rt);
void pp__bump_revision(pp_runtime *rt);

/* registry.c */
pp_status pp__registry_init(pp_runtime *rt);
void pp__registry_destroy(pp_runtime *rt);
pp_status pp__registry_stage(pp_runtime *rt, pp_bundle *b, const pp_plugin_descriptor *d,
                             const pp_guest_contract_interface *iface);
void pp__registry_discard_staged(pp_runtime *rt, pp_bundle *b);
/* A VM loader reports how many functions the contract it just registered
 * (during init) has; manifests' function_count is checked against it. */
void pp__registry_staged_function_count(pp_runtime *rt, uint64_t contract_id, uint32_t count);
pp_status pp__registry_publish(pp_runtime *rt, pp_bundle *b);
void pp__registry_unpublish(pp_runtime *rt, pp_bundle *b);
pp_guest_contract_handle pp__registry_find(pp_runtime *rt, uint64_t contract_id,
                                           uint32_t min_version, const pp_bundle *viewer);
size_t pp__registry_find_all(pp_runtime *rt, uint64_t contract_id, uint32_t min_version,
                             const pp_bundle *viewer, pp_guest_contract_handle *out, size_t cap);
const pp_contract_node *pp__registry_resolve(pp_runtime *rt, pp_guest_contract_handle h);
pp_status pp__instance_track(pp_contract_node *n, void *data);
bool pp__instance_untrack(pp_contract_node *n, void *data);
bool pp__version_matches(pp_version v, uint32_t min_version);

/* host_contracts.c */
pp_status pp__host_contracts_register(pp_runtime *rt, const pp_host_contract_interface *iface);
const pp_host_entry *pp__host_contracts_find(pp_runtime *rt, uint64_t contract_id,
                                             uint32_t min_version, uint32_t *why);
void pp__host_contracts_destroy(pp_runtime *rt);

/* host_api.c */
void pp__host_api_init(pp_runtime *rt);

/* bundle.c */
void pp__bundles_unload_all(pp_runtime *rt);
pp_bundle *pp__bundle_by_id(pp_runtime *rt, uint64_t id);

#endif
