/** Where the Chromium for browser tests and screenshots is: THORBENCH_CHROMIUM, else Debian's package. */
import { existsSync } from 'node:fs';

export function chromiumPath(): string | null {
  const candidates = [process.env.THORBENCH_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(
    (p): p is string => !!p,
  );
  return candidates.find((p) => existsSync(p)) ?? null;
}
