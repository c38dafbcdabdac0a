/**
 * Sets of cell ids written compactly, for the state that crosses Temporal payloads as a sweep grows: what
 * continue-as-new carries into the next run, and the succeeded cells a run reads back from the results store.
 * Temporal warns about a payload at 512 KB and refuses one at 2 MB (docs/architecture.md, "Orchestration cost").
 *
 * The ids are sorted, and each is written as the number of leading characters it shares with the one before it, a
 * colon, and the rest ("front coding"). A cell id differs from its sorted neighbour in a few characters
 * (`maxn.locked.qwen3-8b-fp8.chat.r1`, then `…r2`), so it takes about 7 bytes of JSON instead of about 45, and
 * every id stays whole: nothing depends on the plan's order, which a newer worker may plan differently.
 */

/** Sorted, front-coded ids: `["0:maxn.locked.qwen3-8b-fp8.chat.r1", "30:2", …]`. */
export type PackedIds = string[];

export function packIds(ids: Iterable<string>): PackedIds {
  const packed: PackedIds = [];
  let previous = '';
  for (const id of [...new Set(ids)].sort()) {
    const limit = Math.min(previous.length, id.length);
    let shared = 0;
    while (shared < limit && previous.charCodeAt(shared) === id.charCodeAt(shared)) shared++;
    packed.push(`${shared}:${id.slice(shared)}`);
    previous = id;
  }
  return packed;
}

/** The ids of `packIds`, sorted; throws on an entry packIds cannot have written. */
export function unpackIds(packed: readonly string[]): string[] {
  const ids: string[] = [];
  let previous = '';
  for (const [i, entry] of packed.entries()) {
    const match = /^(\d+):/.exec(entry);
    const shared = match ? Number(match[1]) : NaN;
    if (!(shared <= previous.length)) {
      throw new Error(`packed id ${i} (${JSON.stringify(entry)}) does not follow ${JSON.stringify(previous)}`);
    }
    previous = previous.slice(0, shared) + entry.slice(match![0].length);
    ids.push(previous);
  }
  return ids;
}

/** A map from id to a short value (a cell's status, a failure type), as the packed ids of each value. */
export function packByValue<V extends string>(byId: Readonly<Record<string, V>>): Partial<Record<V, PackedIds>> {
  const ids = new Map<V, string[]>();
  for (const [id, value] of Object.entries(byId)) {
    const list = ids.get(value) ?? [];
    list.push(id);
    ids.set(value, list);
  }
  const packed: Partial<Record<V, PackedIds>> = {};
  for (const value of [...ids.keys()].sort()) packed[value] = packIds(ids.get(value)!);
  return packed;
}

/** The map `packByValue` packed; an id listed under two values throws. */
export function unpackByValue<V extends string>(packed: Readonly<Partial<Record<V, PackedIds>>>): Record<string, V> {
  const byId: Record<string, V> = {};
  for (const [value, list] of Object.entries(packed) as [V, PackedIds][]) {
    for (const id of unpackIds(list)) {
      if (Object.hasOwn(byId, id)) throw new Error(`packed id ${JSON.stringify(id)} is both ${byId[id]} and ${value}`);
      byId[id] = value;
    }
  }
  return byId;
}
