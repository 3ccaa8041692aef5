/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness for netback's parsers of what a guest or a toolstack wrote
 * (drivers/netback/policy.c, compiled in): the `rate` and `log` keys, the
 * `ip` key, the classifier and the anti-spoofing rules over frames.
 *
 * Input: [0] selects which key the text goes to; the rest is the text (NUL
 * ends it) and, whole, the frame.
 *
 * Every result is checked, not just survived (abort() on violation):
 *  - rate: accepted values are digits, one comma, digits, read as the two
 *    positive numbers returned; refused ones leave the outputs alone;
 *  - classes: accepted lists are bits of SDRV_NETBACK_CLASS_ALL, refused
 *    ones leave the mask alone;
 *  - ip: at most the capacity, each address 4 or 16 bytes;
 *  - classify: one class bit or none, a description exactly when a class,
 *    NUL-terminated within the buffer however small;
 *  - spoof: a verdict of 0..4; the guest's own MAC with no ip key always
 *    passes; a frame whose source MAC differs never does.
 *
 * Built two ways: with libFuzzer by `make fuzz-netback` (-DSDRV_LIBFUZZER),
 * and as a plain program run by `make check`: frames of each kind built
 * here, then random inputs and mutations of them from a fixed seed
 * (SDRV_FUZZ_SEED), scaled with tu_scaled(). `fuzz-netback-run FILE...`
 * replays inputs.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../drivers/netback/netback-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	unsigned long inputs, rate_ok, classes_ok, ip_ok, classified, spoofed, passed;
} st;

static void fz_fail(const char *what, int line)
{
	fprintf(stderr, "fuzz-netback: invariant violated at line %d: %s\n", line, what);
	abort();
}

#define FZ_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fz_fail(#cond, __LINE__);                                                  \
	} while (0)

static void check_text(const char *s, uint8_t sel)
{
	uint64_t b = 7, u = 7;
	uint32_t m = 77, n = 0;
	struct nb_addr a[4];

	if (sdrv_netback_parse_rate(s, &b, &u) == 0) {
		const char *comma = strchr(s, ',');

		/* digits, one comma, digits: and they are the numbers */
		FZ_CHECK(b > 0 && u > 0 && u <= UINT32_MAX && comma && comma > s && comma[1]);
		FZ_CHECK(strspn(s, "0123456789") == (size_t)(comma - s) &&
			 strspn(comma + 1, "0123456789") == strlen(comma + 1));
		FZ_CHECK(strtoull(s, NULL, 10) == b && strtoull(comma + 1, NULL, 10) == u);
		st.rate_ok++;
	} else {
		FZ_CHECK(b == 7 && u == 7);
	}
	if (sdrv_netback_parse_classes(s, &m) == 0) {
		FZ_CHECK((m & ~SDRV_NETBACK_CLASS_ALL) == 0);
		st.classes_ok++;
	} else {
		FZ_CHECK(m == 77);
	}
	if (nb_parse_addrs(s, a, 1 + (sel & 3), &n) == 0) {
		FZ_CHECK(n >= 1 && n <= 1u + (sel & 3));
		for (uint32_t i = 0; i < n; i++)
			FZ_CHECK(a[i].len == 4 || a[i].len == 16);
		st.ip_ok++;
	}
}

static void check_frame(const uint8_t *d, size_t n, uint8_t sel)
{
	static struct nb_vif v;
	uint8_t *f = malloc(n ? n : 1);
	char desc[128];
	size_t dsz = (sel >> 4) % 4 == 0 ? sizeof(desc) : (size_t)(sel >> 4) * 3;
	uint32_t c;
	int sp;

	FZ_CHECK(f != NULL);
	memcpy(f, d, n);
	memset(desc, 'x', sizeof(desc));
	c = sdrv_netback_classify(f, n, desc, dsz);
	FZ_CHECK(c == 0 || c == SDRV_NETBACK_CLASS_TCP_SYN || c == SDRV_NETBACK_CLASS_ARP ||
		 c == SDRV_NETBACK_CLASS_ICMP || c == SDRV_NETBACK_CLASS_DHCP);
	FZ_CHECK(memchr(desc, 0, dsz) != NULL);
	FZ_CHECK(c ? desc[0] != 0 : desc[0] == 0);
	if (c)
		st.classified++;

	/* the guest is whatever sent this frame, with or without an ip key */
	memset(&v, 0, sizeof(v));
	if (n >= 12) {
		memcpy(v.mac, f + 6, 6);
		v.have_mac = (sel & 1) != 0;
	}
	if (sel & 2)
		nb_parse_addrs("10.77.0.1 fd00::1", v.addrs, NB_MAX_ADDRS, &v.naddrs);
	sp = nb_spoofed(&v, f, n);
	FZ_CHECK(sp >= 0 && sp <= 4);
	if (n >= 14 && !v.naddrs)
		FZ_CHECK(sp == 0);
	if (n >= 14 && v.have_mac) {
		v.mac[5] ^= 1;
		FZ_CHECK(nb_spoofed(&v, f, n) == 1);
	}
	if (sp)
		st.spoofed++;
	else
		st.passed++;
	free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[256];
	size_t tl = 0;
	uint8_t sel = size ? data[0] : 0;

	st.inputs++;
	while (1 + tl < size && tl < sizeof(text) - 1 && data[1 + tl])
		tl++;
	memcpy(text, data + (size ? 1 : 0), tl);
	text[tl] = 0;
	check_text(text, sel);
	check_frame(data, size, sel);
	return 0;
}

#ifndef SDRV_LIBFUZZER
#include "../common/tutil.h"

/* Frames of every kind the classifier and the rules know, as seeds. */
static size_t seed(uint8_t *f, unsigned k)
{
	static const uint8_t mac[12] = {0, 0x16, 0x3e, 0, 0, 2, 0, 0x16, 0x3e, 0, 0, 1};
	size_t n = 14;

	memset(f, 0, 128);
	memcpy(f, mac, 12);
	switch (k % 6) {
	case 0: /* IPv4 TCP SYN */
	case 1: /* IPv4 UDP DHCP */
	case 2: /* IPv4 ICMP */
		f[12] = 0x08;
		f[14] = 0x45;
		f[23] = k % 6 == 0 ? 6 : k % 6 == 1 ? 17 : 1;
		memcpy(f + 26, "\x0a\x4d\x00\x01\x0a\x4d\x00\x02", 8);
		f[34] = 0, f[35] = 68, f[36] = 0, f[37] = 67;
		f[46] = 0x50, f[47] = 0x02;
		n = 54;
		break;
	case 3: /* ARP */
		f[12] = 0x08, f[13] = 0x06;
		memcpy(f + 14, "\x00\x01\x08\x00\x06\x04\x00\x01", 8);
		memcpy(f + 22, mac + 6, 6);
		memcpy(f + 28, "\x0a\x4d\x00\x01", 4);
		n = 42;
		break;
	case 4: /* IPv6 TCP SYN */
		f[12] = 0x86, f[13] = 0xdd;
		f[14] = 0x60, f[20] = 6, f[22] = 0xfd, f[37] = 1;
		f[66] = 0x50, f[67] = 0x02;
		n = 74;
		break;
	default: /* VLAN-tagged IPv4 */
		memcpy(f + 12, "\x81\x00\x00\x05\x08\x00\x45", 7);
		f[27] = 6;
		n = 58;
		break;
	}
	return n;
}

int main(int argc, char **argv)
{
	const char *seed_s = getenv("SDRV_FUZZ_SEED");
	uint64_t rng = seed_s ? strtoull(seed_s, NULL, 0) : 0x6e62ull, iters;
	uint8_t buf[512];

	setvbuf(stdout, NULL, _IOLBF, 0);
	tu_watchdog(300, "fuzz-netback-run");
	if (argc > 1) {
		for (int i = 1; i < argc; i++) {
			FILE *fp = fopen(argv[i], "rb");
			size_t n;

			if (!fp) {
				perror(argv[i]);
				return 1;
			}
			n = fread(buf, 1, sizeof(buf), fp);
			fclose(fp);
			LLVMFuzzerTestOneInput(buf, n);
		}
		printf("ok: %lu inputs\n", st.inputs);
		return 0;
	}
	/* the keys' interesting texts */
	static const char *const texts[] = {"1250000,50000",	"1,1",	       "0,5",
					    "tcp-syn,arp",	"all",	       "",
					    "10.0.0.1 fd00::2", "1,4294967296"};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		buf[0] = 3; /* room for four addresses */
		memcpy(buf + 1, texts[i], strlen(texts[i]) + 1);
		LLVMFuzzerTestOneInput(buf, strlen(texts[i]) + 2);
	}
	iters = tu_scaled(300000, 3000);
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t r = tu_rand(&rng);
		size_t n;

		if (r & 1) {
			/* a seed frame, mutated; the selector in front */
			n = seed(buf + 1, (unsigned)(r >> 8)) + 1;
			for (unsigned e = 0; e < 1 + (r >> 16) % 6; e++)
				buf[1 + tu_rand(&rng) % (n - 1)] = (uint8_t)tu_rand(&rng);
			if ((r >> 24) & 1)
				n = 1 + tu_rand(&rng) % n; /* truncated */
			buf[0] = (uint8_t)(r >> 32);
			/* the frame starts at buf + 1 for the frame check */
			check_frame(buf + 1, n - 1, buf[0]);
			st.inputs++;
			continue;
		}
		n = (size_t)(r >> 8) % sizeof(buf);
		for (size_t j = 0; j < n; j++) {
			uint64_t c = tu_rand(&rng);

			/* texts of digits, commas, dots, colons and names are
			 * the interesting ones */
			buf[j] = (j && (c & 3))
				     ? (uint8_t) "0123456789,.:af -tcpsynarimhdl"[(c >> 8) % 30]
				     : (uint8_t)(c >> 16);
		}
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("fuzz-netback: %lu inputs: rate %lu, classes %lu, ip %lu accepted; "
	       "%lu frames classified, %lu spoofed, %lu passed\n",
	       st.inputs, st.rate_ok, st.classes_ok, st.ip_ok, st.classified, st.spoofed,
	       st.passed);
	/* a harness that never reaches a path proves nothing about it */
	if (!st.rate_ok || !st.classes_ok || !st.ip_ok || !st.classified || !st.spoofed ||
	    !st.passed) {
		printf("FAIL: a path was never reached\n");
		return 1;
	}
	return 0;
}
#endif
