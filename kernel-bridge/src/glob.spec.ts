import { Glob, globMatch } from "./glob";

/** The old regex translation, as the reference on small inputs (where backtracking is harmless). */
function reference(pattern: string, text: string): boolean {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${escaped}$`, "su").test(text);
}

/** A small deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("glob", () => {
  test("literal, *, ? and the anchors", () => {
    expect(globMatch("abc", "abc")).toBe(true);
    expect(globMatch("abc", "abcd")).toBe(false);
    expect(globMatch("a*", "abc")).toBe(true);
    expect(globMatch("*c", "abc")).toBe(true);
    expect(globMatch("*b*", "abc")).toBe(true);
    expect(globMatch("*x*", "abc")).toBe(false);
    expect(globMatch("a?c", "abc")).toBe(true);
    expect(globMatch("a?c", "ac")).toBe(false);
    expect(globMatch("*", "")).toBe(true);
    expect(globMatch("", "")).toBe(true);
    expect(globMatch("", "a")).toBe(false);
    expect(globMatch("a*a", "a")).toBe(false); // the two anchored pieces may not share a character
    expect(globMatch("a*a", "aa")).toBe(true);
  });

  test("regex characters are literal, newlines are characters, ? is one code point", () => {
    expect(globMatch("a.c", "abc")).toBe(false);
    expect(globMatch("a.c", "a.c")).toBe(true);
    expect(globMatch("[ab](x)+|^$", "[ab](x)+|^$")).toBe(true);
    expect(globMatch("int*;", "int a\n= 1;")).toBe(true);
    expect(globMatch("a?b", "a😀b")).toBe(true);
    expect(globMatch("*é*", "café au lait")).toBe(true);
  });

  test("pieces longer than 32 characters (several words of state)", () => {
    const long = "x".repeat(40) + "?" + "y".repeat(30);
    expect(globMatch(`*${long}*`, `aaa${"x".repeat(41)}Q${"y".repeat(30)}bbb`)).toBe(true);
    expect(globMatch(`*${long}*`, `aaa${"x".repeat(41)}Q${"y".repeat(29)}bbb`)).toBe(false);
  });

  test("agrees with the regex translation on 20,000 random small cases (seed 1234)", () => {
    const next = rng(1234);
    const pick = (s: string) => s[Math.floor(next() * s.length)];
    for (let i = 0; i < 20000; i++) {
      const pattern = Array.from({ length: Math.floor(next() * 7) }, () => pick("ab*?*")).join("");
      const text = Array.from({ length: Math.floor(next() * 9) }, () => pick("abc")).join("");
      if (globMatch(pattern, text) !== reference(pattern, text)) {
        throw new Error(
          `glob ${JSON.stringify(pattern)} on ${JSON.stringify(text)}: expected ${reference(pattern, text)}`,
        );
      }
    }
  });

  test("the pattern that made the regex backtrack for minutes is answered", () => {
    // "*a" x 12 + "*b" against "// " + 40 a's: exponential as a regex.
    const g = new Glob("*a".repeat(12) + "*b");
    expect(g.matches("// " + "a".repeat(40))).toBe(false);
    expect(g.matches("// " + "a".repeat(40) + "b")).toBe(true);
    // And at scale: a megabyte of text, a piece of 200 characters.
    expect(globMatch(`*${"a".repeat(199)}b*`, "a".repeat(1_000_000))).toBe(false);
  });
});
