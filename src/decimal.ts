/**
 * Exact decimal strings for money. Amounts never pass through a JavaScript number: they are
 * moved as digit strings, so a 30-digit token amount keeps every digit.
 */

const UNSIGNED_INTEGER = /^\d+$/;
const DECIMAL = /^-?\d+(\.\d+)?$/;

/**
 * Converts an amount in the smallest unit to an exact decimal string.
 * `fromSmallestUnit("500000000000000000", 18)` is `"0.5"`; `("1", 18)` is `"0.000000000000000001"`.
 * Returns undefined for anything that is not a non-negative integer string, or a bad scale.
 */
export function fromSmallestUnit(units: string, decimals: number): string | undefined {
  if (!UNSIGNED_INTEGER.test(units) || !Number.isInteger(decimals) || decimals < 0 || decimals > 255) {
    return undefined;
  }
  const digits = units.replace(/^0+(?=\d)/, "");
  if (decimals === 0) return digits;
  const padded = digits.padStart(decimals + 1, "0");
  const whole = padded.slice(0, padded.length - decimals);
  const fraction = padded.slice(padded.length - decimals).replace(/0+$/, "");
  return fraction === "" ? whole : `${whole}.${fraction}`;
}

/**
 * Checks that a provider's decimal text is a plain decimal (no exponent, no sign other than a
 * leading minus) and returns it unchanged: `"1.10"` stays `"1.10"`, as the provider wrote it.
 */
export function exactDecimal(text: string): string | undefined {
  return DECIMAL.test(text) ? text : undefined;
}

const JSON_NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * Turns a JSON number's text (or a decimal string) into an exact plain decimal string, without
 * a double: `23.81` stays `"23.81"`, `1e5` becomes `"100000"`, `1.5E-3` becomes `"0.0015"`.
 * Returns undefined for anything else, or an exponent too large to write out.
 */
export function decimalFromJsonNumber(text: string): string | undefined {
  const match = JSON_NUMBER.exec(text);
  if (match === null) return undefined;
  const [, sign = "", whole = "", fraction = "", exponentText] = match;
  if (exponentText === undefined) return text;
  const exponent = Number(exponentText);
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 1000) return undefined;
  const digits = whole + fraction;
  const point = whole.length + exponent;
  const padded = point <= 0 ? "0".repeat(1 - point) + digits : digits.padEnd(point, "0");
  const at = Math.max(point, 1);
  const intPart = padded.slice(0, at).replace(/^0+(?=\d)/, "");
  const fracPart = padded.slice(at).replace(/0+$/, "");
  return `${sign}${intPart}${fracPart ? `.${fracPart}` : ""}`;
}
