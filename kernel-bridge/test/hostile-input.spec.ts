// Messages that used to end or freeze the kernel process, and requests with
// fields of the wrong type: against the kernel as Jupyter starts it (a child
// process) with the real host, over real ZeroMQ sockets.
import * as zmq from "zeromq";

import { encode, Header } from "../src/wire";
import { kinds, TestClient } from "./client";
import { eventually, KernelProcess } from "./kernel-process";

function streamText(ms: { header: { msg_type: string }; content: Record<string, unknown> }[]): string {
  return ms
    .filter((m) => m.header.msg_type === "stream" && m.content.name === "stdout")
    .map((m) => m.content.text as string)
    .join("");
}

/** Names an object literal inherits: a dispatch table that is a plain object finds them. */
const PROPERTY_NAMES = [
  "constructor",
  "toString",
  "__proto__",
  "hasOwnProperty",
  "valueOf",
  "isPrototypeOf",
  "propertyIsEnumerable",
  "toLocaleString",
  "__defineGetter__",
  "__lookupGetter__",
];

describe("hostile and malformed requests (kernel process with the real host)", () => {
  let k: KernelProcess;
  let client: TestClient;

  beforeAll(async () => {
    k = await KernelProcess.start();
    client = k.client;
  }, 30000);

  afterAll(async () => {
    await k?.dispose();
  });

  /** The kernel process runs, and answers kernel_info on shell and control, and the heartbeat. */
  async function expectAlive(): Promise<void> {
    expect(k.running).toBe(true);
    expect((await client.roundTrip("shell", "kernel_info_request", {})).reply.content.status).toBe("ok");
    expect((await client.roundTrip("control", "kernel_info_request", {})).reply.content.status).toBe("ok");
    expect(await client.heartbeat("still-there")).toBe("still-there");
  }

  test.each(["shell", "control"] as const)(
    "a msg_type that is an object property name (constructor, __proto__, ...) on %s: ignored, no reply",
    async (channel) => {
      for (const name of PROPERTY_NAMES) {
        const header = await client.request(channel, name, {});
        expect(kinds(await client.idle(header))).toEqual(["status:busy", "status:idle"]);
        expect(client.repliesTo(channel, header)).toEqual([]);
      }
      await expectAlive();
      expect(k.stderr).toMatch(/unknown msg_type "__proto__"/);
      expect(k.stderr).not.toMatch(/unhandled rejection|failed outside any handler/);
    },
  );

  test("a replayed signed execute_request is dropped, from the same and from another connection", async () => {
    expect((await client.execute("int runs = 0;")).reply.content.status).toBe("ok");
    const m = client.message("execute_request", { code: 'printf("run %d\\n", ++runs);', silent: false });
    const frames = encode(client.signer, m);
    await client.sendFrames("shell", frames);
    expect((await client.reply("shell", m.header)).content.status).toBe("ok");
    await client.idle(m.header);

    // Again on the same socket, on control, and from a second connection.
    await client.sendFrames("shell", frames);
    await client.sendFrames("control", frames);
    const other = new zmq.Dealer({ linger: 0 });
    other.connect(`tcp://127.0.0.1:${k.info.shell_port}`);
    await other.send(frames);
    try {
      const replays = () => k.stderr.match(/dropped a message \(replayed\)/g)?.length ?? 0;
      expect(await eventually(() => replays() === 3)).toBe(true);
      const { iopub } = await client.execute('printf("runs %d\\n", runs);');
      expect(streamText(iopub)).toBe("runs 1\n");
    } finally {
      other.close();
    }
    expect(client.repliesTo("shell", m.header)).toHaveLength(1);
    expect(client.repliesTo("control", m.header)).toEqual([]);
    expect(client.iopubFor(m.header).filter((x) => x.header.msg_type === "execute_input")).toHaveLength(1);
  }, 30000);

  test("a history search with a pattern that made the regex backtrack: answered, the heartbeat meanwhile too", async () => {
    const cell = "// " + "a".repeat(40);
    expect((await client.execute(cell)).reply.content.status).toBe("ok");
    const header = await client.request("shell", "history_request", {
      output: false,
      raw: true,
      hist_access_type: "search",
      pattern: "*a".repeat(12) + "*b",
    });
    // The heartbeat is answered while the search is under way (it was dead for minutes).
    expect(await client.heartbeat("during-search")).toBe("during-search");
    const reply = await client.reply("shell", header);
    expect(reply.content).toEqual({ status: "ok", history: [] });
    const found = await client.roundTrip("shell", "history_request", {
      output: false,
      raw: true,
      hist_access_type: "search",
      pattern: "*a".repeat(12) + "*",
    });
    expect((found.reply.content.history as [number, number, string][]).map((r) => r[2])).toContain(cell);
    await expectAlive();
  }, 30000);

  test("history_request fields of the wrong type: an error reply naming the field", async () => {
    const { reply } = await client.roundTrip("shell", "history_request", { hist_access_type: "search", pattern: 5 });
    expect(reply.content).toMatchObject({ status: "error", ename: "BadRequest" });
    expect(reply.content.evalue).toBe('history_request: "pattern" must be a string (a glob: * and ?), found 5');
    const type = await client.roundTrip("shell", "history_request", { hist_access_type: "everything" });
    expect(type.reply.content.evalue).toBe(
      'history_request: "hist_access_type" must be one of tail, range, search, found "everything"',
    );
  });

  test("complete_request with a cursor_pos that is not a position in the code: an error reply naming it", async () => {
    const code = "gSys";
    for (const [pos, found] of [
      [1e20, "100000000000000000000"],
      [2.5, "2.5"],
      [-1, "-1"],
      [5, "5"],
      ["3", '"3"'],
    ] as const) {
      const { reply } = await client.roundTrip("shell", "complete_request", { code, cursor_pos: pos });
      expect(reply.header.msg_type).toBe("complete_reply");
      expect(reply.content).toEqual({
        status: "error",
        ename: "BadRequest",
        evalue: `complete_request: "cursor_pos" must be an integer from 0 to 4 (the length of "code" in code points), found ${found}`,
        traceback: [],
      });
    }
    const nonString = await client.roundTrip("shell", "complete_request", { code: ["gSys"], cursor_pos: 4 });
    expect(nonString.reply.content.evalue).toBe('complete_request: "code" must be a string, found ["gSys"]');
    // A valid request still completes from the host, and so does one at a code point boundary past a surrogate pair.
    const ok = await client.roundTrip("shell", "complete_request", { code, cursor_pos: 4 });
    expect(ok.reply.content).toMatchObject({ status: "ok", cursor_start: 0, cursor_end: 4 });
    expect(ok.reply.content.matches).toContain("gSystem");
    const emoji = await client.roundTrip("shell", "complete_request", { code: "// 😀\ngSys", cursor_pos: 9 });
    expect(emoji.reply.content.status).toBe("ok");
    const inspect = await client.roundTrip("shell", "inspect_request", { code, cursor_pos: 99, detail_level: 0 });
    expect(inspect.reply.content).toMatchObject({ status: "error", ename: "BadRequest" });
  });

  test("an execute_request whose code is not a string: the error on iopub and in the reply", async () => {
    const before = (await client.execute("1;")).reply.content.execution_count as number;
    for (const [code, found] of [
      [42, "42"],
      [null, "null"],
      [{ code: "x" }, '{"code":"x"}'],
    ] as const) {
      const { reply, iopub } = await client.roundTrip("shell", "execute_request", { code, silent: false });
      const evalue = `execute_request: "code" must be a string, found ${found}`;
      expect(kinds(iopub)).toEqual(["status:busy", "error", "status:idle"]);
      expect(iopub[1].content).toEqual({ ename: "BadRequest", evalue, traceback: [`BadRequest: ${evalue}`] });
      expect(reply.content).toMatchObject({ status: "error", ename: "BadRequest", evalue, execution_count: before });
    }
    const absent = await client.roundTrip("shell", "execute_request", {});
    expect(absent.reply.content.evalue).toBe('execute_request: "code" must be a string, found nothing');
    await expectAlive();
  });

  test("the same request twice with different msg_ids is not a replay (both answered)", async () => {
    const a: Header = await client.request("shell", "kernel_info_request", {});
    const b: Header = await client.request("shell", "kernel_info_request", {});
    expect((await client.reply("shell", a)).content.status).toBe("ok");
    expect((await client.reply("shell", b)).content.status).toBe("ok");
  });
});
