/**
 * Helpers for tests that drive the simulated Thor (thorbench's own tests and anyone integrating against the
 * simulator): a free TCP port, polling until an engine is healthy, reading an SSE completion stream, and tearing
 * a simulated device down so no engine process outlives a test.
 */
import fs from 'node:fs';
import net from 'node:net';
import { listContainerStates, removeContainer } from './containers.js';
import { simLayout } from './layout.js';
import { killOnDeviceProcesses } from './reboot.js';

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns a value other than undefined, or fails with `what` after timeoutMs. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Waits until GET /health answers 200. */
export function waitForHealthy(port: number, timeoutMs: number): Promise<true> {
  return waitFor(
    `http://127.0.0.1:${port}/health to answer 200`,
    async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health`);
        await res.arrayBuffer();
        return res.status === 200 ? true : undefined;
      } catch {
        return undefined;
      }
    },
    timeoutMs,
  );
}

export interface SseResult {
  status: number;
  /** Parsed `data:` payloads before `[DONE]`. */
  events: Record<string, unknown>[];
  sawDone: boolean;
  /** Raw body text (to check the exact framing). */
  raw: string;
}

/** POSTs a streaming request and collects the server-sent events. */
export async function postSse(url: string, body: unknown): Promise<SseResult> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const raw = await res.text();
  const events: Record<string, unknown>[] = [];
  let sawDone = false;
  for (const block of raw.split('\n\n')) {
    if (!block.startsWith('data: ')) continue;
    const data = block.slice('data: '.length);
    if (data === '[DONE]') sawDone = true;
    else events.push(JSON.parse(data) as Record<string, unknown>);
  }
  return { status: res.status, events, sawDone, raw };
}

/** Kills every container process of a simulated device, kills registered on-device processes, and deletes it. */
export function destroySimDevice(dir: string): void {
  const layout = simLayout(dir);
  if (fs.existsSync(layout.deviceFile)) {
    for (const c of listContainerStates(layout)) removeContainer(layout, c);
  }
  killOnDeviceProcesses(layout);
  fs.rmSync(layout.dir, { recursive: true, force: true });
}
