import { History, historyQueryFrom } from "./history";

describe("history", () => {
  const h = new History();
  h.add(1, "int a = 1;");
  h.add(2, "a + 1");
  h.add(3, "int b = a;");
  h.add(4, "a + 1");
  h.setOutput(2, "(int) 2");

  test("tail", () => {
    expect(h.query({ hist_access_type: "tail", n: 2 })).toEqual([
      [1, 3, "int b = a;"],
      [1, 4, "a + 1"],
    ]);
    expect(h.query({ hist_access_type: "tail", n: 0 })).toEqual([]);
  });
  test("range, with output", () => {
    expect(h.query({ hist_access_type: "range", session: 0, start: 2, stop: 3, output: true })).toEqual([
      [1, 2, ["a + 1", "(int) 2"]],
    ]);
    expect(h.query({ hist_access_type: "range", session: 7 })).toEqual([]);
  });
  test("search with a glob, unique", () => {
    expect(h.query({ hist_access_type: "search", pattern: "a*" }).map((r) => r[1])).toEqual([2, 4]);
    expect(h.query({ hist_access_type: "search", pattern: "a*", unique: true }).map((r) => r[1])).toEqual([4]);
    expect(h.query({ hist_access_type: "search", pattern: "int ?*" }).length).toBe(2);
  });
  test("unknown access type", () => {
    expect(h.query({ hist_access_type: "nope" })).toEqual([]);
  });
  test("request fields: checked, null as absent, the first bad one named with what was found", () => {
    expect(historyQueryFrom({ hist_access_type: "search", pattern: "a*", n: null, unique: true })).toMatchObject({
      hist_access_type: "search",
      pattern: "a*",
      n: undefined,
      unique: true,
    });
    expect(() => historyQueryFrom({ n: 2.5 })).toThrow('history_request: "n" must be an integer, found 2.5');
    expect(() => historyQueryFrom({ output: "yes" })).toThrow(
      'history_request: "output" must be true or false, found "yes"',
    );
    expect(() => historyQueryFrom({ pattern: ["*"] })).toThrow(
      '"pattern" must be a string (a glob: * and ?), found ["*"]',
    );
    expect(() => historyQueryFrom({ hist_access_type: "__proto__" })).toThrow(
      '"hist_access_type" must be one of tail, range, search, found "__proto__"',
    );
    expect(() => historyQueryFrom({ start: 1e300 })).toThrow('"start" must be an integer, found 1e+300');
  });
});
