"""Shapes of the simple GraphQL types, read from their resolvers: the fields whose resolver only reads the row.

Most fields of a record type are one line, `return self.row.name`, `return Money(amount=self.row.total,
currency=self.row.currency)`, or the two lines of a visible to-one record (`row = await load(info, "User",
self.row.owner_id)` then `return UserType.from_row(row) if row else None`). The compiler can read such a field
from its column; it learns which fields these are from the resolvers' own source, so the compiled read cannot
drift from them. Any resolver doing more (a check, a conversion, a loader of its own) is not derived and leaves
queries selecting it to the resolvers; `services.compiled_reads.shapes` lists by hand what needs more care.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import typing
from typing import Any

import strawberry

from services.compiled_reads.shapes import Column, FieldShape, GlobalId, MoneyOf, Shape, ToOne, column_of, register


def row_model(origin: type) -> type | None:
    """The model of a type's `row: strawberry.Private[Model]`, if it has one."""
    try:
        hints = typing.get_type_hints(origin, include_extras=True)
    except Exception:  # noqa: BLE001 - a type whose hints do not resolve is simply not derived
        return None
    hint = hints.get("row")
    if hint is None:
        return None
    args = typing.get_args(hint)
    model = args[0] if args else hint
    return model if hasattr(model, "__mapper__") else None


def _row_attribute(node: ast.AST) -> str | None:
    """`self.row.<attribute>` → the attribute."""
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "row"
        and isinstance(node.value.value, ast.Name)
        and node.value.value.id == "self"
    ):
        return node.attr
    return None


def _body(function: Any) -> list[ast.stmt] | None:
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        return None
    tree = ast.parse(source)
    definition = tree.body[0]
    if not isinstance(definition, ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    body = list(definition.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    return body


def field_shape(model: type, function: Any) -> FieldShape | None:
    """The shape of one resolver, when its body is one of the simple forms the module docstring lists."""
    body = _body(function)
    if not body:
        return None
    if len(body) == 1 and isinstance(body[0], ast.Return) and body[0].value is not None:
        value = body[0].value
        if (attribute := _row_attribute(value)) is not None:
            column = column_of(model, attribute)
            return None if column is None else Column(column)
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "Money":
            keywords = {k.arg: _row_attribute(k.value) for k in value.keywords}
            if value.args or set(keywords) != {"amount", "currency"} or None in keywords.values():
                return None
            amount, currency = column_of(model, keywords["amount"] or ""), column_of(model, keywords["currency"] or "")
            return None if amount is None or currency is None else MoneyOf(amount, currency)
        return None
    if len(body) == 2:
        return _to_one(model, body[0], body[1])
    return None


def _to_one(model: type, first: ast.stmt, second: ast.stmt) -> FieldShape | None:
    """`row = await load(info, "T", self.row.x)` then `return TType.from_row(row) if row else None`."""
    if not (
        isinstance(first, ast.Assign)
        and len(first.targets) == 1
        and isinstance(first.targets[0], ast.Name)
        and isinstance(first.value, ast.Await)
        and isinstance(first.value.value, ast.Call)
    ):
        return None
    call = first.value.value
    if not (isinstance(call.func, ast.Name) and call.func.id == "load" and len(call.args) == 3 and not call.keywords):
        return None
    type_name, attribute = call.args[1], _row_attribute(call.args[2])
    if not (isinstance(type_name, ast.Constant) and isinstance(type_name.value, str)) or attribute is None:
        return None
    variable = first.targets[0].id
    if not (
        isinstance(second, ast.Return)
        and isinstance(second.value, ast.IfExp)
        and isinstance(second.value.test, ast.Name)
        and second.value.test.id == variable
        and isinstance(second.value.orelse, ast.Constant)
        and second.value.orelse.value is None
        and isinstance(second.value.body, ast.Call)
        and isinstance(second.value.body.func, ast.Attribute)
        and second.value.body.func.attr == "from_row"
        and len(second.value.body.args) == 1
        and isinstance(second.value.body.args[0], ast.Name)
        and second.value.body.args[0].id == variable
    ):
        return None
    column = column_of(model, attribute)
    return None if column is None else ToOne(type_name.value, column)


def derive(schema: strawberry.Schema) -> dict[str, Shape]:
    """A shape for every object type of the schema backed by a model row, with the fields derivable."""
    shapes: dict[str, Shape] = {}
    converter = schema.config.name_converter
    for name, concrete in schema.schema_converter.type_map.items():
        definition = getattr(concrete, "definition", None)
        origin = getattr(definition, "origin", None)
        if definition is None or origin is None or getattr(definition, "is_input", False):
            continue
        model = row_model(origin)
        if model is None:
            continue
        fields: dict[str, FieldShape] = {}
        if any(f.python_name == "id" and f.base_resolver is None for f in definition.fields) and _global_id_of(
            origin, name
        ):
            fields["id"] = GlobalId()
        for field in definition.fields:
            resolver = field.base_resolver
            if resolver is None:
                continue
            shape = field_shape(model, resolver.wrapped_func)
            if shape is not None:
                fields[converter.get_graphql_name(field)] = shape
        shapes[name] = Shape(model, fields)
    return shapes


def _global_id_of(origin: type, type_name: str) -> bool:
    """Whether `from_row` gives the record the global id of this type: `to_global_id("<type>", row.id)`."""
    from_row = getattr(origin, "from_row", None)
    body = _body(from_row) if from_row is not None else None
    if not body or len(body) != 1 or not isinstance(body[0], ast.Return):
        return False
    for node in ast.walk(body[0]):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "to_global_id":
            first = node.args[0] if node.args else None
            return isinstance(first, ast.Constant) and first.value == type_name
    return False


def register_derived(schema: strawberry.Schema) -> None:
    """Add the derived shapes to the compiler's, which keep the ones listed by hand."""
    register(derive(schema))
