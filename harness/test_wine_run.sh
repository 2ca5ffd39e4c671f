#!/bin/sh
# Checks cmake/wine-run.sh with a stand-in for wine that fails silently on
# its first N starts: a silent failure is started again (3 starts at most),
# a program's output and status come through, and a failure that printed
# something is not started again.
#   test_wine_run.sh WINE_RUN_SH
set -u
run=$1
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
cat >"$dir/wine" <<'FAKE'
#!/bin/sh
n=$(cat "$COUNT" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" >"$COUNT"
[ "$n" -le "$FAILS" ] && { [ "$LOUD" = 1 ] && echo "failed loudly" >&2; exit 66; }
echo "to stderr" >&2; echo "last line"; exit 7
FAKE
chmod +x "$dir/wine"
failed=0
check() { # FAILS LOUD expected-starts expected-status expected-last-line
    rm -f "$dir/count"
    last=$(COUNT="$dir/count" FAILS=$1 LOUD=$2 sh "$run" "$dir/prefix" "$dir/wine" prog.exe 2>/dev/null | tail -n 1)
    status=$(COUNT="$dir/count" FAILS=$1 LOUD=$2 sh -c 'rm -f "$COUNT"; sh "$0" "$1" "$2" prog.exe >/dev/null 2>&1; echo $?' "$run" "$dir/prefix" "$dir/wine")
    starts=$(cat "$dir/count")
    if [ "$starts" = "$3" ] && [ "$status" = "$4" ] && [ "$last" = "$5" ]; then
        echo "ok   fails $1 (loud $2): $starts start(s), status $status, last line '$last'"
    else
        echo "FAIL fails $1 (loud $2): $starts start(s), status $status, last line '$last'; expected $3, $4, '$5'"
        failed=1
    fi
}
check 0 0 1 7 "last line"
check 1 0 2 7 "last line"
check 2 0 3 7 "last line"
check 5 0 3 66 ""
check 1 1 1 66 ""
exit $failed
