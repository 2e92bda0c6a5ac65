"""Chapters as students open them: JupyterLab 4 with jupyterlab-myst, in the system Chromium.

A JupyterLab server is started on a copy of book/ (so nothing the page does can touch the
chapters), and every non-local request is blocked. The test checks what plain Markdown would show
as source: the label line, directives, roles and math. Skipped when Chromium or JupyterLab
is missing, unless COURSE_JUPYTERLAB_TEST=required (set by .ci/run), which makes that a failure.

jupyterlab-myst does not read bibliographies (jupyter-book/jupyterlab-myst#127, #161): a
``{cite}`` shows its key, marked as unresolved, which is what the test expects.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from test_browser import CHROMIUM, ROOT, SHOTS

pytestmark = pytest.mark.enable_socket

CHAPTERS = ("unsupervised/kmeans", "supervised/svm", "generation/vae")
TOKEN = "course-jupyterlab-test"
REQUIRED = os.environ.get("COURSE_JUPYTERLAB_TEST") == "required"
# Text that only unrendered MyST shows: fences, roles, options, label lines.
RAW_MYST = ("```", "{cite}", "{doc}", "{eq}", "{ref}", "{exercise}", "{solution", ":label:",
            ":class:", ")=\n", "$$", "\\begin{")
RENDERED_TEXT = """() => [...document.querySelectorAll('.jp-MarkdownCell div.myst')].map(m => {
  const copy = m.cloneNode(true);
  copy.querySelectorAll('.katex, code, pre').forEach(n => n.remove());
  return copy.innerText;
})"""


def _unavailable(reason):
    if REQUIRED:
        pytest.fail(reason)
    pytest.skip(reason)


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_server(url, process, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer {url} within {timeout} s")


def _write_settings(folder):
    """Render every cell at once (no windowing) and ask for no news: nothing to dismiss."""
    settings = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false", "checkForUpdates": False},
    }
    for name, values in settings.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        _unavailable(f"no Chromium at {CHROMIUM}: sudo apt-get install chromium")
    try:
        import jupyterlab_myst  # noqa: F401
        from playwright import sync_api
    except ImportError as error:
        _unavailable(f"{error.name} is not installed: pip install -e '.[book,test]'")
    work = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "book", work / "book")
    _write_settings(work / "settings")
    port = _free_port()
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
               "--ip=127.0.0.1", f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={work}",
               f"--LabApp.user_settings_dir={work / 'settings'}",
               f"--LabApp.workspaces_dir={work / 'workspaces'}", "--allow-root"]
    log = open(work / "server.log", "w", encoding="utf-8")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=work,
                              env={**os.environ, "JUPYTER_CONFIG_DIR": str(work / "config")})
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_server(f"{base}/api/status?token={TOKEN}", server)
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            yield browser, base
            browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _open_notebook(browser, base, chapter, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    foreign = []

    def route(r):
        host = r.request.url.split("/")[2].split(":")[0]
        if host == "127.0.0.1":
            r.continue_()
        else:
            foreign.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/lab/tree/book/{chapter}.ipynb?token={TOKEN}&reset",
              wait_until="load")  # reset: a fresh workspace, only this notebook open
    page.wait_for_selector(".jp-MarkdownCell div.myst aside", state="attached", timeout=90_000)
    # every markdown cell is rendered by jupyterlab-myst once the notebook is idle
    page.wait_for_function(
        "() => { const c = document.querySelectorAll('.jp-MarkdownCell');"
        " return c.length > 0 && [...c].every(m => m.querySelector('div.myst')); }",
        timeout=60_000)
    return context, page, errors, foreign


def _source_counts(chapter):
    cells = json.loads((ROOT / "book" / f"{chapter}.ipynb").read_text(encoding="utf-8"))["cells"]
    markdown = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    return (len(markdown), sum(s.count("```{exercise}") for s in markdown),
            sum(s.count("{cite}") for s in markdown), sum(s.count("$") for s in markdown))


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_renders_myst_in_jupyterlab(lab, chapter):
    browser, base = lab
    n_markdown, n_exercises, n_cites, n_dollars = _source_counts(chapter)
    context, page, errors, foreign = _open_notebook(browser, base, chapter, 1280)
    texts = page.evaluate(RENDERED_TEXT)
    assert len(texts) == n_markdown
    raw = [(marker, text[:80]) for text in texts for marker in RAW_MYST if marker in text]
    assert not raw, f"{chapter}: MyST shown as source: {raw[:5]}"
    assert page.locator("div.myst aside.myst-admonition", has_text="本章信息").count() == 1
    exercise_titles = page.locator("div.myst aside.myst-exercise .myst-exercise-title")
    titles = [t for t in exercise_titles.all_inner_texts() if t.startswith("Exercise")]
    assert len(titles) == n_exercises > 0, titles
    if n_dollars:
        assert page.locator("div.myst .katex").count() > 0
        leftover = [t[:80] for t in texts if "$" in t]
        assert not leftover, f"{chapter}: math left as TeX: {leftover[:3]}"
    if n_cites:  # rendered as the key, marked unresolved (no bibliography in JupyterLab)
        keys = page.locator("div.myst span[title='Citation Not Found']")
        assert keys.count() >= 1 and keys.first.inner_text().strip()
    assert not errors, errors
    assert not foreign, sorted(set(foreign))[:10]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"jupyterlab-{Path(chapter).name}-1280.png"))
    page.locator("div.myst aside.myst-exercise").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / f"jupyterlab-{Path(chapter).name}-exercise-1280.png"))
    context.close()
