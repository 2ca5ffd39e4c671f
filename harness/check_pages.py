#!/usr/bin/env python3
"""Opens the book's pages in headless Chromium and checks what a reader sees.

Usage: check_pages.py REPO_ROOT DOCS_DIR SCREENSHOT_DIR

DOCS_DIR holds both editions: DOCS_DIR/html (English) and DOCS_DIR/zh/html
(Simplified Chinese). For the main page, every chapter page (one per
chapters/NN_name/chapter.md) and the appendices, in each edition, it loads
the page in a real browser (so the navigation tree and search are built by
their JavaScript) and fails if:
  - the page logs a JavaScript error;
  - a local link, image or object points to a file that does not exist, or to
    an anchor that its target page does not have;
  - the navigation tree stayed empty;
  - a chapter page lacks its sequence chart, its code or its transcript;
  - the page has no link to the same page in the other edition;
  - a Chinese page has no Chinese text, or no font on this machine can show
    Chinese (its screenshot would show boxes);
  - the text outside code shows Markdown or Doxygen markup that was not
    rendered (`**`, a `\\ref` or `\\snippet`, a `{#label}`, a literal <b> or
    <em>): Doxygen 1.9.4 leaves some of it as text without a warning.
It saves a 1280-pixel-wide screenshot of each page in SCREENSHOT_DIR (the
Chinese ones in SCREENSHOT_DIR/zh).
Exit code 0 when every page passes, 1 otherwise, 2 on bad usage.
"""
import concurrent.futures
import glob
import html.parser
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

APPENDICES = ["errata", "pitfalls", "error_codes", "tests", "wsasocket", "glossary",
              "bench_results", "bench_third_party", "exercises"]
# Flags that work as root in this kind of sandbox, and never touch the network.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-extensions",
    "--virtual-time-budget=5000",
]


class PageParser(html.parser.HTMLParser):
    """Collects what the checks need from a rendered DOM."""

    def __init__(self):
        super().__init__()
        self.references = []          # (attribute, value)
        self.ids = set()
        self.msc_charts = 0
        self.code_lines = 0
        self.nav_items = 0
        self.pre_depth = 0
        self.pre_texts = []
        self.lang_links = []          # href of each a.langlink
        self.cjk_chars = 0            # Chinese characters outside code
        self.code_depth = 0           # inside <code>, <script> or <style>
        self.fragment_divs = 0        # open <div>s since a code fragment began
        self.prose = []               # text outside pre, code and scripts

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        for key in ("id", "name"):
            if a.get(key):
                self.ids.add(a[key])
        for key in ("href", "src", "data"):
            if a.get(key):
                self.references.append((key, a[key]))
        if tag == "a" and "langlink" in classes:
            self.lang_links.append(a.get("href", ""))
        if "mscgraph" in classes:
            self.msc_charts += 1
        if "line" in classes and tag == "div":
            self.code_lines += 1
        if "item" in classes:
            self.nav_items += 1
        if tag == "pre":
            self.pre_depth += 1
            self.pre_texts.append("")
        if tag in ("code", "script", "style"):
            self.code_depth += 1
        if tag == "div" and (self.fragment_divs or "fragment" in classes):
            self.fragment_divs += 1

    def handle_endtag(self, tag):
        if tag == "pre" and self.pre_depth:
            self.pre_depth -= 1
        if tag in ("code", "script", "style") and self.code_depth:
            self.code_depth -= 1
        if tag == "div" and self.fragment_divs:
            self.fragment_divs -= 1

    def handle_data(self, data):
        if self.pre_depth:
            self.pre_texts[-1] += data
        else:
            self.cjk_chars += len(re.findall(r"[\u4e00-\u9fff]", data))
            if not self.code_depth and not self.fragment_divs:
                self.prose.append(data)


def run_chromium(chromium, extra, url):
    profile = tempfile.mkdtemp(prefix="check-pages-")
    try:
        result = subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
            capture_output=True, text=True, timeout=120)
        return result.stdout, result.stderr
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def ids_of(path, cache):
    if path not in cache:
        parser = PageParser()
        with open(path, encoding="utf-8", errors="replace") as f:
            parser.feed(f.read())
        cache[path] = parser.ids
    return cache[path]


def check_page(chromium, html_dir, shots_dir, name, is_chapter, id_cache, edition):
    """Returns (name, list of problems, list of facts)."""
    path = os.path.join(html_dir, name + ".html")
    other = "../zh/html/" if edition == "en" else "../../html/"
    problems, facts = [], []
    if not os.path.exists(path):
        return name, [f"{name}.html was not generated"], facts
    url = "file://" + urllib.parse.quote(os.path.abspath(path))

    # One browser run gives the DOM after the scripts ran, the console log
    # and the screenshot.
    dom, log = run_chromium(chromium, [
        "--enable-logging=stderr", "--v=0", "--dump-dom",
        f"--screenshot={os.path.join(shots_dir, name + '.png')}",
        "--window-size=1280,2400", "--hide-scrollbars"], url)

    for line in log.splitlines():
        if "CONSOLE" in line and re.search(r"Uncaught|Error|Failed to load", line):
            problems.append("JavaScript: " + line.split("] ", 1)[-1])

    page = PageParser()
    page.feed(dom)
    if page.nav_items == 0:
        problems.append("the navigation tree is empty (its JavaScript did not run)")

    for attribute, value in page.references:
        parsed = urllib.parse.urlsplit(value)
        if parsed.scheme in ("http", "https", "mailto", "javascript", "data"):
            continue
        if parsed.scheme == "file":
            target = urllib.parse.unquote(parsed.path)
        elif parsed.path:
            target = os.path.join(html_dir, urllib.parse.unquote(parsed.path))
        else:
            target = path  # "#anchor" on this page
        if not os.path.exists(target):
            problems.append(f"broken {attribute}: {value}")
            continue
        if parsed.fragment and target.endswith(".html"):
            if parsed.fragment not in ids_of(target, id_cache) and \
                    not (target == path and parsed.fragment in page.ids):
                problems.append(f"missing anchor: {value}")

    prose = "".join(page.prose)
    for markup in re.finditer(r"\*\*|\\(?:ref|snippet)\b|\{#\w+\}|<(?:b|em)>", prose):
        problems.append("markup shown as text: ..." +
                        prose[max(0, markup.start() - 30):markup.end() + 30].replace("\n", " ") + "...")

    twin = other + name + ".html"
    if twin not in page.lang_links:
        problems.append(f"no link to the same page in the other edition ({twin})")
    if edition == "zh":
        if page.cjk_chars < 50:
            problems.append(f"only {page.cjk_chars} Chinese characters: is this the Chinese page?")
        facts.append(f"{page.cjk_chars} Chinese characters")

    if is_chapter:
        transcripts = [t for t in page.pre_texts if "listening on" in t]
        if page.msc_charts == 0:
            problems.append("no sequence chart (\\runchart)")
        if page.code_lines == 0:
            problems.append("no code (\\snippet)")
        if not transcripts:
            problems.append("no transcript of a real run (\\verbinclude)")
        facts.append(f"{page.msc_charts} chart(s), {page.code_lines} code lines, "
                     f"{len(transcripts)} transcript(s)")
    facts.append(f"{len(page.references)} links checked")
    return name, problems, facts


def main():
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    repo, docs_dir, shots_root = sys.argv[1:]
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("check_pages: chromium is not installed (./tutorial test installs it)")
        return 1
    # Without a font for Chinese, Chromium draws boxes: the Chinese
    # screenshots would show nothing readable (./tutorial test installs one).
    fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True)
    if not fonts.stdout.strip():
        print("check_pages: no font for Chinese (fc-list :lang=zh lists none); "
              "install fonts-wqy-zenhei (./tutorial test does)")
        return 1
    print(f"font for Chinese: {fonts.stdout.splitlines()[0]}")

    chapters = sorted(os.path.basename(os.path.dirname(p))[:2]
                      for p in glob.glob(os.path.join(repo, "chapters", "[0-9][0-9]_*", "chapter.md")))
    pages = [("index", False)] + [(f"ch{n}", True) for n in chapters] + \
            [(a, False) for a in APPENDICES]

    editions = [("en", os.path.join(docs_dir, "html"), shots_root),
                ("zh", os.path.join(docs_dir, "zh", "html"), os.path.join(shots_root, "zh"))]
    id_cache = {}
    failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        jobs = []
        for edition, html_dir, shots_dir in editions:
            os.makedirs(shots_dir, exist_ok=True)
            jobs += [(edition, pool.submit(check_page, chromium, html_dir, shots_dir, name,
                                           is_chapter, id_cache, edition))
                     for name, is_chapter in pages]
        for edition, job in jobs:
            name, problems, facts = job.result()
            where = name + ".html" if edition == "en" else "zh/" + name + ".html"
            print(f"{'FAIL' if problems else 'ok  '} {where}: {'; '.join(facts)}")
            for problem in problems:
                print(f"     {problem}")
            failed += bool(problems)
    print(f"screenshots: {shots_root} (Chinese: {os.path.join(shots_root, 'zh')})")
    print(f"check_pages: {len(jobs) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
