/* SPDX-License-Identifier: MIT */
/*
 * The frontend and backend objects: the state machine of state.c driven
 * by watches on a store connection.
 *
 * Each object watches its own directory (its `state` and, for a backend,
 * `online`, which the toolstack may change) and the peer's directory. The
 * watch callbacks only mark what changed; the work runs in a hook at the
 * end of sdrv_xs_process(), once per round: one read of each marked state,
 * then steps until the machine waits. So a peer that rewrites its state
 * thousands of times costs at most one read per round, not one per event.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <splitdrv/xenbus.h>
#include <splitdrv/xs.h>

#include "xs-internal.h"

#define DOMID_RESERVED 0x7FF0u
/* Steps per run: from any input the machine waits after at most 4. */
#define MAX_STEPS 8

struct xb {
	bool is_back;
	struct sdrv_xs *xs;
	sdrv_domid_t domid, peer_domid;
	uint32_t id;
	char dir[SDRV_XENBUS_PATH_MAX];
	char peer_dir[SDRV_XENBUS_PATH_MAX];
	char tok_self[64], tok_peer[64];
	bool watching_self, watching_peer, hooked;

	enum sdrv_xenbus_state self, peer;
	bool published, connected;
	bool online_key; /* backend: `online` is not "0" */
	bool want;	 /* not closed locally, no fatal error */
	bool removed;	 /* own directory gone: inert */
	bool dirty_self, dirty_peer;
	bool running;
	struct sdrv_xenbus_stats st;
};

struct sdrv_xenbus_front {
	struct xb b;
	struct sdrv_xenbus_front_opts o;
};

struct sdrv_xenbus_back {
	struct xb b;
	struct sdrv_xenbus_back_opts o;
};

#define FRONT(x) ((struct sdrv_xenbus_front *)(x))
#define BACK(x)	 ((struct sdrv_xenbus_back *)(x))

/* ------------------------------------------------------------------------ */
/* Driver callbacks */

static int cb_publish(struct xb *b, uint32_t tx)
{
	if (b->is_back)
		return BACK(b)->o.publish ? BACK(b)->o.publish(BACK(b), tx, BACK(b)->o.ctx) : 0;
	return FRONT(b)->o.publish(FRONT(b), tx, FRONT(b)->o.ctx);
}

static int cb_connect(struct xb *b)
{
	if (b->is_back)
		return BACK(b)->o.connect(BACK(b), BACK(b)->o.ctx);
	return FRONT(b)->o.connect(FRONT(b), FRONT(b)->o.ctx);
}

static void cb_disconnect(struct xb *b)
{
	if (!b->published && !b->connected)
		return;
	b->published = b->connected = false;
	b->st.disconnects++;
	if (b->is_back)
		BACK(b)->o.disconnect(BACK(b), BACK(b)->o.ctx);
	else
		FRONT(b)->o.disconnect(FRONT(b), FRONT(b)->o.ctx);
}

static int cb_reconf(struct xb *b, enum sdrv_xenbus_reconf phase)
{
	if (b->is_back)
		return BACK(b)->o.reconfigure
			   ? BACK(b)->o.reconfigure(BACK(b), phase, BACK(b)->o.ctx)
			   : 0;
	return FRONT(b)->o.reconfigure ? FRONT(b)->o.reconfigure(FRONT(b), phase, FRONT(b)->o.ctx)
				       : 0;
}

static void cb_state(struct xb *b)
{
	if (b->is_back) {
		if (BACK(b)->o.state_changed)
			BACK(b)->o.state_changed(BACK(b), b->self, b->peer, BACK(b)->o.ctx);
	} else if (FRONT(b)->o.state_changed) {
		FRONT(b)->o.state_changed(FRONT(b), b->self, b->peer, FRONT(b)->o.ctx);
	}
}

/* ------------------------------------------------------------------------ */
/* Store access */

static int read_state(struct xb *b, uint32_t tx, const char *dir, enum sdrv_xenbus_state *out)
{
	char path[SDRV_XENBUS_PATH_MAX + 8];
	char *v;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "%s/" SDRV_XENBUS_KEY_STATE, dir);
	rc = sdrv_xs_read(b->xs, tx, path, &v, &len);
	if (rc == -ENOENT) {
		*out = SDRV_XENBUS_UNKNOWN;
		return -ENOENT;
	}
	if (rc < 0)
		return rc;
	*out = sdrv_xenbus_state_parse(v, len); /* garbage reads as Unknown */
	free(v);
	return 0;
}

static int dir_exists(struct xb *b, uint32_t tx)
{
	char *v;
	int rc = sdrv_xs_read(b->xs, tx, b->dir, &v, NULL);

	if (rc == 0) {
		free(v);
		return 1;
	}
	return rc == -ENOENT ? 0 : rc;
}

struct switch_ctx {
	struct xb *b;
	enum sdrv_xenbus_state next;
	bool publish;
	bool ran;     /* the driver's publish ran (it may hold resources) */
	bool hotplug; /* also write hotplug-status = connected */
	int driver_err;
};

/*
 * Write our state, as Linux's xenbus_switch_state() does: in a transaction,
 * and never into a directory that has gone (that would resurrect a device
 * the toolstack removed). With `publish`, the driver's keys go in the same
 * transaction.
 */
static int switch_tx(struct sdrv_xs *xs, uint32_t tx, void *ctx)
{
	struct switch_ctx *c = ctx;
	char path[SDRV_XENBUS_PATH_MAX + 8];
	int rc = dir_exists(c->b, tx);

	(void)xs;
	if (rc < 0)
		return rc;
	if (rc == 0)
		return -ENOENT;
	if (c->publish) {
		c->ran = true;
		rc = cb_publish(c->b, tx);
		if (rc < 0) {
			if (rc != -EAGAIN)
				c->driver_err = rc;
			return rc;
		}
	}
	if (c->hotplug) {
		rc = sdrv_xenbus_write_str(c->b->xs, tx, c->b->dir, SDRV_XENBUS_KEY_HOTPLUG_STATUS,
					   "connected");
		if (rc < 0)
			return rc;
	}
	snprintf(path, sizeof(path), "%s/" SDRV_XENBUS_KEY_STATE, c->b->dir);
	return sdrv_xs_printf(c->b->xs, tx, path, "%u", (unsigned int)c->next);
}

static void mark_removed(struct xb *b)
{
	if (b->removed)
		return;
	b->removed = true;
	cb_disconnect(b);
	b->self = SDRV_XENBUS_UNKNOWN;
	cb_state(b);
}

static int xb_switch(struct xb *b, enum sdrv_xenbus_state next, bool publish, bool hotplug,
		     int *driver_err)
{
	struct switch_ctx c = {.b = b, .next = next, .publish = publish, .hotplug = hotplug};
	int rc = sdrv_xs_transact(b->xs, switch_tx, &c, 0);

	if (driver_err)
		*driver_err = c.driver_err;
	if (c.ran)
		b->published = true; /* so that a disconnect frees it */
	if (rc == -ENOENT && !c.driver_err) {
		mark_removed(b);
		return rc;
	}
	if (rc == 0)
		b->self = next;
	return rc;
}

static void xb_log(struct xb *b, const char *what, int err)
{
	sdrv_xs_logf(b->xs, LOG_WARNING, "%s %s: %s failed (%s); closing the device",
		     b->is_back ? "backend" : "frontend", b->dir, what, strerror(-err));
}

/* ------------------------------------------------------------------------ */
/* Running the machine */

static bool xb_online(const struct xb *b)
{
	return b->want && (!b->is_back || b->online_key);
}

/* Go Closing after a driver failure; the object stays closed. */
static void xb_fail(struct xb *b, const char *what, int err)
{
	xb_log(b, what, err);
	b->want = false;
	cb_disconnect(b);
}

static void xb_refresh(struct xb *b)
{
	if (b->dirty_self) {
		enum sdrv_xenbus_state s;
		int rc;

		b->dirty_self = false;
		rc = read_state(b, SDRV_XS_TX_NONE, b->dir, &s);
		if (rc == -ENOENT) {
			rc = dir_exists(b, SDRV_XS_TX_NONE);
			if (rc == 0) {
				mark_removed(b);
				return;
			}
		}
		if (rc >= 0 && s != b->self) {
			b->self = s; /* somebody else (the toolstack) changed it */
			cb_state(b);
		}
		if (b->is_back) {
			char path[SDRV_XENBUS_PATH_MAX + 8];
			char *v;
			size_t len;
			snprintf(path, sizeof(path), "%s/" SDRV_XENBUS_KEY_ONLINE, b->dir);
			/* Only an explicit "0" takes the device down. */
			if (sdrv_xs_read(b->xs, SDRV_XS_TX_NONE, path, &v, &len) == 0) {
				b->online_key = !(len == 1 && v[0] == '0');
				free(v);
			} else {
				b->online_key = true;
			}
		}
	}
	if (b->dirty_peer) {
		enum sdrv_xenbus_state s = SDRV_XENBUS_UNKNOWN;
		int rc;
		b->dirty_peer = false;
		b->st.peer_reads++;
		rc = read_state(b, SDRV_XS_TX_NONE, b->peer_dir, &s);
		if ((rc == 0 || rc == -ENOENT) && s != b->peer) {
			b->peer = s;
			cb_state(b);
		}
	}
}

static void xb_run(struct xb *b)
{
	if (b->running || b->removed)
		return;
	b->running = true;
	xb_refresh(b);
	for (int i = 0; i < MAX_STEPS && !b->removed && !sdrv_xs_broken(b->xs); i++) {
		struct sdrv_xenbus_sm_in in = {
		    .self = b->self,
		    .peer = b->peer,
		    .published = b->published,
		    .connected = b->connected,
		    .online = xb_online(b),
		};
		struct sdrv_xenbus_sm_out out;
		enum sdrv_xenbus_state next;
		int rc, derr = 0;

		if ((b->is_back ? sdrv_xenbus_back_step : sdrv_xenbus_front_step)(&in, &out) < 0)
			break;
		if (out.actions == 0 && out.next == b->self)
			break;
		b->st.steps++;
		next = out.next;
		if (out.actions & SDRV_XENBUS_DO_DISCONNECT)
			cb_disconnect(b);
		if (out.actions & SDRV_XENBUS_DO_PUBLISH) {
			rc = xb_switch(b, next, true, false, &derr);
			if (derr || (rc < 0 && rc != -ENOENT && !sdrv_xs_broken(b->xs))) {
				/* the driver failed, or the store refused its keys */
				if (!derr)
					derr = rc;
				xb_fail(b, "publish", derr);
				continue; /* the next step goes Closing */
			}
			if (rc < 0)
				break;
			cb_state(b);
			continue;
		}
		if (out.actions & SDRV_XENBUS_DO_CONNECT) {
			rc = cb_connect(b);
			if (rc < 0) {
				xb_fail(b, "connect", rc);
				continue;
			}
			b->connected = true;
			b->st.connects++;
		}
		if (out.actions & (SDRV_XENBUS_DO_RECONF_BEGIN | SDRV_XENBUS_DO_RECONF_END)) {
			rc = cb_reconf(b, (out.actions & SDRV_XENBUS_DO_RECONF_BEGIN)
					      ? SDRV_XENBUS_RECONF_BEGIN
					      : SDRV_XENBUS_RECONF_END);
			if (rc < 0) {
				xb_fail(b, "reconfigure", rc);
				continue;
			}
		}
		if (next != b->self) {
			/* hotplug-status goes with the state, in the transaction
			 * that checks the directory is still there */
			bool hp = (out.actions & SDRV_XENBUS_DO_CONNECT) && b->is_back &&
				  BACK(b)->o.write_hotplug_status;
			if (xb_switch(b, next, false, hp, NULL) < 0)
				break;
			cb_state(b);
		}
	}
	b->running = false;
}

static void xb_hook(struct sdrv_xs *xs, void *ctx)
{
	struct xb *b = ctx;

	(void)xs;
	if (b->dirty_self || b->dirty_peer)
		xb_run(b);
}

/* Whether a watch event on `path` may have changed `<dir>/<key>`: the key
 * itself, the directory, or an ancestor (removed or created). */
static bool is_key(const char *path, const char *dir, const char *key)
{
	size_t dl = strlen(dir), pl = strlen(path);

	if (pl < dl && strncmp(dir, path, pl) == 0 && dir[pl] == '/')
		return true; /* an ancestor */
	if (strncmp(path, dir, dl) != 0)
		return false;
	if (path[dl] == 0)
		return true; /* the directory itself (created, removed, overflow) */
	if (path[dl] != '/')
		return false;
	return strcmp(path + dl + 1, key) == 0;
}

static void xb_watch_cb(struct sdrv_xs *xs, const char *path, const char *token, void *ctx)
{
	struct xb *b = ctx;

	(void)xs;
	b->st.events++;
	if (strcmp(token, b->tok_peer) == 0) {
		if (is_key(path, b->peer_dir, SDRV_XENBUS_KEY_STATE))
			b->dirty_peer = true;
	} else if (is_key(path, b->dir, SDRV_XENBUS_KEY_STATE) ||
		   (b->is_back && is_key(path, b->dir, SDRV_XENBUS_KEY_ONLINE))) {
		b->dirty_self = true;
	}
}

/* ------------------------------------------------------------------------ */
/* Life */

static int read_domid(struct xb *b, const char *key, sdrv_domid_t *out)
{
	uint64_t v;
	int rc =
	    sdrv_xenbus_read_uint(b->xs, SDRV_XS_TX_NONE, b->dir, key, DOMID_RESERVED - 1, 0, &v);
	if (rc == -ERANGE)
		return -EINVAL;
	if (rc < 0)
		return rc;
	*out = (sdrv_domid_t)v;
	return 0;
}

static int xb_start(struct xb *b)
{
	uint64_t n = sdrv_xs_unique();
	int rc;

	snprintf(b->tok_self, sizeof(b->tok_self), "sdrv-xb-%llu-self", (unsigned long long)n);
	snprintf(b->tok_peer, sizeof(b->tok_peer), "sdrv-xb-%llu-peer", (unsigned long long)n);
	b->want = true;
	b->online_key = true;
	/* The first run happens in the next sdrv_xs_process(), so no callback
	 * runs before the constructor has returned. */
	b->dirty_self = b->dirty_peer = true;
	rc = sdrv_xs_hook_add(b->xs, xb_hook, b);
	if (rc < 0)
		return rc;
	b->hooked = true;
	rc = sdrv_xs_watch(b->xs, b->dir, b->tok_self, xb_watch_cb, b);
	if (rc < 0)
		return rc;
	b->watching_self = true;
	rc = sdrv_xs_watch(b->xs, b->peer_dir, b->tok_peer, xb_watch_cb, b);
	if (rc < 0)
		return rc;
	b->watching_peer = true;
	sdrv_xs_kick(b->xs);
	return 0;
}

static void xb_stop(struct xb *b)
{
	if (b->watching_self)
		sdrv_xs_unwatch(b->xs, b->dir, b->tok_self);
	if (b->watching_peer)
		sdrv_xs_unwatch(b->xs, b->peer_dir, b->tok_peer);
	b->watching_self = b->watching_peer = false;
	if (b->hooked)
		sdrv_xs_hook_del(b->xs, xb_hook, b);
	b->hooked = false;
	cb_disconnect(b);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int xb_close(struct xb *b, int timeout_ms)
{
	int64_t deadline = now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
	int rc = 0;

	b->want = false;
	xb_run(b);
	while (!b->removed && b->self != SDRV_XENBUS_CLOSED) {
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			rc = -ETIMEDOUT;
			break;
		}
		rc = sdrv_xs_wait(b->xs, (int)(left > 1000 ? 1000 : left));
		if (rc == -ETIMEDOUT || rc == -EINTR) {
			rc = 0;
			xb_run(b); /* nothing came: look again */
			continue;
		}
		if (rc < 0)
			break;
	}
	if (b->removed)
		return rc == -ETIMEDOUT ? 0 : rc;
	if (b->self != SDRV_XENBUS_CLOSED) {
		/* The peer did not follow: close anyway. */
		cb_disconnect(b);
		if (!sdrv_xs_broken(b->xs) &&
		    xb_switch(b, SDRV_XENBUS_CLOSED, false, false, NULL) == 0)
			cb_state(b);
		if (rc == 0)
			rc = -ETIMEDOUT;
	}
	return rc;
}

static void xb_shutdown(struct xb *b)
{
	b->want = false;
	if (b->running)
		sdrv_xs_kick(b->xs); /* from a callback: the next round acts */
	else
		xb_run(b);
}

static int xb_reconfigure(struct xb *b)
{
	if (b->self != SDRV_XENBUS_CONNECTED || !b->connected || b->running)
		return -EBUSY;
	if (xb_switch(b, SDRV_XENBUS_RECONFIGURING, false, false, NULL) < 0)
		return sdrv_xs_broken(b->xs) ? -ECONNRESET : -EIO;
	cb_state(b);
	sdrv_xs_kick(b->xs);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Frontend */

SDRV_API struct sdrv_xenbus_front *sdrv_xenbus_front_new(const struct sdrv_xenbus_front_opts *opts)
{
	struct sdrv_xenbus_front *fe;
	struct xb *b;
	char *bpath = NULL;
	int rc;

	if (!opts || opts->sz < sizeof(size_t)) {
		errno = EINVAL;
		return NULL;
	}
	fe = calloc(1, sizeof(*fe));
	if (!fe) {
		errno = ENOMEM;
		return NULL;
	}
	memcpy(&fe->o, opts, opts->sz < sizeof(fe->o) ? opts->sz : sizeof(fe->o));
	b = &fe->b;
	b->xs = fe->o.xs;
	b->domid = fe->o.domid;
	b->id = fe->o.id;
	b->is_back = false;
	rc = -EINVAL;
	if (!b->xs || !fe->o.publish || !fe->o.connect || !fe->o.disconnect ||
	    b->domid >= DOMID_RESERVED)
		goto fail;
	fe->o.type = NULL; /* not kept: the caller's string */
	rc = sdrv_xenbus_front_path(b->dir, sizeof(b->dir), b->domid, opts->type, b->id);
	if (rc < 0)
		goto fail;
	rc = read_domid(b, SDRV_XENBUS_KEY_BACKEND_ID, &b->peer_domid);
	if (rc < 0)
		goto fail;
	rc = sdrv_xenbus_read_str(b->xs, SDRV_XS_TX_NONE, b->dir, SDRV_XENBUS_KEY_BACKEND,
				  SDRV_XENBUS_PATH_MAX - 1, &bpath);
	if (rc == -E2BIG)
		rc = -EINVAL;
	if (rc < 0)
		goto fail;
	rc = sdrv_xenbus_check_back_path(bpath, b->peer_domid, b->domid, b->id);
	if (rc < 0)
		goto fail;
	snprintf(b->peer_dir, sizeof(b->peer_dir), "%s", bpath);
	free(bpath);
	bpath = NULL;
	rc = xb_start(b);
	if (rc < 0)
		goto fail;
	return fe;
fail:
	free(bpath);
	xb_stop(b);
	free(fe);
	errno = -rc;
	return NULL;
}

SDRV_API int sdrv_xenbus_front_close(struct sdrv_xenbus_front *fe, int timeout_ms)
{
	return xb_close(&fe->b, timeout_ms);
}

SDRV_API void sdrv_xenbus_front_shutdown(struct sdrv_xenbus_front *fe)
{
	xb_shutdown(&fe->b);
}

SDRV_API void sdrv_xenbus_front_free(struct sdrv_xenbus_front *fe)
{
	if (!fe)
		return;
	xb_stop(&fe->b);
	free(fe);
}

SDRV_API int sdrv_xenbus_front_reconfigure(struct sdrv_xenbus_front *fe)
{
	return xb_reconfigure(&fe->b);
}

SDRV_API enum sdrv_xenbus_state sdrv_xenbus_front_state(const struct sdrv_xenbus_front *fe)
{
	return fe->b.self;
}

SDRV_API enum sdrv_xenbus_state sdrv_xenbus_front_peer_state(const struct sdrv_xenbus_front *fe)
{
	return fe->b.peer;
}

SDRV_API const char *sdrv_xenbus_front_dir(const struct sdrv_xenbus_front *fe)
{
	return fe->b.dir;
}

SDRV_API const char *sdrv_xenbus_front_peer_dir(const struct sdrv_xenbus_front *fe)
{
	return fe->b.peer_dir;
}

SDRV_API sdrv_domid_t sdrv_xenbus_front_peer_domid(const struct sdrv_xenbus_front *fe)
{
	return fe->b.peer_domid;
}

SDRV_API struct sdrv_xs *sdrv_xenbus_front_xs(const struct sdrv_xenbus_front *fe)
{
	return fe->b.xs;
}

SDRV_API void sdrv_xenbus_front_stats(const struct sdrv_xenbus_front *fe,
				      struct sdrv_xenbus_stats *st)
{
	*st = fe->b.st;
}

/* ------------------------------------------------------------------------ */
/* Backend */

SDRV_API struct sdrv_xenbus_back *sdrv_xenbus_back_new(const struct sdrv_xenbus_back_opts *opts)
{
	struct sdrv_xenbus_back *be;
	struct xb *b;
	char *fpath = NULL;
	sdrv_domid_t fe_id;
	int rc;

	if (!opts || opts->sz < sizeof(size_t)) {
		errno = EINVAL;
		return NULL;
	}
	be = calloc(1, sizeof(*be));
	if (!be) {
		errno = ENOMEM;
		return NULL;
	}
	memcpy(&be->o, opts, opts->sz < sizeof(be->o) ? opts->sz : sizeof(be->o));
	b = &be->b;
	b->xs = be->o.xs;
	b->domid = be->o.domid;
	b->peer_domid = be->o.fe;
	b->id = be->o.id;
	b->is_back = true;
	rc = -EINVAL;
	if (!b->xs || !be->o.connect || !be->o.disconnect || b->domid >= DOMID_RESERVED ||
	    b->peer_domid >= DOMID_RESERVED)
		goto fail;
	be->o.type = NULL;
	rc = sdrv_xenbus_back_path(b->dir, sizeof(b->dir), b->domid, opts->type, b->peer_domid,
				   b->id);
	if (rc < 0)
		goto fail;
	rc = read_domid(b, SDRV_XENBUS_KEY_FRONTEND_ID, &fe_id);
	if (rc < 0)
		goto fail;
	rc = -EINVAL;
	if (fe_id != b->peer_domid)
		goto fail;
	rc = sdrv_xenbus_read_str(b->xs, SDRV_XS_TX_NONE, b->dir, SDRV_XENBUS_KEY_FRONTEND,
				  SDRV_XENBUS_PATH_MAX - 1, &fpath);
	if (rc == -E2BIG)
		rc = -EINVAL;
	if (rc < 0)
		goto fail;
	rc = sdrv_xenbus_check_front_path(fpath, b->peer_domid, b->id);
	if (rc < 0)
		goto fail;
	snprintf(b->peer_dir, sizeof(b->peer_dir), "%s", fpath);
	free(fpath);
	fpath = NULL;
	rc = xb_start(b);
	if (rc < 0)
		goto fail;
	return be;
fail:
	free(fpath);
	xb_stop(b);
	free(be);
	errno = -rc;
	return NULL;
}

SDRV_API int sdrv_xenbus_back_close(struct sdrv_xenbus_back *be, int timeout_ms)
{
	return xb_close(&be->b, timeout_ms);
}

SDRV_API void sdrv_xenbus_back_shutdown(struct sdrv_xenbus_back *be)
{
	xb_shutdown(&be->b);
}

SDRV_API int sdrv_xenbus_back_peer_gone(struct sdrv_xenbus_back *be)
{
	struct xb *b;
	int rc;

	if (!be)
		return -EINVAL;
	b = &be->b;
	if (b->removed)
		return -ENOENT;
	if (b->running)
		return -EBUSY; /* from inside a callback: nothing may change now */
	cb_disconnect(b);
	/* The dead peer's failure closed the device; a new peer may use it. */
	b->want = true;
	if (b->self != SDRV_XENBUS_CLOSED) {
		rc = xb_switch(b, SDRV_XENBUS_CLOSED, false, false, NULL);
		if (rc < 0)
			return rc;
		cb_state(b);
	}
	/* What the dead peer left there stays until a new one starts (at
	 * Initialising), which the next step answers with InitWait. */
	b->dirty_peer = true;
	xb_run(b);
	return 0;
}

SDRV_API void sdrv_xenbus_back_free(struct sdrv_xenbus_back *be)
{
	if (!be)
		return;
	xb_stop(&be->b);
	free(be);
}

SDRV_API int sdrv_xenbus_back_reconfigure(struct sdrv_xenbus_back *be)
{
	return xb_reconfigure(&be->b);
}

SDRV_API enum sdrv_xenbus_state sdrv_xenbus_back_state(const struct sdrv_xenbus_back *be)
{
	return be->b.self;
}

SDRV_API enum sdrv_xenbus_state sdrv_xenbus_back_peer_state(const struct sdrv_xenbus_back *be)
{
	return be->b.peer;
}

SDRV_API const char *sdrv_xenbus_back_dir(const struct sdrv_xenbus_back *be)
{
	return be->b.dir;
}

SDRV_API const char *sdrv_xenbus_back_peer_dir(const struct sdrv_xenbus_back *be)
{
	return be->b.peer_dir;
}

SDRV_API sdrv_domid_t sdrv_xenbus_back_peer_domid(const struct sdrv_xenbus_back *be)
{
	return be->b.peer_domid;
}

SDRV_API struct sdrv_xs *sdrv_xenbus_back_xs(const struct sdrv_xenbus_back *be)
{
	return be->b.xs;
}

SDRV_API void sdrv_xenbus_back_stats(const struct sdrv_xenbus_back *be,
				     struct sdrv_xenbus_stats *st)
{
	*st = be->b.st;
}
