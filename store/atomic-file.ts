/**
 * Writing a file so that a reader sees the whole old content, the whole new content or nothing — never half a
 * file — whatever instant the writer is killed at: the data goes to a temporary name beside the target, which is
 * then renamed over it (a rename within a directory is atomic). Used for the results' artifacts (a retried step
 * reads them back) and the simulated Thor's state files (any fake command can be SIGKILLed by a simulated reboot).
 *
 * Temporaries are named `<name>.tmp-<pid>-<random hex>`; a killed writer leaves one behind, which isTempFile
 * recognises so that readers skip it and cleaners remove it.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

/** Marks a temporary file. */
export const TEMP_MARKER = '.tmp-';
const TEMP_PATTERN = /\.tmp-\d+-[0-9a-f]+$/;

/** True for the name of a temporary a writer made (finished or abandoned). */
export function isTempFile(name: string): boolean {
  return TEMP_PATTERN.test(name);
}

function tempPathFor(file: string): string {
  return `${file}${TEMP_MARKER}${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** Indented JSON with a final newline: how thorbench writes every JSON file. */
export function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * Writes `file` atomically, creating its directory. The data and the rename are flushed to disk before it
 * returns, so a power cut right after keeps the file.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  await fsp.mkdir(dir, { recursive: true });
  const temp = tempPathFor(file);
  const handle = await fsp.open(temp, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await fsp.rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  await fsp.rename(temp, file);
  await syncDir(dir);
}

/** Makes the rename itself durable. Not every platform can open or fsync a directory; the rename is atomic anyway. */
async function syncDir(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch {
    // see above
  } finally {
    await handle?.close();
  }
}

/**
 * The same, synchronously and without flushing to disk: for short-lived processes whose files must survive the
 * process being killed, not the machine losing power (the simulator's state).
 */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, mode?: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temp = tempPathFor(file);
  try {
    fs.writeFileSync(temp, data, { flag: 'wx', mode });
    fs.renameSync(temp, file);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw err;
  }
}
