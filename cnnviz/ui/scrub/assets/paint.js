// The output maps' cells painted on a <canvas> under Plotly's axes, outlines and labels.
//
// Why: every new value given to Plotly (restyle, update, react) replots the whole figure (its
// defaults, axes, tick labels, and the heatmap encoded to a PNG), 12-340 ms on a loaded machine;
// painting the same cells ourselves is one putImageData and one scaled drawImage, well under a
// millisecond. Plotly keeps the axes and outlines; the maps have no trace (scrub.js reads hover
// values and clicks from the painted cells).
//
// The colours are Plotly.js's: the same named scale, zmin and zmax, interpolated as Plotly's
// heatmap does (d3's clamped linear scale over the stops, each channel rounded).
// tests/test_scrub.py compares the canvas's pixels with Plotly's own heatmap and with NumPy.

// Plotly.js's named scales the component draws (plotly.colors.PLOTLY_SCALES in Python).
export const SCALES = {
  RdBu: [[0, [5, 10, 172]], [0.35, [106, 137, 247]], [0.5, [190, 190, 190]],
         [0.6, [220, 170, 132]], [0.7, [230, 145, 90]], [1, [178, 10, 28]]],
};

// A function value -> [r, g, b] of `scale` between zmin and zmax, as Plotly's heatmap colours a
// cell: below zmin or above zmax the end colours.
export function colorScale(scale, zmin, zmax) {
  const domain = SCALES[scale].map(([p]) => p * (zmax - zmin) + zmin);
  const colors = SCALES[scale].map(([, rgb]) => rgb);
  const last = domain.length - 1;
  return (v) => {
    let i = 1;  // d3's bisectRight over the inner stops: the segment [i - 1, i] holding v
    while (i < last && domain[i] <= v) i++;
    const [a, b] = [domain[i - 1], domain[i]];
    const t = Math.max(0, Math.min(1, (v - a) / (b - a || 1)));
    const [c0, c1] = [colors[i - 1], colors[i]];
    return [0, 1, 2].map((k) => Math.round(c0[k] * (1 - t) + c1[k] * t));
  };
}

// Paint `cells` ({maps: Float32Array[], h, w, zmin, zmax, scale}: the maps side by side, a
// transparent column between them, as draw.mapsFigure lays them out) on the canvas of plot node
// `gd`, over exactly the cells of its axes. Plotly's layout must be drawn (it gives the axes).
// The same cells on the same axes are not painted again (Plotly reports every relayout).
export function paintMaps(gd, cells) {
  const { maps, h, w, zmin, zmax, scale } = cells;
  const { xaxis, yaxis, width, height } = gd._fullLayout;
  const where = JSON.stringify([width, height, ...[xaxis, yaxis].flatMap((a) => [
    a._offset, a._length, a.range])]);
  if (painted.get(gd)?.cells === cells && painted.get(gd).where === where) return;
  painted.set(gd, { cells, where });
  const cols = maps.length * (w + 1) - 1;
  const bitmap = cellBitmap(gd, cols, h);
  const image = bitmap.context.createImageData(cols, h);
  const color = colorScale(scale, zmin, zmax);
  maps.forEach((map, k) => {
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const at = 4 * (r * cols + k * (w + 1) + c);
        image.data.set(color(map[r * w + c]), at);
        image.data[at + 3] = 255;
      }
    }
  });
  bitmap.context.putImageData(image, 0, 0);
  gd.dataset.cells = `${h} ${cols}`;  // rows and columns painted (gaps too), for tests
  const canvas = plotCanvas(gd, width, height);
  const x0 = xaxis._offset + xaxis.l2p(-0.5), x1 = xaxis._offset + xaxis.l2p(cols - 0.5);
  const y0 = yaxis._offset + yaxis.l2p(-0.5), y1 = yaxis._offset + yaxis.l2p(h - 0.5);
  const context = canvas.getContext("2d");
  context.setTransform(canvas.width / width, 0, 0, canvas.height / height, 0, 0);
  context.clearRect(0, 0, width, height);
  context.imageSmoothingEnabled = false;  // square cells, as Plotly's own "pixelated" image
  context.drawImage(bitmap.canvas, Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0),
                    Math.abs(y1 - y0));
}

// The maps' labels ([{text, x, under}], x a column of the maps) as text in `gd` above Plotly's
// plot: over the top of the cells (titles), or under the plot area (ticks, class "tick"). New
// text is no replot.
export function labelMaps(gd, labels) {
  let box = gd.querySelector(":scope > .labels");
  if (!box) {
    box = document.createElement("div");
    box.className = "labels";
    gd.append(box);
  }
  while (box.children.length > labels.length) box.lastChild.remove();
  while (box.children.length < labels.length) box.append(document.createElement("span"));
  const { xaxis, yaxis } = gd._fullLayout;
  const top = yaxis._offset + yaxis.l2p(-0.5), bottom = yaxis._offset + yaxis._length;
  labels.forEach(({ text, x, under }, k) => {
    const span = box.children[k];
    if (span.textContent !== text) span.textContent = text;
    span.classList.toggle("tick", under);
    span.style.left = `${xaxis._offset + xaxis.l2p(x)}px`;
    span.style.top = `${under ? bottom : top}px`;
  });
}

// An offscreen canvas of one pixel per cell, and what was painted last, kept per plot node.
const bitmaps = new WeakMap();
const painted = new WeakMap();

function cellBitmap(gd, cols, h) {
  if (!bitmaps.has(gd)) {
    const canvas = document.createElement("canvas");
    bitmaps.set(gd, { canvas, context: canvas.getContext("2d") });
  }
  const bitmap = bitmaps.get(gd);
  if (bitmap.canvas.width !== cols || bitmap.canvas.height !== h) {
    [bitmap.canvas.width, bitmap.canvas.height] = [cols, h];
  }
  return bitmap;
}

// The canvas behind Plotly's (transparent) plot in `gd`, the plot's size, in device pixels.
function plotCanvas(gd, width, height) {
  let canvas = gd.querySelector(":scope > canvas.cells");
  if (!canvas) {
    canvas = document.createElement("canvas");
    canvas.className = "cells";
    canvas.setAttribute("aria-hidden", "true");  // the values are in the window's table
    gd.prepend(canvas);
  }
  const scale = window.devicePixelRatio || 1;
  const [w, h] = [Math.round(width * scale), Math.round(height * scale)];
  if (canvas.width !== w || canvas.height !== h) {
    [canvas.width, canvas.height] = [w, h];
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
  }
  return canvas;
}
