/*
 * watch.c — hot reload: a thread per runtime that watches the loaded
 * bundles' files with inotify and reloads a bundle once its files have been
 * quiet for the debounce interval, so an editor's save or a compiler's many
 * writes make one reload. A reload that fails keeps the old version serving
 * (bundle.c logs it and reports PP_RELOAD_FAILED).
 *
 * The watch set follows the bundle list: a directory bundle's directory is
 * watched (its manifest, script or library changing), a file bundle's
 * parent directory is watched for that file name (editors replace files by
 * renaming, which a watch on the file itself would miss).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

typedef struct watched {
	int wd;
	uint64_t bundle_id;
	char *file;      /* only this name in the directory, or NULL for any */
	uint64_t due_ms; /* reload when the clock passes this; 0: nothing pending */
} watched;

struct pp_watcher {
	pp_runtime *rt;
	pthread_t thread;
	int fd;      /* inotify */
	int stop[2]; /* pipe: a byte stops the thread */
	uint32_t debounce_ms;
	uint64_t seen_changes; /* rt->bundle_changes the watch set was built for */
	watched *items;
	size_t count;
};

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

static bool add_watch(pp_watcher *w, const char *dir, const char *file, uint64_t id)
{
	int wd = inotify_add_watch(w->fd, dir,
	                           IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE |
	                                   IN_MODIFY | IN_ATTRIB | IN_ONLYDIR);
	if (wd < 0) {
		pp__log(w->rt, PP_LOG_WARN, "watch", "cannot watch '%s': %s", dir, strerror(errno));
		return true;
	}
	watched *items = realloc(w->items, (w->count + 1) * sizeof *items);
	if (!items)
		return false;
	w->items = items;
	watched *it = &w->items[w->count++];
	it->wd = wd;
	it->bundle_id = id;
	it->file = file ? pp__strdup(file) : NULL;
	it->due_ms = 0;
	return !file || it->file;
}

/* The watch set for the bundles loaded now (the list changed: a load or an
 * unload happened). */
static void rebuild(pp_watcher *w)
{
	/* reloads already due carry over to the new set */
	size_t pending_n = 0;
	struct {
		uint64_t id, due;
	} pending[64];
	for (size_t i = 0; i < w->count && pending_n < 64; i++)
		if (w->items[i].due_ms) {
			pending[pending_n].id = w->items[i].bundle_id;
			pending[pending_n++].due = w->items[i].due_ms;
		}
	clear_watches(w);
	/* The bundles are listed under the lock; watches are added (and
	 * failures logged) without it. */
	pp_runtime *rt = w->rt;
	struct {
		uint64_t id;
		char *path;
	} *list = NULL;
	size_t n = 0;
	pthread_mutex_lock(&rt->lock);
	w->seen_changes = atomic_load_explicit(&rt->bundle_changes, memory_order_relaxed);
	list = calloc(rt->bundle_count + 1, sizeof *list);
	for (pp_bundle *b = rt->bundles; list && b; b = b->next)
		if (b->cur && *b->path) /* loaded, from disk */
			if ((list[n].path = pp__strdup(b->path)) != NULL)
				list[n++].id = b->id;
	pthread_mutex_unlock(&rt->lock);
	if (!list)
		pp__log(rt, PP_LOG_ERROR, "watch", "out of memory listing bundles to watch");
	for (size_t i = 0; i < n; i++) {
		const char *path = list[i].path;
		struct stat st;
		bool ok = true;
		if (stat(path, &st) != 0) {
			/* gone for now */
		} else if (S_ISDIR(st.st_mode)) {
			ok = add_watch(w, path, NULL, list[i].id);
		} else {
			char *dir = pp__strdup(path);
			char *slash = dir ? strrchr(dir, '/') : NULL;
			const char *file = slash ? slash + 1 : path;
			if (slash)
				*slash = '\0';
			ok = dir &&
			     add_watch(w, slash ? (*dir ? dir : "/") : ".", file, list[i].id);
			free(dir);
		}
		if (!ok)
			pp__log(rt, PP_LOG_ERROR, "watch", "out of memory watching '%s'", path);
		free(list[i].path);
	}
	free(list);
	for (size_t k = 0; k < pending_n; k++)
		for (size_t i = 0; i < w->count; i++)
			if (w->items[i].bundle_id == pending[k].id)
				w->items[i].due_ms = pending[k].due;
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
			if (e->len && ignored_name(e->name))
				continue;
			for (size_t i = 0; i < w->count; i++) {
				watched *it = &w->items[i];
				if (it->wd == e->wd &&
				    (!it->file || (e->len && strcmp(it->file, e->name) == 0)))
					it->due_ms = now_ms() +
					             w->debounce_ms; /* quiet period restarts */
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
		pp__log(w->rt, PP_LOG_INFO, "watch", "files of bundle %016llx changed; reloading",
		        (unsigned long long)it->bundle_id);
		/* failures are logged and reported as PP_RELOAD_FAILED by the reload */
		pp_bundle_reload(w->rt, it->bundle_id);
	}
}

static void *watch_main(void *arg)
{
	pp_watcher *w = arg;
	for (;;) {
		if (atomic_load_explicit(&w->rt->bundle_changes, memory_order_relaxed) !=
		    w->seen_changes)
			rebuild(w);
		int timeout = 250; /* also how soon new bundles get watched */
		uint64_t now = now_ms();
		for (size_t i = 0; i < w->count; i++)
			if (w->items[i].due_ms) {
				uint64_t left =
				        w->items[i].due_ms > now ? w->items[i].due_ms - now : 0;
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
		reload_due(w);
	}
	return NULL;
}

static void watcher_free(pp_watcher *w)
{
	pthread_join(w->thread, NULL);
	clear_watches(w);
	close(w->fd);
	close(w->stop[0]);
	close(w->stop[1]);
	free(w);
}

/* Joins a watcher that stopped itself (from an on_reload callback on its
 * own thread), unless that thread is the caller. */
static void reap(pp_runtime *rt)
{
	pthread_mutex_lock(&rt->lock);
	pp_watcher *w = rt->watcher_done;
	if (w && pthread_equal(pthread_self(), w->thread))
		w = NULL;
	if (w)
		rt->watcher_done = NULL;
	pthread_mutex_unlock(&rt->lock);
	if (w)
		watcher_free(w);
}

pp_status pp_watch_start(pp_runtime *rt, uint32_t debounce_ms)
{
	if (!rt)
		return PP_ERR_INVALID_ARGUMENT;
	reap(rt);
	pthread_mutex_lock(&rt->lock);
	bool running = rt->watcher != NULL;
	pthread_mutex_unlock(&rt->lock);
	if (running)
		return pp__error(rt, PP_ERR_INVALID_ARGUMENT, "the watcher is already running");
	if (!rt->cfg.hot_reload_enabled)
		return pp__error(rt, PP_ERR_UNSUPPORTED,
		                 "cannot watch: hot reload is disabled in the runtime config");
	pp_watcher *w = calloc(1, sizeof *w);
	if (!w)
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	w->rt = rt;
	w->debounce_ms = debounce_ms ? debounce_ms : PP_WATCH_DEFAULT_DEBOUNCE_MS;
	w->seen_changes = UINT64_MAX; /* build the set on the first turn */
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
	if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
		close(w->fd);
		close(w->stop[0]);
		close(w->stop[1]);
		free(w);
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "cannot start the watcher thread");
	}
	pthread_mutex_lock(&rt->lock);
	running = rt->watcher != NULL;
	if (!running)
		rt->watcher = w;
	pthread_mutex_unlock(&rt->lock);
	if (running) { /* another thread started one meanwhile */
		ssize_t n = write(w->stop[1], "x", 1);
		(void)n;
		watcher_free(w);
		return pp__error(rt, PP_ERR_INVALID_ARGUMENT, "the watcher is already running");
	}
	return PP_OK;
}

void pp_watch_stop(pp_runtime *rt)
{
	if (!rt)
		return;
	pthread_mutex_lock(&rt->lock);
	pp_watcher *w = rt->watcher;
	rt->watcher = NULL;
	bool self = w && pthread_equal(pthread_self(), w->thread);
	if (self)
		rt->watcher_done = w;
	pthread_mutex_unlock(&rt->lock);
	if (w) {
		ssize_t n = write(w->stop[1], "x", 1);
		(void)n;
	}
	/* Called from a callback on the watcher's own thread: it cannot join
	 * itself. It sees the stop byte once the callback returns, and is joined
	 * by the next pp_watch_start, pp_watch_stop or pp_runtime_free. */
	if (self)
		return;
	if (w)
		watcher_free(w);
	reap(rt);
}
