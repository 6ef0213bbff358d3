/* fuzz_js_call.c — libFuzzer target for what a JS guest does and hands
 * back during a call: each input becomes a guarded bundle whose functions
 * do hostile things (fuzz/js_call_gen.h), called through pp_call; a broken
 * promise to the caller (a status without a message naming the bundle,
 * bytes written outside out, a result its type does not allow, a host
 * block leaked or freed wrongly) aborts. `make fuzz` builds it, the
 * runtime and QuickJS with ASan+UBSan. */
#include <stdint.h>
#include <stdio.h>

#include "fuzz_runtime.h"
#include "js_call_gen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static pp_runtime *rt;
	if (!rt) {
		rt = fuzz_runtime(js_call_config);
		js_call_host_register(rt);
	}
	const char *broken = js_call_run(rt, data, size);
	if (broken) {
		fprintf(stderr, "fuzz_js_call: %s\n", broken);
		abort();
	}
	return 0;
}
