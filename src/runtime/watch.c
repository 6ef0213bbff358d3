/*
 * watch.c — hot reload: a thread per runtime that watches the loaded
 * bundles' files with inotify and reloads a bundle once its files have been
 * quiet for the debounce interval, so an editor's save or a compiler's many
 * writes make one reload. A reload that fails keeps the old version serving
 * (bundle.c logs it and reports PP_RELOAD_FAILED).
 *
 * The watch set follows the bundle list: a directory bundle's directory and
 * its subdirectories are watched (its manifest, script, modules or library
 * changing), and every bundle's parent directory for the bundle's own name
 * (editors replace files by renaming, which a watch on the file itself would
 * miss; a directory may be deleted and made again). A rebuild adds the new
 * set before it removes what left it, so a directory watched before and
 * after keeps its watch and no event falls between the two. A bundle loaded
 * while watching is watched at the next rebuild; its load noted its files'
 * signature first, and a rebuild that finds them changed reloads it.
 * Plugins directories loaded with pp_bundle_load_dir are watched too: a
 * bundle directory that appears in one is loaded (also under a name that
 * was there before and left). If the kernel's event queue overflows, what
 * changed is found by comparing each bundle's file signature, and the set is
 * rebuilt. What is missing when the set is built (a bundle's directory, a
 * plugins directory: a redeploy deleted and is making them again) has no
 * watch that could tell when it is back, so the set is rebuilt every while
 * until it is; a bundle whose files were missing is reloaded when they are
 * back.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "strset.h"

typedef struct watched {
	int wd;
	uint64_t bundle_id;
	char *file;         /* only this name in the directory, or NULL for any */
	char *path;         /* what the signature is of: the bundle's directory or file */
	uint64_t signature; /* of path's contents when watched, for rescans */
	bool inside;        /* path is a subdirectory of the bundle: a link there is
	                     * not followed (it leads out of the bundle) */
	uint64_t due_ms;    /* reload when the clock passes this; 0: nothing pending */
	bool waits;         /* its reload was refused for what other bundles provide or
	                     * need: due again when another bundle reloads, loads or unloads */
	bool echo;          /* its last reload found nothing changed since the one before:
	                     * what changed, changed while that one ran */
} watched;

/* A plugins directory (pp_bundle_load_dir): bundle directories that appear in
 * it are loaded. `known` are the names already seen there: a set, since a
 * directory may hold many thousands (a plugin's cache, an unpacked archive),
 * each event names one, and a list looked through per event took the
 * watcher seconds, with pp_watch_stop waiting for it. */
typedef struct plugins_dir {
	int wd;
	char *dir;
	pp_strset known;
} plugins_dir;

/* A directory that appeared in a plugins directory, loaded once it holds a
 * bundle whose files stayed the same over a debounce interval (a copy in
 * progress is not loaded half-written). A failed load is tried again when
 * the files change: its directory is looked at every second while it stays
 * as it failed; one that holds no bundle is looked at for a while. */
typedef struct arrival {
	char *path;
	uint64_t due_ms;
	int tries;          /* looks at it left, then it is dropped */
	uint64_t seen;      /* its signature at the last look */
	uint64_t failed_at; /* its signature when a load failed, or 0 */
} arrival;

struct pp_watcher {
	pp_runtime *rt;
	pthread_t thread;
	int fd;      /* inotify */
	int stop[2]; /* pipe: a byte stops the thread */
	uint32_t debounce_ms;
	uint64_t seen_changes; /* rt->bundle_changes the watch set was built for */
	bool dirty;            /* a watched directory went away or came back: rebuild */
	bool built;            /* the first set, pp_watch_start's, is made */
	watched *items;
	size_t count;
	const watched *prev; /* the set a rebuild replaces, while it runs */
	size_t prev_count;
	plugins_dir *plugins;
	size_t plugin_count;
	arrival *arrivals;
	size_t arrival_count, arrival_cap;
	pp_strset arriving;    /* each arrival's path, to its index in arrivals */
	pp_watcher *done_next; /* rt->watcher_done's list */
	char *missed;          /* the first directory that could not be watched, or NULL */
	int missed_errno;      /* why: pp_watch_start fails with it rather than watch less */
	uint64_t *gone;        /* bundles whose files were missing at the last rebuild */
	size_t gone_count;
	bool absent;          /* a directory to watch did not exist (ENOENT) */
	bool short_of_memory; /* memory ran out for the set or for an arrival */
	uint64_t retry_ms;    /* rebuild then: one was absent, or memory short, at the last
	                       * rebuild (or an arrival was lost since); 0: none */
	uint32_t retry_gap_ms;
	/* Subdirectories in bundles the set leaves unwatched, each to why (an
	 * errno; 0: past the limits), and those the set a rebuild replaces left
	 * (while it runs): each is warned about once while it stays so. */
	pp_strset unwatched, was_unwatched;
};

/* How often a set with something missing is rebuilt: soon, then less often. */
#define RETRY_FIRST_MS 250u
#define RETRY_MAX_MS 4000u

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void clear_watches(pp_watcher *w)
{
	for (size_t i = 0; i < w->count; i++) {
		inotify_rm_watch(w->fd, w->items[i].wd);
		free(w->items[i].file);
		free(w->items[i].path);
	}
	free(w->items);
	w->items = NULL;
	w->count = 0;
}

/* Editors' scratch files never trigger a reload. */
static bool ignored_name(const char *name)
{
	size_t n = strlen(name);
	return name[0] == '.' || (n && name[n - 1] == '~') ||
	       (n > 4 && strcmp(name + n - 4, ".swp") == 0) ||
	       (n > 4 && strcmp(name + n - 4, ".tmp") == 0);
}

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	return pp_fnv1a64_update(h, p, n);
}

/* A file as a signature sees it: its inode, size and times (the change
 * time too: a copy that keeps the old modification time still changes it). */
static uint64_t stat_mix(uint64_t h, const struct stat *st)
{
	h = mix(h, &st->st_mtim, sizeof st->st_mtim);
	h = mix(h, &st->st_ctim, sizeof st->st_ctim);
	h = mix(h, &st->st_size, sizeof st->st_size);
	return mix(h, &st->st_ino, sizeof st->st_ino);
}

/* The directory name in the directory open as at (or AT_FDCWD), opened to
 * read; without `follow`, never through a link at name (ENOTDIR or ELOOP).
 * NULL when it cannot be, errno saying why. */
static DIR *open_dir(int at, const char *name, bool follow)
{
	int fd =
	        openat(at, name,
	               O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d && fd >= 0) {
		int err = errno;
		close(fd);
		errno = err;
	}
	return d;
}

/* A signature of the directory open as d, whose inode is ino: its entries
 * (a subdirectory's by name and inode: its contents have their own
 * signature), read relative to d, so what took its name since is not read. */
static uint64_t dir_signature(ino_t ino, DIR *d)
{
	uint64_t h = mix(PP_FNV_OFFSET, &ino, sizeof ino);
	struct dirent *e;
	uint64_t sum = 0; /* order-free: readdir's order is not stable */
	while ((e = readdir(d)) != NULL) {
		struct stat es;
		if (ignored_name(e->d_name) || fstatat(dirfd(d), e->d_name, &es, 0) != 0)
			continue;
		uint64_t eh = mix(PP_FNV_OFFSET, e->d_name, strlen(e->d_name));
		sum += S_ISDIR(es.st_mode) ? mix(eh, &es.st_ino, sizeof es.st_ino)
		                           : stat_mix(eh, &es);
	}
	return mix(h, &sum, sizeof sum);
}

/* A signature of what a bundle reads at path: the file, or a directory's
 * entries. 0 when it is not there. Directories' own times are left out:
 * the scratch files ignored here change them (an editor's swap file, a
 * native bundle's private copy). With `follow`, a link at path counts as
 * what it leads to (a bundle's own path is the host's to choose); without,
 * as a link (a subdirectory in a bundle, which may be swapped for one that
 * leads out). Compared by rescans, arrivals and the first look at a bundle
 * loaded while watching. */
static uint64_t signature_of(const char *path, bool follow)
{
	struct stat st;
	if ((follow ? stat(path, &st) : lstat(path, &st)) != 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return stat_mix(PP_FNV_OFFSET, &st);
	DIR *d = open_dir(AT_FDCWD, path, follow);
	if (!d)
		return mix(PP_FNV_OFFSET, &st.st_ino, sizeof st.st_ino);
	uint64_t h = dir_signature(st.st_ino, d);
	closedir(d);
	return h;
}

static uint64_t item_signature(const watched *it)
{
	return signature_of(it->path, !it->inside);
}

/* signature_of the directory open as d (a subdirectory found by the walk),
 * read from d itself, which is left rewound for its next reader. */
static uint64_t opened_signature(DIR *d)
{
	struct stat st;
	if (fstat(dirfd(d), &st) != 0)
		return 0;
	uint64_t h = dir_signature(st.st_ino, d);
	rewinddir(d);
	return h;
}

/* Why dir is not watched, as pp_watch_start's error (returned) or the log
 * says it. */
static pp_status say_missed(pp_runtime *rt, const char *dir, int err, bool as_error)
{
	const char *hint = err == ENOSPC
	                           ? " (the limit of inotify watches, fs.inotify.max_user_watches, "
	                             "is reached)"
	                           : "";
	if (as_error)
		return pp__error(rt, err == ENOMEM ? PP_ERR_OUT_OF_MEMORY : PP_ERR_IO,
		                 "cannot watch '%s': %s%s", dir, strerror(err), hint);
	pp__log(rt, PP_LOG_WARN, "watch", "cannot watch '%s': %s%s", dir, strerror(err), hint);
	return PP_OK;
}

/* Memory ran out on the watcher's thread for what it watches or looks at
 * (the set, a new name in a plugins directory): nothing else may come to
 * make it look again (an event, a load), so it rebuilds the set and lists
 * the plugins directories again on the retry schedule — soon, then every
 * 4 s at most while memory stays short. */
static void note_short_of_memory(pp_watcher *w)
{
	w->short_of_memory = true;
	if (!w->retry_ms) { /* (a rebuild sets it anew as it ends) */
		w->retry_gap_ms = RETRY_FIRST_MS;
		w->retry_ms = now_ms() + RETRY_FIRST_MS;
	}
}

/* A directory the host asked to watch (a bundle's directory, a file
 * bundle's parent, a plugins directory) that cannot be, or memory for the
 * set running out: pp_watch_start's first set fails with the first one;
 * later rebuilds (the watcher's own thread) log each, and try again when
 * memory ran out. A subdirectory in a bundle is only logged
 * (watch_subdir). */
static void missed(pp_watcher *w, const char *dir, int err)
{
	if (w->built) {
		say_missed(w->rt, dir, err, false);
		if (err == ENOMEM)
			note_short_of_memory(w);
	} else if (!w->missed_errno) {
		w->missed = pp__strdup(dir);
		w->missed_errno = err;
	}
}

#define WATCH_MASK                                                                          \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_MODIFY | \
	 IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

static int watch_dir(pp_watcher *w, const char *dir)
{
	int wd = inotify_add_watch(w->fd, dir, WATCH_MASK);
	if (wd < 0 && errno != ENOENT)
		missed(w, dir, errno);
	else if (wd < 0)
		w->absent = true;
	return wd;
}

/* The signature path's last reload (or first watch) noted, if the set a
 * rebuild replaces watched it for the same bundle; else what is there now
 * (in `opened`, a subdirectory the walk has open, when given). A save the
 * rebuild came after (a single-file bundle's new inode, a new
 * subdirectory, another bundle's load) is then still a change when its
 * reload is due, not an echo (reload_due). */
static uint64_t noted_signature(const pp_watcher *w, uint64_t id, const char *path, DIR *opened)
{
	for (size_t i = 0; i < w->prev_count; i++)
		if (w->prev[i].bundle_id == id && w->prev[i].path &&
		    strcmp(w->prev[i].path, path) == 0)
			return w->prev[i].signature;
	return opened ? opened_signature(opened) : signature_of(path, true);
}

/* Due at due_ms as a change, whatever the files look like: reload_due takes
 * it for neither an echo nor a bundle that waits. (Signature 0 is nothing
 * there, which the files are not.) */
static void due_as_change(watched *it, uint64_t due_ms)
{
	it->waits = it->echo = false;
	it->signature = 0;
	it->due_ms = due_ms;
}

/* Notes watch wd (for `file` only, or everything in it) as a bundle's;
 * `opened`: the subdirectory of a bundle at path, as the walk opened it
 * (NULL for what the host chose: a bundle's path, its parent). */
static bool add_item(pp_watcher *w, int wd, const char *file, uint64_t id, const char *path,
                     DIR *opened)
{
	/* copies first: an entry is whole or not there (a NULL file would
	 * watch every name in the directory, a NULL path be stat-ed) */
	char *file_copy = file ? pp__strdup(file) : NULL, *path_copy = pp__strdup(path);
	watched *items = (!file || file_copy) && path_copy
	                         ? realloc(w->items, (w->count + 1) * sizeof *items)
	                         : NULL;
	if (!items) {
		free(file_copy);
		free(path_copy);
		return false;
	}
	w->items = items;
	watched *it = &w->items[w->count++];
	it->wd = wd;
	it->bundle_id = id;
	it->file = file_copy;
	it->path = path_copy;
	it->signature = noted_signature(w, id, path, opened);
	it->inside = opened != NULL;
	it->due_ms = 0;
	it->waits = it->echo = false;
	return true;
}

/* Watches dir (for `file` only, or everything in it) on behalf of a bundle. */
static bool add_watch(pp_watcher *w, const char *dir, const char *file, uint64_t id,
                      const char *path)
{
	int wd = watch_dir(w, dir);
	if (wd < 0)
		return true; /* logged (or gone for now: a rebuild tries again) */
	return add_item(w, wd, file, id, path, NULL);
}

/* Watches path's parent directory for path's own name (file bundles, and
 * a directory bundle's directory being deleted, replaced or recreated). */
static bool add_parent_watch(pp_watcher *w, const char *path, uint64_t id)
{
	char *dir = pp__strdup(path);
	if (!dir)
		return false;
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = '\0';
	char *slash = strrchr(dir, '/');
	const char *file = slash ? slash + 1 : dir;
	bool ok;
	if (slash) {
		*slash = '\0';
		ok = add_watch(w, *dir ? dir : "/", file, id, path);
	} else {
		ok = add_watch(w, ".", file, id, path);
	}
	free(dir);
	return ok;
}

/* Subdirectories of a bundle directory a bundle may read (ES modules import
 * from them), down to MAX_DEPTH levels and at most MAX_SUBDIRS per bundle.
 * Hidden directories and node_modules (a TypeScript project's, not the
 * bundle's) are skipped. Symbolic links are not followed, and the walk
 * cannot be led out of the bundle by one swapped in for a subdirectory as
 * it runs: each is opened from its parent's descriptor, never through a
 * link (O_NOFOLLOW), and what is read and watched is the directory opened. */
#define MAX_DEPTH 8
#define MAX_SUBDIRS 256

/* Visits the subdirectory open as d, at path sub (which names it for logs
 * and rescans; it may lead elsewhere by now). May read d, and rewinds it.
 * d is NULL when it could not be opened, errno saying why. */
typedef bool (*subdir_visit)(void *ctx, DIR *d, const char *sub);

/* A subdirectory in a bundle the set leaves unwatched: refused (err, an
 * errno) or past the limits (err 0). Said once while it stays so, not at
 * every rebuild: a bundle may hold hundreds, and a rebuild comes with every
 * load, unload, single-file bundle's save and retry. */
static void note_unwatched(pp_watcher *w, const char *sub, int err)
{
	const size_t *was = pp__strset_get(&w->was_unwatched, sub);
	bool said = was && *was == (size_t)err;
	if (!said && err)
		say_missed(w->rt, sub, err, false);
	else if (!said)
		pp__log(w->rt, PP_LOG_WARN, "watch",
		        "not watching '%s': a bundle's subdirectories are watched %d levels deep, "
		        "%d in all",
		        sub, MAX_DEPTH, MAX_SUBDIRS);
	(void)pp__strset_put(&w->unwatched, sub, (size_t)err); /* out of memory: said again */
}

/* Calls visit for each such subdirectory of the directory open as d (at
 * path dir), parents first; false when visit failed or memory ran
 * out. A directory past the limits is skipped with the rest of its
 * parent's (and noted as unwatched when w, the watcher building its set,
 * is given). */
static bool each_subdir(pp_watcher *w, DIR *d, const char *dir, int depth, size_t *budget,
                        subdir_visit visit, void *ctx)
{
	bool ok = true;
	struct dirent *e;
	while (ok && (e = readdir(d)) != NULL) {
		struct stat st;
		if (e->d_name[0] == '.' || ignored_name(e->d_name) ||
		    strcmp(e->d_name, "node_modules") == 0 ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		char *sub = pp__path_join(dir, e->d_name);
		if (!sub)
			return false;
		if (*budget == 0 || depth == 0) {
			if (w)
				note_unwatched(w, sub, 0);
			free(sub);
			break;
		}
		(*budget)--;
		if (w && w->rt->look_hook) /* tests only */
			w->rt->look_hook(w->rt->look_hook_ud, PP_LOOK_SUBDIR);
		DIR *sd = open_dir(dirfd(d), e->d_name, false);
		/* not a directory any more (gone, or swapped for a link or a
		 * file): passed over, its parent's watch saw that change */
		if (sd || (errno != ENOENT && errno != ENOTDIR && errno != ELOOP))
			ok = visit(ctx, sd, sub) &&
			     (!sd || each_subdir(w, sd, sub, depth - 1, budget, visit, ctx));
		if (sd)
			closedir(sd);
		free(sub);
	}
	return ok;
}

/* Each subdirectory of the bundle directory at path, as each_subdir. */
static bool each_subdir_of(pp_watcher *w, const char *path, subdir_visit visit, void *ctx)
{
	DIR *d = opendir(path);
	if (!d)
		return true;
	size_t budget = MAX_SUBDIRS;
	bool ok = each_subdir(w, d, path, MAX_DEPTH, &budget, visit, ctx);
	closedir(d);
	return ok;
}

typedef struct subdir_watch {
	pp_watcher *w;
	uint64_t id;
} subdir_watch;

/* Watches the directory open as fd, at path: inotify_add_watch on
 * /proc/thread-self/fd/N follows that link to the very directory opened,
 * whatever has taken its name since. (Not /proc/self: once the host's main
 * thread has ended, it lists no descriptors.) Where /proc is not mounted,
 * the path, with a link at its end not followed. */
static int watch_opened(pp_watcher *w, int fd, const char *path)
{
	pp_runtime *rt = w->rt;
	int err = rt->look_hook ? rt->look_hook(rt->look_hook_ud, PP_LOOK_SUBDIR_OPENED) : 0;
	if (err) { /* tests only: as if inotify refused it */
		errno = err;
		return -1;
	}
	char self[48];
	snprintf(self, sizeof self, "/proc/thread-self/fd/%d", fd);
	int wd = inotify_add_watch(w->fd, self, WATCH_MASK);
	if (wd < 0 && errno == ENOENT) /* fd is open: no /proc */
		wd = inotify_add_watch(w->fd, path, WATCH_MASK | IN_DONT_FOLLOW);
	return wd;
}

/* A subdirectory that cannot be opened or watched (a chmod 000 one, one
 * past inotify's limit) is a warning, never pp_watch_start's failure: what a
 * bundle holds is the bundle's, not the host's, and one bundle shipping
 * such a directory (or its init making one) must not turn hot reload off
 * for every bundle. The rest is watched. */
static bool watch_subdir(void *ctx, DIR *d, const char *sub)
{
	subdir_watch *sw = ctx;
	int wd = d ? watch_opened(sw->w, dirfd(d), sub) : -1;
	if (wd < 0) {
		if (errno != ENOENT)
			note_unwatched(sw->w, sub, errno);
		return true;
	}
	return add_item(sw->w, wd, NULL, sw->id, sub, d);
}

static bool sign_subdir(void *ctx, DIR *d, const char *sub)
{
	uint64_t *sum = ctx; /* order-free, as in dir_signature */
	if (d)
		*sum += mix(opened_signature(d), sub, strlen(sub));
	return true;
}

/* signature_of path and of the subdirectories a bundle there may read. */
static uint64_t files_signature(const char *path)
{
	uint64_t h = signature_of(path, true), sum = 0;
	each_subdir_of(NULL, path, sign_subdir, &sum);
	return mix(h, &sum, sizeof sum);
}

/* A bundle loaded while watching is watched from the watcher's next turn
 * (up to 250 ms on); a save before that must still reload it. Its load
 * notes its files' signature before it reads them, and the watcher compares
 * when it first watches it. A load that began before any watcher and ends
 * after one started has nothing to compare with: it is reloaded once. */
pp_unseen pp__watch_load_begins(pp_runtime *rt, const char *path)
{
	pthread_mutex_lock(&rt->lock);
	bool watching = rt->watchers > 0;
	pthread_mutex_unlock(&rt->lock);
	pp_unseen u = {PP_UNSEEN_NONE, 0};
	if (watching)
		u = (pp_unseen){PP_UNSEEN_COMPARE, files_signature(path)};
	return u;
}

void pp__watch_load_published(pp_runtime *rt, pp_bundle *b)
{
	if (b->unseen.check == PP_UNSEEN_NONE && rt->watchers > 0 && *b->path)
		b->unseen.check = PP_UNSEEN_RELOAD;
}

static bool known(const plugins_dir *pd, const char *name)
{
	return pp__strset_get(&pd->known, name) != NULL;
}

/* A name that left a plugins directory may come back as a new bundle. */
static void forget(plugins_dir *pd, const char *name)
{
	pp__strset_remove(&pd->known, name);
}

static void remember(plugins_dir *pd, const char *name)
{
	(void)pp__strset_put(&pd->known, name, 0); /* out of memory: an arrival again later */
}

static bool bundle_at(pp_runtime *rt, const char *path)
{
	bool found = false;
	pthread_mutex_lock(&rt->lock);
	for (pp_bundle *b = rt->bundles; b && !found; b = b->next)
		found = strcmp(b->path, path) == 0;
	pthread_mutex_unlock(&rt->lock);
	return found;
}

/* A new name in plugins directory pd that cannot be recorded, memory running
 * out on the watcher's thread: said, naming it (pp__log formats on the
 * stack), and forgotten, so that the next listing of pd (the retry
 * note_short_of_memory schedules, or an earlier rebuild or rescan) finds it
 * again rather than taking it for one already seen. */
static arrival *arrival_lost(pp_watcher *w, plugins_dir *pd, const char *name)
{
	pp__log(w->rt, PP_LOG_WARN, "watch",
	        "out of memory: '%s/%s' is not looked at for a new bundle until '%s' is "
	        "listed again",
	        pd->dir, name, pd->dir);
	forget(pd, name);
	note_short_of_memory(w);
	return NULL;
}

static arrival *arrive(pp_watcher *w, plugins_dir *pd, const char *name)
{
	char *path = pp__path_join(pd->dir, name);
	if (!path)
		return arrival_lost(w, pd, name);
	size_t *at = pp__strset_get(&w->arriving, path);
	if (at) {
		w->arrivals[*at].due_ms = now_ms() + w->debounce_ms; /* quiet restarts */
		free(path);
		return &w->arrivals[*at];
	}
	if (w->arrival_count == w->arrival_cap) {
		size_t cap = w->arrival_cap ? 2 * w->arrival_cap : 16;
		arrival *bigger = cap <= SIZE_MAX / sizeof *bigger
		                          ? realloc(w->arrivals, cap * sizeof *bigger)
		                          : NULL;
		if (!bigger) {
			free(path);
			return arrival_lost(w, pd, name);
		}
		w->arrivals = bigger;
		w->arrival_cap = cap;
	}
	if (!pp__strset_put(&w->arriving, path, w->arrival_count)) {
		free(path);
		return arrival_lost(w, pd, name);
	}
	w->arrivals[w->arrival_count] = (arrival){path, now_ms() + w->debounce_ms, 480, 0, 0};
	return &w->arrivals[w->arrival_count++];
}

/* Drops arrival i; the last takes its place. */
static void depart(pp_watcher *w, size_t i)
{
	pp__strset_remove(&w->arriving, w->arrivals[i].path);
	free(w->arrivals[i].path);
	w->arrivals[i] = w->arrivals[--w->arrival_count];
	if (i < w->arrival_count)
		*pp__strset_get(&w->arriving, w->arrivals[i].path) = i;
}

/* Names in a plugins directory not seen before become arrivals. At the
 * first look, those already there are the ones loaded — except a bundle
 * whose load failed (or that the host unloaded): it is loaded once it
 * changes, as if its load had failed as an arrival. */
static void scan_plugins(pp_watcher *w, plugins_dir *pd, bool first)
{
	DIR *d = opendir(pd->dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (ignored_name(e->d_name) || known(pd, e->d_name))
			continue;
		remember(pd, e->d_name);
		char *path = first ? pp__path_join(pd->dir, e->d_name) : NULL;
		if (!first) {
			arrive(w, pd, e->d_name);
		} else if (!path) {
			arrival_lost(w, pd, e->d_name);
		} else if (pp__holds_a_bundle(w->rt, path) && !bundle_at(w->rt, path)) {
			arrival *a = arrive(w, pd, e->d_name);
			if (a)
				a->seen = a->failed_at = signature_of(path, true);
		}
		free(path);
	}
	closedir(d);
}

static void plugins_free(pp_watcher *w)
{
	for (size_t i = 0; i < w->plugin_count; i++) {
		inotify_rm_watch(w->fd, w->plugins[i].wd);
		pp__strset_clear(&w->plugins[i].known);
		free(w->plugins[i].dir);
	}
	free(w->plugins);
	w->plugins = NULL;
	w->plugin_count = 0;
	for (size_t i = 0; i < w->arrival_count; i++)
		free(w->arrivals[i].path);
	free(w->arrivals);
	w->arrivals = NULL;
	w->arrival_count = w->arrival_cap = 0;
	pp__strset_clear(&w->arriving);
}

/* Watches the plugins directories the runtime loaded, keeping what each has
 * seen. */
static void watch_plugins(pp_watcher *w, char **dirs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		plugins_dir *pd = NULL;
		for (size_t k = 0; k < w->plugin_count && !pd; k++)
			if (strcmp(w->plugins[k].dir, dirs[i]) == 0)
				pd = &w->plugins[k];
		bool fresh = pd == NULL;
		if (fresh) {
			plugins_dir *bigger =
			        realloc(w->plugins, (w->plugin_count + 1) * sizeof *bigger);
			char *dir = pp__strdup(dirs[i]);
			if (!bigger || !dir) {
				free(dir);
				if (bigger)
					w->plugins = bigger;
				missed(w, dirs[i], ENOMEM);
				continue;
			}
			w->plugins = bigger;
			pd = &w->plugins[w->plugin_count++];
			*pd = (plugins_dir){-1, dir, {NULL, 0, 0, 0}};
		}
		pd->wd = watch_dir(w, pd->dir); /* the same wd if it is watched already */
		if (pd->wd < 0)                 /* gone: what is there when it is back is new */
			pp__strset_clear(&pd->known);
		scan_plugins(w, pd, fresh);
	}
}

static bool was_gone(const pp_watcher *w, uint64_t id)
{
	for (size_t i = 0; i < w->gone_count; i++)
		if (w->gone[i] == id)
			return true;
	return false;
}

static bool watching(const pp_watcher *w, int wd)
{
	for (size_t i = 0; i < w->count; i++)
		if (w->items[i].wd == wd)
			return true;
	for (size_t i = 0; i < w->plugin_count; i++)
		if (w->plugins[i].wd == wd)
			return true;
	return false;
}

/* The watch set for the bundles loaded now (the list changed: a load or an
 * unload happened, or a watched directory went away or came back). */
static void rebuild(pp_watcher *w)
{
	watched *old = w->items;
	size_t old_count = w->count;
	w->prev = old;
	w->prev_count = old_count;
	w->items = NULL;
	w->count = 0;
	w->dirty = false;
	w->short_of_memory = false;
	w->was_unwatched = w->unwatched;
	w->unwatched = (pp_strset){NULL, 0, 0, 0};
	/* The bundles and plugins directories are listed under the lock;
	 * watches are added (and failures logged) without it. */
	pp_runtime *rt = w->rt;
	struct {
		uint64_t id;
		char *path;
		pp_unseen unseen;
	} *list = NULL;
	size_t n = 0, nd = 0;
	char **dirs = NULL;
	bool listed = true; /* every bundle and plugins directory is on the lists */
	pthread_mutex_lock(&rt->lock);
	uint64_t changes = atomic_load_explicit(&rt->bundle_changes, memory_order_relaxed);
	bool loads = w->built && changes != w->seen_changes; /* a load or an unload since */
	w->seen_changes = changes;
	list = calloc(rt->bundle_count + 1, sizeof *list);
	for (pp_bundle *b = rt->bundles; list && b; b = b->next)
		if (b->cur && *b->path) { /* loaded, from disk */
			if ((list[n].path = pp__strdup(b->path)) != NULL) {
				list[n].unseen = b->unseen; /* looked at once */
				b->unseen = (pp_unseen){PP_UNSEEN_NONE, 0};
				list[n++].id = b->id;
			} else {
				listed = false;
			}
		}
	dirs = calloc(rt->plugin_dir_count + 1, sizeof *dirs);
	for (size_t i = 0; dirs && i < rt->plugin_dir_count; i++)
		if ((dirs[nd] = pp__strdup(rt->plugin_dirs[i])) != NULL)
			nd++;
		else
			listed = false;
	pthread_mutex_unlock(&rt->lock);
	uint64_t *gone = calloc(n + 1, sizeof *gone);
	size_t gone_count = 0;
	w->absent = false;
	/* Out of memory, the set would be short: pp_watch_start fails rather
	 * than watch less than it was asked to; a later rebuild logs it. */
	if (!list || !dirs || !gone || !listed)
		missed(w, "the loaded bundles", ENOMEM);
	for (size_t i = 0; i < n; i++) {
		const char *path = list[i].path;
		struct stat st;
		bool ok = true, there = stat(path, &st) == 0;
		size_t first = w->count;
		subdir_watch sw = {w, list[i].id};
		if (there && S_ISDIR(st.st_mode))
			ok = add_watch(w, path, NULL, list[i].id, path) &&
			     each_subdir_of(w, path, watch_subdir, &sw);
		/* the parent too: a file replaced, a directory deleted or recreated */
		ok = add_parent_watch(w, path, list[i].id) && ok;
		if (!ok)
			missed(w, path, ENOMEM);
		/* files missing, then back: what is back may be anything */
		bool due = false;
		if (!there && gone)
			gone[gone_count++] = list[i].id;
		else if (there && first < w->count && was_gone(w, list[i].id))
			due = true;
		/* Loaded since the last rebuild (pp_watch_start's first one looks
		 * at what was loaded before watching: nothing to compare). */
		pp_unseen u = list[i].unseen;
		if (w->built && first < w->count &&
		    (u.check == PP_UNSEEN_RELOAD ||
		     (u.check == PP_UNSEEN_COMPARE && files_signature(path) != u.signature)))
			due = true;
		/* Its files changed before this watch could see them: the reload
		 * is for that change, not an echo of one (reload_due). */
		if (due)
			due_as_change(&w->items[first], now_ms() + w->debounce_ms);
		free(list[i].path);
	}
	free(list);
	free(w->gone);
	w->gone = gone;
	w->gone_count = gone_count;
	watch_plugins(w, dirs, nd);
	for (size_t i = 0; i < nd; i++)
		free(dirs[i]);
	free(dirs);
	/* Nothing watches what was absent: look again, soon, then less often.
	 * (A bundle directory deleted is seen from its parent's watch; its
	 * parent deleted too, only this way.) So too for what memory running
	 * out left out. */
	if (w->absent || w->short_of_memory) {
		uint32_t gap = w->retry_ms ? 2 * w->retry_gap_ms : RETRY_FIRST_MS;
		w->retry_gap_ms = gap < RETRY_MAX_MS ? gap : RETRY_MAX_MS;
		w->retry_ms = now_ms() + w->retry_gap_ms;
	} else {
		w->retry_ms = 0;
	}
	/* reloads already due carry over to the new set: one item per bundle
	 * is enough (reload_due reloads a bundle once) */
	for (size_t i = 0; i < old_count; i++)
		for (size_t k = 0; old[i].due_ms && k < w->count; k++)
			if (w->items[k].bundle_id == old[i].bundle_id) {
				if (!w->items[k].due_ms || w->items[k].due_ms > old[i].due_ms)
					w->items[k].due_ms = old[i].due_ms;
				break;
			}
	for (size_t i = 0; i < old_count; i++)
		for (size_t k = 0; (old[i].waits || old[i].echo) && k < w->count; k++)
			if (w->items[k].bundle_id == old[i].bundle_id) {
				w->items[k].waits |= old[i].waits;
				w->items[k].echo |= old[i].echo;
			}
	/* A reload refused for what other bundles provide or need may succeed
	 * once one is loaded (a new provider) or unloaded (the last user of
	 * what it drops), not only once one reloads: tried again, as a change
	 * (reload_due). */
	for (size_t k = 0; loads && k < w->count; k++)
		if (w->items[k].waits)
			due_as_change(&w->items[k], w->items[k].due_ms ? w->items[k].due_ms
			                                               : now_ms() + w->debounce_ms);
	/* what is still watched kept its watch descriptor: only the rest goes */
	w->prev = NULL;
	w->prev_count = 0;
	for (size_t i = 0; i < old_count; i++) {
		if (!watching(w, old[i].wd))
			inotify_rm_watch(w->fd, old[i].wd);
		free(old[i].file);
		free(old[i].path);
	}
	free(old);
	pp__strset_clear(&w->was_unwatched);
	w->built = true;
}

/* Events were lost (the kernel's queue overflowed): whatever changed since
 * it was watched is found by comparing signatures, new bundle directories by
 * listing the plugins directories, and the watches are made anew. */
static void rescan(pp_watcher *w)
{
	pp__log(w->rt, PP_LOG_WARN, "watch", "inotify queue overflowed; rescanning");
	for (size_t i = 0; i < w->count; i++)
		if (item_signature(&w->items[i]) != w->items[i].signature)
			w->items[i].due_ms = now_ms() + w->debounce_ms;
	for (size_t i = 0; i < w->plugin_count; i++)
		scan_plugins(w, &w->plugins[i], false);
	w->dirty = true;
}

static void take_events(pp_watcher *w)
{
	_Alignas(struct inotify_event) char buf[8192];
	for (;;) {
		ssize_t n = read(w->fd, buf, sizeof buf);
		if (n <= 0)
			return;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)(void *)p;
			p += sizeof *e + e->len;
			if (e->mask & IN_Q_OVERFLOW) {
				rescan(w);
				continue;
			}
			/* A watched directory went away (not one a rebuild removed). */
			if ((e->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) &&
			    watching(w, e->wd))
				w->dirty = true;
			if (e->len && ignored_name(e->name))
				continue;
			for (size_t i = 0; i < w->count; i++) {
				watched *it = &w->items[i];
				if (it->wd != e->wd ||
				    (it->file && (!e->len || strcmp(it->file, e->name) != 0)))
					continue;
				it->due_ms = now_ms() + w->debounce_ms; /* quiet period restarts */
				/* The watch set changes when a single-file bundle was
				 * replaced (a new inode) or a subdirectory appeared. */
				if (it->file ||
				    ((e->mask & IN_ISDIR) && (e->mask & (IN_CREATE | IN_MOVED_TO))))
					w->dirty = true;
			}
			for (size_t i = 0; i < w->plugin_count; i++) {
				plugins_dir *pd = &w->plugins[i];
				if (pd->wd != e->wd || !e->len)
					continue;
				if (e->mask & (IN_DELETE | IN_MOVED_FROM)) {
					forget(pd, e->name);
				} else if ((e->mask & IN_MOVED_TO) ||
				           ((e->mask & IN_CREATE) && !known(pd, e->name))) {
					/* a rename over a name it knows (a link swapped
					 * in for a file) leaves none: it is new all the
					 * same (and passed over if it is loaded) */
					remember(pd, e->name);
					arrive(w, pd, e->name);
				}
			}
		}
	}
}

static void reload_due(pp_watcher *w)
{
	uint64_t now = now_ms();
	for (size_t i = 0; i < w->count; i++) {
		watched *it = &w->items[i];
		if (!it->due_ms || it->due_ms > now)
			continue;
		it->due_ms = 0;
		uint64_t id = it->bundle_id;
		for (size_t k = i + 1; k < w->count; k++) /* one reload per bundle */
			if (w->items[k].bundle_id == id)
				w->items[k].due_ms = 0;
		/* Nothing changed since the bundle's last reload ended: the events
		 * came from changes made while it ran — its own init writing in its
		 * directory (a cache, a log, a pid file), or a save that landed as
		 * the reload read its files. That first echo is reloaded, so no save
		 * is lost; the echo of an echo is not, or a bundle writing its own
		 * directory would reload forever. */
		bool unchanged = true;
		uint64_t before = 0, after = 0; /* its files as the reload begins, ends */
		for (size_t k = 0; k < w->count; k++)
			if (w->items[k].bundle_id == id) {
				uint64_t sig = item_signature(&w->items[k]);
				unchanged = unchanged && sig == w->items[k].signature;
				before += sig;
			}
		if (unchanged && it->echo) {
			pp__log(w->rt, PP_LOG_WARN, "watch",
			        "%s changed only while its reload ran, twice in a row: not "
			        "reloaded "
			        "again (does its init write there? keep such files elsewhere, or "
			        "name them .* or *.tmp)",
			        it->path);
			continue;
		}
		pp__log(w->rt, PP_LOG_INFO, "watch", "files of bundle %016llx changed; reloading",
		        (unsigned long long)id);
		/* failures are logged and reported as PP_RELOAD_FAILED by the reload */
		pp_status st = pp_bundle_reload(w->rt, id);
		/* Bundles saved together may have to reload in an order: a provider
		 * that drops what its dependent's new version no longer needs goes
		 * after it, one that adds what it will need goes first. A reload
		 * refused for that waits for another bundle's to succeed. */
		bool waits = st == PP_ERR_DEPENDENCY_IN_USE || st == PP_ERR_NOT_FOUND;
		for (size_t k = 0; k < w->count; k++) {
			watched *o = &w->items[k];
			if (o->bundle_id == id) {
				o->signature = item_signature(o); /* what a rescan compares with */
				after += o->signature;
				o->waits = waits;
				/* failed or refused too: an init that writes its
				 * directory and then fails would fail again forever */
				o->echo = unchanged;
			} else if (st == PP_OK && o->waits) {
				/* the retry applies the save its refused reload did not */
				due_as_change(o, now);
			}
		}
		/* Changed while the reload ran: its events make the echo due,
		 * unless the kernel's queue lost them (a rescan compares with
		 * what is there now, the change included). */
		if (before != after)
			it->due_ms = now_ms() + w->debounce_ms;
	}
	for (size_t i = 0; i < w->arrival_count;) {
		arrival *a = &w->arrivals[i];
		if (a->due_ms > now) {
			i++;
			continue;
		}
		/* A file, a FIFO, a device: never a bundle, unless a directory
		 * takes its name, which is an event of its own. (A link may come
		 * to lead to one.) Looked at for a while, thousands of them cost
		 * the watcher a stat each every turn. */
		struct stat ls;
		if (lstat(a->path, &ls) == 0 && !S_ISDIR(ls.st_mode) && !S_ISLNK(ls.st_mode)) {
			depart(w, i);
			continue;
		}
		uint64_t sig = pp__holds_a_bundle(w->rt, a->path) ? signature_of(a->path, true) : 0;
		bool settled = sig && sig == a->seen && sig != a->failed_at;
		bool broken = sig && sig == a->failed_at; /* as its load failed: no try spent */
		a->seen = sig;
		if (!settled && (broken || --a->tries > 0) && !bundle_at(w->rt, a->path)) {
			/* failed and unchanged, filling, or holding no bundle (yet) */
			a->due_ms = now + (broken ? 1000 : sig ? w->debounce_ms : 250);
			i++;
			continue;
		}
		if (settled && !bundle_at(w->rt, a->path)) {
			pp__log(w->rt, PP_LOG_INFO, "watch", "new bundle directory '%s'; loading",
			        a->path);
			if (pp_bundle_load(w->rt, a->path, NULL, NULL) != PP_OK) {
				pp__log(w->rt, PP_LOG_ERROR, "watch",
				        "loading '%s' failed (tried again when it changes): %s",
				        a->path, pp_last_error(w->rt));
				a->failed_at = sig;
				a->due_ms = now + 1000;
				i++;
				continue;
			}
		}
		depart(w, i);
	}
}

static void *watch_main(void *arg)
{
	pp_watcher *w = arg;
	for (;;) {
		uint64_t now = now_ms();
		if (w->dirty || (w->retry_ms && w->retry_ms <= now) ||
		    atomic_load_explicit(&w->rt->bundle_changes, memory_order_relaxed) !=
		            w->seen_changes)
			rebuild(w);
		int timeout = 250; /* also how soon new bundles get watched */
		now = now_ms();
		if (w->retry_ms) {
			uint64_t left = w->retry_ms > now ? w->retry_ms - now : 0;
			if (left < (uint64_t)timeout)
				timeout = (int)left;
		}
		for (size_t i = 0; i < w->count; i++)
			if (w->items[i].due_ms) {
				uint64_t left =
				        w->items[i].due_ms > now ? w->items[i].due_ms - now : 0;
				if ((int)left < timeout)
					timeout = (int)left;
			}
		for (size_t i = 0; i < w->arrival_count; i++) {
			uint64_t due = w->arrivals[i].due_ms;
			uint64_t left = due > now ? due - now : 0;
			if ((int)left < timeout)
				timeout = (int)left;
		}
		struct pollfd fds[2] = {{w->fd, POLLIN, 0}, {w->stop[0], POLLIN, 0}};
		int r = poll(fds, 2, timeout);
		if (r < 0 && errno != EINTR)
			break;
		if (fds[1].revents)
			break;
		if (fds[0].revents & POLLIN)
			take_events(w);
		if (w->dirty) /* watch a new subdirectory before its bundle reloads */
			rebuild(w);
		reload_due(w);
	}
	return NULL;
}

/* Everything but the thread. */
static void watcher_close(pp_watcher *w)
{
	clear_watches(w);
	plugins_free(w);
	close(w->fd);
	close(w->stop[0]);
	close(w->stop[1]);
	free(w->missed);
	free(w->gone);
	pp__strset_clear(&w->unwatched);
	free(w);
}

static void watcher_free(pp_watcher *w)
{
	pthread_join(w->thread, NULL);
	watcher_close(w);
}

/* Whether this thread may wait for a watcher's thread to end: not if it has
 * a bundle busy (a stop from a lifecycle callback: the watcher may be
 * waiting for that bundle) or runs plugin code (the watcher's callback may
 * be waiting for a VM or a bundle this call holds). The watcher's own
 * thread never may. */
static bool may_join(pp_runtime *rt)
{
	pp_tstate *ts = pp__tstate_peek(rt);
	return !(ts && ts->claims) && !pp__in_plugin(rt);
}

/* Joins the watchers that were stopped where they could not be joined,
 * unless this thread may not wait (they stay for a later caller) or is one
 * of them. */
static void reap(pp_runtime *rt)
{
	if (!may_join(rt))
		return;
	pthread_mutex_lock(&rt->lock);
	pp_watcher *done = rt->watcher_done, *mine = NULL;
	rt->watcher_done = NULL;
	for (pp_watcher **link = &done; *link;) {
		pp_watcher *w = *link;
		if (pthread_equal(pthread_self(), w->thread)) {
			*link = w->done_next;
			mine = w;
		} else {
			link = &w->done_next;
		}
	}
	if (mine) {
		mine->done_next = NULL;
		rt->watcher_done = mine;
	}
	pthread_mutex_unlock(&rt->lock);
	while (done) {
		pp_watcher *w = done;
		done = w->done_next;
		watcher_free(w);
	}
}

/* pp_watch_start once it has counted itself in rt->watchers. */
static pp_status start_watcher(pp_runtime *rt, uint32_t debounce_ms)
{
	pp_watcher *w = calloc(1, sizeof *w);
	if (!w)
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	w->rt = rt;
	w->debounce_ms = debounce_ms ? debounce_ms : PP_WATCH_DEFAULT_DEBOUNCE_MS;
	if (w->debounce_ms > 3600u * 1000u) /* poll() takes an int of milliseconds */
		w->debounce_ms = 3600u * 1000u;
	w->stop[0] = w->stop[1] = -1;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0 || pipe(w->stop) != 0) {
		pp_status st =
		        pp__error(rt, PP_ERR_IO, "cannot start the watcher: %s", strerror(errno));
		if (w->fd >= 0)
			close(w->fd);
		free(w);
		return st;
	}
	/* The bundles loaded now are watched before this returns: a file saved
	 * the moment it does is seen, whenever the thread first runs. */
	rebuild(w);
	if (w->missed_errno) { /* watching less than asked would pass silently */
		pp_status st = say_missed(rt, w->missed ? w->missed : "a bundle's directory",
		                          w->missed_errno, true);
		watcher_close(w);
		return st;
	}
	if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
		watcher_close(w);
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "cannot start the watcher thread");
	}
	pthread_mutex_lock(&rt->lock);
	bool running = rt->watcher != NULL, closing = rt->closing;
	if (!running && !closing)
		rt->watcher = w;
	pthread_mutex_unlock(&rt->lock);
	if (running || closing) { /* another thread started one, or the free began */
		ssize_t n = write(w->stop[1], "x", 1);
		(void)n;
		watcher_free(w);
		return pp__error(rt, PP_ERR_INVALID_ARGUMENT,
		                 closing ? "cannot watch: the runtime is being freed"
		                         : "the watcher is already running");
	}
	return PP_OK;
}

pp_status pp_watch_start(pp_runtime *rt, uint32_t debounce_ms)
{
	if (!rt)
		return PP_ERR_INVALID_ARGUMENT;
	reap(rt);
	if (!rt->cfg.hot_reload_enabled)
		return pp__error(rt, PP_ERR_UNSUPPORTED,
		                 "cannot watch: hot reload is disabled in the runtime config");
	/* Counted from here: loads that begin now note their files. */
	pthread_mutex_lock(&rt->lock);
	bool running = rt->watcher != NULL, closing = rt->closing;
	if (!running && !closing)
		rt->watchers++;
	pthread_mutex_unlock(&rt->lock);
	if (closing) /* pp_runtime_free stopped the watcher already */
		return pp__error(rt, PP_ERR_INVALID_ARGUMENT,
		                 "cannot watch: the runtime is being freed");
	if (running)
		return pp__error(rt, PP_ERR_INVALID_ARGUMENT, "the watcher is already running");
	pp_status st = start_watcher(rt, debounce_ms);
	if (st != PP_OK) {
		pthread_mutex_lock(&rt->lock);
		rt->watchers--;
		pthread_mutex_unlock(&rt->lock);
	}
	return st;
}

void pp_watch_stop(pp_runtime *rt)
{
	if (!rt)
		return;
	bool join = may_join(rt);
	pthread_mutex_lock(&rt->lock);
	pp_watcher *w = rt->watcher;
	rt->watcher = NULL;
	if (w)
		rt->watchers--;
	bool later = w && (!join || pthread_equal(pthread_self(), w->thread));
	if (later) {
		w->done_next = rt->watcher_done;
		rt->watcher_done = w;
	}
	pthread_mutex_unlock(&rt->lock);
	if (w) {
		ssize_t n = write(w->stop[1], "x", 1);
		(void)n;
	}
	/* Called where it may not wait (see may_join), or on the watcher's own
	 * thread, which cannot join itself: the watcher sees the stop byte once
	 * what it runs returns, and is joined by the next pp_watch_start,
	 * pp_watch_stop or pp_runtime_free that may wait. */
	if (later)
		return;
	if (w)
		watcher_free(w);
	reap(rt);
}
