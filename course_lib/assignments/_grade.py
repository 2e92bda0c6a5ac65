"""``grade``: autograde every submission on its own and export grades.csv and questions.csv."""

import csv
import glob
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from ._release import nbgrader, nbgrader_env
from ._source import AssignmentError, nbgrader_meta

SUBMISSION_LIMIT = 1800  # wall-clock seconds for one student's chapter, kernel start included
GRADES_COLUMNS = [
    "assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
    "raw_score", "late_submission_penalty", "score", "max_score",
]
QUESTION_COLUMNS = [
    "student_id", "assignment", "question", "points", "max_points", "autograded", "status",
]
TIMEOUT_ERRORS = ("CellTimeoutError", "TimeoutError")
CRASH_STUB = 'raise RuntimeError("the kernel died in this cell (os._exit or a crash)")'


def _gradebook(course_dir):
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{Path(course_dir) / 'gradebook.db'}")


def collect(course_dir, folder, chapter, log=print):
    """File every ``<student>.ipynb`` of a flat folder as ``submitted/<student>/<chapter>``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise AssignmentError(f"collected folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix == ".ipynb")
    if not files:
        raise AssignmentError(f"no .ipynb file in {folder}")
    for path in files:
        target = Path(course_dir) / "submitted" / path.stem / chapter / f"{chapter}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    log(f"collected {len(files)} submission(s) of {chapter} from {folder}")


def _read(path):
    """The submitted notebook, or None when the file is not a valid notebook."""
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception:  # any unreadable file is "not a notebook"
        return None
    return nb


def _grade_cells(nb):
    return {
        meta["grade_id"]: cell
        for cell in nb.cells
        if (meta := nbgrader_meta(cell)) and meta.get("grade_id")
    }


def _changed_checks(released, source, submitted):
    """``{grade_id: status}`` of the locked check cells the student deleted or edited (nbgrader
    grades them with the source's cell all the same). A cell is unchanged when it reads as in
    the release or, for the teacher's own copy, as in the source."""
    found = _grade_cells(submitted)
    teacher = _grade_cells(source)
    changes = {}
    for grade_id, cell in _grade_cells(released).items():
        meta = nbgrader_meta(cell)
        if not (meta.get("grade") and meta.get("locked")):
            continue
        if grade_id not in found:
            changes[grade_id] = "check cell deleted"
        elif found[grade_id].source.strip() not in {
                cell.source.strip(), teacher[grade_id].source.strip()}:
            changes[grade_id] = "check cell changed"
    return changes


def _cell_problems(nb):
    """``{grade_id: status}`` for grade cells whose stretch of cells (after the previous grade
    cell, up to and including this one) timed out or ran into a dead kernel."""
    problems = {}
    pending = None
    for cell in nb.cells:
        if cell.cell_type == "code":
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    text = out.get("ename", "") + " " + out.get("evalue", "")
                    if out.get("ename") in TIMEOUT_ERRORS:
                        pending = pending or "timeout"
                    elif "the kernel died in this cell" in text:
                        pending = "kernel died"
        meta = nbgrader_meta(cell) or {}
        if meta.get("grade"):
            if pending:
                problems[meta["grade_id"]] = pending
            pending = None
    return problems


def _crash_cell(path, timeout, limit=SUBMISSION_LIMIT):
    """Index of the cell whose execution killed the kernel, or None. Runs in its own process,
    like nbgrader, so that the grading process itself never talks to a student's kernel."""
    code = ("import sys; from course_lib.assignments._grade import _find_crash_cell; "
            "print(_find_crash_cell(sys.argv[1], int(sys.argv[2])))")
    try:
        result = subprocess.run([sys.executable, "-c", code, str(path), str(int(timeout))],
                                capture_output=True, text=True, encoding="utf-8",
                                errors="replace", timeout=limit, env=nbgrader_env())
    except subprocess.TimeoutExpired:
        return None
    lines = result.stdout.strip().splitlines()
    return int(lines[-1]) if lines and lines[-1].isdigit() else None


def _find_crash_cell(path, timeout):
    """Execute the notebook at ``path`` cell by cell; the index of the cell whose execution
    killed the kernel, or None."""
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, allow_errors=True, interrupt_on_timeout=True,
        kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
    )
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            try:
                client.execute_cell(cell, index)
            except DeadKernelError:
                return index
    return None


def _cell_timeout(course_dir):
    text = (Path(course_dir) / "nbgrader_config.py").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith("c.Execute.timeout"):
            return int(line.split("=")[1])
    return 300


def _autograde(course_dir, student, chapter, limit):
    """Run nbgrader autograde for one submission; return (status or None, nbgrader's output)."""
    try:
        result = nbgrader(course_dir, "autograde", chapter, "--student", glob.escape(student),
                          "--force", timeout=limit)
    except subprocess.TimeoutExpired:
        return "grading time limit exceeded", ""
    output = result.stdout + result.stderr
    autograded = Path(course_dir) / "autograded" / student / chapter / f"{chapter}.ipynb"
    if "DeadKernelError" in output:
        return "kernel died", output
    if result.returncode != 0 or not autograded.exists():
        return "grading failed", output
    return None, output


def grade_one(course_dir, student, chapter, limit=SUBMISSION_LIMIT, log=None):
    """Autograde one submission; return ``{grade_id: status}`` for its questions (all, or
    the ones with a problem) and a submission-wide status or None. ``log`` hears which cell
    of the submission killed its kernel."""
    course_dir = Path(course_dir)
    path = course_dir / "submitted" / student / chapter / f"{chapter}.ipynb"
    with _gradebook(course_dir) as gb:
        gb.update_or_create_student(student)
        try:
            gb.remove_submission(chapter, student)
        except Exception:  # nbgrader.api.MissingEntry: nothing graded yet
            pass
    submitted = _read(path) if path.exists() else None
    if submitted is None:
        return {}, "not a notebook" if path.exists() else "no notebook"
    released = nbformat.read(course_dir / "release" / chapter / f"{chapter}.ipynb", as_version=4)
    source = nbformat.read(course_dir / "source" / chapter / f"{chapter}.ipynb", as_version=4)
    statuses = _changed_checks(released, source, submitted)
    status, output = _autograde(course_dir, student, chapter, limit)
    if status == "kernel died":
        # nbgrader drops a submission whose kernel died: replace the cell that killed it
        # with an error and grade again, so the rest of the notebook still earns its points.
        backup = path.with_name(path.name + ".orig")
        shutil.copyfile(path, backup)
        crashed = set()
        try:
            for _ in range(3):
                index = _crash_cell(path, _cell_timeout(course_dir), limit)
                if index is None or index in crashed:
                    break
                crashed.add(index)
                if log is not None:
                    log(f"{student} / {chapter}: cell {index} killed the kernel (os._exit, a "
                        "crash or out of memory); grading again with that cell as an error")
                nb = nbformat.read(path, as_version=4)
                nb.cells[index].source = CRASH_STUB
                nbformat.write(nb, path)
                status, output = _autograde(course_dir, student, chapter, limit)
                if status != "kernel died":
                    break
        finally:
            shutil.move(backup, path)
    if status is not None:
        return statuses, status
    autograded = course_dir / "autograded" / student / chapter / f"{chapter}.ipynb"
    for grade_id, problem in _cell_problems(nbformat.read(autograded, as_version=4)).items():
        statuses.setdefault(grade_id, problem)
    return statuses, None


def _problems(statuses, overall):
    """What went wrong in one submission, for the log: '' when nothing did."""
    if overall:
        return f": {overall}"
    found = {}
    for grade_id, status in sorted(statuses.items()):
        found.setdefault(status, []).append(grade_id)
    return "".join(f"; {status}: {', '.join(ids)}" for status, ids in found.items())


def submissions(course_dir, names):
    """``[(student, chapter)]`` under ``submitted/`` for the given chapters."""
    found = []
    root = Path(course_dir) / "submitted"
    if not root.is_dir():
        return found
    for student in sorted(p for p in root.iterdir() if p.is_dir()):
        for chapter in names:
            if (student / chapter).is_dir():
                found.append((student.name, chapter))
    return found


def _write_csv(path, columns, rows):
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def _number(value):
    return "" if value is None else f"{float(value):g}"


def export(course_dir, names, results):
    """Write grades.csv (nbgrader's export columns) and questions.csv; return the rows."""
    course_dir = Path(course_dir)
    from nbgrader.api import MissingEntry

    grade_rows, question_rows = [], []
    with _gradebook(course_dir) as gb:
        for chapter in names:
            assignment = gb.find_assignment(chapter)
            questions = []
            for notebook in assignment.notebooks:
                for cell in notebook.grade_cells:
                    questions.append(cell)
            for student in gb.students:
                row = {
                    "assignment": chapter, "duedate": assignment.duedate or "",
                    "student_id": student.id, "last_name": student.last_name or "",
                    "first_name": student.first_name or "", "email": student.email or "",
                    "max_score": _number(assignment.max_score),
                }
                try:
                    submission = gb.find_submission(chapter, student.id)
                except MissingEntry:
                    submission = None
                    row.update(timestamp="", raw_score="0", late_submission_penalty="0", score="0")
                else:
                    penalty = submission.late_submission_penalty or 0.0
                    row.update(timestamp=submission.timestamp or "",
                               raw_score=_number(submission.score),
                               late_submission_penalty=_number(penalty),
                               score=_number(max(0.0, submission.score - penalty)))
                if (student.id, chapter) not in results and submission is None:
                    continue  # nothing submitted: no question rows, a 0 in grades.csv
                grade_rows.append(row)
                statuses, overall = results.get((student.id, chapter), ({}, None))
                for cell in questions:
                    auto = cell.cell_type == "code"
                    points, status = 0.0, overall
                    if submission is not None and overall is None:
                        grade = gb.find_grade(cell.name, cell.notebook.name, chapter, student.id)
                        points = grade.score or 0.0
                        if not auto and grade.manual_score is None:
                            status = "needs manual grading"
                    status = status or statuses.get(cell.name) or "ok"
                    question_rows.append({
                        "student_id": student.id, "assignment": chapter, "question": cell.name,
                        "points": _number(points), "max_points": _number(cell.max_score),
                        "autograded": "true" if auto else "false", "status": status,
                    })
    _write_csv(course_dir / "grades.csv", GRADES_COLUMNS, grade_rows)
    _write_csv(course_dir / "questions.csv", QUESTION_COLUMNS, question_rows)
    return grade_rows, question_rows


def course_chapters(course_dir):
    source = Path(course_dir) / "source"
    if not (Path(course_dir) / "gradebook.db").exists() or not source.is_dir():
        raise AssignmentError(
            f"{course_dir} is not a released course directory (run the release command first)"
        )
    return sorted(p.name for p in source.iterdir() if (p / f"{p.name}.ipynb").exists())


def _check_released(names, known):
    unknown = [n for n in names if n not in known]
    if unknown:
        raise AssignmentError(
            f"unknown chapter(s) {', '.join(unknown)}; released chapters: {', '.join(known)}"
        )


def grade(course_dir, names=(), collected=None, chapter=None, limit=SUBMISSION_LIMIT, log=print):
    """Grade every submission of the chosen chapters; return (grade rows, question rows)."""
    course_dir = Path(course_dir).resolve()
    known = course_chapters(course_dir)
    if collected is not None:
        if chapter not in known:
            raise AssignmentError(
                f"--collected needs --chapter, one of: {', '.join(known)} (got {chapter!r})"
            )
        collect(course_dir, collected, chapter, log=log)
    _check_released(names, known)
    names = list(names) or known
    start = time.perf_counter()
    results = {}
    todo = submissions(course_dir, names)
    for student, name in todo:
        began = time.perf_counter()
        results[(student, name)] = grade_one(course_dir, student, name, limit, log=log)
        log(f"graded {student} / {name} in {time.perf_counter() - began:.0f} s"
            + _problems(*results[(student, name)]))
    grade_rows, question_rows = export(course_dir, names, results)
    students = {s for s, _ in todo}
    log(f"{len(students)} student(s), {len({c for _, c in todo})} chapter(s), "
        f"{len(todo)} submission(s) in {time.perf_counter() - start:.0f} s; "
        f"wrote {course_dir / 'grades.csv'} and {course_dir / 'questions.csv'}")
    return grade_rows, question_rows


def export_only(course_dir, names=(), log=print):
    """Write the two CSVs from the gradebook as it stands, without grading again (after a
    teacher entered manual grades, which a new autograde run would discard)."""
    course_dir = Path(course_dir).resolve()
    known = course_chapters(course_dir)
    _check_released(names, known)
    rows = export(course_dir, list(names) or known, {})
    log(f"wrote {course_dir / 'grades.csv'} and {course_dir / 'questions.csv'}")
    return rows
