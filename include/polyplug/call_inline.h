/*
 * polyplug/call_inline.h — pp_call's common case, compiled into the caller.
 *
 * The exported pp_call costs an out-of-line entry whose seven arguments do
 * not all fit in registers, on top of the plugin's own call. As liburcu's
 * _LGPL_SOURCE does for its read side, this header lets the caller's
 * compiler inline what a call does when nothing unusual happens: find the
 * thread's read state by one thread-local compare, enter a read section,
 * resolve the handle's slot, dispatch, leave. Everything else — a thread's
 * first call into a runtime, a call on an instance whose loader does not
 * check its instances itself (pp_call looks it up), a stale handle, a
 * function past the table — goes to the exported pp_call, which checks or
 * reports it. Both run the one read
 * section and the one dispatch defined here, so they cannot drift apart.
 *
 * The pp__ structs are views of the heads of the runtime's private ones;
 * their layout is part of this soname's ABI (tests/test_abi.c pins them to
 * the private structs). A host that must keep working with a libpolyplug of
 * another layout defines PP_NO_INLINE_CALL before including polyplug.h and
 * pays the entry. Included by polyplug.h; not a header of its own.
 */
#ifndef POLYPLUG_CALL_INLINE_H
#define POLYPLUG_CALL_INLINE_H

#ifndef POLYPLUG_H
#error "include <polyplug/polyplug.h>, not this header"
#endif

#if defined(__SANITIZE_THREAD__)
#define PP__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PP__TSAN 1
#endif
#endif
#if defined(PP__TSAN)
void __tsan_acquire(void *addr);
#endif

/* The views' layout, and what the inline path may do itself, are in the
 * names of the two symbols hosts link against: a host built for another
 * then fails to load instead of reading the wrong fields. Change a view or
 * the inline path's duties, bump the suffix. 2: calls on an instance go to
 * the exported pp_call, which checks the instance and takes its key off.
 * 3: calls on an instance of a contract whose loader checks its instances
 * (the JS loader's) are made here too, and pp__call_failed words a refusal
 * of the instance. */
#define pp__tls pp__tls_layout3
#define pp__call_failed pp__call_failed_layout3

/* Slots a registry has: a handle's index is below this. */
#define PP__MAX_SLOTS (1u << 20)

/* A thread's read side in one runtime (the head of its per-thread state):
 * the epoch its outermost read section entered in, 0 outside one (written by
 * its thread, read by the runtime's reclaimer), and how deep it is. */
typedef struct pp__reader {
	uint64_t epoch;
	uint32_t nest;
	uint32_t reserved_;
} pp__reader;

/* A published contract as a call sees it (the head of the runtime's node):
 * immutable while a handle's slot points at it. An instance the host holds
 * is the loader's value XOR instance_key; with loader_checks_instances set,
 * the loader refuses a value its version did not make (or has destroyed)
 * as it looks it up, so a call on an instance needs no lookup of ours. */
typedef struct __attribute__((may_alias)) pp__node_view {
	uint32_t generation;
	uint32_t function_count;
	pp_guest_contract_interface iface;
	uintptr_t instance_key;
	uint32_t loader_checks_instances;
} pp__node_view;

typedef struct __attribute__((may_alias)) pp__slot_view {
	const pp__node_view *node; /* NULL when free; published with release */
	uint32_t private_[2];
} pp__slot_view;

/* The head of every pp_runtime. */
typedef struct pp__runtime_head {
	uint64_t epoch;             /* only grows; a grace period advances it */
	const pp__slot_view *slots; /* PP__MAX_SLOTS, fixed for the runtime's life */
	uint32_t membarrier;        /* readers need only a compiler barrier */
	uint32_t fence_word;        /* a full fence's stand-in under TSan */
	int tsan_sync;              /* the address TSan annotations name */
} pp__runtime_head;

/* The runtime the calling thread entered last and its read state there.
 * Only its thread writes it, except that thread exit and pp_runtime_free
 * set rt to a value no runtime has (not NULL: a NULL rt must not match a
 * freed state), so a freed runtime is never matched. */
typedef struct pp__thread_cache {
	pp_runtime *rt;
	pp__reader *reader;
} pp__thread_cache;
PP_API extern __thread pp__thread_cache pp__tls __attribute__((tls_model("initial-exec")));

/* The message of a failed call, left as pp_last_error; returns err.code (or
 * PP_ERR_STALE_INSTANCE when the loader refused instance, the value the
 * host passed). Called inside the read section that reached n. */
PP_API uint32_t pp__call_failed(pp_runtime *rt, const pp__node_view *n, uint32_t fn_id,
                                pp_abi_error err, const void *instance);

/* Enters / leaves a read section: nothing unpublished while it is open is
 * reclaimed before it closes. Sections nest. The entry publishes the epoch
 * and orders that store before the section's reads: with membarrier the
 * writer supplies the fence, so a compiler barrier is enough here. */
static inline __attribute__((always_inline)) void pp__read_begin(pp__runtime_head *hot,
                                                                 pp__reader *r)
{
	if (__builtin_expect(r->nest++ == 0, 1)) {
		__atomic_store_n(&r->epoch, __atomic_load_n(&hot->epoch, __ATOMIC_ACQUIRE),
		                 __ATOMIC_RELAXED);
		if (hot->membarrier)
			__atomic_signal_fence(__ATOMIC_SEQ_CST);
		else
#if defined(PP__TSAN) /* GCC's TSan refuses standalone fences */
			(void)__atomic_fetch_add(&hot->fence_word, 0, __ATOMIC_SEQ_CST);
#else
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
	}
}

static inline __attribute__((always_inline)) void pp__read_end(pp__reader *r)
{
	if (__builtin_expect(--r->nest == 0, 1))
		__atomic_store_n(&r->epoch, 0, __ATOMIC_RELEASE);
}

/* The node a handle names, or NULL when it is null or stale. Inside a read
 * section. */
static inline __attribute__((always_inline)) const pp__node_view *
pp__resolve(pp__runtime_head *hot, pp_guest_contract_handle h)
{
	if (h.index >= PP__MAX_SLOTS)
		return NULL;
	const pp__node_view *n = __atomic_load_n(&hot->slots[h.index].node, __ATOMIC_ACQUIRE);
#if defined(PP__TSAN)
	__tsan_acquire(&hot->tsan_sync);
#endif
	return n && n->generation == h.generation ? n : NULL;
}

/* Calls function fn_id of n, inside a read section; false (nothing called)
 * when a native table has no such function. A VM's loader checks its own. */
static inline __attribute__((always_inline)) int
pp__dispatch(const pp__node_view *n, pp_guest_contract_instance instance, uint32_t fn_id,
             const void *args, void *out, pp_call_arena *arena, pp_abi_error *err)
{
	if (n->iface.dispatch_type == PP_DISPATCH_NATIVE) {
		if (fn_id >= n->function_count)
			return 0;
		((pp_native_guest_fn)n->iface.dispatch.native.functions[fn_id])(instance, args, out,
		                                                                err);
	} else {
		n->iface.dispatch.vm.call(n->iface.dispatch.vm.loader_data, instance, fn_id, args,
		                          out, arena, err);
	}
	return 1;
}

/* pp_call, inline where the call is ordinary (see the top of this file). */
static inline __attribute__((always_inline)) uint32_t
pp_call_inline(pp_runtime *rt, pp_guest_contract_handle h, pp_guest_contract_instance instance,
               uint32_t fn_id, const void *args, void *out, pp_call_arena *arena)
{
	pp__reader *r = pp__tls.reader;
	if (__builtin_expect(__atomic_load_n(&pp__tls.rt, __ATOMIC_RELAXED) == rt, 1)) {
		pp__runtime_head *hot = (pp__runtime_head *)(void *)rt;
		pp__read_begin(hot, r);
		const pp__node_view *n = pp__resolve(hot, h);
		pp_abi_error err = {PP_OK, {NULL, 0}};
		pp_guest_contract_instance in = instance;
		if (__builtin_expect(in.data != NULL, 0) && n) {
			/* (the key itself decodes to no instance: pp_call refuses it) */
			if (n->loader_checks_instances && (uintptr_t)in.data != n->instance_key)
				in.data = (void *)((uintptr_t)in.data ^ n->instance_key);
			else
				n = NULL; /* pp_call looks it up */
		}
		if (__builtin_expect(n && pp__dispatch(n, in, fn_id, args, out, arena, &err), 1)) {
			uint32_t code = __builtin_expect(err.code == PP_OK, 1)
			                        ? (uint32_t)PP_OK
			                        : pp__call_failed(rt, n, fn_id, err, instance.data);
			pp__read_end(r);
			return code;
		}
		pp__read_end(r);
	}
	return (pp_call)(rt, h, instance, fn_id, args, out, arena);
}

#if !defined(PP_NO_INLINE_CALL) && !defined(PP_BUILDING_LIBRARY)
#define pp_call(...) pp_call_inline(__VA_ARGS__)
#endif

#endif /* POLYPLUG_CALL_INLINE_H */
