/* fuzz_srcmap.c — libFuzzer target for the JS loader's source maps
 * (src/loaders/js/js_srcmap.c): each input is a bundle's inline map and the
 * message its call throws (fuzz/srcmap_gen.h); the bundle is loaded, its
 * failing calls rewrite their messages through the map, and it is
 * unloaded. `make fuzz` builds it with ASan+UBSan. */
#include <stdint.h>

#include "fuzz_runtime.h"
#include "srcmap_gen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pp_runtime *rt = fuzz_runtime(NULL);
	srcmap_run(rt, data, size);
	pp_runtime_quiesce(rt);
	return 0;
}
