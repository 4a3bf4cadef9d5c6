"""The error codes of identity (tenants, users, sign-in).

Specific failures a client can tell apart without reading messages. Each refines a general code, which its
description names; the sign-in endpoints (/auth/*) answer with them too, with the HTTP status of the general one.
"""

from __future__ import annotations

from domain.shared.errors import ConceptCode


class IdentityCode(ConceptCode):
    """Failures specific to identity (tenants, users, sign-in)."""

    TENANT_SLUG_TAKEN = "TENANT_SLUG_TAKEN"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    ROLE_NOT_ALLOWED = "ROLE_NOT_ALLOWED"
    OWN_ACCESS_UNCHANGEABLE = "OWN_ACCESS_UNCHANGEABLE"
    USER_ALREADY_IN_STATE = "USER_ALREADY_IN_STATE"
    USER_DEACTIVATED = "USER_DEACTIVATED"
    INVITATION_ALREADY_ACCEPTED = "INVITATION_ALREADY_ACCEPTED"
    LINK_UNKNOWN = "LINK_UNKNOWN"
    LINK_USED = "LINK_USED"
    LINK_REPLACED = "LINK_REPLACED"
    LINK_EXPIRED = "LINK_EXPIRED"
    ACCOUNT_INACTIVE = "ACCOUNT_INACTIVE"
    PASSWORD_TOO_WEAK = "PASSWORD_TOO_WEAK"
    PASSWORD_WRONG = "PASSWORD_WRONG"
    PASSWORD_UNCHANGED = "PASSWORD_UNCHANGED"
    MFA_ALREADY_ENABLED = "MFA_ALREADY_ENABLED"
    MFA_NOT_ENABLED = "MFA_NOT_ENABLED"
    MFA_ENROLMENT_NOT_STARTED = "MFA_ENROLMENT_NOT_STARTED"
    MFA_CODE_WRONG = "MFA_CODE_WRONG"
    MFA_REQUIRED = "MFA_REQUIRED"


DESCRIPTIONS: dict[IdentityCode, str] = {
    IdentityCode.TENANT_SLUG_TAKEN: "A CONFLICT: a tenant with this slug exists already.",
    IdentityCode.EMAIL_TAKEN: "A CONFLICT: another user of the tenant already has this e-mail address.",
    IdentityCode.ROLE_NOT_ALLOWED: (
        "An INVALID: users of a partner organization take partner roles only, internal users internal roles only."
    ),
    IdentityCode.OWN_ACCESS_UNCHANGEABLE: (
        "An INVALID: nobody deactivates themselves or changes their own roles; another admin must."
    ),
    IdentityCode.USER_ALREADY_IN_STATE: "An INVALID: the user is already active (or already deactivated).",
    IdentityCode.USER_DEACTIVATED: "An INVALID: the user is deactivated; reactivate them first.",
    IdentityCode.INVITATION_ALREADY_ACCEPTED: (
        "An INVALID: the user has already set a password, so there is no invitation to send again."
    ),
    IdentityCode.LINK_UNKNOWN: "An INVALID: no invitation or reset link has this token (mistyped or cut short).",
    IdentityCode.LINK_USED: "An INVALID: the link has already been used; each works once.",
    IdentityCode.LINK_REPLACED: "An INVALID: a newer link has been sent since; the newest e-mail's link works.",
    IdentityCode.LINK_EXPIRED: "An INVALID: the link has expired; ask for a new one.",
    IdentityCode.ACCOUNT_INACTIVE: (
        "An INVALID: the link's account is deactivated, or its organization no longer has access."
    ),
    IdentityCode.PASSWORD_TOO_WEAK: (
        "An INVALID: the new password is too short, one of the most common passwords, or too easy to guess."
    ),
    IdentityCode.PASSWORD_WRONG: "An INVALID: the current password given is wrong.",
    IdentityCode.PASSWORD_UNCHANGED: "An INVALID: the new password is the current one.",
    IdentityCode.MFA_ALREADY_ENABLED: "A CONFLICT: two-factor sign-in is already on; turn it off first to re-enrol.",
    IdentityCode.MFA_NOT_ENABLED: "An INVALID: two-factor sign-in is not on.",
    IdentityCode.MFA_ENROLMENT_NOT_STARTED: "An INVALID: no authenticator enrolment was started; start one first.",
    IdentityCode.MFA_CODE_WRONG: "An INVALID: the authenticator code is wrong or no longer current.",
    IdentityCode.MFA_REQUIRED: (
        "A FORBIDDEN: the tenant requires two-factor sign-in of this user, so it cannot be turned off."
    ),
}
