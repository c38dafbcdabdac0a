/**
 * The `thorbench` command line: every command declared here with its options and help; each command's work lives
 * in cli/commands/<name>.ts. Only this file exits the process.
 */
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EXIT_INVALID, ExitError } from './errors.js';

// Commands load lazily: `validate` and `plan` should not pay for the Temporal client, the worker or SQLite.
const context = () => import('./context.js');

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | string[] | undefined>;

interface Command {
  usage: string;
  summary: string;
  details?: string;
  options: Options;
  positionals: string[];
  /** The last positional takes one or more values (`<files...>`). */
  variadic?: boolean;
  action(values: Values, positionals: string[]): Promise<void>;
}

const out = (line: string) => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);
const str = (v: string | boolean | string[] | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
const strs = (v: string | boolean | string[] | undefined): string[] =>
  Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];

const deviceOptions: Options = {
  device: { type: 'string' },
  'device-id': { type: 'string' },
};

const COMMANDS: Record<string, Command> = {
  run: {
    usage: 'thorbench run <experiment.json|yaml> [--device sim|jetson|auto] [--device-id ID] [--id SWEEP_ID]',
    summary: 'Run a sweep end to end: embedded server if needed, in-process worker, live progress, report.',
    details:
      'Without TEMPORAL_ADDRESS, starts (or reuses) a Temporal dev server persisted in .thorbench/temporal.db with the Web UI on\n' +
      'http://localhost:8233. Running the same experiment again follows or resumes the same sweep; --id starts a separate one.\n' +
      '--device auto (default) uses this Jetson when it is one, the simulated Thor otherwise.\n' +
      'Exit status: 0 when the sweep finished (even with failed cells), 1 on an infrastructure failure, 2 on invalid input.',
    options: { ...deviceOptions, id: { type: 'string' } },
    positionals: ['file'],
    action: async (v, [file]) => {
      const { cliEnv, parseDeviceChoice } = await context();
      const { run } = await import('./commands/run.js');
      await run({ file: file!, device: parseDeviceChoice(str(v.device)), deviceId: str(v['device-id']), id: str(v.id), env: cliEnv(), out, progress: process.stderr });
    },
  },
  start: {
    usage: 'thorbench start <experiment.json|yaml> [--id SWEEP_ID]',
    summary: 'Start a sweep and print its workflow id (workers run elsewhere: `thorbench worker`).',
    options: { id: { type: 'string' } },
    positionals: ['file'],
    action: async (v, [file]) => {
      const { cliEnv } = await context();
      await (await import('./commands/start.js')).start({ file: file!, id: str(v.id), env: cliEnv(), out, err });
    },
  },
  worker: {
    usage: 'thorbench worker [--device sim|jetson|auto] [--device-id ID] [--role all|device|sweep]',
    summary: 'Run workers until stopped: the device worker (device activities) and/or the sweep worker (workflows, results).',
    details: 'On a Thor, run it under systemd: deploy/thorbench-worker.service.',
    options: { ...deviceOptions, role: { type: 'string' } },
    positionals: [],
    action: async (v) => {
      const { cliEnv, parseDeviceChoice } = await context();
      const { parseRole, worker } = await import('./commands/worker.js');
      await worker({ device: parseDeviceChoice(str(v.device)), deviceId: str(v['device-id']), role: parseRole(str(v.role)), env: cliEnv(), out });
    },
  },
  status: {
    usage: 'thorbench status <sweep-id> [--json]',
    summary: "Show a sweep's state and every cell's status and headline metrics.",
    options: { json: { type: 'boolean' } },
    positionals: ['sweep'],
    action: async (v, [sweepId]) => {
      const { cliEnv } = await context();
      await (await import('./commands/status.js')).status({ sweepId: sweepId!, json: v.json === true, env: cliEnv(), out });
    },
  },
  plan: {
    usage: 'thorbench plan <experiment.json|yaml> [--json]',
    summary: 'Print the ordered cells with model loads, power-mode and clock changes, reboots and an estimate.',
    options: { json: { type: 'boolean' } },
    positionals: ['file'],
    action: async (v, [file]) => (await import('./commands/plan.js')).plan({ file: file!, json: v.json === true, out }),
  },
  validate: {
    usage: 'thorbench validate <experiment.json|yaml>',
    summary: 'Check an experiment file; exit 2 with the JSON path of every problem.',
    options: {},
    positionals: ['file'],
    action: async (_v, [file]) => (await import('./commands/validate.js')).validate({ file: file!, out }),
  },
  report: {
    usage: 'thorbench report <sweep-id> [--format md|csv|html|json] [--out FILE]',
    summary: "Render a sweep's results in the guide's table shape (Markdown), as CSV, HTML with charts, or JSON.",
    options: { format: { type: 'string' }, out: { type: 'string' } },
    positionals: ['sweep'],
    action: async (v, [sweepId]) => {
      const { cliEnv } = await context();
      const { parseReportFormat, report } = await import('./commands/report.js');
      await report({ sweepId: sweepId!, format: parseReportFormat(str(v.format)), outFile: str(v.out), env: cliEnv(), out });
    },
  },
  import: {
    usage: 'thorbench import <files...> --into <sweep> [--cell <cell-id>] [--label key=value,...]',
    summary: 'Record vllm bench serve results (printed blocks or --save-result JSON) as succeeded cells of a sweep.',
    details:
      'Reads printed "Serving Benchmark Result" blocks (any vLLM version; several per file, e.g. a whole log)\n' +
      'and --save-result JSON files (one object, or one per line from --append-result; with --save-detailed\n' +
      "arrays the metrics are recomputed with vLLM's definitions and the per-request data kept as artifacts).\n" +
      'Each result becomes a succeeded cell of --into (the sweep is created when it does not exist), marked as\n' +
      'imported (harness "import", not simulated). The cell id is the file name without its extension, or\n' +
      '--cell; several results in one file get .b1, .b2, … in file order; an id ending in .r<N> is repeat N.\n' +
      '--label sets power, clocks (locked|default), model, quantization, size and scenario, e.g.\n' +
      '--label power=MAXN,clocks=locked,model=qwen3-8b-fp8,quantization=fp8.\n' +
      'All or nothing: a file that is not a vLLM result is refused with exit 2 naming the file and line;\n' +
      'nothing is recorded then.',
    options: { into: { type: 'string' }, cell: { type: 'string' }, label: { type: 'string', multiple: true } },
    positionals: ['files...'],
    variadic: true,
    action: async (v, files) => {
      const { cliEnv } = await context();
      const into = str(v.into);
      if (into === undefined) {
        throw new ExitError('--into <sweep> is required: the sweep to record the results in (created if missing)', 2);
      }
      const { importResults } = await import('./commands/import.js');
      const cell = str(v.cell);
      const labels = strs(v.label).flatMap((l) => ['--label', l]);
      const argv = [...files.map((f) => path.resolve(f)), '--into', into, ...(cell ? ['--cell', cell] : []), ...labels];
      await importResults({ files, into, cell: str(v.cell), labels: strs(v.label), env: cliEnv(), out, argv });
    },
  },
  cancel: {
    usage: 'thorbench cancel <sweep-id>',
    summary: 'Cancel a running sweep: the engine is torn down and cells not run are recorded as cancelled.',
    options: {},
    positionals: ['sweep'],
    action: async (_v, [sweepId]) => {
      const { cliEnv } = await context();
      await (await import('./commands/cancel.js')).cancel({ sweepId: sweepId!, env: cliEnv(), out });
    },
  },
};

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  return [
    'thorbench: durable LLM-serving benchmark sweeps on NVIDIA Jetson AGX Thor (Temporal + vLLM)',
    '',
    'Usage: thorbench <command> [options]     (thorbench <command> --help for details)',
    '',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, THORBENCH_HOME (.thorbench), THORBENCH_RESULTS (results),',
    '             THORBENCH_TEMPORAL_PORT (7233), THORBENCH_UI_PORT (8233), THORBENCH_TEMPORAL_CLI',
  ].join('\n');
}

function commandHelp(c: Command): string {
  return [`Usage: ${c.usage}`, '', c.summary, ...(c.details ? ['', c.details] : [])].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out(mainHelp());
    return name === undefined ? EXIT_INVALID : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    err(`unknown command "${name}"\n\n${mainHelp()}`);
    return EXIT_INVALID;
  }
  try {
    const parsed = parseArgs({ args: rest, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    if (parsed.values.help) {
      out(commandHelp(command));
      return 0;
    }
    const arity = parsed.positionals.length;
    const expected = command.positionals.length;
    if (command.variadic ? arity < expected : arity !== expected) {
      throw new ExitError(`expected ${command.positionals.map((p) => `<${p}>`).join(' ') || 'no arguments'}\n\n${commandHelp(command)}`, EXIT_INVALID);
    }
    await command.action(parsed.values as Values, parsed.positionals);
    return 0;
  } catch (e) {
    if (e instanceof ExitError) {
      err(e.message);
      return e.exitCode;
    }
    if (e instanceof TypeError && 'code' in e && String((e as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
      err(`${e.message}\n\n${commandHelp(command)}`);
      return EXIT_INVALID;
    }
    err(`thorbench ${name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 1;
  }
}
