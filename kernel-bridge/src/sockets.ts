// The kernel's five ZeroMQ sockets, bound on the connection file's
// transport, ip and ports only: shell and control (ROUTER), iopub (PUB),
// stdin (ROUTER), heartbeat (REP, echoes every message).
//
// Receiving: one async loop per ROUTER socket hands raw frames to a callback.
// Sending: every socket has one ordered queue, so that messages leave in the
// order the kernel produced them (status busy before the outputs before idle).
import * as zmq from "zeromq";

import { Channel, ConnectionInfo, endpoint, portOfEndpoint } from "./connection";
import { Logger } from "./logger";

export type FrameHandler = (channel: Channel, frames: Buffer[]) => void;

/** Serializes sends on one socket (zeromq allows one pending send at a time). */
class SendQueue {
  private tail: Promise<void> = Promise.resolve();
  constructor(
    private readonly socket: zmq.Writable,
    private readonly name: string,
    private readonly log: Logger,
  ) {}

  send(frames: Buffer[]): Promise<void> {
    const next = this.tail.then(() =>
      this.socket.send(frames).catch((e: Error) => {
        this.log.warn(`${this.name}: send failed: ${e.message}`);
      }),
    );
    this.tail = next;
    return next;
  }

  drain(): Promise<void> {
    return this.tail;
  }
}

export class KernelSockets {
  readonly shell = new zmq.Router();
  readonly control = new zmq.Router();
  readonly iopub = new zmq.Publisher();
  readonly stdin = new zmq.Router();
  readonly hb = new zmq.Reply();
  private readonly queues: Record<"shell" | "control" | "iopub" | "stdin", SendQueue>;
  private closed = false;
  private loops: Promise<void>[] = [];
  /** The ports actually bound (differs from the connection file where it said 0). */
  readonly ports: Record<Channel, number> = { shell: 0, control: 0, iopub: 0, stdin: 0, hb: 0 };

  constructor(
    private readonly info: ConnectionInfo,
    private readonly log: Logger,
  ) {
    for (const s of [this.shell, this.control, this.iopub, this.stdin, this.hb]) {
      s.linger = 1000; // flush the last replies on close, but do not hang
    }
    this.iopub.sendHighWaterMark = 100000;
    this.queues = {
      shell: new SendQueue(this.shell, "shell", log),
      control: new SendQueue(this.control, "control", log),
      iopub: new SendQueue(this.iopub, "iopub", log),
      stdin: new SendQueue(this.stdin, "stdin", log),
    };
  }

  async bind(): Promise<void> {
    const pairs: [Channel, zmq.Socket][] = [
      ["shell", this.shell],
      ["control", this.control],
      ["iopub", this.iopub],
      ["stdin", this.stdin],
      ["hb", this.hb],
    ];
    for (const [channel, socket] of pairs) {
      const ep = endpoint(this.info, channel);
      try {
        await socket.bind(ep);
      } catch (e) {
        throw new Error(`cannot bind the ${channel} socket to ${ep}: ${(e as Error).message}`);
      }
      this.ports[channel] = this.info.transport === "tcp" ? portOfEndpoint(socket.lastEndpoint ?? ep) : 0;
      this.log.debug(`${channel} bound to ${socket.lastEndpoint ?? ep}`);
    }
  }

  /** Starts the receive loops (ROUTER sockets) and the heartbeat echo; close() ends them. */
  listen(onFrames: FrameHandler): void {
    const routers: [Channel, zmq.Router][] = [
      ["shell", this.shell],
      ["control", this.control],
      ["stdin", this.stdin],
    ];
    for (const [channel, socket] of routers) {
      this.loops.push(this.receiveLoop(channel, socket, onFrames));
    }
    this.loops.push(this.heartbeatLoop());
  }

  private async receiveLoop(channel: Channel, socket: zmq.Router, onFrames: FrameHandler): Promise<void> {
    while (!this.closed) {
      let frames: Buffer[];
      try {
        frames = await socket.receive();
      } catch (e) {
        if (this.closed || socket.closed) return;
        this.log.error(`${channel}: receive failed: ${(e as Error).message}`);
        continue;
      }
      try {
        onFrames(channel, frames);
      } catch (e) {
        this.log.error(`${channel}: handler threw: ${(e as Error).stack ?? e}`);
      }
    }
  }

  private async heartbeatLoop(): Promise<void> {
    while (!this.closed) {
      try {
        const frames = await this.hb.receive();
        await this.hb.send(frames);
      } catch (e) {
        if (this.closed || this.hb.closed) return;
        this.log.warn(`hb: ${(e as Error).message}`);
      }
    }
  }

  send(channel: "shell" | "control" | "iopub" | "stdin", frames: Buffer[]): Promise<void> {
    if (this.closed) {
      this.log.debug(`${channel}: dropped a message after close`);
      return Promise.resolve();
    }
    return this.queues[channel].send(frames);
  }

  /** Waits for queued sends, then closes every socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all(Object.values(this.queues).map((q) => q.drain()));
    this.closed = true;
    for (const s of [this.shell, this.control, this.iopub, this.stdin, this.hb]) s.close();
    await Promise.allSettled(this.loops);
  }
}
