import { describe, expect, it } from "vitest";
import { decimalFromJsonNumber, exactDecimal, fromSmallestUnit } from "../src/decimal";

describe("fromSmallestUnit", () => {
  it.each([
    ["500000000000000000", 18, "0.5"],
    ["1", 18, "0.000000000000000001"],
    ["0", 18, "0"],
    ["0", 0, "0"],
    ["945000000000000", 18, "0.000945"],
    ["1000000", 6, "1"],
    ["123456789012345678901234567890", 18, "123456789012.34567890123456789"],
    ["123456789012345678901234567890", 0, "123456789012345678901234567890"],
    ["000120", 2, "1.2"],
  ])("%s with %i decimals is %s", (units, decimals, expected) => {
    expect(fromSmallestUnit(units, decimals)).toBe(expected);
  });

  it("keeps every digit of a 30-digit amount", () => {
    const value = fromSmallestUnit("987654321098765432109876543210", 18);
    expect(value).toBe("987654321098.76543210987654321");
    expect(value?.replace(".", "")).toBe("98765432109876543210987654321"); // trailing zero dropped only
  });

  it.each([
    ["-1", 2],
    ["1.5", 2],
    ["1e18", 0],
    ["", 2],
    ["12", -1],
    ["12", 1.5],
  ])("refuses %s with %s decimals", (units, decimals) => {
    expect(fromSmallestUnit(units, decimals)).toBeUndefined();
  });
});

describe("exactDecimal", () => {
  it("keeps the provider's text", () => {
    expect(exactDecimal("1.10")).toBe("1.10");
    expect(exactDecimal("23.81")).toBe("23.81");
    expect(exactDecimal("-0.5")).toBe("-0.5");
  });
  it.each(["1e5", "1.", ".5", "+1", "NaN", " 1"])("refuses %s", (text) => {
    expect(exactDecimal(text)).toBeUndefined();
  });
});

describe("decimalFromJsonNumber", () => {
  it.each([
    ["23.81", "23.81"],
    ["100000", "100000"],
    ["1e5", "100000"],
    ["1.5E-3", "0.0015"],
    ["-2.50e1", "-25"],
    ["123456789012345678901234567890", "123456789012345678901234567890"],
    ["0.1e1", "1"],
    ["5e-1", "0.5"],
  ])("%s → %s", (text, expected) => {
    expect(decimalFromJsonNumber(text)).toBe(expected);
  });
  it.each(["1e99999", "abc", "1.", "--1", ""])("refuses %s", (text) => {
    expect(decimalFromJsonNumber(text)).toBeUndefined();
  });
});
