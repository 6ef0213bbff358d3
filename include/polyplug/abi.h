/*
 * polyplug/abi.h — the stable C ABI shared by the runtime, hosts and plugins.
 *
 * Everything here is plain C with fixed layouts (x86-64: pointers are 8 bytes);
 * tests/test_abi.c pins every size and offset. A plugin includes only this
 * header: it never links libpolyplug, it reaches the runtime through the
 * pp_host_api table handed to polyplug_init. The identity helpers and the call
 * arena are therefore header-only (static inline).
 *
 * Ownership conventions: a pp_string_view is always borrowed (valid for the
 * duration of the call that hands it over unless stated otherwise); memory
 * from host->alloc is owned by whoever received it and goes back through
 * host->free with the same size and alignment.
 *
 * Growth: the structs that may gain members (the interfaces, the host table,
 * the host's config and load options) start with `uint32_t size`, the
 * sizeof the producer was built with. New members are only ever appended;
 * a reader takes a member only if size covers it, else its default. 0 means
 * the size this ABI version first shipped (so `= {0}` and designated
 * initialisers keep working). A struct from a newer release is read to
 * what the reader knows; the host's config and load options ask for
 * something, so there what the reader does not know must be zero (else
 * PP_ERR_UNSUPPORTED, as Linux's extensible syscall structs do). No version
 * of any of them is larger than PP_MAX_STRUCT_SIZE.
 */
#ifndef POLYPLUG_ABI_H
#define POLYPLUG_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
/* The headers compile as C++ too (tests/CMakeLists.txt checks): hosts such
 * as game engines are often written in it. */
#define PP_ALIGNOF(T) alignof(T)
#define PP_STATIC_ASSERT(cond, why) static_assert(cond, why)
extern "C" {
#else
#define PP_ALIGNOF(T) _Alignof(T)
#define PP_STATIC_ASSERT(cond, why) _Static_assert(cond, why)
#endif

/* 2: growable structs lead with their size, create_instance reports failure,
 * no bool in any struct, host contract flags. */
#define PP_ABI_VERSION 2u

/* ---- Basic types --------------------------------------------------------- */

/* Borrowed UTF-8 bytes, not NUL-terminated. */
typedef struct pp_string_view {
	const uint8_t *ptr;
	size_t len;
} pp_string_view;

/* A view of a string literal: PP_SV("name"). */
#define PP_SV(lit) ((pp_string_view){(const uint8_t *)("" lit), sizeof(lit) - 1})

/* Error codes. 0–255 belong to the runtime; 256 and up are plugin-defined and
 * pass through the runtime verbatim. Codes crossing the ABI are raw uint32_t. */
enum {
	PP_OK = 0,
	PP_ERR_GENERIC = 1,
	PP_ERR_BUFFER_TOO_SMALL = 2,
	PP_ERR_PANIC = 3,
	PP_ERR_NOT_FOUND = 4,
	PP_ERR_STALE_HANDLE = 5,
	PP_ERR_FUNCTION_NOT_AVAILABLE = 6,
	PP_ERR_DUPLICATE_PROVIDER = 7,
	PP_ERR_INVALID_POINTER = 8,
	PP_ERR_REENTRANT_CALL = 9,
	/* polyplug-c additions inside the runtime range (10–99). */
	PP_ERR_DEPENDENCY_IN_USE = 10, /* unload refused: a loaded bundle depends on it */
	PP_ERR_INVALID_ARGUMENT = 11,  /* a caller passed something malformed */
	PP_ERR_LOAD_FAILED = 12,       /* a bundle could not be loaded (see the message) */
	PP_ERR_ABI_MISMATCH = 13,      /* a native bundle was built for another ABI version */
	PP_ERR_INIT_FAILED = 14,       /* a bundle's polyplug_init refused to initialise */
	PP_ERR_OUT_OF_MEMORY = 15,
	PP_ERR_IO = 16,             /* a file could not be read or copied */
	PP_ERR_UNSUPPORTED = 17,    /* no loader for this kind of bundle, or feature off */
	PP_ERR_TIMEOUT = 18,        /* a guest call exceeded its CPU-time limit */
	PP_ERR_VM_DEAD = 19,        /* a guest VM was shut down after a fatal fault */
	PP_ERR_STALE_INSTANCE = 20, /* pp_call: the version reached did not make the
	                               instance (replaced, destroyed); nothing ran */
	PP_ERR_HOST_CONTRACT_NOT_FOUND = 100,
	PP_ERR_HOST_CONTRACT_VERSION_MISMATCH = 101,
	PP_ERR_HOST_CONTRACT_CALL_FAILED = 102,
	PP_ERR_PLUGIN_FIRST = 256
};

/* code plus an optional borrowed message (static or owned by the producer). */
typedef struct pp_abi_error {
	uint32_t code;
	pp_string_view message;
} pp_abi_error;

typedef struct pp_version {
	uint32_t major, minor, patch;
} pp_version;

/* Limits the runtime enforces on what a plugin registers: a registration
 * past them is refused at load with a message naming the limit. */
#define PP_MAX_CONTRACT_FUNCTIONS 65536u /* functions in one contract */
#define PP_MAX_REGISTRATIONS 4096u       /* guest contracts one bundle registers */
#define PP_MAX_NAME_BYTES 4096u          /* a descriptor's plugin or contract name */
#define PP_MAX_LAYOUT_VIEWS 256u         /* StringView/Buffer members in one layout */
#define PP_MAX_STRUCT_SIZE 4096u         /* any version of a growable struct ("Growth") */

/* Log levels; any other value is treated as PP_LOG_ERROR. */
enum { PP_LOG_ERROR = 1, PP_LOG_WARN = 2, PP_LOG_INFO = 3, PP_LOG_DEBUG = 4, PP_LOG_TRACE = 5 };

/* A guest contract registration: a slot index plus the slot's generation at
 * the time the handle was minted. Unload changes the generation, so old
 * handles go stale. Null = {0xFFFFFFFF, 0}. */
typedef struct pp_guest_contract_handle {
	uint32_t index;
	uint32_t generation;
} pp_guest_contract_handle;

#define PP_NULL_HANDLE_INDEX UINT32_MAX

static inline pp_guest_contract_handle pp_handle_null(void)
{
	pp_guest_contract_handle h = {PP_NULL_HANDLE_INDEX, 0};
	return h;
}
static inline bool pp_handle_is_null(pp_guest_contract_handle h)
{
	return h.index == PP_NULL_HANDLE_INDEX && h.generation == 0;
}
/* The packed form JS sees: generation in the high half; null packs to UINT64_MAX. */
static inline uint64_t pp_handle_pack(pp_guest_contract_handle h)
{
	return pp_handle_is_null(h) ? UINT64_MAX : ((uint64_t)h.generation << 32) | h.index;
}
static inline pp_guest_contract_handle pp_handle_unpack(uint64_t packed)
{
	pp_guest_contract_handle h = {(uint32_t)packed, (uint32_t)(packed >> 32)};
	return packed == UINT64_MAX ? pp_handle_null() : h;
}

/* Per-caller state of a guest contract; data == NULL means the contract's
 * stateless default implementation. */
typedef struct pp_guest_contract_instance {
	void *data;
	uint64_t contract_id;
} pp_guest_contract_instance;

typedef struct pp_vm_loader_data {
	void *data;
} pp_vm_loader_data;

/* Dispatch types, stored as a raw uint32_t in interfaces. */
enum { PP_DISPATCH_NATIVE = 0, PP_DISPATCH_VM = 1 };

/* Array returned by find_all / list_bundles: allocated with host->alloc, the
 * caller frees items with host->free(items, len * sizeof item, align). */
typedef struct pp_array {
	void *items;
	size_t len;
	size_t align;
} pp_array;

typedef struct pp_host_api pp_host_api;
typedef struct pp_call_arena pp_call_arena;
typedef struct pp_guest_contract_interface pp_guest_contract_interface;
typedef struct pp_host_contract_interface pp_host_contract_interface;

/* A native guest function slot. args/out follow the argument layout rules
 * (docs/abi.md); out_err is never NULL and starts as PP_OK. */
typedef void (*pp_native_guest_fn)(pp_guest_contract_instance instance, const void *args, void *out,
                                   pp_abi_error *out_err);
/* A native host-contract function slot; state is the instance's data. */
typedef void (*pp_native_host_fn)(void *state, const void *args, void *out, pp_abi_error *out_err);

typedef void (*pp_vm_call_fn)(pp_vm_loader_data loader_data, pp_guest_contract_instance instance,
                              uint32_t fn_id, const void *args, void *out, pp_call_arena *arena,
                              pp_abi_error *out_err);

/* One function's args struct and out value as its callee reads and writes
 * them (docs/abi.md): what a guarded JS caller must pass at least, and the
 * pointers inside args the callee follows (docs/js.md "Memory safety"). */
typedef struct pp_fn_layout {
	uint32_t args_size, out_size;
	uint32_t arena_offset; /* of a pp_call_arena * member of args, or PP_LAYOUT_NO_ARENA */
	uint32_t view_count;   /* entries in view_offsets */
	/* StringView/Buffer members of args (nested ones too), by offset; and,
	 * marked PP_LAYOUT_OUT_VIEW, those of out whose bytes the callee gives
	 * the caller (the call's arena, or host->alloc: the caller frees them) */
	const uint32_t *view_offsets;
} pp_fn_layout;

#define PP_LAYOUT_NO_ARENA UINT32_MAX
#define PP_LAYOUT_OUT_VIEW 0x80000000u /* view_offsets entry: an offset in out */

typedef struct pp_native_dispatch {
	uint32_t function_count;
	const void *const *functions; /* each entry is a pp_native_*_fn */
} pp_native_dispatch;

typedef struct pp_vm_dispatch {
	pp_vm_call_fn call;
	pp_vm_loader_data loader_data;
} pp_vm_dispatch;

typedef union pp_dispatch_mechanisms {
	pp_native_dispatch native;
	pp_vm_dispatch vm;
} pp_dispatch_mechanisms;

/* create_instance: out->data NULL is the stateless default instance; a
 * failure sets *out_err (never NULL, starts PP_OK), and the caller gets that
 * code and message instead of an instance. */
struct pp_guest_contract_interface {
	uint32_t size;          /* sizeof as built, or 0 (see "Growth") */
	uint32_t dispatch_type; /* PP_DISPATCH_*; validated on registration */
	uint64_t contract_id;
	pp_version contract_version;
	void (*create_instance)(pp_vm_loader_data loader_data, const pp_host_api *host,
	                        const void *args, pp_guest_contract_instance *out,
	                        pp_abi_error *out_err);
	void (*destroy_instance)(pp_vm_loader_data loader_data, const pp_host_api *host,
	                         pp_guest_contract_instance instance);
	pp_dispatch_mechanisms dispatch;
	/* Appended after ABI 2 first shipped (read only when size covers it): one entry per function,
	 * or NULL when not known. */
	const pp_fn_layout *layouts;
};

/* The size the interface structs first shipped with in ABI 2 (what size 0
 * means); smaller is refused. */
#define PP_GUEST_CONTRACT_INTERFACE_V2_SIZE offsetof(pp_guest_contract_interface, layouts)
#define PP_HOST_CONTRACT_INTERFACE_V2_SIZE offsetof(pp_host_contract_interface, layouts)

typedef struct pp_host_contract_instance {
	void *data;
} pp_host_contract_instance;

/* Host contract flags. */
enum { PP_HOST_CONTRACT_SINGLETON = 1u /* one instance for all callers, made at registration */ };

/* A host-provided contract. The runtime keeps the pointer it is given (it does
 * not copy), so a host may embed this struct in its own state and recover it
 * from `self` in create_instance. It must stay valid until the runtime is freed
 * (or, registered by a plugin, until that bundle version is retired). */
struct pp_host_contract_interface {
	uint32_t size;  /* sizeof as built, or 0 (see "Growth") */
	uint32_t flags; /* PP_HOST_CONTRACT_* */
	uint64_t contract_id;
	pp_version contract_version;
	uint32_t dispatch_type;
	pp_host_contract_instance (*create_instance)(const pp_host_contract_interface *self,
	                                             const void *args);
	void (*destroy_instance)(const pp_host_contract_interface *self,
	                         pp_host_contract_instance instance);
	pp_dispatch_mechanisms dispatch;
	/* Appended after ABI 2 first shipped (read only when size covers it): one entry per function,
	 * or NULL when not known. */
	const pp_fn_layout *layouts;
};

typedef struct pp_plugin_descriptor {
	pp_string_view name;
	pp_string_view contract_name;
	pp_version version;
} pp_plugin_descriptor;

/* Handed to polyplug_init. bundle_path belongs to the runtime and is valid
 * only during the call. */
typedef struct pp_bundle_init_context {
	uint64_t bundle_id;
	pp_string_view bundle_path;
} pp_bundle_init_context;

typedef struct pp_dependency_info {
	uint64_t contract_id;
	uint32_t min_version;
	uint64_t bundle_id; /* 0 for a dependency on a contract, not a bundle */
} pp_dependency_info;

/* ---- The host table ------------------------------------------------------ */

/* Passed to every plugin. Self-passing (host->f(host, ...)), callable from any
 * thread, every entry non-NULL; valid until the runtime is freed. */
struct pp_host_api {
	uint32_t size;        /* sizeof the runtime's table: entries past it are absent */
	uint32_t abi_version; /* PP_ABI_VERSION of the runtime */
	void *runtime;
	void (*register_guest_contract)(const pp_host_api *self,
	                                const pp_plugin_descriptor *descriptor,
	                                const pp_guest_contract_interface *iface,
	                                pp_abi_error *out_err);
	void *(*alloc)(const pp_host_api *self, size_t size, size_t align);
	void (*free)(const pp_host_api *self, void *ptr, size_t size, size_t align);
	pp_guest_contract_handle (*find_guest_contract)(const pp_host_api *self,
	                                                uint64_t contract_id, uint32_t min_version);
	pp_array (*find_all_guest_contracts)(const pp_host_api *self, uint64_t contract_id,
	                                     uint32_t min_version);
	const pp_guest_contract_interface *(*resolve_guest_contract)(
	        const pp_host_api *self, pp_guest_contract_handle handle);
	pp_host_contract_instance (*get_host_contract)(const pp_host_api *self,
	                                               uint64_t contract_id, uint32_t min_version);
	const pp_host_contract_interface *(*resolve_host_contract_interface)(
	        const pp_host_api *self, uint64_t contract_id, uint32_t min_version);
	pp_array (*list_bundles)(const pp_host_api *self);     /* items: uint64_t bundle ids */
	pp_array (*get_dependencies)(const pp_host_api *self); /* items: pp_dependency_info */
	void (*load_bundle)(const pp_host_api *self, const uint8_t *path, size_t path_len,
	                    pp_abi_error *out_err);
	void (*reload_bundle)(const pp_host_api *self, const uint8_t *path, size_t path_len,
	                      pp_abi_error *out_err);
	void (*register_host_contract)(const pp_host_api *self,
	                               const pp_host_contract_interface *iface,
	                               pp_abi_error *out_err);
	void (*register_loader)(const pp_host_api *self, void *loader, pp_abi_error *out_err);
	size_t (*get_last_error)(const pp_host_api *self, uint8_t *buf, size_t buf_len);
	size_t (*get_error_len)(const pp_host_api *self);
	void (*unload_bundle)(const pp_host_api *self, uint64_t bundle_id, pp_abi_error *out_err);
	void (*log)(const pp_host_api *self, uint32_t level, pp_string_view scope,
	            pp_string_view message);
	void (*create_guest_instance)(const pp_host_api *self,
	                              const pp_guest_contract_interface *iface, const void *args,
	                              pp_guest_contract_instance *out, pp_abi_error *out_err);
	void (*destroy_guest_instance)(const pp_host_api *self,
	                               const pp_guest_contract_interface *iface,
	                               pp_guest_contract_instance instance);
	const uint64_t *(*revision_counter)(const pp_host_api *self);
	const void *reserved; /* NULL */
	/* Appended after ABI 2 first shipped (present when size covers them).
	 * One call of a peer's guest contract (on a fresh instance, as a
	 * JS bundle's dispatchPeer) or of a host contract, in a read section of
	 * its own: found once, so the code, the instance and its destroy come
	 * from one version, and safe from any thread against unload and reload.
	 * Resolving an interface and calling through it is safe only inside a
	 * call the runtime made into the plugin; these are safe anywhere. */
	void (*call_guest_contract)(const pp_host_api *self, uint64_t contract_id,
	                            uint32_t min_version, uint32_t fn_id, const void *args,
	                            void *out, pp_call_arena *arena, pp_abi_error *out_err);
	void (*call_host_contract)(const pp_host_api *self, uint64_t contract_id,
	                           uint32_t min_version, uint32_t fn_id, const void *args,
	                           void *out, pp_abi_error *out_err);
};

/* ---- Native bundle entry points ------------------------------------------ */

/* A native bundle exports these (see PP_EXPORT). polyplug_shutdown is optional
 * and runs once the runtime no longer calls into the bundle. */
typedef uint32_t (*pp_abi_version_fn)(void);
typedef pp_abi_error (*pp_init_fn)(const pp_host_api *host, const pp_bundle_init_context *ctx);
typedef void (*pp_shutdown_fn)(const pp_host_api *host);

#define PP_EXPORT __attribute__((visibility("default")))

/* Defines polyplug_abi_version() to report the ABI this header describes. */
#define PP_DEFINE_ABI_VERSION()                       \
	PP_EXPORT uint32_t polyplug_abi_version(void) \
	{                                             \
		return PP_ABI_VERSION;                \
	}

/* Prototypes of a native bundle's exports; define them with PP_EXPORT. */
uint32_t polyplug_abi_version(void);
pp_abi_error polyplug_init(const pp_host_api *host, const pp_bundle_init_context *ctx);
void polyplug_shutdown(const pp_host_api *host);

/* ---- Identities (FNV-1a 64) ---------------------------------------------- */

#define PP_FNV_OFFSET 0xcbf29ce484222325ull
#define PP_FNV_PRIME 0x100000001b3ull

static inline uint64_t pp_fnv1a64_update(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = (const uint8_t *)data;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= PP_FNV_PRIME;
	}
	return h;
}

static inline uint64_t pp_fnv1a64(const void *data, size_t len)
{
	return pp_fnv1a64_update(PP_FNV_OFFSET, data, len);
}

static inline uint64_t pp_contract_id_prefixed(const char *prefix, const char *name, uint32_t major)
{
	char digits[11];
	int n = 0;
	do {
		digits[n++] = (char)('0' + major % 10);
		major /= 10;
	} while (major);
	uint64_t h = pp_fnv1a64_update(PP_FNV_OFFSET, prefix, strlen(prefix));
	h = pp_fnv1a64_update(h, name, strlen(name));
	h = pp_fnv1a64_update(h, "@", 1);
	while (n)
		h = pp_fnv1a64_update(h, &digits[--n], 1);
	return h;
}

/* H("guest_contract:" name "@" major) */
static inline uint64_t pp_guest_contract_id(const char *name, uint32_t major)
{
	return pp_contract_id_prefixed("guest_contract:", name, major);
}
/* H("host_contract:" name "@" major) */
static inline uint64_t pp_host_contract_id(const char *name, uint32_t major)
{
	return pp_contract_id_prefixed("host_contract:", name, major);
}
/* H(bundle name) */
static inline uint64_t pp_bundle_id(const char *name)
{
	return pp_fnv1a64(name, strlen(name));
}

/* Packs a version the way JS registrations and host-contract lookups do. */
static inline uint32_t pp_version_pack(uint32_t major, uint32_t minor)
{
	return (major << 16) | (minor & 0xFFFFu);
}

/* ---- Call arena ---------------------------------------------------------- */

/* Header of an overflow block taken from host->alloc; blocks are kept across
 * resets and freed with the arena. */
typedef struct pp_arena_overflow_block {
	struct pp_arena_overflow_block *next;
	size_t capacity; /* bytes including this header */
	size_t used;     /* offset of the next free byte from the block start */
} pp_arena_overflow_block;

/* Per-call bump allocator for variable-size results (strings, buffers).
 * Memory it hands out is valid until the next reset; guests never free it.
 * A NULL arena in a call means "use host->alloc". */
struct pp_call_arena {
	uint8_t *cur, *end, *base;
	const pp_host_api *host;
	pp_arena_overflow_block *first_overflow;
};

#define PP_ARENA_BLOCK_MIN 4096u

/* Sets the arena up over a caller-owned buffer (which may be NULL/0: then
 * every allocation comes from overflow blocks). */
static inline void pp_call_arena_init(pp_call_arena *a, void *buf, size_t len,
                                      const pp_host_api *host)
{
	a->base = a->cur = (uint8_t *)buf;
	a->end = a->base ? a->base + len : a->base;
	a->host = host;
	a->first_overflow = NULL;
}

static inline uint8_t *pp_call_arena_bump(uint8_t *from, const uint8_t *end, size_t size,
                                          size_t align)
{
	if (!from)
		return NULL;
	uintptr_t at = ((uintptr_t)from + (align - 1)) & ~(uintptr_t)(align - 1);
	if (at < (uintptr_t)from || at > (uintptr_t)end || (uintptr_t)end - at < size)
		return NULL;
	return from + (at - (uintptr_t)from);
}

static inline void *pp_call_arena_alloc_overflow(pp_call_arena *a, size_t size, size_t align)
{
	const size_t header = sizeof(pp_arena_overflow_block);
	for (pp_arena_overflow_block *b = a->first_overflow; b; b = b->next) {
		uint8_t *p = pp_call_arena_bump((uint8_t *)b + b->used, (uint8_t *)b + b->capacity,
		                                size, align);
		if (p) {
			b->used = (size_t)(p - (uint8_t *)b) + size;
			return p;
		}
	}
	if (!a->host || size > SIZE_MAX - header - align)
		return NULL;
	size_t cap = header + align + size;
	if (cap < PP_ARENA_BLOCK_MIN)
		cap = PP_ARENA_BLOCK_MIN;
	pp_arena_overflow_block *b = (pp_arena_overflow_block *)a->host->alloc(
	        a->host, cap, PP_ALIGNOF(pp_arena_overflow_block));
	if (!b)
		return NULL;
	b->next = a->first_overflow;
	b->capacity = cap;
	b->used = header;
	a->first_overflow = b;
	uint8_t *p = pp_call_arena_bump((uint8_t *)b + header, (uint8_t *)b + cap, size, align);
	b->used = (size_t)(p - (uint8_t *)b) + size;
	return p;
}

/* size bytes aligned to align (a power of two); NULL if size is 0, align is
 * not a power of two, or the host allocator fails. */
static inline void *pp_call_arena_alloc(pp_call_arena *a, size_t size, size_t align)
{
	if (size == 0 || align == 0 || (align & (align - 1)))
		return NULL;
	uint8_t *p = pp_call_arena_bump(a->cur, a->end, size, align);
	if (p) {
		a->cur = p + size;
		return p;
	}
	return pp_call_arena_alloc_overflow(a, size, align);
}

/* Rewinds the arena; overflow blocks are kept for reuse. */
static inline void pp_call_arena_reset(pp_call_arena *a)
{
	a->cur = a->base;
	for (pp_arena_overflow_block *b = a->first_overflow; b; b = b->next)
		b->used = sizeof(pp_arena_overflow_block);
}

/* Frees the overflow blocks (the primary buffer belongs to the caller). */
static inline void pp_call_arena_free(pp_call_arena *a)
{
	pp_arena_overflow_block *b = a->first_overflow;
	while (b) {
		pp_arena_overflow_block *next = b->next;
		if (a->host)
			a->host->free(a->host, b, b->capacity, PP_ALIGNOF(pp_arena_overflow_block));
		b = next;
	}
	a->first_overflow = NULL;
	a->cur = a->base;
}

/* ---- Pinned layouts ------------------------------------------------------ */

#if defined(__x86_64__) || defined(__aarch64__)
PP_STATIC_ASSERT(sizeof(pp_string_view) == 16, "StringView is 16 bytes");
PP_STATIC_ASSERT(sizeof(pp_abi_error) == 24, "AbiError is 24 bytes");
PP_STATIC_ASSERT(sizeof(pp_version) == 12, "Version is 12 bytes");
PP_STATIC_ASSERT(sizeof(pp_guest_contract_handle) == 8, "handle is 8 bytes");
PP_STATIC_ASSERT(sizeof(pp_guest_contract_instance) == 16, "instance is 16 bytes");
PP_STATIC_ASSERT(sizeof(pp_native_dispatch) == 16, "NativeDispatch is 16 bytes");
PP_STATIC_ASSERT(sizeof(pp_dispatch_mechanisms) == 16, "DispatchMechanisms is 16 bytes");
PP_STATIC_ASSERT(PP_GUEST_CONTRACT_INTERFACE_V2_SIZE == 64, "GuestContractInterface shipped at 64");
PP_STATIC_ASSERT(PP_HOST_CONTRACT_INTERFACE_V2_SIZE == 64, "HostContractInterface shipped at 64");
PP_STATIC_ASSERT(sizeof(pp_guest_contract_interface) == 72, "GuestContractInterface is 72 bytes");
PP_STATIC_ASSERT(sizeof(pp_host_contract_interface) == 72, "HostContractInterface is 72 bytes");
PP_STATIC_ASSERT(sizeof(pp_plugin_descriptor) == 48, "PluginDescriptor is 48 bytes");
PP_STATIC_ASSERT(sizeof(pp_bundle_init_context) == 24, "BundleInitContext is 24 bytes");
PP_STATIC_ASSERT(sizeof(pp_call_arena) == 40, "CallArena is 40 bytes");
PP_STATIC_ASSERT(sizeof(pp_host_api) == 208, "HostApi is 208 bytes");
PP_STATIC_ASSERT(offsetof(pp_host_api, revision_counter) == 176, "HostApi tail");
#endif

#ifdef __cplusplus
}
#endif
#endif /* POLYPLUG_ABI_H */
