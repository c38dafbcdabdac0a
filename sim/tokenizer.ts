/**
 * The tokenizer the simulated engine shares with vLLM's client: sim/tokenizer/tokenizer.json, a whitespace
 * word-level vocabulary built by scripts/build-sim-tokenizer.py with Hugging Face `tokenizers`. vLLM's client loads
 * the same directory with `--tokenizer sim/tokenizer`, so both count a text prompt's tokens identically.
 *
 * This reads the file and applies the same three rules the `tokenizers` library applies to it: added (special)
 * tokens are matched first wherever they occur, the rest is split on whitespace (WhitespaceSplit), and each piece
 * is looked up in the WordLevel vocabulary (unknown → [UNK]). Decoding joins pieces with one space (the WordPiece
 * decoder with no `##` pieces in the vocabulary).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shipped tokenizer directory (what `vllm bench serve --tokenizer` is given on the simulator). */
export const SIM_TOKENIZER_DIR = fileURLToPath(new URL('../../sim/tokenizer/', import.meta.url));

interface TokenizerFile {
  added_tokens: { id: number; content: string }[];
  pre_tokenizer: { type: string } | null;
  model: { type: string; vocab: Record<string, number>; unk_token: string };
}

export class WordTokenizer {
  private readonly vocab: Map<string, number>;
  private readonly words: string[];
  private readonly unkId: number;
  private readonly added: RegExp | null;
  readonly specialIds: ReadonlySet<number>;

  constructor(file: TokenizerFile) {
    if (file.model.type !== 'WordLevel' || file.pre_tokenizer?.type !== 'WhitespaceSplit') {
      throw new Error(
        `unsupported tokenizer (model ${file.model.type}, pre-tokenizer ${file.pre_tokenizer?.type}): expected WordLevel + WhitespaceSplit`,
      );
    }
    this.vocab = new Map(Object.entries(file.model.vocab));
    this.words = [];
    for (const [word, id] of this.vocab) this.words[id] = word;
    const unk = this.vocab.get(file.model.unk_token);
    if (unk === undefined) throw new Error(`tokenizer: unk token ${file.model.unk_token} is not in the vocabulary`);
    this.unkId = unk;
    this.specialIds = new Set(file.added_tokens.map((t) => t.id));
    const escaped = file.added_tokens.map((t) => t.content.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.added = escaped.length > 0 ? new RegExp(`(${escaped.join('|')})`) : null;
  }

  get vocabSize(): number {
    return this.words.length;
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    const parts = this.added ? text.split(this.added) : [text];
    parts.forEach((part, i) => {
      // split() with a capture group puts the matched added tokens at odd indexes.
      if (i % 2 === 1) {
        ids.push(this.vocab.get(part)!);
        return;
      }
      for (const word of part.split(/\s+/)) if (word !== '') ids.push(this.vocab.get(word) ?? this.unkId);
    });
    return ids;
  }

  /** Number of tokens of `text` (what the engine reports as prompt_tokens). */
  count(text: string): number {
    return this.encode(text).length;
  }

  /** Joins the tokens' words with single spaces; throws RangeError on an id outside the vocabulary. */
  decode(ids: readonly number[]): string {
    return ids
      .map((id) => {
        const word = Number.isInteger(id) ? this.words[id] : undefined;
        if (word === undefined) throw new RangeError(`token id ${id} is out of vocabulary (size ${this.words.length})`);
        return word;
      })
      .join(' ');
  }

  tokenStrings(ids: readonly number[]): string[] {
    return ids.map((id) => this.words[id] ?? '[UNK]');
  }
}

let shared: WordTokenizer | undefined;

/** The shipped tokenizer, loaded once. */
export function simTokenizer(): WordTokenizer {
  shared ??= new WordTokenizer(
    JSON.parse(fs.readFileSync(path.join(SIM_TOKENIZER_DIR, 'tokenizer.json'), 'utf8')) as TokenizerFile,
  );
  return shared;
}
