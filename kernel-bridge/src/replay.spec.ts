import { SignatureHistory } from "./replay";

describe("signature history", () => {
  test("a signature is accepted once", () => {
    const h = new SignatureHistory();
    expect(h.accept("aa")).toBe(true);
    expect(h.accept("bb")).toBe(true);
    expect(h.accept("aa")).toBe(false);
    expect(h.accept("bb")).toBe(false);
  });

  test("bounded: the oldest signatures are forgotten first", () => {
    const h = new SignatureHistory(3);
    for (const s of ["s1", "s2", "s3", "s4"]) expect(h.accept(s)).toBe(true);
    expect(h.size).toBe(3);
    expect(h.accept("s4")).toBe(false);
    expect(h.accept("s2")).toBe(false);
    expect(h.accept("s1")).toBe(true); // forgotten, so accepted again
  });
});
