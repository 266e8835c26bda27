// What runs the code: the kernel's protocol side talks to an Executor and
// knows nothing of how cells run; an Executor knows nothing of ZeroMQ.
// The real one supervises the C++ kernel host (host.ts); tests of the
// protocol use a small in-process one (test/fake-executor.ts).

export type MimeBundle = Record<string, unknown>;

export interface DisplayOptions {
  /** transient.display_id: later updates with the same id replace this output. */
  displayId?: string;
  metadata?: Record<string, unknown>;
}

/**
 * Where a running cell's output goes. The kernel turns these into iopub
 * messages whose parent is the execute_request (nothing is sent for silent
 * requests).
 */
export interface ExecutionSink {
  stream(name: "stdout" | "stderr", text: string): void;
  display(data: MimeBundle, options?: DisplayOptions): void;
  /** update_display_data: requires options.displayId. */
  updateDisplay(data: MimeBundle, options: DisplayOptions & { displayId: string }): void;
  /** execute_result (the value of the cell), numbered with the execution count. */
  result(data: MimeBundle, metadata?: Record<string, unknown>): void;
}

export interface ExecuteRequest {
  code: string;
  silent: boolean;
  storeHistory: boolean;
  executionCount: number;
  /** The notebook's cell id (JupyterLab sends it in the request's metadata.cellId). */
  cellId?: string;
}

export type ExecuteOutcome =
  | { status: "ok" }
  | { status: "error"; ename: string; evalue: string; traceback: string[] }
  /** Not run (a queued cell after a failure); no error output. */
  | { status: "aborted" };

export interface CompleteOutcome {
  matches: string[];
  cursorStart: number;
  cursorEnd: number;
  metadata?: Record<string, unknown>;
}

export interface InspectOutcome {
  found: boolean;
  data: MimeBundle;
  metadata?: Record<string, unknown>;
}

export interface IsCompleteOutcome {
  status: "complete" | "incomplete" | "invalid" | "unknown";
  indent?: string;
}

/** What the kernel puts in kernel_info_reply beyond its fixed fields. */
export interface ExecutorInfo {
  /** Lines appended to the banner (versions of ROOT, Clad, LibTorch ...). */
  bannerLines: string[];
  /** language_info.version. */
  languageVersion?: string;
}

export interface Executor {
  /** Resolves once the executor can take cells (the host said hello). */
  start(): Promise<void>;
  info(): Promise<ExecutorInfo>;
  /** One cell at a time: the kernel never calls execute again before this settles. */
  execute(request: ExecuteRequest, sink: ExecutionSink): Promise<ExecuteOutcome>;
  /** cursorPos counts Unicode code points, as the protocol does. */
  complete(code: string, cursorPos: number): Promise<CompleteOutcome>;
  inspect(code: string, cursorPos: number, detailLevel: number): Promise<InspectOutcome>;
  isComplete(code: string): IsCompleteOutcome;
  /** Asks the running cell to stop; resolves when the request is delivered, not when the cell has stopped. */
  interrupt(): Promise<void>;
  shutdown(restart: boolean): Promise<void>;
}
