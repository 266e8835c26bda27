// Processes a cell starts do not outlive the kernel: the host runs in a
// process group of its own, which the bridge kills at shutdown, at restart,
// and (through the reaper) when the bridge itself is killed. With the real
// host, the kernel as Jupyter starts it.
import { kinds } from "./client";
import { alive, eventually, KernelProcess, processesRunning } from "./kernel-process";

let serial = 0;
/** A `sleep` with a command line no other test (or engineer) runs. */
function sleeper(): string[] {
  serial += 1;
  return ["sleep", `970.${process.pid}${serial}`];
}

async function startSleeper(k: KernelProcess, argv: string[]): Promise<void> {
  const { reply } = await k.client.execute(`system("${argv.join(" ")} &");`);
  expect(reply.content.status).toBe("ok");
  // It runs (so that its absence later means something).
  expect(await eventually(() => processesRunning(argv).length === 1)).toBe(true);
}

describe("processes started by cells end with the kernel (real host)", () => {
  const kernels: KernelProcess[] = [];
  const start = async () => {
    const k = await KernelProcess.start();
    kernels.push(k);
    return k;
  };
  afterAll(async () => {
    for (const k of kernels) await k.dispose();
  });

  test.each([false, true])("shutdown_request (restart: %s): a background `sleep` from system() is gone", async (restart) => {
    const k = await start();
    const argv = sleeper();
    await startSleeper(k, argv);
    const [host] = k.hostPids();
    const { reply } = await k.client.roundTrip("control", "shutdown_request", { restart });
    expect(reply.content).toEqual({ status: "ok", restart });
    expect(await k.exited).toBe(0);
    expect(await eventually(() => !alive(host) && processesRunning(argv).length === 0)).toBe(true);
  }, 30000);

  test("a fork()ed copy of the host: one reply, and it is gone after shutdown", async () => {
    const k = await start();
    const { reply, header } = await k.client.execute(
      '#include <unistd.h>\nint child = fork();\nif (child > 0) printf("child %d\\n", child);',
    );
    expect(reply.content.status).toBe("ok");
    // The copy may answer first, so the parent's line can come after the reply.
    const line = await k.client.waitFor(
      () => k.client.iopubFor(header).find((m) => m.header.msg_type === "stream" && /child \d+/.test(m.content.text as string)),
      10000,
      "the forking cell's output",
    );
    const pid = Number(/child (\d+)/.exec(line.content.text as string)![1]);
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(true);
    // The next cell runs and is answered once (the copy does not answer for the host).
    const next = await k.client.execute('printf("after\\n");');
    expect(next.reply.content.status).toBe("ok");
    expect(k.client.repliesTo("shell", header)).toHaveLength(1);
    expect(k.client.repliesTo("shell", next.header)).toHaveLength(1);
    expect(kinds(next.iopub).at(-1)).toBe("status:idle");
    await k.client.roundTrip("control", "shutdown_request", { restart: false });
    expect(await k.exited).toBe(0);
    // Killed by then; a large process may take a moment to go.
    expect(await eventually(() => !alive(pid))).toBe(true);
  }, 30000);

  test("the kernel process killed outright (SIGKILL): the reaper ends the host and the background `sleep`", async () => {
    const k = await start();
    const argv = sleeper();
    await startSleeper(k, argv);
    const [host] = k.hostPids();
    k.child.kill("SIGKILL");
    await k.exited;
    expect(await eventually(() => !alive(host) && processesRunning(argv).length === 0)).toBe(true);
  }, 30000);

  test("a host that crashes takes its background processes along; the new host runs", async () => {
    const k = await start();
    const argv = sleeper();
    await startSleeper(k, argv);
    const crash = await k.client.execute("int* p = nullptr; *p = 1;");
    expect(crash.reply.content).toMatchObject({ status: "error", ename: "HostCrashed" });
    expect(await eventually(() => processesRunning(argv).length === 0)).toBe(true);
    const again = await k.client.execute('printf("new host\\n");');
    expect(again.reply.content.status).toBe("ok");
    expect(k.hostPids()).toHaveLength(2);
  }, 30000);
});
