/* SPDX-License-Identifier: MIT */
/*
 * The store against raw xenstore wire messages: every request type and its
 * errors, permissions, transactions, watches, quotas, persistence and
 * connection identity. An in-process store (sdrv_store_new() without a
 * socket, clients through sdrv_store_connect()), except where the socket
 * itself is tested. Expected behaviour is xenstored's (see doc/store.md).
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "../common/tutil.h"
#include "state-file.h"
#include "wire.h"

static struct sdrv_store *S;
static struct cli D0;

static struct sdrv_store *mk(struct sdrv_store_opts *o)
{
	struct sdrv_store_opts def = {.sz = sizeof(def)};
	struct sdrv_store *s;

	if (!o)
		o = &def;
	o->sz = sizeof(*o);
	s = sdrv_store_new(o);
	ck_assert_msg(s != NULL, "sdrv_store_new: %s", strerror(errno));
	return s;
}

static void setup(void)
{
	S = mk(NULL);
	w_open(&D0, S, 0);
}

static void teardown(void)
{
	w_close(&D0);
	sdrv_store_free(S);
	S = NULL;
}

/* dom0 makes /local/domain/<d> owned by <d>; a client for <d>. */
static void home(struct cli *c, uint32_t d)
{
	char p[64], perm[16];

	snprintf(p, sizeof(p), "/local/domain/%u", d);
	snprintf(perm, sizeof(perm), "n%u", d);
	ck_assert_str_eq(w_mkdir(&D0, 0, p), "OK|");
	ck_assert_str_eq(w_setperms(&D0, 0, p, perm), "OK|");
	w_open(c, S, d);
}

static struct sdrv_store_stats stats(struct sdrv_store *s)
{
	struct sdrv_store_stats st = {.sz = sizeof(st)};

	ck_assert_int_eq(sdrv_store_get_stats(s, &st), 0);
	return st;
}

/* ------------------------------ basics -------------------------------- */

START_TEST(initial_tree_is_xenstoreds)
{
	ck_assert_str_eq(w_dir(&D0, 0, "/"), "tool|");
	ck_assert_str_eq(w_dir(&D0, 0, "/tool"), "xenstored|");
	ck_assert_str_eq(w_getperms(&D0, 0, "/"), "n0|");
	ck_assert_str_eq(w_getperms(&D0, 0, "@introduceDomain"), "n0|");
	ck_assert_str_eq(w_getperms(&D0, 0, "@releaseDomain"), "n0|");
	ck_assert_uint_eq(sdrv_store_nr_nodes(S), 3);
	ck_assert_uint_eq(sdrv_store_nr_connections(S), 1);
}
END_TEST

START_TEST(read_write)
{
	ck_assert_str_eq(w_write(&D0, 0, "/a/b", "hello"), "OK|");
	ck_assert_str_eq(w_read(&D0, 0, "/a/b"), "hello");
	ck_assert_str_eq(w_read(&D0, 0, "/a"), ""); /* created on the way, empty */
	ck_assert_str_eq(w_dir(&D0, 0, "/a"), "b|");
	ck_assert_str_eq(w_write(&D0, 0, "/a/b", "again"), "OK|");
	ck_assert_str_eq(w_read(&D0, 0, "/a/b"), "again");
	ck_assert_str_eq(w_write(&D0, 0, "/e", ""), "OK|");
	ck_assert_str_eq(w_read(&D0, 0, "/e"), "");
	/* values are binary: NULs included, no terminator added */
	ck_assert_str_eq(w_req_raw(&D0, SDRV_XS_WRITE, 0, "/bin\0x\0y", 8), "OK|");
	ck_assert_str_eq(w_read(&D0, 0, "/bin"), "x|y");
	ck_assert_str_eq(w_read(&D0, 0, "/nope"), "!ENOENT");
	ck_assert_str_eq(w_read(&D0, 0, "/nope/deeper"), "!ENOENT");
	ck_assert_str_eq(w_dir(&D0, 0, "/"), "tool|a|e|bin|");
	ck_assert_uint_eq(sdrv_store_nr_nodes(S), 7);
	/* a socket connection's relative paths are under /local/domain/0 */
	ck_assert_str_eq(w_write(&D0, 0, "rel", "r"), "OK|");
	ck_assert_str_eq(w_read(&D0, 0, "/local/domain/0/rel"), "r");
}
END_TEST

START_TEST(mkdir_keeps_existing)
{
	ck_assert_str_eq(w_mkdir(&D0, 0, "/m/n"), "OK|");
	ck_assert_str_eq(w_read(&D0, 0, "/m/n"), "");
	ck_assert_str_eq(w_write(&D0, 0, "/m/n", "v"), "OK|");
	ck_assert_str_eq(w_mkdir(&D0, 0, "/m/n"), "OK|");
	ck_assert_str_eq(w_read(&D0, 0, "/m/n"), "v");
	ck_assert_str_eq(w_mkdir(&D0, 0, "/m"), "OK|");
	ck_assert_str_eq(w_dir(&D0, 0, "/m"), "n|");
}
END_TEST

START_TEST(rm_is_recursive)
{
	uint64_t before = sdrv_store_nr_nodes(S);

	ck_assert_str_eq(w_write(&D0, 0, "/r/a/b", "1"), "OK|");
	ck_assert_str_eq(w_write(&D0, 0, "/r/a/c", "2"), "OK|");
	ck_assert_str_eq(w_write(&D0, 0, "/r/d", "3"), "OK|");
	ck_assert_uint_eq(sdrv_store_nr_nodes(S), before + 5);
	ck_assert_str_eq(w_rm(&D0, 0, "/r/a"), "OK|");
	ck_assert_str_eq(w_dir(&D0, 0, "/r"), "d|");
	ck_assert_str_eq(w_read(&D0, 0, "/r/a/b"), "!ENOENT");
	ck_assert_uint_eq(sdrv_store_nr_nodes(S), before + 2);
	/* missing node with an existing parent: fine; missing parent: ENOENT */
	ck_assert_str_eq(w_rm(&D0, 0, "/r/zzz"), "OK|");
	ck_assert_str_eq(w_rm(&D0, 0, "/r/x/y"), "!ENOENT");
	ck_assert_str_eq(w_rm(&D0, 0, "/"), "!EINVAL");
	ck_assert_str_eq(w_rm(&D0, 0, "/r"), "OK|");
	ck_assert_uint_eq(sdrv_store_nr_nodes(S), before);
}
END_TEST

START_TEST(invalid_paths)
{
	char longp[SDRV_XS_ABS_PATH_MAX + 2];

	ck_assert_str_eq(w_read(&D0, 0, ""), "!EINVAL");
	ck_assert_str_eq(w_read(&D0, 0, "/a//b"), "!EINVAL");
	ck_assert_str_eq(w_read(&D0, 0, "/a/"), "!EINVAL");
	ck_assert_str_eq(w_read(&D0, 0, "/a b"), "!EINVAL");
	ck_assert_str_eq(w_read(&D0, 0, "/a*"), "!EINVAL");
	ck_assert_str_eq(w_read(&D0, 0, "@introduceDomain"), "!EINVAL");
	ck_assert_str_eq(w_write(&D0, 0, "@x", "1"), "!EINVAL");
	ck_assert_str_eq(w_dir(&D0, 0, "@releaseDomain"), "!EINVAL");
	/* 3072 bytes is the longest path; 3073 is invalid */
	longp[0] = '/';
	memset(longp + 1, 'a', SDRV_XS_ABS_PATH_MAX);
	longp[SDRV_XS_ABS_PATH_MAX + 1] = '\0';
	ck_assert_str_eq(w_write(&D0, 0, longp, "x"), "!EINVAL");
	longp[SDRV_XS_ABS_PATH_MAX] = '\0';
	ck_assert_str_eq(w_write(&D0, 0, longp, "x"), "OK|");
	ck_assert_str_eq(w_read(&D0, 0, longp), "x");
	/* exactly one NUL-terminated argument */
	ck_assert_str_eq(w_req_raw(&D0, SDRV_XS_READ, 0, "/a", 2), "!EINVAL");
	ck_assert_str_eq(w_req_raw(&D0, SDRV_XS_READ, 0, "/a\0b", 5), "!EINVAL");
	ck_assert_str_eq(w_req_raw(&D0, SDRV_XS_READ, 0, "", 0), "!EINVAL");
	ck_assert_str_eq(w_req_raw(&D0, SDRV_XS_WRITE, 0, "/nonul", 6), "!EINVAL");
	ck_assert_str_eq(w_req_raw(&D0, SDRV_XS_RM, 0, "/a\0\0", 4), "!EINVAL");
	ck_assert_str_eq(w_req_raw(&D0, SDRV_XS_MKDIR, 0, "/a\0/b\0", 6), "!EINVAL");
}
END_TEST

START_TEST(directory_part_lists_big_directories)
{
	char p[64];
	int n = 400;
	uint64_t gen0 = 0;
	int got = 0;
	unsigned off = 0;

	for (int i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "/big/child-%04d-xxxxxxxxxx", i);
		ck_assert_str_eq(w_write(&D0, 0, p, ""), "OK|");
	}
	/* 400 names of 22 bytes: too much for one DIRECTORY reply */
	ck_assert_str_eq(w_dir(&D0, 0, "/big"), "!E2BIG");
	for (int chunk = 0;; chunk++) {
		struct wmsg m;
		char req[64];
		size_t rl;
		const char *q, *end;
		uint64_t gen;
		bool last;

		ck_assert_int_lt(chunk, 10);
		rl = (size_t)snprintf(req, sizeof(req), "/big%c%u", 0, off) + 1;
		w_send(&D0, SDRV_XS_DIRECTORY_PART, 0, req, rl);
		ck_assert_int_eq(w_recv(&D0, &m), 0);
		ck_assert_uint_eq(m.h.type, SDRV_XS_DIRECTORY_PART);
		ck_assert_uint_le(m.h.len, SDRV_XS_PAYLOAD_MAX);
		gen = strtoull(m.p, NULL, 10);
		if (chunk == 0)
			gen0 = gen;
		ck_assert_uint_eq(gen, gen0); /* unchanged between chunks */
		q = m.p + strlen(m.p) + 1;
		end = m.p + m.h.len;
		last = m.h.len >= 2 && end[-1] == '\0' && end[-2] == '\0';
		while (q < end && *q) {
			snprintf(p, sizeof(p), "child-%04d-xxxxxxxxxx", got);
			ck_assert_str_eq(q, p);
			off += (unsigned)strlen(q) + 1;
			q += strlen(q) + 1;
			got++;
		}
		if (last)
			break;
	}
	ck_assert_int_eq(got, n);
	/* beyond the end: the generation and an empty list */
	{
		char req[32];
		size_t rl = (size_t)snprintf(req, sizeof(req), "/big%c99999", 0) + 1;
		struct wmsg m;

		w_send(&D0, SDRV_XS_DIRECTORY_PART, 0, req, rl);
		ck_assert_int_eq(w_recv(&D0, &m), 0);
		ck_assert_uint_eq(m.h.len, strlen(m.p) + 2);
		ck_assert_int_eq(m.p[m.h.len - 1], 0);
	}
	ck_assert_str_eq(w_req(&D0, SDRV_XS_DIRECTORY_PART, 0, 1, "/big"), "!EINVAL");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_DIRECTORY_PART, 0, 2, "/nope", "0"), "!ENOENT");
	/* a small directory in one part, with the final extra NUL */
	ck_assert_str_eq(w_write(&D0, 0, "/small/a", ""), "OK|");
	{
		const char *r = w_req(&D0, SDRV_XS_DIRECTORY_PART, 0, 2, "/small", "0");
		const char *bar = strchr(r, '|');

		ck_assert_ptr_nonnull(bar);
		ck_assert_str_eq(bar, "|a||");
	}
}
END_TEST

START_TEST(perms_get_set)
{
	ck_assert_str_eq(w_write(&D0, 0, "/p", "v"), "OK|");
	ck_assert_str_eq(w_getperms(&D0, 0, "/p"), "n0|");
	ck_assert_str_eq(w_setperms(&D0, 0, "/p", "n0|r5|w6|b7"), "OK|");
	ck_assert_str_eq(w_getperms(&D0, 0, "/p"), "n0|r5|w6|b7|");
	ck_assert_str_eq(w_setperms(&D0, 0, "/p", "x5"), "!EINVAL");
	ck_assert_str_eq(w_setperms(&D0, 0, "/p", "r"), "!EINVAL");
	ck_assert_str_eq(w_setperms(&D0, 0, "/p", "r5x"), "!EINVAL");
	ck_assert_str_eq(w_setperms(&D0, 0, "/p", "r70000"), "!EINVAL");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_SET_PERMS, 0, 1, "/p"), "!EINVAL");
	ck_assert_str_eq(w_setperms(&D0, 0, "/nope", "n0"), "!ENOENT");
	ck_assert_str_eq(w_getperms(&D0, 0, "/p"), "n0|r5|w6|b7|");
	/* the special nodes carry permissions too */
	ck_assert_str_eq(w_setperms(&D0, 0, "@releaseDomain", "n0|r5"), "OK|");
	ck_assert_str_eq(w_getperms(&D0, 0, "@releaseDomain"), "n0|r5|");
	ck_assert_str_eq(w_getperms(&D0, 0, "@nope"), "!ENOENT");
	/* a new node inherits its parent's list */
	ck_assert_str_eq(w_write(&D0, 0, "/p/c", ""), "OK|");
	ck_assert_str_eq(w_getperms(&D0, 0, "/p/c"), "n0|r5|w6|b7|");
}
END_TEST

START_TEST(perms_for_a_domain)
{
	struct cli d5, d6;

	home(&d5, 5);
	w_open(&d6, S, 6);
	ck_assert_str_eq(w_write(&d5, 0, "data/x", "1"), "OK|");
	ck_assert_str_eq(w_read(&d5, 0, "/local/domain/5/data/x"), "1");
	ck_assert_str_eq(w_getperms(&d5, 0, "data/x"), "n5|");
	/* existing but unreadable; missing below an unreadable parent */
	ck_assert_str_eq(w_read(&d5, 0, "/tool"), "!EACCES");
	ck_assert_str_eq(w_read(&d5, 0, "/tool/nope"), "!EACCES");
	ck_assert_str_eq(w_read(&d5, 0, "/local/domain/5/nope"), "!ENOENT");
	ck_assert_str_eq(w_write(&d5, 0, "/tool/x", "1"), "!EACCES");
	ck_assert_str_eq(w_mkdir(&d5, 0, "/newtop"), "!EACCES");
	ck_assert_str_eq(w_rm(&d5, 0, "/tool"), "!EACCES");
	ck_assert_str_eq(w_dir(&d5, 0, "/"), "!EACCES");
	/* dom0 writing under a domain's node: the owner stays the domain */
	ck_assert_str_eq(w_write(&D0, 0, "/local/domain/5/fromdom0", "z"), "OK|");
	ck_assert_str_eq(w_getperms(&D0, 0, "/local/domain/5/fromdom0"), "n5|");
	ck_assert_str_eq(w_read(&d5, 0, "fromdom0"), "z");
	/* dom0 reads and writes everything */
	ck_assert_str_eq(w_read(&D0, 0, "/local/domain/5/data/x"), "1");
	/* read-only, then read-write for a domain */
	ck_assert_str_eq(w_mkdir(&D0, 0, "/shared"), "OK|");
	ck_assert_str_eq(w_setperms(&D0, 0, "/shared", "n0|r5"), "OK|");
	ck_assert_str_eq(w_read(&d5, 0, "/shared"), "");
	ck_assert_str_eq(w_read(&d6, 0, "/shared"), "!EACCES");
	ck_assert_str_eq(w_write(&d5, 0, "/shared/x", "1"), "!EACCES");
	ck_assert_str_eq(w_setperms(&D0, 0, "/shared", "n0|b5"), "OK|");
	ck_assert_str_eq(w_write(&d5, 0, "/shared/x", "1"), "OK|");
	/* a domain owns what it creates, the other entries inherited */
	ck_assert_str_eq(w_getperms(&D0, 0, "/shared/x"), "n5|b5|");
	/* write permission is not ownership */
	ck_assert_str_eq(w_setperms(&d5, 0, "/shared", "n0|b5|r6"), "!EACCES");
	/* an owner may not give its node away, but may share it */
	ck_assert_str_eq(w_setperms(&d5, 0, "data/x", "n6"), "!EPERM");
	ck_assert_str_eq(w_read(&d6, 0, "/local/domain/5/data/x"), "!EACCES");
	ck_assert_str_eq(w_setperms(&d5, 0, "data/x", "n5|r6"), "OK|");
	ck_assert_str_eq(w_read(&d6, 0, "/local/domain/5/data/x"), "1");
	ck_assert_str_eq(w_write(&d6, 0, "/local/domain/5/data/x", "2"), "!EACCES");
	/* the first entry is everybody else's */
	ck_assert_str_eq(w_setperms(&d5, 0, "data/x", "r5"), "OK|");
	ck_assert_str_eq(w_read(&d6, 0, "/local/domain/5/data/x"), "1");
	/* too many entries for a domain (quota 5), fine for dom0 */
	ck_assert_str_eq(w_setperms(&d5, 0, "data/x", "n5|r1|r2|r3|r4|r6"), "!ENOSPC");
	ck_assert_str_eq(w_setperms(&D0, 0, "/shared", "n0|r1|r2|r3|r4|r6|r7"), "OK|");
	/* privileged requests */
	ck_assert_str_eq(w_req(&d5, SDRV_XS_INTRODUCE, 0, 3, "9", "0", "1"), "!EACCES");
	ck_assert_str_eq(w_req(&d5, SDRV_XS_RELEASE, 0, 1, "9"), "!EACCES");
	ck_assert_str_eq(w_req(&d5, SDRV_XS_IS_DOMAIN_INTRODUCED, 0, 1, "9"), "!EACCES");
	ck_assert_str_eq(w_req(&d5, SDRV_XS_CONTROL, 0, 1, "help"), "!EACCES");
	ck_assert_str_eq(w_req(&d5, SDRV_XS_SET_TARGET, 0, 2, "5", "6"), "!EACCES");
	ck_assert_str_eq(w_req(&d5, SDRV_XS_RESUME, 0, 1, "5"), "!EACCES");
	/* but anyone may ask for a domain's path */
	ck_assert_str_eq(w_req(&d5, SDRV_XS_GET_DOMAIN_PATH, 0, 1, "5"), "/local/domain/5|");
	w_close(&d5);
	w_close(&d6);
}
END_TEST

START_TEST(domain_management)
{
	ck_assert_str_eq(w_req(&D0, SDRV_XS_GET_DOMAIN_PATH, 0, 1, "12"), "/local/domain/12|");
	ck_assert_str_eq(w_req_raw(&D0, SDRV_XS_GET_DOMAIN_PATH, 0, "12", 2), "!EINVAL");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_IS_DOMAIN_INTRODUCED, 0, 1, "0"), "T|");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_IS_DOMAIN_INTRODUCED, 0, 1, "7"), "F|");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_INTRODUCE, 0, 3, "7", "0", "0"), "!EINVAL");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_INTRODUCE, 0, 2, "7", "0"), "!EINVAL");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_INTRODUCE, 0, 3, "7", "0", "1"), "OK|");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_INTRODUCE, 0, 3, "7", "0", "1"), "OK|");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_IS_DOMAIN_INTRODUCED, 0, 1, "7"), "T|");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_RESUME, 0, 1, "7"), "OK|");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_RESUME, 0, 1, "8"), "!ENOENT");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_SET_TARGET, 0, 2, "7", "8"), "!ENOENT");
	ck_assert_int_eq(sdrv_store_introduce(S, 8), 0);
	ck_assert_int_eq(sdrv_store_introduce(S, 8), -EEXIST);
	ck_assert_int_eq(sdrv_store_introduce(S, 0), -EINVAL);
	ck_assert_str_eq(w_req(&D0, SDRV_XS_SET_TARGET, 0, 2, "7", "8"), "OK|");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_RELEASE, 0, 1, "0"), "!EINVAL");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_RELEASE, 0, 1, "7"), "OK|");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_RELEASE, 0, 1, "7"), "!ENOENT");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_IS_DOMAIN_INTRODUCED, 0, 1, "7"), "F|");
	ck_assert_int_eq(sdrv_store_release(S, 8), 0);
	ck_assert_int_eq(sdrv_store_release(S, 8), -ENOENT);
	/* unknown and reply-only types */
	ck_assert_str_eq(w_req(&D0, 20, 0, 1, "x"), "!ENOSYS");
	ck_assert_str_eq(w_req(&D0, 99, 0, 1, "x"), "!ENOSYS");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_WATCH_EVENT, 0, 2, "/a", "t"), "!ENOSYS");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_ERROR, 0, 1, "EINVAL"), "!ENOSYS");
	/* and the connection still works */
	ck_assert_str_eq(w_read(&D0, 0, "/"), "");
}
END_TEST

START_TEST(set_target_grants_the_targets_rights)
{
	struct cli d5;

	home(&d5, 5);
	ck_assert_str_eq(w_mkdir(&D0, 0, "/local/domain/6"), "OK|");
	ck_assert_str_eq(w_setperms(&D0, 0, "/local/domain/6", "n6"), "OK|");
	ck_assert_str_eq(w_read(&d5, 0, "/local/domain/6"), "!EACCES");
	ck_assert_int_eq(sdrv_store_introduce(S, 5), 0);
	ck_assert_int_eq(sdrv_store_introduce(S, 6), 0);
	ck_assert_str_eq(w_req(&D0, SDRV_XS_SET_TARGET, 0, 2, "5", "6"), "OK|");
	ck_assert_str_eq(w_read(&d5, 0, "/local/domain/6"), "");
	ck_assert_str_eq(w_write(&d5, 0, "/local/domain/6/x", "1"), "OK|");
	w_close(&d5);
}
END_TEST

START_TEST(control_commands)
{
	uint32_t v = 0;
	const char *r;

	r = w_req(&D0, SDRV_XS_CONTROL, 0, 1, "help");
	ck_assert_msg(strstr(r, "quota") && strstr(r, "print"), "help: %s", r);
	ck_assert_str_eq(w_req(&D0, SDRV_XS_CONTROL, 0, 2, "print", "hello"), "OK|");
	r = w_req(&D0, SDRV_XS_CONTROL, 0, 1, "quota");
	ck_assert_msg(strstr(r, "nodes") && strstr(r, "1000"), "quota: %s", r);
	ck_assert_str_eq(w_req(&D0, SDRV_XS_CONTROL, 0, 3, "quota-set", "nodes", "500"), "OK|");
	ck_assert_int_eq(sdrv_store_get_quota(S, "nodes", &v), 0);
	ck_assert_uint_eq(v, 500);
	ck_assert_str_eq(w_req(&D0, SDRV_XS_CONTROL, 0, 4, "quota", "set", "watches", "7"), "OK|");
	ck_assert_int_eq(sdrv_store_get_quota(S, "watches", &v), 0);
	ck_assert_uint_eq(v, 7);
	ck_assert_str_eq(w_req(&D0, SDRV_XS_CONTROL, 0, 3, "quota-set", "nodes", "0"), "!EINVAL");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_CONTROL, 0, 3, "quota-set", "bogus", "1"), "!EINVAL");
	r = w_req(&D0, SDRV_XS_CONTROL, 0, 2, "quota", "0");
	ck_assert_msg(!strncmp(r, "Domain 0:", 9), "quota 0: %s", r);
	ck_assert_str_eq(w_req(&D0, SDRV_XS_CONTROL, 0, 2, "quota", "99"), "!ENOENT");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_CONTROL, 0, 1, "log"), "Log level: info\n|");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_CONTROL, 0, 2, "log", "debug"), "OK|");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_CONTROL, 0, 1, "log"), "Log level: debug\n|");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_CONTROL, 0, 2, "log", "loud"), "!EINVAL");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_CONTROL, 0, 1, "check"), "OK|");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_CONTROL, 0, 1, "nope"), "!EINVAL");
	ck_assert_str_eq(w_req_raw(&D0, SDRV_XS_CONTROL, 0, "", 0), "!EINVAL");
	ck_assert_int_eq(sdrv_store_set_quota(S, "nope", 1), -ENOENT);
	ck_assert_int_eq(sdrv_store_set_quota(S, "path-max", 4000), -EINVAL);
	ck_assert_int_eq(sdrv_store_set_quota(S, "node-permissions", 9), 0);
	ck_assert_int_eq(sdrv_store_get_quota(S, "permissions", &v), 0);
	ck_assert_uint_eq(v, 9);
}
END_TEST

/* ---------------------------- transactions ---------------------------- */

START_TEST(tx_sees_own_writes_and_commits)
{
	uint32_t tx;

	ck_assert_str_eq(w_write(&D0, 0, "/t/a", "1"), "OK|");
	tx = w_tx_start(&D0);
	ck_assert_str_eq(w_write(&D0, tx, "/t/a", "2"), "OK|");
	ck_assert_str_eq(w_write(&D0, tx, "/t/new/deep", "n"), "OK|");
	ck_assert_str_eq(w_read(&D0, tx, "/t/a"), "2");
	ck_assert_str_eq(w_read(&D0, 0, "/t/a"), "1");
	ck_assert_str_eq(w_read(&D0, 0, "/t/new"), "!ENOENT");
	ck_assert_str_eq(w_dir(&D0, tx, "/t"), "a|new|");
	ck_assert_str_eq(w_dir(&D0, 0, "/t"), "a|");
	ck_assert_str_eq(w_tx_end(&D0, tx, 1), "OK|");
	ck_assert_str_eq(w_read(&D0, 0, "/t/a"), "2");
	ck_assert_str_eq(w_read(&D0, 0, "/t/new/deep"), "n");
	/* the id is gone */
	ck_assert_str_eq(w_read(&D0, tx, "/t/a"), "!ENOENT");
}
END_TEST

START_TEST(tx_abort_discards)
{
	uint64_t n = sdrv_store_nr_nodes(S);
	uint32_t tx = w_tx_start(&D0);

	ck_assert_str_eq(w_write(&D0, tx, "/gone/x", "3"), "OK|");
	ck_assert_str_eq(w_rm(&D0, tx, "/tool"), "OK|");
	ck_assert_str_eq(w_tx_end(&D0, tx, 0), "OK|");
	ck_assert_str_eq(w_read(&D0, 0, "/gone"), "!ENOENT");
	ck_assert_str_eq(w_read(&D0, 0, "/tool/xenstored"), "");
	ck_assert_uint_eq(sdrv_store_nr_nodes(S), n);
}
END_TEST

START_TEST(tx_snapshot_isolation)
{
	struct cli o;
	uint32_t tx;

	w_open(&o, S, 0);
	ck_assert_str_eq(w_write(&D0, 0, "/t/a", "1"), "OK|");
	tx = w_tx_start(&D0);
	ck_assert_str_eq(w_write(&o, 0, "/t/a", "changed"), "OK|");
	ck_assert_str_eq(w_write(&o, 0, "/t/b", "x"), "OK|");
	ck_assert_str_eq(w_rm(&o, 0, "/tool"), "OK|");
	/* the transaction still sees the tree as it was when it started */
	ck_assert_str_eq(w_read(&D0, tx, "/t/a"), "1");
	ck_assert_str_eq(w_read(&D0, tx, "/t/b"), "!ENOENT");
	ck_assert_str_eq(w_dir(&D0, tx, "/t"), "a|");
	ck_assert_str_eq(w_read(&D0, tx, "/tool/xenstored"), "");
	ck_assert_str_eq(w_read(&D0, 0, "/t/a"), "changed");
	/* and cannot commit what it read */
	ck_assert_str_eq(w_tx_end(&D0, tx, 1), "!EAGAIN");
	ck_assert_uint_eq(stats(S).tx_conflicts, 1);
	w_close(&o);
}
END_TEST

START_TEST(tx_conflicts_are_per_node)
{
	struct cli o;
	uint32_t tx;

	w_open(&o, S, 0);
	ck_assert_str_eq(w_mkdir(&D0, 0, "/u"), "OK|");
	ck_assert_str_eq(w_mkdir(&D0, 0, "/v"), "OK|");
	ck_assert_str_eq(w_write(&D0, 0, "/w/a", "0"), "OK|");
	ck_assert_str_eq(w_mkdir(&D0, 0, "/d"), "OK|");
	ck_assert_str_eq(w_write(&D0, 0, "/x", "0"), "OK|");

	/* unrelated writers do not conflict */
	tx = w_tx_start(&D0);
	ck_assert_str_eq(w_write(&D0, tx, "/u/x", "1"), "OK|");
	ck_assert_str_eq(w_write(&o, 0, "/v/y", "2"), "OK|");
	ck_assert_str_eq(w_write(&o, 0, "/w/a", "3"), "OK|");
	ck_assert_str_eq(w_tx_end(&D0, tx, 1), "OK|");
	ck_assert_str_eq(w_read(&D0, 0, "/u/x"), "1");

	/* a node it wrote changed meanwhile */
	tx = w_tx_start(&D0);
	ck_assert_str_eq(w_write(&D0, tx, "/w/a", "tx"), "OK|");
	ck_assert_str_eq(w_write(&o, 0, "/w/a", "outside"), "OK|");
	ck_assert_str_eq(w_tx_end(&D0, tx, 1), "!EAGAIN");
	ck_assert_str_eq(w_read(&D0, 0, "/w/a"), "outside");

	/* a directory it listed got a child */
	tx = w_tx_start(&D0);
	ck_assert_str_eq(w_dir(&D0, tx, "/d"), "");
	ck_assert_str_eq(w_write(&D0, tx, "/elsewhere", "1"), "OK|");
	ck_assert_str_eq(w_write(&o, 0, "/d/new", "1"), "OK|");
	ck_assert_str_eq(w_tx_end(&D0, tx, 1), "!EAGAIN");
	ck_assert_str_eq(w_read(&D0, 0, "/elsewhere"), "!ENOENT");

	/* a node it read was deleted */
	tx = w_tx_start(&D0);
	ck_assert_str_eq(w_read(&D0, tx, "/x"), "0");
	ck_assert_str_eq(w_rm(&o, 0, "/x"), "OK|");
	ck_assert_str_eq(w_tx_end(&D0, tx, 1), "!EAGAIN");

	/* a node it saw missing was created */
	tx = w_tx_start(&D0);
	ck_assert_str_eq(w_read(&D0, tx, "/x"), "!ENOENT");
	ck_assert_str_eq(w_write(&o, 0, "/x", "again"), "OK|");
	ck_assert_str_eq(w_tx_end(&D0, tx, 1), "!EAGAIN");

	/* two transactions on different nodes both commit */
	{
		uint32_t t1 = w_tx_start(&D0), t2 = w_tx_start(&o);

		ck_assert_str_eq(w_write(&D0, t1, "/u/x", "t1"), "OK|");
		ck_assert_str_eq(w_write(&o, t2, "/v/y", "t2"), "OK|");
		ck_assert_str_eq(w_tx_end(&o, t2, 1), "OK|");
		ck_assert_str_eq(w_tx_end(&D0, t1, 1), "OK|");
		ck_assert_str_eq(w_read(&D0, 0, "/u/x"), "t1");
		ck_assert_str_eq(w_read(&D0, 0, "/v/y"), "t2");
	}
	w_close(&o);
}
END_TEST

START_TEST(tx_errors)
{
	uint32_t tx;
	struct sdrv_xs_msg h;
	struct wmsg m;

	ck_assert_str_eq(w_read(&D0, 9999, "/"), "!ENOENT");
	ck_assert_str_eq(w_tx_end(&D0, 0, 1), "!ENOENT");
	tx = w_tx_start(&D0);
	ck_assert_str_eq(w_req(&D0, SDRV_XS_TRANSACTION_END, tx, 1, "X"), "!EINVAL");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_TRANSACTION_END, tx, 2, "T", "T"), "!EINVAL");
	/* no nesting */
	ck_assert_str_eq(w_req(&D0, SDRV_XS_TRANSACTION_START, tx, 1, ""), "!EBUSY");
	/* still usable after those errors */
	ck_assert_str_eq(w_write(&D0, tx, "/ok", "1"), "OK|");
	/* WATCH ignores the transaction id (even an unknown one) */
	w_send(&D0, SDRV_XS_WATCH, 4242, "/ok\0tok", 8);
	ck_assert_int_eq(w_recv(&D0, &m), 0);
	h = m.h;
	ck_assert_uint_eq(h.type, SDRV_XS_WATCH);
	ck_assert_uint_eq(h.tx_id, 4242); /* echoed */
	ck_assert_str_eq(w_tx_end(&D0, tx, 1), "OK|");
	ck_assert_str_eq(w_read(&D0, 0, "/ok"), "1");
	/* ids are per connection */
	{
		struct cli o;

		w_open(&o, S, 0);
		tx = w_tx_start(&D0);
		ck_assert_str_eq(w_read(&o, tx, "/ok"), "!ENOENT");
		w_close(&o);
	}
	/* RESET_WATCHES ends the transactions too */
	ck_assert_str_eq(w_req(&D0, SDRV_XS_RESET_WATCHES, 0, 1, ""), "OK|");
	ck_assert_str_eq(w_read(&D0, tx, "/ok"), "!ENOENT");
}
END_TEST

START_TEST(tx_quotas_count_what_commits)
{
	struct sdrv_store_opts o = {.quota_nodes = 20, .quota_transaction_nodes = 50};
	struct cli d5;
	char p[64];
	uint32_t t1, t2;

	teardown();
	S = mk(&o);
	w_open(&D0, S, 0);
	home(&d5, 5); /* owns 1 */
	for (int i = 0; i < 10; i++) {
		snprintf(p, sizeof(p), "data/n%d", i);
		ck_assert_str_eq(w_write(&d5, 0, p, "x"), "OK|");
	}
	/* owns 12; nodes created and deleted inside a transaction count for
	 * nothing once it commits (CVE-2022-42326) */
	for (int round = 0; round < 3; round++) {
		t1 = w_tx_start(&d5);
		for (int i = 0; i < 5; i++) {
			snprintf(p, sizeof(p), "tmp/n%d", i);
			ck_assert_str_eq(w_write(&d5, t1, p, "y"), "OK|");
		}
		ck_assert_str_eq(w_rm(&d5, t1, "tmp"), "OK|");
		ck_assert_str_eq(w_tx_end(&d5, t1, 1), "OK|");
	}
	/* inside a transaction the quota counts its own nodes */
	t1 = w_tx_start(&d5);
	for (int i = 0; i < 8; i++) {
		snprintf(p, sizeof(p), "in/n%d", i);
		ck_assert_str_eq(w_write(&d5, t1, p, "y"), i < 7 ? "OK|" : "!ENOSPC");
	}
	ck_assert_str_eq(w_tx_end(&d5, t1, 0), "OK|");
	/* two transactions within the quota alone, above it together */
	ck_assert_str_eq(w_mkdir(&d5, 0, "q1"), "OK|");
	ck_assert_str_eq(w_mkdir(&d5, 0, "q2"), "OK|"); /* owns 14 */
	t1 = w_tx_start(&d5);
	t2 = w_tx_start(&d5);
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "q1/n%d", i);
		ck_assert_str_eq(w_write(&d5, t1, p, "y"), "OK|");
	}
	for (int i = 0; i < 5; i++) {
		snprintf(p, sizeof(p), "q2/n%d", i);
		ck_assert_str_eq(w_write(&d5, t2, p, "y"), "OK|");
	}
	ck_assert_str_eq(w_tx_end(&d5, t1, 1), "OK|");	   /* 17 */
	ck_assert_str_eq(w_tx_end(&d5, t2, 1), "!ENOSPC"); /* would be 22 */
	/* exactly the quota is reachable: 17 + 3 */
	for (int i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "last%d", i);
		ck_assert_str_eq(w_write(&d5, 0, p, "z"), i < 3 ? "OK|" : "!ENOSPC");
	}
	/* transaction-nodes: what one transaction may touch */
	t1 = w_tx_start(&d5);
	for (int i = 0; i < 60; i++) {
		snprintf(p, sizeof(p), "/local/domain/5/nothere%d", i);
		if (!strcmp(w_read(&d5, t1, p), "!ENOSPC"))
			break;
		ck_assert_int_lt(i, 50);
	}
	ck_assert_str_eq(w_tx_end(&d5, t1, 0), "OK|");
	/* transactions: 10 per domain */
	for (int i = 0; i < 10; i++)
		(void)w_tx_start(&d5);
	ck_assert_str_eq(w_req(&d5, SDRV_XS_TRANSACTION_START, 0, 1, ""), "!ENOSPC");
	/* dom0 has no such quota */
	for (int i = 0; i < 30; i++)
		(void)w_tx_start(&D0);
	w_close(&d5);
}
END_TEST

START_TEST(tx_watches_fire_on_commit_only)
{
	struct cli o;
	uint32_t tx;

	w_open(&o, S, 0);
	ck_assert_str_eq(w_mkdir(&D0, 0, "/wc"), "OK|");
	ck_assert_str_eq(w_watch(&o, "/wc", "tok"), "OK|");
	ck_assert_str_eq(w_event(&o), "/wc|tok|");
	tx = w_tx_start(&D0);
	ck_assert_str_eq(w_write(&D0, tx, "/wc/x", "1"), "OK|");
	ck_assert_ptr_null(w_event(&o));
	ck_assert_str_eq(w_tx_end(&D0, tx, 1), "OK|");
	ck_assert_str_eq(w_event(&o), "/wc/x|tok|");
	ck_assert_ptr_null(w_event(&o));
	/* aborted: nothing */
	tx = w_tx_start(&D0);
	ck_assert_str_eq(w_write(&D0, tx, "/wc/y", "1"), "OK|");
	ck_assert_str_eq(w_tx_end(&D0, tx, 0), "OK|");
	ck_assert_ptr_null(w_event(&o));
	/* failed: nothing */
	tx = w_tx_start(&D0);
	ck_assert_str_eq(w_write(&D0, tx, "/wc/x", "2"), "OK|");
	ck_assert_str_eq(w_write(&D0, 0, "/wc/x", "3"), "OK|");
	ck_assert_str_eq(w_event(&o), "/wc/x|tok|");
	ck_assert_str_eq(w_tx_end(&D0, tx, 1), "!EAGAIN");
	ck_assert_ptr_null(w_event(&o));
	/* rm inside a transaction */
	tx = w_tx_start(&D0);
	ck_assert_str_eq(w_rm(&D0, tx, "/wc/x"), "OK|");
	ck_assert_ptr_null(w_event(&o));
	ck_assert_str_eq(w_tx_end(&D0, tx, 1), "OK|");
	ck_assert_str_eq(w_event(&o), "/wc/x|tok|");
	w_close(&o);
}
END_TEST

START_TEST(tx_history_is_bounded)
{
	/* A transaction that stays open while others write keeps old versions
	 * alive; beyond the bound it loses its snapshot and fails, nothing
	 * else does, and memory is given back. */
	char big[3900];
	struct cli o;
	uint32_t tx;
	int n = 0;

	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	w_open(&o, S, 0);
	ck_assert_str_eq(w_write(&D0, 0, "/stable", "s"), "OK|");
	for (n = 0; n < 50; n++) {
		char p[32];

		snprintf(p, sizeof(p), "/h/%d", n);
		ck_assert_str_eq(w_write(&o, 0, p, "0"), "OK|");
	}
	/* a little history is fine */
	tx = w_tx_start(&D0);
	ck_assert_str_eq(w_read(&D0, tx, "/stable"), "s");
	for (n = 0; n < 100; n++) {
		char p[32];

		snprintf(p, sizeof(p), "/h/%d", n % 50);
		ck_assert_str_eq(w_write(&o, 0, p, big), "OK|");
	}
	ck_assert_str_eq(w_read(&D0, tx, "/h/3"), "0"); /* the snapshot */
	ck_assert_str_eq(w_tx_end(&D0, tx, 0), "OK|");
	tx = w_tx_start(&D0);
	ck_assert_str_eq(w_read(&D0, tx, "/stable"), "s");
	for (n = 0; n < 100; n++) {
		char p[32];

		snprintf(p, sizeof(p), "/h/%d", n % 50);
		ck_assert_str_eq(w_write(&o, 0, p, big), "OK|");
	}
	ck_assert_str_eq(w_write(&D0, tx, "/stable", "t"), "OK|");
	ck_assert_str_eq(w_tx_end(&D0, tx, 1), "OK|");
	/* A snapshot keeps at most one old version per node; 100 snapshots
	 * taken between rounds of writes keep 100: 19.5 MB of 3.9 KB values,
	 * more than the 16 MiB kept. The oldest snapshots go (their commits
	 * fail), the newest stay, nothing else notices. */
	{
		uint32_t txs[100];

		for (int k = 0; k < 100; k++) {
			txs[k] = w_tx_start(&D0);
			ck_assert_str_eq(w_read(&D0, txs[k], "/stable"), "t");
			for (n = 0; n < 50; n++) {
				char p[32];

				snprintf(p, sizeof(p), "/h/%d", n);
				big[0] = (char)('a' + k % 26);
				ck_assert_str_eq(w_write(&o, 0, p, big), "OK|");
			}
		}
		ck_assert_str_eq(w_tx_end(&D0, txs[99], 1), "OK|");
		ck_assert_str_eq(w_tx_end(&D0, txs[0], 1), "!EAGAIN");
		for (int k = 1; k < 99; k++)
			ck_assert_str_eq(w_tx_end(&D0, txs[k], 0), "OK|");
	}
	ck_assert_str_eq(w_read(&D0, 0, "/stable"), "t");
	w_close(&o);
}
END_TEST

/* ------------------------------ watches ------------------------------- */

START_TEST(watch_basics)
{
	struct cli o;

	w_open(&o, S, 0);
	ck_assert_str_eq(w_watch(&o, "/w", "t1"), "OK|");
	ck_assert_str_eq(w_event(&o), "/w|t1|"); /* fires once at once */
	ck_assert_ptr_null(w_event(&o));
	ck_assert_str_eq(w_watch(&o, "/w", "t1"), "!EEXIST");
	ck_assert_str_eq(w_watch(&o, "/w", "t2"), "OK|");
	ck_assert_str_eq(w_event(&o), "/w|t2|");
	ck_assert_str_eq(w_write(&D0, 0, "/w/a/b", "1"), "OK|");
	ck_assert_str_eq(w_event(&o), "/w/a/b|t1|");
	ck_assert_str_eq(w_event(&o), "/w/a/b|t2|");
	ck_assert_ptr_null(w_event(&o));
	ck_assert_str_eq(w_write(&D0, 0, "/other", "1"), "OK|");
	ck_assert_str_eq(w_write(&D0, 0, "/wx", "1"), "OK|"); /* not a child of /w */
	ck_assert_ptr_null(w_event(&o));
	ck_assert_str_eq(w_unwatch(&o, "/w", "t2"), "OK|");
	ck_assert_str_eq(w_unwatch(&o, "/w", "t2"), "!ENOENT");
	ck_assert_str_eq(w_req(&o, SDRV_XS_WATCH, 0, 1, "/w"), "!EINVAL");
	ck_assert_str_eq(w_req(&o, SDRV_XS_WATCH, 0, 3, "/w", "a", "b"), "!EINVAL");
	ck_assert_str_eq(w_watch(&o, "/w//x", "t"), "!EINVAL");
	/* rm: the removed node's path for the watches above it, each removed
	 * node's own path for the watches on it */
	ck_assert_str_eq(w_watch(&o, "/w/a/b", "deep"), "OK|");
	ck_assert_str_eq(w_event(&o), "/w/a/b|deep|");
	ck_assert_str_eq(w_rm(&D0, 0, "/w/a"), "OK|");
	ck_assert_str_eq(w_event(&o), "/w/a/b|deep|");
	ck_assert_str_eq(w_event(&o), "/w/a|t1|");
	ck_assert_ptr_null(w_event(&o));
	/* mkdir of something that exists changes nothing: no event */
	ck_assert_str_eq(w_mkdir(&D0, 0, "/w"), "OK|");
	ck_assert_ptr_null(w_event(&o));
	/* permission changes fire */
	ck_assert_str_eq(w_setperms(&D0, 0, "/w", "n0|r3"), "OK|");
	ck_assert_str_eq(w_event(&o), "/w|t1|");
	/* a watch on / sees everything */
	ck_assert_str_eq(w_watch(&o, "/", "root"), "OK|");
	ck_assert_str_eq(w_event(&o), "/|root|");
	ck_assert_str_eq(w_write(&D0, 0, "/z", "1"), "OK|");
	ck_assert_str_eq(w_event(&o), "/z|root|");
	/* RESET_WATCHES drops them all */
	ck_assert_str_eq(w_req(&o, SDRV_XS_RESET_WATCHES, 0, 1, ""), "OK|");
	ck_assert_str_eq(w_write(&D0, 0, "/w/c", "1"), "OK|");
	ck_assert_ptr_null(w_event(&o));
	w_close(&o);
}
END_TEST

START_TEST(watch_relative_paths)
{
	struct cli d5;

	home(&d5, 5);
	ck_assert_str_eq(w_watch(&d5, "data", "rt"), "OK|");
	ck_assert_str_eq(w_event(&d5), "data|rt|");
	ck_assert_str_eq(w_write(&d5, 0, "data/x", "1"), "OK|");
	ck_assert_str_eq(w_event(&d5), "data/x|rt|");
	ck_assert_str_eq(w_write(&D0, 0, "/local/domain/5/data/y", "1"), "OK|");
	ck_assert_str_eq(w_event(&d5), "data/y|rt|");
	ck_assert_str_eq(w_watch(&d5, "/local/domain/5/data", "abs"), "OK|");
	ck_assert_str_eq(w_event(&d5), "/local/domain/5/data|abs|");
	ck_assert_str_eq(w_unwatch(&d5, "data", "rt"), "OK|");
	w_close(&d5);
}
END_TEST

START_TEST(watch_events_respect_permissions)
{
	struct cli d5;

	home(&d5, 5);
	ck_assert_str_eq(w_watch(&d5, "/", "all"), "OK|");
	ck_assert_str_eq(w_event(&d5), "/|all|"); /* the first one always */
	ck_assert_str_eq(w_write(&D0, 0, "/tool/secret", "1"), "OK|");
	ck_assert_str_eq(w_mkdir(&D0, 0, "/pub"), "OK|");
	ck_assert_ptr_null(w_event(&d5));
	ck_assert_str_eq(w_write(&D0, 0, "/local/domain/5/x", "1"), "OK|");
	ck_assert_str_eq(w_event(&d5), "/local/domain/5/x|all|");
	/* made readable: told; a child it cannot read below a parent it can:
	 * told too (xenstored's rule) */
	ck_assert_str_eq(w_setperms(&D0, 0, "/pub", "n0|r5"), "OK|");
	ck_assert_str_eq(w_event(&d5), "/pub|all|");
	ck_assert_str_eq(w_write(&D0, 0, "/pub/hidden", "1"), "OK|");
	ck_assert_str_eq(w_event(&d5), "/pub/hidden|all|");
	ck_assert_str_eq(w_setperms(&D0, 0, "/pub/hidden", "n0"), "OK|");
	ck_assert_str_eq(w_event(&d5), "/pub/hidden|all|");
	ck_assert_str_eq(w_write(&D0, 0, "/pub/hidden", "2"), "OK|");
	ck_assert_str_eq(w_event(&d5), "/pub/hidden|all|");
	ck_assert_str_eq(w_write(&D0, 0, "/pub/hidden/deeper", "3"), "OK|");
	ck_assert_ptr_null(w_event(&d5));
	/* dom0 watchers see everything */
	{
		struct cli o;

		w_open(&o, S, 0);
		ck_assert_str_eq(w_watch(&o, "/tool", "t"), "OK|");
		(void)w_event(&o);
		ck_assert_str_eq(w_write(&D0, 0, "/tool/secret", "2"), "OK|");
		ck_assert_str_eq(w_event(&o), "/tool/secret|t|");
		w_close(&o);
	}
	w_close(&d5);
}
END_TEST

START_TEST(watch_events_lost_access_still_told)
{
	struct cli d5;

	home(&d5, 5);
	ck_assert_str_eq(w_write(&D0, 0, "/s/x", "1"), "OK|");
	ck_assert_str_eq(w_setperms(&D0, 0, "/s", "n0|r5"), "OK|");
	ck_assert_str_eq(w_setperms(&D0, 0, "/s/x", "n0|r5"), "OK|");
	ck_assert_str_eq(w_watch(&d5, "/s/x", "t"), "OK|");
	ck_assert_str_eq(w_event(&d5), "/s/x|t|");
	/* losing read access is announced (old permissions count) */
	ck_assert_str_eq(w_setperms(&D0, 0, "/s/x", "n0"), "OK|");
	ck_assert_str_eq(w_event(&d5), "/s/x|t|");
	/* but later changes are not */
	ck_assert_str_eq(w_setperms(&D0, 0, "/s", "n0"), "OK|");
	ck_assert_str_eq(w_write(&D0, 0, "/s/x", "2"), "OK|");
	ck_assert_ptr_null(w_event(&d5));
	/* deletion of what it could read is announced */
	ck_assert_str_eq(w_setperms(&D0, 0, "/s/x", "n0|r5"), "OK|");
	(void)w_event(&d5);
	ck_assert_str_eq(w_rm(&D0, 0, "/s"), "OK|");
	ck_assert_str_eq(w_event(&d5), "/s/x|t|");
	w_close(&d5);
}
END_TEST

START_TEST(watch_special_paths)
{
	struct cli o, d5;

	w_open(&o, S, 0);
	home(&d5, 5);
	ck_assert_str_eq(w_watch(&o, "@introduceDomain", "i"), "OK|");
	ck_assert_str_eq(w_event(&o), "@introduceDomain|i|");
	ck_assert_str_eq(w_watch(&o, "@releaseDomain", "r"), "OK|");
	ck_assert_str_eq(w_event(&o), "@releaseDomain|r|");
	ck_assert_str_eq(w_watch(&d5, "@introduceDomain", "i5"), "OK|");
	ck_assert_str_eq(w_event(&d5), "@introduceDomain|i5|");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_INTRODUCE, 0, 3, "7", "0", "1"), "OK|");
	ck_assert_str_eq(w_event(&o), "@introduceDomain|i|");
	ck_assert_ptr_null(w_event(&o));
	/* a domain needs read access to the special node */
	ck_assert_ptr_null(w_event(&d5));
	ck_assert_str_eq(w_setperms(&D0, 0, "@introduceDomain", "n0|r5"), "OK|");
	/* (changing the permissions is a change of the node, for both) */
	ck_assert_str_eq(w_event(&o), "@introduceDomain|i|");
	ck_assert_str_eq(w_event(&d5), "@introduceDomain|i5|");
	ck_assert_int_eq(sdrv_store_introduce(S, 9), 0);
	ck_assert_str_eq(w_event(&d5), "@introduceDomain|i5|");
	ck_assert_str_eq(w_event(&o), "@introduceDomain|i|");
	/* not for the special's path prefix, nor for ordinary writes */
	ck_assert_str_eq(w_write(&D0, 0, "/introduceDomain", "1"), "OK|");
	ck_assert_ptr_null(w_event(&o));
	ck_assert_str_eq(w_req(&D0, SDRV_XS_RELEASE, 0, 1, "7"), "OK|");
	ck_assert_str_eq(w_event(&o), "@releaseDomain|r|");
	ck_assert_ptr_null(w_event(&o));
	/* special events are never merged */
	ck_assert_int_eq(sdrv_store_introduce(S, 10), 0);
	ck_assert_int_eq(sdrv_store_introduce(S, 11), 0);
	ck_assert_uint_eq(w_nevents(&o), 2);
	w_close(&o);
	w_close(&d5);
}
END_TEST

START_TEST(watch_events_coalesce)
{
	struct cli o;
	const char *r;

	w_open(&o, S, 0);
	ck_assert_str_eq(w_watch(&o, "/co", "t"), "OK|");
	ck_assert_str_eq(w_event(&o), "/co|t|");
	/* three writes in one batch, before the watcher could read: once */
	for (int i = 0; i < 3; i++)
		w_send(&D0, SDRV_XS_WRITE, 0, "/co/x\0v", 7);
	for (int i = 0; i < 3; i++) {
		struct wmsg m;

		ck_assert_int_eq(w_recv(&D0, &m), 0);
		r = w_render(&m);
		ck_assert_str_eq(r, "OK|");
	}
	ck_assert_str_eq(w_event(&o), "/co/x|t|");
	ck_assert_ptr_null(w_event(&o));
	ck_assert_uint_ge(stats(S).events_coalesced, 2);
	w_close(&o);
}
END_TEST

/* Fill `c`'s socket and queue: dom0 writes `writes` nodes below `dir`,
 * which `c` watches with a 3000-byte token and does not read. Returns the
 * events `c` then gets and sets *dropped to the events the store dropped
 * meanwhile. */
static size_t unread_burst(struct cli *c, const char *dir, int writes, uint64_t *dropped)
{
	static char token[3000];
	uint64_t before = stats(S).events_dropped;

	memset(token, 'k', sizeof(token) - 1);
	ck_assert_str_eq(w_watch(c, dir, token), "OK|");
	for (int i = 0; i < writes; i++) {
		char p[64];

		snprintf(p, sizeof(p), "%s/k%d", dir, i);
		ck_assert_str_eq(w_write(&D0, 0, p, "v"), "OK|");
	}
	*dropped = stats(S).events_dropped - before;
	return w_nevents(c);
}

/* An unprivileged domain that does not read its events loses them beyond
 * watch-events; the privileged domain's are never dropped. */
START_TEST(watch_events_are_bounded)
{
	struct sdrv_store_opts opt = {.max_watch_events = 8};
	struct cli o, d5;
	uint64_t dropped;
	const int writes = 200;
	size_t got;

	teardown();
	S = mk(&opt);
	w_open(&D0, S, 0);
	home(&d5, 5);
	got = unread_burst(&d5, "/local/domain/5/bd", writes, &dropped);
	ck_assert_uint_gt(dropped, 0);
	ck_assert_uint_eq(got + dropped, (size_t)writes + 1);
	/* the connection still works */
	ck_assert_str_eq(w_read(&d5, 0, "/local/domain/5/bd/k0"), "v");

	w_open(&o, S, 0);
	got = unread_burst(&o, "/dom0", writes, &dropped);
	ck_assert_uint_eq(dropped, 0);
	ck_assert_uint_eq(got, (size_t)writes + 1);
	w_close(&o);
	w_close(&d5);
}
END_TEST

/* Waiting events count against the domain's memory quota, with its nodes
 * and watches, as in xenstored (XSA-326): the same burst that a domain
 * with the default quota gets whole loses events under a 32 KiB quota. */
START_TEST(watch_events_count_against_memory)
{
	struct sdrv_store_opts opt = {.quota_memory = 32768};
	struct cli d5;
	uint64_t dropped;
	const int writes = 300;
	size_t got;

	home(&d5, 5);
	got = unread_burst(&d5, "/local/domain/5/m", writes, &dropped);
	ck_assert_uint_eq(dropped, 0);
	ck_assert_uint_eq(got, (size_t)writes + 1);
	w_close(&d5);

	teardown();
	S = mk(&opt);
	w_open(&D0, S, 0);
	home(&d5, 5);
	got = unread_burst(&d5, "/local/domain/5/m", writes, &dropped);
	ck_assert_uint_gt(dropped, 0);
	ck_assert_uint_eq(got + dropped, (size_t)writes + 1);
	/* read: the quota has room again */
	w_events_clear(&d5);
	ck_assert_str_eq(w_write(&D0, 0, "/local/domain/5/m/again", "v"), "OK|");
	ck_assert_uint_eq(w_nevents(&d5), 1);
	w_close(&d5);
}
END_TEST

/* The privileged queue coalesces through its index at any length: n
 * distinct events wait, then one transaction rewrites every path; the
 * events not yet started on the socket absorb the new ones, nothing is
 * dropped, and the watcher gets each change it has not yet been told of. */
START_TEST(watch_events_coalesce_at_scale)
{
	struct cli o;
	const int n = (int)tu_scaled(2000, 1000); /* 2n - merged < W_MAX_EVENTS */
	uint64_t merged = 0;
	uint32_t t;

	w_open(&o, S, 0);
	ck_assert_str_eq(w_watch(&o, "/big", "t"), "OK|");
	ck_assert_str_eq(w_event(&o), "/big|t|");
	for (int round = 0; round < 2; round++) {
		if (round == 1)
			merged = stats(S).events_coalesced;
		t = w_tx_start(&D0);
		for (int i = 0; i < n; i++) {
			char p[32];

			snprintf(p, sizeof(p), "/big/k%d", i);
			ck_assert_str_eq(w_write(&D0, t, p, round ? "w" : "v"), "OK|");
		}
		ck_assert_str_eq(w_tx_end(&D0, t, 1), "OK|");
	}
	merged = stats(S).events_coalesced - merged;
	ck_assert_uint_ge(merged, (uint64_t)n / 2);
	ck_assert_uint_eq(stats(S).events_dropped, 0);
	ck_assert_uint_eq(w_nevents(&o), 2 * (size_t)n - merged);
	w_close(&o);
}
END_TEST

START_TEST(watch_quota)
{
	struct cli d5;
	char p[32];

	home(&d5, 5);
	for (int i = 0; i < 128; i++) {
		snprintf(p, sizeof(p), "w%d", i);
		ck_assert_str_eq(w_watch(&d5, p, "t"), "OK|");
	}
	ck_assert_str_eq(w_watch(&d5, "one-more", "t"), "!E2BIG");
	ck_assert_uint_eq(stats(S).watches, 128);
	w_events_clear(&d5);
	w_close(&d5);
	w_pump(S);
	ck_assert_uint_eq(stats(S).watches, 0);
}
END_TEST

/* ------------------------------ quotas -------------------------------- */

START_TEST(domain_quotas)
{
	struct sdrv_store_opts o = {.quota_memory = 16384};
	struct cli d5;
	char big[2100], p[SDRV_XS_REL_PATH_MAX + 8];
	int i;

	teardown();
	S = mk(&o);
	w_open(&D0, S, 0);
	home(&d5, 5);
	/* node size */
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_str_eq(w_write(&d5, 0, "big", big), "!ENOSPC");
	ck_assert_str_eq(w_write(&D0, 0, "/local/domain/5/big", big), "OK|");
	big[2000] = '\0';
	ck_assert_str_eq(w_write(&d5, 0, "big2", big), "OK|");
	/* path length below the domain's home (components short enough for
	 * the node-size quota of their parents) */
	memset(p, 'p', sizeof(p));
	p[1000] = '/';
	p[2001] = '/';
	p[SDRV_XS_REL_PATH_MAX + 1] = '\0';
	ck_assert_str_eq(w_write(&d5, 0, p, "x"), "!EINVAL");
	p[SDRV_XS_REL_PATH_MAX] = '\0';
	ck_assert_str_eq(w_write(&d5, 0, p, "x"), "OK|");
	/* one long name makes its parent too big */
	memset(p, 'l', 2047);
	p[2047] = '\0';
	ck_assert_str_eq(w_write(&d5, 0, p, "x"), "!ENOSPC");
	/* memory */
	for (i = 0; i < 100; i++) {
		char q[32];
		const char *r;

		snprintf(q, sizeof(q), "m%d", i);
		r = w_write(&d5, 0, q, big);
		if (!strcmp(r, "!ENOMEM"))
			break;
		ck_assert_str_eq(r, "OK|");
	}
	ck_assert_int_lt(i, 10);
	/* watches count towards memory too */
	ck_assert_str_eq(w_watch(&d5, "x", big), "!ENOMEM");
	/* dom0 is not limited */
	ck_assert_str_eq(w_write(&D0, 0, "/local/domain/5/dom0", big), "OK|");
	w_close(&d5);
}
END_TEST

/* ------------------------------ release ------------------------------- */

START_TEST(release_cleans_up)
{
	struct cli d8, w;
	uint64_t n0 = sdrv_store_nr_nodes(S);

	w_open(&w, S, 0);
	ck_assert_str_eq(w_watch(&w, "@releaseDomain", "r"), "OK|");
	(void)w_event(&w);
	ck_assert_int_eq(sdrv_store_introduce(S, 8), 0);
	home(&d8, 8);
	ck_assert_str_eq(w_write(&d8, 0, "a/b/c", "1"), "OK|");
	ck_assert_str_eq(w_write(&D0, 0, "/shared/x", "1"), "OK|");
	ck_assert_str_eq(w_setperms(&D0, 0, "/shared/x", "n0|r8|r9"), "OK|");
	ck_assert_str_eq(w_setperms(&D0, 0, "/shared", "n8"), "OK|");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_RELEASE, 0, 1, "8"), "OK|");
	/* its connections are closed */
	ck_assert_str_eq(w_read(&d8, 0, "a"), "!closed");
	/* its nodes are gone, with what was below them */
	ck_assert_str_eq(w_read(&D0, 0, "/local/domain/8"), "!ENOENT");
	ck_assert_str_eq(w_read(&D0, 0, "/shared"), "!ENOENT");
	ck_assert_str_eq(w_event(&w), "@releaseDomain|r|");
	ck_assert_uint_eq(sdrv_store_nr_nodes(S), n0 + 2); /* /local, /local/domain */
	w_close(&d8);
	w_close(&w);
}
END_TEST

START_TEST(release_strips_permissions)
{
	ck_assert_int_eq(sdrv_store_introduce(S, 8), 0);
	ck_assert_str_eq(w_write(&D0, 0, "/keep", "1"), "OK|");
	ck_assert_str_eq(w_setperms(&D0, 0, "/keep", "n0|r8|r9"), "OK|");
	ck_assert_str_eq(w_setperms(&D0, 0, "@releaseDomain", "n0|r8"), "OK|");
	ck_assert_int_eq(sdrv_store_release(S, 8), 0);
	ck_assert_str_eq(w_getperms(&D0, 0, "/keep"), "n0|r9|");
	ck_assert_str_eq(w_getperms(&D0, 0, "@releaseDomain"), "n0|");
}
END_TEST

/* ---------------------------- persistence ----------------------------- */

static char tmpdir[64];

static void tmp_setup(void)
{
	strcpy(tmpdir, "/tmp/sdrv-store-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void copy_file(const char *from, const char *to)
{
	char buf[1 << 16];
	FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
	size_t n;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	while ((n = fread(buf, 1, sizeof(buf), a)) > 0)
		ck_assert_uint_eq(fwrite(buf, 1, n, b), n);
	fclose(a);
	fclose(b);
}

START_TEST(state_file_survives_restart)
{
	char state[128], copy[128];
	struct sdrv_store_opts o = {0};
	struct sdrv_store *s2;
	struct cli c2;
	uint64_t nodes;

	tmp_setup();
	snprintf(state, sizeof(state), "%s/state", tmpdir);
	snprintf(copy, sizeof(copy), "%s/copy", tmpdir);
	teardown();
	o.state_file = state;
	S = mk(&o);
	w_open(&D0, S, 0);
	ck_assert_str_eq(w_write(&D0, 0, "/p/a", "one"), "OK|");
	ck_assert_str_eq(w_req_raw(&D0, SDRV_XS_WRITE, 0, "/p/bin\0a\0b", 10), "OK|");
	ck_assert_uint_gt(stats(S).state_writes, 0);
	ck_assert_str_eq(w_write(&D0, 0, "/p/z", "last"), "OK|");
	ck_assert_str_eq(w_setperms(&D0, 0, "/p/a", "n5|r6"), "OK|");
	ck_assert_str_eq(w_setperms(&D0, 0, "@introduceDomain", "n0|r5"), "OK|");
	ck_assert_str_eq(w_req(&D0, SDRV_XS_INTRODUCE, 0, 3, "9", "0", "1"), "OK|");
	/* once acknowledged, a write is on disk: load a copy of the file now */
	copy_file(state, copy);
	o.state_file = copy;
	s2 = mk(&o);
	w_open(&c2, s2, 0);
	ck_assert_str_eq(w_read(&c2, 0, "/p/a"), "one");
	ck_assert_str_eq(w_read(&c2, 0, "/p/bin"), "a|b");
	ck_assert_str_eq(w_dir(&c2, 0, "/p"), "a|bin|z|");
	ck_assert_str_eq(w_getperms(&c2, 0, "/p/a"), "n5|r6|");
	ck_assert_str_eq(w_getperms(&c2, 0, "@introduceDomain"), "n0|r5|");
	ck_assert_str_eq(w_req(&c2, SDRV_XS_IS_DOMAIN_INTRODUCED, 0, 1, "9"), "T|");
	ck_assert_uint_eq(sdrv_store_nr_nodes(s2), sdrv_store_nr_nodes(S));
	w_close(&c2);
	sdrv_store_free(s2);
	/* and after a clean restart */
	ck_assert_str_eq(w_rm(&D0, 0, "/p/z"), "OK|");
	nodes = sdrv_store_nr_nodes(S);
	w_close(&D0);
	sdrv_store_free(S);
	o.state_file = state;
	S = mk(&o);
	w_open(&D0, S, 0);
	ck_assert_uint_eq(sdrv_store_nr_nodes(S), nodes);
	ck_assert_str_eq(w_dir(&D0, 0, "/p"), "a|bin|");
	/* the accounting was rebuilt: domain 5 owns /p/a */
	{
		const char *r = w_req(&D0, SDRV_XS_CONTROL, 0, 2, "quota", "5");

		ck_assert_msg(strstr(r, "nodes            :        1"), "%s", r);
	}
	tmp_cleanup();
}
END_TEST

static void expect_corrupt(const char *state)
{
	struct sdrv_store_opts o = {.sz = sizeof(o), .state_file = state};

	errno = 0;
	ck_assert_ptr_null(sdrv_store_new(&o));
	ck_assert_int_eq(errno, EBADMSG);
}

/* ------- state files built by hand (doc/store.md, "The state file") ------- */

/* The file at `path`: `f` and its checksum. */
static void sf_write(struct sf *f, const char *path)
{
	FILE *out;

	sf_seal(f);
	out = fopen(path, "wb");
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(fwrite(f->b, 1, f->n, out), f->n);
	fclose(out);
}

enum sf_shape {
	SF_GOOD,
	SF_VERSION,
	SF_DOMID0,
	SF_DOMFLAGS,
	SF_NO_NODES,
	SF_MANY_NODES,
	SF_ROOT_LATE,
	SF_ORPHAN,
	SF_DUPLICATE,
	SF_BAD_PATH,
	SF_TRAILING_SLASH,
	SF_NUL_IN_PATH,
	SF_PERM_DOMID,
	SF_PERM_BITS,
	SF_NO_PERMS,
	SF_NO_SPECIALS,
	SF_AFTER_SPECIALS,
	SF_TRAILING,
	SF_SHAPES
};

/* A whole file of one shape: the good one, or the good one with one thing
 * wrong that only the structure shows (the checksum is right). */
static void sf_build(struct sf *f, enum sf_shape k)
{
	sf_head(f, k == SF_VERSION ? 2 : 1, 7, 1);
	sf_u32(f, k == SF_DOMID0 ? 0 : 5);
	sf_u32(f, k == SF_DOMFLAGS ? 2 : 1);
	sf_u32(f, 0xffffffffu);
	if (k == SF_NO_NODES) {
		sf_u32(f, 0);
		return;
	}
	/* "/", "/local", one more, "/local/y", the two special nodes */
	sf_u32(f, k == SF_MANY_NODES	   ? 0x10000000u
		  : k == SF_NO_SPECIALS	   ? 4u
		  : k == SF_AFTER_SPECIALS ? 7u
					   : 6u);
	if (k == SF_ROOT_LATE) {
		sf_node(f, "/local", "", 0, 0, 0);
		sf_node(f, "/", "", 0, 0, 0);
	} else {
		sf_node(f, "/", "", 0, 0, 0);
		sf_node(f, k == SF_ORPHAN ? "/nowhere/x" : "/local", "", 0, 0, 0);
	}
	if (k == SF_DUPLICATE)
		sf_node(f, "/local", "again", 0, 0, 0);
	else if (k == SF_BAD_PATH)
		sf_node(f, "/local//x", "", 0, 0, 0);
	else if (k == SF_TRAILING_SLASH)
		sf_node(f, "/local/x/", "", 0, 0, 0);
	else if (k == SF_NUL_IN_PATH) {
		sf_u32(f, 8);
		sf_u32(f, 0);
		sf_u32(f, 1);
		sf_put(f, "/local/\0", 8);
		sf_u32(f, 0);
		sf_u32(f, 0);
	} else if (k == SF_PERM_DOMID)
		sf_node(f, "/local/x", "v", 70000, 0, 0);
	else if (k == SF_PERM_BITS)
		sf_node(f, "/local/x", "v", 5, 4, 0);
	else if (k == SF_NO_PERMS) {
		sf_u32(f, 8);
		sf_u32(f, 0);
		sf_u32(f, 0);
		sf_put(f, "/local/x", 8);
	} else
		sf_node(f, "/local/x", "value of x", 5, 1, 0);
	sf_node(f, "/local/y", "", 5, 0, 0);
	if (k != SF_NO_SPECIALS) {
		sf_node(f, "@introduceDomain", "", 0, 0, 0);
		sf_node(f, "@releaseDomain", "", 0, 0, 0);
	}
	if (k == SF_AFTER_SPECIALS)
		sf_node(f, "/local/z", "", 0, 0, 0);
	if (k == SF_TRAILING)
		sf_u32(f, 0);
}

static char sf_why[256];

static void sf_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	(void)level;
	if (!sf_why[0]) /* the first says why; later ones what it means */
		snprintf(sf_why, sizeof(sf_why), "%s", msg);
}

START_TEST(state_file_structure_is_checked)
{
	/* each shape, and what the store must say it found: the rule broken */
	static const struct {
		const char *name, *why;
	} shapes[SF_SHAPES] = {
	    [SF_GOOD] = {"good", ""},
	    [SF_VERSION] = {"version 2", "unknown version"},
	    [SF_DOMID0] = {"domain 0", "bad domain record"},
	    [SF_DOMFLAGS] = {"domain flags 2", "bad domain record"},
	    [SF_NO_NODES] = {"no nodes", "bad node count"},
	    [SF_MANY_NODES] = {"2^28 nodes", "bad node count"},
	    [SF_ROOT_LATE] = {"root not first", "out of order"},
	    [SF_ORPHAN] = {"an orphan", "out of order"},
	    [SF_DUPLICATE] = {"a duplicate", "duplicate node"},
	    [SF_BAD_PATH] = {"a // path", "bad node path"},
	    [SF_TRAILING_SLASH] = {"a / at the end", "bad node path"},
	    [SF_NUL_IN_PATH] = {"a NUL in a path", "bad node path"},
	    [SF_PERM_DOMID] = {"perm domid 70000", "bad permissions"},
	    [SF_PERM_BITS] = {"perm bits 4", "bad permissions"},
	    [SF_NO_PERMS] = {"no perms", "bad node record"},
	    [SF_NO_SPECIALS] = {"no special nodes", "special nodes missing"},
	    [SF_AFTER_SPECIALS] = {"a node after them", "out of order"},
	    [SF_TRAILING] = {"trailing bytes", "trailing bytes"},
	};
	char state[128];
	static struct sf f;

	tmp_setup();
	snprintf(state, sizeof(state), "%s/state", tmpdir);
	teardown();
	for (int k = 0; k < SF_SHAPES; k++) {
		struct sdrv_store_opts o = {
		    .sz = sizeof(o), .state_file = state, .log = sf_log, .log_level = LOG_ERR};

		sf_why[0] = 0;
		sf_build(&f, (enum sf_shape)k);
		sf_write(&f, state);
		errno = 0;
		S = sdrv_store_new(&o);
		if (k == SF_GOOD) {
			/* the writer here is right: the good file loads whole */
			ck_assert_msg(S != NULL, "the good file: %s", strerror(errno));
			w_open(&D0, S, 0);
			ck_assert_str_eq(w_read(&D0, 0, "/local/x"), "value of x");
			ck_assert_str_eq(w_dir(&D0, 0, "/local"), "x|y|");
			w_close(&D0);
			sdrv_store_free(S);
			S = NULL;
			unlink(state);
			continue;
		}
		ck_assert_msg(S == NULL && errno == EBADMSG, "%s: loaded (errno %d)",
			      shapes[k].name, errno);
		ck_assert_msg(strstr(sf_why, shapes[k].why) != NULL, "%s: the store said \"%s\"",
			      shapes[k].name, sf_why);
	}
	unlink(state);
	tmp_cleanup();
}
END_TEST

START_TEST(state_file_corrupt_is_refused)
{
	char state[128], good[128];
	struct sdrv_store_opts o = {0};
	struct stat st;
	FILE *f;
	unsigned char *data;
	size_t len;

	tmp_setup();
	snprintf(state, sizeof(state), "%s/state", tmpdir);
	snprintf(good, sizeof(good), "%s/good", tmpdir);
	teardown();
	o.state_file = state;
	S = mk(&o);
	w_open(&D0, S, 0);
	ck_assert_str_eq(w_write(&D0, 0, "/x/y", "z"), "OK|");
	w_close(&D0);
	sdrv_store_free(S);
	S = NULL;
	copy_file(state, good);
	ck_assert_int_eq(stat(good, &st), 0);
	len = (size_t)st.st_size;
	data = malloc(len);
	f = fopen(good, "rb");
	ck_assert_uint_eq(fread(data, 1, len, f), len);
	fclose(f);

	/* garbage */
	f = fopen(state, "wb");
	fputs("this is not a state file at all, not even close........", f);
	fclose(f);
	expect_corrupt(state);
	/* every single flipped byte */
	for (size_t i = 0; i < len; i += (len / 97) + 1) {
		data[i] ^= 0x5a;
		f = fopen(state, "wb");
		fwrite(data, 1, len, f);
		fclose(f);
		expect_corrupt(state);
		data[i] ^= 0x5a;
	}
	/* truncated, and with a trailing byte */
	f = fopen(state, "wb");
	fwrite(data, 1, len - 9, f);
	fclose(f);
	expect_corrupt(state);
	f = fopen(state, "wb");
	fwrite(data, 1, len, f);
	fputc(0, f);
	fclose(f);
	expect_corrupt(state);
	/* empty */
	f = fopen(state, "wb");
	fclose(f);
	expect_corrupt(state);
	/* a directory */
	{
		char d[160];

		snprintf(d, sizeof(d), "%s/dir", tmpdir);
		ck_assert_int_eq(mkdir(d, 0700), 0);
		expect_corrupt(d);
	}
	/* the good one still loads */
	copy_file(good, state);
	S = mk(&o);
	w_open(&D0, S, 0);
	ck_assert_str_eq(w_read(&D0, 0, "/x/y"), "z");
	free(data);
	tmp_cleanup();
}
END_TEST

/* What the store logged (the log callback of a test's store). */
static char logged[8192];

static void log_capture(void *ctx, int level, const char *msg)
{
	size_t n = strlen(logged);

	(void)ctx;
	snprintf(logged + n, sizeof(logged) - n, "%d %s\n", level, msg);
}

/* The names in directory `dir`, sorted, '|'-separated ("" if empty). */
static const char *dir_files(const char *dir)
{
	static char out[1024];
	struct dirent **list;
	int n = scandir(dir, &list, NULL, alphasort);

	ck_assert_int_ge(n, 0);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(list[i]->d_name, ".") && strcmp(list[i]->d_name, "..")) {
			strncat(out, list[i]->d_name, sizeof(out) - strlen(out) - 2);
			strcat(out, "|");
		}
		free(list[i]);
	}
	free(list);
	return out;
}

static bool same_bytes(const char *a, const char *b)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "cmp -s %s %s", a, b);
	return system(cmd) == 0;
}

/* A write of the state file that fails (its temporary name is taken by a
 * directory: open() fails, for root too) leaves the previous file as it
 * was and loadable, is counted and logged, and the store goes on serving;
 * once the obstacle is gone, the next batch writes the file again. */
START_TEST(state_file_write_failure_keeps_the_old_one)
{
	char state[128], tmp[140], good[128];
	struct sdrv_store_opts o = {0};
	struct sdrv_store_stats st0, st;
	struct sdrv_store *s2;
	struct cli c2;

	tmp_setup();
	snprintf(state, sizeof(state), "%s/state", tmpdir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", state);
	snprintf(good, sizeof(good), "%s/good", tmpdir);
	teardown();
	logged[0] = '\0';
	o.state_file = state;
	o.log = log_capture;
	S = mk(&o);
	w_open(&D0, S, 0);
	ck_assert_str_eq(w_write(&D0, 0, "/p/a", "one"), "OK|");
	st0 = stats(S);
	ck_assert_uint_gt(st0.state_writes, 0);
	ck_assert_uint_eq(st0.state_errors, 0);
	ck_assert_str_eq(dir_files(tmpdir), "state|");
	copy_file(state, good);

	ck_assert_int_eq(mkdir(tmp, 0700), 0);
	ck_assert_str_eq(w_write(&D0, 0, "/p/b", "two"), "OK|");
	st = stats(S);
	ck_assert_uint_eq(st.state_errors, st0.state_errors + 1);
	ck_assert_uint_eq(st.state_writes, st0.state_writes);
	{
		char want[256];

		snprintf(want, sizeof(want), "%d cannot write the state file %s: %s\n", LOG_ERR,
			 state, strerror(EISDIR));
		ck_assert_msg(strstr(logged, want), "not logged at LOG_ERR: [%s]", logged);
	}
	/* the previous file is untouched, and loads */
	ck_assert_msg(same_bytes(state, good), "the state file changed in a failed write");
	copy_file(state, good);
	o.state_file = good;
	o.log = NULL;
	s2 = mk(&o);
	w_open(&c2, s2, 0);
	ck_assert_str_eq(w_read(&c2, 0, "/p/a"), "one");
	ck_assert_str_eq(w_read(&c2, 0, "/p/b"), "!ENOENT");
	w_close(&c2);
	sdrv_store_free(s2);

	/* the store keeps serving, every failed batch counted */
	ck_assert_str_eq(w_read(&D0, 0, "/p/b"), "two");
	ck_assert_str_eq(w_write(&D0, 0, "/p/c", "three"), "OK|");
	ck_assert_uint_eq(stats(S).state_errors, st0.state_errors + 2);
	/* a batch that changes nothing writes nothing, and fails nothing */
	ck_assert_str_eq(w_read(&D0, 0, "/p/c"), "three");
	ck_assert_uint_eq(stats(S).state_errors, st0.state_errors + 2);

	/* the obstacle gone: the next batch writes everything */
	ck_assert_int_eq(rmdir(tmp), 0);
	ck_assert_str_eq(w_write(&D0, 0, "/p/d", "four"), "OK|");
	st = stats(S);
	ck_assert_uint_eq(st.state_writes, st0.state_writes + 1);
	ck_assert_uint_eq(st.state_errors, st0.state_errors + 2);
	ck_assert_str_eq(dir_files(tmpdir), "good|state|");
	copy_file(state, good);
	s2 = mk(&o);
	w_open(&c2, s2, 0);
	ck_assert_str_eq(w_dir(&c2, 0, "/p"), "a|b|c|d|");
	ck_assert_str_eq(w_read(&c2, 0, "/p/c"), "three");
	w_close(&c2);
	sdrv_store_free(s2);
	tmp_cleanup();
}
END_TEST

/* The state file is written through `<file>.tmp`: after writes, a
 * transaction, a removal, a failed request and the final write at
 * sdrv_store_free() nothing but the file itself is left. */
START_TEST(state_file_leaves_no_temporary)
{
	char state[128];
	struct sdrv_store_opts o = {0};
	uint32_t tx;

	tmp_setup();
	snprintf(state, sizeof(state), "%s/state", tmpdir);
	teardown();
	o.state_file = state;
	S = mk(&o);
	w_open(&D0, S, 0);
	ck_assert_str_eq(dir_files(tmpdir), ""); /* nothing changed yet */
	for (int i = 0; i < 20; i++) {
		char p[32];

		snprintf(p, sizeof(p), "/t/k%d", i);
		ck_assert_str_eq(w_write(&D0, 0, p, "v"), "OK|");
		ck_assert_str_eq(dir_files(tmpdir), "state|");
	}
	tx = w_tx_start(&D0);
	ck_assert_str_eq(w_write(&D0, tx, "/t/tx", "1"), "OK|");
	ck_assert_str_eq(w_tx_end(&D0, tx, 1), "OK|");
	ck_assert_str_eq(w_rm(&D0, 0, "/t/k3"), "OK|");
	ck_assert_str_eq(w_write(&D0, 0, "/tool/../bad", "x"), "!EINVAL");
	ck_assert_str_eq(dir_files(tmpdir), "state|");
	ck_assert_uint_eq(stats(S).state_errors, 0);
	ck_assert_uint_ge(stats(S).state_writes, 22);
	w_close(&D0);
	sdrv_store_free(S);
	ck_assert_str_eq(dir_files(tmpdir), "state|");
	S = mk(&o);
	w_open(&D0, S, 0);
	ck_assert_str_eq(w_read(&D0, 0, "/t/tx"), "1");
	ck_assert_str_eq(w_read(&D0, 0, "/t/k3"), "!ENOENT");
	ck_assert_str_eq(w_read(&D0, 0, "/t/k19"), "v");
	tmp_cleanup();
}
END_TEST

/* -------------------------- the socket, identity ---------------------- */

static int resolver_calls;

static int resolve(void *ctx, pid_t pid, uid_t uid, gid_t gid, uint32_t *domid)
{
	(void)ctx;
	(void)uid;
	(void)gid;
	resolver_calls++;
	if (pid == getpid() && resolver_calls == 1) {
		*domid = 9;
		return 0;
	}
	return -ENOENT;
}

START_TEST(socket_identity)
{
	char path[128];
	struct sdrv_store_opts o = {0};
	uid_t nobody_priv = 54321;
	struct sdrv_store_uid_domain map = {.uid = geteuid(), .domid = 5};
	struct cli c;
	int fd;

	tmp_setup();
	snprintf(path, sizeof(path), "%s/sock", tmpdir);
	teardown();
	/* default: root and the store's own uid are domain 0 */
	o.path = path;
	S = mk(&o);
	w_open(&D0, S, 0);
	fd = w_connect_path(path, 1000);
	ck_assert_int_ge(fd, 0);
	w_attach(&c, fd, S);
	ck_assert_str_eq(w_write(&c, 0, "/via/socket", "1"), "OK|");
	ck_assert_str_eq(w_req(&c, SDRV_XS_IS_DOMAIN_INTRODUCED, 0, 1, "0"), "T|");
	/* a second store on the same live path is refused */
	{
		struct sdrv_store_opts o2 = {.sz = sizeof(o2), .path = path};

		errno = 0;
		ck_assert_ptr_null(sdrv_store_new(&o2));
		ck_assert_int_eq(errno, EADDRINUSE);
	}
	w_close(&c);
	w_close(&D0);
	sdrv_store_free(S);
	ck_assert_int_ne(access(path, F_OK), 0); /* removed */

	/* our uid mapped to domain 5, and not privileged */
	o.privileged_uids = &nobody_priv;
	o.nr_privileged_uids = 1;
	o.uid_domains = &map;
	o.nr_uid_domains = 1;
	S = mk(&o);
	w_open(&D0, S, 0);
	ck_assert_str_eq(w_mkdir(&D0, 0, "/local/domain/5"), "OK|");
	ck_assert_str_eq(w_setperms(&D0, 0, "/local/domain/5", "n5"), "OK|");
	fd = w_connect_path(path, 1000);
	ck_assert_int_ge(fd, 0);
	w_attach(&c, fd, S);
	ck_assert_str_eq(w_write(&c, 0, "rel", "1"), "OK|");
	ck_assert_str_eq(w_read(&D0, 0, "/local/domain/5/rel"), "1");
	ck_assert_str_eq(w_req(&c, SDRV_XS_CONTROL, 0, 1, "help"), "!EACCES");
	w_close(&c);
	w_close(&D0);
	sdrv_store_free(S);

	/* the resolver is asked first; falling through reaches the map */
	o.peer_domain = resolve;
	resolver_calls = 0;
	S = mk(&o);
	w_open(&D0, S, 0);
	ck_assert_str_eq(w_mkdir(&D0, 0, "/local/domain/9"), "OK|");
	ck_assert_str_eq(w_setperms(&D0, 0, "/local/domain/9", "n9"), "OK|");
	fd = w_connect_path(path, 1000);
	w_attach(&c, fd, S);
	ck_assert_str_eq(w_write(&c, 0, "r", "9"), "OK|");
	ck_assert_str_eq(w_read(&D0, 0, "/local/domain/9/r"), "9");
	w_close(&c);
	fd = w_connect_path(path, 1000);
	w_attach(&c, fd, S);
	ck_assert_str_eq(w_req(&c, SDRV_XS_GET_DOMAIN_PATH, 0, 1, "1"), "/local/domain/1|");
	ck_assert_str_eq(w_write(&c, 0, "r", "5"), "!EACCES"); /* domain 5: no home */
	ck_assert_int_eq(resolver_calls, 2);
	w_close(&c);
	w_close(&D0);
	sdrv_store_free(S);

	/* nobody known: refused */
	o.peer_domain = NULL;
	o.nr_uid_domains = 0;
	o.uid_domains = NULL;
	S = mk(&o);
	w_open(&D0, S, 0);
	fd = w_connect_path(path, 1000);
	w_attach(&c, fd, S);
	ck_assert_str_eq(w_read(&c, 0, "/"), "!closed");
	ck_assert_uint_eq(stats(S).conns_refused, 1);
	w_close(&c);
	tmp_cleanup();
}
END_TEST

START_TEST(api_arguments)
{
	struct sdrv_store_opts o = {.sz = 4};
	struct sdrv_store_uid_domain bad = {.uid = 1, .domid = 0};
	int sv[2];

	errno = 0;
	ck_assert_ptr_null(sdrv_store_new(NULL));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(sdrv_store_new(&o));
	o = (struct sdrv_store_opts){.sz = sizeof(o), .uid_domains = &bad, .nr_uid_domains = 1};
	ck_assert_ptr_null(sdrv_store_new(&o));
	o = (struct sdrv_store_opts){.sz = sizeof(o), .quota_path_max = 5000};
	ck_assert_ptr_null(sdrv_store_new(&o));
	ck_assert_int_eq(sdrv_store_adopt(S, -1, 0), -EINVAL);
	ck_assert_int_eq(sdrv_store_adopt(S, 0x7FF0, 1), -EINVAL);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	ck_assert_int_eq(sdrv_store_adopt(S, sv[0], 1), -EINVAL); /* not a stream */
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(sdrv_store_adopt(S, 1, 0x7FF0), -EINVAL);
	ck_assert_int_lt(sdrv_store_connect(S, 0x8000), 0);
	ck_assert_int_ge(sdrv_store_fd(S), 0);
	ck_assert_int_eq(sdrv_store_fd(NULL), -1);
	ck_assert_int_eq(sdrv_store_run(NULL, 0), -EINVAL);
	{
		struct sdrv_store_stats st = {.sz = offsetof(struct sdrv_store_stats, watches)};

		ck_assert_int_eq(sdrv_store_get_stats(S, &st), 0);
		ck_assert_uint_eq(st.nodes, 3);
		ck_assert_uint_eq(st.sz, offsetof(struct sdrv_store_stats, watches));
	}
	sdrv_store_set_log_level(S, LOG_DEBUG);
	sdrv_store_free(NULL);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc;

	tc = tcase_create("basics");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, initial_tree_is_xenstoreds);
	tcase_add_test(tc, read_write);
	tcase_add_test(tc, mkdir_keeps_existing);
	tcase_add_test(tc, rm_is_recursive);
	tcase_add_test(tc, invalid_paths);
	tcase_add_test(tc, directory_part_lists_big_directories);
	tcase_add_test(tc, perms_get_set);
	tcase_add_test(tc, perms_for_a_domain);
	tcase_add_test(tc, domain_management);
	tcase_add_test(tc, set_target_grants_the_targets_rights);
	tcase_add_test(tc, control_commands);
	tcase_add_test(tc, api_arguments);
	suite_add_tcase(s, tc);

	tc = tcase_create("transactions");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, tx_sees_own_writes_and_commits);
	tcase_add_test(tc, tx_abort_discards);
	tcase_add_test(tc, tx_snapshot_isolation);
	tcase_add_test(tc, tx_conflicts_are_per_node);
	tcase_add_test(tc, tx_errors);
	tcase_add_test(tc, tx_quotas_count_what_commits);
	tcase_add_test(tc, tx_watches_fire_on_commit_only);
	tcase_add_test(tc, tx_history_is_bounded);
	suite_add_tcase(s, tc);

	tc = tcase_create("watches");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, watch_basics);
	tcase_add_test(tc, watch_relative_paths);
	tcase_add_test(tc, watch_events_respect_permissions);
	tcase_add_test(tc, watch_events_lost_access_still_told);
	tcase_add_test(tc, watch_special_paths);
	tcase_add_test(tc, watch_events_coalesce);
	tcase_add_test(tc, watch_events_are_bounded);
	tcase_add_test(tc, watch_events_count_against_memory);
	tcase_add_test(tc, watch_events_coalesce_at_scale);
	tcase_add_test(tc, watch_quota);
	suite_add_tcase(s, tc);

	tc = tcase_create("quotas-release");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, domain_quotas);
	tcase_add_test(tc, release_cleans_up);
	tcase_add_test(tc, release_strips_permissions);
	suite_add_tcase(s, tc);

	tc = tcase_create("persistence-identity");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, state_file_survives_restart);
	tcase_add_test(tc, state_file_corrupt_is_refused);
	tcase_add_test(tc, state_file_structure_is_checked);
	tcase_add_test(tc, state_file_write_failure_keeps_the_old_one);
	tcase_add_test(tc, state_file_leaves_no_temporary);
	tcase_add_test(tc, socket_identity);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	tu_watchdog(300, "check-store");
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? TU_FAIL : TU_PASS;
}
