/* call_exported.c — built with PP_NO_INLINE_CALL: how a host that opted out
 * of the inline fast path calls (test_call_inline.c compares the two). */
#define PP_NO_INLINE_CALL
#include "polyplug/polyplug.h"

#ifdef pp_call
#error "PP_NO_INLINE_CALL must leave pp_call the exported function"
#endif

uint32_t call_exported(pp_runtime *rt, pp_guest_contract_handle h,
                       pp_guest_contract_instance instance, uint32_t fn_id, const void *args,
                       void *out, pp_call_arena *arena);

uint32_t call_exported(pp_runtime *rt, pp_guest_contract_handle h,
                       pp_guest_contract_instance instance, uint32_t fn_id, const void *args,
                       void *out, pp_call_arena *arena)
{
	return pp_call(rt, h, instance, fn_id, args, out, arena);
}
