"""Order line unit prices carry four places, so quantity × unit price gives back the line's net amount."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from domain.commerce.orders import net_unit_price
from domain.commerce.receivables import monthly_due_dates, plan


def test_a_net_amount_that_does_not_divide_evenly() -> None:
    unit = net_unit_price(Decimal("100.00"), Decimal("3"))
    assert unit == Decimal("33.3333")
    assert (unit * 3).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) == Decimal("100.00")


@given(
    net=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999.99"), places=2),
    quantity=st.integers(min_value=1, max_value=99),
)
def test_quantity_times_unit_price_rounds_back_to_the_net_amount(net: Decimal, quantity: int) -> None:
    """Below 100 units four places always suffice; beyond, the order line takes quantity × unit price as its
    amount (what the ERP will bill), which may differ from the quote's by a cent."""
    unit = net_unit_price(net, Decimal(quantity))
    assert (unit * quantity).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) == net


@given(
    total=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999.99"), places=2),
    count=st.integers(min_value=1, max_value=120),
)
def test_a_payment_plan_sums_exactly_to_its_total(total: Decimal, count: int) -> None:
    from datetime import date

    dues = plan(total, monthly_due_dates(date(2026, 1, 31), count))
    assert len(dues) == count and sum(amount for _, amount in dues) == total
    assert len({(due.year, due.month) for due, _ in dues}) == count  # one installment in each month


def test_tax_is_taken_out_of_what_tryton_reports_paid() -> None:
    from integrations.erp.tryton import net_share

    untaxed, total = Decimal("100.00"), Decimal("119.00")  # 19 % VAT on the invoice
    assert net_share(Decimal("0"), untaxed, total) == Decimal("0.00")
    assert net_share(Decimal("59.50"), untaxed, total) == Decimal("50.00")
    assert net_share(Decimal("119.00"), untaxed, total) == untaxed
    assert net_share(Decimal("42.00"), Decimal("42.00"), Decimal("42.00")) == Decimal("42.00")  # no tax
