#!/bin/sh
# SPDX-License-Identifier: MIT
# pyxs (python3-pyxs) against the store: read, write, list, exists,
# transactions with commit and with a conflict, get_domain_path, watches
# through Monitor, and the wire details pyxs depends on (quirk 2:
# incrementing rq_id and tx_id echoed, requests in flight from several
# threads); then, as root, pyxs as the unprivileged domain 5 (uid 65534,
# --uid-domain) against small quotas: ENOSPC, E2BIG and EACCES as
# PyXSError. The checks are in pyxs-test.py; pyxs imports only with Debian's
# /usr/bin/python3 ($PYTHON3, from configure).
. "$top_srcdir/tests/interop/xenstore/lib.sh"
need_cmd timeout coreutils
py=${PYTHON3:-/usr/bin/python3}
[ -n "$py" ] && [ -x "$py" ] || skip "python3 not found (Debian package python3)"
"$py" -c 'import pyxs' 2>/dev/null || skip "pyxs does not import with $py (Debian package python3-pyxs)"

xs_start pyxs
xs_run env XS_T="$xs_t" "$py" "$xs_src/pyxs-test.py" "$xs_sock"
printf '%s\n' "$out"
[ -n "$err" ] && printf '%s\n' "$err"
if [ "$rc" -eq 0 ]; then
	ok "pyxs-test.py"
else
	fail "pyxs-test.py: exit $rc"
fi
xs_stop pyxs "$xs_pid"

# ---- as domain 5 (uid 65534, needs root) against small quotas
why=$(xs_no_as5)
if [ -n "$why" ]; then
	skip_part "pyxs as domain 5 (quotas, denials): $why"
else
	xs_start pyxs5 --uid-domain 65534:5 -Q nodes=4 -Q node-size=1024 -Q watches=2 \
		-Q permissions=3
	chmod 666 "$xs_sock"
	check "dom0: /secret" 0 "" "$xs_bin/xs-wire" put "$xs_sock" /secret 73
	check "dom0: /local/domain/5" 0 "" "$xs_bin/xs-wire" put "$xs_sock" /local/domain/5 ""
	check "dom0: owned by domain 5" 0 "" "$xs_bin/xs-wire" perms "$xs_sock" /local/domain/5 n5
	# shellcheck disable=SC2086
	xs_run env XS_T="$xs_t" $xs_as5 "$py" "$xs_src/pyxs-test.py" "$xs_sock" quota
	printf '%s\n' "$out"
	[ -n "$err" ] && printf '%s\n' "$err"
	if [ "$rc" -eq 0 ]; then
		ok "pyxs-test.py quota (as domain 5)"
	else
		fail "pyxs-test.py quota (as domain 5): exit $rc"
	fi
	xs_stop pyxs5 "$xs_pid"
fi
xs_finish
