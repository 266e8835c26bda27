// The kernel's own log, on stderr (the notebook server shows it in its log).
// Level from TORCHCLAD_KERNEL_LOG: debug, info (default), warn, error, silent.

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export function levelFromEnv(value: string | undefined, fallback: LogLevel = "info"): LogLevel {
  return value !== undefined && value in ORDER ? (value as LogLevel) : fallback;
}

export class StderrLogger implements Logger {
  constructor(
    private readonly level: LogLevel = levelFromEnv(process.env.TORCHCLAD_KERNEL_LOG),
    private readonly prefix = "[torchclad-kernel]",
  ) {}

  private write(level: LogLevel, msg: string): void {
    if (ORDER[level] < ORDER[this.level]) return;
    process.stderr.write(`${this.prefix} ${new Date().toISOString()} ${level.toUpperCase()} ${msg}\n`);
  }

  debug(msg: string): void {
    this.write("debug", msg);
  }
  info(msg: string): void {
    this.write("info", msg);
  }
  warn(msg: string): void {
    this.write("warn", msg);
  }
  error(msg: string): void {
    this.write("error", msg);
  }
}

/** Keeps every line: for tests that check what was logged. */
export class MemoryLogger implements Logger {
  readonly lines: { level: LogLevel; msg: string }[] = [];
  debug(msg: string): void {
    this.lines.push({ level: "debug", msg });
  }
  info(msg: string): void {
    this.lines.push({ level: "info", msg });
  }
  warn(msg: string): void {
    this.lines.push({ level: "warn", msg });
  }
  error(msg: string): void {
    this.lines.push({ level: "error", msg });
  }
  text(): string {
    return this.lines.map((l) => `${l.level}: ${l.msg}`).join("\n");
  }
}
