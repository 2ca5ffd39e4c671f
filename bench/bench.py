#!/usr/bin/env python3
"""The benchmark: echo servers against the chapter 5 load client.

Usage: bench.py BUILD_DIR OUT.md [--repeat N] [--servers A,B,...] [--clients native,ch09_bench,ch05_client] [--loads A,B,...] [--third-party DIR] [--time-limit S] [--bench-duration MS]

For each server, each client (the native Linux one, bench/native_client.c,
and ch05_client under Wine) and each load below, it starts the server,
learns its port, runs the client, stops the server and checks how it ended;
the clients verify every echoed byte and print their rate. The loads are
run round-robin, server by server, --repeat times (default 3), so that
noise spreads over all of them, and the median of each is reported. The
result (Markdown, with the machine, the Wine version and the date) goes to
OUT.md, and a CSV beside it.

Servers (--servers, comma-separated; default: those of ch05_server,
ch06_server, ch07_server and ch08_server that are built, and with --third-party every
third-party server whose sources DIR holds):
  chNN_server   a chapter's server (any chapter).
                Started with --quiet on port 0; ready at its "echoing" line;
                stopped with a line on stdin; its summary must report
                0 contexts alive.
  libuv         bench/uv_echo_server.c, built against libuv from DIR/libuv.
  iocpserver    Microsoft's iocpserver sample, from DIR/iocpserver.
  book          IOCPEchoServ_win.c of TCP/IP Network Programming, ch. 23,
                from DIR/book.
  book-cr       CmplRouEchoServ_win.c of the same chapter (completion
                routines on one thread), from DIR/book.
bench/third_party.md says what DIR must hold (bench/get_third_party.sh DIR
downloads it); none of it is in this repository. bench.py builds the
third-party servers with MinGW-w64 into BUILD_DIR/bench-third-party. The
two samples take a fixed port: bench.py picks a free one and waits until it
accepts a connection; they have no stop command, so they are killed.

A third-party server that fails a load (crashes, drops connections, is
still not done after --time-limit seconds, default 60) is reported as such
on the page; the run goes on. Under Wine only ratios measured in one run
mean anything: every socket operation goes through wineserver (see
../shared/notes/wine.md). The figures are not Windows figures.

Exit code 0 when every run of a chapter server verified every byte and
ended cleanly, 1 otherwise, 2 on bad usage.
"""
import collections
import datetime
import hashlib
import os
import platform
import queue
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# name, what it measures, ch05_client (and native client) arguments,
# ch09_bench arguments (it runs for a time instead of a count)
LOADS = [
    ("rt_1x64", "round trips/s, 1 connection, 64 B",
     ["--connections", "1", "--messages", "5000", "--size", "64"],
     ["--connections", "1", "--size", "64"]),
    ("rt_16x64", "round trips/s, 16 connections, 64 B",
     ["--connections", "16", "--messages", "500", "--size", "64"],
     ["--connections", "16", "--size", "64"]),
    ("rt_64x4k", "round trips/s, 64 connections, 4 KiB",
     ["--connections", "64", "--messages", "100", "--size", "4K"],
     ["--connections", "64", "--size", "4K"]),
    ("stream", "MB/s, 1 connection, 16 MiB messages",
     ["--connections", "1", "--messages", "8", "--size", "16M"],
     ["--connections", "1", "--stream", "--size", "64K", "--in-flight", "1M"]),
]
CLIENTS = ("native", "ch09_bench", "ch05_client")
# ch09_bench's warm-up and measured time, in ms (--bench-duration changes the second)
BENCH_WARMUP, BENCH_DURATION = 500, 3000
RESULT = re.compile(r"round trips, (\d+) bytes verified in ([0-9.]+) s "
                    r"\(([0-9.]+) round trips/s, ([0-9.]+) MB/s\)")
LISTENING = re.compile(r"listening on 127\.0\.0\.1 port (\d+)")
OPENED = re.compile(r"connection\(s\) open in ([0-9.]+) s")

DEFAULT_CHAPTER_SERVERS = ["ch05_server", "ch06_server", "ch07_server", "ch08_server",
                           "ch09_server", "ch09_server/no-skip", "ch09_server/batch-1",
                           "ch09_server/no-pool", "ch09_server/threads",
                           "ch09_server/buffer-256k"]  # those built
# Chapter 9's server with one fast path switched off: what each is worth.
VARIANTS = {
    "no-skip": (["--no-skip"], "ch09, --no-skip"),
    "batch-1": (["--batch", "1"], "ch09, --batch 1"),
    "no-pool": (["--no-pool"], "ch09, --no-pool"),
    "threads": (["--threads", str(os.cpu_count())], f"ch09, --threads {os.cpu_count()}"),
    "buffer-256k": (["--buffer", "256K"], "ch09, --buffer 256K"),
}
THIRD_PARTY_ORDER = ["libuv", "iocpserver", "book", "book-cr"]


class Server:
    """How to start one echo server, know that it is ready, and stop it."""

    def __init__(self, name, column, exe, args, fixed_port=False, ready=None, stop="stdin",
                 summary=None, third_party=False):
        self.name = name          # what --servers calls it
        self.column = column      # its column on the page
        self.exe = exe            # the Windows program
        self.args = args          # function: port (or None) -> arguments
        self.fixed_port = fixed_port  # True: bench.py picks the port, the server prints none
        self.ready = ready        # a line (regex) that says set-up is done, after the port line
        self.stop = stop          # "stdin" (a line on stdin) or "kill"
        self.summary = summary    # a regex its output must match once stopped
        self.third_party = third_party


def chapter_server(build, name):
    """chNN_server, or chNN_server/VARIANT (see VARIANTS)."""
    program, _, variant = name.partition("/")
    extra, column = VARIANTS[variant] if variant else ([], program)
    return Server(name, column, os.path.join(build, "bin", program + ".exe"),
                  lambda port: [*extra, "--quiet", "0"], ready=re.compile(r"^echoing"),
                  summary=re.compile(r" 0 contexts alive"))


def chapter_server_built(build, name):
    program, _, variant = name.partition("/")
    return (re.fullmatch(r"ch\d\d_server", program) is not None
            and (not variant or variant in VARIANTS)
            and os.path.isfile(os.path.join(build, "bin", program + ".exe")))


def wine_env(build):
    return dict(os.environ, WINEPREFIX=os.path.join(build, "wineprefix"), WINEDEBUG="-all",
                WINEDLLOVERRIDES="mscoree,mshtml=")


def cpu_seconds(pid):
    """User + system CPU time of a process so far, from /proc (Linux)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wineserver_pid(prefix):
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().split(b"\0")[0]
            if not command.endswith(b"wineserver") and b"wineserver64" not in command:
                continue
            with open(f"/proc/{pid}/environ", "rb") as f:
                if f"WINEPREFIX={prefix}".encode() in f.read().split(b"\0"):
                    return int(pid)
        except OSError:
            continue
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_line(text, limit=160):
    """A message fit for a table cell or a list item: one line, no '|'."""
    text = " ".join(text.replace("|", "/").split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


class ServerFailure(Exception):
    pass


class Running:
    """One started server: its process, its port, what it printed."""

    def __init__(self, server, env, timeout=60):
        self.server = server
        self.port = free_port() if server.fixed_port else None
        self.errors = tempfile.TemporaryFile(mode="w+")
        self.lines = collections.deque(maxlen=200)  # the last ones: the book's server prints
        self.port_seen = threading.Event()          # two lines per echo
        self.ready = threading.Event()
        # Every server's output goes to a pipe that is read all along. Where
        # it goes changes what printing costs: the book's server (two lines
        # per echo) made 42 wineserver requests per round trip with its
        # output on /dev/null (32 of them ioctl) and 11 with it on a pipe.
        self.proc = subprocess.Popen(
            ["wine", server.exe, *server.args(self.port)], env=env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.errors, text=True, errors="replace")
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        deadline = time.monotonic() + timeout
        if not server.fixed_port:
            while not self.ready.wait(0.1) and time.monotonic() < deadline:
                pass
            if not self.ready.is_set() or self.port is None or self.proc.poll() is not None:
                self.kill()
                raise ServerFailure("did not start: " + self.tail())
        else:
            # It prints nothing: it is ready once it accepts a connection.
            while True:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.kill()
                    raise ServerFailure("did not start: " + self.tail())
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                        pass
                    break
                except OSError:
                    time.sleep(0.1)
            time.sleep(0.3)  # let it finish with the probe before anything is measured

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\r\n"))
            if self.server.fixed_port:
                continue
            if not self.port_seen.is_set():
                found = LISTENING.search(line)
                if found:
                    self.port = int(found.group(1))
                    self.port_seen.set()
                    if self.server.ready is None:
                        self.ready.set()
            elif self.server.ready is not None and self.server.ready.search(line):
                self.ready.set()
        self.ready.set()  # end of output: the waiting loop sees the exit

    def alive(self):
        return self.proc.poll() is None

    def tail(self, lines=3):
        self.errors.seek(0)
        text = [line for line in self.errors.read().splitlines() if line.strip()]
        text += list(self.lines)
        code = self.proc.poll()
        state = f"exit code {code}" if code is not None else "still running"
        return one_line(f"{state}; " + " / ".join(text[-lines:]) if text else state)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=60)
        self.reader.join(timeout=10)

    def finish(self):
        """Stops the server; returns None if it ended as it should, or why not."""
        if self.server.stop == "kill":
            self.kill()
            return None
        try:
            self.proc.stdin.write("stop\n")
            self.proc.stdin.flush()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()
            return "did not stop within 60 s"
        self.reader.join(timeout=10)
        text = "\n".join(self.lines)
        if self.proc.returncode != 0 or (self.server.summary is not None
                                         and not self.server.summary.search(text)):
            return "ended badly: " + self.tail()
        return None


class Outcome:
    def __init__(self, status, value=None, cpu=None, detail="", opened=None):
        self.status = status  # ok, partial, failed, crashed, timeout, no start, bad stop
        self.value = value    # round trips/s or MB/s (ok and partial)
        self.cpu = cpu        # ms of CPU per round trip, server + wineserver
        self.detail = detail  # why, when not ok
        self.opened = opened  # seconds the native client took to open its connections
        self.latency = None   # ch09_bench: p50, p99 and max in us (text)


def run_once(build, server, client, load, time_limit, bench_duration):
    """One run: start the server, run the client, stop the server."""
    name, _, load_args, bench_args = load
    env = wine_env(build)
    try:
        running = Running(server, env)
    except ServerFailure as failure:
        return Outcome("no start", detail=str(failure))
    try:
        port = str(running.port)
        ws = wineserver_pid(env["WINEPREFIX"])
        cpu_before = cpu_seconds(running.proc.pid) + (cpu_seconds(ws) if ws else 0.0)
        if client == "native":
            command = [os.path.join(build, "native_client"), "127.0.0.1", port, load_args[1],
                       load_args[3], str(parse_size(load_args[5])), str(time_limit)]
        elif client == "ch09_bench":
            command = ["wine", os.path.join(build, "bin", "ch09_bench.exe"), *bench_args,
                       "--warmup", str(BENCH_WARMUP), "--duration", str(bench_duration),
                       "--format", "csv", "127.0.0.1", port]
        else:
            command = ["wine", os.path.join(build, "bin", client + ".exe"), "--quiet", *load_args,
                       "127.0.0.1", port]
        # The native client stops itself at the limit and reports what it
        # verified; the Wine client cannot, so it is stopped a little later.
        allowed = time_limit + (60 if client == "native" else 10)
        if client == "ch09_bench":  # it stops itself after its time, or on an error
            allowed = (BENCH_WARMUP + bench_duration) / 1000.0 + 60
        timed_out = False
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True,
                                  timeout=allowed)
            out, err, code = done.stdout, done.stderr, done.returncode
        except subprocess.TimeoutExpired as expired:
            timed_out = True
            out = expired.stdout or ""
            err = expired.stderr or ""
            out = out.decode(errors="replace") if isinstance(out, bytes) else out
            err = err.decode(errors="replace") if isinstance(err, bytes) else err
            code = None
        cpu_after = cpu_seconds(running.proc.pid) + (cpu_seconds(ws) if ws else 0.0)
        alive = running.alive()
        stopped = running.finish() if alive else None
    finally:
        running.kill()
    if client == "ch09_bench":
        return bench_outcome(out, err, code, timed_out, allowed, running, alive, stopped, name,
                             cpu_after - cpu_before)
    match = RESULT.search(out)
    opened = OPENED.search(out)
    opened = float(opened.group(1)) if opened else None
    value = cpu = None
    if match:
        round_trips = int(re.search(r"(\d+) round trips,", out).group(1))
        value = float(match.group(4)) if name == "stream" else float(match.group(3))
        if round_trips:
            cpu = (cpu_after - cpu_before) * 1000.0 / round_trips
    said = one_line(" / ".join(line for line in (err + out).splitlines()
                               if line.strip() and "verified in" not in line
                               and "open in" not in line)[-300:])
    if not alive:
        return Outcome("crashed", detail=f"the server died during the load ({running.tail()}); "
                       f"the client said: {said}", opened=opened)
    if timed_out:
        return Outcome("timeout", detail=f"the client was still running after {allowed:g} s "
                       "and was stopped (it gives no figure for part of a load)", opened=opened)
    if code == 3 and match:  # no CPU figure: the bytes still in flight are not counted
        return Outcome("partial", value, None, detail=one_line(err), opened=opened)
    if code != 0 or match is None:
        return Outcome("failed", detail=f"client exit code {code}: {said}", opened=opened)
    if stopped is not None:
        return Outcome("bad stop", value, cpu, detail=stopped, opened=opened)
    return Outcome("ok", value, cpu, opened=opened)


def bench_outcome(out, err, code, timed_out, allowed, running, alive, stopped, name, cpu):
    """The outcome of a ch09_bench run, from its CSV line. `alive`: the
    server was still running when the client ended (a server stopped by
    kill ends with -9 afterwards: that is not a crash)."""
    rows = [line.split(",") for line in out.splitlines() if line.strip()]
    # The first errors say why; the lines for people (its plan, "connected") do not.
    said = one_line(" / ".join(line for line in err.splitlines() if line.strip()
                               and not line.startswith(("ch09_bench:", "connected ")))[:300])
    if not alive:
        return Outcome("crashed", detail=f"the server died during the load ({running.tail()}); "
                       f"the client said: {said}")
    if timed_out:
        return Outcome("timeout", detail=f"ch09_bench was still running after {allowed:g} s")
    if code != 0 or len(rows) < 2 or rows[-2][0] != "mode":
        return Outcome("failed", detail=f"ch09_bench exit code {code}: {said}")
    row = dict(zip(rows[-2], rows[-1]))
    round_trips = int(row["round_trips"] or 0)
    if name == "stream":
        value = float(row["mb_per_s"])
        # per 16 MiB echoed, as in the native client's stream rows
        messages = value * 1e6 * float(row["seconds"]) / (16 * 1024 * 1024)
        cpu_ms = cpu * 1000.0 / messages if messages else None
    else:
        value = float(row["round_trips_per_s"])
        cpu_ms = cpu * 1000.0 / round_trips if round_trips else None
    outcome = Outcome("ok" if stopped is None else "bad stop", value, cpu_ms,
                      detail=stopped or "")
    outcome.latency = (row.get("p50_us", ""), row.get("p99_us", ""), row.get("max_us", ""))
    return outcome


def parse_size(text):
    scale = {"K": 1024, "M": 1024 * 1024}.get(text[-1:].upper(), 1)
    return int(text[:-1] if scale > 1 else text) * scale


def build_native_client(build):
    """The Linux load client, compiled with the host's C compiler."""
    out = os.path.join(build, "native_client")
    source = os.path.join(HERE, "native_client.c")
    subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-o", out, source], check=True)
    return out


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run_logged(command, log, cwd=None):
    log.write("$ " + " ".join(command) + "\n")
    log.flush()
    return subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, cwd=cwd).returncode == 0


def build_third_party(build, source):
    """Builds what SOURCE holds. Returns {name: Server}, {name: facts for the page}
    and {name: why it was not built}."""
    out = os.path.join(build, "bench-third-party")
    os.makedirs(out, exist_ok=True)
    servers, facts, missing = {}, {}, {}
    log_path = os.path.join(out, "build.log")
    log = open(log_path, "w")

    # libuv: its own CMake build, with this project's MinGW-w64 toolchain file.
    uv = os.path.join(source, "libuv")
    if os.path.isfile(os.path.join(uv, "CMakeLists.txt")):
        with open(os.path.join(uv, "include", "uv", "version.h")) as f:
            text = f.read()
        version = ".".join(re.search(rf"#define UV_VERSION_{part}\s+(\d+)", text).group(1)
                           for part in ("MAJOR", "MINOR", "PATCH"))
        uv_build = os.path.join(out, "libuv")
        exe = os.path.join(out, "uv_echo_server.exe")
        flags = ["-O2", "-Wall", "-Wextra", "-std=c11"]
        ok = (run_logged(["cmake", "-S", uv, "-B", uv_build,
                          "-DCMAKE_TOOLCHAIN_FILE=" + os.path.join(REPO, "cmake",
                                                                   "mingw-w64-x86_64.cmake"),
                          "-DCMAKE_BUILD_TYPE=Release", "-DLIBUV_BUILD_SHARED=OFF",
                          "-DLIBUV_BUILD_TESTS=OFF", "-DLIBUV_BUILD_BENCH=OFF"], log)
              and run_logged(["cmake", "--build", uv_build, "--target", "uv_a",
                              "-j", str(os.cpu_count() or 1)], log)
              and run_logged(["x86_64-w64-mingw32-gcc", *flags, "-I", os.path.join(uv, "include"),
                              "-o", exe, os.path.join(HERE, "uv_echo_server.c"),
                              os.path.join(uv_build, "libuv.a"), "-lpsapi", "-luser32",
                              "-ladvapi32", "-liphlpapi", "-luserenv", "-lws2_32", "-ldbghelp",
                              "-lole32", "-lshell32"], log))
        if ok:
            servers["libuv"] = Server("libuv", f"libuv {version}", exe, lambda port: ["0"],
                                      summary=re.compile(r"^stopped: \d+ connections served",
                                                         re.M), third_party=True)
            tarballs = [name for name in os.listdir(source) if name.startswith("libuv")
                        and name.endswith(".tar.gz")]
            facts["libuv"] = {
                "what": f"libuv {version}, built from source with its CMakeLists.txt "
                        "(static library `uv_a`, Release) and this project's toolchain file "
                        "`cmake/mingw-w64-x86_64.cmake`; the server is ours, "
                        "`bench/uv_echo_server.c` (`gcc " + " ".join(flags) + "`)",
                "files": [(name, sha256(os.path.join(source, name))) for name in tarballs]
                or [("libuv/include/uv/version.h", sha256(os.path.join(uv, "include", "uv",
                                                                       "version.h")))],
            }
        else:
            missing["libuv"] = f"its build failed (see {log_path})"
    else:
        missing["libuv"] = f"no {uv}/CMakeLists.txt"

    # Microsoft's iocpserver sample: C++ with Microsoft extensions; see
    # bench/compat/iocpserver_compat.hpp for what makes g++ take it unchanged.
    ms = os.path.join(source, "iocpserver")
    if os.path.isfile(os.path.join(ms, "IocpServer.Cpp")) and os.path.isfile(
            os.path.join(ms, "IocpServer.h")):
        include = os.path.join(out, "iocpserver-include")
        os.makedirs(include, exist_ok=True)
        for link, target in (("iocpserver.h", os.path.join(os.path.abspath(ms), "IocpServer.h")),
                             ("Ws2tcpip.h", "/usr/x86_64-w64-mingw32/include/ws2tcpip.h")):
            path = os.path.join(include, link)
            if os.path.lexists(path):
                os.remove(path)
            os.symlink(target, path)
        exe = os.path.join(out, "iocpserver.exe")
        command = ["x86_64-w64-mingw32-g++", "-O2",
                   "-include", os.path.join(HERE, "compat", "iocpserver_compat.hpp"),
                   "-I", include, "-o", exe, "-x", "c++", os.path.join(ms, "IocpServer.Cpp"),
                   "-x", "none", "-lws2_32", "-static-libgcc", "-static-libstdc++"]
        if shutil.which(command[0]) is None:
            missing["iocpserver"] = (f"{command[0]} is missing (Debian: apt-get install "
                                     "g++-mingw-w64-x86-64-win32)")
        elif run_logged(command, log):
            servers["iocpserver"] = Server("iocpserver", "iocpserver", exe,
                                           lambda port: [f"-e:{port}"], fixed_port=True,
                                           stop="kill", third_party=True)
            facts["iocpserver"] = {
                "what": "Microsoft's iocpserver sample (Windows-classic-samples), unchanged: "
                        "`x86_64-w64-mingw32-g++ -O2 -include bench/compat/iocpserver_compat.hpp "
                        "-x c++ IocpServer.Cpp -lws2_32 -static-libgcc -static-libstdc++`, "
                        "started as `iocpserver -e:PORT`",
                "files": [(f"iocpserver/{name}", sha256(os.path.join(ms, name)))
                          for name in ("IocpServer.Cpp", "IocpServer.h")],
            }
        else:
            missing["iocpserver"] = f"its build failed (see {log_path})"
    else:
        missing["iocpserver"] = f"no {ms}/IocpServer.Cpp and IocpServer.h"

    # The textbook's two servers: C, each compiled as it is.
    book_flags = ["-O2", "-Wno-error=incompatible-pointer-types"]
    for name, label, file, exe_name, kind in (
            ("book", "book ch. 23", "IOCPEchoServ_win.c", "book_iocp_echo.exe",
             "the IOCP echo server"),
            ("book-cr", "book ch. 23, routines", "CmplRouEchoServ_win.c",
             "book_cmplrou_echo.exe", "the completion-routine echo server")):
        path = os.path.join(source, "book", file)
        if not os.path.isfile(path):
            missing[name] = f"no {path}"
            continue
        exe = os.path.join(out, exe_name)
        if not run_logged(["x86_64-w64-mingw32-gcc", *book_flags, "-o", exe, path, "-lws2_32"],
                          log):
            missing[name] = f"its build failed (see {log_path})"
            continue
        servers[name] = Server(name, label, exe, lambda port: [str(port)], fixed_port=True,
                               stop="kill", third_party=True)
        facts[name] = {
            "what": f"`{file}`, {kind} of *TCP/IP Network Programming* (Yoon Sung Woo), "
                    "chapter 23, unchanged: `x86_64-w64-mingw32-gcc " + " ".join(book_flags)
                    + f" {file} -lws2_32`, started as `{file[:-2]} PORT`",
            "files": [(f"book/{file}", sha256(path))],
        }
    if "book" in facts and os.cpu_count() != 2:
        facts["book"]["what"] += (
            f". This copy creates its completion port with a concurrency of 2 where "
            f"the book passes 0 (one per processor): not the same here, with "
            f"{os.cpu_count()} processors")
    log.close()
    return servers, facts, missing


REQUEST = re.compile(r"^([0-9a-f]{4}): ([a-z_]+)\(")


def count_requests(build, server, round_trips=2000, connections=1):
    """wineserver requests per round trip, by request, for one load.

    A private wineserver for a copy of the prefix logs every request
    (wineserver -d1); the native client makes none, so every request in the
    window comes from the server process. The window opens once the server
    is set up (its ready line, or for a server that prints none, once it has
    accepted a probe connection)."""
    prefix = tempfile.mkdtemp(prefix="bench-prefix-")
    try:
        shutil.copytree(os.path.join(build, "wineprefix"), prefix, dirs_exist_ok=True,
                        symlinks=True)
        env = dict(os.environ, WINEPREFIX=prefix, WINEDEBUG="-all",
                   WINEDLLOVERRIDES="mscoree,mshtml=")
        log_path = os.path.join(prefix, "wineserver.log")
        with open(log_path, "w") as log:
            ws = subprocess.Popen(["wineserver", "-f", "-d1", "-p"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=log)
            try:
                # Wine's helper processes start with the first program and would
                # inherit its pipes: start them now, with none (as
                # cmake/wine-session.sh does).
                subprocess.run(["wine", "cmd", "/c", "exit"], env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
                running = Running(server, env)
                try:
                    start = os.path.getsize(log_path)
                    subprocess.run([os.path.join(build, "native_client"), "127.0.0.1",
                                    str(running.port), str(connections),
                                    str(round_trips // connections), "64"],
                                   check=True, capture_output=True, timeout=300)
                    end = os.path.getsize(log_path)
                    running.finish()
                finally:
                    running.kill()
            finally:
                subprocess.run(["wineserver", "-k"], env=env, capture_output=True)
                ws.wait(timeout=30)
        counts = {}
        with open(log_path, "rb") as f:
            f.seek(start)
            for raw in f.read(end - start).decode("latin-1").splitlines():
                match = REQUEST.match(raw)
                if match and ") = " not in raw:  # a request, not its reply
                    counts[match.group(2)] = counts.get(match.group(2), 0) + 1
        return {name: n / round_trips for name, n in counts.items()}
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


def machine():
    def first(command):
        try:
            return subprocess.run(command, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "?"
    cpu = "?"
    for line in first(["lscpu"]).splitlines():
        if line.startswith("Model name:"):
            cpu = line.split(":", 1)[1].strip()
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "os": f"{platform.system()} {platform.release()}",
        "wine": first(["wine", "--version"]),
        "date": datetime.date.today().isoformat(),
    }


def cell(outcomes, digits, time_limit):
    """A table cell: median (lowest-highest) of the runs that gave a figure,
    and what went wrong in the others."""
    values = [o.value for o in outcomes if o.value is not None]
    parts = []
    if values:
        parts.append(f"{statistics.median(values):.{digits}f} "
                     f"({min(values):.{digits}f}-{max(values):.{digits}f})")
    partial = sum(1 for o in outcomes if o.status == "partial")
    if partial:
        parts.append(f"partial: stopped at the {time_limit:g} s limit in {partial} of "
                     f"{len(outcomes)} runs")
    for status in ("crashed", "failed", "timeout", "no start", "bad stop"):
        n = sum(1 for o in outcomes if o.status == status)
        if n:
            word = {"no start": "did not start", "bad stop": "did not stop cleanly",
                    "timeout": "timed out"}.get(status, status)
            parts.append(f"**{word}** in {n} of {len(outcomes)} runs")
    return "; ".join(parts)


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    build, out = os.path.abspath(args[0]), args[1]
    repeat, names, clients, third_party, time_limit = 3, None, ["native", "ch09_bench"], None, 60.0
    bench_duration = BENCH_DURATION
    loads = LOADS
    rest = args[2:]
    while rest:
        option = rest.pop(0)
        if option == "--repeat" and rest:
            repeat = int(rest.pop(0))
        elif option == "--servers" and rest:
            names = rest.pop(0).split(",")
        elif option == "--clients" and rest:
            clients = rest.pop(0).split(",")
        elif option == "--loads" and rest:
            wanted = rest.pop(0).split(",")
            loads = [load for load in LOADS if load[0] in wanted]
            if len(loads) != len(wanted):
                print("bench.py: --loads takes " + ",".join(load[0] for load in LOADS),
                      file=sys.stderr)
                return 2
        elif option == "--third-party" and rest:
            third_party = os.path.abspath(rest.pop(0))
        elif option == "--time-limit" and rest:
            time_limit = float(rest.pop(0))
        elif option == "--bench-duration" and rest:
            bench_duration = int(rest.pop(0))
        else:
            print(f"bench.py: unknown option {option}", file=sys.stderr)
            return 2
    if any(c not in CLIENTS for c in clients):
        print("bench.py: --clients takes " + ", ".join(CLIENTS), file=sys.stderr)
        return 2
    if "ch09_bench" in clients and not os.path.isfile(os.path.join(build, "bin",
                                                                   "ch09_bench.exe")):
        print("bench.py: ch09_bench is not built", file=sys.stderr)
        return 2

    build_native_client(build)
    available, facts, missing = {}, {}, {}
    if third_party is not None:
        print(f"building the third-party servers from {third_party} ...", flush=True)
        available, facts, missing = build_third_party(build, third_party)
        for name in THIRD_PARTY_ORDER:
            print(f"  {name}: " + ("built" if name in available else "not built: " + missing[name]),
                  flush=True)
    if names is None:
        names = [n for n in DEFAULT_CHAPTER_SERVERS if chapter_server_built(build, n)]
        names += [n for n in THIRD_PARTY_ORDER if n in available]
    servers = []
    for name in names:
        if name in available:
            servers.append(available[name])
        elif name in THIRD_PARTY_ORDER:
            why = missing.get(name, "it needs --third-party DIR")
            print(f"bench.py: cannot run {name}: {why}", file=sys.stderr)
            return 2
        elif chapter_server_built(build, name):
            servers.append(chapter_server(build, name))
        else:
            print(f"bench.py: no server called {name} (built?)", file=sys.stderr)
            return 2

    keys = [(s.name, c, load[0]) for s in servers for c in clients for load in loads]
    outcomes = {key: [] for key in keys}
    total = repeat * len(keys)
    done = 0
    for round_number in range(repeat):
        for server in servers:
            for client in clients:
                for load in loads:
                    name = load[0]
                    done += 1
                    print(f"[{done}/{total}] round {round_number + 1}: {server.name}, {client} "
                          f"client, {name} ...", end=" ", flush=True)
                    outcome = run_once(build, server, client, load, time_limit,
                                       bench_duration)
                    outcomes[(server.name, client, name)].append(outcome)
                    shown = "" if outcome.value is None else f"{outcome.value:.1f}"
                    if outcome.status == "ok":
                        print(shown, flush=True)
                    else:
                        print(f"{outcome.status.upper()} {shown}", flush=True)
                        print(f"    {outcome.detail}", flush=True)

    requests = {}
    for server in servers:
        print(f"wineserver requests per round trip: {server.name} ...", end=" ", flush=True)
        try:
            requests[server.name] = count_requests(build, server)
            print(f"{sum(requests[server.name].values()):.1f}", flush=True)
        except (ServerFailure, subprocess.SubprocessError, OSError) as failure:
            requests[server.name] = one_line(str(failure)) or type(failure).__name__
            print(f"FAILED: {requests[server.name]}", flush=True)

    info = machine()
    command = " ".join(["./tutorial bench"] + [
        "DIR" if i > 0 and sys.argv[1:][i - 1] == "--third-party" else a
        for i, a in enumerate(sys.argv[1:]) if i >= 2])
    lines = [
        "# Appendix G: Benchmark results {#bench_results}",
        "\\langlink{bench_results}",
        "",
        f"Made by `{command}` (`bench/bench.py`). Each echo server is run",
        "under Wine and loaded by " + client_sentence(clients),
        f"Every load is run {repeat} times, round-robin; the table gives the median and, in",
        "brackets, the lowest and highest run. The brackets show how much the",
        "runs of one load differ. When the brackets of two figures overlap, the",
        "difference between the two figures means nothing.",
        "",
        "A \\ref gl_round_trip \"round trip\" is one message sent and its echo",
        "received back. In the MB/s rows a round trip is one whole 16 MiB message.",
        "*CPU per round trip* is the CPU time of the server process and of",
        "`wineserver` together, divided by the round trips (median), so in the",
        "MB/s rows it is the CPU time per 16 MiB echoed. MB/s counts millions of",
        "bytes (10^6 bytes) per second, each echoed byte once; 16 MiB is",
        "16 x 2^20 = 16,777,216 bytes. In the `ch09_bench` rows the CPU also",
        "counts the client's own `wineserver` requests, and its set-up and",
        "warm-up: compare those rows only with each other.",
        "",
        "**These are Wine figures**, not Windows figures. Under Wine every socket",
        "operation of a Windows program is a request to the one `wineserver`",
        "process, so what they show is relative cost (operations per echo, one",
        "model against another in the same run), not what the same programs do",
        "on Windows. A load client under Wine uses the same `wineserver` as the",
        "server it measures, which is why the native client is the fairer",
        "measure of the server. On Windows, run the loads by hand: start",
        "`ch09_server --quiet 0` (or any other server), then each `ch09_bench`",
        "command listed at the end of this page.",
        "",
        "\\image html results.svg \"The native client's rows: the median run as a bar, a line from the lowest to the highest run\"",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores; {info['os']}; {info['wine']}; "
        f"{info['date']}.",
        "",
        "| Load | Client | " + " | ".join(s.column for s in servers)
        + " | CPU per round trip (MB/s rows: per 16 MiB message) |",
        "|---|---|" + "---|" * len(servers) + "---|",
    ]
    csv = ["server,client,load,median,min,max,unit,cpu_ms_per_round_trip,runs,runs_ok,problems,"
           "p50_us,p99_us,max_us"]
    for name, what, _, _ in loads:
        unit = "MB/s" if name == "stream" else "round trips/s"
        digits = 1 if unit == "MB/s" else 0
        for client in clients:
            cells, cpus = [], []
            for server in servers:
                runs = outcomes[(server.name, client, name)]
                cells.append(cell(runs, digits, time_limit))
                cpu_values = [o.cpu for o in runs if o.cpu is not None]
                cpus.append(f"{statistics.median(cpu_values):.3f} ms" if cpu_values else "-")
                values = [o.value for o in runs if o.value is not None]
                figures = (f"{statistics.median(values):.1f},{min(values):.1f},{max(values):.1f}"
                           if values else ",,")
                problems = ";".join(o.status for o in runs if o.status != "ok")
                latency = median_latency(runs) or ("", "", "")
                csv.append(f"{server.name},{client},{name},{figures},{unit},"
                           + (f"{statistics.median(cpu_values):.4f}" if cpu_values else "")
                           + f",{len(runs)},{sum(o.status == 'ok' for o in runs)},{problems},"
                           + ",".join(latency))
            lines.append(f"| {row_label(name, what, client)} | {client} | " + " | ".join(cells)
                         + " | " + ", ".join(cpus) + " |")
    medians = {}
    for key, runs in outcomes.items():
        values = [o.value for o in runs if o.value is not None]
        medians[key] = statistics.median(values) if values else None
    lines += fast_path_lines({s.name: s.column for s in servers}, clients, loads, medians)
    lines += problem_lines(servers, clients, loads, outcomes, time_limit)
    lines += ["", "## What bounds these figures {#bench_bounds}", "",
              "Under Wine each socket operation, and each delivery of a completion,",
              "is a request to the one `wineserver` process. `bench.py` counts them",
              "for 2,000 round trips of 64 bytes on one connection, with a private",
              "`wineserver -d1` that logs every request; the native client makes",
              "none, so every request is the server's. Requests that came less than",
              "once in 20 round trips are left out:", ""]
    for server in servers:
        if isinstance(requests[server.name], str):
            lines.append(f"- `{server.column}`: not counted ({requests[server.name]}).")
            continue
        total_requests = sum(requests[server.name].values())
        top = [item for item in sorted(requests[server.name].items(), key=lambda item: -item[1])
               if item[1] >= 0.05][:6]
        lines.append(f"- `{server.column}`: {total_requests:.1f} requests per round trip ("
                     + ", ".join(f"`{name}` {n:.2f}" for name, n in top) + ").")
    lines += ["", "The CPU column shows what each round trip costs the server and",
              "`wineserver` together: 0.2 ms of CPU per round trip means at most",
              "5,000 round trips a second per core, whatever the number of",
              "connections, and two cores give more only to a server whose work",
              "(and `wineserver`'s) can run on both at once. Only ratios between",
              "servers measured in the same run say anything about a model."]
    lines += third_party_lines(servers, facts)
    lines += ["", "The loads (`ch05_client` arguments; `native_client` takes the same",
              "connections, messages and size):", ""]
    for name, what, load_args, bench_args in loads:
        lines.append(f"- {what}: `ch05_client {' '.join(load_args)} HOST PORT`; "
                     f"`ch09_bench {' '.join(bench_args)} --warmup {BENCH_WARMUP} "
                     f"--duration {bench_duration} HOST PORT`")
    chart_client = clients[0]
    lines += latency_lines(servers, clients, loads, outcomes)
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    draw_chart(servers, chart_client, loads, outcomes, os.path.join(os.path.dirname(
        os.path.abspath(out)), "results.svg"), info)
    with open(os.path.splitext(out)[0] + ".csv", "w", encoding="utf-8") as f:
        f.write("\n".join(csv) + "\n")
    print(f"results: {out}")
    ours_failed = [key for key in keys if not key[0] in available
                   and any(o.status != "ok" for o in outcomes[key])]
    if ours_failed:
        print("a chapter server failed: " + ", ".join("/".join(k) for k in ours_failed),
              file=sys.stderr)
    return 1 if ours_failed else 0


def row_label(name, what, client):
    """ch09_bench runs its own stream (see LOADS), not 16 MiB messages."""
    if name == "stream" and client == "ch09_bench":
        return "MB/s, 1 connection, a stream of 64 KiB messages, 1 MiB in flight"
    return what


def fast_path_lines(columns, clients, loads, medians):
    """What each fast path of chapter 9 is worth: every ch09_server variant
    and chapter 8's server as a ratio to ch09_server with everything on,
    per client and load. `columns`: server name -> column; `medians`:
    (server name, client, load) -> median or None."""
    names = [n for n in ["ch08_server", "ch09_server"] + [f"ch09_server/{v}" for v in VARIANTS]
             if n in columns]
    if "ch09_server" not in names or len(names) < 2:
        return []
    lines = ["", "## What each fast path is worth {#bench_fast_paths}", "",
             "Each figure is the median of the column divided by `ch09_server`'s",
             "(its defaults: every fast path on) for the same load and client: below 1,",
             "slower than the defaults; above 1, faster. Where the brackets of the two",
             "figures in the table above overlap, the ratio means nothing.", "",
             "| Load | Client | " + " | ".join(columns[n] for n in names) + " |",
             "|---|---|" + "---|" * len(names)]
    for name, what, _, _ in loads:
        for client in clients:
            base = medians.get(("ch09_server", client, name))
            cells = []
            for n in names:
                value = medians.get((n, client, name))
                cells.append("-" if not base or value is None else f"{value / base:.2f}")
            lines.append(f"| {row_label(name, what, client)} | {client} | " + " | ".join(cells)
                         + " |")
    return lines


def client_sentence(clients):
    what = {
        "native": "`native`, a Linux program that makes no `wineserver` request"
                  " (`bench/native_client.c`)",
        "ch09_bench": "`ch09_bench`, chapter 9's load client (a completion port and"
                      " `ConnectEx`), itself under Wine",
        "ch05_client": "`ch05_client`, the chapter 5 client, itself under Wine",
    }
    listed = "; ".join(what[c] for c in clients)
    return (f"{'one client' if len(clients) == 1 else str(len(clients)) + ' clients in turn'},"
            f" {'which verifies' if len(clients) == 1 else 'each of which verifies'} every"
            f" echoed byte: {listed}. The chart shows `{clients[0]}`.")


def median_latency(runs):
    """ch09_bench's (p50, p99, max) of the run whose p99 is the median of
    the runs' p99, or None when no run measured a latency."""
    latencies = [o.latency for o in runs if o.latency is not None and o.latency[0]]
    if not latencies:
        return None
    return sorted(latencies, key=lambda t: float(t[1]))[len(latencies) // 2]


def latency_lines(servers, clients, loads, outcomes):
    """ch09_bench's latencies: p50 / p99 of the run with the median p99."""
    if "ch09_bench" not in clients:
        return []
    lines = ["", "## Latency (ch09_bench) {#bench_latency}", "",
             "Round-trip time of one message, from posting its send to the last byte",
             "of its echo, in microseconds: p50 / p99 (of the run whose p99 is the",
             "median of the runs). Under Wine, client and server share `wineserver`,",
             "so these times include the client's own requests.", "",
             "| Load | " + " | ".join(s.column for s in servers) + " |",
             "|---|" + "---|" * len(servers)]
    for name, what, _, _ in loads:
        if name == "stream":
            continue
        cells = []
        for server in servers:
            latency = median_latency(outcomes[(server.name, "ch09_bench", name)])
            cells.append(f"{latency[0]} / {latency[1]}" if latency else "-")
        lines.append(f"| {what.split(', ', 1)[1]} | " + " | ".join(cells) + " |")
    return lines


def draw_chart(servers, client, loads, outcomes, path, info):
    """results.svg, drawn by gnuplot: one panel per load, one bar per server
    (the median), a line from the lowest to the highest run."""
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        print("bench.py: no gnuplot: the chart is not drawn", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory(prefix="bench-chart-") as tmp:
        data = os.path.join(tmp, "data")
        with open(data, "w", encoding="utf-8") as f:
            for name, what, _, _ in loads:
                for i, server in enumerate(servers):
                    values = [o.value for o in outcomes[(server.name, client, name)]
                              if o.value is not None]
                    full = all(o.status == "ok" for o in outcomes[(server.name, client, name)])
                    label = server.column + ("" if full else " *")
                    colour = "0xaa4444" if server.third_party else "0x4477aa"
                    if values:
                        f.write(f'{i}\t"{label}"\t{statistics.median(values)}\t{min(values)}'
                                f"\t{max(values)}\t{colour}\n")
                    else:
                        f.write(f'{i}\t"{label}"\tNaN\tNaN\tNaN\t{colour}\n')
                f.write("\n\n")
        script = [
            "set terminal svg size 1000,800 dynamic noenhanced font 'sans,11' background '#ffffff'",
            f"set output '{path}'",
            "set datafile separator '\t'",
            "set multiplot layout 2,2 title \"Echo servers under Wine ("
            + f"{info['cores']} cores, {info['wine']}, {info['date']}), load client: {client}\\n"
            + "bars: the median run, lines: lowest to highest run; blue: this book, red: others;"
            + " *: some runs gave no complete figure\" font ',11'",
            "set style fill solid 0.85 border -1",
            "set boxwidth 0.7",
            "set xtics rotate by -35 scale 0 font ',9'",
            "set grid ytics",
            "set yrange [0:*]",
            "set offsets 0.5, 0.5, 0, 0",
            "set bmargin 7",
            "set rmargin 9",
        ]
        for index, (name, what, _, _) in enumerate(loads):
            script += [f"set title '{what}'",
                       f"plot '{data}' index {index} using 1:3:6:xtic(2) with boxes "
                       "lc rgb variable notitle, "
                       f"'' index {index} using 1:3:4:5 with yerrorbars lc rgb '#222222' "
                       "pt 7 ps 0.3 notitle"]
        script.append("unset multiplot")
        done = subprocess.run([gnuplot], input="\n".join(script) + "\n", text=True,
                              capture_output=True)
        if done.returncode != 0:
            print("bench.py: gnuplot failed: " + one_line(done.stderr), file=sys.stderr)
        else:
            print(f"chart: {path}")


def problem_lines(servers, clients, loads, outcomes, time_limit):
    """Every run that did not verify every byte and end cleanly, and slow
    connection set-ups: what the table's cells only count."""
    lines = []
    for server in servers:
        for client in clients:
            for name, what, _, _ in loads:
                runs = outcomes[(server.name, client, name)]
                for number, o in enumerate(runs, 1):
                    if o.status != "ok":
                        lines.append(f"- `{server.column}`, {client}, {what}, run {number}: "
                                     f"{o.status}: {one_line(o.detail, 300)}")
                opened = [o.opened for o in runs if o.opened is not None]
                if opened and statistics.median(opened) >= 1.0:
                    lines.append(f"- `{server.column}`, {client}, {what}: opening the "
                                 f"connections took {statistics.median(opened):.1f} s "
                                 "(median; not counted in the rate)")
    if not lines:
        return []
    return ["", "## Failures and limits {#bench_failures}", "",
            "Every run above that did not give a complete figure, and why, and the",
            "loads whose connections were slow to open. *partial*: the native client",
            f"stopped at the {time_limit:g} s limit (`--time-limit`), counted from when",
            "its connections were open, and the figure is every byte it verified until",
            "then, parts of messages included; the other failed runs gave no figure.",
            ""] + lines


def third_party_lines(servers, facts):
    lines = ["", "## Third-party servers {#bench_third_party_runs}", ""]
    used = [s for s in servers if s.third_party]
    if not used:
        return lines + ["This run compared no third-party servers; `bench.py --third-party DIR`",
                        "adds them (\\subpage bench_third_party says which and from where)."]
    lines += ["None of their code is in this repository: `bench/get_third_party.sh DIR`",
              "downloads it and `bench.py --third-party DIR` builds it with MinGW-w64",
              "(\\subpage bench_third_party says which files, from where, and why each",
              "build flag). Chapter servers are the `wine` preset's Debug build; these",
              "are optimised (`-O2`, libuv Release), which matters little when the",
              "cost is in `wineserver`. The ones built for this run:", ""]
    for server in used:
        fact = facts[server.name]
        lines.append(f"- `{server.column}`: {fact['what']}. SHA-256: "
                     + ", ".join(f"`{name}` {digest[:16]}..." for name, digest in fact["files"])
                     + ".")
    return lines


if __name__ == "__main__":
    sys.exit(main())
