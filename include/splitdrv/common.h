/* SPDX-License-Identifier: MIT */
/**
 * @file common.h
 * @brief Definitions shared by every public header: export markers, inline
 *        policy and the error codes the core returns.
 *
 * This header, like everything the ring core includes, needs only the
 * compiler's own freestanding headers (stdint.h, stddef.h, stdbool.h).
 */
#ifndef SPLITDRV_COMMON_H
#define SPLITDRV_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define SDRV_BEGIN_DECLS extern "C" {
#define SDRV_END_DECLS	 }
#else
/** @brief Opens a block of declarations with C linkage (`extern "C" {` in C++). */
#define SDRV_BEGIN_DECLS
/** @brief Closes a block opened by SDRV_BEGIN_DECLS. */
#define SDRV_END_DECLS
#endif

/**
 * @brief Marks a symbol exported from the shared library.
 *
 * The library is built with hidden visibility; only symbols marked with this
 * and listed in libsplitdrv.map are exported.
 */
#if defined(__GNUC__) && !defined(SDRV_STATIC_ONLY)
#define SDRV_API __attribute__((visibility("default")))
#else
#define SDRV_API
#endif

/**
 * @brief Storage class of the hot-path helpers in the public headers.
 *
 * By default they are `static inline`. The library compiles each header once
 * more with SDRV_INLINE defined empty (libsplitdrv/inline-copies.c), which
 * turns every helper into an exported, callable function of the same name for
 * bindings and languages that cannot use C inline functions.
 */
#ifndef SDRV_INLINE
#define SDRV_INLINE static inline
/** @brief Defined (to 1) when SDRV_INLINE is the default `static inline`. */
#define SDRV_INLINE_IS_STATIC 1
#endif

/**
 * @defgroup errors Error codes
 * @brief Negative return values of the core.
 *
 * The core is freestanding and cannot include errno.h, so it defines the
 * few codes it returns itself. They equal Linux's errno values (the hosted
 * part of the library checks this at build time), so on Linux `-SDRV_EPROTO`
 * is `-EPROTO` and strerror() can be used on them.
 * @{
 */
#define SDRV_EPERM	1   /**< Operation not permitted. */
#define SDRV_ENOENT	2   /**< No such entry. */
#define SDRV_EIO	5   /**< I/O error. */
#define SDRV_E2BIG	7   /**< Argument list (or message) too long. */
#define SDRV_EAGAIN	11  /**< Try again (nothing available now). */
#define SDRV_ENOMEM	12  /**< Out of memory. */
#define SDRV_EACCES	13  /**< Permission denied. */
#define SDRV_EBUSY	16  /**< Resource busy. */
#define SDRV_EEXIST	17  /**< Already exists. */
#define SDRV_EISDIR	21  /**< Is a directory. */
#define SDRV_EINVAL	22  /**< Invalid argument. */
#define SDRV_ENOSPC	28  /**< No space left (ring or table full). */
#define SDRV_EROFS	30  /**< Read-only. */
#define SDRV_ERANGE	34  /**< Value out of range. */
#define SDRV_ENOSYS	38  /**< Not implemented. */
#define SDRV_ENOTEMPTY	39  /**< Not empty. */
#define SDRV_EPROTO	71  /**< The peer broke the protocol; the object is broken. */
#define SDRV_EBADMSG	74  /**< Malformed message (a bad field in it). */
#define SDRV_EOVERFLOW	75  /**< Value too large for the type. */
#define SDRV_EMSGSIZE	90  /**< Message has a bad size or element count. */
#define SDRV_EOPNOTSUPP 95  /**< Operation not supported (by this device or peer). */
#define SDRV_EISCONN	106 /**< Already connected. */
/** @} */

#endif /* SPLITDRV_COMMON_H */
