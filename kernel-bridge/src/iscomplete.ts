// is_complete for C++ cells, in TypeScript (no host round trip): is the
// code typed so far a whole cell, or does the console wait for more lines?
//
// A lexical scan, not a parser: it tracks brackets ( [ {, string and
// character literals (with escapes, encoding prefixes and C++14 digit
// separators), raw strings R"d(...)d", comments, and line splices (a
// backslash at the end of a line). Statements need no final semicolon:
// cling prints the value of a last expression without one.
//
//   complete    brackets balanced, nothing open
//   incomplete  an open bracket, string, raw string or block comment, or a
//               trailing backslash; `indent` suggests the next line's indent
//   invalid     a closing bracket that matches nothing, or an ordinary
//               string or character literal that runs into a new line
import { splitMagic, CELL_MAGICS, LINE_MAGICS } from "./magics";
import { IsCompleteOutcome } from "./executor";

const OPENERS: Record<string, string> = { "(": ")", "[": "]", "{": "}" };
const CLOSERS = new Set([")", "]", "}"]);
const INDENT_UNIT = "    ";

function isIdentChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_]/.test(c);
}

export interface ScanResult {
  status: "complete" | "incomplete" | "invalid";
  /** Open brackets at the end (innermost last). */
  open: string[];
  reason?: string;
}

/** Scans C++ source (no magics). */
export function scanCpp(code: string): ScanResult {
  const open: string[] = [];
  let i = 0;
  const n = code.length;
  // True while inside a pp-number (digits, letters, '.', digit separators).
  let inNumber = false;

  // A backslash followed by optional blanks and a newline: a line splice.
  // Returns the index after it, or -1 when it is not one; -2 when the code
  // ends right after the backslash (and blanks).
  const splice = (at: number): number => {
    let j = at + 1;
    while (j < n && (code[j] === " " || code[j] === "\t" || code[j] === "\r")) j++;
    if (j >= n) return -2;
    if (code[j] === "\n") return j + 1;
    return -1;
  };

  while (i < n) {
    const c = code[i];
    if (c === "\\") {
      const s = splice(i);
      if (s === -2) return { status: "incomplete", open, reason: "trailing backslash" };
      if (s >= 0) {
        i = s;
        continue;
      }
      i++;
      continue;
    }
    // Comments.
    if (c === "/" && code[i + 1] === "/") {
      // Runs to the end of the line; a spliced line continues it.
      i += 2;
      for (;;) {
        while (i < n && code[i] !== "\n" && code[i] !== "\\") i++;
        if (i >= n) break;
        if (code[i] === "\\") {
          const s = splice(i);
          if (s === -2) return { status: "incomplete", open, reason: "trailing backslash" };
          i = s >= 0 ? s : i + 1;
          continue;
        }
        break; // the newline
      }
      inNumber = false;
      continue;
    }
    if (c === "/" && code[i + 1] === "*") {
      const end = code.indexOf("*/", i + 2);
      if (end < 0) return { status: "incomplete", open, reason: "open block comment" };
      i = end + 2;
      inNumber = false;
      continue;
    }
    // Numbers: a digit not inside an identifier starts one; ' inside one is a separator.
    if (/[0-9]/.test(c) && !isIdentChar(code[i - 1])) {
      inNumber = true;
      i++;
      continue;
    }
    if (inNumber) {
      if (/[A-Za-z0-9_.']/.test(c)) {
        i++;
        continue;
      }
      if ((c === "+" || c === "-") && /[eEpP]/.test(code[i - 1])) {
        i++;
        continue;
      }
      inNumber = false;
    }
    if (c === '"') {
      // The identifier right before the quote: an encoding prefix, R for raw.
      let k = i;
      while (k > 0 && isIdentChar(code[k - 1])) k--;
      const prefix = code.slice(k, i);
      if (/^(u8|u|U|L)?R$/.test(prefix)) {
        const r = scanRaw(code, i);
        if (r.status !== "ok") return { status: r.status, open, reason: r.reason };
        i = r.next;
        continue;
      }
      const r = scanQuoted(code, i, '"');
      if (r.status !== "ok") return { status: r.status, open, reason: r.reason };
      i = r.next;
      continue;
    }
    if (c === "'") {
      const r = scanQuoted(code, i, "'");
      if (r.status !== "ok") return { status: r.status, open, reason: r.reason };
      i = r.next;
      continue;
    }
    if (c in OPENERS) {
      open.push(c);
    } else if (CLOSERS.has(c)) {
      const top = open.pop();
      if (top === undefined || OPENERS[top] !== c) {
        return { status: "invalid", open, reason: `unmatched '${c}'` };
      }
    }
    i++;
  }
  return { status: open.length > 0 ? "incomplete" : "complete", open };
}

type LiteralScan = { status: "ok"; next: number } | { status: "incomplete" | "invalid"; reason: string; next: number };

function scanQuoted(code: string, start: number, quote: '"' | "'"): LiteralScan {
  const what = quote === '"' ? "string literal" : "character literal";
  let i = start + 1;
  while (i < code.length) {
    const c = code[i];
    if (c === "\\") {
      // An escape, or a line splice inside the literal.
      let j = i + 1;
      while (j < code.length && (code[j] === " " || code[j] === "\t" || code[j] === "\r")) j++;
      if (j >= code.length) return { status: "incomplete", reason: "trailing backslash", next: j };
      i = code[j] === "\n" ? j + 1 : i + 2;
      continue;
    }
    if (c === "\n") return { status: "invalid", reason: `a ${what} runs into a new line`, next: i };
    if (c === quote) return { status: "ok", next: i + 1 };
    i++;
  }
  return { status: "incomplete", reason: `open ${what}`, next: i };
}

function scanRaw(code: string, quoteAt: number): LiteralScan {
  const open = code.indexOf("(", quoteAt + 1);
  const delimiter = open < 0 ? code.slice(quoteAt + 1) : code.slice(quoteAt + 1, open);
  if (/[\s()\\"]/.test(delimiter) || delimiter.length > 16) {
    return { status: "invalid", reason: "bad raw string delimiter", next: quoteAt + 1 };
  }
  if (open < 0) return { status: "incomplete", reason: "open raw string", next: code.length };
  const close = code.indexOf(`)${delimiter}"`, open + 1);
  if (close < 0) return { status: "incomplete", reason: "open raw string", next: code.length };
  return { status: "ok", next: close + delimiter.length + 2 };
}

/** is_complete for a whole cell, magics included. */
export function isComplete(code: string): IsCompleteOutcome {
  const m = splitMagic(code);
  if (m.kind === "cell") {
    if (!CELL_MAGICS.has(m.name)) return { status: "invalid" };
    // A cell magic alone: its body is still to come.
    if (m.body.trim() === "") return { status: "incomplete", indent: "" };
    return isComplete(m.body);
  }
  if (m.kind === "line") {
    if (!LINE_MAGICS.has(m.name)) return { status: "invalid" };
    // %time CODE: CODE and the lines after it are one piece of C++.
    const cpp = m.name === "time" ? `${m.args}\n${m.rest}` : m.rest;
    return cpp.trim() === "" ? { status: "complete" } : isComplete(cpp);
  }
  const r = scanCpp(code);
  if (r.status === "incomplete") return { status: "incomplete", indent: INDENT_UNIT.repeat(r.open.length) };
  return { status: r.status };
}
