// The forward pass the scrub component draws: the same arithmetic as cnnviz.nn.ops, in float32.
//
// Pure functions, no DOM: tests/test_scrub_js.py runs them in Chromium against cnnviz.nn.ops on
// random cases, so a change here that drifts from NumPy fails CI. A map is {h, w, data} with data
// a row-major Float32Array; every sum is rounded to float32 after each addition (Math.fround), as
// NumPy's float32 arrays are, so the two agree to float32 tolerance.

const f32 = Math.fround;

// The activations of cnnviz.nn.ops.ACTIVATIONS, by the same names; float32 in, float32 out.
export const ACTIVATIONS = {
  none: (z) => z,
  relu: (z) => (z > 0 ? z : 0),
  sigmoid: (z) => f32(1 / f32(1 + f32(Math.exp(-z)))),
  tanh: (z) => f32(Math.tanh(z)),
};

// A map of float32 values: {h, w, data}.
export function makeMap(rows) {
  const h = rows.length, w = h ? rows[0].length : 0;
  const data = new Float32Array(h * w);
  rows.forEach((row, r) => data.set(row, r * w));
  return { h, w, data };
}

// Zeros to add [[top, bottom], [left, right]] for "valid", "same" (TensorFlow's rule: output
// ceil(in / s), the odd extra row or column at the bottom or right) or explicit [ph, pw].
export function resolvePadding(padding, inHW, kHW, stride) {
  if (padding === "valid") return [[0, 0], [0, 0]];
  if (padding === "same") {
    return [0, 1].map((a) => {
      const out = Math.ceil(inHW[a] / stride[a]);
      const total = Math.max((out - 1) * stride[a] + kHW[a] - inHW[a], 0);
      return [Math.floor(total / 2), total - Math.floor(total / 2)];
    });
  }
  return [[padding[0], padding[0]], [padding[1], padding[1]]];
}

// [h_new, w_new] of windows kHW moved by stride over the padded input; throws, naming the axis,
// when the kernel is larger than the padded input (the page keeps its last good settings then).
export function outputSize(inHW, kHW, pads, stride) {
  return [0, 1].map((a) => {
    const padded = inHW[a] + pads[a][0] + pads[a][1];
    if (kHW[a] > padded) {
      const axis = a === 0 ? "height" : "width";
      throw new Error(`kernel ${axis} ${kHW[a]} is larger than the padded input ${axis} ` +
        `${padded}; use a smaller kernel, more padding or "same" padding`);
    }
    return 1 + Math.floor((padded - kHW[a]) / stride[a]);
  });
}

// The input value at padded position (r, c): zero outside the image.
function padded(image, pads, r, c) {
  const y = r - pads[0][0], x = c - pads[1][0];
  return y < 0 || x < 0 || y >= image.h || x >= image.w ? 0 : image.data[y * image.w + x];
}

// One output value before the activation: the window at (top, left) of the padded input times
// the kernel, summed in float32, plus the bias.
function windowSum(image, pads, kernel, top, left, bias) {
  let sum = 0;
  for (let u = 0; u < kernel.h; u++) {
    for (let v = 0; v < kernel.w; v++) {
      const x = padded(image, pads, top + u, left + v);
      sum = f32(sum + f32(x * kernel.data[u * kernel.w + v]));
    }
  }
  return f32(sum + f32(bias));
}

// Forward convolution of one single-channel image by each kernel (a cross-correlation, as in
// the course): {h, w, maps} with maps[f] a Float32Array of activation(window * W_f + b_f).
export function conv2d(image, kernels, biases, activation, padding, stride) {
  const act = ACTIVATIONS[activation];
  if (!act) throw new Error(`activation must be one of ${Object.keys(ACTIVATIONS)}`);
  const kHW = [kernels[0].h, kernels[0].w];
  const pads = resolvePadding(padding, [image.h, image.w], kHW, stride);
  const [h, w] = outputSize([image.h, image.w], kHW, pads, stride);
  const maps = kernels.map((kernel, f) => {
    const out = new Float32Array(h * w);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const z = windowSum(image, pads, kernel, i * stride[0], j * stride[1], biases[f]);
        out[i * w + j] = act(z);
      }
    }
    return out;
  });
  return { h, w, pads, maps };
}

// Max or average of every "valid" window (no padding), as cnnviz.nn.ops.pool_forward.
export function pool2d(image, window, stride, mode) {
  const [h, w] = outputSize([image.h, image.w], window, [[0, 0], [0, 0]], stride);
  const data = new Float32Array(h * w);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      data[i * w + j] = poolValue(windowCells(image, i * stride[0], j * stride[1], window), mode);
    }
  }
  return { h, w, data };
}

// The maximum or the mean of a window's cells; the mean as NumPy takes it: the float32 sum times
// the float32 of 1 / (kh * kw).
function poolValue(cells, mode) {
  if (mode === "max") return Math.max(...cells);
  if (mode !== "avg") throw new Error('mode must be "max" or "avg"');
  return f32(cells.reduce((sum, x) => f32(sum + x), 0) * f32(1 / cells.length));
}

// The values of the window at (top, left) of an unpadded map, row-major.
function windowCells(image, top, left, window) {
  const cells = [];
  for (let u = 0; u < window[0]; u++) {
    for (let v = 0; v < window[1]; v++) cells.push(image.data[(top + u) * image.w + left + v]);
  }
  return cells;
}

// Output (i, j) of one kernel taken apart, as cnnviz.nn.explain.conv_step: the window's corner
// in the padded input, its values, their products with the kernel, the sum, z and a.
export function convStep(image, kernel, bias, activation, pads, stride, i, j) {
  const top = i * stride[0], left = j * stride[1];
  const inputs = [], products = [];
  for (let u = 0; u < kernel.h; u++) {
    for (let v = 0; v < kernel.w; v++) {
      const x = padded(image, pads, top + u, left + v);
      inputs.push(x);
      products.push(f32(x * kernel.data[u * kernel.w + v]));
    }
  }
  const sum = products.reduce((total, p) => f32(total + p), 0);
  const z = f32(sum + f32(bias));
  return { top, left, inputs, products, sum, bias, z, a: ACTIVATIONS[activation](z) };
}

// Output (i, j) of a pooling taken apart, as cnnviz.nn.explain.pool_step: the window, its value
// and which cells equal the maximum (all of them on a tie, the course's convention).
export function poolStep(image, window, stride, mode, i, j) {
  const top = i * stride[0], left = j * stride[1];
  const cells = windowCells(image, top, left, window);
  const max = Math.max(...cells);
  return { top, left, cells, value: poolValue(cells, mode), winners: cells.map((x) => x === max) };
}
