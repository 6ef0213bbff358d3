/*
 * rcu.h — the runtime's use of liburcu (bulletproof flavour, so host threads
 * need no registration), plus ThreadSanitizer annotations: TSan cannot see the
 * ordering a grace period or liburcu's lock-free publication provides, so we
 * tell it, on one per-runtime address, in TSan builds only.
 */
#ifndef PP_RCU_H
#define PP_RCU_H

#include <urcu-bp.h>
#include <urcu/rculfhash.h>

#if defined(PP_SANITIZE_THREAD)
#include <sanitizer/tsan_interface.h>
#define PP_TSAN_RELEASE(addr) __tsan_release((void *)(addr))
#define PP_TSAN_ACQUIRE(addr) __tsan_acquire((void *)(addr))
#else
#define PP_TSAN_RELEASE(addr) ((void)(addr))
#define PP_TSAN_ACQUIRE(addr) ((void)(addr))
#endif

#endif
