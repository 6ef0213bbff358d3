/* fuzz_runtime.h — the one runtime a runtime-level fuzz target feeds its
 * inputs to, for its whole run (each input unloads what it loaded), with
 * its log silenced and its config tuned by the target (tune may be NULL). */
#ifndef PP_FUZZ_RUNTIME_H
#define PP_FUZZ_RUNTIME_H

#include <polyplug/polyplug.h>
#include <stdlib.h>

static inline void fuzz_quiet(void *ud, uint32_t level, pp_string_view scope, pp_string_view msg)
{
	(void)ud;
	(void)level;
	(void)scope;
	(void)msg;
}

static inline pp_runtime *fuzz_runtime(void (*tune)(pp_runtime_config *cfg))
{
	static pp_runtime *rt;
	if (!rt) {
		pp_runtime_config cfg;
		pp_runtime_config_init(&cfg);
		cfg.log = fuzz_quiet;
		if (tune)
			tune(&cfg);
		if (pp_runtime_new(&cfg, &rt) != PP_OK)
			abort();
	}
	return rt;
}

#endif
