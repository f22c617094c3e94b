// What every picture shares: the data it receives, a paint per animation frame,
// a sharp canvas, axes with ticks, and a readout under the pointer.
// The kernel puts this file in front of each picture's module (see picture.py).

const ARRAYS = {
  float32: Float32Array, float64: Float64Array, int32: Int32Array,
  uint32: Uint32Array, uint8: Uint8Array,
};

// A DataView (or ArrayBuffer) from the kernel as a fresh typed array of `dtype`.
function typedArray(dtype, buffer) {
  const Type = ARRAYS[dtype];
  const bytes = buffer instanceof DataView
    ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
    : new Uint8Array(buffer);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Type(copy.buffer);
}

// Named arrays ("channels") as the kernel last described them: the whole set
// from the `data` trait, then the rows each message sets or appends.
class Channels {
  constructor(model) {
    this.model = model;
    this.arrays = new Map();  // name -> {dtype, width, rows, values, generation}
    this.version = 0;         // grows with every change: a picture compares it to see news
    this.sets = 0;            // replacements so far: each set channel gets the next number
  }

  load() {
    this.arrays.clear();
    const data = this.model.get("data") || {};
    for (const [name, entry] of Object.entries(data)) {
      this.set(name, entry.dtype, entry.shape, entry.buffer);
    }
    this.version += 1;
  }

  set(name, dtype, shape, buffer) {
    const values = buffer ? typedArray(dtype, buffer) : new ARRAYS[dtype](0);
    const width = shape.slice(1).reduce((a, b) => a * b, 1);
    this.sets += 1;
    this.arrays.set(name, {dtype, width, rows: shape[0] || 0, values, generation: this.sets});
  }

  // Which replacement of `name` the page holds: it changes whenever the kernel sent the channel whole,
  // so a picture that keeps something computed from the rows knows to start again.
  generation(name) {
    const entry = this.arrays.get(name);
    return entry ? entry.generation : 0;
  }

  append(name, dtype, shape, start, buffer) {
    let entry = this.arrays.get(name);
    if (!entry) {
      this.set(name, dtype, [0, ...shape.slice(1)], null);
      entry = this.arrays.get(name);
    }
    if (start > entry.rows) return false;  // rows missed: the whole data is asked for again
    const added = typedArray(dtype, buffer);
    const needed = (start + shape[0]) * entry.width;
    if (needed > entry.values.length) {
      const grown = new ARRAYS[dtype](Math.max(needed, 2 * entry.values.length, 1024));
      grown.set(entry.values.subarray(0, start * entry.width));
      entry.values = grown;
    }
    entry.values.set(added, start * entry.width);
    entry.rows = start + shape[0];
    return true;
  }

  // Apply one {type: "data", changes: [...]} message; false when rows were missed.
  apply(message, buffers) {
    let whole = true;
    message.changes.forEach((change, index) => {
      if (change.op === "set") {
        this.set(change.name, change.dtype, change.shape, buffers[index]);
      } else if (!this.append(change.name, change.dtype, change.shape, change.start, buffers[index])) {
        whole = false;
      }
    });
    this.version += 1;
    return whole;
  }

  rows(name) {
    const entry = this.arrays.get(name);
    return entry ? entry.rows : 0;
  }

  // The filled part of a channel (a view, not a copy).
  get(name) {
    const entry = this.arrays.get(name);
    return entry ? entry.values.subarray(0, entry.rows * entry.width) : null;
  }

  has(name) {
    return this.arrays.has(name);
  }
}

// Keep `channels` in step with the kernel; `changed()` runs after every change.
function listen(model, channels, changed) {
  channels.load();
  model.on("change:data", () => { channels.load(); changed(); });
  model.on("msg:custom", (message, buffers) => {
    if (message.type !== "data") return;
    if (!channels.apply(message, buffers || [])) model.send({type: "resync"});
    changed();
  });
}

// One paint per animation frame at most, however many changes arrive. The
// element's data-lt-paints and data-lt-paint-ms count the paints and their cost.
function painter(el, paint) {
  let pending = false;
  el.dataset.ltPaints = "0";
  el.dataset.ltPaintMs = "0";
  el.dataset.ltPaintMaxMs = "0";
  const run = () => {
    pending = false;
    const start = performance.now();
    paint();
    const spent = performance.now() - start;
    el.dataset.ltPaints = String(Number(el.dataset.ltPaints) + 1);
    el.dataset.ltPaintMs = String(Number(el.dataset.ltPaintMs) + spent);
    el.dataset.ltPaintMaxMs = String(Math.max(Number(el.dataset.ltPaintMaxMs), spent));
  };
  return () => {
    if (!pending) {
      pending = true;
      requestAnimationFrame(run);
    }
  };
}

// A canvas of `width` x `height` CSS pixels, sharp on high-density screens.
function makeCanvas(width, height, className) {
  const canvas = document.createElement("canvas");
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  canvas.style.display = "block";
  if (className) canvas.className = className;
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  return {canvas, ctx, width, height};
}

const FONT = "11px sans-serif";
const INK = "#333";
const GRID = "rgba(0, 0, 0, 0.08)";

// About `count` round tick values between lo and hi (steps of 1, 2, 2.5 or 5 x 10^k).
function niceTicks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const ticks = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  }
  return ticks;
}

// Powers of ten between lo and hi (a log axis); 2 and 5 between them when few decades show.
function logTicks(lo, hi) {
  const ticks = [];
  const first = Math.floor(Math.log10(lo));
  const last = Math.ceil(Math.log10(hi));
  const mantissas = last - first <= 2 ? [1, 2, 5] : [1];
  for (let e = first; e <= last; e += 1) {
    for (const m of mantissas) {
      const t = m * 10 ** e;
      if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) ticks.push(t);
    }
  }
  return ticks;
}

// Limits rounded outwards to a tick step, a little wider than the data.
function niceLimits(lo, hi, log = false) {
  if (log) {
    const low = Math.floor(Math.log10(lo));
    return [10 ** low, 10 ** Math.max(Math.ceil(Math.log10(hi)), low + 1)];  // at least one decade
  }
  if (!(hi > lo)) {
    const pad = Math.abs(lo) * 0.1 || 1;
    return [lo - pad, hi + pad];
  }
  const ticks = niceTicks(lo, hi, 5);
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : (hi - lo);
  return [Math.floor(lo / step + 1e-9) * step, Math.ceil(hi / step - 1e-9) * step];
}

// "0", "0.5", "250", "2.5k", "1.5M": short labels at a million steps too.
function tickText(value) {
  const size = Math.abs(value);
  for (const [scale, suffix] of [[1e9, "G"], [1e6, "M"], [1e3, "k"]]) {
    if (size >= scale) return `${+(value / scale).toPrecision(4)}${suffix}`;
  }
  if (size !== 0 && (size < 1e-3 || size >= 1e4)) return value.toExponential(1);
  const text = String(+value.toPrecision(4));
  return text === "-0" ? "0" : text;
}

// A linear or log mapping from data to pixels.
function scale(lo, hi, from, to, log = false) {
  if (log) {
    const a = Math.log10(lo);
    const span = Math.log10(hi) - a || 1;
    const map = (v) => from + ((Math.log10(v) - a) / span) * (to - from);
    map.invert = (p) => 10 ** (a + ((p - from) / (to - from)) * span);
    return map;
  }
  const span = hi - lo || 1;
  const map = (v) => from + ((v - lo) / span) * (to - from);
  map.invert = (p) => lo + ((p - from) / (to - from)) * span;
  return map;
}

// Grid lines, tick labels and axis labels around `box` ({left, top, right, bottom}).
function drawAxes(ctx, box, x, y, labels = {}) {
  ctx.save();
  ctx.font = FONT;
  ctx.fillStyle = INK;
  ctx.strokeStyle = GRID;
  ctx.lineWidth = 1;
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const t of x.ticks) {
    const px = Math.round(x.map(t)) + 0.5;
    ctx.beginPath(); ctx.moveTo(px, box.top); ctx.lineTo(px, box.bottom); ctx.stroke();
    ctx.fillText(tickText(t), px, box.bottom + 3);
  }
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const t of y.ticks) {
    const py = Math.round(y.map(t)) + 0.5;
    ctx.beginPath(); ctx.moveTo(box.left, py); ctx.lineTo(box.right, py); ctx.stroke();
    ctx.fillText(tickText(t), box.left - 4, py);
  }
  ctx.strokeStyle = "#999";
  ctx.strokeRect(box.left + 0.5, box.top + 0.5, box.right - box.left, box.bottom - box.top);
  if (labels.x) {
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    ctx.fillText(labels.x, (box.left + box.right) / 2, box.bottom + 30);
  }
  if (labels.y) {
    ctx.translate(12, (box.top + box.bottom) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(labels.y, 0, 0);
  }
  ctx.restore();
}

// A line through the rows `indices` of (xs, ys); a non-finite value (or one <= 0 on a log axis) breaks it.
function polyline(ctx, indices, xs, ys, x, y, log) {
  ctx.beginPath();
  let open = false;
  for (const i of indices) {
    const v = ys[i];
    if (!Number.isFinite(v) || (log && v <= 0)) { open = false; continue; }
    const px = x(xs[i]);
    const py = y(v);
    if (open) ctx.lineTo(px, py); else ctx.moveTo(px, py);
    open = true;
  }
  ctx.stroke();
}

// A marker at (px, py): a square (validation data) or a disc.
function marker(ctx, square, px, py, r) {
  ctx.beginPath();
  if (square) ctx.rect(px - r, py - r, 2 * r, 2 * r);
  else ctx.arc(px, py, r, 0, 2 * Math.PI);
  ctx.fill();
}

// A small box of text that follows the pointer over `host`.
function readout(host) {
  host.style.position = "relative";
  const box = document.createElement("div");
  box.className = "lt-readout";
  Object.assign(box.style, {
    position: "absolute", pointerEvents: "none", display: "none", whiteSpace: "pre",
    font: FONT, background: "rgba(255, 255, 255, 0.92)", border: "1px solid #bbb",
    padding: "2px 5px", borderRadius: "3px", color: INK, zIndex: 2,
  });
  host.appendChild(box);
  return {
    show(px, py, text) {
      box.textContent = text;
      box.style.display = "block";
      box.style.left = `${px + 12}px`;
      box.style.top = `${py + 12}px`;
    },
    hide() { box.style.display = "none"; },
    get text() { return box.style.display === "none" ? "" : box.textContent; },
  };
}

// A labelled control in the picture's tool row, told apart by its class.
function tool(row, className, element, label) {
  const wrap = document.createElement("label");
  wrap.className = className;
  Object.assign(wrap.style, {font: FONT, color: INK, marginRight: "12px", display: "inline-flex", alignItems: "center", gap: "4px"});
  if (label) wrap.append(label);
  wrap.append(element);
  row.appendChild(wrap);
  return element;
}

// A colour scale's pictures share this: "#rrggbb" as [r, g, b], and 256 colours from a scale's
// negative end through its middle to its positive end (palette: three "#rrggbb").
function hexRgb(hex) {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

function scaleTable(palette) {
  const [neg, mid, pos] = palette.map(hexRgb);
  const table = new Uint8Array(256 * 3);
  for (let code = 0; code < 256; code += 1) {
    const t = code / 255 * 2 - 1;
    const [a, b, f] = t < 0 ? [mid, neg, -t] : [mid, pos, t];
    for (let k = 0; k < 3; k += 1) table[3 * code + k] = Math.round(a[k] + (b[k] - a[k]) * f);
  }
  return table;
}

// The rest of this file is the picture's own module.
