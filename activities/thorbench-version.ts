/**
 * The version of thorbench itself (package.json), recorded with every cell so a number can be tied to the code that
 * produced it. Read once; compiled files live in dist/<dir>/, two levels below the package root like the sources.
 */
import { readFileSync } from 'node:fs';

function readVersion(): string | null {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === 'thorbench' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // Not here: try the next level.
    }
  }
  return null;
}

export const THORBENCH_VERSION: string | null = readVersion();
