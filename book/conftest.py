"""nbval hooks: save each chapter that passed, with its outputs, for the book build.

nbval runs every code cell of a chapter in one kernel and keeps the outputs it received on the
cell's test item. When the last cell of a chapter has run and every code cell passed, the chapter
is saved with those outputs (tools/executed_notebooks.py), so that ``python3 dev.py book`` after
``python3 dev.py test`` builds the book without executing the chapters a second time.
"""

import pathlib
import sys
import time

import pytest
from nbval.plugin import IPyNbCell

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tools"))
import executed_notebooks  # noqa: E402


def _run_record(item):
    return item.parent.__dict__.setdefault(
        "_course_run", {"start": time.perf_counter(), "passed": {}, "failed": False})


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if not isinstance(item, IPyNbCell):
        return
    report = outcome.get_result()
    record = _run_record(item)
    if report.failed or report.skipped:
        record["failed"] = True
    elif call.when == "call":
        record["passed"][item.cell_num] = item


def pytest_runtest_teardown(item, nextitem):
    if not isinstance(item, IPyNbCell):
        return
    if nextitem is not None and nextitem.parent is item.parent:
        return
    record = _run_record(item)
    notebook = item.parent.nb
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    if record["failed"] or len(record["passed"]) != len(code_cells):
        return
    for number, cell_item in sorted(record["passed"].items()):
        cell_item.cell.outputs = cell_item.test_outputs or []
        cell_item.cell.execution_count = number + 1
        for output in cell_item.cell.outputs:
            if output.output_type == "execute_result":
                output.execution_count = number + 1
    executed_notebooks.save(item.parent.fspath, notebook, time.perf_counter() - record["start"])

