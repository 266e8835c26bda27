// The kernel: assembles the sockets, the session, the dispatch table and an
// Executor, and implements the Jupyter messaging protocol 5.3 on top.
//
// Requests:
// - shell requests run one at a time, in the order they arrive;
// - control requests (interrupt, shutdown, kernel_info ...) run as soon as
//   they arrive, also while a shell request is running;
// - every request is wrapped in iopub status busy ... idle (its parent);
// - a message with a bad signature, malformed frames or JSON, or a signature
//   seen before (a replay), is logged and dropped: no reply, no status
//   (there is no trustworthy parent);
// - an unknown msg_type is logged and ignored, with busy/idle but no reply,
//   as ipykernel does (a reply type cannot be guessed for a request it does
//   not know);
// - a request with fields of the wrong type gets an error reply (BadRequest)
//   naming the field, what was expected and what was found;
// - after an execute error (an interrupt too) with stop_on_error, the
//   execute_requests already queued are answered "aborted" without running
//   (as ipykernel does); this is the one place that does it;
// - nothing a message contains may end the process: no exception or
//   rejection escapes the socket loops.
import { randomUUID } from "crypto";
import { readFileSync } from "fs";
import { join } from "path";

import { BadRequest, isInteger, shown } from "./bad-request";
import { ConnectionInfo } from "./connection";
import { ExecuteOutcome, ExecuteRequest, ExecutionSink, Executor, ExecutorInfo, MimeBundle } from "./executor";
import { History, historyQueryFrom } from "./history";
import { Logger, StderrLogger } from "./logger";
import { runCell } from "./magics";
import { SignatureHistory } from "./replay";
import { Session } from "./session";
import { KernelSockets } from "./sockets";
import * as timing from "./timing";
import { decode, encode, JsonObject, Message, PROTOCOL_VERSION, Signer, WireError } from "./wire";

export const IMPLEMENTATION = "torchclad";

export function packageVersion(): string {
  try {
    return JSON.parse(readFileSync(join(__dirname, "..", "package.json"), "utf8")).version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}

export const LANGUAGE_INFO = {
  name: "C++",
  version: "17",
  mimetype: "text/x-c++src",
  file_extension: ".cpp",
  codemirror_mode: "text/x-c++src",
  pygments_lexer: "c++",
};

export const HELP_LINKS = [
  { text: "ROOT manual", url: "https://root.cern/manual/" },
  { text: "ROOT reference", url: "https://root.cern/doc/master/" },
  { text: "Clad", url: "https://clad.readthedocs.io/" },
  { text: "LibTorch C++ API", url: "https://pytorch.org/cppdocs/" },
];

export const BANNER =
  "torchclad: ROOT's cling (C++17) with the torchclad engine; %%clad cells are C++20 compiled with Clad";

export interface KernelOptions {
  connection: ConnectionInfo;
  executor: Executor;
  logger?: Logger;
  /** Used in iopub topics (kernel.<id>.<msg_type>). */
  kernelId?: string;
  /** How long kernel_info waits for the executor's versions before answering without them. */
  infoTimeoutMs?: number;
  /** How long shutdown waits for the executor. */
  shutdownTimeoutMs?: number;
}

export interface StopEvent {
  restart: boolean;
  reason: "shutdown_request" | "signal" | "parent-exited" | "error";
}

type ChannelName = "shell" | "control";

interface Request {
  channel: ChannelName;
  msg: Message;
}

type Handler = (req: Request) => Promise<void>;

interface HandlerEntry {
  handler: Handler;
  channels: readonly ChannelName[];
}

const SHELL: readonly ChannelName[] = ["shell"];
const BOTH: readonly ChannelName[] = ["shell", "control"];
const CONTROL: readonly ChannelName[] = ["control"];

function withTimeout<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise<T>((resolve) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      () => {
        clearTimeout(timer);
        resolve(fallback);
      },
    );
  });
}

/** Length in Unicode code points (the protocol's cursor unit). */
export function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * The code and cursor of complete_request and inspect_request: code a string,
 * cursor_pos an integer from 0 to the code's length (absent: the end).
 */
export function codeAndCursor(type: string, content: Record<string, unknown>): { code: string; pos: number } {
  const code = content.code;
  if (typeof code !== "string") throw new BadRequest(`${type}: "code" must be a string, found ${shown(code)}`);
  const length = codePoints(code);
  const pos = content.cursor_pos;
  if (pos === undefined || pos === null) return { code, pos: length };
  if (!isInteger(pos) || pos < 0 || pos > length) {
    throw new BadRequest(
      `${type}: "cursor_pos" must be an integer from 0 to ${length} (the length of "code" in code points), found ${shown(pos)}`,
    );
  }
  return { code, pos };
}

export class Kernel {
  readonly sockets: KernelSockets;
  readonly session: Session;
  readonly kernelId: string;
  readonly stopped: Promise<StopEvent>;
  private readonly log: Logger;
  private readonly executor: Executor;
  private readonly history = new History();
  /** A Map, not an object: a msg_type such as "constructor" or "__proto__" must find nothing. */
  private readonly handlers: ReadonlyMap<string, HandlerEntry>;
  private readonly signatures = new SignatureHistory();
  private readonly version = packageVersion();
  private executionCount = 0;
  private shellQueue: Message[] = [];
  private shellRunning = false;
  private readonly aborted = new Set<string>();
  private executorReady: Promise<Error | null> = Promise.resolve(null);
  /** How the executor's start ended, once it has: a cell then goes to it without awaiting anything. */
  private executorStarted: { error: Error | null } | null = null;
  private stopping = false;
  private pendingStop: StopEvent | null = null;
  private resolveStopped!: (e: StopEvent) => void;

  constructor(private readonly options: KernelOptions) {
    this.log = options.logger ?? new StderrLogger();
    this.executor = options.executor;
    this.kernelId = options.kernelId ?? randomUUID();
    this.session = new Session(new Signer(options.connection.key, options.connection.signature_scheme));
    if (!this.session.signer.signing) this.log.warn("the connection file has no key: messages are not signed");
    this.sockets = new KernelSockets(options.connection, this.log);
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
    const h = (handler: Handler, channels: readonly ChannelName[]): HandlerEntry => ({
      handler: handler.bind(this),
      channels,
    });
    this.handlers = new Map<string, HandlerEntry>([
      ["kernel_info_request", h(this.kernelInfo, BOTH)],
      ["execute_request", h(this.execute, SHELL)],
      ["complete_request", h(this.complete, SHELL)],
      ["inspect_request", h(this.inspect, SHELL)],
      ["is_complete_request", h(this.isComplete, BOTH)],
      ["history_request", h(this.historyRequest, BOTH)],
      ["comm_info_request", h(this.commInfo, BOTH)],
      ["comm_open", h(this.commOpen, SHELL)],
      ["comm_msg", h(this.commIgnored, SHELL)],
      ["comm_close", h(this.commIgnored, SHELL)],
      ["connect_request", h(this.connect, BOTH)],
      ["interrupt_request", h(this.interrupt, CONTROL)],
      // On control (5.x); shell too, as older clients send it there.
      ["shutdown_request", h(this.shutdown, BOTH)],
    ]);
  }

  /** The message types this kernel answers. */
  get messageTypes(): string[] {
    return [...this.handlers.keys()];
  }

  /** Binds the sockets, starts listening and starts the executor (in the background). */
  async start(): Promise<void> {
    await this.sockets.bind();
    this.sockets.listen((channel, frames) => this.onFrames(channel, frames));
    await this.publish("status", { execution_state: "starting" }, null);
    this.executorReady = this.executor.start().then(
      () => {
        this.executorStarted = { error: null };
        return null;
      },
      (e: Error) => {
        this.log.error(`the executor did not start: ${e.message}`);
        this.executorStarted = { error: e };
        return e;
      },
    );
    this.log.info(
      `listening: shell ${this.sockets.ports.shell}, control ${this.sockets.ports.control}, ` +
        `iopub ${this.sockets.ports.iopub}, stdin ${this.sockets.ports.stdin}, hb ${this.sockets.ports.hb}`,
    );
  }

  // --- receiving ------------------------------------------------------------

  private onFrames(channel: string, frames: Buffer[]): void {
    if (channel === "shell") timing.arrived();
    let msg: Message;
    try {
      msg = decode(this.session.signer, frames, this.signatures);
      if (channel === "shell") timing.mark("decoded");
    } catch (e) {
      if (e instanceof WireError) {
        this.log.warn(`${channel}: dropped a message (${e.reason}): ${e.message}`);
        return;
      }
      throw e;
    }
    const type = msg.header.msg_type;
    if (this.stopping) {
      this.log.info(`${channel}: ${type} after shutdown: ignored`);
      return;
    }
    this.log.debug(`${channel}: ${type} ${msg.header.msg_id}`);
    if (channel === "stdin") {
      this.log.info(`stdin: ${type} ignored (this kernel never asks for input)`);
      return;
    }
    if (channel === "control") {
      this.guard(this.handle({ channel: "control", msg }), `control: ${type}`);
      return;
    }
    this.shellQueue.push(msg);
    this.guard(this.pumpShell(), "shell");
  }

  /** A request's promise must never reject unobserved: Node ends the process on that. */
  private guard(p: Promise<void>, what: string): void {
    p.catch((e: Error) => this.log.error(`${what}: failed outside any handler: ${e?.stack ?? e}`));
  }

  private async pumpShell(): Promise<void> {
    if (this.shellRunning) return;
    this.shellRunning = true;
    try {
      for (let msg = this.shellQueue.shift(); msg !== undefined; msg = this.shellQueue.shift()) {
        if (this.stopping) break;
        // Per message, so that one failure does not leave the rest of the queue waiting.
        try {
          await this.handle({ channel: "shell", msg });
        } catch (e) {
          this.log.error(`shell: ${msg.header.msg_type} failed outside any handler: ${(e as Error)?.stack ?? e}`);
        }
      }
    } finally {
      this.shellRunning = false;
    }
  }

  private async handle(req: Request): Promise<void> {
    const { msg, channel } = req;
    const type = msg.header.msg_type;
    // Not awaited: the iopub queue keeps busy before everything the request
    // publishes, and the request (a cell sent to the host) starts at once.
    void this.publish("status", { execution_state: "busy" }, msg);
    if (channel === "shell") timing.mark("busy_sent");
    try {
      if (type === "execute_request" && this.aborted.delete(msg.header.msg_id)) {
        this.log.info(`aborting ${msg.header.msg_id}: an earlier cell failed`);
        await this.reply(req, "execute_reply", { status: "aborted" }, { status: "aborted" });
        return;
      }
      const entry = this.handlers.get(type);
      if (!entry) {
        this.log.warn(`${channel}: unknown msg_type "${type}": ignored, no reply (as ipykernel does)`);
        return;
      }
      if (!entry.channels.includes(channel)) {
        this.log.warn(
          `${channel}: ${type} is not handled on this channel (only ${entry.channels.join(", ")}): ignored`,
        );
        return;
      }
      try {
        await entry.handler(req);
      } catch (e) {
        const err = e as Error;
        const bad = err instanceof BadRequest;
        if (bad) this.log.warn(`${channel}: ${err.message}`);
        else this.log.error(`${channel}: ${type} failed: ${err.stack ?? err}`);
        if (type.endsWith("_request")) {
          await this.reply(req, type.replace(/_request$/, "_reply"), {
            status: "error",
            ename: bad ? "BadRequest" : "KernelError",
            evalue: err.message,
            traceback: [],
          });
        }
      }
    } finally {
      await this.publish("status", { execution_state: "idle" }, msg);
      if (channel === "shell") {
        timing.mark("idle_sent");
        timing.finish(type);
      }
      if (this.pendingStop) {
        const event = this.pendingStop;
        this.pendingStop = null;
        void this.finishStop(event);
      }
    }
  }

  // --- sending --------------------------------------------------------------

  private reply(req: Request, type: string, content: JsonObject, metadata: JsonObject = {}): Promise<void> {
    const message = this.session.message(type, content, req.msg, req.msg.identities, metadata);
    return this.sockets.send(req.channel, encode(this.session.signer, message));
  }

  publish(type: string, content: unknown, parent: Message | null, metadata: JsonObject = {}): Promise<void> {
    const topic = Buffer.from(`kernel.${this.kernelId}.${type}`);
    const message = this.session.message(type, content, parent, [topic], metadata);
    return this.sockets.send("iopub", encode(this.session.signer, message));
  }

  // --- handlers -------------------------------------------------------------

  private async kernelInfo(req: Request): Promise<void> {
    const fallback: ExecutorInfo = { bannerLines: [] };
    const info = await withTimeout(this.executor.info(), this.options.infoTimeoutMs ?? 10000, fallback);
    await this.reply(req, "kernel_info_reply", {
      status: "ok",
      protocol_version: PROTOCOL_VERSION,
      implementation: IMPLEMENTATION,
      implementation_version: this.version,
      language_info: { ...LANGUAGE_INFO, version: info.languageVersion ?? LANGUAGE_INFO.version },
      banner: [BANNER, ...info.bannerLines].join("\n"),
      help_links: HELP_LINKS,
      debugger: false,
    });
  }

  private async execute(req: Request): Promise<void> {
    const c = req.msg.content;
    if (typeof c.code !== "string") {
      const error = {
        ename: "BadRequest",
        evalue: `execute_request: "code" must be a string, found ${shown(c.code)}`,
        traceback: [] as string[],
      };
      error.traceback.push(`${error.ename}: ${error.evalue}`);
      this.log.warn(`shell: ${error.evalue}`);
      // As for any failed cell: the error on iopub (frontends show that), then the reply.
      if (c.silent !== true) await this.publish("error", error, req.msg);
      await this.reply(req, "execute_reply", {
        status: "error",
        execution_count: this.executionCount,
        ...error,
        user_expressions: {},
        payload: [],
      });
      return;
    }
    const code = c.code;
    const silent = c.silent === true;
    const storeHistory = silent ? false : c.store_history !== false;
    const stopOnError = c.stop_on_error !== false;
    const started = new Date().toISOString();
    if (storeHistory) {
      this.executionCount++;
      this.history.add(this.executionCount, code);
    }
    const count = this.executionCount;
    // Queued, not awaited: outputs are published after it on the same queue.
    if (!silent) void this.publish("execute_input", { code, execution_count: count }, req.msg);
    timing.mark("input_sent");

    const cellId = req.msg.metadata.cellId;
    const request: ExecuteRequest = {
      code,
      silent,
      storeHistory,
      executionCount: count,
      cellId: typeof cellId === "string" ? cellId : undefined,
    };
    let outcome: ExecuteOutcome;
    // No await once started: the cell reaches the host before the queued
    // busy and execute_input sends run (they run at the first await).
    const startError = this.executorStarted ? this.executorStarted.error : await this.executorReady;
    if (startError) {
      outcome = {
        status: "error",
        ename: "KernelHostUnavailable",
        evalue: `the kernel host did not start: ${startError.message}`,
        traceback: [],
      };
    } else {
      try {
        outcome = await runCell(this.executor, request, this.sinkFor(req.msg, silent, count));
      } catch (e) {
        const err = e as Error;
        this.log.error(`execute failed: ${err.stack ?? err}`);
        outcome = { status: "error", ename: "KernelError", evalue: err.message, traceback: [] };
      }
    }

    let content: JsonObject;
    if (outcome.status === "ok") {
      content = { status: "ok", execution_count: count, user_expressions: {}, payload: [] };
    } else if (outcome.status === "error") {
      const traceback = outcome.traceback.length > 0 ? outcome.traceback : [`${outcome.ename}: ${outcome.evalue}`];
      const error = { ename: outcome.ename, evalue: outcome.evalue, traceback };
      if (!silent) await this.publish("error", error, req.msg);
      content = { status: "error", execution_count: count, ...error, user_expressions: {}, payload: [] };
    } else {
      content = { status: "aborted", execution_count: count };
    }
    // stop_on_error lives here only (the host runs every execute it is sent,
    // one at a time): a failed or interrupted cell aborts the executes queued
    // behind it. Only what was queued before the reply: a client that sends
    // its next cell on seeing this reply must have it run.
    if (outcome.status === "error" && stopOnError && !silent) this.abortQueuedExecutes();
    timing.mark("outcome");
    await this.reply(req, "execute_reply", content, { started, status: outcome.status });
    timing.mark("reply_sent");
  }

  private abortQueuedExecutes(): void {
    for (const m of this.shellQueue) {
      if (m.header.msg_type === "execute_request") this.aborted.add(m.header.msg_id);
    }
  }

  private sinkFor(parent: Message, silent: boolean, count: number): ExecutionSink {
    if (silent) {
      return { stream: () => {}, display: () => {}, updateDisplay: () => {}, result: () => {} };
    }
    const transient = (displayId?: string) => (displayId ? { display_id: displayId } : {});
    return {
      stream: (name, text) => {
        if (text !== "") void this.publish("stream", { name, text }, parent);
      },
      display: (data: MimeBundle, o = {}) => {
        void this.publish(
          "display_data",
          { data, metadata: o.metadata ?? {}, transient: transient(o.displayId) },
          parent,
        );
      },
      updateDisplay: (data: MimeBundle, o) => {
        void this.publish(
          "update_display_data",
          { data, metadata: o.metadata ?? {}, transient: transient(o.displayId) },
          parent,
        );
      },
      result: (data: MimeBundle, metadata = {}) => {
        if (typeof data["text/plain"] === "string") this.history.setOutput(count, data["text/plain"] as string);
        void this.publish("execute_result", { execution_count: count, data, metadata }, parent);
      },
    };
  }

  private async complete(req: Request): Promise<void> {
    const { code, pos } = codeAndCursor("complete_request", req.msg.content);
    const startError = await this.executorReady;
    const r = startError ? { matches: [], cursorStart: pos, cursorEnd: pos } : await this.executor.complete(code, pos);
    await this.reply(req, "complete_reply", {
      status: "ok",
      matches: r.matches,
      cursor_start: r.cursorStart,
      cursor_end: r.cursorEnd,
      metadata: r.metadata ?? {},
    });
  }

  private async inspect(req: Request): Promise<void> {
    const c = req.msg.content;
    const { code, pos } = codeAndCursor("inspect_request", c);
    const level = c.detail_level === 1 ? 1 : 0;
    const startError = await this.executorReady;
    const r = startError ? { found: false, data: {} } : await this.executor.inspect(code, pos, level);
    await this.reply(req, "inspect_reply", {
      status: "ok",
      found: r.found,
      data: r.data,
      metadata: ("metadata" in r ? r.metadata : undefined) ?? {},
    });
  }

  private async isComplete(req: Request): Promise<void> {
    const code = req.msg.content.code;
    if (typeof code !== "string")
      throw new BadRequest(`is_complete_request: "code" must be a string, found ${shown(code)}`);
    const r = this.executor.isComplete(code);
    await this.reply(
      req,
      "is_complete_reply",
      r.indent !== undefined ? { status: r.status, indent: r.indent } : { status: r.status },
    );
  }

  private async historyRequest(req: Request): Promise<void> {
    const history = this.history.query(historyQueryFrom(req.msg.content));
    await this.reply(req, "history_reply", { status: "ok", history });
  }

  private async commInfo(req: Request): Promise<void> {
    await this.reply(req, "comm_info_reply", { status: "ok", comms: {} });
  }

  /** No comm targets: a comm a frontend opens is closed at once (as ipykernel does for unknown targets). */
  private async commOpen(req: Request): Promise<void> {
    const c = req.msg.content;
    this.log.info(`comm_open for target ${JSON.stringify(c.target_name)}: no such target, closing it`);
    await this.publish("comm_close", { comm_id: c.comm_id, data: {} }, req.msg);
  }

  private async commIgnored(req: Request): Promise<void> {
    this.log.debug(`${req.msg.header.msg_type} for comm ${JSON.stringify(req.msg.content.comm_id)}: no such comm`);
  }

  private async connect(req: Request): Promise<void> {
    const p = this.sockets.ports;
    await this.reply(req, "connect_reply", {
      status: "ok",
      shell_port: p.shell,
      iopub_port: p.iopub,
      stdin_port: p.stdin,
      hb_port: p.hb,
      control_port: p.control,
    });
  }

  private async interrupt(req: Request): Promise<void> {
    try {
      await this.executor.interrupt();
    } catch (e) {
      this.log.error(`interrupt failed: ${(e as Error).message}`);
      await this.reply(req, "interrupt_reply", {
        status: "error",
        ename: "InterruptFailed",
        evalue: (e as Error).message,
        traceback: [],
      });
      return;
    }
    await this.reply(req, "interrupt_reply", { status: "ok" });
  }

  private async shutdown(req: Request): Promise<void> {
    const restart = req.msg.content.restart === true;
    this.log.info(`shutdown_request (restart: ${restart})`);
    this.stopping = true;
    await this.shutdownExecutor(restart);
    const content = { status: "ok", restart };
    await this.reply(req, "shutdown_reply", content);
    await this.publish("shutdown_reply", content, req.msg);
    // The sockets close after the idle status (handle() calls finishStop).
    this.pendingStop = { restart, reason: "shutdown_request" };
  }

  private executorShutdown: Promise<void> | null = null;
  private shutdownExecutor(restart: boolean): Promise<void> {
    if (!this.executorShutdown) {
      const timeout = this.options.shutdownTimeoutMs ?? 10000;
      this.executorShutdown = withTimeout(
        this.executor.shutdown(restart).catch((e: Error) => this.log.error(`executor shutdown: ${e.message}`)),
        timeout,
        undefined,
      );
    }
    return this.executorShutdown;
  }

  private finishing: Promise<void> | null = null;
  private finishStop(event: StopEvent): Promise<void> {
    if (!this.finishing) {
      this.finishing = (async () => {
        this.stopping = true;
        await this.shutdownExecutor(event.restart);
        await this.sockets.close();
        this.log.info(`stopped (${event.reason})`);
        this.resolveStopped(event);
      })();
    }
    return this.finishing;
  }

  /** Stops without a shutdown_request (a signal, the parent process gone). */
  stop(reason: StopEvent["reason"] = "signal"): Promise<void> {
    return this.finishStop({ restart: false, reason });
  }

  /** Interrupts the running cell (SIGINT to the kernel process: interrupt_mode "signal"). */
  async interruptFromSignal(): Promise<void> {
    this.log.info("SIGINT: interrupting the running cell");
    await this.executor.interrupt().catch((e: Error) => this.log.error(`interrupt failed: ${e.message}`));
  }
}
