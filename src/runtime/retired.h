/*
 * retired.h — what an unpublished object carries until a grace period
 * (grace.c) lets it be reclaimed. Apart from internal.h so that the
 * structures below the runtime (ptrset.h) can embed one.
 */
#ifndef PP_RETIRED_H
#define PP_RETIRED_H

#include <stdint.h>

typedef struct pp_runtime pp_runtime;

/* Something unpublished that may be freed once no reader can still see it.
 * Each retired object is self-contained: it is safe to reclaim after any
 * grace period that began after it was unpublished, in any order. */
typedef struct pp_retired {
	struct pp_retired *next;
	uint64_t seq;
	void (*reclaim)(pp_runtime *rt, struct pp_retired *r);
} pp_retired;

#endif
