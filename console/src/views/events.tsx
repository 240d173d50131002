/**
 * Events: the index across all accounts (GET /admin/events), newest first, filtered by the
 * URL's filter, 50 to a page; `cursor` in the URL is the page (Next follows the API's `next`,
 * the browser's back button returns). Filtered to a source (and an account), it shows whether
 * that source (and account) is paused, with the button to pause or resume it.
 */
import { api } from "../api";
import { Badge, Empty, ErrorLine, LinkButton, Loading, Section } from "../components/common";
import { FILTER_KEYS, Filters } from "../components/filters";
import { AccountPause, SourcePause } from "../components/pause";
import { amount, time } from "../format";
import { useLoad } from "../load";
import { navigate, pick, type Route } from "../route";
import type { EventPage, IndexRow } from "../types";

export const PAGE_SIZE = 50;

export const openEvent = (row: { source: string; account: string; id: string }) =>
  navigate("event", { source: row.source, account: row.account, id: row.id });

export function EventTable({ rows }: { rows: IndexRow[] }) {
  return (
    <table class="events">
      <thead>
        <tr>
          <th>received</th>
          <th>source</th>
          <th>account</th>
          <th>type</th>
          <th>status</th>
          <th class="num">amount</th>
          <th class="num">attempts</th>
          <th>last</th>
          <th>event id</th>
          <th>references</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.id} data-event-id={row.id}>
            <td class="nowrap">{time(row.receivedAt)}</td>
            <td>{row.source}</td>
            <td class="wrap">{row.account}</td>
            <td>{row.type ?? "—"}</td>
            <td>
              <Badge value={row.status} />
            </td>
            <td class="num nowrap">{amount(row.amount, row.currency)}</td>
            <td class="num">{row.attempts}</td>
            <td>{row.lastStatus ?? "—"}</td>
            <td>
              <LinkButton onClick={() => openEvent(row)} label="Open this event">
                <code>{row.id}</code>
              </LinkButton>
            </td>
            <td class="wrap refs">{row.refs.join(", ")}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Events({ route }: { route: Route }) {
  const filter = pick(route.params, FILTER_KEYS);
  const cursor = route.params.get("cursor") ?? undefined;
  const key = JSON.stringify([filter, cursor]);
  const page = useLoad(() => api.get<EventPage>("/admin/events", { ...filter, cursor, limit: PAGE_SIZE }), key);

  return (
    <main>
      <Section title="Events">
        <Filters values={filter} onApply={(values) => navigate("events", values)} />
      </Section>
      {filter.source && (
        <Section title="Deliveries">
          <SourcePause source={filter.source} />
          {filter.account && <AccountPause source={filter.source} account={filter.account} />}
        </Section>
      )}
      <Section
        title={cursor ? "Older events" : "Newest events"}
        actions={
          <button type="button" class="secondary" onClick={page.reload}>
            Refresh
          </button>
        }
      >
        <ErrorLine error={page.error} />
        <Loading when={page.loading} />
        {page.data && <EventTable rows={page.data.events} />}
        {page.data && <Empty rows={page.data.events.length}>No event matches this filter.</Empty>}
        <nav class="pager">
          {cursor && (
            <button type="button" class="secondary" onClick={() => navigate("events", filter)}>
              Newest
            </button>
          )}
          {page.data?.next && (
            <button type="button" onClick={() => navigate("events", { ...filter, cursor: page.data?.next })}>
              Next page
            </button>
          )}
        </nav>
      </Section>
    </main>
  );
}
