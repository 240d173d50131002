/**
 * Overview: per source, the counters over time (GET /admin/overview, 5-minute buckets) as
 * charts with the delivery latency; per account, the backlog and the origin's health
 * (GET /admin/accounts); the index's mode and lag (GET /admin/index); above them, a banner while
 * a destination's breaker is open or a source is paused (GET /admin/destinations).
 */
import { useMemo } from "preact/hooks";
import { api } from "../api";
import { HoldBanner } from "../components/banner";
import { Chart, type SeriesSpec } from "../components/chart";
import { Badge, Empty, ErrorLine, Facts, LinkButton, Loading, Section } from "../components/common";
import { age, duration, time } from "../format";
import { useLoad } from "../load";
import { navigate, type Route } from "../route";
import { type Account, type Bucket, COUNTERS, type IndexState, type Overview as OverviewData } from "../types";

const RANGES: Record<string, number> = { "1h": 3_600_000, "6h": 21_600_000, "24h": 86_400_000, "7d": 604_800_000 };

const COLORS: Record<(typeof COUNTERS)[number], string> = {
  accepted: "#2563eb",
  duplicate: "#94a3b8",
  rejected: "#f97316",
  quarantined: "#a855f7",
  delivered: "#16a34a",
  failed: "#eab308",
  dead: "#dc2626",
};
const SERIES: SeriesSpec[] = COUNTERS.map((name) => ({ label: name, color: COLORS[name] }));

function SourceChart({ name, series }: { name: string; series: Bucket[] }) {
  const x = useMemo(() => series.map((b) => Math.floor(new Date(b.at).getTime() / 1000)), [series]);
  const ys = useMemo(() => COUNTERS.map((c) => series.map((b) => b[c] ?? 0)), [series]);
  return <Chart title={name} x={x} ys={ys} series={SERIES} />;
}

export function Overview({ route }: { route: Route }) {
  const range = RANGES[route.params.get("range") ?? ""] ? (route.params.get("range") as string) : "24h";
  const since = useMemo(() => new Date(Date.now() - (RANGES[range] ?? 0)).toISOString(), [range]);
  const overview = useLoad(() => api.get<OverviewData>("/admin/overview", { since }), since, 60_000);
  const accounts = useLoad(() => api.get<{ accounts: Account[] }>("/admin/accounts"), "accounts", 30_000);
  const index = useLoad(() => api.get<IndexState>("/admin/index"), "index", 30_000);
  const sources = Object.entries(overview.data?.sources ?? {});
  // A chart per source with traffic in the range; the quiet ones are named on one line.
  const active = sources.filter(([, data]) => data.series.some((b) => COUNTERS.some((c) => (b[c] ?? 0) > 0)));
  const quiet = sources.filter(([name]) => !active.some(([a]) => a === name)).map(([name]) => name);

  return (
    <main>
      <HoldBanner />
      <Section
        title="Traffic per source"
        actions={
          <div class="range">
            {Object.keys(RANGES).map((r) => (
              <button type="button" key={r} class={r === range ? "chip active" : "chip"} onClick={() => navigate("overview", { range: r })}>
                {r}
              </button>
            ))}
          </div>
        }
      >
        <ErrorLine error={overview.error} />
        <Loading when={overview.loading && overview.data === undefined} />
        <div class="charts">
          {active.map(([name, data]) => (
            <figure key={name} class="chart-box">
              <SourceChart name={name} series={data.series} />
              <figcaption>
                Delivery latency:{" "}
                {data.latencyMs
                  ? `p50 ${duration(data.latencyMs.p50)}, p95 ${duration(data.latencyMs.p95)}`
                  : "no deliveries in this range"}
              </figcaption>
            </figure>
          ))}
        </div>
        {overview.data && <Empty rows={active.length}>No traffic in this range.</Empty>}
        {quiet.length > 0 && <p class="muted">No traffic in this range: {quiet.join(", ")}.</p>}
      </Section>

      <Section title="Backlog and origin health per account">
        <ErrorLine error={accounts.error} />
        <Loading when={accounts.loading && accounts.data === undefined} />
        {accounts.data && (
          <table class="accounts">
            <thead>
              <tr>
                <th>source</th>
                <th>account</th>
                <th class="num">pending</th>
                <th>oldest pending</th>
                <th>last attempt</th>
                <th>last status</th>
                <th class="num">failures in a row</th>
                <th>last error</th>
              </tr>
            </thead>
            <tbody>
              {accounts.data.accounts.map((a) => (
                <tr key={`${a.source}\n${a.account}`} class={a.consecutiveFailures > 0 ? "warn" : ""}>
                  <td>{a.source}</td>
                  <td>
                    <LinkButton onClick={() => navigate("events", { source: a.source, account: a.account })}>{a.account}</LinkButton>
                  </td>
                  <td class="num">{a.pending}</td>
                  <td>{a.oldestPendingAt ? age(a.oldestPendingAt) : "—"}</td>
                  <td>{time(a.lastAttemptAt)}</td>
                  <td>{a.lastStatus ?? "—"}</td>
                  <td class="num">{a.consecutiveFailures}</td>
                  <td class="wrap">{a.lastError ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {accounts.data && <Empty rows={accounts.data.accounts.length}>No accounts yet.</Empty>}
      </Section>

      <Section title="Index">
        <ErrorLine error={index.error} />
        {index.data && (
          <Facts
            rows={[
              ["mode", index.data.mode === "all" ? "every event" : "events that need an operator only"],
              ["lag", duration(index.data.lagMs)],
              ["last written", time(index.data.updatedAt)],
              ["retention", `${index.data.retentionDays} days`],
            ]}
          />
        )}
        {index.data?.mode === "attention" && (
          <p class="muted">
            <Badge value="delivered" /> events are not indexed in this mode: search finds dead, quarantined and long-pending events only.
          </p>
        )}
      </Section>
    </main>
  );
}
