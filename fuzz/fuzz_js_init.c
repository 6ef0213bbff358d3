/* fuzz_js_init.c — libFuzzer target for what the JS loader reads from a
 * bundle's polyplug_init: each input becomes a bundle whose init returns
 * generated values (fuzz/js_init_gen.h); it is loaded, called and unloaded.
 * `make fuzz` builds it, the runtime and QuickJS with ASan+UBSan. */
#include <stdint.h>

#include "fuzz_runtime.h"
#include "js_init_gen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pp_runtime *rt = fuzz_runtime(NULL);
	js_init_run(rt, data, size);
	pp_runtime_quiesce(rt);
	return 0;
}
