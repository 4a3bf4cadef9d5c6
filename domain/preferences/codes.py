"""The error codes of preferences (saved views).

Specific failures a client can tell apart without reading messages.
"""

from __future__ import annotations

from domain.shared.errors import ConceptCode


class PreferencesCode(ConceptCode):
    """Failures specific to a person's preferences (saved views)."""

    VIEW_NAME_TAKEN = "VIEW_NAME_TAKEN"
    VIEW_OF_ANOTHER_LIST = "VIEW_OF_ANOTHER_LIST"
    VIEW_LIMIT_REACHED = "VIEW_LIMIT_REACHED"


DESCRIPTIONS: dict[PreferencesCode, str] = {
    PreferencesCode.VIEW_NAME_TAKEN: "A CONFLICT: you already have a view of this name for the list.",
    PreferencesCode.VIEW_OF_ANOTHER_LIST: "A CONFLICT: the view replaced belongs to another list.",
    PreferencesCode.VIEW_LIMIT_REACHED: "A CONFLICT: you have as many views of the list as one may keep; delete one.",
}
