"""Fill Jupyter Book's execution cache with every chapter, executed afresh, several at a time.

    python tools/execute_chapters.py [--jobs N]

``python3 dev.py book`` runs this before ``jupyter-book build``; with ``execute_notebooks: cache``
in ``_config.yml`` the build then takes each chapter's outputs from the cache instead of executing
the chapters one after another. The old cache is deleted first. A chapter that the nbval run of
``python3 dev.py test`` executed against the current notebook and ``course_lib`` is taken from
that run (tools/executed_notebooks.py) instead of being executed again; every other chapter runs
in its own folder, with the timeout of ``_config.yml``, and the first failing cell stops the run
with its traceback. Exit code 0 when every chapter ran, 1 otherwise.
"""

import argparse
import concurrent.futures
import os
import pathlib
import shutil
import sys
import time

import nbformat
import yaml
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.executors.utils import single_nb_execution

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import executed_notebooks  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
CACHE = ROOT / "_build" / ".jupyter_cache"  # where myst-nb looks by default


def chapters():
    """Every notebook under book/, in path order (as nbval collects them)."""
    return sorted(path for path in (ROOT / "book").rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in path.parts)


def execute(path, timeout):
    """Run one notebook in its folder; return (notebook, seconds, traceback text or None)."""
    notebook = nbformat.read(path, as_version=4)
    result = single_nb_execution(notebook, cwd=str(path.parent), timeout=timeout,
                                 allow_errors=False)
    return result.nb, result.time, result.exc_string


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="chapters executed at the same time (default: 2, or 1 on one core)")
    args = parser.parse_args(argv)
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    timeout = config["execute"]["timeout"]

    shutil.rmtree(CACHE, ignore_errors=True)
    cache = get_cache(str(CACHE))
    paths = chapters()
    if not paths:
        print("no notebooks under book/", flush=True)
        return 1
    start = time.perf_counter()

    def store(path, notebook, seconds):
        record = cache.add_nb_to_project(str(path))
        cache.cache_notebook_bundle(
            CacheBundleIn(notebook, record.uri, data={"execution_seconds": seconds}),
            check_validity=False, overwrite=True)

    to_execute = []
    for path in paths:
        saved = executed_notebooks.load(path)
        if saved is None:
            to_execute.append(path)
        else:
            store(path, *saved)
            print(f"took {path.relative_to(ROOT)} from the nbval run ({saved[1]:.0f} s)",
                  flush=True)
    print(f"executing {len(to_execute)} chapters, {args.jobs} at a time", flush=True)
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs) as pool:
        runs = {pool.submit(execute, path, timeout): path for path in to_execute}
        for done in concurrent.futures.as_completed(runs):
            path = runs[done]
            notebook, seconds, failure = done.result()
            name = path.relative_to(ROOT)
            if failure is not None:
                print(f"FAILED {name} after {seconds:.0f} s:\n{failure}", flush=True)
                pool.shutdown(cancel_futures=True)
                return 1
            store(path, notebook, seconds)
            print(f"executed {name} in {seconds:.0f} s", flush=True)
    print(f"all chapters executed after {time.perf_counter() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
