/**
 * Pause and resume (docs/operations.md "Pause and resume"): a source's deliveries (kept by its
 * destination, POST /admin/sources/{source}/pause|resume) or one account's (POST
 * …/accounts/{account}/pause|resume, read with GET …/delivery). Each control shows the state
 * now, who paused it and since when; the button asks for the change and shows whether anything
 * changed. Pausing a source holds every account of it, so it asks for a confirmation first.
 * Ingest and acks go on while paused: held events are delivered in order on resume.
 */
import { useState } from "preact/hooks";
import { adminPath, api } from "../api";
import { time } from "../format";
import { useLoad } from "../load";
import type { AccountDelivery, Destination, PauseAnswer } from "../types";
import { Badge, canAct, ErrorLine, useConsole } from "./common";

const HELD: Record<string, string> = {
  open: "held: its destination's breaker is open",
  paused: "held: its source is paused",
  ceiling: "held: at its destination's delivery ceiling",
};

interface ControlProps {
  /** "Source cybavo" or "Account 42". */
  scope: "source" | "account";
  name: string;
  paused: boolean | undefined;
  pausedAt: string | null;
  pausedBy: string | null;
  /** More to say about the state (why an account is held). */
  detail?: string | null;
  /** Calls the API; resolves to what it answered. */
  change: (action: "pause" | "resume") => Promise<PauseAnswer>;
  reload: () => void;
}

/** The state of one source or account and the button that changes it. */
export function PauseControl({ scope, name, paused, pausedAt, pausedBy, detail, change, reload }: ControlProps) {
  const { session } = useConsole();
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const run = async (action: "pause" | "resume") => {
    setBusy(true);
    setConfirming(false);
    setError(undefined);
    try {
      const answer = await change(action);
      const done = answer.paused ? "Paused" : "Resumed";
      const already = answer.paused ? "It was paused already." : "It was not paused.";
      setMessage(answer.changed ? `${done}.` : already);
      reload();
    } catch (err) {
      setMessage(null);
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const label = scope === "source" ? "Source" : "Account";
  return (
    <div class="pause-control" data-scope={scope}>
      <span class="pause-name">
        {label} <strong>{name}</strong>
      </span>
      {paused === undefined ? (
        <span class="muted">…</span>
      ) : (
        <span class="pause-state">
          <Badge value={paused ? "paused" : "delivering"} />
          {paused && ` since ${time(pausedAt)}${pausedBy === null ? "" : ` by ${pausedBy}`}`}
          {detail ? ` (${detail})` : ""}
        </span>
      )}
      {canAct(session) && paused !== undefined && !confirming && (
        <button
          type="button"
          class={paused ? "" : "secondary"}
          disabled={busy}
          onClick={() => (paused ? run("resume") : scope === "source" ? setConfirming(true) : run("pause"))}
        >
          {paused ? `Resume ${scope}` : `Pause ${scope}${scope === "source" ? "…" : ""}`}
        </button>
      )}
      {confirming && (
        <div class="confirm" role="alertdialog" aria-label="Confirm pause">
          <p>
            Pause every account of the source {name}? Callbacks are still accepted and acknowledged; their deliveries wait, in order, until
            you resume.
          </p>
          <div class="inline">
            <button type="button" class="danger" disabled={busy} onClick={() => run("pause")}>
              Pause source
            </button>
            <button type="button" class="secondary" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        </div>
      )}
      {message && (
        <span class="muted" role="status">
          {message}
        </span>
      )}
      <ErrorLine error={error} />
    </div>
  );
}

const sourceChange = (source: string) => (action: "pause" | "resume") => api.post<PauseAnswer>(`${adminPath("sources", source)}/${action}`);

/** A source's pause, read from its destination in `destinations` (loaded by the caller). */
export function SourcePauseOf({
  source,
  destination,
  reload,
}: {
  source: string;
  destination: Destination | undefined;
  reload: () => void;
}) {
  const paused = destination?.pausedSources.find((p) => p.source === source);
  return (
    <PauseControl
      scope="source"
      name={source}
      paused={destination === undefined ? undefined : paused !== undefined}
      pausedAt={paused?.at ?? null}
      pausedBy={paused?.by ?? null}
      change={sourceChange(source)}
      reload={reload}
    />
  );
}

/** A source's pause, with its own load of the destinations (the events view of a source). */
export function SourcePause({ source }: { source: string }) {
  const list = useLoad(() => api.get<{ destinations: Destination[] }>("/admin/destinations"), `source-pause ${source}`, 30_000);
  const destination = list.data?.destinations.find((d) => d.sources.includes(source));
  if (list.data !== undefined && destination === undefined) return <p class="muted">{source} is not a configured source.</p>;
  return (
    <>
      <SourcePauseOf source={source} destination={destination} reload={list.reload} />
      <ErrorLine error={list.error} />
    </>
  );
}

/** One account's pause and why its outbox is held (the events view of an account). */
export function AccountPause({ source, account }: { source: string; account: string }) {
  const base = adminPath("sources", source, "accounts", account);
  const state = useLoad(() => api.get<AccountDelivery>(`${base}/delivery`), `account-pause ${base}`, 30_000);
  const data = state.data;
  // An account paused itself says so in the badge; a hold for another reason is the detail.
  const detail = data?.held && !(data.held === "paused" && data.paused) ? HELD[data.held] : null;
  return (
    <>
      <PauseControl
        scope="account"
        name={account}
        paused={data?.paused}
        pausedAt={data?.pausedAt ?? null}
        pausedBy={data?.pausedBy ?? null}
        detail={detail === null || detail === undefined ? null : `${detail}${data?.heldSince ? ` since ${time(data.heldSince)}` : ""}`}
        change={(action) => api.post<PauseAnswer>(`${base}/${action}`)}
        reload={state.reload}
      />
      <ErrorLine error={state.error} />
    </>
  );
}
