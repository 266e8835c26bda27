// Fuzzing the kernel process (as Jupyter starts it, with the real host) over
// real ZeroMQ sockets on 127.0.0.1: random multipart frames, and messages of
// every type with random JSON values in their fields, signed and unsigned.
// After each batch the process must still run and answer kernel_info on
// shell and control, and the heartbeat. Deterministic by seed
// (TORCHCLAD_FUZZ_SEED, default below) and bounded in count.
//
// shutdown_request is sent only with bad signatures, to a signing kernel: a
// well-signed one would (rightly) end the kernel.
import { randomBytes } from "crypto";

import { DELIMITER, JsonObject, Message, Signer } from "../src/wire";
import { TestClient } from "./client";
import { KernelProcess } from "./kernel-process";

const SEED = Number(process.env.TORCHCLAD_FUZZ_SEED ?? 20261128);
const BATCHES = 5;
const PER_BATCH = 60;

/** mulberry32: small, seedable. */
class Random {
  constructor(private state: number) {}
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  bytes(n: number): Buffer {
    return Buffer.from(Array.from({ length: n }, () => this.int(256)));
  }
}

const NASTY_STRINGS = [
  "",
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "%%nope",
  "%%time",
  "%time",
  "%lsmagic",
  "*a*a*a*a*a*a*a*a*a*a*a*a*b",
  "\u0000",
  "😀",
  "\ud800",
  "{",
  "}",
  'R"x(',
  "<IDS|MSG>",
  "x".repeat(20000),
];
const ALPHABET = "abcXYZ019 _;:{}()[]<>\"'\\/*?%#.,+-=\n\té😀";

function randomString(r: Random): string {
  if (r.chance(0.3)) return r.pick(NASTY_STRINGS);
  return Array.from({ length: r.int(24) }, () => r.pick([...ALPHABET])).join("");
}

const NUMBERS = [0, -1, 1, 2.5, -0.5, 1e20, -1e20, 1e308, 2 ** 53, 2 ** 31, 4294967296, 0.1];

/** Any JSON value; objects may have keys such as "__proto__" as own keys. */
function randomJson(r: Random, depth = 0): unknown {
  switch (r.int(depth > 2 ? 4 : 7)) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.chance(0.5) ? r.pick(NUMBERS) : r.int(2000) - 1000;
    case 3:
      return randomString(r);
    case 4:
      return Array.from({ length: r.int(4) }, () => randomJson(r, depth + 1));
    default: {
      const o: Record<string, unknown> = Object.create(null);
      for (let i = r.int(4); i > 0; i--) o[randomString(r)] = randomJson(r, depth + 1);
      return o;
    }
  }
}

/** A well-formed content per message type: the fields the fuzzer then replaces. */
const TEMPLATES: Record<string, () => JsonObject> = {
  execute_request: () => ({
    code: "1;",
    silent: false,
    store_history: true,
    user_expressions: {},
    allow_stdin: false,
    stop_on_error: true,
  }),
  complete_request: () => ({ code: "gSys", cursor_pos: 4 }),
  inspect_request: () => ({ code: "TTree", cursor_pos: 5, detail_level: 0 }),
  is_complete_request: () => ({ code: "int x = 1;" }),
  history_request: () => ({
    output: false,
    raw: true,
    hist_access_type: "search",
    session: 0,
    start: 1,
    stop: 10,
    n: 5,
    pattern: "*",
    unique: false,
  }),
  comm_info_request: () => ({ target_name: "jupyter.widget" }),
  comm_open: () => ({ comm_id: "c1", target_name: "jupyter.widget", data: {} }),
  comm_msg: () => ({ comm_id: "c1", data: {} }),
  comm_close: () => ({ comm_id: "c1", data: {} }),
  connect_request: () => ({}),
  kernel_info_request: () => ({}),
  interrupt_request: () => ({}),
  shutdown_request: () => ({ restart: false }),
  input_reply: () => ({ value: "x" }),
};
/** The requests with the most fields (and execute, which reaches the host) come up more often. */
const WEIGHTED_TYPES = [
  ...Object.keys(TEMPLATES),
  ...Array(4).fill("execute_request"),
  ...Array(2).fill("complete_request"),
  ...Array(2).fill("history_request"),
  "inspect_request",
  "is_complete_request",
];
const PROPERTY_NAMES = ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf", "__defineSetter__"];

type Channel = "shell" | "control" | "stdin";

function replaceFields(r: Random, o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  for (const [k, v] of Object.entries(o)) {
    if (r.chance(0.1)) continue; // dropped
    out[k] = r.chance(0.5) ? randomJson(r) : v;
  }
  if (r.chance(0.2)) out[randomString(r)] = randomJson(r);
  return out;
}

/** One fuzzed message (frames) for one channel. */
function fuzzMessage(
  r: Random,
  client: TestClient,
  signer: Signer,
): { channel: Channel; frames: Buffer[]; wellSigned: boolean; msgType: string } {
  const channel: Channel = r.pick(["shell", "shell", "control", "stdin"] as const);
  const kind = r.int(10);
  if (kind === 0) {
    // Raw multipart frames, sometimes around a delimiter.
    const frames = Array.from({ length: 1 + r.int(8) }, () => r.bytes(r.int(64)));
    if (r.chance(0.5)) frames.splice(r.int(frames.length), 0, DELIMITER);
    return { channel, frames, wellSigned: false, msgType: "" };
  }
  let msgType: string;
  if (r.chance(0.15)) msgType = r.chance(0.5) ? r.pick(PROPERTY_NAMES) : randomString(r);
  else msgType = r.pick(WEIGHTED_TYPES);
  // A shutdown only where its signature cannot verify (a kernel without a key verifies everything).
  const shutdown = msgType === "shutdown_request";
  if (shutdown && !signer.signing) msgType = "kernel_info_request";
  const template = Object.hasOwn(TEMPLATES, msgType) ? TEMPLATES[msgType]() : {};
  const base: Message = client.message(msgType, template);
  const header = r.chance(0.2) ? replaceFields(r, base.header) : { ...base.header };
  header.msg_type = msgType; // kept in most messages: the dispatcher is what is fuzzed
  if (r.chance(0.05)) header.msg_type = randomJson(r);
  // Mostly objects (else the message is only dropped as bad-json).
  const content = r.chance(0.95) ? replaceFields(r, template) : randomJson(r);
  const metadata = r.chance(0.95) ? { cellId: r.chance(0.5) ? "cell-1" : randomJson(r) } : randomJson(r);
  const parent = r.chance(0.8) ? {} : r.chance(0.8) ? replaceFields(r, base.header) : randomJson(r);
  const parts = [header, parent, metadata, content].map((p) => Buffer.from(JSON.stringify(p) ?? "null"));
  let signature: string;
  switch (shutdown && signer.signing ? r.int(3) : r.int(10)) {
    case 0:
      signature = ""; // unsigned
      break;
    case 1:
      signature = r.bytes(32).toString("hex"); // forged
      break;
    case 2:
      signature = new Signer("not-the-key").sign(parts);
      break;
    default:
      signature = signer.sign(parts);
  }
  const identities = r.chance(0.1) ? [r.bytes(1 + r.int(8))] : [];
  const buffers = r.chance(0.1) ? [r.bytes(r.int(32))] : [];
  const wellSigned = signer.verify(signature, parts);
  return {
    channel,
    frames: [...identities, DELIMITER, Buffer.from(signature), ...parts, ...buffers],
    wellSigned,
    msgType,
  };
}

interface Coverage {
  dispatched: number;
  dropped: Record<string, number>;
  unknownTypes: number;
  badRequests: number;
  executes: number;
}

async function fuzz(k: KernelProcess, seed: number): Promise<Coverage> {
  const r = new Random(seed);
  const client = k.client;
  for (let batch = 0; batch < BATCHES; batch++) {
    let wellSignedShutdowns = 0;
    for (let i = 0; i < PER_BATCH; i++) {
      const { channel, frames, wellSigned, msgType } = fuzzMessage(r, client, client.signer);
      await client.sendFrames(channel, frames);
      if (msgType === "shutdown_request" && wellSigned) wellSignedShutdowns++;
    }
    expect(wellSignedShutdowns).toBe(0);
    const where = `after batch ${batch + 1} of seed ${seed}`;
    if (!k.running) throw new Error(`the kernel process ended ${where}; its log:\n${k.stderr.slice(-4000)}`);
    // Queued fuzzed executes run first: allow for them.
    const shell = await client.request("shell", "kernel_info_request", {});
    const control = await client.request("control", "kernel_info_request", {});
    expect((await client.reply("control", control, 30000)).content.status).toBe("ok");
    expect(await client.heartbeat(`batch-${batch}`)).toBe(`batch-${batch}`);
    expect((await client.reply("shell", shell, 60000)).content.status).toBe("ok");
    expect(k.running).toBe(true);
  }
  expect(k.stderr).not.toMatch(/unhandled rejection|failed outside any handler/);
  // What the messages reached, from the kernel's log and iopub: the fuzz must exercise every path.
  const count = (re: RegExp) => k.stderr.match(re)?.length ?? 0;
  const reasons = ["no-delimiter", "too-few-frames", "bad-signature", "bad-json", "bad-header"];
  return {
    dispatched: client.iopubMessages.filter(
      (m) => m.header.msg_type === "status" && m.content.execution_state === "busy",
    ).length,
    dropped: Object.fromEntries(reasons.map((x) => [x, count(new RegExp(`dropped a message \\(${x}\\)`, "g"))])),
    unknownTypes: count(/unknown msg_type/g),
    badRequests: count(/must be/g),
    executes: client.iopubMessages.filter((m) => m.header.msg_type === "execute_input").length,
  };
}

function expectCoverage(c: Coverage, signed: boolean): void {
  const total = BATCHES * PER_BATCH;
  const summary = JSON.stringify(c);
  expect({ summary, enough: c.dispatched >= total / 4 }).toEqual({ summary, enough: true });
  for (const [reason, n] of Object.entries(c.dropped)) {
    if (reason === "bad-signature" && !signed) expect(n).toBe(0);
    else expect({ reason, summary, seen: n > 0 }).toEqual({ reason, summary, seen: true });
  }
  expect({ summary, unknown: c.unknownTypes > 0, bad: c.badRequests > 0, executes: c.executes > 0 }).toEqual({
    summary,
    unknown: true,
    bad: true,
    executes: true,
  });
}

describe(`fuzzing the kernel process (seed ${SEED})`, () => {
  const kernels: KernelProcess[] = [];
  afterAll(async () => {
    for (const k of kernels) await k.dispose();
  });

  test("a signing kernel: signed, unsigned, forged and raw frames", async () => {
    const k = await KernelProcess.start({ key: randomBytes(16).toString("hex") });
    kernels.push(k);
    expectCoverage(await fuzz(k, SEED), true);
    // It still runs cells.
    expect((await k.client.execute('printf("ok\\n");')).reply.content.status).toBe("ok");
  }, 120000);

  test("a kernel without a key (every well-formed message is accepted)", async () => {
    const k = await KernelProcess.start({ key: "" });
    kernels.push(k);
    expectCoverage(await fuzz(k, SEED + 1), false);
    expect((await k.client.execute('printf("ok\\n");')).reply.content.status).toBe("ok");
  }, 120000);
});
