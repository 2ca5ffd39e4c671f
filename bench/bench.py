#!/usr/bin/env python3
"""The benchmark: echo servers against the chapter 5 load client.

Usage: bench.py BUILD_DIR OUT.md [--repeat N] [--servers ch05_server,...]

For each server, each client (the native Linux one, bench/native_client.c,
and ch05_client under Wine) and each load below, it starts the server
(--quiet), reads its port, runs the client, stops the server with a line on
its stdin and checks its summary; the clients verify every echoed byte and
print their rate. The loads are run round-robin, server by server,
--repeat times (default 3), so that noise spreads over all of them, and the
median of each is reported. The result (Markdown, with the machine, the
Wine version and the date) goes to OUT.md, and a CSV beside it.

Under Wine only ratios measured in one run mean anything: every socket
operation goes through wineserver (see ../shared/notes/wine.md). The
figures are not Windows figures.

Exit code 0 when every run verified every byte, 1 otherwise.
"""
import datetime
import os
import platform
import re
import statistics
import subprocess
import sys

# name, what it measures, client arguments
LOADS = [
    ("rt_1x64", "round trips/s, 1 connection, 64 B",
     ["--connections", "1", "--messages", "5000", "--size", "64"]),
    ("rt_16x64", "round trips/s, 16 connections, 64 B",
     ["--connections", "16", "--messages", "500", "--size", "64"]),
    ("rt_64x4k", "round trips/s, 64 connections, 4 KiB",
     ["--connections", "64", "--messages", "100", "--size", "4K"]),
    ("stream", "MB/s, 1 connection, 16 MiB messages",
     ["--connections", "1", "--messages", "8", "--size", "16M"]),
]
RESULT = re.compile(r"round trips, (\d+) bytes verified in ([0-9.]+) s "
                    r"\(([0-9.]+) round trips/s, ([0-9.]+) MB/s\)")


def wine_env(build):
    return dict(os.environ, WINEPREFIX=os.path.join(build, "wineprefix"), WINEDEBUG="-all",
                WINEDLLOVERRIDES="mscoree,mshtml=")


def cpu_seconds(pid):
    """User + system CPU time of a process so far, from /proc (Linux)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wineserver_pid(build):
    prefix = os.path.join(build, "wineprefix")
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


def run_once(build, server, client, load_args):
    """One run: start the server, run the client, stop the server.
    Returns (round trips/s, MB/s, CPU ms per round trip of server + wineserver)."""
    env = wine_env(build)
    bin_dir = os.path.join(build, "bin")
    proc = subprocess.Popen(["wine", os.path.join(bin_dir, server + ".exe"), "--quiet", "0"],
                            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    port = None
    for line in proc.stdout:
        found = re.search(r"listening on 127\.0\.0\.1 port (\d+)", line)
        if found:
            port = found.group(1)
            break
    if port is None:
        raise RuntimeError(f"{server} did not start")
    ws = wineserver_pid(build)
    cpu_before = cpu_seconds(proc.pid) + (cpu_seconds(ws) if ws else 0.0)
    if client == "native":
        command = [os.path.join(build, "native_client"), "127.0.0.1", port,
                   load_args[1], load_args[3], str(parse_size(load_args[5]))]
    else:
        command = ["wine", os.path.join(bin_dir, "ch05_client.exe"), "--quiet", *load_args,
                   "127.0.0.1", port]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    cpu_after = cpu_seconds(proc.pid) + (cpu_seconds(ws) if ws else 0.0)
    proc.stdin.write("stop\n")
    proc.stdin.flush()
    rest = proc.communicate(timeout=60)[0]
    match = RESULT.search(done.stdout)
    if (done.returncode != 0 or match is None or proc.returncode != 0
            or " 0 contexts alive" not in rest):
        raise RuntimeError(done.stdout + done.stderr + rest)
    round_trips = int(re.search(r"(\d+) round trips,", done.stdout).group(1))
    return (float(match.group(3)), float(match.group(4)),
            (cpu_after - cpu_before) * 1000.0 / round_trips)


def parse_size(text):
    scale = {"K": 1024, "M": 1024 * 1024}.get(text[-1:].upper(), 1)
    return int(text[:-1] if scale > 1 else text) * scale


def build_native_client(build):
    """The Linux load client, compiled with the host's C compiler."""
    out = os.path.join(build, "native_client")
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "native_client.c")
    subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-o", out, source], check=True)
    return out


REQUEST = re.compile(r"^([0-9a-f]{4}): ([a-z_]+)\(")


def count_requests(build, server, round_trips=2000, connections=1):
    """wineserver requests per round trip, by request, for one load.

    A private wineserver for a copy of the prefix logs every request
    (wineserver -d1); the native client makes none, so every request in the
    window comes from the server process."""
    import shutil
    import tempfile
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
            # Wine's helper processes start with the first program and would
            # inherit its pipes: start them now, with none (as
            # cmake/wine-session.sh does).
            subprocess.run(["wine", "cmd", "/c", "exit"], env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
            proc = subprocess.Popen(["wine", os.path.join(build, "bin", server + ".exe"),
                                     "--quiet", "0"], env=env, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            port = None
            for line in proc.stdout:
                found = re.search(r"listening on 127\.0\.0\.1 port (\d+)", line)
                if found:
                    port = found.group(1)
                if port is not None and "echoing on one thread" in line:
                    break  # set-up done (its handle count is thousands of requests)
            start = os.path.getsize(log_path)
            subprocess.run([os.path.join(build, "native_client"), "127.0.0.1", port,
                            str(connections), str(round_trips // connections), "64"],
                           check=True, capture_output=True, timeout=300)
            end = os.path.getsize(log_path)
            proc.stdin.write("stop\n")
            proc.stdin.flush()
            proc.communicate(timeout=60)
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


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    build, out = args[0], args[1]
    repeat, servers = 3, ["ch05_server"]
    rest = args[2:]
    while rest:
        option = rest.pop(0)
        if option == "--repeat" and rest:
            repeat = int(rest.pop(0))
        elif option == "--servers" and rest:
            servers = rest.pop(0).split(",")
        else:
            print(f"bench.py: unknown option {option}", file=sys.stderr)
            return 2

    build_native_client(build)
    clients = ["native", "ch05_client"]
    samples = {(s, c, name): [] for s in servers for c in clients for name, _, _ in LOADS}
    cpu = {(s, c, name): [] for s in servers for c in clients for name, _, _ in LOADS}
    total = repeat * len(servers) * len(clients) * len(LOADS)
    done = 0
    for round_number in range(repeat):
        for server in servers:
            for client in clients:
                for name, _, load_args in LOADS:
                    done += 1
                    print(f"[{done}/{total}] round {round_number + 1}: {server}, {client} client, "
                          f"{name} ...", end=" ", flush=True)
                    try:
                        rate, mbps, cpu_ms = run_once(build, server, client, load_args)
                    except (RuntimeError, subprocess.TimeoutExpired) as failure:
                        print("FAILED")
                        print(failure, file=sys.stderr)
                        return 1
                    value = mbps if name == "stream" else rate
                    samples[(server, client, name)].append(value)
                    cpu[(server, client, name)].append(cpu_ms)
                    print(f"{value:.1f}", flush=True)

    requests = {}
    for server in servers:
        print(f"wineserver requests per round trip: {server} ...", end=" ", flush=True)
        requests[server] = count_requests(build, server)
        print(f"{sum(requests[server].values()):.1f}", flush=True)

    info = machine()
    lines = [
        "# Appendix G: Benchmark results {#bench_results}",
        "",
        "Made by `./tutorial bench` (`bench/bench.py`). Each echo server is run",
        "under Wine and loaded by two clients in turn, both of which verify every",
        "echoed byte: `native_client`, a Linux program (`bench/native_client.c`),",
        "and the chapter 5 client `ch05_client`, itself under Wine. Every load is",
        f"run {repeat} times, round-robin; the table gives the median and, in",
        "brackets, the lowest and highest run. The brackets show how much the",
        "runs of one load differ. When the brackets of two figures overlap, the",
        "difference between the two figures means nothing.",
        "",
        "A \\ref gl_round_trip \"round trip\" is one message sent and its echo",
        "received back. In the MB/s rows a round trip is one whole 16 MiB message.",
        "*CPU per round trip* is the CPU time of the server process and of",
        "`wineserver` together, divided by the round trips (median), so in the",
        "MB/s rows it is the CPU time per 16 MiB message. MB/s counts millions of",
        "bytes (10^6 bytes) per second, each echoed byte once; 16 MiB is",
        "16 x 2^20 = 16,777,216 bytes.",
        "",
        "**These are Wine figures**, not Windows figures. Under Wine every socket",
        "operation of a Windows program is a request to the one `wineserver`",
        "process, so what they show is relative cost (operations per echo, one",
        "model against another in the same run), not what the same programs do",
        "on Windows. A load client under Wine uses the same `wineserver` as the",
        "server it measures, which is why the native client is the fairer",
        "measure of the server. On Windows, run the loads by hand: start",
        "`ch05_server --quiet 0`, then each `ch05_client` command listed below.",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores; {info['os']}; {info['wine']}; "
        f"{info['date']}.",
        "",
        "| Load | Client | " + " | ".join(servers)
        + " | CPU per round trip (MB/s rows: per 16 MiB message) |",
        "|---|---|" + "---|" * len(servers) + "---|",
    ]
    csv = ["server,client,load,median,min,max,unit,cpu_ms_per_round_trip"]
    for name, what, load_args in LOADS:
        unit = "MB/s" if name == "stream" else "round trips/s"
        for client in clients:
            cells, cpus = [], []
            for server in servers:
                values = samples[(server, client, name)]
                digits = 1 if unit == "MB/s" else 0
                cells.append(f"{statistics.median(values):.{digits}f} "
                             f"({min(values):.{digits}f}-{max(values):.{digits}f})")
                cpus.append(f"{statistics.median(cpu[(server, client, name)]):.3f} ms")
                csv.append(f"{server},{client},{name},{statistics.median(values):.1f},"
                           f"{min(values):.1f},{max(values):.1f},{unit},"
                           f"{statistics.median(cpu[(server, client, name)]):.4f}")
            lines.append(f"| {what} | {client} | " + " | ".join(cells) + " | "
                         + ", ".join(cpus) + " |")
    lines += ["", "## What bounds these figures {#bench_bounds}", "",
              "Under Wine each socket operation, and each delivery of a completion,",
              "is a request to the one `wineserver` process. `bench.py` counts them",
              "for 2,000 round trips of 64 bytes on one connection, with a private",
              "`wineserver -d1` that logs every request; the native client makes",
              "none, so every request is the server's. Requests that came less than",
              "once in 20 round trips are left out:", ""]
    for server in servers:
        total_requests = sum(requests[server].values())
        top = [item for item in sorted(requests[server].items(), key=lambda item: -item[1])
               if item[1] >= 0.05][:6]
        lines.append(f"- `{server}`: {total_requests:.1f} requests per round trip ("
                     + ", ".join(f"`{name}` {n:.2f}" for name, n in top) + ").")
    lines += ["", "The CPU column shows what each round trip costs the server and",
              "`wineserver` together; at a few tenths of a millisecond each, about",
              "3,000 round trips a second is what one core can give, whatever the",
              "number of connections. Only ratios between servers measured in the",
              "same run say anything about a model."]
    lines += ["", "The loads (`ch05_client` arguments; `native_client` takes the same",
              "connections, messages and size):", ""]
    for name, what, load_args in LOADS:
        lines.append(f"- {what}: `ch05_client {' '.join(load_args)} HOST PORT`")
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.splitext(out)[0] + ".csv", "w", encoding="utf-8") as f:
        f.write("\n".join(csv) + "\n")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
