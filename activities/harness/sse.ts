/**
 * Server-sent-event framing as vLLM's benchmark client reads it (endpoint_request_func.py StreamedResponseHandler):
 * messages are separated by a blank line; a trailing `data:` message without its blank line counts as soon as its
 * payload is complete (`[DONE]` or valid JSON), because servers and proxies do not always flush the separator with the
 * message and the chunk's arrival time is what TTFT and ITL measure.
 *
 * Pure: no I/O.
 */

export class SseSplitter {
  private buffer = '';

  /** Adds decoded text; returns the complete messages it finished, in order. */
  push(text: string): string[] {
    this.buffer += text.replace(/\r\n?/g, '\n');
    const messages: string[] = [];
    let cut: number;
    while ((cut = this.buffer.indexOf('\n\n')) >= 0) {
      const message = this.buffer.slice(0, cut).trim();
      this.buffer = this.buffer.slice(cut + 2);
      if (message !== '') messages.push(message);
    }
    const pending = this.buffer.trim();
    if (pending.startsWith('data:')) {
      const payload = pending.slice('data:'.length).trim();
      if (payload === '[DONE]' || isJson(payload)) {
        messages.push(pending);
        this.buffer = '';
      }
    }
    return messages;
  }
}

function isJson(text: string): boolean {
  if (text === '') return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

export type SseEvent = { kind: 'skip' } | { kind: 'done' } | { kind: 'data'; data: unknown };

/**
 * Interprets one message: `:` comments (keep-alive pings) and messages without `data:` lines are skipped, `[DONE]` ends
 * the stream, anything else must be JSON (a message that is not is a broken stream: vLLM fails the request then too).
 */
export function interpretSseMessage(message: string): SseEvent {
  if (message.startsWith(':')) return { kind: 'skip' };
  const data = message
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice('data:'.length).replace(/^ /, ''));
  if (data.length === 0) return { kind: 'skip' };
  const payload = data.join('\n').trim();
  if (payload === '[DONE]') return { kind: 'done' };
  try {
    return { kind: 'data', data: JSON.parse(payload) };
  } catch {
    throw new Error(`malformed SSE data (not JSON): ${payload.slice(0, 200)}`);
  }
}
