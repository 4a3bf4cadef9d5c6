"""GraphQL for a tenant's single sign-on: reading and changing its OpenID Connect configuration (admins)."""

from __future__ import annotations

import datetime

import strawberry
from strawberry.types import Info

from api.auth.sso import callback_url
from api.graphql.errors import UserError
from api.graphql.mutation import mutate
from api.graphql.resolving import ctx, read
from domain.access.unit_of_work import UnitOfWork
from domain.identity.sign_in import sso


@strawberry.type(name="SsoRoleMapping", description="The CRM roles one identity-provider group gives a new user.")
class SsoRoleMappingType:
    group: str = strawberry.field(description="A value of the groups claim, as the provider sends it.")
    roles: list[str] = strawberry.field(description="Internal roles a user made at first sign-in gets for it.")


@strawberry.type(
    name="SsoConnection",
    description="The tenant's OpenID Connect single sign-on. The client secret is write-only and never shown.",
)
class SsoConnectionType:
    issuer: str = strawberry.field(description="The provider's issuer URL; its discovery document must name it.")
    client_id: str = strawberry.field(description="This tenant's client id at the provider.")
    client_secret_set: bool = strawberry.field(description="Whether a client secret is stored.")
    allowed_domains: list[str] = strawberry.field(description="E-mail domains whose people may sign in this way.")
    groups_claim: str = strawberry.field(description="The claim that lists a person's groups at the provider.")
    role_mapping: list[SsoRoleMappingType] = strawberry.field(
        description="Provider groups and the roles they give users made at first sign-in; existing users keep theirs."
    )
    create_users: bool = strawberry.field(
        description="Whether a person with no account is made a user (of the enterprise) at first sign-in."
    )
    enabled: bool = strawberry.field(description="Whether people may sign in this way now.")
    redirect_uri: str = strawberry.field(description="The callback URL to register at the provider.")
    sign_in_url: str = strawberry.field(
        description="Where a browser starts signing in; add ?return_to=<URL on a registered front end>."
    )
    updated_at: datetime.datetime = strawberry.field(description="When the configuration last changed.")


@strawberry.input(description="One provider group and the roles it gives a user made at first sign-in.")
class SsoRoleMappingInput:
    group: str = strawberry.field(description="A value of the groups claim.")
    roles: list[str] = strawberry.field(description="Internal roles (admin, sales_manager, ...), at least one.")


@strawberry.input(description="The tenant's whole single sign-on configuration; it replaces the stored one.")
class ConfigureSsoInput:
    issuer: str = strawberry.field(
        description="The provider's issuer URL: https (http for localhost outside production only)."
    )
    client_id: str = strawberry.field(description="The client id the provider gave this tenant.")
    client_secret: str | None = strawberry.field(
        default=None, description="The client secret; required the first time, null keeps the stored one."
    )
    allowed_domains: list[str] = strawberry.field(
        description="E-mail domains whose people may sign in (example.com), at least one."
    )
    role_mapping: list[SsoRoleMappingInput] = strawberry.field(
        default_factory=list, description="Roles for new users by provider group."
    )
    groups_claim: str = strawberry.field(default="groups", description="The claim that lists a person's groups.")
    create_users: bool = strawberry.field(
        default=False, description="Make a user at first sign-in when none has the e-mail (needs a mapped role)."
    )
    enabled: bool = strawberry.field(default=True, description="Whether people may sign in this way.")


@strawberry.type(description="The result of configuring single sign-on.")
class SsoConnectionPayload:
    sso_connection: SsoConnectionType | None = strawberry.field(description="The configuration now; null when errors.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


@strawberry.type(description="The result of removing single sign-on.")
class RemoveSsoPayload:
    removed: bool = strawberry.field(description="Whether there was a configuration to remove.")
    errors: list[UserError] = strawberry.field(description="What was wrong; empty on success.")


def _public_url(info: Info) -> str:
    return str(ctx(info).request.app.state.settings.public_url)


def connection_type(info: Info, row: sso.SsoSettings) -> SsoConnectionType:
    """The configuration as the API shows it, with the URLs to register at the provider."""
    redirect_uri = callback_url(_public_url(info), row.tenant_slug)
    return SsoConnectionType(
        issuer=row.issuer,
        client_id=row.client_id,
        client_secret_set=row.client_secret_set,
        allowed_domains=row.allowed_domains,
        groups_claim=row.groups_claim,
        role_mapping=[SsoRoleMappingType(group=g, roles=r) for g, r in sorted(row.role_mapping.items())],
        create_users=row.create_users,
        enabled=row.enabled,
        redirect_uri=redirect_uri,
        sign_in_url=redirect_uri.removesuffix("/callback"),
        updated_at=row.updated_at,
    )


@strawberry.type
class SsoQueries:
    @strawberry.field(description="The tenant's single sign-on configuration (admins); null when there is none.")
    async def sso_connection(self, info: Info) -> SsoConnectionType | None:
        row = await read(info, sso.read_settings)
        return connection_type(info, row) if row else None

    @strawberry.field(description="The callback URL to register at the identity provider before configuring (admins).")
    async def sso_redirect_uri(self, info: Info) -> str:
        return callback_url(_public_url(info), await read(info, sso.tenant_slug))


@strawberry.type
class SsoMutations:
    @strawberry.mutation(description="Set up or replace the tenant's OpenID Connect single sign-on (admins).")
    async def configure_sso(self, info: Info, input: ConfigureSsoInput) -> SsoConnectionPayload:
        command = sso.SsoConfiguration(
            issuer=input.issuer,
            client_id=input.client_id,
            client_secret=input.client_secret,
            allowed_domains=list(input.allowed_domains),
            role_mapping=[(m.group, list(m.roles)) for m in input.role_mapping],
            groups_claim=input.groups_claim,
            create_users=input.create_users,
            enabled=input.enabled,
        )
        production = bool(ctx(info).request.app.state.settings.production)

        async def change(uow: UnitOfWork) -> sso.SsoSettings:
            return await sso.configure(uow, command, production=production)

        return await mutate(
            info,
            change,
            payload=lambda row: SsoConnectionPayload(sso_connection=connection_type(info, row), errors=[]),
            failed=lambda errors: SsoConnectionPayload(sso_connection=None, errors=errors),
        )

    @strawberry.mutation(description="Remove the tenant's single sign-on (admins); users and their sessions stay.")
    async def remove_sso(self, info: Info) -> RemoveSsoPayload:
        return await mutate(
            info,
            sso.remove,
            payload=lambda removed: RemoveSsoPayload(removed=removed, errors=[]),
            failed=lambda errors: RemoveSsoPayload(removed=False, errors=errors),
        )
