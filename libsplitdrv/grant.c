/* SPDX-License-Identifier: MIT */
/*
 * Grant-table steps on a table in shared memory. Freestanding.
 *
 * Flags and domid are read and swapped together as one 32-bit word, so a
 * check of both and the update of the status bits are one atomic step, as
 * in Xen's own grant-table code.
 */
#include <splitdrv/grant.h>

union combo {
	struct {
		uint16_t flags;
		uint16_t domid;
	} f;
	uint32_t word;
};

#define BUSY_BITS (SDRV_GTF_READING | SDRV_GTF_WRITING)

static uint32_t *word_of(struct sdrv_grant_entry *e)
{
	return (uint32_t *)(void *)e;
}

static union combo load_combo(struct sdrv_grant_entry *e)
{
	union combo c;
	c.word = SDRV_LOAD_ACQUIRE(word_of(e));
	return c;
}

static bool cas_combo(struct sdrv_grant_entry *e, union combo *old, union combo new_c)
{
	return __atomic_compare_exchange_n(word_of(e), &old->word, new_c.word, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE);
}

static bool bad_ref(uint32_t nr, sdrv_grant_ref_t ref)
{
	return ref >= nr;
}

int sdrv_gnttab_grant(struct sdrv_grant_entry *tab, uint32_t nr, sdrv_grant_ref_t ref,
		      sdrv_domid_t domid, uint32_t frame, bool readonly)
{
	struct sdrv_grant_entry *e;

	if (!tab || bad_ref(nr, ref) || ref < SDRV_GNTTAB_NR_RESERVED)
		return -SDRV_EINVAL;
	e = &tab[ref];
	if (load_combo(e).f.flags != 0)
		return -SDRV_EBUSY;
	SDRV_STORE_ONCE(&e->domid, domid);
	SDRV_STORE_ONCE(&e->frame, frame);
	/* domid and frame are visible before the entry becomes valid. */
	SDRV_STORE_RELEASE(&e->flags,
			   (uint16_t)(SDRV_GTF_PERMIT_ACCESS | (readonly ? SDRV_GTF_READONLY : 0)));
	return 0;
}

int sdrv_gnttab_end(struct sdrv_grant_entry *tab, uint32_t nr, sdrv_grant_ref_t ref)
{
	struct sdrv_grant_entry *e;
	union combo old, cleared;

	if (!tab || bad_ref(nr, ref))
		return -SDRV_EINVAL;
	e = &tab[ref];
	old = load_combo(e);
	for (int i = 0; i <= SDRV_GNTTAB_MAX_RETRIES; i++) {
		if ((old.f.flags & SDRV_GTF_TYPE_MASK) != SDRV_GTF_PERMIT_ACCESS)
			return -SDRV_EINVAL;
		if (old.f.flags & BUSY_BITS)
			return -SDRV_EBUSY;
		cleared = old;
		cleared.f.flags = 0;
		if (cas_combo(e, &old, cleared))
			return 0;
		/* `old` now holds what changed under us: look again. */
	}
	return -SDRV_EBUSY;
}

bool sdrv_gnttab_in_use(const struct sdrv_grant_entry *tab, uint32_t nr, sdrv_grant_ref_t ref)
{
	if (!tab || bad_ref(nr, ref))
		return false;
	return (SDRV_LOAD_ACQUIRE(&tab[ref].flags) & BUSY_BITS) != 0;
}

int sdrv_gnttab_pin(struct sdrv_grant_entry *tab, uint32_t nr, sdrv_grant_ref_t ref,
		    sdrv_domid_t me, bool write, bool already_pinned, uint32_t *frame)
{
	struct sdrv_grant_entry *e;
	union combo old, pinned;

	if (!tab || !frame || bad_ref(nr, ref))
		return -SDRV_EINVAL;
	e = &tab[ref];
	old = load_combo(e);
	for (int i = 0; i <= SDRV_GNTTAB_MAX_RETRIES; i++) {
		if (!already_pinned &&
		    ((old.f.flags & SDRV_GTF_TYPE_MASK) != SDRV_GTF_PERMIT_ACCESS ||
		     old.f.domid != me))
			return -SDRV_EPERM;
		pinned = old;
		pinned.f.flags |= SDRV_GTF_READING;
		if (write) {
			if (old.f.flags & SDRV_GTF_READONLY)
				return -SDRV_EPERM;
			pinned.f.flags |= SDRV_GTF_WRITING;
		}
		if (pinned.word == old.word || cas_combo(e, &old, pinned)) {
			*frame = SDRV_LOAD_ONCE(&e->frame);
			return 0;
		}
	}
	/* The owner changes the entry faster than we can pin it. */
	return -SDRV_EBUSY;
}

int sdrv_gnttab_unpin(struct sdrv_grant_entry *tab, uint32_t nr, sdrv_grant_ref_t ref,
		      bool clear_writing, bool clear_reading)
{
	struct sdrv_grant_entry *e;
	union combo old, cleared;
	uint16_t mask = (uint16_t)((clear_writing ? SDRV_GTF_WRITING : 0) |
				   (clear_reading ? SDRV_GTF_READING : 0));

	if (!tab || bad_ref(nr, ref))
		return -SDRV_EINVAL;
	e = &tab[ref];
	old = load_combo(e);
	for (int i = 0; i <= SDRV_GNTTAB_MAX_RETRIES; i++) {
		cleared = old;
		cleared.f.flags &= (uint16_t)~mask;
		if (cleared.word == old.word || cas_combo(e, &old, cleared))
			return 0;
	}
	return -SDRV_EBUSY;
}
