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

typedef struct js_vm js_vm;

/* Live per-instance impl objects of one contract, keyed by instance id. */
typedef struct js_instance_map {
	uint64_t *keys; /* 0 = empty, UINT64_MAX = deleted */
	JSValue *values;
	size_t cap, used;
} js_instance_map;

/* One contract a JS bundle registered. Its address is the interface's
 * loader data. Everything JS in it belongs to the VM and is touched only
 * with the VM's lock held. */
typedef struct js_contract {
	js_vm *vm;
	uint64_t contract_id;
	pp_version version; /* {version >> 16, 0, 0}, as the reference registers it */
	char *name;
	uint32_t fn_count;
	JSValue *functions;
	js_sig *sigs; /* typed signature per function, or NULL if none has one */
	JSValue factory;
	JSValue default_impl;
	js_instance_map instances; /* ids from the runtime's next_instance_id */
} js_contract;

struct js_vm {
	pp_runtime *rt;
	const pp_host_api *host;
	char *bundle; /* name, for messages */
	JSRuntime *qrt;
	JSContext *ctx;
	JSValue bridge;
	double host_lo, host_hi;

	/* One call at a time. `owner` is the thread inside (0 if none), taken
	 * with one compare-and-swap; a nested call from that same thread is
	 * refused before the VM is touched. Threads that find it busy park on
	 * `park`/`unparked`, counted in `parked`. */
	_Atomic uintptr_t owner;
	_Atomic uint32_t parked;
	pthread_mutex_t park;
	pthread_cond_t unparked;

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
	size_t memory_bytes;      /* the VM's memory limit */
	uint64_t call_started_ns; /* 0 until the first poll of the current call */
	bool interrupted;

	js_contract *contracts;
	size_t contract_count;
	pp_retired retired; /* its teardown, a grace period after its release */
};

/* js_bridge.c: a new bridge object for vm (JS_EXCEPTION on failure). */
JSValue pp_js_bridge_new(js_vm *vm);

/* js_loader.c */
/* The message and stack of the pending exception, as one malloc'd string. */
char *pp_js_exception_text(JSContext *ctx);

#endif
