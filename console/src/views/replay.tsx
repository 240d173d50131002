/**
 * Replay an account since a time (POST /admin/sources/:source/accounts/:account/replay):
 * every delivered event received since then whose body is kept is sent again, in order, with
 * its original id. Asks for a confirmation first.
 */
import { useState } from "preact/hooks";
import { adminPath, api, describeError } from "../api";
import { canAct, Section, SourceSelect, useConsole } from "../components/common";
import { fromLocalInput, time, toLocalInput } from "../format";
import { navigate, type Route } from "../route";

export function Replay({ route }: { route: Route }) {
  const { session } = useConsole();
  const source = route.params.get("source") ?? "";
  const account = route.params.get("account") ?? "";
  const since = route.params.get("since") ?? "";
  const [draft, setDraft] = useState({ source, account, since });
  const [confirming, setConfirming] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const ready = draft.source !== "" && draft.account !== "" && draft.since !== "";

  const replay = async () => {
    setConfirming(false);
    try {
      const answer = await api.post<{ events: number }>(
        `${adminPath("sources", draft.source, "accounts", draft.account)}/replay`,
        undefined,
        {
          since: draft.since,
        },
      );
      setMessage(`${answer.events} delivered event${answer.events === 1 ? "" : "s"} queued to be sent again.`);
    } catch (err) {
      setMessage(describeError(err));
    }
  };

  if (!canAct(session)) return <p class="muted">Read-only session: replay is not available.</p>;
  return (
    <main>
      <Section title="Replay an account since a time">
        <form
          class="filters"
          onSubmit={(e) => {
            e.preventDefault();
            navigate("replay", draft);
            setMessage(null);
            setConfirming(true);
          }}
        >
          <SourceSelect label="Source" value={draft.source} onChange={(v) => setDraft((d) => ({ ...d, source: v }))} />
          <label>
            Account
            <input
              name="account"
              required
              value={draft.account}
              onInput={(e) => setDraft((d) => ({ ...d, account: e.currentTarget.value }))}
            />
          </label>
          <label>
            Received since
            <input
              name="since"
              type="datetime-local"
              required
              value={toLocalInput(draft.since)}
              onInput={(e) => setDraft((d) => ({ ...d, since: fromLocalInput(e.currentTarget.value) ?? "" }))}
            />
          </label>
          <div class="filter-actions">
            <button type="submit" disabled={!ready}>
              Replay…
            </button>
          </div>
        </form>
        {confirming && (
          <div class="confirm" role="alertdialog" aria-label="Confirm replay">
            <p>
              Send every delivered event of account {draft.account} ({draft.source}) received since {time(draft.since)} to the origin again,
              in order, with their original ids?
            </p>
            <button type="button" onClick={replay}>
              Replay
            </button>
            <button type="button" class="secondary" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        )}
        {message && (
          <p class="notice" role="status">
            {message}
          </p>
        )}
      </Section>
    </main>
  );
}
