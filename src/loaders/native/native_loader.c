/*
 * native_loader.c — loads bundles that are shared libraries. Each load dlopens
 * a private copy of the .so (RTLD_LOCAL), so a reload really maps the new code
 * and two runtimes never share a plugin's globals; the copy is closed and
 * deleted after the grace period that follows its unload or replacement.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../runtime/internal.h"

/* The file names of the private copies: COPY_PREFIX pid "-" name "-" random. */
#define COPY_PREFIX ".polyplug-"

/* The largest plugin library loaded (it is copied before it is opened). */
#define MAX_LIBRARY_BYTES ((off_t)1 << 30)

typedef struct native_code {
	void *dl;
	void *base; /* where the library is mapped (dladdr's dli_fbase) */
	char *copy_path;
	pp_shutdown_fn shutdown;
	const pp_host_api *host;
} native_code;

static bool has_suffix(const char *s, const char *suffix)
{
	return pp__ends_with(s, strlen(s), suffix);
}

/* Finds the one shared library in a bundle directory. Returns a malloc'd path,
 * or NULL with *why set. */
static char *find_library_in(pp_runtime *rt, const pp_bundle_source *src, pp_status *why)
{
	DIR *d = opendir(src->path);
	if (!d) {
		*why = pp__error(rt, PP_ERR_IO, "bundle '%s': cannot open directory '%s': %s",
		                 src->name, src->path, strerror(errno));
		return NULL;
	}
	char *found = NULL;
	int count = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!has_suffix(e->d_name, ".so"))
			continue;
		if (count++ == 0)
			found = pp__path_join(src->path, e->d_name);
	}
	closedir(d);
	if (count == 1 && found)
		return found;
	free(found);
	*why = count == 0 ? pp__error(rt, PP_ERR_LOAD_FAILED,
	                              "bundle '%s': no shared library (.so) in directory '%s'",
	                              src->name, src->path)
	                  : pp__error(rt, PP_ERR_LOAD_FAILED,
	                              "bundle '%s': %d shared libraries in '%s'; expected one (a "
	                              "manifest can name it)",
	                              src->name, count, src->path);
	return NULL;
}

static bool native_accepts(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return false;
	if (S_ISREG(st.st_mode))
		return has_suffix(path, ".so");
	if (!S_ISDIR(st.st_mode))
		return false;
	DIR *d = opendir(path);
	if (!d)
		return false;
	bool any = false;
	struct dirent *e;
	while (!any && (e = readdir(d)) != NULL)
		any = has_suffix(e->d_name, ".so");
	closedir(d);
	return any;
}

/* A fresh file for a copy of lib: in lib's own directory when it is
 * writable, so $ORIGIN in the library's run path still finds what ships next
 * to it; else in $TMPDIR (logged: $ORIGIN then names that directory). The
 * name starts with a dot, which the watcher ignores. */
static int copy_file_for(pp_runtime *rt, const pp_bundle_source *src, const char *lib,
                         char **out_path)
{
	const char *slash = strrchr(lib, '/');
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	for (int pass = 0; pass < 2; pass++) {
		int dn = pass == 0 ? (slash ? (int)(slash - lib) : 1) : (int)strlen(tmp);
		const char *dir = pass == 0 ? (slash ? lib : ".") : tmp;
		size_t n = (size_t)dn + strlen(src->name) + 64;
		char *path = malloc(n);
		if (!path)
			return -1;
		snprintf(path, n, "%.*s/" COPY_PREFIX "%ld-%.40s-XXXXXX", dn ? dn : 1,
		         dn ? dir : "/", (long)getpid(), src->name);
		int fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0) {
			if (pass == 1)
				pp__log(rt, PP_LOG_WARN, "loader.native",
				        "bundle '%s': '%.*s' is not writable, so its private copy "
				        "lives in "
				        "%s; $ORIGIN in its run path names that directory",
				        src->name, slash ? (int)(slash - lib) : 1,
				        slash ? lib : ".", tmp);
			*out_path = path;
			return fd;
		}
		free(path);
	}
	return -1;
}

/* Whether the ELF file of size bytes open at fd holds every byte its
 * program headers give its segments. A library cut short (a build or copy
 * still writing it, a disk that filled up, a truncate during the copy) keeps
 * an intact header, and dlopen maps segments past its end, which ld.so then
 * touches: SIGBUS in the host. Anything else wrong is dlopen's to refuse. */
static bool elf_whole(int fd, uint64_t size, char *why, size_t cap)
{
	ElfW(Ehdr) eh;
	if (size < sizeof eh || pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh) {
		snprintf(why, cap, "it ends inside its ELF header");
		return false;
	}
	if (eh.e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
	    eh.e_phentsize != sizeof(ElfW(Phdr)))
		return true; /* not a library of this machine's: dlopen says so */
	uint64_t table_end = (uint64_t)eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(ElfW(Phdr));
	if (eh.e_phoff > size || table_end > size) {
		snprintf(why, cap, "its program headers end at byte %llu, past its end",
		         (unsigned long long)table_end);
		return false;
	}
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		ElfW(Phdr) ph;
		off_t at = (off_t)(eh.e_phoff + (uint64_t)i * sizeof ph);
		if (pread(fd, &ph, sizeof ph, at) != (ssize_t)sizeof ph) {
			snprintf(why, cap, "its program header %u cannot be read", i);
			return false;
		}
		uint64_t end = (uint64_t)ph.p_offset + (uint64_t)ph.p_filesz;
		if (ph.p_offset > size || end > size || end < (uint64_t)ph.p_offset) {
			snprintf(why, cap, "its segment %u ends at byte %llu, past its end", i,
			         (unsigned long long)end);
			return false;
		}
	}
	return true;
}

/* Copies lib to a fresh file so dlopen maps this exact version. */
static char *copy_aside(pp_runtime *rt, const pp_bundle_source *src, const char *lib,
                        pp_status *why)
{
	int in = pp__open_bundle_file(rt, src, lib, why);
	if (in < 0)
		return NULL;
	/* An ELF file of a size a library can have: a huge (or sparse) file is
	 * refused before a byte of it is copied, not written out in full to be
	 * refused by dlopen after. */
	struct stat st = {0};
	unsigned char magic[4];
	if (fstat(in, &st) != 0 || st.st_size > MAX_LIBRARY_BYTES ||
	    pread(in, magic, sizeof magic, 0) != (ssize_t)sizeof magic ||
	    memcmp(magic, "\177ELF", sizeof magic) != 0) {
		*why = pp__error(rt, PP_ERR_LOAD_FAILED,
		                 "bundle '%s': '%s' is not a shared library (%s)", src->name, lib,
		                 st.st_size > MAX_LIBRARY_BYTES ? "larger than 1 GiB, the limit"
		                                                : "no ELF header");
		close(in);
		return NULL;
	}
	char *path = NULL;
	int out = copy_file_for(rt, src, lib, &path);
	if (out < 0) {
		*why = pp__error(rt, errno == ENOMEM ? PP_ERR_OUT_OF_MEMORY : PP_ERR_IO,
		                 "bundle '%s': cannot create a private copy of '%s': %s", src->name,
		                 lib, strerror(errno));
		close(in);
		return NULL;
	}
	bool ok = true;
	off_t copied = 0;
	char buf[65536];
	while (ok) {
		ssize_t r = read(in, buf, sizeof buf);
		if (r == 0)
			break;
		if (r < 0) {
			ok = errno == EINTR;
			continue;
		}
		if ((copied += r) > MAX_LIBRARY_BYTES) { /* it grew while copied */
			errno = EFBIG;
			ok = false;
		}
		for (ssize_t off = 0; ok && off < r;) {
			ssize_t w = write(out, buf + off, (size_t)(r - off));
			if (w < 0)
				ok = errno == EINTR;
			else
				off += w;
		}
	}
	int saved = errno;
	if (in >= 0)
		close(in);
	/* checked on the copy: what dlopen will map, whatever the file does now */
	char cut[160] = "";
	bool whole = !ok || elf_whole(out, (uint64_t)copied, cut, sizeof cut);
	if (out >= 0 && close(out) != 0)
		ok = false;
	if (!ok || !whole) {
		*why = whole ? pp__error(rt, PP_ERR_IO, "bundle '%s': cannot copy '%s' to '%s': %s",
		                         src->name, lib, path, strerror(saved))
		             : pp__error(rt, PP_ERR_LOAD_FAILED,
		                         "bundle '%s': '%s' is cut short (%lld bytes): %s; a "
		                         "build or copy may still be writing it",
		                         src->name, lib, (long long)copied, cut);
		unlink(path);
		free(path);
		return NULL;
	}
	return path;
}

/* dlopen and dlclose are serialised inside the dynamic loader, so a library
 * closed by one runtime happens before one opened at the same addresses by
 * another. TSan cannot see that ordering (nor that the addresses now hold a
 * different library); this address, in TSan builds only, tells it. */
static const char dl_order; /* only its address is used; never written */

static void code_free(native_code *c)
{
	if (c->dl) {
		PP_TSAN_RELEASE(&dl_order); /* before the addresses can be reused */
		dlclose(c->dl);
	}
	if (c->copy_path) {
		unlink(c->copy_path);
		free(c->copy_path);
	}
	free(c);
}

static pp_status native_load(pp_runtime *rt, const pp_loader *self, const pp_bundle_source *src,
                             void **out_code)
{
	(void)self;
	pp_status st = PP_OK;
	if (src->code)
		return pp__error(rt, PP_ERR_UNSUPPORTED,
		                 "bundle '%s': the native loader cannot load from memory",
		                 src->name);
	struct stat sb;
	if (stat(src->path, &sb) != 0)
		return pp__error(rt, PP_ERR_IO, "bundle '%s': cannot open '%s': %s", src->name,
		                 src->path, strerror(errno));
	char *lib = S_ISDIR(sb.st_mode) ? find_library_in(rt, src, &st) : pp__strdup(src->path);
	if (!lib)
		return st != PP_OK ? st : pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");

	native_code *c = calloc(1, sizeof *c);
	if (!c) {
		free(lib);
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	}
	c->host = &rt->host;
	c->copy_path = copy_aside(rt, src, lib, &st);
	if (!c->copy_path)
		goto fail;
	c->dl = dlopen(c->copy_path, RTLD_NOW | RTLD_LOCAL);
	PP_TSAN_ACQUIRE(&dl_order);
	/* Mapped (or failed): the file is not needed any more, and a host that
	 * is killed from here on leaves nothing behind. A debugger, though,
	 * reads a library's debug info from its file: POLYPLUG_KEEP_COPIES=1
	 * keeps it until the code is released (docs/debugging.md). */
	const char *keep = getenv("POLYPLUG_KEEP_COPIES");
	if (!c->dl || !keep || strcmp(keep, "1") != 0) {
		unlink(c->copy_path);
		free(c->copy_path);
		c->copy_path = NULL;
	}
	if (!c->dl) {
		const char *e = dlerror();
		st = pp__error(rt, PP_ERR_LOAD_FAILED, "bundle '%s' (%s): dlopen failed: %s",
		               src->name, lib, e ? e : "unknown error");
		goto fail;
	}
	dlerror();
	pp_abi_version_fn abi = (pp_abi_version_fn)dlsym(c->dl, "polyplug_abi_version");
	pp_init_fn init = (pp_init_fn)dlsym(c->dl, "polyplug_init");
	c->shutdown = (pp_shutdown_fn)dlsym(c->dl, "polyplug_shutdown");
	if (!abi || !init) {
		st = pp__error(
		        rt, PP_ERR_LOAD_FAILED,
		        "bundle '%s' (%s): missing symbol %s (is it exported with PP_EXPORT?)",
		        src->name, lib, !abi ? "polyplug_abi_version" : "polyplug_init");
		goto fail;
	}
	Dl_info where;
	if (dladdr((const void *)init, &where))
		c->base = where.dli_fbase;
	uint32_t v = abi();
	if (v != PP_ABI_VERSION) {
		st = pp__error(rt, PP_ERR_ABI_MISMATCH,
		               "bundle '%s' (%s): built for ABI version %u, this runtime speaks %u",
		               src->name, lib, v, PP_ABI_VERSION);
		goto fail;
	}
	pp_bundle_init_context ctx = {src->bundle_id,
	                              {(const uint8_t *)src->path, strlen(src->path)}};
	pp_abi_error err = init(&rt->host, &ctx);
	if (err.code != PP_OK) {
		char msg[1024];
		pp__view_copy(msg, sizeof msg, err.message);
		st = pp__error(rt, PP_ERR_INIT_FAILED,
		               "bundle '%s' (%s): polyplug_init failed with code %u (%s)%s%s",
		               src->name, lib, err.code, pp_status_name(err.code), *msg ? ": " : "",
		               msg);
		/* It never initialised, so no shutdown; but what it registered
		 * before failing points into its code, which stays mapped until
		 * the runtime has dropped that (it releases the code after). */
		c->shutdown = NULL;
		free(lib);
		*out_code = c;
		return st;
	}
	free(lib);
	*out_code = c;
	return PP_OK;
fail:
	free(lib);
	code_free(c);
	return st;
}

static void native_release(pp_runtime *rt, const pp_loader *self, void *code)
{
	(void)rt;
	(void)self;
	native_code *c = code;
	if (!c)
		return;
	if (c->shutdown)
		c->shutdown(c->host);
	code_free(c);
}

bool pp__native_is_bundle_code(const void *addr)
{
	Dl_info where;
	if (!addr || !dladdr(addr, &where) || !where.dli_fname)
		return false;
	const char *base = strrchr(where.dli_fname, '/');
	return strncmp(base ? base + 1 : where.dli_fname, COPY_PREFIX, strlen(COPY_PREFIX)) == 0;
}

static bool native_owns(const void *code, const void *addr)
{
	const native_code *c = code;
	Dl_info where;
	return c && c->base && addr && dladdr(addr, &where) && where.dli_fbase == c->base;
}

const pp_loader pp_native_loader = {
        .name = "native",
        .language = 1,
        .supports_hot_reload = true,
        .accepts = native_accepts,
        .load = native_load,
        .release = native_release,
        .owns = native_owns,
        .userdata = NULL,
};
