/** The live progress line of `thorbench run`. Pure formatting; the command decides where it goes. */
import type { SweepProgress } from '../workflows/messages.js';

function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(sec).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export function formatProgress(p: SweepProgress, elapsedMs: number, width = 24): string {
  const filled = p.total === 0 ? width : Math.round((p.done / p.total) * width);
  const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
  const c = p.counts;
  const parts = [`[${bar}] ${p.done}/${p.total} cells`, `ok ${c.succeeded}`, `failed ${c.failed}`];
  if (c.skipped) parts.push(`skipped ${c.skipped}`);
  if (c.cancelled) parts.push(`cancelled ${c.cancelled}`);
  const now = p.current.map((x) => x.cellId).join(', ');
  parts.push(p.state === 'starting' ? 'waiting for a device worker' : now ? `running ${now}` : p.state);
  parts.push(clock(elapsedMs));
  return parts.join(' | ');
}
