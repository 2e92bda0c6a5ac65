"""Executed copies of the chapters: written by the nbval run, reused by the book build.

``python3 dev.py test`` executes every chapter under nbval; ``book/conftest.py`` saves each
chapter whose cells all passed, with their outputs, under ``_build/executed/``.
``tools/execute_chapters.py`` then caches such a copy for Jupyter Book instead of executing the
chapter again, provided its fingerprint still matches: a hash of the notebook file and of every
file of ``course_lib``, so that a copy made before an edit to either is never used.
"""

import functools
import hashlib
import pathlib

import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXECUTED = ROOT / "_build" / "executed"
METADATA_KEY = "course_execution"


@functools.lru_cache(maxsize=1)
def _library_digest():
    digest = hashlib.sha256()
    for path in sorted((ROOT / "course_lib").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def fingerprint(notebook_path):
    """Hash of the notebook's bytes and of course_lib: what an executed copy depends on."""
    digest = hashlib.sha256(pathlib.Path(notebook_path).read_bytes())
    digest.update(_library_digest().encode())
    return digest.hexdigest()


def copy_path(notebook_path):
    """Where the executed copy of ``notebook_path`` (a chapter under ROOT) is kept."""
    return EXECUTED / pathlib.Path(notebook_path).resolve().relative_to(ROOT)


def save(notebook_path, notebook, seconds):
    """Write ``notebook`` (a NotebookNode with outputs) as the executed copy of the chapter."""
    notebook.metadata[METADATA_KEY] = {"fingerprint": fingerprint(notebook_path),
                                       "seconds": round(float(seconds), 1)}
    target = copy_path(notebook_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    nbformat.write(notebook, partial)
    partial.replace(target)


def load(notebook_path):
    """Return ``(notebook, seconds)`` of a current executed copy, or None if there is none."""
    target = copy_path(notebook_path)
    if not target.exists():
        return None
    notebook = nbformat.read(target, as_version=4)
    record = notebook.metadata.pop(METADATA_KEY, None)
    if not record or record.get("fingerprint") != fingerprint(notebook_path):
        return None
    return notebook, record["seconds"]
