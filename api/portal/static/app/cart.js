// The cart: products and quantities a partner is about to order, kept in this browser per user until ordered.
import { useEffect, useState } from "preact/hooks";

let owner = null;
let lines = [];
const listeners = new Set();

function key() {
  return `crm.portal.cart.${owner}`;
}

function changed() {
  if (owner) localStorage.setItem(key(), JSON.stringify(lines));
  for (const listener of listeners) listener(lines);
}

/** Load the cart of the signed-in user. */
export function openCart(userId) {
  owner = userId;
  try {
    lines = JSON.parse(localStorage.getItem(key()) || "[]");
  } catch (exc) {
    lines = [];
  }
  changed();
}

export function addToCart(product, quantity) {
  const existing = lines.find((l) => l.productId === product.id);
  if (existing) existing.quantity = String(Number(existing.quantity) + Number(quantity));
  else lines = [...lines, { productId: product.id, code: product.code, name: product.name, unitPrice: product.yourPrice, quantity: String(quantity) }];
  lines = [...lines];
  changed();
}

export function setQuantity(productId, quantity) {
  lines = lines.map((l) => (l.productId === productId ? { ...l, quantity } : l));
  changed();
}

export function removeFromCart(productId) {
  lines = lines.filter((l) => l.productId !== productId);
  changed();
}

export function emptyCart() {
  lines = [];
  changed();
}

/** The cart's lines, re-rendering when they change. */
export function useCart() {
  const [current, setCurrent] = useState(lines);
  useEffect(() => {
    listeners.add(setCurrent);
    setCurrent(lines);
    return () => listeners.delete(setCurrent);
  }, []);
  return current;
}

/** The cart's total per currency, as the portal shows it before ordering (the server prices the order). */
export function cartTotal(items) {
  const totals = {};
  for (const l of items) {
    const amount = Number(l.unitPrice.amount) * Number(l.quantity || 0);
    totals[l.unitPrice.currency] = (totals[l.unitPrice.currency] || 0) + amount;
  }
  return Object.entries(totals).map(([currency, amount]) => ({ currency, amount: amount.toFixed(2) }));
}
