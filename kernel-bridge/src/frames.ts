// The host channel's framing (cling-plugin/host/PROTOCOL.md): a 4-byte
// big-endian length, then that many bytes of UTF-8 JSON, one object with a
// string "type".

export interface HostMessage {
  type: string;
  id?: unknown;
  [key: string]: unknown;
}

/** Frames larger than this are a broken stream, not a message. */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

export function encodeFrame(message: object): Buffer {
  const payload = Buffer.from(JSON.stringify(message), "utf8");
  const head = Buffer.alloc(4);
  head.writeUInt32BE(payload.length, 0);
  return Buffer.concat([head, payload]);
}

/** Accumulates bytes and yields whole frames. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private size = 0;

  private broken: Error | null = null;

  /**
   * Adds bytes; returns the messages completed by them. Throws on a broken
   * stream, and again on every later push: nothing after a broken frame can
   * be trusted to start at a frame boundary.
   */
  push(data: Buffer): HostMessage[] {
    if (this.broken) throw this.broken;
    try {
      return this.decode(data);
    } catch (e) {
      this.broken = e as Error;
      throw e;
    }
  }

  private decode(data: Buffer): HostMessage[] {
    this.chunks.push(data);
    this.size += data.length;
    const out: HostMessage[] = [];
    for (;;) {
      if (this.size < 4) break;
      let buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
      this.chunks = [buf];
      const n = buf.readUInt32BE(0);
      if (n > MAX_FRAME_BYTES) throw new Error(`a frame of ${n} bytes from the host: the stream is broken`);
      if (this.size < 4 + n) break;
      const payload = buf.subarray(4, 4 + n);
      buf = buf.subarray(4 + n);
      this.chunks = buf.length > 0 ? [buf] : [];
      this.size = buf.length;
      let value: unknown;
      try {
        value = JSON.parse(payload.toString("utf8"));
      } catch (e) {
        throw new Error(`a frame from the host is not JSON: ${(e as Error).message}`);
      }
      if (value === null || typeof value !== "object" || typeof (value as HostMessage).type !== "string") {
        throw new Error('a frame from the host is not an object with a string "type"');
      }
      out.push(value as HostMessage);
    }
    return out;
  }

  get buffered(): number {
    return this.size;
  }
}
