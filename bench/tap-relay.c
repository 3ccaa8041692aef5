/* SPDX-License-Identifier: MIT */
/*
 * splitdrv-tap-relay: the network benchmark's baseline. Two TAP devices
 * with virtio-net headers (IFF_VNET_HDR) and the kernel's offloads on
 * (TUNSETOFFLOAD: checksum, TSO4, TSO6), joined by the barest user-space
 * relay: whatever one side reads, with its virtio-net header, is written to
 * the other. 64 KiB GSO frames cross as one frame, as they cross the
 * split path's ring. This is what netfront -> ring -> netback costs
 * beyond; bench/net-bench.sh runs iperf3 through both.
 *
 *   splitdrv-tap-relay TAP-A TAP-B     create both, relay until SIGTERM
 *
 * The devices are created in the relay's network namespace; the bench
 * moves them into its namespaces with `ip link set ... netns` (the
 * descriptors keep working).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define FRAME_MAX (65536 + 64)

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

static int tap_open(const char *name)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	int hdr = 12; /* struct virtio_net_hdr_mrg_rxbuf: what netback/netfront use too */

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 ||
	    ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Move every frame waiting on `from` to `to`; a full `to` drops the frame,
 * as a switch does. */
static void pump(int from, int to, unsigned char *buf)
{
	for (int i = 0; i < 64; i++) {
		ssize_t n = read(from, buf, FRAME_MAX);

		if (n <= 0)
			return;
		if (write(to, buf, (size_t)n) < 0 && errno != EAGAIN) {
			/* the other side is down: drop */
		}
	}
}

int main(int argc, char **argv)
{
	static unsigned char buf[FRAME_MAX];
	struct sigaction sa = {.sa_handler = on_signal};
	struct pollfd p[2];

	if (argc != 3 || !strcmp(argv[1], "--help")) {
		fprintf(argc == 2 ? stdout : stderr,
			"Usage: splitdrv-tap-relay TAP-A TAP-B\n"
			"Create two TAP devices with virtio-net headers and offloads and relay\n"
			"frames between them until SIGTERM (the network benchmark's baseline).\n");
		return argc == 2 ? 0 : 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	p[0].fd = tap_open(argv[1]);
	p[1].fd = tap_open(argv[2]);
	if (p[0].fd < 0 || p[1].fd < 0) {
		fprintf(stderr, "splitdrv-tap-relay: cannot create the TAP devices: %s\n",
			strerror(errno));
		return 1;
	}
	p[0].events = p[1].events = POLLIN;
	while (!stop) {
		if (poll(p, 2, 1000) < 0 && errno != EINTR)
			return 1;
		if (p[0].revents & POLLIN)
			pump(p[0].fd, p[1].fd, buf);
		if (p[1].revents & POLLIN)
			pump(p[1].fd, p[0].fd, buf);
	}
	close(p[0].fd);
	close(p[1].fd);
	return 0;
}
