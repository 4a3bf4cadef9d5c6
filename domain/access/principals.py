"""Turn a verified token's subject into an Actor, checking it may still act right now.

These lookups come before any actor exists, so they read users through the named system access `sign-in`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import ARRAY, Boolean, Integer, Select, String, Uuid, and_, bindparam, exists, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access.actor import Actor, ActorKind
from domain.access.unit_of_work import system_unit_of_work
from domain.access.usage_budgets import (
    DEADLOCK_ATTEMPTS,
    DEADLOCK_DETECTED,
    Budget,
    Charge,
    charge_of,
    charge_parameters,
    charge_statement,
)
from domain.channel.organizations import PARTNER_KINDS, Organization, OrganizationStatus
from domain.identity.machine_clients import OAuthClient
from domain.identity.sign_in.models import AuthSession
from domain.identity.tenants import Tenant
from domain.identity.users import PARTNER_ROLES, User
from domain.selling.territories import Territory
from domain.shared.base import utcnow
from domain.shared.prepared import fetch, prepare

ACTIVE_ORG_STATUSES = (OrganizationStatus.ACTIVE, OrganizationStatus.PROSPECT)
# The system access of lookups made before anyone is signed in (the token's user, the e-mail being signed in).
SIGN_IN = "sign-in"


@dataclass(frozen=True)
class LoadedActor:
    """An actor and the tenant's current policy version, read in the same statement."""

    actor: Actor
    policy_version: int


def _user_actor_statement(with_session: bool) -> Select[Any]:
    """The sign-in check as one statement, built once: the user, their organization and territory paths, the
    tenant's policy version, and (for a token of a signed-in session) that the session still lives.

    It reads as the `sign-in` system access would (the tenant's rows: its tenant condition is that rule), run on
    the driver directly since every request runs it (domain.shared.prepared).
    """
    statement: Any = (
        select(
            User.id,
            User.roles,
            User.organization_id,
            User.territory_id,
            User.email,
            Organization.path.label("organization_path"),
            Organization.kind.label("organization_kind"),
            Territory.path.label("territory_path"),
            Tenant.policy_version,
        )
        .join(Organization, (Organization.tenant_id == User.tenant_id) & (Organization.id == User.organization_id))
        .join(Tenant, Tenant.id == User.tenant_id)
        .outerjoin(Territory, (Territory.tenant_id == User.tenant_id) & (Territory.id == User.territory_id))
        .where(
            User.tenant_id == bindparam("tenant_id"),
            User.id == bindparam("user_id"),
            User.is_active.is_(True),
            or_(*(Organization.status == status for status in ACTIVE_ORG_STATUSES)),
        )
    )
    if with_session:
        # A token from a signed-in session is good only while that session lives (sign-out, revocation, reuse).
        statement = statement.where(
            exists().where(
                AuthSession.tenant_id == bindparam("tenant_id"),
                AuthSession.id == bindparam("session_id"),
                AuthSession.user_id == bindparam("user_id"),
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > bindparam("now"),
            )
        )
    return statement


_USER_ACTOR = {False: prepare(_user_actor_statement(False)), True: prepare(_user_actor_statement(True))}


async def load_user_actor(
    session: AsyncSession | Any, tenant_id: uuid.UUID, user_id: uuid.UUID, session_id: uuid.UUID | None = None
) -> LoadedActor | None:
    """The user as an actor, or None when the user, their partner organization or the session may no longer act."""
    parameters: dict[str, Any] = {"tenant_id": tenant_id, "user_id": user_id}
    if session_id is not None:
        parameters |= {"session_id": session_id, "now": utcnow()}
    rows = await fetch(session, _USER_ACTOR[session_id is not None], parameters)
    return _loaded(tenant_id, session_id, rows[0]) if rows else None


def _loaded(tenant_id: uuid.UUID, session_id: uuid.UUID | None, row: Any) -> LoadedActor:
    """The actor the sign-in check's row describes."""
    org_kind, policy_version = row["organization_kind"], row["policy_version"]
    is_partner = org_kind in PARTNER_KINDS
    roles = frozenset(row["roles"])
    if is_partner:
        # A partner user never holds an internal role, whatever the row says.
        roles = roles & PARTNER_ROLES
    actor = Actor(
        tenant_id=tenant_id,
        kind=ActorKind.USER,
        roles=roles,
        user_id=row["id"],
        organization_id=row["organization_id"],
        organization_path=row["organization_path"],
        territory_id=row["territory_id"],
        territory_path=row["territory_path"],
        is_partner=is_partner,
        email=row["email"],
        session_id=session_id,
    )
    return LoadedActor(actor, policy_version)


@dataclass(frozen=True)
class SignedWrite:
    """The sign-in check and the charge as CTEs of a change's own statement, for a kept change of a session seen
    before: one round trip for the check, the charge and the change.

    `gate` is what the change's writes must stand on: the check found the person exactly as the request's plan
    took them to be (`signed_write_parameters`: roles, organization, territory, e-mail, policy version) and every
    budget paid the cost. Put in the statement's first read (the target it writes from), it writes nothing
    otherwise. `columns` are the check's and the charge's, to select beside the change's own
    (`signed_write_outcome` reads them back); `sources` is what they are selected from (the check's one row beside
    each budget's, none when no one is signed in).

    A change's charge is the durable one (`charge_statement`): the change commits with it, as durably as through
    the pipeline, so the budgets' rows stay locked until that commit has reached the disk (16 clients logging
    activities ran as fast with it as without it: bench/README.md). The tenant's row is charged by every request
    of the tenant: only a change of bounded work (logActivity's: its target by key, two inserts, its owner by key)
    is sent so. A read is not: folded in, a distributor's partner home (14 ms) held the tenant's row for all of
    its read, and 16 clients went from 110 to 68 requests a second, one read at a time.
    """

    signed: Any
    charged: Any
    gate: Any
    columns: tuple[Any, ...]
    sources: Any


def signed_write(with_session: bool, *, durable: bool = True) -> SignedWrite:
    """The CTEs and gate of `SignedWrite`, built anew for each statement that holds them; `durable` (a change's)
    unless the statement writes nothing but the charge (`charge_statement`)."""
    signed = _user_actor_statement(with_session).cte("signed")
    charged = charge_statement(durable=durable, gate=exists(select(signed.c.id))).cte("charged")
    paid = select(func.bool_and(charged.c.last_cost == bindparam("cost", type_=Integer))).scalar_subquery()
    roles = bindparam("as_roles", type_=ARRAY(String))
    as_planned = exists(
        select(signed.c.id).where(
            signed.c.roles.op("@>", return_type=Boolean)(roles),  # the same roles, in any order
            signed.c.roles.op("<@", return_type=Boolean)(roles),
            signed.c.organization_id == bindparam("as_organization_id", type_=Uuid),
            signed.c.organization_path == bindparam("as_organization_path", type_=String),
            or_(*(signed.c.organization_kind == kind for kind in PARTNER_KINDS))
            == bindparam("as_partner", type_=Boolean),
            signed.c.territory_id.is_not_distinct_from(bindparam("as_territory_id", type_=Uuid)),
            signed.c.territory_path.is_not_distinct_from(bindparam("as_territory_path", type_=String)),
            signed.c.email == bindparam("as_email", type_=String),
            signed.c.policy_version == bindparam("as_policy_version", type_=Integer),
        )
    )
    columns = (
        *signed.c, charged.c.subject, charged.c.level, charged.c.capacity, charged.c.refill_per_second,
        charged.c.last_cost, charged.c.updated_at,
    )  # fmt: skip
    return SignedWrite(signed, charged, and_(paid, as_planned), columns, signed.outerjoin(charged, true()))


def _signed_charge_statement(with_session: bool) -> Any:
    """The sign-in check and the budget's charge as one statement: the charge is taken only if the check finds the
    person still signed in, and the statement's rows are the check's row beside each budget charged (none at all
    when the check finds no one). A request whose actor was known already (api/auth/signed_in.py) sends this in
    place of the check and then the charge: one round trip where there were two."""
    signing = signed_write(with_session, durable=False)  # it writes the charge alone
    return select(*signing.columns).select_from(signing.sources)


_SIGNED_CHARGE = {False: prepare(_signed_charge_statement(False)), True: prepare(_signed_charge_statement(True))}


def _signed_parameters(
    tenant_id: uuid.UUID, user_id: uuid.UUID, session_id: uuid.UUID | None, budgets: Sequence[Budget], cost: int
) -> dict[str, Any]:
    """The parameters of the sign-in check with the charge (`_SIGNED_CHARGE`)."""
    parameters: dict[str, Any] = {"user_id": user_id, **charge_parameters(tenant_id, budgets, cost)}
    if session_id is not None:
        parameters |= {"session_id": session_id, "now": utcnow()}
    return parameters


async def fetch_again_on_deadlock(driver: Any, sql: str, arguments: Sequence[Any]) -> list[Any]:
    """The records of a statement that charges budgets; a deadlock between budgets being created is run again, as
    `charge` does."""
    for attempt in range(1, DEADLOCK_ATTEMPTS + 1):
        try:
            return list(await driver.fetch(sql, *arguments))
        except asyncpg.PostgresError as exc:
            if exc.sqlstate != DEADLOCK_DETECTED or attempt == DEADLOCK_ATTEMPTS:
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


async def sign_in_and_charge(
    driver: Any,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    session_id: uuid.UUID | None,
    budgets: Sequence[Budget],
    cost: int,
) -> tuple[LoadedActor, Charge] | None:
    """The user as an actor and the charge of `cost` to `budgets`, in one statement on a bare asyncpg connection
    outside any transaction; None when the user, their organization or the session may no longer act, and then
    nothing is charged. A deadlock between budgets being created is run again, as `charge` does."""
    statement = _SIGNED_CHARGE[session_id is not None]
    arguments = statement.arguments(_signed_parameters(tenant_id, user_id, session_id, budgets, cost))
    rows = statement.rows(await fetch_again_on_deadlock(driver, statement.sql, arguments))
    return signed_write_outcome(tenant_id, session_id, budgets, cost, rows)


def signed_write_parameters(
    session_id: uuid.UUID | None, budgets: Sequence[Budget], cost: int, actor: Actor, policy_version: int
) -> dict[str, Any]:
    """The parameters of a `SignedWrite` for `actor` as the request planned it, at `policy_version`."""
    assert actor.user_id is not None
    return _signed_parameters(actor.tenant_id, actor.user_id, session_id, budgets, cost) | {
        "as_roles": sorted(actor.roles),
        "as_organization_id": actor.organization_id,
        "as_organization_path": actor.organization_path,
        "as_partner": actor.is_partner,
        "as_territory_id": actor.territory_id,
        "as_territory_path": actor.territory_path,
        "as_email": actor.email,
        "as_policy_version": policy_version,
    }


def signed_write_outcome(
    tenant_id: uuid.UUID, session_id: uuid.UUID | None, budgets: Sequence[Budget], cost: int, rows: Sequence[Any]
) -> tuple[LoadedActor, Charge] | None:
    """Who the check of a `SignedWrite` (or `_SIGNED_CHARGE`) found and what it charged, from the statement's rows;
    None: no one."""
    if not rows:
        return None
    return _loaded(tenant_id, session_id, rows[0]), charge_of(budgets, cost, rows)


async def load_client_actor(session: AsyncSession, tenant_id: uuid.UUID, client_id: str) -> LoadedActor | None:
    """A machine client as an actor, or None when it was deactivated."""
    row = (
        await session.execute(
            select(OAuthClient.roles, Tenant.policy_version)
            .join(Tenant, Tenant.id == OAuthClient.tenant_id)
            .where(
                OAuthClient.tenant_id == tenant_id,
                OAuthClient.client_id == client_id,
                OAuthClient.is_active.is_(True),
            )
        )
    ).one_or_none()
    if row is None:
        return None
    roles, policy_version = row
    actor = Actor(tenant_id=tenant_id, kind=ActorKind.MACHINE, roles=frozenset(roles), client_id=client_id)
    return LoadedActor(actor, policy_version)


async def token_roles(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> list[str]:
    """The roles a user's new access token names (each request reads them again); LookupError for no such user."""
    uow = system_unit_of_work(session, tenant_id, SIGN_IN)
    roles = await session.scalar(uow.visible_columns(User, User.roles).where(User.id == user_id))
    if roles is None:
        raise LookupError(f"No user {user_id} in tenant {tenant_id}.")
    return list(roles)
