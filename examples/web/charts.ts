/*
 * The demo's pictures, drawn on canvases: line charts of the training curves, a confusion matrix table and the first
 * convolution's filters as grey tiles (what report.html shows for a run of foldnet train).
 */

/** One line of a chart: its name in the legend, its colour and its points (step, value). */
export interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly (readonly [number, number])[];
}

const PAD = { left: 44, right: 12, top: 26, bottom: 24 };

/** Draws `series` as lines over the steps, y from `yRange` (or the data's own range), with axes, ticks and a legend. */
export const drawLineChart = (canvas: HTMLCanvasElement, title: string, series: readonly Series[], yRange?: readonly [number, number]): void => {
  const g = canvas.getContext('2d');
  if (g === null) return;
  const { width: w, height: h } = canvas;
  g.clearRect(0, 0, w, h);
  const all = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  const maxStep = Math.max(1, ...all.map(([x]) => x));
  const [y0, y1] = yRange ?? [Math.min(0, ...all.map(([, y]) => y)), Math.max(1e-9, ...all.map(([, y]) => y))];
  const px = (x: number): number => PAD.left + (x / maxStep) * (w - PAD.left - PAD.right);
  const py = (y: number): number => h - PAD.bottom - ((y - y0) / (y1 - y0 || 1)) * (h - PAD.top - PAD.bottom);
  g.font = '12px system-ui, sans-serif';
  g.fillStyle = '#1d2430';
  g.fillText(title, PAD.left, 16);
  // horizontal grid with five labelled ticks
  g.strokeStyle = '#e3e8f0';
  g.fillStyle = '#5b6578';
  g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = y0 + ((y1 - y0) * i) / 4;
    g.beginPath();
    g.moveTo(PAD.left, py(y));
    g.lineTo(w - PAD.right, py(y));
    g.stroke();
    g.fillText(y.toFixed(y1 - y0 < 2 ? 2 : 1), 4, py(y) + 4);
  }
  // x ticks at 0, half and the last step, and the axis' name between them
  g.textAlign = 'center';
  for (const x of [0, Math.round(maxStep / 2), maxStep]) g.fillText(String(x), Math.min(px(x), w - PAD.right - 12), h - PAD.bottom + 14);
  g.fillText('step', px(maxStep / 4), h - PAD.bottom + 14);
  g.textAlign = 'start';
  series.forEach((s, i) => {
    g.strokeStyle = s.color;
    g.lineWidth = 2;
    g.beginPath();
    let started = false;
    for (const [x, y] of s.points) {
      if (!Number.isFinite(y)) continue;
      if (started) g.lineTo(px(x), py(y));
      else g.moveTo(px(x), py(y));
      started = true;
    }
    g.stroke();
    g.fillStyle = s.color;
    g.fillRect(w - PAD.right - 150 + i * 75, 8, 10, 10);
    g.fillStyle = '#1d2430';
    g.fillText(s.name, w - PAD.right - 136 + i * 75, 17);
  });
};

/** The confusion matrix [true][predicted] as a table, each cell shaded by its share of its row. */
export const renderConfusion = (table: HTMLTableElement, confusion: readonly (readonly number[])[], classNames: readonly string[]): void => {
  const short = (name: string): string => (name.length > 6 ? `${name.slice(0, 5)}.` : name);
  const head = `<tr><th title="true \\ predicted">t\\p</th>${classNames.map((c) => `<th title="${c}">${short(c)}</th>`).join('')}</tr>`;
  const rows = confusion.map((row, t) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    const cells = row.map((n, p) => {
      const share = n / total;
      const color = t === p ? `rgba(56, 103, 214, ${share})` : `rgba(225, 123, 46, ${Math.min(1, share * 4)})`;
      return `<td style="background:${color};color:${share > 0.5 ? '#fff' : '#1d2430'}">${n}</td>`;
    });
    return `<tr><th title="${classNames[t] ?? t}">${short(classNames[t] ?? String(t))}</th>${cells.join('')}</tr>`;
  });
  table.innerHTML = head + rows.join('');
};

/** Filters [F, C, kh, kw] (channel 0 of each) as grey tiles in rows, each scaled to its own min..max; the canvas takes their height. */
export const drawFilters = (canvas: HTMLCanvasElement, shape: readonly number[], data: ArrayLike<number>): void => {
  const [f = 0, c = 1, kh = 1, kw = 1] = shape;
  // tiles about 28 pixels wide, as many to a row as fit, a gap of one filter pixel between them
  const scale = Math.max(2, Math.round(28 / Math.max(kh, kw)));
  const tileW = (kw + 1) * scale;
  const tileH = (kh + 1) * scale;
  const perRow = Math.max(1, Math.floor((canvas.width - 4) / tileW));
  canvas.height = 4 + Math.ceil(f / perRow) * tileH;
  const g = canvas.getContext('2d');
  if (g === null) return;
  g.clearRect(0, 0, canvas.width, canvas.height);
  for (let k = 0; k < f; k++) {
    const base = k * c * kh * kw;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < kh * kw; i++) {
      lo = Math.min(lo, data[base + i] ?? 0);
      hi = Math.max(hi, data[base + i] ?? 0);
    }
    const left = 2 + (k % perRow) * tileW;
    const top = 2 + Math.floor(k / perRow) * tileH;
    for (let y = 0; y < kh; y++) {
      for (let x = 0; x < kw; x++) {
        const v = Math.round((255 * ((data[base + y * kw + x] ?? 0) - lo)) / (hi - lo || 1));
        g.fillStyle = `rgb(${v},${v},${v})`;
        g.fillRect(left + x * scale, top + y * scale, scale, scale);
      }
    }
  }
};
