/**
 * One event (GET /admin/sources/:source/accounts/:account/events/:id): its summary, the
 * normalized event as delivered, the provider's payload as text, the allow-listed request
 * headers and every delivery attempt. Actions: redeliver, replay the account, erase the payload.
 */
import { useState } from "preact/hooks";
import { adminPath, api, describeError } from "../api";
import { Badge, canAct, ErrorLine, Facts, Loading, Section, useConsole } from "../components/common";
import { time } from "../format";
import { useLoad } from "../load";
import { navigate, type Route } from "../route";
import type { CloudEvent, EventDetail } from "../types";

/** The CloudEvent without `data.payload`, which is shown on its own. */
function normalized(event: CloudEvent): string {
  const { data, ...envelope } = event;
  if (data === undefined) return JSON.stringify(envelope, null, 2);
  const { payload: _payload, ...fields } = data;
  return JSON.stringify({ ...envelope, data: { ...fields, payload: "(the provider's payload, below)" } }, null, 2);
}

function payloadText(event: CloudEvent | null): string | null {
  if (event?.data === undefined || !("payload" in event.data)) return null;
  return JSON.stringify(event.data.payload, null, 2);
}

function Attempts({ detail }: { detail: EventDetail }) {
  return (
    <table class="attempts">
      <thead>
        <tr>
          <th class="num">#</th>
          <th>time</th>
          <th>outcome</th>
          <th>status</th>
          <th class="num">latency</th>
          <th>error</th>
        </tr>
      </thead>
      <tbody>
        {detail.attempts.map((a) => (
          <tr key={`${a.attempt}-${a.at}`}>
            <td class="num">{a.attempt}</td>
            <td class="nowrap">{time(a.at)}</td>
            <td>
              <Badge value={a.outcome} />
            </td>
            <td>{a.status ?? "no answer"}</td>
            <td class="num">{a.ms === null ? "—" : `${a.ms} ms`}</td>
            <td class="wrap">{a.error ?? ""}</td>
          </tr>
        ))}
        {detail.state === "pending" && (
          <tr class="next">
            <td />
            <td class="nowrap">{time(detail.nextAttemptAt)}</td>
            <td colSpan={4}>next retry</td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

function Actions({
  source,
  account,
  id,
  detail,
  reload,
}: {
  source: string;
  account: string;
  id: string;
  detail: EventDetail;
  reload: () => void;
}) {
  const { session } = useConsole();
  const [message, setMessage] = useState<string | null>(null);
  const [confirmErase, setConfirmErase] = useState(false);
  const [busy, setBusy] = useState(false);
  const act = async (what: () => Promise<string>) => {
    setBusy(true);
    try {
      setMessage(await what());
      reload();
    } catch (err) {
      setMessage(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  if (!canAct(session)) return <p class="muted">Read-only session: actions are not available.</p>;
  const base = adminPath("sources", source, "accounts", account, "events", id);
  return (
    <div class="actions">
      <button
        type="button"
        disabled={busy}
        onClick={() =>
          act(async () => {
            await api.post(`${base}/redeliver`);
            return "Queued for redelivery: the attempts below update as it is delivered.";
          })
        }
      >
        Redeliver
      </button>
      <button type="button" class="secondary" onClick={() => navigate("replay", { source, account, since: detail.receivedAt })}>
        Replay this account since this event…
      </button>
      {!detail.erasedAt && !confirmErase && (
        <button type="button" class="danger" disabled={busy} onClick={() => setConfirmErase(true)}>
          Erase payload…
        </button>
      )}
      {confirmErase && (
        <div class="confirm" role="alertdialog" aria-label="Confirm erase">
          <p>
            Erase this event's payload? Its id, type, status and attempts stay (a provider's retry is still a duplicate); the payload and
            headers are gone for good and it can no longer be redelivered.
          </p>
          <button
            type="button"
            class="danger"
            disabled={busy}
            onClick={() =>
              act(async () => {
                setConfirmErase(false);
                await api.post(`${base}/erase`);
                return "Payload erased.";
              })
            }
          >
            Erase the payload
          </button>
          <button type="button" class="secondary" onClick={() => setConfirmErase(false)}>
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

export function EventView({ route }: { route: Route }) {
  const source = route.params.get("source") ?? "";
  const account = route.params.get("account") ?? "";
  const id = route.params.get("id") ?? "";
  const detail = useLoad(
    () => api.get<EventDetail>(adminPath("sources", source, "accounts", account, "events", id)),
    JSON.stringify([source, account, id]),
    5_000,
  );
  const d = detail.data;
  const payload = d ? payloadText(d.event) : null;
  const headers = Object.entries(d?.headers ?? {});

  return (
    <main>
      <Section title="Event">
        <ErrorLine error={detail.error} />
        <Loading when={detail.loading && d === undefined} />
        {d && (
          <>
            <Facts
              rows={[
                ["id", <code key="id">{d.id}</code>],
                ["source", source],
                ["account", account],
                ["type", d.type ?? "—"],
                ["status", <Badge key="s" value={d.state} />],
                ["reason", d.reason ?? "—"],
                ["received", time(d.receivedAt)],
                ["delivered", time(d.deliveredAt)],
                ["provider's idempotency key", d.idempotency_key],
                ...(d.erasedAt ? ([["payload erased", time(d.erasedAt)]] as [string, string][]) : []),
              ]}
            />
            <Actions source={source} account={account} id={id} detail={d} reload={detail.reload} />
          </>
        )}
      </Section>
      {d && (
        <>
          <Section title={`Attempts (${d.attempts.length})`}>
            <Attempts detail={d} />
          </Section>
          <Section title="Normalized event, as delivered">
            {d.event ? (
              <pre class="json">{normalized(d.event)}</pre>
            ) : (
              <p class="muted">Not kept (body retention has passed, or erased).</p>
            )}
          </Section>
          <Section title="Provider's payload">
            {payload !== null ? <pre class="json payload">{payload}</pre> : <p class="muted">Not kept.</p>}
          </Section>
          <Section title="Request headers (allow-listed)">
            {headers.length > 0 ? (
              <table class="headers">
                <tbody>
                  {headers.map(([name, value]) => (
                    <tr key={name}>
                      <th>{name}</th>
                      <td class="wrap">{value}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <p class="muted">None kept for this event.</p>
            )}
          </Section>
        </>
      )}
    </main>
  );
}
