import { isComplete, scanCpp } from "./iscomplete";

describe("is_complete for C++", () => {
  test.each([
    ["", "complete"],
    ["int x = 1;", "complete"],
    ["x", "complete"],
    ["int five = 5; five", "complete"],
    ["void f() { if (a) { b(); } }", "complete"],
    ['printf("}{)(");', "complete"],
    ["char c = '}';", "complete"],
    ["char c = '\\'';", "complete"],
    ['const char* s = "a\\"b";', "complete"],
    ["// a comment with { and (", "complete"],
    ["/* { */ int y;", "complete"],
    ['auto r = R"(a ) " { )";', "complete"],
    ['auto r = R"x(a )" { )x";', "complete"],
    ['auto r = u8R"(})";', "complete"],
    ["long n = 1'000'000;", "complete"],
    ["auto h = 0xFF'FF;", "complete"],
    ["std::vector<::std::string> v;", "complete"],
    ["#include <vector>\nstd::vector<int> v{1, 2};", "complete"],
    ["#define SQ(x) \\\n  ((x) * (x))\nint y = SQ(2);", "complete"],
    ['auto s = "a\\\nb";', "complete"],
  ])("%j is %s", (code, status) => {
    expect(isComplete(code).status).toBe(status);
  });

  test.each([
    ["void f() {", "    "],
    ["void f() {\n  if (x) {", "        "],
    ["foo(1,", "    "],
    ["int a[] = {1, 2,", "    "],
    ['printf("abc', ""],
    ["char c = '", ""],
    ["/* unfinished", ""],
    ['auto r = R"(abc', ""],
    ['auto r = R"xy(abc)"', ""],
    ["#define M(x) \\", ""],
    ["int x = 1 + \\  ", ""],
    ["// continued comment \\", ""],
  ])("%j is incomplete", (code, indent) => {
    const r = isComplete(code);
    expect(r.status).toBe("incomplete");
    if (indent !== "") expect(r.indent).toBe(indent);
  });

  test.each([
    ["}", "unmatched '}'"],
    ["int x = (1 + 2];", "unmatched ']'"],
    ["f());", "unmatched ')'"],
    ['printf("abc\n");', "runs into a new line"],
    ["char c = 'a\n';", "runs into a new line"],
  ])("%j is invalid", (code, reason) => {
    expect(isComplete(code).status).toBe("invalid");
    expect(scanCpp(code).reason).toContain(reason);
  });

  test("magics", () => {
    expect(isComplete("%%clad").status).toBe("incomplete");
    expect(isComplete("%%clad\n").status).toBe("incomplete");
    expect(isComplete("%%clad mylib\ndouble f(double x) {").status).toBe("incomplete");
    expect(isComplete("%%clad mylib\ndouble f(double x) { return x; }").status).toBe("complete");
    expect(isComplete("%%time\nint x = 1;").status).toBe("complete");
    expect(isComplete("%%time\n%%clad\nvoid g() {").status).toBe("incomplete");
    expect(isComplete("%lsmagic").status).toBe("complete");
    expect(isComplete("%time f(").status).toBe("incomplete");
    expect(isComplete("%%python\nprint(1)").status).toBe("invalid");
    expect(isComplete("%nope").status).toBe("invalid");
  });
});
