#!/usr/bin/env python3
"""Draws a chapter's sequence chart from the lines its programs printed.

Usage: chart.py RULES TIMELINE OUT.msc

TIMELINE is what `pairtest --timeline` wrote during the walk-through: one
line per printed line, `<microseconds>\t<program>\t<out|err>\t<text>`. The
same run wrote the transcript that the chapter page shows under the chart,
so the chart cannot tell a different story from the transcript: each arrow
comes from a line the reader can find there.

RULES (chapters/NN_name/chart.rules) says which printed lines become which
arrows:

    entity server "server thread"       a column, left to right in order
    width 800                           the chart's width in pixels
    legend => a call the thread makes   a row of the legend drawn on top
    when server "^accepted connection from (.*)$" [optional] [first]
                [as NAME] [after NAME]
        server => system accept()       arcs for each line that matches,
        system >> server new socket \\1 \\1.. are the pattern's groups,
                                        \\L the program's label

An arc is `FROM OP TO LABEL` with OP one of => (a call), >> (what it
returned), -> (the system calls the program: a completion routine), box,
note; or `--- LABEL` (a separator). `when PROGRAM` matches the program
labels pairtest uses ("server", "client", "client 1", ...): "client" takes
every client. A rule matches every line of that program that its pattern
finds (`first`: only the first one). Every rule must match at least once
unless it is `optional`, so a program that stops printing a line fails the
build instead of leaving a stale arrow behind.

Order: lines are drawn in the order pairtest read them, each program's own
lines strictly in order. A program's output reaches pairtest when it flushes,
which can be later than what the line reports, so causes are stated:
`after NAME` holds a line back until a line of rule NAME has been drawn that
no other `after NAME` line has used yet (the server's "received" waits for
the "sent" of the client it came from, one for one).

Exit code 0 on success, 1 when a rule matched nothing or the rules are bad.
"""
import re
import shlex
import sys

OPS = {"=>", ">>", "->", "box", "note", "rbox", "abox"}


class Rule:
    def __init__(self, program, pattern, options, line_number):
        self.program = program
        self.pattern = re.compile(pattern)
        self.optional = "optional" in options
        self.first = "first" in options
        self.name = options.get("as")
        self.after = options.get("after")
        self.arcs = []
        self.matches = 0
        self.line_number = line_number


def fail(message):
    print(f"chart.py: {message}", file=sys.stderr)
    sys.exit(1)


def parse_rules(path):
    entities, legend, rules, width = [], [], [], 800
    current = None
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line[0] in " \t":
                if current is None:
                    fail(f"{path}:{number}: an arc outside a 'when' rule")
                current.arcs.append(parse_arc(line.strip(), path, number, entities))
                continue
            words = shlex.split(line)
            if words[0] == "entity" and len(words) == 3:
                entities.append((words[1], words[2]))
            elif words[0] == "width" and len(words) == 2:
                width = int(words[1])
            elif words[0] == "legend" and len(words) >= 3 and words[1] in OPS:
                legend.append((words[1], " ".join(words[2:])))
            elif words[0] == "when" and len(words) >= 3:
                options, rest = {}, words[3:]
                while rest:
                    word = rest.pop(0)
                    if word in ("as", "after"):
                        if not rest:
                            fail(f"{path}:{number}: '{word}' needs a name")
                        options[word] = rest.pop(0)
                    elif word in ("optional", "first"):
                        options[word] = True
                    else:
                        fail(f"{path}:{number}: unknown option '{word}'")
                current = Rule(words[1], words[2], options, number)
                rules.append(current)
            else:
                fail(f"{path}:{number}: cannot read '{line}'")
    names = {r.name for r in rules if r.name}
    for r in rules:
        if r.after and r.after not in names:
            fail(f"{path}:{r.line_number}: 'after {r.after}': no rule is called that")
        if not r.arcs:
            fail(f"{path}:{r.line_number}: a rule without arcs")
    if len(entities) < 2:
        fail(f"{path}: at least two entities are needed")
    return entities, legend, rules, width


def parse_arc(text, path, number, entities):
    if text.startswith("---"):
        return ("---", None, None, text[3:].strip())
    parts = text.split(None, 3)
    if len(parts) < 3 or parts[1] not in OPS:
        fail(f"{path}:{number}: an arc is 'FROM OP TO LABEL' or '--- LABEL', not '{text}'")
    known = {name for name, _ in entities}
    for who in (parts[0], parts[2]):
        if who not in known:
            fail(f"{path}:{number}: '{who}' is not an entity")
    return (parts[1], parts[0], parts[2], parts[3] if len(parts) > 3 else "")


def read_timeline(path):
    lines = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            fields = raw.rstrip("\n").split("\t", 3)
            if len(fields) != 4:
                continue
            lines.append((int(fields[0]), fields[1], fields[2], fields[3]))
    return lines


def program_matches(rule_program, label):
    return label == rule_program or label.startswith(rule_program + " ")


def quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def expand(label, match, program):
    def group(m):
        if m.group(1) == "L":
            return program
        value = match.group(int(m.group(1)))
        return value if value is not None else ""
    return re.sub(r"\\(L|\d)", group, label)


def msc_arc(arc, label):
    op, a, b, _ = arc
    if op == "---":
        return f"  --- [label={quote(label)}];" if label else "  ---;"
    return f"  {a} {op} {b} [label={quote(label)}];"


def main():
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    rules_path, timeline_path, out_path = sys.argv[1:]
    entities, legend, rules, width = parse_rules(rules_path)
    timeline = read_timeline(timeline_path)

    # One queue per program, in its own order; the next line drawn is the
    # earliest head that no 'after' holds back.
    queues = {}
    for stamp, program, stream, text in timeline:
        queues.setdefault(program, []).append((stamp, program, stream, text))
    produced, consumed = {}, {}

    def rule_for(program, text):
        """The rules a line of this program matches now, with their matches."""
        found = []
        for rule in rules:
            if not program_matches(rule.program, program) or (rule.first and rule.matches):
                continue
            match = rule.pattern.search(text)
            if match is not None:
                found.append((rule, match))
        return found

    def waiting(found):
        need = {}
        for rule, _ in found:
            if rule.after:
                need[rule.after] = need.get(rule.after, 0) + 1
        return any(produced.get(n, 0) - consumed.get(n, 0) < k for n, k in need.items())

    body = []
    while any(queues.values()):
        ready = [(q[0][0], program) for program, q in queues.items()
                 if q and not waiting(rule_for(program, q[0][3]))]
        if not ready:
            stuck = {p: q[0][3] for p, q in queues.items() if q}
            fail(f"every program waits for a line that never comes ('after'): {stuck}")
        _, program = min(ready)
        stamp, _, stream, text = queues[program].pop(0)
        for rule, match in rule_for(program, text):
            rule.matches += 1
            if rule.after:
                consumed[rule.after] = consumed.get(rule.after, 0) + 1
            if rule.name:
                produced[rule.name] = produced.get(rule.name, 0) + 1
            for arc in rule.arcs:
                body.append(msc_arc(arc, expand(arc[3], match, program)))

    missing = [r for r in rules if r.matches == 0 and not r.optional]
    for r in missing:
        print(f"chart.py: {rules_path}:{r.line_number}: no {r.program} line matched "
              f"{r.pattern.pattern!r}", file=sys.stderr)
    if missing:
        return 1

    out = ["# Drawn by harness/chart.py from the walk-through's timeline; do not edit.",
           "msc {", f'  width = "{width}";',
           "  " + ", ".join(f"{name} [label={quote(text)}]" for name, text in entities) + ";"]
    if legend:
        a, b = entities[0][0], entities[1][0]
        out.append('  --- [label="how to read this chart"];')
        for op, text in legend:
            if op in ("box", "rbox", "abox"):
                out.append(f"  {a} {op} {a} [label={quote(text)}];")
            elif op in (">>", "->"):
                out.append(f"  {b} {op} {a} [label={quote(text)}];")
            else:
                out.append(f"  {a} {op} {b} [label={quote(text)}];")
        out.append('  --- [label="the run shown below"];')
    out.extend(body)
    out.append("}")
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
