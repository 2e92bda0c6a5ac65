"""From a book chapter to the teacher's copy of its assignment (nbgrader's ``source`` notebook).

The chapter is the one source of each question (README, "Graded questions"): inside each
solution region only the nbgrader cells are kept; rubrics move into their written answers, inside
solution markers, so that nbgrader's release drops them; claim checks and outputs go.
"""

import re
from pathlib import Path

import nbformat

SOLUTION_START = re.compile(r"^\s*(`{3,}|:{3,})\{solution-start\}")
SOLUTION_END = re.compile(r"(`{3,}|:{3,})\{solution-end\}")


class AssignmentError(ValueError):
    """A chapter, a course directory or an argument that the tool cannot use."""


def default_book():
    """The ``book/`` folder of the source tree the package came from, else ``./book``."""
    candidates = [Path(__file__).resolve().parents[2] / "book", Path.cwd() / "book"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise AssignmentError(
        "no book folder found (looked in "
        + ", ".join(str(c) for c in candidates)
        + "); pass --book PATH"
    )


def nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader")


def is_graded_cell(cell):
    """A cell with nbgrader metadata that takes part in grading (answer, check, written answer)."""
    meta = nbgrader_meta(cell)
    return bool(meta) and bool(meta.get("grade") or meta.get("solution"))


def has_questions(nb):
    return any((nbgrader_meta(c) or {}).get("grade") for c in nb.cells)


def chapters(book):
    """``{stem: path}`` of every notebook under ``book`` that has at least one grade cell."""
    book = Path(book)
    if not book.is_dir():
        raise AssignmentError(f"book folder {book} does not exist")
    found = {}
    for path in sorted(book.rglob("*.ipynb")):
        if any(part.startswith((".", "_")) for part in path.relative_to(book).parts):
            continue
        nb = nbformat.read(path, as_version=4)
        if has_questions(nb):
            if path.stem in found:
                raise AssignmentError(
                    f"two chapters are called {path.stem}: {found[path.stem]}, {path}"
                )
            found[path.stem] = path
    return found


def select(available, names):
    """The chapters named in ``names`` (all when ``names`` is empty), in the given order."""
    if not names:
        return dict(available)
    unknown = [n for n in names if n not in available]
    if unknown:
        raise AssignmentError(
            f"unknown chapter(s) {', '.join(unknown)}; chapters with questions: "
            + (", ".join(available) or "none")
        )
    return {n: available[n] for n in names}


def _tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def _describe(chapter, index, cell):
    first = cell.source.strip().splitlines()[0][:60] if cell.source.strip() else ""
    return f"{chapter}: cell {index} (id {cell.get('id', '?')}, {first!r})"


def teacher_copy(nb, chapter):
    """The teacher's source notebook of ``chapter`` built from the chapter notebook ``nb``."""
    errors = []
    kept = []
    written = {}
    rubrics = []
    ids = {}
    in_solution = False
    for index, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        if cell.cell_type == "markdown" and SOLUTION_START.match(cell.source):
            if in_solution:
                errors.append(
                    f"{_describe(chapter, index, cell)}: solution-start inside a solution"
                )
            in_solution = True
            continue
        if cell.cell_type == "markdown" and SOLUTION_END.search(cell.source):
            if not in_solution:
                errors.append(f"{_describe(chapter, index, cell)}: solution-end without a start")
            in_solution = False
            continue
        rubric = cell.get("metadata", {}).get("course_assignment", {}).get("rubric")
        if meta:
            grade_id = meta.get("grade_id")
            if not grade_id:
                errors.append(f"{_describe(chapter, index, cell)}: nbgrader cell without grade_id")
            elif grade_id in ids:
                errors.append(
                    f"{_describe(chapter, index, cell)}: grade_id {grade_id!r} already used by "
                    f"cell {ids[grade_id]}"
                )
            else:
                ids[grade_id] = index
            if meta.get("grade") and not meta.get("points"):
                errors.append(
                    f"{_describe(chapter, index, cell)}: grade cell {grade_id!r} has no points"
                )
            if is_graded_cell(cell) and not in_solution:
                errors.append(
                    f"{_describe(chapter, index, cell)}: nbgrader cell {grade_id!r} is outside "
                    "a solution region (solution-start ... solution-end)"
                )
            marked = "### BEGIN SOLUTION" in cell.source
            if cell.cell_type == "code" and meta.get("solution") and not marked:
                errors.append(
                    f"{_describe(chapter, index, cell)}: answer cell {grade_id!r} has no "
                    "### BEGIN SOLUTION marker"
                )
            if cell.cell_type == "markdown" and meta.get("solution") and meta.get("grade"):
                written[grade_id] = cell
            kept.append(cell)
        elif rubric:
            if not in_solution:
                errors.append(
                    f"{_describe(chapter, index, cell)}: rubric outside a solution region"
                )
            rubrics.append((index, rubric, cell))
        elif in_solution:
            continue  # book-only solution cell
        elif "remove-cell" in _tags(cell):
            continue  # claim check
        else:
            kept.append(cell)
    if in_solution:
        errors.append(f"{chapter}: a solution-start has no solution-end")
    for index, grade_id, cell in rubrics:
        if grade_id not in written:
            errors.append(
                f"{_describe(chapter, index, cell)}: rubric for {grade_id!r}, which is not a "
                "written answer (markdown cell with solution and grade) of this chapter"
            )
            continue
        answer = written[grade_id]
        answer.source = _wrap_solution(_unwrap(answer.source) + "\n\n" + cell.source.strip())
    if errors:
        raise AssignmentError("\n".join(errors))
    for answer in written.values():
        if "### BEGIN SOLUTION" not in answer.source:
            answer.source = _wrap_solution(answer.source)
    out = nbformat.v4.new_notebook(metadata=nb.metadata)
    out.metadata.pop("widgets", None)
    out.metadata["kernelspec"] = {
        "display_name": "Python 3", "language": "python", "name": "python3"
    }
    for cell in kept:
        cell = nbformat.from_dict(cell)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
        out.cells.append(cell)
    return out


def _unwrap(text):
    return text.replace("### BEGIN SOLUTION\n", "").replace("\n### END SOLUTION", "").strip()


def _wrap_solution(text):
    if "### BEGIN SOLUTION" in text:
        return text
    return f"### BEGIN SOLUTION\n{text.strip()}\n### END SOLUTION"


def question_table(nb):
    """``[(grade_id, points, autograded)]`` of the grade cells of a notebook, in order."""
    rows = []
    for cell in nb.cells:
        meta = nbgrader_meta(cell) or {}
        if meta.get("grade"):
            rows.append((meta["grade_id"], float(meta.get("points", 0)), cell.cell_type == "code"))
    return rows
