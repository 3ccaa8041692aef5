#!/bin/sh
# SPDX-License-Identifier: MIT
# pyxs (python3-pyxs) against the store: read, write, list, exists,
# transactions with commit and with a conflict, get_domain_path, watches
# through Monitor, and the wire details pyxs depends on (quirk 2:
# incrementing rq_id and tx_id echoed, requests in flight from several
# threads). The checks are in pyxs-test.py; pyxs imports only with Debian's
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
xs_finish
