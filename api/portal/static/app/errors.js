// Turning failures into sentences a partner understands, in their language.
import { currentLanguage, t } from "./i18n.js";

/** The sentence for a failure: what happened and what to do. Server messages are English; other languages
 * get the sentence for the error's code, with the server's wording kept as a detail. */
export function describeError(error) {
  if (!error) return null;
  switch (error.kind) {
    case "network":
      return { message: t("error.network") };
    case "unauthenticated":
      return { message: t("error.session") };
    case "forbidden":
      return { message: t("error.forbidden"), detail: detail(error) };
    case "not_found":
      return { message: t("error.not_found"), detail: detail(error) };
    case "rate_limited":
      return { message: t("error.rate_limited") };
    case "invalid":
      return { message: currentLanguage() === "en" ? error.message : t(`error.code.${error.code || "INVALID"}`), detail: detail(error) };
    default:
      return { message: t("error.server"), detail: error.requestId ? t("error.reference", { id: error.requestId }) : null };
  }
}

function detail(error) {
  return currentLanguage() === "en" ? null : error.message;
}

/** A mutation's field errors by input field name (the last part of "input.lines[0].quantity" style paths too). */
export function fieldErrors(error, labels = {}) {
  const byField = {};
  if (!error || !error.errors) return byField;
  for (const e of error.errors) {
    if (!e.field) continue;
    const name = e.field.replace(/^input\./, "");
    const label = labels[name] || labels[name.replace(/\[\d+\].*$/, "")] || name;
    byField[name] = currentLanguage() === "en" ? e.message : t(`error.field.${e.code}`, { field: label });
  }
  return byField;
}
