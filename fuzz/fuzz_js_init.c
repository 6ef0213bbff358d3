/* fuzz_js_init.c — libFuzzer target for what the JS loader reads from a
 * bundle's polyplug_init: each input becomes a bundle whose init returns
 * generated values (fuzz/js_init_gen.h); it is loaded, called and unloaded.
 * `make fuzz` builds it, the runtime and QuickJS with ASan+UBSan. */
#include <stdint.h>
#include <stdlib.h>

#include "js_init_gen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(void *ud, uint32_t level, pp_string_view scope, pp_string_view msg)
{
	(void)ud;
	(void)level;
	(void)scope;
	(void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static pp_runtime *rt; /* one runtime for the whole run: each input unloads */
	if (!rt) {
		pp_runtime_config cfg;
		pp_runtime_config_init(&cfg);
		cfg.log = quiet;
		if (pp_runtime_new(&cfg, &rt) != PP_OK)
			abort();
	}
	js_init_run(rt, data, size);
	pp_runtime_quiesce(rt);
	return 0;
}
