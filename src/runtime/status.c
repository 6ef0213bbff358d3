/*
 * status.c — names and one-line descriptions of status codes, so hosts,
 * tools and messages print PP_ERR_TIMEOUT rather than 18. One table holds
 * both; codes the runtime does not define are named by their range.
 */
#include "internal.h"

typedef struct status_text {
	uint32_t code;
	const char *name;
	const char *describe;
} status_text;

static const status_text statuses[] = {
        {PP_OK, "PP_OK", "success"},
        {PP_ERR_GENERIC, "PP_ERR_GENERIC", "the call failed (a guest threw, or gave no code)"},
        {PP_ERR_BUFFER_TOO_SMALL, "PP_ERR_BUFFER_TOO_SMALL", "an output buffer was too small"},
        {PP_ERR_PANIC, "PP_ERR_PANIC", "the plugin panicked"},
        {PP_ERR_NOT_FOUND, "PP_ERR_NOT_FOUND", "nothing by that name or id was found"},
        {PP_ERR_STALE_HANDLE, "PP_ERR_STALE_HANDLE",
         "the handle is null, or its bundle was unloaded"},
        {PP_ERR_FUNCTION_NOT_AVAILABLE, "PP_ERR_FUNCTION_NOT_AVAILABLE",
         "the contract has no such function (or the instance is not this version's)"},
        {PP_ERR_DUPLICATE_PROVIDER, "PP_ERR_DUPLICATE_PROVIDER",
         "something with that name or contract is already registered"},
        {PP_ERR_INVALID_POINTER, "PP_ERR_INVALID_POINTER",
         "a plugin reached memory outside what the call gave it"},
        {PP_ERR_REENTRANT_CALL, "PP_ERR_REENTRANT_CALL",
         "not allowed from inside a plugin call or callback"},
        {PP_ERR_DEPENDENCY_IN_USE, "PP_ERR_DEPENDENCY_IN_USE",
         "a loaded bundle depends on this one"},
        {PP_ERR_INVALID_ARGUMENT, "PP_ERR_INVALID_ARGUMENT", "an argument was malformed"},
        {PP_ERR_LOAD_FAILED, "PP_ERR_LOAD_FAILED", "the bundle could not be loaded"},
        {PP_ERR_ABI_MISMATCH, "PP_ERR_ABI_MISMATCH",
         "the native bundle was built for another ABI version"},
        {PP_ERR_INIT_FAILED, "PP_ERR_INIT_FAILED", "the bundle's polyplug_init failed"},
        {PP_ERR_OUT_OF_MEMORY, "PP_ERR_OUT_OF_MEMORY",
         "out of memory (the host's, or a JS VM's limit)"},
        {PP_ERR_IO, "PP_ERR_IO", "a file could not be read or copied"},
        {PP_ERR_UNSUPPORTED, "PP_ERR_UNSUPPORTED",
         "no loader for this kind of bundle, or the feature is off"},
        {PP_ERR_TIMEOUT, "PP_ERR_TIMEOUT", "the guest call ran past its CPU-time limit"},
        {PP_ERR_VM_DEAD, "PP_ERR_VM_DEAD", "the guest VM was shut down after a fatal fault"},
        {PP_ERR_STALE_INSTANCE, "PP_ERR_STALE_INSTANCE",
         "the instance was not made by the version the call reached (replaced or destroyed); "
         "nothing ran"},
        {PP_ERR_HOST_CONTRACT_NOT_FOUND, "PP_ERR_HOST_CONTRACT_NOT_FOUND",
         "the host offers no such contract"},
        {PP_ERR_HOST_CONTRACT_VERSION_MISMATCH, "PP_ERR_HOST_CONTRACT_VERSION_MISMATCH",
         "the host offers that contract in an incompatible version"},
        {PP_ERR_HOST_CONTRACT_CALL_FAILED, "PP_ERR_HOST_CONTRACT_CALL_FAILED",
         "a call into a host contract failed"},
};

static const status_text *lookup(uint32_t code)
{
	for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
		if (statuses[i].code == code)
			return &statuses[i];
	return NULL;
}

const char *pp_status_name(uint32_t code)
{
	const status_text *s = lookup(code);
	if (s)
		return s->name;
	return code >= PP_ERR_PLUGIN_FIRST ? "PP_ERR_PLUGIN" : "PP_ERR_UNKNOWN";
}

const char *pp_status_describe(uint32_t code)
{
	const status_text *s = lookup(code);
	if (s)
		return s->describe;
	return code >= PP_ERR_PLUGIN_FIRST ? "a code the plugin defines (see its message)"
	                                   : "a runtime code this version does not know";
}
