import { ExecuteOutcome, ExecuteRequest, ExecutionSink, Executor } from "./executor";
import { formatDuration, magicList, runCell, splitMagic } from "./magics";

describe("splitMagic", () => {
  test("plain C++", () => {
    expect(splitMagic("int x = 1;")).toEqual({ kind: "code", code: "int x = 1;" });
    expect(splitMagic("x % 3")).toEqual({ kind: "code", code: "x % 3" });
  });
  test("cell magics, after blank lines", () => {
    expect(splitMagic("\n  \n%%clad mylib\nbody\nmore")).toEqual({
      kind: "cell",
      name: "clad",
      args: "mylib",
      header: "%%clad mylib",
      body: "body\nmore",
      code: "%%clad mylib\nbody\nmore",
    });
    expect(splitMagic("%%time")).toMatchObject({ kind: "cell", name: "time", body: "" });
    expect(splitMagic("%%")).toMatchObject({ kind: "cell", name: "" });
  });
  test("line magics", () => {
    expect(splitMagic("%lsmagic")).toEqual({ kind: "line", name: "lsmagic", args: "", rest: "" });
    expect(splitMagic("%time f(1);\ng();")).toEqual({ kind: "line", name: "time", args: "f(1);", rest: "g();" });
  });
});

function recorder() {
  const out: string[] = [];
  const sink: ExecutionSink = {
    stream: (name, text) => out.push(`${name}:${text}`),
    display: () => {},
    updateDisplay: () => {},
    result: () => {},
  };
  return { out, sink };
}

class EchoExecutor implements Partial<Executor> {
  codes: string[] = [];
  async execute(r: ExecuteRequest, sink: ExecutionSink): Promise<ExecuteOutcome> {
    this.codes.push(r.code);
    sink.stream("stdout", `ran ${JSON.stringify(r.code)}\n`);
    return r.code.includes("bad") ? { status: "error", ename: "E", evalue: "v", traceback: [] } : { status: "ok" };
  }
}

const request = (code: string): ExecuteRequest => ({
  code,
  silent: false,
  storeHistory: true,
  executionCount: 1,
});

describe("runCell", () => {
  test("%%clad goes to the executor unchanged, magic line included", async () => {
    const ex = new EchoExecutor();
    const { sink } = recorder();
    await runCell(ex as unknown as Executor, request("\n%%clad lib\nvoid f() {}"), sink);
    expect(ex.codes).toEqual(["%%clad lib\nvoid f() {}"]);
  });

  test("%%time runs the body and prints the wall time after its output", async () => {
    const ex = new EchoExecutor();
    const { out, sink } = recorder();
    const r = await runCell(ex as unknown as Executor, request("%%time\n%%clad\nvoid f() {}"), sink);
    expect(r.status).toBe("ok");
    expect(ex.codes).toEqual(["%%clad\nvoid f() {}"]);
    expect(out[1]).toMatch(/^stdout:Wall time: [\d.]+ (µs|ms|s)\n$/);
  });

  test("%time CODE then the rest; an error stops the rest", async () => {
    const ex = new EchoExecutor();
    const { sink } = recorder();
    await runCell(ex as unknown as Executor, request("%time a();\nb();"), sink);
    expect(ex.codes).toEqual(["a();", "b();"]);
    const ex2 = new EchoExecutor();
    const r = await runCell(ex2 as unknown as Executor, request("%time bad();\nb();"), sink);
    expect(r.status).toBe("error");
    expect(ex2.codes).toEqual(["bad();"]);
  });

  test("%lsmagic lists every magic", async () => {
    const { out, sink } = recorder();
    await runCell(new EchoExecutor() as unknown as Executor, request("%lsmagic"), sink);
    expect(out.join("")).toBe(`stdout:${magicList()}`);
    for (const m of ["%%clad", "%%time", "%lsmagic", "%time"]) expect(magicList()).toContain(m);
  });

  test("%lsmagic says which %%clad cells get LibTorch's headers", () => {
    // Model cells are compiled as C++20 with LibTorch's include dirs; helper
    // cells go through ACLiC, whose dictionary cling parses as C++17
    // (cling-plugin/host/tests/test_acceptance_cells.py runs both).
    const clad = magicList()
      .split("\n")
      .find((line) => line.includes("%%clad"));
    expect(clad).toContain("A cell with TORCHCLAD_MODEL is C++20 with LibTorch headers");
    expect(clad).toContain("one without (helpers for plain cells, via ACLiC) is C++17 without LibTorch headers");
  });

  test("an unknown magic is an error naming the known ones, and nothing runs", async () => {
    const ex = new EchoExecutor();
    const { sink } = recorder();
    const r = await runCell(ex as unknown as Executor, request("%%bash\nls"), sink);
    expect(r).toMatchObject({ status: "error", ename: "UnknownMagic" });
    if (r.status === "error") {
      expect(r.evalue).toContain("%%bash");
      expect(r.evalue).toContain("%%clad, %%time, %lsmagic, %time");
    }
    expect(ex.codes).toEqual([]);
  });

  test("formatDuration", () => {
    expect(formatDuration(2.5)).toBe("2.50 s");
    expect(formatDuration(0.0123)).toBe("12.3 ms");
    expect(formatDuration(0.000045)).toBe("45.0 µs");
  });
});
