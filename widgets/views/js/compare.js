// Several training runs on one plot: a panel per metric (loss first), one colour per run,
// training solid and validation dashed with square markers, the legend at the right.
// Channels of a run (its options key, "run0"): <key>:step (int32), <key>:loss (float32),
// <key>:epoch:<name> (a row per epoch). Options: runs [{name, key, colour, valid,
// steps_per_epoch}], panels ["loss", "acc", ...], smoothing.

const MARKERS_MAX = 60;
const LEGEND_ROW = 16;
const SWATCH = 20;

// Fractional epochs of a step, from the steps at which epochs ended (as the kernel's step_x does).
function epochOf(step, ends, count, perEpoch) {
  let lo = 0;
  let hi = count;
  while (lo < hi) {  // the first epoch end at or after `step`
    const mid = (lo + hi) >> 1;
    if (ends[mid] < step) lo = mid + 1; else hi = mid;
  }
  if (lo < count) {
    const start = lo ? ends[lo - 1] : 0;
    return lo + (step - start) / ((ends[lo] - start) || 1);
  }
  const last = count ? ends[count - 1] : 0;
  const per = perEpoch || (count ? last - (count > 1 ? ends[count - 2] : 0) : 0) || 1;
  return count + (step - last) / per;
}

// Where an axis from 0 ends for data reaching `high`, as the still's axis_end: 1, 1.2, 1.5, 1.8, 2, ... 8 x 10^k.
const AXIS_ENDS = [1, 1.2, 1.5, 1.8, 2, 2.5, 3, 3.5, 4, 5, 6, 7, 8, 10];
function axisEnd(high) {
  if (!(high > 0)) return 1;
  const target = high * 1.02;
  const power = 10 ** Math.floor(Math.log10(target));
  return AXIS_ENDS.map((m) => m * power).find((end) => end >= target * (1 - 1e-12));
}

// A Float64Array of at least `size` values keeping the first `kept` of `array`.
function grown(array, size, kept) {
  if (size <= array.length) return array;
  const bigger = new Float64Array(Math.max(size, 2 * array.length, 1024));
  bigger.set(array.subarray(0, kept));
  return bigger;
}

// Rows to draw of a line sorted by x: the min and max of every pixel column. Closed columns
// are kept between paints, so a paint scans only the rows of the last column and the new ones.
class Envelope {
  constructor() { this.reset(null); }

  reset(key) {
    this.key = key;
    this.picks = [];
    this.closed = 0;  // picks of the closed columns
    this.open = 0;    // the first row of the last column
  }

  rows(key, xs, ys, rows, map) {
    if (key !== this.key || rows < this.open) this.reset(key);
    const picks = this.picks;
    picks.length = this.closed;
    let column = null;
    let low = -1;
    let high = -1;
    const flush = () => {
      if (low < 0) return;
      if (low === high) picks.push(low);
      else if (low < high) picks.push(low, high);
      else picks.push(high, low);
    };
    for (let i = this.open; i < rows; i += 1) {
      const c = Math.floor(map(xs[i]));
      if (c !== column) {
        if (column !== null) {
          flush();
          this.closed = picks.length;
          this.open = i;
        }
        column = c;
        low = high = -1;
      }
      const v = ys[i];
      if (!Number.isFinite(v)) continue;
      if (low < 0 || v < ys[low]) low = i;
      if (high < 0 || v > ys[high]) high = i;
    }
    flush();
    return picks;
  }
}

// One run's step rows made ready to draw: x of every step and the debiased moving average
// of the loss with its extremes, extended as rows arrive, started over when the kernel
// replaced the run's rows (a cleared, loaded or thinned history).
class RunRows {
  constructor() { this.reset(null); }

  reset(entry) {
    this.entry = entry;
    this.endsEntry = null;
    this.rows = 0;
    this.state = 0;
    this.weight = 0;
    this.smooth = new Float64Array(0);
    this.lo = Infinity;
    this.hi = -Infinity;
    this.loPositive = Infinity;
    this.xs = null;                       // x of every step: the steps themselves, or `placed`
    this.placed = new Float64Array(0);    // fractional epochs of the steps
    this.xRows = 0;
    this.xMode = null;
    this.epochs = 0;
    this.envelope = new Envelope();
  }

  update(channels, run, byEpoch, decay) {
    const entry = channels.generation(`${run.key}:step`);
    if (entry !== this.entry) this.reset(entry);
    const rows = Math.min(channels.rows(`${run.key}:step`), channels.rows(`${run.key}:loss`));
    const steps = channels.get(`${run.key}:step`);
    const loss = channels.get(`${run.key}:loss`);
    this.smooth = grown(this.smooth, rows, this.rows);
    for (let i = this.rows; i < rows; i += 1) {
      const v = loss[i];
      if (Number.isFinite(v)) {
        this.state = decay * this.state + (1 - decay) * v;
        this.weight += 1;
      }
      const s = this.weight ? this.state / (1 - decay ** this.weight) : NaN;
      this.smooth[i] = s;
      if (Number.isFinite(s)) {
        this.lo = Math.min(this.lo, s);
        this.hi = Math.max(this.hi, s);
        if (s > 0) this.loPositive = Math.min(this.loPositive, s);
      }
    }
    this.rows = rows;
    this.steps = steps;
    this.placeSteps(channels, run, byEpoch);
  }

  // x of every step: the step itself, or its fractional epoch. When an epoch ends, only the
  // steps after the last end known before are placed again; if any moved, the envelope starts over.
  placeSteps(channels, run, byEpoch) {
    const mode = byEpoch ? "epochs" : "steps";
    const endsEntry = channels.generation(`${run.key}:epoch:step`);
    if (mode !== this.xMode || (byEpoch && endsEntry !== this.endsEntry)) {  // new mode, or epochs sent anew
      this.endsEntry = endsEntry;
      this.xMode = mode;
      this.xRows = 0;
      this.epochs = 0;
      this.envelope.reset(null);
    }
    if (!byEpoch) {
      this.xs = this.steps;
      this.xRows = this.rows;
      return;
    }
    const ends = channels.get(`${run.key}:epoch:step`) || new Float64Array(0);
    const count = ends.length;
    let from = this.xRows;
    if (count !== this.epochs) {
      const lastEnd = this.epochs ? ends[this.epochs - 1] : -Infinity;
      let lo = 0;
      let hi = this.xRows;
      while (lo < hi) {  // the first step after the last end known before
        const mid = (lo + hi) >> 1;
        if (this.steps[mid] <= lastEnd) lo = mid + 1; else hi = mid;
      }
      from = lo;
      this.epochs = count;
    }
    this.placed = grown(this.placed, this.rows, this.xRows);
    let moved = false;
    for (let i = from; i < this.rows; i += 1) {
      const x = epochOf(this.steps[i], ends, count, run.steps_per_epoch);
      if (i < this.xRows && x !== this.placed[i]) moved = true;
      this.placed[i] = x;
    }
    this.xs = this.placed;
    if (moved) this.envelope.reset(null);
    this.xRows = this.rows;
  }
}

// A line's sample of a split: solid for training, dashed for validation.
function lineStyle(ctx, split, colour, width) {
  ctx.strokeStyle = colour;
  ctx.fillStyle = colour;
  ctx.lineWidth = width;
  ctx.setLineDash(split === "valid" ? [5, 3] : []);
}

// `text` cut with an ellipsis to fit `room` pixels.
function fitted(ctx, text, room) {
  if (ctx.measureText(text).width <= room) return text;
  let cut = text.length;
  while (cut > 1 && ctx.measureText(`${text.slice(0, cut)}…`).width > room) cut -= 1;
  return `${text.slice(0, cut)}…`;
}

// The index of the row of `xs` (sorted) nearest to `target` among the first `rows`.
function nearestRow(xs, rows, target) {
  let lo = 0;
  let hi = rows - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < target) lo = mid + 1; else hi = mid;
  }
  if (lo > 0 && Math.abs(xs[lo - 1] - target) <= Math.abs(xs[lo] - target)) lo -= 1;
  return lo;
}

function render({model, el}) {
  const channels = new Channels(model);
  const cache = new Map();  // run key -> RunRows
  const bar = document.createElement("div");
  bar.style.marginBottom = "4px";
  const xSelect = document.createElement("select");
  for (const option of ["epochs", "steps"]) xSelect.add(new Option(option, option));
  const logBox = document.createElement("input");
  logBox.type = "checkbox";
  tool(bar, "lt-compare-x", xSelect, "x:");
  tool(bar, "lt-compare-log", logBox, "log scale");
  const host = document.createElement("div");
  const {canvas, ctx, width, height} = makeCanvas(model.get("width"), model.get("height"), "lt-canvas");
  host.appendChild(canvas);
  el.append(bar, host);
  const tip = readout(host);
  let drawn = [];  // the panels of the last paint, for the readout

  const syncTools = () => {
    xSelect.value = model.get("x_axis");
    logBox.checked = model.get("log_scale");
  };
  const setOption = (name, value) => { model.set(name, value); model.save_changes(); };
  xSelect.onchange = () => setOption("x_axis", xSelect.value);
  logBox.onchange = () => setOption("log_scale", logBox.checked);

  const rowsOf = (run) => {
    if (!cache.has(run.key)) cache.set(run.key, new RunRows());
    return cache.get(run.key);
  };

  const paint = () => {
    const options = model.get("options") || {};
    const runs = options.runs || [];
    const panels = options.panels || ["loss"];
    const decay = options.smoothing || 0;
    const log = model.get("log_scale");
    const byEpoch = model.get("x_axis") === "epochs";
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = "white";
    ctx.fillRect(0, 0, width, height);
    ctx.font = FONT;

    // Each run's step rows and epoch columns, and how far x reaches.
    let xHigh = 0;
    const data = runs.map((run) => {
      const steps = rowsOf(run);
      steps.update(channels, run, byEpoch, decay);
      const epochs = channels.rows(`${run.key}:epoch:step`);
      const numbers = channels.get(`${run.key}:epoch:epoch`);
      const ends = channels.get(`${run.key}:epoch:step`);
      const ex = new Float64Array(epochs);
      for (let i = 0; i < epochs; i += 1) ex[i] = byEpoch ? (numbers ? numbers[i] : i + 1) : ends[i];
      if (steps.rows) xHigh = Math.max(xHigh, steps.xs[steps.rows - 1]);
      if (epochs) xHigh = Math.max(xHigh, ex[epochs - 1]);
      return {run, steps, epochs, ex, numbers};
    });
    const xLimits = [0, axisEnd(xHigh)];

    // The legend: runs, then the two splits, in a column at the right.
    const names = runs.map((run) => run.name);
    const widest = Math.max(40, ...names.map((name) => ctx.measureText(name).width));
    const legendWidth = Math.min(widest + SWATCH + 14, Math.round(width * 0.3));
    const legendLeft = width - legendWidth;
    const entries = runs.map((run) => ({label: run.name, colour: run.colour, split: "train", run: true}));
    entries.push({label: "train", colour: "#555", split: "train"});
    if (runs.some((run) => run.valid)) entries.push({label: "valid", colour: "#555", split: "valid"});
    ctx.save();
    ctx.textBaseline = "middle";
    entries.forEach((entry, index) => {
      const y = 16 + index * LEGEND_ROW;
      if (y > height - 8) return;
      lineStyle(ctx, entry.split, entry.colour, entry.run ? 2.5 : 1.5);
      ctx.beginPath(); ctx.moveTo(legendLeft, y); ctx.lineTo(legendLeft + SWATCH, y); ctx.stroke();
      if (!entry.run) marker(ctx, entry.split === "valid", legendLeft + SWATCH / 2, y, 2.5);
      ctx.fillStyle = INK;
      ctx.fillText(fitted(ctx, entry.label, legendWidth - SWATCH - 8), legendLeft + SWATCH + 6, y);
    });
    ctx.restore();

    // The panels, side by side left of the legend.
    const span = (legendLeft - 10) / panels.length;
    drawn = panels.map((panel, p) => {
      const box = {left: Math.round(p * span + 48), top: 22, right: Math.round((p + 1) * span - 8), bottom: height - 36};
      const logged = log && panel === "loss";
      const lines = [];
      for (const {run, steps, epochs, ex, numbers} of data) {
        if (panel === "loss") {
          lines.push({run, split: "train", xs: steps.xs, ys: steps.smooth, rows: steps.rows, steps: steps.steps, rowsOf: steps});
        }
        for (const split of run.valid ? ["train", "valid"] : ["train"]) {
          if (panel === "loss" && split === "train") continue;
          const ys = channels.get(`${run.key}:epoch:${split}_${panel}`);
          if (ys) lines.push({run, split, xs: ex, ys, rows: Math.min(epochs, ys.length), numbers});
        }
      }
      let lo = Infinity;
      let hi = -Infinity;
      for (const line of lines) {
        if (line.rowsOf) {
          lo = Math.min(lo, logged ? line.rowsOf.loPositive : line.rowsOf.lo);
          hi = Math.max(hi, line.rowsOf.hi);
          continue;
        }
        for (let i = 0; i < line.rows; i += 1) {
          const v = line.ys[i];
          if (Number.isFinite(v) && (!logged || v > 0)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
        }
      }
      let yLimits = logged ? [0.1, 1] : [0, 1];
      if (hi >= lo) {
        if (panel === "loss") {
          if (!logged && lo >= 0 && lo < 0.25 * hi) lo = 0;
          yLimits = niceLimits(lo, hi, logged);
        } else {
          yLimits = lo >= 0 && hi <= 1 ? [0, 1] : niceLimits(lo, hi);
        }
      }
      const x = scale(xLimits[0], xLimits[1], box.left, box.right);
      const y = scale(yLimits[0], yLimits[1], box.bottom, box.top, logged);
      drawAxes(ctx, box, {map: x, ticks: niceTicks(xLimits[0], xLimits[1], panels.length > 2 ? 3 : 5)},
        {map: y, ticks: logged ? logTicks(yLimits[0], yLimits[1]) : niceTicks(yLimits[0], yLimits[1], 4)},
        {x: byEpoch ? "epoch" : "step"});
      ctx.save();
      ctx.fillStyle = INK;
      ctx.textBaseline = "middle";
      ctx.fillText(panel, box.left, 11);
      ctx.beginPath();
      ctx.rect(box.left, box.top, box.right - box.left, box.bottom - box.top);
      ctx.clip();
      ctx.lineJoin = "round";
      for (const line of lines) {
        lineStyle(ctx, line.split, line.run.colour, line.rowsOf ? 1.8 : 1.5);
        if (line.rowsOf) {
          const key = `${xLimits[1]}|${box.left}|${box.right}`;
          polyline(ctx, line.rowsOf.envelope.rows(key, line.xs, line.ys, line.rows, x), line.xs, line.ys, x, y, logged);
          continue;
        }
        const every = Math.max(1, Math.floor(line.rows / MARKERS_MAX));
        const at = Array.from({length: line.rows}, (_, i) => i);
        polyline(ctx, at, line.xs, line.ys, x, y, logged);
        for (let i = 0; i < line.rows; i += every) {
          const v = line.ys[i];
          if (Number.isFinite(v) && (!logged || v > 0)) marker(ctx, line.split === "valid", x(line.xs[i]), y(v), 2.5);
        }
      }
      ctx.restore();
      return {panel, box, x, y, lines, logged};
    });
  };

  const request = painter(el, paint);
  listen(model, channels, request);
  for (const name of ["options", "log_scale", "x_axis"]) {
    model.on(`change:${name}`, () => { syncTools(); request(); });
  }
  syncTools();
  request();

  // The readout: the run and value nearest the pointer in the panel under it, with its step or epoch.
  canvas.addEventListener("mousemove", (event) => {
    const rect = canvas.getBoundingClientRect();
    const px = event.clientX - rect.left;
    const py = event.clientY - rect.top;
    const at = drawn.find(({box}) => px >= box.left && px <= box.right && py >= box.top && py <= box.bottom);
    let best = null;
    for (const line of at ? at.lines : []) {
      if (!line.rows) continue;
      const i = nearestRow(line.xs, line.rows, at.x.invert(px));
      const v = line.ys[i];
      if (!Number.isFinite(v) || (at.logged && v <= 0)) continue;
      const distance = Math.hypot(at.x(line.xs[i]) - px, at.y(v) - py);
      if (!best || distance < best.distance) best = {line, i, v, distance};
    }
    if (!best) {
      tip.hide();
      return;
    }
    const {line, i, v} = best;
    const what = line.rowsOf
      ? `${(model.get("options") || {}).smoothing ? "smoothed " : ""}loss ${v.toPrecision(4)}`
      : `${line.split} ${at.panel} ${v.toPrecision(4)}`;
    const when = line.rowsOf
      ? `step ${Math.round(line.steps[i]).toLocaleString("en-US")}`
      : `epoch ${line.numbers ? line.numbers[i] : i + 1}`;
    tip.show(px, py, [line.run.name, what, when].join("\n"));
  });
  canvas.addEventListener("mouseleave", () => tip.hide());
}

export default {render};
