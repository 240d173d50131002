/**
 * The operator console in a real headless Chromium (Debian's /usr/bin/chromium driven by
 * playwright-core, as test/node/verify.test.ts launches it), against the real Worker as
 * `wrangler deploy` builds it (its [build] command builds the console's assets), served by
 * Miniflare (workerd, assets, D1 with migrations/ applied, Durable Objects, alarms) on
 * 127.0.0.1 and delivering to the real Node origin (scripts/origin.mjs). One gateway for the
 * file; the tests run in order and build on each other's events.
 *
 * Screenshots of each view are written to docs/console/*.png only with UPDATE_SCREENSHOTS=1
 * (`UPDATE_SCREENSHOTS=1 npx vitest run --project e2e test/e2e/console.e2e.test.ts`), so a
 * test run never changes the tree.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningOrigin, startOrigin } from "../../scripts/origin.mjs";
import { signCregis } from "../../src/providers/cregis/signer.mjs";
import cybavoDeposit from "../../src/providers/cybavo/fixtures/deposit-succeeded.json" with { type: "json" };
import { signCybavo } from "../../src/providers/cybavo/signer.mjs";
import killbRamp from "../../src/providers/killb/fixtures/ramp-created.json" with { type: "json" };
import { killbSignature } from "../../src/providers/killb/signer.mjs";
import { standardWebhooksHeaders } from "../../src/providers/standard-webhooks/signer.mjs";
import { TEST_SECRETS, testBindings } from "../support/test-config";
import {
  applyIndexMigrations,
  buildWorker,
  makeTempDir,
  PROJECT_ROOT,
  removeDir,
  sleep,
  unique,
  withTmpdir,
  wranglerWorkerOptions,
} from "./support";

const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === "1";
const OPERATOR = "Ada Lovelace";
const READ_TOKEN = "e2e-read-only-token-0123456789";

let origin: RunningOrigin;
let mf: Miniflare;
let gatewayUrl: URL;
let tempDir: string;
let browser: BrowserContext;
let page: Page;

/** Browser-side problems: uncaught page errors, console errors, dialogs, CSP violations, canary calls. */
const trouble = { pageErrors: [] as string[], consoleErrors: [] as string[], dialogs: [] as string[], fired: [] as string[] };

async function launch(options: { bypassCSP?: boolean } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const profile = await mkdtemp(join(tempDir, "chromium-profile-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 860 },
    bypassCSP: options.bypassCSP ?? false,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-quic",
    ],
  });
  // Anything the canary payloads would run calls this; a CSP violation reports through it too.
  await context.exposeFunction("__canaryFired", (what: string) => trouble.fired.push(String(what)));
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      (window as unknown as { __canaryFired: (w: string) => void }).__canaryFired(`csp ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const created = context.pages()[0] ?? (await context.newPage());
  created.on("pageerror", (err) => trouble.pageErrors.push(err.message));
  created.on("console", (message) => {
    if (message.type() === "error") trouble.consoleErrors.push(message.text());
  });
  created.on("dialog", (dialog) => {
    trouble.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  return { context, page: created };
}

beforeAll(async () => {
  expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`).toBe(true);
  tempDir = await makeTempDir("console-e2e-");
  const scriptPath = await buildWorker(tempDir);
  origin = await startOrigin({ secret: TEST_SECRETS.ORIGIN_SECRET });
  // Bindings (assets and the D1 index included), compatibility date and Durable Object classes
  // come from wrangler.toml; the tests set only values.
  const worker = wranglerWorkerOptions();
  const coinsKey = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  mf = withTmpdir(
    tempDir,
    () =>
      new Miniflare(
        convertV4MiniflareOptions({
          ...worker,
          modules: true,
          scriptPath,
          modulesRoot: tempDir,
          bindings: { ...worker.bindings, ...testBindings(origin.url, coinsKey.publicKey), ADMIN_READ_TOKEN: READ_TOKEN },
          host: "127.0.0.1",
          port: 0,
        }),
      ),
  );
  gatewayUrl = await mf.ready;
  await applyIndexMigrations(mf);
  ({ context: browser, page } = await launch());
});

afterAll(async () => {
  try {
    await browser?.close();
  } finally {
    try {
      await mf?.dispose();
    } finally {
      try {
        await origin?.close();
      } finally {
        if (tempDir) await removeDir(tempDir);
      }
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Helpers: sending, the admin API (bearer token) to wait for the index, the origin's record.

const consoleUrl = (hash = "") => new URL(`/console/${hash}`, gatewayUrl).href;

async function post(source: string, body: string, headers: Record<string, string>): Promise<void> {
  const response = await fetch(new URL(`/webhooks/${source}`, gatewayUrl), {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": "e2e-provider/1.0", ...headers },
    body,
  });
  expect([source, response.status]).toEqual([source, 200]);
}

/** A CYBAVO deposit for `wallet` with a fresh serial and a transaction hash of its own; returns the hash. */
async function sendCybavo(wallet: number, overrides: Record<string, unknown> = {}): Promise<string> {
  const txid = `0x${randomBytes(32).toString("hex")}`;
  const { body, headers } = signCybavo(
    { ...cybavoDeposit, serial: unique(), wallet_id: wallet, txid, ...overrides },
    TEST_SECRETS.CYBAVO_API_SECRET,
  );
  await post("cybavo", body, headers);
  return txid;
}

/** A Cregis payout for project `pid`; returns its third_party_id. */
async function sendCregis(pid: number): Promise<string> {
  const cid = unique();
  const fields = {
    pid,
    chain_id: "195",
    token_id: "195",
    currency: "TRX",
    cid,
    address: "TXsmKpEuW7qWnXzJLGP9eDLvWPR2GRn1FS",
    amount: "1.1",
    third_party_id: `order-${cid}`,
    remark: "payout",
    status: 6,
    txid: randomBytes(32).toString("hex"),
    block_height: "34527604",
    block_time: 1686814482000,
    nonce: "e2e0k1",
    timestamp: Date.now(),
  };
  const { body } = signCregis(fields, TEST_SECRETS.CREGIS_API_KEY);
  await post("cregis", body, {});
  return fields.third_party_id;
}

/** A KillB ramp for `user`; `data` overrides fields of its data. */
async function sendKillb(user: string, data: Record<string, unknown> = {}): Promise<string> {
  const body = JSON.stringify({
    ...killbRamp,
    id: `evt_${randomBytes(8).toString("hex")}`,
    data: { ...killbRamp.data, id: randomBytes(8).toString("hex"), userId: user, ...data },
  });
  await post("killb", body, { "x-signature-sha256": killbSignature(body, TEST_SECRETS.KILLB_WEBHOOK_SECRET) });
  return body;
}

interface Row {
  id: string;
  source: string;
  account: string;
  status: string;
  attempts: number;
  refs: string[];
  receivedAt: string;
}

async function adminGet<T>(path: string): Promise<T> {
  const response = await fetch(new URL(path, gatewayUrl), { headers: { authorization: `Bearer ${TEST_SECRETS.ADMIN_TOKEN}` } });
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

const indexed = async (query: Record<string, string>) =>
  (await adminGet<{ events: Row[] }>(`/admin/events?${new URLSearchParams({ limit: "200", ...query })}`)).events;

/** Polls `read` until `done` holds; fails with `describe` of the last value after `timeoutMs`. */
async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  describe: (value: T) => string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe(value)}`);
    await sleep(100);
  }
}

/** The index rows of one account once it holds `count` events in `status`. */
function indexedAs(source: string, account: string, status: string, count: number): Promise<Row[]> {
  return eventually(
    () => indexed({ source, account }),
    (rows) => rows.filter((r) => r.status === status).length === count,
    (rows) => `${source}/${account}: ${JSON.stringify(rows.map((r) => r.status))}, want ${count} ${status}`,
  );
}

async function originAttempts(subject: string): Promise<{ id: string; status: number | string; at: number }[]> {
  return (await fetch(`${origin.url}/_attempts?subject=${encodeURIComponent(subject)}`)).json() as never;
}

async function scriptOrigin(subject: string, replies: unknown[]): Promise<void> {
  const response = await fetch(`${origin.url}/_script`, { method: "POST", body: JSON.stringify({ subject, replies }) });
  expect(response.status).toBe(200);
}

// ---------------------------------------------------------------------------------------------
// Helpers: the page.

async function screenshot(name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  const dir = join(PROJECT_ROOT, "docs/console");
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

async function signIn(target: Page, name = OPERATOR, token = TEST_SECRETS.ADMIN_TOKEN): Promise<void> {
  await target.goto(consoleUrl());
  await target.getByLabel("Token").fill(token);
  await target.getByLabel(/Your name/).fill(name);
  await target.getByRole("button", { name: "Sign in" }).click();
  await target.locator("header.top .who").getByText(name).waitFor();
}

/** Opens a view by its URL, as a shared link would. */
async function open(target: Page, hash: string): Promise<void> {
  await target.goto(consoleUrl(hash));
  await target.locator("header.top").waitFor();
}

/** The view and filters in the page's URL. */
async function hashParams(target: Page): Promise<Record<string, string>> {
  const hash = await target.evaluate(() => location.hash);
  const [view, query] = hash.split("?");
  return { view: view ?? "", ...Object.fromEntries(new URLSearchParams(query ?? "")) };
}

/** The event ids the events table shows, in order. */
async function listedIds(target: Page): Promise<string[]> {
  await target.locator("table.events, p.empty").first().waitFor();
  return target.locator("table.events tbody tr").evaluateAll((rows) => rows.map((row) => row.getAttribute("data-event-id") ?? ""));
}

/** The text of each cell of each body row of the table `selector` matches. */
async function tableRows(target: Page, selector: string): Promise<string[][]> {
  return target
    .locator(`${selector} tbody tr`)
    .evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll("td,th")].map((cell) => (cell.textContent ?? "").trim())));
}

// ---------------------------------------------------------------------------------------------

describe("the console in Chromium", () => {
  const walletA = unique();
  const walletB = unique();
  const cregisPid = unique();
  const killbUser = `user-${unique()}`;
  let searchedTxid = "";

  it("signs in with the token and a name (a wrong token is refused), and shows who is signed in", async () => {
    await page.goto(consoleUrl());
    await page.getByLabel("Token").waitFor();
    await screenshot("sign-in");
    await page.getByLabel("Token").fill("not-the-token-at-all");
    await page.getByLabel(/Your name/).fill(OPERATOR);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toBe("That token was not accepted.");
    await signIn(page);
    expect(await page.locator("header.top .who").textContent()).toBe(`${OPERATOR} (admin)`);
    // The session is an HttpOnly cookie: the page's script cannot read it.
    expect(await page.evaluate(() => document.cookie)).toBe("");
    const cookies = await browser.cookies(gatewayUrl.href);
    expect(cookies.map((c) => ({ name: c.name, httpOnly: c.httpOnly, secure: c.secure, sameSite: c.sameSite }))).toEqual([
      { name: "__Host-wg_session", httpOnly: true, secure: true, sameSite: "Strict" },
    ]);
  });

  it("lists events from three providers and two accounts", async () => {
    await sendCybavo(walletA);
    searchedTxid = await sendCybavo(walletB);
    await sendCregis(cregisPid);
    await sendKillb(killbUser);
    for (const [source, account] of [
      ["cybavo", String(walletA)],
      ["cybavo", String(walletB)],
      ["cregis", String(cregisPid)],
      ["killb", killbUser],
    ] as const) {
      await indexedAs(source, account, "delivered", 1);
    }
    await open(page, "#/events");
    const rows = await tableRows(page, "table.events");
    // received, source, account, type, status, ...: newest first.
    expect(rows.map((r) => [r[1], r[2], r[4]])).toEqual([
      ["killb", killbUser, "delivered"],
      ["cregis", String(cregisPid), "delivered"],
      ["cybavo", String(walletB), "delivered"],
      ["cybavo", String(walletA), "delivered"],
    ]);
    await screenshot("events");
  });

  it("filters by source and finds one event by a provider reference, and the filter is in the URL", async () => {
    await open(page, "#/events");
    await page.getByLabel("Source").selectOption("cybavo");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect.poll(() => hashParams(page)).toEqual({ view: "#/events", source: "cybavo" });
    await expect.poll(async () => (await tableRows(page, "table.events")).map((r) => r[2])).toEqual([String(walletB), String(walletA)]);

    const [wanted] = await indexed({ source: "cybavo", account: String(walletB) });
    await page.getByLabel("Search").fill(searchedTxid);
    await page.getByRole("button", { name: "Apply" }).click();
    await expect.poll(() => listedIds(page)).toEqual([wanted!.id]);
    expect(await hashParams(page)).toEqual({ view: "#/events", q: searchedTxid, source: "cybavo" });

    // The same URL opened afresh (a shared link) shows the same result; another source finds nothing.
    await open(page, `#/events?q=${searchedTxid}`);
    await expect.poll(() => listedIds(page)).toEqual([wanted!.id]);
    await open(page, `#/events?q=${searchedTxid}&source=cregis`);
    await expect.poll(() => listedIds(page)).toEqual([]);
  });

  it("shows every attempt of an event after an origin failure and a retry", async () => {
    const wallet = unique();
    await scriptOrigin(String(wallet), [{ status: 503, retryAfter: "1" }, 200]);
    const txid = await sendCybavo(wallet);
    const [row] = await indexedAs("cybavo", String(wallet), "delivered", 1);
    expect(row!.attempts).toBe(2);
    expect((await originAttempts(String(wallet))).map((a) => a.status)).toEqual([503, 200]);

    await open(page, `#/events?q=${txid}`);
    await page.getByRole("button", { name: row!.id }).click();
    await page.getByRole("heading", { name: "Attempts (2)" }).waitFor();
    expect(await hashParams(page)).toEqual({ view: "#/event", source: "cybavo", account: String(wallet), id: row!.id });
    const attempts = await tableRows(page, "table.attempts");
    // #, time, outcome, status, latency, error
    expect(attempts.map((a) => [a[0], a[2], a[3], a[5]])).toEqual([
      ["1", "retry", "503", "HTTP 503"],
      ["2", "delivered", "200", ""],
    ]);
    expect(await page.locator("pre.payload").textContent()).toContain(txid);
    await screenshot("event");
  });

  it("redelivers one event from its page, then erases its payload after a confirmation", async () => {
    const [row] = await indexed({ source: "cybavo", account: String(walletA) });
    await open(page, `#/event?source=cybavo&account=${walletA}&id=${row!.id}`);
    await page.getByRole("heading", { name: "Attempts (1)" }).waitFor();
    await page.getByRole("button", { name: "Redeliver", exact: true }).click();
    await page.getByRole("status").getByText("Queued for redelivery").waitFor();
    // The page follows the event: the first delivery is kept in the history beside the new one.
    await page.getByRole("heading", { name: "Attempts (2)" }).waitFor({ timeout: 15_000 });
    expect((await tableRows(page, "table.attempts")).map((a) => [a[0], a[2], a[3]])).toEqual([
      ["1", "delivered", "200"],
      ["2", "delivered", "200"],
    ]);
    expect(origin.events.filter((e) => e.id === row!.id)).toHaveLength(2);

    await page.getByRole("button", { name: "Erase payload…" }).click();
    await page.getByRole("alertdialog", { name: "Confirm erase" }).waitFor();
    await page.getByRole("button", { name: "Erase the payload" }).click();
    await page.getByRole("status").getByText("Payload erased.").waitFor();
    await expect.poll(() => page.locator("pre.payload").count()).toBe(0);
    expect(await page.locator("dl.facts").textContent()).toContain("payload erased");
    expect(await page.getByRole("button", { name: "Erase payload…" }).count()).toBe(0);
  });

  it("bulk-redelivers the dead letters with a preview, a confirmation and progress, and each reaches the origin once", async () => {
    const deadWallets = [unique(), unique()];
    await scriptOrigin(String(deadWallets[0]), [410, 410]);
    await scriptOrigin(String(deadWallets[1]), [410]);
    await sendCybavo(deadWallets[0]!);
    await sendCybavo(deadWallets[0]!);
    await sendCybavo(deadWallets[1]!);
    await indexedAs("cybavo", String(deadWallets[0]), "dead", 2);
    await indexedAs("cybavo", String(deadWallets[1]), "dead", 1);
    const dead = await indexed({ status: "dead" });
    expect(dead).toHaveLength(3);

    await open(page, "#/dead-letters");
    await expect.poll(async () => (await tableRows(page, "table.entries")).length).toBe(3);
    expect((await tableRows(page, "table.entries")).map((r) => r[4]).sort()).toEqual(["HTTP 410", "HTTP 410", "HTTP 410"]);
    await screenshot("dead-letters");
    await page.getByRole("button", { name: "Redeliver in bulk…" }).click();
    await page.getByRole("status").getByText("3 events match: status=dead").waitFor();
    await page.getByRole("button", { name: "Redeliver 3 events…" }).click();
    await page.getByRole("button", { name: "Redeliver 3 events", exact: true }).click();
    await page.getByText("3 of 3 processed: 3 redelivered, 0 skipped, 0 failed").waitFor({ timeout: 30_000 });
    expect(await page.locator(".job .badge").textContent()).toBe("done");
    expect(await page.locator(".job progress").evaluate((p: HTMLProgressElement) => [p.value, p.max])).toEqual([3, 3]);
    // The recent jobs list has it, with who started it.
    await expect
      .poll(async () => (await tableRows(page, "table.jobs")).map((r) => [r[1], r[2], r[3], r[4]]))
      .toEqual([[OPERATOR, "status=dead", "done", "3 / 3"]]);
    await screenshot("bulk");

    for (const row of dead) await indexedAs("cybavo", row.account, "delivered", row.account === String(deadWallets[0]) ? 2 : 1);
    await sleep(1_500);
    const delivered = origin.events.filter((e) => dead.some((d) => d.id === e.id)).map((e) => e.id);
    expect(delivered.sort()).toEqual(dead.map((d) => d.id).sort());
  });

  it("shows the overview and rejected requests, and replays an account since a time after a confirmation", async () => {
    // A forged callback for the rejected requests view.
    const forged = await fetch(new URL("/webhooks/cybavo", gatewayUrl), {
      method: "POST",
      headers: { "content-type": "application/json", "x-checksum": "forged" },
      body: JSON.stringify({ ...cybavoDeposit, serial: unique() }),
    });
    expect(forged.status).toBe(401);
    await open(page, "#/rejections?source=cybavo");
    await expect.poll(async () => (await tableRows(page, "table.rejections")).map((r) => [r[1], r[2]])).toEqual([["cybavo", "401"]]);
    await screenshot("rejections");

    await open(page, "#/overview?range=1h");
    // A chart for each source with traffic; the backlog table has every account the tests used.
    await expect.poll(async () => (await page.locator(".chart .u-title").allTextContents()).sort()).toEqual(["cregis", "cybavo", "killb"]);
    await expect.poll(async () => (await tableRows(page, "table.accounts")).length).toBe(7);
    await screenshot("overview");

    // Replay wallet B since its one event: sent again with the same id.
    const [replayed] = await indexed({ source: "cybavo", account: String(walletB) });
    const since = new Date(Date.parse(replayed!.receivedAt) - 1000).toISOString();
    await open(page, `#/replay?source=cybavo&account=${walletB}&since=${since}`);
    await page.getByRole("heading", { name: "Replay an account since a time" }).waitFor();
    await page.getByRole("button", { name: "Replay…" }).click();
    await page.getByRole("alertdialog", { name: "Confirm replay" }).waitFor();
    await screenshot("replay");
    await page.getByRole("button", { name: "Replay", exact: true }).click();
    await page.getByRole("status").getByText("1 delivered event queued to be sent again.").waitFor();
    await expect.poll(() => origin.events.filter((e) => e.id === replayed!.id).length, { timeout: 15_000 }).toBe(2);
  });

  it("shows the destinations, and pauses an account: its callbacks are acknowledged and held, then delivered in order on resume", async () => {
    await open(page, "#/destinations");
    // Every test source delivers to the one test origin: one destination, its breaker closed.
    await expect
      .poll(async () => (await tableRows(page, "table.destinations")).map((r) => [r[0], r[1], r[3]]))
      .toEqual([["closed", `${origin.url}/events`, expect.stringMatching(/^\d+ of \d+ failed in 300 s$/)]]);
    await screenshot("destinations");
    await page.getByRole("button", { name: `${origin.url}/events` }).click();
    await page.getByRole("heading", { name: "Breaker history" }).waitFor();
    await screenshot("destination");

    const wallet = unique();
    await open(page, `#/events?source=cybavo&account=${wallet}`);
    const control = page.locator('.pause-control[data-scope="account"]');
    await control.locator(".badge").getByText("delivering", { exact: true }).waitFor();
    await control.getByRole("button", { name: "Pause account" }).click();
    await control.getByRole("status").getByText("Paused.", { exact: true }).waitFor();
    await control.locator(".badge").getByText("paused", { exact: true }).waitFor();
    expect(await control.locator(".pause-state").textContent()).toContain(`by ${OPERATOR}`);
    // Acknowledged (200) and stored while paused; no attempt reaches the origin.
    const txids = [await sendCybavo(wallet), await sendCybavo(wallet)];
    const stored = await adminGet<{ events: { state: string }[] }>(`/admin/sources/cybavo/accounts/${wallet}/events`);
    expect(stored.events.map((e) => e.state)).toEqual(["pending", "pending"]);
    await sleep(2_000);
    expect(await originAttempts(String(wallet))).toEqual([]);
    await page.reload();
    await control.locator(".badge").getByText("paused", { exact: true }).waitFor();
    await screenshot("account-paused");

    await control.getByRole("button", { name: "Resume account" }).click();
    await control.getByRole("status").getByText("Resumed.", { exact: true }).waitFor();
    const arrived = () =>
      origin.events
        .filter((e) => e.json.subject === String(wallet))
        .map((e) => (e.json as { data?: { payload?: { txid?: string } } }).data?.payload?.txid);
    await expect.poll(arrived, { timeout: 15_000 }).toEqual(txids);
    await control.locator(".badge").getByText("delivering", { exact: true }).waitFor();
  });

  it("pauses a source from its destination after a confirmation, shows it in the overview's banner, and resumes it", async () => {
    const [destination] = (await adminGet<{ destinations: { id: string }[] }>("/admin/destinations")).destinations;
    await open(page, `#/destination?id=${destination!.id}`);
    const control = page
      .locator('.pause-control[data-scope="source"]')
      .filter({ has: page.locator(".pause-name strong").getByText("cregis", { exact: true }) });
    await control.getByRole("button", { name: "Pause source…" }).click();
    await page.getByRole("alertdialog", { name: "Confirm pause" }).getByRole("button", { name: "Pause source" }).click();
    await control.getByRole("status").getByText("Paused.", { exact: true }).waitFor();
    await open(page, "#/overview?range=1h");
    const banner = page.locator(".banner");
    await banner.getByText("Source paused:").waitFor();
    expect((await banner.textContent())?.replace(/\s+/g, " ")).toMatch(new RegExp(`Source paused: cregis since .* UTC by ${OPERATOR}\\.`));
    await banner.getByRole("button", { name: "cregis" }).click();
    await control.getByRole("button", { name: "Resume source" }).click();
    await control.getByRole("status").getByText("Resumed.", { exact: true }).waitFor();
    expect((await adminGet<{ pausedSources: unknown[] }>(`/admin/destinations/${destination!.id}`)).pausedSources).toEqual([]);
    await open(page, "#/overview?range=1h");
    await page.locator("table.accounts").waitFor();
    expect(await page.locator(".banner").count()).toBe(0);
  });

  it("renders script, event-handler and javascript: payloads in every field as text, and none runs (with the CSP, and without it)", async () => {
    const sent = await sendCanaries();
    await walkCanaries(page, sent, true);
    expectNothingRan();
    // The same pages with the browser ignoring the CSP: the rendering alone keeps them text.
    const { context, page: bare } = await launch({ bypassCSP: true });
    try {
      await signIn(bare, "Canary check");
      await walkCanaries(bare, sent);
    } finally {
      await context.close();
    }
    expectNothingRan();
  });

  it("signs out: the cookie is gone, the API answers 401, and the console asks to sign in again", async () => {
    await open(page, "#/events");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("Token").waitFor();
    // Chromium stores a response's cookies beside delivering it: the removal shows a moment later.
    await expect.poll(() => browser.cookies(gatewayUrl.href)).toEqual([]);
    expect(await page.evaluate(() => fetch("/admin/events").then((r) => r.status))).toBe(401);
    await page.reload();
    await page.getByLabel("Token").waitFor();
    expect(await page.locator("header.top").count()).toBe(0);
  });

  it("a read-only session sees the same pages without any action", async () => {
    await signIn(page, "Auditor", READ_TOKEN);
    expect(await page.locator("header.top .who").textContent()).toBe("Auditor (read-only)");
    const [dead] = await indexed({ source: "cybavo", status: "delivered" });
    await open(page, `#/event?source=cybavo&account=${dead!.account}&id=${dead!.id}`);
    await page.getByText("Read-only session: actions are not available.").waitFor();
    expect(await page.getByRole("button", { name: /Redeliver|Erase|Replay/ }).count()).toBe(0);
    await open(page, `#/events?source=cybavo&account=${encodeURIComponent(dead!.account)}`);
    await page.locator('.pause-control[data-scope="account"] .badge').getByText("delivering", { exact: true }).waitFor();
    expect(await page.getByRole("button", { name: /Pause|Resume/ }).count()).toBe(0);
    await open(page, "#/bulk?status=dead&preview=1");
    await page.getByText("Read-only session: bulk redelivery is not available.").waitFor();
    // The API refuses a change from it all the same.
    const status = await page.evaluate(
      (path) => fetch(path, { method: "POST" }).then((r) => r.status),
      `/admin/sources/cybavo/accounts/${encodeURIComponent(dead!.account)}/events/${dead!.id}/redeliver`,
    );
    expect(status).toBe(403);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("Token").waitFor();
  });
});

// ---------------------------------------------------------------------------------------------
// The canary: attacker-controlled text in every string a provider or client controls.

const CANARIES = [
  `<script>__canaryFired("script")</script>`,
  `<img src=x onerror="__canaryFired('img')">`,
  `javascript:__canaryFired('href')//`,
  `"><svg onload=__canaryFired('svg')>`,
] as const;
const canary = (i: number) => `${CANARIES[i % CANARIES.length]}#${i}`;

interface Canaries {
  swBody: string;
  swAccount: string;
  cybavoWallet: number;
  cybavoTxid: string;
  killbBody: string;
}

/** Signed callbacks whose every string field holds a payload: Standard Webhooks (account, type and all), CYBAVO, KillB. */
async function sendCanaries(): Promise<Canaries> {
  const swAccount = `${canary(3)}-${unique()}`;
  const payload = {
    type: canary(0),
    timestamp: canary(1),
    data: { id: canary(2), customer_id: swAccount, note: canary(0), nested: { text: canary(1), list: [canary(2), canary(3)] } },
  };
  const swBody = JSON.stringify(payload);
  await post("standard-webhooks", swBody, {
    ...standardWebhooksHeaders(swBody, [TEST_SECRETS.STANDARD_WEBHOOKS_SECRET!]),
    "user-agent": canary(0),
  });

  const cybavoWallet = unique();
  const cybavoTxid = canary(4);
  const cybavo = signCybavo(
    {
      ...cybavoDeposit,
      serial: unique(),
      wallet_id: cybavoWallet,
      txid: cybavoTxid,
      order_id: canary(5),
      memo: canary(6),
      from_address: canary(7),
      to_address: canary(8),
    },
    TEST_SECRETS.CYBAVO_API_SECRET,
  );
  await post("cybavo", cybavo.body, { ...cybavo.headers, "user-agent": canary(1) });

  // A status KillB never sends: quarantined, its reason naming the value.
  const killbUser = `${canary(9)}-${unique()}`;
  const killbBody = await sendKillb(killbUser, { status: canary(10), cashInMethod: canary(11) });

  await eventually(
    () => indexed({ source: "standard-webhooks" }),
    (rows) => rows.some((r) => r.account === swAccount && r.status === "delivered"),
    (rows) => JSON.stringify(rows),
  );
  await indexedAs("cybavo", String(cybavoWallet), "delivered", 1);
  await eventually(
    () => indexed({ source: "killb", status: "quarantined" }),
    (rows) => rows.length === 1,
    (rows) => JSON.stringify(rows),
  );
  return { swBody, swAccount, cybavoWallet, cybavoTxid, killbBody };
}

/** Opens every view that shows the canaries and checks each payload is on the page as literal text. */
async function walkCanaries(target: Page, sent: Canaries, shots = false): Promise<void> {
  await open(target, "#/events?source=standard-webhooks");
  const list = (await target.locator("table.events").textContent()) ?? "";
  expect(list).toContain(sent.swAccount);
  await target.getByRole("button", { name: /^evt_/ }).first().click();
  await target.locator("pre.payload").waitFor();
  expect(await target.locator("pre.payload").textContent()).toBe(JSON.stringify(JSON.parse(sent.swBody), null, 2));
  expect(await target.locator("dl.facts").textContent()).toContain(sent.swAccount);
  // The sender's own type, in the normalized event.
  expect(await target.locator("pre.json").first().textContent()).toContain(JSON.stringify(canary(0)).slice(1, -1));
  await expectClean(target);
  if (shots) await screenshot("canary");

  // The account's events view: its pause control names the account as text.
  await open(target, `#/events?${new URLSearchParams({ source: "standard-webhooks", account: sent.swAccount })}`);
  const control = target.locator('.pause-control[data-scope="account"]');
  await control.locator(".badge").waitFor();
  expect(await control.locator(".pause-name strong").textContent()).toBe(sent.swAccount);
  await expectClean(target);

  await open(target, `#/events?q=${encodeURIComponent(sent.cybavoTxid)}`);
  await target.getByRole("button", { name: /^evt_/ }).first().click();
  await target.locator("pre.payload").waitFor();
  const payload = (await target.locator("pre.payload").textContent()) ?? "";
  for (const i of [4, 5, 6, 7, 8]) expect(payload).toContain(JSON.stringify(canary(i)).slice(1, -1));
  await expectClean(target);

  await open(target, "#/quarantine?source=killb");
  await target.locator("table.entries tbody tr").first().waitFor();
  const reason = (await tableRows(target, "table.entries"))[0]![3]!;
  expect(reason).toBe(`unmapped: RAMP status ${canary(10)}`);
  if (shots) await screenshot("quarantine");
  await target.getByRole("button", { name: /^evt_/ }).first().click();
  await target.locator("pre.payload").waitFor();
  // The raw body as received, byte for byte (as UTF-8 text).
  expect(await target.locator("pre.payload").textContent()).toBe(sent.killbBody);
  await expectClean(target);
}

/** No element the page made from data: no event-handler attribute, no javascript: URL, no image, frame or extra script. */
async function expectClean(target: Page): Promise<void> {
  const found = await target.evaluate(() => {
    const bad: string[] = [];
    for (const el of document.querySelectorAll("*")) {
      for (const attr of el.attributes) {
        if (attr.name.startsWith("on") || /javascript:/i.test(attr.value)) bad.push(`${el.tagName} ${attr.name}=${attr.value}`);
      }
    }
    const counts = {
      script: document.querySelectorAll("script").length,
      img: document.querySelectorAll("img, svg, iframe, object, embed").length,
    };
    return { bad, counts };
  });
  expect(found).toEqual({ bad: [], counts: { script: 1, img: 0 } });
}

function expectNothingRan(): void {
  expect({ fired: trouble.fired, dialogs: trouble.dialogs, pageErrors: trouble.pageErrors }).toEqual({
    fired: [],
    dialogs: [],
    pageErrors: [],
  });
  expect(trouble.consoleErrors.filter((m) => /Refused|Content Security Policy|__canaryFired/i.test(m))).toEqual([]);
}
