// Charts of cpu and memory over time, drawn as inline SVG (no library): a sparkline per table row, a larger chart
// in the details. The SVG is stretched to its box (preserveAspectRatio none) with strokes that do not scale, so
// one viewBox serves every width.

const NS = 'http://www.w3.org/2000/svg';

// WINDOW_MS is how far back the charts go.
export const WINDOW_MS = 5 * 60 * 1000;

function el(name, attrs) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

// newChart makes an empty chart: an <svg> with a grid, an area and a line, and returns it with an update function
// taking the points ([{t, v}], t in ms) and the floor of the vertical scale (the scale is at least that high, so
// that noise at 0.1% does not fill the chart).
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
    const from = now - WINDOW_MS;
    const pts = points.filter((p) => p.t >= from);
    if (pts.length === 0) {
      area.setAttribute('d', '');
      line.setAttribute('d', '');
      return 0;
    }
    const peak = Math.max(floor, ...pts.map((p) => p.v));
    const top = peak * 1.1;
    const xy = pts.map((p) => [((p.t - from) / WINDOW_MS) * W, H - (p.v / top) * H]);
    if (xy.length === 1) xy.unshift([Math.max(0, xy[0][0] - 2), xy[0][1]]);
    const d = xy.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`).join('');
    line.setAttribute('d', d);
    area.setAttribute('d', `${d}L${xy[xy.length - 1][0].toFixed(1)},${H}L${xy[0][0].toFixed(1)},${H}Z`);
    return peak;
  };
  return { svg, update };
}
