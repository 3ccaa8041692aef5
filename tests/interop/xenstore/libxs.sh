#!/bin/sh
# SPDX-License-Identifier: MIT
# Xen's libxenstore (linked into xs-libxs, see xs-libxs.c) against the
# store: the API as the privileged domain 0, through xs-proxy so that the
# bytes libxenstore sends are checked too (quirk 1: nothing before the
# first request; quirk 2: req_id 0 always; quirk 3: reply types; quirk 4:
# a 4096-byte reply in one message; quirk 7: DIRECTORY_PART only after
# E2BIG); a value of exactly 4096 bytes (quirk 4, from a state file); what
# libxenstore does when a server breaks a rule (injected by the proxy: an
# unknown error name, a wrong reply type, a 4097-byte reply, no
# DIRECTORY_PART): the reasons the store must not. Then, as root, as the
# unprivileged domain 5 (uid 65534 mapped by --uid-domain): denials,
# relative paths, watch events filtered by read permission; and against a
# store with small quotas (-Q), the errno libxenstore reports for each:
# ENOSPC (nodes, node-size, transactions, permissions), E2BIG (watches, and
# libxenstore's own for a value no request can carry), EACCES. Without
# root only the domain 5 part is skipped.
. "$top_srcdir/tests/interop/xenstore/lib.sh"
need_cmd timeout coreutils

run_libxs() {
	xs_run "$@"
	printf '%s\n' "$out"
	[ -n "$err" ] && printf '%s\n' "$err"
	if [ "$rc" -eq 0 ]; then
		ok "$*"
	else
		fail "$*: exit $rc"
	fi
}

xs_start libxs --uid-domain 65534:5
chmod 666 "$xs_sock"

# ---- the API, through the proxy
xs_proxy px "$xs_sock"
XENSTORED_PATH=$px_sock
export XENSTORED_PATH
run_libxs $xs_vg "$xs_bin/xs-libxs" api
expect "quirk 2: libxenstore sends req_id 0 only" \
	"$(grep -E '^C[0-9]+> ' "$px_log" | grep -Evc ' req=0 ')" 0
expect "quirk 1: each connection starts with a request, not a reply" \
	"$(awk '/^C[0-9]+[<>] / { c = substr($1, 1, length($1) - 1);
		if (!(c in seen)) { seen[c] = 1; if ($1 !~ />$/) print } }' "$px_log")" ""
bad=$(awk '
	/^C[0-9]+> / { split($1, c, ">"); req[c[1]] = $2; next }
	/^C[0-9]+< / { split($1, c, "<"); if ($2 == "WATCH_EVENT") next;
		if ($2 != req[c[1]] && $2 != "ERROR") print }' "$px_log")
expect "quirk 3: every reply has its request's type or ERROR" "$bad" ""
wire_has "quirk 4: xs_directory of a 4096-byte list: one DIRECTORY reply of 4096 bytes" \
	'^C[0-9]+< DIRECTORY req=0 tx=0 len=4096 '
wire_lacks "quirk 4: no WRITE over 4096 bytes left libxenstore" ' len=(409[7-9]|4[1-9][0-9][0-9]|[5-9][0-9]{3}|[0-9]{5,}) '
wire_has "quirk 7: DIRECTORY_PART for the 4097-byte list" \
	'^C[0-9]+> DIRECTORY_PART req=0 tx=0 len=[0-9]+ /api/d4097\\00\\0$'
wire_lacks "quirk 7: no DIRECTORY_PART for the 4096-byte list" '> DIRECTORY_PART .*/api/d4096'
wire_has "the conflict: EAGAIN from the store" '^C[0-9]+< ERROR req=0 tx=[1-9][0-9]* len=7 EAGAIN\\0$'
xs_proxy_stop px "$px_pid"

# ---- quirk 4: a value of exactly 4096 bytes (READ reply of 4096 bytes),
# loaded from a state file since no WRITE can carry it with its path
"$xs_bin/xs-wire" mkstate "$xs_tmp/big.state" || die "xs-wire mkstate failed"
main_sock=$xs_sock
main_pid=$xs_pid
xs_start big --state "$xs_tmp/big.state"
XENSTORED_PATH=$xs_sock
run_libxs $xs_vg "$xs_bin/xs-libxs" big
xs_stop big "$xs_pid"
xs_sock=$main_sock
xs_pid=$main_pid

# ---- a server that breaks the rules (injected by the proxy)
xs_proxy pxi "$xs_sock" --inject /inject/unknown=error:EWHATEVER \
	--inject /inject/known=error:EACCES --inject /inject/badtype=type:11 \
	--inject /inject/oversize=oversize --inject 22:/inject/big=error:ENOSYS
XENSTORED_PATH=$px_sock
run_libxs $xs_vg "$xs_bin/xs-libxs" client-quirks
xs_proxy_stop pxi "$px_pid"

# ---- as domain 5 (needs root: the clients run as uid 65534)
as_domain5() {
	check "dom0: /secret (n0 from /)" 0 "" "$xs_bin/xs-wire" put "$xs_sock" /secret 73
	check "dom0: /shared" 0 "" "$xs_bin/xs-wire" put "$xs_sock" /shared 73
	check "dom0: /shared readable by domain 5" 0 "" "$xs_bin/xs-wire" perms "$xs_sock" /shared n0 r5
	check "dom0: /local/domain/5" 0 "" "$xs_bin/xs-wire" put "$xs_sock" /local/domain/5 ""
	check "dom0: owned by domain 5" 0 "" "$xs_bin/xs-wire" perms "$xs_sock" /local/domain/5 n5
	check "dom0: /both" 0 "" "$xs_bin/xs-wire" put "$xs_sock" /both 62
	check "dom0: /both read-write for domain 5" 0 "" "$xs_bin/xs-wire" perms "$xs_sock" /both n0 b5
	check "dom0: /wonly" 0 "" "$xs_bin/xs-wire" put "$xs_sock" /wonly 77
	check "dom0: /wonly write-only for domain 5" 0 "" "$xs_bin/xs-wire" perms "$xs_sock" /wonly n0 w5
	XENSTORED_PATH=$xs_sock
	run_libxs $xs_as5 $xs_vg "$xs_bin/xs-libxs" unpriv

	# quotas: /local/domain/5 is the domain's first node of 4
	main_sock=$xs_sock
	main_pid=$xs_pid
	xs_start quota --uid-domain 65534:5 -Q nodes=4 -Q node-size=1024 -Q watches=2 \
		-Q transactions=2 -Q permissions=3
	chmod 666 "$xs_sock"
	check "quota: dom0: /secret" 0 "" "$xs_bin/xs-wire" put "$xs_sock" /secret 73
	check "quota: dom0: /local/domain/5" 0 "" "$xs_bin/xs-wire" put "$xs_sock" /local/domain/5 ""
	check "quota: dom0: owned by domain 5" 0 "" "$xs_bin/xs-wire" perms "$xs_sock" /local/domain/5 n5
	XENSTORED_PATH=$xs_sock
	run_libxs $xs_as5 $xs_vg "$xs_bin/xs-libxs" quota
	xs_stop quota "$xs_pid"
	xs_sock=$main_sock
	xs_pid=$main_pid
}
why=$(xs_no_as5)
if [ -n "$why" ]; then
	skip_part "libxenstore as domain 5 (denials, quotas): $why"
else
	as_domain5
fi

xs_stop libxs "$xs_pid"
xs_finish
