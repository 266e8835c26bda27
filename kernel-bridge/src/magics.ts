// Magics: IPython-style commands at the top of a cell.
//
//   %%clad [NAME]   cell magic: the cell is compiled with clang++ and Clad,
//                   then loaded (the host does this; the bridge passes the
//                   cell through unchanged). A cell that defines models
//                   (TORCHCLAD_MODEL) is C++20 and may include LibTorch's
//                   headers; one without (helper functions that plain cells
//                   call) goes through ACLiC, whose dictionary cling parses
//                   as C++17: no LibTorch headers there (they need C++20)
//   %%time          cell magic: runs the rest of the cell (which may itself
//                   start with %%clad) and prints its wall time
//   %time CODE      line magic: runs CODE, prints its wall time, then runs
//                   the lines after it
//   %lsmagic        line magic: lists the magics
//
// A magic is recognised only at the top of a cell (after blank lines): C++
// has no statement that starts with %. An unknown magic is an error
// (UnknownMagic) that names the magics there are; nothing of the cell runs.
import { ExecuteOutcome, ExecuteRequest, ExecutionSink, Executor } from "./executor";

export const CELL_MAGICS = new Map<string, string>([
  [
    "clad",
    "compile the cell with clang++ and Clad and load it; %%clad NAME names its library. " +
      "A cell with TORCHCLAD_MODEL is C++20 with LibTorch headers; " +
      "one without (helpers for plain cells, via ACLiC) is C++17 without LibTorch headers",
  ],
  ["time", "run the rest of the cell and print its wall time"],
]);
export const LINE_MAGICS = new Map<string, string>([
  ["lsmagic", "list the magics"],
  ["time", "%time CODE: run CODE and print its wall time"],
]);

export type SplitCell =
  | { kind: "code"; code: string }
  /** `header` is the magic's whole line; `body` the lines after it. */
  | { kind: "cell"; name: string; args: string; header: string; body: string; code: string }
  | { kind: "line"; name: string; args: string; rest: string };

/** Splits off the magic at the top of a cell, if any. */
export function splitMagic(code: string): SplitCell {
  const m = /^(?:[ \t]*\r?\n)*[ \t]*(%%?)([A-Za-z_][\w-]*)?([^\n]*)(?:\n|$)/.exec(code);
  if (!m) return { kind: "code", code };
  const [whole, percent, name = "", args] = m;
  const rest = code.slice(whole.length);
  if (percent === "%%") {
    const headerStart = code.indexOf("%%");
    const header = code.slice(headerStart, whole.length).replace(/\r?\n$/, "");
    return { kind: "cell", name, args: args.trim(), header, body: rest, code: code.slice(headerStart) };
  }
  return { kind: "line", name, args: args.trim(), rest };
}

export function magicList(): string {
  const lines = ["Cell magics (first line of a cell):"];
  for (const [name, help] of CELL_MAGICS) lines.push(`  %%${name.padEnd(10)} ${help}`);
  lines.push("Line magics (at the top of a cell):");
  for (const [name, help] of LINE_MAGICS) lines.push(`  %${name.padEnd(11)} ${help}`);
  return lines.join("\n") + "\n";
}

function unknownMagic(spelled: string): ExecuteOutcome {
  const known = [...[...CELL_MAGICS.keys()].map((n) => `%%${n}`), ...[...LINE_MAGICS.keys()].map((n) => `%${n}`)];
  const evalue = `unknown magic ${spelled}: this kernel knows ${known.join(", ")} (%lsmagic lists them)`;
  return { status: "error", ename: "UnknownMagic", evalue, traceback: [`UnknownMagic: ${evalue}`] };
}

/** "1.23 s", "45.6 ms", "789 µs". */
export function formatDuration(seconds: number): string {
  if (seconds >= 1) return `${seconds.toPrecision(3)} s`;
  if (seconds >= 1e-3) return `${(seconds * 1e3).toPrecision(3)} ms`;
  return `${(seconds * 1e6).toPrecision(3)} µs`;
}

/**
 * Runs a cell: the bridge's own magics here, everything else (plain C++,
 * %%clad) through the executor.
 */
export async function runCell(
  executor: Executor,
  request: ExecuteRequest,
  sink: ExecutionSink,
): Promise<ExecuteOutcome> {
  const split = splitMagic(request.code);
  if (split.kind === "code") return executor.execute(request, sink);
  if (split.kind === "cell") {
    if (split.name === "clad") return executor.execute({ ...request, code: split.code }, sink);
    if (split.name === "time") return timed(() => runCell(executor, { ...request, code: split.body }, sink), sink);
    return unknownMagic(`%%${split.name}`);
  }
  // Line magics.
  if (split.name === "lsmagic") {
    sink.stream("stdout", magicList());
    return split.rest.trim() === "" ? { status: "ok" } : runCell(executor, { ...request, code: split.rest }, sink);
  }
  if (split.name === "time") {
    const outcome = await timed(() => runCell(executor, { ...request, code: split.args }, sink), sink);
    if (outcome.status !== "ok" || split.rest.trim() === "") return outcome;
    return runCell(executor, { ...request, code: split.rest }, sink);
  }
  return unknownMagic(`%${split.name}`);
}

async function timed(run: () => Promise<ExecuteOutcome>, sink: ExecutionSink): Promise<ExecuteOutcome> {
  const t0 = process.hrtime.bigint();
  const outcome = await run();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  sink.stream("stdout", `Wall time: ${formatDuration(seconds)}\n`);
  return outcome;
}
