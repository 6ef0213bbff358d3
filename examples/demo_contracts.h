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
 *
 * and, provided by the JS examples:
 *   demo.Headline@1   fn 0  headline(StringView text) -> StringView (in the
 *                           caller's arena)
 *   demo.Score@1      fn 0  score(StringView word) -> u32
 *                     fn 1  best(StringView a, StringView b) -> StringView
 *                           (in the caller's arena)
 */
#ifndef DEMO_CONTRACTS_H
#define DEMO_CONTRACTS_H

#include <stdio.h>

#include <polyplug/abi.h>

#define DEMO_WORDCOUNT pp_guest_contract_id("demo.WordCount", 1)
#define DEMO_TRANSFORM pp_guest_contract_id("demo.Transform", 1)
#define DEMO_COUNTER pp_guest_contract_id("demo.Counter", 1)
#define DEMO_LOG pp_host_contract_id("demo.Log", 1)
#define DEMO_HEADLINE pp_guest_contract_id("demo.Headline", 1)
#define DEMO_SCORE pp_guest_contract_id("demo.Score", 1)

static inline pp_string_view demo_view(const char *s)
{
	pp_string_view v = {(const uint8_t *)s, strlen(s)};
	return v;
}

/* Instance hooks for a stateless contract: every caller shares the default. */
static inline void demo_stateless_create(pp_vm_loader_data ld, const pp_host_api *h,
                                         const void *args, pp_guest_contract_instance *out,
                                         pp_abi_error *err)
{
	(void)ld;
	(void)h;
	(void)args;
	(void)err;
	out->data = NULL;
}

static inline void demo_stateless_destroy(pp_vm_loader_data ld, const pp_host_api *h,
                                          pp_guest_contract_instance inst)
{
	(void)ld;
	(void)h;
	(void)inst;
}

/* Registers a native contract "name@1" (version 1.0.0) of bundle `bundle`
 * with the given function table and instance hooks. The runtime copies the
 * interface; the table must outlive the bundle (make it static). */
static inline pp_abi_error
demo_register(const pp_host_api *h, const char *bundle, const char *contract,
              const void *const *functions, uint32_t count,
              void (*create)(pp_vm_loader_data, const pp_host_api *, const void *,
                             pp_guest_contract_instance *, pp_abi_error *),
              void (*destroy)(pp_vm_loader_data, const pp_host_api *, pp_guest_contract_instance))
{
	pp_guest_contract_interface iface = {
	        .contract_id = pp_guest_contract_id(contract, 1),
	        .contract_version = {1, 0, 0},
	        .dispatch_type = PP_DISPATCH_NATIVE,
	        .create_instance = create,
	        .destroy_instance = destroy,
	        .dispatch.native = {count, functions},
	};
	char full[128];
	snprintf(full, sizeof full, "%s@1", contract);
	pp_plugin_descriptor d = {demo_view(bundle), demo_view(full), {1, 0, 0}};
	pp_abi_error err = {0, {NULL, 0}};
	h->register_guest_contract(h, &d, &iface, &err);
	return err;
}

#endif
