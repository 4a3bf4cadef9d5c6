"""The error codes of the ERP link (the outbox, inbound sync, the catalogue pull).

Specific failures a client can tell apart without reading messages.
"""

from __future__ import annotations

from domain.shared.errors import ConceptCode


class ErpCode(ConceptCode):
    """Failures specific to the ERP link (the outbox, inbound sync, the catalogue pull)."""

    OUTBOX_MESSAGE_NOT_DEAD = "OUTBOX_MESSAGE_NOT_DEAD"
    ERP_NOT_CONNECTED = "ERP_NOT_CONNECTED"
    ERP_UNAVAILABLE = "ERP_UNAVAILABLE"
    ERP_REJECTED = "ERP_REJECTED"


DESCRIPTIONS: dict[ErpCode, str] = {
    ErpCode.OUTBOX_MESSAGE_NOT_DEAD: (
        "A CONFLICT: only a dead outbox message is retried; this one is pending, delivered or cancelled."
    ),
    ErpCode.ERP_NOT_CONNECTED: "A CONFLICT: the tenant has no ERP connection configured, so nothing can be asked.",
    ErpCode.ERP_UNAVAILABLE: "A CONFLICT: the ERP could not be reached or did not answer in time; try again later.",
    ErpCode.ERP_REJECTED: "A CONFLICT: the ERP refused the request; trying again unchanged fails the same way.",
}
