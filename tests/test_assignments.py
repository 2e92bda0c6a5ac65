"""The book's exercises as nbgrader assignments: release, grading and the real chapters.

A toy chapter in the README's question format (no TensorFlow, so its kernels start fast) covers
the mechanics; every real chapter's student copy is checked for leaked solutions without
execution; one light real chapter is graded end to end (teacher's copy full marks, blank 0).
"""

import csv
import pathlib
import re
import shutil

import nbformat
import pytest
from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions

from course_lib.assignments import _grade, _release, _source
from course_lib.assignments._source import AssignmentError

ROOT = pathlib.Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
new_code, new_markdown = nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell


def _answer(grade_id, source):
    return new_code(source, metadata={"nbgrader": {
        "grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3,
        "solution": True, "task": False}})


def _check(grade_id, points, source):
    return new_code(source, metadata={"tags": ["remove-cell"], "nbgrader": {
        "grade": True, "grade_id": grade_id, "locked": True, "points": points,
        "schema_version": 3, "solution": False, "task": False}})


def _written(grade_id, points, text):
    return new_markdown(text, metadata={"nbgrader": {
        "grade": True, "grade_id": grade_id, "locked": False, "points": points,
        "schema_version": 3, "solution": True, "task": False}})


def _exercise(label, text):
    return [new_markdown(f"```{{exercise}}\n:label: {label}\n\n{text}\n```"),
            new_markdown(f"```{{solution-start}} {label}\n:class: dropdown\n```")]


SOLUTION_END = "```{solution-end}\n```"


def _toy_cells():
    return [
        new_markdown("# Toy chapter"),
        new_code("import math"),
        new_code("assert math.pi > 3  # CLAIM-CHECK", metadata={"tags": ["remove-cell"]}),
        *_exercise("ex-toy-1", "写一个函数，返回输入的两倍。"),
        _answer("toy-1-a-answer", 'def double(x):\n    """Twice x."""\n    # 在这里写\n'
                "    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"),
        _check("toy-1-a", 2, 'assert double(2) == 4, "double(2) 应为 4"\n'
               "### BEGIN HIDDEN TESTS\nassert double(-3.5) == -7.0  # HIDDEN-CHECK\n"
               "### END HIDDEN TESTS"),
        new_code('print("BOOK ONLY", double(10))'),
        new_markdown(SOLUTION_END),
        *_exercise("ex-toy-2", "写一个函数，返回输入的平方，并解释原因。"),
        _answer("toy-2-a-answer", 'def square(x):\n    """x squared."""\n'
                "    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION"),
        _check("toy-2-a", 3, 'assert square(3) == 9, "square(3) 应为 9"\n'
               "### BEGIN HIDDEN TESTS\nassert square(-1.5) == 2.25\n### END HIDDEN TESTS"),
        _written("toy-2-b", 1, "平方是自己乘自己。"),
        new_markdown("评分标准：RUBRIC-SECRET", metadata={
            "tags": ["remove-cell"], "course_assignment": {"rubric": "toy-2-b"}}),
        new_markdown(SOLUTION_END),
    ]


def _write_book(folder, cells, name="toy"):
    folder.mkdir(parents=True, exist_ok=True)
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, folder / f"{name}.ipynb")
    return folder


def _all_text(notebook):
    return "\n".join(cell.source for cell in notebook.cells)


@pytest.fixture
def toy_course(tmp_path):
    book = _write_book(tmp_path / "book", _toy_cells())
    course = tmp_path / "course"
    _release.release(course, book=book, timeout=4, log=lambda *_: None)
    return course


def _release_and_source(course):
    source = nbformat.read(course / "source" / "toy" / "toy.ipynb", as_version=4)
    student = nbformat.read(course / "release" / "toy" / "toy.ipynb", as_version=4)
    return source, student


def test_the_student_copy_holds_no_solution_hidden_check_or_book_only_cell(toy_course):
    source, student = _release_and_source(toy_course)
    text = _all_text(student)
    for leaked in ("return 2 * x", "return x * x", "HIDDEN-CHECK", "BOOK ONLY", "CLAIM-CHECK",
                   "RUBRIC-SECRET", "平方是自己乘自己", "solution-start", "solution-end"):
        assert leaked not in text, leaked
    assert "def double(x):" in text and "# 在这里写" in text
    assert text.count("raise NotImplementedError()") == 2
    assert _release.TEXT_STUB in text
    assert "{exercise}" in text  # students still read the questions
    assert all(not cell.get("outputs") for cell in student.cells if cell.cell_type == "code")
    assert "RUBRIC-SECRET" in _all_text(source) and "HIDDEN-CHECK" in _all_text(source)


@pytest.mark.parametrize("mutate, message", [
    (lambda cells: cells.insert(5, _check("toy-1-a", 1, "assert True")), "toy-1-a"),
    (lambda cells: cells[6].metadata["nbgrader"].pop("points"), "points"),
    (lambda cells: cells.insert(2, _answer("loose", "### BEGIN SOLUTION\nx = 1\n"
                                            "### END SOLUTION")), "solution"),
])
def test_a_malformed_question_is_a_clear_error(tmp_path, mutate, message):
    cells = _toy_cells()
    mutate(cells)
    book = _write_book(tmp_path / "book", cells)
    with pytest.raises(AssignmentError, match=message):
        _release.release(tmp_path / "course", book=book, log=lambda *_: None)


def test_an_unknown_chapter_names_the_known_ones(tmp_path):
    book = _write_book(tmp_path / "book", _toy_cells())
    with pytest.raises(AssignmentError, match="toy"):
        _release.release(tmp_path / "course", ["kmaens"], book=book, log=lambda *_: None)


def _submit(course, student, notebook_or_text):
    target = course / "submitted" / student / "toy" / "toy.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(notebook_or_text, str):
        target.write_text(notebook_or_text, encoding="utf-8")
    else:
        nbformat.write(notebook_or_text, target)


def _with_answer(notebook, grade_id, source):
    copy = nbformat.from_dict(notebook)
    for cell in copy.cells:
        if (cell.metadata.get("nbgrader") or {}).get("grade_id") == grade_id:
            cell.source = source
    return copy


def _rows(course):
    with open(course / "questions.csv", encoding="utf-8-sig", newline="") as handle:
        return {(row["student_id"], row["question"]): row for row in csv.DictReader(handle)}


def test_grading_gives_each_submission_what_it_earned(toy_course):
    source, student = _release_and_source(toy_course)
    _submit(toy_course, "teacher", source)
    _submit(toy_course, "张三", student)  # the blank release, under a Chinese name
    _submit(toy_course, "wrong", _with_answer(source, "toy-2-a-answer",
                                              "def square(x):\n    return x ** 3"))
    _submit(toy_course, "loop", _with_answer(source, "toy-1-a-answer",
                                             "def double(x):\n    while True:\n        pass\n"
                                             "double(1)"))
    _submit(toy_course, "crash", _with_answer(source, "toy-2-a-answer",
                                              "import os\nos._exit(1)"))
    _submit(toy_course, "broken", "this is not a notebook")
    messages = []
    _grade.grade(toy_course, log=messages.append)
    rows = _rows(toy_course)

    def earned(student_id, question):
        row = rows[(student_id, question)]
        return float(row["points"] or 0), row["status"]

    assert earned("teacher", "toy-1-a") == (2.0, "ok")
    assert earned("teacher", "toy-2-a") == (3.0, "ok")
    assert rows[("teacher", "toy-2-b")]["autograded"] == "false"
    assert rows[("teacher", "toy-2-b")]["status"] == "needs manual grading"
    assert earned("张三", "toy-1-a") == (0.0, "ok")
    assert earned("张三", "toy-2-a") == (0.0, "ok")
    # a wrong answer loses its own question's points and no other's
    assert earned("wrong", "toy-1-a") == (2.0, "ok")
    assert earned("wrong", "toy-2-a") == (0.0, "ok")
    # an endless loop is cut off by the cell timeout; the rest is still graded
    assert earned("loop", "toy-1-a") == (0.0, "timeout")
    assert earned("loop", "toy-2-a") == (3.0, "ok")
    # a cell that kills the kernel costs its own question; the cells before it keep their points
    assert earned("crash", "toy-1-a") == (2.0, "ok")
    assert earned("crash", "toy-2-a") == (0.0, "kernel died")
    assert any(m.startswith("crash / toy: cell ") and "killed the kernel" in m for m in messages)
    assert any(m.startswith("graded crash / toy") and "kernel died: toy-2-a" in m
               for m in messages), messages
    assert any(m.startswith("graded loop / toy") and "timeout: toy-1-a" in m for m in messages)
    assert {row["status"] for (who, _), row in rows.items() if who == "broken"} == {
        "not a notebook"}
    assert all(float(row["points"] or 0) == 0 for (who, _), row in rows.items()
               if who == "broken")
    raw = (toy_course / "grades.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel reads the Chinese name
    with open(toy_course / "grades.csv", encoding="utf-8-sig", newline="") as handle:
        grades = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert {"assignment", "student_id", "score", "max_score"} <= set(grades["teacher"])
    assert float(grades["teacher"]["score"]) == 5.0 and float(grades["张三"]["score"]) == 0.0
    assert float(grades["crash"]["score"]) == 2.0
    # a teacher grades the written answer; export (not grade) writes the CSVs again with it
    with _grade._gradebook(toy_course) as gradebook:
        written = gradebook.find_grade("toy-2-b", "toy", "toy", "teacher")
        written.manual_score = 1.0
        gradebook.db.commit()
    _grade.export_only(toy_course, log=lambda *_: None)
    rows = _rows(toy_course)
    assert earned("teacher", "toy-2-b") == (1.0, "ok")
    assert earned("teacher", "toy-2-a") == (3.0, "ok")


def test_a_flat_folder_from_a_learning_management_system_is_filed(toy_course, tmp_path):
    source, _ = _release_and_source(toy_course)
    flat = tmp_path / "collected"
    flat.mkdir()
    nbformat.write(source, flat / "李四.ipynb")
    _grade.collect(toy_course, flat, "toy", log=lambda *_: None)
    assert (toy_course / "submitted" / "李四" / "toy" / "toy.ipynb").exists()


REAL_CHAPTERS = {path.stem: path for path in sorted(BOOK.rglob("*.ipynb"))
                 if _source.has_questions(nbformat.read(path, as_version=4))}
SOLUTION_LINES = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
HIDDEN_LINES = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def _student_copy(teacher):
    """What nbgrader's generate_assignment does to the cells, in this process."""
    student = nbformat.from_dict(teacher)
    resources = {}
    for step in (ClearSolutions(code_stub={"python": _release.CODE_STUB},
                                text_stub=_release.TEXT_STUB),
                 ClearHiddenTests(), ClearOutput()):
        student, resources = step.preprocess(student, resources)
    return student


def test_every_chapter_with_exercises_has_questions():
    with_exercises = {path.stem for path in BOOK.rglob("*.ipynb")
                      if "{exercise}" in path.read_text(encoding="utf-8")}
    missing = with_exercises - set(REAL_CHAPTERS)
    assert not missing, missing
    assert len(REAL_CHAPTERS) >= 10


@pytest.mark.parametrize("name", sorted(REAL_CHAPTERS))
def test_a_real_chapters_student_copy_leaks_no_solution(name):
    chapter = nbformat.read(REAL_CHAPTERS[name], as_version=4)
    teacher = _source.teacher_copy(chapter, name)
    student_text = _all_text(_student_copy(teacher))
    teacher_text = _all_text(teacher)
    secret = [line.strip() for block in SOLUTION_LINES.findall(teacher_text)
              + HIDDEN_LINES.findall(teacher_text) for line in block.splitlines()]
    # the chapter's own code outside solutions (which students see anyway) may share a line
    public = {line.strip() for cell in teacher.cells if not _source.is_graded_cell(cell)
              for line in cell.source.splitlines()}
    secret = [line for line in secret if len(line) > 12 and line not in public]
    assert secret, f"{name}: no solution lines found"
    student_lines = {line.strip() for line in student_text.splitlines()}
    leaked = [line for line in secret if line in student_lines]
    assert not leaked, leaked[:3]
    assert "BEGIN HIDDEN TESTS" not in student_text and "solution-start" not in student_text
    assert "raise NotImplementedError()" in student_text
    graded = [cell for cell in chapter.cells if _source.is_graded_cell(cell)]
    assert sum((cell.metadata["nbgrader"].get("points") or 0) for cell in graded) > 0


def test_a_light_real_chapter_gives_full_marks_and_zero(tmp_path):
    course = tmp_path / "course"
    _release.release(course, ["linear_regression"], log=lambda *_: None)
    name = "linear_regression"
    for student, folder in (("teacher", "source"), ("blank", "release")):
        target = course / "submitted" / student / name / f"{name}.ipynb"
        target.parent.mkdir(parents=True)
        shutil.copyfile(course / folder / name / f"{name}.ipynb", target)
    _grade.grade(course, log=lambda *_: None)
    rows = _rows(course)
    autograded = [(who, question, row) for (who, question), row in rows.items()
                  if row["autograded"] == "true"]
    assert autograded
    for who, question, row in autograded:
        assert row["status"] == "ok", (who, question, row["status"])
        expected = float(row["max_points"]) if who == "teacher" else 0.0
        assert float(row["points"] or 0) == expected, (who, question)


def test_grading_an_unreleased_chapter_names_the_released_ones(toy_course):
    with pytest.raises(AssignmentError, match="released chapters: toy"):
        _grade.export_only(toy_course, ["kmeans"], log=lambda *_: None)
    with pytest.raises(AssignmentError, match="released chapters: toy"):
        _grade.grade(toy_course, ["kmeans"], log=lambda *_: None)
