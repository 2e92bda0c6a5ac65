"""Public checks that students run on their own answers."""

HIDDEN_NOTE = "（这只是公开检查；最终成绩还会用隐藏的检查。）"


def check(condition, message):
    """Raise ``AssertionError`` with a Chinese ``message`` (and a note on hidden checks) if
    ``condition`` is false; print nothing otherwise."""
    if not condition:
        raise AssertionError(f"{message}{HIDDEN_NOTE}")
