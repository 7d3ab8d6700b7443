// The scrub component's controls: one per setting, each a labelled native input (so the
// keyboard works), redrawing while it moves and settling on release.

export function buildControls(view) {
  const box = view.controls;
  box.replaceChildren();
  if (view.kind === "conv") convControls(view, box);
  else poolControls(view, box);
  const row = group(box, "Output cell");
  view.settings.position.slice(0, 2).forEach((value, a) => {
    const input = range(view, row, a === 0 ? "row i" : "column j", value, [0, 0], 1,
                        (s, v) => { s.position[a] = v; });
    input.dataset.position = String(a);
  });
  const play = element(row, "button", { type: "button", textContent: "Play" });
  play.onclick = () => view.play(play);
}

function convControls(view, box) {
  const s = view.settings, b = view.bounds;
  const layer = group(box, "Layer");
  choice(view, layer, "Padding", ["valid", "same", "explicit"], s.padding, (t, v) => {
    t.padding = v;
  }, true);
  ["ph", "pw"].forEach((name, a) => {
    const pad = range(view, layer, name, s.pad[a], b.pad, 1, (t, v) => { t.pad[a] = v; });
    pad.disabled = s.padding !== "explicit";  // kept for when explicit padding is picked again
  });
  ["sh", "sw"].forEach((name, a) => range(view, layer, `stride ${name}`, s.stride[a], b.stride,
                                          1, (t, v) => { t.stride[a] = v; }));
  const bias = [Math.min(b.bias[0], s.bias), Math.max(b.bias[1], s.bias)];
  range(view, layer, "bias b", s.bias, bias, 0.1, (t, v) => { t.bias = v; });
  choice(view, layer, "Activation", b.activations, s.activation, (t, v) => { t.activation = v; });
  const filter = group(box, "Kernel");
  const names = s.kernels.map((_, f) => String(f + 1));
  choice(view, filter, "Filter", names, String(s.position[2] + 1), (t, v) => {
    t.position[2] = Number(v) - 1;
  }, true);
  const f = s.position[2], size = s.kernels[f].length;
  const offered = Object.keys(view.presets).filter((n) => view.presets[n].length === size);
  const current = s.presets[f].replace(/ \(edited\)$/, "");
  choice(view, filter, "Preset", offered.includes(current) ? offered : [current, ...offered],
         current, (t, v) => {
           if (view.presets[v]) t.kernels[f] = structuredClone(view.presets[v]);
           t.presets[f] = v;
         }, true);
  kernelGrid(view, filter, f);
}

// The kernel of filter f as a grid of cells; a cell that is not a finite number is refused with
// a message naming it, and the last good kernel stays.
function kernelGrid(view, box, f) {
  const grid = element(box, "div", { className: "kernel" });
  view.settings.kernels[f].forEach((row, r) => row.forEach((value, c) => {
    const cell = element(grid, "input", { type: "text", value: String(value), size: 5 });
    cell.setAttribute("aria-label", `kernel row ${r + 1} column ${c + 1}`);
    cell.style.gridColumn = String(c + 1);
    cell.onchange = () => {
      const number = cell.value.trim() === "" ? NaN : Number(cell.value);
      cell.setAttribute("aria-invalid", String(!Number.isFinite(number)));
      if (!Number.isFinite(number)) {
        view.message(`kernel row ${r + 1}, column ${c + 1}: "${cell.value}" is not a finite ` +
          "number; type a number. The last good kernel stays.");
        return;
      }
      view.change((s) => {
        s.kernels[f][r][c] = number;
        s.presets[f] = s.presets[f].replace(/ \(edited\)$/, "") + " (edited)";
      }, true);
    };
  }));
}

function poolControls(view, box) {
  const s = view.settings, b = view.bounds;
  const layer = group(box, "Pooling");
  choice(view, layer, "Mode", ["max", "avg"], s.mode, (t, v) => { t.mode = v; });
  ["kh", "kw"].forEach((name, a) => range(view, layer, `window ${name}`, s.window[a], b.window, 1,
                                          (t, v) => { t.window[a] = v; }));
  ["sh", "sw"].forEach((name, a) => range(view, layer, `stride ${name}`, s.stride[a], b.stride,
                                          1, (t, v) => { t.stride[a] = v; }));
}

function group(box, title) {
  const set = element(box, "fieldset", {});
  element(set, "legend", { textContent: title });
  return set;
}

function element(parent, tag, properties) {
  const node = Object.assign(document.createElement(tag), properties);
  parent.appendChild(node);
  return node;
}

// A slider with its value beside it: redraws on every move, settles on release.
function range(view, box, text, value, [min, max], step, apply) {
  const label = element(box, "label", { textContent: `${text} ` });
  const input = element(label, "input", { type: "range", min, max, step, value });
  const shown = element(label, "output", { value: String(value) });
  input.oninput = () => {
    shown.value = input.value;
    view.change((s) => apply(s, Number(input.value)));
  };
  input.onchange = () => view.settle();
  return input;
}

// A drop-down: a pick redraws and settles at once; rebuild: the pick changes other controls
// (another filter or preset: a new kernel grid; padding: the pad sliders enabled or not).
function choice(view, box, text, options, value, apply, rebuild = false) {
  const label = element(box, "label", { textContent: `${text} ` });
  const select = element(label, "select", {});
  options.forEach((o) => element(select, "option", { value: o, textContent: o }));
  select.value = value;
  select.onchange = () => view.change((s) => apply(s, select.value), true, rebuild);
  return select;
}
