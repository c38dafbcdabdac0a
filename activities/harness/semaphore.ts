/**
 * Counting semaphore for the concurrency cap (vllm bench serve --max-concurrency uses an asyncio.Semaphore the same
 * way): a request holds a permit from before it is sent until its stream ends.
 */
export class Semaphore {
  private waiters: (() => void)[] = [];

  constructor(private available: number) {
    if (!Number.isInteger(available) || available < 1)
      throw new RangeError(`a semaphore needs at least 1 permit, got ${available}`);
  }

  /** Resolves true once a permit is held, or false if `signal` aborts first (no permit is held then). */
  acquire(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    if (this.available > 0) {
      this.available -= 1;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      };
      const onAbort = (): void => {
        this.waiters = this.waiters.filter((w) => w !== grant);
        resolve(false);
      };
      this.waiters.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.available += 1;
  }
}
