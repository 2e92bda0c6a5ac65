"""Jieba user dictionary for the book's Chinese search, made from the glossary.

Sphinx's Chinese search cuts page text with jieba (``sphinx/search/zh.py``) and the search page
keeps a query such as 梯度下降 whole (``splitQuery`` in ``searchtools.js`` splits only on
non-letters). Jieba's own dictionary does not hold many of the course's terms, so without this
dictionary the index holds only their pieces (梯度, 下降) and a reader who types a glossary term
finds nothing. ``_config.yml`` passes the file to Sphinx as ``html_search_options["dict"]``.

    python tools/search_dict.py           # rewrite tools/search_dict.txt from the glossary
    python tools/search_dict.py --check   # exit 1 when the file is out of date

``tests/test_search_dict.py`` fails when the committed file and the glossary disagree.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "book" / "appendix" / "glossary.md"
DICTIONARY = ROOT / "tools" / "search_dict.txt"

_FENCE = re.compile(r"^(`{3,}|:{3,})")
_HEAD = re.compile(r"^(?P<term>[^（(]+?)\s*(?:[（(](?P<english>.*)[）)])?\s*$")


def glossary_entries(text: str) -> list[tuple[str, str]]:
    """(term, english) of every entry line of the ``{glossary}`` blocks, in order.

    An entry line is a line of a glossary block that does not start with a space; its form is
    ``中文术语（english，ABBR）`` or a bare term such as ``Adam``.
    """
    entries: list[tuple[str, str]] = []
    fence = None
    for line in text.splitlines():
        match = _FENCE.match(line)
        if fence is None:
            if match and line[match.end():].startswith("{glossary}"):
                fence = match.group(1)
            continue
        if line.strip() == fence:
            fence = None
        elif line.strip() and not line[0].isspace():
            head = _HEAD.match(line)
            if head is None:
                raise ValueError(f"unreadable glossary entry: {line!r}")
            entries.append((head["term"], head["english"] or ""))
    if fence is not None:
        raise ValueError("unclosed glossary block")
    return entries


def glossary_terms(text: str) -> list[str]:
    """The terms as the glossary writes them, unique, in glossary order."""
    return list(dict.fromkeys(term for term, _ in glossary_entries(text)))


def render(terms: list[str]) -> str:
    """The dictionary file: one term a line, with no frequency, so that jieba's
    ``suggest_freq`` gives each the frequency that keeps it whole. Jieba reads every line as a
    word, so the file cannot carry a comment saying it is generated; this module says so."""
    for term in terms:
        if not term or any(ch.isspace() for ch in term):
            raise ValueError(f"a jieba dictionary word cannot hold spaces: {term!r}")
    return "".join(term + "\n" for term in terms)


def expected() -> str:
    return render(glossary_terms(GLOSSARY.read_text(encoding="utf-8")))


def main(argv: list[str]) -> int:
    text = expected()
    if argv == ["--check"]:
        current = DICTIONARY.read_text(encoding="utf-8") if DICTIONARY.exists() else ""
        if current != text:
            print(f"{DICTIONARY.relative_to(ROOT)} is out of date: run python tools/search_dict.py")
            return 1
        return 0
    if argv:
        print(__doc__)
        return 2
    DICTIONARY.write_text(text, encoding="utf-8")
    print(f"wrote {text.count(chr(10))} terms to {DICTIONARY.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
