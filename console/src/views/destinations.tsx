/**
 * Destinations (GET /admin/destinations): each origin URL the sources deliver to, with its
 * breaker's state, the window's numbers, the delivery ceiling and the paused sources. One opens
 * (GET /admin/destinations/{id}) with its sources' pause controls and the breaker's history, newest
 * first. URLs come without credentials (the API shows origin and path only); error texts and
 * reasons are data, shown as text.
 */
import { adminPath, api } from "../api";
import { Badge, Empty, ErrorLine, Facts, LinkButton, Loading, Section } from "../components/common";
import { SourcePauseOf } from "../components/pause";
import { duration, time } from "../format";
import { useLoad } from "../load";
import { navigate, type Route } from "../route";
import type { Destination, DestinationDetail } from "../types";

const openDestination = (id: string) => navigate("destination", { id });

/** "3 of 12 failed in 300 s". */
export function windowText(d: Destination): string {
  return `${d.failures} of ${d.attempts} failed in ${d.windowSeconds} s`;
}

/** "10 / 100 per s" while ramping up after a close; "100 per s" otherwise. */
function ceilingText(d: Destination): string {
  return d.ratePerSecond === d.maxPerSecond ? `${d.maxPerSecond} per s` : `${d.ratePerSecond} / ${d.maxPerSecond} per s`;
}

/** The last failure: its status and its error text, either or both ("" when there was none). */
function lastFailure(d: Destination): string {
  return [d.lastStatus === null ? null : `HTTP ${d.lastStatus}`, d.lastError].filter((part) => part !== null && part !== "").join(": ");
}

export function Destinations(_props: { route: Route }) {
  const list = useLoad(() => api.get<{ destinations: Destination[] }>("/admin/destinations"), "destinations", 10_000);
  return (
    <main>
      <Section
        title="Destinations"
        actions={
          <button type="button" class="secondary" onClick={list.reload}>
            Refresh
          </button>
        }
      >
        <ErrorLine error={list.error} />
        <Loading when={list.loading && list.data === undefined} />
        {list.data && (
          <table class="destinations">
            <thead>
              <tr>
                <th>breaker</th>
                <th>origin</th>
                <th>sources</th>
                <th>window</th>
                <th class="num">failures in a row</th>
                <th class="num">accounts waiting</th>
                <th>ceiling</th>
                <th>paused sources</th>
                <th>last error</th>
              </tr>
            </thead>
            <tbody>
              {list.data.destinations.map((d) => (
                <tr key={d.id} data-destination-id={d.id} class={d.state === "closed" ? "" : "warn"}>
                  <td>
                    <Badge value={d.state} />
                  </td>
                  <td class="nowrap">
                    <LinkButton onClick={() => openDestination(d.id)} label="Open this destination">
                      {d.url}
                    </LinkButton>
                  </td>
                  <td class="wrap">{d.sources.join(", ")}</td>
                  <td class="nowrap">{windowText(d)}</td>
                  <td class="num">{d.consecutiveFailures}</td>
                  <td class="num">{d.waiting}</td>
                  <td class="nowrap">{ceilingText(d)}</td>
                  <td>{d.pausedSources.map((p) => p.source).join(", ")}</td>
                  <td class="wrap">{lastFailure(d)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {list.data && <Empty rows={list.data.destinations.length}>No destination is configured.</Empty>}
      </Section>
    </main>
  );
}

function History({ detail }: { detail: DestinationDetail }) {
  if (detail.history.length === 0) return <p class="muted empty">No transition yet: the breaker has been closed since it was created.</p>;
  return (
    <ol class="timeline">
      {detail.history.map((t) => (
        <li key={`${t.at} ${t.from} ${t.to}`}>
          <span class="nowrap">{time(t.at)}</span> <Badge value={t.from} /> → <Badge value={t.to} /> <span class="wrap">{t.reason}</span>
        </li>
      ))}
    </ol>
  );
}

export function DestinationView({ route }: { route: Route }) {
  const id = route.params.get("id") ?? "";
  const detail = useLoad(() => api.get<DestinationDetail>(adminPath("destinations", id)), `destination ${id}`, 5_000);
  const d = detail.data;
  return (
    <main>
      <Section
        title="Destination"
        actions={
          <button type="button" class="secondary" onClick={() => navigate("destinations")}>
            All destinations
          </button>
        }
      >
        <ErrorLine error={detail.error} />
        <Loading when={detail.loading && d === undefined} />
        {d && (
          <Facts
            rows={[
              ["origin", <span class="wrap">{d.url}</span>],
              ["id", <code>{d.id}</code>],
              ["breaker", <Badge value={d.state} />],
              ["window", windowText(d)],
              ["failures in a row", String(d.consecutiveFailures)],
              ["opened", time(d.openedAt)],
              ["next probe", time(d.nextProbeAt)],
              ["probe interval", duration(d.probeIntervalMs)],
              ["last failure", lastFailure(d) || "—"],
              ["accounts waiting", String(d.waiting)],
              ["ceiling", ceilingText(d)],
            ]}
          />
        )}
      </Section>
      {d && (
        <Section title="Sources">
          {d.sources.map((source) => (
            <SourcePauseOf key={source} source={source} destination={d} reload={detail.reload} />
          ))}
        </Section>
      )}
      {d && (
        <Section title="Breaker history">
          <History detail={d} />
        </Section>
      )}
    </main>
  );
}
