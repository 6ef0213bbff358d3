/*
 * polyplug.c — the command-line tool: inspect, check and watch plugins
 * directories, and scaffold new bundles. See docs/cli.md.
 *
 *   polyplug list DIR        bundles, contracts, versions, loader, load order, errors
 *   polyplug check DIR       validate manifests and load everything (exit 1 on errors)
 *   polyplug watch DIR       load everything and hot-reload, printing events
 *   polyplug new c|js NAME   scaffold a bundle directory NAME that builds and loads
 *   polyplug call DIR C@M FN [ARGS]  call one function and print its result (cli_call.c)
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <polyplug/polyplug.h>

#include "cli.h"
#include "ppc/model.h"
#include "runtime/utf8.h"

extern char **environ;

static const char usage_main[] =
        "usage: polyplug COMMAND [ARGS]\n"
        "\n"
        "Commands:\n"
        "  list DIR          show the bundles under DIR: load order, version, loader,\n"
        "                    contracts, and why any did not load\n"
        "  check DIR         validate every manifest and load every bundle under DIR;\n"
        "                    exit status 0 if all load, 1 if any does not\n"
        "  watch DIR         load the bundles under DIR and reload each one when its\n"
        "                    files change, printing what happens (Ctrl-C stops)\n"
        "  new c|js|ts NAME  create the bundle directory NAME (manifest, source, and\n"
        "                    for C and TypeScript a Makefile) that builds and loads\n"
        "  call DIR CONTRACT@MAJOR FUNCTION [ARGS...]\n"
        "                    load DIR, call one function and print its result\n"
        "\n"
        "polyplug COMMAND --help describes one command. Exit status: 0 success,\n"
        "1 bundles failed to load (or the call failed), 2 usage or I/O error.\n";

static const char usage_list[] =
        "usage: polyplug list DIR\n"
        "\n"
        "Loads every bundle under DIR (each subdirectory with a manifest.toml, a\n"
        "bundle.js or a shared library) in dependency order and prints, per bundle,\n"
        "its position in that order (#N), version, loader, directory and contracts\n"
        "(name, version, function count, dispatch), or the reason it did not load.\n"
        "Exit status 1 if any bundle did not load.\n";

static const char usage_check[] =
        "usage: polyplug check [-q] [--strict] DIR\n"
        "\n"
        "Validates every manifest under DIR and loads every bundle, checking what\n"
        "each registers against its manifest. Prints one line per bundle (-q: only\n"
        "failures) and exits 0 if all loaded, 1 if not: meant for scripts and CI.\n"
        "--strict: a manifest key polyplug does not know (a warning otherwise) is\n"
        "an error too, and so is a native bundle exporting symbols besides\n"
        "polyplug's entry points (built without -fvisibility=hidden).\n";

static const char usage_watch[] =
        "usage: polyplug watch [--debounce MS] DIR\n"
        "\n"
        "Loads every bundle under DIR, then watches their files and reloads a bundle\n"
        "when they change (once per save: changes are debounced, default 100 ms).\n"
        "Prints loads, reloads and failed reloads (the old version keeps serving)\n"
        "until interrupted.\n";

static const char usage_new[] =
        "usage: polyplug new c|js|ts NAME\n"
        "\n"
        "Creates the directory NAME holding a bundle that provides NAME.Hello@1\n"
        "(fn 0: hello(StringView who) -> StringView); NAME is an identifier:\n"
        "  c:  manifest.toml, NAME.c and a Makefile (`make -C NAME` builds NAME.so)\n"
        "  js: manifest.toml and bundle.js\n"
        "  ts: manifest.toml, NAME.ts and a Makefile; built at once into bundle.js\n"
        "      with ppc and esbuild (Debian's esbuild package)\n"
        "and contracts.toml (the contract, for ppc and `polyplug call`). Then\n"
        "`polyplug check .` in the parent directory loads it, and\n"
        "`polyplug call NAME NAME.Hello@1 hello world` calls it.\n";

static int usage(const char *text, int status)
{
	fputs(text, status ? stderr : stdout);
	return status;
}

/* The length of the character at p (avail > 0 bytes), and whether a
 * terminal may be given it as it is: not a C0 control (but a line break or
 * a tab when lines are kept), DEL or a C1 control (U+0080..U+009F: 8-bit CSI
 * is an escape too), and valid UTF-8 (a byte that starts no sequence is one
 * character, not shown). */
static size_t term_char(const uint8_t *p, size_t avail, bool lines, bool *shown)
{
	uint32_t cp;
	size_t n = pp_utf8_seq(p, avail, &cp);
	if (!n) {
		*shown = false;
		return 1;
	}
	*shown = !((cp < 0x20 && !(lines && (cp == '\n' || cp == '\t'))) ||
	           (cp >= 0x7f && cp <= 0x9f));
	return n;
}

void cli_put_text(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		bool shown;
		size_t k = term_char(p + i, n - i, true, &shown);
		if (shown)
			fwrite(p + i, 1, k, f);
		else
			fputc('?', f);
		i += k;
	}
}

const char *cli_one_line(char *buf, size_t cap, const char *s)
{
	const uint8_t *p = (const uint8_t *)(s ? s : "");
	size_t len = strlen((const char *)p), n = 0, i = 0;
	while (i < len) {
		bool shown;
		size_t k = term_char(p + i, len - i, false, &shown);
		size_t put = shown ? k : 1;
		if (n + put + 4 > cap)
			break;
		if (shown)
			memcpy(buf + n, p + i, k);
		else
			buf[n] = '?';
		n += put;
		i += k;
	}
	if (i < len) /* cut short */
		for (int k = 0; k < 3 && n + 1 < cap; k++)
			buf[n++] = '.';
	buf[n] = '\0';
	return buf;
}

int usage_error(const char *text)
{
	return usage(text, 2);
}

bool cli_wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}

/* ---- list / check ----------------------------------------------------------- */

typedef struct tally {
	pp_runtime *rt;
	bool quiet;
	bool details;
	int failed;
} tally;

static void print_contract(void *ud, const pp_contract_info *c)
{
	(void)ud;
	char name[CLI_FIELD];
	printf("      provides %-28s version %u.%u.%u, %u function%s, %s dispatch\n",
	       cli_one_line(name, sizeof name, c->name), c->version.major, c->version.minor,
	       c->version.patch, c->function_count, c->function_count == 1 ? "" : "s",
	       c->dispatch_type == PP_DISPATCH_NATIVE ? "native" : "VM");
}

typedef struct about {
	uint64_t id;
	char loader[32];
	char version[32];
} about;

static void find_bundle(void *ud, const pp_bundle_info *b)
{
	about *a = ud;
	if (b->id != a->id)
		return;
	snprintf(a->loader, sizeof a->loader, "%s", b->loader);
	snprintf(a->version, sizeof a->version, "%s", b->version ? b->version : "-");
}

static void report(void *ud, const pp_dir_entry *e)
{
	tally *t = ud;
	char name[CLI_FIELD], path[CLI_FIELD], version[CLI_FIELD], loader[CLI_FIELD];
	cli_one_line(name, sizeof name, e->name);
	if (e->status != PP_OK) {
		t->failed++;
		printf("  FAIL %-20s %s: ", name, pp_status_name(e->status));
		cli_put_text(stdout, (const uint8_t *)e->error, e->error ? strlen(e->error) : 0);
		putchar('\n');
		return;
	}
	if (t->quiet)
		return;
	if (!t->details) {
		printf("  ok   %s\n", name);
		return;
	}
	about a = {e->bundle_id, "?", "-"};
	pp_bundle_foreach(t->rt, find_bundle, &a);
	printf("  #%-3u %-20s %-8s %-10s %s\n", e->order, name,
	       cli_one_line(version, sizeof version, a.version),
	       cli_one_line(loader, sizeof loader, a.loader),
	       cli_one_line(path, sizeof path, e->path));
	pp_bundle_contracts(t->rt, e->bundle_id, print_contract, NULL);
}

/* Warnings seen (a manifest is read twice, by the scan and by the load:
 * each warning is printed once), and how many were about manifest keys. */
typedef struct warnings {
	pthread_mutex_t lock;
	uint64_t seen[256];
	int count, unknown_keys;
} warnings;

/* Errors from loading go to the report, not to stderr twice. */
static void quiet_log(void *ud, uint32_t level, pp_string_view scope, pp_string_view msg)
{
	warnings *w = ud;
	uint64_t h = pp_fnv1a64_update(pp_fnv1a64(scope.ptr, scope.len), msg.ptr, msg.len);
	pthread_mutex_lock(&w->lock);
	bool again = false;
	for (int i = 0; i < w->count && !again; i++)
		again = w->seen[i] == h;
	if (!again && w->count < 256)
		w->seen[w->count++] = h;
	char text[512];
	snprintf(text, sizeof text, "%.*s", (int)msg.len, (const char *)msg.ptr);
	if (!again && scope.len == 8 && memcmp(scope.ptr, "manifest", 8) == 0 &&
	    strstr(text, "unknown key"))
		w->unknown_keys++;
	pthread_mutex_unlock(&w->lock);
	static const char *const verbose[] = {"info ", "debug ", "trace "};
	if (!again)
		fprintf(stderr, "polyplug: %s[%.*s] %s\n",
		        level > PP_LOG_WARN && level <= PP_LOG_TRACE ? verbose[level - PP_LOG_INFO]
		                                                     : "",
		        (int)scope.len, (const char *)scope.ptr, text);
}

static pp_runtime *new_runtime(pp_reload_fn events, warnings *w)
{
	pp_runtime_config cfg;
	pp_runtime_config_init(&cfg);
	cfg.log = quiet_log;
	cfg.log_userdata = w;
	if (!cfg.log_level) /* POLYPLUG_LOG did not choose */
		cfg.log_level = PP_LOG_WARN;
	cfg.on_reload = events;
	pp_runtime *rt = NULL;
	if (pp_runtime_new(&cfg, &rt) != PP_OK) {
		fprintf(stderr, "polyplug: cannot create a runtime\n");
		return NULL;
	}
	return rt;
}

/* ---- check --strict: what native bundles export ------------------------------ */

typedef struct exports {
	char list[512];
	int count;
	char unchecked[CLI_FIELD]; /* a library with no dynamic symbol table found */
} exports;

static void note_export(void *ud, const char *symbol)
{
	exports *x = ud;
	size_t used = strlen(x->list);
	if (x->count++ < 5) {
		snprintf(x->list + used, sizeof x->list - used, "%s'%.60s'", used ? ", " : "",
		         symbol);
		for (char *p = x->list + used; *p; p++) /* a symbol is the file's bytes */
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				*p = '?';
	}
}

/* Reads one file's exports into x; notes a library whose exports cannot be
 * read (-2), not a file that is no library (-1). */
static void file_exports(exports *x, const char *path)
{
	if (cli_extra_exports(path, note_export, x) == -2 && !x->unchecked[0]) {
		const char *base = strrchr(path, '/');
		cli_one_line(x->unchecked, sizeof x->unchecked, base ? base + 1 : path);
	}
}

/* What check --strict flags: bundles exporting more than the entry points,
 * and bundles with a library whose exports could not be read. */
typedef struct flags {
	int exporting, unchecked;
} flags;

/* Flags a native bundle whose library exports more than the entry points,
 * or whose exports cannot be read. */
static void check_exports(void *ud, const pp_bundle_info *b)
{
	flags *flagged = ud;
	if (strcmp(b->loader, "native") != 0 || !b->path[0])
		return;
	struct stat st;
	if (stat(b->path, &st) != 0)
		return;
	exports x = {"", 0, ""};
	if (!S_ISDIR(st.st_mode)) {
		file_exports(&x, b->path);
	} else {
		DIR *d = opendir(b->path);
		for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
			char file[4096];
			snprintf(file, sizeof file, "%s/%s", b->path, e->d_name);
			if (e->d_name[0] != '.' && stat(file, &st) == 0 && S_ISREG(st.st_mode))
				file_exports(&x, file);
		}
		if (d)
			closedir(d);
	}
	char name[CLI_FIELD], list[CLI_FIELD];
	if (x.unchecked[0]) {
		flagged->unchecked++;
		printf("  WARN %-20s no dynamic symbol table found in %s to check what it "
		       "exports\n",
		       cli_one_line(name, sizeof name, b->name), x.unchecked);
	}
	if (!x.count)
		return;
	flagged->exporting++;
	printf("  WARN %-20s exports %s%s besides polyplug's entry points: build it with "
	       "-fvisibility=hidden (and PP_EXPORT on the entry points), or a host's symbol of the "
	       "same name can replace the plugin's\n",
	       cli_one_line(name, sizeof name, b->name), cli_one_line(list, sizeof list, x.list),
	       x.count > 5 ? " and more" : "");
}

static int load_and_report(const char *dir, bool details, bool quiet, bool strict)
{
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "polyplug: '%s' is not a directory\n", dir);
		return 2;
	}
	warnings w = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = new_runtime(NULL, &w);
	if (!rt)
		return 2;
	tally t = {rt, quiet, details, 0};
	size_t loaded = 0;
	if (!quiet)
		printf("%s:\n", dir);
	pp_bundle_load_dir(rt, dir, report, &t, &loaded);
	flags fl = {0, 0};
	if (strict)
		pp_bundle_foreach(rt, check_exports, &fl);
	if (!quiet || t.failed)
		printf("%zu bundle%s loaded, %d failed\n", loaded, loaded == 1 ? "" : "s",
		       t.failed);
	pp_runtime_free(rt);
	int unknown = w.unknown_keys;
	if (strict && unknown)
		printf("%d unknown manifest key%s: an error with --strict\n", unknown,
		       unknown == 1 ? "" : "s");
	if (fl.exporting)
		printf("%d native bundle%s export%s more than the entry points: an error with "
		       "--strict\n",
		       fl.exporting, fl.exporting == 1 ? "" : "s", fl.exporting == 1 ? "s" : "");
	if (fl.unchecked)
		printf("%d native bundle%s with a library whose exports could not be read: an "
		       "error with --strict\n",
		       fl.unchecked, fl.unchecked == 1 ? "" : "s");
	return t.failed || (strict && (unknown || fl.exporting || fl.unchecked)) ? 1 : 0;
}

static int cmd_list(int argc, char **argv)
{
	if (cli_wants_help(argc, argv))
		return usage(usage_list, 0);
	if (argc != 1)
		return usage(usage_list, 2);
	return load_and_report(argv[0], true, false, false);
}

static int cmd_check(int argc, char **argv)
{
	if (cli_wants_help(argc, argv))
		return usage(usage_check, 0);
	bool quiet = false, strict = false;
	for (; argc > 1; argc--, argv++)
		if (strcmp(argv[0], "-q") == 0)
			quiet = true;
		else if (strcmp(argv[0], "--strict") == 0)
			strict = true;
		else
			return usage(usage_check, 2);
	if (argc != 1)
		return usage(usage_check, 2);
	return load_and_report(argv[0], false, quiet, strict);
}

/* ---- watch -------------------------------------------------------------------- */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void print_event(void *ud, uint64_t id, const char *name, uint32_t phase, const char *why)
{
	(void)ud;
	(void)id;
	static const char *const what[] = {"preparing to reload", "reloaded", "reload FAILED",
	                                   "unloading", "loaded"};
	char shown[CLI_FIELD];
	printf("[%s] %s%s", cli_one_line(shown, sizeof shown, name), phase < 5 ? what[phase] : "?",
	       why ? ": " : "");
	cli_put_text(stdout, (const uint8_t *)why, why ? strlen(why) : 0);
	putchar('\n');
	fflush(stdout);
}

static int cmd_watch(int argc, char **argv)
{
	if (cli_wants_help(argc, argv))
		return usage(usage_watch, 0);
	unsigned long debounce = 0;
	if (argc == 3 && strcmp(argv[0], "--debounce") == 0) {
		char *end;
		debounce = strtoul(argv[1], &end, 10);
		if (*end || debounce > 60000)
			return usage(usage_watch, 2);
		argv += 2;
		argc -= 2;
	}
	if (argc != 1)
		return usage(usage_watch, 2);
	/* Ctrl-C and SIGTERM are held back until the wait below takes them:
	 * one that comes while loading is not lost (nor kills the process),
	 * and the runtime's threads, started with them blocked, never take
	 * them */
	sigset_t stops, others;
	sigemptyset(&stops);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGTERM);
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	pthread_sigmask(SIG_BLOCK, &stops, &others);
	sigdelset(&others, SIGINT);
	sigdelset(&others, SIGTERM);
	static warnings w = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = new_runtime(print_event, &w);
	if (!rt)
		return 2;
	tally t = {rt, false, false, 0};
	size_t loaded = 0;
	pp_bundle_load_dir(rt, argv[0], report, &t, &loaded);
	pp_status ws = pp_watch_start(rt, (uint32_t)debounce);
	if (ws != PP_OK) {
		fprintf(stderr, "polyplug: %s: %s\n", pp_status_name(ws), pp_last_error(rt));
		pp_runtime_free(rt);
		return 2;
	}
	printf("watching %zu bundle%s under %s (Ctrl-C stops)\n", loaded, loaded == 1 ? "" : "s",
	       argv[0]);
	fflush(stdout);
	while (!stop)
		sigsuspend(&others); /* takes a held-back stop, or waits for one */
	pp_runtime_free(rt);
	return 0;
}

/* ---- new ------------------------------------------------------------------------ */

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "polyplug: cannot write %s: %s\n", path, strerror(errno));
		return 2;
	}
	return 0;
}

/* tmpl with every "@NAME@" replaced by name, "@INCLUDE@" by include and
 * "@PPC@" by ppc (a malloc'd string). */
static char *fill(const char *tmpl, const char *name, const char *include, const char *ppc)
{
	enum { KEYS = 3 };
	static const char *const keys[KEYS] = {"@NAME@", "@INCLUDE@", "@PPC@"};
	const char *values[KEYS] = {name, include, ppc};
	size_t n = strlen(tmpl) + 1;
	for (size_t k = 0; k < KEYS; k++)
		for (const char *p = tmpl; (p = strstr(p, keys[k])) != NULL; p += strlen(keys[k]))
			n += strlen(values[k]);
	char *out = malloc(n);
	if (!out)
		return NULL;
	char *o = out;
	for (const char *p = tmpl; *p;) {
		size_t k = 0;
		while (k < KEYS && strncmp(p, keys[k], strlen(keys[k])) != 0)
			k++;
		if (k < KEYS) {
			o += sprintf(o, "%s", values[k]);
			p += strlen(keys[k]);
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

/* The directory this tool runs from (PREFIX/bin, or build/tools): ppc is
 * next to it. "" if unknown. */
static void tool_dir(char *buf, size_t cap)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	char *slash = n > 0 ? (exe[n] = '\0', strrchr(exe, '/')) : NULL;
	if (slash)
		*slash = '\0';
	snprintf(buf, cap, "%s", slash ? exe : "");
}

/* The headers of the polyplug this tool belongs to: PREFIX/include when it
 * runs installed (PREFIX/bin/polyplug), else the source tree it was built
 * from. */
static void include_dir(char *buf, size_t cap)
{
	char dir[4096];
	tool_dir(dir, sizeof dir);
	if (*dir) {
		char probe[4200], real[4096];
		snprintf(probe, sizeof probe, "%s/../include/polyplug/abi.h", dir);
		if (realpath(probe, real)) {
			real[strlen(real) - strlen("/polyplug/abi.h")] = '\0';
			snprintf(buf, cap, "%s", real);
			return;
		}
	}
	snprintf(buf, cap, "%s", PP_INCLUDE_DIR);
}

static const char c_manifest[] = "name = \"@NAME@\"\n"
                                 "version = \"0.1.0\"\n"
                                 "loader = \"native\"\n"
                                 "file = \"@NAME@.so\"\n"
                                 "provides = [\"@NAME@.Hello@1\"]\n"
                                 "function_count = { \"@NAME@.Hello@1\" = 1 }\n"
                                 "contracts = [\"contracts.toml\"]\n";

static const char c_source[] =
        "/* @NAME@ — a polyplug-c bundle providing @NAME@.Hello@1 (contracts.toml):\n"
        " *   fn 0: hello(StringView who) -> StringView (in the caller's arena)\n"
        " * Written by hand to show the ABI; `ppc c contracts.toml` generates the\n"
        " * same plumbing (docs/contracts.md). */\n"
        "#include <string.h>\n"
        "\n"
        "#include <polyplug/abi.h>\n"
        "\n"
        "static const pp_host_api *host;\n"
        "\n"
        "/* hello's args as ppc lays them out (contracts.toml): the param, then the\n"
        " * arena the caller passes for the StringView result. */\n"
        "typedef struct hello_args {\n"
        "\tpp_string_view who;\n"
        "\tpp_call_arena *arena;\n"
        "} hello_args;\n"
        "\n"
        "static void hello(pp_guest_contract_instance self, const void *args, void *out,\n"
        "                  pp_abi_error *err)\n"
        "{\n"
        "\t(void)self;\n"
        "\tconst hello_args *a = args;\n"
        "\tsize_t len = 7 + a->who.len;\n"
        "\t/* in the caller's arena; without one, from host->alloc (the caller frees\n"
        "\t * it with host->free) */\n"
        "\tuint8_t *text = a->arena ? (uint8_t *)pp_call_arena_alloc(a->arena, len, 1)\n"
        "\t                         : (uint8_t *)host->alloc(host, len, 1);\n"
        "\tif (!text) {\n"
        "\t\terr->code = PP_ERR_OUT_OF_MEMORY;\n"
        "\t\treturn;\n"
        "\t}\n"
        "\tmemcpy(text, \"Hello, \", 7);\n"
        "\tif (a->who.len)\n"
        "\t\tmemcpy(text + 7, a->who.ptr, a->who.len);\n"
        "\tpp_string_view result = {text, len};\n"
        "\t*(pp_string_view *)out = result;\n"
        "}\n"
        "\n"
        "static void no_state(pp_vm_loader_data d, const pp_host_api *h, const void *a,\n"
        "                     pp_guest_contract_instance *out, pp_abi_error *err)\n"
        "{\n"
        "\t(void)d;\n"
        "\t(void)h;\n"
        "\t(void)a;\n"
        "\t(void)err;\n"
        "\tout->data = NULL;\n"
        "}\n"
        "\n"
        "static void no_cleanup(pp_vm_loader_data d, const pp_host_api *h,\n"
        "                       pp_guest_contract_instance i)\n"
        "{\n"
        "\t(void)d;\n"
        "\t(void)h;\n"
        "\t(void)i;\n"
        "}\n"
        "\n"
        "static const void *const functions[] = {(const void *)hello};\n"
        "\n"
        "PP_DEFINE_ABI_VERSION()\n"
        "\n"
        "PP_EXPORT pp_abi_error polyplug_init(const pp_host_api *h, const pp_bundle_init_context "
        "*ctx)\n"
        "{\n"
        "\t(void)ctx;\n"
        "\thost = h;\n"
        "\tpp_guest_contract_interface iface = {\n"
        "\t        .contract_id = pp_guest_contract_id(\"@NAME@.Hello\", 1),\n"
        "\t        .contract_version = {1, 0, 0},\n"
        "\t        .dispatch_type = PP_DISPATCH_NATIVE,\n"
        "\t        .create_instance = no_state,\n"
        "\t        .destroy_instance = no_cleanup,\n"
        "\t        .dispatch.native = {1, functions}};\n"
        "\tpp_plugin_descriptor desc = {PP_SV(\"@NAME@\"), PP_SV(\"@NAME@.Hello@1\"), {1, 0, "
        "0}};\n"
        "\tpp_abi_error err = {PP_OK, {NULL, 0}};\n"
        "\th->register_guest_contract(h, &desc, &iface, &err);\n"
        "\treturn err;\n"
        "}\n";

static const char c_makefile[] =
        "# Builds @NAME@.so next to its manifest, against the headers of the\n"
        "# polyplug that wrote this file (POLYPLUG_INCLUDE=... overrides).\n"
        "# CFLAGS=... on the command line replaces -O2 -g; the flags a bundle\n"
        "# needs (-fPIC, -fvisibility=hidden, the include path) stay.\n"
        "POLYPLUG_INCLUDE ?= @INCLUDE@\n"
        "CFLAGS ?= -O2 -g\n"
        "override CFLAGS += -std=c11 -Wall -Wextra -fPIC -fvisibility=hidden\n"
        "override CPPFLAGS += -I$(POLYPLUG_INCLUDE)\n"
        "\n"
        "@NAME@.so: @NAME@.c\n"
        "\t$(CC) $(CPPFLAGS) $(CFLAGS) -shared -o $@ $<\n"
        "\n"
        "clean:\n"
        "\trm -f @NAME@.so\n";

static const char js_manifest[] = "name = \"@NAME@\"\n"
                                  "version = \"0.1.0\"\n"
                                  "loader = \"js-quickjs\"\n"
                                  "file = \"bundle.js\"\n"
                                  "provides = [\"@NAME@.Hello@1\"]\n"
                                  "function_count = { \"@NAME@.Hello@1\" = 1 }\n"
                                  "contracts = [\"contracts.toml\"]\n";

static const char js_source[] =
        "// @NAME@ — a polyplug JS bundle providing @NAME@.Hello@1:\n"
        "//   fn 0: hello(StringView who) -> StringView\n"
        "// The typed signature lets the loader pass `who` as a string and copy the\n"
        "// returned string into the caller's arena (see docs/js.md).\n"
        "\n"
        "function contractId(name) { // FNV-1a 64 of \"guest_contract:\" + name\n"
        "  let h = 0xcbf29ce484222325n;\n"
        "  for (const c of 'guest_contract:' + name)\n"
        "    h = ((h ^ BigInt(c.charCodeAt(0))) * 0x100000001b3n) & 0xffffffffffffffffn;\n"
        "  return [Number(h & 0xffffffffn), Number(h >> 32n)];\n"
        "}\n"
        "\n"
        "function polyplug_init(hostLo, hostHi, ctxLo, ctxHi, bridge) {\n"
        "  const [lo, hi] = contractId('@NAME@.Hello@1');\n"
        "  return [[{\n"
        "    contractLo: lo, contractHi: hi, contractName: '@NAME@.Hello@1',\n"
        "    version: 0x00010000, fnCount: 1,\n"
        "    interface: {\n"
        "      factory: () => ({}),\n"
        "      functions: [(impl, who) => 'Hello, ' + who],\n"
        "      signatures: [{ params: ['StringView'], result: 'StringView' }],\n"
        "    },\n"
        "  }], { code: 0, message: '' }];\n"
        "}\n";

static const char contract_file[] =
        "# What @NAME@ provides, as a ppc contract file: `ppc` makes typed C and JS\n"
        "# from it (docs/contracts.md), and `polyplug call` types its arguments:\n"
        "#   polyplug call @NAME@ @NAME@.Hello@1 hello world\n"
        "\n"
        "[[guest_contract]]\n"
        "name = \"@NAME@.Hello\"\n"
        "version = \"1.0.0\"\n"
        "\n"
        "[[guest_contract.functions]]\n"
        "name = \"hello\"\n"
        "params = [{ name = \"who\", type = \"StringView\" }]\n"
        "return = \"StringView\"\n";

static const char ts_source[] =
        "// @NAME@ — a polyplug bundle in TypeScript providing @NAME@.Hello@1\n"
        "// (contracts.toml). `make` builds bundle.js: ppc writes the types to\n"
        "// build/contracts.d.ts and the glue, esbuild compiles this file with the\n"
        "// glue and a source map. `make check` runs tsc --strict over it.\n"
        "import type { HelloContract, PpcContext } from './build/contracts';\n"
        "\n"
        "export class Hello implements HelloContract {\n"
        "  constructor(private readonly ctx: PpcContext) {}\n"
        "\n"
        "  hello(who: string): string {\n"
        "    console.log(`greeting ${who}`);\n"
        "    return `Hello, ${who}`;\n"
        "  }\n"
        "}\n";

static const char ts_makefile[] =
        "# Builds bundle.js from @NAME@.ts with ppc (next to the polyplug that wrote\n"
        "# this) and esbuild (Debian's esbuild package).\n"
        "PPC ?= @PPC@\n"
        "ESBUILD ?= esbuild\n"
        "TSC ?= tsc\n"
        "\n"
        "# esbuild writes bundle.js and its source map (bundle.js.map), which the\n"
        "# loader applies to stack traces; ppc's glue goes in as its footer.\n"
        "bundle.js: @NAME@.ts contracts.toml\n"
        "\t@mkdir -p build\n"
        "\t\"$(PPC)\" dts contracts.toml -o build/contracts.d.ts\n"
        "\t\"$(PPC)\" js contracts.toml --implement @NAME@.Hello --glue-only -o build/glue.js\n"
        "\t$(ESBUILD) @NAME@.ts --bundle --format=iife --global-name=__polyplug_impl \\\n"
        "\t\t--footer:js=\"var Hello = __polyplug_impl.Hello;$$(cat build/glue.js)\" \\\n"
        "\t\t--target=es2020 --sourcemap --log-level=warning --outfile=bundle.js\n"
        "\n"
        "check: bundle.js\n"
        "\t$(TSC) --strict --noEmit --target es2020 --moduleResolution node @NAME@.ts\n"
        "\n"
        "clean:\n"
        "\trm -rf build bundle.js\n";

/* make -s -C dir, its output on stderr; its exit status (or -1). */
static int run_make(const char *dir)
{
	posix_spawn_file_actions_t io;
	posix_spawn_file_actions_init(&io);
	posix_spawn_file_actions_adddup2(&io, 2, 1);
	char *argv[] = {"make", "-s", "-C", (char *)dir, NULL};
	pid_t pid;
	int st = posix_spawnp(&pid, "make", &io, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&io);
	if (st != 0)
		return -1;
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* An identifier ppc takes as a contract name's first part (at most
 * PPC_MAX_IDENT bytes; never an option to make or cc). */
static bool valid_name(const char *name)
{
	if (!*name || strlen(name) > PPC_MAX_IDENT || (name[0] >= '0' && name[0] <= '9'))
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

static int cmd_new(int argc, char **argv)
{
	if (cli_wants_help(argc, argv))
		return usage(usage_new, 0);
	if (argc != 2 ||
	    (strcmp(argv[0], "c") != 0 && strcmp(argv[0], "js") != 0 && strcmp(argv[0], "ts") != 0))
		return usage(usage_new, 2);
	const char *name = argv[1];
	/* the name is also the first segment of the contract NAME.Hello, which
	 * `polyplug call` and ppc read: an identifier */
	if (!valid_name(name)) {
		fprintf(stderr,
		        "polyplug: '%s' is not a name for `new` (it names the contract %s.Hello: "
		        "letters, digits and _, not starting with a digit, at most %d)\n",
		        name, name, PPC_MAX_IDENT);
		return 2;
	}
	if (mkdir(name, 0755) != 0) {
		fprintf(stderr, "polyplug: cannot create %s: %s\n", name, strerror(errno));
		return 2;
	}
	bool c = strcmp(argv[0], "c") == 0, ts = strcmp(argv[0], "ts") == 0;
	char include[4096], dir[4096], ppc[4200];
	include_dir(include, sizeof include);
	tool_dir(dir, sizeof dir);
	snprintf(ppc, sizeof ppc, "%s%sppc", dir, *dir ? "/" : "");
	if (strpbrk(ppc, "\"$`\\\n")) /* not writable into the Makefile: from PATH */
		snprintf(ppc, sizeof ppc, "ppc");
	char source[80];
	snprintf(source, sizeof source, c ? "%s.c" : "%s.ts", name);
	const struct {
		const char *file, *tmpl;
	} files[] = {{"manifest.toml", c ? c_manifest : js_manifest},
	             {"contracts.toml", contract_file},
	             {c || ts ? source : "bundle.js", c    ? c_source
	                                              : ts ? ts_source
	                                                   : js_source},
	             {c || ts ? "Makefile" : NULL, c ? c_makefile : ts_makefile}};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		if (!files[i].file)
			continue;
		char *text = fill(files[i].tmpl, name, include, ppc);
		int st = text ? write_file(name, files[i].file, text) : 2;
		free(text);
		if (st)
			return st;
	}
	printf("created %s/ (%s bundle providing %s.Hello@1)\n", name,
	       c    ? "C"
	       : ts ? "TypeScript"
	            : "JS",
	       name);
	if (ts) { /* built now, so that it can be called at once */
		if (run_make(name) != 0) {
			fprintf(stderr,
			        "polyplug: building %s/bundle.js failed; it needs Debian's esbuild "
			        "(apt install esbuild, or scripts/deps.sh --for ts), then: make -C "
			        "%s\n",
			        name, name);
			return 1;
		}
		printf("built %s/bundle.js (rebuild after an edit: make -C %s)\n", name, name);
	}
	if (c)
		printf("build it: make -C %s\n", name);
	printf("check it: polyplug check .\n");
	printf("call it:  polyplug call %s %s.Hello@1 hello world\n", name, name);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(usage_main, 2);
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0)
		return usage(usage_main, 0);
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} commands[] = {{"list", cmd_list},
	                {"check", cmd_check},
	                {"watch", cmd_watch},
	                {"new", cmd_new},
	                {"call", cli_call}};
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].run(argc - 2, argv + 2);
	fprintf(stderr, "polyplug: unknown command '%s'\n\n", cmd);
	return usage(usage_main, 2);
}
