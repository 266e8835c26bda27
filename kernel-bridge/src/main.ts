#!/usr/bin/env node
// torchclad-kernel: the process a kernelspec starts.
//
//   torchclad-kernel -f CONNECTION_FILE [--host PATH] [--host-arg ARG]...
//   torchclad-kernel install [--user|--sys-prefix|--prefix DIR] ...   (install.ts)
//
// Reads the connection file, binds the five sockets, starts the C++ kernel
// host (torchclad-host, $TORCHCLAD_HOST or the build tree's), and serves
// until a shutdown_request, SIGTERM, or the exit of the process named by
// $JPY_PARENT_PID (the notebook server). SIGINT interrupts the running cell.
import { readArgs } from "./argv";
import { readConnectionFile } from "./connection";
import { HostExecutor, resolveHostPath } from "./host";
import { installCommand } from "./install";
import { Kernel, packageVersion } from "./kernel";
import { levelFromEnv, StderrLogger } from "./logger";

const USAGE = `usage: torchclad-kernel -f CONNECTION_FILE [--host PATH] [--host-arg ARG]... [--log-level LEVEL]
       torchclad-kernel install [--user | --sys-prefix | --prefix DIR] [--name NAME] [--display-name TEXT] ...
                                (writes the kernelspec: torchclad-kernel install --help)

  -f, --connection-file FILE  the connection file written by the notebook server
  --host PATH                 the kernel host binary (default: $TORCHCLAD_HOST, else
                              ${resolveHostPath({})})
  --host-arg ARG              an argument for the host (repeatable), e.g. --host-arg=--interrupt-grace --host-arg=0.5
  --log-level LEVEL           debug, info, warn, error, silent (default: $TORCHCLAD_KERNEL_LOG or info)
  --version                   print the version
`;

export interface CliOptions {
  connectionFile: string;
  hostPath: string;
  hostArgs: string[];
  logLevel: string | undefined;
}

export function parseArgs(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): CliOptions | { exit: number; text: string } {
  let connectionFile: string | undefined;
  let hostPath: string | undefined;
  let logLevel: string | undefined;
  const hostArgs: string[] = [];
  for (const { raw, flag, value } of readArgs(argv)) {
    try {
      switch (flag) {
        case "-f":
        case "--connection-file":
          connectionFile = value();
          break;
        case "--host":
          hostPath = value();
          break;
        case "--host-arg":
          hostArgs.push(value());
          break;
        case "--log-level":
          logLevel = value();
          break;
        case "-h":
        case "--help":
          return { exit: 0, text: USAGE };
        case "--version":
          return { exit: 0, text: `${packageVersion()}\n` };
        default:
          return { exit: 2, text: `torchclad-kernel: unknown argument ${raw}\n${USAGE}` };
      }
    } catch (e) {
      return { exit: 2, text: `torchclad-kernel: ${(e as Error).message}\n${USAGE}` };
    }
  }
  if (!connectionFile) return { exit: 2, text: `torchclad-kernel: a connection file is needed (-f FILE)\n${USAGE}` };
  return { connectionFile, hostPath: hostPath ?? resolveHostPath(env), hostArgs, logLevel };
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === "install") return installCommand(argv.slice(1));
  const parsed = parseArgs(argv);
  if ("exit" in parsed) {
    (parsed.exit === 0 ? process.stdout : process.stderr).write(parsed.text);
    return parsed.exit;
  }
  const log = new StderrLogger(levelFromEnv(parsed.logLevel ?? process.env.TORCHCLAD_KERNEL_LOG));
  let kernel: Kernel;
  let executor: HostExecutor | undefined;
  // However the bridge exits, the hosts and what their cells started go with it.
  process.on("exit", () => executor?.killAll());
  // A last resort: a message must never end the kernel (the kernel catches
  // per request; this logs what a bug might still let through).
  process.on("unhandledRejection", (e) => log.error(`unhandled rejection: ${(e as Error)?.stack ?? e}`));
  try {
    const connection = readConnectionFile(parsed.connectionFile);
    executor = new HostExecutor({ hostPath: parsed.hostPath, args: parsed.hostArgs, logger: log });
    kernel = new Kernel({ connection, executor, logger: log });
    await kernel.start();
  } catch (e) {
    log.error((e as Error).message);
    return 1;
  }
  process.on("SIGINT", () => void kernel.interruptFromSignal());
  process.on("SIGTERM", () => void kernel.stop("signal"));
  // The notebook server's pid: when it is gone, so is this kernel (as ipykernel's ParentPoller).
  const parentPid = Number(process.env.JPY_PARENT_PID);
  if (Number.isInteger(parentPid) && parentPid > 1) {
    setInterval(() => {
      try {
        process.kill(parentPid, 0);
      } catch {
        log.warn(`the parent process ${parentPid} is gone: shutting down`);
        void kernel.stop("parent-exited");
      }
    }, 2000).unref();
  }
  await kernel.stopped;
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`torchclad-kernel: ${e.stack ?? e}\n`);
      process.exit(1);
    },
  );
}
