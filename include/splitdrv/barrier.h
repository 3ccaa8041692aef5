/* SPDX-License-Identifier: MIT */
/**
 * @file barrier.h
 * @brief Memory ordering primitives used by the ring core.
 *
 * Defaults come from the GCC/Clang `__atomic` builtins (C11 memory model).
 * An embedder that has its own primitives (a kernel, a hypervisor) defines
 * SDRV_HAVE_CUSTOM_BARRIERS and every macro below before including any
 * libsplitdrv header; the Linux kernel module maps them onto READ_ONCE(),
 * smp_load_acquire(), smp_store_release() and virt_mb().
 *
 * Every access to a field of shared memory that the peer may write goes
 * through one of these macros, so the compiler cannot fetch it twice.
 */
#ifndef SPLITDRV_BARRIER_H
#define SPLITDRV_BARRIER_H

#include <splitdrv/common.h>

#ifndef SDRV_HAVE_CUSTOM_BARRIERS

/** @brief Load a 32-bit shared index exactly once, no ordering. */
#define SDRV_LOAD_ONCE(p) __atomic_load_n((p), __ATOMIC_RELAXED)
/** @brief Store a 32-bit shared index exactly once, no ordering. */
#define SDRV_STORE_ONCE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
/** @brief Load, then order all later loads and stores after it (load + rmb). */
#define SDRV_LOAD_ACQUIRE(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
/** @brief Order all earlier loads and stores before this store (wmb + store). */
#define SDRV_STORE_RELEASE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
/** @brief Compiler barrier: no memory access moves across it. */
#define SDRV_BARRIER() __asm__ __volatile__("" ::: "memory")

/**
 * @brief Full barrier: earlier stores are visible before later loads.
 *
 * On x86-64 a locked add to the stack is a full barrier for ordinary
 * write-back memory and cheaper than mfence (Linux uses the same for
 * smp_mb()); elsewhere the C11 sequentially consistent fence.
 */
#if defined(__x86_64__) && defined(__GNUC__)
#define SDRV_MB() __asm__ __volatile__("lock; addl $0,-4(%%rsp)" ::: "memory", "cc")
#else
#define SDRV_MB() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif

#endif /* SDRV_HAVE_CUSTOM_BARRIERS */

#endif /* SPLITDRV_BARRIER_H */
