/**
 * Dead letters (GET /admin/dead-letters): events the origin refused or never took within the
 * retry window, with the last error. Redeliver one here, or all of a filter in bulk.
 */
import { useState } from "preact/hooks";
import { adminPath, api, describeError } from "../api";
import { canAct, Empty, ErrorLine, LinkButton, Loading, Section, SourceSelect, useConsole } from "../components/common";
import { NextPage, useEntryPage } from "../components/entry-page";
import { time } from "../format";
import { navigate, type Route } from "../route";
import type { Entry } from "../types";
import { openEvent } from "./events";

function Redeliver({ entry }: { entry: Entry }) {
  const [state, setState] = useState<string | null>(null);
  if (state !== null) return <span class="muted">{state}</span>;
  return (
    <button
      type="button"
      class="small"
      onClick={() => {
        setState("…");
        api
          .post(`${adminPath("sources", entry.source, "accounts", entry.account, "events", entry.id)}/redeliver`)
          .then(() => setState("queued"))
          .catch((err: unknown) => setState(describeError(err)));
      }}
    >
      Redeliver
    </button>
  );
}

export function DeadLetters({ route }: { route: Route }) {
  const { session } = useConsole();
  const { source, page } = useEntryPage("/admin/dead-letters", route);

  return (
    <main>
      <Section
        title="Dead letters"
        actions={
          <div class="inline">
            <SourceSelect value={source} onChange={(s) => navigate("dead-letters", { source: s })} />
            {canAct(session) && (
              <button type="button" onClick={() => navigate("bulk", { status: "dead", source, preview: "1" })}>
                Redeliver in bulk…
              </button>
            )}
          </div>
        }
      >
        <ErrorLine error={page.error} />
        <Loading when={page.loading} />
        {page.data && (
          <table class="entries">
            <thead>
              <tr>
                <th>received</th>
                <th>source</th>
                <th>account</th>
                <th>event id</th>
                <th>last error</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {page.data.entries.map((e) => (
                <tr key={`${e.source}\n${e.account}\n${e.id}`}>
                  <td class="nowrap">{time(e.at)}</td>
                  <td>{e.source}</td>
                  <td class="wrap">{e.account}</td>
                  <td>
                    <LinkButton onClick={() => openEvent(e)}>
                      <code>{e.id}</code>
                    </LinkButton>
                  </td>
                  <td class="wrap">{e.reason ?? ""}</td>
                  <td>{canAct(session) && <Redeliver entry={e} />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {page.data && <Empty rows={page.data.entries.length}>No dead letters.</Empty>}
        <NextPage view="dead-letters" source={source} page={page} />
      </Section>
    </main>
  );
}
