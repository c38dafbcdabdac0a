#!/usr/bin/env python3
"""Builds sim/tokenizer/: the whitespace word-level tokenizer the simulated engine and vLLM's client share.

Both sides must count a prompt's tokens the same way, or vLLM's client and the builtin harness report different
input-token totals for the same load. A word-level vocabulary split on whitespace is the simplest tokenizer for
which decode(encode(x)) == x and every vocabulary entry is exactly one token, so vLLM's random dataset
(decode token ids → text → re-encode) keeps its lengths exactly.

Run with the python of vLLM's private venv (it has `tokenizers` and `transformers`):
    "$(dirname "$(scripts/ensure-vllm-client.sh)")/python" scripts/build-sim-tokenizer.py
The output is deterministic; the files are committed, so this only needs re-running to change the vocabulary.
"""
import json
import os
import sys

from tokenizers import Tokenizer, decoders, models, pre_tokenizers

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sim", "tokenizer")
VOCAB_SIZE = 32000
SPECIALS = ["[UNK]", "<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# The words the simulated engine generates (sim/generated-text.ts WORDS) come first, so its output is in vocabulary.
ENGINE_WORDS = (
    "the Thor module runs a simulated model that streams tokens from unified memory while power and clocks shape "
    "each step of decoding with batched requests on Blackwell cores at steady pace for benchmarks in continuous "
    "batching mode so latency follows measured numbers closely enough to compare sweeps over time ."
).split()
ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "ch", "sh", "th", "br", "tr", "st"]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ou"]


def syllables():
    for o in ONSETS:
        for v in VOWELS:
            yield o + v


def build_vocab():
    words = list(dict.fromkeys(SPECIALS + ENGINE_WORDS))
    seen = set(words)
    syl = list(syllables())
    for n in (1, 2, 3):
        stack = [""]
        for _ in range(n):
            stack = [w + s for w in stack for s in syl]
        for w in stack:
            if len(words) >= VOCAB_SIZE:
                return words
            if w not in seen:
                seen.add(w)
                words.append(w)
    return words


def main():
    words = build_vocab()
    assert len(words) == VOCAB_SIZE, len(words)
    tok = Tokenizer(models.WordLevel(vocab={w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=False)  # joins words with single spaces
    tok.add_special_tokens(SPECIALS)
    os.makedirs(OUT, exist_ok=True)
    tok.save(os.path.join(OUT, "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": 1048576,
        "unk_token": "[UNK]",
        "eos_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>",
        "bos_token": None,
        "add_bos_token": False,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
    }
    with open(os.path.join(OUT, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    with open(os.path.join(OUT, "special_tokens_map.json"), "w") as f:
        json.dump({"unk_token": "[UNK]", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>"}, f, indent=2)
        f.write("\n")
    print(f"wrote {OUT}: {len(words)} tokens", file=sys.stderr)


if __name__ == "__main__":
    main()
