// Fails when worker-configuration.d.ts (the generated `Env` type) is stale. `wrangler types
// --check` cannot be used: it ignores --env-file and reads .dev.vars when one exists, so its
// verdict would differ between a fresh clone and a machine that has run `npm start`.
// This regenerates the types beside the committed file, with the same flags, and compares.
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const committed = "worker-configuration.d.ts";
const fresh = "worker-configuration.check.d.ts";
const wrangler = fileURLToPath(new URL("../node_modules/wrangler/bin/wrangler.js", import.meta.url));

// The first two lines (a lint marker, and the command that generated the file, so its path) are not compared.
const body = (file) =>
  readFileSync(new URL(file, `file://${root}`), "utf8")
    .split("\n")
    .slice(2)
    .join("\n");

try {
  execFileSync(process.execPath, [wrangler, "types", fresh, "--strict-vars=false", "--env-file", ".dev.vars.example"], {
    cwd: root,
    stdio: "ignore",
  });
  if (body(committed) !== body(fresh)) {
    console.error(`${committed} is out of date: run \`npm run types\` and commit the result.`);
    process.exitCode = 1;
  } else {
    console.log(`${committed} is up to date.`);
  }
} finally {
  rmSync(new URL(fresh, `file://${root}`), { force: true });
}
