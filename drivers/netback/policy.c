/* SPDX-License-Identifier: MIT */
/*
 * The policies of an interface, as pure functions of what the toolstack
 * wrote and the frame at hand: the `rate` key and its credit scheduler
 * (Linux netback's tx_add_credit() and tx_credit_exceeded()), the `ip` key
 * and anti-spoofing (what vif-bridge's iptables rules and ebtables setups
 * do), and the classifier behind the `log` key.
 *
 * Every reader of a frame checks its length before each field: frames are
 * the guest's and may be anything.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netback-int.h"

#define ETH_HLEN     14u
#define ETH_P_IP     0x0800u
#define ETH_P_ARP    0x0806u
#define ETH_P_IPV6   0x86ddu
#define ETH_P_8021Q  0x8100u
#define PROTO_ICMP   1u
#define PROTO_TCP    6u
#define PROTO_UDP    17u
#define PROTO_ICMPV6 58u
#define CREDIT_BURST 131072u

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* ------------------------------- rate --------------------------------- */

int sdrv_netback_parse_rate(const char *s, uint64_t *bytes, uint64_t *usec)
{
	unsigned long long b, u;
	char *end;

	if (!s || !bytes || !usec)
		return -EINVAL;
	/* digits only: strtoull would take signs and spaces */
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	b = strtoull(s, &end, 10);
	if (errno || *end != ',' || end[1] < '0' || end[1] > '9')
		return -EINVAL;
	u = strtoull(end + 1, &end, 10);
	if (errno || *end || !b || !u || u > UINT32_MAX)
		return -EINVAL;
	*bytes = b;
	*usec = u;
	return 0;
}

void sdrv_netback_credit_init(struct sdrv_netback_credit *c, uint64_t bytes, uint64_t usec,
			      uint64_t now_us)
{
	if (!c)
		return;
	if (!bytes || !usec)
		bytes = usec = 0;
	c->bytes = bytes;
	c->usec = usec;
	c->remaining = bytes;
	c->window_start_us = now_us;
}

int sdrv_netback_credit_take(struct sdrv_netback_credit *c, uint32_t size, uint64_t now_us,
			     uint64_t *wait_us)
{
	uint64_t next, burst, sum;

	if (!c)
		return -EINVAL;
	if (!c->bytes)
		return 0;
	next = c->window_start_us + c->usec;
	if (size > c->remaining && now_us >= next) {
		/* A new window: add a window's credit, within one burst.
		 * Linux caps at max(bytes, 128 KiB), which throws away what
		 * a window left unused whenever its credit is not a multiple
		 * of the packets' size: with 64 KiB GSO packets at 50 Mbit/s
		 * that is 17% of the rate. Keeping up to one largest packet
		 * more makes the long-run rate the configured one; an idle
		 * interface still bursts at most a window and a packet. */
		burst = c->bytes + SDRV_NETIF_MAX_TX_SIZE;
		if (burst < c->bytes)
			burst = UINT64_MAX;
		if (burst < CREDIT_BURST)
			burst = CREDIT_BURST;
		sum = c->remaining + c->bytes;
		if (sum < c->remaining)
			sum = UINT64_MAX;
		c->remaining = sum < burst ? sum : burst;
		c->window_start_us = now_us;
		next = now_us + c->usec;
	}
	if (size > c->remaining) {
		if (wait_us)
			*wait_us = next > now_us ? next - now_us : 1;
		return -EAGAIN;
	}
	c->remaining -= size;
	return 0;
}

/* ----------------------------- addresses ------------------------------ */

/* The `ip` key: addresses separated by spaces or commas (libxl writes one
 * or more, space-separated); a /prefix is not allowed: they are hosts. */
int nb_parse_addrs(const char *s, struct nb_addr *out, uint32_t max, uint32_t *n)
{
	char tok[64];

	*n = 0;
	while (*s) {
		size_t len = strcspn(s, " ,");

		if (len == 0) {
			s++;
			continue;
		}
		if (len >= sizeof(tok) || *n >= max)
			return -EINVAL;
		memcpy(tok, s, len);
		tok[len] = 0;
		s += len;
		if (inet_pton(AF_INET, tok, out[*n].a) == 1)
			out[*n].len = 4;
		else if (inet_pton(AF_INET6, tok, out[*n].a) == 1)
			out[*n].len = 16;
		else
			return -EINVAL;
		(*n)++;
	}
	return *n ? 0 : -EINVAL;
}

static bool listed(const struct nb_vif *v, const uint8_t *a, uint8_t len)
{
	for (uint32_t i = 0; i < v->naddrs; i++)
		if (v->addrs[i].len == len && !memcmp(v->addrs[i].a, a, len))
			return true;
	return false;
}

/*
 * Whether the guest sent this frame from an address it was not given:
 * 0 if it may pass, else 1 (source MAC), 2 (IPv4 source), 3 (ARP sender),
 * 4 (IPv6 source). Without an `ip` key only the MAC is checked; with one,
 * IPv4 and ARP must come from a listed address, and IPv6 from a listed
 * address, the unspecified address (duplicate address detection) or a
 * link-local one.
 */
int nb_spoofed(const struct nb_vif *v, const uint8_t *f, size_t len)
{
	size_t off = 12;
	uint16_t proto;

	if (len < ETH_HLEN)
		return 1;
	if (v->have_mac && memcmp(f + 6, v->mac, 6) != 0)
		return 1;
	if (!v->naddrs)
		return 0;
	proto = be16(f + off);
	off += 2;
	if (proto == ETH_P_8021Q) {
		if (len < off + 4)
			return 1;
		proto = be16(f + off + 2);
		off += 4;
	}
	if (proto == ETH_P_IP)
		return len < off + 20 || !listed(v, f + off + 12, 4) ? 2 : 0;
	if (proto == ETH_P_ARP) {
		/* Ethernet/IPv4 ARP: sender MAC at 8, sender address at 14 */
		if (len < off + 28 || be16(f + off) != 1 || be16(f + off + 2) != ETH_P_IP)
			return 3;
		if (v->have_mac && memcmp(f + off + 8, v->mac, 6) != 0)
			return 1;
		/* a probe (RFC 5227) has sender 0.0.0.0 */
		if (!memcmp(f + off + 14, "\0\0\0\0", 4))
			return 0;
		return listed(v, f + off + 14, 4) ? 0 : 3;
	}
	if (proto == ETH_P_IPV6) {
		static const uint8_t zero[16];
		const uint8_t *src = f + off + 8;

		if (len < off + 40)
			return 4;
		if (!memcmp(src, zero, 16) || (src[0] == 0xfe && (src[1] & 0xc0) == 0x80))
			return 0;
		return listed(v, src, 16) ? 0 : 4;
	}
	return 0;
}

/* ---------------------------- classifier ------------------------------ */

int sdrv_netback_parse_classes(const char *s, uint32_t *mask)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} names[] = {
	    {"tcp-syn", SDRV_NETBACK_CLASS_TCP_SYN}, {"arp", SDRV_NETBACK_CLASS_ARP},
	    {"icmp", SDRV_NETBACK_CLASS_ICMP},	     {"dhcp", SDRV_NETBACK_CLASS_DHCP},
	    {"all", SDRV_NETBACK_CLASS_ALL},
	};
	uint32_t m = 0;

	if (!s || !mask)
		return -EINVAL;
	while (*s) {
		size_t len = strcspn(s, ",");
		size_t i;

		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i].name) == len && !strncmp(s, names[i].name, len))
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			return -EINVAL;
		m |= names[i].bit;
		s += len;
		if (*s == ',' && !*++s)
			return -EINVAL; /* a trailing comma */
	}
	*mask = m;
	return 0;
}

static void addr_str(int af, const uint8_t *a, char *buf, size_t size)
{
	if (!inet_ntop(af, a, buf, (socklen_t)size))
		snprintf(buf, size, "?");
}

uint32_t sdrv_netback_classify(const void *frame, size_t len, char *desc, size_t size)
{
	const uint8_t *f = frame;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	size_t off = 12, l4;
	uint16_t proto;
	uint8_t nh;
	int af;

	if (desc && size)
		desc[0] = 0;
	if (!f || len < ETH_HLEN)
		return 0;
	proto = be16(f + off);
	off += 2;
	if (proto == ETH_P_8021Q) {
		if (len < off + 4)
			return 0;
		proto = be16(f + off + 2);
		off += 4;
	}
	if (proto == ETH_P_ARP) {
		if (len < off + 28 || be16(f + off + 2) != ETH_P_IP)
			return 0;
		addr_str(AF_INET, f + off + 14, src, sizeof(src));
		addr_str(AF_INET, f + off + 24, dst, sizeof(dst));
		if (desc)
			snprintf(desc, size, "arp %s %s -> %s",
				 be16(f + off + 6) == 1 ? "request" : "reply", src, dst);
		return SDRV_NETBACK_CLASS_ARP;
	}
	if (proto == ETH_P_IP) {
		size_t ihl;

		if (len < off + 20 || f[off] >> 4 != 4)
			return 0;
		ihl = (size_t)(f[off] & 15) * 4;
		if (ihl < 20 || len < off + ihl)
			return 0;
		/* a fragment after the first carries no header to classify */
		if ((f[off + 6] & 0x1f) | f[off + 7])
			return 0;
		af = AF_INET;
		nh = f[off + 9];
		addr_str(af, f + off + 12, src, sizeof(src));
		addr_str(af, f + off + 16, dst, sizeof(dst));
		l4 = off + ihl;
	} else if (proto == ETH_P_IPV6) {
		if (len < off + 40 || f[off] >> 4 != 6)
			return 0;
		af = AF_INET6;
		nh = f[off + 6];
		addr_str(af, f + off + 8, src, sizeof(src));
		addr_str(af, f + off + 24, dst, sizeof(dst));
		l4 = off + 40;
	} else {
		return 0;
	}
	if (nh == PROTO_TCP) {
		uint8_t flags;

		if (len < l4 + 14)
			return 0;
		flags = f[l4 + 13];
		if (!(flags & 0x02) || (flags & 0x10)) /* SYN without ACK */
			return 0;
		if (desc)
			snprintf(desc, size,
				 af == AF_INET ? "tcp-syn %s:%u -> %s:%u"
					       : "tcp-syn [%s]:%u -> [%s]:%u",
				 src, be16(f + l4), dst, be16(f + l4 + 2));
		return SDRV_NETBACK_CLASS_TCP_SYN;
	}
	if (nh == PROTO_ICMP || nh == PROTO_ICMPV6) {
		if ((nh == PROTO_ICMP) != (af == AF_INET) || len < l4 + 2)
			return 0;
		if (desc)
			snprintf(desc, size, "icmp %s -> %s type %u code %u", src, dst, f[l4],
				 f[l4 + 1]);
		return SDRV_NETBACK_CLASS_ICMP;
	}
	if (nh == PROTO_UDP) {
		uint16_t sp, dp;

		if (len < l4 + 8)
			return 0;
		sp = be16(f + l4);
		dp = be16(f + l4 + 2);
		if ((af == AF_INET && (sp == 67 || sp == 68) && (dp == 67 || dp == 68)) ||
		    (af == AF_INET6 && (sp == 546 || sp == 547) && (dp == 546 || dp == 547))) {
			if (desc)
				snprintf(desc, size, "dhcp %s:%u -> %s:%u", src, sp, dst, dp);
			return SDRV_NETBACK_CLASS_DHCP;
		}
	}
	return 0;
}
