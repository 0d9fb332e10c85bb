import {
  CategoryScale,
  Chart,
  Filler,
  Interaction,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Tooltip,
  type ChartDataset,
  type InteractionItem,
  type Plugin,
} from 'chart.js';
import zoomPlugin from 'chartjs-plugin-zoom';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import { epochsAt, minMaxDownsample } from '../../src/core/metrics/axes';
import { SeriesColumns } from '../../src/core/metrics/series';
import { robustYRange, smoothDebiasedEma } from '../../src/core/metrics/smoothing';
import type { CurvesState, FromWebviewMessage, RunPayload, SeriesChunk, ToWebviewMessage, XAxisMode } from '../../src/protocol/curves';
import { vscodeApi } from '../shared/vscodeApi';
import css from './style.css';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, CategoryScale, Tooltip, Legend, Filler, zoomPlugin);

const api = vscodeApi<FromWebviewMessage, CurvesState>();
const sheet = new CSSStyleSheet();
sheet.replaceSync(css);
document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];

// ---------------------------------------------------------------------------------------------------------------
// State

const defaults: CurvesState = {
  runs: [],
  smoothing: Number(document.body.dataset.defaultSmoothing ?? 0.6),
  xAxis: 'step',
  logScale: false,
  ignoreOutliers: true,
  tagFilter: '',
  hiddenRuns: [],
  hiddenSeries: [],
  colors: {},
};
const state: CurvesState = { ...defaults, ...(api.getState() ?? {}) };
function saveState(): void {
  api.setState(state);
}

interface Run {
  payload: RunPayload;
  series: Map<string, SeriesColumns>;
}
const runs = new Map<string, Run>();

// ---------------------------------------------------------------------------------------------------------------
// Theme

function cssVar(name: string, fallback: string): string {
  const value = getComputedStyle(document.body).getPropertyValue(name).trim();
  return value || fallback;
}

let palette: string[] = [];
function readTheme(): void {
  palette = [
    cssVar('--vscode-charts-blue', '#3794ff'),
    cssVar('--vscode-charts-orange', '#d18616'),
    cssVar('--vscode-charts-green', '#89d185'),
    cssVar('--vscode-charts-red', '#f14c4c'),
    cssVar('--vscode-charts-purple', '#b180d7'),
    cssVar('--vscode-charts-yellow', '#cca700'),
    '#17becf',
    '#e377c2',
    '#8c564b',
    '#7f7f7f',
  ];
  Chart.defaults.color = cssVar('--vscode-charts-foreground', cssVar('--vscode-foreground', '#ccc'));
  Chart.defaults.borderColor = cssVar('--vscode-charts-lines', 'rgba(128,128,128,0.25)');
  Chart.defaults.font.family = cssVar('--vscode-font-family', 'sans-serif');
}
readTheme();

/** A colour with an alpha, for the faint raw series (VS Code colours are #rgb, #rrggbb or #rrggbbaa). */
function withAlpha(color: string, alpha: number): string {
  const hex = /^#([0-9a-f]{3,8})$/i.exec(color);
  if (!hex) return color;
  let h = hex[1];
  if (h.length === 3) h = [...h].map((c) => c + c).join('');
  const r = parseInt(h.slice(0, 2), 16);
  const g = parseInt(h.slice(2, 4), 16);
  const b = parseInt(h.slice(4, 6), 16);
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

/** A run keeps its palette slot for as long as the panel lives (and across reloads via state). */
function colorOf(runId: string): string {
  if (state.colors[runId] === undefined) {
    const used = new Set(Object.values(state.colors));
    let slot = 0;
    while (used.has(slot) && slot < palette.length) slot++;
    state.colors[runId] = slot % palette.length;
    saveState();
  }
  return palette[state.colors[runId] % palette.length];
}

// ---------------------------------------------------------------------------------------------------------------
// DOM

function element<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> & Record<string, unknown> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'className') node.className = String(value);
    else if (key.startsWith('data-') || key === 'id' || key === 'title' || key === 'placeholder' || key === 'aria-label' || key === 'value' || key === 'type' || key === 'min' || key === 'max' || key === 'step')
      node.setAttribute(key, String(value));
    else (node as unknown as Record<string, unknown>)[key] = value;
  }
  node.append(...children);
  return node;
}

function custom(tag: string, attrs: Record<string, string | boolean> = {}, ...children: (Node | string)[]): HTMLElement {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false) continue;
    node.setAttribute(key, value === true ? '' : value);
  }
  node.append(...children);
  return node;
}

const tagFilter = custom('vscode-textfield', { id: 'tag-filter', placeholder: 'Filter tags (regex)', 'aria-label': 'Filter tags by regular expression', value: state.tagFilter }) as HTMLElement & { value: string };
const smoothing = element('input', { type: 'range', id: 'smoothing', min: '0', max: '0.99', step: '0.01', value: String(state.smoothing), 'aria-label': 'Smoothing' });
const smoothingValue = element('span', { className: 'smoothing-value', id: 'smoothing-value' }, state.smoothing.toFixed(2));
const xAxis = custom(
  'vscode-single-select',
  { id: 'x-axis', 'aria-label': 'X axis' },
  ...(['step', 'epoch', 'relative', 'wall'] as const).map((mode) =>
    custom('vscode-option', { value: mode, selected: mode === state.xAxis }, { step: 'Step', epoch: 'Epoch', relative: 'Relative time (h)', wall: 'Wall time' }[mode]),
  ),
) as HTMLElement & { value: string };
const logScale = custom('vscode-checkbox', { id: 'log-scale', label: 'Log scale', checked: state.logScale }) as HTMLElement & { checked: boolean };
const ignoreOutliers = custom('vscode-checkbox', { id: 'ignore-outliers', label: 'Ignore outliers', checked: state.ignoreOutliers }) as HTMLElement & { checked: boolean };
const resetZoom = custom('vscode-button', { id: 'reset-zoom', secondary: true, title: 'Reset zoom (or double-click a chart)' }, 'Reset zoom');
const exportCsv = custom('vscode-button', { id: 'export-csv', secondary: true, title: 'Save every run and tag as CSV' }, 'Export CSV');
const exportPng = custom('vscode-button', { id: 'export-png', secondary: true, title: 'Save the charts as a PNG image' }, 'Export PNG');

const runsBar = element('div', { className: 'runs', id: 'runs' });
const messages = element('div', { className: 'messages', id: 'messages' });
const chartsBox = element('div', { className: 'charts', id: 'charts' });
const emptyNote = element('div', { className: 'empty', id: 'empty' }, 'Waiting for run data…');

document.body.append(
  element(
    'div',
    { className: 'toolbar' },
    tagFilter,
    element('label', { className: 'inline' }, 'Smoothing', smoothing, smoothingValue),
    element('label', { className: 'inline' }, 'X axis', xAxis),
    logScale,
    ignoreOutliers,
    resetZoom,
    exportCsv,
    exportPng,
  ),
  runsBar,
  messages,
  emptyNote,
  chartsBox,
);

// ---------------------------------------------------------------------------------------------------------------
// Series data

function toFloat64(values: Float64Array | number[]): Float64Array {
  if (values instanceof Float64Array) return values;
  // Plain arrays come from JSON, where NaN and infinities became null.
  return Float64Array.from(values, (v) => (v === null ? NaN : v));
}

function applyChunks(run: Run, chunks: readonly SeriesChunk[]): number {
  let points = 0;
  for (const chunk of chunks) {
    let series = run.series.get(chunk.tag);
    if (!series) {
      series = new SeriesColumns(chunk.tag, Math.max(64, chunk.steps.length));
      run.series.set(chunk.tag, series);
    }
    series.length = Math.min(series.length, chunk.start);
    const steps = toFloat64(chunk.steps);
    const values = toFloat64(chunk.values);
    const walls = toFloat64(chunk.wallTimes);
    for (let i = 0; i < steps.length; i++) series.push(steps[i], values[i], walls[i]);
    points += steps.length;
    smoothCache.delete(`${run.payload.id}|${chunk.tag}`);
  }
  return points;
}

/** Metric group of a tag: train/loss and eval/loss share the chart "loss". */
function groupOf(tag: string): string {
  const slash = tag.indexOf('/');
  return slash >= 0 ? tag.slice(slash + 1) : tag;
}

const groupOrder = ['loss', 'learning_rate', 'grad_norm'];
function compareGroups(a: string, b: string): number {
  const ia = groupOrder.indexOf(a);
  const ib = groupOrder.indexOf(b);
  if (ia >= 0 || ib >= 0) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
  // The epoch is an axis more than a metric: last.
  if (a === 'epoch' || b === 'epoch') return a === 'epoch' ? 1 : -1;
  return a.localeCompare(b);
}

function tagMatches(tag: string): boolean {
  if (!state.tagFilter) return true;
  try {
    return new RegExp(state.tagFilter).test(tag);
  } catch {
    return tag.includes(state.tagFilter);
  }
}

const smoothCache = new Map<string, { weight: number; length: number; values: Float64Array }>();
function smoothedOf(runId: string, series: SeriesColumns): Float64Array {
  const key = `${runId}|${series.tag}`;
  const cached = smoothCache.get(key);
  if (cached && cached.weight === state.smoothing && cached.length === series.length) return cached.values;
  const values = smoothDebiasedEma(series.values.subarray(0, series.length), state.smoothing);
  smoothCache.set(key, { weight: state.smoothing, length: series.length, values });
  return values;
}

/** X of every point of a series in the current axis mode (NaN where the mode has no value, e.g. no wall time). */
function xsOf(run: Run, series: SeriesColumns): Float64Array {
  const steps = series.steps.subarray(0, series.length);
  switch (state.xAxis as XAxisMode) {
    case 'step':
      return steps;
    case 'epoch': {
      const epoch = run.series.get('train/epoch');
      return epochsAt(steps, epoch?.steps.subarray(0, epoch.length), epoch?.values.subarray(0, epoch.length));
    }
    case 'relative':
    case 'wall': {
      let start = Infinity;
      for (const s of run.series.values()) if (s.length && s.wallTimes[0] < start) start = s.wallTimes[0];
      const out = new Float64Array(series.length);
      for (let i = 0; i < series.length; i++) out[i] = state.xAxis === 'relative' ? (series.wallTimes[i] - start) / 3600 : series.wallTimes[i] * 1000;
      return out;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Charts

interface DatasetMeta {
  runId: string;
  tag: string;
  raw: boolean;
  /** Indices into the series of the points handed to chart.js (after downsampling). */
  indices: Uint32Array;
}
type LineDataset = ChartDataset<'line', { x: number; y: number }[]> & { ftw: DatasetMeta };

interface GroupChart {
  group: string;
  card: HTMLElement;
  canvas: HTMLCanvasElement;
  chart: Chart<'line', { x: number; y: number }[]>;
  zoomed: boolean;
}
const charts = new Map<string, GroupChart>();

/** Vertical marks: where a run was resumed from a checkpoint, and where a value was NaN or infinite. */
interface Mark {
  x: number;
  color: string;
  kind: 'resume' | 'nonfinite';
}
const marksOf = new WeakMap<Chart, Mark[]>();
const marksPlugin: Plugin<'line'> = {
  id: 'ftwMarks',
  afterDatasetsDraw(chart) {
    const marks = marksOf.get(chart);
    if (!marks?.length) return;
    const { ctx, chartArea, scales } = chart;
    ctx.save();
    for (const mark of marks) {
      const px = scales.x.getPixelForValue(mark.x);
      if (!(px >= chartArea.left && px <= chartArea.right)) continue;
      ctx.strokeStyle = mark.color;
      ctx.fillStyle = mark.color;
      if (mark.kind === 'resume') {
        ctx.setLineDash([4, 3]);
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(px, chartArea.top);
        ctx.lineTo(px, chartArea.bottom);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillText('resumed', px + 3, chartArea.top + 10);
      } else {
        // A small triangle on the top edge: the value there is NaN or ±inf (drawn as a gap).
        ctx.beginPath();
        ctx.moveTo(px - 4, chartArea.top);
        ctx.lineTo(px + 4, chartArea.top);
        ctx.lineTo(px, chartArea.top + 7);
        ctx.closePath();
        ctx.fill();
      }
    }
    ctx.restore();
  },
};
Chart.register(marksPlugin);

/** Tooltip mode: for every visible run and tag, the point nearest to the hovered x (TensorBoard's behaviour). */
(Interaction.modes as unknown as Record<string, unknown>).ftwAllRuns = (chart: Chart, event: { x: number | null }): InteractionItem[] => {
  const items: InteractionItem[] = [];
  if (event.x === null) return items;
  const x = chart.scales.x.getValueForPixel(event.x);
  if (x === undefined) return items;
  chart.data.datasets.forEach((dataset, datasetIndex) => {
    const meta = (dataset as LineDataset).ftw;
    if (!meta || (meta.raw && state.smoothing > 0) || !chart.isDatasetVisible(datasetIndex)) return;
    const data = dataset.data as { x: number; y: number }[];
    if (!data.length) return;
    let lo = 0;
    let hi = data.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (data[mid].x < x) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0 && Math.abs(data[lo - 1].x - x) < Math.abs(data[lo].x - x)) lo--;
    const element = chart.getDatasetMeta(datasetIndex).data[lo];
    if (element) items.push({ element, datasetIndex, index: lo });
  });
  return items;
};

function formatX(value: number): string {
  switch (state.xAxis as XAxisMode) {
    case 'wall':
      return new Date(value).toLocaleString();
    case 'relative':
      return `${value.toFixed(2)} h`;
    case 'epoch':
      return value.toFixed(2);
    default:
      return String(Math.round(value));
  }
}

function formatY(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e5) ? value.toExponential(3) : Number(value.toPrecision(5)).toString();
}

function createChart(group: string): GroupChart {
  const canvas = element('canvas', { 'aria-label': `Chart of ${group}` });
  const card = element('div', { className: 'chart-card', 'data-group': group }, element('h3', {}, group), element('div', { className: 'canvas-box' }, canvas));
  const entry = { group, card, canvas, zoomed: false } as unknown as GroupChart;
  entry.chart = new Chart(canvas, {
    type: 'line',
    data: { datasets: [] },
    options: {
      animation: false,
      parsing: false,
      normalized: true,
      responsive: true,
      maintainAspectRatio: false,
      spanGaps: false,
      interaction: { mode: 'ftwAllRuns' as 'nearest', intersect: false },
      elements: { point: { radius: 0, hitRadius: 4 }, line: { borderWidth: 1.5 } },
      scales: {
        x: { type: 'linear', ticks: { callback: (v) => formatX(Number(v)), maxRotation: 0 } },
        y: {
          type: state.logScale ? 'logarithmic' : 'linear',
          // A log axis labels its exact bounds too (5.2942 next to 5.3): keep those labels off when others exist.
          ticks: { callback: (v, index, ticks) => (state.logScale && ticks.length > 2 && (index === 0 || index === ticks.length - 1) ? '' : formatY(Number(v))) },
        },
      },
      plugins: {
        legend: {
          labels: { boxWidth: 10, filter: (item, data) => !(data.datasets[item.datasetIndex!] as LineDataset).ftw.raw },
          onClick: (_event, item) => {
            const meta = (entry.chart.data.datasets[item.datasetIndex!] as LineDataset).ftw;
            const key = `${meta.runId}|${meta.tag}`;
            const at = state.hiddenSeries.indexOf(key);
            if (at >= 0) state.hiddenSeries.splice(at, 1);
            else state.hiddenSeries.push(key);
            saveState();
            renderChart(entry);
          },
        },
        tooltip: {
          callbacks: {
            title: (items) => (items.length ? `${state.xAxis === 'step' ? 'step ' : ''}${formatX(items[0].parsed.x ?? NaN)}` : ''),
            label: (item) => {
              const meta = (item.dataset as LineDataset).ftw;
              const run = runs.get(meta.runId);
              const series = run?.series.get(meta.tag);
              if (!run || !series) return '';
              const index = meta.indices[item.dataIndex];
              const raw = series.values[index];
              const smooth = smoothedOf(meta.runId, series)[index];
              const stepText = state.xAxis === 'step' ? '' : ` (step ${series.steps[index]})`;
              return state.smoothing > 0 ? `${run.payload.name} ${meta.tag}: ${formatY(smooth)} (raw ${formatY(raw)})${stepText}` : `${run.payload.name} ${meta.tag}: ${formatY(raw)}${stepText}`;
            },
          },
        },
        zoom: {
          zoom: { wheel: { enabled: true }, drag: { enabled: true, threshold: 5 }, mode: 'x', onZoomComplete: () => afterZoom(entry) },
          pan: { enabled: true, mode: 'x', modifierKey: 'shift', onPanComplete: () => afterZoom(entry) },
        },
      },
    },
  });
  canvas.addEventListener('dblclick', () => resetChartZoom(entry));
  return entry;
}

function afterZoom(entry: GroupChart): void {
  // resetZoom() reports completion too: that is not a zoom by the user.
  if (resetting) return;
  entry.zoomed = true;
  renderChart(entry);
}

let resetting = false;
function resetChartZoom(entry: GroupChart): void {
  entry.zoomed = false;
  resetting = true;
  try {
    entry.chart.resetZoom('none');
  } finally {
    resetting = false;
  }
  const x = entry.chart.options.scales!.x!;
  x.min = undefined;
  x.max = undefined;
  renderChart(entry);
}

function visibleRuns(): Run[] {
  return [...runs.values()].filter((run) => !state.hiddenRuns.includes(run.payload.id));
}

/** Rebuilds one chart's datasets: x per axis mode, smoothing, min/max downsampling to the visible x range. */
function renderChart(entry: GroupChart): void {
  const { chart } = entry;
  const datasets: LineDataset[] = [];
  const marks: Mark[] = [];
  const columns = Math.max(100, Math.round(entry.canvas.clientWidth || 600));
  const scaleX = chart.scales.x;
  const yArrays: Float64Array[] = [];
  const prepared: { run: Run; series: SeriesColumns; xs: Float64Array; smooth: Float64Array }[] = [];
  let xMin = Infinity;
  let xMax = -Infinity;
  for (const run of visibleRuns()) {
    for (const series of run.series.values()) {
      if (series.length === 0 || groupOf(series.tag) !== entry.group || !tagMatches(series.tag)) continue;
      if (state.hiddenSeries.includes(`${run.payload.id}|${series.tag}`)) {
        prepared.push({ run, series, xs: new Float64Array(0), smooth: new Float64Array(0) });
        continue;
      }
      const xs = xsOf(run, series);
      for (let i = 0; i < xs.length; i++) {
        if (xs[i] < xMin) xMin = xs[i];
        if (xs[i] > xMax) xMax = xs[i];
      }
      prepared.push({ run, series, xs, smooth: smoothedOf(run.payload.id, series) });
    }
  }
  const from = entry.zoomed && scaleX ? scaleX.min : xMin;
  const to = entry.zoomed && scaleX ? scaleX.max : xMax;
  for (const { run, series, xs, smooth } of prepared) {
    const color = colorOf(run.payload.id);
    const hidden = xs.length === 0;
    const values = series.values.subarray(0, series.length);
    const indices = hidden || !Number.isFinite(from) ? new Uint32Array(0) : minMaxDownsample(xs, values, from, to, columns);
    const eval_ = series.tag.startsWith('eval/');
    const sparse = indices.length < 120;
    const rawData: { x: number; y: number }[] = new Array(indices.length);
    const smoothData: { x: number; y: number }[] = new Array(indices.length);
    const visibleValues = new Float64Array(indices.length);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      rawData[k] = { x: xs[i], y: values[i] };
      smoothData[k] = { x: xs[i], y: smooth[i] };
      visibleValues[k] = values[i];
      if (!Number.isFinite(values[i]) && Number.isFinite(xs[i])) marks.push({ x: xs[i], color: cssVar('--vscode-charts-red', '#f14c4c'), kind: 'nonfinite' });
    }
    yArrays.push(visibleValues);
    const label = runs.size > 1 ? `${run.payload.name} · ${series.tag}` : series.tag;
    const common = { borderDash: eval_ ? [5, 3] : undefined, pointRadius: eval_ && sparse ? 2.5 : 0, hidden };
    datasets.push({ ...common, label: `${label} (raw)`, data: rawData, borderColor: withAlpha(color, 0.25), backgroundColor: withAlpha(color, 0.25), borderWidth: 1, hidden: hidden || state.smoothing === 0, ftw: { runId: run.payload.id, tag: series.tag, raw: true, indices } });
    datasets.push({ ...common, label, data: smoothData, borderColor: color, backgroundColor: color, ftw: { runId: run.payload.id, tag: series.tag, raw: false, indices } });
    for (const step of run.payload.resumes) {
      if (state.xAxis !== 'step') break;
      if (!marks.some((m) => m.kind === 'resume' && m.x === step)) marks.push({ x: step, color, kind: 'resume' });
    }
  }
  chart.data.datasets = datasets;
  marksOf.set(chart, marks);
  // Chart.js computes the x range only from points inside the y bounds: pin x to all the data unless zoomed.
  const x = chart.options.scales!.x!;
  if (!entry.zoomed && Number.isFinite(xMin)) {
    x.min = xMin;
    x.max = xMax === xMin ? xMin + 1 : xMax;
  }
  const y = chart.options.scales!.y!;
  y.type = state.logScale ? 'logarithmic' : 'linear';
  const [lo, hi] = robustYRange(yArrays, state.ignoreOutliers, state.logScale);
  y.min = lo;
  y.max = hi;
  chart.update('none');
  // The drawn x range, for tests and for people inspecting the page.
  entry.card.dataset.xMin = String(chart.scales.x.min);
  entry.card.dataset.xMax = String(chart.scales.x.max);
}

let renderQueued = false;
let pendingDrawn: { seenAt: number; points: number }[] = [];
/** Coalesces redraws to one per animation frame (live appends arrive in bursts). */
function scheduleRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    renderAll();
    for (const drawn of pendingDrawn) api.postMessage({ type: 'drawn', ...drawn });
    pendingDrawn = [];
  });
}

function renderAll(): void {
  const groups = new Set<string>();
  for (const run of runs.values()) for (const tag of run.series.keys()) if (tagMatches(tag)) groups.add(groupOf(tag));
  const ordered = [...groups].sort(compareGroups);
  for (const [group, entry] of charts) {
    if (!groups.has(group)) {
      entry.chart.destroy();
      entry.card.remove();
      charts.delete(group);
    }
  }
  ordered.forEach((group, index) => {
    let entry = charts.get(group);
    if (!entry) {
      entry = createChart(group);
      charts.set(group, entry);
    }
    if (chartsBox.children[index] !== entry.card) chartsBox.insertBefore(entry.card, chartsBox.children[index] ?? null);
    renderChart(entry);
  });
  emptyNote.textContent = runs.size === 0 ? 'No runs yet. Pick runs in the Runs view, or run “Open Training Curves” on a folder.' : groups.size === 0 ? 'No tag matches the filter.' : '';
  emptyNote.hidden = emptyNote.textContent === '';
  renderRunsBar();
}

function renderRunsBar(): void {
  runsBar.replaceChildren(
    ...[...runs.values()].map((run) => {
      const id = run.payload.id;
      const swatch = element('span', { className: 'swatch' });
      swatch.style.background = colorOf(id);
      const toggle = custom('vscode-checkbox', { checked: !state.hiddenRuns.includes(id), title: run.payload.description, 'data-run': id }) as HTMLElement & { checked: boolean };
      toggle.addEventListener('change', () => {
        state.hiddenRuns = toggle.checked ? state.hiddenRuns.filter((r) => r !== id) : [...state.hiddenRuns, id];
        saveState();
        scheduleRender();
      });
      const remove = element('button', { className: 'remove', title: `Remove ${run.payload.name} from the chart`, 'aria-label': `Remove ${run.payload.name}` }, '×');
      remove.addEventListener('click', () => api.postMessage({ type: 'removeRun', id }));
      const parts: (Node | string)[] = [toggle, swatch, run.payload.name];
      if (run.payload.live) parts.push(element('span', { className: 'live', title: 'Updates as the files grow' }, '● live'));
      parts.push(remove);
      return element('span', { className: 'run-chip' }, ...parts);
    }),
  );
  const notes: HTMLElement[] = [];
  for (const run of runs.values()) {
    if (run.payload.resumes.length) notes.push(element('div', {}, `${run.payload.name}: resumed from a checkpoint at step ${run.payload.resumes.join(', ')} (the newer points replace the repeated steps).`));
    for (const warning of run.payload.warnings) notes.push(element('div', { className: 'warning' }, `${run.payload.name}: ${warning}`));
    if ((state.xAxis === 'relative' || state.xAxis === 'wall') && ![...run.series.values()].some((s) => s.length && Number.isFinite(s.wallTimes[0]))) {
      notes.push(element('div', {}, `${run.payload.name}: no wall times (only TensorBoard event files and some JSONL logs record them).`));
    }
  }
  messages.replaceChildren(...notes);
}

// ---------------------------------------------------------------------------------------------------------------
// Controls

let filterTimer: ReturnType<typeof setTimeout> | undefined;
tagFilter.addEventListener('input', () => {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(() => {
    state.tagFilter = tagFilter.value;
    saveState();
    scheduleRender();
  }, 200);
});
smoothing.addEventListener('input', () => {
  state.smoothing = Number(smoothing.value);
  smoothingValue.textContent = state.smoothing.toFixed(2);
  saveState();
  scheduleRender();
});
xAxis.addEventListener('change', () => {
  state.xAxis = xAxis.value as XAxisMode;
  saveState();
  for (const entry of charts.values()) resetChartZoom(entry);
  scheduleRender();
});
logScale.addEventListener('change', () => {
  state.logScale = logScale.checked;
  saveState();
  scheduleRender();
});
ignoreOutliers.addEventListener('change', () => {
  state.ignoreOutliers = ignoreOutliers.checked;
  saveState();
  scheduleRender();
});
resetZoom.addEventListener('click', () => {
  for (const entry of charts.values()) resetChartZoom(entry);
});
exportCsv.addEventListener('click', () => api.postMessage({ type: 'exportCsv', smoothing: state.smoothing, tagFilter: state.tagFilter }));
exportPng.addEventListener('click', () => {
  const cards = [...charts.values()].filter((entry) => entry.card.isConnected);
  if (!cards.length) return;
  const width = Math.max(...cards.map((c) => c.canvas.width));
  const titleHeight = 24 * devicePixelRatio;
  const height = cards.reduce((sum, c) => sum + c.canvas.height + titleHeight, 0);
  const out = element('canvas', { width, height });
  const ctx = out.getContext('2d')!;
  ctx.fillStyle = cssVar('--vscode-editor-background', '#1e1e1e');
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = cssVar('--vscode-foreground', '#ccc');
  ctx.font = `${14 * devicePixelRatio}px ${cssVar('--vscode-font-family', 'sans-serif')}`;
  let top = 0;
  for (const card of cards) {
    ctx.fillText(card.group, 8, top + 17 * devicePixelRatio);
    ctx.drawImage(card.canvas, 0, top + titleHeight);
    top += card.canvas.height + titleHeight;
  }
  api.postMessage({ type: 'exportPng', dataUrl: out.toDataURL('image/png') });
});

// Theme changes: VS Code swaps the body class (vscode-light / vscode-dark / vscode-high-contrast).
new MutationObserver(() => {
  readTheme();
  scheduleRender();
}).observe(document.body, { attributes: true, attributeFilter: ['class'] });

// ---------------------------------------------------------------------------------------------------------------
// Messages

window.addEventListener('message', (event: MessageEvent<ToWebviewMessage>) => {
  const message = event.data;
  switch (message.type) {
    case 'settings':
      if (api.getState() === undefined) {
        state.smoothing = message.defaultSmoothing;
        smoothing.value = String(state.smoothing);
        smoothingValue.textContent = state.smoothing.toFixed(2);
      }
      break;
    case 'runData': {
      const run: Run = { payload: message.run, series: new Map() };
      runs.set(message.run.id, run);
      const points = applyChunks(run, message.series);
      if (!state.runs.includes(message.run.id)) state.runs.push(message.run.id);
      saveState();
      pendingDrawn.push({ seenAt: message.seenAt ?? 0, points });
      scheduleRender();
      break;
    }
    case 'runAppend': {
      const run = runs.get(message.run.id);
      if (!run) break;
      run.payload = message.run;
      const points = applyChunks(run, message.series);
      pendingDrawn.push({ seenAt: message.seenAt, points });
      scheduleRender();
      break;
    }
    case 'runRemoved':
      runs.delete(message.id);
      state.runs = state.runs.filter((r) => r !== message.id);
      saveState();
      scheduleRender();
      break;
    case 'error':
      messages.replaceChildren(element('div', { className: 'warning' }, message.message));
      break;
  }
});

saveState();
scheduleRender();
api.postMessage({ type: 'ready' });
