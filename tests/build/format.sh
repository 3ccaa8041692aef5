#!/bin/sh
# SPDX-License-Identifier: MIT
# One style for all C in the tree: every .c and .h file of the source tree
# is as clang-format (with the tree's .clang-format) would write it. Fix a
# failure with `clang-format -i FILE`.
set -u
: "${top_srcdir:?}"
if ! command -v clang-format >/dev/null 2>&1; then
	if [ "${CI:-}" = true ]; then
		echo "FAIL: clang-format (clang-format) is missing, and CI must run every test"
		exit 1
	fi
	echo "SKIP: clang-format is not installed"
	exit 77
fi
cd "$top_srcdir" || exit 1
# The source tree only: not build trees inside it, not a distcheck copy.
files=$(find . \( -path './build*' -o -path './_build' -o -path './.git' -o -path './libsplitdrv-*' \) -prune \
	-o \( -name '*.c' -o -name '*.h' \) -type f -print | sort)
[ -n "$files" ] || { echo "FAIL: no C files found under $top_srcdir"; exit 1; }
bad=0 n=0
for f in $files; do
	n=$((n + 1))
	if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "not formatted: $f"
		bad=$((bad + 1))
	fi
done
if [ $bad -ne 0 ]; then
	echo "FAIL: $bad of $n C files differ from clang-format's output"
	exit 1
fi
echo "PASS: all $n C files are clang-formatted"
