/* SPDX-License-Identifier: MIT */
/**
 * @file grant.h
 * @brief Grant tables in Xen's v1 layout, and the atomic steps on them.
 *
 * A grant table is an array of 8-byte entries owned by the granting domain.
 * An entry says "domain D may access my frame F, read-only or read-write".
 * The mapping side (the hypervisor on Xen; the transport elsewhere) marks an
 * entry GTF_reading / GTF_writing while the frame is mapped, and the owner
 * can end access only in one atomic step that fails while either bit is
 * set (XSA-396: never query-then-end). These functions are those steps,
 * freestanding, for transports that emulate grant tables in shared memory.
 *
 * Both sides treat the table as hostile: the owner may flip flags while the
 * mapper pins an entry, and a mapper may set bits the owner did not expect.
 * Every compare-and-swap loop on shared memory is bounded (as Xen bounds
 * its own), so neither side can make the other spin forever.
 */
#ifndef SPLITDRV_GRANT_H
#define SPLITDRV_GRANT_H

#include <splitdrv/barrier.h>
#include <splitdrv/common.h>

SDRV_BEGIN_DECLS

/** @brief A grant reference: an index into the owner's grant table. */
typedef uint32_t sdrv_grant_ref_t;
/** @brief A domain id. */
typedef uint16_t sdrv_domid_t;

/** @brief Xen's grant_entry_v1: 8 bytes, 512 per page. */
struct sdrv_grant_entry {
	uint16_t flags; /**< GTF_* type and status bits. */
	uint16_t domid; /**< The domain allowed to map the frame. */
	uint32_t frame; /**< The frame (in a POSIX pool: the page index). */
};

/** @name Grant entry flags (Xen's GTF_*)
 * @{ */
#define SDRV_GTF_INVALID	 0u	   /**< Type: unused entry. */
#define SDRV_GTF_PERMIT_ACCESS	 1u	   /**< Type: domid may map frame. */
#define SDRV_GTF_ACCEPT_TRANSFER 2u	   /**< Type: page transfer (not supported). */
#define SDRV_GTF_TRANSITIVE	 3u	   /**< Type: transitive grant (v2 only). */
#define SDRV_GTF_TYPE_MASK	 3u	   /**< Mask of the type bits. */
#define SDRV_GTF_READONLY	 (1u << 2) /**< Owner: mapping side may only read. */
#define SDRV_GTF_READING	 (1u << 3) /**< Mapper: the frame is mapped. */
#define SDRV_GTF_WRITING	 (1u << 4) /**< Mapper: the frame is mapped writable. */
#define SDRV_GTF_SUB_PAGE	 (1u << 8) /**< v2 sub-page grant (refused for mapping). */
/** @} */

/** @brief Grant entries in one 4 KiB page. */
#define SDRV_GRANTS_PER_PAGE (4096u / sizeof(struct sdrv_grant_entry))
/** @brief Refs 0..7 are reserved (console, xenstore), as in Xen. */
#define SDRV_GNTTAB_NR_RESERVED 8u
/** @brief How often a CAS on a shared entry is retried before giving up. */
#define SDRV_GNTTAB_MAX_RETRIES 4

/**
 * @brief Owner: grant `domid` access to `frame` through entry `ref`.
 *
 * Writes domid and frame, then (after a write barrier) the flags, as Xen's
 * protocol requires. The entry must be unused (type invalid, no status bits).
 *
 * @param tab      the owner's table
 * @param nr       entries in the table
 * @param ref      the entry, >= SDRV_GNTTAB_NR_RESERVED
 * @param domid    the domain allowed to map
 * @param frame    what is granted
 * @param readonly whether the mapper may only read
 * @return 0, -SDRV_EINVAL (bad ref), or -SDRV_EBUSY (entry in use)
 */
SDRV_API int sdrv_gnttab_grant(struct sdrv_grant_entry *tab, uint32_t nr, sdrv_grant_ref_t ref,
			       sdrv_domid_t domid, uint32_t frame, bool readonly);

/**
 * @brief Owner: end access in one atomic step.
 *
 * Succeeds only if the entry is not mapped (neither GTF_reading nor
 * GTF_writing) at the instant it is cleared; afterwards the mapper can no
 * longer pin it. On failure the frame must not be reused or freed.
 *
 * @return 0, -SDRV_EBUSY if the peer still has it mapped (or keeps changing
 *         it), -SDRV_EINVAL if `ref` is out of range or not a grant
 */
SDRV_API int sdrv_gnttab_end(struct sdrv_grant_entry *tab, uint32_t nr, sdrv_grant_ref_t ref);

/**
 * @brief Owner: whether entry `ref` is currently mapped by its grantee.
 *
 * Informational only: it may change right after it is read. Use
 * sdrv_gnttab_end() to revoke.
 */
SDRV_API bool sdrv_gnttab_in_use(const struct sdrv_grant_entry *tab, uint32_t nr,
				 sdrv_grant_ref_t ref);

/**
 * @brief Mapper: pin entry `ref` of a foreign table for domain `me`.
 *
 * Checks, on one atomic snapshot of flags and domid, that the entry permits
 * access, names `me`, and allows writing if
 * `write`; then sets GTF_reading (and GTF_writing) with a compare-and-swap,
 * retried at most SDRV_GNTTAB_MAX_RETRIES times. The frame is read after the
 * pin succeeds, once.
 *
 * `already_pinned` says the caller holds another mapping of the same ref (it
 * keeps the counts, as Xen's active table does); the entry's type and domid
 * are then not re-checked, exactly as in Xen.
 *
 * @param tab   the foreign table (shared memory: hostile)
 * @param nr    entries in it
 * @param ref   a value that came from the peer
 * @param me    the mapping domain
 * @param write whether to map writable
 * @param already_pinned whether the caller already holds a pin on it
 * @param frame out: the granted frame (unchecked: the caller bounds it)
 * @return 0, -SDRV_EINVAL (bad ref), -SDRV_EPERM (not granted to `me`,
 *         wrong type, or write to a read-only grant), -SDRV_EBUSY (entry kept
 *         changing under us)
 */
SDRV_API int sdrv_gnttab_pin(struct sdrv_grant_entry *tab, uint32_t nr, sdrv_grant_ref_t ref,
			     sdrv_domid_t me, bool write, bool already_pinned, uint32_t *frame);

/**
 * @brief Mapper: drop status bits after the last mapping of a kind is gone.
 *
 * Clears GTF_writing if `clear_writing` and GTF_reading if `clear_reading`
 * (the caller clears reading only when no mapping at all remains). Bounded
 * like sdrv_gnttab_pin().
 *
 * @return 0, -SDRV_EINVAL, or -SDRV_EBUSY
 */
SDRV_API int sdrv_gnttab_unpin(struct sdrv_grant_entry *tab, uint32_t nr, sdrv_grant_ref_t ref,
			       bool clear_writing, bool clear_reading);

SDRV_END_DECLS

#endif /* SPLITDRV_GRANT_H */
