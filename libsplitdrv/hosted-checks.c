/* SPDX-License-Identifier: MIT */
/*
 * Build-time checks that need the hosted C library: the core's own error
 * codes (common.h) must equal the platform's errno values, so that callers
 * can hand them to strerror(). This file contains no code.
 */
#include <errno.h>
#include <splitdrv/common.h>

_Static_assert(SDRV_EPERM == EPERM, "EPERM");
_Static_assert(SDRV_ENOENT == ENOENT, "ENOENT");
_Static_assert(SDRV_EAGAIN == EAGAIN, "EAGAIN");
_Static_assert(SDRV_ENOMEM == ENOMEM, "ENOMEM");
_Static_assert(SDRV_EBUSY == EBUSY, "EBUSY");
_Static_assert(SDRV_EINVAL == EINVAL, "EINVAL");
_Static_assert(SDRV_ENOSPC == ENOSPC, "ENOSPC");
_Static_assert(SDRV_ERANGE == ERANGE, "ERANGE");
_Static_assert(SDRV_EPROTO == EPROTO, "EPROTO");
_Static_assert(SDRV_EOVERFLOW == EOVERFLOW, "EOVERFLOW");
_Static_assert(SDRV_EIO == EIO, "EIO");
_Static_assert(SDRV_E2BIG == E2BIG, "E2BIG");
_Static_assert(SDRV_EACCES == EACCES, "EACCES");
_Static_assert(SDRV_EEXIST == EEXIST, "EEXIST");
_Static_assert(SDRV_EISDIR == EISDIR, "EISDIR");
_Static_assert(SDRV_EROFS == EROFS, "EROFS");
_Static_assert(SDRV_ENOSYS == ENOSYS, "ENOSYS");
_Static_assert(SDRV_ENOTEMPTY == ENOTEMPTY, "ENOTEMPTY");
_Static_assert(SDRV_EISCONN == EISCONN, "EISCONN");
_Static_assert(SDRV_EBADMSG == EBADMSG, "EBADMSG");
_Static_assert(SDRV_EMSGSIZE == EMSGSIZE, "EMSGSIZE");
_Static_assert(SDRV_EOPNOTSUPP == EOPNOTSUPP, "EOPNOTSUPP");
