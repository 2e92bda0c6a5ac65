"""Teacher commands: ``python -m course_lib.assignments release|grade DIR ...``."""

import argparse
import sys
import time

from ._grade import SUBMISSION_LIMIT, export_only, grade
from ._release import CELL_TIMEOUT, release
from ._source import AssignmentError


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.assignments",
        description="The book's exercises as nbgrader assignments.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    rel = commands.add_parser("release", help="write an nbgrader course directory")
    rel.add_argument("dir", help="course directory to write")
    rel.add_argument("--chapters", nargs="+", default=[], metavar="NAME",
                     help="chapters (notebook file names without .ipynb); default: all")
    rel.add_argument("--book", help="book folder (default: the source tree's book/, else ./book)")
    rel.add_argument("--cell-timeout", type=int, default=CELL_TIMEOUT,
                     help=f"seconds per cell when grading (default {CELL_TIMEOUT})")
    grd = commands.add_parser("grade", help="autograde DIR/submitted and export the CSVs")
    grd.add_argument("dir", help="course directory written by release")
    grd.add_argument("--chapters", nargs="+", default=[], metavar="NAME")
    grd.add_argument("--collected", metavar="FOLDER",
                     help="flat folder of <student>.ipynb files to file as --chapter first")
    grd.add_argument("--chapter", help="the chapter the --collected files belong to")
    grd.add_argument("--submission-limit", type=int, default=SUBMISSION_LIMIT,
                     help=f"wall-clock seconds per submission (default {SUBMISSION_LIMIT})")
    exp = commands.add_parser(
        "export", help="write the CSVs from the gradebook again without regrading (after "
        "manual grading; grade would autograde again and discard manual grades)")
    exp.add_argument("dir", help="course directory written by release")
    exp.add_argument("--chapters", nargs="+", default=[], metavar="NAME")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        if args.command == "release":
            released = release(args.dir, args.chapters, args.book, args.cell_timeout)
            print(f"{len(released)} chapter(s) released in {time.perf_counter() - start:.0f} s")
        elif args.command == "export":
            export_only(args.dir, args.chapters)
        else:
            if args.chapter and not args.collected:
                parser.error("--chapter goes with --collected")
            grade(args.dir, args.chapters, args.collected, args.chapter, args.submission_limit)
    except AssignmentError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
