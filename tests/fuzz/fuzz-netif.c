/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness for the netif codec (libsplitdrv/netif.c): the transmit
 * decoder, the receive decoder, the control request decoder and the
 * mapping-table decoder, and the hash, from hostile bytes.
 *
 * Input (missing bytes read as zero):
 *   [0]    tx limits: low 3 bits pick NULL, fatal_slots 0 (default), 18,
 *          20, 32, or the invalid 17, 33 and 0xffffffff (the caller's error)
 *   [1]    slots given: bit 7 clear, all of them; set, (bits 0-6) % (all+1)
 *   [2]    control config: bit 0 algorithm, bits 1-4 hash types, bit 5 an
 *          invalid algorithm, bit 6 invalid hash types
 *   [3]    control config: max_key_size (low nibble) and max_mapping_size
 *          (high nibble) from a table of edge values
 *   [4]    control config: mapping_size, an edge value (low nibble) or
 *          max_mapping_size (high nibble 0xf); nr_queues = [4] >> 4
 *   [5]    enabled hash types for the frame hash (low nibble)
 *   [rest] the slots: read as up to 64 tx slots (12 bytes each), as up to
 *          64 rx slots (8 bytes each), as a control request (its first 16
 *          bytes) and its mapping table (the rest), as a frame, and as a
 *          hash key and data
 *
 * Every result is checked, not just survived (abort() on violation):
 *  - tx: the error is one of the documented classes (-SDRV_EINVAL exactly
 *    when the limits are invalid); an accepted packet has fragments within
 *    their pages, sizes that sum to the packet's size (14..65535), at most
 *    19 data slots and a slot count within the given slots, every field
 *    equal to the wire's (read here through the layout structures), valid
 *    GSO and hash extras, every unused member zero, and it re-encodes
 *    (when a frontend may send it) to slots that decode to the same; a
 *    drop keeps only what answering needs; the description fixes the
 *    packet's extent: with exactly nr_slots slots the result is the same,
 *    with one fewer it waits; answers are one per slot, NULL for extras;
 *  - rx: the same for received packets (netfront's bounds), and the
 *    backend's encoder reproduces an accepted packet slot for slot;
 *  - control: accepted requests obey the bounds (computed here in 64 bits),
 *    refused ones carry only id and type; mapping entries name queues;
 *    responses are the four fields and zeros;
 *  - the slots read as a mac key are accepted exactly when they are six
 *    two-digit hex bytes joined by colons, and read back to the same;
 *  - the frame hash returns an enabled type or nothing, and the Toeplitz
 *    hash is linear (T(a ^ b) = T(a) ^ T(b)); the transport header found
 *    for a checksum offload lies within the frame, or the error is a
 *    documented one.
 *
 * Built two ways: with libFuzzer by `make fuzz-netif` (-DSDRV_LIBFUZZER),
 * and as a plain program run by `make check`: the seed corpus
 * (tests/fuzz/corpus/netif, SDRV_FUZZ_CORPUS), generated valid packets,
 * then mutations of both from a fixed seed (SDRV_FUZZ_SEED), scaled with
 * tu_scaled(). `fuzz-netif-run FILE|DIR...` replays inputs;
 * `fuzz-netif-run --gen-corpus DIR` rewrites the seed corpus.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <splitdrv/proto/netif.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR	 6
#define MAX_TX	 64
#define MAX_RX	 64
#define TX_SZ	 SDRV_NETIF_TX_ENTRY_SIZE
#define RX_SZ	 SDRV_NETIF_RX_ENTRY_SIZE
#define BIT(t)	 (1u << (t))
#define GSO_BIT	 BIT(SDRV_NETIF_EXTRA_TYPE_GSO)
#define HASH_BIT BIT(SDRV_NETIF_EXTRA_TYPE_HASH)
#define MC_BITS	 (BIT(SDRV_NETIF_EXTRA_TYPE_MCAST_ADD) | BIT(SDRV_NETIF_EXTRA_TYPE_MCAST_DEL))

/* What the inputs exercised, for the plain runner's coverage check. */
static struct {
	unsigned long inputs, tx_ok, tx_control, tx_empty, tx_reencoded, tx_again, tx_einval;
	unsigned long tx_drop[16], tx_fatal[16], rx_ok, rx_again, rx_drop[16], rx_fatal[16];
	unsigned long ctrl_ok, ctrl_badmsg, ctrl_msgsize, ctrl_notsup, ctrl_einval, map_ok, map_bad;
	unsigned long hash_ok, hash_none, l4_ok, mac_ok;
} st;

static void fz_fail(const char *what, int line) __attribute__((noreturn));

static void fz_fail(const char *what, int line)
{
	fprintf(stderr, "fuzz-netif: invariant violated at line %d: %s\n", line, what);
	abort();
}

#define FZ_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fz_fail(#cond, __LINE__);                                                  \
	} while (0)

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t k = 0; k < n; k++)
		if (b[k])
			return false;
	return true;
}

static uint8_t at(const uint8_t *d, size_t n, size_t i)
{
	return i < n ? d[i] : 0;
}

/* ------------------------------- transmit -------------------------------- */

static int tx_decode_copy(const uint8_t *slots, size_t n, const struct sdrv_netif_tx_limits *lim,
			  struct sdrv_netif_tx_pkt *pkt)
{
	unsigned char *copy = malloc(n ? n * TX_SZ : 1); /* exact size */
	int rc;

	FZ_CHECK(copy != NULL);
	memcpy(copy, slots, n * TX_SZ);
	rc = sdrv_netif_tx_decode(copy, n, lim, pkt);
	free(copy);
	return rc;
}

static struct sdrv_netif_tx_request wire_tx(const uint8_t *slots, size_t k)
{
	struct sdrv_netif_tx_request r;

	memcpy(&r, slots + k * TX_SZ, sizeof(r));
	return r;
}

static void check_tx_accepted(const uint8_t *slots, size_t n, const struct sdrv_netif_tx_pkt *p)
{
	struct sdrv_netif_tx_request first = wire_tx(slots, 0);
	struct sdrv_netif_tx_pkt want, again;
	uint32_t sum = 0, empty = 0;

	FZ_CHECK(p->reason == SDRV_NETIF_R_NONE && p->_pad0 == 0);
	FZ_CHECK(p->nr_slots >= 1 && p->nr_slots <= n);
	FZ_CHECK(p->nr_extras <= SDRV_NETIF_MAX_EXTRAS);
	FZ_CHECK(p->slot_id[0] == first.id);
	if (p->nr_frags == 0) {
		/* A multicast request: its slot and its extras only. */
		FZ_CHECK(p->extras && !(p->extras & ~MC_BITS));
		FZ_CHECK(p->nr_slots == 1 + p->nr_extras && p->size == 0 && p->flags == 0);
		FZ_CHECK(first.flags & SDRV_NETTXF_EXTRA_INFO);
		FZ_CHECK(all_zero(&p->gso, sizeof(p->gso)) && all_zero(&p->hash, sizeof(p->hash)));
		FZ_CHECK(all_zero(p->frag, sizeof(p->frag)));
		FZ_CHECK(all_zero(&p->slot_id[1], sizeof(p->slot_id) - 2));
		st.tx_control++;
	} else {
		FZ_CHECK(p->nr_frags <= SDRV_NETIF_TX_MAX_FRAGS);
		FZ_CHECK(p->nr_slots == p->nr_extras + p->nr_frags);
		FZ_CHECK(!(p->extras & ~(GSO_BIT | HASH_BIT)));
		if (p->extras & GSO_BIT)
			FZ_CHECK(p->gso.size &&
				 (p->gso.type == SDRV_NETIF_GSO_TYPE_TCPV4 ||
				  p->gso.type == SDRV_NETIF_GSO_TYPE_TCPV6) &&
				 p->gso._pad0 == 0);
		else
			FZ_CHECK(all_zero(&p->gso, sizeof(p->gso)));
		if (p->extras & HASH_BIT)
			FZ_CHECK(p->hash.type <= 3 && p->hash._pad0 == 0);
		else
			FZ_CHECK(all_zero(&p->hash, sizeof(p->hash)));
		FZ_CHECK(all_zero(p->mcast_add, 6) && all_zero(p->mcast_del, 6));
		for (unsigned i = 0; i < p->nr_frags; i++) {
			const struct sdrv_netif_tx_frag *f = &p->frag[i];
			struct sdrv_netif_tx_request w = wire_tx(slots, f->slot);

			FZ_CHECK((uint32_t)f->offset + f->size <= SDRV_NETIF_PAGE_SIZE);
			FZ_CHECK(f->slot == (i == 0 ? 0 : p->nr_extras + i));
			FZ_CHECK(f->gref == w.gref && f->offset == w.offset && f->id == w.id);
			FZ_CHECK(p->slot_id[f->slot] == f->id);
			if (i > 0) {
				FZ_CHECK(f->size == w.size);
				FZ_CHECK(w.flags & SDRV_NETTXF_MORE_DATA ? i + 1 < p->nr_frags
									 : i + 1 == p->nr_frags);
				empty += f->size == 0;
			}
			sum += f->size;
		}
		FZ_CHECK((first.flags & SDRV_NETTXF_MORE_DATA) ? p->nr_frags > 1
							       : p->nr_frags == 1);
		FZ_CHECK(p->frag[0].size >= SDRV_NETIF_ETH_HLEN);
		FZ_CHECK(sum == p->size && p->size == first.size);
		FZ_CHECK(p->nr_empty == empty);
		FZ_CHECK(p->flags == (((first.flags & SDRV_NETTXF_CSUM_BLANK) ? 1 : 0) |
				      ((first.flags & SDRV_NETTXF_DATA_VALIDATED) ? 2 : 0)));
		for (unsigned k = 1; k <= p->nr_extras; k++)
			FZ_CHECK(p->slot_id[k] == 0);
		FZ_CHECK(all_zero(&p->frag[p->nr_frags],
				  sizeof(p->frag) - p->nr_frags * sizeof(p->frag[0])));
		FZ_CHECK(all_zero(&p->slot_id[p->nr_slots],
				  sizeof(p->slot_id) - p->nr_slots * sizeof(p->slot_id[0])));
		if (empty)
			st.tx_empty++;
		st.tx_ok++;
	}
	/* Answers: one per slot, NULL for extras, OKAY for empty slots. */
	for (uint32_t k = 0; k < p->nr_slots; k++) {
		struct sdrv_netif_tx_response r;
		unsigned char out[TX_SZ + 1];

		FZ_CHECK(sdrv_netif_tx_make_rsp(p, k, SDRV_NETIF_RSP_ERROR, &r) == 0);
		if (k >= 1 && k <= p->nr_extras)
			FZ_CHECK(r.id == 0 && r.status == SDRV_NETIF_RSP_NULL);
		else
			FZ_CHECK(r.id == p->slot_id[k] &&
				 (r.status == SDRV_NETIF_RSP_ERROR ||
				  (r.status == SDRV_NETIF_RSP_OKAY && k > 0 &&
				   p->frag[k - p->nr_extras].size == 0)));
		out[TX_SZ] = 0x5a;
		FZ_CHECK(sdrv_netif_tx_encode_rsp(&r, out, TX_SZ) == 0);
		FZ_CHECK(all_zero(out + 4, TX_SZ - 4) && out[TX_SZ] == 0x5a);
	}
	FZ_CHECK(sdrv_netif_tx_make_rsp(p, p->nr_slots, 0, NULL) == -SDRV_EINVAL);

	/* What a frontend may send re-encodes to slots that decode the same. */
	want = *p;
	if (sdrv_netif_tx_prepare(&want) != 0) {
		FZ_CHECK(p->nr_empty || p->nr_frags > SDRV_NETIF_NR_SLOTS_MIN);
		return;
	}
	FZ_CHECK(p->nr_empty == 0 && p->nr_frags <= SDRV_NETIF_NR_SLOTS_MIN);
	if (__builtin_popcount(p->extras) != p->nr_extras)
		return; /* extras the decoder ignored: a different packet */
	FZ_CHECK(memcmp(&want, p, sizeof(want)) == 0);
	{
		unsigned char out[SDRV_NETIF_TX_MAX_PACKET_SLOTS * TX_SZ];

		for (uint32_t k = 0; k < want.nr_slots; k++)
			FZ_CHECK(sdrv_netif_tx_encode_req(&want, k, out + k * TX_SZ, TX_SZ) == 0);
		FZ_CHECK(tx_decode_copy(out, want.nr_slots, NULL, &again) == 0);
		FZ_CHECK(memcmp(&again, p, sizeof(again)) == 0);
	}
	st.tx_reencoded++;
}

static void check_tx(const uint8_t *slots, size_t all, size_t n,
		     const struct sdrv_netif_tx_limits *lim, bool lim_ok)
{
	struct sdrv_netif_tx_pkt p, q;
	int rc = tx_decode_copy(slots, n, lim, &p);

	if (!lim_ok) {
		FZ_CHECK(rc == -SDRV_EINVAL && all_zero(&p, sizeof(p)));
		st.tx_einval++;
		return;
	}
	switch (rc) {
	case 0:
		check_tx_accepted(slots, n, &p);
		break;
	case -SDRV_EAGAIN:
		FZ_CHECK(p.reason == SDRV_NETIF_R_NEED_MORE && p.nr_slots == n + 1);
		p.reason = 0;
		p.nr_slots = 0;
		FZ_CHECK(all_zero(&p, sizeof(p)));
		/* More slots may settle it; fewer never do. */
		if (n > 0)
			FZ_CHECK(tx_decode_copy(slots, n - 1, lim, &q) == -SDRV_EAGAIN);
		st.tx_again++;
		return;
	case -SDRV_EBADMSG: {
		struct sdrv_netif_tx_pkt keep;

		FZ_CHECK(p.reason == SDRV_NETIF_R_TOO_MANY || p.reason == SDRV_NETIF_R_SLOT_SIZE ||
			 p.reason == SDRV_NETIF_R_RUNT);
		FZ_CHECK(p.nr_slots >= 1 && p.nr_slots <= n &&
			 p.nr_slots <= SDRV_NETIF_TX_MAX_PACKET_SLOTS);
		FZ_CHECK(p.nr_extras <= SDRV_NETIF_MAX_EXTRAS && p.nr_extras < p.nr_slots);
		for (unsigned k = 0; k < p.nr_slots; k++)
			FZ_CHECK(p.slot_id[k] ==
				 (k >= 1 && k <= p.nr_extras ? 0 : wire_tx(slots, k).id));
		/* Only what answering needs. */
		memset(&keep, 0, sizeof(keep));
		keep.reason = p.reason;
		keep.nr_slots = p.nr_slots;
		keep.nr_extras = p.nr_extras;
		memcpy(keep.slot_id, p.slot_id, sizeof(keep.slot_id));
		FZ_CHECK(memcmp(&keep, &p, sizeof(p)) == 0);
		for (uint32_t k = 0; k < p.nr_slots; k++) {
			struct sdrv_netif_tx_response r;

			FZ_CHECK(sdrv_netif_tx_make_rsp(&p, k, sdrv_netif_tx_status_for(rc), &r) ==
				 0);
			FZ_CHECK(r.status == (k >= 1 && k <= p.nr_extras ? SDRV_NETIF_RSP_NULL
									 : SDRV_NETIF_RSP_ERROR));
		}
		st.tx_drop[p.reason]++;
		break;
	}
	case -SDRV_EPROTO:
		FZ_CHECK(p.reason == SDRV_NETIF_R_MALICIOUS ||
			 p.reason == SDRV_NETIF_R_CROSS_PAGE ||
			 p.reason == SDRV_NETIF_R_EXTRA_TYPE ||
			 p.reason == SDRV_NETIF_R_EXTRA_REPEATED ||
			 p.reason == SDRV_NETIF_R_GSO_SIZE || p.reason == SDRV_NETIF_R_GSO_TYPE);
		FZ_CHECK(p.nr_slots >= 1 && p.nr_slots <= n &&
			 p.nr_slots <= SDRV_NETIF_TX_MAX_PACKET_SLOTS);
		q = p;
		q.reason = 0;
		q.nr_slots = 0;
		FZ_CHECK(all_zero(&q, sizeof(q)));
		st.tx_fatal[p.reason]++;
		break;
	default:
		fz_fail("undocumented error from sdrv_netif_tx_decode", __LINE__);
	}
	/* The description fixes the packet's extent: the slots after it
	 * change nothing, and the last of it was needed. */
	FZ_CHECK(tx_decode_copy(slots, p.nr_slots, lim, &q) == rc);
	FZ_CHECK(memcmp(&q, &p, sizeof(q)) == 0);
	if (n < all)
		FZ_CHECK(tx_decode_copy(slots, all, lim, &q) == rc &&
			 memcmp(&q, &p, sizeof(q)) == 0);
	if (rc != -SDRV_EPROTO)
		FZ_CHECK(tx_decode_copy(slots, p.nr_slots - 1u, lim, &q) == -SDRV_EAGAIN);
}

/* -------------------------------- receive -------------------------------- */

static int rx_decode_copy(const uint8_t *slots, size_t n, struct sdrv_netif_rx_pkt *pkt)
{
	unsigned char *copy = malloc(n ? n * RX_SZ : 1);
	int rc;

	FZ_CHECK(copy != NULL);
	memcpy(copy, slots, n * RX_SZ);
	rc = sdrv_netif_rx_decode(copy, n, pkt);
	free(copy);
	return rc;
}

static void check_rx_accepted(const uint8_t *slots, size_t n, const struct sdrv_netif_rx_pkt *p)
{
	struct sdrv_netif_rx_response first;
	struct sdrv_netif_rx_pkt want, again;
	unsigned char out[SDRV_NETIF_RX_MAX_PACKET_SLOTS * RX_SZ];
	uint32_t sum = 0;

	memcpy(&first, slots, sizeof(first));
	FZ_CHECK(p->reason == SDRV_NETIF_R_NONE && p->_pad0 == 0);
	FZ_CHECK(p->nr_frags >= 1 && p->nr_frags <= SDRV_NETIF_RX_MAX_FRAGS);
	FZ_CHECK(p->nr_frags <= SDRV_NETIF_RX_MAX_SLOTS + (p->frag[0].size <= 256));
	FZ_CHECK(p->nr_slots == p->nr_frags + p->nr_extras && p->nr_slots <= n);
	FZ_CHECK(p->nr_extras <= SDRV_NETIF_MAX_EXTRAS);
	FZ_CHECK(!(p->extras & ~(GSO_BIT | HASH_BIT)));
	if (p->extras & GSO_BIT)
		FZ_CHECK(p->gso.size && (p->gso.type == 1 || p->gso.type == 2));
	else
		FZ_CHECK(all_zero(&p->gso, sizeof(p->gso)));
	if (p->extras & HASH_BIT)
		FZ_CHECK(p->hash.type <= 3);
	else
		FZ_CHECK(all_zero(&p->hash, sizeof(p->hash)));
	FZ_CHECK(p->flags == (((first.flags & SDRV_NETRXF_CSUM_BLANK) ? 1 : 0) |
			      ((first.flags & SDRV_NETRXF_DATA_VALIDATED) ? 2 : 0)));
	for (unsigned i = 0; i < p->nr_frags; i++) {
		const struct sdrv_netif_rx_frag *f = &p->frag[i];
		struct sdrv_netif_rx_response w;

		memcpy(&w, slots + f->slot * RX_SZ, sizeof(w));
		FZ_CHECK(f->slot == (i == 0 ? 0 : p->nr_extras + i));
		FZ_CHECK(f->size >= 1 && (uint32_t)f->offset + f->size <= SDRV_NETIF_PAGE_SIZE);
		FZ_CHECK(f->size == w.status && f->offset == w.offset && f->id == w.id);
		sum += f->size;
	}
	FZ_CHECK(sum == p->size && p->size <= SDRV_NETIF_RX_MAX_SIZE);
	FZ_CHECK(
	    all_zero(&p->frag[p->nr_frags], sizeof(p->frag) - p->nr_frags * sizeof(p->frag[0])));
	st.rx_ok++;

	/* The backend's encoder gives the same packet back, slot for slot. */
	want = *p;
	FZ_CHECK(sdrv_netif_rx_prepare(&want) == 0);
	if (__builtin_popcount(p->extras) != p->nr_extras)
		return; /* extras the decoder skipped: a different packet */
	for (uint32_t k = 0, d = 0; k < want.nr_slots; k++) {
		struct sdrv_netif_rx_request q = {.id = 0, .gref = 0};

		if (k == 0 || k > want.nr_extras)
			q.id = p->frag[d++].id;
		FZ_CHECK(sdrv_netif_rx_encode_rsp(&want, k, &q, out + k * RX_SZ, RX_SZ) == 0);
	}
	FZ_CHECK(rx_decode_copy(out, want.nr_slots, &again) == 0);
	FZ_CHECK(memcmp(&again, p, sizeof(again)) == 0);
}

static void check_rx(const uint8_t *slots, size_t all, size_t n)
{
	struct sdrv_netif_rx_pkt p, q;
	int rc = rx_decode_copy(slots, n, &p);

	switch (rc) {
	case 0:
		check_rx_accepted(slots, n, &p);
		break;
	case -SDRV_EAGAIN:
		FZ_CHECK(p.reason == SDRV_NETIF_R_NEED_MORE && p.nr_slots == n + 1);
		if (n > 0)
			FZ_CHECK(rx_decode_copy(slots, n - 1, &q) == -SDRV_EAGAIN);
		st.rx_again++;
		return;
	case -SDRV_EBADMSG:
		FZ_CHECK(p.reason == SDRV_NETIF_R_STATUS || p.reason == SDRV_NETIF_R_CROSS_PAGE ||
			 p.reason == SDRV_NETIF_R_EXTRA_TYPE ||
			 p.reason == SDRV_NETIF_R_EXTRA_REPEATED ||
			 p.reason == SDRV_NETIF_R_TOO_MANY || p.reason == SDRV_NETIF_R_TOO_BIG ||
			 p.reason == SDRV_NETIF_R_GSO_SIZE || p.reason == SDRV_NETIF_R_GSO_TYPE);
		FZ_CHECK(p.nr_slots >= 1 && p.nr_slots <= n &&
			 p.nr_slots <= SDRV_NETIF_RX_MAX_PACKET_SLOTS);
		q = p;
		q.reason = 0;
		q.nr_slots = 0;
		q.nr_extras = 0;
		FZ_CHECK(all_zero(&q, sizeof(q)) && p.nr_extras < p.nr_slots);
		st.rx_drop[p.reason]++;
		break;
	case -SDRV_EPROTO:
		FZ_CHECK(p.reason == SDRV_NETIF_R_MALICIOUS ||
			 p.reason == SDRV_NETIF_R_EXTRA_CHAIN);
		FZ_CHECK(p.nr_slots >= 1 && p.nr_slots <= n &&
			 p.nr_slots <= SDRV_NETIF_RX_MAX_PACKET_SLOTS);
		st.rx_fatal[p.reason]++;
		break;
	default:
		fz_fail("undocumented error from sdrv_netif_rx_decode", __LINE__);
	}
	FZ_CHECK(rx_decode_copy(slots, p.nr_slots, &q) == rc && memcmp(&q, &p, sizeof(q)) == 0);
	if (n < all)
		FZ_CHECK(rx_decode_copy(slots, all, &q) == rc && memcmp(&q, &p, sizeof(q)) == 0);
	if (rc != -SDRV_EPROTO)
		FZ_CHECK(rx_decode_copy(slots, p.nr_slots - 1u, &q) == -SDRV_EAGAIN);
}

/* ----------------------------- control ring ------------------------------ */

static const uint32_t edges[] = {
    0,	  1,	      40,	  127,	      128,	  1023,	      1024,    4096,
    4097, 0x7fffffff, 0x80000000, 0xfffffc00, 0xfffffffe, 0xffffffff, 0x10000, 64};

static void check_ctrl(const uint8_t *d, size_t n, uint8_t c2, uint8_t c3, uint8_t c4)
{
	struct sdrv_netif_ctrl_config cfg;
	struct sdrv_netif_ctrl_request w;
	struct sdrv_netif_ctrl_req req, back;
	struct sdrv_netif_ctrl_response rsp;
	unsigned char *slot = malloc(sizeof(w)), out[SDRV_NETIF_CTRL_ENTRY_SIZE + 1];
	bool cfg_ok;
	int rc;

	FZ_CHECK(slot != NULL);
	memset(&w, 0, sizeof(w));
	memcpy(&w, d, n < sizeof(w) ? n : sizeof(w));
	memcpy(slot, &w, sizeof(w));
	memset(&cfg, 0, sizeof(cfg));
	cfg.sz = sizeof(cfg);
	cfg.algorithm = (c2 & 0x20) ? 2 : (c2 & 1);
	cfg.hash_types = ((c2 >> 1) & 0xf) | ((c2 & 0x40) ? 0x10 : 0);
	cfg.max_key_size = edges[c3 & 15];
	cfg.max_mapping_size = edges[c3 >> 4];
	cfg.mapping_size = (c4 & 15) == 15 ? cfg.max_mapping_size : edges[c4 & 15];
	cfg.nr_queues = c4 >> 4;
	cfg_ok = cfg.algorithm <= 1 && cfg.hash_types <= 0xf && cfg.max_key_size <= 4096 &&
		 cfg.mapping_size <= cfg.max_mapping_size;

	rc = sdrv_netif_ctrl_decode_req(slot, sizeof(w), &cfg, &req);
	free(slot);
	if (!cfg_ok) {
		FZ_CHECK(rc == -SDRV_EINVAL && all_zero(&req, sizeof(req)));
		st.ctrl_einval++;
		return;
	}
	FZ_CHECK(req.id == w.id && req.type == w.type);
	if (rc == 0) {
		/* The bounds, computed here in 64 bits. */
		switch (w.type) {
		case SDRV_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM:
			FZ_CHECK(req.value == w.data[0] && req.value <= 1);
			break;
		case SDRV_NETIF_CTRL_TYPE_GET_HASH_FLAGS:
			FZ_CHECK(cfg.algorithm == 1);
			break;
		case SDRV_NETIF_CTRL_TYPE_SET_HASH_FLAGS:
			FZ_CHECK(req.value == w.data[0] && !(req.value & ~cfg.hash_types) &&
				 cfg.algorithm == 1);
			break;
		case SDRV_NETIF_CTRL_TYPE_SET_HASH_KEY:
			FZ_CHECK(req.gref == w.data[0] && req.size == w.data[1]);
			FZ_CHECK(req.size <= 4096 && req.size <= cfg.max_key_size);
			break;
		case SDRV_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE:
			break;
		case SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE:
			FZ_CHECK(req.size == w.data[0] && req.size <= cfg.max_mapping_size);
			break;
		case SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING:
			FZ_CHECK(req.gref == w.data[0] && req.size == w.data[1] &&
				 req.offset == w.data[2]);
			FZ_CHECK(req.size <= 1024);
			FZ_CHECK((uint64_t)req.offset + req.size <= cfg.mapping_size);
			break;
		default:
			fz_fail("accepted an unknown control request", __LINE__);
		}
		st.ctrl_ok++;
		/* It re-encodes to the same request. */
		FZ_CHECK(sdrv_netif_ctrl_encode_req(&req, out, SDRV_NETIF_CTRL_ENTRY_SIZE) == 0);
		FZ_CHECK(sdrv_netif_ctrl_decode_req(out, SDRV_NETIF_CTRL_ENTRY_SIZE, &cfg, &back) ==
			 0);
		FZ_CHECK(memcmp(&back, &req, sizeof(back)) == 0);
		if (req.type == SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING) {
			size_t len = n > 16 ? n - 16 : 0;
			uint32_t *ents = malloc((req.size ? req.size : 1) * sizeof(uint32_t));
			int mrc;

			FZ_CHECK(ents != NULL);
			mrc = sdrv_netif_ctrl_decode_mapping(&req, d + (n > 16 ? 16 : n), len, &cfg,
							     ents, req.size);
			if (len / 4 < req.size) {
				FZ_CHECK(mrc == -SDRV_EINVAL);
			} else {
				bool bad = false;

				for (uint32_t i = 0; i < req.size; i++) {
					uint32_t e;

					memcpy(&e, d + 16 + 4 * i, 4);
					bad |= e >= cfg.nr_queues;
					if (mrc == 0)
						FZ_CHECK(ents[i] == e);
				}
				FZ_CHECK(mrc == (bad ? -SDRV_EBADMSG : 0));
				if (bad)
					FZ_CHECK(all_zero(ents, req.size * sizeof(uint32_t)));
				if (bad)
					st.map_bad++;
				else
					st.map_ok++;
			}
			free(ents);
		}
	} else {
		FZ_CHECK(rc == -SDRV_EBADMSG || rc == -SDRV_EMSGSIZE || rc == -SDRV_EOPNOTSUPP);
		FZ_CHECK(req.value == 0 && req.gref == 0 && req.size == 0 && req.offset == 0);
		if (rc == -SDRV_EOPNOTSUPP)
			FZ_CHECK(
			    w.type == 0 || w.type > 7 ||
			    (w.type == SDRV_NETIF_CTRL_TYPE_GET_HASH_FLAGS && cfg.algorithm == 0));
		if (rc == -SDRV_EMSGSIZE)
			FZ_CHECK(w.type == SDRV_NETIF_CTRL_TYPE_SET_HASH_KEY ||
				 w.type == SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING);
		if (rc == -SDRV_EBADMSG)
			st.ctrl_badmsg++;
		else if (rc == -SDRV_EMSGSIZE)
			st.ctrl_msgsize++;
		else
			st.ctrl_notsup++;
	}
	/* The answer: four fields and zeros. */
	FZ_CHECK(sdrv_netif_ctrl_make_rsp(&req, rc, &cfg, &rsp) == 0);
	FZ_CHECK(rsp.id == w.id && rsp.type == w.type && rsp.status <= 3);
	FZ_CHECK((rc == 0) == (rsp.status == SDRV_NETIF_CTRL_STATUS_SUCCESS));
	out[SDRV_NETIF_CTRL_ENTRY_SIZE] = 0x5a;
	FZ_CHECK(sdrv_netif_ctrl_encode_rsp(&rsp, out, SDRV_NETIF_CTRL_ENTRY_SIZE) == 0);
	FZ_CHECK(all_zero(out + 12, 4) && out[16] == 0x5a);
	FZ_CHECK(memcmp(out, &rsp, 12) == 0);
}

/* ---------------------------- checksum offload --------------------------- */

/* Where a partial checksum goes: within the frame, a TCP or UDP header
 * that fits, or a documented error with a zeroed result. */
static void check_l4(const uint8_t *frame, size_t n)
{
	struct sdrv_netif_l4 l4;
	int rc = sdrv_netif_parse_l4(frame, n, &l4);

	if (rc == 0) {
		FZ_CHECK(l4.proto == 6 || l4.proto == 17);
		FZ_CHECK(l4.csum_offset == (l4.proto == 6 ? 16 : 6));
		FZ_CHECK(l4.csum_start >= 34 && l4.hdr_len <= n &&
			 l4.hdr_len >= l4.csum_start + (l4.proto == 6 ? 20u : 8u));
		FZ_CHECK(l4.csum_start + l4.csum_offset + 2u <= l4.hdr_len);
		st.l4_ok++;
	} else {
		FZ_CHECK(rc == -SDRV_EBADMSG || rc == -SDRV_EOPNOTSUPP);
		FZ_CHECK(all_zero(&l4, sizeof(l4)));
	}
}

/* --------------------------------- hash ---------------------------------- */

static void check_hash(const uint8_t *d, size_t n, uint8_t types)
{
	struct sdrv_netif_hash h;
	uint8_t *frame = malloc(n ? n : 1), a[36], b[36], x[36];
	size_t klen = n < 40 ? n : 40, dlen = (n - klen) / 2 > 36 ? 36 : (n - klen) / 2;
	int rc;

	FZ_CHECK(frame != NULL);
	memcpy(frame, d, n);
	rc = sdrv_netif_hash_frame(d, klen, types & 0xf, frame, n, &h);
	check_l4(frame, n);
	free(frame);
	if (rc == 0) {
		FZ_CHECK(h.type <= 3 && (types & 0xf & (1u << h.type)) && h._pad0 == 0 &&
			 h.algorithm == SDRV_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ);
		st.hash_ok++;
	} else {
		FZ_CHECK(rc == -SDRV_ENOENT && all_zero(&h, sizeof(h)));
		st.hash_none++;
	}
	/* Toeplitz is linear over GF(2). */
	memcpy(a, d + klen, dlen);
	memcpy(b, d + klen + dlen, dlen);
	for (size_t i = 0; i < dlen; i++)
		x[i] = a[i] ^ b[i];
	FZ_CHECK(sdrv_netif_toeplitz(d, klen, x, dlen) ==
		 (sdrv_netif_toeplitz(d, klen, a, dlen) ^ sdrv_netif_toeplitz(d, klen, b, dlen)));
}

/* The bytes as a mac key: accepted exactly when they are six two-digit
 * hex bytes joined by colons, read back to the same text (lower case),
 * and group addresses told apart. */
static void check_mac(const uint8_t *d, size_t n)
{
	char text[24], back[24];
	uint8_t mac[6], keep[6] = {0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5};
	bool ok;
	int rc;

	if (n > sizeof(text) - 1)
		n = sizeof(text) - 1;
	memcpy(text, d, n);
	text[n] = 0;
	ok = strlen(text) == 17;
	for (int i = 0; ok && i < 17; i++)
		ok =
		    i % 3 == 2 ? text[i] == ':' : strchr("0123456789abcdefABCDEF", text[i]) != NULL;
	memcpy(mac, keep, 6);
	rc = sdrv_netif_parse_mac(text, mac);
	if (!ok) {
		if (rc != -SDRV_EINVAL || memcmp(mac, keep, 6))
			abort();
		return;
	}
	if (rc != (mac[0] & 1))
		abort();
	snprintf(back, sizeof(back), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5]);
	for (int i = 0; i < 17; i++)
		if (back[i] != (text[i] >= 'A' && text[i] <= 'F' ? text[i] - 'A' + 'a' : text[i]))
			abort();
	st.mac_ok++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t fatal[] = {0, 0, 18, 20, 32, 17, 33, 0xffffffff};
	struct sdrv_netif_tx_limits lim;
	const uint8_t *slots = data + (size > HDR ? HDR : size);
	size_t rest = size > HDR ? size - HDR : 0, ntx = rest / TX_SZ, nrx = rest / RX_SZ, n;
	uint8_t sel = at(data, size, 0), given = at(data, size, 1);
	bool lim_ok;

	st.inputs++;
	if (ntx > MAX_TX)
		ntx = MAX_TX;
	if (nrx > MAX_RX)
		nrx = MAX_RX;
	memset(&lim, 0, sizeof(lim));
	lim.sz = sizeof(lim);
	lim.fatal_slots = fatal[sel & 7];
	lim_ok = (sel & 7) <= 4;

	n = (given & 0x80) ? (given & 0x7f) % (ntx + 1) : ntx;
	check_tx(slots, ntx, n, (sel & 7) == 0 ? NULL : &lim, lim_ok);
	n = (given & 0x80) ? (given & 0x7f) % (nrx + 1) : nrx;
	check_rx(slots, nrx, n);
	check_ctrl(slots, rest, at(data, size, 2), at(data, size, 3), at(data, size, 4));
	check_hash(slots, rest, at(data, size, 5));
	check_mac(slots, rest);
	return 0;
}

#ifndef SDRV_LIBFUZZER
/* ============================ the plain runner =========================== */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "../common/tutil.h"

#define FZ_MAX_INPUT (HDR + MAX_TX * TX_SZ + 64)

#include "fz-corpus.h"

enum gen_kind {
	G_TX,
	G_TX_GSO,
	G_TX_MAX,
	G_TX_MCAST,
	G_RX,
	G_RX_GSO,
	G_CTRL,
	G_FRAME,
	G_MAC,
	G_KINDS
};

static const char *const gen_names[] = {"tx",	  "tx-gso", "tx-max", "tx-mcast", "rx",
					"rx-gso", "ctrl",   "frame",  "mac"};

/*
 * A valid input of a kind: a packet built with the codec's own encoders,
 * or a control request the configuration accepts, with a header to match.
 * `*ok` is where the harness counts its acceptance.
 */
static size_t gen_valid(unsigned char *buf, uint64_t *rng, unsigned kind, const char **name,
			unsigned long **ok)
{
	size_t n = HDR;

	kind %= G_KINDS;
	*name = gen_names[kind];
	memset(buf, 0, HDR);
	buf[2] = 0x1f; /* Toeplitz, all hash types */
	buf[3] = 0x44; /* keys of 128 bytes, tables of 128 entries */
	buf[4] = 0x4f; /* the full table, 4 queues */
	buf[5] = (uint8_t)tu_rand(rng);
	if (kind <= G_TX_MCAST) {
		struct sdrv_netif_tx_pkt p;

		memset(&p, 0, sizeof(p));
		*ok = kind == G_TX_MCAST ? &st.tx_control : &st.tx_ok;
		if (kind == G_TX_MCAST) {
			p.extras = (uint16_t)(1u << (2 + tu_rand(rng) % 2));
			if (tu_rand(rng) & 1)
				p.extras = MC_BITS;
			p.slot_id[0] = (uint16_t)tu_rand(rng);
			for (int i = 0; i < 6; i++)
				p.mcast_add[i] = (uint8_t)tu_rand(rng),
				p.mcast_del[i] = (uint8_t)~i;
		} else {
			uint32_t total = 0;

			p.nr_frags = (uint16_t)(kind == G_TX_MAX ? SDRV_NETIF_NR_SLOTS_MIN
								 : 1 + tu_rand(rng) % 5);
			for (unsigned i = 0; i < p.nr_frags; i++) {
				uint16_t sz =
				    (uint16_t)(1 + tu_rand(rng) % (kind == G_TX_MAX ? 16 : 4096));

				if (i == 0 && sz < 14)
					sz = 14;
				if (total + sz > 0xFFFF)
					sz = 1;
				p.frag[i].size = sz;
				p.frag[i].offset = (uint16_t)(tu_rand(rng) % (4097u - sz));
				p.frag[i].gref = (uint32_t)tu_rand(rng);
				p.frag[i].id = (uint16_t)tu_rand(rng);
				total += sz;
			}
			p.flags = (uint16_t)(tu_rand(rng) & 3);
			if (kind == G_TX_GSO || (kind == G_TX_MAX && (tu_rand(rng) & 1))) {
				p.extras |= GSO_BIT;
				p.gso.size = (uint16_t)(1 + tu_rand(rng) % 9000);
				p.gso.type = (uint8_t)(1 + tu_rand(rng) % 2);
			}
			if (tu_rand(rng) & 1) {
				p.extras |= HASH_BIT;
				p.hash.type = (uint8_t)(tu_rand(rng) % 4);
				p.hash.value = (uint32_t)tu_rand(rng);
			}
		}
		FZ_CHECK(sdrv_netif_tx_prepare(&p) == 0);
		for (uint32_t k = 0; k < p.nr_slots; k++, n += TX_SZ)
			FZ_CHECK(sdrv_netif_tx_encode_req(&p, k, buf + n, TX_SZ) == 0);
	} else if (kind <= G_RX_GSO) {
		struct sdrv_netif_rx_pkt p;

		memset(&p, 0, sizeof(p));
		*ok = &st.rx_ok;
		p.nr_frags = (uint16_t)(1 + tu_rand(rng) % 6);
		for (unsigned i = 0; i < p.nr_frags; i++) {
			p.frag[i].size = (uint16_t)(1 + tu_rand(rng) % 4096);
			p.frag[i].offset = (uint16_t)(tu_rand(rng) % (4097u - p.frag[i].size));
		}
		p.flags = (uint16_t)(tu_rand(rng) & 3);
		if (kind == G_RX_GSO) {
			p.extras = GSO_BIT | HASH_BIT;
			p.gso.size = 1448;
			p.gso.type = 2;
			p.hash.type = 3;
			p.hash.value = (uint32_t)tu_rand(rng);
			p.hash.algorithm = SDRV_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ;
		}
		FZ_CHECK(sdrv_netif_rx_prepare(&p) == 0);
		for (uint32_t k = 0; k < p.nr_slots; k++, n += RX_SZ) {
			struct sdrv_netif_rx_request q = {.id = (uint16_t)k, .gref = 0};

			FZ_CHECK(sdrv_netif_rx_encode_rsp(&p, k, &q, buf + n, RX_SZ) == 0);
		}
	} else if (kind == G_FRAME) {
		/* An Ethernet frame (maybe VLAN-tagged) with IPv4 or IPv6 and
		 * TCP, every hash type enabled. */
		bool v6 = tu_rand(rng) & 1, vlan = tu_rand(rng) & 1;
		size_t l3;

		*ok = &st.hash_ok;
		buf[5] = 0xf;
		memset(buf + n, 0, 96);
		for (int i = 0; i < 12; i++)
			buf[n + i] = (uint8_t)tu_rand(rng);
		l3 = n + 12;
		if (vlan) {
			buf[l3] = 0x81, buf[l3 + 3] = 7;
			l3 += 4;
		}
		buf[l3] = v6 ? 0x86 : 0x08, buf[l3 + 1] = v6 ? 0xdd : 0x00;
		l3 += 2;
		buf[l3] = v6 ? 0x60 : 0x45;
		buf[l3 + (v6 ? 6 : 9)] = 6; /* TCP */
		for (int i = 8; i < 40; i++)
			buf[l3 + i] = (uint8_t)tu_rand(rng);
		if (!v6)
			buf[l3 + 6] = buf[l3 + 7] = 0; /* not a fragment */
		buf[l3 + (v6 ? 40 : 20) + 12] = 0x50;  /* a 20-byte TCP header */
		n = l3 + (v6 ? 40 : 20) + 20;
	} else if (kind == G_MAC) {
		/* A mac key: random bytes in random case, group or not. */
		static const char hex[] = "0123456789abcdefABCDEF";

		*ok = &st.mac_ok;
		for (int i = 0; i < 17; i++)
			buf[n + i] = i % 3 == 2 ? ':' : (unsigned char)hex[tu_rand(rng) % 22];
		n += 17;
	} else {
		struct sdrv_netif_ctrl_req q;
		uint32_t ents = 1 + (uint32_t)(tu_rand(rng) % 32);

		memset(&q, 0, sizeof(q));
		*ok = &st.ctrl_ok;
		q.id = (uint16_t)tu_rand(rng);
		q.type = SDRV_NETIF_CTRL_TYPE_SET_HASH_MAPPING;
		q.gref = (uint32_t)tu_rand(rng);
		q.size = ents;
		q.offset = (uint32_t)(tu_rand(rng) % (128 - ents + 1));
		FZ_CHECK(sdrv_netif_ctrl_encode_req(&q, buf + n, 16) == 0);
		n += 16;
		for (uint32_t i = 0; i < ents; i++, n += 4) {
			uint32_t e = (uint32_t)(tu_rand(rng) % 4);

			memcpy(buf + n, &e, 4);
		}
	}
	return n;
}

/*
 * Hostile shapes that mutations rarely reach on their own, so that even a
 * short run (under valgrind) covers their rules: a chain of 17 to 24 data
 * slots, accepted, dropped or fatal depending on its length (seeds
 * tx-long-*, rx-long-*), and a GSO packet whose extra has size 0 or a bad
 * type (seeds tx-badgso-*, rx-badgso-*).
 */
static size_t gen_valid(unsigned char *buf, uint64_t *rng, unsigned kind, const char **name,
			unsigned long **ok);

static size_t gen_hostile(unsigned char *buf, uint64_t *rng, bool rx, bool badgso)
{
	unsigned data = 17 + (unsigned)(tu_rand(rng) % 8);
	size_t n = HDR;

	if (badgso) {
		const char *name;
		unsigned long *ok;
		/* The GSO extra is the packet's second slot. */
		size_t x = HDR + (rx ? RX_SZ : TX_SZ);

		n = gen_valid(buf, rng, rx ? G_RX_GSO : G_TX_GSO, &name, &ok);
		if (tu_rand(rng) & 1)
			buf[x + 2] = buf[x + 3] = 0; /* size 0 */
		else
			buf[x + 4] = (tu_rand(rng) & 1) ? 0 : 3; /* type NONE, or unknown */
		return n;
	}
	memset(buf, 0, HDR);
	for (unsigned i = 0; i < data; i++) {
		bool more = i + 1 < data;

		if (rx) {
			struct sdrv_netif_rx_response r = {.id = (uint16_t)i,
							   .offset = 0,
							   .status = i ? 100 : 200,
							   .flags =
							       more ? SDRV_NETRXF_MORE_DATA : 0};

			memcpy(buf + n, &r, sizeof(r));
			n += RX_SZ;
		} else {
			struct sdrv_netif_tx_request t = {
			    .gref = i,
			    .offset = 0,
			    .id = (uint16_t)i,
			    .size = (uint16_t)(i ? 60 : 100 + 60 * (data - 1)),
			    .flags = more ? SDRV_NETTXF_MORE_DATA : 0};

			memcpy(buf + n, &t, sizeof(t));
			n += TX_SZ;
		}
	}
	return n;
}

static size_t mutate(unsigned char *buf, size_t n, uint64_t *rng)
{
	unsigned edits = 1 + (unsigned)(tu_rand(rng) % 4);

	for (unsigned k = 0; k < edits; k++) {
		uint64_t m = tu_rand(rng);
		size_t at_ = n ? (size_t)((m >> 8) % n) : 0;

		switch (m % 10) {
		case 0: /* truncate */
			n = at_;
			break;
		case 1: /* the header */
			if (n > HDR)
				buf[(m >> 8) % HDR] = (uint8_t)(m >> 16);
			break;
		case 2: /* a flags byte of a tx slot (offset 6) */
			if (n > HDR + 12) {
				size_t s = (size_t)((m >> 8) % ((n - HDR) / 12));

				buf[HDR + 12 * s + 6] ^= (uint8_t)(1u << ((m >> 32) % 4));
			}
			break;
		case 3: /* an interesting byte */
			if (n) {
				static const uint8_t v[] = {0, 1, 4, 5, 13, 14, 0x10, 0xff};
				buf[at_] = v[(m >> 32) % 8];
			}
			break;
		case 4: /* an interesting 16-bit value */
			if (n > 1) {
				static const uint16_t v[] = {0,	   1,	 14,	 4095,
							     4096, 4097, 0x8000, 0xffff};
				uint16_t x = v[(m >> 32) % 8];

				memcpy(buf + (at_ < n - 1 ? at_ : n - 2), &x, 2);
			}
			break;
		case 5: /* repeat a slot (longer chains) */
			if (n > HDR + 12 && n + 12 <= FZ_MAX_INPUT) {
				size_t s = (size_t)((m >> 8) % ((n - HDR) / 12));

				memmove(buf + HDR + 12 * (s + 1), buf + HDR + 12 * s,
					n - HDR - 12 * s);
				n += 12;
			}
			break;
		default: /* a flipped bit */
			if (n)
				buf[at_] ^= (uint8_t)(1u << ((m >> 32) % 8));
			break;
		}
	}
	return n;
}

static int gen_corpus(const char *dir)
{
	static unsigned char buf[FZ_MAX_INPUT];
	uint64_t rng = 0x6e6574696678ull;

	for (unsigned kind = 0; kind < G_KINDS; kind++)
		for (unsigned k = 0; k < 2; k++) {
			const char *name;
			unsigned long *ok;
			size_t n = gen_valid(buf, &rng, kind, &name, &ok);
			char *path;
			FILE *fp;

			if (asprintf(&path, "%s/%s-%u", dir, name, k) < 0)
				return TU_FAIL;
			fp = fopen(path, "wb");
			if (!fp || fwrite(buf, 1, n, fp) != n || fclose(fp) != 0) {
				fprintf(stderr, "FAIL: %s: %s\n", path, strerror(errno));
				free(path);
				return TU_FAIL;
			}
			free(path);
		}
	for (unsigned h = 0; h < 4; h++)
		for (unsigned k = 0; k < 2; k++) {
			size_t n = gen_hostile(buf, &rng, h & 1, h >= 2);
			char *path;
			FILE *fp;

			if (asprintf(&path, "%s/%s-%s-%u", dir, h & 1 ? "rx" : "tx",
				     h >= 2 ? "badgso" : "long", k) < 0)
				return TU_FAIL;
			fp = fopen(path, "wb");
			if (!fp || fwrite(buf, 1, n, fp) != n || fclose(fp) != 0) {
				fprintf(stderr, "FAIL: %s: %s\n", path, strerror(errno));
				free(path);
				return TU_FAIL;
			}
			free(path);
		}
	return TU_PASS;
}

static unsigned long sum16(const unsigned long *v)
{
	unsigned long s = 0;

	for (int i = 0; i < 16; i++)
		s += v[i];
	return s;
}

int main(int argc, char **argv)
{
	static unsigned char buf[FZ_MAX_INPUT];
	const char *env = getenv("SDRV_FUZZ_CORPUS"), *seed_s = getenv("SDRV_FUZZ_SEED");
	const char *srcdir = getenv("top_srcdir");
	const uint64_t seed0 = seed_s ? strtoull(seed_s, NULL, 0) : 0x6e6574696678ull;
	uint64_t rng = seed0, iters;
	struct fz_corpus c = {0};
	char *dir = NULL;
	size_t seeds;
	bool covered = true;

	setvbuf(stdout, NULL, _IOLBF, 0);
	tu_watchdog(300, "fuzz-netif-run");
	if (argc == 3 && strcmp(argv[1], "--gen-corpus") == 0)
		return gen_corpus(argv[2]);
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			fz_corpus_run(&c, argv[i], FZ_MAX_INPUT);
		printf("ok: %lu inputs\n", st.inputs);
		fz_corpus_free(&c);
		return TU_PASS;
	}
	if (env)
		dir = strdup(env);
	else if (srcdir && asprintf(&dir, "%s/tests/fuzz/corpus/netif", srcdir) < 0)
		dir = NULL;
	if (dir) {
		fz_corpus_run(&c, dir, FZ_MAX_INPUT);
		free(dir);
	}
	seeds = c.n;
	if (srcdir && seeds == 0) {
		fprintf(stderr, "FAIL: the seed corpus is empty\n");
		return TU_FAIL;
	}
	printf("ok: %zu seed inputs\n", seeds);
	if (!rng)
		rng = 1;

	/* Valid packets and requests of every kind are accepted as they are. */
	for (unsigned k = 0; k < 70; k++) {
		const char *name;
		unsigned long *ok, before;
		size_t n = gen_valid(buf, &rng, k, &name, &ok);

		before = *ok;
		LLVMFuzzerTestOneInput(buf, n);
		if (*ok == before) {
			FILE *fp = fopen("fuzz-netif-refused.bin", "wb");

			if (fp) {
				fwrite(buf, 1, n, fp);
				fclose(fp);
			}
			fprintf(stderr,
				"FAIL: a valid %s input was refused (saved as "
				"fuzz-netif-refused.bin)\n",
				name);
			fz_corpus_free(&c);
			return TU_FAIL;
		}
		fz_corpus_add(&c, buf, n);
	}
	/* The hostile shapes. */
	for (unsigned k = 0; k < 32; k++) {
		size_t n = gen_hostile(buf, &rng, k & 1, k & 2);

		LLVMFuzzerTestOneInput(buf, n);
		fz_corpus_add(&c, buf, n);
	}

	iters = tu_scaled(200000, 2000);
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t r = tu_rand(&rng);
		size_t n;

		if (r % 8 == 0) {
			n = (size_t)((r >> 8) % 400);
			for (size_t k = 0; k < n; k++)
				buf[k] = (unsigned char)(tu_rand(&rng) >> 24);
		} else {
			size_t k = (size_t)((r >> 8) % c.n);

			n = c.len[k];
			memcpy(buf, c.data[k], n);
			n = mutate(buf, n, &rng);
		}
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("ok: %" PRIu64 " random inputs (seed %#" PRIx64 "):\n"
	       "  tx: %lu accepted (%lu with empty slots, %lu re-encoded), %lu multicast, "
	       "%lu wait, %lu EINVAL; drop too-many %lu, slot-size %lu, runt %lu; fatal "
	       "malicious %lu, cross-page %lu, extra-type %lu, extra-repeated %lu, gso-size %lu, "
	       "gso-type %lu\n"
	       "  rx: %lu accepted, %lu wait, %lu dropped, %lu fatal\n"
	       "  ctrl: %lu accepted, %lu INVALID, %lu OVERFLOW, %lu NOT_SUPPORTED, %lu bad "
	       "config; tables %lu ok, %lu bad\n"
	       "  hash: %lu hashed, %lu without a type; %lu transport headers found\n"
	       "  mac: %lu accepted\n",
	       iters, seed0, st.tx_ok, st.tx_empty, st.tx_reencoded, st.tx_control, st.tx_again,
	       st.tx_einval, st.tx_drop[SDRV_NETIF_R_TOO_MANY], st.tx_drop[SDRV_NETIF_R_SLOT_SIZE],
	       st.tx_drop[SDRV_NETIF_R_RUNT], st.tx_fatal[SDRV_NETIF_R_MALICIOUS],
	       st.tx_fatal[SDRV_NETIF_R_CROSS_PAGE], st.tx_fatal[SDRV_NETIF_R_EXTRA_TYPE],
	       st.tx_fatal[SDRV_NETIF_R_EXTRA_REPEATED], st.tx_fatal[SDRV_NETIF_R_GSO_SIZE],
	       st.tx_fatal[SDRV_NETIF_R_GSO_TYPE], st.rx_ok, st.rx_again, sum16(st.rx_drop),
	       sum16(st.rx_fatal), st.ctrl_ok, st.ctrl_badmsg, st.ctrl_msgsize, st.ctrl_notsup,
	       st.ctrl_einval, st.map_ok, st.map_bad, st.hash_ok, st.hash_none, st.l4_ok,
	       st.mac_ok);
	fz_corpus_free(&c);
	/* A harness that never reaches a path proves nothing about it. */
	covered = st.tx_ok && st.tx_empty && st.tx_reencoded && st.tx_control && st.tx_again &&
		  st.tx_einval && st.rx_ok && st.rx_again && st.ctrl_ok && st.ctrl_badmsg &&
		  st.ctrl_msgsize && st.ctrl_notsup && st.ctrl_einval && st.map_ok && st.map_bad &&
		  st.hash_ok && st.hash_none && st.l4_ok && st.mac_ok;
	for (unsigned r = SDRV_NETIF_R_TOO_MANY; r <= SDRV_NETIF_R_RUNT; r++)
		if (r != SDRV_NETIF_R_MALICIOUS)
			covered &= st.tx_drop[r] != 0;
	for (unsigned r = SDRV_NETIF_R_MALICIOUS; r <= SDRV_NETIF_R_GSO_TYPE; r++)
		if (r != SDRV_NETIF_R_SLOT_SIZE && r != SDRV_NETIF_R_RUNT &&
		    r != SDRV_NETIF_R_EXTRA_CHAIN)
			covered &= st.tx_fatal[r] != 0;
	for (unsigned r = SDRV_NETIF_R_TOO_MANY; r <= SDRV_NETIF_R_TOO_BIG; r++)
		if (r == SDRV_NETIF_R_STATUS || r == SDRV_NETIF_R_CROSS_PAGE ||
		    r == SDRV_NETIF_R_EXTRA_TYPE || r == SDRV_NETIF_R_TOO_MANY ||
		    r == SDRV_NETIF_R_GSO_SIZE || r == SDRV_NETIF_R_GSO_TYPE)
			covered &= st.rx_drop[r] != 0;
	covered &= st.rx_fatal[SDRV_NETIF_R_MALICIOUS] != 0;
	if (!covered) {
		fprintf(stderr, "FAIL: the inputs did not exercise every decoder path\n");
		return TU_FAIL;
	}
	printf("PASS: fuzz-netif-run\n");
	return TU_PASS;
}
#endif
