/**
 * The simulated vLLM server: `node dist/sim/engine-server.js serve /models/<path> --served-model-name N --port P ...`
 * (the argv of `vllm serve`). Started by the fake docker as a container's process; also runs standalone.
 *
 * Lifecycle like vLLM: log start-up lines, "load" for a while scaled by model size and quantization (≤ 3 s at speed
 * 1), only then bind the port and log `Application startup complete.`; serve with TTFT/TPOT from the calibrated
 * latency model, reading power mode, clocks and speed from the device state at every step. Faults (container env
 * THORBENCH_SIM_FAULT, or the device's faults) make it crash on load, crash on the first request, get OOM-killed
 * or never become healthy; `slowdown:<factor>` makes every step that many times slower. On every exit it
 * records its exit code (and OOMKilled) in its container record first, so `docker inspect` tells the truth.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEFAULT_MAX_NUM_BATCHED_TOKENS, DEFAULT_MAX_NUM_SEQS } from './batch-engine.js';
import {
  CONTAINER_ID_ENV,
  CONTAINER_NAME_ENV,
  ENGINE_PORT_OFFSET_ENV,
  EXIT_SIGKILL,
  IMAGE_ENV,
  LABELS_ENV,
  MOUNTS_ENV,
  recordContainerExit,
} from './containers.js';
import {
  BYTES_PER_PARAM,
  type ServeArgs,
  ServeArgsError,
  parseServeArgs,
  resolveQuantization,
  simulatedVllmVersion,
} from './engine-args.js';
import { TOKEN_TRACE_ENV, type TokenTrace, createEngineHandler } from './engine-http.js';
import { EngineMetrics } from './engine-metrics.js';
import {
  SIM_TAG,
  addressInUseLines,
  crashOnLoadLines,
  crashOnRequestLines,
  missingModelLines,
  vllmLine,
} from './engine-log.js';
import { SIM_DIR_ENV, type SimLayout, simLayout } from './layout.js';
import { type LatencyParams, latencyParams, modelScaleFromPath } from './latency-model.js';
import { LiveEngine } from './live-engine.js';
import { hashString, jitterSource } from './prng.js';
import {
  type EngineFault,
  FAULT_ENV,
  type SimMount,
  type SimState,
  isEngineFault,
  parseSlowdown,
  readDeviceState,
  writeEngineActivity,
} from './sim-state.js';
import { StateWatcher } from './state-watcher.js';
import { THOR_RAM_TOTAL_MB } from './tegrastats-line.js';

/** Qwen3's max_position_embeddings: vLLM's max model len when --max-model-len is not given. */
const DEFAULT_MAX_MODEL_LEN = 40960;
const MAX_LOAD_MS = 3000;

const log = (line: string): void => void process.stdout.write(`${line}\n`);
const info = (source: string, message: string): void => log(vllmLine('INFO', source, message));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Container {
  layout: SimLayout;
  name: string;
  id: string;
}

let container: Container | undefined;
let exiting = false;

/** Records the exit in the container record, then exits (or dies by SIGKILL, like the OOM killer's victim). */
function exitEngine(code: number, opts: { oomKilled?: boolean; error?: string } = {}): void {
  if (exiting) return;
  exiting = true;
  if (container) {
    try {
      recordContainerExit(
        container.layout,
        container.name,
        container.id,
        code,
        opts.oomKilled ?? false,
        opts.error ?? '',
      );
      fs.rmSync(path.join(container.layout.activityDir, `${container.name}.json`), { force: true });
    } catch (err) {
      log(`${SIM_TAG} could not record the exit in the container state: ${(err as Error).message}`);
    }
  }
  if (opts.oomKilled) process.kill(process.pid, 'SIGKILL');
  process.exit(code);
}

function parseJsonEnv<T>(name: string, fallback: T): T {
  const text = process.env[name];
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${name} is not valid JSON`);
  }
}

/** The model path relative to the mounted models directory ("Qwen/Qwen3-8B-FP8"), and on the host. */
function modelLocations(model: string, mounts: SimMount[]): string[] {
  const out = [model];
  for (const m of mounts) {
    const prefix = m.container.endsWith('/') ? m.container : `${m.container}/`;
    if (model.startsWith(prefix)) out.push(model.slice(prefix.length), path.join(m.host, model.slice(prefix.length)));
  }
  return out;
}

function pickFault(state: SimState | undefined, locations: string[]): EngineFault | undefined {
  const fromEnv = process.env[FAULT_ENV];
  if (fromEnv && parseSlowdown(fromEnv) === null) {
    if (!isEngineFault(fromEnv))
      throw new Error(
        `${FAULT_ENV}=${fromEnv} is not a simulator fault; use one of crash-on-load, crash-on-first-request, oom-on-load, never-healthy, slowdown:<factor>`,
      );
    return fromEnv;
  }
  const table = state?.faults.engineFaults ?? {};
  for (const loc of locations) if (table[loc]) return table[loc];
  return table['*'];
}

function listen(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function serve(args: ServeArgs): Promise<void> {
  const started = performance.now();
  const dir = process.env[SIM_DIR_ENV];
  const layout = dir ? simLayout(dir) : undefined;
  const name = process.env[CONTAINER_NAME_ENV];
  const id = process.env[CONTAINER_ID_ENV];
  if (layout && name && id) container = { layout, name, id };
  const initial = layout ? readDeviceState(layout) : undefined;
  const watcher = layout && initial ? new StateWatcher(layout, initial) : undefined;
  const state = (): SimState | undefined => watcher?.get();
  const speed = (): number => Math.max(1e-3, state()?.speed ?? 1);

  const labels = parseJsonEnv<Record<string, string>>(LABELS_ENV, {});
  const mounts = parseJsonEnv<SimMount[]>(MOUNTS_ENV, []);
  const quantization = resolveQuantization(labels, args);
  const scale = modelScaleFromPath(args.model);
  const sizeGb = scale.totalB * BYTES_PER_PARAM[quantization];
  const loadMs = Math.min(MAX_LOAD_MS, 500 + 150 * sizeGb);
  const maxModelLen = args.maxModelLen ?? DEFAULT_MAX_MODEL_LEN;
  const version = simulatedVllmVersion(process.env[IMAGE_ENV]);
  const locations = modelLocations(args.model, mounts);
  const fault = pickFault(initial, locations);
  // A slowdown fault stretches every engine step by its factor (the whole latency model, nothing else).
  const slowdown = parseSlowdown(process.env[FAULT_ENV] ?? '') ?? 1;
  const memoryMb = Math.round(args.gpuMemoryUtilization * THOR_RAM_TOTAL_MB);

  log(
    `${SIM_TAG} simulated vLLM engine on a simulated Jetson AGX Thor: no GPU, no model weights; latencies follow the calibrated model in sim/latency-model.ts`,
  );
  info('__init__.py:241', 'Automatically detected platform cuda.');
  info('api_server.py:1805', `vLLM API server version ${version}`);
  info(
    'utils.py:326',
    `non-default args: {'model_tag': '${args.model}', 'model': '${args.model}', 'served_model_name': [${args.servedModelNames.map((n) => `'${n}'`).join(', ')}], 'port': ${args.port}, 'gpu_memory_utilization': ${args.gpuMemoryUtilization}${args.maxModelLen ? `, 'max_model_len': ${args.maxModelLen}` : ''}}`,
  );
  if (fault) log(`${SIM_TAG} fault injected: ${fault}`);
  if (slowdown !== 1) log(`${SIM_TAG} fault injected: slowdown × ${slowdown}`);
  if (container)
    writeEngineActivity(container.layout, {
      container: container.name,
      pid: process.pid,
      inFlight: 0,
      memoryMb,
      updatedAt: new Date().toISOString(),
    });

  const missing = (initial?.faults.missingModels ?? []).some((m) => locations.includes(m));
  await sleep((loadMs * 0.1) / speed());
  if (missing) {
    for (const line of missingModelLines(args.model)) log(line);
    return exitEngine(1, { error: '' });
  }
  info('config.py:810', `This model supports multiple tasks: {'generate'}. Defaulting to 'generate'.`);
  info('config.py:1604', `Using max model len ${maxModelLen}`);
  info(
    'config.py:2434',
    `Chunked prefill is enabled with max_num_batched_tokens=${args.maxNumBatchedTokens ?? DEFAULT_MAX_NUM_BATCHED_TOKENS}.`,
  );
  info('gpu_model_runner.py:1953', `Starting to load model ${args.model}...`);
  await sleep((loadMs * 0.3) / speed());
  if (fault === 'crash-on-load') {
    for (const line of crashOnLoadLines()) log(line);
    return exitEngine(1);
  }
  info(
    'default_loader.py:262',
    `Loading safetensors checkpoint shards:  50% Completed | 1/2 [00:0${Math.min(9, Math.round(loadMs / 1000))}<00:00]`,
  );
  await sleep((loadMs * 0.2) / speed());
  if (fault === 'oom-on-load') {
    log(
      `${SIM_TAG} fault oom-on-load: the kernel's OOM killer ends the engine while it loads weights (exit ${EXIT_SIGKILL}, OOMKilled)`,
    );
    return exitEngine(EXIT_SIGKILL, { oomKilled: true });
  }
  info('default_loader.py:262', `Loading weights took ${((loadMs * 0.5) / 1000).toFixed(2)} seconds`);
  info(
    'gpu_model_runner.py:2007',
    `Model loading took ${sizeGb.toFixed(4)} GiB and ${((loadMs * 0.6) / 1000).toFixed(6)} seconds`,
  );
  const kvTokens = Math.max(
    0,
    Math.round(((memoryMb - sizeGb * 1024 - 4096) * 1024 * 1024) / (147456 * Math.max(0.25, scale.activeB / 8))),
  );
  info('kv_cache_utils.py:849', `GPU KV cache size: ${kvTokens.toLocaleString('en-US')} tokens`);
  info(
    'kv_cache_utils.py:853',
    `Maximum concurrency for ${maxModelLen.toLocaleString('en-US')} tokens per request: ${(kvTokens / maxModelLen).toFixed(2)}x`,
  );
  await sleep((loadMs * 0.4) / speed());
  info(
    'core.py:214',
    `init engine (profile, create kv cache, warmup model) took ${((performance.now() - started) / 1000).toFixed(2)} seconds`,
  );

  let activityTimer: NodeJS.Timeout | undefined;
  let lastInFlight = -1;
  const publishActivity = (inFlight: number): void => {
    if (!container || inFlight === lastInFlight) return;
    const flush = (): void => {
      activityTimer = undefined;
      lastInFlight = engine.inFlight;
      if (!exiting)
        writeEngineActivity(container!.layout, {
          container: container!.name,
          pid: process.pid,
          inFlight: engine.inFlight,
          memoryMb,
          updatedAt: new Date().toISOString(),
        });
    };
    // Going idle or busy is published at once; changes in between at most every 200 ms.
    if (inFlight === 0 || lastInFlight <= 0) {
      if (activityTimer) clearTimeout(activityTimer);
      flush();
    } else activityTimer ??= setTimeout(flush, 200);
  };
  const paramsCache = new Map<string, LatencyParams>();
  const jitter = jitterSource(args.seed ?? hashString(`${container?.id ?? process.pid}`), 0.03);
  const engine = new LiveEngine({
    params: () => {
      const s = state();
      const powerModeId = s?.powerModeId ?? 1;
      const clocksLocked = s?.clocks.locked ?? false;
      const key = `${powerModeId}:${clocksLocked}`;
      let p = paramsCache.get(key);
      if (!p)
        paramsCache.set(
          key,
          (p = latencyParams({
            quantization,
            powerModeId,
            clocksLocked,
            modelPath: args.model,
            image: process.env[IMAGE_ENV],
          })),
        );
      return p;
    },
    speed: () => speed() / slowdown,
    jitter,
    now: () => performance.now(),
    onActivity: publishActivity,
    maxNumSeqs: args.maxNumSeqs ?? DEFAULT_MAX_NUM_SEQS,
    maxNumBatchedTokens: args.maxNumBatchedTokens ?? DEFAULT_MAX_NUM_BATCHED_TOKENS,
    ...(args.enablePrefixCaching ? {} : { prefixCacheTokens: 0 }),
  });

  // Opt-in trace of every streamed token's send time (test/tools/bench-harness.ts measures the harness against it);
  // buffered and appended once per request, so tracing costs no I/O while tokens stream.
  const traceFile = process.env[TOKEN_TRACE_ENV];
  const trace = traceFile
    ? (record: TokenTrace): void => fs.appendFileSync(traceFile, `${JSON.stringify(record)}\n`)
    : undefined;
  const metrics = new EngineMetrics(args.servedModelNames[0] ?? args.model, () => ({
    running: engine.running,
    waiting: engine.waiting,
    kvCacheUsage: Math.min(1, (engine.inFlight * 2176) / Math.max(1, kvTokens)),
  }));
  const handler = createEngineHandler({
    metrics,
    trace,
    servedNames: args.servedModelNames,
    modelPath: args.model,
    maxModelLen,
    version,
    engine,
    created: Math.floor(Date.now() / 1000),
    log,
    healthy: () => fault !== 'never-healthy',
    beforeFirstCompletion: () => {
      if (fault !== 'crash-on-first-request') return false;
      for (const line of crashOnRequestLines()) log(line);
      engine.stop();
      setTimeout(() => exitEngine(1), 50);
      return true;
    },
  });
  // vLLM listens on all interfaces; the simulator stays on loopback (both families) unless --host says otherwise.
  const hosts = args.host ? [args.host] : ['127.0.0.1', '::1'];
  // The device's "host network": logs show the container's --port, the process listens offset ports higher.
  const hostPort = args.port + Number(process.env[ENGINE_PORT_OFFSET_ENV] ?? 0);
  if (!Number.isInteger(hostPort) || hostPort > 65535) {
    const offset = process.env[ENGINE_PORT_OFFSET_ENV];
    log(`${SIM_TAG} --port ${args.port} + ${ENGINE_PORT_OFFSET_ENV}=${offset} is not a TCP port`);
    return exitEngine(1);
  }
  const servers: http.Server[] = [];
  for (const host of hosts) {
    const server = http.createServer(handler);
    server.keepAliveTimeout = 5000;
    try {
      await listen(server, host, hostPort);
      servers.push(server);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (host === '::1' && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) continue;
      if (code === 'EADDRINUSE') for (const line of addressInUseLines(host, args.port)) log(line);
      else log(`${SIM_TAG} cannot listen on ${host}:${hostPort}: ${(err as Error).message}`);
      return exitEngine(1);
    }
  }
  info(
    'api_server.py:1880',
    `Starting vLLM API server (simulated Thor) on http://${args.host ?? 'localhost'}:${args.port}`,
  );
  info('launcher.py:36', 'Available routes are:');
  const routes: [string, string][] = [
    ['/health', 'GET'],
    ['/metrics', 'GET'],
    ['/tokenize', 'POST'],
    ['/detokenize', 'POST'],
    ['/version', 'GET'],
    ['/v1/models', 'GET'],
    ['/v1/completions', 'POST'],
    ['/v1/chat/completions', 'POST'],
  ];
  for (const [route, methods] of routes) info('launcher.py:44', `Route: ${route}, Methods: ${methods}`);
  log(`INFO:     Started server process [${process.pid}]`);
  log('INFO:     Waiting for application startup.');
  log('INFO:     Application startup complete.');
  if (fault === 'never-healthy')
    log(
      vllmLine('ERROR', 'core_client.py:564', 'Engine core proc EngineCore_0 died unexpectedly, shutting down client.'),
    );

  // vLLM's periodic stats line, every 10 s of real time while there is work.
  let lastPrompt = 0;
  let lastGen = 0;
  setInterval(() => {
    const p = engine.promptTokens - lastPrompt;
    const g = engine.generatedTokens - lastGen;
    lastPrompt = engine.promptTokens;
    lastGen = engine.generatedTokens;
    if (p === 0 && g === 0 && engine.inFlight === 0) return;
    info(
      'loggers.py:123',
      `Engine 000: Avg prompt throughput: ${(p / 10).toFixed(1)} tokens/s, Avg generation throughput: ${(g / 10).toFixed(1)} tokens/s, Running: ${engine.running} reqs, Waiting: ${engine.waiting} reqs, GPU KV cache usage: ${Math.min(100, (engine.inFlight * 2176 * 100) / Math.max(1, kvTokens)).toFixed(1)}%, Prefix cache hit rate: 0.0%`,
    );
  }, 10_000).unref();

  const shutdown = (): void => {
    log('INFO:     Shutting down');
    engine.stop();
    for (const s of servers) s.close();
    log('INFO:     Waiting for application shutdown.');
    log('INFO:     Application shutdown complete.');
    log(`INFO:     Finished server process [${process.pid}]`);
    exitEngine(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

async function main(): Promise<void> {
  process.on('uncaughtException', (err) => {
    log(vllmLine('ERROR', 'api_server.py:1950', `${SIM_TAG} simulator failure: ${err.stack ?? err.message}`));
    exitEngine(1);
  });
  let args: ServeArgs;
  try {
    args = parseServeArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof ServeArgsError)) throw err;
    log('usage: vllm serve [model_tag] [options]');
    log(`vllm serve: error: ${err.message}`);
    return exitEngine(2);
  }
  await serve(args);
}

main().catch((err: Error) => {
  log(vllmLine('ERROR', 'api_server.py:1950', `${SIM_TAG} ${err.message}`));
  exitEngine(1);
});
