"""``python -m course_lib.cluster --workers N [--timeout S] -- PROGRAM ARGS...``

Runs PROGRAM (a ``.py`` script, ``-m module`` or any executable) as N local workers on
127.0.0.1, each with its own ``TF_CONFIG``, and exits with 0 when all of them succeed, else
with the first failing worker's code (124 on timeout, 128 + n for death by signal n).
"""

import argparse
import sys

from course_lib.cluster._launcher import launch


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course_lib.cluster",
                                     description="Run a program as N local tf.distribute workers.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=None, help="seconds for the whole run")
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="after --: the script (or -m module) and its arguments")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the program to run after --")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    result = launch(command, args.workers, timeout=args.timeout)
    if result.timed_out:
        return 124
    if result.failed is None:
        return 0
    code = result.returncodes[result.failed]
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(main())
