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
      const { isLiveTerminal } = await import('./progress.js');
      await run({
        file: file!,
        device: parseDeviceChoice(str(v.device)),
        deviceId: str(v['device-id']),
        id: str(v.id),
        env: cliEnv(),
        out,
        progress: process.stderr,
        live: isLiveTerminal(),
      });
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
    summary:
      'Run workers until stopped: the device worker (device activities) and/or the sweep worker (workflows, results).',
    details: 'On a Thor, run it under systemd: deploy/thorbench-worker.service.',
    options: { ...deviceOptions, role: { type: 'string' } },
    positionals: [],
    action: async (v) => {
      const { cliEnv, parseDeviceChoice } = await context();
      const { parseRole, worker } = await import('./commands/worker.js');
      await worker({
        device: parseDeviceChoice(str(v.device)),
        deviceId: str(v['device-id']),
        role: parseRole(str(v.role)),
        env: cliEnv(),
        out,
      });
    },
  },
  status: {
    usage: 'thorbench status <sweep-id> [--json] [--follow]',
    summary: "Show a sweep's state and every cell's status and headline metrics.",
    details:
      '--follow shows the live view while the sweep runs (cells done/total, failed and skipped, the cell and step in\n' +
      'flight, elapsed time and time left), redrawn on a terminal; when stdout or stderr is not a terminal, one line per\n' +
      'finished cell.\n' +
      'Then the status as without it.',
    options: { json: { type: 'boolean' }, follow: { type: 'boolean' } },
    positionals: ['sweep'],
    action: async (v, [sweepId]) => {
      const { cliEnv } = await context();
      const { isLiveTerminal } = await import('./progress.js');
      await (
        await import('./commands/status.js')
      ).status({
        sweepId: sweepId!,
        json: v.json === true,
        follow: v.follow === true,
        env: cliEnv(),
        out,
        progress: process.stderr,
        live: isLiveTerminal(),
      });
    },
  },
  devices: {
    usage: 'thorbench devices [--json]',
    summary: 'List the devices registered by their workers: facts, last seen, and the cell each is running.',
    details:
      'A device worker (thorbench worker --role device|all) registers its device in the results store when it\n' +
      'starts (model, L4T release, memory, power modes, clock limits, free disk for models, engine image, models\n' +
      'found) and reports itself seen every THORBENCH_DEVICE_REPORT_MS (30000). The models directory and the image\n' +
      'it looks for are THORBENCH_MODELS_DIR (/data/models) and THORBENCH_ENGINE_IMAGE (the experiment default).',
    options: { json: { type: 'boolean' } },
    positionals: [],
    action: async (v) => {
      const { cliEnv } = await context();
      await (await import('./commands/devices.js')).devices({ json: v.json === true, env: cliEnv(), out });
    },
  },
  plan: {
    usage: 'thorbench plan <experiment.json|yaml> [--json] [--current-power MODE]',
    summary: 'Print the ordered cells with model loads, power-mode and clock changes, reboots and an estimate.',
    details:
      'Cells run in reboot epochs (power modes that switch without a reboot: MAXN/120W, 90W/70W), one engine per\n' +
      'model and epoch. A sweep starts in the epoch its device is in; --current-power (a mode name or id) plans\n' +
      'from there, otherwise from MAXN/120W.',
    options: { json: { type: 'boolean' }, 'current-power': { type: 'string' } },
    positionals: ['file'],
    action: async (v, [file]) =>
      (await import('./commands/plan.js')).plan({
        file: file!,
        json: v.json === true,
        currentPower: str(v['current-power']),
        out,
      }),
  },
  validate: {
    usage: 'thorbench validate <experiment.json|yaml>',
    summary: 'Check an experiment file; exit 2 with the JSON path of every problem.',
    options: {},
    positionals: ['file'],
    action: async (_v, [file]) => (await import('./commands/validate.js')).validate({ file: file!, out }),
  },
  report: {
    usage: 'thorbench report <sweep-id> [--format md|csv|html|json] [--out FILE|DIR] [--compare SWEEP_B]',
    summary: "Render a sweep's results in the guide's table shape (Markdown), as CSV, HTML with charts, or JSON.",
    details:
      'HTML is one self-contained file with its charts (Vega-Lite, drawn at report time; no network).\n' +
      '--format md --out DIR writes DIR/report.md and its charts as SVG files beside it (--out x.md: beside x.md).\n' +
      '--compare SWEEP_B puts the cells of both sweeps side by side: a → b, b − a and (b − a)/a per metric, in every\n' +
      'format.',
    options: { format: { type: 'string' }, out: { type: 'string' }, compare: { type: 'string' } },
    positionals: ['sweep'],
    action: async (v, [sweepId]) => {
      const { cliEnv } = await context();
      const { parseReportFormat, report } = await import('./commands/report.js');
      const format = parseReportFormat(str(v.format));
      await report({ sweepId: sweepId!, format, outFile: str(v.out), compare: str(v.compare), env: cliEnv(), out });
    },
  },
  import: {
    usage: 'thorbench import <files...> --into <sweep> [--cell <cell-id>] [--label key=value,...]',
    summary: 'Record vllm bench serve results (printed blocks or --save-result JSON) as succeeded cells of a sweep.',
    details:
      'Reads printed "Serving Benchmark Result" blocks (any vLLM version; several per file, e.g. a whole log)\n' +
      'and --save-result JSON files (one object, or one per line from --append-result; with --save-detailed\n' +
      "arrays the metrics are recomputed with vLLM's definitions and the per-request data kept as artifacts).\n" +
      'Any percentile lines are taken; a run without P99 (--metric-percentiles 50,90) or without a metric\n' +
      '(--percentile-metrics ttft,tpot) is recorded without those statistics, shown as "—".\n' +
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
  recommend: {
    usage:
      'thorbench recommend <sweep...> [--scenario NAME] [--slo p99_ttft_ms<=600,...] ' +
      '[--objective output_throughput|energy_per_output_token_j|output_throughput_per_w] [--format md|json]',
    summary: 'Name the configuration to deploy per scenario: Pareto front over throughput, latency, energy; SLOs.',
    details:
      'Reads every configuration the sweeps measured (imported results included); repeats are folded into means.\n' +
      'Pareto axes: output_throughput (up), the latency metrics the SLOs name, else p99_ttft_ms and mean_tpot_ms\n' +
      '(down), energy_per_output_token_j (down); a value not measured counts as the worst.\n' +
      '--slo metric<=limit or metric>=limit, comma-separated, in vLLM metric names (quote it for the shell:\n' +
      "--slo 'p99_ttft_ms<=600,mean_tpot_ms<=50'); --slo may repeat. With repeats the whole 95 %\n" +
      'confidence interval must meet the limit. --objective picks among the valid configurations meeting every\n' +
      'SLO (default output_throughput). When none does, the answer says so and names the closest one.\n' +
      'Exit status: 0 with an answer (also "none meets the SLOs"), 2 on an unknown sweep, scenario or bad --slo.',
    options: {
      scenario: { type: 'string' },
      slo: { type: 'string', multiple: true },
      objective: { type: 'string' },
      format: { type: 'string' },
    },
    positionals: ['sweep...'],
    variadic: true,
    action: async (v, sweepIds) => {
      const { cliEnv } = await context();
      const { recommendCommand } = await import('./commands/recommend.js');
      await recommendCommand({
        sweepIds,
        scenario: str(v.scenario),
        slo: strs(v.slo),
        objective: str(v.objective),
        format: str(v.format),
        env: cliEnv(),
        out,
      });
    },
  },
  schedule: {
    usage:
      'thorbench schedule create <experiment.json|yaml> --cron "0 3 * * *" --baseline <sweep-id> [--id NAME] ' +
      '[--threshold 5%] [--metrics M,...] [--replace] | list [--json] | trigger <id> [--wait] [--json] | pause <id> [--note TEXT] | ' +
      'unpause <id> | delete <id>',
    summary:
      'Regression watch: run an experiment on a cron as a Temporal Schedule and compare each sweep with a baseline.',
    details:
      'create: a Temporal Schedule (Web UI → Schedules, `temporal schedule list`) that starts the experiment as a sweep on\n' +
      'the cron (UTC); each run is the sweep <id>-<scheduled time> (--id defaults to the experiment name). When the sweep\n' +
      'finishes it is compared with --baseline: a metric whose change is beyond noise (95 % confidence intervals that do\n' +
      'not overlap where both have repeats, else a relative change above --threshold, default 5%) is a regression or an\n' +
      'improvement (--metrics: only these vLLM metric names; default every throughput, latency and energy metric).\n' +
      'The verdict is recorded with the sweep (thorbench report shows it), the sweep gets the search\n' +
      'attribute ThorbenchRegression (true/false), and a changed engine.image is named as an image bump.\n' +
      'The schedule keeps the experiment as read at create: after editing the file (a new engine.image), run create\n' +
      'again with the same id and --replace.\n' +
      'trigger: run it now; --wait waits for the sweep and its comparison and prints it (--json: { "sweepId",\n' +
      '"baseline", "regressions": [{ "cell", "metric", "baseline", "value", "change" }], "improvements" }).\n' +
      'list, pause, unpause, delete: manage schedules; deleting one keeps its sweeps and results.\n' +
      'Workers run elsewhere (`thorbench worker`). Exit status: 0 done (regressions included), 1 infrastructure\n' +
      'failure, 2 invalid input (unknown schedule or baseline, bad cron).',
    options: {
      cron: { type: 'string' },
      baseline: { type: 'string' },
      id: { type: 'string' },
      threshold: { type: 'string' },
      metrics: { type: 'string' },
      replace: { type: 'boolean' },
      wait: { type: 'boolean' },
      json: { type: 'boolean' },
      note: { type: 'string' },
    },
    positionals: ['create|list|trigger|pause|unpause|delete'],
    variadic: true,
    action: async (v, [sub, ...args]) => {
      const { cliEnv } = await context();
      const s = await import('./commands/schedule.js');
      const arity = sub === 'list' ? 0 : 1;
      const what = sub === 'create' ? '<experiment.json|yaml>' : sub === 'list' ? 'no further arguments' : '<id>';
      const known = ['create', 'list', 'trigger', 'pause', 'unpause', 'delete'];
      if (!known.includes(sub!)) {
        throw new ExitError(`unknown schedule command "${sub}": use ${known.join(', ')}`, EXIT_INVALID);
      }
      if (args.length !== arity) throw new ExitError(`thorbench schedule ${sub} expects ${what}`, EXIT_INVALID);
      const env = cliEnv();
      const [arg] = args as [string];
      if (sub === 'create') {
        const [cron, baseline, id, threshold] = [str(v.cron), str(v.baseline), str(v.id), str(v.threshold)];
        const [metrics, replace] = [str(v.metrics), v.replace === true];
        await s.scheduleCreate({ file: arg, cron, baseline, id, threshold, metrics, replace, env, out, err });
      } else if (sub === 'list') await s.scheduleList({ json: v.json === true, env, out });
      else if (sub === 'trigger') {
        await s.scheduleTrigger({ id: arg, wait: v.wait === true, json: v.json === true, env, out, err });
      } else if (sub === 'delete') await s.scheduleDelete({ id: arg, env, out });
      else await s.schedulePause({ id: arg, pause: sub === 'pause', note: str(v.note), env, out });
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
    '             THORBENCH_RESULTS_URL (postgres://…), THORBENCH_TEMPORAL_PORT (7233),',
    '             THORBENCH_UI_PORT (the port + 1000: 8233), THORBENCH_TEMPORAL_CLI',
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
    const parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (parsed.values.help) {
      out(commandHelp(command));
      return 0;
    }
    const arity = parsed.positionals.length;
    const expected = command.positionals.length;
    if (command.variadic ? arity < expected : arity !== expected) {
      throw new ExitError(
        `expected ${command.positionals.map((p) => `<${p}>`).join(' ') || 'no arguments'}\n\n${commandHelp(command)}`,
        EXIT_INVALID,
      );
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
