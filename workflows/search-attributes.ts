/**
 * Search attributes that make sweeps findable in the Temporal Web UI and with `temporal workflow list --query`,
 * e.g. `ThorbenchModels = "qwen3-8b-fp8"` or `ThorbenchPowerModes = "maxn"`. They are set when a sweep starts
 * (from the experiment alone), so a server that lacks them costs a warning, never a wedged workflow.
 * The embedded dev server registers them; docker-compose's namespace script does too.
 */
import { SearchAttributeType, type SearchAttributePair, defineSearchAttributeKey } from '@temporalio/common';
import { type Experiment, powerKey } from '../schema/experiment.js';

export const SEARCH_ATTRIBUTES = {
  experiment: defineSearchAttributeKey('ThorbenchExperiment', SearchAttributeType.KEYWORD),
  models: defineSearchAttributeKey('ThorbenchModels', SearchAttributeType.KEYWORD_LIST),
  quantizations: defineSearchAttributeKey('ThorbenchQuantizations', SearchAttributeType.KEYWORD_LIST),
  powerModes: defineSearchAttributeKey('ThorbenchPowerModes', SearchAttributeType.KEYWORD_LIST),
} as const;

/** `Name=Type` arguments for `temporal server start-dev --search-attribute`. */
export const SEARCH_ATTRIBUTE_FLAGS: string[] = Object.values(SEARCH_ATTRIBUTES).flatMap((k) => [
  '--search-attribute',
  `${k.name}=${k.type === SearchAttributeType.KEYWORD ? 'Keyword' : 'KeywordList'}`,
]);

export function sweepSearchAttributes(exp: Experiment): SearchAttributePair[] {
  return [
    { key: SEARCH_ATTRIBUTES.experiment, value: exp.name },
    { key: SEARCH_ATTRIBUTES.models, value: exp.matrix.model.map((m) => m.id) },
    { key: SEARCH_ATTRIBUTES.quantizations, value: [...new Set(exp.matrix.model.map((m) => m.quantization))] },
    { key: SEARCH_ATTRIBUTES.powerModes, value: exp.matrix.power.map(powerKey) },
  ];
}
