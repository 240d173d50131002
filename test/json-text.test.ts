import { describe, expect, it } from "vitest";
import { topLevelMembers } from "../src/verify/json-text";

describe("topLevelMembers", () => {
  it("returns each member's exact value text", () => {
    const members = topLevelMembers('{ "pid" : 13825288274165761, "a":"1.10", "n":null, "o":{"x":[1,{"y":"}"}]}, "t":true }');
    expect(members && Object.fromEntries([...members].map(([k, m]) => [k, m.raw]))).toEqual({
      pid: "13825288274165761",
      a: '"1.10"',
      n: "null",
      o: '{"x":[1,{"y":"}"}]}',
      t: "true",
    });
    expect(members?.get("o")?.kind).toBe("object");
  });

  it("decodes escaped keys", () => {
    expect([...(topLevelMembers('{"a\\u0062":1}')?.keys() ?? [])]).toEqual(["ab"]);
  });

  it.each([
    ["not an object", "[1]"],
    ["duplicate key", '{"a":1,"a":2}'],
    ["trailing comma", '{"a":1,}'],
    ["trailing text", '{"a":1} x'],
    ["bad number", '{"a":01}'],
    ["bad escape", '{"a":"\\x"}'],
    ["control character", '{"a":"\u0001"}'],
    ["unterminated", '{"a":"1'],
    ["too deep", `{"a":${"[".repeat(100)}${"]".repeat(100)}}`],
    ["empty", ""],
  ])("refuses %s", (_name, text) => {
    expect(topLevelMembers(text)).toBeUndefined();
  });

  it("accepts what JSON.parse accepts for ordinary bodies", () => {
    for (const text of ['{"a":-1.5e+3}', '{"a":[]}', '{"a":{}}', "{}", '{"a":"\\ud83d\\ude00"}']) {
      expect(topLevelMembers(text)).toBeDefined();
      expect(() => JSON.parse(text)).not.toThrow();
    }
  });
});
