// `torchclad-kernel install`: writes the kernelspec (kernel.json and the
// logos) as ipykernel's `install` does, into one of Jupyter's data dirs:
//
//   (default)      the system dir, /usr/local/share/jupyter/kernels
//   --user         the user's data dir ($JUPYTER_DATA_DIR, else
//                  $XDG_DATA_HOME/jupyter, else ~/.local/share/jupyter)
//   --sys-prefix   sys.prefix/share/jupyter/kernels of the Python that runs
//                  Jupyter: --python PYTHON, else $VIRTUAL_ENV's, else the
//                  `python3` on PATH
//   --prefix DIR   DIR/share/jupyter/kernels
//
// kernel.json runs this node and this dist/main.js with the host given by
// --host (default: $TORCHCLAD_HOST, else the build tree's).
import { execFileSync } from "child_process";
import {
  accessSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "fs";
import { homedir } from "os";
import { dirname, join, resolve } from "path";

import { readArgs } from "./argv";
import { resolveHostPath } from "./host";

export const DEFAULT_NAME = "torchclad";
export const DEFAULT_DISPLAY_NAME = "ROOT C++ (Clad + LibTorch)";
export const SYSTEM_KERNELS_DIR = "/usr/local/share/jupyter/kernels";

export const INSTALL_USAGE = `usage: torchclad-kernel install [--user | --sys-prefix | --prefix DIR] [--name NAME]
                               [--display-name TEXT] [--host PATH] [--python PYTHON]

Writes the kernelspec NAME (kernel.json, logos) into KERNELS_DIR/NAME:
  (default)             ${SYSTEM_KERNELS_DIR}
  --user                the user's Jupyter data dir: $JUPYTER_DATA_DIR, else
                        $XDG_DATA_HOME/jupyter, else ~/.local/share/jupyter
  --sys-prefix          sys.prefix/share/jupyter of the Python that runs Jupyter
                        (--python, else $VIRTUAL_ENV, else python3 on PATH)
  --prefix DIR          DIR/share/jupyter
  --name NAME           the kernel's name (default: ${DEFAULT_NAME}); letters, digits, . _ -
  --display-name TEXT   the name shown in JupyterLab (default: ${DEFAULT_DISPLAY_NAME})
  --host PATH           the kernel host the kernel runs (default: $TORCHCLAD_HOST, else
                        ${resolveHostPath({})})
  --python PYTHON       the Python whose sys.prefix --sys-prefix uses
`;

export type InstallTarget =
  { kind: "system" } | { kind: "user" } | { kind: "sys-prefix" } | { kind: "prefix"; dir: string };

export interface InstallOptions {
  target: InstallTarget;
  name: string;
  displayName: string;
  hostPath: string;
  python: string | undefined;
}

type Failure = { exit: number; text: string };

function failure(message: string): Failure {
  return { exit: 2, text: `torchclad-kernel install: ${message}\n${INSTALL_USAGE}` };
}

export function parseInstallArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): InstallOptions | Failure {
  let target: InstallTarget = { kind: "system" };
  let targetFlag: string | undefined;
  let name = DEFAULT_NAME;
  let displayName = DEFAULT_DISPLAY_NAME;
  let hostPath: string | undefined;
  let python: string | undefined;
  for (const { raw, flag, value } of readArgs(argv)) {
    const setTarget = (t: InstallTarget): void => {
      if (targetFlag !== undefined && targetFlag !== flag)
        throw new Error(`${targetFlag} and ${flag} exclude each other`);
      targetFlag = flag;
      target = t;
    };
    try {
      switch (flag) {
        case "--user":
          setTarget({ kind: "user" });
          break;
        case "--sys-prefix":
          setTarget({ kind: "sys-prefix" });
          break;
        case "--prefix": {
          const dir = value();
          if (!dir) throw new Error("--prefix needs a directory");
          setTarget({ kind: "prefix", dir: resolve(dir) });
          break;
        }
        case "--name":
          name = value();
          break;
        case "--display-name":
          displayName = value();
          break;
        case "--host":
          hostPath = value();
          break;
        case "--python":
          python = value();
          break;
        case "-h":
        case "--help":
          return { exit: 0, text: INSTALL_USAGE };
        default:
          return failure(`unknown argument ${raw}`);
      }
    } catch (e) {
      return failure((e as Error).message);
    }
  }
  // jupyter_client's rule for kernel names
  if (!/^[a-z0-9._-]+$/i.test(name))
    return failure(`--name: expected letters, digits, '.', '_' or '-', found '${name}'`);
  if (!displayName) return failure("--display-name: expected a non-empty text");
  return { target, name, displayName, hostPath: resolve(hostPath ?? resolveHostPath(env)), python };
}

/** The Python's sys.prefix, for --sys-prefix. */
export function pythonPrefix(python: string | undefined, env: NodeJS.ProcessEnv): string {
  const exe = python ?? (env.VIRTUAL_ENV ? join(env.VIRTUAL_ENV, "bin", "python") : "python3");
  try {
    return execFileSync(exe, ["-c", "import sys; print(sys.prefix)"], {
      encoding: "utf8",
      env,
      stdio: ["ignore", "pipe", "pipe"],
    }).trim();
  } catch (e) {
    throw new Error(
      `--sys-prefix: could not run ${exe} to find sys.prefix (${(e as Error).message.split("\n")[0]}); pass --python PYTHON or --prefix DIR`,
    );
  }
}

/** The kernels directory the target names (without the kernel's own dir). */
export function kernelsDir(
  options: Pick<InstallOptions, "target" | "python">,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const t = options.target;
  switch (t.kind) {
    case "system":
      return SYSTEM_KERNELS_DIR;
    case "user": {
      const data =
        env.JUPYTER_DATA_DIR || join(env.XDG_DATA_HOME || join(env.HOME || homedir(), ".local", "share"), "jupyter");
      return join(resolve(data), "kernels");
    }
    case "sys-prefix":
      return join(pythonPrefix(options.python, env), "share", "jupyter", "kernels");
    case "prefix":
      return join(t.dir, "share", "jupyter", "kernels");
  }
}

export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode: "message";
  metadata: Record<string, unknown>;
}

/** kernel.json: this node running this dist/main.js, with the host. */
export function kernelSpec(options: Pick<InstallOptions, "displayName" | "hostPath">): KernelSpec {
  return {
    argv: [process.execPath, resolve(__dirname, "main.js"), "-f", "{connection_file}", "--host", options.hostPath],
    display_name: options.displayName,
    language: "cpp",
    interrupt_mode: "message",
    metadata: { debugger: false },
  };
}

/** The first existing ancestor of dir must be writable (else a clear error, not EACCES deep in mkdir). */
function checkWritable(dir: string, options: InstallOptions): void {
  let d = dir;
  while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
  if (!statSync(d).isDirectory()) throw new Error(`cannot write the kernelspec into ${dir}: ${d} is not a directory`);
  try {
    accessSync(d, constants.W_OK);
  } catch {
    const hint = options.target.kind === "system" ? " (use --user, --sys-prefix or --prefix DIR)" : "";
    throw new Error(`cannot write the kernelspec into ${dir}: ${d} is not writable${hint}`);
  }
}

/** Writes the kernelspec; returns its directory. Replaces an earlier one of the same name. */
export function installKernelSpec(options: InstallOptions, env: NodeJS.ProcessEnv = process.env): string {
  const dest = join(kernelsDir(options, env), options.name);
  checkWritable(dest, options);
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  const logos = resolve(__dirname, "..", "kernelspec");
  if (existsSync(logos)) {
    for (const f of readdirSync(logos).filter((f) => /^logo-\d+x\d+\.(png|svg)$/.test(f)))
      copyFileSync(join(logos, f), join(dest, f));
  }
  writeFileSync(join(dest, "kernel.json"), JSON.stringify(kernelSpec(options), null, 2) + "\n");
  return dest;
}

/** The `install` subcommand: returns the exit status. */
export function installCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): number {
  const parsed = parseInstallArgs(argv, env);
  if ("exit" in parsed) {
    (parsed.exit === 0 ? process.stdout : process.stderr).write(parsed.text);
    return parsed.exit;
  }
  try {
    if (!existsSync(parsed.hostPath)) {
      process.stderr.write(
        `torchclad-kernel install: warning: no kernel host at ${parsed.hostPath} yet (build it, or pass --host)\n`,
      );
    }
    const dest = installKernelSpec(parsed, env);
    process.stdout.write(`Installed kernelspec ${parsed.name} in ${dest}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`torchclad-kernel install: ${(e as Error).message}\n`);
    return 1;
  }
}
