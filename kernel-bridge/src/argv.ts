// The command lines' arguments, one at a time: "--flag value" or "--flag=value".

export interface Arg {
  /** The argument as given. */
  raw: string;
  /** Its name, without an "=value" part. */
  flag: string;
  /** The flag's value: after "=", else the next argument (consumed); throws when there is none. */
  value(): string;
}

export function* readArgs(argv: string[]): Generator<Arg> {
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i];
    const eq = raw.startsWith("--") ? raw.indexOf("=") : -1;
    const flag = eq > 0 ? raw.slice(0, eq) : raw;
    yield {
      raw,
      flag,
      value: (): string => {
        if (eq > 0) return raw.slice(eq + 1);
        if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
        return argv[++i];
      },
    };
  }
}
