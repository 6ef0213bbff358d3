/* fuzz_manifest.c — libFuzzer target for what the runtime reads from a
 * bundle's manifest.toml (src/runtime/manifest.c and the load past it):
 * each input is written as the manifest of one temporary bundle directory,
 * read, loaded and unloaded (fuzz/manifest_run.h). `make fuzz` builds it,
 * the runtime and QuickJS with ASan+UBSan. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_runtime.h"
#include "manifest_run.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/pp_fuzz_manifest_XXXXXX";

static void remove_dir(void)
{
	char path[sizeof dir + 32];
	snprintf(path, sizeof path, "%s/manifest.toml", dir);
	remove(path);
	snprintf(path, sizeof path, "%s/main.js", dir);
	remove(path);
	remove(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pp_runtime *rt = fuzz_runtime(NULL);
	if (dir[sizeof dir - 2] == 'X') {
		if (!mkdtemp(dir) || !manifest_run_prepare(dir))
			abort();
		atexit(remove_dir);
	}
	const char *broken = manifest_run(rt, dir, data, size);
	if (broken) {
		fprintf(stderr, "fuzz_manifest: %s (%s)\n", broken, pp_last_error(rt));
		abort();
	}
	return 0;
}
