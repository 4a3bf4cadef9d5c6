"""Opening and changing an opportunity: the use cases that apply its pipeline, stage gates and team stage rules.

They sit above those rules, which build on the opportunity models; moves between stages are in `stage_gates`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from domain.access.actor import Access, Action, Resource
from domain.access.unit_of_work import UnitOfWork
from domain.audit import trail as audit_log
from domain.selling.accounts import Account
from domain.selling.opportunities import (
    Opportunity,
    OpportunityPartner,
    PartnerRole,
    active_user_or_raise,
    editable_opportunity_or_raise,
    require_place_rights,
)
from domain.selling.pipelines import pipeline_for_new_deal, stage_terms, stages_of
from domain.selling.stage_gates import stages_passed, unmet_on_the_way
from domain.selling.stages import ForecastCategory, Stage
from domain.selling.team_stage_rules import FIELD_GROUPS, require_team_stage_rights
from domain.shared.commands import UNSET, Patch, is_set
from domain.shared.errors import ErrorCode, Forbidden, ValidationFailed, Validator, required
from domain.shared.money import check_amount, check_currency

INTERNAL_FIELDS = ("margin", "internal_notes")
INTERNAL_FIELD_NAMES = {"margin": "margin", "internal_notes": "internalNotes"}
MARGIN_PLACES = Decimal("0.0001")


@dataclass
class OpportunityChanges:
    """Fields to set on an opportunity; UNSET leaves a field as it is."""

    name: Patch[str] = UNSET
    amount: Patch[Decimal] = UNSET
    currency: Patch[str] = UNSET
    close_date: Patch[date] = UNSET
    probability: Patch[int] = UNSET
    forecast_category: Patch[ForecastCategory] = UNSET
    margin: Patch[Decimal | None] = UNSET
    internal_notes: Patch[str | None] = UNSET
    budget: Patch[Decimal | None] = UNSET
    decision_date: Patch[date | None] = UNSET


def _validated(changes: OpportunityChanges, *, creating: bool) -> dict[str, Any]:
    v = Validator()
    values: dict[str, Any] = {}
    if is_set(changes.name) or creating:
        name = v.require_text("name", changes.name if is_set(changes.name) else None, max_length=200)
        if name:
            values["name"] = name
    if is_set(changes.amount) or creating:
        amount = check_amount(v, "amount", changes.amount if is_set(changes.amount) else None)
        if amount is not None:
            values["amount"] = amount
    if is_set(changes.currency) or creating:
        currency = check_currency(v, "currency", changes.currency if is_set(changes.currency) else None)
        if currency:
            values["currency"] = currency
    if is_set(changes.close_date) or creating:
        if not is_set(changes.close_date) or changes.close_date is None:
            v.fail("closeDate", ErrorCode.REQUIRED, "closeDate is required.")
        else:
            values["close_date"] = changes.close_date
    if is_set(changes.probability):
        if changes.probability is None or not 0 <= changes.probability <= 100:
            v.fail("probability", ErrorCode.OUT_OF_RANGE, "probability must be between 0 and 100.")
        else:
            values["probability"] = changes.probability
    if is_set(changes.forecast_category):
        if changes.forecast_category is None:
            v.fail("forecastCategory", ErrorCode.REQUIRED, "forecastCategory must not be null.")
        else:
            values["forecast_category"] = changes.forecast_category
    if is_set(changes.margin):
        margin = changes.margin
        if margin is not None and not (margin.is_finite() and Decimal("-1") <= margin <= Decimal("1")):
            v.fail("margin", ErrorCode.OUT_OF_RANGE, "margin is a fraction between -1 and 1 (0.25 is 25%).")
        elif margin is not None and margin != margin.quantize(MARGIN_PLACES):
            v.fail("margin", ErrorCode.INVALID, "margin must have at most four decimal places.")
        else:
            values["margin"] = None if margin is None else margin.quantize(MARGIN_PLACES)
    if is_set(changes.budget):
        values["budget"] = None if changes.budget is None else check_amount(v, "budget", changes.budget)
    if is_set(changes.decision_date):
        values["decision_date"] = changes.decision_date
    if is_set(changes.internal_notes):
        values["internal_notes"] = v.require_text(
            "internalNotes", changes.internal_notes, max_length=20_000, required=False
        )
    v.raise_if_any()
    return values


def _require_internal_field_rights(access: Access, values: dict[str, Any]) -> None:
    touched = [INTERNAL_FIELD_NAMES[f] for f in INTERNAL_FIELDS if f in values]
    if touched and not access.can(Resource.OPPORTUNITY_INTERNAL, Action.UPDATE):
        raise Forbidden(f"Your role may not set internal-only fields: {', '.join(touched)}.", field=touched[0])


async def create_opportunity(
    uow: UnitOfWork,
    account_id: uuid.UUID,
    changes: OpportunityChanges,
    *,
    owner_id: uuid.UUID | None = None,
    stage: Stage | None = None,
    pipeline_id: uuid.UUID | None = None,
) -> Opportunity:
    """Open an opportunity on a visible account; a partner's own deals are linked to its organization as sourcing."""
    actor, session = uow.actor, uow.session
    if not uow.access.can(Resource.OPPORTUNITY, Action.CREATE):
        raise Forbidden("Your role may not create opportunities.")
    values = _validated(changes, creating=True)
    _require_internal_field_rights(uow.access, values)
    account = await uow.get(Account, account_id, field="accountId")
    owner_id = owner_id or actor.user_id
    if owner_id is None:
        raise required("ownerId")
    await active_user_or_raise(uow, owner_id, "ownerId")
    if owner_id != actor.user_id:
        await require_place_rights(uow, owner_id, "ownerId")
    pipeline = await pipeline_for_new_deal(uow, pipeline_id)
    if stage is None:
        stage = (await stages_of(uow, pipeline.id))[0].stage if pipeline else Stage.PROSPECTING
    probability, forecast = await stage_terms(uow, pipeline.id if pipeline else None, stage)
    values.setdefault("probability", probability)
    values.setdefault("forecast_category", forecast)
    opportunity = Opportunity(
        tenant_id=actor.tenant_id,
        id=uuid.uuid4(),
        account_id=account.id,
        owner_id=owner_id,
        territory_id=account.territory_id,
        stage=stage,
        pipeline_id=pipeline.id if pipeline else None,
        **values,
    )
    # Starting in a later stage passes the gates of the stages before it, as moving there would.
    passed = await stages_passed(uow, opportunity.pipeline_id, None, stage)
    unmet = await unmet_on_the_way(uow, opportunity, passed, creating=True)
    if unmet:
        raise ValidationFailed(unmet)
    session.add(opportunity)
    await session.flush()
    audit_log.record(
        session,
        uow.access,
        record_type="opportunity",
        record_id=opportunity.id,
        action="created",
        changes=audit_log.created_changes({"account_id": account.id, "owner_id": owner_id, "stage": stage, **values}),
    )
    if actor.is_partner and actor.organization_id is not None:
        session.add(
            OpportunityPartner(
                tenant_id=actor.tenant_id,
                opportunity_id=opportunity.id,
                organization_id=actor.organization_id,
                role=PartnerRole.SOURCING,
            )
        )
        audit_log.record(
            session,
            uow.access,
            record_type="opportunity",
            record_id=opportunity.id,
            action="partner_linked",
            changes={
                "partner": {"old": None, "new": {"organization_id": str(actor.organization_id), "role": "sourcing"}}
            },
        )
    await session.flush()
    return opportunity


async def update_opportunity(
    uow: UnitOfWork,
    opportunity_id: uuid.UUID,
    changes: OpportunityChanges,
    *,
    expected_version: int | None = None,
) -> Opportunity:
    """Change an opportunity the actor may edit; internal-only fields need their own grant."""
    opportunity = await editable_opportunity_or_raise(uow, opportunity_id, expected_version=expected_version)
    values = _validated(changes, creating=False)
    _require_internal_field_rights(uow.access, values)
    await require_team_stage_rights(uow, opportunity, {FIELD_GROUPS[f] for f in values})
    await audit_log.apply_and_record(uow.session, uow.access, opportunity, "opportunity", values)
    return opportunity
