/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness for the broker protocol validator (transports/posix/proto.c).
 *
 * Input: byte 0 = number of descriptors that came with the datagram (bits
 * 0-5: 0..63, beyond SDRV_PM_MAX_FDS) and the direction (bit 7: to the
 * client), then the datagram. The
 * validator must never crash, and whatever it accepts must really have the
 * shape it claims: a consistent header, a known type, and the exact
 * descriptor count of that type.
 *
 * Built two ways: with libFuzzer by `make fuzz` (-DSDRV_LIBFUZZER), and as
 * a plain program run by `make check` on structured and random inputs from
 * a fixed seed (SDRV_FUZZ_SEED), scaled with tu_scaled().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../transports/posix/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long accepted;

static void fail(const char *what);

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Isolation-mode messages: whatever is accepted has counts that match its
 * size and descriptors, as the handlers assume. */
static void check_batch(const uint8_t *p, const struct sdrv_pm_hdr *h, unsigned nfds,
			enum sdrv_pm_dir dir)
{
	uint32_t count;

	if (dir == SDRV_PM_TO_BROKER) {
		switch (h->type) {
		case SDRV_PM_SHARE:
			count = rd32(p);
			if (count == 0 || count > SDRV_PM_MAX_BATCH || count != nfds ||
			    h->len != 8 + 4 * count)
				fail("accepted a bad SHARE");
			break;
		case SDRV_PM_MAP:
		case SDRV_PM_UNMAP:
			count = rd32(p + 4);
			if (count == 0 || count > SDRV_PM_MAX_BATCH || nfds ||
			    h->len != 8 + 4 * count)
				fail("accepted a bad MAP/UNMAP");
			break;
		case SDRV_PM_COPY: {
			struct sdrv_pm_copy c;

			memcpy(&c, p, sizeof(c));
			if (c.len > SDRV_PM_MAX_COPY || nfds ||
			    h->len != 16u + ((c.flags & SDRV_PM_COPY_TO_GRANT) ? c.len : 0u))
				fail("accepted a bad COPY");
			break;
		}
		default:
			break;
		}
		return;
	}
	if (h->type == (SDRV_PM_MAP | SDRV_PM_REPLY) && h->len > 8) {
		count = rd32(p + 4);
		if (count == 0 || count > SDRV_PM_MAX_BATCH || h->len != 16 + 4 * count ||
		    (nfds != 0 && nfds != count))
			fail("accepted a bad MAP reply");
	}
	if (h->type == (SDRV_PM_COPY | SDRV_PM_REPLY) && h->len > 8 && rd32(p + 4) != h->len - 8)
		fail("accepted a bad COPY reply");
}

static void fail(const char *what)
{
	fprintf(stderr, "FAIL: fuzz-broker-msg: %s\n", what);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sdrv_pm_hdr h;
	enum sdrv_pm_dir dir;
	unsigned nfds;
	uint8_t *copy;
	int r;

	if (size < 1)
		return 0;
	nfds = data[0] & 0x3f;
	dir = (data[0] & 0x80) ? SDRV_PM_TO_CLIENT : SDRV_PM_TO_BROKER;
	/* An exact-size private copy, so ASan sees any overread. */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	r = sdrv_pm_validate(copy, size - 1, nfds, dir, &h);
	if (r == 0) {
		accepted++;
		if (h.magic != SDRV_PM_MAGIC || h.flags != 0 ||
		    (size_t)h.len + SDRV_PM_HDR_SIZE != size - 1 || h.len > SDRV_PM_MAX_PAYLOAD)
			fail("accepted an inconsistent header");
		if (nfds > SDRV_PM_MAX_FDS)
			fail("accepted too many descriptors");
		if (dir == SDRV_PM_TO_BROKER &&
		    (h.seq == 0 || h.type == 0 || h.type >= SDRV_PM_NR_REQUESTS))
			fail("accepted a request that is not one");
		if (strcmp(sdrv_pm_type_name(h.type), "unknown") == 0)
			fail("accepted an unknown type");
		check_batch(copy + SDRV_PM_HDR_SIZE, &h, nfds, dir);
	} else if (r != -EPROTO && r != -EBADMSG && r != -EOPNOTSUPP) {
		fail("unexpected error code");
	}
	free(copy);
	return 0;
}

#ifndef SDRV_LIBFUZZER
#include "../common/tutil.h"

/* Valid messages, to mutate from. */
static size_t seed_msg(uint8_t *buf, uint64_t *rng)
{
	static const struct {
		uint16_t type;
		uint16_t len;
		uint8_t nfds;
		uint8_t to_client;
	} shapes[] = {
	    {SDRV_PM_HELLO, 16, 2, 0},
	    {SDRV_PM_MAP_SETUP, 4, 0, 0},
	    {SDRV_PM_ALLOC_UNBOUND, 8, 1, 0},
	    {SDRV_PM_BIND, 16, 1, 0},
	    {SDRV_PM_CLOSE, 4, 0, 0},
	    {SDRV_PM_HELLO | SDRV_PM_REPLY, 20, 0, 1},
	    {SDRV_PM_MAP_SETUP | SDRV_PM_REPLY, 16, 2, 1},
	    {SDRV_PM_BIND | SDRV_PM_REPLY, 8, 1, 1},
	    {SDRV_PM_CLOSE | SDRV_PM_REPLY, 8, 0, 1},
	    {SDRV_PM_SHARE, 16, 2, 0},
	    {SDRV_PM_MAP, 16, 0, 0},
	    {SDRV_PM_UNMAP, 12, 0, 0},
	    {SDRV_PM_COPY, 20, 0, 0},
	    {SDRV_PM_COPY, 16, 0, 0},
	    {SDRV_PM_SHARE | SDRV_PM_REPLY, 8, 0, 1},
	    {SDRV_PM_MAP | SDRV_PM_REPLY, 24, 2, 1},
	    {SDRV_PM_UNMAP | SDRV_PM_REPLY, 8, 0, 1},
	    {SDRV_PM_COPY | SDRV_PM_REPLY, 8, 0, 1},
	    {SDRV_PM_COPY | SDRV_PM_REPLY, 12, 0, 1},
	    {SDRV_PM_EV_BOUND, 16, 1, 1},
	    {SDRV_PM_EV_PORT_CLOSED, 4, 0, 1},
	    {SDRV_PM_EV_PEER_DIED, 4, 0, 1},
	};
	unsigned k = (unsigned)(tu_rand(rng) % (sizeof(shapes) / sizeof(shapes[0])));
	uint8_t payload[64] = {0};
	uint32_t seq = shapes[k].to_client && !(shapes[k].type & SDRV_PM_REPLY) ? 0 : 7;

	/* The counts the isolation-mode shapes need. */
	switch (shapes[k].type) {
	case SDRV_PM_HELLO:
		break;
	case SDRV_PM_SHARE:
		payload[0] = 2; /* count, + 2 refs */
		break;
	case SDRV_PM_MAP:
	case SDRV_PM_UNMAP:
	case SDRV_PM_MAP | SDRV_PM_REPLY:
		payload[4] =
		    (uint8_t)((shapes[k].len - (shapes[k].type & SDRV_PM_REPLY ? 16 : 8)) / 4);
		break;
	case SDRV_PM_COPY:
		if (shapes[k].len > 16) {
			payload[2] = SDRV_PM_COPY_TO_GRANT;
			payload[10] = (uint8_t)(shapes[k].len - 16);
		}
		break;
	case SDRV_PM_COPY | SDRV_PM_REPLY:
		payload[4] = (uint8_t)(shapes[k].len - 8);
		break;
	default:
		break;
	}
	buf[0] = (uint8_t)(shapes[k].nfds | (shapes[k].to_client ? 0x80 : 0));
	return 1 + sdrv_pm_encode(buf + 1, shapes[k].type, seq, payload, shapes[k].len);
}

int main(void)
{
	const char *seed_s = getenv("SDRV_FUZZ_SEED");
	uint64_t rng = seed_s ? strtoull(seed_s, NULL, 0) : 0x62726f6b6572ull;
	uint64_t n = tu_scaled(20000, 500);
	static uint8_t buf[SDRV_PM_MAX_MSG + 64];
	unsigned long seeds_ok = 0;

	tu_watchdog(120, "fuzz-broker-msg-run");
	/* Every seed is accepted as it is. */
	for (int i = 0; i < 200; i++) {
		size_t len = seed_msg(buf, &rng);
		unsigned long before = accepted;

		LLVMFuzzerTestOneInput(buf, len);
		seeds_ok += accepted - before;
	}
	if (seeds_ok != 200)
		fail("a valid message was refused");
	for (uint64_t i = 0; i < n; i++) {
		size_t len;
		uint64_t r = tu_rand(&rng);

		if (r & 1) {
			/* A valid message with a few flipped, cut or added bytes. */
			len = seed_msg(buf, &rng);
			for (int k = 0, edits = 1 + (int)((r >> 8) % 4); k < edits; k++) {
				uint64_t m = tu_rand(&rng);

				switch (m % 4) {
				case 0:
					len = 1 + (size_t)((m >> 8) % len);
					break;
				case 1:
					if (len < sizeof(buf) - 8)
						buf[len++] = (uint8_t)(m >> 16);
					break;
				default:
					buf[(m >> 8) % len] ^= (uint8_t)(1u << ((m >> 20) % 8));
					break;
				}
			}
		} else {
			len = (size_t)((r >> 8) % (r & 2 ? sizeof(buf) : 64));
			for (size_t k = 0; k < len; k++)
				buf[k] = (uint8_t)tu_rand(&rng);
		}
		LLVMFuzzerTestOneInput(buf, len);
	}
	printf("PASS: fuzz-broker-msg: %llu inputs, %lu accepted\n", (unsigned long long)n + 200,
	       accepted);
	return 0;
}
#endif
