/**
 * How busy the simulated device is: the sum of in-flight requests of the engines that are still running. Engines
 * publish their counts (sim-state EngineActivity); readers here drop entries of dead engines, so a crashed
 * engine does not keep the simulated GPU "busy".
 */
import type { SimLayout } from './layout.js';
import { processState } from './process-util.js';
import { readEngineActivities } from './sim-state.js';

export function inFlightRequests(layout: SimLayout): number {
  let total = 0;
  for (const a of readEngineActivities(layout)) {
    if (processState(a.pid) === 'running') total += a.inFlight;
  }
  return total;
}
