/**
 * GET /metrics of the simulated engine: Prometheus text with vLLM 0.33's metric names, labels
 * (`model_name`, `engine`) and default histogram buckets (vllm/v1/metrics/loggers.py and buckets.py), so a scraper
 * or vLLM's own client (it reads `vllm:spec_decode*` from here) sees what a real engine would serve. Only the
 * families the simulator can fill truthfully are exported.
 */

const TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560,
];
const ITL_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
const LATENCY_BUCKETS = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];

class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(readonly buckets: readonly number[]) {
    this.counts = new Array<number>(buckets.length).fill(0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count += 1;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) this.counts[i]! += 1;
  }

  lines(name: string, labels: string): string[] {
    const out = this.buckets.map(
      (b, i) => `${name}_bucket{${labels},le="${formatNumber(b)}"} ${formatNumber(this.counts[i]!)}`,
    );
    out.push(`${name}_bucket{${labels},le="+Inf"} ${formatNumber(this.count)}`);
    out.push(`${name}_count{${labels}} ${formatNumber(this.count)}`);
    out.push(`${name}_sum{${labels}} ${formatNumber(this.sum)}`);
    return out;
  }
}

/** Python's prometheus_client float formatting: integers with ".0". */
function formatNumber(v: number): string {
  return Number.isInteger(v) ? `${v}.0` : String(v);
}

export type FinishedReason = 'stop' | 'length' | 'abort';

export class EngineMetrics {
  private promptTokens = 0;
  private generationTokens = 0;
  private readonly success: Record<FinishedReason, number> = { stop: 0, length: 0, abort: 0 };
  private readonly ttft = new Histogram(TTFT_BUCKETS);
  private readonly itl = new Histogram(ITL_BUCKETS);
  private readonly tpot = new Histogram(ITL_BUCKETS);
  private readonly e2e = new Histogram(LATENCY_BUCKETS);
  private readonly promptLen = new Histogram([
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000,
  ]);

  constructor(
    private readonly modelName: string,
    private readonly gauges: () => { running: number; waiting: number; kvCacheUsage: number },
  ) {}

  requestArrived(promptTokens: number): void {
    this.promptTokens += promptTokens;
    this.promptLen.observe(promptTokens);
  }

  /** One generated token: `sinceArrivalS` for the first, else the gap to the previous token. */
  token(first: boolean, seconds: number): void {
    this.generationTokens += 1;
    (first ? this.ttft : this.itl).observe(seconds);
  }

  requestFinished(reason: FinishedReason, e2eS: number, ttftS: number, tokens: number): void {
    this.success[reason] += 1;
    this.e2e.observe(e2eS);
    if (tokens > 1) this.tpot.observe((e2eS - ttftS) / (tokens - 1));
  }

  render(): string {
    const labels = `engine="0",model_name="${this.modelName.replace(/["\\\n]/g, '_')}"`;
    const g = this.gauges();
    const value = (v: number) => (name: string) => [`${name}{${labels}} ${formatNumber(v)}`];
    const histogram = (h: Histogram) => (name: string) => h.lines(name, labels);
    const families: [name: string, type: string, help: string, samples: (name: string) => string[]][] = [
      ['vllm:num_requests_running', 'gauge', 'Number of requests in model execution batches.', value(g.running)],
      ['vllm:num_requests_waiting', 'gauge', 'Number of requests waiting to be processed.', value(g.waiting)],
      ['vllm:kv_cache_usage_perc', 'gauge', 'KV-cache usage. 1 means 100 percent usage.', value(g.kvCacheUsage)],
      ['vllm:prompt_tokens_total', 'counter', 'Number of prefill tokens processed.', value(this.promptTokens)],
      [
        'vllm:generation_tokens_total',
        'counter',
        'Number of generation tokens processed.',
        value(this.generationTokens),
      ],
      [
        'vllm:request_success_total',
        'counter',
        'Count of successfully processed requests.',
        (name) =>
          (['stop', 'length', 'abort'] as const).map(
            (r) => `${name}{${labels},finished_reason="${r}"} ${formatNumber(this.success[r])}`,
          ),
      ],
      ['vllm:request_prompt_tokens', 'histogram', 'Number of prefill tokens processed.', histogram(this.promptLen)],
      [
        'vllm:time_to_first_token_seconds',
        'histogram',
        'Histogram of time to first token in seconds.',
        histogram(this.ttft),
      ],
      [
        'vllm:inter_token_latency_seconds',
        'histogram',
        'Histogram of inter-token latency in seconds.',
        histogram(this.itl),
      ],
      [
        'vllm:request_time_per_output_token_seconds',
        'histogram',
        'Histogram of time_per_output_token_seconds per request.',
        histogram(this.tpot),
      ],
      [
        'vllm:e2e_request_latency_seconds',
        'histogram',
        'Histogram of e2e request latency in seconds.',
        histogram(this.e2e),
      ],
    ];
    const lines = families.flatMap(([name, type, help, samples]) => [
      `# HELP ${name} ${help}`,
      `# TYPE ${name} ${type}`,
      ...samples(name),
    ]);
    return `${lines.join('\n')}\n`;
  }
}
