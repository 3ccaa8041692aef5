#!/bin/sh
# SPDX-License-Identifier: MIT
# What xenstore-utils show when the store says no, as on Xen:
#  - no store at all: "xs_open: No such file or directory";
#  - permissions: uid 65534, which the daemon maps to unprivileged domain 5
#    (--uid-domain 65534:5), against dom0's nodes (n0 means nobody else);
#    quirk 9: the root CLI on the same socket is the privileged domain 0;
#  - quotas: with -Q nodes=5 domain 5 owns five nodes at most, and the
#    sixth xenstore-write fails; -Q node-size limits a value.
# Without root (no setpriv to uid 65534) only the first part runs.
. "$top_srcdir/tests/interop/xenstore/lib.sh"
need_cmd xenstore-read xenstore-utils
need_cmd timeout coreutils

as5=$xs_as5

# ---- no store
XENSTORED_PATH=$xs_tmp/nothing-here
export XENSTORED_PATH
check_err "xenstore-read without a store" 1 "xenstore-read: xs_open: No such file or directory" \
	xenstore-read /x
if [ ! -e /dev/xen/xenbus ] && [ ! -e /proc/xen/xenbus ]; then
	mkdir "$xs_tmp/empty-rundir"
	check_err "xenstore-read without a store (XENSTORED_RUNDIR)" 1 \
		"xenstore-read: xs_open: No such file or directory" \
		env -u XENSTORED_PATH XENSTORED_RUNDIR="$xs_tmp/empty-rundir" xenstore-read /x
fi

# The rest runs the CLI as uid 65534 (domain 5): without root, only the
# part above has run.
why=$(xs_no_as5)
if [ -n "$why" ]; then
	skip_part "the permission and quota checks as domain 5: $why"
	xs_finish
fi

# ---- permissions
xs_start perms --uid-domain 65534:5
chmod 666 "$xs_sock"
XENSTORED_PATH=$xs_sock
check "dom0: /secret (inherits n0 from /)" 0 "" xenstore-write /secret s
check "dom0: /shared" 0 "" xenstore-write /shared s
check "dom0: /shared readable by domain 5" 0 "" xenstore-chmod /shared n0 r5
check "dom0: /local/domain/5" 0 "" xenstore-write /local/domain/5 ""
check "dom0: /local/domain/5 owned by domain 5" 0 "" xenstore-chmod /local/domain/5 n5

check_err "domain 5 cannot read an n0 node" 1 "xenstore-read: couldn't read path /secret" \
	$as5 xenstore-read /secret
check "domain 5 cannot see it exists" 1 "" $as5 xenstore-exists /secret
check_err "domain 5 cannot list /: EACCES as the CLI prints it" 1 \
	"xenstore-ls: xs_directory (/): Permission denied" $as5 xenstore-ls /
check_err "domain 5 cannot write an n0 node" 1 "xenstore-write: could not write path /secret" \
	$as5 xenstore-write /secret x
check_err "domain 5 cannot remove an n0 node" 1 "xenstore-rm: could not remove path /secret" \
	$as5 xenstore-rm /secret
check "domain 5 reads an r5 node" 0 "s" $as5 xenstore-read /shared
check_err "domain 5 cannot write an r5 node" 1 "xenstore-write: could not write path /shared" \
	$as5 xenstore-write /shared x
check "domain 5 writes in its home" 0 "" $as5 xenstore-write /local/domain/5/mine v
check "domain 5 writes a relative path" 0 "" $as5 xenstore-write rel r
check "relative paths are below /local/domain/5" 0 "r" xenstore-read /local/domain/5/rel
xs_run xenstore-ls -f -p /local/domain/5
expect "domain 5 owns what it made" "$(printf '%s\n' "$out" | grep -E '^/local/domain/5/mine ' |
	sed 's/.*(/(/')" "(n5)"
check_err "domain 5 cannot give a node away (EPERM)" 1 \
	"xenstore-chmod: Error occurred setting permissions on '/local/domain/5/mine': Operation not permitted" \
	$as5 xenstore-chmod /local/domain/5/mine n6
check "domain 5 may grant read access" 0 "" $as5 xenstore-chmod /local/domain/5/mine n5 r6
check "dom0 still reads everything" 0 "s
v" xenstore-read /secret /local/domain/5/mine
check "dom0 reads the secret unchanged" 0 "s" xenstore-read /secret
xs_stop perms "$xs_pid"
check_err "the stopped daemon removed its socket" 1 "xenstore-read: xs_open: No such file or directory" \
	xenstore-read /secret

# ---- quotas
xs_start quota --uid-domain 65534:5 -Q nodes=5 -Q node-size=1024
chmod 666 "$xs_sock"
XENSTORED_PATH=$xs_sock
check "dom0: home of domain 5" 0 "" xenstore-write /local/domain/5 ""
check "dom0: owned by domain 5 (its first node)" 0 "" xenstore-chmod /local/domain/5 n5
for k in 1 2 3 4; do
	check "domain 5: node $((k + 1)) of 5" 0 "" $as5 xenstore-write /local/domain/5/k$k v
done
check_err "domain 5: node 6 is over the nodes quota" 1 \
	"xenstore-write: could not write path /local/domain/5/k5" \
	$as5 xenstore-write /local/domain/5/k5 v
check "the refused node does not exist" 1 "" xenstore-exists /local/domain/5/k5
check "domain 5 frees one" 0 "" $as5 xenstore-rm /local/domain/5/k4
check "and may write again" 0 "" $as5 xenstore-write /local/domain/5/k5 v
check_err "domain 5: a value over node-size" 1 \
	"xenstore-write: could not write path /local/domain/5/k1" \
	$as5 xenstore-write /local/domain/5/k1 "$(head -c 2000 /dev/zero | tr '\0' v)"
check "the old value stays" 0 "v" xenstore-read /local/domain/5/k1
check "dom0 has no quota" 0 "" xenstore-write /dom0/a 1 /dom0/b 2 /dom0/c 3 /dom0/d 4 /dom0/e 5 /dom0/f 6
xs_stop quota "$xs_pid"
xs_finish
