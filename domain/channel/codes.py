"""The error codes of the channel (partners, leads, deal registrations).

Specific failures a client can tell apart without reading messages.
"""

from __future__ import annotations

from domain.shared.errors import ConceptCode


class ChannelCode(ConceptCode):
    """Failures specific to the channel (partners, leads, deal registrations)."""

    PARENT_KIND_NOT_ALLOWED = "PARENT_KIND_NOT_ALLOWED"
    MOVE_INTO_OWN_SUBTREE = "MOVE_INTO_OWN_SUBTREE"
    LEAD_CLOSED = "LEAD_CLOSED"
    LEAD_ALREADY_ACCEPTED = "LEAD_ALREADY_ACCEPTED"
    LEAD_NOT_OFFERED = "LEAD_NOT_OFFERED"
    REGISTRATION_CONFLICT = "REGISTRATION_CONFLICT"
    REGISTRATION_ALREADY_DECIDED = "REGISTRATION_ALREADY_DECIDED"
    REGISTRATION_EXPIRED = "REGISTRATION_EXPIRED"
    REGISTRATION_NOT_APPROVED = "REGISTRATION_NOT_APPROVED"
    REGISTRATION_CLOSED = "REGISTRATION_CLOSED"
    REGISTRATION_OPPORTUNITY_CLOSED = "REGISTRATION_OPPORTUNITY_CLOSED"


DESCRIPTIONS: dict[ChannelCode, str] = {
    ChannelCode.PARENT_KIND_NOT_ALLOWED: (
        "An INVALID: this kind of partner cannot sit under that parent (a distributor sits under the enterprise "
        "only; dealers under the enterprise or a distributor; resellers and agents also under a dealer)."
    ),
    ChannelCode.MOVE_INTO_OWN_SUBTREE: (
        "An INVALID: an organization cannot move under itself or under one of its own sub-partners."
    ),
    ChannelCode.LEAD_CLOSED: (
        "A CONFLICT: the lead is converted, merged or disqualified, so it can no longer be merged, converted or "
        "assigned."
    ),
    ChannelCode.LEAD_ALREADY_ACCEPTED: (
        "A CONFLICT: the partner has already accepted this lead, so there is no offer left to answer."
    ),
    ChannelCode.LEAD_NOT_OFFERED: (
        "A CONFLICT: the lead is not awaiting a partner's answer (assigned, unrouted or closed), so it cannot be "
        "accepted or declined."
    ),
    ChannelCode.REGISTRATION_CONFLICT: (
        "A CONFLICT: another partner's approved registration already protects this customer, so this one cannot "
        "be approved."
    ),
    ChannelCode.REGISTRATION_ALREADY_DECIDED: (
        "A CONFLICT: the registration was approved, rejected or withdrawn already, so it no longer awaits a decision."
    ),
    ChannelCode.REGISTRATION_EXPIRED: (
        "A CONFLICT: the registration's protection window has run out, so it can be neither extended nor withdrawn."
    ),
    ChannelCode.REGISTRATION_NOT_APPROVED: (
        "A CONFLICT: only an approved, still protected registration can be extended; this one is not approved."
    ),
    ChannelCode.REGISTRATION_CLOSED: (
        "A CONFLICT: the registration was rejected or withdrawn already, so it cannot be withdrawn."
    ),
    ChannelCode.REGISTRATION_OPPORTUNITY_CLOSED: (
        "A CONFLICT: the opportunity named for the registration is closed, so it cannot take the registration."
    ),
}
