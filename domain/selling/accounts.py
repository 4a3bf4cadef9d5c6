"""Accounts: customer companies (the model and its use cases)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, ForeignKeyConstraint, Index, Select, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from domain.access.actor import Action, Resource
from domain.access.unit_of_work import Protected, UnitOfWork
from domain.audit import trail as audit_log
from domain.channel.organizations import Organization
from domain.identity.users import User
from domain.selling.company_names import normalize_company_name
from domain.selling.territories import Territory
from domain.shared.base import Base, TenantScoped, Timestamped
from domain.shared.commands import UNSET, Patch, is_set
from domain.shared.errors import ErrorCode, Forbidden, Validator, required
from domain.shared.record_versions import Versioned, require_version
from domain.shared.search import search_term


class LifecycleStage(StrEnum):
    PROSPECT = "prospect"
    CUSTOMER = "customer"
    FORMER_CUSTOMER = "former_customer"


class Account(Protected, TenantScoped, Timestamped, Versioned, Base):
    """A customer company."""

    __resource__ = Resource.ACCOUNT
    __label__ = "account"

    audit_record_type = "account"
    bookkeeping_fields = frozenset({"normalized_name"})  # follows the name

    __tablename__ = "account"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "owner_id"], ["app_user.tenant_id", "app_user.id"]),
        ForeignKeyConstraint(["tenant_id", "territory_id"], ["territory.tenant_id", "territory.id"]),
        ForeignKeyConstraint(["tenant_id", "managing_partner_id"], ["organization.tenant_id", "organization.id"]),
        Index("ix_account_owner", "tenant_id", "owner_id"),
        Index("ix_account_territory", "tenant_id", "territory_id"),
        Index("ix_account_partner", "tenant_id", "managing_partner_id"),
        Index("ix_account_normalized_name", "tenant_id", "normalized_name"),
        Index("ix_account_order_name", "tenant_id", "name", "id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    normalized_name: Mapped[str] = mapped_column(String(200))
    tax_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    web_domain: Mapped[str | None] = mapped_column(String(253), nullable=True)
    industry: Mapped[str | None] = mapped_column(String(100), nullable=True)
    grade: Mapped[str | None] = mapped_column(String(20), nullable=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    territory_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    managing_partner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    lifecycle_stage: Mapped[LifecycleStage] = mapped_column(
        Enum(LifecycleStage, name="lifecycle_stage"), default=LifecycleStage.PROSPECT
    )


# --- Use cases -------------------------------------------------------------------------------


WEB_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
TAX_ID_RE = re.compile(r"^[0-9A-Z][0-9A-Z-]{3,39}$")


@dataclass
class AccountFilter:
    """Narrowing of an account list; every field optional."""

    search: str | None = None
    owner_id: uuid.UUID | None = None
    territory_id: uuid.UUID | None = None
    managing_partner_id: uuid.UUID | None = None
    lifecycle_stage: LifecycleStage | None = None


@dataclass
class AccountChanges:
    """Fields to set on an account; UNSET leaves a field as it is."""

    name: Patch[str] = UNSET
    tax_id: Patch[str | None] = UNSET
    web_domain: Patch[str | None] = UNSET
    industry: Patch[str | None] = UNSET
    grade: Patch[str | None] = UNSET
    owner_id: Patch[uuid.UUID | None] = UNSET  # None is refused: an account keeps an owner
    territory_id: Patch[uuid.UUID | None] = UNSET
    managing_partner_id: Patch[uuid.UUID | None] = UNSET
    lifecycle_stage: Patch[LifecycleStage] = UNSET


def accounts_query(uow: UnitOfWork, flt: AccountFilter | None = None) -> Select[Account]:
    """Visible accounts, filtered; ValidationFailed for a search text over the bound."""
    stmt = uow.visible(Account)
    if flt:
        if term := search_term(flt.search):
            stmt = stmt.where(Account.normalized_name.contains(normalize_company_name(term), autoescape=True))
        if flt.owner_id:
            stmt = stmt.where(Account.owner_id == flt.owner_id)
        if flt.territory_id:
            stmt = stmt.where(Account.territory_id == flt.territory_id)
        if flt.managing_partner_id:
            stmt = stmt.where(Account.managing_partner_id == flt.managing_partner_id)
        if flt.lifecycle_stage:
            stmt = stmt.where(Account.lifecycle_stage == flt.lifecycle_stage)
    return stmt


def _clean_domain(v: Validator, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    domain = value.strip().lower().removeprefix("https://").removeprefix("http://").removeprefix("www.").rstrip("/")
    if not WEB_DOMAIN_RE.match(domain):
        v.fail("webDomain", ErrorCode.INVALID, "webDomain must be a domain name such as example.com.")
        return None
    return domain


def _clean_tax_id(v: Validator, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    tax_id = value.strip().upper().replace(" ", "")
    if not TAX_ID_RE.match(tax_id):
        v.fail("taxId", ErrorCode.INVALID, "taxId must be 4 to 40 letters, digits or dashes.")
        return None
    return tax_id


async def _check_references(uow: UnitOfWork, v: Validator, values: dict[str, Any]) -> None:
    """Owner, territory and managing partner must exist and be visible to the actor."""
    session = uow.session
    if "owner_id" in values:
        owner = await session.scalar(
            uow.visible_columns(User, User.id).where(User.id == values["owner_id"], User.is_active)
        )
        if owner is None:
            v.fail("ownerId", ErrorCode.NOT_FOUND, "No active user with that ownerId.")
    if values.get("territory_id") is not None:
        found = await session.scalar(
            uow.visible_columns(Territory, Territory.id).where(Territory.id == values["territory_id"])
        )
        if found is None:
            v.fail("territoryId", ErrorCode.NOT_FOUND, "No territory with that territoryId.")
    if values.get("managing_partner_id") is not None:
        partner = (
            await session.execute(uow.visible(Organization).where(Organization.id == values["managing_partner_id"]))
        ).scalar_one_or_none()
        if partner is None:
            v.fail("managingPartnerId", ErrorCode.NOT_FOUND, "No organization with that managingPartnerId.")
        elif not partner.is_partner:
            v.fail("managingPartnerId", ErrorCode.INVALID, "managingPartnerId must be a partner organization.")


async def _validated_values(uow: UnitOfWork, changes: AccountChanges, *, creating: bool) -> dict[str, Any]:
    v = Validator()
    values: dict[str, Any] = {}
    if is_set(changes.name) or creating:
        name = v.require_text("name", changes.name if is_set(changes.name) else None, max_length=200)
        if name:
            values["name"] = name
            values["normalized_name"] = normalize_company_name(name)[:200]
    if is_set(changes.tax_id):
        values["tax_id"] = _clean_tax_id(v, changes.tax_id)
    if is_set(changes.web_domain):
        values["web_domain"] = _clean_domain(v, changes.web_domain)
    for attr, field, limit in (("industry", "industry", 100), ("grade", "grade", 20)):
        raw = getattr(changes, attr)
        if is_set(raw):
            values[attr] = v.require_text(field, raw, max_length=limit, required=False)
    for attr in ("owner_id", "territory_id", "managing_partner_id", "lifecycle_stage"):
        raw = getattr(changes, attr)
        if is_set(raw):
            values[attr] = raw
    if "owner_id" in values and values["owner_id"] is None:
        v.fail("ownerId", ErrorCode.REQUIRED, "ownerId must not be null.")
    await _check_references(uow, v, values)
    v.raise_if_any()
    return values


async def create_account(uow: UnitOfWork, changes: AccountChanges) -> Account:
    """Create an account owned by the actor or the given owner; partners' accounts are managed by their organization."""
    actor = uow.actor
    if not uow.access.can(Resource.ACCOUNT, Action.CREATE):
        raise Forbidden("Your role may not create accounts.")
    if not is_set(changes.owner_id):
        if actor.user_id is None:
            raise required("ownerId")
        changes.owner_id = actor.user_id
    if actor.is_partner and not is_set(changes.managing_partner_id):
        changes.managing_partner_id = actor.organization_id
    values = await _validated_values(uow, changes, creating=True)
    if actor.is_partner and values.get("managing_partner_id") is None:
        raise required("managingPartnerId")
    account = Account(tenant_id=actor.tenant_id, id=uuid.uuid4(), **values)
    uow.session.add(account)
    await uow.session.flush()
    audit_log.record(
        uow.session,
        uow.access,
        record_type="account",
        record_id=account.id,
        action="created",
        changes=audit_log.created_changes(values),
    )
    return account


async def update_account(
    uow: UnitOfWork, account_id: uuid.UUID, changes: AccountChanges, *, expected_version: int | None = None
) -> Account:
    """Change an account the actor may edit; ownership changes are audited like any other field.

    With `expected_version` (the version the actor read), an account changed since is refused (StaleVersion).
    """
    account = await uow.get(Account, account_id, action=Action.UPDATE, for_update=True)
    await require_version(uow.session, account, expected_version)
    values = await _validated_values(uow, changes, creating=False)
    await audit_log.apply_and_record(uow.session, uow.access, account, "account", values)
    return account
