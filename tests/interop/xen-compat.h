/* SPDX-License-Identifier: MIT */
/*
 * Includes Xen's public ring headers (Debian libxen-dev) for the interop
 * tests. Xen's io/ring.h leaves the memory barriers to its includer; these
 * are the ones a Linux x86 guest uses (only the full barrier emits an
 * instruction on x86, where stores are not reordered with stores nor loads
 * with loads); other architectures get full fences throughout.
 *
 * Xen's macros access the shared page with plain loads and stores; the
 * tests that poll with them keep a barrier (xen_rmb) or a function call in
 * every polling loop so the compiler reloads the shared index, as Xen's
 * own drivers do.
 */
#ifndef SDRV_TESTS_XEN_COMPAT_H
#define SDRV_TESTS_XEN_COMPAT_H

#include <stdint.h>
#include <string.h>

/* Select the current interface version, as Xen's own tools do; with the
 * default (0) io/ring.h maps xen_mb() onto an mb() nobody defines. */
#ifndef __XEN_TOOLS__
#define __XEN_TOOLS__ 1
#endif

#define xen_mb() __sync_synchronize()
#if defined(__x86_64__) || defined(__i386__)
#define xen_rmb() __asm__ __volatile__("" ::: "memory")
#define xen_wmb() __asm__ __volatile__("" ::: "memory")
#else
#define xen_rmb() __sync_synchronize()
#define xen_wmb() __sync_synchronize()
#endif

#include <xen/io/ring.h>
#include <xen/io/blkif.h>
#include <xen/io/netif.h>
#include <xen/io/protocols.h>
#include <xen/io/xs_wire.h>
#include <xen/io/xenbus.h>

#endif
