/* SPDX-License-Identifier: MIT */
/*
 * A domain of the POSIX transport that talks to the store splitdrvd runs
 * (--run-store): it connects to the broker as domain DOMID, then to the
 * store at the address the broker gives, and checks that the store knows
 * it as that domain and holds it to that domain's permissions. Run by
 * splitdrvd-store.sh.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <splitdrv/transport.h>
#include <splitdrv/xs.h>

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c);               \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

int main(int argc, char **argv)
{
	struct sdrv_xport_opts o = {.sz = sizeof(o)};
	struct sdrv_xport *x;
	struct sdrv_xs *xs;
	char *v, want[64], *path;
	unsigned domid;

	CHECK(argc == 3);
	domid = (unsigned)atoi(argv[2]);
	o.address = argv[1];
	o.domid = (sdrv_domid_t)domid;
	o.grant_pages = 1;
	x = sdrv_xport_open("posix", &o);
	CHECK(x != NULL);
	CHECK(sdrv_xport_domid(x) == domid);
	xs = sdrv_xs_open(sdrv_xport_store_address(x), NULL);
	CHECK(xs != NULL);

	/* A relative path is under our own home, so the store knows who we are. */
	CHECK(sdrv_xs_write_str(xs, 0, "data/hello", "from the domain") == 0);
	snprintf(want, sizeof(want), "/local/domain/%u/data/hello", domid);
	CHECK(sdrv_xs_read(xs, 0, want, &v, NULL) == 0);
	CHECK(strcmp(v, "from the domain") == 0);
	free(v);
	CHECK(sdrv_xs_get_domain_path(xs, (sdrv_domid_t)domid, &path) == 0);
	snprintf(want, sizeof(want), "/local/domain/%u", domid);
	CHECK(strcmp(path, want) == 0);
	free(path);
	/* The toolstack's home for us is readable, domain 0's is not ours. */
	CHECK(sdrv_xs_read(xs, 0, "name", &v, NULL) == 0);
	printf("name=%s\n", v);
	free(v);
	CHECK(sdrv_xs_write_str(xs, 0, "/local/domain/0/intruder", "x") == -EACCES);
	CHECK(sdrv_xs_write_str(xs, 0, "name", "renamed") == -EACCES);
	/* Privileged requests are refused to a domain. */
	CHECK(sdrv_xs_introduce(xs, 77, 0, 1) == -EACCES);
	printf("domain %u: ok\n", domid);
	sdrv_xs_close(xs);
	sdrv_xport_close(x);
	return 0;
}
