// `torchclad-kernel install`: the real command (node dist/main.js install)
// writes kernelspecs into temporary prefixes; the .venv's real `jupyter
// kernelspec list` finds them, and jupyter_client starts the installed kernel
// (real host) and runs a cell. Needs the .venv and the host (fails, with a
// message, without them).
import { execFileSync, spawnSync } from "child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";

import { DEFAULT_DISPLAY_NAME, parseInstallArgs } from "../src/install";
import { HOST, MAIN, requireHost } from "./kernel-process";

const REPO = resolve(__dirname, "..", "..");
const PYTHON = join(REPO, ".venv", "bin", "python");
const JUPYTER = join(REPO, ".venv", "bin", "jupyter");

function install(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, "install", ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `jupyter kernelspec list --json` of the .venv, with env (JUPYTER_PATH, JUPYTER_DATA_DIR). */
function kernelspecs(env: NodeJS.ProcessEnv): Record<string, { resource_dir: string; spec: { display_name: string } }> {
  const out = execFileSync(JUPYTER, ["kernelspec", "list", "--json"], {
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  return JSON.parse(out).kernelspecs;
}

describe("torchclad-kernel install: arguments", () => {
  test("defaults: the system dir, the name torchclad, the host from $TORCHCLAD_HOST", () => {
    expect(parseInstallArgs([], { TORCHCLAD_HOST: "/opt/h" })).toEqual({
      target: { kind: "system" },
      name: "torchclad",
      displayName: DEFAULT_DISPLAY_NAME,
      hostPath: "/opt/h",
      python: undefined,
    });
    expect(parseInstallArgs(["--prefix=rel", "--name", "tc2", "--display-name", "T C"], {})).toMatchObject({
      target: { kind: "prefix", dir: resolve("rel") },
      name: "tc2",
      displayName: "T C",
    });
  });
  test("clear errors: unknown option, two targets, a bad name, a missing value", () => {
    expect(parseInstallArgs(["--global"], {})).toMatchObject({
      exit: 2,
      text: expect.stringContaining("unknown argument --global"),
    });
    expect(parseInstallArgs(["--user", "--sys-prefix"], {})).toMatchObject({
      exit: 2,
      text: expect.stringContaining("--user and --sys-prefix exclude each other"),
    });
    expect(parseInstallArgs(["--name", "a/b"], {})).toMatchObject({
      exit: 2,
      text: expect.stringContaining("found 'a/b'"),
    });
    expect(parseInstallArgs(["--prefix"], {})).toMatchObject({
      exit: 2,
      text: expect.stringContaining("--prefix needs a value"),
    });
  });
});

describe("torchclad-kernel install: into temporary prefixes, seen by jupyter", () => {
  let tmp: string;
  beforeAll(() => {
    requireHost();
    if (!existsSync(JUPYTER))
      throw new Error(`no jupyter at ${JUPYTER}: this suite needs the .venv (scripts/setup.sh)`);
    tmp = mkdtempSync(join(tmpdir(), "torchclad-install-"));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test("--prefix DIR: kernel.json runs this node, this main.js and the host; the logos; jupyter lists it", () => {
    const prefix = join(tmp, "prefix");
    const r = install(["--prefix", prefix, "--name", "tc-prefix", "--display-name", "TC prefix", "--host", HOST]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const dir = join(prefix, "share", "jupyter", "kernels", "tc-prefix");
    expect(r.stdout).toContain(`Installed kernelspec tc-prefix in ${dir}`);
    const spec = JSON.parse(readFileSync(join(dir, "kernel.json"), "utf8"));
    expect(spec).toEqual({
      argv: [process.execPath, MAIN, "-f", "{connection_file}", "--host", HOST],
      display_name: "TC prefix",
      language: "cpp",
      interrupt_mode: "message",
      metadata: { debugger: false },
    });
    expect(readdirSync(dir).sort()).toEqual(["kernel.json", "logo-32x32.png", "logo-64x64.png"]);
    const listed = kernelspecs({ JUPYTER_PATH: join(prefix, "share", "jupyter") });
    expect(listed["tc-prefix"]).toMatchObject({ resource_dir: dir, spec: { display_name: "TC prefix" } });
  });

  test("--user: into $JUPYTER_DATA_DIR/kernels; reinstalling replaces the earlier spec", () => {
    const data = join(tmp, "data");
    expect(install(["--user", "--name", "tc-user", "--display-name", "old"], { JUPYTER_DATA_DIR: data }).status).toBe(
      0,
    );
    writeFileSync(join(data, "kernels", "tc-user", "stale.txt"), "x");
    expect(install(["--user", "--name", "tc-user", "--display-name", "new"], { JUPYTER_DATA_DIR: data }).status).toBe(
      0,
    );
    expect(existsSync(join(data, "kernels", "tc-user", "stale.txt"))).toBe(false);
    const listed = kernelspecs({ JUPYTER_DATA_DIR: data });
    expect(listed["tc-user"]).toMatchObject({
      resource_dir: join(data, "kernels", "tc-user"),
      spec: { display_name: "new" },
    });
  });

  test("--sys-prefix: sys.prefix of --python, else of $VIRTUAL_ENV's python", () => {
    const venv = join(tmp, "venv");
    execFileSync(PYTHON, ["-m", "venv", "--without-pip", venv]);
    expect(install(["--sys-prefix", "--python", join(venv, "bin", "python"), "--name", "tc-sys"]).status).toBe(0);
    expect(existsSync(join(venv, "share", "jupyter", "kernels", "tc-sys", "kernel.json"))).toBe(true);
    expect(install(["--sys-prefix", "--name", "tc-env"], { VIRTUAL_ENV: venv }).status).toBe(0);
    expect(existsSync(join(venv, "share", "jupyter", "kernels", "tc-env", "kernel.json"))).toBe(true);
  });

  test("errors name the problem and exit non-zero", () => {
    const file = join(tmp, "a-file");
    writeFileSync(file, "");
    const r = install(["--prefix", file, "--host", HOST]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${file} is not a directory`);
    const p = install(["--sys-prefix", "--python", join(tmp, "no-python")]);
    expect(p.status).toBe(1);
    expect(p.stderr).toContain("could not run");
    const u = install(["--usr"]);
    expect(u.status).toBe(2);
    expect(u.stderr).toContain("unknown argument --usr");
  });

  test("the installed kernel starts under jupyter_client and runs a cell", () => {
    const prefix = join(tmp, "run");
    expect(install(["--prefix", prefix, "--name", "tc-run", "--host", HOST]).status).toBe(0);
    const script = `
import sys
from jupyter_client.manager import start_new_kernel
km, kc = start_new_kernel(kernel_name="tc-run", startup_timeout=90)
try:
    results = []
    def hook(msg):
        if msg["msg_type"] == "execute_result":
            results.append(msg["content"]["data"]["text/plain"])
    reply = kc.execute_interactive("int answer = 6 * 7;\\nanswer", timeout=90, output_hook=hook)
    print(reply["content"]["status"], km.kernel_spec.resource_dir, results)
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
`;
    const out = execFileSync(PYTHON, ["-c", script], {
      encoding: "utf8",
      env: { ...process.env, JUPYTER_PATH: join(prefix, "share", "jupyter") },
      timeout: 150_000,
    });
    expect(out.trim()).toBe(`ok ${join(prefix, "share", "jupyter", "kernels", "tc-run")} ['(int) 42']`);
  }, 180_000);
});
