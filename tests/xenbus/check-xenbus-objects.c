/* SPDX-License-Identifier: MIT */
/*
 * The frontend and backend objects in one process, each on its own store
 * connection to the real store (in a thread): reconfiguration started by
 * either side, hostile device directories refused at start, a driver that
 * fails, a peer that writes garbage into its state, a peer that never
 * answers a close (forced after the timeout), and a device directory that
 * the toolstack removes under a running object.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <splitdrv/xenbus.h>
#include <splitdrv/xs.h>

#include "../common/tutil.h"
#include "store-fixture.h"

#define FE   4
#define BE   0
#define TYPE "vobj"

static struct store_fixture sf;
static struct sdrv_xs *tool, *fxs, *bxs;

struct drv {
	int publishes, connects, disconnects, live;
	int reconf[2];
	int fail_publish, fail_connect;
	sdrv_grant_ref_t ref;
	sdrv_grant_ref_t seen_ref;
};

static struct drv fd_, bd_;

static void setup(void)
{
	ck_assert_int_eq(sf_start(&sf, NULL, 0), 0);
	tool = sf_client(&sf);
	fxs = sf_client(&sf);
	bxs = sf_client(&sf);
	ck_assert(tool && fxs && bxs);
	memset(&fd_, 0, sizeof(fd_));
	memset(&bd_, 0, sizeof(bd_));
	fd_.ref = 77;
}

static void teardown(void)
{
	sdrv_xs_close(tool);
	sdrv_xs_close(fxs);
	sdrv_xs_close(bxs);
	sf_stop(&sf);
}

/* Drive both connections until `cond` holds. */
#define PUMP_UNTIL(cond)                                                                           \
	do {                                                                                       \
		uint64_t t0_ = tu_now_ns();                                                        \
		while (!(cond)) {                                                                  \
			struct pollfd p_[2] = {{sdrv_xs_fd(fxs), POLLIN, 0},                       \
					       {sdrv_xs_fd(bxs), POLLIN, 0}};                      \
			ck_assert_msg(tu_now_ns() - t0_ <                                          \
					  60000000000ull * (tu_under_valgrind() ? 10 : 1),         \
				      "timeout waiting for " #cond);                               \
			poll(p_, 2, 100);                                                          \
			sdrv_xs_process(fxs);                                                      \
			sdrv_xs_process(bxs);                                                      \
		}                                                                                  \
	} while (0)

static int f_publish(struct sdrv_xenbus_front *fe, uint32_t tx, void *ctx)
{
	struct drv *d = ctx;

	if (d->fail_publish)
		return -ENOMEM;
	d->publishes++;
	return sdrv_xenbus_write_ring_refs(sdrv_xenbus_front_xs(fe), tx, sdrv_xenbus_front_dir(fe),
					   "ring-ref", &d->ref, 0);
}

static int f_connect(struct sdrv_xenbus_front *fe, void *ctx)
{
	struct drv *d = ctx;

	(void)fe;
	if (d->fail_connect)
		return -EIO;
	d->connects++;
	d->live = 1;
	return 0;
}

static void f_disconnect(struct sdrv_xenbus_front *fe, void *ctx)
{
	struct drv *d = ctx;

	(void)fe;
	d->disconnects++;
	d->live = 0;
}

static int f_reconf(struct sdrv_xenbus_front *fe, enum sdrv_xenbus_reconf ph, void *ctx)
{
	struct drv *d = ctx;

	(void)fe;
	d->reconf[ph]++;
	return 0;
}

static int b_connect(struct sdrv_xenbus_back *be, void *ctx)
{
	struct drv *d = ctx;
	int rc = sdrv_xenbus_read_ring_refs(
	    sdrv_xenbus_back_xs(be), 0, sdrv_xenbus_back_peer_dir(be), "ring-ref", 0, &d->seen_ref);

	if (rc < 0)
		return rc;
	if (d->fail_connect)
		return -EIO;
	d->connects++;
	d->live = 1;
	return 0;
}

static void b_disconnect(struct sdrv_xenbus_back *be, void *ctx)
{
	struct drv *d = ctx;

	(void)be;
	d->disconnects++;
	d->live = 0;
}

static int b_reconf(struct sdrv_xenbus_back *be, enum sdrv_xenbus_reconf ph, void *ctx)
{
	struct drv *d = ctx;

	(void)be;
	d->reconf[ph]++;
	return 0;
}

static struct sdrv_xenbus_front *new_front(uint32_t id)
{
	struct sdrv_xenbus_front_opts o = {.sz = sizeof(o)};

	o.xs = fxs;
	o.domid = FE;
	o.type = TYPE;
	o.id = id;
	o.publish = f_publish;
	o.connect = f_connect;
	o.disconnect = f_disconnect;
	o.reconfigure = f_reconf;
	o.ctx = &fd_;
	return sdrv_xenbus_front_new(&o);
}

static struct sdrv_xenbus_back *new_back(uint32_t id)
{
	struct sdrv_xenbus_back_opts o = {.sz = sizeof(o)};

	o.xs = bxs;
	o.domid = BE;
	o.type = TYPE;
	o.fe = FE;
	o.id = id;
	o.connect = b_connect;
	o.disconnect = b_disconnect;
	o.reconfigure = b_reconf;
	o.ctx = &bd_;
	return sdrv_xenbus_back_new(&o);
}

static struct sdrv_xenbus_dev dev_of(uint32_t id)
{
	struct sdrv_xenbus_dev d = {.sz = sizeof(d), .type = TYPE, .fe = FE, .be = BE, .id = id};
	return d;
}

#define BOTH_CONNECTED(f, b)                                                                       \
	(sdrv_xenbus_front_state(f) == SDRV_XENBUS_CONNECTED &&                                    \
	 sdrv_xenbus_back_state(b) == SDRV_XENBUS_CONNECTED && fd_.live && bd_.live)

START_TEST(test_reconfigure)
{
	struct sdrv_xenbus_dev d = dev_of(1);
	struct sdrv_xenbus_front *f;
	struct sdrv_xenbus_back *b;

	ck_assert_int_eq(sdrv_xenbus_dev_create(tool, &d), 0);
	f = new_front(1);
	b = new_back(1);
	ck_assert(f && b);
	ck_assert_int_eq(sdrv_xenbus_front_reconfigure(f), -EBUSY); /* not yet connected */
	PUMP_UNTIL(BOTH_CONNECTED(f, b));
	ck_assert_uint_eq(bd_.seen_ref, 77);
	ck_assert_str_eq(sdrv_xenbus_front_peer_dir(f), "/local/domain/0/backend/vobj/4/1");
	ck_assert_str_eq(sdrv_xenbus_back_peer_dir(b), "/local/domain/4/device/vobj/1");
	ck_assert_int_eq(sdrv_xenbus_front_peer_domid(f), BE);
	ck_assert_int_eq(sdrv_xenbus_back_peer_domid(b), FE);

	/* pciback style: the backend asks */
	ck_assert_int_eq(sdrv_xenbus_back_reconfigure(b), 0);
	PUMP_UNTIL(bd_.reconf[SDRV_XENBUS_RECONF_END] == 1 && BOTH_CONNECTED(f, b));
	ck_assert_int_eq(fd_.reconf[SDRV_XENBUS_RECONF_BEGIN], 1);
	ck_assert_int_eq(fd_.reconf[SDRV_XENBUS_RECONF_END], 1);
	ck_assert_int_eq(bd_.reconf[SDRV_XENBUS_RECONF_BEGIN], 1);

	/* netfront style: the frontend asks */
	ck_assert_int_eq(sdrv_xenbus_front_reconfigure(f), 0);
	ck_assert_int_eq(sdrv_xenbus_front_state(f), SDRV_XENBUS_RECONFIGURING);
	PUMP_UNTIL(bd_.reconf[SDRV_XENBUS_RECONF_END] == 2 && BOTH_CONNECTED(f, b));
	ck_assert_int_eq(fd_.reconf[SDRV_XENBUS_RECONF_BEGIN], 1); /* it asked itself */
	ck_assert_int_eq(fd_.reconf[SDRV_XENBUS_RECONF_END], 2);
	ck_assert_int_eq(bd_.reconf[SDRV_XENBUS_RECONF_BEGIN], 2);
	ck_assert_int_eq(fd_.connects, 1); /* no reconnect */
	ck_assert_int_eq(bd_.connects, 1);

	/* both ends in this process: close without blocking the other */
	sdrv_xenbus_front_shutdown(f);
	PUMP_UNTIL(sdrv_xenbus_front_state(f) == SDRV_XENBUS_CLOSED &&
		   sdrv_xenbus_back_state(b) == SDRV_XENBUS_CLOSED);
	ck_assert(!fd_.live && !bd_.live);
	ck_assert_int_eq(sdrv_xenbus_front_close(f, 0), 0); /* closed already */
	{
		/* it stays closed */
		char *v;
		ck_assert_int_eq(sdrv_xs_read(fxs, 0, "/", &v, NULL), 0);
		free(v);
		sdrv_xs_process(fxs);
		sdrv_xs_process(bxs);
		ck_assert_int_eq(sdrv_xenbus_front_state(f), SDRV_XENBUS_CLOSED);
	}
	sdrv_xenbus_front_free(f);
	sdrv_xenbus_back_free(b);
}
END_TEST

/* Directories a hostile frontend or toolstack may have scribbled on. */
START_TEST(test_hostile_dirs)
{
	static const char *const bad_backend[] = {
	    "/local/domain/0/backend/vobj/4/2/../../../../../../tool",
	    "/local/domain/0/backend/vobj/5/2",
	    "/local/domain/9/backend/vobj/4/2",
	    "/tool/xenstored",
	    "",
	};
	struct sdrv_xenbus_dev d = dev_of(2);
	const char *fdir = "/local/domain/4/device/vobj/2";
	const char *bdir = "/local/domain/0/backend/vobj/4/2";
	char big[300];

	/* no device at all */
	errno = 0;
	ck_assert_ptr_null(new_front(2));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_null(new_back(2));
	ck_assert_int_eq(errno, ENOENT);

	ck_assert_int_eq(sdrv_xenbus_dev_create(tool, &d), 0);
	for (size_t i = 0; i < sizeof(bad_backend) / sizeof(bad_backend[0]); i++) {
		ck_assert_int_eq(sdrv_xenbus_write_str(tool, 0, fdir, "backend", bad_backend[i]),
				 0);
		errno = 0;
		ck_assert_ptr_null(new_front(2));
		ck_assert_int_eq(errno, EINVAL);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	ck_assert_int_eq(sdrv_xenbus_write_str(tool, 0, fdir, "backend", big), 0);
	ck_assert_ptr_null(new_front(2));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(sdrv_xenbus_write_str(tool, 0, fdir, "backend", bdir), 0);
	ck_assert_int_eq(sdrv_xenbus_write_str(tool, 0, fdir, "backend-id", "0x0"), 0);
	ck_assert_ptr_null(new_front(2));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(sdrv_xenbus_write_str(tool, 0, fdir, "backend-id", "70000"), 0);
	ck_assert_ptr_null(new_front(2));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(sdrv_xenbus_write_str(tool, 0, fdir, "backend-id", "1"), 0);
	ck_assert_ptr_null(new_front(2)); /* the path names domain 0 */
	ck_assert_int_eq(errno, EINVAL);

	ck_assert_int_eq(sdrv_xenbus_write_str(tool, 0, bdir, "frontend-id", "5"), 0);
	ck_assert_ptr_null(new_back(2));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(sdrv_xenbus_write_str(tool, 0, bdir, "frontend-id", "4"), 0);
	ck_assert_int_eq(sdrv_xenbus_write_str(tool, 0, bdir, "frontend",
					       "/local/domain/4/device/vobj/2/../../x"),
			 0);
	ck_assert_ptr_null(new_back(2));
	ck_assert_int_eq(errno, EINVAL);

	/* bad options */
	{
		struct sdrv_xenbus_front_opts o = {.sz = sizeof(o),
						   .xs = fxs,
						   .domid = FE,
						   .type = "../x",
						   .id = 2,
						   .publish = f_publish,
						   .connect = f_connect,
						   .disconnect = f_disconnect};
		ck_assert_ptr_null(sdrv_xenbus_front_new(&o));
		ck_assert_int_eq(errno, EINVAL);
		o.type = TYPE;
		o.publish = NULL;
		ck_assert_ptr_null(sdrv_xenbus_front_new(&o));
		ck_assert_int_eq(errno, EINVAL);
	}
	ck_assert_ptr_null(sdrv_xs_broken(fxs));
	ck_assert_ptr_null(sdrv_xs_broken(bxs));
}
END_TEST

/* A backend whose driver cannot map what the frontend published closes the
 * device and stays closed; garbage in the peer's state reads as Unknown. */
START_TEST(test_failures)
{
	struct sdrv_xenbus_dev d = dev_of(3);
	const char *fdir = "/local/domain/4/device/vobj/3";
	struct sdrv_xenbus_front *f;
	struct sdrv_xenbus_back *b;

	ck_assert_int_eq(sdrv_xenbus_dev_create(tool, &d), 0);
	b = new_back(3);
	ck_assert_ptr_nonnull(b);
	PUMP_UNTIL(sdrv_xenbus_back_state(b) == SDRV_XENBUS_INITWAIT);

	/* a "frontend" publishing garbage */
	ck_assert_int_eq(sdrv_xenbus_write_str(tool, 0, fdir, "ring-ref", "12; rm -rf /"), 0);
	ck_assert_int_eq(sdrv_xenbus_write_str(tool, 0, fdir, "state", "3"), 0);
	PUMP_UNTIL(sdrv_xenbus_back_state(b) == SDRV_XENBUS_CLOSING);
	ck_assert_int_eq(bd_.connects, 0);
	ck_assert_int_eq(bd_.live, 0);
	/* it closes when the frontend does, and does not come back */
	ck_assert_int_eq(sdrv_xenbus_write_str(tool, 0, fdir, "state", "6"), 0);
	PUMP_UNTIL(sdrv_xenbus_back_state(b) == SDRV_XENBUS_CLOSED);
	ck_assert_int_eq(sdrv_xenbus_write_str(tool, 0, fdir, "state", "1"), 0);
	ck_assert_int_eq(sdrv_xenbus_write_str(tool, 0, fdir, "state", "garbage"), 0);
	{
		char *v;
		ck_assert_int_eq(sdrv_xs_read(bxs, 0, fdir, &v, NULL), 0); /* round trip */
		free(v);
	}
	PUMP_UNTIL(sdrv_xenbus_back_peer_state(b) == SDRV_XENBUS_UNKNOWN);
	ck_assert_int_eq(sdrv_xenbus_back_state(b), SDRV_XENBUS_CLOSED);
	sdrv_xenbus_back_free(b);

	/* a frontend whose driver fails to publish closes */
	ck_assert_int_eq(sdrv_xenbus_dev_remove(tool, &d), 0);
	ck_assert_int_eq(sdrv_xenbus_dev_create(tool, &d), 0);
	memset(&bd_, 0, sizeof(bd_));
	fd_.fail_publish = 1;
	f = new_front(3);
	b = new_back(3);
	ck_assert(f && b);
	PUMP_UNTIL(sdrv_xenbus_front_state(f) == SDRV_XENBUS_CLOSED &&
		   sdrv_xenbus_back_state(b) == SDRV_XENBUS_CLOSED);
	ck_assert_int_eq(fd_.publishes, 0);
	ck_assert_int_eq(bd_.connects, 0);
	sdrv_xenbus_front_free(f);
	sdrv_xenbus_back_free(b);
}
END_TEST

/* A close does not depend on the peer: after the timeout it is forced. */
START_TEST(test_close_timeout)
{
	struct sdrv_xenbus_dev d = dev_of(4);
	struct sdrv_xenbus_front *f;
	struct sdrv_xenbus_back *b;
	struct sdrv_xenbus_stats st;

	ck_assert_int_eq(sdrv_xenbus_dev_create(tool, &d), 0);
	f = new_front(4);
	b = new_back(4);
	ck_assert(f && b);
	PUMP_UNTIL(BOTH_CONNECTED(f, b));
	/* the backend stops answering (its connection is not processed) */
	ck_assert_int_eq(sdrv_xenbus_front_close(f, 200), -ETIMEDOUT);
	ck_assert_int_eq(sdrv_xenbus_front_state(f), SDRV_XENBUS_CLOSED);
	ck_assert_int_eq(fd_.live, 0);
	sdrv_xenbus_front_stats(f, &st);
	ck_assert_uint_eq(st.connects, 1);
	ck_assert_uint_eq(st.disconnects, 1);
	/* the backend catches up later */
	PUMP_UNTIL(sdrv_xenbus_back_state(b) == SDRV_XENBUS_CLOSED && !bd_.live);
	/* and closing it now is immediate */
	ck_assert_int_eq(sdrv_xenbus_back_close(b, 200), 0);
	sdrv_xenbus_front_free(f);
	sdrv_xenbus_back_free(b);
}
END_TEST

/* The toolstack removes the whole device under running objects: they
 * disconnect, never write into the removed directories, and stay inert. */
START_TEST(test_removed)
{
	struct sdrv_xenbus_dev d = dev_of(5);
	struct sdrv_xenbus_front *f;
	struct sdrv_xenbus_back *b;
	char **names;
	unsigned int n;

	ck_assert_int_eq(sdrv_xenbus_dev_create(tool, &d), 0);
	f = new_front(5);
	b = new_back(5);
	ck_assert(f && b);
	PUMP_UNTIL(BOTH_CONNECTED(f, b));
	ck_assert_int_eq(sdrv_xenbus_dev_remove(tool, &d), 0);
	PUMP_UNTIL(!fd_.live && !bd_.live && sdrv_xenbus_front_state(f) == SDRV_XENBUS_UNKNOWN &&
		   sdrv_xenbus_back_state(b) == SDRV_XENBUS_UNKNOWN);
	ck_assert_int_eq(sdrv_xs_directory(tool, 0, "/local/domain/4/device/vobj", &names, &n), 0);
	ck_assert_uint_eq(n, 0); /* nothing resurrected */
	free(names);
	ck_assert_int_eq(sdrv_xs_directory(tool, 0, "/local/domain/0/backend/vobj/4", &names, &n),
			 0);
	ck_assert_uint_eq(n, 0);
	free(names);
	ck_assert_int_eq(sdrv_xenbus_front_close(f, 100), 0);
	sdrv_xenbus_front_free(f);
	sdrv_xenbus_back_free(b);
}
END_TEST

/* The frontend's domain dies (its object vanishes, writing nothing): the
 * backend goes Closed at once, stays so while the dead one's Connected is
 * in the store, and serves the next frontend; a device a failure closed is
 * re-armed too. */
START_TEST(test_peer_gone)
{
	struct sdrv_xenbus_dev d = dev_of(6);
	const char *bdir = "/local/domain/0/backend/vobj/4/6";
	const char *fdir = "/local/domain/4/device/vobj/6";
	struct sdrv_xenbus_front *f;
	struct sdrv_xenbus_back *b;
	char *v;

	ck_assert_int_eq(sdrv_xenbus_dev_create(tool, &d), 0);
	f = new_front(6);
	b = new_back(6);
	ck_assert(f && b);
	PUMP_UNTIL(BOTH_CONNECTED(f, b));
	sdrv_xenbus_front_free(f); /* dies: its Connected stays */
	fd_.live = 0;
	ck_assert_int_eq(sdrv_xenbus_back_peer_gone(b), 0);
	ck_assert_int_eq(sdrv_xenbus_back_state(b), SDRV_XENBUS_CLOSED);
	ck_assert_int_eq(bd_.live, 0);
	ck_assert_int_eq(bd_.disconnects, 1);
	ck_assert_int_eq(sdrv_xenbus_read_str(tool, 0, bdir, "state", 4, &v), 0);
	ck_assert_str_eq(v, "6");
	free(v);
	/* nothing acts on the dead frontend's state; a second call is a no-op */
	for (int i = 0; i < 5; i++) {
		sdrv_xs_process(bxs);
		usleep(2000);
	}
	ck_assert_int_eq(sdrv_xenbus_back_peer_gone(b), 0);
	ck_assert_int_eq(sdrv_xenbus_back_state(b), SDRV_XENBUS_CLOSED);
	ck_assert_int_eq(bd_.disconnects, 1);

	/* a new frontend: the device connects again */
	f = new_front(6);
	ck_assert_ptr_nonnull(f);
	PUMP_UNTIL(BOTH_CONNECTED(f, b));
	ck_assert_int_eq(bd_.connects, 2);

	/* closed by a failure with this frontend, then it dies: re-armed */
	sdrv_xenbus_front_free(f);
	fd_.live = 0;
	bd_.fail_connect = 1;
	ck_assert_int_eq(sdrv_xenbus_write_str(tool, 0, fdir, "state", "1"), 0);
	PUMP_UNTIL(sdrv_xenbus_back_state(b) == SDRV_XENBUS_INITWAIT);
	ck_assert_int_eq(sdrv_xenbus_write_str(tool, 0, fdir, "state", "3"), 0);
	PUMP_UNTIL(sdrv_xenbus_back_state(b) == SDRV_XENBUS_CLOSING);
	ck_assert_int_eq(sdrv_xenbus_back_peer_gone(b), 0);
	ck_assert_int_eq(sdrv_xenbus_back_state(b), SDRV_XENBUS_CLOSED);
	bd_.fail_connect = 0;
	f = new_front(6);
	ck_assert_ptr_nonnull(f);
	PUMP_UNTIL(BOTH_CONNECTED(f, b));
	ck_assert_int_eq(bd_.connects, 3);

	/* the toolstack removed the device */
	sdrv_xenbus_front_free(f);
	ck_assert_int_eq(sdrv_xenbus_dev_remove(tool, &d), 0);
	PUMP_UNTIL(sdrv_xenbus_back_state(b) == SDRV_XENBUS_UNKNOWN);
	ck_assert_int_eq(sdrv_xenbus_back_peer_gone(b), -ENOENT);
	ck_assert_int_eq(sdrv_xenbus_back_peer_gone(NULL), -EINVAL);
	sdrv_xenbus_back_free(b);
}
END_TEST

static Suite *objects_suite(void)
{
	Suite *s = suite_create("xenbus-objects");
	TCase *tc = tcase_create("objects");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_reconfigure);
	tcase_add_test(tc, test_hostile_dirs);
	tcase_add_test(tc, test_failures);
	tcase_add_test(tc, test_close_timeout);
	tcase_add_test(tc, test_removed);
	tcase_add_test(tc, test_peer_gone);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(objects_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? TU_FAIL : TU_PASS;
}
