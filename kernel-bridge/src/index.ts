// The torchclad kernel bridge as a library: the kernel, its parts, and the
// host executor. The command is main.ts (torchclad-kernel).
export * from "./connection";
export * from "./executor";
export * from "./frames";
export * from "./history";
export * from "./host";
export { isComplete, scanCpp } from "./iscomplete";
export * from "./kernel";
export * from "./logger";
export * from "./magics";
export * from "./session";
export * from "./sockets";
export * from "./telemetry";
export * from "./wire";
