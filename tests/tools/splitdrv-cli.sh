#!/bin/sh
# SPDX-License-Identifier: MIT
# The splitdrv toolstack against a real store daemon: what it writes is
# read back with Xen's own xenstore-utils, so "the way libxl does" is
# checked by software nobody here wrote. Under make check-valgrind the
# toolstack and the daemon run under memcheck (VALGRIND_DEMO).
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/tools/lib.sh"

need_tool xenstore-read xenstore-utils
need_tool xenstore-ls xenstore-utils
need_tool "${PYTHON3:-python3}" python3
PY=${PYTHON3:-python3}
# keys DIR: the names in DIR, sorted, on one line.
keys() { xenstore-list "$1" | sort | tr '\n' ' '; }
# json_check JSON PYTHON-EXPR...: each expression over d (the parsed JSON) holds.
json_check() {
	j=$1
	shift
	for e in "$@"; do
		printf '%s' "$j" | $PY -c 'import json, sys
d = json.load(sys.stdin)
assert eval(sys.argv[1]), (sys.argv[1], d)' "$e" || fail "JSON [$j]: $e does not hold"
	done
}

store_start
SD="${VALGRIND_DEMO:-} $top_builddir/tools/splitdrv"
sd() { $SD "$@"; }

# Usage errors are 2, --help is 0.
sd --help | grep -q 'device-add DOMAIN TYPE' || fail "--help does not list device-add"
sd >/dev/null 2>&1; [ $? -eq 2 ] || fail "no command: exit status is not 2"
sd frobnicate >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown command: exit status is not 2"

# create
out=$(sd create guest1) || fail "create guest1: $out"
[ "$out" = "guest1: domain 1" ] || fail "create said: $out"
expect_read /local/domain/1/name guest1
expect_read /local/domain/1/domid 1
vm=$(xenstore-read /local/domain/1/vm) || fail "no vm key"
expect_read "$vm/name" guest1
perms=$(xenstore-ls -p /local/domain | sed -n 's/^1 = "" *//p')
case "$perms" in *"(n0,r1)"*) ;; *) fail "domain home perms are '$perms', not (n0,r1)" ;; esac
perms=$(xenstore-ls -p /local/domain/1 | sed -n 's/^device = "" *//p')
case "$perms" in *"(n1)"*) ;; *) fail "device/ perms are '$perms', not (n1)" ;; esac
sd create guest1 >/dev/null 2>&1 && fail "a second guest1 was created"
sd create 42 >/dev/null 2>&1 && fail "a domain named with a number was created"
sd create 'bad/name' >/dev/null 2>&1 && fail "a name with a slash was accepted"
out=$(sd --json create g7 --domid 7) || fail "create --domid 7: $out"
echo "$out" | $PY -c 'import json,sys; d=json.load(sys.stdin); assert d["domid"]==7 and d["name"]=="g7", d' ||
	fail "create --json gave: $out"
sd create again --domid 7 >/dev/null 2>&1 && fail "domid 7 was reused"

# device-add vbd: Xen's numbering, both directories, libxl's permissions.
img=$TMP/disk.img
: >"$img"
out=$(sd device-add guest1 vbd target="$img" vdev=xvdb mode=r) || fail "vbd add: $out"
[ "$out" = "domain 1: vbd 51728 added (backend domain 0)" ] || fail "vbd add said: $out"
fe=/local/domain/1/device/vbd/51728
be=/local/domain/0/backend/vbd/1/51728
# libxl's frontend keys of a disk, nothing else: the guest's blkfront reads them.
[ "$(keys $fe)" = "backend backend-id device-type state virtual-device " ] ||
	fail "vbd frontend keys: $(keys $fe)"
expect_read $fe/device-type disk
expect_read $fe/backend $be
expect_read $fe/backend-id 0
expect_read $fe/state 1
expect_read $fe/virtual-device 51728
expect_read $be/frontend $fe
expect_read $be/frontend-id 1
expect_read $be/online 1
expect_read $be/state 1
expect_read $be/params "$img"
expect_read $be/mode r
expect_read $be/dev xvdb
expect_read /libxl/1/device/vbd/51728/backend $be
perms=$(xenstore-ls -p /local/domain/1/device/vbd | sed -n 's/^51728 = "" *//p')
case "$perms" in *"(n1,r0)"*) ;; *) fail "frontend perms '$perms', not (n1,r0)" ;; esac
perms=$(xenstore-ls -p /local/domain/0/backend/vbd/1 | sed -n 's/^51728 = "" *//p')
case "$perms" in *"(n0,r1)"*) ;; *) fail "backend perms '$perms', not (n0,r1)" ;; esac
sd device-add guest1 vbd target="$img" vdev=xvdb >/dev/null 2>&1 && fail "xvdb added twice"
sd device-add guest1 vbd vdev=xvdc >/dev/null 2>&1 && fail "a vbd without target was added"
sd device-add guest1 vbd target="$img" vdev=hda >/dev/null 2>&1 &&
	fail "an unnumbered vdev was accepted without --devid"

# vif and pci
out=$(sd --json device-add guest1 vif bridge=xenbr0 rate=1000000,20000) || fail "vif: $out"
echo "$out" | $PY -c 'import json,sys; d=json.load(sys.stdin); assert d["devid"]==0 and d["type"]=="vif", d' ||
	fail "vif add --json gave: $out"
mac=$(xenstore-read /local/domain/1/device/vif/0/mac) || fail "no vif mac"
case "$mac" in 00:16:3e:??:??:??) ;; *) fail "vif mac '$mac' is not in Xen's range" ;; esac
expect_read /local/domain/0/backend/vif/1/0/bridge xenbr0
expect_read /local/domain/0/backend/vif/1/0/rate 1000000,20000
expect_read /local/domain/0/backend/vif/1/0/mac "$mac"
# libxl's frontend keys of a nic (no mtu given), nothing else; netfront reads them.
vfe=/local/domain/1/device/vif/0
vbe=/local/domain/0/backend/vif/1/0
[ "$(keys $vfe)" = "backend backend-id handle mac state " ] || fail "vif frontend keys: $(keys $vfe)"
expect_read $vfe/handle 0
expect_read $vfe/backend $vbe
expect_read $vfe/backend-id 0
expect_read $vfe/state 1
expect_read $vbe/frontend $vfe
expect_read $vbe/frontend-id 1
expect_read $vbe/handle 0
expect_read $vbe/type vif
expect_read $vbe/online 1
expect_read $vbe/state 1
perms=$(xenstore-ls -p /local/domain/1/device/vif | sed -n 's/^0 = "" *//p')
case "$perms" in *"(n1,r0)"*) ;; *) fail "vif frontend perms '$perms', not (n1,r0)" ;; esac
sd device-add guest1 vif mac=zz:zz >/dev/null 2>&1 && fail "a bad mac was accepted"
sd device-add guest1 pci bdf=0000:00:01.0 --backend g7 >/dev/null || fail "pci add"
expect_read /local/domain/7/backend/pci/1/0/dev-0 0000:00:01.0
expect_read /local/domain/7/backend/pci/1/0/domain g7
# The pci frontend directory (what pcifront reads first): the generic keys only,
# pointing at the backend in domain 7, which may read it.
pfe=/local/domain/1/device/pci/0
pbe=/local/domain/7/backend/pci/1/0
[ "$(keys $pfe)" = "backend backend-id state " ] || fail "pci frontend keys: $(keys $pfe)"
expect_read $pfe/backend $pbe
expect_read $pfe/backend-id 7
expect_read $pfe/state 1
expect_read $pbe/frontend $pfe
expect_read $pbe/frontend-id 1
expect_read $pbe/online 1
expect_read $pbe/state 1
expect_read $pbe/num_devs 1
expect_read $pbe/key-0 0000:00:01.0
expect_read $pbe/state-0 1
perms=$(xenstore-ls -p /local/domain/1/device/pci | sed -n 's/^0 = "" *//p')
case "$perms" in *"(n1,r7)"*) ;; *) fail "pci frontend perms '$perms', not (n1,r7)" ;; esac
perms=$(xenstore-ls -p /local/domain/7/backend/pci/1 | sed -n 's/^0 = "" *//p')
case "$perms" in *"(n7,r1)"*) ;; *) fail "pci backend perms '$perms', not (n7,r1)" ;; esac
sd device-add guest1 pci bdf=nonsense >/dev/null 2>&1 && fail "a bad bdf was accepted"

# list and device-list, readable and JSON
sd list | grep -q '^guest1 *1$' || fail "list does not show guest1"
sd list | grep -q 'vbd  51728' || fail "list does not show the vbd"
sd --json list | $PY -c '
import json, sys
doms = {d["name"]: d for d in json.load(sys.stdin)}
g = doms["guest1"]
assert g["domid"] == 1, g
kinds = sorted((x["type"], x["devid"]) for x in g["devices"])
assert kinds == [("pci", 0), ("vbd", 51728), ("vif", 0)], kinds
vbd = [x for x in g["devices"] if x["type"] == "vbd"][0]
assert vbd["frontend-state"] == "Initialising" and vbd["backend-state"] == "Initialising", vbd
' || fail "list --json is wrong"
[ "$(sd --json device-list guest1 vif | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 1 ] ||
	fail "device-list vif does not give one device"
# device-list, readable: type, id, backend domain, both states, what it is.
out=$(sd device-list guest1) || fail "device-list: $out"
[ "$(printf '%s\n' "$out" | tr -s ' ' | sed 's/^ //')" = "vbd 51728 backend 0 Initialising / Initialising $img
vif 0 backend 0 Initialising / Initialising $mac
pci 0 backend 7 Initialising / Initialising 0000:00:01.0" ] || fail "device-list printed:
$out"
out=$(sd device-list guest1 pci) || fail "device-list pci: $out"
[ "$(printf '%s\n' "$out" | tr -s ' ')" = " pci 0 backend 7 Initialising / Initialising 0000:00:01.0" ] ||
	fail "device-list guest1 pci printed: $out"
[ -z "$(sd device-list g7)" ] || fail "device-list of a domain without devices printed something"
sd device-list guest1 nonsense >/dev/null 2>&1; [ $? -eq 2 ] || fail "device-list of a bad type: exit status is not 2"
sd device-list nobody >/dev/null 2>&1; [ $? -eq 1 ] || fail "device-list of an unknown domain: exit status is not 1"
# and as JSON: every field of each device
out=$(sd --json device-list guest1) || fail "device-list --json: $out"
json_check "$out" 'len(d) == 3' \
	'[(x["type"], x["devid"], x["backend-id"]) for x in d] == [("vbd", 51728, 0), ("vif", 0, 0), ("pci", 0, 7)]' \
	'all(x["frontend-state"] == "Initialising" and x["backend-state"] == "Initialising" for x in d)' \
	'[x["backend"] for x in d] == ["'$be'", "'$vbe'", "'$pbe'"]' \
	'[x["detail"] for x in d] == ["'"$img"'", "'"$mac"'", "0000:00:01.0"]'
json_check "$(sd --json device-list g7)" 'd == []'
# list --json: every domain, named, with its devices; domain 0 too
out=$(sd --json list) || fail "list --json: $out"
json_check "$out" '[(x["domid"], x["name"]) for x in d if x["domid"] != 0] == [(1, "guest1"), (7, "g7")]' \
	'[x["devices"] for x in d if x["domid"] == 7] == [[]]' \
	'[len(x["devices"]) for x in d if x["domid"] == 1] == [3]' \
	'[x["devices"][2]["backend"] for x in d if x["domid"] == 1] == ["'$pbe'"]'
# device-add and a forced device-remove as JSON (a cdrom at xvdc)
out=$(sd --json device-add guest1 vbd target="$img" vdev=xvdc device-type=cdrom) || fail "xvdc: $out"
json_check "$out" 'd == {"domid": 1, "type": "vbd", "devid": 51744, "backend-id": 0}'
expect_read /local/domain/1/device/vbd/51744/device-type cdrom
expect_read /local/domain/1/device/vbd/51744/virtual-device 51744
expect_read /local/domain/0/backend/vbd/1/51744/device-type cdrom
out=$(sd --json device-remove guest1 vbd 51744 --force) || fail "xvdc removal: $out"
json_check "$out" 'd == {"domid": 1, "type": "vbd", "devid": 51744, "removed": True}'
gone /local/domain/1/device/vbd/51744
gone /local/domain/0/backend/vbd/1/51744
gone /libxl/1/device/vbd/51744

# device-remove with a backend that closes: it sees Closing (5), answers Closed (6).
(
	for _ in $(seq 1 400); do
		[ "$(xenstore-read /local/domain/0/backend/vif/1/0/state 2>/dev/null)" = 5 ] &&
			{ xenstore-write /local/domain/0/backend/vif/1/0/state 6; exit 0; }
		sleep 0.05
	done
) &
responder=$!
out=$(sd device-remove guest1 vif 0) || fail "remove with a closing backend: $out"
wait $responder
[ "$out" = "domain 1: vif 0 removed" ] || fail "device-remove said: $out"
gone /local/domain/1/device/vif/0
gone /local/domain/0/backend/vif/1/0
gone /libxl/1/device/vif/0

# A backend that never closes does not keep its device.
out=$(sd --timeout 1 device-remove guest1 pci 0 2>&1) && fail "a silent backend gave exit 0"
echo "$out" | grep -q 'did not close' || fail "no message about the silent backend: $out"
gone /local/domain/7/backend/pci/1/0

# The guest rewrites its frontend's backend pointer: removal follows the
# toolstack's record, not the guest's word.
xenstore-write /local/domain/1/device/vbd/51728/backend /tool/xenstored
sd --timeout 1 device-remove guest1 vbd 51728 --force >/dev/null || fail "forced vbd removal"
gone $be
xenstore-exists /tool/xenstored || fail "removal followed the guest's pointer to /tool/xenstored"
# Without the toolstack's record the guest's pointer is all there is: it is
# followed only to this very device's own backend directory, never to
# another guest's.
sd device-add g7 vbd target="$img" vdev=xvdd >/dev/null || fail "g7's xvdd"
sd device-add guest1 vbd target="$img" vdev=xvdd >/dev/null || fail "guest1's xvdd"
xenstore-rm /libxl/1/device/vbd/51760 || fail "removing the toolstack's record"
for forged in /local/domain/0/backend/vbd/7/51760 /local/domain/0/backend/vbd/1/51761 \
	/local/domain/0/backend/vbd/1 /local/domain/00/backend/vbd/1/51760 \
	/local/domain/0/backend/vbd/1/51760/../../7/51760; do
	xenstore-write /local/domain/1/device/vbd/51760/backend "$forged"
	out=$(sd --timeout 1 device-remove guest1 vbd 51760 --force 2>&1) &&
		fail "removal followed the guest's pointer to $forged"
	echo "$out" | grep -q 'bad backend path' || fail "a forged pointer ($forged): $out"
	xenstore-exists /local/domain/0/backend/vbd/7/51760 ||
		fail "the pointer $forged removed another guest's backend"
	xenstore-exists /local/domain/0/backend/vbd/1/51760 ||
		fail "the pointer $forged removed the device's backend anyway"
done
xenstore-write /local/domain/1/device/vbd/51760/backend /local/domain/0/backend/vbd/1/51760
sd --timeout 1 device-remove guest1 vbd 51760 --force >/dev/null ||
	fail "removal by the guest's pointer to its own backend"
gone /local/domain/0/backend/vbd/1/51760
gone /local/domain/1/device/vbd/51760
sd --timeout 1 device-remove g7 vbd 51760 --force >/dev/null || fail "g7's xvdd removal"
gone /local/domain/0/backend/vbd/7/51760

# destroy
sd device-add guest1 vbd target="$img" >/dev/null || fail "vbd re-add"
# (its backend never closes: destroy waits 1 s, removes it anyway and says so)
out=$(sd --json --timeout 1 destroy guest1 2>"$TMP/err") || fail "destroy --json: $out"
json_check "$out" 'd == {"domid": 1, "destroyed": True, "late-backends": 1}'
grep -q 'did not close' "$TMP/err" || fail "destroy: no message about the late backend: $(cat "$TMP/err")"
gone /local/domain/1
gone /libxl/1
gone "$vm"
gone /local/domain/0/backend/vbd/1
sd list | grep -q guest1 && fail "guest1 is still listed"
sd destroy guest1 >/dev/null 2>&1 && fail "destroying a gone domain succeeded"
sd destroy 0 >/dev/null 2>&1 && fail "domain 0 was destroyed"
out=$(sd destroy g7) || fail "destroy g7: $out"
[ "$out" = "domain 7 destroyed" ] || fail "destroy said: $out"
gone /local/domain/7
json_check "$(sd --json list)" '[x["domid"] for x in d if x["domid"] != 0] == []'

store_stop
echo "PASS: splitdrv toolstack"
