#!/bin/sh
# Downloads the third-party echo servers that the benchmark can compare with
# the chapter servers (bench/third_party.md says which, from where and why)
# into DIR, laid out as bench.py --third-party DIR expects:
#
#   DIR/libuv/                       the libuv release, unpacked
#   DIR/libuv-*.tar.gz (or Debian's libuv1_*.orig.tar.gz)  the tarball it came from
#   DIR/iocpserver/IocpServer.Cpp    Microsoft's iocpserver sample
#   DIR/iocpserver/IocpServer.h
#   DIR/book/IOCPEchoServ_win.c      TCP/IP Network Programming, chapter 23
#   DIR/book/CmplRouEchoServ_win.c   the same chapter's completion-routine server
#
#   bench/get_third_party.sh DIR
#   LIBUV_VERSION=1.52.0 bench/get_third_party.sh DIR    another libuv release
#
# Nothing it fetches belongs in this repository. Each file comes from a fixed
# commit or release, so what it fetches cannot change. It needs curl (or
# wget) and the network; where a source cannot be reached it says so, goes
# on with the others and exits 1 at the end. Files already in DIR are kept.
set -u
dir=${1:-}
if [ -z "$dir" ] || [ $# -ne 1 ]; then
    echo "usage: bench/get_third_party.sh DIR" >&2
    exit 2
fi
libuv_version=${LIBUV_VERSION:-1.50.0}
# Debian's copy of the v1.50.0 tarball, and its SHA-256.
debian_libuv=https://deb.debian.org/debian/pool/main/libu/libuv1/libuv1_1.50.0.orig.tar.gz
debian_libuv_sha256=ec9de6ecf2a780fd2afb3b007947d2cd57c3bb17f3b9e721a66774980d35cd4d
ms_commit=8f31b1ff79d669b4ba9609f2640635b3b8a9e0a4
ms_path=Samples/Win7Samples/netds/winsock/iocp/server
book_repo=Pars1f4l/TCP-IP-NetworkNote
book_commit=79e4c0a646d6566f3587e7df7533b42daa859076
raw=https://raw.githubusercontent.com

mkdir -p "$dir/iocpserver" "$dir/book" || exit 1
status=0

# fetch URL FILE: downloads URL to FILE (through FILE.part, so that a failed
# download leaves nothing that looks complete).
fetch() {
    if command -v curl >/dev/null 2>&1; then
        curl -fsL --retry 2 --connect-timeout 20 -o "$2.part" "$1"
    else
        wget -q -T 20 -O "$2.part" "$1"
    fi
    if [ $? -eq 0 ] && [ -s "$2.part" ]; then
        mv "$2.part" "$2"
        echo "  got $1"
        return 0
    fi
    rm -f "$2.part"
    echo "  could not get $1" >&2
    return 1
}

# get URL FILE: as fetch, unless FILE is already there.
get() {
    if [ -s "$2" ]; then
        echo "  have $2"
        return 0
    fi
    fetch "$1" "$2"
}

echo "libuv $libuv_version:"
if [ -f "$dir/libuv/include/uv/version.h" ]; then
    echo "  have $dir/libuv"
else
    got=
    for url in "https://dist.libuv.org/dist/v$libuv_version/libuv-v$libuv_version.tar.gz" \
        "https://github.com/libuv/libuv/archive/refs/tags/v$libuv_version.tar.gz"; do
        if fetch "$url" "$dir/libuv-$libuv_version.tar.gz"; then
            got=$dir/libuv-$libuv_version.tar.gz
            break
        fi
    done
    if [ -z "$got" ] && [ "$libuv_version" = 1.50.0 ] &&
        fetch "$debian_libuv" "$dir/libuv1_1.50.0.orig.tar.gz"; then
        if [ "$(sha256sum "$dir/libuv1_1.50.0.orig.tar.gz" | cut -d' ' -f1)" = "$debian_libuv_sha256" ]; then
            got=$dir/libuv1_1.50.0.orig.tar.gz
        else
            echo "  $dir/libuv1_1.50.0.orig.tar.gz: not the expected SHA-256; removed" >&2
            rm -f "$dir/libuv1_1.50.0.orig.tar.gz"
        fi
    fi
    if [ -n "$got" ]; then
        mkdir -p "$dir/libuv" && tar -xzf "$got" -C "$dir/libuv" --strip-components=1 &&
            echo "  unpacked into $dir/libuv" || status=1
    else
        status=1
    fi
fi

echo "Microsoft's iocpserver sample (Windows-classic-samples, $ms_commit):"
for file in IocpServer.Cpp IocpServer.h; do
    get "$raw/microsoft/Windows-classic-samples/$ms_commit/$ms_path/$file" \
        "$dir/iocpserver/$file" || status=1
done

echo "TCP/IP Network Programming, chapter 23 ($book_repo, $book_commit):"
for file in IOCPEchoServ_win.c CmplRouEchoServ_win.c; do
    get "$raw/$book_repo/$book_commit/ch23/$file" "$dir/book/$file" || status=1
done

if [ $status -ne 0 ]; then
    echo "Some sources could not be fetched (see above); bench.py --third-party $dir runs the others." >&2
fi
exit $status
