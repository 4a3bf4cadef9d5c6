"""The error codes of commerce (quotes, orders, contracts, credit, receivables).

Specific failures a client can tell apart without reading messages.
"""

from __future__ import annotations

from domain.shared.errors import ConceptCode


class CommerceCode(ConceptCode):
    """Failures specific to commerce (quotes, orders, contracts, credit, receivables)."""

    OPPORTUNITY_LOST = "OPPORTUNITY_LOST"
    OPPORTUNITY_NOT_WON = "OPPORTUNITY_NOT_WON"
    QUOTE_SUPERSEDED = "QUOTE_SUPERSEDED"
    QUOTE_WRONG_STATUS = "QUOTE_WRONG_STATUS"
    DISCOUNT_NEEDS_APPROVAL = "DISCOUNT_NEEDS_APPROVAL"
    QUOTE_SELF_APPROVAL = "QUOTE_SELF_APPROVAL"
    QUOTE_EXPIRED = "QUOTE_EXPIRED"
    QUOTE_NOT_ACCEPTED = "QUOTE_NOT_ACCEPTED"
    NO_ACCEPTED_QUOTE = "NO_ACCEPTED_QUOTE"
    CREDIT_EXCEEDED = "CREDIT_EXCEEDED"
    ORDER_ALREADY_CANCELLED = "ORDER_ALREADY_CANCELLED"
    ORDER_NOT_CANCELLABLE = "ORDER_NOT_CANCELLABLE"
    ORDER_BEING_SENT = "ORDER_BEING_SENT"
    ORDER_WITHOUT_CUSTOMER = "ORDER_WITHOUT_CUSTOMER"
    CONTRACT_WRONG_STATUS = "CONTRACT_WRONG_STATUS"


DESCRIPTIONS: dict[CommerceCode, str] = {
    CommerceCode.OPPORTUNITY_LOST: "A CONFLICT: the opportunity is lost, so it takes no quotes.",
    CommerceCode.OPPORTUNITY_NOT_WON: (
        "A CONFLICT: an order from a quote, or a contract from an opportunity, needs the opportunity won first."
    ),
    CommerceCode.QUOTE_SUPERSEDED: "A CONFLICT: a newer version of the quote exists; work on that one.",
    CommerceCode.QUOTE_WRONG_STATUS: (
        "A CONFLICT: the quote's status does not allow this step (sending a draft, accepting one not sent, ...)."
    ),
    CommerceCode.DISCOUNT_NEEDS_APPROVAL: (
        "A CONFLICT: the quote's discount is above the approval threshold and waits for a manager's approval."
    ),
    CommerceCode.QUOTE_SELF_APPROVAL: (
        "A FORBIDDEN: the quote's own author may not approve or reject its discount; another approver must."
    ),
    CommerceCode.QUOTE_EXPIRED: "A CONFLICT: the quote is past its valid-until date; revise it to accept it.",
    CommerceCode.QUOTE_NOT_ACCEPTED: "A CONFLICT: only a quote the customer accepted becomes an order.",
    CommerceCode.NO_ACCEPTED_QUOTE: (
        "A CONFLICT: the opportunity has no accepted quote to take a contract's lines from."
    ),
    CommerceCode.CREDIT_EXCEEDED: (
        "A CONFLICT: the order's total is above the partner's available credit (limit less owed and uninvoiced)."
    ),
    CommerceCode.ORDER_ALREADY_CANCELLED: "A CONFLICT: the order is cancelled already.",
    CommerceCode.ORDER_NOT_CANCELLABLE: (
        "A CONFLICT: the ERP has received the order, so it is cancelled in the ERP and the CRM follows."
    ),
    CommerceCode.ORDER_BEING_SENT: (
        "A CONFLICT: the order is being delivered to the ERP right now; try again in a moment."
    ),
    CommerceCode.ORDER_WITHOUT_CUSTOMER: (
        "A CONFLICT: a partner's stock order has no end customer, so no contract can be made from it."
    ),
    CommerceCode.CONTRACT_WRONG_STATUS: (
        "A CONFLICT: the contract's status does not allow this step (approving a draft, ending a renewed one, ...)."
    ),
}
