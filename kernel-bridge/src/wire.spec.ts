import { createHmac } from "crypto";

import { SignatureHistory } from "./replay";
import { decode, DELIMITER, encode, Message, Signer, WireError } from "./wire";

const key = "4b0c7e66-secret";

function sample(): Message {
  return {
    identities: [Buffer.from("client-id")],
    header: {
      msg_id: "m1",
      session: "s",
      username: "u",
      date: "2024-01-01T00:00:00Z",
      msg_type: "kernel_info_request",
      version: "5.3",
    },
    parent_header: {},
    metadata: {},
    content: { x: "é" },
    buffers: [Buffer.from([1, 2, 3])],
  };
}

function reason(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof WireError) return e.reason;
    throw e;
  }
  return "none";
}

describe("wire format", () => {
  test("encode: identities, delimiter, hex HMAC-SHA256 of the four JSON frames, buffers", () => {
    const frames = encode(new Signer(key), sample());
    expect(frames[0].toString()).toBe("client-id");
    expect(frames[1].equals(DELIMITER)).toBe(true);
    const h = createHmac("sha256", key);
    frames.slice(3, 7).forEach((f) => h.update(f));
    expect(frames[2].toString()).toBe(h.digest("hex"));
    expect(JSON.parse(frames[6].toString())).toEqual({ x: "é" });
    expect(frames[7]).toEqual(Buffer.from([1, 2, 3]));
  });

  test("decode inverts encode", () => {
    const s = new Signer(key);
    const m = decode(s, encode(s, sample()));
    expect(m).toEqual(sample());
  });

  test("several identities, and none", () => {
    const s = new Signer(key);
    const m = sample();
    m.identities = [Buffer.from("a"), Buffer.from("b")];
    expect(decode(s, encode(s, m)).identities.map(String)).toEqual(["a", "b"]);
    m.identities = [];
    expect(decode(s, encode(s, m)).identities).toEqual([]);
  });

  test("a wrong key, a tampered frame or a missing signature is bad-signature", () => {
    const frames = encode(new Signer(key), sample());
    expect(reason(() => decode(new Signer("other"), frames))).toBe("bad-signature");
    const tampered = frames.slice();
    tampered[6] = Buffer.from('{"x":"evil"}');
    expect(reason(() => decode(new Signer(key), tampered))).toBe("bad-signature");
    const unsigned = frames.slice();
    unsigned[2] = Buffer.from("");
    expect(reason(() => decode(new Signer(key), unsigned))).toBe("bad-signature");
  });

  test("framing errors", () => {
    const s = new Signer(key);
    expect(reason(() => decode(s, [Buffer.from("x")]))).toBe("no-delimiter");
    expect(reason(() => decode(s, [DELIMITER, Buffer.from("sig"), Buffer.from("{}")]))).toBe("too-few-frames");
    const parts = ["[1]", "{}", "{}", "{}"].map((x) => Buffer.from(x));
    expect(reason(() => decode(s, [DELIMITER, Buffer.from(s.sign(parts)), ...parts]))).toBe("bad-json");
    const noType = ['{"msg_id":"a"}', "{}", "{}", "{}"].map((x) => Buffer.from(x));
    expect(reason(() => decode(s, [DELIMITER, Buffer.from(s.sign(noType)), ...noType]))).toBe("bad-header");
  });

  test("with a signature history, the same signed frames decode once, then are replayed", () => {
    const s = new Signer(key);
    const seen = new SignatureHistory();
    const frames = encode(s, sample());
    expect(decode(s, frames, seen).content).toEqual({ x: "é" });
    expect(reason(() => decode(s, frames, seen))).toBe("replayed");
    // A forged signature is not recorded: it cannot make the real message look replayed.
    const other = sample();
    other.header = { ...other.header, msg_id: "m2" };
    const good = encode(s, other);
    const forged = good.slice();
    forged[2] = Buffer.from("f".repeat(64));
    expect(reason(() => decode(s, forged, seen))).toBe("bad-signature");
    expect(decode(s, good, seen).header.msg_id).toBe("m2");
  });

  test("an empty key: no signature, nothing verified", () => {
    const s = new Signer("");
    expect(s.signing).toBe(false);
    const frames = encode(s, sample());
    expect(frames[2].toString()).toBe("");
    expect(decode(s, frames).content).toEqual({ x: "é" });
  });

  test("signature schemes", () => {
    expect(() => new Signer(key, "hmac-md5")).not.toThrow();
    const s = new Signer(key, "hmac-sha512");
    expect(s.sign([Buffer.from("a")])).toHaveLength(128);
    expect(() => new Signer(key, "rsa-sha256")).toThrow(/unsupported signature_scheme/);
    expect(() => new Signer(key, "hmac-nosuchhash")).toThrow(/unsupported/);
  });
});
