/*
 * call.c — the host program's hot path: find, resolve and call guest
 * contracts. Calls run inside a read section (grace.c), so the code they
 * enter cannot be reclaimed under them; nothing here takes a lock or
 * allocates.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

pp_guest_contract_handle pp_find(pp_runtime *rt, uint64_t contract_id, uint32_t min_version)
{
	pp_guest_contract_handle h = pp__registry_find(rt, contract_id, min_version, NULL);
	if (pp_handle_is_null(h))
		pp__registry_not_found(rt, contract_id, min_version, NULL, NULL);
	return h;
}

pp_guest_contract_handle pp_find_named(pp_runtime *rt, const char *contract, uint32_t min_version,
                                       const char *bundle)
{
	const char *at = contract ? strrchr(contract, '@') : NULL;
	if (!at || !at[1] || strspn(at + 1, "0123456789") != strlen(at + 1) || strlen(at + 1) > 9) {
		pp__error(rt, PP_ERR_INVALID_ARGUMENT,
		          "pp_find_named: '%s' is not a contract name with its major, such as "
		          "'math.Adder@1'",
		          contract ? contract : "(null)");
		return pp_handle_null();
	}
	unsigned long major = strtoul(at + 1, NULL, 10);
	uint32_t asked = min_version < 65536 ? min_version : min_version >> 16;
	if (min_version && asked != major) {
		pp__error(rt, PP_ERR_INVALID_ARGUMENT,
		          "pp_find_named: '%s' is major %lu, but min_version asks for major %u",
		          contract, major, asked);
		return pp_handle_null();
	}
	uint64_t id = pp__contract_id_of_name(
	        (pp_string_view){(const uint8_t *)contract, strlen(contract)}, 0);
	pp_guest_contract_handle h = bundle ? pp__registry_find_in(rt, id, min_version, bundle)
	                                    : pp__registry_find(rt, id, min_version, NULL);
	if (pp_handle_is_null(h))
		pp__registry_not_found(rt, id, min_version, contract, bundle);
	return h;
}

size_t pp_find_all(pp_runtime *rt, uint64_t contract_id, uint32_t min_version,
                   pp_guest_contract_handle *out, size_t cap)
{
	return pp__registry_find_all(rt, contract_id, min_version, NULL, out, cap);
}

const pp_guest_contract_interface *pp_resolve(pp_runtime *rt, pp_guest_contract_handle h)
{
	pp_tstate *ts = pp__read_lock(rt);
	if (!ts)
		return NULL;
	const pp_contract_node *n = pp__registry_resolve(rt, h);
	pp__read_unlock(ts);
	return n ? &n->iface : NULL;
}

static uint32_t stale(pp_runtime *rt, pp_guest_contract_handle h)
{
	return pp__error(rt, PP_ERR_STALE_HANDLE, "handle %u:%u is %s", h.index, h.generation,
	                 pp_handle_is_null(h) ? "null" : "stale (its bundle was unloaded)");
}

/* One wording for every loader. */
static uint32_t no_such_function(pp_runtime *rt, const pp_contract_node *n, uint32_t fn_id)
{
	return pp__error(
	        rt, PP_ERR_FUNCTION_NOT_AVAILABLE,
	        "bundle '%s', contract '%s' has no function %u (it has %u, numbered from 0)",
	        n->version->bundle->name, n->contract_name, fn_id, n->function_count);
}

static uint32_t call_failed(pp_runtime *rt, const pp_contract_node *n, uint32_t fn_id,
                            pp_abi_error err)
{
	char msg[2048]; /* a guest's message and the top frames of its stack */
	if (!*pp__view_copy(msg, sizeof msg, err.message) &&
	    err.code == PP_ERR_FUNCTION_NOT_AVAILABLE && fn_id >= n->function_count)
		return no_such_function(rt, n, fn_id);
	if (*msg)
		return pp__error(rt, err.code, "bundle '%s', contract '%s', function %u: %s",
		                 n->version->bundle->name, n->contract_name, fn_id, msg);
	return pp__error(rt, err.code,
	                 "bundle '%s', contract '%s', function %u failed with code %u (%s)",
	                 n->version->bundle->name, n->contract_name, fn_id, err.code,
	                 pp_status_name(err.code));
}

/* pp_call inside its read section on ts. Inlined into both ways in, so
 * that the common one keeps no cold call's registers. */
static inline __attribute__((always_inline)) uint32_t call_in(pp_runtime *rt, pp_tstate *ts,
                                                              pp_guest_contract_handle h,
                                                              pp_guest_contract_instance instance,
                                                              uint32_t fn_id, const void *args,
                                                              void *out, pp_call_arena *arena)
{
	pp_abi_error err = {PP_OK, {NULL, 0}};
	pp__read_enter(rt, ts);
	const pp_contract_node *n = pp__registry_resolve(rt, h);
	if (!n) {
		pp__read_unlock(ts);
		return stale(rt, h);
	}
	const pp_guest_contract_interface *iface = &n->iface;
	if (iface->dispatch_type == PP_DISPATCH_NATIVE) {
		if (fn_id >= n->function_count) {
			uint32_t code = no_such_function(rt, n, fn_id);
			pp__read_unlock(ts);
			return code;
		}
		((pp_native_guest_fn)n->fns[fn_id])(instance, args, out, &err);
	} else {
		iface->dispatch.vm.call(iface->dispatch.vm.loader_data, instance, fn_id, args, out,
		                        arena, &err);
	}
	uint32_t code = err.code == PP_OK ? PP_OK : call_failed(rt, n, fn_id, err);
	pp__read_unlock(ts);
	return code;
}

/* A thread's first call into rt, or its first since it called another
 * runtime: its state is looked up (or made) first. */
static __attribute__((noinline)) uint32_t
call_finding_state(pp_runtime *rt, pp_guest_contract_handle h, pp_guest_contract_instance instance,
                   uint32_t fn_id, const void *args, void *out, pp_call_arena *arena)
{
	pp_tstate *ts = pp__tstate(rt);
	if (!ts)
		return PP_ERR_OUT_OF_MEMORY;
	return call_in(rt, ts, h, instance, fn_id, args, out, arena);
}

uint32_t pp_call(pp_runtime *rt, pp_guest_contract_handle h, pp_guest_contract_instance instance,
                 uint32_t fn_id, const void *args, void *out, pp_call_arena *arena)
{
	pp_tstate *ts = pp__tstate_cached(rt);
	if (__builtin_expect(!ts, 0))
		return call_finding_state(rt, h, instance, fn_id, args, out, arena);
	return call_in(rt, ts, h, instance, fn_id, args, out, arena);
}

pp_status pp_instance_create(pp_runtime *rt, pp_guest_contract_handle h, const void *args,
                             pp_guest_contract_instance *out)
{
	out->data = NULL;
	out->contract_id = 0;
	pp_status st = PP_OK;
	pp_tstate *ts = pp__read_lock(rt);
	if (!ts)
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	/* The registry hands out const nodes; instance tracking is the one
	 * mutable part, guarded by the node's own lock. */
	pp_contract_node *n = (pp_contract_node *)pp__registry_resolve(rt, h);
	if (n) {
		pp_abi_error err = {PP_OK, {NULL, 0}};
		n->iface.create_instance(pp__loader_data(&n->iface), &rt->host, args, out, &err);
		if (err.code != PP_OK) {
			char msg[1024];
			pp__view_copy(msg, sizeof msg, err.message);
			st = pp__error(rt, err.code,
			               "bundle '%s', contract '%s': create_instance failed%s%s",
			               n->version->bundle->name, n->contract_name, *msg ? ": " : "",
			               *msg ? msg : "");
			out->data = NULL; /* whatever it left there is not an instance */
			out->contract_id = 0;
		} else if (out->data && pp__instance_track(n, out->data) != PP_OK) {
			n->iface.destroy_instance(pp__loader_data(&n->iface), &rt->host, *out);
			out->data = NULL;
			st = pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
		}
	}
	pp__read_unlock(ts);
	return n ? st : stale(rt, h);
}

pp_status pp_instance_destroy(pp_runtime *rt, pp_guest_contract_handle h,
                              pp_guest_contract_instance instance)
{
	pp_status st = PP_OK;
	pp_tstate *ts = pp__read_lock(rt);
	if (!ts)
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	pp_contract_node *n = (pp_contract_node *)pp__registry_resolve(rt, h);
	if (!n) {
		st = stale(rt, h);
	} else if (instance.data && !pp__instance_untrack(n, instance.data)) {
		/* Made by a version that has since been replaced (or never made
		 * here): the runtime destroys it with that version's code. */
		st = pp__error(rt, PP_ERR_STALE_HANDLE,
		               "instance %p of contract '%s' was not created by the version now "
		               "loaded; the runtime reclaims it with the replaced version",
		               instance.data, n->contract_name);
	} else {
		n->iface.destroy_instance(pp__loader_data(&n->iface), &rt->host, instance);
	}
	pp__read_unlock(ts);
	return st;
}
