/**
 * The overview's banner: what holds deliveries right now, from GET /admin/destinations. A
 * destination whose breaker is not closed (nothing is sent to it but one probe at a time) and
 * each paused source are named, each opening its destination. Nothing shows while everything
 * is delivering. Paused accounts are shown on their own account's view (the API has no list of
 * them across accounts).
 */
import { api } from "../api";
import { time } from "../format";
import { useLoad } from "../load";
import { navigate } from "../route";
import type { Destination } from "../types";
import { ErrorLine, LinkButton } from "./common";

export function HoldBanner() {
  const list = useLoad(() => api.get<{ destinations: Destination[] }>("/admin/destinations"), "banner", 30_000);
  const destinations = list.data?.destinations ?? [];
  const open = destinations.filter((d) => d.state !== "closed");
  const paused = destinations.flatMap((d) => d.pausedSources.map((p) => ({ ...p, destination: d.id })));
  if (list.error !== undefined) return <ErrorLine error={list.error} />;
  if (open.length === 0 && paused.length === 0) return null;
  return (
    <div class="banner" role="status">
      {open.map((d) => (
        <p key={d.id}>
          <strong>Breaker {d.state === "open" ? "open" : "probing"}</strong> for{" "}
          <LinkButton onClick={() => navigate("destination", { id: d.id })}>{d.url}</LinkButton> since {time(d.openedAt)}:{" "}
          {d.sources.join(", ")} held, {d.waiting} accounts waiting; next probe {time(d.nextProbeAt)}.
        </p>
      ))}
      {paused.map((p) => (
        <p key={`${p.destination} ${p.source}`}>
          <strong>Source paused:</strong> <LinkButton onClick={() => navigate("destination", { id: p.destination })}>{p.source}</LinkButton>{" "}
          since {time(p.at)} by {p.by}.
        </p>
      ))}
    </div>
  );
}
