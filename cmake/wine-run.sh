#!/bin/sh
# How the build and the tests run a Windows program on Linux (CMake's
# cross-compiling emulator): under Wine, in the build tree's prefix.
#
#   wine-run.sh PREFIX WINE PROGRAM.exe [ARGS...]
#
# Under load, Wine 8 now and then fails to start a program at all: it ends
# with STATUS_DLL_INIT_FAILED (0xC0000142) before any of its code ran, so it
# printed nothing (../shared/notes/wine.md). pairtest starts its own
# programs again in that case; this does the same for pairtest itself. A
# program that exits non-zero without printing a single byte is started
# again, at most 3 times in all; every program the tests run (pairtest)
# always prints something. Its output is held until it exits, so that
# nothing of a failed start is mixed in; stderr is written first, so that
# the last line is still pairtest's summary, which the tests look for.
set -u
export WINEPREFIX="$1" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
wine=$2
shift 2
out=$(mktemp) && err=$(mktemp) || exit 1
trap 'rm -f "$out" "$err"' EXIT
starts=1
while :; do
    "$wine" "$@" >"$out" 2>"$err"
    status=$?
    if [ "$status" -eq 0 ] || [ -s "$out" ] || [ -s "$err" ] || [ "$starts" -ge 3 ]; then
        break
    fi
    echo "wine-run: $1 ended with status $status before printing anything: starting it again" >&2
    starts=$((starts + 1))
done
cat "$err" >&2
cat "$out"
exit "$status"
