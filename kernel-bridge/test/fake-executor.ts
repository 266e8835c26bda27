// An in-process Executor for the protocol tests ONLY (where the real C++
// host is not wanted): each line of a cell is a command.
//
//   print TEXT          stdout
//   eprint TEXT         stderr
//   sleep MS            waits; an interrupt ends the cell with Interrupted
//   fail ENAME EVALUE   the cell fails
//   display ID TEXT     display_data (display_id ID)
//   update ID TEXT      update_display_data
//   result TEXT         execute_result (text/plain)
//   throw MESSAGE       the executor itself throws (a kernel bug)
//   %%clad ...          recorded, prints "clad: <rest of the header>"
import { isComplete } from "../src/iscomplete";
import {
  CompleteOutcome,
  ExecuteOutcome,
  ExecuteRequest,
  ExecutionSink,
  Executor,
  ExecutorInfo,
  InspectOutcome,
  IsCompleteOutcome,
} from "../src/executor";

const VOCABULARY = ["gSystem", "gROOT", "gRandom", "TH1F", "TH1D", "TTree", "TFile"];

export class FakeExecutor implements Executor {
  readonly executed: ExecuteRequest[] = [];
  interrupts = 0;
  shutdowns: boolean[] = [];
  private wake: (() => void) | null = null;
  private interrupted = false;

  async start(): Promise<void> {}

  async info(): Promise<ExecutorInfo> {
    return { bannerLines: ["fake executor (protocol tests)"] };
  }

  async execute(request: ExecuteRequest, sink: ExecutionSink): Promise<ExecuteOutcome> {
    this.executed.push(request);
    this.interrupted = false;
    const lines = request.code.split("\n");
    if (lines[0]?.startsWith("%%clad")) {
      sink.stream("stdout", `clad: ${lines[0].slice(6).trim()}\n`);
      return { status: "ok" };
    }
    for (const line of lines) {
      const [cmd, ...words] = line.trim().split(/\s+/);
      const rest = words.join(" ");
      switch (cmd) {
        case "":
          break;
        case "print":
          sink.stream("stdout", rest + "\n");
          break;
        case "eprint":
          sink.stream("stderr", rest + "\n");
          break;
        case "sleep":
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, Number(words[0]));
            this.wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
          this.wake = null;
          if (this.interrupted) {
            return { status: "error", ename: "Interrupted", evalue: "the cell was interrupted", traceback: [] };
          }
          break;
        case "fail":
          return { status: "error", ename: words[0], evalue: words.slice(1).join(" "), traceback: [`${words[0]}: tb`] };
        case "display":
          sink.display({ "text/plain": words.slice(1).join(" ") }, { displayId: words[0] });
          break;
        case "update":
          sink.updateDisplay({ "text/plain": words.slice(1).join(" ") }, { displayId: words[0] });
          break;
        case "result":
          sink.result({ "text/plain": rest });
          break;
        case "throw":
          throw new Error(rest);
        default:
          return { status: "error", ename: "UnknownCommand", evalue: cmd, traceback: [] };
      }
    }
    return { status: "ok" };
  }

  async complete(code: string, cursorPos: number): Promise<CompleteOutcome> {
    const before = [...code].slice(0, cursorPos).join("");
    const token = /[A-Za-z_]\w*$/.exec(before)?.[0] ?? "";
    return {
      matches: VOCABULARY.filter((w) => token !== "" && w.startsWith(token)),
      cursorStart: cursorPos - token.length,
      cursorEnd: cursorPos,
    };
  }

  async inspect(code: string, cursorPos: number): Promise<InspectOutcome> {
    const before = [...code].slice(0, cursorPos).join("");
    const token = /[A-Za-z_]\w*$/.exec(before)?.[0] ?? "";
    return VOCABULARY.includes(token)
      ? { found: true, data: { "text/plain": `${token}: a ROOT name` } }
      : { found: false, data: {} };
  }

  isComplete(code: string): IsCompleteOutcome {
    return isComplete(code);
  }

  async interrupt(): Promise<void> {
    this.interrupts++;
    this.interrupted = true;
    this.wake?.();
  }

  async shutdown(restart: boolean): Promise<void> {
    this.shutdowns.push(restart);
    this.wake?.();
  }
}
