/**
 * The dead-letter and quarantine lists share their paging: one page of index entries for the
 * source in the URL, from the cursor in the URL, and a "Next page" link that keeps the source.
 */
import { api } from "../api";
import { type Loaded, useLoad } from "../load";
import { navigate, type Route, type View } from "../route";
import type { EntryPage } from "../types";

/** The page of `path` (an entries route) the URL's `source` and `cursor` select. */
export function useEntryPage(path: string, route: Route): { source: string; page: Loaded<EntryPage> } {
  const source = route.params.get("source") ?? "";
  const cursor = route.params.get("cursor") ?? undefined;
  const page = useLoad(() => api.get<EntryPage>(path, { source, cursor, limit: 100 }), JSON.stringify([source, cursor]));
  return { source, page };
}

/** The link to the next page of `view`, while there is one. */
export function NextPage({ view, source, page }: { view: View; source: string; page: Loaded<EntryPage> }) {
  return (
    <nav class="pager">
      {page.data?.cursor && (
        <button type="button" onClick={() => navigate(view, { source, cursor: page.data?.cursor })}>
          Next page
        </button>
      )}
    </nav>
  );
}
