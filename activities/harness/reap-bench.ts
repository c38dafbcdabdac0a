/**
 * Ending a `vllm bench serve` an earlier attempt left running in the engine container. Docker does not end a process
 * started by `docker exec` when its client goes away: a worker SIGKILLed mid-benchmark leaves its benchmark loading
 * the engine, and the retried step would measure the engine shared with it (docs/architecture.md, "Durability").
 *
 * The reap runs as `docker exec <container> python3 -c REAP_PROGRAM` (python3 is in every vLLM image). The program
 * is a constant: nothing from the experiment reaches it. It finds the processes whose /proc/<pid>/cmdline runs
 * `vllm bench serve` (never itself), SIGTERMs them, SIGKILLs what is left after REAP_GRACE_S, and prints one
 * REAP_LINE_PREFIX line with JSON. A pid is signalled only while its start time is the one it was found with, so a
 * reused pid is never signalled; a zombie counts as ended (the engine, pid 1 of the container, may not reap it).
 */

/** What the reap prints before its JSON, on a line of its own. */
export const REAP_LINE_PREFIX = 'thorbench-reap ';

/** Seconds between SIGTERM and SIGKILL. */
export const REAP_GRACE_S = 3;
/** Seconds the SIGKILLed get to go; what is still running then is reported as left. */
export const REAP_KILL_WAIT_S = 2;

export const REAP_PROGRAM = `import json, os, signal, time

def start_time(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ('Z', 'X') else fields[19]

def is_bench(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            argv = f.read().decode('utf-8', 'replace').split('\\0')
    except OSError:
        return False
    return any(os.path.basename(a) == 'vllm' and argv[i + 1:i + 3] == ['bench', 'serve'] for i, a in enumerate(argv))

def alive(procs):
    return {pid: st for pid, st in procs.items() if start_time(pid) == st}

def signal_all(procs, sig):
    for pid in alive(procs):
        try:
            os.kill(pid, sig)
        except OSError:
            pass

def wait(procs, seconds):
    deadline = time.monotonic() + seconds
    procs = alive(procs)
    while procs and time.monotonic() < deadline:
        time.sleep(0.1)
        procs = alive(procs)
    return procs

me = os.getpid()
found = {}
for name in os.listdir('/proc'):
    if name.isdigit() and int(name) != me and is_bench(int(name)):
        st = start_time(int(name))
        if st is not None:
            found[int(name)] = st
signal_all(found, signal.SIGTERM)
outlived_term = wait(found, ${REAP_GRACE_S})
signal_all(outlived_term, signal.SIGKILL)
left = wait(outlived_term, ${REAP_KILL_WAIT_S})
print('${REAP_LINE_PREFIX}' + json.dumps({'found': sorted(found), 'killed': sorted(outlived_term), 'left': sorted(left)}), flush=True)
`;

/** The argv after `docker exec <container>`. */
export const REAP_ARGV: readonly string[] = ['python3', '-c', REAP_PROGRAM];

/** What the reap did, by pid: every leftover found, those that needed SIGKILL, those still running after it. */
export interface ReapReport {
  found: number[];
  killed: number[];
  left: number[];
}

const isPidList = (v: unknown): v is number[] => Array.isArray(v) && v.every((p) => Number.isInteger(p) && p > 0);

/** The report in the reap's output, or null when it printed none (or a malformed one). */
export function parseReapOutput(stdout: string): ReapReport | null {
  const line = stdout.split('\n').find((l) => l.startsWith(REAP_LINE_PREFIX));
  if (!line) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line.slice(REAP_LINE_PREFIX.length));
  } catch {
    return null;
  }
  const r = parsed as Partial<Record<keyof ReapReport, unknown>>;
  if (!r || !isPidList(r.found) || !isPidList(r.killed) || !isPidList(r.left)) return null;
  return { found: r.found, killed: r.killed, left: r.left };
}

/** The reap's line as the program prints it (the simulated container prints the same). */
export function formatReapLine(report: ReapReport): string {
  // Python's json.dumps spacing: ", " between items, ": " after keys.
  const list = (pids: number[]) => `[${[...pids].sort((a, b) => a - b).join(', ')}]`;
  return `${REAP_LINE_PREFIX}{"found": ${list(report.found)}, "killed": ${list(report.killed)}, "left": ${list(report.left)}}\n`;
}

/** One sentence for the cell's log: what was ended, or null when nothing was left over. */
export function describeReap(report: ReapReport, containerName: string): string | null {
  if (report.found.length === 0) return null;
  const ended = report.found.length - report.left.length;
  const forced = report.killed.length - report.left.length;
  return (
    `ended ${ended} leftover vllm bench serve process(es) of an earlier attempt in ${containerName} ` +
    `(pid ${report.found.join(', ')}${forced > 0 ? `; ${forced} needed SIGKILL` : ''}) before this run`
  );
}
