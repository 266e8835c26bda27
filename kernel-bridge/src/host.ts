// The Executor that runs cells in the C++ kernel host (cling-plugin/host,
// protocol in its PROTOCOL.md): spawns `torchclad-host --fd 3` with one
// socketpair end as fd 3, maps requests to host requests, host stream
// messages to iopub streams, telemetry to live displays; a host that
// crashes or exits is reported to the cell that was running (its state is
// lost) and a new host is started at once. The host's process group (it and
// everything its cells start) is killed whenever the host ends, at shutdown,
// and when the bridge exits (group-reaper.ts if the bridge is killed).
import { ChildProcess, spawn } from "child_process";
import { existsSync } from "fs";
import { resolve as resolvePath } from "path";
import { Socket } from "net";

import {
  CompleteOutcome,
  ExecuteOutcome,
  ExecuteRequest,
  ExecutionSink,
  Executor,
  ExecutorInfo,
  InspectOutcome,
  IsCompleteOutcome,
} from "./executor";
import { encodeFrame, FrameDecoder, HostMessage } from "./frames";
import { GroupReaper } from "./group-reaper";
import { isComplete } from "./iscomplete";
import { Logger } from "./logger";
import { TelemetryDisplays, TelemetryEvent } from "./telemetry";
import * as timing from "./timing";

export const HOST_PROTOCOL_VERSION = 1;

export interface HostOptions {
  /** The torchclad-host binary (resolveHostPath()). */
  hostPath: string;
  /** Extra arguments, e.g. ["--interrupt-grace", "0.5"]. */
  args?: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  logger: Logger;
  /** How long a host may take from spawn to hello. */
  helloTimeoutMs?: number;
  /** How long shutdown waits for the host to exit before killing it. */
  shutdownTimeoutMs?: number;
  /** Minimum time between two updates of a training display. */
  telemetryIntervalMs?: number;
}

/** $TORCHCLAD_HOST, else the build tree's build/cling-plugin/host/torchclad-host. */
export function resolveHostPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TORCHCLAD_HOST) return env.TORCHCLAD_HOST;
  return resolvePath(__dirname, "..", "..", "build", "cling-plugin", "host", "torchclad-host");
}

export interface Hello extends HostMessage {
  protocol_version: number;
  pid: number;
  versions: Record<string, unknown>;
  engine: { loaded: boolean; library: string; include_dir: string; error: string };
  clad: { available: boolean; error: string };
  forced_interrupt: boolean;
  startup_seconds: number;
}

interface GoneInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  crash: HostMessage | null;
  exit: HostMessage | null;
  /** Why the bridge killed the host itself, if it did (not for a kill the executor asked for). */
  brokenChannel: string | null;
}

/** One running host process and its channel. */
class HostProcess {
  readonly child: ChildProcess;
  readonly hello: Promise<Hello>;
  readonly gone: Promise<GoneInfo>;
  private readonly channel: Socket;
  private readonly decoder = new FrameDecoder();
  private crash: HostMessage | null = null;
  private exitFrame: HostMessage | null = null;
  private brokenChannel: string | null = null;
  private isGone = false;
  /** The hello came: requests can be sent. */
  ready = false;
  private stderrTail = "";
  private readonly reaper: GroupReaper | null;

  constructor(
    opts: HostOptions,
    private readonly onMessage: (m: HostMessage) => void,
  ) {
    const log = opts.logger;
    this.child = spawn(opts.hostPath, ["--fd", "3", ...(opts.args ?? [])], {
      stdio: ["ignore", "ignore", "pipe", "pipe"],
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      // Its own process group: a SIGINT to the kernel's group reaches the
      // bridge only, which forwards one interrupt. The group is killed
      // with the host (killGroup).
      detached: true,
    });
    this.reaper = this.child.pid !== undefined ? new GroupReaper(this.child.pid) : null;
    this.channel = this.child.stdio[3] as Socket;
    let helloResolve!: (h: Hello) => void;
    let helloReject!: (e: Error) => void;
    this.hello = new Promise<Hello>((res, rej) => {
      helloResolve = res;
      helloReject = rej;
    });
    this.hello.catch(() => {}); // observed by whoever awaits it
    let gotHello = false;
    const helloTimer = setTimeout(() => {
      if (gotHello) return;
      helloReject(new Error(`no hello from the host within ${(opts.helloTimeoutMs ?? 60000) / 1000} s`));
      this.kill();
    }, opts.helloTimeoutMs ?? 60000);

    this.child.stderr!.setEncoding("utf8");
    let partial = "";
    this.child.stderr!.on("data", (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-2000);
      const lines = (partial + text).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) if (line.trim() !== "") log.info(`host: ${line}`);
    });

    this.channel.on("data", (data: Buffer) => {
      let messages: HostMessage[];
      try {
        messages = this.decoder.push(data);
      } catch (e) {
        // Framing cannot be resynchronised. Two writers (a fork()ed copy of
        // the host) interleaving frames is one way to get here. The decoder
        // stays broken: a reply the host wrote before the kill reached it
        // must not settle the cell as "ok".
        if (this.brokenChannel !== null) return;
        log.error(`host channel: ${(e as Error).message}; killing the host`);
        this.brokenChannel = (e as Error).message;
        this.kill();
        return;
      }
      for (const m of messages) {
        if (!gotHello) {
          if (m.type !== "hello") {
            log.warn(`host: ${m.type} before hello: ignored`);
            continue;
          }
          gotHello = true;
          this.ready = true;
          clearTimeout(helloTimer);
          const hello = m as Hello;
          if (hello.protocol_version !== HOST_PROTOCOL_VERSION) {
            log.warn(`host protocol version ${hello.protocol_version}, this bridge speaks ${HOST_PROTOCOL_VERSION}`);
          }
          helloResolve(hello);
          continue;
        }
        if (m.type === "crash") this.crash = m;
        if (m.type === "exit") this.exitFrame = m;
        try {
          this.onMessage(m);
        } catch (e) {
          log.error(`host message ${m.type}: handler threw: ${(e as Error).stack ?? e}`);
        }
      }
    });
    this.channel.on("error", (e) => log.warn(`host channel: ${e.message}`));

    this.gone = new Promise<GoneInfo>((resolve) => {
      let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
      let closed = false;
      const finish = () => {
        if (!exited || !closed || this.isGone) return;
        this.isGone = true;
        clearTimeout(helloTimer);
        if (!gotHello) {
          const tail = this.stderrTail.trim();
          helloReject(
            new Error(
              `the host exited before its hello (${exited.signal ?? `status ${exited.code}`})` +
                (tail ? `: ${tail.split("\n").slice(-5).join(" | ")}` : ""),
            ),
          );
        }
        resolve({ ...exited, crash: this.crash, exit: this.exitFrame, brokenChannel: this.brokenChannel });
      };
      this.child.on("exit", (code, signal) => {
        exited = { code, signal };
        // What the cells started goes with the host (also a fork()ed copy
        // that holds the channel open, so the channel can close).
        this.killGroup();
        // The channel normally closes with the process; do not wait forever for it.
        setTimeout(() => {
          closed = true;
          finish();
        }, 2000).unref();
        finish();
      });
      this.channel.on("close", () => {
        closed = true;
        finish();
      });
      this.child.on("error", (e) => {
        log.error(`cannot run the host ${opts.hostPath}: ${e.message}`);
        exited = { code: null, signal: null };
        closed = true;
        finish();
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return !this.isGone;
  }

  send(message: object): boolean {
    if (this.isGone || this.channel.destroyed) return false;
    this.channel.write(encodeFrame(message));
    return true;
  }

  /** Kills the host and everything in its process group. */
  kill(): void {
    if (!this.isGone) this.killGroup();
  }

  /**
   * SIGKILL to the host's process group (its pid: spawned detached, it leads
   * one). Synchronous, so that it can run as the bridge exits.
   */
  killGroup(): void {
    const pgid = this.child.pid;
    if (pgid === undefined) return;
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // ESRCH: nothing left in the group
    }
    this.reaper?.dismiss();
  }
}

type Pending =
  | { kind: "execute"; sink: ExecutionSink; resolve: (o: ExecuteOutcome) => void; stuck: boolean }
  | { kind: "complete"; resolve: (o: CompleteOutcome) => void; cursorPos: number }
  | { kind: "inspect"; resolve: (o: InspectOutcome) => void };

/** What a complete or inspect request gets when the host cannot answer. */
function unanswered(p: Exclude<Pending, { kind: "execute" }>): void {
  if (p.kind === "complete") p.resolve({ matches: [], cursorStart: p.cursorPos, cursorEnd: p.cursorPos });
  else p.resolve({ found: false, data: {} });
}

const STATE_LOST =
  "All state of the session (variables, declarations, %%clad libraries) was lost; a new kernel host has started: run the cells you need again.";

/** Traceback lines that repeat what the host already streamed on stderr. */
const STREAMED_DIAGNOSTICS = new Set(["CompileError", "CladCompileError", "InterpreterError"]);

/** How many ended cells keep their sink for the runs their threads still send. */
const REMEMBERED_CELLS = 256;

export class HostExecutor implements Executor {
  private proc: HostProcess | null = null;
  private firstHello: Promise<Hello> | null = null;
  private latestHello: Hello | null = null;
  private readonly pending = new Map<string, Pending>();
  /** Every host started and not yet seen gone, to kill their groups as the bridge exits. */
  private readonly live = new Set<HostProcess>();
  private runningExecute: string | null = null;
  private lastSink: ExecutionSink | null = null;
  /**
   * The sinks of the latest cells by request id, also after they ended: the
   * host tags telemetry and displays with the execute that started the
   * sending thread, so a run on a thread a cell detached is shown under that
   * cell while later cells run.
   */
  private readonly cellSinks = new Map<string, ExecutionSink>();
  private notices: string[] = [];
  private counter = 0;
  private shuttingDown = false;
  private killReason: string | null = null;
  private restarts = 0;
  private readonly telemetry: TelemetryDisplays;
  private readonly log: Logger;

  constructor(private readonly opts: HostOptions) {
    this.log = opts.logger;
    this.telemetry = new TelemetryDisplays(opts.telemetryIntervalMs ?? 200);
  }

  /** How many times a new host replaced one that died. */
  get restartCount(): number {
    return this.restarts;
  }

  get hostPid(): number | undefined {
    return this.proc?.pid;
  }

  async start(): Promise<void> {
    if (!existsSync(this.opts.hostPath)) {
      throw new Error(
        `no kernel host at ${this.opts.hostPath}: build it (scripts/build.sh) or set TORCHCLAD_HOST to the binary`,
      );
    }
    this.firstHello = this.spawn();
    await this.firstHello;
  }

  private spawn(): Promise<Hello> {
    if (this.proc) this.restarts += 1;
    const proc = new HostProcess(this.opts, (m) => this.onMessage(proc, m));
    this.proc = proc;
    this.live.add(proc);
    this.log.info(`started the kernel host (pid ${proc.pid}): ${this.opts.hostPath}`);
    void proc.gone.then((info) => {
      this.live.delete(proc);
      this.onGone(proc, info);
    });
    return proc.hello.then((hello) => {
      this.latestHello = hello;
      this.log.info(
        `host ready in ${hello.startup_seconds?.toFixed?.(2) ?? "?"} s: ROOT ${hello.versions?.root}, ` +
          `Clad ${hello.versions?.clad}, LibTorch ${hello.versions?.libtorch}`,
      );
      if (!hello.engine?.loaded) {
        this.notices.push(`warning: the torchclad engine did not load in the kernel host: ${hello.engine?.error}\n`);
      }
      if (!hello.clad?.available) {
        this.notices.push(`warning: %%clad cells are unavailable: ${hello.clad?.error}\n`);
      }
      return hello;
    });
  }

  /** The running host, starting a new one if the last one is gone. */
  private async host(): Promise<HostProcess> {
    if (this.shuttingDown) throw new Error("the kernel is shutting down");
    if (!this.proc || !this.proc.alive) {
      await this.spawn();
    } else {
      await this.proc.hello;
    }
    return this.proc!;
  }

  private nextId(prefix: string): string {
    this.counter += 1;
    return `${prefix}${this.counter}`;
  }

  async info(): Promise<ExecutorInfo> {
    const hello = this.latestHello ?? (this.firstHello ? await this.firstHello : null);
    if (!hello) return { bannerLines: [] };
    const v = hello.versions ?? {};
    const lines = [
      `ROOT ${v.root}, ${v.cling}; Clad ${v.clad ?? "n/a"}; LibTorch ${v.libtorch ?? "n/a"}; torchclad ${v.torchclad}`,
    ];
    if (!hello.engine?.loaded) lines.push(`warning: the engine did not load: ${hello.engine?.error}`);
    if (!hello.clad?.available) lines.push(`warning: %%clad is unavailable: ${hello.clad?.error}`);
    const cxx = Number(v.cling_cplusplus);
    const languageVersion = cxx >= 202002 ? "20" : cxx >= 201703 ? "17" : cxx >= 201402 ? "14" : undefined;
    return { bannerLines: lines, languageVersion };
  }

  async execute(request: ExecuteRequest, sink: ExecutionSink): Promise<ExecuteOutcome> {
    // A running host that said hello takes the cell at once (no await: the
    // cell leaves before the kernel's queued iopub sends run).
    const ready = this.proc && this.proc.alive && this.proc.ready && !this.shuttingDown ? this.proc : null;
    let host: HostProcess;
    try {
      host = ready ?? (await this.host());
    } catch (e) {
      return { status: "error", ename: "KernelHostUnavailable", evalue: (e as Error).message, traceback: [] };
    }
    for (const notice of this.notices.splice(0)) sink.stream("stderr", notice);
    const id = this.nextId("e");
    this.lastSink = sink;
    this.cellSinks.set(id, sink);
    if (this.cellSinks.size > REMEMBERED_CELLS) this.cellSinks.delete(this.cellSinks.keys().next().value!);
    return new Promise<ExecuteOutcome>((resolve) => {
      this.pending.set(id, { kind: "execute", sink, resolve, stuck: false });
      this.runningExecute = id;
      const message: Record<string, unknown> = {
        type: "execute",
        id,
        code: request.code,
        silent: request.silent,
      };
      if (request.cellId) message.cell_id = request.cellId;
      const sent = host.send(message);
      timing.mark("to_host");
      if (!sent) {
        this.pending.delete(id);
        this.runningExecute = null;
        resolve({ status: "error", ename: "KernelHostUnavailable", evalue: "the kernel host is gone", traceback: [] });
      }
    });
  }

  async complete(code: string, cursorPos: number): Promise<CompleteOutcome> {
    const empty = { matches: [], cursorStart: cursorPos, cursorEnd: cursorPos };
    let host: HostProcess;
    try {
      host = await this.host();
    } catch {
      return empty;
    }
    const id = this.nextId("c");
    return new Promise<CompleteOutcome>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.log.warn("complete: no reply from the host within 10 s");
        resolve(empty);
      }, 10000);
      this.pending.set(id, {
        kind: "complete",
        cursorPos,
        resolve: (o) => {
          clearTimeout(timer);
          resolve(o);
        },
      });
      if (!host.send({ type: "complete", id, code, cursor_pos: cursorPos })) {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(empty);
      }
    });
  }

  async inspect(code: string, cursorPos: number, detailLevel: number): Promise<InspectOutcome> {
    const none: InspectOutcome = { found: false, data: {} };
    let host: HostProcess;
    try {
      host = await this.host();
    } catch {
      return none;
    }
    const id = this.nextId("q");
    return new Promise<InspectOutcome>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.log.warn("inspect: no reply from the host within 10 s");
        resolve(none);
      }, 10000);
      this.pending.set(id, {
        kind: "inspect",
        resolve: (o) => {
          clearTimeout(timer);
          resolve(o);
        },
      });
      if (!host.send({ type: "inspect", id, code, cursor_pos: cursorPos, detail_level: detailLevel })) {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(none);
      }
    });
  }

  isComplete(code: string): IsCompleteOutcome {
    return isComplete(code);
  }

  async interrupt(): Promise<void> {
    const id = this.runningExecute;
    const proc = this.proc;
    if (!id || !proc || !proc.alive) return;
    const p = this.pending.get(id);
    if (p?.kind === "execute" && p.stuck) {
      // The host said the cell cannot be stopped; a second interrupt restarts it.
      this.log.warn("interrupt: the cell did not stop; killing and restarting the kernel host");
      this.killReason = "the cell could not be interrupted, so the kernel host was killed";
      proc.kill();
      return;
    }
    proc.send({ type: "interrupt", id: this.nextId("i") });
  }

  async shutdown(restart: boolean): Promise<void> {
    this.shuttingDown = true;
    const proc = this.proc;
    if (!proc || !proc.alive) return;
    this.log.info(`shutting the kernel host down (restart: ${restart})`);
    proc.send({ type: "shutdown", id: this.nextId("s") });
    const timeout = this.opts.shutdownTimeoutMs ?? 6000;
    const t = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), timeout).unref());
    if ((await Promise.race([proc.gone, t])) === "timeout") {
      this.log.warn(`the host did not exit within ${timeout / 1000} s: killing it`);
      proc.kill();
      await Promise.race([proc.gone, new Promise((r) => setTimeout(r, 2000).unref())]);
    }
    this.telemetry.flush();
  }

  /** Kills every host and its process group at once (synchronous: for the bridge's exit). */
  killAll(): void {
    this.shuttingDown = true;
    for (const proc of this.live) proc.killGroup();
  }

  // --- host -> bridge ---------------------------------------------------------

  private onMessage(proc: HostProcess, m: HostMessage): void {
    if (proc !== this.proc) return; // a late message from a replaced host
    const id = typeof m.id === "string" ? m.id : null;
    const p = id !== null ? this.pending.get(id) : undefined;
    switch (m.type) {
      case "stream": {
        const name = m.name === "stderr" ? "stderr" : "stdout";
        const sink = p?.kind === "execute" ? p.sink : this.lastSink;
        if (sink && typeof m.text === "string") sink.stream(name, m.text);
        break;
      }
      case "telemetry": {
        // The cell that started the sending thread, else (untagged: sent between cells) the last cell.
        const sink = (id !== null ? this.cellSinks.get(id) : undefined) ?? this.lastSink;
        if (!this.telemetry.onEvent(m.event as TelemetryEvent, sink)) {
          this.log.debug(`telemetry for no cell: ${JSON.stringify(m.event)}`);
        }
        break;
      }
      case "display": {
        // torchclad::show(...) in a cell: an image (base64) or SVG/text, as display_data.
        const sink = (id !== null ? this.cellSinks.get(id) : undefined) ?? this.lastSink;
        if (sink && isBundle(m.data)) {
          // A canvas the cell drew: JSROOT's JSON, a PNG and a text line.
          sink.display(m.data, { metadata: isBundle(m.metadata) ? m.metadata : {} });
        } else if (sink && typeof m.mime === "string" && typeof m.data === "string") {
          sink.display({ [m.mime]: m.data, "text/plain": `<${m.mime}, ${m.data.length} characters>` });
        } else {
          this.log.warn(`a display message without a cell, mime or data: ${JSON.stringify(m).slice(0, 200)}`);
        }
        break;
      }
      case "execute_result": {
        timing.mark("host_result");
        // The cell's value (its last expression without ';'), numbered by the kernel.
        if (p?.kind === "execute" && isBundle(m.data)) {
          p.sink.result(m.data, isBundle(m.metadata) ? m.metadata : {});
        } else {
          this.log.warn(`an execute_result without its cell or data: ${JSON.stringify(m).slice(0, 200)}`);
        }
        break;
      }
      case "execute_reply": {
        timing.mark("host_reply");
        if (p?.kind !== "execute" || id === null) {
          this.log.warn(`execute_reply for an unknown request ${JSON.stringify(m.id)}`);
          break;
        }
        this.telemetry.flush();
        this.pending.delete(id);
        if (this.runningExecute === id) this.runningExecute = null;
        p.resolve(this.outcomeOf(m));
        break;
      }
      case "complete_reply": {
        if (p?.kind !== "complete" || id === null) break;
        this.pending.delete(id);
        const metadata =
          Array.isArray(m.signatures) && m.signatures.length > 0 ? { signatures: m.signatures } : undefined;
        p.resolve({
          matches: Array.isArray(m.matches) ? (m.matches as string[]) : [],
          cursorStart: typeof m.cursor_start === "number" ? m.cursor_start : p.cursorPos,
          cursorEnd: typeof m.cursor_end === "number" ? m.cursor_end : p.cursorPos,
          metadata,
        });
        break;
      }
      case "inspect_reply": {
        if (p?.kind !== "inspect" || id === null) break;
        this.pending.delete(id);
        const found = m.found === true && isBundle(m.data);
        p.resolve({ found, data: found ? (m.data as Record<string, unknown>) : {}, metadata: {} });
        break;
      }
      case "interrupt_reply":
        this.log.debug(`interrupt_reply: running ${m.running}, target ${JSON.stringify(m.target)}`);
        break;
      case "interrupt_stuck": {
        const running = this.runningExecute ? this.pending.get(this.runningExecute) : undefined;
        if (running?.kind === "execute") {
          running.stuck = true;
          running.sink.stream(
            "stderr",
            `[torchclad] the cell does not stop (${m.reason}). Interrupt again to kill and restart the ` +
              `kernel host (all state will be lost), or wait for the cell to end.\n`,
          );
        }
        break;
      }
      case "error": {
        this.log.warn(`host error ${m.ename}: ${m.evalue}`);
        if (p && id !== null) {
          this.pending.delete(id);
          if (p.kind === "execute") {
            if (this.runningExecute === id) this.runningExecute = null;
            p.resolve({ status: "error", ename: String(m.ename), evalue: String(m.evalue), traceback: [] });
          } else {
            unanswered(p);
          }
        }
        break;
      }
      case "crash":
      case "exit":
        this.log.warn(`host ${m.type}: ${JSON.stringify({ ...m, traceback: undefined })}`);
        break; // handled when the process is gone
      case "shutdown_reply":
        break;
      default:
        this.log.debug(`host message ${m.type}: ignored`);
    }
  }

  private outcomeOf(m: HostMessage): ExecuteOutcome {
    const ename = typeof m.ename === "string" ? m.ename : "";
    const evalue = typeof m.evalue === "string" ? m.evalue : "";
    const traceback = Array.isArray(m.traceback) ? (m.traceback as string[]) : [];
    if (m.status === "ok") return { status: "ok" };
    if (m.status === "aborted") {
      if (ename === "NotRun") return { status: "aborted" };
      const how = typeof m.interrupt === "string" && m.interrupt ? ` (${m.interrupt})` : "";
      const text = evalue || `the cell was interrupted${how}`;
      return { status: "error", ename: "Interrupted", evalue: text, traceback: [`Interrupted: ${text}`] };
    }
    const short = STREAMED_DIAGNOSTICS.has(ename) || traceback.length === 0;
    return { status: "error", ename: ename || "Error", evalue, traceback: short ? [`${ename}: ${evalue}`] : traceback };
  }

  private onGone(proc: HostProcess, info: GoneInfo): void {
    if (proc !== this.proc) return;
    if (this.shuttingDown) {
      this.log.info(`the kernel host exited (${info.signal ?? `status ${info.code}`})`);
      return;
    }
    let ename: string;
    let reason: string;
    let traceback: string[] = [];
    if (info.brokenChannel) {
      ename = "HostRestarted";
      reason =
        `the kernel host's channel broke (${info.brokenChannel}), so the host was killed ` +
        "(a fork()ed copy of the host writing to the channel, or a cell writing to its file descriptor, does this)";
    } else if (this.killReason) {
      ename = "HostRestarted";
      reason = this.killReason;
    } else if (info.crash) {
      const c = info.crash;
      ename = "HostCrashed";
      const at = typeof c.address === "string" && c.signal_name === "SIGSEGV" ? ` at address ${c.address}` : "";
      reason = `the kernel host crashed: ${c.signal_name}${at} (${c.message})`;
      traceback = Array.isArray(c.traceback) ? (c.traceback as string[]) : [];
    } else if (info.exit) {
      ename = "HostExited";
      reason = `a cell called exit(${info.exit.status}), which ended the kernel host`;
    } else {
      ename = "HostExited";
      reason = `the kernel host ended unexpectedly (${info.signal ?? `status ${info.code}`})`;
    }
    this.killReason = null;
    this.log.error(reason);
    const evalue = `${reason}. ${STATE_LOST}`;
    this.telemetry.abandon(reason);
    let told = false;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      if (p.kind === "execute") {
        told = true;
        p.resolve({ status: "error", ename, evalue, traceback: [`${ename}: ${evalue}`, ...traceback] });
      } else {
        unanswered(p);
      }
    }
    this.runningExecute = null;
    if (!told) this.notices.push(`[torchclad] between cells, ${evalue}\n`);
    // Start the next host now, so that the next cell does not wait for it.
    this.spawn().catch((e: Error) => this.log.error(`restarting the kernel host: ${e.message}`));
  }
}

function isBundle(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}
