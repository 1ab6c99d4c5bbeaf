"""The documentation site in a real browser: every page opened in headless Chromium (Playwright), after
MathJax has typeset it.

The site is built once per session (``tests/test_docs_site.py``'s build, shared), served on localhost by
``http.server`` and crawled page by page. A page fails on

* raw TeX or reStructuredText in its text outside typeset output (``\\displaystyle``, ``$$``, ``$\\``,
  ``\\frac``, ``\\(``, ``\\[``, ``\\begin{``, ``:math:``, ``:func:`` ...): code, command lines and the
  notebooks' code cells aside (:func:`raw_markup`);
* a MathJax error (TeX that MathJax could not read: an ``merror`` node, or an undefined macro, which
  MathJax shows in red);
* an image that does not load (``naturalWidth`` 0) or a local file that answers 404;
* a broken internal link or anchor (every ``href`` of every page, to a page, a file or an ``id``);
* a console error or an uncaught exception, except the blocked external fonts (the browser may not
  reach the network: every request off localhost is aborted, fonts alone are expected);
* a notebook text output that wraps (``white-space`` must be ``pre``, scrolled sideways, so printed
  tables keep their columns).

Figures enlarge on a click (``docs/javascripts/zoom.js``); one test clicks one.

Needs Playwright (``pip install playwright``; its own browser download is *not* used) and Chromium
(Debian: ``apt-get install -y chromium``; ``.ci/run`` installs both, or set ``DROPLAB_CHROMIUM`` to a
Chromium binary). Without either the tests skip, saying which is missing. ``test_checker_*`` prove the
checker on tiny pages with known faults (raw ``\\displaystyle`` among them).

By hand, on any built site: ``python tests/test_docs_browser.py build/site``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.server
import importlib.util
import json
import os
import re
import shutil
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--disable-dev-shm-usage"]
#: external hosts whose blocked requests (and the console errors they log) are expected: the theme's fonts
ALLOWED_EXTERNAL = ("fonts.googleapis.com", "fonts.gstatic.com")
PAGE_TIMEOUT_MS = 60_000
#: raw TeX or reST in a page's text (outside code and typeset math)
RAW_MARKUP = re.compile(
    r"\\displaystyle|\$\$|\$\\|\\frac\b|\\\(|\\\)|\\\[|\\\]|\\begin\{|\\left\b|\\mathrm\b|\\sigma\b|\\mu\b"
    r"|:math:|\.\. math::|:(?:py:)?(?:func|meth|class|mod|attr|data|obj|exc|ref|term):`")


def raw_markup(text: str) -> list[str]:
    """The raw TeX or reST of ``text`` (a page's text outside code and typeset math), each hit with up
    to 40 characters of context."""
    return [text[max(0, m.start() - 40):m.end() + 40].replace("\n", " ") for m in RAW_MARKUP.finditer(text)]


def chromium_executable() -> str | None:
    """``$DROPLAB_CHROMIUM``, ``/usr/bin/chromium`` or a ``chromium`` on the PATH; ``None`` if none."""
    for candidate in (os.environ.get("DROPLAB_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


# ----------------------------------------------------------------------------- serving
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no line per request on stderr
        pass


@contextlib.contextmanager
def serve(directory: Path):
    """Serve ``directory`` on 127.0.0.1 (a free port) in a thread; yields the base URL (ends in /)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def browser_or_skip() -> str:
    """The Chromium binary to drive; ``pytest.skip`` (saying what is missing) without Playwright or
    Chromium."""
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("Playwright is not installed (pip install playwright; the test extra and .ci/run "
                    "install it): the site is not checked in a browser")
    exe = chromium_executable()
    if exe is None:
        pytest.skip("no Chromium: none at /usr/bin/chromium or on the PATH and DROPLAB_CHROMIUM unset "
                    "(Debian: apt-get install -y chromium; .ci/run installs it where it runs as root)")
    return exe


# ----------------------------------------------------------------------------- one page
# Runs in the page once it has loaded: waits for MathJax's first typeset and every image, then returns
# what the checks need. Text nodes under the SKIP elements are not prose: code, command lines, the
# notebooks' code cells, MathJax's own output (mjx-container), the search widget.
_INSPECT = r"""
async () => {
  if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
    await window.MathJax.startup.promise;
  }
  const images = Array.from(document.images);
  await Promise.all(images.map(img => {
    img.loading = "eager";
    if (img.complete) return null;
    return new Promise(done => {
      img.addEventListener("load", done, {once: true});
      img.addEventListener("error", done, {once: true});
      setTimeout(done, 10000);
    });
  }));
  const SKIP = "mjx-container, code, pre, kbd, samp, script, style, noscript, textarea, template, svg, "
             + ".highlight, .jp-InputArea, .jp-InputPrompt, .jp-OutputPrompt, .md-search";
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(SKIP) || !node.nodeValue.trim()) continue;
    texts.push(node.nodeValue);
  }
  // TeX that MathJax could not read: an merror node (a syntax error), or an undefined macro, which
  // MathJax's noundefined extension shows as red text
  const errors = [];
  const doc = window.MathJax && window.MathJax.startup && window.MathJax.startup.document;
  if (doc && doc.math) {
    for (const item of doc.math) {
      const mml = window.MathJax.startup.toMML(item.root);
      if (mml.includes("<merror") || mml.includes('mathcolor="red"')) errors.push(item.math.slice(0, 120));
    }
  }
  const broken = images.filter(img => !(img.complete && img.naturalWidth > 0))
    .map(img => (img.currentSrc || img.src || "").slice(0, 200));
  const links = Array.from(document.querySelectorAll("a[href]"))
    .map(a => a.href).filter(h => h.startsWith("http"));
  const ids = Array.from(document.querySelectorAll("[id], a[name]")).map(e => e.id || e.name);
  const wrapping = Array.from(document.querySelectorAll(".jp-OutputArea-output pre"))
    .filter(pre => getComputedStyle(pre).whiteSpace !== "pre")
    .map(pre => getComputedStyle(pre).whiteSpace + ": " + pre.textContent.slice(0, 60));
  return {texts, errors, broken, links, ids, wrapping,
          typeset: document.querySelectorAll("mjx-container").length};
}
"""


@dataclass
class PageReport:
    url: str
    problems: dict[str, list[str]] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    typeset: int = 0

    def add(self, kind: str, items) -> None:
        items = list(dict.fromkeys(items))  # each distinct problem once
        if items:
            self.problems.setdefault(kind, []).extend(items)


def _is_local(url: str, base: str) -> bool:
    return url.startswith(base) or url.startswith(("data:", "blob:")) or url == "about:blank"


async def check_page(page, url: str, base: str) -> PageReport:
    """Open ``url`` in the Playwright (async) ``page`` and check it (everything but links, which need the
    whole site: :func:`check_links`)."""
    report = PageReport(url)
    console, failed = [], []

    def on_console(msg):
        if msg.type == "error":
            where = (msg.location or {}).get("url", "")
            if not any(host in where for host in ALLOWED_EXTERNAL):
                console.append(f"{msg.text} ({where})")

    def on_page_error(exc):
        console.append(f"uncaught: {exc}")

    def on_request_failed(request):
        # ERR_ABORTED: a request cut off by the next navigation (the favicon), not a missing file
        external = any(host in request.url for host in ALLOWED_EXTERNAL)
        if not external and "ERR_ABORTED" not in str(request.failure):
            failed.append(f"{request.url[:200]}: {request.failure}")

    def on_response(response):
        if response.status >= 400 and _is_local(response.url, base):
            failed.append(f"{response.url[:200]}: HTTP {response.status}")

    handlers = {"console": on_console, "pageerror": on_page_error, "requestfailed": on_request_failed,
                "response": on_response}
    for event, handler in handlers.items():
        page.on(event, handler)
    try:
        response = await page.goto(url, wait_until="load", timeout=PAGE_TIMEOUT_MS)
        if response is None or response.status >= 400:
            report.add("page", [f"HTTP {response.status if response else 'no response'}"])
            return report
        found = await page.evaluate(_INSPECT)
    finally:
        for event, handler in handlers.items():
            page.remove_listener(event, handler)
    report.add("raw TeX or reST", (hits[0] for text in found["texts"] if (hits := raw_markup(text))))
    report.add("MathJax error", found["errors"])
    report.add("image not loaded", found["broken"])
    report.add("console error", console)
    report.add("failed request", failed)
    report.add("wrapping text output", found["wrapping"])
    report.links, report.ids, report.typeset = found["links"], set(found["ids"]), found["typeset"]
    return report


async def check_zoom(context, url: str) -> list[str]:
    """Click the first figure of the page at ``url``: it must open enlarged (javascripts/zoom.js) and
    close on Escape. The problems found, if any."""
    page = await context.new_page()
    try:
        await page.goto(url, wait_until="load")
        figure = page.locator("article img").first
        shown = (await figure.bounding_box())["width"]
        await figure.click()
        overlay = page.locator(".droplab-zoom")
        await overlay.wait_for(state="visible", timeout=5000)
        big = overlay.locator("img")
        problems = []
        if not await big.evaluate("img => img.complete && img.naturalWidth > 0"):
            problems.append("the enlarged figure did not load")
        width = (await big.bounding_box())["width"]
        if width < 1.3 * shown:
            problems.append(f"not enlarged: {width:.0f} px against {shown:.0f} px in the column")
        await page.keyboard.press("Escape")
        await overlay.wait_for(state="hidden", timeout=5000)
        return problems
    except Exception as exc:  # noqa: BLE001 - reported as the test's failure
        return [f"{type(exc).__name__}: {exc}"]
    finally:
        await page.close()


def _target_file(url: str, base: str, site: Path) -> Path:
    path = unquote(urlsplit(url).path)[len(urlsplit(base).path):]
    target = site / path
    return target / "index.html" if (path == "" or path.endswith("/") or target.is_dir()) else target


def check_links(reports: dict[str, PageReport], base: str, site: Path) -> None:
    """Every link of every page to this site: its page or file exists, its ``#anchor`` is an ``id`` of
    the target page (crawled pages: the ids the browser saw). Problems go to the linking page."""
    ids = {_target_file(url, base, site): r.ids for url, r in reports.items()}
    for report in reports.values():
        bad = []
        for href in report.links:
            if not href.startswith(base):
                continue  # another site: not fetched (offline)
            target, fragment = urldefrag(href)
            file = _target_file(target, base, site)
            if not file.is_file():
                bad.append(f"{href}: no such page or file")
            elif fragment and file.suffix == ".html":
                if file not in ids:
                    bad.append(f"{href}: target page not crawled")
                elif unquote(fragment) not in ids[file]:
                    bad.append(f"{href}: no id {unquote(fragment)!r} on the target page")
        report.add("broken link", sorted(set(bad)))


def site_pages(site: Path) -> list[str]:
    """The site's pages, as paths relative to its root (``index.html`` pages by their folder)."""
    pages = []
    for html in sorted(site.rglob("*.html")):
        rel = html.relative_to(site).as_posix()
        pages.append(rel[: -len("index.html")] if rel.endswith("index.html") else rel)
    return pages


def _small_search_index(site: Path) -> str | None:
    """The site's search index cut to its first entry. Every page loads and indexes the whole index
    (Material's search); the home page gets the real one, the others this one: the same code runs,
    without indexing the whole site once per page (half the crawl's time)."""
    path = site / "search" / "search_index.json"
    if not path.is_file():
        return None
    index = json.loads(path.read_text(encoding="utf-8"))
    return json.dumps({**index, "docs": index["docs"][:1]})


async def _crawl(site: Path, exe: str, workers: int, zoom_page: str | None):
    from playwright.async_api import async_playwright

    with serve(site) as base:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
            try:
                context = await browser.new_context(viewport={"width": 1280, "height": 900},
                                                    service_workers="block")
                real_search = {"on": True}
                small_index = _small_search_index(site)

                async def route(route):
                    url = route.request.url
                    if not _is_local(url, base):
                        await route.abort()  # offline: the theme's web fonts, anything else off the site
                    elif (url.endswith("search/search_index.json") and not real_search["on"]
                          and small_index is not None):
                        await route.fulfill(status=200, content_type="application/json", body=small_index)
                    else:
                        await route.continue_()

                await context.route("**/*", route)
                order = site_pages(site)
                reports = {}
                first = await context.new_page()
                reports[base + order[0]] = await check_page(first, base + order[0], base)
                await first.close()
                real_search["on"] = False
                queue = deque(order[1:])

                async def worker():
                    page = await context.new_page()
                    while queue:
                        rel = queue.popleft()
                        reports[base + rel] = await check_page(page, base + rel, base)
                    await page.close()

                await asyncio.gather(*(worker() for _ in range(max(1, min(workers, len(queue))))))
                zoom = await check_zoom(context, base + zoom_page) if zoom_page is not None else None
                await context.close()
            finally:
                await browser.close()
        reports = {base + rel: reports[base + rel] for rel in order}
        check_links(reports, base, site)
    return reports, zoom


def crawl(site: Path, exe: str, workers: int | None = None, zoom_page: str | None = None):
    """Serve ``site`` and check every page of it in headless Chromium (``workers`` pages at a time:
    ``$DROPLAB_BROWSER_WORKERS``, default 2); ``({url: PageReport}, zoom problems or None)``, the pages
    in :func:`site_pages` order (``index.html`` first: it gets the real search index)."""
    workers = workers or int(os.environ.get("DROPLAB_BROWSER_WORKERS", "2"))
    return asyncio.run(_crawl(site, exe, workers, zoom_page))


def summary(reports: dict[str, PageReport], kind: str) -> dict[str, list[str]]:
    return {url: r.problems[kind] for url, r in reports.items() if kind in r.problems}


# ----------------------------------------------------------------------------- the site
def _site_builder():
    """``tests/test_docs_site.py``'s ``build_site`` (one build per session, shared): the module pytest
    collected, else loaded from its file."""
    if "test_docs_site" in sys.modules:
        return sys.modules["test_docs_site"].build_site
    path = Path(__file__).with_name("test_docs_site.py")
    spec = importlib.util.spec_from_file_location("test_docs_site", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["test_docs_site"] = module
    spec.loader.exec_module(module)
    return module.build_site


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    exe = browser_or_skip()  # skips first: no build without a browser
    pytest.importorskip("mkdocs")
    # the notebooks are executed for their pages where no up-to-date copy is there (as `mkdocs build`)
    built = _site_builder()(tmp_path_factory, execute_notebooks=True)
    start = time.perf_counter()
    reports, zoom = crawl(built["dir"], exe, zoom_page="figures/")
    return {"reports": reports, "zoom": zoom, "site": built, "seconds": time.perf_counter() - start}


def test_every_page_opens(crawled):
    reports = crawled["reports"]
    assert len(reports) >= 40, sorted(reports)
    assert not summary(reports, "page")
    assert not summary(reports, "failed request")
    print(f"{len(reports)} pages checked in {crawled['seconds']:.1f} s")


def test_no_raw_tex_or_rest_in_the_text(crawled):
    reports = crawled["reports"]
    assert not summary(reports, "raw TeX or reST")
    typeset = {url.rstrip("/").rsplit("/", 1)[-1]: r.typeset for url, r in reports.items()}
    assert typeset["theory"] > 20 and typeset["01_two_gaussian_theory"] > 10   # formulas reach MathJax
    if crawled["site"]["executed"]:
        assert typeset["01_two_gaussian_theory"] > 40  # sympy's LaTeX outputs too


def test_no_mathjax_error(crawled):
    assert not summary(crawled["reports"], "MathJax error")


def test_every_image_loads(crawled):
    assert not summary(crawled["reports"], "image not loaded")


def test_no_broken_internal_link_or_anchor(crawled):
    reports = crawled["reports"]
    assert not summary(reports, "broken link")
    assert sum(len(r.links) for r in reports.values()) > 1000   # the crawl saw the navigation's links


def test_no_console_error(crawled):
    assert not summary(crawled["reports"], "console error")


def test_notebook_text_outputs_keep_their_columns(crawled):
    assert not summary(crawled["reports"], "wrapping text output")


def test_a_figure_enlarges_on_click(crawled):
    assert crawled["zoom"] == []


# ----------------------------------------------------------------------------- the checker itself
def test_raw_markup_patterns():
    assert raw_markup(r"a $\displaystyle x$ b") and raw_markup("$$x$$") and raw_markup(r"\(x\)")
    assert raw_markup("see :math:`x` and :func:`f`") and raw_markup(r"\frac{a}{b}")
    assert not raw_markup("costs $5 and 10% (a) [b] a*b d_k = 0.3")


_FAULTY = r"""<!doctype html><html><head><meta charset="utf-8"><title>t</title>
<script>window.MathJax = {tex: {inlineMath: [["\\(", "\\)"], ["$", "$"]]},
  options: {ignoreHtmlClass: ".+", processHtmlClass: "arithmatex"}};</script>
<script src="tex-svg.js"></script></head><body>
<p class="plain">Raw: $\displaystyle \frac{a}{b}$</p>
<p><span class="arithmatex">\(\nosuchmacro{x}\)</span>, <span class="arithmatex">\(\frac{a}\)</span> and
<span class="arithmatex">\(x^2\)</span></p>
<code>\displaystyle in code is fine</code>
<img src="missing.png" alt="gone"> <img src="ok.png" alt="ok">
<a href="other/">a page that is not there</a> <a href="#nowhere">a missing anchor</a> <a href="#here">ok</a>
<p id="here">x</p>
<script>console.error("boom")</script>
</body></html>
"""


def _tiny_site(tmp_path: Path, html: str) -> Path:
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("django-static-mathjax is not installed (test extra)")
    shutil.copyfile(Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5"
                    / "tex-svg.js", tmp_path / "tex-svg.js")
    shutil.copyfile(ROOT / "figures" / "fig1_risks_vs_prior.png", tmp_path / "ok.png")
    (tmp_path / "index.html").write_text(html, encoding="utf-8")
    return tmp_path


def test_checker_fails_a_page_with_raw_displaystyle(tmp_path):
    """The tiny page's faults, each found: raw ``\\displaystyle`` text, a TeX error, a missing image, a
    broken link and anchor, a console error; TeX in code and typeset formulas are fine."""
    exe = browser_or_skip()
    reports, _ = crawl(_tiny_site(tmp_path, _FAULTY), exe)
    (report,) = reports.values()
    raw = report.problems.get("raw TeX or reST", [])
    assert any(r"\displaystyle" in hit for hit in raw) and not any("in code" in hit for hit in raw)
    assert report.typeset == 3 and len(report.problems["MathJax error"]) == 2   # undefined macro, syntax
    assert [src.rsplit("/", 1)[-1] for src in report.problems["image not loaded"]] == ["missing.png"]
    broken = " ".join(report.problems["broken link"])
    assert "other/: no such page" in broken and "nowhere" in broken and "#here" not in broken
    assert any("boom" in msg for msg in report.problems["console error"])


def test_checker_passes_the_page_without_faults(tmp_path):
    exe = browser_or_skip()
    clean = _FAULTY
    for fault, fix in ((r"Raw: $\displaystyle \frac{a}{b}$", "Nothing raw."),
                       (r"\(\nosuchmacro{x}\)", r"\(\frac{a}{b}\)"), (r"\(\frac{a}\)", r"\(y\)"),
                       ('<img src="missing.png" alt="gone">', ""),
                       ('<a href="other/">a page that is not there</a>', ""),
                       ('<a href="#nowhere">a missing anchor</a>', ""),
                       ('<script>console.error("boom")</script>', "")):
        clean = clean.replace(fault, fix)
    reports, _ = crawl(_tiny_site(tmp_path, clean), exe)
    (report,) = reports.values()
    assert report.problems == {} and report.typeset == 3


# ----------------------------------------------------------------------------- by hand
def main(argv: list[str]) -> int:
    """``python tests/test_docs_browser.py [SITE_DIR]``: crawl a built site (default ``build/site``) and
    print every problem; exit status 1 if there is one."""
    site = Path(argv[0] if argv else ROOT / "build" / "site").resolve()
    exe = chromium_executable()
    if exe is None or importlib.util.find_spec("playwright") is None:
        print("needs Playwright (pip install playwright) and Chromium (apt-get install -y chromium)")
        return 2
    start = time.perf_counter()
    zoom_page = "figures/" if (site / "figures" / "index.html").is_file() else None
    reports, zoom = crawl(site, exe, zoom_page=zoom_page)
    bad = 0
    for url, report in reports.items():
        for kind, items in report.problems.items():
            for item in items:
                bad += 1
                print(f"{url}: {kind}: {item}")
    for problem in zoom or []:
        bad += 1
        print(f"click to enlarge: {problem}")
    print(f"{len(reports)} pages, {bad} problems, {time.perf_counter() - start:.1f} s")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
