"""Typed domain errors: every expected failure carries a code and, when it is about input, a field."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.shared.text import unstorable_reason


class ErrorCode(StrEnum):
    """Codes the API hands to clients in payload `errors` and `extensions.code`."""

    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    DUPLICATE = "DUPLICATE"
    FORBIDDEN = "FORBIDDEN"
    CONFLICT = "CONFLICT"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    RATE_LIMITED = "RATE_LIMITED"


class ConceptCode(StrEnum):
    """The base of a business concept's own error codes (`STAGE_GATE_UNMET`, `CREDIT_EXCEEDED`, ...).

    A concept declares its codes as a subclass, each value its own name, with a sentence for each in a
    `DESCRIPTIONS` mapping beside it; the API lists every concept's codes in the schema's `ErrorCode`. A
    specific code refines a general one (CONFLICT for most), and its description says which.
    """


Code = ErrorCode | ConceptCode


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field."""

    field: str | None
    code: Code
    message: str


class DomainError(Exception):
    """A failure the caller can understand and usually fix; `code` may name the concept's specific failure."""

    code: Code = ErrorCode.INVALID

    def __init__(self, message: str, *, field: str | None = None, code: ConceptCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    @property
    def errors(self) -> list[FieldError]:
        return [FieldError(self.field, self.code, self.message)]


class NotFound(DomainError):
    """The record does not exist or the actor may not see it (the two are indistinguishable)."""

    code = ErrorCode.NOT_FOUND


class Forbidden(DomainError):
    """The actor may see the record but may not do this to it."""

    code = ErrorCode.FORBIDDEN


class Unauthenticated(DomainError):
    """The person could not be signed in (a failed proof, or an account that may no longer sign in)."""

    code = ErrorCode.UNAUTHENTICATED


class RateLimited(DomainError):
    """Too many requests from one source; try again after `retry_after` seconds."""

    code = ErrorCode.RATE_LIMITED

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Conflict(DomainError):
    """The change clashes with the current state."""

    code = ErrorCode.CONFLICT


class ConcurrentChange(Conflict):
    """A versioned record's UPDATE found another version than the one it loaded: a concurrent write won the race."""

    def __init__(self) -> None:
        super().__init__(
            "The record was changed by someone else while this change was being saved; nothing was saved. "
            "Read it again and make your change on the current version."
        )


class StaleVersion(Conflict):
    """A change made from an older read of a record; nothing was written. `changed` names the fields changed since."""

    def __init__(self, message: str, *, field: str, changed: list[str]) -> None:
        super().__init__(message, field=field)
        self.changed = list(changed)

    @property
    def errors(self) -> list[FieldError]:
        """The conflict itself, then one error on each field changed since the client's read."""
        return [
            FieldError(self.field, self.code, self.message),
            *(
                FieldError(name, self.code, f"{name} was changed by someone else after you read it.")
                for name in self.changed
            ),
        ]


class ValidationFailed(DomainError):
    """One or more input fields are wrong; nothing was changed."""

    def __init__(self, field_errors: list[FieldError]) -> None:
        self.field_errors = list(field_errors)
        first = self.field_errors[0]
        super().__init__(first.message, field=first.field)

    @property
    def errors(self) -> list[FieldError]:
        return list(self.field_errors)


class Validator:
    """Collects field errors so a use case can report every bad field at once."""

    def __init__(self) -> None:
        self.field_errors: list[FieldError] = []

    def fail(self, field: str, code: Code, message: str) -> None:
        self.field_errors.append(FieldError(field, code, message))

    def require_text(self, field: str, value: str | None, *, max_length: int, required: bool = True) -> str | None:
        """Strip a text value and check presence, length and that PostgreSQL can store it."""
        if value is None:
            if required:
                self.fail(field, ErrorCode.REQUIRED, f"{field} is required.")
            return None
        stripped = value.strip()
        if not stripped and required:
            self.fail(field, ErrorCode.REQUIRED, f"{field} must not be blank.")
        elif len(stripped) > max_length:
            self.fail(field, ErrorCode.TOO_LONG, f"{field} must be at most {max_length} characters.")
        elif (reason := unstorable_reason(stripped)) is not None:
            self.fail(field, ErrorCode.INVALID, f"{field} {reason}.")
        return stripped or None

    def require_texts(self, field: str, values: list[str] | None, *, max_length: int, max_items: int) -> list[str]:
        """Strip a list of short texts (products, interests), dropping blanks, and check how many and how long."""
        values = values or []
        if len(values) > max_items:
            self.fail(field, ErrorCode.TOO_LONG, f"{field} may hold at most {max_items} entries.")
            return []
        cleaned = (
            self.require_text(f"{field}[{i}]", value, max_length=max_length, required=False)
            for i, value in enumerate(values)
        )
        return [text for text in cleaned if text]

    def raise_if_any(self) -> None:
        if self.field_errors:
            raise ValidationFailed(self.field_errors)


def required(field: str) -> ValidationFailed:
    """The error for a missing required input field."""
    return ValidationFailed([FieldError(field, ErrorCode.REQUIRED, f"{field} is required.")])
