// A Jupyter client for the tests, over real ZeroMQ sockets: DEALER on
// shell/control/stdin, SUB on iopub, REQ on heartbeat, signing with the
// connection's key, and a buffer of iopub messages to wait on.
import { randomUUID } from "crypto";
import * as zmq from "zeromq";

import { ConnectionInfo } from "../src/connection";
import { decode, encode, Header, JsonObject, Message, PROTOCOL_VERSION, Signer } from "../src/wire";

export function testConnection(key: string = randomUUID()): ConnectionInfo {
  return {
    transport: "tcp",
    ip: "127.0.0.1",
    shell_port: 0,
    control_port: 0,
    iopub_port: 0,
    stdin_port: 0,
    hb_port: 0,
    key,
    signature_scheme: "hmac-sha256",
  };
}

type Ports = Record<"shell" | "control" | "iopub" | "stdin" | "hb", number>;

export class TestClient {
  readonly session = randomUUID();
  readonly signer: Signer;
  readonly shell = new zmq.Dealer();
  readonly control = new zmq.Dealer();
  readonly stdin = new zmq.Dealer();
  readonly iopub = new zmq.Subscriber();
  readonly hb = new zmq.Request();
  readonly iopubMessages: Message[] = [];
  private readonly replies: Record<"shell" | "control", Message[]> = { shell: [], control: [] };
  private waiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly info: ConnectionInfo,
    private readonly ports: Ports,
  ) {
    this.signer = new Signer(info.key, info.signature_scheme);
    for (const s of [this.shell, this.control, this.stdin, this.iopub, this.hb]) s.linger = 0;
  }

  private ep(port: number): string {
    return `tcp://${this.info.ip}:${port}`;
  }

  async connect(): Promise<void> {
    this.shell.connect(this.ep(this.ports.shell));
    this.control.connect(this.ep(this.ports.control));
    this.stdin.connect(this.ep(this.ports.stdin));
    this.iopub.connect(this.ep(this.ports.iopub));
    this.iopub.subscribe();
    this.hb.connect(this.ep(this.ports.hb));
    void this.readLoop(this.shell, (m) => this.replies.shell.push(m));
    void this.readLoop(this.control, (m) => this.replies.control.push(m));
    void this.readLoop(this.iopub, (m) => this.iopubMessages.push(m));
    await this.waitForIopubConnection();
  }

  /** PUB/SUB joins late: send kernel_info until an iopub message arrives. */
  private async waitForIopubConnection(): Promise<void> {
    const deadline = Date.now() + 10000;
    while (this.iopubMessages.length === 0) {
      if (Date.now() > deadline) throw new Error("no iopub message within 10 s");
      await this.request("shell", "kernel_info_request", {});
      await this.sleep(50);
    }
    await this.sleep(50);
    this.iopubMessages.length = 0;
    this.replies.shell.length = 0;
  }

  private async readLoop(socket: zmq.Dealer | zmq.Subscriber, push: (m: Message) => void): Promise<void> {
    while (!this.closed) {
      let frames: Buffer[];
      try {
        frames = await socket.receive();
      } catch {
        return;
      }
      push(decode(this.signer, frames));
      const w = this.waiters;
      this.waiters = [];
      w.forEach((f) => f());
    }
  }

  sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
  }

  header(msgType: string): Header {
    return {
      msg_id: randomUUID(),
      session: this.session,
      username: "test",
      date: new Date().toISOString(),
      msg_type: msgType,
      version: PROTOCOL_VERSION,
    };
  }

  message(msgType: string, content: JsonObject, metadata: JsonObject = {}): Message {
    return { identities: [], header: this.header(msgType), parent_header: {}, metadata, content, buffers: [] };
  }

  /** Sends a request; returns its header (to match replies and iopub messages). */
  async request(
    channel: "shell" | "control",
    msgType: string,
    content: JsonObject,
    metadata: JsonObject = {},
  ): Promise<Header> {
    const m = this.message(msgType, content, metadata);
    await this.sendFrames(channel, encode(this.signer, m));
    return m.header;
  }

  sendFrames(channel: "shell" | "control" | "stdin", frames: Buffer[]): Promise<void> {
    return this[channel].send(frames);
  }

  /** Waits for a predicate over the received messages. */
  async waitFor<T>(check: () => T | undefined, timeoutMs = 10000, what = "a message"): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = check();
      if (v !== undefined) return v;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `timed out waiting for ${what}; iopub: ${this.iopubMessages.map((m) => m.header.msg_type).join(",")}`,
        );
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  reply(channel: "shell" | "control", parent: Header, timeoutMs = 10000): Promise<Message> {
    return this.waitFor(
      () => this.replies[channel].find((m) => (m.parent_header as Header).msg_id === parent.msg_id),
      timeoutMs,
      `the reply to ${parent.msg_type}`,
    );
  }

  repliesTo(channel: "shell" | "control", parent: Header): Message[] {
    return this.replies[channel].filter((m) => (m.parent_header as Header).msg_id === parent.msg_id);
  }

  allReplies(channel: "shell" | "control"): Message[] {
    return this.replies[channel];
  }

  /** The iopub messages whose parent is `parent`, in order. */
  iopubFor(parent: Header): Message[] {
    return this.iopubMessages.filter((m) => (m.parent_header as Header).msg_id === parent.msg_id);
  }

  /** Waits for the idle status of a request: all its iopub messages are in. */
  idle(parent: Header, timeoutMs = 10000): Promise<Message[]> {
    return this.waitFor(
      () => {
        const ms = this.iopubFor(parent);
        return ms.some((m) => m.header.msg_type === "status" && m.content.execution_state === "idle") ? ms : undefined;
      },
      timeoutMs,
      `idle after ${parent.msg_type}`,
    );
  }

  /** A request and its reply, after its idle status. */
  async roundTrip(
    channel: "shell" | "control",
    msgType: string,
    content: JsonObject,
    metadata: JsonObject = {},
  ): Promise<{ reply: Message; iopub: Message[]; header: Header }> {
    const header = await this.request(channel, msgType, content, metadata);
    const reply = await this.reply(channel, header);
    const iopub = await this.idle(header);
    return { reply, iopub, header };
  }

  execute(code: string, extra: JsonObject = {}, metadata: JsonObject = {}) {
    return this.roundTrip(
      "shell",
      "execute_request",
      {
        code,
        silent: false,
        store_history: true,
        user_expressions: {},
        allow_stdin: false,
        stop_on_error: true,
        ...extra,
      },
      metadata,
    );
  }

  async heartbeat(payload = "ping"): Promise<string> {
    await this.hb.send(payload);
    const [echo] = await this.hb.receive();
    return echo.toString();
  }

  close(): void {
    this.closed = true;
    for (const s of [this.shell, this.control, this.stdin, this.iopub, this.hb]) s.close();
  }
}

/** [msg_type or msg_type:state] of iopub messages, for order assertions. */
export function kinds(ms: Message[]): string[] {
  return ms.map((m) =>
    m.header.msg_type === "status" ? `status:${m.content.execution_state as string}` : m.header.msg_type,
  );
}
