/** Small pieces every view uses. Everything from the API is rendered as text children only. */
import type { ComponentChildren } from "preact";
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { describeError } from "../api";
import type { Session } from "../types";

/** What the shell knows for every view: the session and the configured source names. */
export interface ConsoleContext {
  session: Session;
  sources: string[];
}

export const Context = createContext<ConsoleContext>({ session: { actor: "", role: "read", expiresAt: "" }, sources: [] });
export const useConsole = () => useContext(Context);
export const canAct = (session: Session) => session.role === "admin";

export function ErrorLine({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  return (
    <p class="error" role="alert">
      {describeError(error)}
    </p>
  );
}

export function Loading({ when }: { when: boolean }) {
  return when ? <p class="muted">Loading…</p> : null;
}

// Class names come from this table only: a status the console does not know is shown plainly.
const STATUS_CLASS: Record<string, string> = {
  pending: "badge pending",
  delivered: "badge delivered",
  dead: "badge dead",
  quarantined: "badge quarantined",
  reprocessed: "badge reprocessed",
  running: "badge pending",
  done: "badge delivered",
  cancelled: "badge reprocessed",
  failed: "badge dead",
  retry: "badge pending",
  rejected: "badge dead",
  // A destination's breaker, and a source's or an account's pause.
  closed: "badge delivered",
  open: "badge dead",
  half_open: "badge pending",
  paused: "badge quarantined",
  delivering: "badge delivered",
};

export function Badge({ value }: { value: string | null | undefined }) {
  if (value === null || value === undefined) return <span class="muted">—</span>;
  return <span class={STATUS_CLASS[value] ?? "badge"}>{value}</span>;
}

/** A control that looks like a link but navigates in code: no href is ever built from data. */
export function LinkButton({ onClick, children, label }: { onClick: () => void; children: ComponentChildren; label?: string }) {
  return (
    <button type="button" class="link" onClick={onClick} title={label}>
      {children}
    </button>
  );
}

export function Empty({ rows, children }: { rows: number; children: ComponentChildren }) {
  return rows === 0 ? <p class="muted empty">{children}</p> : null;
}

export function Section({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="panel">
      <header class="panel-head">
        <h2>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

/** A definition list of label → value rows. */
export function Facts({ rows }: { rows: [string, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {rows.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** The configured sources as a menu; with `label`, inside its label. */
export function SourceSelect({ value, onChange, label }: { value: string; onChange: (v: string) => void; label?: string }) {
  const { sources } = useConsole();
  const options = [
    <option key="" value="">
      all sources
    </option>,
    ...sources.map((s) => (
      <option key={s} value={s}>
        {s}
      </option>
    )),
  ];
  if (label === undefined)
    return (
      <select name="source" aria-label="Source" value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {options}
      </select>
    );
  return (
    <label>
      {label}
      <select name="source" value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {options}
      </select>
    </label>
  );
}
