// The connection file the notebook server writes for the kernel
// (jupyter_client: ports, transport, ip, key, signature_scheme).
import { readFileSync } from "fs";

export interface ConnectionInfo {
  transport: "tcp" | "ipc";
  ip: string;
  shell_port: number;
  control_port: number;
  iopub_port: number;
  stdin_port: number;
  hb_port: number;
  key: string;
  signature_scheme: string;
  kernel_name?: string;
}

export const CHANNELS = ["shell", "control", "iopub", "stdin", "hb"] as const;
export type Channel = (typeof CHANNELS)[number];

function portOf(raw: Record<string, unknown>, name: string): number {
  const v = raw[name];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 65535) {
    throw new Error(
      `connection file: "${name}" must be a port number (0 picks a free one), found ${JSON.stringify(v)}`,
    );
  }
  return v;
}

/** Validates a parsed connection file; throws with a message naming the bad field. */
export function parseConnectionInfo(raw: unknown): ConnectionInfo {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new Error("connection file: not a JSON object");
  }
  const r = raw as Record<string, unknown>;
  const transport = r.transport ?? "tcp";
  if (transport !== "tcp" && transport !== "ipc") {
    throw new Error(`connection file: transport must be "tcp" or "ipc", found ${JSON.stringify(transport)}`);
  }
  const ip = r.ip ?? "127.0.0.1";
  if (typeof ip !== "string" || ip === "") throw new Error('connection file: "ip" must be a non-empty string');
  const key = r.key ?? "";
  if (typeof key !== "string") throw new Error('connection file: "key" must be a string');
  const scheme = r.signature_scheme ?? "hmac-sha256";
  if (typeof scheme !== "string") throw new Error('connection file: "signature_scheme" must be a string');
  return {
    transport,
    ip,
    shell_port: portOf(r, "shell_port"),
    control_port: portOf(r, "control_port"),
    iopub_port: portOf(r, "iopub_port"),
    stdin_port: portOf(r, "stdin_port"),
    hb_port: portOf(r, "hb_port"),
    key,
    signature_scheme: scheme,
    kernel_name: typeof r.kernel_name === "string" ? r.kernel_name : undefined,
  };
}

export function readConnectionFile(path: string): ConnectionInfo {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`cannot read the connection file ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`the connection file ${path} is not JSON: ${(e as Error).message}`);
  }
  return parseConnectionInfo(raw);
}

export function portOfChannel(info: ConnectionInfo, channel: Channel): number {
  switch (channel) {
    case "shell":
      return info.shell_port;
    case "control":
      return info.control_port;
    case "iopub":
      return info.iopub_port;
    case "stdin":
      return info.stdin_port;
    case "hb":
      return info.hb_port;
  }
}

/**
 * The endpoint a channel binds to, as jupyter_client spells it:
 * tcp://IP:PORT, or ipc://IP-PORT (ip is then a path prefix). Port 0 over
 * tcp binds a free port (tcp://IP:*); the kernel reports the port it got.
 */
export function endpoint(info: ConnectionInfo, channel: Channel): string {
  const port = portOfChannel(info, channel);
  if (info.transport === "ipc") return `ipc://${info.ip}-${port}`;
  const host = info.ip.includes(":") ? `[${info.ip}]` : info.ip;
  return `tcp://${host}:${port === 0 ? "*" : port}`;
}

/** The port of a bound tcp endpoint ("tcp://127.0.0.1:40123" -> 40123). */
export function portOfEndpoint(ep: string): number {
  const m = /:(\d+)$/.exec(ep);
  return m ? Number(m[1]) : 0;
}
