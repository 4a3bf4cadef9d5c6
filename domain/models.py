"""Every mapped model, imported in one place so metadata is complete (Alembic, tests)."""

from domain.access.policy_rules import PolicyRule
from domain.access.usage_budgets import UsageBucket
from domain.audit.trail import AuditEvent
from domain.channel.deal_registrations import DealRegistration
from domain.channel.lead_routing import RoutingDecision, RoutingRule
from domain.channel.leads import Lead
from domain.channel.organizations import Organization
from domain.channel.web_forms import WebForm, WebFormSubmission, WebFormTokenUse
from domain.commerce.catalog import PriceList, PriceListItem, Product
from domain.commerce.contracts import Contract, ContractLine
from domain.commerce.orders import CreditStanding, Order, OrderLine
from domain.commerce.quotes import Quote, QuoteLine
from domain.commerce.receivables import Installment, Payment
from domain.erp.outbox import ErpConnection, ErpParty, NumberSequence, OutboxMessage, WebhookReceipt
from domain.identity.machine_clients import OAuthClient
from domain.identity.sign_in.models import (
    AuthSession,
    MailMessage,
    RefreshToken,
    SignInThrottle,
    SsoConnection,
    SsoLogin,
    UserCredential,
    UserLink,
)
from domain.identity.signing_keys import SigningKey
from domain.identity.tenants import Tenant
from domain.identity.users import User
from domain.preferences.saved_views import SavedView
from domain.selling.accounts import Account
from domain.selling.activities import Activity
from domain.selling.analytics import ForecastAdjustment
from domain.selling.buying_centre import OpportunityCompetitor, OpportunityContact
from domain.selling.contacts import Contact
from domain.selling.opportunities import Opportunity, OpportunityPartner, OpportunityTeamMember
from domain.selling.pipelines import Pipeline, PipelineStage
from domain.selling.quotas import Quota
from domain.selling.stage_gates import StageApproval, StageGate
from domain.selling.team_stage_rules import TeamStageRule
from domain.selling.territories import Territory
from domain.shared.base import Base
from domain.shared.idempotency import IdempotencyKey

__all__ = [
    "Account",
    "Activity",
    "AuditEvent",
    "AuthSession",
    "Base",
    "Contact",
    "Contract",
    "ContractLine",
    "CreditStanding",
    "DealRegistration",
    "ErpConnection",
    "ErpParty",
    "ForecastAdjustment",
    "IdempotencyKey",
    "Installment",
    "Lead",
    "MailMessage",
    "NumberSequence",
    "OAuthClient",
    "Opportunity",
    "OpportunityCompetitor",
    "OpportunityContact",
    "OpportunityPartner",
    "OpportunityTeamMember",
    "Order",
    "OrderLine",
    "Organization",
    "OutboxMessage",
    "Payment",
    "SavedView",
    "Pipeline",
    "PipelineStage",
    "PolicyRule",
    "PriceList",
    "PriceListItem",
    "Product",
    "Quota",
    "Quote",
    "QuoteLine",
    "RefreshToken",
    "RoutingDecision",
    "RoutingRule",
    "SignInThrottle",
    "SigningKey",
    "SsoConnection",
    "SsoLogin",
    "StageApproval",
    "StageGate",
    "TeamStageRule",
    "Tenant",
    "Territory",
    "UsageBucket",
    "User",
    "UserCredential",
    "UserLink",
    "WebForm",
    "WebFormSubmission",
    "WebFormTokenUse",
    "WebhookReceipt",
]
