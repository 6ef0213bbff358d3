/*
 * ptrset.c — a set of pointers that counts repeats (ptrset.h).
 *
 * Open addressing with linear probing in a power-of-two table. Lookups take
 * no lock, so a table is never rearranged under them: a slot, once given a
 * key, is never empty again (but in a rewrite in place, which a sequence
 * count covers), so no probe chain breaks. Removing a key drops
 * its count to 0; the slot then answers 0, and goes to the key itself if it
 * is added again, or to the next new key whose chain passes it. When keys
 * would fill half the table, counting removed ones, or live ones fall below
 * an eighth of it (the smallest table stays, even empty), the set builds a
 * table of the live keys alone, with room for four times as many. One of
 * another size is published and the old one handed to the owner's retire
 * hook: a lookup still probing the old table finds what it held when it
 * was replaced. One of the same size (removed keys piled up: adds and
 * removes at a level) is copied over the old one in place, under a
 * sequence count, so a host making and destroying an instance per request
 * never makes the runtime wait for a grace period. A table at most half
 * full always has an empty slot, so every probe ends.
 *
 * Ordering: a key stored in an empty slot is stored after its count
 * (release), so a lookup that sees the key sees its count. A removed slot
 * given to a new key gets the key first and then its count (release); a
 * lookup reads the count before it reads the key again (pp__ptrset_count),
 * so a count it reads belongs to the key it then sees. A table is filled
 * before it is published (release). The hash is Fibonacci hashing of the address:
 * allocators hand out addresses that differ in a few middle bits, and the
 * multiply spreads those over the whole word.
 *
 * Each key keeps the order its owner gave the add that brought it in (the
 * registry destroys a version's leftover instances by it).
 *
 * A pointer here is only a key: the set never reads through it, so a
 * plugin's pointer, however bad, is safe to look up.
 */
#include <stdint.h>
#include <stdlib.h>

#include "ptrset.h"

#define MIN_CAP 16u

/* pp__ptrset_probe for the owner, whose table, at most half full, always
 * has the slot. */
static pp_ptrset_slot *probe(pp_ptrset_table *t, const void *p)
{
	pp_ptrset_slot *at = pp__ptrset_probe(t, p);
	if (!at)
		abort(); /* a table past half full: a bug here, not a plugin's doing */
	return at;
}

/* The first slot of p's chain whose key was removed, or NULL. */
static pp_ptrset_slot *first_removed(pp_ptrset_table *t, const void *p)
{
	size_t mask = t->cap - 1;
	for (size_t i = pp__ptrset_home(t, p);; i = (i + 1) & mask) {
		pp_ptrset_slot *at = &t->slots[i];
		if (!atomic_load_explicit(&at->key, memory_order_relaxed))
			return NULL;
		if (!atomic_load_explicit(&at->count, memory_order_relaxed))
			return at;
	}
}

static void publish(pp_ptrset *s, pp_ptrset_table *t)
{
	pp_ptrset_table *old = atomic_load_explicit(&s->table, memory_order_relaxed);
	atomic_store_explicit(&s->table, t, memory_order_release);
	if (old && s->retire)
		s->retire(s->ctx, old);
	else
		free(old);
}

/* Replaces the table by one of the live keys alone, with room for four
 * times as many as there will be after one more add; false if out of
 * memory (the set is then unchanged). A table of the same size is
 * rewritten in place, between two bumps of seq, so that nothing waits for
 * a grace period: a lookup that overlaps the rewrite sees seq move and
 * looks again (pp__ptrset_lookup). It is emptied first, so a probe that
 * overlaps the rewrite still finds an empty slot and ends. */
static bool rebuild(pp_ptrset *s)
{
	size_t cap = MIN_CAP;
	while (cap / 4 < s->live + 1) {
		if (cap > SIZE_MAX / 4 / sizeof(pp_ptrset_slot))
			return false;
		cap *= 2;
	}
	pp_ptrset_table *t = calloc(1, sizeof *t + cap * sizeof(pp_ptrset_slot));
	if (!t)
		return false;
	t->cap = cap;
	pp_ptrset_table *old = atomic_load_explicit(&s->table, memory_order_relaxed);
	for (size_t i = 0; old && i < old->cap; i++) {
		size_t n = atomic_load_explicit(&old->slots[i].count, memory_order_relaxed);
		if (!n)
			continue;
		const void *k = atomic_load_explicit(&old->slots[i].key, memory_order_relaxed);
		pp_ptrset_slot *to = probe(t, k);
		to->order = old->slots[i].order;
		atomic_store_explicit(&to->count, n, memory_order_relaxed);
		atomic_store_explicit(&to->key, k, memory_order_relaxed);
	}
	s->dead = 0;
	if (!old || old->cap != cap) {
		publish(s, t);
		return true;
	}
	atomic_fetch_add_explicit(&s->seq, 1, memory_order_acq_rel); /* odd */
	for (int pass = 0; pass < 2; pass++)                         /* emptied, then filled */
		for (size_t i = 0; i < cap; i++) {
			pp_ptrset_slot *from = &t->slots[i], *to = &old->slots[i];
			size_t n =
			        pass ? atomic_load_explicit(&from->count, memory_order_relaxed) : 0;
			const void *k =
			        pass ? atomic_load_explicit(&from->key, memory_order_relaxed)
			             : NULL;
			to->order = from->order;
			atomic_store_explicit(&to->count, n, memory_order_release);
			atomic_store_explicit(&to->key, k, memory_order_release);
		}
	atomic_fetch_add_explicit(&s->seq, 1, memory_order_release);
	free(t);
	return true;
}

bool pp__ptrset_add(pp_ptrset *s, const void *p, uint64_t order)
{
	pp_ptrset_table *t = atomic_load_explicit(&s->table, memory_order_relaxed);
	pp_ptrset_slot *at = t ? probe(t, p) : NULL;
	if (at && atomic_load_explicit(&at->key, memory_order_relaxed)) {
		size_t n = atomic_load_explicit(&at->count, memory_order_relaxed);
		if (n == 0) { /* removed before: live again, in the same slot */
			s->live++;
			s->dead--;
			at->order = order;
		}
		/* a count of SIZE_MAX adds would need as many calls */
		atomic_store_explicit(&at->count, n + 1, memory_order_release);
		return true;
	}
	pp_ptrset_slot *removed = t ? first_removed(t, p) : NULL;
	if (removed) {
		removed->order = order;
		atomic_store_explicit(&removed->key, p, memory_order_relaxed);
		atomic_store_explicit(&removed->count, 1, memory_order_release);
		s->dead--;
		s->live++;
		return true;
	}
	if (!t || (s->live + s->dead + 1) * 2 > t->cap) {
		if (!rebuild(s))
			return false;
		t = atomic_load_explicit(&s->table, memory_order_relaxed);
	}
	at = probe(t, p); /* the empty slot ending p's chain */
	at->order = order;
	atomic_store_explicit(&at->count, 1, memory_order_relaxed);
	atomic_store_explicit(&at->key, p, memory_order_release);
	s->live++;
	return true;
}

bool pp__ptrset_remove(pp_ptrset *s, const void *p)
{
	pp_ptrset_table *t = atomic_load_explicit(&s->table, memory_order_relaxed);
	pp_ptrset_slot *at = t ? probe(t, p) : NULL;
	size_t n = at ? atomic_load_explicit(&at->count, memory_order_relaxed) : 0;
	if (!n)
		return false;
	atomic_store_explicit(&at->count, n - 1, memory_order_release);
	if (n > 1)
		return true;
	s->live--;
	s->dead++;
	if (t->cap > MIN_CAP && s->live * 8 < t->cap)
		(void)rebuild(s); /* out of memory: stays as large */
	return true;
}

void pp__ptrset_clear(pp_ptrset *s)
{
	free(atomic_load_explicit(&s->table, memory_order_relaxed));
	atomic_store_explicit(&s->table, NULL, memory_order_relaxed);
	s->live = s->dead = 0;
}
