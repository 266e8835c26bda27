import { mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

import { endpoint, parseConnectionInfo, portOfEndpoint, readConnectionFile } from "./connection";

const base = {
  shell_port: 1001,
  control_port: 1002,
  iopub_port: 1003,
  stdin_port: 1004,
  hb_port: 1005,
  ip: "127.0.0.1",
  key: "k",
  transport: "tcp",
  signature_scheme: "hmac-sha256",
  kernel_name: "torchclad",
};

describe("connection file", () => {
  test("reads a jupyter_client connection file", () => {
    const dir = mkdtempSync(join(tmpdir(), "conn-"));
    const file = join(dir, "kernel-1.json");
    writeFileSync(file, JSON.stringify(base));
    const info = readConnectionFile(file);
    expect(info).toMatchObject({ shell_port: 1001, hb_port: 1005, key: "k", kernel_name: "torchclad" });
    expect(endpoint(info, "shell")).toBe("tcp://127.0.0.1:1001");
    expect(endpoint(info, "hb")).toBe("tcp://127.0.0.1:1005");
  });

  test("ipc, IPv6 and port 0", () => {
    expect(endpoint(parseConnectionInfo({ ...base, transport: "ipc", ip: "/tmp/k" }), "iopub")).toBe(
      "ipc:///tmp/k-1003",
    );
    expect(endpoint(parseConnectionInfo({ ...base, ip: "::1" }), "control")).toBe("tcp://[::1]:1002");
    expect(endpoint(parseConnectionInfo({ ...base, stdin_port: 0 }), "stdin")).toBe("tcp://127.0.0.1:*");
    expect(portOfEndpoint("tcp://127.0.0.1:40123")).toBe(40123);
  });

  test("defaults: tcp, 127.0.0.1, hmac-sha256", () => {
    const { ip, transport, signature_scheme, key, ...ports } = base;
    void [ip, transport, signature_scheme];
    const info = parseConnectionInfo({ ...ports, key });
    expect(info).toMatchObject({ transport: "tcp", ip: "127.0.0.1", signature_scheme: "hmac-sha256" });
  });

  test("errors name the field", () => {
    expect(() => parseConnectionInfo({ ...base, shell_port: "x" })).toThrow(/shell_port/);
    expect(() => parseConnectionInfo({ ...base, hb_port: undefined })).toThrow(/hb_port/);
    expect(() => parseConnectionInfo({ ...base, transport: "udp" })).toThrow(/transport/);
    expect(() => parseConnectionInfo([])).toThrow(/not a JSON object/);
    expect(() => readConnectionFile("/nonexistent/kernel.json")).toThrow(/cannot read/);
    const dir = mkdtempSync(join(tmpdir(), "conn-"));
    writeFileSync(join(dir, "bad.json"), "{");
    expect(() => readConnectionFile(join(dir, "bad.json"))).toThrow(/not JSON/);
  });
});
