/*
 * demo_contracts.h — the contracts the demo host and the example bundles
 * share. (Issue-tracked `ppc` will generate headers like this one from a
 * contract file; until then they are written by hand.)
 *
 *   demo.WordCount@1  fn 0  count(StringView text) -> u32
 *   demo.Transform@1  fn 0  transform(StringView text) -> StringView
 *                           (result memory from host->alloc; the caller
 *                            frees it with host->free(ptr, len, 1))
 *   demo.Counter@1    create_instance(i64 start)
 *                     fn 0  add(i64 n) -> i64 (the instance's new total)
 *   demo.Log@1        host contract, fn 0  log(StringView line)
 */
#ifndef DEMO_CONTRACTS_H
#define DEMO_CONTRACTS_H

#include <polyplug/abi.h>

#define DEMO_WORDCOUNT pp_guest_contract_id("demo.WordCount", 1)
#define DEMO_TRANSFORM pp_guest_contract_id("demo.Transform", 1)
#define DEMO_COUNTER pp_guest_contract_id("demo.Counter", 1)
#define DEMO_LOG pp_host_contract_id("demo.Log", 1)

static inline pp_string_view demo_view(const char *s)
{
	pp_string_view v = {(const uint8_t *)s, strlen(s)};
	return v;
}

/* Instance hooks for a stateless contract: every caller shares the default. */
static inline void demo_stateless_create(pp_vm_loader_data ld, const pp_host_api *h,
                                         const void *args, pp_guest_contract_instance *out)
{
	(void)ld;
	(void)h;
	(void)args;
	out->data = NULL;
}

static inline void demo_stateless_destroy(pp_vm_loader_data ld, const pp_host_api *h,
                                          pp_guest_contract_instance inst)
{
	(void)ld;
	(void)h;
	(void)inst;
}

#endif
