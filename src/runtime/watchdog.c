/*
 * watchdog.c — a per-runtime thread that looks at registered objects on a
 * period, for limits that the thread being limited cannot enforce alone.
 *
 * Its one user today is the JS loader: QuickJS checks a VM's CPU limit only
 * when it polls its interrupt handler, which it does once every 10000
 * polls; a loop whose every iteration is a long builtin (a scan of a large
 * string) would take minutes to get there. Each tick, the loader's check
 * asks a VM that has stayed in one call since the previous tick to poll at
 * once (JS_RequestInterrupt, from our QuickJS patch), and the handler, on
 * the VM's own thread, measures and enforces the limit.
 *
 * The thread starts with the first registration, so a runtime that never
 * loads a JS bundle never has it, and sleeps without a timeout while
 * nothing is registered. Checks run on it with the watchdog's lock held:
 * they must be short and never block; pp__watchdog_remove returning means
 * the check of that object is not running and will not run again.
 */
#include <time.h>

#include "internal.h"

static uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *watchdog_main(void *arg)
{
	pp_runtime *rt = arg;
	uint64_t next_tick = 0;
	pthread_mutex_lock(&rt->wd_lock);
	while (!rt->wd_stop) {
		if (!rt->wd_list) {
			next_tick = 0;
			rt->wd_period = 0;
			pthread_cond_wait(&rt->wd_wake, &rt->wd_lock);
			continue;
		}
		uint64_t period = UINT64_MAX;
		for (pp_watched *w = rt->wd_list; w; w = w->next)
			if (w->period_ns < period)
				period = w->period_ns;
		rt->wd_period = period;
		uint64_t now = monotonic_ns();
		if (!next_tick || next_tick > now + period)
			next_tick = now + period; /* first tick, or a shorter period arrived */
		if (now < next_tick) {
			/* Woken early by a registration: the tick keeps its time, so
			 * registrations cannot starve the checks. */
			struct timespec until = {(time_t)(next_tick / 1000000000u),
			                         (long)(next_tick % 1000000000u)};
			pthread_cond_timedwait(&rt->wd_wake, &rt->wd_lock, &until);
			continue;
		}
		for (pp_watched *w = rt->wd_list; w; w = w->next)
			w->check(w);
		next_tick = now + period;
	}
	pthread_mutex_unlock(&rt->wd_lock);
	return NULL;
}

pp_status pp__watchdog_init(pp_runtime *rt)
{
	if (!pp__cond_init_monotonic(&rt->wd_wake))
		return PP_ERR_UNSUPPORTED; /* its deadlines are on the monotonic clock */
	pthread_mutex_init(&rt->wd_lock, NULL);
	return PP_OK;
}

pp_status pp__watchdog_add(pp_runtime *rt, pp_watched *w)
{
	pp_status st = PP_OK;
	pthread_mutex_lock(&rt->wd_lock);
	if (!rt->wd_started) {
		if (pthread_create(&rt->wd_thread, NULL, watchdog_main, rt) == 0)
			rt->wd_started = true;
		else
			st = pp__error(rt, PP_ERR_OUT_OF_MEMORY,
			               "cannot start the runtime's watchdog thread");
	}
	if (st == PP_OK) {
		w->next = rt->wd_list;
		rt->wd_list = w;
		/* Woken only to tick sooner: a wake costs the registering thread
		 * more than the rest of a registration, and a directory of
		 * bundles with one CPU limit registers many at once. */
		if (!rt->wd_period || w->period_ns < rt->wd_period)
			pthread_cond_signal(&rt->wd_wake);
	}
	pthread_mutex_unlock(&rt->wd_lock);
	return st;
}

void pp__watchdog_remove(pp_runtime *rt, pp_watched *w)
{
	pthread_mutex_lock(&rt->wd_lock);
	for (pp_watched **p = &rt->wd_list; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			break;
		}
	}
	pthread_mutex_unlock(&rt->wd_lock);
}

void pp__watchdog_shutdown(pp_runtime *rt)
{
	pthread_mutex_lock(&rt->wd_lock);
	rt->wd_stop = true;
	pthread_cond_signal(&rt->wd_wake);
	bool started = rt->wd_started;
	pthread_mutex_unlock(&rt->wd_lock);
	if (started)
		pthread_join(rt->wd_thread, NULL);
	pthread_cond_destroy(&rt->wd_wake);
	pthread_mutex_destroy(&rt->wd_lock);
}
