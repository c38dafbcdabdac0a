/**
 * What a sweep's report shows, in order, as document blocks (report/document.ts) that the Markdown and the HTML
 * report draw alike: the summary, the regression check, the result tables per scenario, capacity, power mode ×
 * jetson_clocks, the charts, the recommendation, validity, failures, moved cells and the timeline. Pure.
 */
import { capacityDescription, capacityScenarios, capacityTable, ONLY_SEARCHES } from './capacity.js';
import { type Block, chart, heading, list, paragraph, table } from './document.js';
import type { ReportInput, ReportModel } from './model.js';
import { powerClocksTable } from './power-clocks.js';
import type { ScenarioRecommendation } from './recommend.js';
import { regressionBlocks } from './regression.js';
import {
  failureEntries,
  invalidEntries,
  movedEntries,
  REPEATS_NOTE,
  scenarioDescription,
  scenarioTable,
  SIMULATED_NOTICE,
  stepSummaryTable,
  summaryItems,
  timelineTable,
} from './tables.js';

export interface ReportSectionsOptions {
  /** Whether the report carries the chart with this id (report/charts.ts): sections of charts only appear with them. */
  hasChart(id: string): boolean;
  /** The recommendation per scenario, when the report shows it (the HTML report, with its Pareto charts). */
  recommendations?: readonly ScenarioRecommendation[];
}

export function reportSections(model: ReportModel, input: ReportInput, opts: ReportSectionsOptions): Block[] {
  const has = (...ids: string[]) => ids.some((id) => opts.hasChart(id));
  const out: Block[] = [heading(1, `thorbench report: ${model.sweep.experimentName}`)];
  if (model.simulated) out.push({ kind: 'notice', text: `${SIMULATED_NOTICE}.` });
  out.push({ kind: 'fields', items: summaryItems(model), summary: true }, { kind: 'chart-index' });
  if (input.regression) out.push(...regressionBlocks(input.regression));

  out.push(heading(2, 'Results'));
  if (model.sections.length === 0)
    out.push(paragraph(`${model.capacities.length > 0 ? ONLY_SEARCHES : 'No cell has been recorded yet'}.`));
  for (const section of model.sections) {
    out.push(heading(3, section.scenario));
    const description = scenarioDescription(section.info);
    if (description) out.push(paragraph(`${description}.`));
    out.push(table(scenarioTable(model, section)));
  }
  if (model.dims.repeats) out.push(paragraph(REPEATS_NOTE));
  out.push(chart('throughput'), chart('ttft'), chart('tpot'));

  if (model.capacities.length > 0) out.push(heading(2, 'Capacity'));
  for (const scenario of capacityScenarios(model.capacities)) {
    out.push(heading(3, scenario), paragraph(`${capacityDescription(model.capacities, scenario)}.`));
    out.push(table(capacityTable(model.capacities, scenario)));
  }
  out.push(chart('capacity'));

  const comparison = powerClocksTable(model);
  if (comparison.rows.length > 0)
    out.push(heading(2, 'Power mode × jetson_clocks'), table(comparison), chart('power-clocks'));
  if (has('tradeoff', 'energy')) out.push(heading(2, 'Trade-offs'), chart('tradeoff'), chart('energy'));
  if (has('latency-distributions')) out.push(heading(2, 'Latency distributions'), chart('latency-distributions'));
  if (opts.recommendations && opts.recommendations.length > 0) {
    out.push(heading(2, 'Recommendation'));
    for (const r of opts.recommendations) {
      out.push(heading(3, r.scenario), paragraph(r.reason), chart(`pareto-${r.scenario}`));
    }
  }

  out.push(heading(2, 'Validity'));
  const invalid = invalidEntries(model);
  out.push(
    paragraph(
      invalid.length === 0
        ? 'Every measured cell is valid.'
        : `${invalid.length} measured cell(s) broke a validity rule (marked ⚠ above); their numbers are kept but should not be trusted:`,
    ),
  );
  if (invalid.length > 0) out.push(list(invalid.map((e) => [{ code: e.cellId }, `: ${e.reasons.join('; ')}`])));

  out.push(heading(2, 'Failures'));
  const failures = failureEntries(model);
  if (failures.length === 0) out.push(paragraph('None: every recorded cell succeeded.'));
  for (const f of failures) {
    out.push(heading(3, [{ code: f.cellId }, ` — ${f.status}: ${f.reason}`]), {
      kind: 'fields',
      items: [
        ['Reason', f.reason],
        ['Message', f.message],
        ['Retryable', f.retryable],
        ['Failed step', f.step],
        ['Engine exit status', `${f.exitStatus}; OOM-killed: ${f.oomKilled}`],
        ['Cell', f.context],
      ],
    });
    if (f.logTail)
      out.push(paragraph('Last lines of the engine log:'), { kind: 'code', text: f.logTail, lang: 'text' });
  }

  const moved = movedEntries(model);
  if (moved.length > 0) {
    out.push(
      heading(2, 'Moved cells'),
      paragraph(`${moved.length} cell(s) moved off a lost device and ran elsewhere:`),
    );
    out.push(
      list(
        moved.map((m) => [
          { code: m.cellId },
          ': ',
          { code: m.from },
          ' → ',
          { code: m.to },
          ` at ${m.at}: ${m.reason}`,
        ]),
      ),
    );
  }

  out.push(heading(2, 'Timeline'));
  if (model.cells.length === 0) out.push(paragraph('Nothing has run yet.'));
  else {
    out.push(chart('timeline'), table(timelineTable(model)));
    const steps = stepSummaryTable(model);
    if (steps.rows.length > 0) out.push(heading(3, 'Time per step'), table(steps));
  }
  return out;
}
