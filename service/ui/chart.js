// Small SVG charts, drawn without a library: stacked bars of jobs finished per second by state, and a line of
// the reactor's worst lag per second. Each has a text summary for screen readers, and the states differ by
// pattern as well as colour.

const ns = 'http://www.w3.org/2000/svg';

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(ns, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  for (const child of children) element.append(child);
  return element;
}

const width = 600;
const height = 140;

/** The series of a stacked chart: a key of the data, its label and its CSS class (colour and pattern). */
export const finishedSeries = [
  { key: 'succeeded', label: 'succeeded', css: 'series-ok' },
  { key: 'failed', label: 'failed', css: 'series-failed' },
  { key: 'timed_out', label: 'timed out', css: 'series-timeout' },
  { key: 'cancelled', label: 'cancelled', css: 'series-cancelled' },
];

function patterns() {
  // Failed: diagonal hatching; timed out: dots; so the chart reads without colour too.
  return svg('defs', {},
    svg('pattern', { id: 'hatch', width: 4, height: 4, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
      svg('rect', { width: 4, height: 4, class: 'series-failed' }),
      svg('line', { x1: 0, y1: 0, x2: 0, y2: 4, class: 'hatch-line' })),
    svg('pattern', { id: 'dots', width: 4, height: 4, patternUnits: 'userSpaceOnUse' },
      svg('rect', { width: 4, height: 4, class: 'series-timeout' }),
      svg('circle', { cx: 2, cy: 2, r: 1, class: 'dot' })));
}

/** Stacked bars: `data[key]` is an array of counts per second, oldest first. */
export function stackedBars(data, summary) {
  const seconds = data[finishedSeries[0].key].length;
  let peak = 1;
  for (let i = 0; i < seconds; i++) {
    peak = Math.max(peak, finishedSeries.reduce((sum, s) => sum + (data[s.key][i] ?? 0), 0));
  }
  const barWidth = width / seconds;
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height + 16}`, role: 'img', 'aria-label': summary, class: 'chart' }, patterns());
  for (let i = 0; i < seconds; i++) {
    let y = height;
    for (const s of finishedSeries) {
      const value = data[s.key][i] ?? 0;
      if (value === 0) continue;
      const h = (value / peak) * height;
      y -= h;
      chart.append(svg('rect', { x: i * barWidth, y, width: Math.max(barWidth - 0.5, 0.5), height: h, class: `bar ${s.css}` }));
    }
  }
  chart.append(svg('line', { x1: 0, y1: height, x2: width, y2: height, class: 'axis' }));
  chart.append(svg('text', { x: 2, y: 10, class: 'tick' }, `${peak}/s`));
  chart.append(svg('text', { x: 0, y: height + 13, class: 'tick' }, `−${seconds} s`));
  chart.append(svg('text', { x: width, y: height + 13, class: 'tick', 'text-anchor': 'end' }, 'now'));
  return chart;
}

/** A line of values (milliseconds), oldest first. */
export function line(values, summary, unit = 'ms') {
  const peak = Math.max(1, ...values);
  const step = width / Math.max(1, values.length - 1);
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - (v / peak) * height).toFixed(1)}`).join(' ');
  return svg('svg', { viewBox: `0 0 ${width} ${height + 16}`, role: 'img', 'aria-label': summary, class: 'chart' },
    svg('polyline', { points, class: 'trend' }),
    svg('line', { x1: 0, y1: height, x2: width, y2: height, class: 'axis' }),
    svg('text', { x: 2, y: 10, class: 'tick' }, `${peak < 10 ? peak.toFixed(2) : Math.round(peak)} ${unit}`),
    svg('text', { x: 0, y: height + 13, class: 'tick' }, `−${values.length} s`),
    svg('text', { x: width, y: height + 13, class: 'tick', 'text-anchor': 'end' }, 'now'));
}
