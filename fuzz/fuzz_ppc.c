/* fuzz_ppc.c — libFuzzer target for ppc's contract-file reader
 * (tools/ppc/model.c, on top of the TOML reader). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	ppc_model *m = ppc_model_read((const char *)data, size, "fuzz.toml", err, sizeof err);
	if (!m) {
		if (strncmp(err, "fuzz.toml:", 10) != 0)
			abort(); /* every failure says where */
		return 0;
	}
	/* what it accepted is consistent: layouts fit their sizes */
	for (size_t i = 0; i < m->contract_count; i++)
		for (size_t k = 0; k < m->contracts[i].function_count; k++) {
			const ppc_function *fn = &m->contracts[i].functions[k];
			for (size_t p = 0; p < fn->param_count; p++)
				if (fn->params[p].offset + ppc_type_size(fn->params[p].type) >
				    fn->args_size)
					abort();
		}
	ppc_model_free(m);
	return 0;
}
