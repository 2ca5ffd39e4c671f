#!/usr/bin/env python3
"""Tests of harness/chart.py (the harness.chart test): small rules and
timelines, written here, drawn by chart.py, and what it wrote checked.

Usage: test_chart.py     (exit code 0 when every check passes, 1 otherwise)

What is checked: the order of lines of different programs (`after`, one for
one, and `after-if` both ways: the client's send after the server's "not
yet", and before a receive that completed at once); that every label line
fits between its lifelines or inside its box, and that a word too wide for
its room fails; the legend (the rows of the OPs the chart uses, in one
order, on grey); and the failures the build relies on: a rule that matches
nothing, an 'after' whose line never comes, a bad arc.
"""
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import chart  # noqa: E402  (the module under test, for its metrics)

failures = 0


def check(condition, what):
    global failures
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures += 1


def draw(rules, timeline):
    """Runs chart.py; returns (exit code, the .msc text, stderr)."""
    with tempfile.TemporaryDirectory() as d:
        paths = [os.path.join(d, n) for n in ("chart.rules", "timeline", "out.msc")]
        with open(paths[0], "w", encoding="utf-8") as f:
            f.write(rules)
        with open(paths[1], "w", encoding="utf-8") as f:
            for stamp, program, text in timeline:
                f.write(f"{stamp}\t{program}\tout\t{text}\n")
        run = subprocess.run([sys.executable, os.path.join(HERE, "chart.py")] + paths,
                             capture_output=True, text=True)
        msc = ""
        if os.path.exists(paths[2]):
            with open(paths[2], encoding="utf-8") as f:
                msc = f.read()
        return run.returncode, msc, run.stderr


def labels(msc):
    """The arcs of a chart: (arc text before '[', label lines) in order."""
    found = []
    for line in msc.splitlines():
        m = re.match(r'\s*(\w+ \S+ \w+) \[label="((?:[^"\\]|\\.)*)"', line)
        if m:
            found.append((m.group(1), m.group(2).replace('\\"', '"').split("\\n")))
    return found


def position(msc, text):
    for i, (_, lines) in enumerate(labels(msc)):
        if text in " ".join(lines):
            return i
    return -1


ENTITIES = """entity client "client thread"
entity sys "the system (both ends)"
entity server "server thread"
width 830
"""

# --- after-if: the send is drawn after the server's "not yet" -------------
RULES = ENTITIES + """
when client "^connected$" as connected
    client => sys connect()
when server "^accepted$" after connected
    server => sys accept()
when client "^send completed at once$" as sent after-if notyet
    client ~> sys WSASend: at once
when server "^header completed at once$" after sent optional
    server ~> sys WSARecv: at once
when server "^header pending$" optional
    server ~> sys WSARecv: pending
when server "^not yet$" as notyet optional
    sys >> server 996: not yet
    server box server blocked
when server "^wait returned$" after sent optional
    sys >> server the wait returned
"""
# The server's receive went pending, but pairtest read the client's send
# first: nothing orders the two, and the chart puts "not yet" first.
pending = [(1, "client", "connected"), (2, "server", "accepted"),
           (3, "client", "send completed at once"), (4, "server", "header pending"),
           (5, "server", "not yet"), (6, "server", "wait returned")]
code, msc, err = draw(RULES, pending)
check(code == 0, f"after-if, receive pending: drawn (exit {code}) {err.strip()}")
check(0 <= position(msc, "996: not yet") < position(msc, "WSASend: at once"),
      "after-if: the client's send comes after the server's 'not yet'")
check(position(msc, "blocked") < position(msc, "WSASend: at once"),
      "after-if: ... and after the wait box drawn with it")
check(position(msc, "WSASend: at once") < position(msc, "the wait returned"),
      "after: the server's wait returns after the client's send")

# The server's receive completed at once: its line waits for the send, and
# the after-if must not wait for a "not yet" of a later connection.
at_once = [(1, "client 1", "connected"), (2, "server", "accepted"),
           (3, "server", "header completed at once"),
           (4, "client 1", "send completed at once"),
           (5, "client 2", "connected"), (6, "server", "accepted"),
           (7, "server", "header pending"), (8, "server", "not yet"),
           (9, "client 2", "send completed at once"), (10, "server", "wait returned")]
code, msc, err = draw(RULES, at_once)
check(code == 0, f"after-if, completed at once: no deadlock (exit {code}) {err.strip()}")
order = [" ".join(lines) for _, lines in labels(msc)]
first_send = order.index("WSASend: at once")
check(first_send < order.index("WSARecv: at once"),
      "after: the receive that completed at once comes after the client's send")
check(first_send < order.index("996: not yet"),
      "after-if: the first client's send does not wait for the next connection's 'not yet'")
check(order.index("996: not yet") < len(order) - 1 - order[::-1].index("WSASend: at once"),
      "after-if: the second client's send comes after that connection's 'not yet'")

# --- after: one for one ----------------------------------------------------
ONE_FOR_ONE = ENTITIES + """
when client "^sent$" as sent
    client => sys send()
when server "^received (\\d)$" after sent
    server => sys recv() \\1
"""
code, msc, err = draw(ONE_FOR_ONE, [(1, "server", "received 1"), (2, "server", "received 2"),
                                    (3, "client 1", "sent"), (4, "client 2", "sent")])
order = [" ".join(lines) for _, lines in labels(msc)]
check(code == 0 and order[-4:] == ["send()", "recv() 1", "send()", "recv() 2"],
      f"after: each 'received' waits for a 'sent' of its own: {order[-4:]}")
code, msc, err = draw(ONE_FOR_ONE, [(1, "server", "received 1"), (2, "client", "sent"),
                                    (3, "server", "received 2")])
check(code == 1 and "waits for a line that never comes" in err,
      "after: a line whose cause never comes fails the build")

# --- wrapping --------------------------------------------------------------
LONG = ENTITIES + """
when server "^(.*)$"
    server ~> sys WSARecv(the header, &overlapped, receive_completed), and then some more words
    sys -> server receive_completed (run 1): 4 bytes, error 0 (the same thread as main)
    server box server an alertable wait: its routines check each echo and send the next one
    server note server \\1
"""
code, msc, err = draw(LONG, [(1, "server", "a note that is much too long for one line of its box")])
check(code == 0, f"wrapping: drawn (exit {code}) {err.strip()}")
layout = chart.Layout([("client", ""), ("sys", ""), ("server", "")], 830)
fits = True
wrapped = 0
for arc, lines in labels(msc):
    a, op, b = arc.split()
    kind = {"box": "box", "note": "note"}.get(op, "=>")
    if a == "client" and b == "server" and op == "box":
        kind = "---"
    room = layout.room(kind, a, b)
    text = [line for line in lines if line]
    wrapped += len(text) > 1
    for line in text:
        if chart.text_width(line) > room:
            fits = False
            print(f"     '{line}' is {chart.text_width(line)} pixels wide, room {room}")
    if len(text) > 1 and op not in ("box", "note"):
        fits = fits and lines[len(text):] == [""] * len(text)  # all of it above the arrow
check(fits and wrapped >= 4, f"wrapping: every line fits its room ({wrapped} labels wrapped)")
check("receive_completed),\\nand then some more words" in msc
      and "receive_completed (run 1): 4 bytes,\\nerror 0" in msc,
      "wrapping: lines break between phrases rather than inside one")
code, msc, err = draw(ENTITIES + """
when server "^(.*)$"
    server => sys \\1
""", [(1, "server", "WSAWaitForMultipleEventsWSAWaitForMultipleEventsWSAWaitForMultipleEvents")])
check(code == 1 and "wider than its room" in err, "wrapping: a word too wide for its room fails")

# --- the legend ------------------------------------------------------------
code, msc, err = draw(ENTITIES + """legend => an old legend row
when server "^x$"
    server ~> sys WSARecv
    sys >> server 0
    server box server waiting
""", [(1, "server", "x")])
legend = [arc for arc in msc.splitlines() if "#e6e6e6" in arc]
check(code == 0 and "'legend' is ignored" in err, "legend: a 'legend' line is ignored, with a note")
check(len(legend) == 4 and "key (not part of the run)" in legend[0]
      and "what the thread is doing" in legend[1] and "an overlapped call" in legend[2]
      and "what a call or a wait returned" in legend[3],
      "legend: the key's band, then one grey row per OP used, in the book's order")
check("a blocking call" not in msc and "completion routine" not in msc,
      "legend: no row for an OP the chart does not use")
check('=>> sys [label="WSARecv", linecolour="#1f5fbf"' in msc,
      "styles: an overlapped call is drawn blue, with an open head (=>>)")

# --- failures the build relies on -------------------------------------------
code, msc, err = draw(ENTITIES + """
when server "^listening$"
    server => sys listen()
when server "^never printed$"
    server => sys nothing
""", [(1, "server", "listening")])
check(code == 1 and "no server line matched" in err, "a rule that matches nothing fails")
for arc, why in (("server => server accept()", "an arrow to its own column"),
                 ("client box server waiting", "a box across columns"),
                 ("server -x sys lost", "an unknown OP")):
    code, msc, err = draw(ENTITIES + f"""
when server "^x$"
    {arc}
""", [(1, "server", "x")])
    check(code == 1, f"bad arc refused: {why}")

print(f"test_chart: {'no' if not failures else failures} failure(s)")
sys.exit(1 if failures else 0)
