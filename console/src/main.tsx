/**
 * The operator console: a single page served by the gateway at /console/ (src/console.ts), under
 * a Content-Security-Policy that allows only this script and its styles. It talks to the admin
 * API with the session cookie. Payloads, reasons, headers and references are attacker-controlled
 * text: they are rendered as text children only (preact escapes them), never as HTML, never as
 * a URL; links are buttons that navigate in code. Guide: docs/console.md.
 */
import { render } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError, api, describeError, onSignedOut } from "./api";
import { type ConsoleContext, Context, ErrorLine } from "./components/common";
import { type Route, useRoute, type View } from "./route";
import type { Health, Session } from "./types";
import { Bulk } from "./views/bulk";
import { DeadLetters } from "./views/dead-letters";
import { Destinations, DestinationView } from "./views/destinations";
import { EventView } from "./views/event";
import { Events } from "./views/events";
import { Overview } from "./views/overview";
import { Quarantine, Quarantined } from "./views/quarantine";
import { Rejections } from "./views/rejections";
import { Replay } from "./views/replay";
import { SignIn } from "./views/sign-in";

const NAV: [View, string][] = [
  ["overview", "Overview"],
  ["events", "Events"],
  ["dead-letters", "Dead letters"],
  ["quarantine", "Quarantine"],
  ["rejections", "Rejected requests"],
  ["destinations", "Destinations"],
  ["bulk", "Bulk redeliver"],
  ["replay", "Replay"],
];

// Which nav entry a view belongs to (an event's detail is under Events).
const SECTION: Record<View, View> = {
  overview: "overview",
  events: "events",
  event: "events",
  "dead-letters": "dead-letters",
  quarantine: "quarantine",
  quarantined: "quarantine",
  rejections: "rejections",
  destinations: "destinations",
  destination: "destinations",
  bulk: "bulk",
  replay: "replay",
};

function Page({ route }: { route: Route }) {
  switch (route.view) {
    case "events":
      return <Events route={route} />;
    case "event":
      return <EventView route={route} />;
    case "dead-letters":
      return <DeadLetters route={route} />;
    case "quarantine":
      return <Quarantine route={route} />;
    case "quarantined":
      return <Quarantined route={route} />;
    case "rejections":
      return <Rejections route={route} />;
    case "destinations":
      return <Destinations route={route} />;
    case "destination":
      return <DestinationView route={route} />;
    case "bulk":
      return <Bulk route={route} />;
    case "replay":
      return <Replay route={route} />;
    default:
      return <Overview route={route} />;
  }
}

type State =
  | { phase: "loading" }
  | { phase: "signed-out"; ended: boolean }
  | { phase: "in"; context: ConsoleContext }
  | { phase: "error"; error: unknown };

function App() {
  const route = useRoute();
  const [state, setState] = useState<State>({ phase: "loading" });

  const load = useCallback(async () => {
    try {
      const session = await api.get<Session>("/admin/session");
      // The source names for the filters' menus; the console works without them.
      const health = await api.get<Health>("/admin/health").catch((): Health => ({ status: "unknown" }));
      setState({ phase: "in", context: { session, sources: Object.keys(health.sources ?? {}).sort() } });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setState({ phase: "signed-out", ended: false });
      else setState({ phase: "error", error: err });
    }
  }, []);

  useEffect(() => {
    load();
    return onSignedOut(() => setState({ phase: "signed-out", ended: true }));
  }, [load]);

  const [signOutError, setSignOutError] = useState<unknown>(undefined);
  // Signed out once the gateway has cleared the cookie; a failure says so and keeps the session.
  const signOut = async () => {
    try {
      await api.delete("/admin/session");
      setSignOutError(undefined);
      setState({ phase: "signed-out", ended: false });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setState({ phase: "signed-out", ended: false });
      else setSignOutError(err);
    }
  };

  if (state.phase === "loading") return <p class="boot">Loading the console…</p>;
  if (state.phase === "error")
    return (
      <p class="error boot" role="alert">
        {describeError(state.error)}
      </p>
    );
  if (state.phase === "signed-out") return <SignIn ended={state.ended} onSignedIn={load} />;
  const { session } = state.context;
  return (
    <Context.Provider value={state.context}>
      <header class="top">
        <span class="brand">webhook-gateway</span>
        <nav>
          {NAV.map(([view, label]) => (
            <a key={view} href={`#/${view}`} class={SECTION[route.view] === view ? "active" : ""}>
              {label}
            </a>
          ))}
        </nav>
        <span class="who">
          {session.actor} <span class="role">({session.role === "admin" ? "admin" : "read-only"})</span>
        </span>
        <button type="button" class="secondary" onClick={signOut}>
          Sign out
        </button>
      </header>
      <ErrorLine error={signOutError} />
      <Page route={route} />
    </Context.Provider>
  );
}

const root = document.getElementById("app");
if (root !== null) {
  root.textContent = "";
  render(<App />, root);
}
