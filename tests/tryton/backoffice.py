"""What ERP staff do in Tryton, for tests: ship a sale, pay its invoice, set a credit limit or a price.

The functions run in the project's environment; each starts this file in the Tryton virtual
environment, where it drives the running server with proteus over XML-RPC (the same calls the
Tryton client makes, wizards included).

    ship_sale(server, db, reference)             assign, pick, pack and do the sale's customer shipments
    pay_sale(server, db, reference)              post the sale's invoices and pay each in full (pay wizard)
    post_invoices(server, db, reference)         post the sale's draft invoices
    set_credit_limit(server, db, party_code, amount)
    set_list_price(server, db, product_code, price)
    sale_count(server, db, reference) -> int     sales carrying this reference
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the Tryton side of this file does not import the project
    from tests.tryton.harness import TrytonServer


# -- project side -------------------------------------------------------------------------------
def _run(server: TrytonServer, db: str, action: str, *args: str) -> Any:
    from tests.tryton.harness import venv_python

    server.wake(db)
    url = f"{server.url}/{db}/rpc/"
    result = subprocess.run(
        [venv_python(server.venv), __file__, url, action, *args],
        input=f"{server.login}\n{server.password}\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"back office {action} {args} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def ship_sale(server: TrytonServer, db: str, reference: str) -> None:
    _run(server, db, "ship", reference)


def pay_sale(server: TrytonServer, db: str, reference: str) -> None:
    _run(server, db, "pay", reference)


def post_invoices(server: TrytonServer, db: str, reference: str) -> None:
    """Post the sale's draft invoices (the party then owes their amount)."""
    _run(server, db, "post", reference)


def set_credit_limit(server: TrytonServer, db: str, party_code: str, amount: Decimal | None) -> None:
    _run(server, db, "credit_limit", party_code, "" if amount is None else str(amount))


def set_list_price(server: TrytonServer, db: str, product_code: str, price: Decimal) -> None:
    _run(server, db, "list_price", product_code, str(price))


def sale_count(server: TrytonServer, db: str, reference: str) -> int:
    return int(_run(server, db, "sale_count", reference))


def subscription(server: TrytonServer, db: str, reference: str) -> dict[str, Any]:
    """State and end date of the subscriptions with this reference (how many, too)."""
    return dict(_run(server, db, "subscription", reference))


# -- Tryton side (proteus) ----------------------------------------------------------------------
def _sales(reference: str) -> list[Any]:
    from proteus import Model

    sales = Model.get("sale.sale").find([("reference", "=", reference)])
    if not sales:
        raise SystemExit(f"no sale with reference {reference!r}")
    return sales


def _ship(reference: str) -> None:
    for sale in _sales(reference):
        for shipment in sale.shipments:
            if shipment.state in ("done", "cancelled"):
                continue
            if shipment.state in ("draft", "waiting"):
                shipment.click("assign_try")
            if shipment.state == "assigned":
                shipment.click("pick")
            if shipment.state == "picked":
                shipment.click("pack")
            if shipment.state == "packed":
                shipment.click("do")
            if shipment.state != "done":
                raise SystemExit(f"shipment {shipment.id} stuck in {shipment.state}")


def _post(reference: str) -> None:
    for sale in _sales(reference):
        for invoice in sale.invoices:
            if invoice.state == "draft":
                invoice.click("post")


def _pay(reference: str) -> None:
    from proteus import Model

    (method,) = Model.get("account.invoice.payment.method").find([("name", "=", "Cash")], limit=1)
    for sale in _sales(reference):
        for invoice in sale.invoices:
            if invoice.state == "draft":
                invoice.click("post")
            if invoice.state != "posted":
                continue
            pay = invoice.click("pay")
            pay.form.payment_method = method
            pay.form.amount = invoice.amount_to_pay
            pay.execute("choice")
            invoice.reload()
            if invoice.state != "paid":
                raise SystemExit(f"invoice {invoice.id} is {invoice.state} after paying")


def _credit_limit(code: str, amount: str) -> None:
    from proteus import Model

    (party,) = Model.get("party.party").find([("code", "=", code)])
    party.credit_limit_amount = Decimal(amount) if amount else None
    party.save()


def _list_price(code: str, price: str) -> None:
    from proteus import Model

    (product,) = Model.get("product.product").find([("code", "=", code)])
    template = product.template
    template.list_price = Decimal(price)
    template.save()


def _main(url: str, action: str, *args: str) -> None:
    from proteus import config

    login, password = sys.stdin.read().splitlines()[:2]
    with config.set_xmlrpc_session(url, login, password):  # one login: Basic auth re-hashes per call
        print(json.dumps(_act(action, *args)))


def _act(action: str, *args: str) -> Any:
    from proteus import Model

    result: Any = None
    if action == "ship":
        _ship(*args)
    elif action == "pay":
        _pay(*args)
    elif action == "post":
        _post(*args)
    elif action == "credit_limit":
        _credit_limit(*args)
    elif action == "list_price":
        _list_price(*args)
    elif action == "subscription":
        found = Model.get("sale.subscription").find([("reference", "=", args[0])])
        result = {"count": len(found), "state": found[0].state if found else None,
                  "end_date": found[0].end_date.isoformat() if found and found[0].end_date else None}  # fmt: skip
    elif action == "sale_count":
        result = len(Model.get("sale.sale").find([("reference", "=", args[0])]))
    else:
        raise SystemExit(f"unknown action {action!r}")
    return result


if __name__ == "__main__":
    _main(*sys.argv[1:])
