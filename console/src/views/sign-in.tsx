/**
 * Sign in: the admin (or read-only) token, once, and the operator's name for the audit log.
 * The token goes to POST /admin/session only; the answer is an HttpOnly cookie the page cannot
 * read, and the token is dropped from memory with the form.
 */
import { useState } from "preact/hooks";
import { ApiError, api, describeError } from "../api";

export function SignIn({ onSignedIn, ended }: { onSignedIn: () => void; ended: boolean }) {
  const [token, setToken] = useState("");
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.post("/admin/session", { token, name: name.trim() });
      setToken("");
      onSignedIn();
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? "That token was not accepted." : describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="sign-in">
      <form class="panel" onSubmit={submit}>
        <h1>webhook-gateway console</h1>
        {ended && <p class="muted">The session ended: sign in again.</p>}
        <label>
          Token
          <input
            name="token"
            type="password"
            autocomplete="current-password"
            required
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
          />
        </label>
        <label>
          Your name (recorded with every action you take)
          <input name="name" autocomplete="username" required maxLength={64} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
