/**
 * The Pareto chart of a recommendation as a Vega-Lite specification with its data inlined: throughput against
 * energy per token (or against the first latency axis when no configuration has energy measured), the front of the
 * configurations meeting the SLOs joined by a line, the recommended configuration highlighted, those missing an SLO
 * and invalid ones marked. Shaped like the other report charts
 * (an id, a title, a one-sentence description and the spec) so the HTML report can draw it beside them. Pure.
 */
import type { TopLevelSpec } from 'vega-lite';
import {
  ENERGY_AXIS,
  isLatencyKey,
  metricLabel,
  type ParetoChartData,
  paretoChartData,
  type ScenarioRecommendation,
} from './recommend.js';

export interface ParetoChart {
  id: string;
  title: string;
  description: string;
  spec: TopLevelSpec;
}

/** How a point is drawn, in legend order. */
export const POINT_KINDS = ['recommended', 'on the Pareto front', 'dominated', 'misses an SLO', 'invalid'] as const;
type PointKind = (typeof POINT_KINDS)[number];

function kindOf(p: ParetoChartData['points'][number]): PointKind {
  if (p.recommended) return 'recommended';
  if (!p.valid) return 'invalid';
  if (!p.meetsSlos) return 'misses an SLO';
  return p.onFront ? 'on the Pareto front' : 'dominated';
}

export function paretoChart(rec: ScenarioRecommendation): ParetoChart {
  const data = paretoChartData(rec);
  const latencyKeys = data.axes.filter(isLatencyKey);
  const useEnergy = data.points.some((p) => p.energy_per_output_token_j !== null);
  const xKey = useEnergy ? ENERGY_AXIS : latencyKeys[0]!;
  const xOf = (p: ParetoChartData['points'][number]) => (useEnergy ? p.energy_per_output_token_j : p.latency[xKey]!);
  const rows = data.points.map((p) => ({
    id: p.id,
    label: p.label,
    x: xOf(p),
    y: p.output_throughput,
    kind: kindOf(p),
    meetsSlos: p.meetsSlos ? 'yes' : 'no',
    frontWithoutSlos: p.onFrontWithoutSlos ? 'yes' : 'no',
    ...Object.fromEntries(latencyKeys.map((k) => [k, p.latency[k]])),
  }));
  const drawn = rows.filter((r) => r.x !== null && r.y !== null);
  const left = rows.length - drawn.length;
  const xTitle = useEnergy ? 'Energy per output token (J)' : `${metricLabel(xKey)} (ms)`;
  const tooltip = [
    { field: 'label', type: 'nominal' as const, title: 'Configuration' },
    { field: 'id', type: 'nominal' as const, title: 'Id' },
    { field: 'y', type: 'quantitative' as const, title: 'Output tok/s', format: '.1f' },
    { field: 'x', type: 'quantitative' as const, title: xTitle, format: '.3~g' },
    ...latencyKeys.map((k) => ({ field: k, type: 'quantitative' as const, title: `${metricLabel(k)} (ms)` })),
    { field: 'meetsSlos', type: 'nominal' as const, title: 'Meets the SLOs' },
    { field: 'frontWithoutSlos', type: 'nominal' as const, title: 'On the front ignoring the SLOs' },
    { field: 'kind', type: 'nominal' as const, title: 'Status' },
  ];
  const recommended = data.points.find((p) => p.recommended);
  return {
    id: `pareto-${rec.scenario}`,
    title: `Pareto front: ${rec.scenario}`,
    description:
      `Output throughput against ${useEnergy ? 'energy per output token' : metricLabel(xKey)} for each ` +
      `configuration of ${rec.scenario}; the Pareto front${rec.slos.length > 0 ? ' of those meeting the SLOs' : ''} ` +
      'is joined by a line' +
      `${recommended ? `, and ${recommended.label} is the recommendation` : ', and none is recommended'}` +
      `${left > 0 ? ` (${left} configuration(s) without the values are not drawn)` : ''}.`,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width: 480,
      height: 300,
      data: { values: drawn },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: xTitle, scale: { zero: false } },
        y: { field: 'y', type: 'quantitative', title: 'Output tok/s', scale: { zero: false } },
      },
      layer: [
        {
          transform: [{ filter: "datum.kind === 'recommended' || datum.kind === 'on the Pareto front'" }],
          mark: { type: 'line', color: '#888', strokeDash: [4, 3] },
          encoding: { order: { field: 'x', type: 'quantitative' } },
        },
        {
          mark: { type: 'point', filled: true, size: 90 },
          encoding: {
            color: {
              field: 'kind',
              type: 'nominal',
              title: null,
              scale: { domain: [...POINT_KINDS], range: ['#d62728', '#1f77b4', '#aec7e8', '#ff7f0e', '#7f7f7f'] },
            },
            shape: {
              field: 'kind',
              type: 'nominal',
              scale: { domain: [...POINT_KINDS], range: ['diamond', 'circle', 'circle', 'triangle-up', 'cross'] },
            },
            size: { condition: { test: "datum.kind === 'recommended'", value: 260 }, value: 90 },
            tooltip,
          },
        },
        {
          transform: [{ filter: "datum.kind === 'recommended'" }],
          mark: { type: 'text', align: 'left', dx: 10, dy: -10, fontWeight: 'bold' },
          encoding: { text: { field: 'label', type: 'nominal' } },
        },
      ],
    },
  };
}
