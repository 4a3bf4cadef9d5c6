"""Contacts: people at an account and their part in its buying centre (use cases)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access.actor import Access, Action, Resource
from domain.access.visibility import get_or_raise
from domain.audit import trail as audit_log
from domain.selling.accounts import Account, BuyingRole, Contact
from domain.shared.commands import UNSET, Patch, is_set
from domain.shared.errors import ErrorCode, Forbidden, Validator
from domain.shared.record_versions import require_version
from domain.shared.search import contains_any, search_term

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class ContactChanges:
    """Fields to set on a contact; UNSET leaves a field as it is."""

    first_name: Patch[str] = UNSET
    last_name: Patch[str] = UNSET
    email: Patch[str | None] = UNSET
    phone: Patch[str | None] = UNSET
    title: Patch[str | None] = UNSET
    buying_role: Patch[BuyingRole | None] = UNSET
    notes: Patch[str | None] = UNSET


def contacts_query(
    access: Access, *, account_id: uuid.UUID | None = None, search: str | None = None
) -> Select[tuple[Contact]]:
    """Visible contacts, optionally of one account or matching a name or e-mail.

    Raises ValidationFailed for a search text over the bound.
    """
    stmt = select(Contact).where(access.rows(Resource.CONTACT))
    if account_id is not None:
        stmt = stmt.where(Contact.account_id == account_id)
    if term := search_term(search):
        stmt = stmt.where(contains_any(term, Contact.first_name, Contact.last_name, Contact.email))
    return stmt


def _validated(changes: ContactChanges, *, creating: bool) -> dict[str, Any]:
    v = Validator()
    values: dict[str, Any] = {}
    for attr, field in (("first_name", "firstName"), ("last_name", "lastName")):
        raw = getattr(changes, attr)
        if is_set(raw) or creating:
            value = v.require_text(field, raw if is_set(raw) else None, max_length=100)
            if value:
                values[attr] = value
    if is_set(changes.email):
        email = v.require_text("email", changes.email, max_length=320, required=False)
        if email and not EMAIL_RE.match(email):
            v.fail("email", ErrorCode.INVALID, "email must be an e-mail address such as name@example.com.")
        values["email"] = email.lower() if email else None
    for attr, limit in (("phone", 50), ("title", 200), ("notes", 10_000)):
        raw = getattr(changes, attr)
        if is_set(raw):
            values[attr] = v.require_text(attr, raw, max_length=limit, required=False)
    if is_set(changes.buying_role):
        values["buying_role"] = changes.buying_role
    v.raise_if_any()
    return values


async def create_contact(
    session: AsyncSession, access: Access, account_id: uuid.UUID, changes: ContactChanges
) -> Contact:
    """Add a contact to an account the actor can see."""
    if not access.can(Resource.CONTACT, Action.CREATE):
        raise Forbidden("Your role may not create contacts.")
    values = _validated(changes, creating=True)
    account = await get_or_raise(session, access, Account, Resource.ACCOUNT, account_id, field="accountId")
    contact = Contact(tenant_id=access.actor.tenant_id, id=uuid.uuid4(), account_id=account.id, **values)
    session.add(contact)
    await session.flush()
    audit_log.record(
        session,
        access,
        record_type="contact",
        record_id=contact.id,
        action="created",
        changes=audit_log.created_changes({"account_id": account.id, **values}),
    )
    return contact


async def update_contact(
    session: AsyncSession,
    access: Access,
    contact_id: uuid.UUID,
    changes: ContactChanges,
    *,
    expected_version: int | None = None,
) -> Contact:
    """Change a contact the actor may edit; with `expected_version`, one changed since that read is refused."""
    contact = await get_or_raise(
        session, access, Contact, Resource.CONTACT, contact_id, action=Action.UPDATE, for_update=True
    )
    await require_version(session, contact, expected_version)
    values = _validated(changes, creating=False)
    await audit_log.apply_and_record(session, access, contact, "contact", values)
    return contact
