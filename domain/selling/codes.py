"""The error codes of selling (accounts, opportunities, stages, teams, forecasts).

Specific failures a client can tell apart without reading messages.
"""

from __future__ import annotations

from domain.shared.errors import ConceptCode


class SellingCode(ConceptCode):
    """Failures specific to selling (accounts, opportunities, stages, teams, forecasts)."""

    STAGE_GATE_UNMET = "STAGE_GATE_UNMET"
    APPROVAL_PENDING = "APPROVAL_PENDING"
    APPROVAL_ALREADY_REQUESTED = "APPROVAL_ALREADY_REQUESTED"
    APPROVAL_ALREADY_DECIDED = "APPROVAL_ALREADY_DECIDED"
    TEAM_STAGE_LOCKED = "TEAM_STAGE_LOCKED"
    DEAL_CLOSED = "DEAL_CLOSED"
    DEAL_OWNER = "DEAL_OWNER"
    ALREADY_ON_TEAM = "ALREADY_ON_TEAM"
    PARTNER_ALREADY_LINKED = "PARTNER_ALREADY_LINKED"


DESCRIPTIONS: dict[SellingCode, str] = {
    SellingCode.STAGE_GATE_UNMET: (
        "A REQUIRED: the gate of a stage the move enters (or passes) is not met: a field it requires is empty, "
        "the buying centre has no decision maker, or a sales role it requires is not on the team."
    ),
    SellingCode.APPROVAL_PENDING: (
        "A REQUIRED: the gate of a stage the move enters (or passes) needs a manager's approval that has not been "
        "granted: request it with requestStageApproval, or wait for the decision."
    ),
    SellingCode.APPROVAL_ALREADY_REQUESTED: (
        "A CONFLICT: an approval to enter that stage is already requested or granted for the deal."
    ),
    SellingCode.APPROVAL_ALREADY_DECIDED: "A CONFLICT: the stage approval is already approved or rejected.",
    SellingCode.TEAM_STAGE_LOCKED: (
        "A FORBIDDEN: the team stage rules do not let the caller's sales role change that part of the deal while "
        "it is in its current stage."
    ),
    SellingCode.DEAL_CLOSED: "A FORBIDDEN: the deal is closed; partners may read it but no longer change it.",
    SellingCode.DEAL_OWNER: (
        "A CONFLICT: the user owns the deal; ownership already gives full access, so they take no team seat."
    ),
    SellingCode.ALREADY_ON_TEAM: "A CONFLICT: the user already has a seat on the deal's team.",
    SellingCode.PARTNER_ALREADY_LINKED: "A CONFLICT: the partner organization is already linked to the deal.",
}
