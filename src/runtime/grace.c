/*
 * grace.c — grace periods and deferred reclamation, per runtime.
 *
 * Readers (calls, finds, resolves) run in read sections: on entry a thread
 * publishes the runtime's current epoch in its pp_tstate, on exit it stores
 * 0. A writer unpublishes an object (swaps a pointer) and retires it; the
 * runtime's own reclaimer thread then advances the epoch and waits until
 * every thread of this runtime is either outside a section or entered one
 * after the advance — a grace period — before freeing what it took.
 * Retirements of a burst gather first, to share one grace period.
 *
 * Why not a process-wide RCU library: its grace periods wait for every
 * reader in the process, so a long plugin call in one runtime stalled the
 * reclamation (and pp_runtime_quiesce) of every other, and its callbacks ran
 * plugin shutdowns on a worker shared with other libraries. Here a runtime
 * waits only for its own readers, and plugin teardown runs on its thread.
 *
 * Ordering: with membarrier(2) (PRIVATE_EXPEDITED) the writer forces a full
 * barrier on every running thread, so a reader's entry needs only a compiler
 * barrier; without it, readers use a fence. Either way: a reader whose entry
 * the writer's scan did not see reads the new state; one it did see is
 * waited for. Epochs are 64-bit and only grow, so a stale snapshot always
 * reads as "before".
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static int membarrier(int cmd)
{
	return (int)syscall(__NR_membarrier, cmd, 0, 0);
}

bool pp__try_heavy_fence(pp_runtime *rt)
{
	if (!rt->hot.membarrier) {
		PP_FULL_FENCE(rt);
		return true;
	}
	for (int tries = 0; membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0; tries++)
		if (errno != EINTR || tries == 100)
			return false; /* e.g. a seccomp filter on this thread alone */
	return true;
}

void pp__heavy_fence(pp_runtime *rt)
{
	/* Readers skip their fence because of this call: it cannot be replaced
	 * by a local one. It does not fail once registration succeeded, unless
	 * the reclaimer thread itself is filtered. */
	if (!pp__try_heavy_fence(rt)) {
		fprintf(stderr, "polyplug: membarrier failed after registration: %s\n",
		        strerror(errno));
		abort();
	}
}

static void backoff(unsigned *round)
{
	if (*round < 64) {
		sched_yield();
	} else {
		unsigned shift = *round - 64 < 7 ? *round - 64 : 7; /* 8 µs .. 1 ms */
		struct timespec ts = {0, 8000L << shift};
		nanosleep(&ts, NULL);
	}
	(*round)++;
}

void pp__synchronize(pp_runtime *rt)
{
	pthread_mutex_lock(&rt->gp_lock);
	uint64_t target = __atomic_add_fetch(&rt->hot.epoch, 1, __ATOMIC_SEQ_CST);
	pp__heavy_fence(rt);
	/* The list only grows at its head (thread states are reused, never
	 * unlinked before pp_runtime_free); a thread added after this snapshot
	 * reads the new epoch. No lock is held while waiting, so a thread's
	 * first call never waits for someone else's long call. */
	pthread_mutex_lock(&rt->tstate_lock);
	pp_tstate *first = rt->tstates;
	pthread_mutex_unlock(&rt->tstate_lock);
	for (pp_tstate *ts = first; ts; ts = ts->next) {
		unsigned round = 0;
		for (;;) {
			uint64_t e = __atomic_load_n(&ts->rd.epoch, __ATOMIC_ACQUIRE);
			if (e == 0 || e >= target)
				break;
			backoff(&round);
		}
	}
	pp__heavy_fence(rt);
	PP_TSAN_ACQUIRE(&rt->hot.tsan_sync);
	pthread_mutex_unlock(&rt->gp_lock);
}

/* ---- The reclaimer thread ------------------------------------------------- */

void pp__retire(pp_runtime *rt, pp_retired *r, void (*fn)(pp_runtime *rt, pp_retired *r))
{
	r->reclaim = fn;
	r->next = NULL;
	PP_TSAN_RELEASE(&rt->hot.tsan_sync);
	atomic_fetch_add_explicit(&rt->pending_reclaims, 1, memory_order_relaxed);
	pthread_mutex_lock(&rt->rq_lock);
	r->seq = ++rt->rq_retired;
	if (pp__on_reclaimer(rt))
		rt->rq_followups++; /* part of what is being reclaimed now */
	*rt->rq_tail = r;
	rt->rq_tail = &r->next;
	if (!rt->rq_gathering) /* it takes this one with the rest */
		pthread_cond_signal(&rt->rq_work);
	pthread_mutex_unlock(&rt->rq_lock);
}

/* How long a retirement may wait for others to share its grace period. */
#define GATHER_NS 1000000L

/* A burst of retirements (a directory of bundles loading, each publish
 * retiring the registry's index; a reload loop) shares one grace period:
 * each period costs a membarrier — an interrupt on every CPU running a
 * thread of this process — and a scan of the readers. So the reclaimer,
 * woken for one retirement, lets others gather for up to GATHER_NS before
 * it starts, unless a thread waits in pp_runtime_quiesce or the runtime is
 * stopping. What is retired meanwhile does not wake it. Holds rq_lock. */
static void gather(pp_runtime *rt)
{
	struct timespec until = pp__deadline(CLOCK_MONOTONIC, GATHER_NS);
	rt->rq_gathering = true;
	while (!rt->rq_stop && !rt->rq_waiters &&
	       pthread_cond_timedwait(&rt->rq_work, &rt->rq_lock, &until) != ETIMEDOUT)
		;
	rt->rq_gathering = false;
}

/* Takes the whole queue (caller holds rq_lock). */
static pp_retired *take_all(pp_runtime *rt)
{
	pp_retired *batch = rt->rq_head;
	rt->rq_head = NULL;
	rt->rq_tail = &rt->rq_head;
	rt->rq_followups = 0;
	return batch;
}

static void *reclaimer_main(void *arg)
{
	pp_runtime *rt = arg;
	pthread_mutex_lock(&rt->rq_lock);
	for (;;) {
		while (!rt->rq_head && !rt->rq_stop)
			pthread_cond_wait(&rt->rq_work, &rt->rq_lock);
		if (!rt->rq_head)
			break; /* stopping, and nothing left */
		gather(rt);
		uint64_t last;
		/* What a reclamation retires in turn (a VM after its version)
		 * belongs to it: the batch counts as done only once that is
		 * reclaimed too, so quiesce covers it. */
		do {
			last = rt->rq_retired;
			pp_retired *batch = take_all(rt);
			pthread_mutex_unlock(&rt->rq_lock);
			pp__synchronize(rt);
			while (batch) {
				pp_retired *r = batch;
				batch = r->next;
				r->reclaim(rt, r); /* may free r; may retire more */
				atomic_fetch_add_explicit(&rt->reclaimed, 1, memory_order_relaxed);
				atomic_fetch_sub_explicit(&rt->pending_reclaims, 1,
				                          memory_order_release);
			}
			PP_TSAN_RELEASE(&rt->hot.tsan_sync);
			pthread_mutex_lock(&rt->rq_lock);
		} while (rt->rq_followups);
		rt->rq_reclaimed = last;
		pthread_cond_broadcast(&rt->rq_done);
	}
	pthread_mutex_unlock(&rt->rq_lock);
	return NULL;
}

bool pp__on_reclaimer(pp_runtime *rt)
{
	return pthread_equal(pthread_self(), rt->reclaimer);
}

pp_status pp__grace_init(pp_runtime *rt)
{
	rt->hot.epoch = 1;
	atomic_init(&rt->pending_reclaims, 0);
	atomic_init(&rt->reclaimed, 0);
	rt->rq_head = NULL;
	rt->rq_tail = &rt->rq_head;
	/* Registering is per process and idempotent; a kernel without it (or a
	 * sandbox that forbids it) leaves readers on fences. */
#if defined(PP_SANITIZE_THREAD)
	rt->hot.membarrier = false; /* TSan sees fences (its stand-in), not membarrier */
#else
	rt->hot.membarrier = membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
#endif
	rt->hot.fence_word = 0;
	pthread_mutex_init(&rt->gp_lock, NULL);
	pthread_mutex_init(&rt->rq_lock, NULL);
	if (!pp__cond_init_monotonic(&rt->rq_work)) { /* gather() waits on that clock */
		pthread_mutex_destroy(&rt->rq_lock);
		pthread_mutex_destroy(&rt->gp_lock);
		return PP_ERR_UNSUPPORTED;
	}
	pthread_cond_init(&rt->rq_done, NULL);
	if (pthread_create(&rt->reclaimer, NULL, reclaimer_main, rt) != 0) {
		pthread_cond_destroy(&rt->rq_done);
		pthread_cond_destroy(&rt->rq_work);
		pthread_mutex_destroy(&rt->rq_lock);
		pthread_mutex_destroy(&rt->gp_lock);
		return PP_ERR_OUT_OF_MEMORY;
	}
	return PP_OK;
}

void pp__grace_shutdown(pp_runtime *rt)
{
	pthread_mutex_lock(&rt->rq_lock);
	rt->rq_stop = true;
	pthread_cond_signal(&rt->rq_work);
	pthread_mutex_unlock(&rt->rq_lock);
	pthread_join(rt->reclaimer, NULL);
	PP_TSAN_ACQUIRE(&rt->hot.tsan_sync);
	pthread_cond_destroy(&rt->rq_done);
	pthread_cond_destroy(&rt->rq_work);
	pthread_mutex_destroy(&rt->rq_lock);
	pthread_mutex_destroy(&rt->gp_lock);
}

pp_status pp_runtime_quiesce(pp_runtime *rt)
{
	pp_tstate *ts = pp__tstate_peek(rt);
	if (ts && ts->rd.nest)
		return pp__error(rt, PP_ERR_REENTRANT_CALL,
		                 "pp_runtime_quiesce called from inside a plugin call");
	if (pp__on_reclaimer(rt))
		return pp__error(
		        rt, PP_ERR_REENTRANT_CALL,
		        "pp_runtime_quiesce called from a plugin's teardown (the runtime's "
		        "reclaimer thread)");
	/* A thread with a bundle busy (in an on_reload callback) may hold up a
	 * plugin thread that waits its turn for that bundle, while a shutdown
	 * the reclaimer runs waits for that plugin thread. */
	if (ts && ts->claims)
		return pp__error(rt, PP_ERR_REENTRANT_CALL,
		                 "pp_runtime_quiesce called while this thread has a bundle busy "
		                 "(from a lifecycle callback)");
	/* What was retired before this call; what reclamation itself retires
	 * meanwhile is not waited for, so churn elsewhere cannot livelock us. */
	pthread_mutex_lock(&rt->rq_lock);
	uint64_t target = rt->rq_retired;
	if (rt->rq_reclaimed < target) {
		rt->rq_waiters++;
		/* rq_waiters keeps the reclaimer from gathering while we wait;
		 * the signal ends a gathering already under way */
		pthread_cond_signal(&rt->rq_work);
		while (rt->rq_reclaimed < target)
			pthread_cond_wait(&rt->rq_done, &rt->rq_lock);
		rt->rq_waiters--;
	}
	pthread_mutex_unlock(&rt->rq_lock);
	PP_TSAN_ACQUIRE(&rt->hot.tsan_sync);
	return PP_OK;
}
