/*
 * ppc.c — the contract compiler's command line. See docs/contracts.md.
 *
 *   ppc check CONTRACTS.toml                 validate; print ids and layouts
 *   ppc c CONTRACTS.toml -o OUT.h            the C header (both sides)
 *   ppc js CONTRACTS.toml --implement NAME[,NAME...] --impl SRC.js -o bundle.js
 *   ppc dts CONTRACTS.toml -o OUT.d.ts       TypeScript declarations
 *   ppc manifest CONTRACTS.toml --implement NAME[,NAME...] --name BUNDLE -o manifest.toml
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "runtime/utf8.h"

static const char usage_text[] =
        "usage: ppc COMMAND CONTRACTS.toml [OPTIONS]\n"
        "\n"
        "Commands:\n"
        "  check FILE [--against OLD]     validate FILE; print each contract's id and each\n"
        "                                 function's args layout; with --against, fail if\n"
        "                                 a contract changed layout without a new major\n"
        "                                 version (or added functions without a new minor)\n"
        "  c FILE -o OUT.h                the C header: types, ids, layouts, the guest\n"
        "                                 skeleton and the typed callers\n"
        "  js FILE --implement NAMES --impl SRC.js -o bundle.js\n"
        "                                 a JS bundle: SRC.js (defining one class per\n"
        "                                 contract, named after its last segment) plus\n"
        "                                 the glue; NAMES is a comma-separated list.\n"
        "                                 --glue-only instead of --impl: the glue alone,\n"
        "                                 for a bundler to append (esbuild --footer)\n"
        "  dts FILE -o OUT.d.ts           TypeScript declarations for JS authors\n"
        "  manifest FILE --implement NAMES --name BUNDLE [--file F] [--version V]\n"
        "           -o manifest.toml      the bundle's manifest: name, loader (from F:\n"
        "                                 .js or a shared library; default bundle.js),\n"
        "                                 provides and function counts, and FILE under\n"
        "                                 `contracts` when it sits next to the output\n"
        "\n"
        "Errors name the file, line, column and key. Exit status: 0 success, 1 a bad\n"
        "contract file, 2 usage or I/O error.\n";

static const char *option(int argc, char **argv, const char *name)
{
	for (int i = 0; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

/* Writes through a temporary file so a failed run leaves no half output.
 * A writer returns 0, or 2 when it could not write (the stream's error, or
 * out of memory: errno says which), and prints nothing: write_out says it. */
typedef int (*writer)(FILE *f, void *ud);

static int write_out(const char *path, writer w, void *ud)
{
	size_t n = strlen(path) + sizeof ".tmp";
	char *tmp = malloc(n);
	if (!tmp) {
		fprintf(stderr, "ppc: out of memory\n");
		return 2;
	}
	snprintf(tmp, n, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "ppc: cannot write %s: %s\n", tmp, strerror(errno));
		free(tmp);
		return 2;
	}
	int st = w(f, ud);
	int err = errno;
	if (fclose(f) != 0 || st != 0 || rename(tmp, path) != 0) {
		fprintf(stderr, "ppc: cannot write %s: %s\n", path, strerror(st ? err : errno));
		remove(tmp);
		free(tmp);
		return 2;
	}
	free(tmp);
	return 0;
}

typedef struct job {
	const ppc_model *m;
	const char *out;
	const ppc_contract *mine[PPC_MAX_IMPLEMENT];
	size_t count;
	const char *impl;
	size_t impl_len;
	const char *impl_file;
} job;

static int write_c(FILE *f, void *ud)
{
	const job *j = ud;
	const char *base = strrchr(j->out, '/');
	base = base ? base + 1 : j->out;
	char *guard = malloc(strlen(base) + 5); /* the whole name: never cut short */
	if (!guard)
		return 2;
	size_t n = 0;
	for (const char *p = "PPC_"; *p; p++)
		guard[n++] = *p;
	for (const char *p = base; *p; p++)
		guard[n++] = (char)((*p >= 'a' && *p <= 'z')                               ? *p - 32
		                    : (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ? *p
		                                                                           : '_');
	guard[n] = '\0';
	int st = ppc_gen_c(f, j->m, guard) ? 2 : 0;
	free(guard);
	return st;
}

static int write_js(FILE *f, void *ud)
{
	const job *j = ud;
	return ppc_gen_js(f, j->m, j->mine, j->count, j->impl, j->impl_len, j->impl_file) ? 2 : 0;
}

/* A string as a TOML basic string (names are validated identifiers; a
 * file or version given on the command line may hold anything). */
static void toml_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* A manifest's name, version and file come from the command line: text the
 * runtime's reader takes back (UTF-8, no control characters), or refused
 * here rather than written for the load to refuse. */
static bool manifest_text_ok(const char *option_name, const char *s)
{
	const char *why = *s ? NULL : "is empty";
	size_t len = strlen(s);
	for (size_t i = 0, n; i < len && !why; i += n) {
		uint32_t cp = 0;
		n = pp_utf8_seq((const uint8_t *)s + i, len - i, &cp);
		if (!n)
			why = "is not valid UTF-8";
		else if (cp < 0x20 || cp == 0x7f)
			why = "holds a control character";
	}
	if (why)
		fprintf(stderr, "ppc: %s %s\n", option_name, why);
	return !why;
}

typedef struct manifest_job {
	const ppc_model *m;
	const ppc_contract *provides[PPC_MAX_IMPLEMENT];
	size_t count;
	const char *name, *file, *version, *contracts;
} manifest_job;

static int write_manifest(FILE *f, void *ud)
{
	const manifest_job *j = ud;
	size_t n = strlen(j->file);
	bool js = n > 3 && strcmp(j->file + n - 3, ".js") == 0;
	fputs("# Written by ppc from ", f);
	ppc_comment_path(f, j->m->file);
	fputs(": the bundle's promises, checked at load.\n", f);
	fputs("name = ", f);
	toml_string(f, j->name);
	fputs("\nversion = ", f);
	toml_string(f, j->version);
	fprintf(f, "\nloader = \"%s\"\nfile = ", js ? "js-quickjs" : "native");
	toml_string(f, j->file);
	fputs("\nprovides = [", f);
	for (size_t i = 0; i < j->count; i++)
		fprintf(f, "%s\"%s@%u\"", i ? ", " : "", j->provides[i]->name,
		        j->provides[i]->major);
	fputs("]\nfunction_count = { ", f);
	for (size_t i = 0; i < j->count; i++)
		fprintf(f, "%s\"%s@%u\" = %zu", i ? ", " : "", j->provides[i]->name,
		        j->provides[i]->major, j->provides[i]->function_count);
	fputs(" }\n", f);
	if (j->contracts) {
		fputs("contracts = [", f);
		toml_string(f, j->contracts);
		fputs("]\n", f);
	}
	return ferror(f) ? 2 : 0;
}

/* The manifest command: which contracts, and whether FILE is listed. */
static int manifest(const ppc_model *m, const char *file, const char *out, int argc, char **argv)
{
	manifest_job j = {m,
	                  {NULL},
	                  0,
	                  option(argc, argv, "--name"),
	                  option(argc, argv, "--file"),
	                  option(argc, argv, "--version"),
	                  NULL};
	const char *names = option(argc, argv, "--implement");
	if (!names || !j.name || !out || !file) {
		fputs(usage_text, stderr);
		return 2;
	}
	j.file = j.file ? j.file : "bundle.js";
	j.version = j.version ? j.version : "0.1.0";
	if (!manifest_text_ok("--name", j.name) || !manifest_text_ok("--version", j.version) ||
	    !manifest_text_ok("--file", j.file))
		return 2;
	if (j.file[0] == '/' || strstr(j.file, "..")) {
		fprintf(stderr, "ppc: --file '%s' is not a file name inside the bundle directory\n",
		        j.file);
		return 2;
	}
	char err[512];
	j.count = ppc_pick_guests(m, names, j.provides, err, sizeof err);
	if (!j.count) {
		fprintf(stderr, "ppc: %s\n", err);
		return 1;
	}
	/* FILE is listed when it sits in the manifest's directory */
	const char *fs = strrchr(file, '/'), *os = strrchr(out, '/');
	size_t fdir = fs ? (size_t)(fs - file) : 0, odir = os ? (size_t)(os - out) : 0;
	if (fdir == odir && strncmp(file, out, fdir) == 0)
		j.contracts = fs ? fs + 1 : file;
	return write_out(out, write_manifest, &j);
}

static int write_dts(FILE *f, void *ud)
{
	const job *j = ud;
	return ppc_gen_dts(f, j->m) ? 2 : 0;
}

static void print_layouts(const ppc_model *m)
{
	for (size_t i = 0; i < m->contract_count; i++) {
		const ppc_contract *c = &m->contracts[i];
		printf("%s %s@%u (%u.%u.%u) id 0x%016llx\n", c->host ? "host contract" : "contract",
		       c->name, c->major, c->major, c->minor, c->patch, (unsigned long long)c->id);
		for (size_t k = 0; k < c->function_count; k++) {
			const ppc_function *fn = &c->functions[k];
			printf("  fn %zu %s(", k, fn->name);
			for (size_t p = 0; p < fn->param_count; p++)
				printf("%s%s %s @%zu", p ? ", " : "",
				       ppc_type_name(fn->params[p].type), fn->params[p].name,
				       fn->params[p].offset);
			if (fn->needs_arena)
				printf("%sarena @%zu", fn->param_count ? ", " : "",
				       fn->arena_offset);
			printf(") -> %s; args %zu bytes\n", ppc_type_name(fn->result),
			       fn->args_size);
		}
	}
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc < 3) {
		fputs(usage_text, stderr);
		return 2;
	}
	const char *cmd = argv[1], *file = argv[2];
	size_t len;
	char *text = ppc_read_file(file, SIZE_MAX, &len);
	if (!text) {
		fprintf(stderr, "ppc: cannot read %s: %s\n", file, strerror(errno));
		return 2;
	}
	char err[1024];
	ppc_model *m = ppc_model_read(text, len, file, err, sizeof err);
	free(text);
	if (!m) {
		fprintf(stderr, "ppc: %s\n", err);
		return 1;
	}
	int st = 2;
	const char *out = option(argc, argv, "-o");
	job j = {m, out, {NULL}, 0, NULL, 0, NULL};
	if (strcmp(cmd, "check") == 0) {
		print_layouts(m);
		st = 0;
		const char *against = option(argc, argv, "--against");
		if (against) {
			size_t olen;
			char *old_text = ppc_read_file(against, SIZE_MAX, &olen);
			ppc_model *old =
			        old_text ? ppc_model_read(old_text, olen, against, err, sizeof err)
			                 : NULL;
			free(old_text);
			if (!old) {
				fprintf(stderr, "ppc: %s\n",
				        old_text ? err : "cannot read the older file");
				st = 2;
			} else if (!ppc_model_compatible(old, m, err, sizeof err)) {
				fprintf(stderr, "ppc: %s\n", err);
				st = 1;
			}
			ppc_model_free(old);
		}
	} else if (!out) {
		fputs(usage_text, stderr);
	} else if (strcmp(cmd, "c") == 0) {
		st = write_out(out, write_c, &j);
	} else if (strcmp(cmd, "dts") == 0) {
		st = write_out(out, write_dts, &j);
	} else if (strcmp(cmd, "manifest") == 0) {
		st = manifest(m, file, out, argc, argv);
	} else if (strcmp(cmd, "js") == 0) {
		const char *names = option(argc, argv, "--implement");
		const char *impl = option(argc, argv, "--impl");
		bool glue_only = false;
		for (int i = 3; i < argc; i++)
			glue_only |= strcmp(argv[i], "--glue-only") == 0;
		char *src = NULL;
		if (!names || (!impl && !glue_only) || (impl && glue_only)) {
			fputs(usage_text, stderr);
		} else if ((j.count = ppc_pick_guests(m, names, j.mine, err, sizeof err)) == 0) {
			fprintf(stderr, "ppc: %s\n", err);
			st = 1;
		} else if (!glue_only &&
		           (src = ppc_read_file(impl, SIZE_MAX, &j.impl_len)) == NULL) {
			fprintf(stderr, "ppc: cannot read %s: %s\n", impl, strerror(errno));
		} else {
			j.impl = src;
			j.impl_file = impl;
			st = write_out(out, write_js, &j);
		}
		free(src);
	} else {
		fprintf(stderr, "ppc: unknown command '%s'\n\n%s", cmd, usage_text);
	}
	ppc_model_free(m);
	return st;
}
