#!/usr/bin/env python3
"""Checks that every test a page names actually exists, so prose cannot drift
from the test suite.

Usage: check_test_names.py TEST_LIST PAGE...
TEST_LIST has one ctest test name per line (written by CMake at configure
time). A page names a test as `chNN.something` in backquotes; a name ending
in `.*` stands for every test with that prefix, and `chNN` in a name for any
chapter number. Exit code 0 when every named test exists, 1 otherwise.
"""
import re
import sys


def main():
    if len(sys.argv) < 3:
        print(__doc__.strip().splitlines()[3], file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        tests = {line.strip() for line in f if line.strip()}
    named = re.compile(r"`((?:ch(?:\d\d|NN)|errata|common|docs)\.[A-Za-z0-9_.*]+)`")
    missing = []
    checked = 0
    for page in sys.argv[2:]:
        with open(page, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                for name in named.findall(line):
                    checked += 1
                    pattern = re.escape(name).replace(r"\.\*", r"\..+").replace("chNN", r"ch\d\d")
                    if not any(re.fullmatch(pattern, t) for t in tests):
                        missing.append(f"{page}:{number}: no test is called {name}")
    for m in missing:
        print(m)
    print(f"check_test_names: {checked - len(missing)} passed, {len(missing)} failed")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
