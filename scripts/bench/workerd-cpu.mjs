// The CPU time of a workerd process, read from outside: workerd cannot time itself (its clock
// stands still during computation), so the bench reads Linux's /proc/<pid>/task/*/schedstat,
// nanoseconds on CPU per thread. Used by scripts/bench/run.mjs and scripts/bench/forged.mjs.
import { readdir, readFile } from "node:fs/promises";

/** The workerd processes this Node process has spawned (Miniflare starts one per instance). */
export async function workerdChildren() {
  const out = new Set();
  for (const pid of await readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    // "pid (comm) state ppid ...": comm may hold spaces, so split after its closing parenthesis.
    const close = stat.lastIndexOf(")");
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    const ppid = Number(stat.slice(close + 2).split(" ")[1]);
    if (comm === "workerd" && ppid === process.pid) out.add(Number(pid));
  }
  return out;
}

/** The one workerd process spawned since `before` (a set from workerdChildren). */
export async function newWorkerd(before) {
  const pids = [...(await workerdChildren())].filter((pid) => !before.has(pid));
  if (pids.length !== 1) throw new Error(`expected one new workerd process, found ${pids.length}`);
  return pids[0];
}

/** Nanoseconds the process's threads have spent on a CPU (Linux schedstat, all threads). */
export async function cpuNs(pid) {
  let total = 0;
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const line = await readFile(`/proc/${pid}/task/${tid}/schedstat`, "utf8").catch(() => undefined);
    if (line !== undefined) total += Number(line.split(" ")[0]);
  }
  return total;
}
