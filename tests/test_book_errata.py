"""Errata E09 and E12, which live in the book's text rather than in course_lib.

E09: the outlook chapter names the generative families the articles leave out (autoregressive
models, normalising flows, diffusion models) and cites real papers for each.
E12: the articles' reference list was fabricated; the book's references.bib must hold
well-formed entries of real works, and every key the book cites must exist in it.
"""

import json
import pathlib
import re

import pytest
from pybtex.database import BibliographyData, parse_file, parse_string

ROOT = pathlib.Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
BIB_FILE = BOOK / "references.bib"
OUTLOOK = BOOK / "outlook" / "future.ipynb"
DIFFUSION_CHAPTER = BOOK / "generation" / "diffusion.ipynb"
ERRATA_PAGE = BOOK / "appendix" / "errata.md"

# {cite}`a,b`, {cite:p}`a`, {cite:t}`a; b` ... as written in MyST markdown.
CITE_ROLE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
EARLIEST_YEAR, LATEST_YEAR = 1800, 2030


# ---------------------------------------------------------------------------------------------
# helpers (tested below on hand-made inputs, so that they can be trusted on the real book)
# ---------------------------------------------------------------------------------------------
def cited_keys(text):
    """Return the set of citation keys used by cite roles in MyST ``text``."""
    keys = set()
    for group in CITE_ROLE.findall(text):
        keys.update(key.strip() for key in re.split(r"[,;]", group) if key.strip())
    return keys


def _normalised_title(title):
    return re.sub(r"[^0-9a-z]+", " ", title.replace("{", "").replace("}", "").lower()).strip()


def entry_problems(bibliography):
    """List what is wrong with the entries of a pybtex ``BibliographyData`` (empty: all fine)."""
    problems = []
    seen_titles = {}
    for key, entry in bibliography.entries.items():
        title = entry.fields.get("title", "").strip()
        year = entry.fields.get("year", "").strip()
        people = entry.persons.get("author", []) or entry.persons.get("editor", [])
        if not title:
            problems.append(f"{key}: no title")
        if not people:
            problems.append(f"{key}: no author or editor")
        if not re.fullmatch(r"\d{4}", year) or not EARLIEST_YEAR <= int(year) <= LATEST_YEAR:
            problems.append(f"{key}: year {year!r} is not a plausible four-digit year")
        venue_fields = {"journal", "booktitle", "publisher", "institution", "howpublished",
                        "school", "note"}
        if not venue_fields & {name.lower() for name in entry.fields}:
            problems.append(f"{key}: no journal, booktitle, publisher or other venue")
        normalised = _normalised_title(title)
        if normalised and normalised in seen_titles:
            problems.append(f"{key}: same title as {seen_titles[normalised]}")
        seen_titles.setdefault(normalised, key)
    return problems


def _markdown_of_notebook(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def _code_of_notebook(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def _book_texts():
    for path in sorted(BOOK.rglob("*")):
        if ".ipynb_checkpoints" in path.parts or "_build" in path.parts:
            continue
        if path.suffix == ".md":
            yield path, path.read_text(encoding="utf-8")
        elif path.suffix == ".ipynb":
            yield path, _markdown_of_notebook(path)


@pytest.fixture(scope="module")
def bibliography():
    return parse_file(str(BIB_FILE), bib_format="bibtex")


# ---------------------------------------------------------------------------------------------
# the helpers detect what they claim to detect
# ---------------------------------------------------------------------------------------------
def test_cited_keys_reads_every_cite_role_form():
    text = ("as in {cite}`ho2020ddpm` and {cite:p}`a2001, b2002` or {cite:t}`c2003;d2004`; "
            "not `plain` code")
    assert cited_keys(text) == {"ho2020ddpm", "a2001", "b2002", "c2003", "d2004"}


@pytest.mark.parametrize("bibtex, expected", [
    ("@book{x, title={T}, publisher={P}}", ["no author or editor", "year"]),
    ("@article{x, author={A, B}, title={T}, journal={J}, year={20xx}}", ["year"]),
    ("@article{x, author={A, B}, journal={J}, year={2001}}", ["no title"]),
    ("@misc{x, author={A, B}, title={T}, year={2001}}", ["no journal"]),
    ("@article{x, author={A, B}, title={Deep {L}earning}, journal={J}, year={2001}}\n"
     "@article{y, author={C, D}, title={Deep Learning}, journal={K}, year={2002}}",
     ["same title as x"]),
], ids=["no-author-no-year", "bad-year", "no-title", "no-venue", "duplicate-title"])
def test_entry_problems_flags_bad_entries(bibtex, expected):
    problems = " | ".join(entry_problems(parse_string(bibtex, "bibtex")))
    for fragment in expected:
        assert fragment in problems


def test_entry_problems_accepts_a_good_entry_and_editors():
    good = parse_string(
        "@book{a, author={Bishop, Christopher M.}, title={Pattern Recognition and Machine "
        "Learning}, publisher={Springer}, year={2006}}\n"
        "@book{b, editor={Chapelle, Olivier}, title={Semi-Supervised Learning}, "
        "publisher={MIT Press}, year={2006}}", "bibtex")
    assert entry_problems(good) == []
    assert entry_problems(BibliographyData()) == []


# ---------------------------------------------------------------------------------------------
# E12: the references are real, well-formed and complete
# ---------------------------------------------------------------------------------------------
def test_e12_references_bib_entries_are_well_formed(bibliography):
    assert len(bibliography.entries) >= 12
    assert entry_problems(bibliography) == []


def test_e12_references_bib_has_no_duplicate_keys():
    # pybtex (strict mode, the default) raises on a repeated key; count the raw keys as well
    raw_keys = re.findall(r"^@\w+\{([^,\s]+),", BIB_FILE.read_text(encoding="utf-8"), re.M)
    assert len(raw_keys) == len(set(raw_keys))


def test_e12_references_bib_holds_the_works_the_errata_name(bibliography):
    """The real works E12 asks for, checked by title words, not only by key."""
    expected_titles = {
        "goodfellow2014gan": "generative adversarial nets",
        "kingma2013vae": "auto-encoding variational",
        "zhu2017cyclegan": "cycle-consistent adversarial",
        "radford2015dcgan": "deep convolutional generative adversarial",
        "hastie2009elements": "elements of statistical learning",
        "bishop2006pattern": "pattern recognition and machine learning",
        "breiman2001random": "random forests",
        "friedman2001greedy": "gradient boosting machine",
        "pedregosa2011sklearn": "scikit-learn",
        "abadi2016tensorflow": "tensorflow",
    }
    for key, words in expected_titles.items():
        assert key in bibliography.entries, key
        title = bibliography.entries[key].fields["title"].replace("{", "").replace("}", "")
        assert words in title.lower(), f"{key}: {title!r}"


def test_e12_no_fabricated_publishers_from_the_articles():
    text = BIB_FILE.read_text(encoding="utf-8")
    # the articles' invented publishers ("machinery university press", "Xinqiu press")
    assert "机械大学出版社" not in text and "辛丘出版社" not in text


def test_e12_every_key_cited_in_the_book_exists_in_the_bib(bibliography):
    known = set(bibliography.entries.keys())
    missing = {}
    n_citations = 0
    for path, text in _book_texts():
        keys = cited_keys(text)
        n_citations += len(keys)
        unknown = sorted(keys - known)
        if unknown:
            missing[str(path.relative_to(ROOT))] = unknown
    assert missing == {}
    assert n_citations > 0


def test_e12_references_page_renders_the_bibliography():
    page = (BOOK / "appendix" / "references.md").read_text(encoding="utf-8")
    assert "```{bibliography}" in page


# ---------------------------------------------------------------------------------------------
# E09: image generation is more than GANs and VAEs
# ---------------------------------------------------------------------------------------------
FAMILIES = {
    # family: (Chinese name, English name, keys of which at least one must be cited)
    "autoregressive": ("自回归", "autoregressive",
                       {"vandenoord2016pixelcnn", "vandenoord2016pixelrnn", "germain2015made"}),
    "flow": ("标准化流", "normalizing flow", {"dinh2017realnvp", "kingma2018glow"}),
    "diffusion": ("扩散模型", "diffusion model", {"ho2020ddpm", "sohldickstein2015diffusion"}),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_e09_outlook_names_the_family_and_cites_a_real_paper(family, bibliography):
    chinese, english, keys = FAMILIES[family]
    text = _markdown_of_notebook(OUTLOOK)
    assert chinese in text and english in text.lower()
    cited = cited_keys(text) & keys
    assert cited, f"the outlook chapter cites none of {sorted(keys)}"
    for key in cited:
        assert key in bibliography.entries
        assert not entry_problems(BibliographyData(entries={key: bibliography.entries[key]}))


def test_e09_each_family_is_run_in_the_book():
    code = _code_of_notebook(OUTLOOK)
    assert "mask" in code and "autoregressive_nll" in code      # masked autoregressive model
    assert "batch_jacobian" in code and "log_det" in code        # change of variables of a flow
    assert "alpha_bar" in code                                   # forward diffusion, closed form
    # diffusion models are trained and sampled (DDPM, DDIM) in their own chapter
    diffusion = _code_of_notebook(DIFFUSION_CHAPTER)
    assert "NoiseSchedule" in diffusion and "ddpm" in diffusion and "ddim" in diffusion


def test_e09_errata_page_points_to_the_outlook_chapter():
    page = ERRATA_PAGE.read_text(encoding="utf-8")
    section = page.split("### E09", 1)[1].split("\n### ", 1)[0]
    assert "../outlook/future.ipynb" in section
    assert "自回归" in section and "扩散" in section and "流" in section
