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

/* Whether every string m holds ends where it should and its counts hold. */
static inline const char *manifest_run_walk(const pp_manifest *m)
{
	if (!m->name || !m->name[0] || !m->file_path)
		return "an accepted manifest has no name";
	size_t n = strlen(m->name) + (m->version ? strlen(m->version) : 0) +
	           (m->loader ? strlen(m->loader) : 0) + (m->file ? strlen(m->file) : 0);
	for (size_t i = 0; i < m->provides_count; i++)
		n += strlen(m->provides[i].name);
	for (size_t i = 0; i < m->dep_count; i++)
		n += strlen(m->deps[i].contract) +
		     (m->deps[i].bundle ? strlen(m->deps[i].bundle) : 0);
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

/* The input as dir/manifest.toml, read and then loaded and unloaded. */
static inline const char *manifest_run(pp_runtime *rt, const char *dir, const uint8_t *data,
                                       size_t size)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/manifest.toml", dir);
	if (!manifest_run_write(dir, "manifest.toml", data, size))
		return "cannot write the manifest";
	pp_manifest *m = NULL;
	bool read = pp__manifest_read(rt, dir, &m) == PP_OK;
	const char *broken = read ? manifest_run_walk(m) : manifest_run_refusal(rt, path);
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
	if (pp_bundle_unload(rt, id, 0) != PP_OK)
		return "a bundle loaded from a manifest does not unload";
	pp_runtime_quiesce(rt);
	return NULL;
}

#endif
