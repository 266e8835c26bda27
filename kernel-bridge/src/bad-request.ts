// A request whose fields are not what the protocol says: the kernel answers
// it with status "error", ename "BadRequest" and a message naming the field,
// what was expected and what was found, and goes on.

export class BadRequest extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BadRequest";
  }
}

/** A found value for an error message: its JSON, cut to 60 characters. */
export function shown(value: unknown): string {
  let text: string;
  try {
    text = value === undefined ? "nothing" : JSON.stringify(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Throws BadRequest unless `value` is absent or passes `ok`. */
export function optional<T>(value: unknown, ok: (v: unknown) => v is T, what: string, expected: string): T | undefined {
  if (value === undefined || value === null) return undefined;
  if (!ok(value)) throw new BadRequest(`${what} must be ${expected}, found ${shown(value)}`);
  return value;
}

export const isString = (v: unknown): v is string => typeof v === "string";
export const isBoolean = (v: unknown): v is boolean => typeof v === "boolean";
export const isInteger = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);
