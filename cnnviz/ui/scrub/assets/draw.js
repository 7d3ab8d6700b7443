// The scrub component's figures, as plain Plotly objects. scrub.js draws each with Plotly.react
// on the same node, so a change redraws in place: no new plot, no remount.

const SCALE = "Greys";
const MAPS = "RdBu";
const WINDOW = { color: "#ff7f0e", width: 3 };
const MARGIN = { l: 30, r: 10, t: 30, b: 20 };

// Traces already built, by the Float32Array they show: Plotly.react skips recomputing a trace
// whose arrays are the same objects as last time, so moving only the window costs just the
// window's outline (the options of a map's trace follow from its values, so they are the same).
const traces = new WeakMap();

// A heatmap of a {h, w, data} map on axes `axis` ("" for the first, "2", "3"... for the others).
function heatmap(map, axis, options) {
  if (traces.has(map.data)) return traces.get(map.data);
  const z = [];
  for (let r = 0; r < map.h; r++) z.push(Array.from(map.data.subarray(r * map.w, (r + 1) * map.w)));
  const trace = { type: "heatmap", z, xaxis: `x${axis}`, yaxis: `y${axis}`, showscale: false,
                  hovertemplate: "row %{y}, column %{x}: %{z:.4g}<extra></extra>", ...options };
  traces.set(map.data, trace);
  return trace;
}

// A rectangle around cells [top, top + h) x [left, left + w) of axes `axis`.
function box(axis, top, left, h, w, line) {
  return { type: "rect", xref: `x${axis}`, yref: `y${axis}`, line,
           x0: left - 0.5, x1: left + w - 0.5, y0: top - 0.5, y1: top + h - 0.5 };
}

// Square cells, row 0 at the top; the range shows `pads` of zero padding around the map.
function axes(h, w, pads, domain) {
  const [[top, bottom], [left, right]] = pads;
  return [
    { range: [-left - 0.5, w + right - 0.5], domain, showgrid: false, zeroline: false },
    { range: [h + bottom - 0.5, -top - 0.5], scaleanchor: "x", showgrid: false, zeroline: false },
  ];
}

// The input with its zero padding (dashed) and the window of the selected output cell.
export function inputFigure(image, pads, window) {
  const [x, y] = axes(image.h, image.w, pads, [0, 1]);
  const [[top], [left]] = pads;
  const shapes = [
    box("", -top, -left, image.h + pads[0][0] + pads[0][1], image.w + pads[1][0] + pads[1][1],
        { color: "#888", dash: "dash", width: 1 }),
    box("", window.top - top, window.left - left, window.h, window.w, WINDOW),
  ];
  return { data: [heatmap(image, "", { colorscale: SCALE, reversescale: true })],
           layout: { title: { text: "input", font: { size: 13 } }, xaxis: x, yaxis: y, shapes,
                     margin: MARGIN, height: 320, uirevision: "input" } };
}

// The output maps side by side, the selected cell (i, j) of map f outlined.
export function mapsFigure(maps, h, w, labels, [i, j, f]) {
  const layout = { margin: MARGIN, height: 320, uirevision: "maps", annotations: [], shapes: [] };
  const limit = Math.max(1e-6, ...maps.map((m) => Math.max(...m.map(Math.abs))));  // 0 in white
  const data = maps.map((m, k) => {
    const axis = k === 0 ? "" : String(k + 1);
    const gap = 0.04, width = (1 - gap * (maps.length - 1)) / maps.length;
    const domain = [k * (width + gap), k * (width + gap) + width];
    const [x, y] = axes(h, w, [[0, 0], [0, 0]], domain);
    layout[`xaxis${axis}`] = x;
    layout[`yaxis${axis}`] = { ...y, scaleanchor: `x${axis}` };
    layout.annotations.push({ text: labels[k], showarrow: false, xref: `x${axis} domain`,
                              yref: `y${axis} domain`, x: 0.5, y: 1.08, font: { size: 12 } });
    if (k === f) layout.shapes.push(box(axis, i, j, 1, 1, WINDOW));
    return heatmap({ h, w, data: m }, axis, { colorscale: MAPS, zmin: -limit, zmax: limit,
                                             customdata: k });
  });
  return { data, layout };
}

// The window of one output cell: each cell's input x weight = product (conv), or its value with
// the maxima marked (pool).
export function stepFigure(rows, cols, values, texts) {
  const map = { h: rows, w: cols, data: Float32Array.from(values) };
  const [x, y] = axes(rows, cols, [[0, 0], [0, 0]], [0, 1]);
  return { data: [heatmap(map, "", { colorscale: MAPS, text: chunk(texts, cols),
                                    texttemplate: "%{text}", hoverinfo: "skip" })],
           layout: { title: { text: "the window", font: { size: 13 } }, xaxis: x, yaxis: y,
                     margin: MARGIN, height: 320, uirevision: "step" } };
}

function chunk(items, size) {
  const rows = [];
  for (let r = 0; r < items.length; r += size) rows.push(items.slice(r, r + size));
  return rows;
}
