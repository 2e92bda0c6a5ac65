"""The book's exercises as autograded nbgrader assignments.

Teachers use the command line (``python -m course_lib.assignments release|grade ...``);
chapters import :func:`check` for the public checks of a graded question.
"""

from ._checks import HIDDEN_NOTE, check

__all__ = ["HIDDEN_NOTE", "check"]
