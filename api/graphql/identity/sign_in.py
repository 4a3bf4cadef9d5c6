"""The viewer's own sign-in in GraphQL: sessions, password, second factor; and the tenant's sign-in settings."""

from __future__ import annotations

from datetime import datetime
from typing import TypeAlias

import strawberry
from strawberry.types import Info

from api.graphql.descriptions import describe_values
from api.graphql.errors import UserError
from api.graphql.mutation import mutate
from api.graphql.relay import Node, id_of, to_global_id
from api.graphql.resolving import ctx, read
from domain.access.unit_of_work import UnitOfWork
from domain.identity.sign_in import account
from domain.identity.sign_in.models import AuthSession, MfaRequirement

MfaRequirementType: TypeAlias = MfaRequirement
strawberry.enum(
    MfaRequirementType,
    name="MfaRequirement",
    description="Who must pass a second factor at sign-in: NONE, ADMINS (admin and partner_admin), INTERNAL "
    "(every user of the enterprise) or EVERYONE.",
)
describe_values(
    MfaRequirementType,
    {
        "NONE": "Nobody must.",
        "ADMINS": "The admin and partner_admin roles must.",
        "INTERNAL": "Every user of the enterprise must.",
        "EVERYONE": "Every user must, partners included.",
    },
)


@strawberry.type(name="Session", description="A signed-in device of the viewer.")
class SessionType(Node):
    id: strawberry.ID = strawberry.field(description="Global ID; pass it to revokeSession to end it.")
    method: str = strawberry.field(description="How it was signed in: password, sso, invitation, password_reset.")
    created_at: datetime = strawberry.field(description="When it was signed in.")
    last_used_at: datetime = strawberry.field(description="When its refresh token was last used.")
    expires_at: datetime = strawberry.field(description="When it ends at the latest.")
    client_address: str | None = strawberry.field(description="The client address it was last used from.")
    user_agent: str | None = strawberry.field(description="The browser or client it was last used with.")
    session_id: strawberry.Private[object]

    @classmethod
    def from_row(cls, row: AuthSession) -> SessionType:
        return cls(
            id=to_global_id("Session", row.id),
            method=row.method,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            expires_at=row.expires_at,
            client_address=row.client_address,
            user_agent=row.user_agent,
            session_id=row.id,
        )

    @strawberry.field(description="Whether this request comes from it.")
    def current(self, info: Info) -> bool:
        return ctx(info).actor.session_id == self.session_id


@strawberry.type(name="SignInStatus", description="The viewer's own sign-in methods.")
class SignInStatusType:
    has_password: bool = strawberry.field(description="Whether a password is set.")
    totp_enabled: bool = strawberry.field(description="Whether an authenticator app (TOTP) is the second factor.")
    recovery_codes_left: int = strawberry.field(description="Unused recovery codes.")
    mfa_required: bool = strawberry.field(description="Whether the tenant requires a second factor of the viewer.")


@strawberry.type(name="SignInSettings", description="How the tenant's people sign in.")
class SignInSettingsType:
    mfa_requirement: MfaRequirementType = strawberry.field(description="Who must use a second factor.")
    frontend_origins: list[str] = strawberry.field(
        description="Browser front ends (scheme://host[:port]) allowed to call the API (CORS) and to receive "
        "sign-in redirects."
    )


@strawberry.input(description="Sign-in settings to change; null leaves one as it is.")
class SignInSettingsInput:
    mfa_requirement: MfaRequirementType | None = strawberry.field(default=None, description="Who must use MFA.")
    frontend_origins: list[str] | None = strawberry.field(
        default=None, description="Replaces the registered front-end origins (https, or http for localhost)."
    )


@strawberry.type(description="The result of changing the sign-in settings.")
class SignInSettingsPayload:
    settings: SignInSettingsType | None = strawberry.field(description="The settings now; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.input(description="Change the viewer's password.")
class ChangePasswordInput:
    current_password: str = strawberry.field(description="The password now.")
    new_password: str = strawberry.field(
        description="At least 12 characters, not a common password, not easy to guess."
    )


@strawberry.type(description="The result of changing the password.")
class ChangePasswordPayload:
    ended_sessions: int | None = strawberry.field(description="How many other sessions were ended; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.type(description="A new authenticator secret; confirm it with a code to turn two-factor sign-in on.")
class TotpEnrolmentPayload:
    secret: str | None = strawberry.field(description="The base32 secret, to type into an authenticator app.")
    otpauth_uri: str | None = strawberry.field(description="The otpauth:// URI, to show as a QR code.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.input(description="A current code from the authenticator app.")
class TotpCodeInput:
    code: str = strawberry.field(description="The six-digit code shown now.")


@strawberry.type(description="Recovery codes: each signs in once instead of a code; shown only this once.")
class RecoveryCodesPayload:
    recovery_codes: list[str] | None = strawberry.field(description="Ten one-time codes; store them safely.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.type(description="The result of a sign-in change that returns nothing else.")
class SignInChangePayload:
    ok: bool = strawberry.field(description="Whether it was done.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.input(description="End one of the viewer's sessions.")
class RevokeSessionInput:
    id: strawberry.ID = strawberry.field(description="The session, from mySessions.")


def _settings(row: account.SignInSettings) -> SignInSettingsType:
    return SignInSettingsType(mfa_requirement=row.mfa_requirement, frontend_origins=row.frontend_origins)


def _done(_: object) -> SignInChangePayload:
    return SignInChangePayload(ok=True, errors=[])


def _not_done(errors: list[UserError]) -> SignInChangePayload:
    return SignInChangePayload(ok=False, errors=errors)


def _recovery_codes(codes: list[str]) -> RecoveryCodesPayload:
    return RecoveryCodesPayload(recovery_codes=codes, errors=[])


def _no_recovery_codes(errors: list[UserError]) -> RecoveryCodesPayload:
    return RecoveryCodesPayload(recovery_codes=None, errors=errors)


@strawberry.type
class SignInQueries:
    @strawberry.field(description="The viewer's signed-in devices that have not ended, most recently used first.")
    async def my_sessions(self, info: Info) -> list[SessionType]:
        rows = await read(info, account.my_sessions)
        return [SessionType.from_row(r) for r in rows]

    @strawberry.field(description="The viewer's own sign-in methods.")
    async def my_sign_in(self, info: Info) -> SignInStatusType:
        row = await read(info, account.sign_in_status)
        return SignInStatusType(
            has_password=row.has_password,
            totp_enabled=row.totp_enabled,
            recovery_codes_left=row.recovery_codes_left,
            mfa_required=row.mfa_required,
        )

    @strawberry.field(description="How the tenant's people sign in (admins).")
    async def sign_in_settings(self, info: Info) -> SignInSettingsType:
        return _settings(await read(info, account.read_settings))


@strawberry.type
class SignInMutations:
    @strawberry.mutation(description="End one of the viewer's sessions; its refresh and access tokens stop working.")
    async def revoke_session(self, info: Info, input: RevokeSessionInput) -> SignInChangePayload:
        async def change(uow: UnitOfWork) -> None:
            await account.revoke_session(uow, id_of(input.id, "Session", "id"))

        return await mutate(info, change, payload=_done, failed=_not_done)

    @strawberry.mutation(description="Change the viewer's password; every other session of theirs ends.")
    async def change_password(self, info: Info, input: ChangePasswordInput) -> ChangePasswordPayload:
        async def change(uow: UnitOfWork) -> int:
            return await account.change_password(uow, input.current_password, input.new_password)

        return await mutate(
            info,
            change,
            payload=lambda ended: ChangePasswordPayload(ended_sessions=ended, errors=[]),
            failed=lambda errors: ChangePasswordPayload(ended_sessions=None, errors=errors),
        )

    @strawberry.mutation(description="Start setting up an authenticator app; confirmTotp with a code turns it on.")
    async def enroll_totp(self, info: Info) -> TotpEnrolmentPayload:
        return await mutate(
            info,
            account.begin_totp_enrolment,
            payload=lambda e: TotpEnrolmentPayload(secret=e.secret, otpauth_uri=e.otpauth_uri, errors=[]),
            failed=lambda errors: TotpEnrolmentPayload(secret=None, otpauth_uri=None, errors=errors),
        )

    @strawberry.mutation(description="Turn two-factor sign-in on with a code of the new secret; gives recovery codes.")
    async def confirm_totp(self, info: Info, input: TotpCodeInput) -> RecoveryCodesPayload:
        async def change(uow: UnitOfWork) -> list[str]:
            return await account.confirm_totp_enrolment(uow, input.code)

        return await mutate(info, change, payload=_recovery_codes, failed=_no_recovery_codes)

    @strawberry.mutation(description="Turn two-factor sign-in off with a fresh code (unless the tenant requires it).")
    async def disable_totp(self, info: Info, input: TotpCodeInput) -> SignInChangePayload:
        async def change(uow: UnitOfWork) -> None:
            await account.disable_totp(uow, input.code)

        return await mutate(info, change, payload=_done, failed=_not_done)

    @strawberry.mutation(description="Replace the recovery codes with ten new ones, after a fresh code.")
    async def regenerate_recovery_codes(self, info: Info, input: TotpCodeInput) -> RecoveryCodesPayload:
        async def change(uow: UnitOfWork) -> list[str]:
            return await account.regenerate_recovery_codes(uow, input.code)

        return await mutate(info, change, payload=_recovery_codes, failed=_no_recovery_codes)

    @strawberry.mutation(description="Change who must use a second factor and the registered front ends (admins).")
    async def set_sign_in_settings(self, info: Info, input: SignInSettingsInput) -> SignInSettingsPayload:
        async def change(uow: UnitOfWork) -> account.SignInSettings:
            return await account.change_settings(
                uow, mfa_requirement=input.mfa_requirement, frontend_origins=input.frontend_origins
            )

        return await mutate(
            info,
            change,
            payload=lambda row: SignInSettingsPayload(settings=_settings(row), errors=[]),
            failed=lambda errors: SignInSettingsPayload(settings=None, errors=errors),
        )
