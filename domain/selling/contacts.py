"""Contacts: people at an account and their part in its buying centre (the model and its use cases)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, ForeignKeyConstraint, Index, Select, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Action, Resource
from domain.access.unit_of_work import Protected, UnitOfWork
from domain.audit import trail as audit_log
from domain.selling.accounts import Account
from domain.shared.base import Base, TenantScoped, Timestamped
from domain.shared.commands import UNSET, Patch, is_set
from domain.shared.errors import ErrorCode, Forbidden, Validator
from domain.shared.record_versions import Versioned, require_version
from domain.shared.search import contains_any, search_term

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class BuyingRole(StrEnum):
    """A contact's part in a buying decision."""

    DECISION_MAKER = "decision_maker"
    INFLUENCER = "influencer"
    USER = "user"
    GATEKEEPER = "gatekeeper"
    CHAMPION = "champion"


class Contact(Protected, TenantScoped, Timestamped, Versioned, Base):
    """A person at an account, with their part in the buying centre."""

    __resource__ = Resource.CONTACT
    __label__ = "contact"

    audit_record_type = "contact"

    __tablename__ = "contact"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "account_id"], ["account.tenant_id", "account.id"], ondelete="CASCADE"),
        Index("ix_contact_account", "tenant_id", "account_id"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(50), nullable=True)
    title: Mapped[str | None] = mapped_column(String(200), nullable=True)
    buying_role: Mapped[BuyingRole | None] = mapped_column(Enum(BuyingRole, name="buying_role"), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)


# --- Use cases -------------------------------------------------------------------------------


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
    uow: UnitOfWork, *, account_id: uuid.UUID | None = None, search: str | None = None
) -> Select[Contact]:
    """Visible contacts, optionally of one account or matching a name or e-mail.

    Raises ValidationFailed for a search text over the bound.
    """
    stmt = uow.visible(Contact)
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


async def create_contact(uow: UnitOfWork, account_id: uuid.UUID, changes: ContactChanges) -> Contact:
    """Add a contact to an account the actor can see."""
    if not uow.access.can(Resource.CONTACT, Action.CREATE):
        raise Forbidden("Your role may not create contacts.")
    values = _validated(changes, creating=True)
    account = await uow.get(Account, account_id, field="accountId")
    contact = Contact(tenant_id=uow.tenant_id, id=uuid.uuid4(), account_id=account.id, **values)
    uow.session.add(contact)
    await uow.session.flush()
    audit_log.record(
        uow.session,
        uow.access,
        record_type="contact",
        record_id=contact.id,
        action="created",
        changes=audit_log.created_changes({"account_id": account.id, **values}),
    )
    return contact


async def update_contact(
    uow: UnitOfWork, contact_id: uuid.UUID, changes: ContactChanges, *, expected_version: int | None = None
) -> Contact:
    """Change a contact the actor may edit; with `expected_version`, one changed since that read is refused."""
    contact = await uow.get(Contact, contact_id, action=Action.UPDATE, for_update=True)
    await require_version(uow.session, contact, expected_version)
    values = _validated(changes, creating=False)
    await audit_log.apply_and_record(uow.session, uow.access, contact, "contact", values)
    return contact
