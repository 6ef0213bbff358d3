/*
 * call.c — the host program's hot path: find, resolve and call guest
 * contracts. Calls run inside a read section (grace.c), so the code they
 * enter cannot be reclaimed under them; nothing here takes a lock or
 * allocates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

pp_guest_contract_handle pp_find(pp_runtime *rt, uint64_t contract_id, uint32_t min_version)
{
	if (!rt)
		return pp_handle_null();
	pp_guest_contract_handle h = pp__registry_find(rt, contract_id, min_version, NULL);
	if (pp_handle_is_null(h))
		pp__registry_not_found(rt, contract_id, min_version, NULL, NULL);
	return h;
}

pp_guest_contract_handle pp_find_named(pp_runtime *rt, const char *contract, uint32_t min_version,
                                       const char *bundle)
{
	if (!rt)
		return pp_handle_null();
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
	if (!rt)
		return 0;
	return pp__registry_find_all(rt, contract_id, min_version, NULL, out, cap);
}

const pp_guest_contract_interface *pp_resolve(pp_runtime *rt, pp_guest_contract_handle h)
{
	pp_tstate *ts = rt ? pp__read_lock(rt) : NULL;
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

/* Instances as the host sees them. pp_instance_create hands out the
 * plugin's data XOR the node's key, and every call and destroy takes the
 * key off again: a value made by another version (another key) comes out
 * as something this version never made, even when the allocator has given
 * the old data's address to one of this version's instances. */
static void *instance_data(const pp_contract_node *n, const void *value)
{
	return (void *)((uintptr_t)value ^ n->instance_key);
}

/* An instance the version behind n did not make, or has destroyed: made by
 * a version since replaced (whose instances the runtime destroyed with it),
 * or never made through pp_instance_create. Its code is not run with it. */
static uint32_t foreign_instance(pp_runtime *rt, const pp_contract_node *n, uint32_t fn_id,
                                 const void *value)
{
	return pp__error(rt, PP_ERR_STALE_INSTANCE,
	                 "bundle '%s', contract '%s', function %u: instance %p was not made by "
	                 "this version of the bundle, or was destroyed",
	                 n->version->bundle->name, n->contract_name, fn_id, value);
}

const char pp__not_made_here[] =
        "the instance was not made by this version of the bundle, or was destroyed";

uint32_t pp__call_failed(pp_runtime *rt, const pp__node_view *view, uint32_t fn_id,
                         pp_abi_error err, const void *instance)
{
	const pp_contract_node *n = (const pp_contract_node *)(const void *)view;
	if (instance && err.message.ptr == (const uint8_t *)pp__not_made_here)
		return foreign_instance(rt, n, fn_id, instance);
	/* Callers call again on it: only the runtime's means "nothing ran". */
	if (err.code == PP_ERR_STALE_INSTANCE)
		return pp__error(rt, PP_ERR_GENERIC,
		                 "bundle '%s', contract '%s', function %u returned "
		                 "PP_ERR_STALE_INSTANCE, a code only the runtime gives",
		                 n->version->bundle->name, n->contract_name, fn_id);
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

uint32_t pp__create_failed(pp_runtime *rt, const pp_contract_node *n, pp_abi_error err)
{
	char msg[2048];
	pp__view_copy(msg, sizeof msg, err.message);
	bool ours = err.code == PP_ERR_STALE_INSTANCE; /* as in pp__call_failed */
	char where[256] = "create_guest_instance";     /* an interface of a plugin's own */
	if (n)
		snprintf(where, sizeof where, "bundle '%s', contract '%s'",
		         n->version->bundle->name, n->contract_name);
	return pp__error(rt, ours ? PP_ERR_GENERIC : err.code, "%s: create_instance failed%s%s%s",
	                 where,
	                 ours ? " with PP_ERR_STALE_INSTANCE, a code only the runtime gives" : "",
	                 *msg ? ": " : "", msg);
}

/* Every call that call_inline.h's pp_call_inline does not finish itself
 * comes here (and every call from code built with PP_NO_INLINE_CALL): the
 * same read section and dispatch, after finding the thread's state, the
 * errors that path leaves to us, and every call on an instance: its key
 * taken off, the instance must be one the version now reached made and has
 * not destroyed (a lookup in its set, without a lock; or, for the JS
 * loader, the lookup it makes anyway, which refuses the same ones). */
uint32_t pp_call(pp_runtime *rt, pp_guest_contract_handle h, pp_guest_contract_instance instance,
                 uint32_t fn_id, const void *args, void *out, pp_call_arena *arena)
{
	if (!rt)
		return PP_ERR_INVALID_ARGUMENT; /* no runtime to leave a message in */
	pp_tstate *ts = pp__read_lock(rt);
	if (!ts)
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	const pp_contract_node *n = pp__registry_resolve(rt, h);
	uint32_t code;
	pp_abi_error err = {PP_OK, {NULL, 0}};
	const void *value = instance.data;
	if (n && value)
		instance.data = instance_data(n, value);
	if (!n)
		code = stale(rt, h);
	else if (value && (n->loader_checks_instances
	                           ? !instance.data /* not the default instance */
	                           : !pp__ptrset_lookup(&n->live, instance.data,
	                                                (pthread_mutex_t *)&n->inst_lock)))
		code = foreign_instance(rt, n, fn_id, value);
	else if (!pp__dispatch((const pp__node_view *)(const void *)n, instance, fn_id, args, out,
	                       arena, &err))
		code = no_such_function(rt, n, fn_id);
	else
		code = err.code == PP_OK
		               ? PP_OK
		               : pp__call_failed(rt, (const pp__node_view *)(const void *)n, fn_id,
		                                 err, value);
	pp__read_unlock(ts);
	return code;
}

pp_status pp_instance_create(pp_runtime *rt, pp_guest_contract_handle h, const void *args,
                             pp_guest_contract_instance *out)
{
	if (!rt)
		return PP_ERR_INVALID_ARGUMENT;
	if (!out)
		return pp__error(rt, PP_ERR_INVALID_ARGUMENT, "pp_instance_create: out is NULL");
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
			st = pp__create_failed(rt, n, err);
			out->data = NULL; /* whatever it left there is not an instance */
			out->contract_id = 0;
		} else if (out->data && (uintptr_t)out->data == n->instance_key) {
			/* would read as the default instance (a plugin's value with
			 * the top bit set: not an address) */
			n->iface.destroy_instance(pp__loader_data(&n->iface), &rt->host, *out);
			out->data = NULL;
			st = pp__error(
			        rt, PP_ERR_GENERIC,
			        "bundle '%s', contract '%s': create_instance returned a value "
			        "the runtime cannot hand out",
			        n->version->bundle->name, n->contract_name);
		} else if (out->data && (st = pp__instance_track(n, out->data, true)) != PP_OK) {
			n->iface.destroy_instance(pp__loader_data(&n->iface), &rt->host, *out);
			out->data = NULL;
		} else if (out->data) {
			out->data = instance_data(n, out->data);
		}
	}
	pp__read_unlock(ts);
	return n ? st : stale(rt, h);
}

pp_status pp_instance_destroy(pp_runtime *rt, pp_guest_contract_handle h,
                              pp_guest_contract_instance instance)
{
	if (!rt)
		return PP_ERR_INVALID_ARGUMENT;
	pp_status st = PP_OK;
	pp_tstate *ts = pp__read_lock(rt);
	if (!ts)
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	pp_contract_node *n = (pp_contract_node *)pp__registry_resolve(rt, h);
	const void *value = instance.data;
	if (n && value)
		instance.data = instance_data(n, value);
	if (!n) {
		st = stale(rt, h);
	} else if (value && !pp__instance_untrack(n, instance.data)) {
		/* Made by a version that has since been replaced (or never made
		 * here): the runtime destroys it with that version's code. */
		st = pp__error(rt, PP_ERR_STALE_HANDLE,
		               "instance %p of contract '%s' was not created by the version now "
		               "loaded; the runtime reclaims it with the replaced version",
		               value, n->contract_name);
	} else {
		n->iface.destroy_instance(pp__loader_data(&n->iface), &rt->host, instance);
	}
	pp__read_unlock(ts);
	return st;
}
