"""The channel's use cases that span concepts or own their transaction.

- A lead an internal user enters is routed at once; a partner's own lead stays with the partner.
- A visitor's web form submission becomes a routed lead, read through the form tenant's system access.
- Suspending or terminating a partner cuts its users' sessions off (identity's sessions, the channel's change).
"""

from __future__ import annotations

import uuid

from domain.access.principals import ACTIVE_ORG_STATUSES
from domain.access.unit_of_work import UnitOfWork, system_unit_of_work
from domain.channel import lead_routing, leads, organizations, web_forms
from domain.channel.leads import Lead, NewLead
from domain.channel.organizations import Organization, PartnerChanges
from domain.channel.web_forms import Submission
from domain.identity.sign_in.sessions import revoke_organization_sessions
from services.unit_of_work import Sessions


async def create_lead(uow: UnitOfWork, cmd: NewLead) -> Lead:
    """Record a lead, flagging duplicates, and route it at once unless a partner brought it in.

    A partner's own lead stays with the partner that found it; any other goes through the tenant's rules.
    """
    lead = await leads.create_lead(uow, cmd)
    if not uow.actor.is_partner:
        await lead_routing.route(uow, lead)
    return lead


async def update_partner(
    uow: UnitOfWork, organization_id: uuid.UUID, changes: PartnerChanges, *, expected_version: int | None = None
) -> Organization:
    """Change a partner; one that ends suspended or terminated has its users' sessions ended at once."""
    organization = await organizations.update_partner(uow, organization_id, changes, expected_version=expected_version)
    if organization.status not in ACTIVE_ORG_STATUSES:
        await revoke_organization_sessions(
            uow.session, organization.tenant_id, organization.id, f"organization {organization.status}"
        )
    return organization


async def web_form_token(sessions: Sessions, key: str) -> str:
    """The timing token a showing of the active form with that key includes in its submission."""
    async with sessions() as session:
        form = await web_forms.active_form_or_raise(session, key)
    return web_forms.issue_token(form)


async def submit_web_form(sessions: Sessions, key: str, client_address: str, submission: Submission) -> Lead | None:
    """Take a visitor's submission to the form with that key, in one transaction: the routed lead, or None for a bot.

    Nobody is signed in, so the lead is recorded and routed through the form tenant's system access.
    """
    async with sessions() as session, session.begin():
        form = await web_forms.active_form_or_raise(session, key)
        uow = system_unit_of_work(session, form.tenant_id, "web-to-lead form")
        cmd = await web_forms.admit_submission(uow, form, web_forms.visitor_id(form, client_address), submission)
        if cmd is None:
            return None
        lead = await leads.receive_lead(uow, cmd)
        await lead_routing.route(uow, lead)
        return lead
