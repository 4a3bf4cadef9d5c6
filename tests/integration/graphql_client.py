"""Calling the GraphQL API over HTTP (through the ASGI app) as a given user of a test world."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.tokens import issue_user_token
from api.graphql.relay import to_global_id


@dataclass
class Caller:
    """One signed-in user: `await caller(QUERY, name=value)` returns the JSON response."""

    client: httpx.AsyncClient
    token: str

    async def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        """The response's data, asserting there were no errors."""
        body = await self(query, **variables)
        assert not body.get("errors"), body["errors"]
        return body["data"]  # type: ignore[no-any-return]


async def caller_for(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, user_id: uuid.UUID
) -> Caller:
    return Caller(client, await issue_user_token(sessions, tenant_id, user_id))


def gid(type_name: str, record_id: uuid.UUID) -> str:
    return str(to_global_id(type_name, record_id))
