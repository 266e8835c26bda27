// The bridge's per-request timing line (TORCHCLAD_TIMING), which
// bench/latency_breakdown.py parses.
function loadTiming(env: string | undefined): typeof import("./timing") {
  const saved = process.env.TORCHCLAD_TIMING;
  if (env === undefined) delete process.env.TORCHCLAD_TIMING;
  else process.env.TORCHCLAD_TIMING = env;
  let mod!: typeof import("./timing");
  jest.isolateModules(() => {
    mod = jest.requireActual("./timing");
  });
  if (saved === undefined) delete process.env.TORCHCLAD_TIMING;
  else process.env.TORCHCLAD_TIMING = saved;
  return mod;
}

function written(run: () => void): string {
  const spy = jest.spyOn(process.stderr, "write").mockImplementation(() => true);
  try {
    run();
    return spy.mock.calls.map((c) => String(c[0])).join("");
  } finally {
    spy.mockRestore();
  }
}

describe("timing", () => {
  test("with TORCHCLAD_TIMING, one line per request: steps in order, µs from arrival", () => {
    const timing = loadTiming("1");
    const out = written(() => {
      timing.arrived();
      timing.mark("decoded");
      timing.mark("idle_sent");
      timing.finish("execute_request");
    });
    const m =
      /^\[timing\] bridge execute_request us from frames: start_ns=\d+ decoded=([\d.]+)\(\+[\d.]+\) idle_sent=([\d.]+)\(\+[\d.]+\)\n$/.exec(
        out,
      );
    expect(m).not.toBeNull();
    expect(Number(m![2])).toBeGreaterThanOrEqual(Number(m![1]));
    // The marks were consumed: a finish without new marks writes nothing.
    expect(written(() => timing.finish("execute_request"))).toBe("");
  });

  test("without it (or with 0), nothing is written", () => {
    for (const env of [undefined, "0"]) {
      const timing = loadTiming(env);
      const out = written(() => {
        timing.arrived();
        timing.mark("decoded");
        timing.finish("execute_request");
      });
      expect(out).toBe("");
    }
  });
});
