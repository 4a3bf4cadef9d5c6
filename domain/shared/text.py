"""Text PostgreSQL can store: the rule every string from outside meets before it reaches a query.

PostgreSQL's text types refuse the NUL character, and UTF-8 cannot encode a lone surrogate (half of
a UTF-16 pair, which JSON's `\\ud800` escapes can carry); either would fail deep inside a statement.
"""

from __future__ import annotations

from typing import TypeAlias

NUL = "\x00"


def unstorable_reason(value: str) -> str | None:
    """Why this string cannot be stored ("must not contain NUL characters", …), or None when it can."""
    if NUL in value:
        return "must not contain NUL characters"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "must be valid Unicode (it holds a lone surrogate)"
    return None


# A step into a value: (the parent's link, ".name" or "[0]"). Paths are spelled out only for the string at fault.
Link: TypeAlias = tuple["Link | None", str]


def _path(root: str, link: Link | None) -> str:
    steps: list[str] = []
    while link is not None:
        link, step = link
        steps.append(step)
    path = root + "".join(reversed(steps))
    return path[1:] if path.startswith(".") else path


def first_unstorable(value: object, path: str = "") -> tuple[str, str] | None:
    """Where the first string inside a JSON-like value that cannot be stored is, and why; None when all can.

    The path reads like `input.lines[0].description`, after `path` for the value itself.
    """
    stack: list[tuple[Link | None, object]] = [(None, value)]
    while stack:  # a loop, not recursion: a client chooses how deep its input nests
        link, item = stack.pop()
        if isinstance(item, str):
            if (reason := unstorable_reason(item)) is not None:
                return _path(path, link), reason
        elif isinstance(item, dict):
            stack.extend(((link, f".{key}"), child) for key, child in reversed(item.items()))
        elif isinstance(item, list | tuple):
            stack.extend(((link, f"[{index}]"), child) for index, child in reversed(list(enumerate(item))))
    return None
