"""Every mapped model, imported in one place so metadata is complete (Alembic, tests)."""

from domain.accounts import Account, Contact
from domain.activities import Activity
from domain.analytics import ForecastAdjustment
from domain.audit import AuditEvent
from domain.base import Base
from domain.buying_centre import OpportunityCompetitor, OpportunityContact
from domain.catalog import PriceList, PriceListItem, Product
from domain.contracts import Contract, ContractLine
from domain.credentials import OAuthClient, SigningKey
from domain.deal_registrations import DealRegistration
from domain.erp_sync import ErpConnection, ErpParty, NumberSequence, OutboxMessage, WebhookReceipt
from domain.idempotency import IdempotencyKey
from domain.lead_routing import RoutingDecision, RoutingRule
from domain.leads import Lead
from domain.opportunities import Opportunity, OpportunityPartner, OpportunityTeamMember
from domain.orders import CreditStanding, Order, OrderLine
from domain.organizations import Organization
from domain.pipelines import Pipeline, PipelineStage
from domain.policy_rules import PolicyRule
from domain.quotas import Quota
from domain.quotes import Quote, QuoteLine
from domain.receivables import Installment, Payment
from domain.saved_views import SavedView
from domain.sign_in.models import (
    AuthSession,
    MailMessage,
    RefreshToken,
    SignInThrottle,
    SsoConnection,
    SsoLogin,
    UserCredential,
    UserLink,
)
from domain.stage_gates import StageApproval, StageGate
from domain.team_stage_rules import TeamStageRule
from domain.tenants import Tenant
from domain.territories import Territory
from domain.usage_budgets import UsageBucket
from domain.users import User
from domain.web_forms import WebForm, WebFormSubmission, WebFormTokenUse

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
