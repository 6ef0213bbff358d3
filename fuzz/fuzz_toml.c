/* fuzz_toml.c — libFuzzer target for the TOML reader (src/runtime/toml.c).
 * `make fuzz` builds it with ASan+UBSan and runs it for a bounded time. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walks the tree so that every value the parser built is touched. */
static size_t walk(const pp_toml_value *v)
{
	size_t n = 1;
	if (v->type == PP_TOML_STRING)
		n += strlen(v->u.string.ptr) <= v->u.string.len ? 0 : 1; /* NUL-terminated */
	else if (v->type == PP_TOML_ARRAY)
		for (size_t i = 0; i < v->u.array.count; i++)
			n += walk(v->u.array.items[i]);
	else if (v->type == PP_TOML_TABLE)
		for (size_t i = 0; i < v->u.table.count; i++) {
			if (pp_toml_get(v, v->u.table.keys[i]) == NULL)
				abort(); /* every key can be found again */
			n += walk(v->u.table.values[i]);
		}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	pp_toml_value *v = pp_toml_parse((const char *)data, size, "fuzz.toml", err, sizeof err);
	if (v)
		walk(v);
	else if (strncmp(err, "fuzz.toml:", 10) != 0)
		abort(); /* every failure says where */
	pp_toml_free(v);
	return 0;
}
