#!/bin/sh
# SPDX-License-Identifier: MIT
# configure found no libxenstore (pkg-config xenstore; Debian: libxen-dev),
# so the tests against Xen's real xenstore clients were not built. A skip,
# except in CI (CI=true), which installs every peer.
if [ "${CI:-}" = true ]; then
	echo "FAIL (CI=true, skipping is not allowed): libxenstore not found by configure"
	exit 1
fi
echo "SKIP: libxenstore not found by configure (install libxen-dev and re-run configure)"
exit 77
