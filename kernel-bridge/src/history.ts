// The input history of this kernel process (history_request), in memory:
// a restarted kernel starts a new, empty history. Session number 1 is this
// process; requests for other sessions find nothing. Searches use a glob
// matcher without regular expressions (glob.ts).
import { BadRequest, isBoolean, isInteger, isString, optional, shown } from "./bad-request";
import { Glob } from "./glob";

export interface HistoryEntry {
  line: number;
  input: string;
  output: string | null;
}

export interface HistoryQuery {
  hist_access_type?: string;
  output?: boolean;
  raw?: boolean;
  session?: number;
  start?: number;
  stop?: number;
  n?: number;
  pattern?: string;
  unique?: boolean;
}

export type HistoryRow = [number, number, string] | [number, number, [string, string | null]];

export const SESSION_NUMBER = 1;

const ACCESS_TYPES = ["tail", "range", "search"];

/** The fields of a history_request, checked; throws BadRequest naming the first bad one. */
export function historyQueryFrom(content: Record<string, unknown>): HistoryQuery {
  const field = <T>(name: string, ok: (v: unknown) => v is T, expected: string) =>
    optional(content[name], ok, `history_request: "${name}"`, expected);
  const type = field("hist_access_type", isString, `one of ${ACCESS_TYPES.join(", ")}`);
  if (type !== undefined && !ACCESS_TYPES.includes(type)) {
    throw new BadRequest(
      `history_request: "hist_access_type" must be one of ${ACCESS_TYPES.join(", ")}, found ${shown(type)}`,
    );
  }
  return {
    hist_access_type: type,
    output: field("output", isBoolean, "true or false"),
    raw: field("raw", isBoolean, "true or false"),
    session: field("session", isInteger, "an integer"),
    start: field("start", isInteger, "an integer"),
    stop: field("stop", isInteger, "an integer"),
    n: field("n", isInteger, "an integer"),
    pattern: field("pattern", isString, "a string (a glob: * and ?)"),
    unique: field("unique", isBoolean, "true or false"),
  };
}

export class History {
  private readonly entries: HistoryEntry[] = [];

  add(line: number, input: string): void {
    this.entries.push({ line, input, output: null });
  }

  setOutput(line: number, output: string): void {
    const e = this.entries.find((x) => x.line === line);
    if (e) e.output = output;
  }

  get size(): number {
    return this.entries.length;
  }

  query(q: HistoryQuery): HistoryRow[] {
    const type = q.hist_access_type ?? "tail";
    let selected: HistoryEntry[];
    if (type === "tail") {
      const n = q.n ?? 10;
      selected = n > 0 ? this.entries.slice(-n) : [];
    } else if (type === "range") {
      // session 0 or a negative offset mean this session too (IPython's convention for "current").
      const session = q.session ?? 0;
      if (session !== 0 && session !== SESSION_NUMBER && session > 0) return [];
      const start = q.start ?? 1;
      const stop = q.stop ?? Number.POSITIVE_INFINITY;
      selected = this.entries.filter((e) => e.line >= start && e.line < stop);
    } else if (type === "search") {
      const glob = new Glob(q.pattern ?? "*");
      selected = this.entries.filter((e) => glob.matches(e.input));
      if (q.unique) {
        const seen = new Set<string>();
        selected = selected
          .reverse()
          .filter((e) => !seen.has(e.input) && (seen.add(e.input), true))
          .reverse();
      }
      if (q.n !== undefined && q.n !== null && q.n > 0) selected = selected.slice(-q.n);
    } else {
      return [];
    }
    return selected.map((e) =>
      q.output ? [SESSION_NUMBER, e.line, [e.input, e.output]] : [SESSION_NUMBER, e.line, e.input],
    );
  }
}
