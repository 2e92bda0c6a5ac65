"""Grading time of every chapter's assignment, and whether its grades come out right.

Run by hand (not part of the tests; all chapters take tens of minutes on a 2-core CPU)::

    .venv/bin/python benchmarks/assignments.py [--chapters kmeans pca] [--dir /tmp/course]

Releases the chosen chapters (default: every chapter with questions) into a fresh course
directory, submits for each the teacher's copy (with solutions) as student ``teacher`` and the
blank release as student ``blank``, grades every submission on its own with the course's
``grade`` logic, and prints per chapter: the questions, the points (autograded of total), the
seconds to grade each copy, and whether the teacher's copy earned every autograded point and
the blank copy none (every row ``ok``). The tests grade one light chapter this way; this script
covers the rest.
"""

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from course_lib.assignments import _grade, _release


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapters", nargs="+", default=[])
    parser.add_argument("--dir", help="course directory to write (default: a temporary one)")
    args = parser.parse_args()
    course = Path(args.dir or tempfile.mkdtemp(prefix="course-")).resolve()
    if course.exists():
        shutil.rmtree(course)
    released = _release.release(course, args.chapters, log=lambda *_: None)
    names = sorted(released)
    results, seconds = {}, {}
    for name in names:
        for student, folder in (("teacher", "source"), ("blank", "release")):
            target = course / "submitted" / student / name / f"{name}.ipynb"
            target.parent.mkdir(parents=True)
            shutil.copyfile(course / folder / name / f"{name}.ipynb", target)
            start = time.perf_counter()
            results[(student, name)] = _grade.grade_one(course, student, name)
            seconds[(student, name)] = time.perf_counter() - start
    _, rows = _grade.export(course, names, results)
    print(f"{'chapter':<22}{'questions':>10}{'auto/total':>12}{'teacher s':>11}{'blank s':>9}"
          "  grades right")
    for name in names:
        mine = [row for row in rows if row["assignment"] == name]
        auto = [row for row in mine if row["autograded"] == "true"]
        questions = {row["question"] for row in mine}
        total = sum(float(row["max_points"]) for row in mine if row["student_id"] == "teacher")
        auto_points = sum(float(row["max_points"]) for row in auto
                          if row["student_id"] == "teacher")
        right = all(row["status"] == "ok" and float(row["points"] or 0) == (
            float(row["max_points"]) if row["student_id"] == "teacher" else 0.0) for row in auto)
        print(f"{name:<22}{len(questions):>10}{f'{auto_points:g}/{total:g}':>12}"
              f"{seconds[('teacher', name)]:>11.0f}{seconds[('blank', name)]:>9.0f}"
              f"  {'yes' if right else 'NO'}")
    print(f"course directory: {course}")


if __name__ == "__main__":
    main()
