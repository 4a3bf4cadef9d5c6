-- Row-level security for the PostGraphile side of the benchmark: the same visibility as our API, in PostgreSQL.
--
-- Applied by the bench (bench/postgraphile_side.py), never by a migration: the product does not use row-level
-- security. Our API and the floor connect as the tables' owner (a superuser), so these policies do not touch
-- them; PostGraphile switches to bench_pg_admin or bench_pg_partner per request (pgSettings `role`) and the
-- verified token's `tid` and `sub` claims reach the policies as jwt.claims.tid / jwt.claims.sub.
--
-- Policies are written inline (EXISTS over the partner link and the organization path), which PostgreSQL plans
-- as joins; only the viewer's organization path (read once per statement, as an InitPlan) and one recursion
-- breaker (team rows) are functions. Idempotent: every run drops and recreates what it owns.

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bench_pg_admin') THEN CREATE ROLE bench_pg_admin NOLOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bench_pg_partner') THEN CREATE ROLE bench_pg_partner NOLOGIN; END IF;
END $$;

CREATE SCHEMA IF NOT EXISTS bench_rls;
CREATE SCHEMA IF NOT EXISTS bench_api;  -- functions PostGraphile serves beside the tables
GRANT USAGE ON SCHEMA bench_api TO bench_pg_admin, bench_pg_partner;
GRANT USAGE ON SCHEMA bench_rls TO bench_pg_admin, bench_pg_partner;
GRANT USAGE ON SCHEMA public TO bench_pg_admin, bench_pg_partner;

CREATE OR REPLACE FUNCTION bench_rls.tenant_id() RETURNS uuid LANGUAGE sql STABLE AS
$$ SELECT NULLIF(current_setting('jwt.claims.tid', true), '')::uuid $$;

CREATE OR REPLACE FUNCTION bench_rls.user_id() RETURNS uuid LANGUAGE sql STABLE AS
$$ SELECT NULLIF(current_setting('jwt.claims.sub', true), '')::uuid $$;

-- The viewer's home organization's materialized path (read past the policies, as the sign-in check does).
CREATE OR REPLACE FUNCTION bench_rls.org_path() RETURNS text LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp AS
$$ SELECT o.path FROM app_user u JOIN organization o ON o.tenant_id = u.tenant_id AND o.id = u.organization_id
   WHERE u.tenant_id = bench_rls.tenant_id() AND u.id = bench_rls.user_id() AND u.is_active $$;

-- Whether a partner viewer sees an opportunity (own, team seat, or linked to its organization subtree). Used only
-- by the team table's policy, whose rows the opportunity policy itself reads: a function breaks the recursion.
CREATE OR REPLACE FUNCTION bench_rls.partner_sees_opportunity(p_opportunity_id uuid) RETURNS boolean LANGUAGE sql
STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$$ SELECT EXISTS (
     SELECT 1 FROM opportunity o
     WHERE o.tenant_id = bench_rls.tenant_id() AND o.id = p_opportunity_id AND (
       o.owner_id = bench_rls.user_id()
       OR EXISTS (SELECT 1 FROM opportunity_team_member t
                  WHERE t.tenant_id = o.tenant_id AND t.opportunity_id = o.id AND t.user_id = bench_rls.user_id())
       OR EXISTS (SELECT 1 FROM opportunity_partner p JOIN organization g
                    ON g.tenant_id = p.tenant_id AND g.id = p.organization_id
                  WHERE p.tenant_id = o.tenant_id AND p.opportunity_id = o.id
                    AND g.path LIKE bench_rls.org_path() || '%'))) $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA bench_rls TO bench_pg_admin, bench_pg_partner;

-- The tables PostGraphile serves (granted tables only: the config sets ignoreRBAC off).
GRANT SELECT ON organization, app_user, account, opportunity, opportunity_partner, opportunity_team_member,
  activity, quote, lead, deal_registration, sales_order, installment TO bench_pg_admin, bench_pg_partner;
GRANT INSERT ON activity TO bench_pg_admin, bench_pg_partner;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['organization', 'app_user', 'account', 'opportunity', 'opportunity_partner',
                           'opportunity_team_member', 'activity', 'quote', 'lead', 'deal_registration',
                           'sales_order', 'installment'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('DROP POLICY IF EXISTS bench_admin ON %I', t);
    EXECUTE format('DROP POLICY IF EXISTS bench_partner ON %I', t);
    -- admin: the whole tenant
    EXECUTE format('CREATE POLICY bench_admin ON %I TO bench_pg_admin USING (tenant_id = (SELECT bench_rls.tenant_id()))', t);
  END LOOP;
END $$;

-- Partner roles (partner_sales, partner_manager, partner_admin): their organization and every one below it.
CREATE POLICY bench_partner ON organization TO bench_pg_partner USING (
  tenant_id = (SELECT bench_rls.tenant_id()) AND path LIKE (SELECT bench_rls.org_path()) || '%');

-- People of the organization subtree; internal users (an internal owner, a specialist on the team) are invisible.
CREATE POLICY bench_partner ON app_user TO bench_pg_partner USING (
  tenant_id = (SELECT bench_rls.tenant_id())
  AND EXISTS (SELECT 1 FROM organization g WHERE g.tenant_id = app_user.tenant_id AND g.id = app_user.organization_id
              AND g.path LIKE (SELECT bench_rls.org_path()) || '%'));

-- A link is shown when its organization is visible.
CREATE POLICY bench_partner ON opportunity_partner TO bench_pg_partner USING (
  tenant_id = (SELECT bench_rls.tenant_id())
  AND EXISTS (SELECT 1 FROM organization g WHERE g.tenant_id = opportunity_partner.tenant_id
              AND g.id = opportunity_partner.organization_id AND g.path LIKE (SELECT bench_rls.org_path()) || '%'));

-- Own deals, deals with a team seat, deals linked to the subtree.
CREATE POLICY bench_partner ON opportunity TO bench_pg_partner USING (
  tenant_id = (SELECT bench_rls.tenant_id()) AND (
    owner_id = (SELECT bench_rls.user_id())
    OR EXISTS (SELECT 1 FROM opportunity_team_member t WHERE t.tenant_id = opportunity.tenant_id
               AND t.opportunity_id = opportunity.id AND t.user_id = (SELECT bench_rls.user_id()))
    OR EXISTS (SELECT 1 FROM opportunity_partner p JOIN organization g
                 ON g.tenant_id = p.tenant_id AND g.id = p.organization_id
               WHERE p.tenant_id = opportunity.tenant_id AND p.opportunity_id = opportunity.id
                 AND g.path LIKE (SELECT bench_rls.org_path()) || '%')));

-- Every seat of a visible deal (the user behind it follows app_user's rule).
CREATE POLICY bench_partner ON opportunity_team_member TO bench_pg_partner USING (
  tenant_id = (SELECT bench_rls.tenant_id())
  AND (user_id = (SELECT bench_rls.user_id()) OR bench_rls.partner_sees_opportunity(opportunity_id)));

-- Owned accounts, accounts a subtree partner manages, accounts of visible deals.
CREATE POLICY bench_partner ON account TO bench_pg_partner USING (
  tenant_id = (SELECT bench_rls.tenant_id()) AND (
    owner_id = (SELECT bench_rls.user_id())
    OR EXISTS (SELECT 1 FROM organization g WHERE g.tenant_id = account.tenant_id
               AND g.id = account.managing_partner_id AND g.path LIKE (SELECT bench_rls.org_path()) || '%')
    OR EXISTS (SELECT 1 FROM opportunity o WHERE o.tenant_id = account.tenant_id AND o.account_id = account.id)));

-- Activities of visible deals, or (with no deal) of visible accounts, and one's own.
CREATE POLICY bench_partner ON activity TO bench_pg_partner USING (
  tenant_id = (SELECT bench_rls.tenant_id()) AND (
    owner_id = (SELECT bench_rls.user_id()) OR assignee_id = (SELECT bench_rls.user_id())
    OR (opportunity_id IS NOT NULL AND EXISTS (SELECT 1 FROM opportunity o WHERE o.tenant_id = activity.tenant_id
                                               AND o.id = activity.opportunity_id))
    OR (opportunity_id IS NULL AND EXISTS (SELECT 1 FROM account a WHERE a.tenant_id = activity.tenant_id
                                           AND a.id = activity.account_id))))
  WITH CHECK (tenant_id = (SELECT bench_rls.tenant_id()) AND owner_id = (SELECT bench_rls.user_id()));

-- Quotes follow their deal, but a partner's commerce grants are org (tree) and own, not team seats.
CREATE POLICY bench_partner ON quote TO bench_pg_partner USING (
  tenant_id = (SELECT bench_rls.tenant_id())
  AND EXISTS (SELECT 1 FROM opportunity o WHERE o.tenant_id = quote.tenant_id AND o.id = quote.opportunity_id AND (
    o.owner_id = (SELECT bench_rls.user_id())
    OR EXISTS (SELECT 1 FROM opportunity_partner p JOIN organization g
                 ON g.tenant_id = p.tenant_id AND g.id = p.organization_id
               WHERE p.tenant_id = o.tenant_id AND p.opportunity_id = o.id
                 AND g.path LIKE (SELECT bench_rls.org_path()) || '%'))));

-- Leads offered to (or found by) the subtree, and one's own.
CREATE POLICY bench_partner ON lead TO bench_pg_partner USING (
  tenant_id = (SELECT bench_rls.tenant_id()) AND (
    owner_id = (SELECT bench_rls.user_id()) OR created_by_id = (SELECT bench_rls.user_id())
    OR EXISTS (SELECT 1 FROM organization g WHERE g.tenant_id = lead.tenant_id
               AND g.id = lead.partner_organization_id AND g.path LIKE (SELECT bench_rls.org_path()) || '%')));

-- Registrations of the subtree's partners, and one's own submissions.
CREATE POLICY bench_partner ON deal_registration TO bench_pg_partner USING (
  tenant_id = (SELECT bench_rls.tenant_id()) AND (
    submitted_by_id = (SELECT bench_rls.user_id())
    OR EXISTS (SELECT 1 FROM organization g WHERE g.tenant_id = deal_registration.tenant_id
               AND g.id = deal_registration.partner_organization_id
               AND g.path LIKE (SELECT bench_rls.org_path()) || '%')));

-- Orders: the subtree's own purchases, orders of deals it sees by org (tree) or ownership, one's own, and those of
-- accounts one owns; never through the account alone otherwise (the enterprise's direct business stays hidden).
CREATE POLICY bench_partner ON sales_order TO bench_pg_partner USING (
  tenant_id = (SELECT bench_rls.tenant_id()) AND (
    owner_id = (SELECT bench_rls.user_id())
    OR EXISTS (SELECT 1 FROM organization g WHERE g.tenant_id = sales_order.tenant_id
               AND g.id = sales_order.partner_organization_id AND g.path LIKE (SELECT bench_rls.org_path()) || '%')
    OR EXISTS (SELECT 1 FROM opportunity o WHERE o.tenant_id = sales_order.tenant_id
               AND o.id = sales_order.opportunity_id AND (
                 o.owner_id = (SELECT bench_rls.user_id())
                 OR EXISTS (SELECT 1 FROM opportunity_partner p JOIN organization g
                              ON g.tenant_id = p.tenant_id AND g.id = p.organization_id
                            WHERE p.tenant_id = o.tenant_id AND p.opportunity_id = o.id
                              AND g.path LIKE (SELECT bench_rls.org_path()) || '%')))
    OR EXISTS (SELECT 1 FROM account a WHERE a.tenant_id = sales_order.tenant_id AND a.id = sales_order.account_id
               AND a.owner_id = (SELECT bench_rls.user_id()))));

-- Installments of visible orders (the bench has no contracts).
CREATE POLICY bench_partner ON installment TO bench_pg_partner USING (
  tenant_id = (SELECT bench_rls.tenant_id())
  AND EXISTS (SELECT 1 FROM sales_order s WHERE s.tenant_id = installment.tenant_id AND s.id = installment.order_id));

-- Approved registrations whose protection ends before a time, newest first (the generated schema cannot say "<").
DROP FUNCTION IF EXISTS bench_api.registrations_expiring(timestamptz);
CREATE FUNCTION bench_api.registrations_expiring(before timestamptz) RETURNS SETOF public.deal_registration
LANGUAGE sql STABLE AS
$$ SELECT r.* FROM public.deal_registration r WHERE r.status = 'APPROVED' AND r.protection_expires_at < before
   ORDER BY r.created_at DESC, r.id DESC $$;

-- Receivables per currency (our `receivables`): planned, billed, paid, due and overdue over visible installments.
DROP FUNCTION IF EXISTS bench_api.receivables();
DROP TYPE IF EXISTS bench_api.receivable_totals;
CREATE TYPE bench_api.receivable_totals AS (currency text, planned numeric, billed numeric, paid numeric, due numeric,
                                            overdue numeric);
CREATE FUNCTION bench_api.receivables() RETURNS SETOF bench_api.receivable_totals LANGUAGE sql STABLE AS
$$ SELECT i.currency::text, sum(i.amount),
          sum(CASE WHEN i.order_id IS NOT NULL AND EXISTS (
                SELECT 1 FROM public.sales_order s WHERE s.tenant_id = i.tenant_id AND s.id = i.order_id
                AND s.invoice_state IS NOT NULL AND s.invoice_state NOT IN ('none', 'pending'))
              THEN i.amount ELSE i.paid_amount END),
          sum(i.paid_amount),
          sum(CASE WHEN i.amount - i.paid_amount > 0 THEN i.amount - i.paid_amount ELSE 0 END),
          sum(CASE WHEN i.amount - i.paid_amount > 0 AND i.due_date < (now() AT TIME ZONE 'UTC')::date
              THEN i.amount - i.paid_amount ELSE 0 END)
   FROM public.installment i WHERE i.order_id IS NOT NULL
   GROUP BY i.currency ORDER BY i.currency $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA bench_api TO bench_pg_admin, bench_pg_partner;

-- The forecast by category (our `forecast { byCategory }`): PostGraphile's generated schema has no aggregates, so
-- the nearest equivalent is a SQL function it exposes as a root field. SECURITY INVOKER: the policies apply.
DROP FUNCTION IF EXISTS bench_api.forecast_by_category(date, date, text);
DROP TYPE IF EXISTS bench_api.forecast_bucket;
CREATE TYPE bench_api.forecast_bucket AS (category forecast_category, deals integer, amount numeric,
                                          weighted_amount numeric);
CREATE FUNCTION bench_api.forecast_by_category(period_start date, period_end date, currency text)
RETURNS SETOF bench_api.forecast_bucket LANGUAGE sql STABLE AS
$$ SELECT o.forecast_category, count(*)::integer, sum(o.amount), sum(o.amount * o.probability / 100)
   FROM public.opportunity o
   WHERE o.close_date >= period_start AND o.close_date <= period_end AND o.currency = forecast_by_category.currency
   GROUP BY o.forecast_category $$;
GRANT EXECUTE ON FUNCTION bench_api.forecast_by_category(date, date, text) TO bench_pg_admin, bench_pg_partner;

-- sales_order.partner_organization_id has no foreign key; tell PostGraphile the relation (a smart-tag comment).
COMMENT ON TABLE sales_order IS
  E'@foreignKey (tenant_id, partner_organization_id) references organization (tenant_id, id)|@fieldName partner';
