import { ChildProcess, spawn } from "child_process";

import { GroupReaper } from "./group-reaper";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const leaders: ChildProcess[] = [];

/** A `sleep` leading a process group of its own, as the host does. */
function groupLeader(): ChildProcess {
  const child = spawn("sleep", [`972.${process.pid}`], { detached: true, stdio: "ignore" });
  leaders.push(child);
  return child;
}

afterAll(() => {
  for (const l of leaders) if (l.exitCode === null && l.signalCode === null) l.kill("SIGKILL");
});

function exited(child: ChildProcess): Promise<NodeJS.Signals | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((r) => child.once("exit", (_code, signal) => r(signal)));
}

describe("the group reaper", () => {
  test("kills the group when the bridge's end of its pipe closes (the bridge is gone)", async () => {
    const leader = groupLeader();
    const reaper = new GroupReaper(leader.pid!);
    expect(alive(reaper.pid!)).toBe(true);
    // What a SIGKILL of the bridge does to the pipe: it closes.
    (reaper as unknown as { child: ChildProcess }).child.stdin!.destroy();
    expect(await exited(leader)).toBe("SIGKILL");
  });

  test("dismissed, it goes without killing", async () => {
    const leader = groupLeader();
    const reaper = new GroupReaper(leader.pid!);
    const reaperChild = (reaper as unknown as { child: ChildProcess }).child;
    reaper.dismiss();
    await exited(reaperChild);
    expect(alive(leader.pid!)).toBe(true);
    leader.kill("SIGKILL");
    expect(await exited(leader)).toBe("SIGKILL");
  });
});
