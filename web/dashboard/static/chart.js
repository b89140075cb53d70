// Charts of cpu and memory over time, drawn as inline SVG (no library): a sparkline per table row, a larger chart
// in the details. The SVG is stretched to its box (preserveAspectRatio none) with strokes that do not scale, so
// one viewBox serves every width.

const NS = 'http://www.w3.org/2000/svg';

// WINDOW_MS is how far back the charts go; MIN_SPAN_MS is the narrowest time axis (a page open for a few seconds
// draws them over this span, growing to WINDOW_MS).
export const WINDOW_MS = 5 * 60 * 1000;
const MIN_SPAN_MS = 30 * 1000;

function el(name, attrs) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

// newChart makes an empty chart: an <svg> with a grid, an area and a line, and returns it with an update function
// taking the points ([{t, v}], t in ms, oldest first) and the floor of the vertical scale (the scale is at least
// that high, so that noise at 0.1% does not fill the chart). update returns the peak drawn and the time span of
// the axis in ms.
export function newChart(className, { grid = false } = {}) {
  const W = 300;
  const H = 100;
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', class: className, 'aria-hidden': 'true' });
  if (grid) {
    for (const y of [0.25, 0.5, 0.75]) {
      svg.append(el('line', { x1: 0, x2: W, y1: H * y, y2: H * y, class: 'grid', 'vector-effect': 'non-scaling-stroke' }));
    }
  }
  const area = el('path', { class: 'area', d: '' });
  const line = el('path', { class: 'line', d: '', 'vector-effect': 'non-scaling-stroke' });
  svg.append(area, line);
  const update = (points, floor, now = Date.now()) => {
    const pts = points.filter((p) => p.t >= now - WINDOW_MS);
    if (pts.length === 0) {
      area.setAttribute('d', '');
      line.setAttribute('d', '');
      return { peak: 0, span: 0 };
    }
    const span = Math.max(MIN_SPAN_MS, now - pts[0].t);
    const from = now - span;
    const peak = Math.max(...pts.map((p) => p.v));
    const top = Math.max(floor, peak) * 1.1;
    const xy = pts.map((p) => [((p.t - from) / span) * W, H - (p.v / top) * H]);
    if (xy.length === 1) xy.unshift([Math.max(0, xy[0][0] - 2), xy[0][1]]);
    const d = xy.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`).join('');
    line.setAttribute('d', d);
    area.setAttribute('d', `${d}L${xy[xy.length - 1][0].toFixed(1)},${H}L${xy[0][0].toFixed(1)},${H}Z`);
    return { peak, span };
  };
  return { svg, update };
}
