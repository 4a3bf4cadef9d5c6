"""A kept statement's actor values and plan constants are written into its text; the request's other values stay."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from domain.access.actor import Actor, ActorKind
from services.compiled_reads.render import CompiledStatement
from services.compiled_reads.run import with_constants

TENANT = uuid.UUID("0b5d5f4e-6a43-4c55-9a37-1c2bd8a0c001")
USER = uuid.UUID("0b5d5f4e-6a43-4c55-9a37-1c2bd8a0c002")
RECORD = uuid.UUID("0b5d5f4e-6a43-4c55-9a37-1c2bd8a0c003")
ACTOR = Actor(
    tenant_id=TENANT,
    kind=ActorKind.USER,
    roles=frozenset({"partner_manager"}),
    user_id=USER,
    organization_path="/a_1/b/",
)


def test_the_actors_values_and_the_plans_constants_are_written_and_the_rest_renumbered() -> None:
    # Given a statement of the actor's with its values, the request's own among them
    before = datetime(2027, 1, 1, tzinfo=UTC)
    statement = CompiledStatement(
        "SELECT x FROM t WHERE t.tenant_id = $1::UUID AND t.id = $2::UUID AND t.owner_id = $3::UUID"
        " AND t.path LIKE $4::VARCHAR || '%' ESCAPE '/' AND t.at < $5::TIMESTAMP WITH TIME ZONE"
        " AND t.status = $6::status AND t.note = $7::VARCHAR AND t.day <= $8::DATE AND t.n > $9::INTEGER"
        " AND t.m > $10::INTEGER AND t.flag = $11::BOOLEAN AND t.tenant_id = $1::UUID LIMIT $12::INTEGER",
        (TENANT, RECORD, USER, "//a/_1//b//", before, "OFFERED", "it's", date(2026, 12, 2), -5, 0, True, 21),
        ("r0",),
    )
    # When its constants are written
    written = with_constants(statement, ACTOR)
    # Then the actor's tenant, user and escaped path, codes, days, numbers and flags are in the text
    assert written.sql == (
        "SELECT x FROM t WHERE t.tenant_id = '0b5d5f4e-6a43-4c55-9a37-1c2bd8a0c001'::UUID AND t.id = $1::UUID"
        " AND t.owner_id = '0b5d5f4e-6a43-4c55-9a37-1c2bd8a0c002'::UUID"
        " AND t.path LIKE '//a/_1//b//'::VARCHAR || '%' ESCAPE '/' AND t.at < $2::TIMESTAMP WITH TIME ZONE"
        " AND t.status = 'OFFERED'::status AND t.note = $3::VARCHAR AND t.day <= '2026-12-02'::DATE"
        " AND t.n > (-5)::INTEGER AND t.m > 0::INTEGER AND t.flag = true::BOOLEAN"
        " AND t.tenant_id = '0b5d5f4e-6a43-4c55-9a37-1c2bd8a0c001'::UUID LIMIT 21::INTEGER"
    )
    # And another record's id, an instant and text with a quote stay parameters, in their order
    assert written.parameters == (RECORD, before, "it's")
    assert written.keys == ("r0",)


def test_placeholders_inside_string_literals_are_left_alone() -> None:
    statement = CompiledStatement("SELECT 'costs $1' || $1::quote_status, E'+/=\\n'", ("SENT",), ("r0",))
    assert with_constants(statement, ACTOR).sql == "SELECT 'costs $1' || 'SENT'::quote_status, E'+/=\\n'"


def test_text_a_request_brings_stays_a_parameter_even_when_it_looks_like_a_code() -> None:
    # A search for "acme" is text (VARCHAR): written in, each search would be a statement of its own
    statement = CompiledStatement("SELECT x FROM t WHERE t.name ILIKE $1::VARCHAR AND t.s = $2::lead_status",
                                  ("acme", "OFFERED"), ("r0",))  # fmt: skip
    written = with_constants(statement, ACTOR)
    assert written.sql == "SELECT x FROM t WHERE t.name ILIKE $1::VARCHAR AND t.s = 'OFFERED'::lead_status"
    assert written.parameters == ("acme",)


def test_a_statement_with_nothing_to_write_is_kept_as_it_is() -> None:
    statement = CompiledStatement("SELECT $1::UUID", (RECORD,), ("r0",))
    assert with_constants(statement, ACTOR) is statement
