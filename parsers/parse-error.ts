/**
 * The one error every thorbench parser throws when its input does not have the expected shape.
 *
 * Parsers read the output of device tools (nvpmodel, jetson_clocks, tegrastats, docker) and of `vllm bench serve`.
 * When a tool prints something unexpected (a permission error, a new format, an empty capture), the activity that ran it
 * must be able to say *which* command's output was wrong and *what* was expected, so the message names the source,
 * what was looked for, and a short excerpt of what was found instead.
 *
 * Deterministic: no Node.js APIs, safe to import from workflow code.
 */
export class ParseError extends Error {
  override readonly name = 'ParseError';
  constructor(
    /** What was being parsed, e.g. "nvpmodel -q output". */
    readonly source: string,
    /** What was missing or malformed, phrased so the reader knows what to fix. */
    readonly problem: string,
    /** The first part of the offending text (up to 300 characters). */
    readonly excerpt: string,
  ) {
    super(`cannot parse ${source}: ${problem}${excerpt ? `; got: ${JSON.stringify(excerpt)}` : '; got empty output'}`);
  }

  /** Builds a ParseError whose excerpt is the start of `text`. */
  static of(source: string, problem: string, text: string): ParseError {
    const trimmed = text.trim();
    return new ParseError(source, problem, trimmed.length > 300 ? `${trimmed.slice(0, 300)}…` : trimmed);
  }
}

/** A schema's complaints in one line, `path: message; …`, for the problem of a ParseError. */
export function zodProblems(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** Splits tool output into lines, accepting CRLF (captures copied from Windows terminals) as well as LF. */
export function splitLines(text: string): string[] {
  return text.split(/\r?\n/);
}

/** A comma-separated list as tools print it and people type it: each part trimmed, empty parts dropped. */
export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}
