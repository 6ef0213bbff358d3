/*
 * tsan.h — ThreadSanitizer annotations, in TSan builds only. TSan sees the
 * release/acquire pairs of our grace periods, but not the ordering a fence
 * gives a pointer published before it; where that matters we tell it, on one
 * per-runtime address.
 */
#ifndef PP_TSAN_H
#define PP_TSAN_H

#if defined(PP_SANITIZE_THREAD)
#include <sanitizer/tsan_interface.h>
#define PP_TSAN_RELEASE(addr) __tsan_release((void *)(addr))
#define PP_TSAN_ACQUIRE(addr) __tsan_acquire((void *)(addr))
#else
#define PP_TSAN_RELEASE(addr) ((void)(addr))
#define PP_TSAN_ACQUIRE(addr) ((void)(addr))
#endif

#endif
