/* SPDX-License-Identifier: MIT */
/*
 * splitdrv: the command-line toolstack (see splitdrv(1)). It creates and
 * destroys domains and adds and removes their devices by writing the store
 * the way Xen's libxl does, so backends and frontends written for Xen find
 * what they expect:
 *
 *   /local/domain/<domid>                      the domain's home (r for it)
 *   /local/domain/<fe>/device/<type>/<devid>   the frontend directory (fe's)
 *   /local/domain/<be>/backend/<type>/<fe>/<devid>  the backend directory (be's)
 *   /libxl/<domid>/device/<type>/<devid>       where the toolstack keeps both paths
 *   /vm/<uuid>                                 name and uuid
 *
 * Every change of several nodes is one transaction (sdrv_xs_transact()),
 * so a concurrent toolstack or driver never sees half a device.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <splitdrv/xenbus.h>
#include <splitdrv/xs.h>

#include "config.h"

#define PROG	  "splitdrv"
#define MAX_DOMID 0x7FEF /* DOMID_FIRST_RESERVED - 1 */
#define PATH_LEN  256
/* Domains here reach the store through its socket, not a shared ring, so
 * INTRODUCE only announces them; xenstored's INTRODUCE still insists on a
 * non-zero event channel, and the store follows it. */
#define INTRODUCE_MFN  0
#define INTRODUCE_PORT 1

static struct {
	const char *store;
	bool json;
	int timeout_s;
	struct sdrv_xs *xs;
} g = {.timeout_s = 10};

__attribute__((format(printf, 1, 2))) static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, PROG ": ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	sdrv_xs_close(g.xs);
	exit(1);
}

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: " PROG " [OPTION]... COMMAND [ARG]...\n"
	    "The libsplitdrv toolstack: domains and their split devices, written to the\n"
	    "store the way Xen's libxl writes them.\n\n"
	    "Commands:\n"
	    "  create NAME [--domid N]         create a domain (lowest free id by default)\n"
	    "  list                            list domains and their devices\n"
	    "  destroy DOMAIN                  remove a domain's devices, then the domain\n"
	    "  device-add DOMAIN TYPE [--backend DOMAIN] [--devid N] [KEY=VALUE]...\n"
	    "                                  add a device; TYPE is vbd, vif or pci:\n"
	    "                                    vbd: target=PATH [vdev=xvda] [mode=w|r]\n"
	    "                                         [device-type=disk|cdrom]\n"
	    "                                    vif: [mac=MAC] [bridge=BR] [ip=ADDR] [rate=B,US]\n"
	    "                                         [mtu=N]\n"
	    "                                    pci: bdf=SSSS:BB:DD.F\n"
	    "                                  other KEY=VALUE pairs go to the backend directory\n"
	    "  device-list DOMAIN [TYPE]       list a domain's devices\n"
	    "  device-remove DOMAIN TYPE DEVID [--force]\n"
	    "                                  ask the backend to close, wait for it (see\n"
	    "                                  --timeout), then remove both directories;\n"
	    "                                  --force removes them without waiting\n\n"
	    "DOMAIN is a domain name or a domain id (0 is the privileged domain).\n\n"
	    "Options:\n"
	    "  -s, --store PATH    the store's socket (default: as libxenstore finds it:\n"
	    "                      $XENSTORED_PATH, $XENSTORED_RUNDIR/socket,\n"
	    "                      /var/run/xenstored/socket)\n"
	    "  -j, --json          print results as JSON\n"
	    "  -t, --timeout SEC   how long device-remove and destroy wait for a backend\n"
	    "                      to close (default 10)\n"
	    "  -h, --help          show this help and exit\n"
	    "  -V, --version       show the version and exit\n\n"
	    "Exit status: 0 on success, 1 on failure, 2 on a usage error.\n");
}

/* ---- small helpers ---------------------------------------------------- */

static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v;

	if (sdrv_xs_parse_uint(s, strlen(s), max, &v) < 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* Read a node as a string; NULL if it is absent. Other errors are fatal. */
static char *read_opt(uint32_t tx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *read_opt(uint32_t tx, const char *fmt, ...)
{
	char path[PATH_LEN], *v = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	r = sdrv_xs_read(g.xs, tx, path, &v, NULL);
	if (r == -ENOENT)
		return NULL;
	if (r < 0)
		die("cannot read %s: %s", path, strerror(-r));
	return v;
}

/* Children of a node (none if it is absent). */
static char **list_opt(uint32_t tx, unsigned *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static char **list_opt(uint32_t tx, unsigned *n, const char *fmt, ...)
{
	char path[PATH_LEN], **names = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	r = sdrv_xs_directory(g.xs, tx, path, &names, n);
	if (r == -ENOENT) {
		*n = 0;
		return NULL;
	}
	if (r < 0)
		die("cannot list %s: %s", path, strerror(-r));
	return names;
}

static int cmp_num(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t lx = strlen(x), ly = strlen(y);

	return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x, y);
}

/* Domain ids in /local/domain, sorted numerically; junk names are skipped. */
static unsigned domain_ids(uint32_t tx, uint32_t **ids)
{
	unsigned n, k = 0;
	char **names = list_opt(tx, &n, "/local/domain");

	*ids = calloc(n ? n : 1, sizeof(**ids));
	if (!*ids)
		die("out of memory");
	if (names)
		qsort(names, n, sizeof(*names), cmp_num);
	for (unsigned i = 0; i < n; i++)
		if (parse_u32(names[i], MAX_DOMID, &(*ids)[k]) == 0)
			k++;
	free(names);
	return k;
}

/* DOMAIN: an id, or the name of exactly one domain. */
static uint32_t resolve_domain(const char *arg)
{
	uint32_t id, *ids, found = UINT32_MAX;
	unsigned n;
	char *v;

	if (parse_u32(arg, MAX_DOMID, &id) == 0) {
		if (id != 0 && !(v = read_opt(0, "/local/domain/%u/name", id)) &&
		    !(v = read_opt(0, "/local/domain/%u/domid", id)))
			die("no domain %u", id);
		if (id != 0)
			free(v);
		return id;
	}
	n = domain_ids(0, &ids);
	for (unsigned i = 0; i < n; i++) {
		char *name = read_opt(0, "/local/domain/%u/name", ids[i]);

		if (name && strcmp(name, arg) == 0) {
			if (found != UINT32_MAX)
				die("more than one domain is called %s; use its id", arg);
			found = ids[i];
		}
		free(name);
	}
	free(ids);
	if (found == UINT32_MAX)
		die("no domain called %s", arg);
	return found;
}

static int xs_printf_path(uint32_t tx, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int xs_printf_path(uint32_t tx, const char *value, const char *fmt, ...)
{
	char path[PATH_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return sdrv_xs_write_str(g.xs, tx, path, value);
}

static int mkdir_perms(uint32_t tx, const char *path, const struct sdrv_xs_perm *p, unsigned n)
{
	int r = sdrv_xs_mkdir(g.xs, tx, path);

	return r ? r : sdrv_xs_set_perms(g.xs, tx, path, p, n);
}

#define TRY(expr)                                                                                  \
	do {                                                                                       \
		int r_ = (expr);                                                                   \
		if (r_ < 0)                                                                        \
			return r_;                                                                 \
	} while (0)

/* ---- create ----------------------------------------------------------- */

struct create_ctx {
	const char *name;
	uint32_t domid; /* UINT32_MAX: choose */
	uint32_t chosen;
	char uuid[37];
};

static int create_tx(struct sdrv_xs *xs, uint32_t tx, void *arg)
{
	struct create_ctx *c = arg;
	/* libxl: the domain reads its home; the toolstack owns it. */
	struct sdrv_xs_perm ro[2] = {{0, SDRV_XS_PERM_NONE}, {0, SDRV_XS_PERM_READ}};
	struct sdrv_xs_perm rw[1] = {{0, SDRV_XS_PERM_NONE}};
	struct sdrv_xs_perm none[1] = {{0, SDRV_XS_PERM_NONE}};
	static const char *const rw_dirs[] = {"device",	 "control", "data", "error",
					      "drivers", "feature", "attr", "memory"};
	uint32_t *ids, id = c->domid;
	unsigned n = domain_ids(tx, &ids);
	char path[PATH_LEN], idstr[16];

	(void)xs;
	for (unsigned i = 0; i < n; i++) {
		char *name = read_opt(tx, "/local/domain/%u/name", ids[i]);

		if (name && strcmp(name, c->name) == 0) {
			free(name);
			free(ids);
			return -EEXIST;
		}
		free(name);
		if (c->domid != UINT32_MAX && ids[i] == c->domid) {
			free(ids);
			return -EBUSY;
		}
	}
	if (id == UINT32_MAX) { /* the lowest free id from 1 */
		id = 1;
		for (unsigned i = 0; i < n; i++)
			if (ids[i] == id)
				id++;
	}
	free(ids);
	if (id > MAX_DOMID)
		return -ENOSPC;
	c->chosen = id;
	ro[1].domid = id;
	rw[0].domid = id;
	snprintf(idstr, sizeof(idstr), "%u", id);

	snprintf(path, sizeof(path), "/local/domain/%u", id);
	TRY(mkdir_perms(tx, path, ro, 2));
	TRY(xs_printf_path(tx, c->name, "/local/domain/%u/name", id));
	TRY(xs_printf_path(tx, idstr, "/local/domain/%u/domid", id));
	snprintf(path, sizeof(path), "/vm/%s", c->uuid);
	TRY(xs_printf_path(tx, path, "/local/domain/%u/vm", id));
	for (size_t i = 0; i < sizeof(rw_dirs) / sizeof(rw_dirs[0]); i++) {
		snprintf(path, sizeof(path), "/local/domain/%u/%s", id, rw_dirs[i]);
		TRY(mkdir_perms(tx, path, rw, 1));
	}
	snprintf(path, sizeof(path), "/vm/%s", c->uuid);
	TRY(mkdir_perms(tx, path, ro, 2));
	TRY(xs_printf_path(tx, c->name, "/vm/%s/name", c->uuid));
	TRY(xs_printf_path(tx, c->uuid, "/vm/%s/uuid", c->uuid));
	snprintf(path, sizeof(path), "/libxl/%u", id);
	TRY(mkdir_perms(tx, path, none, 1));
	TRY(xs_printf_path(tx, "pv", "/libxl/%u/type", id));
	return 0;
}

static void make_uuid(char out[37])
{
	unsigned char b[16];
	FILE *f = fopen("/dev/urandom", "rb");

	if (!f || fread(b, 1, sizeof(b), f) != sizeof(b))
		die("cannot read /dev/urandom");
	fclose(f);
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

static bool valid_name(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

static int cmd_create(int argc, char **argv)
{
	struct create_ctx c = {.domid = UINT32_MAX};
	uint32_t v;
	int r;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--domid") == 0 && i + 1 < argc) {
			if (parse_u32(argv[++i], MAX_DOMID, &v) < 0 || v == 0)
				die("bad --domid: %s (1 to %u)", argv[i], MAX_DOMID);
			c.domid = v;
		} else if (!c.name && argv[i][0] != '-') {
			c.name = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!c.name) {
		usage(stderr);
		return 2;
	}
	if (!valid_name(c.name) || parse_u32(c.name, UINT32_MAX, &v) == 0)
		die("bad domain name '%s' (letters, digits, - _ and ., not a number)", c.name);
	make_uuid(c.uuid);
	r = sdrv_xs_transact(g.xs, create_tx, &c, 0);
	if (r == -EEXIST)
		die("a domain called %s exists", c.name);
	if (r == -EBUSY)
		die("domain %u exists", c.domid);
	if (r < 0)
		die("cannot create domain %s: %s", c.name, strerror(-r));
	r = sdrv_xs_introduce(g.xs, (sdrv_domid_t)c.chosen, INTRODUCE_MFN, INTRODUCE_PORT);
	if (r < 0 && r != -EEXIST)
		die("domain %u created, but the store refused to introduce it: %s", c.chosen,
		    strerror(-r));
	if (g.json) {
		printf("{\"name\": ");
		json_str(c.name);
		printf(", \"domid\": %u, \"uuid\": \"%s\"}\n", c.chosen, c.uuid);
	} else {
		printf("%s: domain %u\n", c.name, c.chosen);
	}
	return 0;
}

/* ---- devices ---------------------------------------------------------- */

static const char *const dev_types[] = {"vbd", "vif", "pci"};

static bool valid_type(const char *t)
{
	for (size_t i = 0; i < sizeof(dev_types) / sizeof(dev_types[0]); i++)
		if (strcmp(t, dev_types[i]) == 0)
			return true;
	return false;
}

/* Xen's vbd numbering (docs/misc/vbd-interface.txt): xvdX[N] is
 * 202 << 8 | disk << 4 | N for the first 16 disks and 15 partitions, and
 * 1 << 28 | disk << 8 | N beyond. Disk letters count a, ..., z, aa, ab...
 * Returns -1 if `v` is not such a name. */
static long vdev_to_devid(const char *v)
{
	long disk = 0, part = 0;
	const char *p = v + 3;

	if (strncmp(v, "xvd", 3) != 0 || *p < 'a' || *p > 'z')
		return -1;
	for (; *p >= 'a' && *p <= 'z'; p++) {
		disk = disk * 26 + (*p - 'a' + 1);
		if (disk > (1L << 20))
			return -1;
	}
	disk--;
	if (*p) {
		char *end;

		if (*p < '1' || *p > '9')
			return -1;
		part = strtol(p, &end, 10);
		if (*end || part > 255)
			return -1;
	}
	if (disk < 16 && part < 16)
		return (202L << 8) | (disk << 4) | part;
	if (disk < (1L << 20))
		return (1L << 28) | (disk << 8) | part;
	return -1;
}

struct kv {
	const char *key, *val;
};

struct add_ctx {
	uint32_t fe, be;
	const char *type;
	uint32_t devid; /* UINT32_MAX: choose */
	struct kv *kv;
	int nr_kv;
	char *be_name;
	uint32_t chosen;
};

static const char *kv_get(const struct add_ctx *c, const char *key)
{
	for (int i = 0; i < c->nr_kv; i++)
		if (strcmp(c->kv[i].key, key) == 0)
			return c->kv[i].val;
	return NULL;
}

static int add_tx(struct sdrv_xs *xs, uint32_t tx, void *arg)
{
	struct add_ctx *c = arg;
	struct sdrv_xs_perm fe_perms[2] = {{c->fe, SDRV_XS_PERM_NONE}, {c->be, SDRV_XS_PERM_READ}};
	struct sdrv_xs_perm be_perms[2] = {{c->be, SDRV_XS_PERM_NONE}, {c->fe, SDRV_XS_PERM_READ}};
	char fe[PATH_LEN], be[PATH_LEN], lx[PATH_LEN], num[16];
	uint32_t devid = c->devid;
	const char *v;

	(void)xs;
	if (devid == UINT32_MAX) { /* vif and pci: the lowest free handle */
		unsigned n;
		char **names = list_opt(tx, &n, "/local/domain/%u/device/%s", c->fe, c->type);

		devid = 0;
		for (bool again = true; again;) {
			again = false;
			for (unsigned i = 0; i < n; i++)
				if (strtoul(names[i], NULL, 10) == devid && names[i][0] != '\0') {
					devid++;
					again = true;
				}
		}
		free(names);
	}
	c->chosen = devid;
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/%s/%u", c->fe, c->type, devid);
	snprintf(be, sizeof(be), "/local/domain/%u/backend/%s/%u/%u", c->be, c->type, c->fe, devid);
	snprintf(lx, sizeof(lx), "/libxl/%u/device/%s/%u", c->fe, c->type, devid);
	{
		char *old = read_opt(tx, "%s/backend", fe);

		if (old) {
			free(old);
			return -EEXIST;
		}
	}
	/* libxl__device_generic_add: both directories from scratch, fe's
	 * readable by the backend and be's by the frontend. */
	sdrv_xs_rm(g.xs, tx, fe);
	sdrv_xs_rm(g.xs, tx, be);
	TRY(mkdir_perms(tx, fe, fe_perms, 2));
	TRY(mkdir_perms(tx, be, be_perms, 2));
	TRY(xs_printf_path(tx, fe, "%s/frontend", lx));
	TRY(xs_printf_path(tx, be, "%s/backend", lx));

	snprintf(num, sizeof(num), "%u", c->be);
	TRY(xs_printf_path(tx, be, "%s/backend", fe));
	TRY(xs_printf_path(tx, num, "%s/backend-id", fe));
	TRY(xs_printf_path(tx, "1", "%s/state", fe));
	snprintf(num, sizeof(num), "%u", c->fe);
	TRY(xs_printf_path(tx, fe, "%s/frontend", be));
	TRY(xs_printf_path(tx, num, "%s/frontend-id", be));
	TRY(xs_printf_path(tx, "1", "%s/online", be));
	TRY(xs_printf_path(tx, "1", "%s/state", be));
	snprintf(num, sizeof(num), "%u", devid);

	if (strcmp(c->type, "vbd") == 0) {
		const char *target = kv_get(c, "target"), *vdev = kv_get(c, "vdev");
		const char *mode = kv_get(c, "mode"), *dt = kv_get(c, "device-type");
		struct stat st;

		TRY(xs_printf_path(tx, num, "%s/virtual-device", fe));
		TRY(xs_printf_path(tx, dt ? dt : "disk", "%s/device-type", fe));
		TRY(xs_printf_path(tx, target, "%s/params", be));
		TRY(xs_printf_path(tx,
				   stat(target, &st) == 0 && S_ISBLK(st.st_mode) ? "phy" : "file",
				   "%s/type", be));
		TRY(xs_printf_path(tx, mode ? mode : "w", "%s/mode", be));
		TRY(xs_printf_path(tx, vdev, "%s/dev", be));
		TRY(xs_printf_path(tx, dt ? dt : "disk", "%s/device-type", be));
		TRY(xs_printf_path(tx, "0", "%s/removable", be));
		TRY(xs_printf_path(tx, "1", "%s/bootable", be));
	} else if (strcmp(c->type, "vif") == 0) {
		const char *mac = kv_get(c, "mac");

		TRY(xs_printf_path(tx, num, "%s/handle", fe));
		TRY(xs_printf_path(tx, mac, "%s/mac", fe));
		TRY(xs_printf_path(tx, num, "%s/handle", be));
		TRY(xs_printf_path(tx, mac, "%s/mac", be));
		TRY(xs_printf_path(tx, "vif", "%s/type", be));
		if ((v = kv_get(c, "mtu")))
			TRY(xs_printf_path(tx, v, "%s/mtu", fe));
	} else { /* pci: one device per backend directory here */
		TRY(xs_printf_path(tx, kv_get(c, "bdf"), "%s/key-0", be));
		TRY(xs_printf_path(tx, kv_get(c, "bdf"), "%s/dev-0", be));
		TRY(xs_printf_path(tx, "1", "%s/state-0", be));
		TRY(xs_printf_path(tx, "1", "%s/num_devs", be));
		TRY(xs_printf_path(tx, c->be_name ? c->be_name : "", "%s/domain", be));
	}
	/* Everything else the user gave goes to the backend directory. */
	for (int i = 0; i < c->nr_kv; i++) {
		const char *k = c->kv[i].key;

		if (strcmp(k, "target") == 0 || strcmp(k, "vdev") == 0 || strcmp(k, "mode") == 0 ||
		    strcmp(k, "device-type") == 0 || strcmp(k, "mac") == 0 ||
		    strcmp(k, "bdf") == 0 || strcmp(k, "mtu") == 0)
			continue;
		TRY(xs_printf_path(tx, c->kv[i].val, "%s/%s", be, k));
	}
	return 0;
}

static bool valid_key(const char *k)
{
	if (!*k || strlen(k) > 64)
		return false;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
		      (*k >= '0' && *k <= '9') || *k == '-' || *k == '_'))
			return false;
	return true;
}

static bool valid_mac(const char *m)
{
	unsigned b[6];
	char end;

	return sscanf(m, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		      &end) == 6 &&
	       strlen(m) == 17;
}

static bool valid_bdf(const char *s)
{
	unsigned d, b, dev, f;
	char end;

	return sscanf(s, "%4x:%2x:%2x.%1x%c", &d, &b, &dev, &f, &end) == 4 && strlen(s) == 12 &&
	       dev < 32 && f < 8;
}

static int cmd_device_add(int argc, char **argv)
{
	struct add_ctx c = {.devid = UINT32_MAX};
	const char *backend = "0";
	char mac[18];
	int r;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	c.type = argv[1];
	if (!valid_type(c.type))
		die("unknown device type '%s' (vbd, vif or pci)", c.type);
	c.kv = calloc((size_t)argc + 2, sizeof(*c.kv));
	if (!c.kv)
		die("out of memory");
	for (int i = 2; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc) {
			backend = argv[++i];
		} else if (strcmp(argv[i], "--devid") == 0 && i + 1 < argc) {
			if (parse_u32(argv[++i], 0x7fffffff, &c.devid) < 0)
				die("bad --devid: %s", argv[i]);
		} else if (eq && eq != argv[i]) {
			*eq = '\0';
			if (!valid_key(argv[i]))
				die("bad key '%s'", argv[i]);
			c.kv[c.nr_kv].key = argv[i];
			c.kv[c.nr_kv++].val = eq + 1;
		} else {
			usage(stderr);
			free(c.kv);
			return 2;
		}
	}
	c.fe = resolve_domain(argv[0]);
	c.be = resolve_domain(backend);
	if (c.fe == 0)
		die("domain 0 cannot have frontends here");
	c.be_name = read_opt(0, "/local/domain/%u/name", c.be);
	if (strcmp(c.type, "vbd") == 0) {
		const char *vdev = kv_get(&c, "vdev"), *mode = kv_get(&c, "mode");
		long id;

		if (!kv_get(&c, "target"))
			die("vbd needs target=PATH");
		if (!vdev) {
			c.kv[c.nr_kv].key = "vdev";
			c.kv[c.nr_kv++].val = vdev = "xvda";
		}
		if (mode && strcmp(mode, "r") != 0 && strcmp(mode, "w") != 0)
			die("mode must be r or w");
		if (c.devid == UINT32_MAX) {
			if ((id = vdev_to_devid(vdev)) < 0)
				die("cannot number vdev '%s' (xvda, xvdb1, ...); give --devid",
				    vdev);
			c.devid = (uint32_t)id;
		}
	} else if (strcmp(c.type, "vif") == 0) {
		const char *m = kv_get(&c, "mac");

		if (m && !valid_mac(m))
			die("bad mac '%s'", m);
		if (!m) { /* Xen's OUI 00:16:3e, the rest random */
			unsigned char b[3];
			FILE *f = fopen("/dev/urandom", "rb");

			if (!f || fread(b, 1, 3, f) != 3)
				die("cannot read /dev/urandom");
			fclose(f);
			snprintf(mac, sizeof(mac), "00:16:3e:%02x:%02x:%02x", b[0] & 0x7f, b[1],
				 b[2]);
			c.kv[c.nr_kv].key = "mac";
			c.kv[c.nr_kv++].val = mac;
		}
	} else {
		const char *b = kv_get(&c, "bdf");

		if (!b || !valid_bdf(b))
			die("pci needs bdf=SSSS:BB:DD.F");
	}
	r = sdrv_xs_transact(g.xs, add_tx, &c, 0);
	free(c.be_name);
	free(c.kv);
	if (r == -EEXIST)
		die("domain %u already has %s %u", c.fe, c.type, c.chosen);
	if (r < 0)
		die("cannot add the %s: %s", c.type, strerror(-r));
	if (g.json)
		printf("{\"domid\": %u, \"type\": \"%s\", \"devid\": %u, \"backend-id\": %u}\n",
		       c.fe, c.type, c.chosen, c.be);
	else
		printf("domain %u: %s %u added (backend domain %u)\n", c.fe, c.type, c.chosen,
		       c.be);
	return 0;
}

static const char *state_name(const char *s)
{
	static const char *const names[] = {"Unknown",	   "Initialising",  "InitWait",
					    "Initialised", "Connected",	    "Closing",
					    "Closed",	   "Reconfiguring", "Reconfigured"};
	uint32_t v;

	if (!s)
		return "-";
	if (parse_u32(s, 8, &v) < 0)
		return "invalid";
	return names[v];
}

/* Print one domain's devices (of `only` type if not NULL). Returns how many. */
static unsigned print_devices(uint32_t fe, const char *only, bool *first)
{
	unsigned count = 0;

	for (size_t t = 0; t < sizeof(dev_types) / sizeof(dev_types[0]); t++) {
		const char *type = dev_types[t];
		unsigned n;
		char **ids;

		if (only && strcmp(only, type) != 0)
			continue;
		ids = list_opt(0, &n, "/local/domain/%u/device/%s", fe, type);
		if (ids)
			qsort(ids, n, sizeof(*ids), cmp_num);
		for (unsigned i = 0; i < n; i++) {
			char *bpath =
			    read_opt(0, "/local/domain/%u/device/%s/%s/backend", fe, type, ids[i]);
			char *bid = read_opt(0, "/local/domain/%u/device/%s/%s/backend-id", fe,
					     type, ids[i]);
			char *fst =
			    read_opt(0, "/local/domain/%u/device/%s/%s/state", fe, type, ids[i]);
			char *bst = NULL, *what = NULL;

			/* The frontend directory is the domain's: do not follow a
			 * backend path it may have rewritten outside the backends. */
			if (bpath && strncmp(bpath, "/local/domain/", 14) == 0 &&
			    strstr(bpath, "/backend/") && strlen(bpath) < PATH_LEN - 16) {
				bst = read_opt(0, "%s/state", bpath);
				what = read_opt(0, "%s/%s", bpath,
						strcmp(type, "vbd") == 0   ? "params"
						: strcmp(type, "vif") == 0 ? "mac"
									   : "dev-0");
			}
			if (g.json) {
				printf("%s{\"type\": \"%s\", \"devid\": %s, \"backend-id\": %s, "
				       "\"frontend-state\": \"%s\", \"backend-state\": \"%s\", "
				       "\"backend\": ",
				       *first ? "" : ", ", type, ids[i], bid ? bid : "null",
				       state_name(fst), state_name(bst));
				json_str(bpath ? bpath : "");
				printf(", \"detail\": ");
				json_str(what ? what : "");
				printf("}");
			} else {
				printf("  %-4s %-10s backend %-5s %-12s / %-12s %s\n", type, ids[i],
				       bid ? bid : "?", state_name(fst), state_name(bst),
				       what ? what : "");
			}
			*first = false;
			count++;
			free(bpath);
			free(bid);
			free(fst);
			free(bst);
			free(what);
		}
		free(ids);
	}
	return count;
}

static int cmd_list(int argc, char **argv)
{
	uint32_t *ids;
	unsigned n;

	(void)argv;
	if (argc) {
		usage(stderr);
		return 2;
	}
	n = domain_ids(0, &ids);
	if (g.json)
		printf("[");
	else
		printf("%-20s %5s  %s\n", "Name", "ID", "Devices (type id backend fe/be state)");
	for (unsigned i = 0; i < n; i++) {
		char *name = read_opt(0, "/local/domain/%u/name", ids[i]);
		bool first = true;

		if (g.json) {
			printf("%s{\"name\": ", i ? ", " : "");
			json_str(name ? name : "");
			printf(", \"domid\": %u, \"devices\": [", ids[i]);
			print_devices(ids[i], NULL, &first);
			printf("]}");
		} else {
			printf("%-20s %5u\n", name ? name : (ids[i] == 0 ? "Domain-0" : "-"),
			       ids[i]);
			print_devices(ids[i], NULL, &first);
		}
		free(name);
	}
	if (g.json)
		printf("]\n");
	free(ids);
	return 0;
}

static int cmd_device_list(int argc, char **argv)
{
	uint32_t fe;
	bool first = true;

	if (argc < 1 || argc > 2 || (argc == 2 && !valid_type(argv[1]))) {
		usage(stderr);
		return 2;
	}
	fe = resolve_domain(argv[0]);
	if (g.json)
		printf("[");
	print_devices(fe, argc == 2 ? argv[1] : NULL, &first);
	if (g.json)
		printf("]\n");
	return 0;
}

/* ---- removal ---------------------------------------------------------- */

struct rm_ctx {
	uint32_t fe;
	const char *type, *devid;
	char be[PATH_LEN];
	bool close_only; /* first phase: ask the backend to close */
};

/* Remove `path`, then its parents while they are empty, up to (not
 * including) `stop`, as libxl's path cleanup does: no empty
 * backend/<type>/<fe> directories are left behind. */
static int rm_cleanup(uint32_t tx, const char *path, const char *stop)
{
	char p[PATH_LEN];
	size_t stop_len = strlen(stop);
	int r = sdrv_xs_rm(g.xs, tx, path);

	if (r < 0 && r != -ENOENT)
		return r;
	snprintf(p, sizeof(p), "%s", path);
	for (;;) {
		char *slash = strrchr(p, '/'), **names;
		unsigned n;

		if (!slash)
			return 0;
		*slash = '\0';
		if (strlen(p) <= stop_len || strncmp(p, stop, stop_len) != 0)
			return 0;
		r = sdrv_xs_directory(g.xs, tx, p, &names, &n);
		if (r < 0)
			return r == -ENOENT ? 0 : r;
		free(names);
		if (n)
			return 0;
		if ((r = sdrv_xs_rm(g.xs, tx, p)) < 0 && r != -ENOENT)
			return r;
	}
}

static int rm_tx(struct sdrv_xs *xs, uint32_t tx, void *arg)
{
	struct rm_ctx *c = arg;

	(void)xs;
	if (c->close_only) {
		/* libxl__initiate_device_generic_remove; never recreate a
		 * backend directory that is already gone. */
		char *st = read_opt(tx, "%s/state", c->be);

		if (!st)
			return -ENOENT;
		free(st);
		TRY(xs_printf_path(tx, "0", "%s/online", c->be));
		return xs_printf_path(tx, "5", "%s/state", c->be);
	}
	{
		char p[PATH_LEN], stop[64];
		uint32_t be;

		/* c->be was checked to start with /local/domain/<be>/backend/. */
		if (sscanf(c->be, "/local/domain/%u/", &be) != 1)
			return -EINVAL;
		snprintf(stop, sizeof(stop), "/local/domain/%u/backend", be);
		TRY(rm_cleanup(tx, c->be, stop));
		snprintf(p, sizeof(p), "/local/domain/%u/device/%s/%s", c->fe, c->type, c->devid);
		snprintf(stop, sizeof(stop), "/local/domain/%u/device", c->fe);
		TRY(rm_cleanup(tx, p, stop));
		snprintf(p, sizeof(p), "/libxl/%u/device/%s/%s", c->fe, c->type, c->devid);
		snprintf(stop, sizeof(stop), "/libxl/%u/device", c->fe);
		TRY(rm_cleanup(tx, p, stop));
	}
	return 0;
}

static void on_state(struct sdrv_xs *xs, const char *path, const char *token, void *ctx)
{
	(void)xs;
	(void)path;
	(void)token;
	*(bool *)ctx = true;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Wait until the backend's state is Closed (6) or its directory is gone. */
static bool wait_closed(const char *be)
{
	char path[PATH_LEN + 8];
	bool changed = true;
	uint64_t end = now_ms() + (uint64_t)g.timeout_s * 1000u;
	bool closed = false;

	snprintf(path, sizeof(path), "%s/state", be);
	if (sdrv_xs_watch(g.xs, path, "splitdrv-remove", on_state, &changed) < 0)
		return false;
	while (!closed) {
		struct pollfd pfd = {.fd = sdrv_xs_fd(g.xs), .events = POLLIN};
		uint64_t now = now_ms();

		if (changed) {
			char *s = read_opt(0, "%s", path);

			changed = false;
			closed = !s || strcmp(s, "6") == 0;
			free(s);
			continue;
		}
		if (now >= end)
			break;
		if (poll(&pfd, 1, (int)(end - now)) > 0 && sdrv_xs_process(g.xs) < 0)
			die("store connection lost: %s", sdrv_xs_broken(g.xs));
	}
	sdrv_xs_unwatch(g.xs, path, "splitdrv-remove");
	return closed;
}

/* Whether `path` is /local/domain/<be>/backend/<type>/<fe>/<devid> for
 * some backend domain <be> and type (sdrv_xenbus_check_back_path()). */
static bool own_backend_path(const char *path, uint32_t fe, const char *devid)
{
	const char *p = path + 14;
	uint32_t be = 0, id;

	if (strncmp(path, "/local/domain/", 14) != 0 || parse_u32(devid, 0x7fffffff, &id) < 0)
		return false;
	for (; *p >= '0' && *p <= '9' && be <= MAX_DOMID; p++)
		be = be * 10 + (uint32_t)(*p - '0');
	if (p == path + 14 || *p != '/' || be > MAX_DOMID)
		return false;
	return sdrv_xenbus_check_back_path(path, (sdrv_domid_t)be, (sdrv_domid_t)fe, id) == 0;
}

/* Remove one device; 0, or 1 if the backend did not close in time and
 * `force` was not given (the directories are removed anyway then). */
static int remove_device(uint32_t fe, const char *type, const char *devid, bool force)
{
	struct rm_ctx c = {.fe = fe, .type = type, .devid = devid};
	char *bpath = read_opt(0, "/libxl/%u/device/%s/%s/backend", fe, type, devid);
	bool timed_out = false;
	int r;

	/* The toolstack's own record first: the frontend's "backend" key is the
	 * guest's to write, so it is trusted only if the record is missing, and
	 * then only as this very device's backend directory (in whichever
	 * backend domain): never another guest's, nor anything else. */
	if (!bpath) {
		bpath = read_opt(0, "/local/domain/%u/device/%s/%s/backend", fe, type, devid);
		if (bpath && !own_backend_path(bpath, fe, devid))
			die("domain %u's %s %s has a bad backend path", fe, type, devid);
	}
	if (!bpath)
		die("domain %u has no %s %s", fe, type, devid);
	if (strncmp(bpath, "/local/domain/", 14) != 0 || !strstr(bpath, "/backend/") ||
	    strlen(bpath) >= sizeof(c.be))
		die("domain %u's %s %s has a bad backend path", fe, type, devid);
	snprintf(c.be, sizeof(c.be), "%s", bpath);
	free(bpath);
	if (!force) {
		c.close_only = true;
		r = sdrv_xs_transact(g.xs, rm_tx, &c, 0);
		if (r < 0 && r != -ENOENT)
			die("cannot ask the backend to close: %s", strerror(-r));
		timed_out = r == 0 && !wait_closed(c.be);
		if (timed_out)
			fprintf(stderr,
				PROG ": the backend of domain %u's %s %s did not close in %d s; "
				     "removing it anyway\n",
				fe, type, devid, g.timeout_s);
	}
	c.close_only = false;
	r = sdrv_xs_transact(g.xs, rm_tx, &c, 0);
	if (r < 0)
		die("cannot remove domain %u's %s %s: %s", fe, type, devid, strerror(-r));
	return timed_out ? 1 : 0;
}

static int cmd_device_remove(int argc, char **argv)
{
	bool force = false;
	uint32_t fe, v;

	if (argc == 4 && strcmp(argv[3], "--force") == 0) {
		force = true;
		argc--;
	}
	if (argc != 3 || !valid_type(argv[1]) || parse_u32(argv[2], 0x7fffffff, &v) < 0) {
		usage(stderr);
		return 2;
	}
	fe = resolve_domain(argv[0]);
	if (remove_device(fe, argv[1], argv[2], force))
		return 1;
	if (g.json)
		printf("{\"domid\": %u, \"type\": \"%s\", \"devid\": %s, \"removed\": true}\n", fe,
		       argv[1], argv[2]);
	else
		printf("domain %u: %s %s removed\n", fe, argv[1], argv[2]);
	return 0;
}

static int cmd_destroy(int argc, char **argv)
{
	uint32_t id;
	char *vm, path[PATH_LEN];
	int late = 0, r;

	if (argc != 1) {
		usage(stderr);
		return 2;
	}
	id = resolve_domain(argv[0]);
	if (id == 0)
		die("domain 0 cannot be destroyed");
	for (size_t t = 0; t < sizeof(dev_types) / sizeof(dev_types[0]); t++) {
		unsigned n;
		char **ids = list_opt(0, &n, "/libxl/%u/device/%s", id, dev_types[t]);

		for (unsigned i = 0; i < n; i++)
			late += remove_device(id, dev_types[t], ids[i], false);
		free(ids);
	}
	vm = read_opt(0, "/local/domain/%u/vm", id);
	if (vm && strncmp(vm, "/vm/", 4) == 0 && !strchr(vm + 4, '/'))
		sdrv_xs_rm(g.xs, 0, vm);
	free(vm);
	snprintf(path, sizeof(path), "/local/domain/%u", id);
	r = sdrv_xs_rm(g.xs, 0, path);
	if (r < 0 && r != -ENOENT)
		die("cannot remove %s: %s", path, strerror(-r));
	snprintf(path, sizeof(path), "/libxl/%u", id);
	sdrv_xs_rm(g.xs, 0, path);
	r = sdrv_xs_release(g.xs, (sdrv_domid_t)id);
	if (r < 0 && r != -ENOENT)
		die("domain %u removed, but the store refused to release it: %s", id, strerror(-r));
	if (g.json)
		printf("{\"domid\": %u, \"destroyed\": true, \"late-backends\": %d}\n", id, late);
	else
		printf("domain %u destroyed\n", id);
	return 0;
}

/* ---- main ------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"store", required_argument, NULL, 's'},   {"json", no_argument, NULL, 'j'},
	    {"timeout", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},       {NULL, 0, NULL, 0},
	};
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
	    {"create", cmd_create},	      {"list", cmd_list},
	    {"destroy", cmd_destroy},	      {"device-add", cmd_device_add},
	    {"device-list", cmd_device_list}, {"device-remove", cmd_device_remove},
	};
	struct sdrv_xs_opts o = {.sz = sizeof(o), .timeout_ms = 30000};
	uint32_t v;
	int c, r;

	/* '+': options stop at the command; its own options follow it. */
	while ((c = getopt_long(argc, argv, "+s:jt:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			g.store = optarg;
			break;
		case 'j':
			g.json = true;
			break;
		case 't':
			if (parse_u32(optarg, 86400, &v) < 0) {
				fprintf(stderr, PROG ": bad --timeout: %s\n", optarg);
				return 2;
			}
			g.timeout_s = (int)v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf(PROG " (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[optind], cmds[i].name) != 0)
			continue;
		g.xs = sdrv_xs_open(g.store, &o);
		if (!g.xs) {
			char def[PATH_LEN];

			if (!g.store && sdrv_xs_default_path(def, sizeof(def)) == 0)
				g.store = def;
			fprintf(stderr, PROG ": cannot connect to the store at %s: %s\n",
				g.store ? g.store : "?", strerror(errno));
			return 1;
		}
		r = cmds[i].fn(argc - optind - 1, argv + optind + 1);
		sdrv_xs_close(g.xs);
		return r;
	}
	fprintf(stderr, PROG ": unknown command '%s'\n", argv[optind]);
	usage(stderr);
	return 2;
}
