#!/usr/bin/env python3
"""Set up the course from nothing, then build the book or run the tests.

    python3 dev.py book    # build the HTML book into _build/html (executes every chapter)
    python3 dev.py test    # ruff, unit tests and doctests, then every notebook (nbval)

Both commands create ``.venv`` when it is missing and (re)install the package with its ``book``
and ``dev`` extras when ``pyproject.toml`` changed since the last install; otherwise they start
at once. Needs only Python 3.10 or newer. Extra arguments after ``test`` go to the unit-test
pytest run (for example ``python3 dev.py test -k kmeans``).
"""

import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import venv

ROOT = pathlib.Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".course_lib-install-stamp"
BOOK_INDEX = ROOT / "_build" / "html" / "index.html"
PYTEST_NO_TESTS = 5
# Two pytest workers, or two chapters, share the cores: one OpenBLAS / OpenMP thread each. Their
# idle threads spin while waiting, so two processes with a pool of all cores each slow each other
# down (a scikit-learn fit several times over). A value set in the environment wins.
ONE_THREAD_EACH = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def venv_python():
    scripts = "Scripts" if os.name == "nt" else "bin"
    return VENV / scripts / ("python.exe" if os.name == "nt" else "python")


def run(*command, env=None):
    """Run a command from the project folder, with ``env`` added to the environment where it
    is not already set; return its exit code."""
    print("+", " ".join(str(part) for part in command), flush=True)
    return subprocess.call([str(part) for part in command], cwd=ROOT,
                           env={**(env or {}), **os.environ})


def check(*command):
    code = run(*command)
    if code != 0:
        sys.exit(code)


def ensure_environment():
    """Create .venv and install the package when missing or out of date."""
    if sys.version_info < (3, 10):  # noqa: UP036  (dev.py runs on the system Python)
        sys.exit(f"Python 3.10 or newer is needed; this is {sys.version.split()[0]}")
    if not venv_python().exists():
        print(f"Creating the virtual environment {VENV} ...", flush=True)
        venv.create(VENV, with_pip=True)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    check(venv_python(), "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    check(venv_python(), "-m", "pip", "install", "--quiet", "-e", ".[book,dev]")
    STAMP.write_text(wanted + "\n")


def run_tests(pytest_args):
    """Lint, unit tests and docstring examples (tests/conftest.py blocks the network), then
    every notebook (nbval)."""
    python = venv_python()
    lint = run(python, "-m", "ruff", "check", ".")
    if lint != 0:
        return lint
    unit = run(python, "-m", "pytest", "tests", "course_lib", "--doctest-modules",
               "--ignore-glob=*__main__.py", "--durations=20", "-n", "2",
               "-p", "no:cacheprovider", *pytest_args, env=ONE_THREAD_EACH)
    if unit == PYTEST_NO_TESTS:
        print("pytest collected no unit tests: that is a failure here", flush=True)
    if unit != 0:
        return unit or 1
    # book/conftest.py saves every chapter that passes here, for the book build to reuse
    shutil.rmtree(ROOT / "_build" / "executed", ignore_errors=True)
    notebooks = run(python, "-m", "pytest", "--nbval-lax", "book", "-n", "2",
                    "--dist", "loadfile", "-p", "no:cacheprovider", env=ONE_THREAD_EACH)
    if notebooks == PYTEST_NO_TESTS:
        print("nbval collected no notebooks: that is a failure here", flush=True)
        return 1
    return notebooks


def build_book():
    """Execute every chapter (two at a time) and build the HTML book, Sphinx warnings as errors."""
    shutil.rmtree(ROOT / "_build" / "html", ignore_errors=True)
    code = run(venv_python(), ROOT / "tools" / "execute_chapters.py", env=ONE_THREAD_EACH)
    if code != 0:
        return code
    jupyter_book = VENV / ("Scripts" if os.name == "nt" else "bin") / "jupyter-book"
    code = run(jupyter_book, "build", ".", "--all", "-W", "-n", "--keep-going")
    if code != 0:
        return code
    if not BOOK_INDEX.exists():
        print(f"the build finished but {BOOK_INDEX} is missing", flush=True)
        return 1
    print(f"The book is at {BOOK_INDEX}", flush=True)
    return 0


def main(argv):
    if not argv or argv[0] not in ("book", "test"):
        sys.exit(__doc__)
    ensure_environment()
    if argv[0] == "book":
        return build_book()
    return run_tests(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
