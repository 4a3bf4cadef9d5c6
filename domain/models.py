"""Every mapped model, imported in one place so metadata is complete (Alembic, tests)."""

from domain.accounts import Account, Contact
from domain.activities import Activity
from domain.analytics import ForecastAdjustment
from domain.audit import AuditEvent
from domain.base import Base
from domain.buying_centre import OpportunityCompetitor, OpportunityContact
from domain.credentials import OAuthClient, SigningKey
from domain.deal_registrations import DealRegistration
from domain.lead_routing import RoutingDecision, RoutingRule
from domain.leads import Lead
from domain.opportunities import Opportunity, OpportunityPartner, OpportunityTeamMember
from domain.organizations import Organization
from domain.pipelines import Pipeline, PipelineStage
from domain.policy_rules import PolicyRule
from domain.quotas import Quota
from domain.stage_gates import StageApproval, StageGate
from domain.team_stage_rules import TeamStageRule
from domain.tenants import Tenant
from domain.territories import Territory
from domain.users import User
from domain.web_forms import WebForm, WebFormSubmission

__all__ = [
    "Account",
    "Activity",
    "AuditEvent",
    "Base",
    "Contact",
    "DealRegistration",
    "ForecastAdjustment",
    "Lead",
    "OAuthClient",
    "Opportunity",
    "OpportunityCompetitor",
    "OpportunityContact",
    "OpportunityPartner",
    "OpportunityTeamMember",
    "Organization",
    "Pipeline",
    "PipelineStage",
    "PolicyRule",
    "Quota",
    "RoutingDecision",
    "RoutingRule",
    "SigningKey",
    "StageApproval",
    "StageGate",
    "TeamStageRule",
    "Tenant",
    "Territory",
    "User",
    "WebForm",
    "WebFormSubmission",
]
