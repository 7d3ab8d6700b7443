// The scrub component: controls, recomputing (conv.js) and redrawing (draw.js) in the browser as
// the student scrubs, and the settings sent to Python when the student settles.
//
// Streamlit calls the default export on every script run whose data changed; the view of a
// component instance is kept per root element, so a rerun updates it instead of rebuilding it.

import { buildControls } from "./controls.js";
import * as conv from "./conv.js";
import * as draw from "./draw.js";
import { labelMaps, paintMaps } from "./paint.js";

const PLOTLY = new URL("./vendor/plotly-cartesian.min.js", import.meta.url).href;
const SETTLE_MS = 300;  // a pause this long in typing or dragging counts as settling
const PLAY_MS = 30;  // one window step per frame at ~30 frames per second
// Plotly's, for every plot. A double click shows the whole plot again (listen), not Plotly's
// autorange (cells no longer square) or first ranges (the maps' size of the first draw).
const OPTIONS = { displayModeBar: false, doubleClick: false };
const views = new WeakMap();
let plotly = null;  // one load per page, shared by every instance
let Plotly = null;  // Plotly.js once loaded

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  const root = parentElement.querySelector(".cnnviz-scrub");
  if (!views.has(root)) views.set(root, new View(root));
  const view = views.get(root);
  view.send = (settings) => setStateValue("settings", settings);
  view.receive(data);
  return () => view.stop();
}

class View {
  constructor(root) {
    this.root = root;
    root.innerHTML = `<div class="controls"></div><p class="message" role="alert"></p>
      <div class="plots"><div class="plot input"></div><div class="plot maps"></div>
      <figure class="step"><figcaption>the window</figcaption><table></table></figure></div>
      <p class="formula" aria-live="polite"></p>`;
    this.controls = root.querySelector(".controls");
    this.plots = ["input", "maps"].map((name) => root.querySelector(`.${name}`));
    this.window = root.querySelector(".step table");
    this.data = null;
    this.echoes = [];  // the settles sent since Python's data was last adopted, oldest first
    this.timer = this.player = null;
    this.plotly = plotly ??= import(PLOTLY).then(() => (Plotly = window.Plotly));
  }

  // New data from Python. The echo of any of the student's own settles is ignored, so a rerun
  // never replaces a control in use or jumps back while the student kept moving (three quick
  // presses are three settles, and the first one's run ends while the third is on its way);
  // anything else (a new image, settings set by the page or a link) is adopted and redrawn.
  receive(data) {
    const text = canon({ ...data, settings: null });
    const echo = this.echoes.indexOf(canon(data.settings));
    if (text === this.data && echo >= 0) {
      this.echoes.splice(0, echo);  // older settles' runs will not come back after this one
      return;
    }
    this.data = text;
    this.kind = data.kind;
    this.image = conv.makeMap(data.image);
    this.memoKey = this.drawnKey = null;
    this.presets = data.presets || {};
    this.bounds = data.bounds;
    this.settings = structuredClone(data.settings);
    this.good = structuredClone(data.settings);
    this.sent = canon(data.settings);
    this.echoes = [this.sent];
    buildControls(this);
    this.update();
  }

  // Recompute and redraw from this.settings; a setting NumPy would refuse shows a message and
  // keeps the last good picture and settings.
  update() {
    let figures;
    try {
      figures = this.kind === "conv" ? this.convFigures() : this.poolFigures();
    } catch (error) {
      this.message(`${error.message}. The last good settings stay.`);
      return;
    }
    this.message("");
    this.good = structuredClone(this.settings);
    const moved = this.drawnKey === this.memoKey;  // the same maps, only the window moved
    const imageDrawn = this.drawnKey !== null;  // the input's heatmap is on its node already
    this.drawnKey = this.memoKey;
    // Drawn inside the control's own event handler once Plotly.js is here, so that the browser's
    // long-frame timing counts the redraw as that control's work (a promise's callback, run after
    // the handler, is attributed to nothing); before that, in order once it has loaded.
    if (Plotly) this.redraw(Plotly, figures, moved, imageDrawn);
    else this.plotly.then((loaded) => this.redraw(loaded, figures, moved, imageDrawn));
  }

  // What changes only outlines is relayouted (under a millisecond): react would diff the whole
  // figure again (ten to fifty milliseconds for the maps, hundreds on a loaded machine). The
  // maps are only axes and outlines in Plotly: their cells are painted on a canvas (paint.js),
  // their hover and click read the painted cells (listen). New values in the same cells
  // relayout only the outline; new sizes (stride, padding) relayout the maps' axes too, so that
  // what the student sees (ticks, extents, square cells) is right in this frame. New axis ranges
  // (padding) redraw the input's axes and heatmap, so they are passed only when they change. The
  // ranges keep cells square on each plot's own size (draw.squareCells).
  redraw(Plotly, [inputFigure, mapsFigure, step, formula], moved, imageDrawn) {
    const [input, maps] = this.plots;
    const [inputLayout, mapsLayout] = [[input, inputFigure], [maps, mapsFigure]].map(
      ([gd, figure]) => draw.squareCells(figure.layout, draw.plotArea(gd, figure.layout)));
    const { shapes, xaxis, yaxis } = inputLayout;
    // what a double click shows again; copies: Plotly keeps the arrays it is given, and a zoom
    // changes them in place
    this.whole = [inputLayout, mapsLayout].map((layout) => ({
      "xaxis.range": [...layout.xaxis.range], "yaxis.range": [...layout.yaxis.range] }));
    const ranges = JSON.stringify([xaxis.range, yaxis.range]);  // Plotly rewrites its own
    if (!imageDrawn) firstDraw(Plotly, input, inputFigure);
    else {
      // ranges alone skip Plotly's layout defaults (a third of a relayout with the outlines)
      if (ranges !== this.ranges) {
        Plotly.relayout(input, { "xaxis.range": xaxis.range, "yaxis.range": yaxis.range });
      }
      Plotly.relayout(input, { shapes });
    }
    this.ranges = ranges;
    const { cells, labels } = mapsFigure;
    const drawn = this.cells;  // what the canvas shows now (undefined before the first draw)
    if (!moved) [this.cells, this.mapLabels] = [cells, labels];  // painted after any replot
    if (!drawn) firstDraw(Plotly, maps, mapsFigure);
    else if (moved || sameCells(drawn, cells)) {
      Plotly.relayout(maps, { shapes: mapsLayout.shapes });  // no trace, no axis redrawn
    } else Plotly.relayout(maps, axesOf(mapsLayout));  // a new size: its axes now
    paintMaps(maps, this.cells);  // before the count below; skipped when nothing changed
    labelMaps(maps, this.mapLabels);
    if (this.pointer) this.hover(this.pointer);  // a label on the maps shows the new value
    draw.fillWindow(this.window, ...step);
    this.root.querySelector(".formula").textContent = formula;
    this.draws = (this.draws || 0) + 1;
    this.root.dataset.drawn = String(this.draws);  // redraws so far, for tests and benchmarks
    if (!this.listening) this.listen();
  }

  convFigures() {
    const s = this.settings;
    const kernels = s.kernels.map(conv.makeMap);
    const padding = s.padding === "explicit" ? s.pad : s.padding;
    const out = this.memo({ ...s, position: null }, () => conv.conv2d(
      this.image, kernels, kernels.map(() => s.bias), s.activation, padding, s.stride));
    this.clampPosition(out.h, out.w, kernels.length);
    const [i, j, f] = s.position, k = kernels[f];
    const step = conv.convStep(this.image, k, s.bias, s.activation, out.pads, s.stride, i, j);
    const texts = step.inputs.map((x, n) => `${fmt(x)} × ${fmt(k.data[n])} = ` +
      fmt(step.products[n]));
    const titles = s.presets.map((p, n) => `${n + 1}: ${p}`);
    return [
      draw.inputFigure(this.image, out.pads, { top: step.top, left: step.left, h: k.h, w: k.w }),
      draw.mapsFigure(out.maps, out.h, out.w, titles, s.position),
      [k.w, step.products, texts],
      `filter ${f + 1}, output (${i}, ${j}): sum of products ${fmt(step.sum)} + bias ` +
        `${fmt(s.bias)} = z ${fmt(step.z)}; ${s.activation}(z) = ${fmt(step.a)}`,
    ];
  }

  poolFigures() {
    const s = this.settings;
    const out = this.memo({ ...s, position: null },
                          () => conv.pool2d(this.image, s.window, s.stride, s.mode));
    this.clampPosition(out.h, out.w, 1);
    const [i, j] = s.position;
    const step = conv.poolStep(this.image, s.window, s.stride, s.mode, i, j);
    const star = (n) => (s.mode === "max" && step.winners[n] ? "★" : "");  // every tied maximum
    const texts = step.cells.map((x, n) => star(n) + fmt(x));
    const none = [[0, 0], [0, 0]];
    return [
      draw.inputFigure(this.image, none, { top: step.top, left: step.left, h: s.window[0],
                                           w: s.window[1] }),
      draw.mapsFigure([out.data], out.h, out.w, [`${s.mode} pooling`], [i, j, 0]),
      [s.window[1], step.cells, texts],
      `output (${i}, ${j}): the ${s.mode === "max" ? "maximum" : "mean"} of the window = ` +
        fmt(step.value),
    ];
  }

  // The maps of the last settings but the position: moving the window recomputes nothing else.
  memo(settings, compute) {
    const key = JSON.stringify(settings);
    if (this.memoKey !== key) [this.memoKey, this.memoValue] = [key, compute()];
    return this.memoValue;
  }

  clampPosition(h, w, n) {
    const p = this.settings.position;
    [h, w, n].forEach((size, a) => {
      if (a < p.length) p[a] = Math.min(Math.max(p[a], 0), size - 1);
    });
    this.root.querySelectorAll("input[data-position]").forEach((input) => {
      const a = Number(input.dataset.position);
      input.max = String([h, w][a] - 1);
      input.value = String(p[a]);
    });
  }

  // A change while scrubbing: redraw now, tell Python once the student pauses or lets go.
  // rebuild: the controls change with it (another filter, preset or padding), built before the
  // one redraw (building them after meant redrawing twice in the student's frame).
  change(apply, settle = false, rebuild = false) {
    apply(this.settings);
    if (rebuild) buildControls(this);
    this.update();
    clearTimeout(this.timer);
    if (settle) this.settle();
    else this.timer = setTimeout(() => this.settle(), SETTLE_MS);
  }

  settle() {
    clearTimeout(this.timer);
    const text = canon(this.good);
    if (text !== this.sent && !this.player) {
      this.sent = text;
      this.echoes.push(text);
      const settings = this.good;
      afterPaint(() => this.send(settings));
    }
  }

  message(text) {
    this.root.querySelector(".message").textContent = text;
  }

  // A click on an output cell selects it (its map too), as on the page's own charts; the pointer
  // over one shows its value. Both read the cells painted, so they agree with what is shown.
  // Whatever replots the maps (a zoom, a new size) may move their axes: the cells are repainted.
  // A double click on either plot undoes a zoom.
  listen() {
    this.listening = true;
    const maps = this.plots[1];
    this.plots.forEach((gd, k) => gd.on("plotly_doubleclick", () => {
      Plotly.relayout(gd, this.whole[k]);
    }));
    maps.addEventListener("pointermove", (event) => this.hover(event));
    maps.addEventListener("pointerleave", () => this.hover(null));
    maps.addEventListener("click", (event) => {
      const cell = this.cellAt(event);
      if (!cell) return;
      const [f, i, j] = cell, position = this.settings.position;
      const filter = position.length > 2 && f !== position[2];  // its kernel shown
      this.change((s) => {
        [s.position[0], s.position[1]] = [i, j];
        if (s.position.length > 2) s.position[2] = f;
      }, true, filter);
    });
    maps.on("plotly_afterplot", () => {
      if (!this.cells) return;
      paintMaps(maps, this.cells);
      labelMaps(maps, this.mapLabels);
    });
  }

  // The output cell [map, row, column] painted under the pointer ({clientX, clientY}), or null.
  cellAt({ clientX, clientY }) {
    const maps = this.plots[1], { xaxis, yaxis } = maps._fullLayout;
    const box = maps.getBoundingClientRect(), { h, w, maps: values } = this.cells;
    const x = Math.round(xaxis.p2l(clientX - box.left - xaxis._offset));
    const y = Math.round(yaxis.p2l(clientY - box.top - yaxis._offset));
    const column = x >= 0 && y >= 0 && y < h ? draw.mapColumn(x, w) : null;
    return column && column[0] < values.length ? [column[0], y, column[1]] : null;
  }

  // The value of the cell under the pointer, in a label beside it (none: the pointer left).
  hover(pointer) {
    this.pointer = pointer && { clientX: pointer.clientX, clientY: pointer.clientY };
    const maps = this.plots[1], cell = pointer && this.cellAt(pointer);
    let label = maps.querySelector(":scope > .hover");
    if (!label) {
      label = document.createElement("div");
      label.className = "hover";
      maps.append(label);
    }
    label.hidden = !cell;
    if (!cell) return;
    const [f, i, j] = cell, box = maps.getBoundingClientRect();
    const value = this.cells.maps[f][i * this.cells.w + j];
    label.textContent = `${this.cells.maps.length > 1 ? `map ${f + 1}, ` : ""}row ${i}, ` +
      `column ${j}: ${fmt(value)}`;
    // beside the pointer, on its left near the right edge (never past the page's width)
    const x = pointer.clientX - box.left, right = x + 12 + label.offsetWidth <= box.width;
    label.style.left = `${right ? x + 12 : x - 12 - label.offsetWidth}px`;
    label.style.top = `${pointer.clientY - box.top + 12}px`;
  }

  play(button) {
    if (this.player) return this.pause(button);
    button.textContent = "Pause";
    this.player = setInterval(() => {
      const p = this.settings.position, [h, w] = this.outHW();
      const next = (p[0] * w + p[1] + 1) % (h * w);
      this.change((s) => { s.position[0] = Math.floor(next / w); s.position[1] = next % w; });
    }, PLAY_MS);
  }

  pause(button) {
    clearInterval(this.player);
    this.player = null;
    button.textContent = "Play";
    this.settle();
  }

  outHW() {
    return ["0", "1"].map((a) => Number(this.root.querySelector(`[data-position="${a}"]`).max) + 1);
  }

  stop() {
    clearTimeout(this.timer);
    clearInterval(this.player);
    this.player = null;
  }
}

// Run `callback` once the frame now being prepared has been painted. A settle hands the settings
// to Streamlit, whose own work for it (the rerun request, the page marked as running) otherwise
// ran first: a pick's request was seen leaving before its redraw was painted, in that frame's
// time. A hidden tab paints no frames: the timer sends the settle anyway.
function afterPaint(callback) {
  let done = false;
  const once = () => {
    if (!done) callback();
    done = true;
  };
  requestAnimationFrame(() => setTimeout(once, 0));
  setTimeout(once, 100);
}

// The first draw of `figure` on node `gd`, its cells square on the plot area Plotly gives it
// (the node's width may not be the one expected before it is drawn).
function firstDraw(Plotly, gd, figure) {
  const expected = draw.plotArea(gd, figure.layout);
  Plotly.react(gd, figure.data, draw.squareCells(figure.layout, expected), OPTIONS);
  const area = draw.plotArea(gd, figure.layout);
  if (area.w !== expected.w || area.h !== expected.h) {
    const { xaxis, yaxis } = draw.squareCells(figure.layout, area);
    Plotly.relayout(gd, { "xaxis.range": xaxis.range, "yaxis.range": yaxis.range });
  }
}

// Whether two paintings of the maps (paint.js's cells) have the same rows, columns and maps.
function sameCells(a, b) {
  return a.h === b.h && a.w === b.w && a.maps.length === b.maps.length;
}

// The relayout of what a new size changes in the maps' layout: the outline and both axes'
// ranges (the ticks are paint.js's text). Cheaper than react: no figure is diffed.
function axesOf({ shapes, xaxis, yaxis }) {
  return { shapes, "xaxis.range": xaxis.range, "yaxis.range": yaxis.range };
}

// JSON with every object's keys sorted: Python may send back the same settings in another order.
function canon(value) {
  return JSON.stringify(value, (_, v) => (v && typeof v === "object" && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));
}

function fmt(x) {
  return Number(x.toPrecision(4)).toString();
}
