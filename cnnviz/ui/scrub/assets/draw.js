// The scrub component's figures, as plain Plotly objects. scrub.js draws each with Plotly.react
// on the same node, so a change redraws in place: no new plot, no remount.

const SCALE = "Greys";
const MAPS = "RdBu";
const WINDOW = { color: "#ff7f0e", width: 3 };
const MARGIN = { l: 30, r: 10, t: 30, b: 20 };

// Traces already built (the input's), by the Float32Array they show: Plotly.react skips
// recomputing a trace whose arrays are the same objects as last time.
const traces = new WeakMap();

// A heatmap of a {h, w, data} map.
function heatmap(map, options) {
  if (traces.has(map.data)) return traces.get(map.data);
  const z = [];
  for (let r = 0; r < map.h; r++) z.push(Array.from(map.data.subarray(r * map.w, (r + 1) * map.w)));
  const trace = { type: "heatmap", z, showscale: false,
                  hovertemplate: "row %{y}, column %{x}: %{z:.4g}<extra></extra>", ...options };
  traces.set(map.data, trace);
  return trace;
}

// A rectangle around cells [top, top + h) x [left, left + w).
function box(top, left, h, w, line) {
  return { type: "rect", xref: "x", yref: "y", line,
           x0: left - 0.5, x1: left + w - 0.5, y0: top - 0.5, y1: top + h - 0.5 };
}

// Row 0 at the top; the range shows `pads` of zero padding around the map. Its cells are made
// square by squareCells, on the plot's own size.
function axes(h, w, pads) {
  const [[top, bottom], [left, right]] = pads;
  return [
    { range: [-left - 0.5, w + right - 0.5], showgrid: false, zeroline: false },
    { range: [h + bottom - 0.5, -top - 0.5], showgrid: false, zeroline: false },
  ];
}

// `layout` with its axes' ranges widened so that its cells are square on a plot area of `area`
// ({w, h} pixels): the axis that needs the smaller cells keeps its range, the other grows about
// its middle, as Plotly's scaleanchor (constrain "range") would. Not scaleanchor itself: its
// constraint pass ran on every change of range (BENCHMARKS.md, issue 23).
export function squareCells(layout, area) {
  if (!(area.w > 0 && area.h > 0)) return layout;  // not laid out (hidden): Plotly's defaults
  const [x, y] = [layout.xaxis.range, layout.yaxis.range];
  const unit = Math.min(area.w / Math.abs(x[1] - x[0]), area.h / Math.abs(y[1] - y[0]));
  const widen = ([a, b], pixels) => {
    const middle = (a + b) / 2, half = Math.sign(b - a) * pixels / unit / 2;
    return [middle - half, middle + half];
  };
  return { ...layout, xaxis: { ...layout.xaxis, range: widen(x, area.w) },
           yaxis: { ...layout.yaxis, range: widen(y, area.h) } };
}

// The plot area, in pixels, of a figure of `layout` on node `gd`: Plotly's own once drawn;
// before that, what Plotly's autosize gives it (the node's width, the layout's height) less the
// margins.
export function plotArea(gd, layout) {
  const size = gd._fullLayout?._size;
  if (size) return { w: size.w, h: size.h };
  const { l, r, t, b } = layout.margin;
  return { w: Math.round(parseFloat(getComputedStyle(gd).width)) - l - r,
           h: layout.height - t - b };
}

// The input with its zero padding (dashed) and the window of the selected output cell.
export function inputFigure(image, pads, window) {
  const [x, y] = axes(image.h, image.w, pads);
  const [[top], [left]] = pads;
  const shapes = [
    box(-top, -left, image.h + pads[0][0] + pads[0][1], image.w + pads[1][0] + pads[1][1],
        { color: "#888", dash: "dash", width: 1 }),
    box(window.top - top, window.left - left, window.h, window.w, WINDOW),
  ];
  return { data: [heatmap(image, { colorscale: SCALE, reversescale: true })],
           layout: { title: { text: "input", font: { size: 13 } }, xaxis: x, yaxis: y, shapes,
                     margin: MARGIN, height: 320, uirevision: "input" } };
}

// The output maps side by side, `pitch` columns apart (a column of gaps between them), the
// selected cell (i, j) of map f outlined. Plotly draws only the axes and the outline: the cells
// are painted on a canvas behind the plot (paint.js, from `cells`), so new values need no
// replot, and scrub.js shows the value under the pointer and takes clicks from the same cells
// (a transparent heatmap kept for those was redrawn with every new size).
// The maps' titles, and under them the x ticks that count each map's own columns, are text
// over the plot (paint.js, from `labels`, each {text, x, under}): a new title in a Plotly
// annotation replotted the whole figure, and Plotly's own ticks sent a new size through its full
// layout defaults.
export function mapsFigure(maps, h, w, titles, [i, j, f]) {
  const pitch = w + 1;
  // zero in the middle of the scale, whatever the maps' range
  const limit = Math.max(1e-6, ...maps.map((m) => Math.max(...m.map(Math.abs))));
  const step = Math.max(1, Math.ceil(w / 4));
  const columns = Array.from({ length: Math.ceil(w / step) }, (_, n) => n * step);
  const x = { range: [-0.5, maps.length * pitch - 1.5], showgrid: false, zeroline: false,
              showticklabels: false, ticks: "" };
  const y = { range: [h - 0.5, -0.5], showgrid: false, zeroline: false };
  const shapes = [box(i, f * pitch + j, 1, 1, WINDOW)];
  const clear = "rgba(0, 0, 0, 0)";  // the canvas shows through; the node's own white behind it
  const ticks = maps.flatMap((_, k) => columns.map((c) => ({ text: String(c), x: k * pitch + c,
                                                             under: true })));
  return { data: [],
           layout: { xaxis: x, yaxis: y, shapes, margin: MARGIN, height: 260,
                     uirevision: "maps", paper_bgcolor: clear, plot_bgcolor: clear },
           cells: { maps, h, w, zmin: -limit, zmax: limit, scale: MAPS },
           labels: [...titles.map((text, k) => ({ text, x: k * pitch + (w - 1) / 2,
                                                  under: false })), ...ticks] };
}

// The map and column [f, j] of column x of mapsFigure's axes (null on a gap).
export function mapColumn(x, w) {
  return x % (w + 1) === w ? null : [Math.floor(x / (w + 1)), x % (w + 1)];
}

// The window of one output cell as a table, filled in place: each cell's text (its input x
// weight, or its value with the maxima marked) on a colour of its value, blue below zero, red
// above. A table, not a plot: a screen reader reads its numbers, and refilling it costs far less.
export function fillWindow(table, cols, values, texts) {
  const rows = values.length / cols;
  if (table.rows.length !== rows || table.rows[0].cells.length !== cols) {
    table.replaceChildren();
    for (let r = 0; r < rows; r++) {
      const row = table.insertRow();
      for (let c = 0; c < cols; c++) row.insertCell();
    }
  }
  const limit = Math.max(1e-12, ...values.map(Math.abs));
  values.forEach((value, n) => {
    const cell = table.rows[Math.floor(n / cols)].cells[n % cols];
    cell.textContent = texts[n];
    const strength = Math.round(200 * Math.abs(value) / limit);  // 0: white, 200: saturated
    cell.style.background = value < 0 ? `rgb(${255 - strength}, ${255 - strength / 2}, 255)`
      : `rgb(255, ${255 - strength}, ${255 - strength})`;
  });
}
