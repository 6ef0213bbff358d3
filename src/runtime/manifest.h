/*
 * manifest.h — manifest.toml, the description a bundle directory carries
 * (SPEC §6, with the keys polyplug's generated manifests use):
 *
 *   name = "decoder"                 (older key: bundle_name; both: same value)
 *   id = 1234…                       (optional, also bundle_id: must equal
 *                                     the FNV-1a id of name)
 *   version = "1.0.0"
 *   loader = "native" | "js-quickjs" (older key: runtime)
 *   file = "decoder.so"              or a table [file] linux.x86_64 = "…"
 *   provides = ["pipeline.Decoder@1"]
 *   function_count = { "pipeline.Decoder@1" = 1 }
 *   bundle_dependencies = ["other"]
 *   needs_reinit_on_dep_reload = false
 *   [[dependency]]                   (also: dependencies = [{…}, …])
 *   contract = "pipeline.Validator@1" (or a bare name: major from min_version)
 *   min_version = "1.2"              ("major.minor" or an integer major)
 *   bundle = "validator"             (optional: that bundle must provide it)
 *   kind = "contract" | "bundle"     (optional, as generated manifests write)
 *   contract_id = …, bundle_id = …   (optional, checked when present)
 */
#ifndef PP_MANIFEST_H
#define PP_MANIFEST_H

/* A manifest larger than this is refused (it is a few lines of TOML). */
#define PP_MANIFEST_MAX_BYTES (1u << 20)

#include "internal.h"

typedef struct pp_manifest_contract {
	char *name;              /* as written: "pipeline.Decoder@1" */
	uint64_t id;             /* guest contract id of name@major */
	uint32_t function_count; /* UINT32_MAX: not declared */
} pp_manifest_contract;

typedef struct pp_manifest_dep {
	char *contract; /* "name@major" */
	pp_dependency dep;
	char *bundle; /* or NULL */
} pp_manifest_dep;

typedef struct pp_manifest {
	char *file_path; /* DIR/manifest.toml, for messages */
	char *name;
	char *version;
	char *loader; /* or NULL: chosen from the file */
	char *file;   /* DIR/file for this platform, or NULL */
	pp_manifest_contract *provides;
	size_t provides_count;
	pp_manifest_dep *deps;
	size_t dep_count;
	char **bundle_deps;
	size_t bundle_dep_count;
	bool reinit_on_dep_reload;
	uint32_t memory_mode; /* `memory = "guarded" | "compat"`: PP_JS_MEMORY_*, or AUTO */
	uint32_t concurrency; /* `concurrency = N`: a JS bundle's VMs; 0 if not given */
} pp_manifest;

/* True if dir holds a manifest.toml. */
bool pp__manifest_exists(const char *dir);

/* Reads DIR/manifest.toml. Errors (PP_ERR_IO, PP_ERR_LOAD_FAILED) name the
 * file, line, column and key. */
pp_status pp__manifest_read(pp_runtime *rt, const char *dir, pp_manifest **out);

void pp__manifest_free(pp_manifest *m);

/* pp_bundle_load past what it reads first, for a caller that read it
 * already (pp_bundle_load_dir, whose order came from these manifests):
 * unseen from pp__watch_load_begins, taken before m was read, and m itself
 * (taken, freed on every path; NULL: path has no manifest). */
pp_status pp__bundle_load_read(pp_runtime *rt, const char *path, const pp_load_options *opts,
                               pp_unseen unseen, pp_manifest *m, uint64_t *out_id);

/* Checks what a bundle version registered against m: every contract it
 * provides and nothing else, with the declared function counts. */
pp_status pp__manifest_check(pp_runtime *rt, const pp_manifest *m, const pp_bundle_version *v);

/* "name@major" -> name and major; false if s has no "@major". */
bool pp__contract_ref(const char *s, char *name, size_t cap, uint32_t *major);

#endif
