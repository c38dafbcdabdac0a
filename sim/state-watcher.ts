/**
 * Cheap repeated reads of the device state for the engine, which needs the power mode, clocks and speed at every
 * step (every few milliseconds): the file is re-parsed only when its inode, size or mtime changed (writes are
 * atomic renames, so every change gives a new inode). A transient read error keeps the last good state.
 */
import fs from 'node:fs';
import { readJsonFile } from './atomic-file.js';
import type { SimLayout } from './layout.js';
import type { SimState } from './sim-state.js';

export class StateWatcher {
  private key = '';
  private state: SimState;

  constructor(
    private readonly layout: SimLayout,
    initial: SimState,
  ) {
    this.state = initial;
  }

  get(): SimState {
    try {
      const st = fs.statSync(this.layout.deviceFile);
      const key = `${st.ino}:${st.size}:${st.mtimeMs}`;
      if (key !== this.key) {
        const next = readJsonFile<SimState>(this.layout.deviceFile);
        if (next) {
          this.state = next;
          this.key = key;
        }
      }
    } catch {
      // Keep the last state.
    }
    return this.state;
  }
}
