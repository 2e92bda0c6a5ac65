"""``release``: an nbgrader course directory with the teacher's source and the student release."""

import os
import subprocess
import sys
from pathlib import Path

import nbformat

from ._source import AssignmentError, chapters, default_book, select, teacher_copy

CELL_TIMEOUT = 300  # seconds per cell: a TensorFlow cell under the grading profile needs far less
# What the student copy shows in place of a solution: the student replaces it (nbgrader's own
# convention, so that an unanswered question fails its check cell instead of passing silently).
CODE_STUB = "# 在这里写你的代码\nraise NotImplementedError()"
TEXT_STUB = "在这里写下你的答案。"

CONFIG = '''"""nbgrader configuration written by `python -m course_lib.assignments release`."""

c = get_config()  # noqa: F821 (nbgrader's config loader defines get_config)

c.CourseDirectory.root = {root!r}

# Cells of the course's chapters train small TensorFlow models: allow {timeout} s per cell, then
# interrupt the kernel, record the timeout as the cell's error and go on with the next cell.
c.Execute.timeout = {timeout}
c.ExecutePreprocessor.timeout = {timeout}
c.Execute.interrupt_on_timeout = True
c.Execute.raise_on_iopub_timeout = False
c.Execute.execute_retries = 0

# What the students see in place of the solutions.
c.ClearSolutions.code_stub = {{"python": {code_stub!r}}}
c.ClearSolutions.text_stub = {text_stub!r}

# A submission that deleted a check cell is graded with the cell put back from the source.
c.OverwriteCells.add_missing_cells = True
'''


def nbgrader_env():
    """The environment for nbgrader: it runs ``alembic`` from PATH, which lives beside Python."""
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def nbgrader(course_dir, *args, timeout=None):
    """Run one nbgrader command in its own process; return the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course_dir,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
        env=nbgrader_env(),
    )


def write_config(course_dir, timeout=CELL_TIMEOUT):
    course_dir = Path(course_dir).resolve()
    (course_dir / "nbgrader_config.py").write_text(
        CONFIG.format(root=str(course_dir), timeout=int(timeout), code_stub=CODE_STUB,
                      text_stub=TEXT_STUB),
        encoding="utf-8",
    )


def release(course_dir, names=(), book=None, timeout=CELL_TIMEOUT, log=print):
    """Write the course directory; return ``{chapter: release notebook path}``."""
    course_dir = Path(course_dir).resolve()
    book = Path(book) if book else default_book()
    chosen = select(chapters(book), list(names))
    if not chosen:
        raise AssignmentError(f"no chapter under {book} has graded questions")
    sources = {}
    for name, path in chosen.items():  # build (and validate) every chapter before writing
        sources[name] = teacher_copy(nbformat.read(path, as_version=4), name)
    course_dir.mkdir(parents=True, exist_ok=True)
    write_config(course_dir, timeout)
    released = {}
    for name, nb in sources.items():
        target = course_dir / "source" / name / f"{name}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        result = nbgrader(course_dir, "generate_assignment", name, "--force")
        out = course_dir / "release" / name / f"{name}.ipynb"
        if result.returncode != 0 or not out.exists():
            raise AssignmentError(
                f"{name}: nbgrader generate_assignment failed:\n{result.stdout}{result.stderr}"
            )
        released[name] = out
        log(f"released {name}: {out}")
    return released
