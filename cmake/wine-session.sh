#!/bin/sh
# Starts or stops the one Wine server that a whole test run shares.
#
#   wine-session.sh start PREFIX   create the prefix if needed, keep a server up
#   wine-session.sh stop PREFIX    stop that prefix's server (and nothing else)
#
# A cold wineserver costs a second or more per program; a persistent one
# brings a run down to a few hundredths of a second. The prefix lives in the
# build tree so that nothing touches the user's ~/.wine.
set -eu
action=$1
export WINEPREFIX=$2
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml="
wineserver=$(command -v wineserver || echo /usr/lib/wine/wineserver)

case $action in
start)
    mkdir -p "$WINEPREFIX"
    # Detached from our output: ctest waits until every holder of a test's
    # output pipe has closed it, and the server lives on after this script.
    if ! "$wineserver" -p </dev/null >/dev/null 2>&1; then
        # It refuses when a server already runs for this prefix (./tutorial
        # starts one too): use that one rather than fail the whole run.
        echo "a wine server already runs for this prefix: using it"
    fi
    if [ ! -f "$WINEPREFIX/system.reg" ]; then
        # First use: create the prefix now, not in the middle of a test.
        wine wineboot --init </dev/null >/dev/null 2>&1 || true
    else
        # Start Wine's helper processes now, with no pipe of ours inherited.
        wine cmd /c exit </dev/null >/dev/null 2>&1 || true
    fi
    echo "wine session ready in $WINEPREFIX"
    ;;
stop)
    "$wineserver" -k </dev/null >/dev/null 2>&1 || true
    echo "wine session stopped"
    ;;
*)
    echo "usage: wine-session.sh start|stop PREFIX" >&2
    exit 2
    ;;
esac
