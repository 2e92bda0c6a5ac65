"""Checks of the book's structure: table of contents, notebooks, exercises, errata."""

import importlib.util
import json
import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
SHARED = ROOT.parent / "shared"  # the design documents and source articles, beside the repo
ERRATA_FILE = SHARED / "design" / "SEED-ERRATA.md"
ERRATA_IDS = (re.findall(r"^\| (E\d\d) \|", ERRATA_FILE.read_text(encoding="utf-8"), re.M)
              if ERRATA_FILE.exists() else [])
SEEDS = sorted((SHARED / "seeds").glob("*.txt")) if (SHARED / "seeds").exists() else []


def _toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        for chapter in part["chapters"]:
            files.append(chapter["file"])
            files.extend(section["file"] for section in chapter.get("sections", []))
    return files


def _resolve(entry):
    matches = [ROOT / (entry + suffix) for suffix in (".md", ".ipynb")
               if (ROOT / (entry + suffix)).exists()]
    return matches


NOTEBOOKS = sorted(p for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell):
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def test_every_toc_entry_exists_once():
    entries = _toc_files()
    assert len(entries) == len(set(entries))
    for entry in entries:
        assert len(_resolve(entry)) == 1, f"{entry} must exist as exactly one .md or .ipynb"


def test_every_page_under_book_is_in_the_toc():
    in_toc = {str(path.relative_to(ROOT)) for entry in _toc_files() for path in _resolve(entry)}
    pages = {str(p.relative_to(ROOT)) for p in BOOK.rglob("*")
             if p.suffix in (".md", ".ipynb") and ".ipynb_checkpoints" not in p.parts}
    assert pages - in_toc == set()


def test_the_book_build_reads_what_execute_chapters_caches():
    spec = importlib.util.spec_from_file_location("execute_chapters",
                                                  ROOT / "tools" / "execute_chapters.py")
    execute_chapters = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(execute_chapters)
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["execute"]["execute_notebooks"] == "cache"
    # no cache path set: myst-nb then uses _build/.jupyter_cache, where the script writes
    assert not config["execute"].get("cache")
    assert execute_chapters.CACHE == ROOT / "_build" / ".jupyter_cache"
    assert execute_chapters.chapters() == NOTEBOOKS


def test_the_download_button_has_a_source_notebook_to_link_to():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    # the page's ".ipynb" button links into _sources/, which Sphinx fills only with this on
    assert config["sphinx"]["config"].get("html_copy_source", True)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(notebook):
    for cell in _cells(notebook):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{notebook.name} has outputs"
            assert cell.get("execution_count") is None


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_cells_have_unique_ids(notebook):
    # nbformat 4.5 requires them; without one, nbformat warns and will later refuse the file
    ids = [cell.get("id") for cell in _cells(notebook)]
    assert all(isinstance(i, str) and re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", i) for i in ids), \
        f"{notebook.name} has a cell without a valid id"
    assert len(ids) == len(set(ids)), f"{notebook.name} repeats a cell id"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_uses_the_python3_kernel(notebook):
    metadata = json.loads(notebook.read_text(encoding="utf-8"))["metadata"]
    assert metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_starts_with_the_device_report(notebook):
    first_code = next(_source(c) for c in _cells(notebook) if c["cell_type"] == "code")
    assert "import course_lib" in first_code and "device_report()" in first_code


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_does_not_change_the_matplotlib_backend(notebook):
    for cell in _cells(notebook):
        source = _source(cell)
        assert "%matplotlib" not in source and "matplotlib.use(" not in source


def _markdown_sources():
    for notebook in NOTEBOOKS:
        for cell in _cells(notebook):
            if cell["cell_type"] == "markdown":
                yield notebook, _source(cell)
    for page in BOOK.rglob("*.md"):
        yield page, page.read_text(encoding="utf-8")


def test_exercise_labels_are_unique_and_solutions_are_gated():
    exercise_labels, solution_targets = [], []
    for _, text in _markdown_sources():
        exercise_labels += re.findall(r"```\{exercise\}[^\n]*\n:label: (\S+)", text)
        solution_targets += re.findall(r"```\{solution-start\} (\S+)", text)
    assert len(exercise_labels) == len(set(exercise_labels))
    assert set(solution_targets) <= set(exercise_labels)
    for notebook in NOTEBOOKS:
        text = "\n".join(_source(c) for c in _cells(notebook) if c["cell_type"] == "markdown")
        assert text.count("{solution-start}") == text.count("{solution-end}"), notebook.name


def test_every_chapter_has_at_least_one_exercise():
    for notebook in NOTEBOOKS:
        text = "\n".join(_source(c) for c in _cells(notebook) if c["cell_type"] == "markdown")
        assert "{exercise}" in text, f"{notebook.name} has no exercise"


def test_hidden_checks_use_the_remove_cell_tag():
    for notebook in NOTEBOOKS:
        tagged = [c for c in _cells(notebook)
                  if "remove-cell" in c.get("metadata", {}).get("tags", [])
                  and "rubric" not in c.get("metadata", {}).get("course_assignment", {})]
        # a graded question's check cell asserts through course_lib.assignments.check
        assert all(c["cell_type"] == "code" and ("assert" in _source(c) or (
            c.get("metadata", {}).get("nbgrader", {}).get("grade") and "check(" in _source(c)))
            for c in tagged), notebook.name


@pytest.mark.skipif(not ERRATA_IDS, reason="shared/design/SEED-ERRATA.md is not beside the repo")
def test_every_errata_id_is_explained_and_pinned_by_a_test():
    errata_page = (BOOK / "appendix" / "errata.md").read_text(encoding="utf-8")
    test_names = "\n".join(p.read_text(encoding="utf-8")
                           for p in (ROOT / "tests").glob("test_*.py"))
    for errata_id in ERRATA_IDS:
        assert errata_id in errata_page, f"{errata_id} is missing from the errata appendix"
        # A test may pin several ids at once: test_e30_e32_...
        assert re.search(rf"def test_(?:e\d\d_)*{errata_id.lower()}_", test_names), \
            f"no test named test_{errata_id.lower()}_..."


@pytest.mark.skipif(not SEEDS, reason="shared/seeds is not beside the repo")
def test_no_text_is_copied_from_the_source_articles():
    """No run of 18 Chinese characters of the articles appears in the project's files."""
    runs = set()
    for seed in SEEDS:
        for match in re.finditer(r"[\u4e00-\u9fff，、（）]{18,}", seed.read_text(encoding="utf-8")):
            runs.add(match.group(0)[:18])
    project_files = [p for p in ROOT.rglob("*")
                     if p.suffix in (".md", ".ipynb", ".py", ".yml", ".txt", ".rst")
                     and not {".venv", "_build", ".git"} & set(p.relative_to(ROOT).parts)]
    copied = {str(p.relative_to(ROOT)): [r for r in runs if r in p.read_text(encoding="utf-8")]
              for p in project_files}
    assert {name: found for name, found in copied.items() if found} == {}


def _doc_target(target, page):
    """The book-relative path of a {doc} target written on ``page`` (a path under book/)."""
    target = target.split("<")[-1].rstrip(">").strip()
    parts = list(pathlib.PurePosixPath(page).parent.parts)
    for segment in target.split("/"):
        if segment == "..":
            parts.pop()
        else:
            parts.append(segment)
    return "/".join(parts)


def _prerequisites(notebook):
    """The {doc} targets on the chapter's 前置章节 line (an empty set for 无)."""
    page = str(notebook.relative_to(BOOK))
    for cell in _cells(notebook)[:3]:
        for line in _source(cell).splitlines():
            if "前置章节" in line:
                return {_doc_target(t, page) for t in re.findall(r"\{doc\}`([^`]+)`", line)}
    raise AssertionError(f"{page}: no 前置章节 line in its first cells")


def test_the_introduction_lists_every_chapter_with_its_own_prerequisites():
    table = {}
    for row in re.findall(r"^\| \{doc\}`([^`]+)` \| (.+) \|$",
                          (BOOK / "intro.md").read_text(encoding="utf-8"), re.M):
        chapter, cell = row
        table[chapter] = {_doc_target(t, "intro.md")
                          for t in re.findall(r"\{doc\}`([^`]+)`", cell)}
    chapters = {entry.removeprefix("book/") for entry in _toc_files()
                if entry.startswith("book/") and (ROOT / (entry + ".ipynb")).exists()}
    assert set(table) == chapters, "the intro's dependency table must list every chapter once"
    for chapter in sorted(chapters):
        assert table[chapter] == _prerequisites(BOOK / (chapter + ".ipynb")), (
            f"{chapter}: the intro's prerequisites differ from the chapter's 本章信息")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: str(p.relative_to(BOOK)))
def test_display_math_blocks_stand_apart_from_paragraphs(notebook):
    # MyST reads a "$$" line glued to the paragraph above as paragraph text: the page then
    # shows raw TeX (test_browser finds it only after a full build).
    for cell in _cells(notebook):
        if cell["cell_type"] != "markdown":
            continue
        lines = _source(cell).splitlines()
        openings = [i for i, line in enumerate(lines) if line.strip() == "$$"][::2]
        for i in openings:
            assert i == 0 or not lines[i - 1].strip(), (
                f"{cell.get('id')}: the display math opened at line {i + 1} needs a blank line "
                f"before it: {lines[i - 1][:60]!r}")
