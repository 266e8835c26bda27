// The host runs in a process group of its own (so that a SIGINT to the
// kernel's group reaches the bridge only), and whatever its cells start
// (`system("... &")`, `fork()`) joins that group. The bridge kills the group
// whenever a host ends, and when the bridge exits normally (host.ts). This
// reaper covers the case the bridge cannot: a SIGKILL of the bridge (e.g.
// jupyter_client killing the kernel's process group, which the host's group
// is not part of). It is a small shell in a session of its own that waits
// on a pipe from the bridge; when the bridge is gone the pipe ends and it
// kills the host's group.
import { ChildProcess, spawn } from "child_process";
import { Socket } from "net";

// (dash's kill takes no "--"; "-PGID" after the signal is a group.)
const SCRIPT = 'read line; kill -KILL "-$1" 2>/dev/null';

export class GroupReaper {
  private readonly child: ChildProcess;

  constructor(readonly pgid: number) {
    this.child = spawn("/bin/sh", ["-c", SCRIPT, "torchclad-reaper", String(pgid)], {
      stdio: ["pipe", "ignore", "ignore"],
      detached: true,
    });
    this.child.on("error", () => {}); // no /bin/sh: the bridge still kills the group itself
    // Neither the reaper nor its pipe may keep the bridge's event loop alive.
    this.child.unref();
    (this.child.stdin as Socket | null)?.unref();
    this.child.stdin?.on("error", () => {});
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The bridge has killed the group itself: the reaper goes without killing. */
  dismiss(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }
}
