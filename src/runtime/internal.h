/*
 * internal.h — the runtime's private structures, shared by src/runtime and the
 * loaders. Nothing here is part of the public API.
 */
#ifndef PP_INTERNAL_H
#define PP_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "polyplug/polyplug.h"
#include "ptrset.h"
#include "tsan.h"
#include "utf8.h"

/* The struct of type T whose member m is at ptr. */
#define pp_container_of(ptr, T, m) ((T *)(void *)((char *)(ptr)-offsetof(T, m)))

typedef struct pp_bundle pp_bundle;
typedef struct pp_watcher pp_watcher;
typedef struct pp_loader pp_loader;

/* ---- Loaders ------------------------------------------------------------- */

/* What a loader is given to load: a path (directory or file) or source bytes. */
typedef struct pp_bundle_source {
	const char *name; /* bundle name */
	uint64_t bundle_id;
	const char *path; /* directory or file as given; "" for in-memory */
	const char *dir;  /* the bundle directory its files must stay in, or NULL */
	const void *code; /* in-memory source, or NULL */
	size_t code_len;
	pp_js_limits js; /* effective limits (defaults resolved) */
} pp_bundle_source;

/* A loader turns a bundle into registrations. load runs the bundle's init
 * while the runtime attributes every registration to that bundle; release
 * frees what load produced and runs only after a grace period (no call can
 * still be inside the code). A load that fails after init ran may still set
 * *out_code: the runtime drops what init registered, then releases it. */
struct pp_loader {
	const char *name;
	uint32_t language; /* SupportedLanguage: 1 native (C), 5 JavaScript */
	bool supports_hot_reload;
	/* true if this loader takes the file or directory at path */
	bool (*accepts)(const char *path);
	pp_status (*load)(pp_runtime *rt, const pp_loader *self, const pp_bundle_source *src,
	                  void **out_code);
	void (*release)(pp_runtime *rt, const pp_loader *self, void *code);
	/* true if addr lies in the code load produced (may be NULL: never) */
	bool (*owns)(const void *code, const void *addr);
	void *userdata;
};

extern const pp_loader pp_native_loader; /* immutable; safe to share */
extern const pp_loader pp_js_loader;
/* Whether iface's vm.call is the JS loader's (js_loader.c), which checks
 * the instances it is called on itself (pp_contract_node). */
bool pp_js_checks_instances(const pp_guest_contract_interface *iface);

/* ---- Grace periods (grace.c) -------------------------------------------- */

/* pp_retired: retired.h. */

/* ---- Registry ------------------------------------------------------------ */

typedef struct pp_bundle_version pp_bundle_version;

/* One published (or staged) guest contract of one bundle version. Immutable
 * once published; freed with its version. iface comes first: resolve hands
 * out &node->iface. */
typedef struct pp_contract_node {
	uint32_t generation;     /* what a handle to it carries */
	uint32_t function_count; /* native: the table's; VM: what its loader says */
	pp_guest_contract_interface iface;
	/* What the host is given for an instance is its data XOR this key,
	 * drawn for each node: a value kept from another version (whose data
	 * the allocator may since have given to one of this version's
	 * instances) decodes here to nothing this version made (call.c). */
	uintptr_t instance_key;
	/* Nonzero when vm.call is the JS loader's, which refuses an instance
	 * its version did not make or has destroyed as it looks the instance
	 * up (pp__not_made_here): a call on one needs no lookup in `live`. */
	uint32_t loader_checks_instances;
	pp_runtime *rt;
	pp_bundle_version *version;
	uint64_t seq; /* registration order, for find */
	uint32_t slot;
	char *contract_name;
	char *plugin_name;
	struct pp_contract_node *next; /* the version's list */
	/* Instances made through pp_instance_create and not yet destroyed: when
	 * this version is retired, the runtime destroys them with this version's
	 * code (before the code itself is released). */
	pthread_mutex_t inst_lock;
	pp_ptrset live;  /* each instance's data pointer, counted */
	bool reclaiming; /* its version is destroying what it left: no new ones */
	/* Native dispatch: the layouts the plugin declared, checked and copied
	 * like the table (iface's points here), or NULL. */
	pp_fn_layout *layouts;
	/* Native dispatch: the plugin's function table as registration checked
	 * it, copied (iface's points here): the plugin cannot change it later,
	 * and a call reaches it straight from the node. */
	const void *fns[];
} pp_contract_node;

typedef struct pp_slot {
	pp_contract_node *_Atomic node; /* NULL when free */
	uint32_t generation;            /* of the current or last occupant (writer only) */
	uint32_t next_free;
} pp_slot;

/* Inline calls (call_inline.h) read nodes and slots through views of their
 * heads: these pin the two together. */
_Static_assert(offsetof(pp_contract_node, generation) == offsetof(pp__node_view, generation) &&
                       offsetof(pp_contract_node, function_count) ==
                               offsetof(pp__node_view, function_count) &&
                       offsetof(pp_contract_node, iface) == offsetof(pp__node_view, iface) &&
                       offsetof(pp_contract_node, instance_key) ==
                               offsetof(pp__node_view, instance_key) &&
                       offsetof(pp_contract_node, loader_checks_instances) ==
                               offsetof(pp__node_view, loader_checks_instances),
               "pp__node_view is the head of pp_contract_node");
_Static_assert(offsetof(pp_slot, node) == offsetof(pp__slot_view, node) &&
                       sizeof(pp_slot) == sizeof(pp__slot_view),
               "pp__slot_view is pp_slot");

/* Slots live in one table reserved whole at creation (address space only:
 * pages are touched as slots are first used), so a handle's slot is one
 * index away and never moves. */
#define PP_MAX_SLOTS PP__MAX_SLOTS

/* The lookup index: every published node, sorted by (contract id, seq).
 * Immutable; a publish builds a new one, swaps it in and retires the old. */
typedef struct pp_index {
	pp_retired retired;
	size_t count;
	pp_contract_node *nodes[];
} pp_index;

typedef struct pp_registry {
	pp_slot *slots; /* PP_MAX_SLOTS of them, set before any reader runs */
	uint32_t slot_count;
	uint32_t slot_limit;      /* PP_MAX_SLOTS (tests lower it to fill the registry) */
	uint32_t free_head;       /* UINT32_MAX when empty */
	uint32_t generation_base; /* a fresh slot's first generation is one past it */
	uint32_t published;
	uint64_t next_seq;
	pp_index *_Atomic index;
	/* The interface of every node from registration until its version is
	 * freed, published or retired: what the host table's instance entries
	 * look an interface pointer up in. */
	pthread_mutex_t nodes_lock;
	pp_ptrset ifaces;
	uint64_t key_seed; /* random: nodes' instance keys (registry.c) */
	_Atomic uint64_t keys_drawn;
	_Atomic uint64_t instance_clock; /* instances' order, for their reclamation */
} pp_registry;

/* ---- Host contracts ------------------------------------------------------ */

typedef struct pp_host_entry {
	const pp_host_contract_interface *iface;
	pp_host_contract_instance singleton;
	pp_bundle_version *owner; /* the bundle version that registered it; NULL: the host */
} pp_host_entry;

typedef struct pp_host_table {
	pp_retired retired;
	size_t count;
	pp_host_entry entries[];
} pp_host_table;

/* ---- Bundles ------------------------------------------------------------- */

/*
 * A bundle is an identity (name, id, where it loads from, what the host
 * asked for); a bundle version is one load of its code: the code, the
 * manifest it was loaded with, the dependencies it declared, the contracts
 * and host contracts it registered. A version is immutable once published;
 * a reload publishes a new version in its place and retires the old one as
 * one unit, after a grace period.
 */
struct pp_bundle_version {
	pp_bundle *bundle;
	const pp_loader *loader;
	void *code;                   /* what loader->load produced */
	struct pp_manifest *manifest; /* manifest.toml of a bundle directory, or NULL */
	char *load_path;              /* what the loader opens (path, or the manifest's file) */
	pp_dependency *deps;          /* the host's, then the manifest's */
	size_t dep_count;
	char **bundle_deps; /* names of bundles this one needs loaded first */
	size_t bundle_dep_count;
	bool reinit_on_dep_reload;
	pp_contract_node *contracts; /* staged during init, published after */
	uint32_t contract_count;
	pp_host_entry *hosts; /* host contracts it registered (staged, then published) */
	size_t host_count;
	bool frees_bundle; /* retired by an unload: the bundle goes with it */
	pp_retired retired;
};

/* look_hook's stages */
enum {
	PP_LOOK_BEGINS,
	PP_LOOK_CHECKS,
	PP_LOOK_REFUSES,
	PP_LOOK_SUBDIR,
	PP_LOOK_SUBDIR_OPENED,
	PP_LOOK_LATER_GIVEN,
};

/* What the watcher must do when it first watches a bundle loaded while it
 * ran (watch.c): nothing; compare the files with their signature taken as
 * the load began; or reload it (a watcher started during the load). Set by
 * the load (again by a reload before the watcher looked), taken by the
 * watcher under the runtime's lock. */
typedef struct pp_unseen {
	enum { PP_UNSEEN_NONE, PP_UNSEEN_COMPARE, PP_UNSEEN_RELOAD } check;
	uint64_t signature;
} pp_unseen;

struct pp_bundle {
	pp_runtime *rt;
	uint64_t id;
	char *name;
	char *path;
	void *source; /* copy of in-memory source, or NULL */
	size_t source_len;
	char *loader_name;        /* the loader the host named, or NULL */
	pp_dependency *host_deps; /* what the host declared in pp_load_options */
	size_t host_dep_count;
	bool host_reinit;
	uint32_t host_concurrency; /* pp_load_options.js.concurrency (0: not given) */
	pp_js_limits js;           /* effective JS limits */
	pp_bundle_version *cur;    /* the serving version; NULL while first loading */
	uint32_t reload_count;
	pp_unseen unseen; /* watch.c: its load, for the watcher's first look */
	uintptr_t busy;   /* the thread loading, reloading or unloading it; 0 if none */
	bool unloading;   /* an unload of it is committed: it meets no dependency (bundle.c) */
	bool gathered;    /* in the set an unload is gathering (bundle.c; only while that
	                     unload holds the lock, cleared before it lets go) */
	pp_bundle *next;
};

/* Per (runtime, thread) state: the last error, the init stack, and the
 * thread's read-side section (grace.c). */
#define PP_INIT_DEPTH_MAX 16
typedef struct pp_tstate {
	pp__reader rd; /* first: pp__tls names it (call_inline.h) */
	pp_runtime *rt;
	uint32_t claims;          /* bundles this thread has busy (bundle.c) */
	bool in_use;              /* false once its thread exited: the next new thread takes it */
	_Atomic uintptr_t thread; /* pp__thread_id() of the thread using it */
	_Atomic uintptr_t waiting_on; /* what it waits for (a pp_waited), or 0 */
	_Atomic uint32_t wait_seq;    /* bumped after each change of waiting_on */
	/* pp_last_error, and the buffer the next message is written into: a
	 * message is never formatted over the one before it, which its
	 * arguments may quote (a host passing pp_last_error back in). Each is
	 * one of err_small, or the heap once a message outgrew it. */
	char *err, *err_next;
	size_t err_cap, err_next_cap;
	/* The inits running on this thread, innermost last, each with the
	 * read-section depth its own code runs at: code it calls through the
	 * runtime (a call, a peer, a host contract) runs deeper and is not
	 * its init (pp__init_version). */
	struct {
		pp_bundle_version *version;
		uint32_t nest;
	} init_stack[PP_INIT_DEPTH_MAX];
	int init_depth;
	/* Its thread's pp__tls while that thread lives (NULL after):
	 * pp_runtime_free empties it there if it still names this runtime. */
	pp__thread_cache *_Atomic tls;
	struct pp_tstate *prev, *next;
	struct pp_tstate *thread_next; /* its thread's list (runtime.c) */
	_Atomic int life;              /* runtime.c: live, its thread exiting, or orphaned */
	/* Where messages start: a message that cannot get more memory keeps
	 * what fits rather than nothing. */
	char err_small[2][192];
} pp_tstate;

/* The runtime this thread entered last and its state there (pp__tls,
 * call_inline.h): the read side's fast path, a thread-local compare
 * (initial-exec: no call to find it) instead of pthread_getspecific. Matched
 * by the runtime's address alone — the state is never read to check it — and
 * only its thread writes `reader`; the thread's exit and pp_runtime_free empty
 * `rt`, so a runtime freed (and another made at its address) is never
 * matched. Two runtimes used in turn by one thread just miss it. */

/* pp__tls.rt once emptied: no runtime's address, and not NULL, which a
 * host passing a NULL runtime would match. */
#define PP_TLS_EMPTY ((pp_runtime *)(uintptr_t)1)

/* Something the runtime's watchdog looks at every period_ns (watchdog.c). */
typedef struct pp_watched pp_watched;
struct pp_watched {
	pp_watched *next;                /* the watchdog's list (under wd_lock) */
	uint64_t period_ns;              /* how often check must run, at least */
	void (*check)(pp_watched *self); /* on the watchdog thread: short, never blocks */
};

struct pp_runtime {
	/* First: what inline calls read (call_inline.h). Readers publish the
	 * epoch they entered in; grace.c advances it. */
	pp__runtime_head hot;
	pp_host_api host;
	pp_runtime_config cfg;
	_Atomic uint64_t revision;

	/* Loads, unloads, reloads and registrations. Never held while plugin code
	 * runs (init, shutdown, factories, callbacks), so plugins cannot take
	 * part in a lock cycle through it. */
	pthread_mutex_t lock;
	pthread_cond_t idle; /* a bundle stopped being busy */
	pp_registry reg;
	pp_bundle *bundles; /* load order; includes bundles being loaded */
	uint32_t bundle_count;
	const pp_loader *loaders[8];
	size_t loader_count;
	bool closing; /* pp_runtime_free has begun: no more loads */

	pp_host_table *_Atomic hosts;

	pthread_mutex_t tstate_lock; /* the tstates list */
	pthread_mutex_t look_lock;   /* one wait-cycle look at a time */
	pp_tstate *tstates;
	/* Tests only: called on the looking thread as a wait-cycle look begins
	 * (PP_LOOK_BEGINS), before it reads again the wait counts of the
	 * threads it met (PP_LOOK_CHECKS) and when it refuses (PP_LOOK_REFUSES).
	 * tests/test_js_pool.c holds looks with it, and makes a wait seem to
	 * move. Also called by the watcher, on the thread building its watch
	 * set, once it has found a bundle's subdirectory (PP_LOOK_SUBDIR) and
	 * once it has opened it, as it is about to watch it
	 * (PP_LOOK_SUBDIR_OPENED): tests/test_hot_reload.c swaps the
	 * subdirectory for a link at either, and at the second may return an
	 * errno that watching it then fails with (as inotify's limit reached
	 * would, or a chmod 000 for anyone but root). And by a JS VM's holder
	 * that has given the VM back, before it takes it again to free the
	 * instances whose destroys were left to it (PP_LOOK_LATER_GIVEN):
	 * tests/test_js_runtime.c calls such an instance there. Other returns
	 * are not read. */
	int (*look_hook)(void *ud, int stage);
	void *look_hook_ud;

	/* Grace periods and reclamation (grace.c; the epoch is in `hot`): a
	 * reclaimer thread of this runtime frees what was retired once every
	 * reader of this runtime has moved past it. */
	pthread_mutex_t gp_lock;
	pthread_mutex_t rq_lock;
	pthread_cond_t rq_work, rq_done;
	pp_retired *rq_head, **rq_tail;
	uint64_t rq_retired, rq_reclaimed; /* sequence numbers (under rq_lock) */
	uint32_t rq_followups;             /* retired by reclamation itself, not yet taken */
	uint32_t rq_waiters;               /* threads in pp_runtime_quiesce */
	bool rq_gathering;                 /* the reclaimer lets a burst gather (grace.c) */
	bool rq_stop;
	pthread_t reclaimer;
	_Atomic uint64_t pending_reclaims;
	_Atomic uint64_t reclaimed;

	_Atomic uint64_t next_instance_id; /* VM loaders' instance ids, unique per runtime */
	uint64_t tmp_seq;                  /* unique names for native copies (under lock) */
	_Atomic uint64_t bundle_changes;   /* bumped by every load and unload */
	pp_watcher *watcher;               /* hot-reload thread, or NULL (under lock) */
	pp_watcher *watcher_done;          /* stopped, not yet joined (watch.c's reap) */
	int watchers;                      /* starting or running (under lock) */
	char **plugin_dirs; /* loaded with pp_bundle_load_dir, watched for new bundles (under lock) */
	size_t plugin_dir_count;

	/* One revision counter per contract id ever published or asked about,
	 * each allocated on its own so its address stays (under lock). */
	struct pp_contract_revision **contract_revs;
	size_t contract_rev_count;

	/* Contract layouts the host declared (pp_contract_declare_layouts;
	 * under lock). */
	struct pp_declared_layouts *declared;
	size_t declared_count;

	/* The watchdog (watchdog.c): started by the first registration. */
	pthread_mutex_t wd_lock;
	pthread_cond_t wd_wake; /* on CLOCK_MONOTONIC */
	pp_watched *wd_list;
	uint64_t wd_period; /* what the watchdog ticks at; 0 while it waits for a first */
	pthread_t wd_thread;
	bool wd_started, wd_stop;
};

/* A full memory barrier. GCC's TSan refuses standalone fences; there a
 * seq_cst read-modify-write of a runtime word stands in for one. */
#if defined(PP_SANITIZE_THREAD)
#define PP_FULL_FENCE(rt) ((void)__atomic_fetch_add(&(rt)->hot.fence_word, 0, __ATOMIC_SEQ_CST))
#else
#define PP_FULL_FENCE(rt) atomic_thread_fence(memory_order_seq_cst)
#endif

/* What an interface's instance hooks take as loader data: the VM dispatch's,
 * or none for native dispatch. */
static inline pp_vm_loader_data pp__loader_data(const pp_guest_contract_interface *iface)
{
	pp_vm_loader_data none = {NULL};
	return iface->dispatch_type == PP_DISPATCH_VM ? iface->dispatch.vm.loader_data : none;
}

/* The calling thread's identity (never 0): on glibc the value pthread_self()
 * returns, read without a call. */
static inline uintptr_t pp__thread_id(void)
{
#if defined(__GLIBC__) && (defined(__x86_64__) || defined(__aarch64__)) && \
        (defined(__clang__) || __GNUC__ >= 11)
	return (uintptr_t)__builtin_thread_pointer();
#else
	return (uintptr_t)pthread_self();
#endif
}

/* runtime.c: a copy of the layouts the host declared for contract_id in
 * *out (malloc'd, *count entries; NULL and 0 when it declared none).
 * PP_ERR_OUT_OF_MEMORY (with a message) when they cannot be copied: a load
 * must not go on as if the host had declared nothing. */
pp_status pp__declared_layouts(pp_runtime *rt, uint64_t contract_id, pp_fn_layout **out,
                               uint32_t *count);

/* watch.c: what a load of the bundle at path, beginning now, leaves for the
 * watcher (its files' signature while one runs); and, with the lock held as
 * the bundle is published, what it leaves if a watcher started meanwhile. */
pp_unseen pp__watch_load_begins(pp_runtime *rt, const char *path);
void pp__watch_load_published(pp_runtime *rt, pp_bundle *b);

/* watchdog.c */
pp_status pp__watchdog_init(pp_runtime *rt);
pp_status pp__watchdog_add(pp_runtime *rt, pp_watched *w);
void pp__watchdog_remove(pp_runtime *rt, pp_watched *w); /* its check has stopped */
void pp__watchdog_shutdown(pp_runtime *rt);

/* grace.c */
pp_status pp__grace_init(pp_runtime *rt);
/* Reclaims everything retired so far and stops the reclaimer thread. */
void pp__grace_shutdown(pp_runtime *rt);
/* Queues r for reclamation by fn after a grace period. Never blocks on
 * readers; callable with rt->lock held. */
void pp__retire(pp_runtime *rt, pp_retired *r, void (*fn)(pp_runtime *rt, pp_retired *r));
/* Waits until every read section of rt that began before the call has ended.
 * Must not be called from inside a read section. */
void pp__synchronize(pp_runtime *rt);
/* True on the runtime's reclaimer thread. */
bool pp__on_reclaimer(pp_runtime *rt);
/* A full memory barrier on every running thread of the process when
 * rt->hot.membarrier (membarrier(2)), else on the calling thread only: the
 * heavy side of a Dekker pair whose light side is a compiler barrier. */
void pp__heavy_fence(pp_runtime *rt);
/* The same, false when membarrier fails on this thread (a seccomp filter of
 * its own): for a side that can do without it. */
bool pp__try_heavy_fence(pp_runtime *rt);

/* A read section: nothing unpublished while it runs is reclaimed before it
 * ends. Nests; costs a thread-local store and (without membarrier) a fence.
 * Returns NULL only when the thread's state cannot be allocated. */
pp_tstate *pp__tstate(pp_runtime *rt);
/* This thread's state in rt if it has one (none is made). */
pp_tstate *pp__tstate_peek(pp_runtime *rt);
/* Enters a read section on ts, this thread's state in rt (the one read
 * side, call_inline.h's, which inline calls in hosts run too). */
static inline pp_tstate *pp__read_enter(pp_runtime *rt, pp_tstate *ts)
{
	pp__read_begin(&rt->hot, &ts->rd);
	return ts;
}

/* This thread's state in rt when it is the runtime the thread entered
 * last (one thread-local compare), else NULL. rd is its state's first
 * member. */
static inline pp_tstate *pp__tstate_cached(pp_runtime *rt)
{
	return __builtin_expect(__atomic_load_n(&pp__tls.rt, __ATOMIC_RELAXED) == rt, 1)
	               ? (pp_tstate *)(void *)pp__tls.reader
	               : NULL;
}

static inline pp_tstate *pp__read_lock(pp_runtime *rt)
{
	pp_tstate *ts = pp__tstate_cached(rt);
	if (!ts && (ts = pp__tstate(rt)) == NULL)
		return NULL;
	return pp__read_enter(rt, ts);
}

static inline void pp__read_unlock(pp_tstate *ts)
{
	pp__read_end(&ts->rd);
}

/* runtime.c */
/* Leaves the message as the calling thread's last error and returns code
 * (inline, so that callers — and the static analyser — see what it returns). */
void pp__error_setv(pp_runtime *rt, const char *fmt, va_list ap);
static inline __attribute__((format(printf, 3, 4))) pp_status
pp__error(pp_runtime *rt, pp_status code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pp__error_setv(rt, fmt, ap);
	va_end(ap);
	return code;
}
void pp__clear_error(pp_runtime *rt);
void pp__log(pp_runtime *rt, uint32_t level, const char *scope, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
void pp__log_view(pp_runtime *rt, uint32_t level, pp_string_view scope, pp_string_view msg);
/* A malloc'd formatted string (NULL if out of memory). */
char *pp__strprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *pp__vstrprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* The bundle version whose init's own code runs on this thread, or NULL —
 * NULL too while code the init called through the runtime runs (see
 * init_stack in pp_tstate). */
pp_bundle_version *pp__init_version(pp_runtime *rt);
/* True while the calling thread runs plugin code of rt: inside a call (a read
 * section) or an init. Such a thread must never wait for another thread's
 * bundle operation: it may hold what that operation needs. */
bool pp__in_plugin(pp_runtime *rt);
void *pp__host_alloc(pp_runtime *rt, size_t size, size_t align);
void pp__host_free(pp_runtime *rt, void *ptr, size_t size, size_t align);
char *pp__strdup(const char *s);
/* The time ns (< 1 s) from now on clock: a deadline for pthread_cond_timedwait
 * on a condition variable of that clock. */
struct timespec pp__deadline(clockid_t clock, long ns);
/* Initialises a condition variable whose timed waits take CLOCK_MONOTONIC
 * deadlines; false if it cannot be made so (then it is not initialised). */
bool pp__cond_init_monotonic(pthread_cond_t *c);
/* Reads a host's growable struct (abi.h "Growth": it leads with its size,
 * 0 meaning v2, its size when ABI 2 first shipped) into dst, of dst_size
 * bytes: only what the host's struct has, dst's later members kept; dst's
 * size becomes dst_size. dst untouched and *at set on failure:
 * PP_ERR_INVALID_ARGUMENT when the size is below min (its first version) or
 * above PP_MAX_STRUCT_SIZE (no version's: garbage); PP_ERR_UNSUPPORTED, *at the
 * byte, when a struct from a newer release sets a member past dst_size. */
pp_status pp__take_grown(void *dst, size_t dst_size, const void *src, size_t min, size_t v2,
                         size_t *at);
/* Zeroed memory on cache lines of its own (free() it): for what one thread
 * writes on every call (its state, a VM), so that two threads working
 * apart never write to the same line. NULL when out of memory. */
void *pp__calloc_lines(size_t size);
/* Copies a borrowed view into buf (NUL-terminated, truncated to cap - 1);
 * safe when the view points into this thread's last-error buffer. */
const char *pp__view_copy(char *buf, size_t cap, pp_string_view v);
char *pp__strndup(const void *s, size_t n);
/* Whether the n bytes at s end with suffix. */
bool pp__ends_with(const char *s, size_t n, const char *suffix);
/* A whole file of at most max bytes, NUL-terminated, malloc'd; NULL with
 * errno set on failure (EFBIG: larger than max; pp__read_file: EINVAL for
 * what is not a regular file). pp__read_fd reads from an open descriptor
 * and closes it. */
char *pp__read_file(const char *path, size_t max, size_t *len);
char *pp__read_fd(int fd, size_t max, size_t *len);
/* Opens path of src's bundle for reading (files.c): a descriptor of a
 * regular file, or -1 with the error set. When the bundle came from a
 * directory, no step of the path's resolution may leave it (a symlink out
 * anywhere on the path is refused); the check holds for the file opened, so
 * the path cannot be swapped after it. */
int pp__open_bundle_file(pp_runtime *rt, const pp_bundle_source *src, const char *path,
                         pp_status *st);
/* dir "/" name, malloc'd (NULL if out of memory). */
char *pp__path_join(const char *dir, const char *name);
/* Whether dir holds name (a regular file, links followed, if `regular`;
 * else anything, not followed), allocating nothing. When it cannot tell
 * (out of descriptors or kernel memory, a name too long) it says yes: what
 * then reads the file says why it cannot, where a no would have passed
 * over a bundle's manifest or code without a word. */
bool pp__dir_may_hold(const char *dir, const char *name, bool regular);
/* Whether path is a directory a bundle may load from: it holds a
 * manifest.toml, or a loader takes it (bundle_dir.c; the watcher asks it
 * of what arrives in a plugins directory). */
bool pp__holds_a_bundle(pp_runtime *rt, const char *path);
static inline bool pp__utf8_valid(const uint8_t *s, size_t n)
{
	return pp_utf8_prefix(s, n) == n;
}
/* Bumps the runtime's revision and those of the contracts the n versions
 * (NULL entries skipped) provide. Caller holds the lock. A change is
 * published between two bumps (bundle.c publish/unpublish): a counter is
 * odd only while its change is being made. */
void pp__bump_revisions(pp_runtime *rt, const pp_bundle_version *const *vs, size_t n);
/* What a thread waits for, published in its pp_tstate's waiting_on: the
 * owner word of one guest VM (pp_waited_word), or any of a set of them
 * (pp_waited_set: a pool of VMs, one of which comes free). */
typedef struct pp_wait_set {
	_Atomic uintptr_t *first; /* the first owner word */
	size_t stride;            /* bytes from one word to the next */
	uint32_t n;
} pp_wait_set;
typedef uintptr_t pp_waited;          /* a word's address, or a set's with PP_WAITED_SET set */
#define PP_WAITED_SET ((uintptr_t)1u) /* words and sets are aligned: the low bit is free */
static inline pp_waited pp_waited_word(_Atomic uintptr_t *word)
{
	return (uintptr_t)word;
}
static inline pp_waited pp_waited_set(const pp_wait_set *set)
{
	return (uintptr_t)set | PP_WAITED_SET;
}
/* The set `waited` names, or NULL when it names one word. */
static inline const pp_wait_set *pp_waited_as_set(pp_waited waited)
{
	return waited & PP_WAITED_SET ? (const pp_wait_set *)(waited & ~PP_WAITED_SET) : NULL;
}
/* Says what ts's thread now waits for (0: nothing), for the looks of
 * other threads. */
void pp__publish_wait(pp_tstate *ts, pp_waited waited);
/* True if the thread `me`, about to wait for `waited`, would close a wait
 * cycle: me and the threads it would wait for, directly or not, could none
 * of them ever go on, and me waiting is what holds some of them. Then its
 * published wait (in ts, its state, if it has one) is withdrawn before the
 * next look. */
bool pp__wait_would_cycle(pp_runtime *rt, pp_tstate *ts, pp_waited waited, uintptr_t me);

/* registry.c */
pp_status pp__registry_init(pp_runtime *rt);
void pp__registry_destroy(pp_runtime *rt);
pp_status pp__registry_stage(pp_runtime *rt, pp_bundle_version *v, const pp_plugin_descriptor *d,
                             const pp_guest_contract_interface *iface);
/* A VM loader reports how many functions the contract it just registered
 * (during init) has; manifests' function_count is checked against it. */
void pp__registry_staged_function_count(pp_runtime *rt, uint64_t contract_id, uint32_t count);
/* Publishes nv's contracts in place of old's (old may be NULL): contracts
 * both provide keep their slots, so handles stay valid. All or nothing.
 * Caller holds rt->lock. */
pp_status pp__registry_publish(pp_runtime *rt, pp_bundle_version *nv, pp_bundle_version *old);
/* Unpublishes the contracts of n versions at once (their handles go stale),
 * or, out of memory, none. Caller holds rt->lock. */
pp_status pp__registry_unpublish(pp_runtime *rt, pp_bundle_version *const *vs, size_t n);
/* Frees v's contract nodes, first destroying the instances still alive with
 * v's code. Runs after a grace period (or for a version never published). */
void pp__registry_free_nodes(pp_runtime *rt, pp_bundle_version *v);
pp_guest_contract_handle pp__registry_find(pp_runtime *rt, uint64_t contract_id,
                                           uint32_t min_version, const pp_bundle_version *viewer);
size_t pp__registry_find_all(pp_runtime *rt, uint64_t contract_id, uint32_t min_version,
                             const pp_bundle_version *viewer, pp_guest_contract_handle *out,
                             size_t cap);
/* The first live provider from the bundle named `bundle` (host view). */
pp_guest_contract_handle pp__registry_find_in(pp_runtime *rt, uint64_t contract_id,
                                              uint32_t min_version, const char *bundle);
/* Sets this thread's error for a find that found nothing, listing what is
 * loaded (and the nearest name to `name`, when given); returns
 * PP_ERR_NOT_FOUND. name and bundle may be NULL. */
uint32_t pp__registry_not_found(pp_runtime *rt, uint64_t contract_id, uint32_t min_version,
                                const char *name, const char *bundle);
/* The slot of index, or NULL past the table (any reader). */
static inline pp_slot *pp__slot_at(pp_registry *r, uint32_t index)
{
	return index < PP_MAX_SLOTS ? &r->slots[index] : NULL;
}
/* The live node h names, or NULL. Caller is in a read section. Inline: it is
 * half of every pp_call. (A null handle's generation, 0, is no node's.) */
static inline const pp_contract_node *pp__registry_resolve(pp_runtime *rt,
                                                           pp_guest_contract_handle h)
{
	return (const pp_contract_node *)(const void *)pp__resolve(&rt->hot, h);
}
/* pp_host_api's create/destroy_guest_instance name an interface, not a
 * handle. Tracks (track) or gives up (!track) data on the node whose
 * interface is at iface — published, or retired with a version not yet
 * freed (one replaced during the caller's call) — with the node held so its
 * reclamation cannot overlap. PP_OK: done; PP_ERR_NOT_FOUND: iface is no
 * node of this runtime's; PP_ERR_STALE_HANDLE (error set): data is not
 * live on it; PP_ERR_OUT_OF_MEMORY. */
pp_status pp__instance_by_iface(pp_runtime *rt, const pp_guest_contract_interface *iface,
                                void *data, bool track);
/* The node whose interface is at iface (published, or retired with a
 * version not yet freed), or NULL. The caller is in a read section. */
const pp_contract_node *pp__node_by_iface(pp_runtime *rt, const pp_guest_contract_interface *iface);
/* PP_OK, or a status with its message: out of memory, or n's version is
 * being reclaimed (it makes no new instances then). data NULL: only
 * whether it may. */
pp_status pp__instance_track(pp_contract_node *n, void *data, bool by_host);
bool pp__instance_untrack(pp_contract_node *n, void *data);
bool pp__version_matches(pp_version v, uint32_t min_version);
/* Edit distance of two short strings, for "did you mean" (each at most 64
 * bytes; longer ones are SIZE_MAX, "far"). */
size_t pp__edit_distance(const char *a, const char *b);
/* The id a guest contract's name gives: H("guest_contract:" name), with
 * "@major" appended when the name does not carry one. */
uint64_t pp__contract_id_of_name(pp_string_view name, uint32_t major);
/* How deep a chain of dependencies a plugins directory orders (its walk
 * recurses on the host's stack). */
#define PP_MAX_DEPENDENCY_DEPTH 64
/* A host contract's layouts: the host keeps its interface, whose layouts
 * member is read only when its size covers it (NULL otherwise). */
static inline const pp_fn_layout *pp__host_layouts(const pp_host_contract_interface *i)
{
	return i->size >= offsetof(pp_host_contract_interface, layouts) + sizeof(const void *)
	               ? i->layouts
	               : NULL;
}
/* Checks fn_count native layouts: each view and the arena pointer lie inside
 * the function's args, at most PP_MAX_LAYOUT_VIEWS views; an error names
 * `who`. *views: their total. */
pp_status pp__check_layouts(pp_runtime *rt, const char *who, const pp_fn_layout *layouts,
                            uint32_t fn_count, size_t *views);

/* host_contracts.c */
/* Registers a host contract. During a bundle's init (on this thread) it is
 * staged and published with that version. Otherwise, with by_plugin, its
 * owner is the serving version whose code holds the interface or its
 * functions (refused if that code is a replaced version's); without, or if
 * no bundle's code holds it, it is the host's own. */
pp_status pp__host_contracts_register(pp_runtime *rt, const pp_host_contract_interface *iface,
                                      bool by_plugin);
/* Builds the host table with old's entries swapped for nv's (either may be
 * NULL); *out is NULL if nothing changes. Fails for a duplicate or out of
 * memory, changing nothing. commit publishes what prepare built (NULL: no
 * change); a prepared table not committed is simply freed. Caller holds
 * rt->lock for both. */
pp_status pp__host_contracts_prepare(pp_runtime *rt, const pp_bundle_version *nv,
                                     const pp_bundle_version *old, pp_host_table **out);
/* The same for n versions leaving at once. */
pp_status pp__host_contracts_prepare_drop(pp_runtime *rt, const pp_bundle_version *const *drop,
                                          size_t n, pp_host_table **out);
void pp__host_contracts_commit(pp_runtime *rt, pp_host_table *t);
/* Destroys v's singletons (with v's code still loaded) and forgets them. */
void pp__host_contracts_free(pp_runtime *rt, pp_bundle_version *v);
/* Caller is in a read section. */
const pp_host_entry *pp__host_contracts_find(pp_runtime *rt, uint64_t contract_id,
                                             uint32_t min_version, uint32_t *why);
void pp__host_contracts_destroy(pp_runtime *rt);

/* call.c: leaves "bundle B, contract C: create_instance failed: <its
 * message>" as the last error ("create_guest_instance: ..." for n NULL, an
 * interface of a plugin's own) and returns err.code (PP_ERR_GENERIC for
 * the runtime's PP_ERR_STALE_INSTANCE). Inside the read section that
 * reached n (the message may live in what create left). */
uint32_t pp__create_failed(pp_runtime *rt, const pp_contract_node *n, pp_abi_error err);

/* call.c: the message a vm.call that checks its instances
 * (loader_checks_instances) answers a call on one it did not make with:
 * plugin code cannot point at it, so pp_call tells that refusal from a
 * plugin's failure by it, and words it as its own (PP_ERR_STALE_INSTANCE). */
extern const char pp__not_made_here[];

/* host_api.c: a plugin's call of a peer's guest contract, or of a host
 * contract, in one read section (from any thread). check, when given, sees
 * the callee before anything runs (the JS bridge's guard), and may name the
 * arena a VM callee gets; false refuses the call (*refused set). Failures
 * leave their message. */
typedef struct pp_callee {
	uint32_t dispatch_type;
	const pp_native_dispatch *native;
	const pp_fn_layout *layouts;
	const pp_guest_contract_interface *guest; /* NULL: a host contract */
} pp_callee;
typedef bool (*pp_callee_check)(void *ud, const pp_callee *callee, pp_call_arena **vm_arena);
uint32_t pp__call_peer(pp_runtime *rt, uint64_t contract_id, uint32_t min_version, uint32_t fn,
                       const void *args, void *out, pp_call_arena *arena, pp_callee_check check,
                       void *ud, bool *refused);
uint32_t pp__call_host(pp_runtime *rt, uint64_t contract_id, uint32_t min_version, uint32_t fn,
                       const void *args, void *out, pp_callee_check check, void *ud, bool *refused);

/* host_api.c */
void pp__host_api_init(pp_runtime *rt);

/* bundle.c */
void pp__bundles_unload_all(pp_runtime *rt);
/* The loaded (published) bundle with this id, or NULL. Caller holds rt->lock. */
pp_bundle *pp__bundle_by_id(pp_runtime *rt, uint64_t id);
/* The first loader that takes path (the list is copied under the lock). */
const pp_loader *pp__loader_for_path(pp_runtime *rt, const char *path);
/* The serving version whose code holds addr, or NULL. Caller holds rt->lock. */
pp_bundle_version *pp__version_owning(pp_runtime *rt, const void *addr);
/* The serving version, other than init, whose code holds an interface being
 * registered (the struct or its instance hooks), or NULL. While init runs,
 * native code it called directly — a peer through a resolved interface —
 * registers as init's code would; this tells the two apart, so a peer's
 * registration is never published and retired with init's version. Caller
 * holds rt->lock. */
pp_bundle_version *pp__foreign_owner(pp_runtime *rt, const pp_bundle_version *init,
                                     const void *iface, const void *create, const void *destroy);

/* native_loader.c: true if addr lies in a library the native loader mapped
 * for any runtime (serving, replaced or unloading). */
bool pp__native_is_bundle_code(const void *addr);

#endif
