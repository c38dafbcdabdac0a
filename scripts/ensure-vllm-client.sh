#!/usr/bin/env bash
# Makes sure vLLM's own benchmark client (`vllm bench serve`, pinned) is installed and prints the path of its `vllm`.
# It lives in a private venv in a cache directory outside the clone, ${XDG_CACHE_HOME:-$HOME/.cache}/thorbench/vllm-venv
# (about 3 minutes and 9 GB the first time; the CPU-only install is enough for the client). Used by the conformance
# test (test/conformance-vllm.test.ts) and, through THORBENCH_SIM_VLLM_CLIENT, by simulated containers.
# Note: `vllm --version` alone fails on a machine without a GPU; `vllm bench serve` works.
set -euo pipefail
version="${THORBENCH_VLLM_VERSION:-0.33.0}"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/thorbench/vllm-venv"

installed() {
  [ -x "$venv/bin/vllm" ] && compgen -G "$venv/lib/python3*/site-packages/vllm-$version.dist-info" >/dev/null
}

if installed; then echo "$venv/bin/vllm"; exit 0; fi

echo "thorbench: installing vLLM $version's client into $venv (a few minutes, ~9 GB)" >&2
mkdir -p "$(dirname "$venv")"
if command -v python3 >/dev/null 2>&1 && python3 -m venv "$venv" >&2 \
  && "$venv/bin/pip" install --quiet --upgrade pip >&2 \
  && "$venv/bin/pip" install --quiet "vllm==$version" >&2 && installed; then
  echo "$venv/bin/vllm"
  exit 0
fi
cat >&2 <<MSG
thorbench: could not install vLLM $version into $venv. It needs Python 3.10-3.12 with venv and pip, network access
to PyPI and ~9 GB of disk. Install it by hand:
  python3 -m venv "$venv" && "$venv/bin/pip" install "vllm==$version"
MSG
exit 1
