/* SPDX-License-Identifier: MIT */
/*
 * The xenbus state machine as pure logic: what a frontend or a backend does
 * given its own state, the peer's, and whether its driver has published
 * and connected. Freestanding (no libc): the same tables can run in a
 * kernel module or a unikernel. doc/xenbus.md explains each rule and which
 * Linux driver behaviour it follows.
 *
 * Both sides only ever see the peer's *latest* state (watches coalesce),
 * so no rule depends on having seen an intermediate state: each side waits
 * for a state of the peer that the peer only reaches after the step that
 * matters (the frontend publishes only after InitWait, the backend goes
 * Closed only once the frontend is Closed, ...).
 */
#include <splitdrv/xenbus.h>

#define S(x)  SDRV_XENBUS_##x
#define DO(x) SDRV_XENBUS_DO_##x

SDRV_API const char *sdrv_xenbus_state_name(enum sdrv_xenbus_state s)
{
	switch (s) {
	case S(UNKNOWN):
		return "Unknown";
	case S(INITIALISING):
		return "Initialising";
	case S(INITWAIT):
		return "InitWait";
	case S(INITIALISED):
		return "Initialised";
	case S(CONNECTED):
		return "Connected";
	case S(CLOSING):
		return "Closing";
	case S(CLOSED):
		return "Closed";
	case S(RECONFIGURING):
		return "Reconfiguring";
	case S(RECONFIGURED):
		return "Reconfigured";
	}
	return "Invalid";
}

SDRV_API enum sdrv_xenbus_state sdrv_xenbus_state_parse(const char *s, size_t len)
{
	/* Exactly one digit 0..8 (leading zeros allowed, as strtoul would). */
	size_t i = 0;

	if (!s || len == 0)
		return S(UNKNOWN);
	while (i + 1 < len && s[i] == '0')
		i++;
	if (i + 1 != len || s[i] < '0' || s[i] > '8')
		return S(UNKNOWN);
	return (enum sdrv_xenbus_state)(s[i] - '0');
}

static bool valid(enum sdrv_xenbus_state s)
{
	return (unsigned int)s <= S(RECONFIGURED);
}

/* The peer is gone or going: Closing, Closed, or no state at all. */
static bool peer_down(enum sdrv_xenbus_state p)
{
	return p == S(CLOSING) || p == S(CLOSED) || p == S(UNKNOWN);
}

/* A state that claims a live connection. */
static bool active_state(enum sdrv_xenbus_state s)
{
	return s == S(INITIALISED) || s == S(CONNECTED) || s == S(RECONFIGURING) ||
	       s == S(RECONFIGURED);
}

SDRV_API int sdrv_xenbus_front_step(const struct sdrv_xenbus_sm_in *in,
				    struct sdrv_xenbus_sm_out *out)
{
	enum sdrv_xenbus_state f, b;
	bool had = in->published || in->connected;

	if (!valid(in->self) || !valid(in->peer))
		return -SDRV_EINVAL;
	f = in->self;
	b = in->peer;
	/* Frontends never use InitWait or Reconfigured: read them as the
	 * state they stand for. */
	if (f == S(INITWAIT))
		f = S(INITIALISING);
	out->next = in->self;
	out->actions = 0;

	/* Closing or Closed (our own choice, or the toolstack's): drop
	 * everything first. */
	if ((f == S(CLOSING) || f == S(CLOSED)) && had) {
		out->actions = DO(DISCONNECT);
		return 0;
	}
	/* A state left by an earlier instance (we claim a connection the
	 * driver does not have): reset through Closing, as Linux's
	 * xenbus_reset_state() does. */
	if (active_state(f) && !in->published) {
		out->next = S(CLOSING);
		return 0;
	}

	if (!in->online) {
		switch (f) {
		case S(UNKNOWN):
		case S(INITIALISING):
			out->next = S(CLOSED); /* nothing published */
			break;
		case S(CLOSING):
			if (peer_down(b) || b == S(INITIALISING) || b == S(INITWAIT))
				out->next = S(CLOSED);
			break;
		case S(CLOSED):
			break;
		default:
			out->actions = had ? DO(DISCONNECT) : 0;
			out->next = S(CLOSING);
			break;
		}
		return 0;
	}

	switch (f) {
	case S(UNKNOWN):
		out->next = S(INITIALISING);
		break;
	case S(CLOSED):
		/* Come back once the backend is closed or starting again (not
		 * while it is Closing: it still holds our earlier details). */
		if (b == S(CLOSED) || b == S(UNKNOWN) || b == S(INITIALISING) || b == S(INITWAIT))
			out->next = S(INITIALISING);
		break;
	case S(CLOSING):
		if (peer_down(b) || b == S(INITIALISING) || b == S(INITWAIT))
			out->next = S(CLOSED);
		break;
	case S(INITIALISING):
		if (b == S(INITWAIT)) {
			out->actions = DO(PUBLISH);
			out->next = S(INITIALISED);
		} else if (b == S(CONNECTED) || b == S(RECONFIGURING) || b == S(RECONFIGURED)) {
			/* The backend is still connected to an earlier us. */
			out->next = S(CLOSING);
		}
		break;
	case S(INITIALISED):
		if (b == S(CONNECTED)) {
			out->actions = DO(CONNECT);
			out->next = S(CONNECTED);
		} else if (peer_down(b) || b == S(INITIALISING)) {
			/* The backend closed, vanished or restarted: what we
			 * published was for its earlier instance. */
			out->actions = DO(DISCONNECT);
			out->next = S(CLOSED);
		}
		break;
	case S(CONNECTED):
	case S(RECONFIGURED):
		if (b == S(CONNECTED)) {
			if (!in->connected)
				out->actions = DO(CONNECT); /* published, not yet connected */
			if (f == S(RECONFIGURED))
				out->next = S(CONNECTED);
		} else if (b == S(RECONFIGURING)) {
			/* pciback style: the backend asks; detach, acknowledge. */
			out->actions = DO(RECONF_BEGIN);
			out->next = S(RECONFIGURING);
		} else if (peer_down(b) || b == S(INITIALISING) || b == S(INITWAIT)) {
			out->actions = DO(DISCONNECT);
			out->next = S(CLOSED);
		}
		break;
	case S(RECONFIGURING):
		if (b == S(RECONFIGURED)) {
			out->actions = DO(RECONF_END);
			out->next = S(CONNECTED);
		} else if (peer_down(b) || b == S(INITIALISING) || b == S(INITWAIT)) {
			out->actions = DO(DISCONNECT);
			out->next = S(CLOSED);
		}
		break;
	default:
		break;
	}
	return 0;
}

SDRV_API int sdrv_xenbus_back_step(const struct sdrv_xenbus_sm_in *in,
				   struct sdrv_xenbus_sm_out *out)
{
	enum sdrv_xenbus_state b, f;
	bool had = in->published || in->connected;

	if (!valid(in->self) || !valid(in->peer))
		return -SDRV_EINVAL;
	b = in->self;
	f = in->peer;
	/* Backends never use Initialised; frontends never use InitWait or
	 * Reconfigured: read them as the state they stand for. */
	if (f == S(INITWAIT))
		f = S(INITIALISING);
	if (f == S(RECONFIGURED))
		f = S(CONNECTED);
	out->next = in->self;
	out->actions = 0;

	if ((b == S(CLOSING) || b == S(CLOSED)) && in->connected) {
		out->actions = DO(DISCONNECT);
		return 0;
	}
	/* A state left by an earlier instance: reset through Closing. */
	if (active_state(b) && !in->connected) {
		out->actions = had ? DO(DISCONNECT) : 0;
		out->next = S(CLOSING);
		return 0;
	}
	if (b == S(INITWAIT) && !in->published && in->online) {
		out->actions = DO(PUBLISH); /* features of an earlier instance */
		return 0;
	}

	if (!in->online) {
		switch (b) {
		case S(CLOSING):
			if (f == S(CLOSED) || f == S(UNKNOWN) || f == S(INITIALISING))
				out->next = S(CLOSED);
			break;
		case S(CLOSED):
			if (had)
				out->actions = DO(DISCONNECT);
			break;
		default:
			out->actions = had ? DO(DISCONNECT) : 0;
			out->next = S(CLOSING);
			break;
		}
		return 0;
	}

	switch (b) {
	case S(UNKNOWN):
	case S(INITIALISING):
		if (peer_down(f)) {
			out->next = S(CLOSED);
		} else {
			out->actions = DO(PUBLISH);
			out->next = S(INITWAIT);
		}
		break;
	case S(INITWAIT):
		if (f == S(INITIALISED) || f == S(CONNECTED)) {
			/* Connected straight from Initialising (netfront) too. */
			out->actions = DO(CONNECT);
			out->next = S(CONNECTED);
		} else if (f == S(CLOSING)) {
			out->next = S(CLOSING);
		} else if (f == S(CLOSED) || f == S(UNKNOWN)) {
			out->actions = DO(DISCONNECT);
			out->next = S(CLOSED);
		}
		break;
	case S(CONNECTED):
	case S(RECONFIGURING):
	case S(RECONFIGURED):
		if (f == S(CLOSING)) {
			out->actions = DO(DISCONNECT);
			out->next = S(CLOSING);
		} else if (f == S(CLOSED) || f == S(UNKNOWN) || f == S(INITIALISING)) {
			/* The frontend closed, vanished or restarted. */
			out->actions = DO(DISCONNECT);
			out->next = S(CLOSED);
		} else if (f == S(RECONFIGURING) && b != S(RECONFIGURED)) {
			/* The frontend asked (netfront), or acknowledged ours
			 * (pciback): reconfigure, answer Reconfigured. */
			out->actions = DO(RECONF_BEGIN);
			out->next = S(RECONFIGURED);
		} else if (f == S(CONNECTED) && b == S(RECONFIGURED)) {
			out->actions = DO(RECONF_END);
			out->next = S(CONNECTED);
		}
		break;
	case S(CLOSING):
		if (f == S(CLOSED) || f == S(UNKNOWN) || f == S(INITIALISING)) {
			out->actions = had ? DO(DISCONNECT) : 0;
			out->next = S(CLOSED);
		}
		break;
	case S(CLOSED):
		if (had) {
			out->actions = DO(DISCONNECT);
		} else if (f == S(INITIALISING)) {
			/* Prepare for reconnect (blkback does the same). */
			out->actions = DO(PUBLISH);
			out->next = S(INITWAIT);
		}
		break;
	default:
		break;
	}
	return 0;
}
