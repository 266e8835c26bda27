// The glob of history_request searches (`*` any run of characters, `?` one
// character, everything else literal; characters are Unicode code points),
// matched without a regular expression: a pattern comes from the client, and
// a backtracking regex over it can block the event loop for minutes (and
// with it the heartbeat, control and interrupts).
//
// No backtracking: the pieces between `*`s are found left to right, each at
// its leftmost place after the previous one (the leftmost place is always a
// correct choice, since a `*` can absorb anything before it). Each piece is
// searched with a bit-parallel scan (Shift-And), so the time is the text's
// length times ceil(piece length / 32), never exponential.

/** One piece between `*`s, compiled for Shift-And. */
class Piece {
  readonly length: number;
  private readonly words: number;
  /** Per code point: the piece positions it matches (bit i = position i). */
  private readonly masks = new Map<number, Uint32Array>();
  /** The positions of `?`, which match any code point. */
  private readonly any: Uint32Array;

  constructor(chars: number[]) {
    this.length = chars.length;
    this.words = Math.max(1, Math.ceil(chars.length / 32));
    this.any = new Uint32Array(this.words);
    chars.forEach((c, i) => {
      if (c === QUESTION) this.any[i >>> 5] |= 1 << (i & 31);
    });
    chars.forEach((c, i) => {
      if (c === QUESTION) return;
      let m = this.masks.get(c);
      if (!m) {
        m = Uint32Array.from(this.any);
        this.masks.set(c, m);
      }
      m[i >>> 5] |= 1 << (i & 31);
    });
  }

  /** Does the piece match text[at ...] exactly there? */
  matchesAt(text: number[], at: number): boolean {
    if (at < 0 || at + this.length > text.length) return false;
    for (let i = 0; i < this.length; i++) {
      const bit = 1 << (i & 31);
      const w = i >>> 5;
      if ((this.any[w] & bit) === 0 && ((this.masks.get(text[at + i])?.[w] ?? 0) & bit) === 0) return false;
    }
    return true;
  }

  /** The leftmost start >= from where the piece matches and ends by `end`, or -1. */
  find(text: number[], from: number, end: number): number {
    if (this.length === 0) return from <= end ? from : -1;
    const state = new Uint32Array(this.words);
    const last = this.length - 1;
    for (let t = from; t < end; t++) {
      const mask = this.masks.get(text[t]) ?? this.any;
      // state = ((state << 1) | 1) & mask, over several 32-bit words.
      let carry = 1;
      for (let w = 0; w < this.words; w++) {
        const next = (state[w] >>> 31) & 1;
        state[w] = ((state[w] << 1) | carry) & mask[w];
        carry = next;
      }
      if (state[last >>> 5] & (1 << (last & 31))) return t - last;
    }
    return -1;
  }
}

const STAR = 0x2a;
const QUESTION = 0x3f;

function codePointsOf(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) out.push(ch.codePointAt(0)!);
  return out;
}

/** A compiled glob; `matches` may be called for many texts. */
export class Glob {
  private readonly pieces: Piece[];
  private readonly hasStar: boolean;

  constructor(readonly pattern: string) {
    const chars = codePointsOf(pattern);
    const pieces: number[][] = [[]];
    for (const c of chars) {
      if (c === STAR) pieces.push([]);
      else pieces[pieces.length - 1].push(c);
    }
    this.hasStar = pieces.length > 1;
    this.pieces = pieces.map((p) => new Piece(p));
  }

  matches(input: string): boolean {
    const text = codePointsOf(input);
    const first = this.pieces[0];
    if (!this.hasStar) return first.length === text.length && first.matchesAt(text, 0);
    const last = this.pieces[this.pieces.length - 1];
    // The first piece is anchored at the start, the last at the end; they must not overlap.
    if (first.length + last.length > text.length) return false;
    if (!first.matchesAt(text, 0) || !last.matchesAt(text, text.length - last.length)) return false;
    let at = first.length;
    const end = text.length - last.length;
    for (let i = 1; i < this.pieces.length - 1; i++) {
      const piece = this.pieces[i];
      const found = piece.find(text, at, end);
      if (found < 0) return false;
      at = found + piece.length;
    }
    return true;
  }
}

export function globMatch(pattern: string, text: string): boolean {
  return new Glob(pattern).matches(text);
}
