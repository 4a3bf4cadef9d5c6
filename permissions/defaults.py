"""The policy set every new tenant starts with: roles, their inheritance and their grants."""

from __future__ import annotations

from enum import StrEnum

from domain.access.actor import Action, Resource


class Scope(StrEnum):
    """Which rows a grant covers, from narrowest to widest."""

    OWN = "own"
    TEAM = "team"
    ORG = "org"
    ORG_TREE = "org_tree"
    TERRITORY = "territory"
    MANAGED = "managed"  # the partners whose channel manager the user is, and everything below them
    TENANT = "tenant"


R, A, S = Resource, Action, Scope
READ, CREATE, UPDATE, APPROVE = A.READ, A.CREATE, A.UPDATE, A.APPROVE
SALES_RECORDS = (R.ACCOUNT, R.CONTACT, R.OPPORTUNITY, R.ACTIVITY)
COMMERCE = (R.QUOTE, R.ORDER, R.CONTRACT)

# (child role, parent role): the child has every grant of the parent.
ROLE_INHERITANCE: list[tuple[str, str]] = [
    ("sales_director", "sales_manager"),
    ("sales_manager", "account_manager"),
    ("account_manager", "internal_staff"),
    ("solution_specialist", "sales_specialist"),
    ("industry_specialist", "sales_specialist"),
    ("product_specialist", "sales_specialist"),
    ("negotiator", "sales_specialist"),
    ("sales_specialist", "internal_staff"),
    ("channel_manager", "account_manager"),
    ("finance", "internal_staff"),
    ("service_agent", "internal_staff"),
    ("partner_admin", "partner_manager"),
    ("partner_manager", "partner_sales"),
]

Grant = tuple[str, Resource, Action, Scope]


def _grants(role: str, resources: tuple[Resource, ...], actions: tuple[Action, ...], *scopes: Scope) -> list[Grant]:
    return [(role, r, a, s) for r in resources for a in actions for s in scopes]


GRANTS: list[Grant] = [
    # Everyone internal sees the organization chart, the people, the territories and internal fields.
    *_grants("internal_staff", (R.ORGANIZATION, R.USER, R.TERRITORY), (READ,), S.TENANT),
    *_grants("internal_staff", (R.OPPORTUNITY_INTERNAL,), (READ,), S.TENANT),
    *_grants("internal_staff", (R.AUDIT_EVENT,), (READ,), S.TENANT),
    # Specialists work the deals whose team they are on.
    *_grants("sales_specialist", SALES_RECORDS, (READ,), S.TEAM),
    *_grants("sales_specialist", (R.OPPORTUNITY, R.ACTIVITY, R.CONTACT), (UPDATE,), S.TEAM),
    *_grants("sales_specialist", (R.ACTIVITY, R.CONTACT), (CREATE,), S.TEAM),
    *_grants("sales_specialist", (R.OPPORTUNITY_INTERNAL,), (UPDATE,), S.TEAM),
    # Account managers: their own and their teams' business.
    *_grants("account_manager", SALES_RECORDS, (READ, UPDATE), S.OWN, S.TEAM),
    *_grants("account_manager", SALES_RECORDS, (CREATE,), S.OWN),
    *_grants("account_manager", (R.OPPORTUNITY_INTERNAL,), (UPDATE,), S.OWN, S.TEAM),
    # Sales managers: their territory's.
    *_grants("sales_manager", SALES_RECORDS, (READ, UPDATE), S.TERRITORY),
    *_grants("sales_manager", (R.OPPORTUNITY_INTERNAL,), (UPDATE,), S.TERRITORY),
    *_grants("sales_manager", (R.OPPORTUNITY,), (APPROVE,), S.TERRITORY),  # stage approvals
    # Directors: the whole tenant.
    *_grants("sales_director", SALES_RECORDS, (READ, UPDATE), S.TENANT),
    *_grants("sales_director", (R.OPPORTUNITY_INTERNAL,), (UPDATE,), S.TENANT),
    *_grants("sales_director", (R.OPPORTUNITY,), (APPROVE,), S.TENANT),
    # Finance and service read everything they work from, change nothing of sales.
    *_grants("finance", SALES_RECORDS, (READ,), S.TENANT),
    *_grants("service_agent", (R.ACCOUNT, R.CONTACT), (READ,), S.TENANT),
    *_grants("service_agent", (R.ACTIVITY,), (READ, CREATE, UPDATE), S.OWN),
    *_grants("service_agent", (R.ACTIVITY,), (READ,), S.TENANT),
    # Admin: everything in the tenant, policies included.
    *_grants(
        "admin",
        (
            *SALES_RECORDS,
            R.ORGANIZATION,
            R.USER,
            R.TERRITORY,
            R.OPPORTUNITY_INTERNAL,
            R.AUDIT_EVENT,
            R.POLICY,
            R.DEAL_REGISTRATION,
            R.LEAD,
            R.ROUTING_RULE,
            R.PRODUCT,
            *COMMERCE,
            R.ERP_SYNC,
        ),
        (READ, CREATE, UPDATE, APPROVE),
        S.TENANT,
    ),
    # Channel managers run the partner programme: onboarding, tiers, status, moves, deal registrations. They
    # change (and move, at both ends) only the partners they manage and those below them.
    *_grants("channel_manager", (R.ORGANIZATION,), (CREATE,), S.TENANT),
    *_grants("channel_manager", (R.ORGANIZATION,), (UPDATE,), S.MANAGED),
    *_grants("channel_manager", (R.DEAL_REGISTRATION,), (READ, APPROVE), S.MANAGED),
    *_grants("sales_director", (R.DEAL_REGISTRATION,), (READ,), S.TENANT),
    *_grants("channel_manager", (R.LEAD,), (READ, APPROVE), S.MANAGED),
    *_grants("channel_manager", SALES_RECORDS, (READ,), S.MANAGED),
    # Leads: owners work their own, managers their territory's, directors all; managers assign by hand.
    *_grants("account_manager", (R.LEAD,), (READ, UPDATE), S.OWN),
    *_grants("account_manager", (R.LEAD,), (CREATE,), S.OWN),
    *_grants("sales_manager", (R.LEAD,), (READ, UPDATE, APPROVE), S.TERRITORY),
    *_grants("sales_director", (R.LEAD,), (READ, UPDATE, APPROVE), S.TENANT),
    *_grants("sales_director", (R.ROUTING_RULE,), (READ,), S.TENANT),
    # Partner sales: their organization's business and deals they are on.
    *_grants("partner_sales", SALES_RECORDS, (READ,), S.ORG, S.OWN, S.TEAM),
    *_grants("partner_sales", SALES_RECORDS, (UPDATE,), S.OWN, S.TEAM),
    *_grants("partner_sales", SALES_RECORDS, (CREATE,), S.OWN),
    *_grants("partner_sales", (R.ORGANIZATION, R.USER), (READ,), S.ORG),
    *_grants("partner_sales", (R.DEAL_REGISTRATION,), (READ,), S.ORG, S.OWN),
    *_grants("partner_sales", (R.DEAL_REGISTRATION,), (CREATE, UPDATE), S.OWN),
    *_grants("partner_sales", (R.LEAD,), (READ, UPDATE), S.ORG, S.OWN),
    *_grants("partner_sales", (R.LEAD,), (CREATE,), S.OWN),
    # Partner managers and admins: their organization and every one below it.
    *_grants("partner_manager", SALES_RECORDS, (READ, UPDATE), S.ORG_TREE),
    *_grants("partner_manager", (R.ORGANIZATION, R.USER), (READ,), S.ORG_TREE),
    *_grants("partner_manager", (R.DEAL_REGISTRATION,), (READ, UPDATE), S.ORG_TREE),
    *_grants("partner_manager", (R.LEAD,), (READ, UPDATE), S.ORG_TREE),
    *_grants("partner_admin", (R.USER, R.ORGANIZATION), (CREATE, UPDATE), S.ORG_TREE),
    # Who works a deal, on top of the right to edit it. Internal people who may edit a deal seat anyone and link
    # any partner; ownership moves with the owner, their managers, directors and admins, never with a team seat
    # alone. Partners change at most their own organization's seats and link, and hand over only deals owned
    # by their own organization's people (the owner is a seat too), so never an internally owned deal.
    *_grants("internal_staff", (R.OPPORTUNITY_TEAM, R.OPPORTUNITY_PARTNER), (UPDATE,), S.TENANT),
    *_grants("account_manager", (R.OPPORTUNITY_OWNER,), (UPDATE,), S.OWN),
    *_grants("sales_manager", (R.OPPORTUNITY_OWNER,), (UPDATE,), S.TERRITORY),
    *_grants("sales_director", (R.OPPORTUNITY_OWNER,), (UPDATE,), S.TENANT),
    *_grants("admin", (R.OPPORTUNITY_OWNER, R.OPPORTUNITY_TEAM, R.OPPORTUNITY_PARTNER), (UPDATE,), S.TENANT),
    *_grants("partner_sales", (R.OPPORTUNITY_TEAM, R.OPPORTUNITY_PARTNER), (UPDATE,), S.ORG),
    *_grants("partner_sales", (R.OPPORTUNITY_OWNER,), (UPDATE,), S.OWN),
    *_grants("partner_manager", (R.OPPORTUNITY_OWNER,), (UPDATE,), S.ORG_TREE),
    # Commerce: quotes, orders and contracts follow the deals and accounts they belong to.
    *_grants("internal_staff", (R.PRODUCT,), (READ,), S.TENANT),
    *_grants("partner_sales", (R.PRODUCT,), (READ,), S.TENANT),
    *_grants("sales_specialist", COMMERCE, (READ,), S.TEAM),
    *_grants("sales_specialist", (R.QUOTE,), (CREATE, UPDATE), S.TEAM),
    *_grants("account_manager", COMMERCE, (READ, CREATE, UPDATE), S.OWN, S.TEAM),
    *_grants("sales_manager", COMMERCE, (READ, UPDATE), S.TERRITORY),
    *_grants("sales_manager", (R.QUOTE, R.CONTRACT), (APPROVE,), S.TERRITORY),
    *_grants("sales_director", COMMERCE, (READ, UPDATE, APPROVE), S.TENANT),
    *_grants("finance", COMMERCE, (READ,), S.TENANT),
    *_grants("finance", (R.CONTRACT,), (APPROVE,), S.TENANT),
    *_grants("finance", (R.ERP_SYNC,), (READ, UPDATE), S.TENANT),
    *_grants("channel_manager", COMMERCE, (READ,), S.MANAGED),
    *_grants("channel_manager", (R.PRODUCT,), (UPDATE,), S.TENANT),  # partner price lists
    *_grants("partner_sales", COMMERCE, (READ,), S.ORG, S.OWN),
    *_grants("partner_sales", (R.QUOTE, R.ORDER), (CREATE,), S.OWN),
    *_grants("partner_sales", (R.QUOTE, R.ORDER), (UPDATE,), S.OWN),
    *_grants("partner_manager", COMMERCE, (READ,), S.ORG_TREE),
    *_grants("partner_manager", (R.QUOTE, R.ORDER), (UPDATE,), S.ORG_TREE),
    *_grants("erp_integration", (R.ORDER, R.CONTRACT, R.PRODUCT, R.ERP_SYNC), (READ,), S.TENANT),
    *_grants("erp_integration", (R.ERP_SYNC,), (UPDATE,), S.TENANT),
    # ERP jobs read accounts and opportunities across the tenant.
    *_grants("erp_integration", (R.ACCOUNT, R.CONTACT, R.OPPORTUNITY, R.ORGANIZATION), (READ,), S.TENANT),
]


def default_policy_lines(tenant: str) -> list[list[str]]:
    """Casbin lines for one tenant: `["p", role, tenant, resource, action, scope]` and `["g", …]`."""
    lines = [["p", role, tenant, str(res), str(act), str(scope)] for role, res, act, scope in GRANTS]
    lines += [["g", child, parent, tenant] for child, parent in ROLE_INHERITANCE]
    return lines
