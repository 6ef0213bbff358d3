/* fuzz_srcmap.c — libFuzzer target for the JS loader's source maps
 * (src/loaders/js/js_srcmap.c): each input is a bundle's inline map and the
 * message its call throws (fuzz/srcmap_gen.h); the bundle is loaded, its
 * failing calls rewrite their messages through the map, and it is
 * unloaded. `make fuzz` builds it with ASan+UBSan. */
#include <stdint.h>
#include <stdlib.h>

#include "srcmap_gen.h"

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
	srcmap_run(rt, data, size);
	pp_runtime_quiesce(rt);
	return 0;
}
