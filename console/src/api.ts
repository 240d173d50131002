/**
 * Calls to the admin API from the console. The session cookie (HttpOnly, set by
 * POST /admin/session) goes with every same-origin request; the page never sees a token after
 * sign-in. A 401 means the session ended (expired, signed out elsewhere, ADMIN_TOKEN rotated):
 * listeners (the app shell) show the sign-in page.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly body: unknown,
  ) {
    super(`${status} ${code}`);
  }
}

type Query = Record<string, string | number | undefined | null>;

const signedOutListeners = new Set<() => void>();

/** Calls `listener` whenever an API call answers 401; returns the unsubscribe function. */
export function onSignedOut(listener: () => void): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

/** `/admin/<segments>`, each segment percent-encoded (an account id may hold `/` or `%`). */
export function adminPath(...segments: string[]): string {
  return `/admin/${segments.map(encodeURIComponent).join("/")}`;
}

/** A query string of the set values only (empty strings and nulls are left out). */
export function queryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

async function call<T>(method: string, path: string, query: Query = {}, body?: unknown): Promise<T> {
  const init: RequestInit = { method, credentials: "same-origin", headers: { accept: "application/json" } };
  if (body !== undefined) {
    init.headers = { accept: "application/json", "content-type": "application/json" };
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path + queryString(query), init);
  const text = await response.text();
  let parsed: unknown = null;
  if (text !== "") {
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON (a proxy's error page): kept as text for the error shown to the operator.
      parsed = text;
    }
  }
  if (!response.ok) {
    const code =
      typeof parsed === "object" && parsed !== null && typeof (parsed as { error?: unknown }).error === "string"
        ? (parsed as { error: string }).error
        : response.statusText || "error";
    if (response.status === 401 && !path.startsWith("/admin/session")) for (const listener of signedOutListeners) listener();
    throw new ApiError(response.status, code, parsed);
  }
  return parsed as T;
}

export const api = {
  get: <T>(path: string, query?: Query) => call<T>("GET", path, query),
  post: <T>(path: string, body?: unknown, query?: Query) => call<T>("POST", path, query, body),
  delete: <T>(path: string) => call<T>("DELETE", path),
};

/** What to tell the operator about a failed call. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 401) return "Not signed in (the session ended): sign in again.";
    if (err.status === 403 && err.code === "read_only") return "Not allowed: this session is read-only.";
    if (err.status === 403 && err.code === "origin_mismatch") return "Refused: the request did not come from this console's own address.";
    if (err.status === 403) return "Not allowed (Cloudflare Access refused this request).";
    if (err.status === 409 && err.code === "not_redeliverable") return "Not redeliverable: its body is past retention or was erased.";
    if (err.status === 409 && err.code === "not_erasable") return "Not erasable while it is pending: wait for delivery or dead-lettering.";
    if (err.status === 404) return "Not found (or this gateway does not have that route yet).";
    if (err.status === 429) return "Too many attempts from this address: wait a minute, then try again.";
    if (err.status === 503) return "The gateway could not reach its storage: try again in a moment.";
    return `The gateway answered ${err.status}: ${err.code}`;
  }
  return `The request failed: ${err instanceof Error ? err.message : String(err)}`;
}
