/* SPDX-License-Identifier: MIT */
/*
 * Exported, callable copies of every inline helper in the public headers,
 * for bindings (ctypes, cffi, Rust, Go) that cannot use C inline functions.
 * With SDRV_INLINE empty the headers' helpers become external definitions
 * here; every other translation unit keeps them static inline.
 */
/* Definitions without a separate prototype are the point here. */
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#define SDRV_INLINE SDRV_API
#include <splitdrv/ring.h>
#include <splitdrv/proto/xs_wire.h>
