/**
 * Hash routing: the view and its filters live in the URL after `#`, so a view can be shared
 * and reloaded (`/console/#/events?source=cregis&status=dead&q=…`) and the browser's back
 * button walks through earlier filters. Values are percent-encoded by URLSearchParams and the
 * hash always starts with `#/<view>`, so no value from data can turn it into another URL.
 */
import { useEffect, useState } from "preact/hooks";

export const VIEWS = [
  "overview",
  "events",
  "event",
  "dead-letters",
  "quarantine",
  "quarantined",
  "rejections",
  "destinations",
  "destination",
  "bulk",
  "replay",
] as const;
export type View = (typeof VIEWS)[number];

export interface Route {
  view: View;
  params: URLSearchParams;
}

export type Params = Record<string, string | undefined>;

export function parseHash(hash: string): Route {
  const text = hash.replace(/^#\/?/, "");
  const mark = text.indexOf("?");
  const name = mark === -1 ? text : text.slice(0, mark);
  const params = new URLSearchParams(mark === -1 ? "" : text.slice(mark + 1));
  const view = (VIEWS as readonly string[]).includes(name) ? (name as View) : "overview";
  return { view, params };
}

export function hashOf(view: View, params: Params = {}): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== "") query.set(key, value);
  const text = query.toString();
  return `#/${view}${text === "" ? "" : `?${text}`}`;
}

export function navigate(view: View, params: Params = {}): void {
  const next = hashOf(view, params);
  if (window.location.hash !== next) window.location.hash = next;
}

/** The current route; re-renders on every hash change. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const update = () => setRoute(parseHash(window.location.hash));
    window.addEventListener("hashchange", update);
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return route;
}

/** The route's params as a plain record (only the given keys). */
export function pick(params: URLSearchParams, keys: readonly string[]): Params {
  const out: Params = {};
  for (const key of keys) {
    const value = params.get(key);
    if (value !== null && value !== "") out[key] = value;
  }
  return out;
}
