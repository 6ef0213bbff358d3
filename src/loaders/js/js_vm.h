/*
 * js_vm.h — the QuickJS loader's per-bundle state, shared by js_loader.c
 * (loading, dispatch, instances, limits) and js_bridge.c (the bridge object
 * JavaScript reaches the host through).
 */
#ifndef PP_JS_VM_H
#define PP_JS_VM_H

#include <quickjs.h>

#include "../../runtime/internal.h"
#include "js_sig.h"

/* The most of one text a guest makes that the host copies: a console
 * record, an exception's message, its stack. The guest picks their sizes,
 * up to its heap, and the copies (a log record, a thread's last error) are
 * outside its VM's memory limit. */
#define PP_JS_TEXT_MAX 16384u

typedef struct js_vm js_vm;

/* ---- Guarded memory (js_guard.c) ---- */

enum { JS_REGION_ARGS, JS_REGION_OUT, JS_REGION_ARENA, JS_REGION_BLOCK };
#define JS_REGION_WRITABLE 1u
#define JS_REGION_HOST 2u /* an arena region the host allocated (no call arena) */

/* Memory a guest was given: [base, base + len). */
typedef struct js_region {
	uintptr_t base;
	size_t len;
	uint8_t kind;  /* JS_REGION_* */
	uint8_t flags; /* JS_REGION_WRITABLE, JS_REGION_HOST */
} js_region;

typedef struct js_guard {
	bool on;         /* guarded: every bridge memory access is checked */
	js_region *call; /* the current call's regions */
	size_t call_n, call_cap;
	js_region *blocks; /* live alloc blocks, sorted by base */
	size_t block_n, block_cap;
	size_t block_bytes; /* their total, counted against the memory limit */
	char *violation;    /* the current call's first violation, or NULL */
	bool violated;      /* the current call had one (its message may not fit) */
	bool host_blocks;   /* the current call has JS_REGION_HOST regions */
} js_guard;

bool pp_js_guard_init(js_guard *g);
/* Starts a call's regions (args read-only, out writable; NULL or 0: none).
 * Inline below. */
static inline void pp_js_guard_begin(js_guard *g, const void *args, size_t args_len, void *out,
                                     size_t out_len);
/* Ends the call's regions; true if it had a violation, whose message
 * (malloc'd, or NULL) goes to *message. Inline below; its violated case: */
static inline bool pp_js_guard_end(js_guard *g, char **message);
bool pp_js_guard_violated(js_guard *g, char **message);
/* A guarded raw function must not hand out its alloc blocks (the caller
 * would free what the bundle still holds): true, with a violation pending,
 * if out's pointer-sized words hold a block's address. */
bool pp_js_guard_out_holds_blocks(js_vm *vm, const void *out, size_t len);
/* May the guest touch [addr, addr + len)? Always in compat mode; in guarded
 * mode only inside its regions, else false with a RangeError pending. */
bool pp_js_guard_access(js_vm *vm, const char *entry, uintptr_t addr, size_t len, bool write);
/* Records arenaAlloc's bytes as the call's (`host`: the host allocated
 * them, there being no call arena); false if out of memory. */
bool pp_js_guard_arena_block(js_vm *vm, void *p, size_t len, bool host);
/* Frees the bytes arenaAlloc took from the host in the call unless the call
 * succeeded and its out names them (the caller's then, to free). */
void pp_js_guard_release_host_blocks(js_vm *vm, bool succeeded);
/* Records msg as the call's violation and throws it as a RangeError. */
void pp_js_guard_refuse(js_vm *vm, const char *msg);
/* Refuses a number that is not an integer in [0, 2^32) (pending): `what`
 * says which ("a size", "a contract id word", ...). */
void pp_js_guard_bad_u32(js_vm *vm, const char *entry, const char *what, double d);
/* Whether [p, p + len) overlaps memory the bundle holds: a live block, or
 * its call's args, out or arena blocks. */
bool pp_js_guard_touches(js_vm *vm, const void *p, size_t len);
/* Tracks a block as the bundle's (false: out of memory, or it overlaps a
 * block held). fresh: the host's allocator has just handed p out, so what
 * is recorded there was freed outside this VM (by the host, or by another
 * VM of the pool) and is forgotten. */
bool pp_js_guard_add_block(js_vm *vm, void *p, size_t len, bool fresh);
/* Untracks the block at p of len bytes: 1 if it was the bundle's, 0 if not
 * (compat: the caller frees it anyway), -1 on a guarded violation (pending). */
int pp_js_guard_take_block(js_vm *vm, const char *entry, void *p, size_t len);
/* Frees the tables, and with `blocks` the live blocks too. */
void pp_js_guard_free(js_vm *vm, bool blocks);

static inline void pp_js_guard_begin(js_guard *g, const void *args, size_t args_len, void *out,
                                     size_t out_len)
{
	g->call_n = 0;
	if (!g->on)
		return;
	/* room for two is kept from the load on (pp_js_guard_init) */
	if (args && args_len)
		g->call[g->call_n++] = (js_region){(uintptr_t)args, args_len, JS_REGION_ARGS, 0};
	if (out && out_len)
		g->call[g->call_n++] =
		        (js_region){(uintptr_t)out, out_len, JS_REGION_OUT, JS_REGION_WRITABLE};
}

static inline bool pp_js_guard_end(js_guard *g, char **message)
{
	if (__builtin_expect(g->violated, 0))
		return pp_js_guard_violated(g, message);
	g->call_n = 0; /* no violation: no message either */
	*message = NULL;
	return false;
}

/* [addr, addr + len) inside r? Overflow-safe: len may be anything. */
static inline bool pp_js_region_holds(const js_region *r, uintptr_t addr, size_t len)
{
	return addr >= r->base && addr - r->base <= r->len && len <= r->len - (addr - r->base);
}

/* pp_js_guard_access with its common case inline: an access inside one of
 * the call's regions (args, out). */
static inline bool pp_js_guard_ok(const js_guard *g, js_vm *vm, const char *entry, uintptr_t addr,
                                  size_t len, bool write)
{
	if (!g->on)
		return true;
	for (size_t i = 0; i < g->call_n; i++) {
		const js_region *r = &g->call[i];
		if (pp_js_region_holds(r, addr, len) && (!write || (r->flags & JS_REGION_WRITABLE)))
			return true;
	}
	return pp_js_guard_access(vm, entry, addr, len, write);
}

/* What a function's args and out blocks hold, when known (a typed
 * signature, or a layout the registration declared). */
typedef struct js_layout {
	uint32_t args, out;
	bool known;
} js_layout;

/* An implementation object (the default one, or an instance's) and the
 * methods its contract's typed signatures name, looked up once when the
 * factory has made it, as a vtable is: a call finds its method without a
 * property lookup, a missing method is reported when the object is made,
 * and a method replaced on the object later is not seen. methods[fn] is
 * JS_UNDEFINED where function fn names none; the array is empty when no
 * function does. */
typedef struct js_impl {
	JSValue obj;
	JSValue methods[];
} js_impl;

/* Live per-instance implementations of one contract, keyed by instance id. */
typedef struct js_instance_map {
	uint64_t *keys; /* 0 = empty, UINT64_MAX = deleted */
	js_impl **values;
	size_t cap;
	size_t used; /* slots not empty: live keys and deleted ones */
	size_t live; /* live keys */
} js_instance_map;

typedef struct js_pool js_pool;

/* One contract a JS bundle registered. Its address is the interface's
 * loader data. Everything JS in it belongs to the VM and is touched only
 * with the VM's lock held. */
typedef struct js_contract {
	js_vm *vm;
	js_pool *pool;            /* vm's, here so that choosing a VM reads no VM */
	uint32_t slot;            /* its index in vm->contracts, the same in every VM */
	pp_fn_layout *fn_layouts; /* the interface's layouts when all are known, else NULL */
	uint64_t contract_id;
	pp_version version; /* {version >> 16, 0, 0}, as the reference registers it */
	char *name;
	uint32_t fn_count;
	JSValue *functions;
	char **fn_names;    /* per function: its method or JS name for messages, or NULL */
	js_sig *sigs;       /* typed signature per function, or NULL if none has one */
	bool methods;       /* some signature names a method */
	js_layout *layouts; /* per function */
	JSValue factory;
	js_impl *default_impl;
	js_instance_map instances; /* ids from the runtime's next_instance_id */
} js_contract;

struct js_vm {
	js_pool *pool;
	uint32_t index; /* in pool->vms */
	pp_runtime *rt;
	const pp_host_api *host;
	char *bundle;     /* name, for messages */
	char *module_dir; /* the bundle directory imports are confined to ("": none) */
	/* the import being resolved, for module_load's messages: its
	 * specifier, a NUL, then its importer's name (js_modules.c) */
	char *importing;
	/* while the VM loads: the files a pool's load imported so far, so
	 * that every VM of it runs the same code (NULL otherwise) */
	struct js_imports *imports;
	struct js_srcmap
	        *srcmap; /* the bundle's source map, or NULL: VM 0 owns it, the pool shares it */
	JSRuntime *qrt;
	const int *jobs; /* qrt's pending job count (scripts/quickjs/0005) */
	JSContext *ctx;
	JSValue bridge;
	double host_lo, host_hi;
	JSClassID dataview_class; /* of a DataView made before the bundle's code ran */
	JSClassID u8_class;       /* and of a Uint8Array */
	JSClassID text_class[2];  /* TextEncoder's, TextDecoder's (js_globals.c) */

	/* One call at a time. `owner` is the thread inside (0 if none), taken
	 * with one compare-and-swap; a nested call from that same thread is
	 * refused before the VM is touched. Threads that find it busy park on
	 * `park`/`unparked`, counted in `parked`. With `light_give` (the
	 * runtime has membarrier) the owner gives the VM back with a plain
	 * store and the parking thread pays for the fence (vm_give). */
	_Atomic uintptr_t owner;
	_Atomic uint32_t parked;
	bool light_give;
	pthread_mutex_t park;
	pthread_cond_t unparked;
	/* Instances whose destroy could not wait for the VM (waiting would
	 * have closed a cycle), under `park`: counted as one waiter in `parked`
	 * while any, and freed by the holder as it gives the VM back. Until
	 * then they are still in their contract's map, so a call on one looks
	 * here too (`later_n` is read without the lock first). Creating an
	 * instance makes room for it here (`later_cap` >= `instances`, the
	 * count in the maps, the holder's): leaving a destroy never allocates,
	 * so it cannot fail. */
	struct js_later {
		uint32_t slot; /* of the contract in `contracts` */
		uint64_t id;
	} * later;
	_Atomic size_t later_n;
	size_t later_cap, instances;

	/* CPU limit: the interrupt handler reads the clock only once a call has
	 * run long enough for QuickJS to poll, and stops it past the budget.
	 * QuickJS polls it every 10000 polls, and the runtime's watchdog asks
	 * for a poll whenever the VM is still in the call it was in at the
	 * previous tick (`calls` counts entries; `watched`, `seen_calls`). */
	uint64_t cpu_budget_ns;
	_Atomic uint64_t calls; /* written by the owner only */
	uint64_t seen_calls;    /* the watchdog's, under its lock */
	pp_watched watched;
	size_t stack_bytes;       /* configured stack budget (each entry may get less) */
	uintptr_t entered_at;     /* js_call's frame at the last entry (0: not js_call) */
	uintptr_t entered_low;    /* and the bottom of that entry's stack */
	size_t memory_bytes;      /* the VM's memory limit */
	size_t table_bytes;       /* host memory its registrations' tables hold */
	uint64_t call_started_ns; /* 0 until the first poll of the current call */
	bool interrupted;         /* a limit stopped the call: it ends, uncatchably */
	bool parse_over;          /* ... the memory limit, held at a parse's polls */
	bool lifted;              /* a parse runs with QuickJS's own limit lifted */

	js_guard guard;
	uint32_t memory_mode;      /* PP_JS_MEMORY_*, as the load resolved it */
	bool published;            /* its load succeeded */
	pp_call_arena *call_arena; /* the current call's (guarded arenaAlloc takes no other) */
	size_t call_bytes;         /* arena bytes the current call took */

	js_contract *contracts;
	size_t contract_count;
	/* The implementation the current call runs on, and, if the call had the
	 * host destroy it, that one: freed when the call ends. */
	const js_impl *calling;
	js_impl *doomed;

	/* Promises rejected with no handler yet, as QuickJS's tracker reports
	 * them (js_globals.c): reported once the jobs of the call that made them
	 * have run, unless a handler came meanwhile. Those past the array's
	 * size are only counted. */
	struct js_rejection {
		JSValue promise, reason;
	} rejected[8];
	size_t rejected_n, rejected_dropped;
};

/* A bundle's VMs: `concurrency` of them, each loaded from the same source
 * and registering contracts of the same shape. The runtime sees the first
 * VM's contracts; a call on the default implementation runs on any free VM,
 * an instance's calls on the VM that made it (its id says which). One
 * allocation, loaded, replaced and retired as one unit. The VMs are in it,
 * not pointed at: a call finds VM i from the pool's address alone. */
struct js_pool {
	pp_retired retired; /* its teardown, a grace period after its release */
	uint32_t n;
	pp_wait_set owners; /* the VMs' owner words, for a call any of them may serve */
	/* creates so far: the next one starts at VM creates % n, so that
	 * instances made on one thread spread over the pool. On a line of its
	 * own: calls read the line above. */
	_Alignas(64) _Atomic uint32_t creates;
	/* those not made (a load failed first) are zeroes; each on cache lines
	 * of its own, since a call writes its VM while other threads call the
	 * others */
	union js_pool_vm {
		js_vm vm;
		_Alignas(64) unsigned char line_;
	} vms[];
};

/* The files one load of a pool imported, by module name: read by the
 * first VM that imports each, served to the others from here — a file it
 * could not read too, so a later VM fails as it did. */
typedef struct js_imports {
	struct js_import {
		char *name, *code; /* code is NUL-terminated, as JS_Eval wants */
		size_t len;
		char *error;  /* instead of code: why it could not be read */
		bool too_big; /* the error is the VM's memory limit */
	} * files;
	size_t n, cap;
	size_t bytes; /* of the code kept: at most the VM's memory limit */
} js_imports;

/* js_modules.c: frees what a load's imports kept. */
void pp_js_imports_free(js_imports *im);

/* js_bridge.c: a new bridge object for vm (JS_EXCEPTION on failure). */
JSValue pp_js_bridge_new(js_vm *vm);

/* js_globals.c: console, TextEncoder/TextDecoder, queueMicrotask on the
 * VM's global object, and the tracker of unhandled rejections (-1 with an
 * exception pending on failure). */
int pp_js_globals_install(js_vm *vm);
/* Frees the rejections still kept (the VM is being freed). */
void pp_js_rejections_free(js_vm *vm);
JSValue pp_js_settle_slow(js_vm *vm, JSValue ret);

/* What a guest function returned, once the VM's job queue has run: a
 * Promise becomes what it settled to (a rejection is thrown), anything
 * else stays; if the CPU limit stopped any of it, an exception (the caller
 * reads vm->interrupted). Takes ret. Cheap when no job is queued and ret is
 * no object. */
static inline JSValue pp_js_settle(js_vm *vm, JSValue ret)
{
	if (!JS_IsObject(ret) && !vm->interrupted && *vm->jobs == 0)
		return ret;
	return pp_js_settle_slow(vm, ret);
}

/* js_modules.c: ES module bundles, imports confined to the bundle's
 * directory. init_fn: the module's polyplug_init (an exception, or a
 * non-function when it has none). */
void pp_js_modules_init(js_vm *vm);
JSValue pp_js_module_init_fn(JSContext *ctx, JSModuleDef *m);
/* Whether a bundle's source looks like a module (its first statement, or
 * any line that starts with one, is an import or an export): which of the
 * two syntax errors to report when it parses as neither. */
bool pp_js_looks_like_module(const char *code, size_t len);

/* js_srcmap.c: the source map a bundle's sourceMappingURL names (NULL if
 * none or unreadable, logged): inline, or a file named relative to dir (the
 * bundle file's), read only from the VM's module_dir (none for a bundle
 * from memory or a single file: its directory may hold other bundles).
 * apply rewrites FILE:LINE:COL of the bundle file in text (malloc'd, taken)
 * to the original source's. */
typedef struct js_srcmap js_srcmap;
js_srcmap *pp_js_srcmap_load(js_vm *vm, const char *dir, const char *file, const char *code,
                             size_t len);
char *pp_js_srcmap_apply(const js_srcmap *m, char *text);
void pp_js_srcmap_free(js_srcmap *m);

/* js_loader.c */
/* Sets QuickJS's heap limit: the VM's limit less what its alloc blocks hold,
 * or none while the loader parses (lifted). */
void pp_js_heap_limit(js_vm *vm, bool lifted);
/* The layout of fn of a contract served by this loader, or NULL when iface is
 * another loader's or the layout is unknown. */
const js_layout *pp_js_layout_of(const pp_guest_contract_interface *iface, uint32_t fn);
/* fn's typed signature when iface is this loader's and fn has one, else NULL. */
const js_sig *pp_js_callee_sig(const pp_guest_contract_interface *iface, uint32_t fn);
/* The message and stack of the pending exception, as one malloc'd string. */
char *pp_js_exception_text(JSContext *ctx);

#endif
