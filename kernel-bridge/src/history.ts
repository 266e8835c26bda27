// The input history of this kernel process (history_request), in memory:
// a restarted kernel starts a new, empty history. Session number 1 is this
// process; requests for other sessions find nothing.

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

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${escaped}$`, "s");
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
      const re = globToRegExp(q.pattern ?? "*");
      selected = this.entries.filter((e) => re.test(e.input));
      if (q.unique) {
        const seen = new Set<string>();
        selected = selected.reverse().filter((e) => !seen.has(e.input) && (seen.add(e.input), true)).reverse();
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
