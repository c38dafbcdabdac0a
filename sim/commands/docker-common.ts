/**
 * Argument handling and error wording shared by the fake docker's subcommands (docker's own texts).
 */
import type { CommandIO } from './cli.js';

/** docker's answer for an unknown container name or id. */
export function noSuchContainer(io: CommandIO, ref: string): void {
  io.err(`Error response from daemon: No such container: ${ref}\n`);
}

/** Splits `[options] NAME...` for the simple subcommands; returns flag values and the names. */
export function splitArgs(
  args: string[],
  valueFlags: string[],
  boolFlags: string[],
): { flags: Map<string, string>; names: string[] } | string {
  const flags = new Map<string, string>();
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('-') || a === '-') {
      names.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const flag = eq > 0 ? a.slice(0, eq) : a;
    if (valueFlags.includes(flag)) {
      const v = eq > 0 ? a.slice(eq + 1) : args[++i];
      if (v === undefined) return `flag needs an argument: ${flag}`;
      flags.set(flag, v);
    } else if (boolFlags.includes(flag)) flags.set(flag, 'true');
    else return `unknown flag: ${flag}`;
  }
  return { flags, names };
}

/** A usage problem, worded and exited like docker's CLI. */
export function usageError(io: CommandIO, sub: string, message: string): number {
  io.err(`${message}\nSee 'docker ${sub} --help'.\n`);
  return 1;
}
