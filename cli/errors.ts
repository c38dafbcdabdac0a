/**
 * Errors the CLI turns into exit codes. Only cli/main.ts exits the process; commands throw.
 * Exit codes: 0 ok (a sweep that finished, even with failed cells); 1 infrastructure failure; 2 invalid input.
 */
export class ExitError extends Error {
  override readonly name = 'ExitError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export const EXIT_INFRA = 1;
export const EXIT_INVALID = 2;
