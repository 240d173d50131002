/**
 * Bulk redeliver by filter: the filter (as on Events) → a count preview
 * (GET /admin/events/count) → a confirmation naming the count → a server-side job
 * (POST /admin/jobs with that count as `expect`; 409 when the count moved, with the new one)
 * → its progress, polled (GET /admin/jobs/:id) → cancel (POST /admin/jobs/:id/cancel).
 * The job id is in the URL, so a reload keeps watching it.
 */
import { useEffect, useState } from "preact/hooks";
import { ApiError, adminPath, api } from "../api";
import { Badge, canAct, Empty, ErrorLine, LinkButton, Loading, Section, useConsole } from "../components/common";
import { FILTER_KEYS, Filters } from "../components/filters";
import { time } from "../format";
import { useLoad } from "../load";
import { navigate, type Params, pick, type Route } from "../route";
import type { Job } from "../types";

const describeFilter = (filter: Record<string, string | undefined>) =>
  Object.entries(filter)
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `${k}=${v}`)
    .join(", ") || "every event";

/** One job's progress, polled every second; `onChange` hears its state and count as they move. */
function Progress({ id, onChange }: { id: string; onChange: (key: string) => void }) {
  const job = useLoad(() => api.get<{ job: Job }>(adminPath("jobs", id)), id, 1_000);
  const [error, setError] = useState<unknown>(undefined);
  const j = job.data?.job;
  const key = j ? `${j.id} ${j.state} ${j.done + j.skipped + j.failed}` : "";
  useEffect(() => onChange(key), [key, onChange]);
  if (j === undefined) return <ErrorLine error={job.error} />;
  const processed = j.done + j.skipped + j.failed;
  return (
    <div class="job">
      <p>
        Job <code>{j.id}</code> <Badge value={j.state} /> by {j.createdBy}, {time(j.createdAt)}: {describeFilter(j.filter)}
      </p>
      <progress max={Math.max(j.total, 1)} value={processed} aria-label="Bulk redeliver progress" />
      <p class="job-counts" role="status">
        {processed} of {j.total} processed: {j.done} redelivered, {j.skipped} skipped, {j.failed} failed
      </p>
      {j.error && <p class="error">{j.error}</p>}
      {j.state === "running" && (
        <button
          type="button"
          class="danger"
          onClick={() =>
            api
              .post(`${adminPath("jobs", j.id)}/cancel`)
              .then(job.reload)
              .catch(setError)
          }
        >
          Cancel the job
        </button>
      )}
      <ErrorLine error={error ?? job.error} />
    </div>
  );
}

function Preview({ filter }: { filter: Params }) {
  const count = useLoad(() => api.get<{ count: number }>("/admin/events/count", filter), JSON.stringify(filter));
  const [confirming, setConfirming] = useState(false);
  const [moved, setMoved] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const n = count.data?.count;

  const start = async (expect: number) => {
    setConfirming(false);
    setError(undefined);
    try {
      const { job } = await api.post<{ job: Job }>("/admin/jobs", { kind: "redeliver", filter, expect });
      navigate("bulk", { ...filter, job: job.id });
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        setMoved("The number of matching events changed since the preview: check the new count and confirm again.");
        count.reload();
      } else setError(err);
    }
  };

  return (
    <div class="preview">
      <ErrorLine error={count.error ?? error} />
      <Loading when={count.loading} />
      {n !== undefined && !count.loading && (
        <p class="count" role="status">
          {n} event{n === 1 ? "" : "s"} match{n === 1 ? "es" : ""}: {describeFilter(filter)}
        </p>
      )}
      {moved && <p class="notice">{moved}</p>}
      {n !== undefined && n > 0 && !count.loading && !confirming && (
        <button type="button" onClick={() => setConfirming(true)}>
          Redeliver {n} events…
        </button>
      )}
      {confirming && n !== undefined && (
        <div class="confirm" role="alertdialog" aria-label="Confirm bulk redeliver">
          <p>
            Send these {n} events to the origin again? Each keeps its id, so the origin can recognise a repeat; events already queued are
            skipped.
          </p>
          <button type="button" onClick={() => start(n)}>
            Redeliver {n} events
          </button>
          <button type="button" class="secondary" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      )}
    </div>
  );
}

/** The recent jobs; loaded again when the watched job moves, and every 5 s. */
function RecentJobs({ watching }: { watching: string }) {
  const jobs = useLoad(() => api.get<{ jobs: Job[] }>("/admin/jobs"), `jobs ${watching}`, 5_000);
  const rows = jobs.data?.jobs ?? [];
  return (
    <Section title="Recent jobs">
      <ErrorLine error={jobs.error} />
      {jobs.data && (
        <table class="jobs">
          <thead>
            <tr>
              <th>started</th>
              <th>by</th>
              <th>filter</th>
              <th>state</th>
              <th class="num">done / total</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((j) => (
              <tr key={j.id}>
                <td class="nowrap">{time(j.createdAt)}</td>
                <td>{j.createdBy}</td>
                <td class="wrap">{describeFilter(j.filter)}</td>
                <td>
                  <Badge value={j.state} />
                </td>
                <td class="num">
                  {j.done + j.skipped + j.failed} / {j.total}
                </td>
                <td>
                  <LinkButton onClick={() => navigate("bulk", { job: j.id })}>watch</LinkButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {jobs.data && <Empty rows={rows.length}>No job yet.</Empty>}
    </Section>
  );
}

export function Bulk({ route }: { route: Route }) {
  const { session } = useConsole();
  const filter = pick(route.params, FILTER_KEYS);
  const jobId = route.params.get("job");
  const previewing = route.params.get("preview") === "1";
  const [progress, setProgress] = useState("");
  if (!canAct(session)) return <p class="muted">Read-only session: bulk redelivery is not available.</p>;
  return (
    <main>
      <Section title="Bulk redeliver">
        <Filters values={filter} submitLabel="Preview count" onApply={(values) => navigate("bulk", { ...values, preview: "1" })} />
        {previewing && !jobId && <Preview filter={filter} />}
        {jobId && <Progress id={jobId} onChange={setProgress} />}
      </Section>
      <RecentJobs watching={progress} />
    </main>
  );
}
