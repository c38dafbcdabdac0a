/**
 * Parser for `/etc/nv_tegra_release`, the file that says which L4T release a Jetson runs (recorded with every cell,
 * because vLLM numbers move between JetPack releases).
 *
 * Line 1 on a real Thor (fixtures/thor/nv_tegra_release.txt):
 * `# R38 (release), REVISION: 2.0, GCID: 41844464, BOARD: generic, EABI: aarch64, DATE: Fri Aug 22 00:55:42 UTC 2025`
 *
 * Deterministic: no Node.js APIs.
 */
import { ParseError, splitLines } from '../parse-error.js';

export interface NvTegraRelease {
  /** 'R38' */
  release: string;
  /** '2.0' */
  revision: string;
  board: string;
  date: string | null;
  /** The JetPack version this L4T release ships in, when known (see L4T_TO_JETPACK). */
  jetpack: string | null;
}

/**
 * L4T release.revision → JetPack, for the releases NVIDIA's JetPack archive lists. Only exact matches are mapped: a
 * guess would end up in reports as a fact. R38 is JetPack 7 (Thor only); R39 is JetPack 7.2 (jetson-stats' hw_detect).
 */
export const L4T_TO_JETPACK: Readonly<Record<string, string>> = {
  '36.3': '6.0',
  '36.4': '6.1',
  '36.4.3': '6.2',
  '36.4.4': '6.2.1',
  '38.2': '7.0',
  '38.4': '7.1',
};

export function parseNvTegraRelease(text: string): NvTegraRelease {
  const first = splitLines(text).find((line) => line.trim() !== '') ?? '';
  const m = /^#\s*R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)/.exec(first.trim());
  if (!m)
    throw ParseError.of(
      '/etc/nv_tegra_release',
      'expected "# R<major> (release), REVISION: <x.y>, ..." on the first line (is this a Jetson?)',
      text,
    );
  const board = /BOARD:\s*([^,]+)/.exec(first)?.[1]?.trim() ?? '';
  const date = /DATE:\s*(.+)$/.exec(first)?.[1]?.trim() || null;
  const revision = m[2]!;
  const version = `${m[1]}.${revision}`;
  const jetpack =
    L4T_TO_JETPACK[version] ?? L4T_TO_JETPACK[version.replace(/\.0$/, '')] ?? (m[1] === '39' ? '7.2' : null);
  return { release: `R${m[1]}`, revision, board, date, jetpack };
}
