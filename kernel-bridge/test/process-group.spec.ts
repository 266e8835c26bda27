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

  test.each([false, true])(
    "shutdown_request (restart: %s): a background `sleep` from system() is gone",
    async (restart) => {
      const k = await start();
      const argv = sleeper();
      await startSleeper(k, argv);
      const [host] = k.hostPids();
      const { reply } = await k.client.roundTrip("control", "shutdown_request", { restart });
      expect(reply.content).toEqual({ status: "ok", restart });
      expect(await k.exited).toBe(0);
      expect(await eventually(() => !alive(host) && processesRunning(argv).length === 0)).toBe(true);
    },
    30000,
  );

  test("a fork()ed copy of the host: one reply per request, and the copy is gone after shutdown", async () => {
    const k = await start();
    // The copy goes on with the cell and answers it too; it waits first, so
    // that its frames do not interleave with the host's (that breaks the
    // channel: host-executor.spec.ts).
    const { reply, header } = await k.client.execute(
      "#include <unistd.h>\nint child = fork();\n" +
        'if (child > 0) printf("child %d\\n", child); else usleep(300000);',
    );
    expect(reply.content.status).toBe("ok");
    const line = await k.client.waitFor(
      () =>
        k.client
          .iopubFor(header)
          .find((m) => m.header.msg_type === "stream" && /child \d+/.test(m.content.text as string)),
      10000,
      "the forking cell's output",
    );
    const pid = Number(/child (\d+)/.exec(line.content.text as string)![1]);
    expect(alive(pid)).toBe(true);
    // Past the copy's reply (the bridge logs and drops it; a host that keeps
    // its copies quiet sends none, hence no assertion on the wait): the next
    // cells run, and every request has one reply.
    await eventually(() => k.stderr.includes('execute_reply for an unknown request "e1"'), 3000);
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
    // On another thread than the cell's: a crash the host does not survive.
    const crash = await k.client.execute("#include <thread>\nstd::thread([] { *(volatile int*)nullptr = 1; }).join();");
    expect(crash.reply.content).toMatchObject({ status: "error", ename: "HostCrashed" });
    expect(await eventually(() => processesRunning(argv).length === 0)).toBe(true);
    const again = await k.client.execute('printf("new host\\n");');
    expect(again.reply.content.status).toBe("ok");
    expect(k.hostPids()).toHaveLength(2);
  }, 30000);
});
