"""Seed a freshly initialised Tryton database so that sales can be confirmed, shipped and paid.

Run inside the Tryton virtual environment (it imports trytond and proteus, not the project):
    python setup_db.py CONFIG_FILE DATABASE

Creates: a company in USD, a chart of accounts, a fiscal year around today with invoice
sequences and periods, a cash journal payment method ("Cash"), a direct payment term used as
the customers' default, a product category with accounting, the products HW-100 (goods, 100 in
stock), HW-101 (goods, with a 10 % customer tax) and SVC-200 (service), and the monthly recurrence
rule set "CRM monthly".
"""

from __future__ import annotations

import sys
from decimal import Decimal

PRODUCTS = [
    # code, name, type, list price, stock
    ("HW-100", "Edge router", "goods", Decimal("250.00"), 1000),
    ("HW-101", "Access point", "goods", Decimal("120.00"), 1000),  # taxed: 10 % on the invoice
    ("SVC-200", "Managed network service", "service", Decimal("49.90"), 0),
]


def main(config_file: str, database: str) -> None:
    from proteus import Model
    from proteus import config as pconfig

    pconfig.set_trytond(database=database, config_file=config_file)

    from trytond.modules.account.tests.tools import create_chart, create_fiscalyear, get_accounts
    from trytond.modules.account_invoice.tests.tools import create_payment_term, set_fiscalyear_invoice_sequences
    from trytond.modules.company.tests.tools import create_company, get_company

    create_company(currency="USD")
    company = get_company()
    create_chart(company)
    fiscalyear = set_fiscalyear_invoice_sequences(create_fiscalyear(company))
    fiscalyear.click("create_period")
    accounts = get_accounts(company)

    journal_model = Model.get("account.journal")
    (cash_journal,) = journal_model.find([("type", "=", "cash")], limit=1)
    payment_method = Model.get("account.invoice.payment.method")(
        name="Cash", journal=cash_journal, credit_account=accounts["cash"], debit_account=accounts["cash"]
    )
    payment_method.save()

    payment_term = create_payment_term()
    payment_term.save()
    account_config = Model.get("account.configuration")(1)
    account_config.default_customer_payment_term = payment_term
    account_config.save()

    category = Model.get("product.category")(name="CRM products", accounting=True)
    category.account_revenue = accounts["revenue"]
    category.account_expense = accounts["expense"]
    category.save()

    from trytond.modules.account.tests.tools import create_tax

    tax = create_tax(Decimal("0.10"))
    tax.save()
    taxed = Model.get("product.category")(name="CRM taxed products", accounting=True)
    taxed.account_revenue = accounts["revenue"]
    taxed.account_expense = accounts["expense"]
    taxed.customer_taxes.append(tax)
    taxed.save()

    (unit,) = Model.get("product.uom").find([("name", "=", "Unit")])
    template_model = Model.get("product.template")
    (storage,) = Model.get("stock.location").find([("code", "=", "STO")])
    inventory = Model.get("stock.inventory")(location=storage)
    for code, name, type_, price, stock in PRODUCTS:
        template = template_model(name=name, code=code, type=type_, default_uom=unit, salable=True, list_price=price)
        template.account_category = taxed if code == "HW-101" else category
        template.save()
        if stock:
            line = inventory.lines.new(product=template.products[0])
            line.quantity = float(stock)
            line.expected_quantity = 0.0
    inventory.click("confirm")

    rule_set = Model.get("sale.subscription.recurrence.rule.set")(name="CRM monthly")
    (rule,) = rule_set.rules
    rule.freq = "monthly"
    rule.interval = 1
    rule_set.save()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
