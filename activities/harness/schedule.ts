/**
 * When each request is sent, exactly as `vllm bench serve` schedules them (vllm/benchmarks/serve.py get_request):
 * - request rate inf (undefined): every request at t = 0, the concurrency cap alone shapes the load;
 * - burstiness inf: a constant gap of 1/rate;
 * - otherwise gaps drawn from gamma(shape = burstiness, scale = 1/(rate·burstiness)) (burstiness 1 = Poisson), summed,
 *   and the cumulative delays rescaled so the last one is exactly N/rate. vLLM rescales to stop the random total
 *   drifting 1–2 % from N/rate between seeds, which would move throughput numbers.
 * The first request waits for the first gap, as in vLLM.
 *
 * Pure: no I/O.
 */
import type { LoadShape } from './load-shape.js';
import { deriveSeed, gamma, mulberry32 } from './prng.js';

/**
 * Seed stream of the arrival schedule. Prompts use streams 0, 1, 2... (their index); deriveSeed is a bijection of
 * index + 1, so stream -1 never coincides with a prompt's and changing the rate never changes the prompts.
 */
const SCHEDULE_STREAM = -1;

/** What of a load decides its schedule; a request rate of Infinity is inf, as undefined. */
export type ScheduleOptions = Pick<LoadShape, 'numPrompts' | 'requestRate' | 'burstiness' | 'seed'>;

/** Cumulative send delays in seconds from the benchmark start, one per request, non-decreasing. */
export function arrivalSchedule(opts: ScheduleOptions): number[] {
  const n = opts.numPrompts;
  const rate = opts.requestRate ?? Infinity;
  const burstiness = opts.burstiness ?? 1;
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`numPrompts must be a non-negative integer, got ${n}`);
  if (!(rate > 0)) throw new RangeError(`requestRate must be positive (omit it for "inf"), got ${rate}`);
  if (!(burstiness > 0)) throw new RangeError(`burstiness must be positive, got ${burstiness}`);
  if (rate === Infinity) return new Array<number>(n).fill(0);

  const random = mulberry32(deriveSeed(opts.seed ?? 0, SCHEDULE_STREAM));
  const delays: number[] = [];
  let total = 0;
  for (let i = 0; i < n; i++) {
    total += burstiness === Infinity ? 1 / rate : gamma(random, burstiness, 1 / (rate * burstiness));
    delays.push(total);
  }
  if (n > 0 && total !== 0) {
    const factor = n / rate / total;
    for (let i = 0; i < n; i++) delays[i]! *= factor;
  }
  return delays;
}
