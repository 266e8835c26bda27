import { encodeFrame, FrameDecoder } from "./frames";

describe("host frames", () => {
  test("length-prefixed JSON, big-endian", () => {
    const f = encodeFrame({ type: "execute", id: "e1", code: "é" });
    expect(f.readUInt32BE(0)).toBe(f.length - 4);
    expect(JSON.parse(f.subarray(4).toString("utf8"))).toEqual({ type: "execute", id: "e1", code: "é" });
  });

  test("frames split and joined arbitrarily", () => {
    const bytes = Buffer.concat([
      encodeFrame({ type: "a", n: 1 }),
      encodeFrame({ type: "b", text: "x".repeat(1000) }),
      encodeFrame({ type: "c" }),
    ]);
    for (const chunk of [1, 3, 7, 100, bytes.length]) {
      const d = new FrameDecoder();
      const got: string[] = [];
      for (let i = 0; i < bytes.length; i += chunk)
        got.push(...d.push(bytes.subarray(i, i + chunk)).map((m) => m.type));
      expect(got).toEqual(["a", "b", "c"]);
      expect(d.buffered).toBe(0);
    }
  });

  test("a broken stream throws", () => {
    const notJson = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from("{x}")]);
    expect(() => new FrameDecoder().push(notJson)).toThrow(/not JSON/);
    const noType = encodeFrame({ id: 1 });
    expect(() => new FrameDecoder().push(noType)).toThrow(/string "type"/);
    expect(() => new FrameDecoder().push(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow(/broken/);
  });

  test("after a broken frame, a well-formed one that follows is not trusted", () => {
    // A cell wrote garbage to the channel and the host's own reply arrived
    // in the next chunk, before the kill: the reply must not be delivered.
    const d = new FrameDecoder();
    expect(() => d.push(Buffer.concat([Buffer.from([0, 0, 0, 5]), Buffer.from("hello")]))).toThrow(/not JSON/);
    expect(() => d.push(encodeFrame({ type: "execute_reply", status: "ok" }))).toThrow(/not JSON/);
  });
});
