"""The nbval run's executed chapters are reused by the book build only while they are current."""

import importlib.util
import pathlib

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture
def executed(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("executed_notebooks",
                                                  ROOT / "tools" / "executed_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "ROOT", tmp_path)
    monkeypatch.setattr(module, "EXECUTED", tmp_path / "_build" / "executed")
    (tmp_path / "course_lib").mkdir()
    (tmp_path / "course_lib" / "model.py").write_text("A = 1\n")
    (tmp_path / "book").mkdir()
    return module


def _chapter(folder, source="print(1)"):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    path = folder / "book" / "chapter.ipynb"
    nbformat.write(notebook, path)
    return path


def _executed(path):
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    return notebook


def test_a_current_copy_is_returned_with_its_outputs(executed, tmp_path):
    path = _chapter(tmp_path)
    executed.save(path, _executed(path), 12.34)
    notebook, seconds = executed.load(path)
    assert seconds == 12.3
    assert notebook.cells[0].outputs[0].text == "1\n"
    assert executed.METADATA_KEY not in notebook.metadata
    nbformat.validate(notebook)


def test_no_copy_means_execute(executed, tmp_path):
    assert executed.load(_chapter(tmp_path)) is None


def test_a_copy_of_an_older_notebook_is_not_used(executed, tmp_path):
    path = _chapter(tmp_path)
    executed.save(path, _executed(path), 1.0)
    _chapter(tmp_path, source="print(2)")
    assert executed.load(path) is None


def test_a_copy_made_with_another_course_lib_is_not_used(executed, tmp_path):
    path = _chapter(tmp_path)
    executed.save(path, _executed(path), 1.0)
    (tmp_path / "course_lib" / "model.py").write_text("A = 2\n")
    executed._library_digest.cache_clear()
    assert executed.load(path) is None
