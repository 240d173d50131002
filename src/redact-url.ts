/**
 * Origin URLs as operators and the operations webhook see them: origin and path only. Their user
 * information and query can hold credentials (`https://user:key@host/hook?token=…`), and neither
 * the admin API nor an operational event ever carries a secret.
 */

/** `https://user:pw@host:8443/hook?token=x#f` → `https://host:8443/hook`; an unreadable URL shows nothing of itself. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    // The configuration validates every origin URL, so this is not expected; saying so beats echoing it.
    return "(unreadable URL)";
  }
}

/** `text` with the URL, its user information and its query replaced by their redacted forms. */
export function scrubbed(text: string, url: string): string {
  let out = text.split(url).join(redactedUrl(url));
  try {
    const parsed = new URL(url);
    const userinfo =
      parsed.username === "" && parsed.password === "" ? "" : `${parsed.username}${parsed.password === "" ? "" : `:${parsed.password}`}@`;
    if (userinfo !== "") out = out.split(userinfo).join("");
    if (parsed.search.length > 1) out = out.split(parsed.search).join("");
  } catch {
    // redactedUrl already replaced the whole (unreadable) URL; there are no parts to look for.
  }
  return out;
}
