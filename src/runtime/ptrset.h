/*
 * ptrset.h — a set of pointers that counts repeats: what the runtime keeps
 * to recognise a pointer a plugin hands back (an instance it made, an
 * interface the host table is given) in constant time, however many there
 * are. One thread changes a set at a time (its owner's lock); lookups may
 * run on any thread meanwhile, without a lock. See ptrset.c.
 */
#ifndef PP_PTRSET_H
#define PP_PTRSET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "retired.h"

typedef struct pp_ptrset_slot {
	_Atomic(const void *) key; /* NULL: never used since the table was built */
	_Atomic size_t count;      /* times added and not yet removed; 0: removed */
	uint64_t order;            /* the owner's, from the add that raised count from 0 */
} pp_ptrset_slot;

typedef struct pp_ptrset_table {
	pp_retired retired; /* for the owner's retire hook */
	size_t cap;         /* a power of two */
	pp_ptrset_slot slots[];
} pp_ptrset_table;

typedef struct pp_ptrset {
	_Atomic(pp_ptrset_table *) table; /* NULL before the first add (kept when empty) */
	_Atomic unsigned seq;             /* odd while the table is rewritten in place */
	size_t live, dead;                /* slots whose count is above 0 / is 0 */
	/* Given each table the set stops using. NULL: freed at once, for a set
	 * whose lookups all hold the owner's lock. Otherwise the hook frees it
	 * once no lookup can still be in it (a grace period). */
	void (*retire)(void *ctx, pp_ptrset_table *t);
	void *ctx;
} pp_ptrset;

/* Adds p (not NULL) once more; false, and the set unchanged, if out of
 * memory. order is the owner's (kept with p from the add that brings it in
 * until it is removed as often; ptrset_slot.order). */
bool pp__ptrset_add(pp_ptrset *s, const void *p, uint64_t order);
/* Removes p once; false if it is not in the set. */
bool pp__ptrset_remove(pp_ptrset *s, const void *p);
/* How many times p is in the set (0: not), for the set's owner (holding
 * its lock). Below, inline. */
static inline size_t pp__ptrset_count(const pp_ptrset *s, const void *p);
/* The same on any thread, without the lock while the set is not being
 * rewritten in place (then with it: lock is the owner's). Below, inline
 * for pp_call. */
static inline size_t pp__ptrset_lookup(const pp_ptrset *s, const void *p, pthread_mutex_t *lock);
/* Empties the set, freeing its table at once: no lookup may be running. */
void pp__ptrset_clear(pp_ptrset *s);

/* Where p's chain starts. */
static inline size_t pp__ptrset_home(const pp_ptrset_table *t, const void *p)
{
	uint64_t h = (uint64_t)(uintptr_t)p * UINT64_C(0x9E3779B97F4A7C15);
	return (size_t)(h ^ (h >> 32)) & (t->cap - 1);
}

/* The slot holding p, or the empty slot where it would go. The owner's
 * table always has one; a lookup overlapping a rewrite in place, which
 * could in theory find every slot full as it passes, gives up after one
 * lap (NULL), and its sequence check sends it round again. */
static inline pp_ptrset_slot *pp__ptrset_probe(pp_ptrset_table *t, const void *p)
{
	size_t mask = t->cap - 1;
	for (size_t i = pp__ptrset_home(t, p), step = 0; step <= mask; i = (i + 1) & mask, step++) {
		const void *k = atomic_load_explicit(&t->slots[i].key, memory_order_acquire);
		if (!k || k == p)
			return &t->slots[i];
	}
	return NULL;
}

/* A lookup that races an add or a remove sees the set before or after it;
 * one that races a rewrite in place may see neither, which
 * pp__ptrset_lookup's sequence check catches. */
static inline size_t pp__ptrset_count(const pp_ptrset *s, const void *p)
{
	pp_ptrset_table *t = atomic_load_explicit(&s->table, memory_order_acquire);
	pp_ptrset_slot *at = t ? pp__ptrset_probe(t, p) : NULL;
	if (!at)
		return 0;
	size_t n = atomic_load_explicit(&at->count, memory_order_acquire);
	/* The key again, after the count: the slot may have been given another
	 * key since the probe (an empty one, or p's removed one), whose count
	 * this is (ptrset.c, "Ordering"). */
	return atomic_load_explicit(&at->key, memory_order_acquire) == p ? n : 0;
}

static inline size_t pp__ptrset_lookup(const pp_ptrset *s, const void *p, pthread_mutex_t *lock)
{
	for (int tries = 0; tries < 4; tries++) {
		unsigned seq = atomic_load_explicit(&s->seq, memory_order_acquire);
		if (seq & 1)
			continue;
		size_t n = pp__ptrset_count(s, p);
		/* count's loads acquire, so this one cannot come before them */
		if (atomic_load_explicit(&s->seq, memory_order_relaxed) == seq)
			return n;
	}
	/* a rewrite is under way (the owner holds the lock for it): wait */
	pthread_mutex_lock(lock);
	size_t n = pp__ptrset_count(s, p);
	pthread_mutex_unlock(lock);
	return n;
}

#endif
