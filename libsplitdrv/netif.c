/* SPDX-License-Identifier: MIT */
/*
 * The netif codec: transmit and receive packets, control requests and the
 * Toeplitz hash, between ring slots and the private descriptions of
 * proto/netif.h. Freestanding: nothing beyond what the compiler provides
 * (it may emit memcpy/memset).
 *
 * The rules are Linux's: xen-netback's xenvif_tx_build_gops(),
 * xenvif_get_extras(), xenvif_count_requests() and xenvif_set_skb_gso() for
 * what a frontend transmits; xen-netfront's xennet_get_responses(),
 * xennet_get_extras() and xennet_set_skb_gso() for what a backend delivers;
 * xen-netback's hash.c for the control ring. Each check below names the
 * Linux check it mirrors; doc/net.md lists them, and the deviations.
 *
 * Every decoder copies each slot it reads into a local structure, once, and
 * parses only that copy: even a caller that broke the contract and passed
 * shared memory would get one consistent snapshot of each slot (XSA-155).
 * Every encoder builds the slot in a zeroed local buffer and writes it
 * whole, then zeroes the rest of the caller's entry (XSA-216).
 */
#include <splitdrv/proto/netif.h>

#define TX_SZ	 SDRV_NETIF_TX_ENTRY_SIZE
#define RX_SZ	 SDRV_NETIF_RX_ENTRY_SIZE
#define CTRL_SZ	 SDRV_NETIF_CTRL_ENTRY_SIZE
#define PAGE	 SDRV_NETIF_PAGE_SIZE
#define EXTRA(t) SDRV_NETIF_EXTRA_BIT(t)

#define MCAST_BITS (EXTRA(SDRV_NETIF_EXTRA_TYPE_MCAST_ADD) | EXTRA(SDRV_NETIF_EXTRA_TYPE_MCAST_DEL))
#define DATA_BITS  (EXTRA(SDRV_NETIF_EXTRA_TYPE_GSO) | EXTRA(SDRV_NETIF_EXTRA_TYPE_HASH))
#define PKT_FLAGS  (SDRV_NETIF_PKT_CSUM_BLANK | SDRV_NETIF_PKT_DATA_VALIDATED)
#define HASH_TYPES                                                                                 \
	(SDRV_NETIF_CTRL_HASH_TYPE_IPV4 | SDRV_NETIF_CTRL_HASH_TYPE_IPV4_TCP |                     \
	 SDRV_NETIF_CTRL_HASH_TYPE_IPV6 | SDRV_NETIF_CTRL_HASH_TYPE_IPV6_TCP)
/* Largest hash type bit number (_XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP). */
#define HASH_TYPE_MAX 3u

/* The wire structures are exactly the slots the codec reads and writes. */
_Static_assert(sizeof(struct sdrv_netif_tx_request) == TX_SZ, "tx slot");
_Static_assert(sizeof(struct sdrv_netif_rx_response) == RX_SZ, "rx slot");
_Static_assert(sizeof(struct sdrv_netif_rx_request) == RX_SZ, "rx slot");
_Static_assert(sizeof(struct sdrv_netif_extra_info) <= RX_SZ, "extra fits every slot");
_Static_assert(sizeof(struct sdrv_netif_ctrl_request) == CTRL_SZ, "ctrl slot");
/* The private descriptions have no hidden padding: callers may compare
 * them with memcmp(), and nothing uninitialised is ever copied around. */
_Static_assert(sizeof(struct sdrv_netif_gso) == 6, "sdrv_netif_gso padding");
_Static_assert(sizeof(struct sdrv_netif_hash) == 8, "sdrv_netif_hash padding");
_Static_assert(sizeof(struct sdrv_netif_tx_frag) == 12, "sdrv_netif_tx_frag padding");
_Static_assert(sizeof(struct sdrv_netif_rx_frag) == 8, "sdrv_netif_rx_frag padding");
_Static_assert(sizeof(struct sdrv_netif_tx_pkt) ==
		   46 + 2 * SDRV_NETIF_TX_MAX_PACKET_SLOTS + 12 * SDRV_NETIF_TX_MAX_FRAGS,
	       "sdrv_netif_tx_pkt padding");
_Static_assert(offsetof(struct sdrv_netif_tx_pkt, frag) % 4 == 0, "tx frag alignment");
_Static_assert(sizeof(struct sdrv_netif_rx_pkt) == 32 + 8 * SDRV_NETIF_RX_MAX_FRAGS,
	       "sdrv_netif_rx_pkt padding");
_Static_assert(sizeof(struct sdrv_netif_ctrl_req) == 20, "sdrv_netif_ctrl_req padding");
/* Slot indices and counts fit the 16-bit members. */
_Static_assert(SDRV_NETIF_TX_MAX_PACKET_SLOTS < 0xFFFF, "tx slot count");
_Static_assert(SDRV_NETIF_RX_MAX_PACKET_SLOTS < 0xFFFF, "rx slot count");
/* Every data slot is one page at most, so a packet of SDRV_NETIF_RX_FATAL_SLOTS
 * slots cannot overflow the 32-bit sums below. */
_Static_assert((uint64_t)SDRV_NETIF_RX_FATAL_SLOTS *PAGE < UINT32_MAX, "rx size sum");

/* ------------------------------- bytes ---------------------------------- */

static void put32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t popcount16(uint32_t v)
{
	uint32_t n = 0;

	for (; v; v &= v - 1)
		n++;
	return n;
}

/* The `n`-th (from 0) extra type present in `bits`, in ascending order. */
static uint8_t nth_extra(uint32_t bits, uint32_t n)
{
	for (uint8_t t = 1; t < SDRV_NETIF_EXTRA_TYPE_MAX; t++)
		if ((bits & EXTRA(t)) && n-- == 0)
			return t;
	return SDRV_NETIF_EXTRA_TYPE_NONE;
}

/* --------------------------- extra-info slots ---------------------------- */

/* Keep a validated-by-type extra in the description's members. */
static void keep_extra(const struct sdrv_netif_extra_info *ex, struct sdrv_netif_gso *gso,
		       struct sdrv_netif_hash *hash, uint8_t *mcast_add, uint8_t *mcast_del)
{
	switch (ex->type) {
	case SDRV_NETIF_EXTRA_TYPE_GSO:
		gso->size = ex->u.gso.size;
		gso->type = ex->u.gso.type;
		gso->_pad0 = 0;
		gso->features = ex->u.gso.features;
		break;
	case SDRV_NETIF_EXTRA_TYPE_HASH:
		hash->value = get32le(ex->u.hash.value);
		hash->type = ex->u.hash.type;
		hash->algorithm = ex->u.hash.algorithm;
		hash->_pad0 = 0;
		break;
	case SDRV_NETIF_EXTRA_TYPE_MCAST_ADD:
		if (mcast_add)
			__builtin_memcpy(mcast_add, ex->u.mcast.addr, 6);
		break;
	case SDRV_NETIF_EXTRA_TYPE_MCAST_DEL:
		if (mcast_del)
			__builtin_memcpy(mcast_del, ex->u.mcast.addr, 6);
		break;
	default:
		break;
	}
}

/* The GSO rules of xenvif_set_skb_gso() / xennet_set_skb_gso(). */
static unsigned int gso_check(const struct sdrv_netif_gso *gso)
{
	if (gso->size == 0)
		return SDRV_NETIF_R_GSO_SIZE; /* "GSO size must not be zero" */
	if (gso->type != SDRV_NETIF_GSO_TYPE_TCPV4 && gso->type != SDRV_NETIF_GSO_TYPE_TCPV6)
		return SDRV_NETIF_R_GSO_TYPE; /* "Bad GSO type" */
	return SDRV_NETIF_R_NONE;
}

/* Build extra-info slot bytes for type `t` of a description. */
static void put_extra(uint8_t *b, uint8_t t, bool more, const struct sdrv_netif_gso *gso,
		      const struct sdrv_netif_hash *hash, const uint8_t *mcast_add,
		      const uint8_t *mcast_del)
{
	struct sdrv_netif_extra_info ex;

	__builtin_memset(&ex, 0, sizeof(ex));
	ex.type = t;
	ex.flags = more ? SDRV_NETIF_EXTRA_FLAG_MORE : 0;
	switch (t) {
	case SDRV_NETIF_EXTRA_TYPE_GSO:
		ex.u.gso.size = gso->size;
		ex.u.gso.type = gso->type;
		ex.u.gso.features = gso->features;
		break;
	case SDRV_NETIF_EXTRA_TYPE_HASH:
		ex.u.hash.type = hash->type;
		ex.u.hash.algorithm = hash->algorithm;
		put32le(ex.u.hash.value, hash->value);
		break;
	case SDRV_NETIF_EXTRA_TYPE_MCAST_ADD:
		__builtin_memcpy(ex.u.mcast.addr, mcast_add, 6);
		break;
	case SDRV_NETIF_EXTRA_TYPE_MCAST_DEL:
		__builtin_memcpy(ex.u.mcast.addr, mcast_del, 6);
		break;
	default:
		break;
	}
	__builtin_memcpy(b, &ex, sizeof(ex));
}

/* Copy a built slot into the caller's entry and zero the rest of it. */
static void put_slot(void *slot, size_t len, const uint8_t *b, size_t n)
{
	__builtin_memcpy(slot, b, n);
	__builtin_memset((uint8_t *)slot + n, 0, len - n);
}

/* ------------------------------- transmit ------------------------------- */

/* The caller's limits completed with the defaults: the fatal slot count. */
static int get_tx_limits(const struct sdrv_netif_tx_limits *in, uint32_t *fatal)
{
	struct sdrv_netif_tx_limits l;

	*fatal = SDRV_NETIF_TX_FATAL_SLOTS;
	if (!in)
		return 0;
	if (in->sz < sizeof(size_t))
		return -SDRV_EINVAL;
	__builtin_memset(&l, 0, sizeof(l));
	__builtin_memcpy(&l, in, in->sz < sizeof(l) ? in->sz : sizeof(l));
	if (l._pad0)
		return -SDRV_EINVAL;
	if (l.fatal_slots == 0)
		return 0;
	/* Below 18 it would refuse packets every backend must accept
	 * (XEN_NETIF_NR_SLOTS_MIN); above the maximum the description's
	 * slot_id[] would not hold a dropped packet's slots. */
	if (l.fatal_slots < SDRV_NETIF_TX_LEGACY_SLOTS_MAX ||
	    l.fatal_slots > SDRV_NETIF_TX_FATAL_SLOTS_MAX)
		return -SDRV_EINVAL;
	*fatal = l.fatal_slots;
	return 0;
}

static int tx_need_more(struct sdrv_netif_tx_pkt *pkt, size_t nr)
{
	__builtin_memset(pkt, 0, sizeof(*pkt));
	pkt->reason = SDRV_NETIF_R_NEED_MORE;
	pkt->nr_slots = (uint16_t)(nr + 1);
	return -SDRV_EAGAIN;
}

static int tx_fatal(struct sdrv_netif_tx_pkt *pkt, unsigned int reason, uint32_t read)
{
	__builtin_memset(pkt, 0, sizeof(*pkt));
	pkt->reason = (uint16_t)reason;
	pkt->nr_slots = (uint16_t)read;
	return -SDRV_EPROTO;
}

/* A dropped packet: what answering every slot needs, nothing else. */
static int tx_drop(struct sdrv_netif_tx_pkt *pkt, const struct sdrv_netif_tx_pkt *p,
		   unsigned int reason)
{
	__builtin_memset(pkt, 0, sizeof(*pkt));
	pkt->reason = (uint16_t)reason;
	pkt->nr_slots = p->nr_slots;
	pkt->nr_extras = p->nr_extras;
	__builtin_memcpy(pkt->slot_id, p->slot_id, sizeof(pkt->slot_id));
	return -SDRV_EBADMSG;
}

static uint16_t tx_flags_of(uint16_t wire)
{
	return (
	    uint16_t)(((wire & SDRV_NETTXF_CSUM_BLANK) ? SDRV_NETIF_PKT_CSUM_BLANK : 0) |
		      ((wire & SDRV_NETTXF_DATA_VALIDATED) ? SDRV_NETIF_PKT_DATA_VALIDATED : 0));
}

int sdrv_netif_tx_decode(const void *slots, size_t nr, const struct sdrv_netif_tx_limits *lim,
			 struct sdrv_netif_tx_pkt *pkt)
{
	const uint8_t *in = slots;
	struct sdrv_netif_tx_pkt p;
	struct sdrv_netif_tx_request first, tx;
	uint32_t fatal, k = 1, follow = 0, remaining, drop = SDRV_NETIF_R_NONE;
	bool more;

	if (!pkt)
		return -SDRV_EINVAL;
	__builtin_memset(pkt, 0, sizeof(*pkt));
	if (!slots || get_tx_limits(lim, &fatal) != 0)
		return -SDRV_EINVAL;
	if (nr == 0)
		return tx_need_more(pkt, 0);
	__builtin_memset(&p, 0, sizeof(p));
	/* One copy of each slot; from here on only the copies are read. */
	__builtin_memcpy(&first, in, sizeof(first));
	p.slot_id[0] = first.id;

	/* xenvif_get_extras(): the extra-info slots follow the first. */
	if (first.flags & SDRV_NETTXF_EXTRA_INFO) {
		struct sdrv_netif_extra_info ex;

		do {
			if (k >= nr) /* Linux: "Missing extra info", fatal */
				return tx_need_more(pkt, nr);
			__builtin_memcpy(&ex, in + (size_t)k * TX_SZ, sizeof(ex));
			k++;
			p.nr_extras++;
			/* "Invalid extra type": fatal in Linux netback. */
			if (ex.type == SDRV_NETIF_EXTRA_TYPE_NONE ||
			    ex.type >= SDRV_NETIF_EXTRA_TYPE_MAX)
				return tx_fatal(pkt, SDRV_NETIF_R_EXTRA_TYPE, k);
			/* Linux lets a repeated type overwrite the first; the
			 * codec refuses it, which also bounds the chain to four
			 * slots (a fifth must repeat a type). */
			if (p.extras & EXTRA(ex.type))
				return tx_fatal(pkt, SDRV_NETIF_R_EXTRA_REPEATED, k);
			p.extras |= (uint16_t)EXTRA(ex.type);
			keep_extra(&ex, &p.gso, &p.hash, p.mcast_add, p.mcast_del);
		} while (ex.flags & SDRV_NETIF_EXTRA_FLAG_MORE);
	}

	/* A multicast request is answered at once: Linux reads no data slots
	 * for it (whatever its flags say) and ignores its other extras. */
	if (p.extras & MCAST_BITS) {
		p.extras &= MCAST_BITS;
		__builtin_memset(&p.gso, 0, sizeof(p.gso));
		__builtin_memset(&p.hash, 0, sizeof(p.hash));
		p.nr_slots = (uint16_t)k;
		*pkt = p;
		return 0;
	}

	/* xenvif_count_requests(): the data slots after the first. */
	remaining = first.size;
	more = first.flags & SDRV_NETTXF_MORE_DATA;
	while (more) {
		/* "Malicious frontend using %d slots": fatal. Checked before
		 * waiting for more, so a caller never waits for more slots
		 * than SDRV_NETIF_TX_MAX_PACKET_SLOTS. */
		if (follow >= fatal)
			return tx_fatal(pkt, SDRV_NETIF_R_MALICIOUS, k);
		if (k >= nr) /* Linux: "Asked for %d slots but exceeds this limit" */
			return tx_need_more(pkt, nr);
		/* "Too many slots (%d) exceeding limit (%d), dropping packet":
		 * the rest is still read, so all of it is answered. */
		if (!drop && follow >= SDRV_NETIF_TX_LEGACY_SLOTS_MAX)
			drop = SDRV_NETIF_R_TOO_MANY;
		__builtin_memcpy(&tx, in + (size_t)k * TX_SZ, sizeof(tx));
		/* "Invalid tx request, slot size %u > remaining size %u": a
		 * frame of 64 KiB or more overflowed the first size. Not fatal
		 * (buggy frontends do it): drop. */
		if (!drop && tx.size > remaining)
			drop = SDRV_NETIF_R_SLOT_SIZE;
		if (!drop)
			remaining -= tx.size;
		/* "Cross page boundary": fatal, checked for every slot, also
		 * in a dropped packet and also for a slot of size 0. */
		if ((uint32_t)tx.offset + tx.size > PAGE)
			return tx_fatal(pkt, SDRV_NETIF_R_CROSS_PAGE, k + 1);
		p.slot_id[k] = tx.id;
		if (!drop) {
			struct sdrv_netif_tx_frag *f = &p.frag[1 + follow];

			f->gref = tx.gref;
			f->offset = tx.offset;
			f->size = tx.size;
			f->id = tx.id;
			f->slot = (uint16_t)k;
			/* XSA-448: an empty slot is a no-op; its grant is
			 * neither checked nor mapped. */
			if (tx.size == 0)
				p.nr_empty++;
		}
		more = tx.flags & SDRV_NETTXF_MORE_DATA;
		k++;
		follow++;
	}
	p.nr_slots = (uint16_t)k;
	if (drop)
		return tx_drop(pkt, &p, drop);

	/* xenvif_tx_build_gops(), on the first slot's own bytes (the size
	 * left after the others'): "Bad packet size" drops... */
	if (remaining < SDRV_NETIF_ETH_HLEN)
		return tx_drop(pkt, &p, SDRV_NETIF_R_RUNT);
	/* ... and crossing its page is fatal. */
	if ((uint32_t)first.offset + remaining > PAGE)
		return tx_fatal(pkt, SDRV_NETIF_R_CROSS_PAGE, k);
	/* xenvif_set_skb_gso(): failure "is fatal". */
	if (p.extras & EXTRA(SDRV_NETIF_EXTRA_TYPE_GSO)) {
		unsigned int r = gso_check(&p.gso);

		if (r)
			return tx_fatal(pkt, r, k);
	}
	/* A hash of an unknown type is ignored, as Linux does. */
	if ((p.extras & EXTRA(SDRV_NETIF_EXTRA_TYPE_HASH)) && p.hash.type > HASH_TYPE_MAX) {
		p.extras &= (uint16_t)~EXTRA(SDRV_NETIF_EXTRA_TYPE_HASH);
		__builtin_memset(&p.hash, 0, sizeof(p.hash));
	}
	p.frag[0].gref = first.gref;
	p.frag[0].offset = first.offset;
	p.frag[0].size = (uint16_t)remaining;
	p.frag[0].id = first.id;
	p.frag[0].slot = 0;
	p.nr_frags = (uint16_t)(1 + follow);
	p.size = first.size;
	p.flags = tx_flags_of(first.flags);
	*pkt = p;
	return 0;
}

static bool tx_status_ok(int16_t st)
{
	return st == SDRV_NETIF_RSP_OKAY || st == SDRV_NETIF_RSP_ERROR ||
	       st == SDRV_NETIF_RSP_DROPPED;
}

int sdrv_netif_tx_make_rsp(const struct sdrv_netif_tx_pkt *pkt, uint32_t k, int16_t status,
			   struct sdrv_netif_tx_response *rsp)
{
	if (!pkt || !rsp || pkt->nr_slots > SDRV_NETIF_TX_MAX_PACKET_SLOTS || k >= pkt->nr_slots ||
	    pkt->nr_extras > SDRV_NETIF_MAX_EXTRAS || !tx_status_ok(status))
		return -SDRV_EINVAL;
	if (k >= 1 && k <= pkt->nr_extras) {
		/* Linux make_tx_response(): XEN_NETIF_RSP_NULL for each extra. */
		rsp->id = 0;
		rsp->status = SDRV_NETIF_RSP_NULL;
		return 0;
	}
	rsp->id = pkt->slot_id[k];
	rsp->status = status;
	if (pkt->reason == SDRV_NETIF_R_NONE && k > pkt->nr_extras) {
		uint32_t i = k - pkt->nr_extras;

		/* XSA-448: an empty slot was a no-op, so it succeeded. */
		if (i < pkt->nr_frags && i < SDRV_NETIF_TX_MAX_FRAGS && pkt->frag[i].size == 0)
			rsp->status = SDRV_NETIF_RSP_OKAY;
	}
	return 0;
}

int sdrv_netif_tx_encode_rsp(const struct sdrv_netif_tx_response *rsp, void *slot, size_t len)
{
	struct sdrv_netif_tx_response r;

	if (!rsp || !slot || len < sizeof(r) ||
	    !(tx_status_ok(rsp->status) || rsp->status == SDRV_NETIF_RSP_NULL))
		return -SDRV_EINVAL;
	r.id = rsp->id;
	r.status = rsp->status;
	put_slot(slot, len, (const uint8_t *)&r, sizeof(r));
	return 0;
}

int16_t sdrv_netif_tx_status_for(int err)
{
	/* xenvif_tx_err() answers every slot of a dropped packet with ERROR. */
	return err == 0 ? SDRV_NETIF_RSP_OKAY : SDRV_NETIF_RSP_ERROR;
}

int sdrv_netif_tx_prepare(struct sdrv_netif_tx_pkt *pkt)
{
	struct sdrv_netif_tx_pkt q;
	uint32_t total = 0, extras, nx;

	if (!pkt || (pkt->flags & ~PKT_FLAGS))
		return -SDRV_EINVAL;
	extras = pkt->extras;
	__builtin_memset(&q, 0, sizeof(q));
	nx = popcount16(extras);
	if (pkt->nr_frags == 0) {
		/* A multicast request: a dummy slot and its extras. */
		if (!extras || (extras & ~MCAST_BITS) || pkt->flags)
			return -SDRV_EINVAL;
		if (extras & EXTRA(SDRV_NETIF_EXTRA_TYPE_MCAST_ADD))
			__builtin_memcpy(q.mcast_add, pkt->mcast_add, 6);
		if (extras & EXTRA(SDRV_NETIF_EXTRA_TYPE_MCAST_DEL))
			__builtin_memcpy(q.mcast_del, pkt->mcast_del, 6);
		q.slot_id[0] = pkt->slot_id[0];
		q.extras = (uint16_t)extras;
		q.nr_extras = (uint16_t)nx;
		q.nr_slots = (uint16_t)(1 + nx);
		*pkt = q;
		return 0;
	}
	/* What every backend accepts: XEN_NETIF_NR_SLOTS_MIN slots. */
	if (pkt->nr_frags > SDRV_NETIF_NR_SLOTS_MIN || (extras & ~DATA_BITS))
		return -SDRV_EINVAL;
	if (extras & EXTRA(SDRV_NETIF_EXTRA_TYPE_GSO)) {
		if (gso_check(&pkt->gso))
			return -SDRV_EINVAL;
		q.gso = pkt->gso;
		q.gso._pad0 = 0;
	}
	if (extras & EXTRA(SDRV_NETIF_EXTRA_TYPE_HASH)) {
		if (pkt->hash.type > HASH_TYPE_MAX)
			return -SDRV_EINVAL;
		q.hash = pkt->hash;
		q.hash._pad0 = 0;
	}
	for (uint32_t i = 0; i < pkt->nr_frags; i++) {
		const struct sdrv_netif_tx_frag *f = &pkt->frag[i];

		if (f->size == 0 || (uint32_t)f->offset + f->size > PAGE)
			return -SDRV_EINVAL;
		total += f->size;
	}
	if (pkt->frag[0].size < SDRV_NETIF_ETH_HLEN || total > SDRV_NETIF_MAX_TX_SIZE)
		return -SDRV_EINVAL;
	q.size = total;
	q.nr_frags = pkt->nr_frags;
	q.nr_extras = (uint16_t)nx;
	q.nr_slots = (uint16_t)(pkt->nr_frags + nx);
	q.flags = pkt->flags;
	q.extras = (uint16_t)extras;
	for (uint32_t i = 0; i < pkt->nr_frags; i++) {
		q.frag[i].gref = pkt->frag[i].gref;
		q.frag[i].offset = pkt->frag[i].offset;
		q.frag[i].size = pkt->frag[i].size;
		q.frag[i].id = pkt->frag[i].id;
		q.frag[i].slot = (uint16_t)(i == 0 ? 0 : nx + i);
		q.slot_id[q.frag[i].slot] = pkt->frag[i].id;
	}
	*pkt = q;
	return 0;
}

/* The slot counts of a prepared (or decoded) packet agree with each other. */
static bool tx_consistent(const struct sdrv_netif_tx_pkt *pkt)
{
	uint32_t data = pkt->nr_frags ? pkt->nr_frags - 1u : 0;

	return pkt->nr_frags <= SDRV_NETIF_TX_MAX_FRAGS &&
	       pkt->nr_extras <= SDRV_NETIF_MAX_EXTRAS &&
	       popcount16(pkt->extras) == pkt->nr_extras &&
	       (pkt->extras & ~(pkt->nr_frags ? DATA_BITS : MCAST_BITS)) == 0 &&
	       pkt->nr_slots == 1u + pkt->nr_extras + data;
}

int sdrv_netif_tx_encode_req(const struct sdrv_netif_tx_pkt *pkt, uint32_t k, void *slot,
			     size_t len)
{
	struct sdrv_netif_tx_request t;
	uint8_t b[TX_SZ];

	if (!pkt || !slot || len < TX_SZ || !tx_consistent(pkt) || k >= pkt->nr_slots)
		return -SDRV_EINVAL;
	__builtin_memset(b, 0, sizeof(b));
	__builtin_memset(&t, 0, sizeof(t));
	if (k == 0) {
		if (pkt->nr_frags) {
			const struct sdrv_netif_tx_frag *f = &pkt->frag[0];

			t.gref = f->gref;
			t.offset = f->offset;
			t.id = f->id;
			/* The first slot carries the packet's size. */
			t.size = (uint16_t)pkt->size;
			if (pkt->flags & SDRV_NETIF_PKT_CSUM_BLANK)
				t.flags |= SDRV_NETTXF_CSUM_BLANK;
			if (pkt->flags & SDRV_NETIF_PKT_DATA_VALIDATED)
				t.flags |= SDRV_NETTXF_DATA_VALIDATED;
			if (pkt->nr_frags > 1)
				t.flags |= SDRV_NETTXF_MORE_DATA;
		} else {
			t.id = pkt->slot_id[0]; /* a multicast request's dummy slot */
		}
		if (pkt->nr_extras)
			t.flags |= SDRV_NETTXF_EXTRA_INFO;
		__builtin_memcpy(b, &t, sizeof(t));
	} else if (k <= pkt->nr_extras) {
		put_extra(b, nth_extra(pkt->extras, k - 1), k < pkt->nr_extras, &pkt->gso,
			  &pkt->hash, pkt->mcast_add, pkt->mcast_del);
	} else {
		const struct sdrv_netif_tx_frag *f = &pkt->frag[k - pkt->nr_extras];

		t.gref = f->gref;
		t.offset = f->offset;
		t.id = f->id;
		t.size = f->size;
		if (k + 1 < pkt->nr_slots)
			t.flags = SDRV_NETTXF_MORE_DATA;
		__builtin_memcpy(b, &t, sizeof(t));
	}
	put_slot(slot, len, b, sizeof(b));
	return 0;
}

int sdrv_netif_tx_decode_rsp(const void *slot, size_t len, struct sdrv_netif_tx_response *rsp)
{
	if (!rsp)
		return -SDRV_EINVAL;
	__builtin_memset(rsp, 0, sizeof(*rsp));
	if (!slot || len < sizeof(*rsp))
		return -SDRV_EINVAL;
	__builtin_memcpy(rsp, slot, sizeof(*rsp));
	if (!tx_status_ok(rsp->status) && rsp->status != SDRV_NETIF_RSP_NULL)
		return -SDRV_EPROTO;
	return 0;
}

/* -------------------------------- receive ------------------------------- */

int sdrv_netif_rx_encode_req(const struct sdrv_netif_rx_request *req, void *slot, size_t len)
{
	struct sdrv_netif_rx_request r;

	if (!req || !slot || len < RX_SZ)
		return -SDRV_EINVAL;
	__builtin_memset(&r, 0, sizeof(r));
	r.id = req->id;
	r.gref = req->gref;
	put_slot(slot, len, (const uint8_t *)&r, sizeof(r));
	return 0;
}

int sdrv_netif_rx_decode_req(const void *slot, size_t len, struct sdrv_netif_rx_request *req)
{
	if (!req)
		return -SDRV_EINVAL;
	__builtin_memset(req, 0, sizeof(*req));
	if (!slot || len < RX_SZ)
		return -SDRV_EINVAL;
	__builtin_memcpy(req, slot, sizeof(*req));
	req->_pad0 = 0;
	return 0;
}

/* xennet_get_responses(): "int max = XEN_NETIF_NR_SLOTS_MIN + (rx->status
 * <= RX_COPY_THRESHOLD)", from the first response's status. */
static uint32_t rx_max_slots(int32_t first_status)
{
	return SDRV_NETIF_RX_MAX_SLOTS + (first_status <= (int32_t)SDRV_NETIF_RX_COPY_THRESHOLD);
}

static uint16_t rx_flags_of(uint16_t wire)
{
	return (
	    uint16_t)(((wire & SDRV_NETRXF_CSUM_BLANK) ? SDRV_NETIF_PKT_CSUM_BLANK : 0) |
		      ((wire & SDRV_NETRXF_DATA_VALIDATED) ? SDRV_NETIF_PKT_DATA_VALIDATED : 0));
}

int sdrv_netif_rx_prepare(struct sdrv_netif_rx_pkt *pkt)
{
	struct sdrv_netif_rx_pkt q;
	uint32_t total = 0, nx;

	if (!pkt || (pkt->flags & ~PKT_FLAGS) || (pkt->extras & ~DATA_BITS) || pkt->nr_frags == 0 ||
	    pkt->nr_frags > SDRV_NETIF_RX_MAX_FRAGS ||
	    pkt->nr_frags > rx_max_slots(pkt->frag[0].size))
		return -SDRV_EINVAL;
	__builtin_memset(&q, 0, sizeof(q));
	if (pkt->extras & EXTRA(SDRV_NETIF_EXTRA_TYPE_GSO)) {
		if (gso_check(&pkt->gso))
			return -SDRV_EINVAL;
		q.gso = pkt->gso;
		q.gso._pad0 = 0;
	}
	if (pkt->extras & EXTRA(SDRV_NETIF_EXTRA_TYPE_HASH)) {
		if (pkt->hash.type > HASH_TYPE_MAX)
			return -SDRV_EINVAL;
		q.hash = pkt->hash;
		q.hash._pad0 = 0;
	}
	for (uint32_t i = 0; i < pkt->nr_frags; i++) {
		const struct sdrv_netif_rx_frag *f = &pkt->frag[i];

		if (f->size == 0 || (uint32_t)f->offset + f->size > PAGE)
			return -SDRV_EINVAL;
		total += f->size;
	}
	if (total > SDRV_NETIF_RX_MAX_SIZE)
		return -SDRV_EINVAL;
	nx = popcount16(pkt->extras);
	q.size = total;
	q.nr_frags = pkt->nr_frags;
	q.nr_extras = (uint16_t)nx;
	q.nr_slots = (uint16_t)(pkt->nr_frags + nx);
	q.flags = pkt->flags;
	q.extras = pkt->extras;
	for (uint32_t i = 0; i < pkt->nr_frags; i++) {
		q.frag[i].offset = pkt->frag[i].offset;
		q.frag[i].size = pkt->frag[i].size;
		/* Extras go after the first data slot (netback's rx.c). */
		q.frag[i].slot = (uint16_t)(i == 0 ? 0 : nx + i);
	}
	*pkt = q;
	return 0;
}

int sdrv_netif_rx_encode_rsp(const struct sdrv_netif_rx_pkt *pkt, uint32_t k,
			     const struct sdrv_netif_rx_request *req, void *slot, size_t len)
{
	struct sdrv_netif_rx_response r;
	uint8_t b[RX_SZ];

	if (!pkt || !slot || len < RX_SZ || pkt->nr_frags == 0 ||
	    pkt->nr_frags > SDRV_NETIF_RX_MAX_FRAGS || pkt->nr_extras > SDRV_NETIF_MAX_EXTRAS ||
	    (pkt->extras & ~DATA_BITS) || popcount16(pkt->extras) != pkt->nr_extras ||
	    pkt->nr_slots != pkt->nr_frags + pkt->nr_extras || k >= pkt->nr_slots)
		return -SDRV_EINVAL;
	if ((k == 0 || k > pkt->nr_extras) && !req)
		return -SDRV_EINVAL;
	__builtin_memset(b, 0, sizeof(b));
	__builtin_memset(&r, 0, sizeof(r));
	if (k >= 1 && k <= pkt->nr_extras) {
		/* The extra overlays the whole response, the id included. */
		put_extra(b, nth_extra(pkt->extras, k - 1), k < pkt->nr_extras, &pkt->gso,
			  &pkt->hash, NULL, NULL);
	} else {
		uint32_t i = k == 0 ? 0 : k - pkt->nr_extras;
		const struct sdrv_netif_rx_frag *f = &pkt->frag[i];

		r.id = req->id;
		r.offset = f->offset;
		r.status = (int16_t)f->size;
		if (i + 1 < pkt->nr_frags)
			r.flags |= SDRV_NETRXF_MORE_DATA;
		if (k == 0) {
			/* Linux netback's xenvif_rx_data_slot(): checksum and
			 * extra-info flags on the first slot only. */
			if (pkt->flags & SDRV_NETIF_PKT_CSUM_BLANK)
				r.flags |= SDRV_NETRXF_CSUM_BLANK;
			if (pkt->flags & SDRV_NETIF_PKT_DATA_VALIDATED)
				r.flags |= SDRV_NETRXF_DATA_VALIDATED;
			if (pkt->nr_extras)
				r.flags |= SDRV_NETRXF_EXTRA_INFO;
		}
		__builtin_memcpy(b, &r, sizeof(r));
	}
	put_slot(slot, len, b, sizeof(b));
	return 0;
}

static int rx_need_more(struct sdrv_netif_rx_pkt *pkt, size_t nr)
{
	__builtin_memset(pkt, 0, sizeof(*pkt));
	pkt->reason = SDRV_NETIF_R_NEED_MORE;
	pkt->nr_slots = (uint16_t)(nr + 1);
	return -SDRV_EAGAIN;
}

static int rx_fatal(struct sdrv_netif_rx_pkt *pkt, unsigned int reason, uint32_t read)
{
	__builtin_memset(pkt, 0, sizeof(*pkt));
	pkt->reason = (uint16_t)reason;
	pkt->nr_slots = (uint16_t)read;
	return -SDRV_EPROTO;
}

int sdrv_netif_rx_decode(const void *slots, size_t nr, struct sdrv_netif_rx_pkt *pkt)
{
	const uint8_t *in = slots;
	struct sdrv_netif_rx_pkt p;
	struct sdrv_netif_rx_response first, rx;
	uint32_t k = 1, data = 0, total = 0, seen = 0, drop = SDRV_NETIF_R_NONE, at = 0;

	if (!pkt)
		return -SDRV_EINVAL;
	__builtin_memset(pkt, 0, sizeof(*pkt));
	if (!slots)
		return -SDRV_EINVAL;
	if (nr == 0)
		return rx_need_more(pkt, 0);
	__builtin_memset(&p, 0, sizeof(p));
	/* One copy of each slot; from here on only the copies are read. */
	__builtin_memcpy(&first, in, sizeof(first));

	/* xennet_get_extras(): a bad extra drops the packet, and the chain
	 * is walked to its end so all of it is recycled. */
	if (first.flags & SDRV_NETRXF_EXTRA_INFO) {
		struct sdrv_netif_extra_info ex;

		do {
			/* Not in Linux (which walks on to the producer index):
			 * a fifth extra can only repeat a type, so stop here
			 * rather than follow a chain without end. */
			if (p.nr_extras == SDRV_NETIF_MAX_EXTRAS)
				return rx_fatal(pkt, SDRV_NETIF_R_EXTRA_CHAIN, k);
			if (k >= nr) /* Linux: "Missing extra info", a drop */
				return rx_need_more(pkt, nr);
			__builtin_memcpy(&ex, in + (size_t)k * RX_SZ, sizeof(ex));
			k++;
			p.nr_extras++;
			if (ex.type == SDRV_NETIF_EXTRA_TYPE_NONE ||
			    ex.type >= SDRV_NETIF_EXTRA_TYPE_MAX) {
				if (!drop) /* "Invalid extra type" */
					drop = SDRV_NETIF_R_EXTRA_TYPE;
			} else if (seen & EXTRA(ex.type)) {
				if (!drop) /* Linux: the later one wins */
					drop = SDRV_NETIF_R_EXTRA_REPEATED;
			} else {
				seen |= EXTRA(ex.type);
				keep_extra(&ex, &p.gso, &p.hash, NULL, NULL);
			}
		} while (ex.flags & SDRV_NETIF_EXTRA_FLAG_MORE);
	}

	/* The data slots: the first, then one per SDRV_NETRXF_MORE_DATA. */
	rx = first;
	for (;;) {
		data++;
		/* "rx->offset: %u, size: %d" drops a slot with a negative
		 * status or one past its page; a slot of no bytes is refused
		 * too (Linux would add an empty fragment). */
		if (rx.status <= 0) {
			if (!drop)
				drop = SDRV_NETIF_R_STATUS;
		} else if ((uint32_t)rx.offset + (uint32_t)rx.status > PAGE) {
			if (!drop)
				drop = SDRV_NETIF_R_CROSS_PAGE;
		} else if (data <= SDRV_NETIF_RX_MAX_FRAGS) {
			struct sdrv_netif_rx_frag *f = &p.frag[data - 1];

			f->offset = rx.offset;
			f->size = (uint16_t)rx.status;
			f->id = rx.id;
			f->slot = (uint16_t)at;
			total += (uint32_t)rx.status;
		}
		if (!(rx.flags & SDRV_NETRXF_MORE_DATA))
			break;
		/* Not in Linux: a chain longer than any backend's packet is
		 * a broken backend, not a packet to wait for. */
		if (data >= SDRV_NETIF_RX_FATAL_SLOTS)
			return rx_fatal(pkt, SDRV_NETIF_R_MALICIOUS, k);
		if (k >= nr) /* Linux: "Need more slots", a drop */
			return rx_need_more(pkt, nr);
		at = k;
		__builtin_memcpy(&rx, in + (size_t)k * RX_SZ, sizeof(rx));
		k++;
	}
	p.nr_slots = (uint16_t)k;
	/* "Too many slots" */
	if (!drop && data > rx_max_slots(first.status))
		drop = SDRV_NETIF_R_TOO_MANY;
	/* Not a Linux check: nothing larger than an IP datagram in a
	 * VLAN-tagged frame is handed up. */
	if (!drop && total > SDRV_NETIF_RX_MAX_SIZE)
		drop = SDRV_NETIF_R_TOO_BIG;
	/* xennet_set_skb_gso(): a drop on the receive side. */
	if (!drop && (seen & EXTRA(SDRV_NETIF_EXTRA_TYPE_GSO)))
		drop = gso_check(&p.gso);
	if (drop) {
		uint16_t slots_used = p.nr_slots, extras_used = p.nr_extras;

		__builtin_memset(pkt, 0, sizeof(*pkt));
		pkt->reason = (uint16_t)drop;
		pkt->nr_slots = slots_used;
		pkt->nr_extras = extras_used;
		return -SDRV_EBADMSG;
	}
	/* Only GSO and HASH mean anything to a frontend; an unknown hash
	 * type is ignored. */
	p.extras = (uint16_t)(seen & DATA_BITS);
	if ((p.extras & EXTRA(SDRV_NETIF_EXTRA_TYPE_HASH)) && p.hash.type > HASH_TYPE_MAX)
		p.extras &= (uint16_t)~EXTRA(SDRV_NETIF_EXTRA_TYPE_HASH);
	if (!(p.extras & EXTRA(SDRV_NETIF_EXTRA_TYPE_HASH)))
		__builtin_memset(&p.hash, 0, sizeof(p.hash));
	p.nr_frags = (uint16_t)data;
	p.size = total;
	p.flags = rx_flags_of(first.flags);
	*pkt = p;
	return 0;
}

/* ---------------------------- control ring ------------------------------ */

static int get_ctrl_config(const struct sdrv_netif_ctrl_config *in,
			   struct sdrv_netif_ctrl_config *out)
{
	if (!in || in->sz < offsetof(struct sdrv_netif_ctrl_config, nr_queues) + sizeof(uint32_t))
		return -SDRV_EINVAL;
	__builtin_memset(out, 0, sizeof(*out));
	__builtin_memcpy(out, in, in->sz < sizeof(*out) ? in->sz : sizeof(*out));
	if (out->algorithm > SDRV_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ ||
	    (out->hash_types & ~(uint32_t)HASH_TYPES) || out->max_key_size > PAGE ||
	    out->mapping_size > out->max_mapping_size)
		return -SDRV_EINVAL;
	return 0;
}

int sdrv_netif_ctrl_decode_req(const void *slot, size_t len,
			       const struct sdrv_netif_ctrl_config *cfg_in,
			       struct sdrv_netif_ctrl_req *req)
{
	struct sdrv_netif_ctrl_config cfg;
	struct sdrv_netif_ctrl_request w;
	struct sdrv_netif_ctrl_req r;
	int err = 0;

	if (!req)
		return -SDRV_EINVAL;
	__builtin_memset(req, 0, sizeof(*req));
	if (!slot || len < sizeof(w) || get_ctrl_config(cfg_in, &cfg) != 0)
		return -SDRV_EINVAL;
	/* One copy; from here on only `w` is read. */
	__builtin_memcpy(&w, slot, sizeof(w));
	__builtin_memset(&r, 0, sizeof(r));
	r.id = w.id;
	r.type = w.type;
	switch (w.type) {
	case SDRV_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM:
		/* xenvif_set_hash_alg() */
		r.value = w.data[0];
		if (r.value != SDRV_NETIF_CTRL_HASH_ALGORITHM_NONE &&
		    r.value != SDRV_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ)
			err = -SDRV_EBADMSG;
		break;
	case SDRV_NETIF_CTRL_TYPE_GET_HASH_FLAGS:
		/* xenvif_get_hash_flags(): NOT_SUPPORTED without an algorithm. */
		if (cfg.algorithm == SDRV_NETIF_CTRL_HASH_ALGORITHM_NONE)
			err = -SDRV_EOPNOTSUPP;
		break;
	case SDRV_NETIF_CTRL_TYPE_SET_HASH_FLAGS:
		/* xenvif_set_hash_flags(): known flags, an algorithm selected. */
		r.value = w.data[0];
		if ((r.value & ~cfg.hash_types) ||
		    cfg.algorithm == SDRV_NETIF_CTRL_HASH_ALGORITHM_NONE)
			err = -SDRV_EBADMSG;
		break;
	case SDRV_NETIF_CTRL_TYPE_SET_HASH_KEY:
		/* xenvif_set_hash_key(): the key starts its one granted page. */
		r.gref = w.data[0];
		r.size = w.data[1];
		if (r.size > PAGE)
			err = -SDRV_EBADMSG;
		else if (r.size > cfg.max_key_size)
			err = -SDRV_EMSGSIZE;
		break;
	case SDRV_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE:
		break;
	case SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE:
		/* xenvif_set_hash_mapping_size() */
		r.size = w.data[0];
		if (r.size > cfg.max_mapping_size)
			err = -SDRV_EBADMSG;
		break;
	case SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING:
		/* xenvif_set_hash_mapping(), as fixed for CVE-2018-15471:
		 * "(off + len < off) || (off + len > vif->hash.size) ||
		 * len > XEN_PAGE_SIZE / sizeof(*mapping)". Here without any
		 * sum that can wrap: size is bounded first, then compared. */
		r.gref = w.data[0];
		r.size = w.data[1];
		r.offset = w.data[2];
		if (r.size > SDRV_NETIF_HASH_MAPPING_PER_PAGE)
			err = -SDRV_EMSGSIZE;
		else if (r.size > cfg.mapping_size || r.offset > cfg.mapping_size - r.size)
			err = -SDRV_EBADMSG;
		break;
	default:
		/* INVALID, the grant-mapping requests (Linux netback has none)
		 * and unknown types: process_ctrl_request()'s default. */
		err = -SDRV_EOPNOTSUPP;
		break;
	}
	if (err) {
		req->id = r.id;
		req->type = r.type;
		return err;
	}
	*req = r;
	return 0;
}

int sdrv_netif_ctrl_decode_mapping(const struct sdrv_netif_ctrl_req *req, const void *table,
				   size_t len, const struct sdrv_netif_ctrl_config *cfg_in,
				   uint32_t *out, size_t max)
{
	const uint8_t *t = table;
	struct sdrv_netif_ctrl_config cfg;
	uint32_t n;

	if (!req || !table || !out || get_ctrl_config(cfg_in, &cfg) != 0)
		return -SDRV_EINVAL;
	n = req->size;
	/* What sdrv_netif_ctrl_decode_req() guarantees for an accepted request. */
	if (req->type != SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING ||
	    n > SDRV_NETIF_HASH_MAPPING_PER_PAGE || n > cfg.mapping_size ||
	    req->offset > cfg.mapping_size - n || max < n || len / sizeof(uint32_t) < n)
		return -SDRV_EINVAL;
	/* Each entry read once into private memory, then checked there. */
	for (uint32_t i = 0; i < n; i++)
		__builtin_memcpy(&out[i], t + (size_t)i * sizeof(uint32_t), sizeof(uint32_t));
	for (uint32_t i = 0; i < n; i++) {
		/* "mapping[off++] >= vif->num_queues": INVALID_PARAMETER */
		if (out[i] >= cfg.nr_queues) {
			__builtin_memset(out, 0, (size_t)n * sizeof(uint32_t));
			return -SDRV_EBADMSG;
		}
	}
	return 0;
}

uint32_t sdrv_netif_ctrl_status_for(int err)
{
	switch (err) {
	case 0:
		return SDRV_NETIF_CTRL_STATUS_SUCCESS;
	case -SDRV_EOPNOTSUPP:
		return SDRV_NETIF_CTRL_STATUS_NOT_SUPPORTED;
	case -SDRV_EMSGSIZE:
		return SDRV_NETIF_CTRL_STATUS_BUFFER_OVERFLOW;
	default:
		return SDRV_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	}
}

int sdrv_netif_ctrl_make_rsp(const struct sdrv_netif_ctrl_req *req, int err,
			     const struct sdrv_netif_ctrl_config *cfg,
			     struct sdrv_netif_ctrl_response *rsp)
{
	if (!req || !rsp || !cfg)
		return -SDRV_EINVAL;
	rsp->id = req->id;
	rsp->type = req->type;
	rsp->status = sdrv_netif_ctrl_status_for(err);
	rsp->data = 0;
	if (err == 0 && req->type == SDRV_NETIF_CTRL_TYPE_GET_HASH_FLAGS)
		rsp->data = cfg->hash_types;
	else if (err == 0 && req->type == SDRV_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE)
		rsp->data = cfg->max_mapping_size;
	return 0;
}

int sdrv_netif_ctrl_encode_rsp(const struct sdrv_netif_ctrl_response *rsp, void *slot, size_t len)
{
	struct sdrv_netif_ctrl_response r;

	if (!rsp || !slot || len < sizeof(r) ||
	    rsp->status > SDRV_NETIF_CTRL_STATUS_BUFFER_OVERFLOW)
		return -SDRV_EINVAL;
	r = *rsp;
	put_slot(slot, len, (const uint8_t *)&r, sizeof(r));
	return 0;
}

int sdrv_netif_ctrl_encode_req(const struct sdrv_netif_ctrl_req *req, void *slot, size_t len)
{
	struct sdrv_netif_ctrl_request w;

	if (!req || !slot || len < sizeof(w))
		return -SDRV_EINVAL;
	__builtin_memset(&w, 0, sizeof(w));
	w.id = req->id;
	w.type = req->type;
	switch (req->type) {
	case SDRV_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM:
	case SDRV_NETIF_CTRL_TYPE_SET_HASH_FLAGS:
		w.data[0] = req->value;
		break;
	case SDRV_NETIF_CTRL_TYPE_SET_HASH_KEY:
		w.data[0] = req->gref;
		w.data[1] = req->size;
		break;
	case SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE:
		w.data[0] = req->size;
		break;
	case SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING:
		w.data[0] = req->gref;
		w.data[1] = req->size;
		w.data[2] = req->offset;
		break;
	case SDRV_NETIF_CTRL_TYPE_GET_HASH_FLAGS:
	case SDRV_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE:
		break;
	default:
		return -SDRV_EINVAL;
	}
	put_slot(slot, len, (const uint8_t *)&w, sizeof(w));
	return 0;
}

int sdrv_netif_ctrl_decode_rsp(const void *slot, size_t len, struct sdrv_netif_ctrl_response *rsp)
{
	if (!rsp)
		return -SDRV_EINVAL;
	__builtin_memset(rsp, 0, sizeof(*rsp));
	if (!slot || len < sizeof(*rsp))
		return -SDRV_EINVAL;
	__builtin_memcpy(rsp, slot, sizeof(*rsp));
	if (rsp->status > SDRV_NETIF_CTRL_STATUS_BUFFER_OVERFLOW)
		return -SDRV_EPROTO;
	return 0;
}

/* --------------------------------- hash --------------------------------- */

uint32_t sdrv_netif_toeplitz(const uint8_t *key, size_t key_len, const void *data, size_t len)
{
	const uint8_t *d = data;
	uint64_t window = 0, hash = 0;
	size_t ki;

	if (!key)
		key_len = 0;
	if (!d)
		len = 0;
	/* Xen's netif.h reference: a 64-bit window on the key, its upper 32
	 * bits the key bits that line up with the current data bit. */
	for (ki = 0; ki < 8; ki++)
		window = window << 8 | (ki < key_len ? key[ki] : 0);
	for (size_t i = 0; i < len; i++) {
		uint8_t byte = d[i];

		for (unsigned int bit = 0; bit < 8; bit++) {
			if (byte & 0x80)
				hash ^= window;
			window <<= 1;
			byte = (uint8_t)(byte << 1);
		}
		/* Shifted by 8: the next key byte comes in at the bottom. */
		window |= ki < key_len ? key[ki] : 0;
		ki++;
	}
	return (uint32_t)(hash >> 32);
}

#define ETH_P_IPV4  0x0800u
#define ETH_P_IPV6  0x86DDu
#define ETH_P_8021Q 0x8100u
#define IPPROTO_TCP 6u
#define IPPROTO_UDP 17u

static uint16_t get16be(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The Ethernet header, and one 802.1Q tag: the ethertype and where the
 * network header starts. 0, or -1 for a frame too short to say. */
static int eth_proto(const uint8_t *f, size_t len, uint16_t *proto, size_t *off)
{
	if (len < 14)
		return -1;
	*proto = get16be(f + 12);
	*off = 14;
	if (*proto == ETH_P_8021Q) {
		if (len < 18)
			return -1;
		*proto = get16be(f + 16);
		*off = 18;
	}
	return 0;
}

int sdrv_netif_hash_frame(const uint8_t *key, size_t key_len, uint32_t types, const void *frame,
			  size_t len, struct sdrv_netif_hash *hash)
{
	const uint8_t *f = frame;
	uint8_t buf[36];
	size_t off, n, l4 = 0;
	uint16_t proto;
	uint8_t type;
	bool tcp = false;

	if (!hash || (!frame && len))
		return -SDRV_EINVAL;
	__builtin_memset(hash, 0, sizeof(*hash));
	if (eth_proto(f, len, &proto, &off) < 0)
		return -SDRV_ENOENT;
	if (proto == ETH_P_IPV4) {
		const uint8_t *ip = f + off;
		size_t ihl;

		if (len - off < 20 || ip[0] >> 4 != 4)
			return -SDRV_ENOENT;
		ihl = (size_t)(ip[0] & 15) * 4;
		if (ihl < 20 || len - off < ihl)
			return -SDRV_ENOENT;
		__builtin_memcpy(buf, ip + 12, 8); /* source, destination */
		n = 8;
		/* hash.c: "has_tcp_hdr = (flow.basic.ip_proto == IPPROTO_TCP)
		 * && !(flow.control.flags & FLOW_DIS_IS_FRAGMENT)": any
		 * fragment (MF set or a non-zero offset) goes without ports. */
		if (ip[9] == IPPROTO_TCP && !(ip[6] & 0x20) && !((ip[6] & 0x1f) | ip[7]))
			l4 = off + ihl;
		tcp = l4 && len - l4 >= 4;
		type = (tcp && (types & SDRV_NETIF_CTRL_HASH_TYPE_IPV4_TCP)) ? 1 : 0;
		if (!type && !(types & SDRV_NETIF_CTRL_HASH_TYPE_IPV4))
			return -SDRV_ENOENT;
	} else if (proto == ETH_P_IPV6) {
		const uint8_t *ip = f + off;

		if (len - off < 40 || ip[0] >> 4 != 6)
			return -SDRV_ENOENT;
		__builtin_memcpy(buf, ip + 8, 32); /* source, destination */
		n = 32;
		if (ip[6] == IPPROTO_TCP)
			l4 = off + 40;
		tcp = l4 && len - l4 >= 4;
		type = (tcp && (types & SDRV_NETIF_CTRL_HASH_TYPE_IPV6_TCP)) ? 3 : 2;
		if (type == 2 && !(types & SDRV_NETIF_CTRL_HASH_TYPE_IPV6))
			return -SDRV_ENOENT;
	} else {
		return -SDRV_ENOENT;
	}
	if (type == 1 || type == 3) {
		__builtin_memcpy(buf + n, f + l4, 4); /* source port, destination port */
		n += 4;
	}
	hash->value = sdrv_netif_toeplitz(key, key_len, buf, n);
	hash->type = type;
	hash->algorithm = SDRV_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ;
	return 0;
}

/* ------------------------------- mac keys ------------------------------- */

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int sdrv_netif_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t m[6];

	if (!s || !mac)
		return -SDRV_EINVAL;
	/* Left to right, each byte checked before the next is read: a
	 * shorter string stops at its NUL, which matches nothing. */
	for (int i = 0; i < 6; i++) {
		int h, l;

		if ((h = hex_digit(s[3 * i])) < 0 || (l = hex_digit(s[3 * i + 1])) < 0)
			return -SDRV_EINVAL;
		if (s[3 * i + 2] != (i < 5 ? ':' : '\0'))
			return -SDRV_EINVAL;
		m[i] = (uint8_t)(h << 4 | l);
	}
	__builtin_memcpy(mac, m, 6);
	return (m[0] & 1) ? 1 : 0;
}

/* --------------------------- checksum offload --------------------------- */

/* The result is built in `r` and copied out only when complete: on any
 * error the caller's is all zero. */
int sdrv_netif_parse_l4(const void *frame, size_t len, struct sdrv_netif_l4 *out)
{
	struct sdrv_netif_l4 r, *l4 = &r;
	const uint8_t *f = frame;
	size_t off, l4off;
	uint16_t proto;
	uint8_t nh;

	if (!out || (!frame && len))
		return -SDRV_EINVAL;
	__builtin_memset(out, 0, sizeof(*out));
	__builtin_memset(l4, 0, sizeof(*l4));
	if (eth_proto(f, len, &proto, &off) < 0)
		return -SDRV_EBADMSG;
	if (proto == ETH_P_IPV4) {
		const uint8_t *ip = f + off;
		size_t ihl;

		if (len - off < 20 || ip[0] >> 4 != 4)
			return -SDRV_EBADMSG;
		ihl = (size_t)(ip[0] & 15) * 4;
		if (ihl < 20 || len - off < ihl)
			return -SDRV_EBADMSG;
		/* a fragment after the first carries no transport header */
		if ((ip[6] & 0x1f) | ip[7])
			return -SDRV_EOPNOTSUPP;
		nh = ip[9];
		l4off = off + ihl;
	} else if (proto == ETH_P_IPV6) {
		const uint8_t *ip = f + off;

		if (len - off < 40 || ip[0] >> 4 != 6)
			return -SDRV_EBADMSG;
		nh = ip[6];
		l4off = off + 40;
		l4->ipv6 = 1;
		/* hop-by-hop, routing and destination options: skip them */
		for (int i = 0; i < 8 && (nh == 0 || nh == 43 || nh == 60); i++) {
			/* l4off may already be past the end: no unsigned wrap */
			if (l4off > len || len - l4off < 8)
				return -SDRV_EBADMSG;
			nh = f[l4off];
			l4off += ((size_t)f[l4off + 1] + 1) * 8;
		}
		if (l4off > len)
			return -SDRV_EBADMSG;
	} else {
		return -SDRV_EOPNOTSUPP;
	}
	if (nh == IPPROTO_TCP) {
		size_t doff;

		if (len - l4off < 20)
			return -SDRV_EBADMSG;
		doff = (size_t)(f[l4off + 12] >> 4) * 4;
		if (doff < 20 || len - l4off < doff)
			return -SDRV_EBADMSG;
		l4->csum_offset = 16;
		l4->hdr_len = (uint16_t)(l4off + doff);
	} else if (nh == IPPROTO_UDP) {
		if (len - l4off < 8)
			return -SDRV_EBADMSG;
		l4->csum_offset = 6;
		l4->hdr_len = (uint16_t)(l4off + 8);
	} else {
		return -SDRV_EOPNOTSUPP;
	}
	if (l4off > 0xffff - 8)
		return -SDRV_EBADMSG;
	l4->csum_start = (uint16_t)l4off;
	l4->proto = nh;
	__builtin_memcpy(out, &r, sizeof(r));
	return 0;
}

/* -------------------------------- errors -------------------------------- */

const char *sdrv_netif_strerror(int err)
{
	switch (err) {
	case 0:
		return "no error";
	case -SDRV_EAGAIN:
		return "netif: the packet continues past the slots given (wait for more)";
	case -SDRV_EBADMSG:
		return "netif: malformed packet or request: drop it, answer with an error, "
		       "carry on";
	case -SDRV_EPROTO:
		return "netif: the peer broke the protocol: disable the interface";
	case -SDRV_EMSGSIZE:
		return "netif: larger than the backend supports";
	case -SDRV_EOPNOTSUPP:
		return "netif: control request not supported";
	case -SDRV_ENOENT:
		return "netif: no enabled hash type applies to the packet";
	case -SDRV_EINVAL:
		return "netif: invalid argument";
	default:
		return "netif: unknown error";
	}
}

const char *sdrv_netif_reason(unsigned int reason)
{
	switch (reason) {
	case SDRV_NETIF_R_NONE:
		return "netif: accepted";
	case SDRV_NETIF_R_NEED_MORE:
		return "netif: the packet continues past the slots given";
	case SDRV_NETIF_R_TOO_MANY:
		return "netif: too many slots in a packet (dropped)";
	case SDRV_NETIF_R_MALICIOUS:
		return "netif: far too many slots in a packet: malicious peer";
	case SDRV_NETIF_R_SLOT_SIZE:
		return "netif: tx slot larger than the rest of the packet (dropped)";
	case SDRV_NETIF_R_RUNT:
		return "netif: tx first slot shorter than an Ethernet header (dropped)";
	case SDRV_NETIF_R_CROSS_PAGE:
		return "netif: slot data crosses its page (offset + size > 4096)";
	case SDRV_NETIF_R_EXTRA_TYPE:
		return "netif: extra-info slot of type 0 or >= XEN_NETIF_EXTRA_TYPE_MAX";
	case SDRV_NETIF_R_EXTRA_REPEATED:
		return "netif: extra-info type repeated in a packet";
	case SDRV_NETIF_R_EXTRA_CHAIN:
		return "netif: rx extra-info chain longer than four slots";
	case SDRV_NETIF_R_GSO_SIZE:
		return "netif: GSO extra of size 0";
	case SDRV_NETIF_R_GSO_TYPE:
		return "netif: GSO type neither TCPv4 nor TCPv6";
	case SDRV_NETIF_R_STATUS:
		return "netif: rx data slot with an error status or no bytes (dropped)";
	case SDRV_NETIF_R_TOO_BIG:
		return "netif: rx packet larger than 65553 bytes (dropped)";
	default:
		return "netif: unknown reason";
	}
}
