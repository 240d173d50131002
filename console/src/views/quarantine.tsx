/**
 * Quarantine (GET /admin/quarantine): verified callbacks the gateway could not read, with the
 * reason; one opens as its raw bytes (as text). Re-processing runs a source's quarantine through
 * the current adapters (POST /admin/sources/:source/quarantine/reprocess).
 */
import { useState } from "preact/hooks";
import { adminPath, api, describeError } from "../api";
import { Badge, canAct, Empty, ErrorLine, Facts, LinkButton, Loading, Section, SourceSelect, useConsole } from "../components/common";
import { NextPage, useEntryPage } from "../components/entry-page";
import { base64Text, time } from "../format";
import { useLoad } from "../load";
import { navigate, type Route } from "../route";
import type { QuarantinedDetail, ReprocessResult } from "../types";

function Reprocess({ source, done }: { source: string; done: () => void }) {
  const [results, setResults] = useState<ReprocessResult[] | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const answer = await api.post<{ results: ReprocessResult[] }>(`${adminPath("sources", source, "quarantine")}/reprocess`);
      setResults(answer.results);
      done();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="actions">
      <button type="button" disabled={busy} onClick={run}>
        Re-process {source}'s quarantine
      </button>
      <ErrorLine error={error} />
      {results && (
        <table class="results">
          <thead>
            <tr>
              <th>callback</th>
              <th>outcome</th>
              <th>event or reason</th>
            </tr>
          </thead>
          <tbody>
            {results.map((r) => (
              <tr key={r.id}>
                <td>
                  <code>{r.id}</code>
                </td>
                <td>{r.outcome}</td>
                <td class="wrap">
                  {r.eventId && r.account !== undefined ? (
                    <LinkButton onClick={() => navigate("event", { source, account: r.account, id: r.eventId })}>
                      <code>{r.eventId}</code>
                    </LinkButton>
                  ) : (
                    (r.reason ?? "")
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {results && <Empty rows={results.length}>Nothing to re-process.</Empty>}
    </div>
  );
}

export function Quarantine({ route }: { route: Route }) {
  const { session } = useConsole();
  const { source, page } = useEntryPage("/admin/quarantine", route);

  return (
    <main>
      <Section title="Quarantine" actions={<SourceSelect value={source} onChange={(s) => navigate("quarantine", { source: s })} />}>
        {canAct(session) &&
          (source ? <Reprocess source={source} done={page.reload} /> : <p class="muted">Choose a source to re-process its quarantine.</p>)}
        <ErrorLine error={page.error} />
        <Loading when={page.loading} />
        {page.data && (
          <table class="entries">
            <thead>
              <tr>
                <th>received</th>
                <th>source</th>
                <th>callback id</th>
                <th>reason</th>
              </tr>
            </thead>
            <tbody>
              {page.data.entries.map((e) => (
                <tr key={`${e.source}\n${e.id}`}>
                  <td class="nowrap">{time(e.at)}</td>
                  <td>{e.source}</td>
                  <td>
                    <LinkButton onClick={() => navigate("quarantined", { source: e.source, id: e.id })}>
                      <code>{e.id}</code>
                    </LinkButton>
                  </td>
                  <td class="wrap">{e.reason ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {page.data && <Empty rows={page.data.entries.length}>The quarantine is empty.</Empty>}
        <NextPage view="quarantine" source={source} page={page} />
      </Section>
    </main>
  );
}

/** Erase a quarantined callback's raw bytes (personal data), after a confirmation. */
function EraseRaw({ source, id, done }: { source: string; id: string; done: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const erase = async () => {
    setConfirming(false);
    try {
      await api.post(`${adminPath("sources", source, "quarantine", id)}/erase`);
      setMessage("Raw body erased.");
      done();
    } catch (err) {
      setMessage(describeError(err));
    }
  };
  return (
    <div class="actions">
      {!confirming && (
        <button type="button" class="danger" onClick={() => setConfirming(true)}>
          Erase raw body…
        </button>
      )}
      {confirming && (
        <div class="confirm" role="alertdialog" aria-label="Confirm erase">
          <p>Erase this callback's raw body and signed values? Its id and reason stay; it can no longer be re-processed.</p>
          <button type="button" class="danger" onClick={erase}>
            Erase the raw body
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
    </div>
  );
}

/** One quarantined callback: the reason and the exact bytes received, decoded as UTF-8 text. */
export function Quarantined({ route }: { route: Route }) {
  const { session } = useConsole();
  const source = route.params.get("source") ?? "";
  const id = route.params.get("id") ?? "";
  const item = useLoad(() => api.get<QuarantinedDetail>(adminPath("sources", source, "quarantine", id)), JSON.stringify([source, id]));
  const d = item.data;
  let raw: string | null = null;
  try {
    raw = d?.rawBase64 ? base64Text(d.rawBase64) : null;
  } catch (err) {
    raw = describeError(err);
  }
  return (
    <main>
      <Section title="Quarantined callback">
        <ErrorLine error={item.error} />
        <Loading when={item.loading} />
        {d && (
          <Facts
            rows={[
              ["id", <code key="id">{d.id}</code>],
              ["source", source],
              ["status", <Badge key="s" value={d.state} />],
              ["reason", d.reason ?? "—"],
              ["received", time(d.receivedAt)],
            ]}
          />
        )}
        {d && canAct(session) && d.rawBase64 !== null && <EraseRaw source={source} id={id} done={item.reload} />}
      </Section>
      {d && (
        <>
          <Section title="Raw body, as received">
            {raw !== null ? <pre class="json payload">{raw}</pre> : <p class="muted">Not kept.</p>}
          </Section>
          <Section title="Signed values outside the body">
            {d.signed ? <pre class="json">{JSON.stringify(d.signed, null, 2)}</pre> : <p class="muted">None.</p>}
          </Section>
        </>
      )}
    </main>
  );
}
