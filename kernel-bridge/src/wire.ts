// The Jupyter wire format (messaging protocol 5.3): the `<IDS|MSG>` framing
// and HMAC signing. Pure functions over Buffers: no sockets here.
//
//   [identity..., "<IDS|MSG>", signature, header, parent_header, metadata, content, buffers...]
//
// The signature is the hex HMAC (the connection file's key and
// signature_scheme, e.g. "hmac-sha256") of the four JSON frames, in order;
// with an empty key messages are not signed (the signature is "").
import { createHmac, getHashes, timingSafeEqual } from "crypto";

import { SignatureHistory } from "./replay";

export const DELIMITER = Buffer.from("<IDS|MSG>");
export const PROTOCOL_VERSION = "5.3";

export interface Header {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
  [key: string]: unknown;
}

export type JsonObject = Record<string, unknown>;

export interface Message<C = JsonObject> {
  /** The routing prefix (ROUTER identities, or the PUB topic). */
  identities: Buffer[];
  header: Header;
  /** The header of the request this message answers, or {}. */
  parent_header: Header | Record<string, never>;
  metadata: JsonObject;
  content: C;
  buffers: Buffer[];
}

/** Why a multipart message was rejected; the kernel logs it and drops the message. */
export class WireError extends Error {
  constructor(
    readonly reason: "no-delimiter" | "too-few-frames" | "bad-signature" | "replayed" | "bad-json" | "bad-header",
    message: string,
  ) {
    super(message);
    this.name = "WireError";
  }
}

/** HMAC signing with the connection file's key and scheme. */
export class Signer {
  private readonly algorithm: string | null;

  constructor(
    private readonly key: string,
    scheme = "hmac-sha256",
  ) {
    if (key === "") {
      this.algorithm = null;
      return;
    }
    const match = /^hmac-(.+)$/.exec(scheme);
    if (!match || !getHashes().includes(match[1])) {
      throw new Error(`unsupported signature_scheme "${scheme}" (expected hmac-<hash>, e.g. hmac-sha256)`);
    }
    this.algorithm = match[1];
  }

  get signing(): boolean {
    return this.algorithm !== null;
  }

  sign(frames: readonly Buffer[]): string {
    if (this.algorithm === null) return "";
    const hmac = createHmac(this.algorithm, this.key);
    for (const f of frames) hmac.update(f);
    return hmac.digest("hex");
  }

  /** Constant-time comparison; always true when messages are not signed. */
  verify(signature: string, frames: readonly Buffer[]): boolean {
    if (this.algorithm === null) return true;
    const expected = Buffer.from(this.sign(frames), "latin1");
    const given = Buffer.from(signature, "latin1");
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

/** Encodes a message into signed frames. */
export function encode(signer: Signer, message: Message<unknown>): Buffer[] {
  const parts = [message.header, message.parent_header, message.metadata, message.content].map((p) =>
    Buffer.from(JSON.stringify(p), "utf8"),
  );
  const signature = Buffer.from(signer.sign(parts), "latin1");
  return [...message.identities, DELIMITER, signature, ...parts, ...message.buffers];
}

function parseJsonObject(frame: Buffer, what: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(frame.toString("utf8"));
  } catch (e) {
    throw new WireError("bad-json", `${what} is not JSON: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new WireError("bad-json", `${what} is not a JSON object`);
  }
  return value as JsonObject;
}

/**
 * Decodes and verifies a multipart message. The signature is checked on the
 * raw bytes before any JSON is parsed; with `seen`, a valid signature that
 * was accepted before is a replay. Throws WireError.
 */
export function decode(signer: Signer, frames: readonly Buffer[], seen?: SignatureHistory): Message {
  const at = frames.findIndex((f) => f.equals(DELIMITER));
  if (at < 0) throw new WireError("no-delimiter", "no <IDS|MSG> delimiter");
  if (frames.length < at + 6) {
    throw new WireError("too-few-frames", `${frames.length - at - 1} frames after the delimiter (need 5)`);
  }
  const signature = frames[at + 1].toString("latin1");
  const parts = frames.slice(at + 2, at + 6);
  if (!signer.verify(signature, parts)) {
    throw new WireError("bad-signature", "the HMAC signature does not match");
  }
  // Only verified signatures are recorded: forged ones cannot push real ones out of the history.
  if (seen && signer.signing && !seen.accept(signature)) {
    throw new WireError("replayed", "this signature was seen before (a replayed message)");
  }
  const header = parseJsonObject(parts[0], "header");
  const parent = parseJsonObject(parts[1], "parent_header");
  const metadata = parseJsonObject(parts[2], "metadata");
  const content = parseJsonObject(parts[3], "content");
  if (typeof header.msg_type !== "string" || header.msg_type === "") {
    throw new WireError("bad-header", "the header has no msg_type");
  }
  if (typeof header.msg_id !== "string") {
    throw new WireError("bad-header", "the header has no msg_id");
  }
  return {
    identities: frames.slice(0, at),
    header: header as unknown as Header,
    parent_header: parent as Header,
    metadata,
    content,
    buffers: frames.slice(at + 6),
  };
}
