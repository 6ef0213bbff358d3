/*
 * polyplug/polyplug.h — the host program's API to libpolyplug.
 *
 * A host creates a pp_runtime, registers the host contracts it offers,
 * loads bundles (plugins), and finds, resolves and calls the guest contracts
 * they provide. Every call takes the runtime first; nothing is global, so two
 * runtimes in one process never see each other.
 *
 * Errors: functions returning pp_status give PP_OK (0) or one of the PP_ERR_*
 * codes of abi.h; the message for the calling thread's last failure is
 * pp_last_error(rt). Messages name the bundle, the file and the cause.
 *
 * Threads: everything here may be called from any thread. Loads, unloads and
 * reloads of one bundle are serialised; no plugin or host callback runs under
 * a runtime lock; finds, resolves and calls take no lock at all
 * (docs/runtime.md, "Threads"). pp_runtime_free must not race with any other
 * call.
 */
#ifndef POLYPLUG_H
#define POLYPLUG_H

#include "abi.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(PP_BUILDING_LIBRARY)
#define PP_API __attribute__((visibility("default")))
#else
#define PP_API
#endif

typedef struct pp_runtime pp_runtime;
typedef uint32_t pp_status;

/* ---- Runtime ------------------------------------------------------------- */

/* Receives every log record at or below the configured level. scope and
 * message are borrowed for the call and not NUL-terminated, and always
 * well-formed UTF-8 (bytes a plugin logged that are not become U+FFFD). It may be called
 * from any thread, including the runtime's reclamation thread (a plugin's
 * shutdown may log), so it must be thread-safe; it must not call back into
 * the runtime. */
typedef void (*pp_log_fn)(void *userdata, uint32_t level, pp_string_view scope,
                          pp_string_view message);

/* Optional allocator for memory handed to plugins (host->alloc/free, arenas,
 * arrays). free receives the size and alignment given to alloc. */
typedef void *(*pp_alloc_fn)(void *userdata, size_t size, size_t align);
typedef void (*pp_free_fn)(void *userdata, void *ptr, size_t size, size_t align);

/* Bundle lifecycle events reported to on_reload (SPEC's reload phases 0-3,
 * plus LOADED). */
enum {
	PP_RELOAD_PREPARING = 0, /* about to swap: destroy your instances of this bundle */
	PP_RELOAD_RELOADED = 1,  /* the new code serves; handles stayed valid */
	PP_RELOAD_FAILED = 2,    /* the new code did not load; the old one keeps serving
	                          * (after UNLOADING: the unload failed, it stays loaded) */
	PP_RELOAD_UNLOADING = 3, /* the bundle is being unloaded */
	PP_RELOAD_LOADED = 4     /* the bundle was loaded and its contracts published */
};
/* name and reason are valid during the call; reason is NULL unless phase is
 * FAILED (a copy, valid through the call). Called without the runtime's lock:
 * the callback may find, call, load and unload; the bundle it reports on is
 * busy meanwhile (reloading it from here is PP_ERR_REENTRANT_CALL), and an
 * operation on another busy bundle is refused rather than waited for. */
typedef void (*pp_reload_fn)(void *userdata, uint64_t bundle_id, const char *name, uint32_t phase,
                             const char *reason);

/* Engine limits of a JavaScript bundle's VM. 0 means "the default": in the
 * runtime config, the built-in default below; in pp_load_options, the
 * runtime config's value. */
typedef struct pp_js_limits {
	size_t memory_bytes;  /* heap of one bundle's VM (default 256 MiB); an allocation
	                        past it fails the call with PP_ERR_OUT_OF_MEMORY */
	size_t stack_bytes;   /* native stack JS may use (default 1 MiB); deeper recursion
	                        throws "InternalError: stack overflow" in the guest */
	uint32_t cpu_ms;      /* CPU time for one call or init (default 5000 ms); past it
	                        the call returns PP_ERR_TIMEOUT and the VM stays usable */
	uint32_t memory_mode; /* PP_JS_MEMORY_*: whether bridge memory access is checked
	                         (docs/js.md "Memory safety"); 0: the runtime's (AUTO) */
	uint32_t concurrency; /* VMs per bundle, 1..PP_JS_MAX_CONCURRENCY (default 1): calls
	                         on the default implementation take any free one; each VM
	                         has the limits above (docs/js.md "VM pools") */
} pp_js_limits;

#define PP_JS_MAX_CONCURRENCY 64u

/* How a JS bundle's bridge reaches host memory. AUTO: guarded when every
 * function's sizes are known (typed signatures or declared layouts), else
 * the reference's unchecked compat mode. GUARDED: required; a bundle that
 * cannot be guarded (or whose manifest asks for compat) is refused at load.
 * COMPAT: unchecked (in pp_load_options: the host's own choice for one
 * bundle; a manifest may still ask for guarded). DECLARED: guarded against
 * the sizes the host declared (pp_contract_declare_layouts) alone: a bundle
 * providing a function the host declared no layout for is refused at load,
 * so a bundle that lies about its own sizes cannot reach past what the
 * host's callers pass. The mode for bundles the host does not trust. */
#define PP_JS_MEMORY_AUTO 0u
#define PP_JS_MEMORY_GUARDED 1u
#define PP_JS_MEMORY_COMPAT 2u
#define PP_JS_MEMORY_DECLARED 3u

#define PP_JS_DEFAULT_MEMORY_BYTES (256u << 20)
#define PP_JS_DEFAULT_STACK_BYTES (1u << 20)
#define PP_JS_DEFAULT_CPU_MS 5000u

typedef struct pp_runtime_config {
	uint32_t size; /* sizeof as built (pp_runtime_config_init sets it), or 0 (see abi.h) */
	pp_log_fn log; /* NULL: records go to stderr */
	void *log_userdata;
	/* The most verbose level delivered (PP_LOG_ERROR=1 .. PP_LOG_TRACE=5).
	 * 0: the default, PP_LOG_INFO with a `log` callback and PP_LOG_WARN on
	 * stderr. pp_runtime_config_init sets it from the environment variable
	 * POLYPLUG_LOG (error|warn|info|debug|trace, or 1-5) when that is set. */
	uint32_t log_level;
	pp_alloc_fn alloc; /* NULL: malloc / aligned_alloc */
	pp_free_fn free;
	void *alloc_userdata;
	uint32_t hot_reload_enabled; /* default 1; 0 makes reload fail with PP_ERR_UNSUPPORTED */
	pp_reload_fn on_reload;
	void *reload_userdata;
	pp_js_limits js; /* limits for each JavaScript bundle's VM (see pp_js_limits) */
} pp_runtime_config;

/* What size 0 stands for: the members the struct had when ABI 2 first
 * shipped, through js.concurrency. A member appended later is read only
 * from a struct whose size covers it. (The same for pp_load_options.) */
#define PP_RUNTIME_CONFIG_V2_SIZE (offsetof(pp_runtime_config, js.concurrency) + sizeof(uint32_t))

/* Fills cfg with the defaults. */
PP_API void pp_runtime_config_init(pp_runtime_config *cfg);

/* Creates a runtime. cfg may be NULL for the defaults; it is copied.
 * PP_ERR_INVALID_ARGUMENT: cfg->size is no version's; PP_ERR_UNSUPPORTED: cfg
 * comes from a newer release and sets a member this library does not know. */
PP_API pp_status pp_runtime_new(const pp_runtime_config *cfg, pp_runtime **out);

/* Unloads every bundle, waits until their code and VMs are reclaimed, and frees
 * the runtime. Must not be called from inside a plugin call. */
PP_API void pp_runtime_free(pp_runtime *rt);

/* The message of this thread's last failing call on rt, or "" if none, in
 * well-formed UTF-8 (bytes a plugin put in it that are not become U+FFFD).
 * Valid until this thread's next failing call on rt; it may be passed back
 * in as an argument of that call (whose message then quotes it whole). */
PP_API const char *pp_last_error(pp_runtime *rt);

/* The name of a status code as spelled in abi.h ("PP_ERR_TIMEOUT"), and a
 * one-line description of it. Codes from PP_ERR_PLUGIN_FIRST up are the
 * plugin's own ("PP_ERR_PLUGIN"); other unknown codes are "PP_ERR_UNKNOWN".
 * Static strings; never NULL. */
PP_API const char *pp_status_name(uint32_t code);
PP_API const char *pp_status_describe(uint32_t code);

/* The host table plugins receive; also usable by the host itself. Valid until
 * pp_runtime_free. */
PP_API const pp_host_api *pp_runtime_host_api(pp_runtime *rt);

/* Address of the revision counter, bumped by every load, reload and unload.
 * A caller that caches a resolved interface compares the value (acquire load)
 * before each call and re-resolves when it moved. Each change is published
 * between two bumps (the value is odd only while it is being made), so a
 * call that reached a new version is followed by a load that sees the value
 * moved. Valid until pp_runtime_free. (The same for the contract counters.) */
PP_API const uint64_t *pp_revision_counter(pp_runtime *rt);

/* Address of one contract's revision counter, bumped when a bundle that
 * provides it is loaded, reloaded or unloaded — and not by other bundles'
 * changes, so a caller that caches a handle and an instance of contract_id
 * starts over only when its own provider changed (ppc's callers do). Valid
 * until pp_runtime_free; the runtime's own counter if out of memory. */
PP_API const uint64_t *pp_contract_revision_counter(pp_runtime *rt, uint64_t contract_id);

/* Blocks until everything unloaded or replaced before the call (code, VMs,
 * instances, host contracts) has been reclaimed. Refused
 * (PP_ERR_REENTRANT_CALL) from inside a plugin call, from plugin teardown,
 * and from a lifecycle callback (on_reload) while its bundle is busy. */
PP_API pp_status pp_runtime_quiesce(pp_runtime *rt);

typedef struct pp_stats {
	uint32_t bundles;          /* loaded bundles */
	uint32_t contracts;        /* published guest contracts */
	uint32_t host_contracts;   /* registered host contracts */
	uint64_t pending_reclaims; /* code/VMs/interfaces waiting for a grace period */
	uint64_t reclaimed;        /* reclaimed so far */
} pp_stats;

PP_API void pp_runtime_stats(pp_runtime *rt, pp_stats *out);

/* ---- Contract layouts ---------------------------------------------------- */

/* Declares, as the host, the sizes of each function's args struct and out
 * value of a guest contract: what the host's callers pass (ppc's host header
 * declares them for you). A JS bundle that provides the contract runs
 * guarded against these sizes: it may declare smaller ones (a typed
 * signature or a layout), never larger (refused at load), and a function
 * it declares nothing for takes the host's. Without a declaration, the
 * sizes a bundle declares about itself are trusted. Applies to bundles
 * loaded (or reloaded) afterwards; declaring the same contract again
 * replaces its layouts. docs/js.md "Memory safety". */
PP_API pp_status pp_contract_declare_layouts(pp_runtime *rt, uint64_t contract_id,
                                             const pp_fn_layout *layouts, uint32_t count);

/* ---- Host contracts ------------------------------------------------------ */

/* Offers a host contract to plugins. The runtime keeps the pointer (it must
 * stay valid until pp_runtime_free). A singleton's instance is created here
 * and destroyed by pp_runtime_free. Registering the same contract id twice is
 * PP_ERR_DUPLICATE_PROVIDER. */
PP_API pp_status pp_host_contract_register(pp_runtime *rt, const pp_host_contract_interface *iface);

/* ---- Bundles ------------------------------------------------------------- */

/* A dependency on a guest contract that a bundle declares (manifests fill this
 * in; hosts may pass it directly, with the same effect). It must be served
 * when the bundle loads and while it stays loaded: during its init a bundle
 * can find only the contracts it declared; a bundle that others depend on
 * cannot be unloaded without a cascade, nor reloaded into a version that no
 * longer provides what they need. */
typedef struct pp_dependency {
	uint64_t contract_id;
	uint32_t min_version;
} pp_dependency;

typedef struct pp_load_options {
	uint32_t size;      /* sizeof as built, or 0 (see abi.h) */
	const char *name;   /* bundle name; NULL: derived from the path */
	const char *loader; /* "native" or "js-quickjs"; NULL: chosen from the path */
	const pp_dependency *dependencies;
	size_t dependency_count;
	uint32_t reinit_on_dep_reload; /* 1: reload this bundle after a dependency reloads */
	pp_js_limits js;               /* per-bundle overrides of the runtime's JS limits */
} pp_load_options;

#define PP_LOAD_OPTIONS_V2_SIZE (offsetof(pp_load_options, js.concurrency) + sizeof(uint32_t))

/* Loads a bundle from a directory or a file (a native .so, a .js). A
 * directory with a manifest.toml is loaded as it says (name, loader, file,
 * dependencies; what the bundle registers must match its provides and
 * function_count). On success
 * *out_id (may be NULL) receives the bundle id. A bundle whose init fails,
 * that registers nothing, or whose name is already loaded, leaves the runtime
 * exactly as it was. opts may be NULL. */
PP_API pp_status pp_bundle_load(pp_runtime *rt, const char *path, const pp_load_options *opts,
                                uint64_t *out_id);

/* Loads a bundle from source held in memory, for loaders that take it (JS).
 * opts->name is required; opts->loader defaults to "js-quickjs". The bytes
 * are copied. */
PP_API pp_status pp_bundle_load_source(pp_runtime *rt, const void *source, size_t len,
                                       const pp_load_options *opts, uint64_t *out_id);

/* What pp_bundle_load_dir reports for each bundle it finds. Valid during
 * the report call. */
typedef struct pp_dir_entry {
	const char *name;   /* the manifest's name, or the directory's */
	const char *path;   /* the bundle's directory */
	uint64_t bundle_id; /* 0 unless loaded */
	pp_status status;   /* PP_OK: loaded */
	const char *error;  /* why it did not load, or NULL */
	uint32_t order;     /* load order among those loaded, from 0; UINT32_MAX if not */
} pp_dir_entry;

/* Loads every bundle under a plugins directory: each subdirectory holding a
 * manifest.toml, a bundle.js or a shared library. Bundles load after what
 * their manifests say they need (contracts another bundle provides, bundles
 * by name); bundles without a manifest load first. A dependency nobody
 * provides or a cycle fails the bundles concerned, naming them, and the rest
 * still load. report (may be NULL) sees every bundle found, in directory
 * order. Returns PP_OK if all loaded, else the first failure's status;
 * *loaded (may be NULL) counts the bundles loaded. */
PP_API pp_status pp_bundle_load_dir(pp_runtime *rt, const char *dir,
                                    void (*report)(void *ud, const pp_dir_entry *e), void *ud,
                                    size_t *loaded);

/* Hot reload: a thread that watches every loaded bundle's files (a bundle
 * directory and its subdirectories, or a bundle file's name in its
 * directory) and reloads a bundle once its files have been quiet for
 * debounce_ms (0: the default), so a save or a build makes one reload. The
 * bundles loaded now are watched when this returns; bundles loaded later
 * within 250 ms of their load, and a change made before that reloads them
 * too (the load notes their files' names, sizes, times and inodes). A
 * failed reload keeps the old version serving; it is logged and reported
 * to on_reload as PP_RELOAD_FAILED. Fails (PP_ERR_IO, naming the
 * directory) when a loaded bundle's directory, a bundle file's directory or
 * a plugins directory cannot be watched, e.g. when the system's limit of
 * inotify watches is reached; a subdirectory inside a bundle that cannot be
 * watched, and a bundle loaded later that cannot be, are logged as
 * warnings (the rest is watched).
 * Stopped by pp_watch_stop or pp_runtime_free. */
#define PP_WATCH_DEFAULT_DEBOUNCE_MS 100u
PP_API pp_status pp_watch_start(pp_runtime *rt, uint32_t debounce_ms);
/* Stops the watcher and waits for its thread, except where waiting could
 * deadlock — from its own on_reload callback, a lifecycle callback, or
 * plugin code (a host contract a plugin called): then the thread ends once
 * what it runs returns and is joined by a later start, stop or free. */
PP_API void pp_watch_stop(pp_runtime *rt);

/* One contract a bundle provides, as pp_bundle_contracts reports it. */
typedef struct pp_contract_info {
	const char *name; /* the registered name, e.g. "demo.WordCount@1" */
	uint64_t contract_id;
	pp_version version;
	uint32_t function_count; /* for JS bundles, what the bundle declared */
	uint32_t dispatch_type;  /* PP_DISPATCH_NATIVE or PP_DISPATCH_VM */
} pp_contract_info;

/* Calls fn (may be NULL) for each contract the bundle provides; returns how
 * many. 0 if no such bundle is loaded. fn runs on a snapshot, without the
 * runtime's lock: it may call anything. */
PP_API size_t pp_bundle_contracts(pp_runtime *rt, uint64_t bundle_id,
                                  void (*fn)(void *ud, const pp_contract_info *c), void *ud);

/* Unload flags. */
enum { PP_UNLOAD_CASCADE = 1u /* unload the bundles that depend on it first */ };

/* Unloads a bundle: its handles go stale at once; its code is reclaimed after
 * every call running in it has returned. */
PP_API pp_status pp_bundle_unload(pp_runtime *rt, uint64_t bundle_id, uint32_t flags);

/* Reloads a bundle from where it was loaded. Handles stay valid and resolve to
 * the new code; if the new code fails to load, the old one keeps serving. */
PP_API pp_status pp_bundle_reload(pp_runtime *rt, uint64_t bundle_id);

typedef struct pp_bundle_info {
	uint64_t id;
	const char *name;
	const char *path;   /* "" for in-memory sources */
	const char *loader; /* loader name */
	uint32_t contract_count;
	uint32_t reload_count;
	const char *version; /* its manifest's version, or NULL */
} pp_bundle_info;

/* Calls fn once per loaded bundle, in load order, on a snapshot taken
 * without holding the lock while fn runs (it may call anything); info is
 * valid during the call. Returns the number of bundles. */
PP_API size_t pp_bundle_foreach(pp_runtime *rt, void (*fn)(void *ud, const pp_bundle_info *info),
                                void *ud);

/* ---- Guest contracts ----------------------------------------------------- */

/* The first registered provider of contract_id matching min_version (see
 * docs/abi.md for how min_version is read), or the null handle; then
 * pp_last_error lists what is loaded. */
PP_API pp_guest_contract_handle pp_find(pp_runtime *rt, uint64_t contract_id, uint32_t min_version);

/* The same by name: contract is the name with its major ("math.Adder@1"),
 * whose id is pp_guest_contract_id("math.Adder", 1). With bundle non-NULL,
 * only that bundle's provider. On a miss pp_last_error says what is loaded
 * and the nearest name: "no bundle provides math.Addr@1 (loaded:
 * math.Adder@1 1.0.0 from bundle 'adder'); did you mean math.Adder@1?". */
PP_API pp_guest_contract_handle pp_find_named(pp_runtime *rt, const char *contract,
                                              uint32_t min_version, const char *bundle);

/* Every matching provider in registration order: writes up to cap handles and
 * returns how many match in all. */
PP_API size_t pp_find_all(pp_runtime *rt, uint64_t contract_id, uint32_t min_version,
                          pp_guest_contract_handle *out, size_t cap);

/* The interface behind a handle, or NULL if the handle is null or stale. The
 * pointer stays valid until the revision counter moves; a caller that keeps it
 * while other threads may unload should call through pp_call instead. */
PP_API const pp_guest_contract_interface *pp_resolve(pp_runtime *rt, pp_guest_contract_handle h);

/* Calls function fn_id of the contract behind h on instance (NULL data for the
 * default implementation). Safe against a concurrent unload or reload. An
 * instance must come from pp_instance_create on the version the call
 * reaches and not be destroyed; any other is refused before plugin code
 * runs (PP_ERR_STALE_INSTANCE). arena
 * may be NULL. Returns the call's code (PP_OK, a runtime code such as
 * PP_ERR_STALE_HANDLE, or the plugin's own code); a message the plugin
 * returned is in pp_last_error. */
PP_API uint32_t pp_call(pp_runtime *rt, pp_guest_contract_handle h,
                        pp_guest_contract_instance instance, uint32_t fn_id, const void *args,
                        void *out, pp_call_arena *arena);

/* Creates / destroys an instance of the contract behind h. The runtime keeps
 * track of the instances made here: those still alive when their bundle is
 * unloaded or reloaded are destroyed by the runtime with the code that made
 * them, so nothing leaks. Destroying an instance made by a version that has
 * since been replaced returns PP_ERR_STALE_HANDLE (the runtime reclaims it),
 * and pp_call refuses it: after a reload, make a new one. out->data is the
 * runtime's value for the instance, bound to the version (docs/runtime.md
 * "Instances"), for pp_call and pp_instance_destroy: not the plugin's
 * pointer, not for the interface's functions. */
PP_API pp_status pp_instance_create(pp_runtime *rt, pp_guest_contract_handle h, const void *args,
                                    pp_guest_contract_instance *out);
PP_API pp_status pp_instance_destroy(pp_runtime *rt, pp_guest_contract_handle h,
                                     pp_guest_contract_instance instance);

#include "call_inline.h" /* pp_call's common case, inline (PP_NO_INLINE_CALL: not) */

#ifdef __cplusplus
}
#endif
#endif /* POLYPLUG_H */
