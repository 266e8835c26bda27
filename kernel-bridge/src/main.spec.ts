import { parseArgs } from "./main";

describe("torchclad-kernel arguments", () => {
  test("a connection file, the host and its arguments", () => {
    expect(
      parseArgs(["-f", "/r/kernel-1.json", "--host", "/h", "--host-arg=--interrupt-grace", "--host-arg", "0.5"], {}),
    ).toEqual({
      connectionFile: "/r/kernel-1.json",
      hostPath: "/h",
      hostArgs: ["--interrupt-grace", "0.5"],
      logLevel: undefined,
    });
  });
  test("the host from $TORCHCLAD_HOST, else the build tree", () => {
    expect(parseArgs(["--connection-file=/k.json"], { TORCHCLAD_HOST: "/opt/host" })).toMatchObject({
      hostPath: "/opt/host",
    });
    expect(parseArgs(["-f", "/k.json"], {})).toMatchObject({
      hostPath: expect.stringMatching(/build\/cling-plugin\/host\/torchclad-host$/),
    });
  });
  test("errors and help", () => {
    expect(parseArgs([], {})).toMatchObject({ exit: 2, text: expect.stringContaining("connection file is needed") });
    expect(parseArgs(["--bogus"], {})).toMatchObject({
      exit: 2,
      text: expect.stringContaining("unknown argument --bogus"),
    });
    expect(parseArgs(["-f"], {})).toMatchObject({ exit: 2, text: expect.stringContaining("-f needs a value") });
    expect(parseArgs(["--help"], {})).toMatchObject({ exit: 0, text: expect.stringContaining("usage:") });
  });
});
