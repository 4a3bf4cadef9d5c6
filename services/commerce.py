"""Commerce's use cases that reach beyond one transaction.

A partner's order is checked against its credit as the ERP reports it now: the ERP is asked first, with no
transaction open (a person waits on it, so only briefly; the last known standing stands when the ERP does not
answer in time), and the order is then placed within that credit in a unit of work of its own
(`domain.commerce.orders.place_partner_order`).
"""

from __future__ import annotations

from domain.access.actor import Access
from integrations.erp.sync import refresh_credit
from services.unit_of_work import Sessions


async def refresh_ordering_credit(sessions: Sessions, access: Access) -> None:
    """Before a partner orders: ask the ERP for the partner's credit now and keep it (nothing for others)."""
    actor = access.actor
    if actor.is_partner and actor.organization_id is not None:
        await refresh_credit(sessions, actor.tenant_id, str(actor.organization_id))
