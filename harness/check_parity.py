#!/usr/bin/env python3
"""Checks that the Simplified Chinese edition keeps the English one's shape.

Usage: check_parity.py REPO_ROOT
       check_parity.py --self-test

Every English page of the book (docs/*.md, chapters/*/chapter.md,
bench/*.md) must have its Chinese page beside it (name.zh.md), and the two
must have, in the same order:
  - the page label and every heading's level and label ({#...}), and every
    \\anchor;
  - every Doxygen command line: \\snippet, \\include, \\verbinclude,
    \\runchart, \\image (its file), \\subpage, \\langlink, [TOC];
  - the target of every \\ref (the link texts are translated);
  - every fenced code block, byte for byte (commands and real output);
  - the test names they mention (`ch03.exchange`, `exercise.3.1.solved`, ...);
  - the exercises (**3.1 ...) and the number of collapsed blocks;
  - the number of rows of every table.
Only the prose differs. A Chinese page with no English page fails too.
In either edition, a \\ref whose quoted link text does not close on its
line fails: Doxygen 1.9.4 then shows the rest of the page as raw text,
without a warning.
Exit code 0 when the editions match, 1 otherwise (each difference listed),
2 on bad usage. --self-test changes one thing of each kind in a page and
checks that each change is caught.
"""
import glob
import os
import re
import sys

COMMANDS = re.compile(r"^\s*(\\(?:snippet|include|verbinclude|dontinclude|subpage|langlink|runchart)\b.*"
                      r"|\[TOC\])\s*$")
IMAGE = re.compile(r"^\s*\\image\s+(\w+)\s+(\S+)")
HEADING = re.compile(r"^(#{1,6})\s.*?(?:\{#([A-Za-z0-9_]+)\})?\s*$")
ANCHOR = re.compile(r"\\anchor\s+([A-Za-z0-9_]+)")
REF = re.compile(r"\\ref\s+([A-Za-z0-9_]+)")
TEST_NAME = re.compile(r"`((?:ch\d\d|exercise|docs|common|errata|wine)\.[\w.*]+)`")
EXERCISE = re.compile(r"^(?:\*\*|<b>)(\d+\.\d+)\s")
DETAILS = re.compile(r"<details>")


def shape(text):
    """What must be the same in both editions, as a dict of lists."""
    s = {k: [] for k in ("headings", "anchors", "commands", "refs", "code", "tests",
                         "exercises", "details", "tables")}
    in_code, block, table_rows = False, [], 0
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            if in_code:
                s["code"].append("\n".join(block))
                block = []
            in_code = not in_code
            continue
        if in_code:
            block.append(line)
            continue
        if line.startswith("|"):
            table_rows += 1
            s["tests"] += TEST_NAME.findall(line)
            s["refs"] += REF.findall(line)
            s["anchors"] += ANCHOR.findall(line)
            continue
        if table_rows:
            s["tables"].append(table_rows)
            table_rows = 0
        m = HEADING.match(line)
        if m:
            s["headings"].append((len(m.group(1)), m.group(2)))
        m = COMMANDS.match(line)
        if m:
            s["commands"].append(m.group(1).strip())
        m = IMAGE.match(line)
        if m:
            s["commands"].append(f"\\image {m.group(1)} {m.group(2)}")
        m = EXERCISE.match(line)
        if m:
            s["exercises"].append(m.group(1))
        s["anchors"] += ANCHOR.findall(line)
        s["refs"] += REF.findall(line)
        s["tests"] += TEST_NAME.findall(line)
        s["details"] += DETAILS.findall(line)
    if table_rows:
        s["tables"].append(table_rows)
    s["tests"] = sorted(set(s["tests"]))
    return s


SPLIT_REF = re.compile(r'\\ref\s+\w+\s+"[^"]*$')


def lint(text):
    """What breaks a page without a Doxygen warning."""
    problems = []
    in_code = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            in_code = not in_code
        elif not in_code and SPLIT_REF.search(line):
            problems.append(f"line {number}: a \\ref's link text does not close on its line")
    return problems


def compare(english, chinese):
    """The differences between two pages' shapes, in words."""
    a, b = shape(english), shape(chinese)
    problems = [f"English {p}" for p in lint(english)] + [f"Chinese {p}" for p in lint(chinese)]
    for key in a:
        if a[key] == b[key]:
            continue
        only_en = [x for x in a[key] if x not in b[key]]
        only_zh = [x for x in b[key] if x not in a[key]]
        if only_en or only_zh:
            detail = (f"only in English: {only_en[:3]}" if only_en else "") + \
                     ("; " if only_en and only_zh else "") + \
                     (f"only in Chinese: {only_zh[:3]}" if only_zh else "")
        else:
            first = next(i for i, (x, y) in enumerate(zip(a[key], b[key])) if x != y) \
                if len(a[key]) == len(b[key]) else min(len(a[key]), len(b[key]))
            detail = f"{len(a[key])} in English, {len(b[key])} in Chinese; they differ from " \
                     f"item {first + 1} on"
        problems.append(f"{key}: {detail}")
    return problems


def pages(repo):
    english = sorted(p for pattern in ("docs/*.md", "chapters/*/chapter.md", "bench/*.md")
                     for p in glob.glob(os.path.join(repo, pattern)) if not p.endswith(".zh.md"))
    chinese = sorted(p for pattern in ("docs/*.zh.md", "chapters/*/*.zh.md", "bench/*.zh.md")
                     for p in glob.glob(os.path.join(repo, pattern)))
    return english, chinese


def self_test():
    page = ("# Title {#label}\n\\langlink{label}\n\nSee \\ref other \"x\" and `ch01.exchange`.\n\n"
            "## Part {#part}\n\n\\snippet 01/server.c listen\n\n```\n$ run\n```\n\n"
            "| a | b |\n|---|---|\n| `ch01.usage` | y |\n\n**1.1 An exercise.** Do it.\n\n"
            "<details><summary>Answers</summary>\n\n1. Yes.\n\n</details>\n")
    changes = {
        "a heading's label": page.replace("{#part}", "{#parts}"),
        "a heading": page.replace("## Part {#part}\n", ""),
        "a snippet": page.replace("listen\n", "accept\n"),
        "a reference": page.replace("\\ref other", "\\ref another"),
        "a code block": page.replace("$ run", "$ run it"),
        "a test name": page.replace("`ch01.exchange`", "the exchange test"),
        "a table row": page.replace("| `ch01.usage` | y |\n", "| `ch01.usage` | y |\n| z | w |\n"),
        "an exercise": page.replace("**1.1 An", "**1.2 An"),
        "a collapsed block": page.replace("<details>", ""),
        "the language link": page.replace("\\langlink{label}\n", ""),
        "a link text split across lines": page.replace('\\ref other "x"', '\\ref other "x\ny"'),
    }
    failed = 0
    if compare(page, page.replace("Do it.", "做吧。")):
        print("FAIL a change of prose only is reported as a difference")
        failed += 1
    for what, changed in changes.items():
        found = compare(page, changed)
        print(f"{'ok  ' if found else 'FAIL'} a change of {what} is caught: {found}")
        failed += not found
    return 1 if failed else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    repo = sys.argv[1]
    english, chinese = pages(repo)
    failed = 0
    for en in english:
        zh = en[:-3] + ".zh.md"
        name = os.path.relpath(en, repo)
        if not os.path.exists(zh):
            print(f"FAIL {name}: no Chinese page {os.path.relpath(zh, repo)}")
            failed += 1
            continue
        with open(en, encoding="utf-8") as f, open(zh, encoding="utf-8") as g:
            problems = compare(f.read(), g.read())
        print(f"{'FAIL' if problems else 'ok  '} {name} and {os.path.basename(zh)}")
        for p in problems:
            print(f"     {p}")
        failed += bool(problems)
    for zh in chinese:
        if zh[:-6] + ".md" not in english:
            print(f"FAIL {os.path.relpath(zh, repo)}: no English page beside it")
            failed += 1
    print(f"check_parity: {len(english) - failed} page pairs match, {failed} differ")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
