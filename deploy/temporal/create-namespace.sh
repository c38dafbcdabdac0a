#!/bin/sh
# Waits for the frontend, then creates the "default" namespace thorbench uses (idempotent).
set -eu
attempts=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  attempts=$((attempts + 1))
  if [ "$attempts" -ge 60 ]; then echo "temporal frontend not healthy after 60 attempts" >&2; exit 1; fi
  sleep 2
done
temporal operator namespace describe -n default --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 \
  || temporal operator namespace create -n default --retention 30d --address "$TEMPORAL_ADDRESS"
# Search attributes thorbench sets on sweeps and cells (workflows/search-attributes.ts; a test keeps this list equal
# to it), for filtering in the Web UI.
for attr in ThorbenchExperiment=Keyword ThorbenchModels=KeywordList ThorbenchQuantizations=KeywordList \
  ThorbenchPowerModes=KeywordList ThorbenchSweep=Keyword ThorbenchDevice=Keyword ThorbenchScenario=Keyword \
  ThorbenchClocks=Keyword ThorbenchCellStatus=Keyword; do
  temporal operator search-attribute create --name "${attr%%=*}" --type "${attr#*=}" --namespace default --address "$TEMPORAL_ADDRESS" 2>/dev/null || true
done
