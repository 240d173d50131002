/**
 * Per-source IP allow-lists (`ipAllowList` in a source): an extra check on `CF-Connecting-IP`,
 * on top of the signature, never instead of it. Entries are IPv4 or IPv6 addresses or CIDR
 * ranges. Parsing never throws: a bad entry is reported by config, a bad header matches nothing.
 */

/** An address as a 128-bit number (IPv4 mapped into ::ffff:0:0/96, so one code path serves both). */
function parseAddress(text: string): bigint | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) {
    const parts = text.split(".").map(Number);
    if (parts.some((p) => p > 255)) return undefined;
    return parts.reduce((n, p) => (n << 8n) | BigInt(p), 0xffffn);
  }
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(":")) return undefined;
  let head = text;
  let tail4: bigint | undefined;
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    // An embedded IPv4 tail, e.g. ::ffff:192.0.2.1
    tail4 = parseAddress(text.slice(lastColon + 1));
    if (tail4 === undefined) return undefined;
    tail4 &= 0xffffffffn;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const left = groups(halves[0] ?? "");
  const right = halves.length === 2 ? groups(halves[1] ?? "") : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...left, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...right];
  if (all.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  const value = all.reduce((n, g) => (n << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
  return tail4 === undefined ? value : (value & ~0xffffffffn) | tail4;
}

export interface IpRange {
  readonly base: bigint;
  readonly mask: bigint;
}

const ALL = (1n << 128n) - 1n;

/** Parses `192.0.2.0/24`, `2001:db8::/32` or a single address; undefined when malformed. */
export function parseRange(entry: string): IpRange | undefined {
  const [addressText, prefixText, extra] = entry.trim().split("/");
  if (addressText === undefined || extra !== undefined) return undefined;
  const address = parseAddress(addressText);
  if (address === undefined) return undefined;
  const isV4 = !addressText.includes(":");
  const maxPrefix = isV4 ? 32 : 128;
  const prefix = prefixText === undefined ? maxPrefix : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (!(prefix >= 0 && prefix <= maxPrefix)) return undefined;
  const bits = BigInt(128 - maxPrefix + prefix);
  const mask = bits === 0n ? 0n : (ALL << (128n - bits)) & ALL;
  return { base: address & mask, mask };
}

/** True if `ip` (a CF-Connecting-IP value) lies in one of the ranges. */
export function ipAllowed(ranges: readonly IpRange[], ip: string | null): boolean {
  const address = ip === null ? undefined : parseAddress(ip.trim());
  if (address === undefined) return false;
  return ranges.some((range) => (address & range.mask) === range.base);
}
