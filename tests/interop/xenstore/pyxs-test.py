# SPDX-License-Identifier: MIT
"""pyxs (Debian python3-pyxs, a pure-Python xenstore client) against the
store. Run by pyxs.sh as: python3 pyxs-test.py SOCKET, and as domain 5
(uid 65534) against a store with small quotas: pyxs-test.py SOCKET quota.

pyxs differs from libxenstore on the wire (quirk 2 of
shared/ref/xenstore-clients.md): every request carries an incrementing
rq_id, several may be in flight from several threads on one connection,
and a reply whose rq_id, op or tx_id does not match kills the client's
router thread. The store must echo them exactly.
"""

import errno
import os
import signal
import sys
import threading

from pyxs import Client, InvalidPayload, PyXSError, Router
from pyxs._internal import NUL, Op
from pyxs.connection import UnixSocketConnection

SOCK = sys.argv[1]
FAILS = []

# A hang becomes a failure: SIGALRM's default action ends the process.
signal.alarm(int(os.environ.get("XS_T", "60")))


def check(ok, what):
    if ok:
        print("ok - pyxs: " + what)
    else:
        print("FAIL: pyxs: " + what)
        FAILS.append(what)


def raises(errnum, fn, *args):
    """Whether fn(*args) raises PyXSError with errno errnum."""
    try:
        fn(*args)
    except PyXSError as e:
        return e.args[0] == errnum
    return False


class Recording(UnixSocketConnection):
    """A connection that keeps every packet sent and received."""

    def __init__(self, path):
        super().__init__(path)
        self.lock = threading.Lock()
        self.sent = []
        self.got = []

    def send(self, packet):
        with self.lock:
            self.sent.append(packet)
        super().send(packet)

    def recv(self):
        packet = super().recv()
        with self.lock:
            self.got.append(packet)
        return packet


def nodes(c, c2):
    c.write(b"/py/a", b"1")
    check(c.read(b"/py/a") == b"1", "write then read")
    check(c.read(b"/py/missing", b"dflt") == b"dflt", "read with a default")
    check(raises(errno.ENOENT, c.read, b"/py/missing"), "read of a missing node: ENOENT")
    check(sorted(c.list(b"/py")) == [b"a"], "list")
    check(c.exists(b"/py/a") and not c.exists(b"/py/missing"), "exists, both answers")
    c.mkdir(b"/py/d")
    check(c.exists(b"/py/d") and c.read(b"/py/d") == b"", "mkdir")
    c.delete(b"/py/d")
    check(not c.exists(b"/py/d"), "delete")
    check(c.get_perms(b"/py/a") == [b"n0"], "get_perms of a node dom0 made: n0")
    c.set_perms(b"/py/a", [b"n0", b"r5"])
    check(c.get_perms(b"/py/a") == [b"n0", b"r5"], "set_perms")
    check(c.get_domain_path(5) == b"/local/domain/5", "get_domain_path")
    check(c2.read(b"/py/a") == b"1", "a second client sees the write")


def transactions(c, c2):
    c.transaction()
    check(c.tx_id != 0, "transaction id")
    c.write(b"/py/t", b"x")
    check(not c2.exists(b"/py/t"), "isolation: not visible before commit")
    check(c.commit() is True, "commit")
    check(c2.read(b"/py/t") == b"x", "visible after commit")

    c.transaction()
    c.write(b"/py/r", b"1")
    c.rollback()
    check(not c2.exists(b"/py/r"), "rollback")

    # A conflict: pyxs's commit() turns EAGAIN into False...
    c.transaction()
    c.read(b"/py/t")
    c2.write(b"/py/t", b"y")
    c.write(b"/py/u", b"z")
    check(c.commit() is False, "conflicting commit returns False (EAGAIN)")
    check(not c2.exists(b"/py/u"), "nothing written by the failed commit")
    # ... from the PyXSError(EAGAIN) the store's "EAGAIN" error becomes.
    c.transaction()
    c.read(b"/py/t")
    c2.write(b"/py/t", b"w")
    c.write(b"/py/u", b"z")
    check(raises(errno.EAGAIN, c.ack, Op.TRANSACTION_END, b"T" + NUL),
          "conflicting TRANSACTION_END raises PyXSError(EAGAIN)")
    c.tx_id = 0
    check(not c2.exists(b"/py/u"), "nothing written by the failed commit (2)")


def watches(c, c2):
    with c.monitor() as m:
        m.watch(b"/py/w", b"tok")
        events = m.wait()
        ev = next(events)
        check((ev.path, ev.token) == (b"/py/w", b"tok"), "initial watch event")
        c2.write(b"/py/w/x", b"1")
        ev = next(events)
        check((ev.path, ev.token) == (b"/py/w/x", b"tok"), "watch event of a change")
        m.watch(b"@introduceDomain", b"intro")
        ev = next(events)
        check((ev.path, ev.token) == (b"@introduceDomain", b"intro"),
              "initial @introduceDomain event")
        c2.introduce_domain(7, 4660, 5)
        ev = next(events)
        check((ev.path, ev.token) == (b"@introduceDomain", b"intro"),
              "@introduceDomain after introduce_domain")
        check(c2.is_domain_introduced(7), "is_domain_introduced")
        c2.ack(Op.RELEASE, b"7" + NUL)  # release_domain() wants a real dom0
        check(not c2.is_domain_introduced(7), "released")


def ids():
    """quirk 2: incrementing rq_id and tx_id echoed, requests in flight."""
    conn = Recording(SOCK)
    with Client(router=Router(conn)) as c:
        c.write(b"/py/ids", b"1")
        c.read(b"/py/ids")
        c.transaction()
        tx = c.tx_id
        c.read(b"/py/ids")
        c.write(b"/py/ids", b"2")
        c.commit()
        check(raises(errno.ENOENT, c.read, b"/py/ids-missing"), "error reply")

        # Eight threads, one connection: replies matched by rq_id only.
        results = []

        def reader():
            for _ in range(50):
                results.append(c.read(b"/py/ids"))

        threads = [threading.Thread(target=reader) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        check(results == [b"2"] * 400, "400 reads from 8 threads on one connection")

    sent = {p.rq_id: p for p in conn.sent}
    rq = [p.rq_id for p in conn.sent]
    check(len(sent) == len(rq) and rq[:7] == list(range(rq[0], rq[0] + 7)),
          "pyxs numbers its requests 1 by 1")
    replies = [p for p in conn.got if p.op != Op.WATCH_EVENT]
    check(len(replies) == len(rq), "one reply per request (%d, %d)" % (len(replies), len(rq)))
    bad = [p for p in replies
           if p.rq_id not in sent
           or p.op not in (sent[p.rq_id].op, Op.ERROR)
           or p.tx_id != sent[p.rq_id].tx_id]
    check(not bad, "every reply echoes rq_id and tx_id with the request's op or ERROR")
    in_tx = [p for p in conn.sent if p.tx_id == tx]
    check(tx != 0 and len(in_tx) == 3, "requests of the transaction carry its tx_id")
    check(len([p for p in replies if p.tx_id == tx]) == 3, "and their replies echo it")


def quota():
    """As domain 5 (pyxs.sh runs this as uid 65534, mapped by --uid-domain)
    against a store with -Q nodes=4 -Q node-size=1024 -Q watches=2
    -Q permissions=3; dom0 made /local/domain/5 (n5, the domain's first
    node) and /secret (n0). Each refusal is the PyXSError errno xenstored's
    answer gives pyxs, and changes nothing."""
    home = b"/local/domain/5"
    with Client(unix_socket_path=SOCK) as c:
        check(c.get_domain_path(5) == home, "domain 5: get_domain_path")
        for k in (b"k1", b"k2", b"k3"):
            c.write(home + b"/" + k, b"v")
        check(raises(errno.ENOSPC, c.write, home + b"/k4", b"v"),
              "domain 5: node 5 over the nodes quota of 4: ENOSPC")
        check(raises(errno.ENOSPC, c.mkdir, home + b"/k4"),
              "domain 5: mkdir over the nodes quota: ENOSPC")
        check(not c.exists(home + b"/k4"), "domain 5: the refused node does not exist")
        check(sorted(c.list(home)) == [b"k1", b"k2", b"k3"], "domain 5: its three nodes")
        c.delete(home + b"/k3")
        c.write(home + b"/k4", b"v")
        check(c.read(home + b"/k4") == b"v", "domain 5: room again after a delete")

        check(raises(errno.ENOSPC, c.write, home + b"/k1", b"x" * 1100),
              "domain 5: a value over node-size 1024: ENOSPC")
        check(c.read(home + b"/k1") == b"v", "domain 5: the old value stays")
        # A payload over 4096 bytes never leaves pyxs (its own check).
        try:
            c.write(home + b"/k1", b"y" * 4096)
            big = "sent"
        except InvalidPayload:
            big = "InvalidPayload"
        check(big == "InvalidPayload", "domain 5: a 4096-byte value: pyxs's InvalidPayload")
        check(c.read(home + b"/k1") == b"v", "domain 5: the connection works after it")

        check(raises(errno.ENOSPC, c.set_perms, home + b"/k1",
                     [b"n5", b"r6", b"r7", b"r8"]),
              "domain 5: 4 permission entries over the quota of 3: ENOSPC")
        c.set_perms(home + b"/k1", [b"n5", b"r6", b"r7"])
        check(c.get_perms(home + b"/k1") == [b"n5", b"r6", b"r7"],
              "domain 5: 3 permission entries are fine")

        check(raises(errno.EACCES, c.read, b"/secret"), "domain 5: read of an n0 node: EACCES")
        check(raises(errno.EACCES, c.write, b"/secret", b"x"),
              "domain 5: write of an n0 node: EACCES")
        check(raises(errno.EACCES, c.exists, b"/secret"),
              "domain 5: exists() of an n0 node raises EACCES")
        check(raises(errno.EACCES, c.list, b"/"), "domain 5: list of /: EACCES")
        check(raises(errno.EACCES, c.ack, Op.INTRODUCE, b"9" + NUL, b"1" + NUL, b"1" + NUL),
              "domain 5: INTRODUCE: EACCES")

        with c.monitor() as m:
            # Each event is taken while its watch is held: pyxs's wait()
            # loops for ever on one of a watch it no longer holds.
            events = m.wait()
            m.watch(home + b"/k1", b"w1")
            m.watch(home + b"/k2", b"w2")
            seen = {next(events), next(events)}
            check(seen == {(home + b"/k1", b"w1"), (home + b"/k2", b"w2")},
                  "domain 5: two watches and their initial events")
            check(raises(errno.E2BIG, m.watch, home + b"/k4", b"w3"),
                  "domain 5: a watch over the watches quota of 2: E2BIG")
            m.unwatch(home + b"/k2", b"w2")
            m.watch(home + b"/k4", b"w3")
            check(next(events) == (home + b"/k4", b"w3"),
                  "domain 5: a watch once one was removed, and its event")


def main():
    if len(sys.argv) > 2 and sys.argv[2] == "quota":
        quota()
        print("pyxs quota: %d failed" % len(FAILS))
        sys.exit(1 if FAILS else 0)
    with Client(unix_socket_path=SOCK) as c, Client(unix_socket_path=SOCK) as c2:
        nodes(c, c2)
        transactions(c, c2)
        watches(c, c2)
    os.environ["XENSTORED_PATH"] = SOCK
    with Client() as c:
        check(c.read(b"/py/a") == b"1", "Client() finds the store through XENSTORED_PATH")
    ids()
    print("pyxs: %d failed" % len(FAILS))
    sys.exit(1 if FAILS else 0)


main()
