#!/usr/bin/env python3
"""Draws a chapter's sequence chart from the lines its programs printed.

Usage: chart.py RULES TIMELINE OUT.msc

TIMELINE is what `pairtest --timeline` wrote during the walk-through: one
line per printed line, `<microseconds>\t<program>\t<out|err>\t<text>`. The
same run wrote the transcript that the chapter page shows under the chart,
so the chart cannot tell a different story from the transcript: each arrow
or box stands for a step that a printed line reports. Its label says what
happened, in the chart's words, not the line's exact text; the calls a
program makes before it prints a line (socket, bind and listen before
"listening on") are drawn from that line.

RULES (chapters/NN_name/chart.rules) says which printed lines become which
arrows:

    entity server "server thread"       a column, left to right in order
    width 830                           the chart's width in pixels
    when server "^accepted connection from (.*)$" [optional] [first]
                [as NAME] [after NAME] [after-if NAME]
        server => sys accept()          arcs for each line that matches,
        sys >> server new socket \\1     \\1.. are the pattern's groups,
                                        \\L the program's label

An arc is `FROM OP TO LABEL`, or `--- LABEL` (a band across the chart that
starts a part of the run). The OPs, and how each is drawn, are the same in
every chart; the legend on top of each chart explains the ones it uses:

    =>    a blocking call: it returns when its work is done (solid line,
          filled head)
    ~>    an overlapped call: it starts the I/O and returns at once (blue,
          open head)
    >>    what a call or a wait returned (dotted line)
    ->    the system runs a completion routine on this thread (double
          orange line)
    box   what the thread is doing, or the call it is waiting in (FROM and
          TO are the same column)
    note  what the program concludes without a call (a checksum compared,
          a count)

The legend is chart.py's, one for the whole book; a `legend` line in RULES
is ignored (with a note on stderr). Long labels are wrapped to fit between
the two lifelines of their arrow, or inside their box; a word too long to
fit fails the build rather than run across a lifeline.

`when PROGRAM` matches the program labels pairtest uses ("server", "client",
"client 1", ...): "client" takes every client. A rule matches every line of
that program that its pattern finds (`first`: only the first one). Every
rule must match at least once unless it is `optional`, so a program that
stops printing a line fails the build instead of leaving a stale arrow
behind.

Order: lines are drawn in the order pairtest read them, each program's own
lines strictly in order. Lines of different programs are ordered by cause
only where a rule says so; elsewhere their order is the order in which
pairtest happened to read them, which is not a timeline (a program's output
reaches pairtest when it flushes, which can be later than what the line
reports).

  - `after NAME` holds a line back until a line of rule NAME has been drawn
    that no other `after NAME` line has used yet (the server's "received"
    waits for the "sent" of the client it came from, one for one). A NAME
    line that never comes fails the build.
  - `after-if NAME` holds a line back only while a line of rule NAME is
    still to come from another program before that program waits for this
    one (before its next line whose rule is `after` this rule's `as`
    name). The client's send is drawn after the server's "not yet" when the
    server's receive went pending, and before the server's receive when
    that one completed at once, with the bytes already there.

Exit code 0 on success, 1 when a rule matched nothing, a label cannot fit or
the rules are bad.
"""
import re
import shlex
import sys

ARROWS = ("=>", "~>", ">>", "->")
BOXES = ("box", "note")
OPS = ARROWS + BOXES

# How each OP is drawn in mscgen: its arc and attributes. Blue and orange
# are told apart by more than their colour: the heads and lines differ too.
BLUE, ORANGE = "#1f5fbf", "#b34700"
STYLE = {
    "=>": ("=>", ""),
    "~>": ("=>>", f'linecolour="{BLUE}", textcolour="{BLUE}"'),
    ">>": (">>", ""),
    "->": (":>", f'linecolour="{ORANGE}", textcolour="{ORANGE}"'),
    "box": ("box", ""),
    "note": ("note", ""),
}

# The legend: one row per OP the chart uses, always in this order and with
# these words, so the same line style means the same thing in every chart.
LEGEND = [
    ("box", "what the thread is doing or waiting in"),
    ("=>", "a blocking call: it returns when done"),
    ("~>", "an overlapped call: it returns at once"),
    (">>", "what a call or a wait returned"),
    ("->", "the system runs a completion routine"),
    ("note", "what the program concludes (no call)"),
]
# The legend is not part of the run: its labels sit on grey, under a grey
# band that says so. A band (---) that starts a part of the run is pale blue.
KEY_GREY, BAND_BLUE = "#e6e6e6", "#e3eaf5"
KEY_TITLE = "key (not part of the run)"
RUN_TITLE = "the run shown below"

# Text metrics of Doxygen's built-in mscgen (SVG output): Helvetica at 12
# points, each character as wide as Adobe's Helvetica font metrics say (in
# 1/1000 of a point, for the characters from ' ' to '~'), lines 11 pixels
# high. These are the widths mscgen itself lays the chart out with.
HELVETICA = dict(zip(
    (chr(c) for c in range(32, 127)),
    [278, 278, 355, 556, 556, 889, 667, 222, 333, 333, 389, 584, 278, 333, 278, 278,
     556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
     1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
     667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
     222, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
     556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584]))
# mscgen's layout: the gap between a box and its column's edge, and between
# a box's edge and its text; the folded corner of a note.
BOX_SPACING, BOX_BORDER, NOTE_CORNER = 8, 4, 12
# The room kept free between a label and each lifeline of its arrow (an
# arrowhead is 10 pixels long), or each side of its box.
ARROW_MARGIN, BOX_MARGIN = 16, 4


def text_width(text):
    """The width mscgen gives this text, in pixels (unknown characters are
    counted wide, so that they wrap early rather than overflow)."""
    thousandths = sum(HELVETICA.get(c, 1000) for c in text)
    return (thousandths * 12 + 500) // 1000


class Rule:
    def __init__(self, program, pattern, options, line_number):
        self.program = program
        self.pattern = re.compile(pattern)
        self.optional = "optional" in options
        self.first = "first" in options
        self.name = options.get("as")
        self.after = options.get("after")
        self.after_if = options.get("after-if")
        self.arcs = []
        self.matches = 0
        self.line_number = line_number


def fail(message):
    print(f"chart.py: {message}", file=sys.stderr)
    sys.exit(1)


def parse_rules(path):
    entities, rules, width = [], [], 800
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
            elif words[0] == "legend":
                print(f"chart.py: {path}:{number}: 'legend' is ignored: every chart has "
                      "the same legend, drawn by chart.py for the OPs it uses", file=sys.stderr)
            elif words[0] == "when" and len(words) >= 3:
                options, rest = {}, words[3:]
                while rest:
                    word = rest.pop(0)
                    if word in ("as", "after", "after-if"):
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
        for option, name in (("after", r.after), ("after-if", r.after_if)):
            if name and name not in names:
                fail(f"{path}:{r.line_number}: '{option} {name}': no rule is called that")
        if not r.arcs:
            fail(f"{path}:{r.line_number}: a rule without arcs")
    if len(entities) < 2:
        fail(f"{path}: at least two entities are needed")
    return entities, rules, width


def parse_arc(text, path, number, entities):
    if text.startswith("---"):
        return ("---", None, None, text[3:].strip())
    parts = text.split(None, 3)
    if len(parts) < 3 or parts[1] not in OPS:
        fail(f"{path}:{number}: an arc is 'FROM OP TO LABEL' (OP one of {' '.join(OPS)}) "
             f"or '--- LABEL', not '{text}'")
    known = [name for name, _ in entities]
    for who in (parts[0], parts[2]):
        if who not in known:
            fail(f"{path}:{number}: '{who}' is not an entity")
    same = parts[0] == parts[2]
    if parts[1] in BOXES and not same:
        fail(f"{path}:{number}: a {parts[1]} belongs to one column: '{parts[0]} {parts[1]} {parts[0]}'")
    if parts[1] in ARROWS and same:
        fail(f"{path}:{number}: an arrow goes from one column to another, not '{text}'")
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
    """A quoted mscgen string. mscgen reads \\" as a quote and keeps every
    other backslash as it is (\\n, though, starts a new line)."""
    return '"' + text.replace('"', '\\"') + '"'


def expand(label, match, program):
    def group(m):
        if m.group(1) == "L":
            return program
        value = match.group(int(m.group(1)))
        return value if value is not None else ""
    return re.sub(r"\\(L|\d)", group, label)


class Layout:
    """Where mscgen puts things: equal columns, lifelines in their middle."""

    def __init__(self, entities, width):
        self.index = {name: i for i, (name, _) in enumerate(entities)}
        self.count = len(entities)
        # mscgen: each column is width / entities wide, and at least 80.
        self.column = max(80, width // self.count)

    def room(self, op, a, b):
        """The widest line of text that fits this arc, in pixels."""
        if op == "---":
            return self.count * self.column - 2 * (BOX_SPACING + BOX_BORDER)
        if op in BOXES:
            room = self.column - 2 * (BOX_SPACING + BOX_BORDER + BOX_MARGIN)
            return room - NOTE_CORNER if op == "note" else room
        # An arrow's label is centred between its two lifelines.
        return abs(self.index[a] - self.index[b]) * self.column - 2 * ARROW_MARGIN


def wrap(text, room):
    """Splits text into the fewest lines that fit room. Among those, the
    breaks it prefers are, best first: between phrases outside parentheses
    (after a ',', ';', ':' or ')', or before a '('), after a ',' inside
    them, between two words, inside parentheses; and lines even in width.
    None if one word alone is wider than room."""
    words = text.split()
    if not words:
        return [""]
    if any(text_width(word) > room for word in words):
        return None
    depth, depths = 0, []  # how deep in parentheses a break after each word is
    for word in words:
        depth += word.count("(") - word.count(")")
        depths.append(depth)

    def penalty(j):  # for a break between words[j - 1] and words[j]
        phrase = words[j - 1][-1] in ",;:)" or words[j][0] == "("
        if depths[j - 1] <= 0:
            return 0 if phrase else room * room // 2
        return room * room // 4 if phrase else room * room

    # best[i]: (lines, cost, end of the first line) for words[i:].
    best = [None] * len(words) + [(0, 0, None)]
    for i in range(len(words) - 1, -1, -1):
        for j in range(i + 1, len(words) + 1):
            slack = room - text_width(" ".join(words[i:j]))
            if slack < 0:
                break
            lines, rest, _ = best[j]
            cost = slack * slack + (penalty(j) if j < len(words) else 0)
            option = (lines + 1, cost + rest, j)
            if best[i] is None or option < best[i]:
                best[i] = option
    lines, i = [], 0
    while i < len(words):
        j = best[i][2]
        lines.append(" ".join(words[i:j]))
        i = j
    return lines


def msc_label(op, lines):
    """The label attribute, wrapped lines joined by mscgen's \\n. mscgen
    gives a row one text line per label line (two at least) and centres the
    text on the arrow, or in the box. A wrapped arrow label gets as many
    empty lines after it, so that all of it stays above its arrow, like a
    one-line label; a wrapped box gets one empty line above and below, so
    that its text does not touch its edges."""
    if len(lines) > 1:
        if op in ARROWS:
            lines = lines + [""] * len(lines)
        else:
            lines = [""] + lines + [""]
    return '"' + "\\n".join(quote(line)[1:-1] for line in lines) + '"'


def msc_arc(layout, entities, arc, label, where, key=False):
    op, a, b, _ = arc
    room = layout.room(op, a, b)
    lines = wrap(label, room)
    if lines is None:
        fail(f"{where}: a word of '{label}' is wider than its room ({room} pixels): "
             "shorten it, or widen the chart")
    if op == "---":
        first, last = entities[0][0], entities[-1][0]
        colour = KEY_GREY if key else BAND_BLUE
        return (f"  {first} box {last} [label={msc_label('box', lines)}, "
                f'textbgcolour="{colour}", linecolour="{colour}"];')
    mscop, attributes = STYLE[op]
    extra = [attributes] if attributes else []
    if key:
        extra.append(f'textbgcolour="{KEY_GREY}"')
    return f"  {a} {mscop} {b} [label={msc_label(op, lines)}{''.join(', ' + e for e in extra)}];"


def legend_rows(layout, entities, used):
    """The key: the rows of LEGEND whose OP the chart uses."""
    first, second = entities[0][0], entities[1][0]
    rows = [msc_arc(layout, entities, ("---", None, None, ""), KEY_TITLE, "the legend", key=True)]
    for op, text in LEGEND:
        if op not in used:
            continue
        if op in BOXES:
            a, b = first, first
        elif op in (">>", "->"):
            a, b = second, first
        else:
            a, b = first, second
        rows.append(msc_arc(layout, entities, (op, a, b, text), text, "the legend", key=True))
    rows.append(msc_arc(layout, entities, ("---", None, None, ""), RUN_TITLE, "the legend"))
    return rows


def main():
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    rules_path, timeline_path, out_path = sys.argv[1:]
    entities, rules, width = parse_rules(rules_path)
    layout = Layout(entities, width)
    timeline = read_timeline(timeline_path)

    # One queue per program, in its own order; the next line drawn is the
    # earliest head that no 'after' or 'after-if' holds back.
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

    def still_to_come(name, program, waits_for):
        """Whether another program prints a line of rule `name` before its
        next line that waits ('after') for one of the names in waits_for."""
        for other, queue in queues.items():
            if other == program:
                continue
            for _, _, _, text in queue:
                found = rule_for(other, text)
                if any(rule.name == name for rule, _ in found):
                    return True
                if any(rule.after in waits_for for rule, _ in found):
                    break
        return False

    def waiting(program, found):
        need = {}
        for rule, _ in found:
            if rule.after:
                need[rule.after] = need.get(rule.after, 0) + 1
        if any(produced.get(n, 0) - consumed.get(n, 0) < k for n, k in need.items()):
            return True
        names = {rule.name for rule, _ in found if rule.name}
        return any(rule.after_if and still_to_come(rule.after_if, program, names)
                   for rule, _ in found)

    body, used = [], set()
    while any(queues.values()):
        ready = [(q[0][0], program) for program, q in queues.items()
                 if q and not waiting(program, rule_for(program, q[0][3]))]
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
                used.add(arc[0])
                where = f"{rules_path}:{rule.line_number}"
                body.append(msc_arc(layout, entities, arc, expand(arc[3], match, program), where))

    missing = [r for r in rules if r.matches == 0 and not r.optional]
    for r in missing:
        print(f"chart.py: {rules_path}:{r.line_number}: no {r.program} line matched "
              f"{r.pattern.pattern!r}", file=sys.stderr)
    if missing:
        return 1

    out = ["# Drawn by harness/chart.py from the walk-through's timeline; do not edit.",
           "msc {", f'  width = "{width}";',
           "  " + ", ".join(f"{name} [label={quote(text)}]" for name, text in entities) + ";"]
    out.extend(legend_rows(layout, entities, used))
    out.extend(body)
    out.append("}")
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
