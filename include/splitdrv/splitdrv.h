/* SPDX-License-Identifier: MIT */
/**
 * @file splitdrv.h
 * @brief Umbrella header: includes every public libsplitdrv header.
 */
#ifndef SPLITDRV_SPLITDRV_H
#define SPLITDRV_SPLITDRV_H

#include <splitdrv/common.h>
#include <splitdrv/barrier.h>
#include <splitdrv/ring.h>
#include <splitdrv/grant.h>

#endif /* SPLITDRV_SPLITDRV_H */
