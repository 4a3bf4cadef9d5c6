"""Identity's Node types: people, and a person's own sign-in sessions and saved views."""

from __future__ import annotations

from domain.identity.sign_in.models import AuthSession
from domain.identity.users import User
from domain.preferences.saved_views import SavedView

# Node types of identity, each read by its own resource's rule.
NODES: dict[str, type] = {"User": User}
# A person's own records: read by the rule that only their person sees them.
DEPENDENT_NODES: dict[str, type] = {"Session": AuthSession, "SavedView": SavedView}
