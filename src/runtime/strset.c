/*
 * strset.c — a set of strings with a number each (strset.h).
 *
 * Open addressing with linear probing in a power-of-two table kept at most
 * half full, so every probe ends at an empty slot. Removing a key moves the
 * keys after it in its chain back (no tombstones), so a set whose keys come
 * and go (a directory's entries made and deleted) never fills with the dead.
 * The hash is FNV-1a from a random start, finished with splitmix64's mix:
 * names are a plugin's choice, and names made to share a chain under a
 * known hash would make the watcher's lookups quadratic again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "internal.h"
#include "strset.h"

#define MIN_CAP 16u

static size_t home(const pp_strset *s, const char *key)
{
	uint64_t h = pp_fnv1a64_update(s->seed, key, strlen(key));
	h = (h ^ (h >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	h = (h ^ (h >> 27)) * UINT64_C(0x94D049BB133111EB);
	return (size_t)(h ^ (h >> 31)) & (s->cap - 1);
}

/* The slot holding key, or the empty one where it would go (cap > 0). */
static pp_strset_slot *probe(const pp_strset *s, const char *key)
{
	size_t mask = s->cap - 1;
	for (size_t i = home(s, key);; i = (i + 1) & mask)
		if (!s->slots[i].key || strcmp(s->slots[i].key, key) == 0)
			return &s->slots[i];
}

/* Twice the room (or the first table); false if out of memory. */
static bool grow(pp_strset *s)
{
	size_t cap = s->cap ? s->cap * 2 : MIN_CAP;
	if (cap > SIZE_MAX / sizeof(pp_strset_slot))
		return false;
	pp_strset_slot *slots = calloc(cap, sizeof *slots);
	if (!slots)
		return false;
	uint64_t seed = s->seed;
	if (!s->cap && getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
		seed = (uint64_t)(uintptr_t)slots ^ ((uint64_t)time(NULL) << 32);
	pp_strset bigger = {slots, cap, s->count, seed};
	for (size_t i = 0; i < s->cap; i++)
		if (s->slots[i].key)
			*probe(&bigger, s->slots[i].key) = s->slots[i];
	free(s->slots);
	*s = bigger;
	return true;
}

size_t *pp__strset_get(const pp_strset *s, const char *key)
{
	pp_strset_slot *at = s->cap ? probe(s, key) : NULL;
	return at && at->key ? &at->value : NULL;
}

bool pp__strset_put(pp_strset *s, const char *key, size_t value)
{
	size_t *there = pp__strset_get(s, key);
	if (there) {
		*there = value;
		return true;
	}
	if ((s->count + 1) * 2 > s->cap && !grow(s))
		return false;
	pp_strset_slot *at = probe(s, key);
	if (!(at->key = pp__strdup(key)))
		return false;
	at->value = value;
	s->count++;
	return true;
}

bool pp__strset_remove(pp_strset *s, const char *key)
{
	pp_strset_slot *at = s->cap ? probe(s, key) : NULL;
	if (!at || !at->key)
		return false;
	free(at->key);
	at->key = NULL;
	s->count--;
	/* The keys after the hole in its chain move back into it when their
	 * own chain passes it, so a probe never stops short of them. */
	size_t mask = s->cap - 1, hole = (size_t)(at - s->slots);
	for (size_t i = (hole + 1) & mask; s->slots[i].key; i = (i + 1) & mask) {
		size_t h = home(s, s->slots[i].key);
		/* h lies cyclically in (hole, i]: the key stays */
		bool stays = hole < i ? hole < h && h <= i : hole < h || h <= i;
		if (stays)
			continue;
		s->slots[hole] = s->slots[i];
		s->slots[i].key = NULL;
		hole = i;
	}
	return true;
}

void pp__strset_clear(pp_strset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slots[i].key);
	free(s->slots);
	*s = (pp_strset){NULL, 0, 0, 0};
}
