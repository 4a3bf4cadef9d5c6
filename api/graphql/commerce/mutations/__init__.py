"""Mutations: quotes through their life, orders (from quotes, or partner self-service), contracts, price lists,
and the ERP side: pull products now, retry a dead outbox message."""

from __future__ import annotations

import strawberry

from api.graphql.commerce.mutations.accept_quote import accept_quote
from api.graphql.commerce.mutations.approve_contract import approve_contract
from api.graphql.commerce.mutations.approve_quote import approve_quote
from api.graphql.commerce.mutations.cancel_order import cancel_order
from api.graphql.commerce.mutations.create_contract import create_contract
from api.graphql.commerce.mutations.create_order_from_quote import create_order_from_quote
from api.graphql.commerce.mutations.create_quote import create_quote
from api.graphql.commerce.mutations.place_partner_order import place_partner_order
from api.graphql.commerce.mutations.reject_contract import reject_contract
from api.graphql.commerce.mutations.reject_quote import reject_quote
from api.graphql.commerce.mutations.retry_outbox_message import retry_outbox_message
from api.graphql.commerce.mutations.revise_quote import revise_quote
from api.graphql.commerce.mutations.send_quote import send_quote
from api.graphql.commerce.mutations.set_commerce_settings import set_commerce_settings
from api.graphql.commerce.mutations.set_price_list import set_price_list
from api.graphql.commerce.mutations.set_price_list_price import set_price_list_price
from api.graphql.commerce.mutations.submit_contract import submit_contract
from api.graphql.commerce.mutations.submit_quote import submit_quote
from api.graphql.commerce.mutations.sync_products import sync_products
from api.graphql.commerce.mutations.terminate_contract import terminate_contract


@strawberry.type
class CommerceMutations:
    create_quote = create_quote
    revise_quote = revise_quote
    submit_quote = submit_quote
    approve_quote = approve_quote
    reject_quote = reject_quote
    send_quote = send_quote
    accept_quote = accept_quote
    create_order_from_quote = create_order_from_quote
    place_partner_order = place_partner_order
    cancel_order = cancel_order
    create_contract = create_contract
    submit_contract = submit_contract
    approve_contract = approve_contract
    reject_contract = reject_contract
    terminate_contract = terminate_contract
    set_price_list = set_price_list
    set_commerce_settings = set_commerce_settings
    set_price_list_price = set_price_list_price
    sync_products = sync_products
    retry_outbox_message = retry_outbox_message
