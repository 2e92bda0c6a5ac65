"""The built book in the system Chromium with every non-local request blocked (issue 26).

Skipped when the book or Chromium is missing, unless COURSE_BROWSER_TEST=required (CI), which
makes a missing book or browser a failure. COURSE_BOOK_HTML points at another built book.
"""

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest

# local HTTP server and the browser's own pipe; other hosts are blocked by the route below
pytestmark = pytest.mark.enable_socket

ROOT = Path(__file__).resolve().parents[1]
BOOK = Path(os.environ.get("COURSE_BOOK_HTML", ROOT / "_build" / "html"))
CHROMIUM = os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium")
SHOTS = ROOT / "_build" / "screenshots"
REQUIRED = os.environ.get("COURSE_BROWSER_TEST") == "required"
# term -> a page that teaches it; search must list it
SEARCHES = {
    "梯度下降": "book/supervised/linear_regression",
    "支持向量机": "book/supervised/svm",
    "扩散模型": "book/outlook/future",
    "SVM": "book/supervised/svm",
    "GAN": "book/generation/gan",
    "FID": "book/generation/gan",
    "Lloyd算法": "book/unsupervised/kmeans",
    "主成分分析": "book/unsupervised/pca",
    "标签传播": "book/semi_supervised/label_propagation",
    "模式崩溃": "book/generation/gan",
    "隐空间": "book/generation/vae",
    "重参数化技巧": "book/generation/vae",
    "循环一致性": "book/generation/cyclegan",
    "无分类器引导": "book/generation/diffusion",
}


# Two errors every page of jupyter-book 1.0.4 / sphinx-book-theme 1.3.0 raises (thebe's script
# declared twice, the theme mode read before it is stored); reported on issue 26, not ours to fix.
KNOWN_THEME_ERRORS = ("Identifier 'THEBE_JS_URL' has already been declared",
                      "Got invalid theme mode")


def _unavailable(reason):
    if REQUIRED:
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def site():
    if not (BOOK / "index.html").is_file():
        _unavailable(f"no built book at {BOOK}: run python3 dev.py book")
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        _unavailable(f"no Chromium at {CHROMIUM}: sudo apt-get install chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    handler = functools.partial(_QuietHandler, directory=str(BOOK))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        foreign = []

        def route(r):
            if urlparse(r.request.url).hostname in ("127.0.0.1", None):
                r.continue_()
            else:
                foreign.append(r.request.url)
                r.abort()

        yield browser, base, foreign, route
        browser.close()
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _open(browser, route, url, width=1280):
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.route("**/*", route)
    page = context.new_page()
    problems = []
    def js_error(text):
        if not any(known in text for known in KNOWN_THEME_ERRORS):
            problems.append(text)

    page.on("console", lambda m: m.type == "error" and js_error(f"console: {m.text}"))
    page.on("pageerror", lambda e: js_error(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status}: {r.url}"))
    page.goto(url, wait_until="load")
    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    return context, page, problems


RAW_TEX = """() => {
  const root = (document.querySelector('article') || document.body).cloneNode(true);
  root.querySelectorAll('pre, code, script, style, mjx-container, .highlight')
      .forEach(n => n.remove());
  return [root.textContent, document.querySelectorAll('mjx-merror').length,
          document.querySelectorAll('mjx-container').length];
}"""


def test_every_page(site):
    browser, base, foreign, route = site
    pages = sorted(p.relative_to(BOOK).as_posix() for p in (BOOK / "book").rglob("*.html"))
    assert len(pages) > 15
    failures = []
    for rel in pages:
        context, page, problems = _open(browser, route, base + rel)
        text, merrors, typeset = page.evaluate(RAW_TEX)
        for raw in ("\\[", "$$", "\\begin{", "\\frac", "\\mathbb"):
            if raw in text:
                problems.append(f"raw TeX {raw!r} left")
        if merrors:
            problems.append(f"{merrors} MathJax errors")
        page.evaluate("() => document.querySelectorAll('img').forEach(i => i.loading = 'eager')")
        page.wait_for_load_state("networkidle")
        broken = page.evaluate(
            "() => [...document.images]"
            ".filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
        problems += [f"image not loaded: {src}" for src in broken]
        solutions = page.locator("div.solution.dropdown > .admonition-title")
        if solutions.count():
            solutions.first.click()
            if not page.locator("div.solution.dropdown").first.evaluate(
                    "n => n.classList.contains('toggle-hidden') ? false : "
                    "!![...n.children].slice(1).some(c => c.offsetHeight > 0)"):
                problems.append("solution dropdown did not open")
        failures += [f"{rel}: {p}" for p in problems]
        context.close()
    assert not foreign, f"requests to other hosts: {sorted(set(foreign))[:10]}"
    assert not failures, "\n".join(failures[:40])


def test_svm_page_math_and_phone_layout(site):
    browser, base, foreign, route = site
    SHOTS.mkdir(parents=True, exist_ok=True)
    for rel in ("book/supervised/svm.html", "book/unsupervised/kmeans.html", "book/intro.html"):
        for width in (390, 1280):
            context, page, problems = _open(browser, route, base + rel, width)
            assert page.locator("mjx-container").count() > 0 or "intro" in rel
            page.screenshot(path=str(SHOTS / f"{Path(rel).stem}-{width}.png"), full_page=False)
            scroll = page.evaluate("() => document.documentElement.scrollWidth")
            assert scroll <= width, f"{rel} at {width} px is {scroll} px wide"
            assert not problems, problems
            context.close()
    assert not foreign


def test_ipynb_download_link(site):
    browser, base, foreign, route = site
    context, page, problems = _open(browser, route, base + "book/unsupervised/kmeans.html")
    href = page.locator("a[href$='.ipynb']").first.get_attribute("href")
    response = page.request.get(page.url.rsplit("/", 1)[0] + "/" + href)
    assert response.status == 200
    assert response.json()["nbformat"] == 4
    context.close()


@pytest.mark.parametrize("term", sorted(SEARCHES))
def test_search_finds_the_teaching_page(site, term):
    browser, base, foreign, route = site
    context, page, problems = _open(browser, route, base + "search.html?q=" + quote(term))
    # Sphinx appends results one at a time: wait for the teaching page, not the first result
    wanted = f"#search-results ul.search li a[href*='{SEARCHES[term]}.html']"
    page.wait_for_selector(wanted, timeout=30000)
    assert page.locator(wanted).count() >= 1, term
    assert not problems, problems
    context.close()
    assert not foreign
