/*
 * runtime.c — the pp_runtime object: creation and teardown, configuration,
 * the plugin-facing allocator, the logging funnel, per-thread last errors and
 * the deferred-reclamation bookkeeping every other part relies on.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* Log level names, index = level (0 stands for "unknown" in output). */
static const char *const level_names[] = {"error", "error", "warn", "info", "debug", "trace"};

/* The level POLYPLUG_LOG names ("warn", or "2"), 0 if unset, UINT32_MAX if
 * it names none. */
static uint32_t env_log_level(void)
{
	const char *v = getenv("POLYPLUG_LOG");
	if (!v || !*v)
		return 0;
	for (uint32_t l = PP_LOG_ERROR; l <= PP_LOG_TRACE; l++)
		if (strcasecmp(v, level_names[l]) == 0 || (v[0] == (char)('0' + l) && !v[1]))
			return l;
	return UINT32_MAX;
}

void pp_runtime_config_init(pp_runtime_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->size = (uint32_t)sizeof *cfg;
	uint32_t env = env_log_level();
	cfg->log_level = env == UINT32_MAX ? 0 : env;
	cfg->hot_reload_enabled = 1;
	cfg->js.memory_bytes = PP_JS_DEFAULT_MEMORY_BYTES;
	cfg->js.stack_bytes = PP_JS_DEFAULT_STACK_BYTES;
	cfg->js.cpu_ms = PP_JS_DEFAULT_CPU_MS;
}

/* ---- Per-thread state ----------------------------------------------------- */

/* A thread's state lives on the runtime's list from its first call until
 * pp_runtime_free. When the thread exits it is marked free and a later
 * thread reuses it, so the list never shrinks under a grace period's scan
 * and grows only to the number of threads alive at once.
 *
 * A thread finds its states through one process-wide key, made once and
 * never deleted: its value is the thread's list of states, one per runtime
 * it used, and its destructor retires each when the thread exits. (A key
 * per runtime cannot be right: pp_runtime_free would delete it while a
 * thread may be inside its destructor, and a thread exiting after the
 * deletion would never free the state it held.) pp_runtime_free and a
 * thread's exit settle each state with one atomic word, `life`: the exit
 * claims TS_EXITING and retires it; the free claims TS_ORPHANED for a
 * thread still alive, and from then on only that thread touches the state,
 * freeing it when it exits or next looks at its list. */

enum { TS_LIVE, TS_EXITING, TS_ORPHANED };

static pthread_mutex_t thread_key_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t thread_key; /* written once, under thread_key_lock */
static _Atomic bool thread_key_made;

/* Not NULL at first either: a NULL runtime must never match. */
__thread pp__thread_cache pp__tls = {PP_TLS_EMPTY, NULL};

/* Set when the thread's exit has retired its states: a destructor of
 * another library that calls in later (glibc runs destructors again, up to
 * PTHREAD_DESTRUCTOR_ITERATIONS rounds) gets no state, since nothing would
 * retire it. */
static __thread bool thread_ended;

static bool err_small(const pp_tstate *ts, const char *buf)
{
	return buf == ts->err_small[0] || buf == ts->err_small[1];
}

static void free_state(pp_tstate *ts)
{
	if (!err_small(ts, ts->err))
		free(ts->err);
	if (!err_small(ts, ts->err_next))
		free(ts->err_next);
	free(ts);
}

/* The thread is exiting (the key's destructor): each state goes back to its
 * runtime for a later thread, or, orphaned, is freed. */
static void thread_exit(void *list)
{
	thread_ended = true;
	for (pp_tstate *ts = list, *next; ts; ts = next) {
		next = ts->thread_next;
		int expect = TS_LIVE;
		if (!atomic_compare_exchange_strong(&ts->life, &expect, TS_EXITING)) {
			free_state(ts); /* its runtime is gone */
			continue;
		}
		pthread_mutex_lock(&ts->rt->tstate_lock);
		/* a later destructor calling in must not find the state a new
		 * thread may take over */
		pp_runtime *cached = ts->rt;
		__atomic_compare_exchange_n(&pp__tls.rt, &cached, PP_TLS_EMPTY, false,
		                            __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		atomic_store_explicit(&ts->tls, NULL, memory_order_relaxed);
		ts->in_use = false;
		ts->thread_next = NULL;
		atomic_store_explicit(&ts->thread, 0, memory_order_relaxed); /* ids are reused */
		pp__publish_wait(ts, 0);
		/* A thread that ended inside a call (pthread_exit, cancellation) must
		 * not hold grace periods up forever. */
		ts->rd.nest = 0;
		ts->init_depth = 0;
		__atomic_store_n(&ts->rd.epoch, 0, __ATOMIC_RELEASE);
		atomic_store_explicit(&ts->life, TS_LIVE, memory_order_release);
		pthread_mutex_unlock(&ts->rt->tstate_lock);
	}
}

/* Makes the key on the first runtime's creation (tried again by the next
 * if the process had none left). */
static bool have_thread_key(void)
{
	if (atomic_load_explicit(&thread_key_made, memory_order_acquire))
		return true;
	pthread_mutex_lock(&thread_key_lock);
	if (!atomic_load_explicit(&thread_key_made, memory_order_relaxed) &&
	    pthread_key_create(&thread_key, thread_exit) == 0)
		atomic_store_explicit(&thread_key_made, true, memory_order_release);
	pthread_mutex_unlock(&thread_key_lock);
	return atomic_load_explicit(&thread_key_made, memory_order_relaxed);
}

/* Unloading the library (dlclose) must not leave the destructor behind. */
__attribute__((destructor)) static void delete_thread_key(void)
{
	if (atomic_exchange(&thread_key_made, false))
		pthread_key_delete(thread_key);
}

/* This thread's state in rt, or NULL. Its orphaned states (their runtimes
 * were freed) are freed on the way: only this thread may, and a new runtime
 * at a freed one's address must not match them. */
static pp_tstate *thread_state(pp_runtime *rt)
{
	pp_tstate *head = thread_key_made ? pthread_getspecific(thread_key) : NULL, *found = NULL;
	bool pruned = false;
	for (pp_tstate **link = &head; *link;) {
		pp_tstate *ts = *link;
		if (atomic_load_explicit(&ts->life, memory_order_acquire) == TS_ORPHANED) {
			*link = ts->thread_next;
			free_state(ts);
			pruned = true;
			continue;
		}
		if (ts->rt == rt)
			found = ts;
		link = &ts->thread_next;
	}
	if (pruned)
		pthread_setspecific(thread_key, head);
	return found;
}

pp_tstate *pp__tstate_peek(pp_runtime *rt)
{
	pp_tstate *ts = pp__tstate_cached(rt);
	return ts ? ts : thread_state(rt);
}

/* Caches ts, this thread's state, as the one to try first. */
static pp_tstate *tstate_cache(pp_tstate *ts)
{
	atomic_store_explicit(&ts->tls, &pp__tls, memory_order_relaxed);
	__atomic_store_n(&pp__tls.rt, PP_TLS_EMPTY, __ATOMIC_RELAXED);
	pp__tls.reader = &ts->rd;
	__atomic_store_n(&pp__tls.rt, ts->rt, __ATOMIC_RELAXED);
	return ts;
}

pp_tstate *pp__tstate(pp_runtime *rt)
{
	pp_tstate *ts = pp__tstate_cached(rt);
	if (ts)
		return ts;
	ts = thread_state(rt);
	if (ts)
		return tstate_cache(ts);
	if (thread_ended || !atomic_load_explicit(&thread_key_made, memory_order_relaxed))
		return NULL;
	pthread_mutex_lock(&rt->tstate_lock);
	for (ts = rt->tstates; ts && ts->in_use; ts = ts->next)
		;
	bool fresh = ts == NULL;
	if (fresh && (ts = pp__calloc_lines(sizeof *ts)) != NULL) {
		ts->rt = rt;
		atomic_init(&ts->life, TS_LIVE);
		ts->err = ts->err_small[0];
		ts->err_next = ts->err_small[1];
		ts->err_cap = ts->err_next_cap = sizeof ts->err_small[0];
	}
	if (ts) {
		ts->in_use = true;
		atomic_store_explicit(&ts->thread, pp__thread_id(), memory_order_relaxed);
		pp__publish_wait(ts, 0);
		ts->init_depth = 0;
		ts->rd.nest = 0;
		ts->claims = 0;
		if (ts->err)
			ts->err[0] = '\0';
		ts->thread_next = pthread_getspecific(thread_key);
	}
	if (ts && pthread_setspecific(thread_key, ts) != 0) {
		ts->in_use = false;
		ts->thread_next = NULL;
		if (fresh)
			free(ts);
		ts = NULL;
		fresh = false;
	}
	if (fresh && ts) {
		ts->next = rt->tstates; /* written before the state is reachable */
		rt->tstates = ts;
	}
	if (ts)
		tstate_cache(ts);
	pthread_mutex_unlock(&rt->tstate_lock);
	return ts;
}

void pp__publish_wait(pp_tstate *ts, pp_waited waited)
{
	/* stored, then counted: a look that read the count before and finds
	 * it unchanged after read a wait that held all along */
	atomic_store_explicit(&ts->waiting_on, waited, memory_order_seq_cst);
	atomic_fetch_add_explicit(&ts->wait_seq, 1, memory_order_seq_cst);
}

/*
 * The wait-cycle look. A thread waits for one VM's owner word, or for any
 * word of a pool's set. The look gathers the threads that what `me` would
 * wait for leads to (a word's owner, what that owner waits for, ...), then
 * finds, as a fixed point, those that can go on: one not waiting, or
 * waiting for a word that is free or held by one that can go on. If me
 * cannot, and me going on would let some other thread go on (me is part of
 * what is stuck, not only waiting behind someone else's cycle, whose own
 * members will refuse), waiting would close a cycle.
 *
 * The reads are not one snapshot: a thread read as waiting may have
 * stopped since. So each thread's wait count is read before its wait and
 * again at the end; if any moved, the answer is no (the waiter looks again
 * in 20 ms). A waiter withdraws its wait while it tries to take a VM
 * (js_loader.c vm_wait), so one seen waiting holds nothing it took since.
 * A waiting thread gives nothing back, so a word read as a thread's after
 * its count was read (for a thread met first through that word: read again
 * after its count) is still its own when its count has not moved.
 */
enum { LOOK_THREADS = 64, LOOK_WORDS = PP_JS_MAX_CONCURRENCY };

typedef struct look_thread {
	const pp_tstate *ts; /* NULL for me */
	uintptr_t id;
	pp_waited waited;
	uint32_t seq;               /* ts's wait count, read before its wait */
	uint32_t n;                 /* words it waits for */
	int8_t held_by[LOOK_WORDS]; /* the look_thread holding each; -1: free or going on */
	bool goes_on;
	bool own_cycle; /* stuck even if me goes on: behind a cycle whose members refuse */
} look_thread;

/* The words of a wait: *first and stride for the count returned. */
static uint32_t wait_words(pp_waited waited, uintptr_t *first, size_t *stride)
{
	const pp_wait_set *set = pp_waited_as_set(waited);
	if (set) {
		*first = (uintptr_t)set->first;
		*stride = set->stride;
		return set->n;
	}
	*first = waited;
	*stride = 0;
	return 1;
}

/* Marks those of t[0..n) that can go on; `me_goes_on` assumes me can, and
 * those marked own_cycle are taken to. */
static void settle(look_thread *t, uint32_t n, bool me_goes_on)
{
	for (uint32_t i = 0; i < n; i++)
		t[i].goes_on = (i == 0 && me_goes_on) || t[i].own_cycle;
	for (bool changed = true; changed;) {
		changed = false;
		for (uint32_t i = 0; i < n; i++)
			for (uint32_t k = 0; !t[i].goes_on && k < t[i].n; k++)
				if (t[i].held_by[k] < 0 || t[t[i].held_by[k]].goes_on)
					t[i].goes_on = changed = true;
	}
}

/* The index in t[0..*n) of the thread holding `word`, adding it if it
 * waits; -1 if the word is free or its holder runs (it will come free); -2
 * when the look cannot tell (past its bounds, or the holder changed). */
static int holder(const pp_tstate *first, _Atomic uintptr_t *word, look_thread *t, uint32_t *n)
{
	uintptr_t owner = atomic_load_explicit(word, memory_order_seq_cst);
	if (!owner)
		return -1;
	for (uint32_t j = 0; j < *n; j++)
		if (t[j].id == owner) /* its count was read before this word */
			return (int)j;
	const pp_tstate *ts = first;
	while (ts && atomic_load_explicit(&ts->thread, memory_order_relaxed) != owner)
		ts = ts->next;
	if (!ts)
		return -1;
	uint32_t seq = atomic_load_explicit(&ts->wait_seq, memory_order_seq_cst);
	pp_waited of = atomic_load_explicit(&ts->waiting_on, memory_order_seq_cst);
	if (!of)
		return -1;
	/* Met first here, its count read after the word: it may have given
	 * the word back and begun another wait in between. Still the word's
	 * now, with its wait holding from here on, it holds it for as long as
	 * its count does not move. */
	if (atomic_load_explicit(word, memory_order_seq_cst) != owner || *n == LOOK_THREADS)
		return -2;
	t[*n] = (look_thread){.ts = ts, .id = owner, .waited = of, .seq = seq};
	return (int)(*n)++;
}

/* Gathers into t (me first) the threads me's wait leads to; false when
 * past the look's bounds (then: no cycle). */
static bool gather(const pp_tstate *first, pp_waited waited, uintptr_t me, look_thread *t,
                   uint32_t *count)
{
	t[0] = (look_thread){.ts = NULL, .id = me, .waited = waited};
	uint32_t n = 1;
	for (uint32_t i = 0; i < n; i++) {
		uintptr_t word;
		size_t stride;
		t[i].n = wait_words(t[i].waited, &word, &stride);
		if (t[i].n > LOOK_WORDS)
			return false;
		for (uint32_t k = 0; k < t[i].n; k++, word += stride) {
			int j = holder(first, (_Atomic uintptr_t *)word, t, &n);
			if (j == -2)
				return false;
			t[i].held_by[k] = (int8_t)j;
		}
	}
	*count = n;
	return true;
}

/* Whether me, about to wait, closes a cycle of its own. Stuck (no thread it
 * waits for, directly or not, can go on), it may still be only behind
 * others' cycles, whose members refuse when they look: those are the
 * threads stuck even if me went on. Taking them to go on, me is refused if
 * it is still stuck. A set of threads whose waits are all for VMs held
 * inside it (a deadlock) stays stuck; the smallest such set holding me has
 * no member stuck once me goes on (those would make a smaller one), so me
 * is refused. */
bool pp__wait_would_cycle(pp_runtime *rt, pp_tstate *ts, pp_waited waited, uintptr_t me)
{
	if (rt->look_hook) /* tests only */
		rt->look_hook(rt->look_hook_ud, PP_LOOK_BEGINS);
	/* One look at a time, and a refused thread's wait withdrawn before the
	 * next: of threads closing a cycle at the same moment, the first to
	 * look is refused, and the others' looks find it going on. */
	pthread_mutex_lock(&rt->look_lock);
	pthread_mutex_lock(&rt->tstate_lock);
	pp_tstate *first = rt->tstates; /* never freed before the runtime: walk unlocked */
	pthread_mutex_unlock(&rt->tstate_lock);
	look_thread *t = malloc(LOOK_THREADS * sizeof *t);
	uint32_t n = 0;
	bool cycle = t && gather(first, waited, me, t, &n);
	if (cycle) {
		settle(t, n, false);
		cycle = !t[0].goes_on;
	}
	if (cycle) { /* stuck: in a cycle of its own, or only behind others'? */
		settle(t, n, true);
		for (uint32_t i = 1; i < n; i++)
			t[i].own_cycle = !t[i].goes_on;
		settle(t, n, false);
		cycle = !t[0].goes_on;
	}
	if (cycle && rt->look_hook)
		rt->look_hook(rt->look_hook_ud, PP_LOOK_CHECKS);
	for (uint32_t i = 1; cycle && i < n; i++) /* every wait read held all along */
		cycle = atomic_load_explicit(&t[i].ts->wait_seq, memory_order_seq_cst) == t[i].seq;
	if (cycle && rt->look_hook)
		rt->look_hook(rt->look_hook_ud, PP_LOOK_REFUSES);
	if (cycle && ts)
		pp__publish_wait(ts, 0);
	pthread_mutex_unlock(&rt->look_lock);
	free(t);
	return cycle;
}

pp_bundle_version *pp__init_version(pp_runtime *rt)
{
	pp_tstate *ts = pp__tstate_peek(rt);
	if (!ts || ts->init_depth == 0)
		return NULL;
	/* Code the init called through the runtime runs in a deeper read
	 * section: what it registers or looks up is its own, not the init's. */
	int top = ts->init_depth - 1;
	return ts->rd.nest == ts->init_stack[top].nest ? ts->init_stack[top].version : NULL;
}

bool pp__in_plugin(pp_runtime *rt)
{
	pp_tstate *ts = pp__tstate_peek(rt);
	return (ts && (ts->rd.nest > 0 || ts->init_depth > 0)) || pp__on_reclaimer(rt);
}

/* ---- Errors --------------------------------------------------------------- */

/* s[0..n) as well-formed UTF-8, each byte that starts no valid sequence
 * replaced by U+FFFD (malloc'd, NUL-terminated, *len its length; NULL if out
 * of memory). */
static char *lossy(const uint8_t *s, size_t n, size_t *len)
{
	if (n > (SIZE_MAX - 1) / 3)
		return NULL;
	char *out = malloc(3 * n + 1);
	size_t o = 0;
	for (size_t i = 0; out && i < n;) {
		uint32_t cp;
		size_t k = pp_utf8_seq(s + i, n - i, &cp);
		if (k) {
			memcpy(out + o, s + i, k);
			o += k;
			i += k;
		} else {
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
		}
	}
	if (out) {
		out[o] = '\0';
		*len = o;
	}
	return out;
}

/* s[0..n) as the host may get it, well-formed UTF-8 whatever a plugin put
 * in it (a JS string's lone surrogate as QuickJS writes it, CESU-8; a
 * native plugin's bytes): itself when it is; else a copy with U+FFFD
 * (*owned, the caller's to free); else, out of memory, its valid part. */
static pp_string_view well_formed(const uint8_t *s, size_t n, char **owned)
{
	*owned = NULL;
	size_t valid = pp_utf8_prefix(s, n), len = 0;
	if (valid == n)
		return (pp_string_view){s, n};
	*owned = lossy(s, n, &len);
	return *owned ? (pp_string_view){(const uint8_t *)*owned, len} : (pp_string_view){s, valid};
}

void pp__error_setv(pp_runtime *rt, const char *fmt, va_list ap)
{
	pp_tstate *ts = pp__tstate(rt);
	if (!ts)
		return;
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	if (n >= 0) {
		/* into the other buffer: the arguments may quote this one */
		char *to = ts->err_next;
		size_t cap = ts->err_next_cap;
		char *bigger = (size_t)n >= cap ? malloc((size_t)n + 1) : NULL;
		if (bigger) { /* else out of memory: what fits */
			if (!err_small(ts, to))
				free(to);
			to = bigger;
			cap = (size_t)n + 1;
		}
		vsnprintf(to, cap, fmt, ap2);
		char *clean;
		pp_string_view v = well_formed((const uint8_t *)to,
		                               (size_t)n < cap ? (size_t)n : cap - 1, &clean);
		if (clean) {
			if (!err_small(ts, to))
				free(to);
			to = clean;
			cap = v.len + 1;
		} else {
			to[v.len] = '\0';
		}
		ts->err_next = ts->err;
		ts->err_next_cap = ts->err_cap;
		ts->err = to;
		ts->err_cap = cap;
	}
	va_end(ap2);
}

void pp__clear_error(pp_runtime *rt)
{
	pp_tstate *ts = pp__tstate_peek(rt);
	if (ts && ts->err)
		ts->err[0] = '\0';
}

const char *pp_last_error(pp_runtime *rt)
{
	pp_tstate *ts = rt ? pp__tstate_peek(rt) : NULL;
	return ts && ts->err ? ts->err : "";
}

/* ---- Logging -------------------------------------------------------------- */

static const char *level_name(uint32_t level)
{
	return level <= PP_LOG_TRACE ? level_names[level] : "error";
}

void pp__log_view(pp_runtime *rt, uint32_t level, pp_string_view scope, pp_string_view msg)
{
	if (level < PP_LOG_ERROR || level > PP_LOG_TRACE)
		level = PP_LOG_ERROR;
	/* From a plugin: a NULL text is empty, and no length passes 64 KiB. */
	if (!scope.ptr)
		scope.len = 0;
	if (!msg.ptr)
		msg.len = 0;
	if (scope.len > 256)
		scope.len = 256;
	if (msg.len > 65536)
		msg.len = 65536;
	if (level > rt->cfg.log_level)
		return;
	char *clean[2];
	scope = well_formed(scope.ptr, scope.len, &clean[0]);
	msg = well_formed(msg.ptr, msg.len, &clean[1]);
	if (rt->cfg.log)
		rt->cfg.log(rt->cfg.log_userdata, level, scope, msg);
	else
		fprintf(stderr, "polyplug %s [%.*s] %.*s\n", level_name(level), (int)scope.len,
		        scope.ptr ? (const char *)scope.ptr : "", (int)msg.len,
		        msg.ptr ? (const char *)msg.ptr : "");
	free(clean[0]);
	free(clean[1]);
}

void pp__log(pp_runtime *rt, uint32_t level, const char *scope, const char *fmt, ...)
{
	if (level > rt->cfg.log_level)
		return;
	/* a record is at most 1023 bytes, cut between characters: the bytes
	 * past the cut are formatted too, to see where the cut falls */
	char buf[1024 + 3];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
	pp_string_view s = {(const uint8_t *)scope, strlen(scope)};
	pp_string_view m = {(const uint8_t *)buf, pp_utf8_cut(buf, len, 1023)};
	pp__log_view(rt, level, s, m);
}

char *pp__vstrprintf(const char *fmt, va_list ap)
{
	va_list again;
	va_copy(again, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	char *text = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (text)
		vsnprintf(text, (size_t)n + 1, fmt, again);
	va_end(again);
	return text;
}

char *pp__strprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *text = pp__vstrprintf(fmt, ap);
	va_end(ap);
	return text;
}

/* ---- Memory --------------------------------------------------------------- */

void *pp__host_alloc(pp_runtime *rt, size_t size, size_t align)
{
	if (size == 0 || align == 0 || (align & (align - 1)))
		return NULL;
	if (rt->cfg.alloc)
		return rt->cfg.alloc(rt->cfg.alloc_userdata, size, align);
	if (align <= _Alignof(max_align_t))
		return malloc(size);
	if (size > SIZE_MAX - align)
		return NULL;
	return aligned_alloc(align, (size + align - 1) & ~(align - 1));
}

void pp__host_free(pp_runtime *rt, void *ptr, size_t size, size_t align)
{
	if (!ptr)
		return;
	if (rt->cfg.free)
		rt->cfg.free(rt->cfg.alloc_userdata, ptr, size, align);
	else
		free(ptr);
}

const char *pp__view_copy(char *buf, size_t cap, pp_string_view v)
{
	/* whole characters: a guest's message cut here reads as it wrote it */
	size_t n = v.ptr ? pp_utf8_cut((const char *)v.ptr, v.len, cap - 1) : 0;
	if (v.ptr && n)
		memmove(buf, v.ptr, n);
	buf[n] = '\0';
	return buf;
}

bool pp__ends_with(const char *s, size_t n, const char *suffix)
{
	size_t m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

char *pp__strndup(const void *s, size_t n)
{
	char *d = n < SIZE_MAX ? malloc(n + 1) : NULL;
	if (d) {
		if (n)
			memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

void *pp__calloc_lines(size_t size)
{
	enum { LINE = 64 };
	if (size > SIZE_MAX - LINE)
		return NULL;
	size_t n = (size + LINE - 1) / LINE * LINE;
	void *p = aligned_alloc(LINE, n);
	if (p)
		memset(p, 0, n);
	return p;
}

pp_status pp__take_grown(void *dst, size_t dst_size, const void *src, size_t min, size_t v2,
                         size_t *at)
{
	uint32_t size;
	memcpy(&size, src, sizeof size);
	size_t n = size ? size : v2;
	*at = n;
	if (n < min || n > PP_MAX_STRUCT_SIZE)
		return PP_ERR_INVALID_ARGUMENT;
	/* From a newer release: what it appended must be unset, or the host
	 * asked for something this library would silently not do. */
	for (size_t i = dst_size; i < n; i++)
		if (((const unsigned char *)src)[i]) {
			*at = i;
			return PP_ERR_UNSUPPORTED;
		}
	memcpy(dst, src, n < dst_size ? n : dst_size);
	size = (uint32_t)dst_size;
	memcpy(dst, &size, sizeof size);
	return PP_OK;
}

char *pp__strdup(const char *s)
{
	return pp__strndup(s, strlen(s));
}

bool pp__cond_init_monotonic(pthread_cond_t *c)
{
	pthread_condattr_t attr;
	if (pthread_condattr_init(&attr) != 0)
		return false;
	bool ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
	          pthread_cond_init(c, &attr) == 0;
	pthread_condattr_destroy(&attr);
	return ok;
}

struct timespec pp__deadline(clockid_t clock, long ns)
{
	struct timespec t;
	clock_gettime(clock, &t);
	t.tv_nsec += ns;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

typedef struct pp_contract_revision {
	uint64_t contract_id;
	_Atomic uint64_t value;
	uint64_t bumped; /* the stamp of the last bump that moved it (under lock) */
} pp_contract_revision;

/* The counter of contract_id, made on first use when make (NULL if there
 * is none, or out of memory). Caller holds the lock. */
static pp_contract_revision *contract_revision(pp_runtime *rt, uint64_t contract_id, bool make)
{
	for (size_t i = 0; i < rt->contract_rev_count; i++)
		if (rt->contract_revs[i]->contract_id == contract_id)
			return rt->contract_revs[i];
	pp_contract_revision *r = make ? malloc(sizeof *r) : NULL;
	pp_contract_revision **more =
	        r ? realloc(rt->contract_revs, (rt->contract_rev_count + 1) * sizeof(void *))
	          : NULL;
	if (!more) {
		free(r);
		return NULL;
	}
	r->contract_id = contract_id;
	atomic_init(&r->value, 0);
	r->bumped = 0;
	rt->contract_revs = more;
	more[rt->contract_rev_count++] = r;
	return r;
}

/* Bumps each contract v provides once per stamp: a reload's new and old
 * versions provide the same contracts, and a counter moves by one per bump
 * (so it is odd exactly while a change is under way). A contract nobody
 * asked the counter of has none: nobody reads it, since reading makes it. */
static void bump_contracts(pp_runtime *rt, const pp_bundle_version *v, uint64_t stamp)
{
	for (const pp_contract_node *n = v ? v->contracts : NULL; n; n = n->next) {
		pp_contract_revision *r = contract_revision(rt, n->iface.contract_id, false);
		if (r && r->bumped != stamp) {
			r->bumped = stamp;
			atomic_fetch_add_explicit(&r->value, 1, memory_order_acq_rel);
		}
	}
}

void pp__bump_revisions(pp_runtime *rt, const pp_bundle_version *const *vs, size_t n)
{
	uint64_t stamp = atomic_load_explicit(&rt->revision, memory_order_relaxed) + 1;
	for (size_t i = 0; i < n; i++)
		bump_contracts(rt, vs[i], stamp);
	atomic_fetch_add_explicit(&rt->revision, 1, memory_order_acq_rel);
}

const uint64_t *pp_contract_revision_counter(pp_runtime *rt, uint64_t contract_id)
{
	pthread_mutex_lock(&rt->lock);
	pp_contract_revision *r = contract_revision(rt, contract_id, true);
	pthread_mutex_unlock(&rt->lock);
	return r ? (const uint64_t *)(const void *)&r->value : pp_revision_counter(rt);
}

const uint64_t *pp_revision_counter(pp_runtime *rt)
{
	/* _Atomic uint64_t has the representation of uint64_t on every target we
	 * support; readers load it with acquire ordering. */
	return (const uint64_t *)(const void *)&rt->revision;
}

void pp_runtime_stats(pp_runtime *rt, pp_stats *out)
{
	pthread_mutex_lock(&rt->lock);
	out->bundles = rt->bundle_count;
	out->contracts = rt->reg.published;
	pp_host_table *t = atomic_load_explicit(&rt->hosts, memory_order_acquire);
	out->host_contracts = t ? (uint32_t)t->count : 0;
	pthread_mutex_unlock(&rt->lock);
	out->pending_reclaims = atomic_load_explicit(&rt->pending_reclaims, memory_order_relaxed);
	out->reclaimed = atomic_load_explicit(&rt->reclaimed, memory_order_relaxed);
}

/* ---- Contract layouts the host declares ------------------------------------ */

typedef struct pp_declared_layouts {
	uint64_t contract_id;
	uint32_t count;
	pp_fn_layout *layouts;
} pp_declared_layouts;

pp_status pp_contract_declare_layouts(pp_runtime *rt, uint64_t contract_id,
                                      const pp_fn_layout *layouts, uint32_t count)
{
	if (!rt)
		return PP_ERR_INVALID_ARGUMENT;
	if ((!layouts && count) || count > PP_MAX_CONTRACT_FUNCTIONS)
		return pp__error(rt, PP_ERR_INVALID_ARGUMENT,
		                 "pp_contract_declare_layouts: %u layouts at %p (at most %u)",
		                 count, (const void *)layouts, PP_MAX_CONTRACT_FUNCTIONS);
	pp_fn_layout *copy = malloc(((size_t)count + 1) * sizeof *copy);
	if (!copy)
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	/* the sizes are what a JS provider is held to; the pointers inside
	 * args are the callers' business */
	for (uint32_t i = 0; i < count; i++)
		copy[i] = (pp_fn_layout){layouts[i].args_size, layouts[i].out_size,
		                         PP_LAYOUT_NO_ARENA, 0, NULL};
	pthread_mutex_lock(&rt->lock);
	pp_declared_layouts *d = NULL;
	for (size_t i = 0; i < rt->declared_count && !d; i++)
		if (rt->declared[i].contract_id == contract_id)
			d = &rt->declared[i];
	if (!d) {
		pp_declared_layouts *more =
		        realloc(rt->declared, (rt->declared_count + 1) * sizeof *more);
		if (more) {
			rt->declared = more;
			d = &more[rt->declared_count++];
			d->layouts = NULL;
		}
	}
	if (d) {
		free(d->layouts);
		*d = (pp_declared_layouts){contract_id, count, copy};
	}
	pthread_mutex_unlock(&rt->lock);
	if (!d) {
		free(copy);
		return pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory");
	}
	return PP_OK;
}

pp_status pp__declared_layouts(pp_runtime *rt, uint64_t contract_id, pp_fn_layout **out,
                               uint32_t *count)
{
	bool declared = false;
	*out = NULL;
	*count = 0;
	pthread_mutex_lock(&rt->lock);
	for (size_t i = 0; i < rt->declared_count && !declared; i++) {
		const pp_declared_layouts *d = &rt->declared[i];
		if (d->contract_id != contract_id)
			continue;
		declared = true;
		*out = malloc(((size_t)d->count + 1) * sizeof **out);
		if (*out) {
			memcpy(*out, d->layouts, (size_t)d->count * sizeof **out);
			*count = d->count;
		}
	}
	pthread_mutex_unlock(&rt->lock);
	return declared && !*out ? pp__error(rt, PP_ERR_OUT_OF_MEMORY, "out of memory") : PP_OK;
}

/* ---- Lifetime ------------------------------------------------------------- */

pp_status pp_runtime_new(const pp_runtime_config *cfg, pp_runtime **out)
{
	if (!out)
		return PP_ERR_INVALID_ARGUMENT;
	*out = NULL;
	pp_runtime *rt = calloc(1, sizeof *rt);
	if (!rt)
		return PP_ERR_OUT_OF_MEMORY;
	pp_runtime_config_init(&rt->cfg);
	if (cfg) {
		/* members the host's struct lacks keep their defaults */
		size_t at;
		pp_status st = pp__take_grown(&rt->cfg, sizeof rt->cfg, cfg,
		                              offsetof(pp_runtime_config, js.concurrency),
		                              PP_RUNTIME_CONFIG_V2_SIZE, &at);
		if (st != PP_OK) {
			free(rt);
			return st; /* no version's size, or a newer member set */
		}
	}
	if (!rt->cfg.log_level)
		rt->cfg.log_level = rt->cfg.log ? PP_LOG_INFO : PP_LOG_WARN;
	if (!rt->cfg.js.memory_bytes)
		rt->cfg.js.memory_bytes = PP_JS_DEFAULT_MEMORY_BYTES;
	if (!rt->cfg.js.stack_bytes)
		rt->cfg.js.stack_bytes = PP_JS_DEFAULT_STACK_BYTES;
	if (!rt->cfg.js.cpu_ms)
		rt->cfg.js.cpu_ms = PP_JS_DEFAULT_CPU_MS;
	if ((rt->cfg.alloc == NULL) != (rt->cfg.free == NULL) ||
	    rt->cfg.js.memory_mode > PP_JS_MEMORY_DECLARED ||
	    rt->cfg.js.concurrency > PP_JS_MAX_CONCURRENCY) {
		free(rt);
		return PP_ERR_INVALID_ARGUMENT; /* an allocator needs both halves */
	}
	if (!have_thread_key()) {
		free(rt);
		return PP_ERR_OUT_OF_MEMORY;
	}
	pthread_mutex_init(&rt->lock, NULL);
	pthread_cond_init(&rt->idle, NULL);
	pthread_mutex_init(&rt->tstate_lock, NULL);
	pthread_mutex_init(&rt->look_lock, NULL);
	atomic_init(&rt->revision, 0);
	atomic_init(&rt->hosts, NULL);
	atomic_init(&rt->next_instance_id, 1);
	pp_status st = pp__watchdog_init(rt);
	bool watchdog = st == PP_OK;
	bool registry = watchdog && (st = pp__registry_init(rt)) == PP_OK;
	if (!registry || (st = pp__grace_init(rt)) != PP_OK) {
		if (registry)
			pp__registry_destroy(rt);
		if (watchdog)
			pp__watchdog_shutdown(rt);
		pthread_mutex_destroy(&rt->lock);
		pthread_cond_destroy(&rt->idle);
		pthread_mutex_destroy(&rt->tstate_lock);
		pthread_mutex_destroy(&rt->look_lock);
		free(rt);
		return st;
	}
	rt->loaders[rt->loader_count++] = &pp_native_loader;
	rt->loaders[rt->loader_count++] = &pp_js_loader;
	pp__host_api_init(rt);
	if (env_log_level() == UINT32_MAX)
		pp__log(rt, PP_LOG_WARN, "runtime",
		        "POLYPLUG_LOG='%s' is none of error, warn, info, debug, trace (or 1-5); "
		        "ignored",
		        getenv("POLYPLUG_LOG"));
	*out = rt;
	return PP_OK;
}

/* pp_runtime_free's last word on the thread states: this thread's and those
 * of threads gone are freed; a thread still alive keeps its own, orphaned,
 * and frees it (its exit, or its next look at its list). A thread exiting
 * right now finishes first. Nothing else uses the runtime by now. */
static void release_states(pp_runtime *rt)
{
	pp_tstate *mine = thread_state(rt);
	if (mine) { /* off this thread's list: freed below like a free state */
		pp_tstate *head = pthread_getspecific(thread_key);
		pp_tstate **link = &head;
		while (*link != mine)
			link = &(*link)->thread_next;
		*link = mine->thread_next;
		pthread_setspecific(thread_key, head);
		mine->in_use = false;
	}
	pthread_mutex_lock(&rt->tstate_lock);
	for (pp_tstate **link = &rt->tstates; *link;) {
		pp_tstate *ts = *link, *next = ts->next;
		/* Threads still alive may have us cached: not any more. */
		pp_runtime *expect = rt;
		pp__thread_cache *slot = atomic_load_explicit(&ts->tls, memory_order_relaxed);
		if (slot)
			__atomic_compare_exchange_n(&slot->rt, &expect, PP_TLS_EMPTY, false,
			                            __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		if (!ts->in_use) {
			*link = next;
			free_state(ts);
			continue;
		}
		int live = TS_LIVE;
		if (atomic_compare_exchange_strong(&ts->life, &live, TS_ORPHANED)) {
			*link = next; /* its thread's now: not touched again */
			continue;
		}
		/* its thread is exiting: it waits for this lock, then gives the
		 * state back; look again */
		pthread_mutex_unlock(&rt->tstate_lock);
		sched_yield();
		pthread_mutex_lock(&rt->tstate_lock);
	}
	pthread_mutex_unlock(&rt->tstate_lock);
}

void pp_runtime_free(pp_runtime *rt)
{
	if (!rt)
		return;
	pthread_mutex_lock(&rt->lock);
	rt->closing = true; /* plugin code run from here on cannot load bundles */
	pthread_mutex_unlock(&rt->lock);
	pp_watch_stop(rt);
	pp__bundles_unload_all(rt);
	/* Plugin teardown (shutdowns, instance destroys) runs on the reclaimer
	 * and may still use host contracts: the host's go only after it. */
	do
		pp_runtime_quiesce(rt);
	while (atomic_load_explicit(&rt->pending_reclaims, memory_order_acquire) != 0);
	pp__host_contracts_destroy(rt);
	pp__grace_shutdown(rt);    /* reclaims everything retired, then stops */
	pp__watchdog_shutdown(rt); /* after the last VM is gone */
	pp__registry_destroy(rt);

	for (size_t i = 0; i < rt->contract_rev_count; i++)
		free(rt->contract_revs[i]);
	free(rt->contract_revs);
	for (size_t i = 0; i < rt->declared_count; i++)
		free(rt->declared[i].layouts);
	free(rt->declared);
	for (size_t i = 0; i < rt->plugin_dir_count; i++)
		free(rt->plugin_dirs[i]);
	free(rt->plugin_dirs);
	release_states(rt);
	pthread_mutex_destroy(&rt->tstate_lock);
	pthread_mutex_destroy(&rt->look_lock);
	pthread_cond_destroy(&rt->idle);
	pthread_mutex_destroy(&rt->lock);
	free(rt);
}

const pp_host_api *pp_runtime_host_api(pp_runtime *rt)
{
	return &rt->host;
}
