// Reads the local development settings: .dev.vars, or .dev.vars.example before first start.
import { existsSync, readFileSync } from "node:fs";

export const root = new URL("../../", import.meta.url);

/** Parses a dotenv-style file (KEY=value lines, # comments) as wrangler does for .dev.vars. */
export function parseDevVars(text) {
  const vars = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/.exec(line);
    if (!match || line.trimStart().startsWith("#")) continue;
    let value = match[2];
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    vars[match[1]] = value;
  }
  return vars;
}

export function devVarsPath() {
  const own = new URL(".dev.vars", root);
  return existsSync(own) ? own : new URL(".dev.vars.example", root);
}

export function readDevVars() {
  const vars = parseDevVars(readFileSync(devVarsPath(), "utf8"));
  return { ...vars, SOURCES: JSON.parse(vars.SOURCES ?? "{}") };
}
