/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of netback's policies (drivers/netback/policy.c): the `rate`
 * key and the credit scheduler, the `log` classes and the classifier.
 * Frames are built byte by byte here; every frame handed to the classifier
 * is a heap block of exactly its length, so a read past it is caught by
 * ASan or valgrind.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <splitdrv/netback.h>

/* the internal address rules: policy.c is compiled into this test */
#include "../../drivers/netback/netback-int.h"

/* --------------------------------- rate --------------------------------- */

START_TEST(rate_parse)
{
	uint64_t b = 7, u = 7;

	ck_assert_int_eq(sdrv_netback_parse_rate("1250000,50000", &b, &u), 0);
	ck_assert_uint_eq(b, 1250000);
	ck_assert_uint_eq(u, 50000);
	ck_assert_int_eq(sdrv_netback_parse_rate("1,1", &b, &u), 0);
	ck_assert_uint_eq(b, 1);
	ck_assert_uint_eq(u, 1);
	/* what Linux's xen_net_read_rate() refuses, and what strtoull would
	 * take but a key must not hold */
	static const char *const bad[] = {
	    "",		 ",",	     "100",    "100,",	  ",100",	  "0,100",
	    "100,0",	 "-1,100",   "+1,100", " 1,100",  "1,100 ",	  "1,,100",
	    "1,100,3",	 "a,100",    "1,b",    "1.5,100", "1,4294967296", "18446744073709551616,1",
	    "100;50000", "0x10,100", "1, 100",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = u = 7;
		ck_assert_msg(sdrv_netback_parse_rate(bad[i], &b, &u) == -EINVAL, "'%s' accepted",
			      bad[i]);
		ck_assert_uint_eq(b, 7);
		ck_assert_uint_eq(u, 7);
	}
	ck_assert_int_eq(sdrv_netback_parse_rate(NULL, &b, &u), -EINVAL);
	ck_assert_int_eq(sdrv_netback_parse_rate("1,1", NULL, &u), -EINVAL);
}
END_TEST

START_TEST(credit_unlimited)
{
	struct sdrv_netback_credit c;
	uint64_t w = 99;

	sdrv_netback_credit_init(&c, 0, 50000, 1000);
	ck_assert_uint_eq(c.bytes, 0);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(sdrv_netback_credit_take(&c, 65535, 1000, &w), 0);
	sdrv_netback_credit_init(&c, 1000, 0, 1000); /* no window: unlimited too */
	ck_assert_int_eq(sdrv_netback_credit_take(&c, 65535, 1000, &w), 0);
	ck_assert_uint_eq(w, 99);
}
END_TEST

START_TEST(credit_windows)
{
	struct sdrv_netback_credit c;
	uint64_t w = 0, t = 1000000;

	/* 150000 bytes per 50 ms: a full window at the start */
	sdrv_netback_credit_init(&c, 150000, 50000, t);
	ck_assert_uint_eq(c.remaining, 150000);
	ck_assert_int_eq(sdrv_netback_credit_take(&c, 100000, t, &w), 0);
	ck_assert_int_eq(sdrv_netback_credit_take(&c, 50000, t + 10, &w), 0);
	ck_assert_uint_eq(c.remaining, 0);
	ck_assert_int_eq(sdrv_netback_credit_take(&c, 1, t + 20000, &w), -EAGAIN);
	ck_assert_uint_eq(w, 30000); /* until the window ends */
	/* the window passed: a new one, a window's credit */
	ck_assert_int_eq(sdrv_netback_credit_take(&c, 1, t + 50000, &w), 0);
	ck_assert_uint_eq(c.remaining, 149999);
	ck_assert_uint_eq(c.window_start_us, t + 50000);
	/* unused credit carries over, capped at one burst (a window and
	 * one largest packet) */
	ck_assert_int_eq(sdrv_netback_credit_take(&c, 150000, t + 100000, &w), 0);
	ck_assert_uint_eq(c.remaining, 65535);
	ck_assert_int_eq(sdrv_netback_credit_take(&c, 65535, t + 100000, &w), 0);
	ck_assert_int_eq(sdrv_netback_credit_take(&c, 1, t + 100000, &w), -EAGAIN);
	/* over 10 s of windows, the bytes sent are the rate's */
	{
		uint64_t sent = 0, now = t + 100000, end = now + 10000000;

		sdrv_netback_credit_init(&c, 150000, 50000, now);
		while (now < end) {
			if (sdrv_netback_credit_take(&c, 1514, now, &w) == 0)
				sent += 1514;
			else
				now += w;
		}
		ck_assert_uint_ge(sent, 150000 * 200 - 1514);
		ck_assert_uint_le(sent, 150000 * 201);
	}
}
END_TEST

/* 64 KiB packets at 50 Mbit/s (312500 bytes per 50 ms): the rest a window
 * leaves carries over, so the rate holds (Linux's cap would lose 17%). */
START_TEST(credit_big_packets_keep_the_rate)
{
	struct sdrv_netback_credit c;
	uint64_t w = 0, now = 0, sent = 0;

	sdrv_netback_credit_init(&c, 312500, 50000, now);
	while (now < 10000000) {
		if (sdrv_netback_credit_take(&c, 65226, now, &w) == 0)
			sent += 65226;
		else
			now += w;
	}
	ck_assert_uint_ge(sent, 312500 * 200 - 65226);
	ck_assert_uint_le(sent, 312500 * 201);
}
END_TEST

START_TEST(credit_small_rate_big_packet)
{
	struct sdrv_netback_credit c;
	uint64_t w = 0, t = 5000;

	/* 1000 bytes per window: a 64 KiB packet still goes, once the burst
	 * (128 KiB) has built up, never before */
	sdrv_netback_credit_init(&c, 1000, 1000, t);
	ck_assert_int_eq(sdrv_netback_credit_take(&c, 65535, t, &w), -EAGAIN);
	ck_assert_uint_eq(w, 1000);
	for (int i = 1; i < 65; i++)
		ck_assert_int_eq(sdrv_netback_credit_take(&c, 65535, t + i * 1000u, &w), -EAGAIN);
	ck_assert_int_eq(sdrv_netback_credit_take(&c, 65535, t + 65 * 1000u, &w), 0);
	ck_assert_uint_eq(c.remaining, 66000 - 65535);
	/* and the credit never exceeds the burst however long it waits */
	ck_assert_int_eq(sdrv_netback_credit_take(&c, 131073, t + 10000000u, &w), -EAGAIN);
	/* no wrap on a huge rate */
	sdrv_netback_credit_init(&c, UINT64_MAX - 1, 1, t);
	ck_assert_int_eq(sdrv_netback_credit_take(&c, 65535, t + 5, &w), 0);
	ck_assert_int_eq(sdrv_netback_credit_take(&c, 65535, t + 10, &w), 0);
	ck_assert_int_eq(sdrv_netback_credit_take(NULL, 1, t, &w), -EINVAL);
}
END_TEST

/* ------------------------------- classes -------------------------------- */

START_TEST(classes_parse)
{
	uint32_t m = 77;

	ck_assert_int_eq(sdrv_netback_parse_classes("tcp-syn", &m), 0);
	ck_assert_uint_eq(m, SDRV_NETBACK_CLASS_TCP_SYN);
	ck_assert_int_eq(sdrv_netback_parse_classes("arp,icmp,dhcp", &m), 0);
	ck_assert_uint_eq(m, SDRV_NETBACK_CLASS_ARP | SDRV_NETBACK_CLASS_ICMP |
				 SDRV_NETBACK_CLASS_DHCP);
	ck_assert_int_eq(sdrv_netback_parse_classes("all", &m), 0);
	ck_assert_uint_eq(m, SDRV_NETBACK_CLASS_ALL);
	ck_assert_int_eq(sdrv_netback_parse_classes("", &m), 0);
	ck_assert_uint_eq(m, 0);
	static const char *const bad[] = {"tcp", "tcp-syn,", ",arp",	 "arp,,icmp",
					  "ARP", "arp icmp", "tcp-synx", "icmp\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = 77;
		ck_assert_msg(sdrv_netback_parse_classes(bad[i], &m) == -EINVAL, "'%s' accepted",
			      bad[i]);
		ck_assert_uint_eq(m, 77);
	}
}
END_TEST

/* frame builders */
static size_t eth(uint8_t *f, uint16_t type)
{
	memcpy(f, "\x00\x16\x3e\x00\x00\x02\x00\x16\x3e\x00\x00\x01", 12);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
	return 14;
}

static size_t ipv4(uint8_t *f, uint8_t proto, const char *src, const char *dst)
{
	memset(f, 0, 20);
	f[0] = 0x45;
	f[8] = 64;
	f[9] = proto;
	memcpy(f + 12, src, 4);
	memcpy(f + 16, dst, 4);
	return 20;
}

static size_t tcp(uint8_t *f, uint16_t sp, uint16_t dp, uint8_t flags)
{
	memset(f, 0, 20);
	f[0] = (uint8_t)(sp >> 8);
	f[1] = (uint8_t)sp;
	f[2] = (uint8_t)(dp >> 8);
	f[3] = (uint8_t)dp;
	f[12] = 5 << 4;
	f[13] = flags;
	return 20;
}

/* classify a heap copy of exactly len bytes */
static uint32_t classify(const uint8_t *f, size_t len, char *desc, size_t size)
{
	uint8_t *c = malloc(len ? len : 1);
	uint32_t r;

	memcpy(c, f, len);
	r = sdrv_netback_classify(c, len, desc, size);
	free(c);
	return r;
}

START_TEST(classify_frames)
{
	uint8_t f[256];
	char d[128];
	size_t n;

	/* a SYN */
	n = eth(f, 0x0800);
	n += ipv4(f + n, 6, "\x0a\x4d\x00\x01", "\x0a\x4d\x00\x02");
	n += tcp(f + n, 43210, 5201, 0x02);
	ck_assert_uint_eq(classify(f, n, d, sizeof(d)), SDRV_NETBACK_CLASS_TCP_SYN);
	ck_assert_str_eq(d, "tcp-syn 10.77.0.1:43210 -> 10.77.0.2:5201");
	/* the SYN-ACK and plain segments are not */
	f[14 + 20 + 13] = 0x12;
	ck_assert_uint_eq(classify(f, n, d, sizeof(d)), 0);
	ck_assert_str_eq(d, "");
	f[14 + 20 + 13] = 0x10;
	ck_assert_uint_eq(classify(f, n, d, sizeof(d)), 0);
	/* a SYN in a later fragment: no header to trust */
	f[14 + 20 + 13] = 0x02;
	f[14 + 6] = 0x00;
	f[14 + 7] = 0x10;
	ck_assert_uint_eq(classify(f, n, d, sizeof(d)), 0);
	f[14 + 7] = 0;
	/* every truncation of it: no class, nothing read past the end */
	for (size_t l = 0; l < n; l++)
		ck_assert_uint_eq(classify(f, l, d, sizeof(d)), l >= 14 + 20 + 14 ? 1 : 0);
	/* a small description buffer is cut, terminated */
	ck_assert_uint_eq(classify(f, n, d, 8), SDRV_NETBACK_CLASS_TCP_SYN);
	ck_assert_str_eq(d, "tcp-syn");
	ck_assert_uint_eq(classify(f, n, NULL, 0), SDRV_NETBACK_CLASS_TCP_SYN);

	/* behind an 802.1Q tag */
	{
		uint8_t g[256];

		memcpy(g, f, 12);
		memcpy(g + 12, "\x81\x00\x00\x05", 4);
		memcpy(g + 16, f + 12, n - 12);
		ck_assert_uint_eq(classify(g, n + 4, d, sizeof(d)), SDRV_NETBACK_CLASS_TCP_SYN);
		ck_assert_uint_eq(classify(g, 17, d, sizeof(d)), 0);
	}

	/* ICMP echo */
	n = eth(f, 0x0800);
	n += ipv4(f + n, 1, "\x0a\x4d\x00\x01", "\x0a\x4d\x00\x02");
	f[n++] = 8;
	f[n++] = 0;
	ck_assert_uint_eq(classify(f, n, d, sizeof(d)), SDRV_NETBACK_CLASS_ICMP);
	ck_assert_str_eq(d, "icmp 10.77.0.1 -> 10.77.0.2 type 8 code 0");
	ck_assert_uint_eq(classify(f, n - 1, d, sizeof(d)), 0);

	/* DHCP discover (UDP 68 -> 67), and UDP that is not DHCP */
	n = eth(f, 0x0800);
	n += ipv4(f + n, 17, "\0\0\0\0", "\xff\xff\xff\xff");
	memcpy(f + n, "\x00\x44\x00\x43\x00\x08\x00\x00", 8);
	ck_assert_uint_eq(classify(f, n + 8, d, sizeof(d)), SDRV_NETBACK_CLASS_DHCP);
	ck_assert_str_eq(d, "dhcp 0.0.0.0:68 -> 255.255.255.255:67");
	memcpy(f + n, "\x00\x44\x00\x35", 4);
	ck_assert_uint_eq(classify(f, n + 8, d, sizeof(d)), 0);

	/* ARP request */
	n = eth(f, 0x0806);
	memcpy(f + n, "\x00\x01\x08\x00\x06\x04\x00\x01", 8);
	memcpy(f + n + 8, "\x00\x16\x3e\x00\x00\x01\x0a\x4d\x00\x01", 10);
	memcpy(f + n + 18, "\0\0\0\0\0\0\x0a\x4d\x00\x02", 10);
	ck_assert_uint_eq(classify(f, n + 28, d, sizeof(d)), SDRV_NETBACK_CLASS_ARP);
	ck_assert_str_eq(d, "arp request 10.77.0.1 -> 10.77.0.2");
	ck_assert_uint_eq(classify(f, n + 27, d, sizeof(d)), 0);

	/* IPv6 SYN */
	n = eth(f, 0x86dd);
	memset(f + n, 0, 40);
	f[n] = 0x60;
	f[n + 6] = 6;
	f[n + 8] = 0xfd;
	f[n + 23] = 1;
	f[n + 24] = 0xfd;
	f[n + 39] = 2;
	n += 40;
	n += tcp(f + n, 1000, 22, 0x02);
	ck_assert_uint_eq(classify(f, n, d, sizeof(d)), SDRV_NETBACK_CLASS_TCP_SYN);
	ck_assert_str_eq(d, "tcp-syn [fd00::1]:1000 -> [fd00::2]:22");
	/* ICMP over IPv6 is not ICMPv6, and the reverse */
	f[14 + 6] = 1;
	ck_assert_uint_eq(classify(f, n, d, sizeof(d)), 0);
	f[14 + 6] = 58;
	ck_assert_uint_eq(classify(f, n, d, sizeof(d)), SDRV_NETBACK_CLASS_ICMP);

	/* other ethertypes, bad versions, bad header lengths */
	n = eth(f, 0x88cc);
	ck_assert_uint_eq(classify(f, 60, d, sizeof(d)), 0);
	n = eth(f, 0x0800);
	n += ipv4(f + n, 6, "\1\1\1\1", "\2\2\2\2");
	n += tcp(f + n, 1, 2, 0x02);
	f[14] = 0x65;
	ck_assert_uint_eq(classify(f, n, d, sizeof(d)), 0);
	f[14] = 0x44; /* IHL 16 */
	ck_assert_uint_eq(classify(f, n, d, sizeof(d)), 0);
	f[14] = 0x4f; /* IHL 60: past the frame */
	ck_assert_uint_eq(classify(f, n, d, sizeof(d)), 0);
	ck_assert_uint_eq(sdrv_netback_classify(NULL, 100, d, sizeof(d)), 0);
}
END_TEST

/* Random frames: never a read past the end (ASan, valgrind), and a class
 * always comes with a description. */
START_TEST(classify_garbage)
{
	uint8_t f[128];
	char d[128];

	srand(1234);
	for (int i = 0; i < 200000; i++) {
		size_t n = (size_t)rand() % sizeof(f);
		uint32_t c;

		for (size_t j = 0; j < n; j++)
			f[j] = (uint8_t)rand();
		/* steer half of them into IPv4/IPv6/ARP */
		if (n > 14 && (i & 1)) {
			static const uint16_t types[] = {0x0800, 0x86dd, 0x0806, 0x8100};

			f[12] = (uint8_t)(types[i / 2 % 4] >> 8);
			f[13] = (uint8_t)types[i / 2 % 4];
			if (n > 15)
				f[14] = (uint8_t)((f[14] & 0x0f) | (i & 2 ? 0x40 : 0x60));
		}
		c = classify(f, n, d, sizeof(d));
		ck_assert(c == 0 || (c & (c - 1)) == 0);
		ck_assert(c <= SDRV_NETBACK_CLASS_DHCP);
		ck_assert(c == 0 ? d[0] == 0 : d[0] != 0);
	}
}
END_TEST

/* ---------------------------- anti-spoofing ----------------------------- */

START_TEST(addrs_parse)
{
	struct nb_addr a[4];
	uint32_t n = 9;

	ck_assert_int_eq(nb_parse_addrs("10.77.0.1", a, 4, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(a[0].len, 4);
	ck_assert_int_eq(memcmp(a[0].a, "\x0a\x4d\x00\x01", 4), 0);
	ck_assert_int_eq(nb_parse_addrs("10.0.0.1 fd00::5,192.168.1.1", a, 4, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(a[1].len, 16);
	ck_assert_uint_eq(a[1].a[15], 5);
	static const char *const bad[] = {"",	  " ",	       "10.0.0.1/24", "10.0.0",
					  "host", "1 2 3 4 5", "10.0.0.256",  "fd00::1::2"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(nb_parse_addrs(bad[i], a, 4, &n) < 0, "'%s' accepted", bad[i]);
}
END_TEST

START_TEST(spoof_rules)
{
	static struct nb_vif v;
	uint8_t f[128];
	size_t n;

	memset(&v, 0, sizeof(v));
	memcpy(v.mac, "\x00\x16\x3e\x00\x00\x01", 6);
	v.have_mac = true;
	/* IPv4 from the guest's MAC: anything goes without an ip key */
	n = eth(f, 0x0800);
	n += ipv4(f + n, 6, "\x0a\x4d\x00\x63", "\x0a\x4d\x00\x02");
	ck_assert_int_eq(nb_spoofed(&v, f, n), 0);
	ck_assert_int_eq(nb_spoofed(&v, f, 13), 1); /* a runt */
	/* another source MAC */
	f[11] = 0x77;
	ck_assert_int_eq(nb_spoofed(&v, f, n), 1);
	f[11] = 0x01;
	/* with an ip key: only its addresses */
	ck_assert_int_eq(nb_parse_addrs("10.77.0.1", v.addrs, NB_MAX_ADDRS, &v.naddrs), 0);
	ck_assert_int_eq(nb_spoofed(&v, f, n), 2);
	f[14 + 15] = 0x01;
	ck_assert_int_eq(nb_spoofed(&v, f, n), 0);
	ck_assert_int_eq(nb_spoofed(&v, f, 14 + 19), 2); /* a truncated header */
	/* ARP: the sender address and the sender MAC */
	n = eth(f, 0x0806);
	memcpy(f + n, "\x00\x01\x08\x00\x06\x04\x00\x01", 8);
	memcpy(f + n + 8, "\x00\x16\x3e\x00\x00\x01\x0a\x4d\x00\x01", 10);
	memcpy(f + n + 18, "\0\0\0\0\0\0\x0a\x4d\x00\x02", 10);
	ck_assert_int_eq(nb_spoofed(&v, f, n + 28), 0);
	ck_assert_int_eq(nb_spoofed(&v, f, n + 27), 3);
	f[n + 17] = 0x63;
	ck_assert_int_eq(nb_spoofed(&v, f, n + 28), 3);
	memset(f + n + 14, 0, 4); /* a probe */
	ck_assert_int_eq(nb_spoofed(&v, f, n + 28), 0);
	f[n + 13] = 0x77; /* a foreign sender MAC inside the ARP */
	ck_assert_int_eq(nb_spoofed(&v, f, n + 28), 1);
	/* IPv6: link-local and unspecified pass, others must be listed */
	n = eth(f, 0x86dd);
	memset(f + n, 0, 40);
	f[n] = 0x60;
	f[n + 8] = 0xfe;
	f[n + 9] = 0x80;
	ck_assert_int_eq(nb_spoofed(&v, f, n + 40), 0);
	f[n + 8] = 0;
	f[n + 9] = 0;
	ck_assert_int_eq(nb_spoofed(&v, f, n + 40), 0);
	f[n + 8] = 0xfd;
	f[n + 23] = 5;
	ck_assert_int_eq(nb_spoofed(&v, f, n + 40), 4);
	ck_assert_int_eq(nb_parse_addrs("10.77.0.1 fd00::5", v.addrs, NB_MAX_ADDRS, &v.naddrs), 0);
	ck_assert_int_eq(nb_spoofed(&v, f, n + 40), 0);
	ck_assert_int_eq(nb_spoofed(&v, f, n + 39), 4);
	/* behind a VLAN tag the rules are the same */
	{
		uint8_t g[128];

		memcpy(g, f, 12);
		memcpy(g + 12, "\x81\x00\x00\x05", 4);
		memcpy(g + 16, f + 12, 42);
		ck_assert_int_eq(nb_spoofed(&v, g, 58), 0);
		g[16 + 2 + 23] = 6;
		ck_assert_int_eq(nb_spoofed(&v, g, 58), 4);
		ck_assert_int_eq(nb_spoofed(&v, g, 17), 1);
	}
}
END_TEST

static Suite *policy_suite(void)
{
	Suite *s = suite_create("netback-policy");
	TCase *tc = tcase_create("rate");

	tcase_add_test(tc, rate_parse);
	tcase_add_test(tc, credit_unlimited);
	tcase_add_test(tc, credit_windows);
	tcase_add_test(tc, credit_big_packets_keep_the_rate);
	tcase_add_test(tc, credit_small_rate_big_packet);
	suite_add_tcase(s, tc);
	tc = tcase_create("classifier");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, classes_parse);
	tcase_add_test(tc, classify_frames);
	tcase_add_test(tc, classify_garbage);
	suite_add_tcase(s, tc);
	tc = tcase_create("anti-spoofing");
	tcase_add_test(tc, addrs_parse);
	tcase_add_test(tc, spoof_rules);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(policy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
