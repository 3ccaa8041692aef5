#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpus of tests/fuzz/fuzz-store-msg.c.

Each seed: one set-up byte (bits 0-1: 0 dom0, 1 domain 5, 2 both with odd
req_ids to domain 5; bit 2: tiny quotas), then xenstore wire requests.
Run from the source tree: tests/store/gen-fuzz-corpus.py
"""
import os
import struct
import sys

T = dict(CONTROL=0, DIRECTORY=1, READ=2, GET_PERMS=3, WATCH=4, UNWATCH=5,
         TRANSACTION_START=6, TRANSACTION_END=7, INTRODUCE=8, RELEASE=9,
         GET_DOMAIN_PATH=10, WRITE=11, MKDIR=12, RM=13, SET_PERMS=14,
         IS_DOMAIN_INTRODUCED=17, RESUME=18, SET_TARGET=19, RESET_WATCHES=21,
         DIRECTORY_PART=22)


class Seq:
    def __init__(self, mode):
        self.b = bytearray([mode])
        self.req = 0

    def raw(self, typ, payload, req=None, tx=0, length=None):
        if req is None:
            self.req += 2 if self.req else 2  # even: dom0 connection
            req = self.req
        n = len(payload) if length is None else length
        self.b += struct.pack('<IIII', typ, req, tx, n) + payload
        return self

    def s(self, typ, *strings, req=None, tx=0):
        return self.raw(T[typ], b''.join(x.encode() + b'\0' for x in strings), req, tx)

    def w(self, path, value, req=None, tx=0):
        return self.raw(T['WRITE'], path.encode() + b'\0' + value.encode(), req, tx)


def seeds():
    out = {}
    q = Seq(0)
    q.w('/a/b', 'v').s('READ', '/a/b').s('DIRECTORY', '/a').s('GET_PERMS', '/a/b')
    q.s('SET_PERMS', '/a/b', 'n0', 'r5').s('MKDIR', '/a/c').s('RM', '/a').s('READ', '/a/b')
    out['basic'] = q
    q = Seq(0)
    q.s('WATCH', '/w', 'tok').w('/w/x', '1').w('/w/x', '2').s('RM', '/w')
    q.s('UNWATCH', '/w', 'tok').s('WATCH', '/', 'all').w('/z', '1').s('RESET_WATCHES', '')
    out['watch'] = q
    q = Seq(0)
    q.w('/t/a', '0').s('TRANSACTION_START', '').w('/t/a', '1', tx=1).s('READ', '/t/a', tx=1)
    q.s('DIRECTORY', '/t', tx=1).s('TRANSACTION_END', 'T', tx=1)
    q.s('TRANSACTION_START', '').s('RM', '/t', tx=2).w('/t/b', '2').s('TRANSACTION_END', 'T', tx=2)
    q.s('TRANSACTION_START', '').w('/u/v', 'x', tx=3).s('TRANSACTION_END', 'F', tx=3)
    out['transaction'] = q
    q = Seq(2)
    q.s('MKDIR', '/local/domain/5', req=2).s('SET_PERMS', '/local/domain/5', 'n5', req=4)
    q.w('data/x', '1', req=1).s('WATCH', 'data', 'rel', req=3).w('data/y', '2', req=5)
    q.s('TRANSACTION_START', '', req=7).w('data/z', '3', req=9, tx=1)
    q.s('TRANSACTION_END', 'T', req=11, tx=1).w('/local/domain/5/data/w', 'd0', req=6)
    q.s('READ', '/tool', req=13).s('GET_PERMS', 'data/x', req=15)
    q.s('SET_PERMS', 'data/x', 'n5', 'r0', req=17).s('SET_PERMS', 'data/x', 'n6', req=19)
    out['domain'] = q
    q = Seq(6)
    q.s('MKDIR', '/local/domain/5', req=2).s('SET_PERMS', '/local/domain/5', 'n5', req=4)
    for i in range(12):
        q.w('n%d' % i, 'x' * (i * 7), req=2 * i + 1)
    for i in range(6):
        q.s('WATCH', 'w%d' % i, 't', req=31 + 2 * i)
        q.s('TRANSACTION_START', '', req=61 + 2 * i)
    q.w('a/b/c/d/e/f/g/h/i/j/k/l/m', 'deep', req=101)
    out['quotas'] = q
    q = Seq(0)
    q.s('CONTROL', 'help').s('CONTROL', 'quota').s('CONTROL', 'quota', 'set', 'nodes', '5')
    q.s('CONTROL', 'quota-set', 'watches', '3').s('CONTROL', 'quota', '0').s('CONTROL', 'check')
    q.s('CONTROL', 'log', 'debug').s('CONTROL', 'print', 'x').s('CONTROL', 'nope')
    out['control'] = q
    q = Seq(0)
    q.s('WATCH', '@introduceDomain', 'i').s('WATCH', '@releaseDomain', 'r')
    q.s('INTRODUCE', '7', '0', '1').s('IS_DOMAIN_INTRODUCED', '7').s('INTRODUCE', '8', '0', '1')
    q.s('SET_TARGET', '7', '8').s('RESUME', '7').w('/local/domain/7/x', '1')
    q.s('SET_PERMS', '/local/domain/7', 'n7', 'r8').s('RELEASE', '7').s('GET_DOMAIN_PATH', '7')
    q.s('IS_DOMAIN_INTRODUCED', '7').s('RELEASE', '0')
    out['domains'] = q
    q = Seq(0)
    for i in range(300):
        q.w('/big/child-%04d-xxxxxxxxxx' % i, '')
    q.s('DIRECTORY', '/big').s('DIRECTORY_PART', '/big', '0').s('DIRECTORY_PART', '/big', '4000')
    q.s('DIRECTORY_PART', '/big', '99999')
    out['dirpart'] = q
    q = Seq(0)
    q.s('READ', '').s('READ', '/a//b').s('READ', '/a/').s('READ', '@x').raw(T['READ'], b'/nonul')
    q.raw(99, b'x\0').raw(20, b'').raw(15, b'/a\0t\0').s('TRANSACTION_END', 'T')
    q.s('READ', '/', tx=77).raw(T['WRITE'], b'/v\0bin\0ary\xff')
    q.raw(T['READ'], b'/a\0', length=5000)
    out['errors'] = q
    q = Seq(1)
    q.s('READ', '/tool').s('WRITE', '/x', 'y').s('CONTROL', 'help').s('INTRODUCE', '9', '0', '1')
    q.s('WATCH', '/', 'x').s('GET_DOMAIN_PATH', '5').s('MKDIR', 'home')
    out['unprivileged'] = q
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    d = os.path.join(here, '..', 'fuzz', 'corpus', 'store-msg')
    os.makedirs(d, exist_ok=True)
    for name, q in sorted(seeds().items()):
        with open(os.path.join(d, name), 'wb') as f:
            f.write(bytes(q.b))
    return 0


if __name__ == '__main__':
    sys.exit(main())
