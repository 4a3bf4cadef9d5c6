"""The partner network through the API: onboarding, programme fields, moving subtrees, partner users."""

from __future__ import annotations

from api.auth.tokens import issue_user_token
from api.graphql.relay import parse_global_id
from tests.integration.graphql_client import caller_for, gid

ONBOARD = """
mutation($input: OnboardPartnerInput!) {
  onboardPartner(input: $input) {
    organization { id name kind tier status specializations parent { name } regions { name } channelManager { email } }
    errors { field code message }
  }
}
"""
UPDATE = """
mutation($input: UpdatePartnerInput!) {
  updatePartner(input: $input) { organization { name tier status specializations } errors { field code message } }
}
"""
MOVE = """
mutation($input: MoveOrganizationInput!) {
  moveOrganization(input: $input) { organization { name parent { name } } errors { field code message } }
}
"""
INVITE = """
mutation($input: InviteUserInput!) {
  inviteUser(input: $input) { user { id email roles organization { name } } errors { field code message } }
}
"""
SET_ACTIVE = """
mutation($input: SetUserActiveInput!) {
  setUserActive(input: $input) { user { email isActive } errors { field code message } }
}
"""
ORGS = "{ organizations(first: 100) { totalCount edges { node { name } } } }"
OPPS = "{ opportunities(first: 100) { edges { node { name } } } }"
AUDIT = "query($id: ID!) { auditEvents(recordId: $id) { edges { node { action reason changes } } } }"


def _org(world, key: str) -> str:  # type: ignore[no-untyped-def]
    return gid("Organization", world.orgs[key].id)


def _codes(payload: dict) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


async def _names(caller, query: str, root: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {e["node"]["name"] for e in (await caller.data(query))[root]["edges"]}


async def test_channel_manager_onboards_a_dealer_the_distributor_then_sees(world, as_) -> None:  # type: ignore[no-untyped-def]
    channel = await as_("channel_mgr")
    data = await channel.data(
        ONBOARD,
        input={
            "name": "Nanjing Automation",
            "kind": "DEALER",
            "parentId": _org(world, "D1"),
            "tier": "GOLD",
            "specializations": ["robotics", " drives ", "robotics"],
            "regionIds": [gid("Territory", world.territories["East"].id)],
            "channelManagerId": gid("User", world.users["channel_mgr"].id),
        },
    )
    payload = data["onboardPartner"]
    assert payload["errors"] == []
    org = payload["organization"]
    assert (org["kind"], org["tier"], org["status"]) == ("DEALER", "GOLD", "ACTIVE")
    assert org["specializations"] == ["drives", "robotics"]
    assert org["parent"] == {"name": world.orgs["D1"].name}
    assert org["regions"] == [{"name": "East"}]
    assert org["channelManager"] == {"email": world.users["channel_mgr"].email}
    assert "Nanjing Automation" in await _names(await as_("d1_admin"), ORGS, "organizations")
    assert "Nanjing Automation" not in await _names(await as_("d2_admin"), ORGS, "organizations")
    events = (await channel.data(AUDIT, id=org["id"]))["auditEvents"]["edges"]
    assert [e["node"]["action"] for e in events] == ["onboarded"]


async def test_partner_admin_onboards_prospects_in_its_own_subtree_only(world, as_) -> None:  # type: ignore[no-untyped-def]
    d1 = await as_("d1_admin")
    data = await d1.data(ONBOARD, input={"name": "Sub dealer", "kind": "DEALER", "parentId": _org(world, "D1")})
    assert data["onboardPartner"]["organization"]["status"] == "PROSPECT"
    assert data["onboardPartner"]["organization"]["tier"] == "REGISTERED"
    # Not with a tier of its choosing, not under another distributor, not under the enterprise
    data = await d1.data(
        ONBOARD, input={"name": "X", "kind": "DEALER", "parentId": _org(world, "D1"), "tier": "PLATINUM"}
    )
    assert _codes(data["onboardPartner"]) == [("tier", "FORBIDDEN")]
    for parent in ("D2", "E"):
        data = await d1.data(ONBOARD, input={"name": "X", "kind": "DEALER", "parentId": _org(world, parent)})
        assert _codes(data["onboardPartner"]) == [("parentId", "NOT_FOUND")]


async def test_tree_shape_rules_and_roles_without_the_grant(world, as_) -> None:  # type: ignore[no-untyped-def]
    admin = await as_("admin")
    data = await admin.data(ONBOARD, input={"name": "X", "kind": "DISTRIBUTOR", "parentId": _org(world, "D1")})
    assert _codes(data["onboardPartner"]) == [("parentId", "PARENT_KIND_NOT_ALLOWED")]
    data = await admin.data(ONBOARD, input={"name": "X", "kind": "DEALER", "parentId": _org(world, "R1a")})
    assert _codes(data["onboardPartner"]) == [("parentId", "PARENT_KIND_NOT_ALLOWED")]
    data = await admin.data(ONBOARD, input={"name": " ", "kind": "DEALER", "parentId": _org(world, "D1")})
    assert _codes(data["onboardPartner"]) == [("name", "REQUIRED")]
    am = await as_("am_east")
    data = await am.data(ONBOARD, input={"name": "X", "kind": "DEALER", "parentId": _org(world, "D1")})
    assert _codes(data["onboardPartner"]) == [(None, "FORBIDDEN")]


async def test_moving_a_dealer_moves_its_subtree_and_who_sees_what(world, as_) -> None:  # type: ignore[no-untyped-def]
    admin, d1, d2 = await as_("admin"), await as_("d1_admin"), await as_("d2_admin")
    # Given a reseller below dealer R1b (which sources O4 under D1)
    data = await admin.data(
        ONBOARD, input={"name": "Reseller under R1b", "kind": "RESELLER", "parentId": _org(world, "R1b")}
    )
    assert data["onboardPartner"]["errors"] == []
    assert "O4" in await _names(d1, OPPS, "opportunities")
    assert "O4" not in await _names(d2, OPPS, "opportunities")
    # When R1b moves from D1 to D2
    data = await admin.data(
        MOVE, input={"id": _org(world, "R1b"), "newParentId": _org(world, "D2"), "reason": "Contract moved"}
    )
    assert data["moveOrganization"]["organization"]["parent"] == {"name": world.orgs["D2"].name}
    # Then D2 sees R1b, its reseller and its deal, and D1 no longer does
    assert "O4" in await _names(d2, OPPS, "opportunities")
    assert "O4" not in await _names(d1, OPPS, "opportunities")
    assert {world.orgs["R1b"].name, "Reseller under R1b"} <= await _names(d2, ORGS, "organizations")
    assert not {world.orgs["R1b"].name, "Reseller under R1b"} & await _names(d1, ORGS, "organizations")
    # And R1b's own user still sees its deal
    assert "O4" in await _names(await as_("r1b_sales"), OPPS, "opportunities")
    events = (await admin.data(AUDIT, id=_org(world, "R1b")))["auditEvents"]["edges"]
    assert events[0]["node"]["action"] == "moved" and events[0]["node"]["reason"] == "Contract moved"


async def test_moves_that_make_no_tree_are_refused(world, as_) -> None:  # type: ignore[no-untyped-def]
    admin = await as_("admin")
    data = await admin.data(MOVE, input={"id": _org(world, "D1"), "newParentId": _org(world, "R1a"), "reason": "x"})
    assert _codes(data["moveOrganization"]) == [("newParentId", "MOVE_INTO_OWN_SUBTREE")]
    data = await admin.data(MOVE, input={"id": _org(world, "R1a"), "newParentId": _org(world, "D1"), "reason": "x"})
    assert _codes(data["moveOrganization"]) == [("newParentId", "INVALID")]
    data = await admin.data(MOVE, input={"id": _org(world, "R1a"), "newParentId": _org(world, "D2"), "reason": ""})
    assert _codes(data["moveOrganization"]) == [("reason", "REQUIRED")]
    d1 = await as_("d1_admin")
    data = await d1.data(MOVE, input={"id": _org(world, "R1a"), "newParentId": _org(world, "R1b"), "reason": "x"})
    assert _codes(data["moveOrganization"]) == [(None, "FORBIDDEN")]


async def test_suspending_a_partner_cuts_its_users_off(world, as_, client, sessions) -> None:  # type: ignore[no-untyped-def]
    token = await issue_user_token(sessions, world.tenant_id, world.users["r1a_sales"].id)
    # A partner cannot suspend (or promote) anyone, itself included
    d1 = await as_("d1_admin")
    data = await d1.data(UPDATE, input={"id": _org(world, "R1a"), "status": "SUSPENDED"})
    assert _codes(data["updatePartner"]) == [("status", "FORBIDDEN")]
    data = await d1.data(UPDATE, input={"id": _org(world, "D1"), "tier": "PLATINUM", "specializations": ["x"]})
    assert _codes(data["updatePartner"]) == [("tier", "FORBIDDEN")]
    # The channel manager suspends R1a
    data = await (await as_("channel_mgr")).data(UPDATE, input={"id": _org(world, "R1a"), "status": "SUSPENDED"})
    assert data["updatePartner"]["organization"]["status"] == "SUSPENDED"
    response = await client.post(
        "/graphql", json={"query": "{ me { email } }"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401


async def test_partner_admin_invites_users_with_partner_roles_into_its_subtree(world, as_, client, sessions) -> None:  # type: ignore[no-untyped-def]
    d1 = await as_("d1_admin")
    email = f"new.rep@{world.slug}.example"
    data = await d1.data(
        INVITE,
        input={
            "email": email.upper(),
            "name": "New Rep",
            "organizationId": _org(world, "R1a"),
            "roles": ["partner_sales"],
        },
    )
    user = data["inviteUser"]["user"]
    assert (user["email"], user["roles"], user["organization"]) == (
        email,
        ["partner_sales"],
        {"name": world.orgs["R1a"].name},
    )
    # The new user signs in and sees their dealer's deal
    new_id = parse_global_id(user["id"])[1]  # type: ignore[index]
    caller = await caller_for(client, sessions, world.tenant_id, new_id)
    assert await _names(caller, OPPS, "opportunities") == {"O3"}
    # Refused: an internal role, a duplicate e-mail, a sibling's organization, the enterprise
    data = await d1.data(
        INVITE, input={"email": "x@x.example", "name": "X", "organizationId": _org(world, "R1a"), "roles": ["admin"]}
    )
    assert _codes(data["inviteUser"]) == [("roles", "ROLE_NOT_ALLOWED")]
    data = await d1.data(
        INVITE, input={"email": email, "name": "X", "organizationId": _org(world, "R1a"), "roles": ["partner_sales"]}
    )
    assert _codes(data["inviteUser"]) == [("email", "EMAIL_TAKEN")]
    r1a = await as_("r1a_admin")
    data = await r1a.data(
        INVITE,
        input={"email": "y@y.example", "name": "Y", "organizationId": _org(world, "R1b"), "roles": ["partner_sales"]},
    )
    assert _codes(data["inviteUser"]) == [("organizationId", "NOT_FOUND")]
    data = await d1.data(
        INVITE,
        input={"email": "z@z.example", "name": "Z", "organizationId": _org(world, "E"), "roles": ["partner_sales"]},
    )
    assert _codes(data["inviteUser"]) == [("organizationId", "NOT_FOUND")]
    # And the enterprise's admin gives internal users internal roles only
    data = await (await as_("admin")).data(
        INVITE,
        input={"email": "w@w.example", "name": "W", "organizationId": _org(world, "E"), "roles": ["partner_admin"]},
    )
    assert _codes(data["inviteUser"]) == [("roles", "ROLE_NOT_ALLOWED")]


async def test_partner_admin_deactivates_its_own_users_only(world, as_, client, sessions) -> None:  # type: ignore[no-untyped-def]
    r1a = await as_("r1a_admin")
    token = await issue_user_token(sessions, world.tenant_id, world.users["r1a_sales"].id)
    data = await r1a.data(SET_ACTIVE, input={"id": gid("User", world.users["r1a_sales"].id), "active": False})
    assert _codes(data["setUserActive"]) == [("reason", "REQUIRED")]
    data = await r1a.data(
        SET_ACTIVE, input={"id": gid("User", world.users["r1b_sales"].id), "active": False, "reason": "x"}
    )
    assert _codes(data["setUserActive"]) == [("id", "NOT_FOUND")]
    data = await r1a.data(
        SET_ACTIVE, input={"id": gid("User", world.users["r1a_sales"].id), "active": False, "reason": "Left"}
    )
    assert data["setUserActive"]["user"]["isActive"] is False
    response = await client.post(
        "/graphql", json={"query": "{ me { email } }"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    data = await r1a.data(
        SET_ACTIVE, input={"id": gid("User", world.users["r1a_admin"].id), "active": False, "reason": "x"}
    )
    assert _codes(data["setUserActive"]) == [("id", "OWN_ACCESS_UNCHANGEABLE")]
