// Where a request's time goes in the bridge, for the latency benchmark
// (bench/kernel_latency.py --breakdown): with TORCHCLAD_TIMING set, each
// shell request logs one line on stderr with the microseconds from the
// arrival of its frames to each step. Off (the default), a mark is one test.
const enabled = !!process.env.TORCHCLAD_TIMING && process.env.TORCHCLAD_TIMING !== "0";

let start = 0n;
let marks: [string, bigint][] = [];

/** The frames of a request arrived: its clock starts. */
export function arrived(): void {
  if (!enabled) return;
  start = process.hrtime.bigint();
  marks = [];
}

export function mark(step: string): void {
  if (enabled) marks.push([step, process.hrtime.bigint()]);
}

/** Writes the request's line and forgets its marks. */
export function finish(what: string): void {
  if (!enabled || marks.length === 0) return;
  let previous = start;
  const parts = marks.map(([step, t]) => {
    const part = `${step}=${Number(t - start) / 1e3}(+${Number(t - previous) / 1e3})`;
    previous = t;
    return part;
  });
  marks = [];
  // start_ns: the monotonic clock, as the host's steady_clock (transit times between them).
  process.stderr.write(`[timing] bridge ${what} us from frames: start_ns=${start} ${parts.join(" ")}\n`);
}
