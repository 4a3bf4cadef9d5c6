// Who is signed in, and what that means for the portal: their organization, whether it is a distributor
// (whose lists then span its dealers, with a dealer filter), and whether they administer its users.
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { html } from "./html.js";
import { t } from "./i18n.js";

export const VIEWER_QUERY = `query Viewer {
  me { id name email roles organization { id name kind tier children { id name kind } } }
}`;

export const ViewerContext = createContext(null);

export function useViewer() {
  return useContext(ViewerContext);
}

/** The portal's view of a `me` answer. */
export function describeViewer(me) {
  const organization = me.organization || { id: null, name: "", kind: null, children: [] };
  const dealers = (organization.children || []).filter((o) => o.kind !== "ENTERPRISE");
  return {
    ...me,
    organization,
    isPartner: organization.kind !== null && organization.kind !== "ENTERPRISE",
    isDistributor: organization.kind === "DISTRIBUTOR",
    isAdmin: me.roles.includes("partner_admin"),
    isManager: me.roles.includes("partner_admin") || me.roles.includes("partner_manager"),
    dealers,
  };
}

/** For a distributor: a select narrowing a list to one of its dealers (or its own organization). */
export function DealerFilter({ value, onChange, id }) {
  const viewer = useViewer();
  if (!viewer || !viewer.isDistributor || !viewer.dealers.length) return null;
  return html`
    <div class="field field-inline">
      <label for=${id}>${t("filter.dealer")}</label>
      <select id=${id} value=${value || ""} onChange=${(e) => onChange(e.currentTarget.value || null)}>
        <option value="">${t("filter.all_dealers")}</option>
        <option value=${viewer.organization.id}>${viewer.organization.name} (${t("filter.own")})</option>
        ${viewer.dealers.map((d) => html`<option value=${d.id}>${d.name}</option>`)}
      </select>
    </div>
  `;
}
