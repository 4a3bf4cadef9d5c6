"""Who a session's last request turned out to be, so its next GraphQL POST checks the sign-in with its charge.

Every request runs the sign-in check (the person, their organization and the session may stop acting at any
time), and a read or mutation then charges its budget: two statements, two round trips, then its own. A GraphQL
POST from a session whose person this process has signed in before is let through the authentication middleware
with that actor as it was (`Pending`), not yet checked; whoever answers it checks it before doing anything on its
behalf:

- a kept read or mutation (api/graphql/compiled/kept.py) works out its plan and cost from the actor as it was
  (the cost depends on the document alone). A read sends the check and the charge as one statement
  (`domain.access.principals.sign_in_and_charge`), which charges nothing when the check finds no one, then its
  compiled statement. A mutation whose form offers it (logActivity's) sends the check, the charge and its change
  as one statement (`domain.access.principals.SignedWrite`), the change written only when the check finds the
  person as the plan took them to be and the budget pays;
- in both, if the check finds the actor changed (roles, organization, policy), the plan is not used (nothing was
  read or written by it): the pipeline answers with the actor as it now is, and the charge already taken stands
  for its own;
- anything else runs the sign-in check by itself first (`confirm`), exactly as the middleware would have.

Before the check, the actor as it was serves only to plan, to price and to count the caller's requests in flight
(api/graphql/http_limits.py, by its ids), and to word a change that the database makes only once it has confirmed
that actor: nothing is read or written for it before that.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass

from domain.access.principals import LoadedActor
from infrastructure.request_connection import RequestConnection
from services.identity import principal
from services.unit_of_work import Sessions

# Where a request that is not yet checked keeps what it must be checked as: its ASGI scope's state.
PENDING_KEY = "crm.sign_in_pending"
# Sessions remembered per process: a session past the oldest is checked by itself once, then remembered again.
REMEMBERED = 10_000


@dataclass(frozen=True)
class Pending:
    """The verified token's person and session, whose sign-in check is still to be made."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    session_id: uuid.UUID | None

    @property
    def key(self) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID | None]:
        return self.tenant_id, self.user_id, self.session_id


class SignedIn:
    """The actor each recently seen session's check found last, the most recent `REMEMBERED`."""

    def __init__(self) -> None:
        self._found: OrderedDict[tuple[uuid.UUID, uuid.UUID, uuid.UUID | None], LoadedActor] = OrderedDict()

    def get(self, pending: Pending) -> LoadedActor | None:
        return self._found.get(pending.key)

    def found(self, pending: Pending, loaded: LoadedActor | None) -> None:
        """What the session's check found just now (None: no one, the session is forgotten)."""
        if loaded is None:
            self._found.pop(pending.key, None)
            return
        self._found[pending.key] = loaded
        self._found.move_to_end(pending.key)
        if len(self._found) > REMEMBERED:
            self._found.popitem(last=False)

    def clear(self) -> None:
        self._found.clear()


SIGNED_IN = SignedIn()


def pending(state: dict[str, object]) -> Pending | None:
    found = state.get(PENDING_KEY)
    return found if isinstance(found, Pending) else None


def checked(state: dict[str, object], loaded: LoadedActor | None) -> None:
    """Record the check's outcome: the request's actor as the check found it, or none."""
    waiting = pending(state)
    state.pop(PENDING_KEY, None)
    if waiting is not None:
        SIGNED_IN.found(waiting, loaded)
    if loaded is None:
        state.pop("actor", None)
        state.pop("policy_version", None)
    else:
        state["actor"] = loaded.actor
        state["policy_version"] = loaded.policy_version


async def confirm(state: dict[str, object], sessions: Sessions, connection: RequestConnection | None) -> bool:
    """Run a pending request's sign-in check by itself (True when there is none to run); False: no one."""
    waiting = pending(state)
    if waiting is None:
        return True
    loaded = await principal(
        sessions,
        waiting.tenant_id,
        user_id=waiting.user_id,
        client_id=None,
        session_id=waiting.session_id,
        connection=connection,
    )
    checked(state, loaded)
    return loaded is not None
