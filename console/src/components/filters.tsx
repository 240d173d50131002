/**
 * The events filter (GET /admin/events and /admin/events/count take the same one): source,
 * account, type, status, received time range, and a search by event id or provider reference.
 * The form edits a copy; applying it writes the filter into the URL.
 */
import { useEffect, useState } from "preact/hooks";
import { fromLocalInput, toLocalInput } from "../format";
import type { Params } from "../route";
import { STATUSES } from "../types";
import { SourceSelect } from "./common";

export const FILTER_KEYS = ["source", "account", "type", "status", "from", "to", "q"] as const;

export function Filters({
  values,
  onApply,
  submitLabel = "Apply",
}: {
  values: Params;
  onApply: (v: Params) => void;
  submitLabel?: string;
}) {
  const [draft, setDraft] = useState<Params>(values);
  const key = JSON.stringify(values);
  // A new URL (back button, a shared link) resets the form to it.
  useEffect(() => setDraft(values), [key]);
  const set = (name: string) => (value: string) => setDraft((d) => ({ ...d, [name]: value === "" ? undefined : value }));

  return (
    <form
      class="filters"
      onSubmit={(e) => {
        e.preventDefault();
        onApply(draft);
      }}
    >
      <label>
        Search
        <input
          name="q"
          type="search"
          placeholder="evt_… or a provider reference"
          value={draft.q ?? ""}
          onInput={(e) => set("q")(e.currentTarget.value.trim())}
        />
      </label>
      <SourceSelect label="Source" value={draft.source ?? ""} onChange={set("source")} />
      <label>
        Account
        <input name="account" value={draft.account ?? ""} onInput={(e) => set("account")(e.currentTarget.value)} />
      </label>
      <label>
        Type
        <input
          name="type"
          placeholder="deposit.updated"
          value={draft.type ?? ""}
          onInput={(e) => set("type")(e.currentTarget.value.trim())}
        />
      </label>
      <label>
        Status
        <select name="status" value={draft.status ?? ""} onChange={(e) => set("status")(e.currentTarget.value)}>
          <option value="">any status</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        Received from
        <input
          name="from"
          type="datetime-local"
          value={toLocalInput(draft.from)}
          onInput={(e) => set("from")(fromLocalInput(e.currentTarget.value) ?? "")}
        />
      </label>
      <label>
        to
        <input
          name="to"
          type="datetime-local"
          value={toLocalInput(draft.to)}
          onInput={(e) => set("to")(fromLocalInput(e.currentTarget.value) ?? "")}
        />
      </label>
      <div class="filter-actions">
        <button type="submit">{submitLabel}</button>
        <button type="button" class="secondary" onClick={() => onApply({})}>
          Clear
        </button>
      </div>
    </form>
  );
}
