/**
 * Rejected requests (GET /admin/rejections): recent 4xx answers per source with their cause,
 * time, size and client address. No body byte of a rejected request is kept.
 */
import { api } from "../api";
import { Empty, ErrorLine, Loading, Section, SourceSelect } from "../components/common";
import { time } from "../format";
import { useLoad } from "../load";
import { navigate, type Route } from "../route";
import type { Rejection } from "../types";

export function Rejections({ route }: { route: Route }) {
  const source = route.params.get("source") ?? "";
  const page = useLoad(() => api.get<{ rejections: Rejection[] }>("/admin/rejections", { source, limit: 200 }), source, 30_000);
  const rows = page.data?.rejections ?? [];
  return (
    <main>
      <Section title="Rejected requests" actions={<SourceSelect value={source} onChange={(s) => navigate("rejections", { source: s })} />}>
        <p class="muted">
          A run of bad signatures from one source usually means the provider signs with a secret this gateway does not have.
        </p>
        <ErrorLine error={page.error} />
        <Loading when={page.loading && page.data === undefined} />
        {page.data && (
          <table class="rejections">
            <thead>
              <tr>
                <th>time</th>
                <th>source</th>
                <th>status</th>
                <th>cause</th>
                <th class="num">bytes</th>
                <th>client address</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r, i) => (
                // Rejections have no id: time, source and position in the answer name a row.
                <tr key={`${r.at}\n${r.source}\n${i}`}>
                  <td class="nowrap">{time(r.at)}</td>
                  <td>{r.source}</td>
                  <td>{r.status}</td>
                  <td>{r.cause}</td>
                  <td class="num">{r.bytes ?? "—"}</td>
                  <td>{r.ip ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {page.data && <Empty rows={rows.length}>No rejected request recorded.</Empty>}
      </Section>
    </main>
  );
}
