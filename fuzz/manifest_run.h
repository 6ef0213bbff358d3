/*
 * manifest_run.h — one fuzz input as a bundle directory's manifest.toml:
 * read by pp__manifest_read, then loaded by pp_bundle_load beside a JS file
 * (main.js, providing fz.Main@1) and unloaded. Says which promise broke, or
 * NULL. Shared by fuzz/fuzz_manifest.c and the test that replays its corpus.
 */
#ifndef PP_MANIFEST_RUN_H
#define PP_MANIFEST_RUN_H

#include <polyplug/polyplug.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "runtime/manifest.h"

#define MANIFEST_RUN_JS                                                                     \
	"function polyplug_init(hl, hh, cl, ch, bridge) {\n"                                \
	"  var s = 'guest_contract:fz.Main@1', h = 0xcbf29ce484222325n;\n"                  \
	"  for (var i = 0; i < s.length; i++)\n"                                            \
	"    h = ((h ^ BigInt(s.charCodeAt(i))) * 0x100000001b3n) & 0xffffffffffffffffn;\n" \
	"  return [[{ contractLo: Number(h & 0xffffffffn), contractHi: Number(h >> 32n),\n" \
	"    contractName: 'fz.Main@1', version: 0x00010000, fnCount: 1,\n"                 \
	"    interface: { factory: function () { return {}; },\n"                           \
	"      functions: [function () { return 0; }] } }], { code: 0, message: '' }];\n}\n"

/* How many inputs loaded (the replay checks that some do). */
static unsigned manifest_run_loads;

/* Writes len bytes to dir/name; false if it could not. */
static inline bool manifest_run_write(const char *dir, const char *name, const void *p, size_t len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return false;
	bool ok = fwrite(p, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

/* Makes dir hold main.js (once per process is enough: inputs only
 * rewrite manifest.toml). */
static inline bool manifest_run_prepare(const char *dir)
{
	return manifest_run_write(dir, "main.js", MANIFEST_RUN_JS, strlen(MANIFEST_RUN_JS));
}

/* Whether ref ("name@major") is the contract id says it is. */
static inline bool manifest_run_ref(const char *ref, uint64_t id, uint32_t *major)
{
	char name[256];
	return pp__contract_ref(ref, name, sizeof name, major) && name[0] &&
	       pp_guest_contract_id(name, *major) == id;
}

/* What an accepted manifest holds: its strings end where they should (ASan
 * sees a read past them), each contract's id is its name's, a dependency's
 * min_version is of its contract's major, the file is inside dir. */
static inline const char *manifest_run_walk(const pp_manifest *m, const char *dir)
{
	uint32_t major;
	if (!m->name || !m->name[0] || !m->file_path)
		return "an accepted manifest has no name";
	size_t n = strlen(m->name) + (m->version ? strlen(m->version) : 0) +
	           (m->loader ? strlen(m->loader) : 0);
	if (m->file && (strncmp(m->file, dir, strlen(dir)) != 0 || m->file[strlen(dir)] != '/' ||
	                strstr(m->file, "..")))
		return "an accepted file is not inside the bundle directory";
	for (size_t i = 0; i < m->provides_count; i++)
		if (!manifest_run_ref(m->provides[i].name, m->provides[i].id, &major))
			return "a provided contract's id is not its name's";
	for (size_t i = 0; i < m->dep_count; i++) {
		const pp_manifest_dep *d = &m->deps[i];
		if (!manifest_run_ref(d->contract, d->dep.contract_id, &major))
			return "a dependency's contract id is not its name's";
		if (d->dep.min_version >> 16 != major)
			return "a dependency's min_version is not of its contract's major";
		n += d->bundle ? strlen(d->bundle) : 0;
	}
	for (size_t i = 0; i < m->bundle_dep_count; i++)
		n += strlen(m->bundle_deps[i]);
	if (m->concurrency > PP_JS_MAX_CONCURRENCY)
		return "concurrency beyond its bound was accepted";
	return n ? NULL : "an accepted manifest has no name";
}

/* What a refusal says: it names the manifest file. */
static inline const char *manifest_run_refusal(pp_runtime *rt, const char *path)
{
	const char *e = pp_last_error(rt);
	return e && strstr(e, path) ? NULL : "a refused manifest's error does not name the file";
}

/* The input as dir/manifest.toml, read, then loaded, called (if it
 * registered fz.Main@1) and unloaded. */
static inline const char *manifest_run(pp_runtime *rt, const char *dir, const uint8_t *data,
                                       size_t size)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/manifest.toml", dir);
	if (!manifest_run_write(dir, "manifest.toml", data, size))
		return "cannot write the manifest";
	pp_manifest *m = NULL;
	bool read = pp__manifest_read(rt, dir, &m) == PP_OK;
	const char *broken = read ? manifest_run_walk(m, dir) : manifest_run_refusal(rt, path);
	pp__manifest_free(m);
	if (broken)
		return broken;
	uint64_t id = 0;
	pp_status st = pp_bundle_load(rt, dir, NULL, &id);
	if (st != PP_OK) {
		if (!read)
			return manifest_run_refusal(rt, path);
		const char *e = pp_last_error(rt);
		return e && e[0] ? NULL : "a refused load says nothing";
	}
	if (!read)
		return "a manifest refused when read was loaded";
	manifest_run_loads++;
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("fz.Main", 1), 0);
	pp_guest_contract_instance none = {NULL, 0};
	if (!pp_handle_is_null(h) && pp_call(rt, h, none, 0, NULL, NULL, NULL) != PP_OK)
		return "a bundle loaded from a manifest cannot be called";
	if (pp_bundle_unload(rt, id, 0) != PP_OK)
		return "a bundle loaded from a manifest does not unload";
	pp_runtime_quiesce(rt);
	return NULL;
}

#endif
