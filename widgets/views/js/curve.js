// The loss curve: the raw loss per step (faint) and its moving average, the
// epoch losses as markers, and the metrics on a panel of their own.
// Channels: step (int32), loss (float32), epoch:<key> (one row per epoch).

const STEP_ALPHA = 0.3;
const MARKERS_MAX = 100;

// The debiased moving average of `loss` (non-finite rows hold the average), extended as rows arrive.
class Smoother {
  constructor() { this.reset(-1, 0); }

  reset(decay, generation) {
    this.decay = decay;
    this.generation = generation;
    this.rows = 0;
    this.state = 0;
    this.weight = 0;
    this.values = new Float32Array(0);
  }

  // `generation` says which replacement of the loss channel `loss` is: a new one starts the average again.
  update(loss, rows, decay, generation) {
    if (decay !== this.decay || rows < this.rows || generation !== this.generation) this.reset(decay, generation);
    if (rows > this.values.length) {
      const grown = new Float32Array(Math.max(rows, 2 * this.values.length, 1024));
      grown.set(this.values.subarray(0, this.rows));
      this.values = grown;
    }
    for (let i = this.rows; i < rows; i += 1) {
      const v = loss[i];
      if (Number.isFinite(v)) {
        this.state = decay * this.state + (1 - decay) * v;
        this.weight += 1;
      }
      this.values[i] = this.weight ? this.state / (1 - decay ** this.weight) : NaN;
    }
    this.rows = rows;
    return this.values;
  }
}

// Fractional epochs of steps, from the steps at which epochs ended (as the kernel's step_x does).
function epochOf(step, ends, perEpoch) {
  let lo = 0;
  let hi = ends.length;
  while (lo < hi) {  // the first epoch end at or after `step`
    const mid = (lo + hi) >> 1;
    if (ends[mid] < step) lo = mid + 1; else hi = mid;
  }
  if (lo < ends.length) {
    const start = lo ? ends[lo - 1] : 0;
    return lo + (step - start) / ((ends[lo] - start) || 1);
  }
  const last = ends.length ? ends[ends.length - 1] : 0;
  const before = ends.length > 1 ? ends[ends.length - 2] : 0;
  const per = perEpoch || (ends.length ? last - before : 0) || 1;
  return ends.length + (step - last) / per;
}

// Indices of the rows to draw: first, min and max of each pixel column, last.
function envelope(xs, ys, rows, map) {
  const chosen = [];
  let column = null;
  let lowAt = -1;
  let highAt = -1;
  const flush = () => {
    if (lowAt < 0) return;
    if (lowAt === highAt) chosen.push(lowAt);
    else if (lowAt < highAt) chosen.push(lowAt, highAt);
    else chosen.push(highAt, lowAt);
  };
  for (let i = 0; i < rows; i += 1) {
    const c = Math.floor(map(xs[i]));
    if (c !== column) { flush(); column = c; lowAt = highAt = -1; }
    const v = ys[i];
    if (!Number.isFinite(v)) continue;
    if (lowAt < 0 || v < ys[lowAt]) lowAt = i;
    if (highAt < 0 || v > ys[highAt]) highAt = i;
  }
  flush();
  return chosen;
}

// Where an axis from 0 ends for data reaching `high`: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^k.
function axisEnd(high) {
  if (!(high > 0)) return 1;
  const target = high * 1.02;
  const power = 10 ** Math.floor(Math.log10(target));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
    if (m * power >= target) return m * power;
  }
  return 10 * power;
}

function render({model, el}) {
  const channels = new Channels(model);
  const smoother = new Smoother();
  const bar = document.createElement("div");
  bar.style.marginBottom = "4px";
  const xSelect = document.createElement("select");
  for (const option of ["steps", "epochs"]) xSelect.add(new Option(option, option));
  const logBox = document.createElement("input");
  logBox.type = "checkbox";
  const smoothRange = document.createElement("input");
  Object.assign(smoothRange, {type: "range", min: "0", max: "0.99", step: "0.01"});
  smoothRange.style.width = "90px";
  tool(bar, "lt-curve-x", xSelect, "x:");
  tool(bar, "lt-curve-log", logBox, "log scale");
  tool(bar, "lt-curve-smoothing", smoothRange, "smoothing");
  const host = document.createElement("div");
  const {canvas, ctx, width, height} = makeCanvas(model.get("width"), model.get("height"), "lt-canvas");
  host.appendChild(canvas);
  el.append(bar, host);
  const tip = readout(host);
  let layout = null;  // what the last paint drew, for the readout

  const syncTools = () => {
    xSelect.value = model.get("x_axis");
    logBox.checked = model.get("log_scale");
    smoothRange.value = String(model.get("smoothing"));
  };
  const setOption = (name, value) => { model.set(name, value); model.save_changes(); };
  xSelect.onchange = () => setOption("x_axis", xSelect.value);
  logBox.onchange = () => setOption("log_scale", logBox.checked);
  smoothRange.oninput = () => setOption("smoothing", Number(smoothRange.value));

  const paint = () => {
    const options = model.get("options") || {};
    const colours = options.colours || {train: "#1f77b4", valid: "#e66100"};
    const metrics = (options.metrics || []).filter((m) => channels.has(`epoch:${m.key}`));
    const log = model.get("log_scale");
    const byEpoch = model.get("x_axis") === "epochs";
    const rows = channels.rows("step");
    const steps = channels.get("step") || new Float64Array(0);
    const loss = channels.get("loss") || new Float32Array(0);
    const decay = model.get("smoothing");
    const smooth = decay > 0 ? smoother.update(loss, rows, decay, channels.generation("loss")) : loss;
    const ends = channels.get("epoch:step") || new Float64Array(0);
    const epochs = channels.rows("epoch:step");
    const epochNumbers = channels.get("epoch:epoch");
    const xOfStep = byEpoch ? (s) => epochOf(s, ends, options.steps_per_epoch) : (s) => s;
    const xOfEpoch = (i) => (byEpoch ? (epochNumbers ? epochNumbers[i] : i + 1) : ends[i]);

    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = "white";
    ctx.fillRect(0, 0, width, height);
    const split = metrics.length ? Math.round(width * 0.6) : width;
    const lossBox = {left: 52, top: 22, right: split - 14, bottom: height - 36};

    // The loss panel: limits from 0 (or whole decades) to past the largest loss.
    let xHigh = 0;
    if (rows) xHigh = xOfStep(steps[rows - 1]);
    if (epochs) xHigh = Math.max(xHigh, xOfEpoch(epochs - 1));
    const xLimits = [0, axisEnd(xHigh)];
    let lo = Infinity;
    let hi = -Infinity;
    const seen = (v) => { if (Number.isFinite(v) && (!log || v > 0)) { lo = Math.min(lo, v); hi = Math.max(hi, v); } };
    for (let i = 0; i < rows; i += 1) seen(loss[i]);
    for (const key of ["train_loss", "valid_loss"]) {
      const column = channels.get(`epoch:${key}`);
      if (column) column.forEach(seen);
    }
    let yLimits = log ? [0.1, 1] : [0, 1];
    if (hi >= lo) {
      if (!log && lo >= 0 && lo < 0.25 * hi) lo = 0;
      yLimits = niceLimits(lo, hi, log);
    }
    const x = scale(xLimits[0], xLimits[1], lossBox.left, lossBox.right);
    const y = scale(yLimits[0], yLimits[1], lossBox.bottom, lossBox.top, log);
    drawAxes(ctx, lossBox, {map: x, ticks: niceTicks(xLimits[0], xLimits[1], 5)},
      {map: y, ticks: log ? logTicks(yLimits[0], yLimits[1]) : niceTicks(yLimits[0], yLimits[1], 4)},
      {x: byEpoch ? "epoch" : "step", y: "loss"});

    const xs = byEpoch ? Float64Array.from(steps.subarray(0, rows), xOfStep) : steps;
    ctx.save();
    ctx.beginPath();
    ctx.rect(lossBox.left, lossBox.top, lossBox.right - lossBox.left, lossBox.bottom - lossBox.top);
    ctx.clip();
    ctx.lineJoin = "round";
    ctx.strokeStyle = colours.train;
    ctx.globalAlpha = STEP_ALPHA;
    ctx.lineWidth = 1;
    polyline(ctx, envelope(xs, loss, rows, x), xs, loss, x, y, log);
    ctx.globalAlpha = 1;
    ctx.lineWidth = 1.8;
    if (decay > 0) polyline(ctx, envelope(xs, smooth, rows, x), xs, smooth, x, y, log);
    const epochLine = (key, colour, shape, box, xMap, yMap) => {
      const column = channels.get(`epoch:${key}`);
      if (!column) return;
      const at = Array.from({length: epochs}, (_, i) => i);
      const ex = Float64Array.from(at, xOfEpoch);
      ctx.strokeStyle = colour;
      ctx.fillStyle = colour;
      ctx.lineWidth = 1;
      ctx.setLineDash(shape === "square" ? [4, 3] : []);
      polyline(ctx, at, ex, column, xMap, yMap, log && yMap === y);
      ctx.setLineDash([]);
      const every = Math.max(1, Math.floor(epochs / MARKERS_MAX));
      for (let i = 0; i < epochs; i += every) {
        if (Number.isFinite(column[i])) marker(ctx, shape === "square", xMap(ex[i]), yMap(column[i]), 2.5);
      }
    };
    epochLine("train_loss", colours.train, "circle", lossBox, x, y);
    epochLine("valid_loss", colours.valid, "square", lossBox, x, y);
    ctx.restore();

    // The legend, in a row above the panel.
    ctx.save();
    ctx.font = FONT;
    ctx.textBaseline = "middle";
    let lx = lossBox.left;
    const entries = [["loss per step", colours.train, STEP_ALPHA], ["smoothed", colours.train, 1]];
    if (channels.has("epoch:train_loss")) entries.push(["train", colours.train, 1]);
    if (channels.has("epoch:valid_loss")) entries.push(["valid", colours.valid, 1]);
    for (const [label, colour, alpha] of entries) {
      ctx.globalAlpha = alpha;
      ctx.fillStyle = colour;
      ctx.fillRect(lx, 8, 14, 3);
      ctx.globalAlpha = 1;
      ctx.fillStyle = INK;
      ctx.fillText(label, lx + 18, 10);
      lx += 26 + ctx.measureText(label).width;
    }
    ctx.restore();

    // The metric panel: fractions on 0..1, anything else on rounded limits.
    let metricBox = null;
    if (metrics.length) {
      metricBox = {left: split + 40, top: 22, right: width - 10, bottom: height - 36};
      let mlo = Infinity;
      let mhi = -Infinity;
      for (const m of metrics) {
        for (const v of channels.get(`epoch:${m.key}`)) {
          if (Number.isFinite(v)) { mlo = Math.min(mlo, v); mhi = Math.max(mhi, v); }
        }
      }
      const mLimits = !(mhi >= mlo) || (mlo >= 0 && mhi <= 1) ? [0, 1] : niceLimits(mlo, mhi);
      const mx = scale(xLimits[0], xLimits[1], metricBox.left, metricBox.right);
      const my = scale(mLimits[0], mLimits[1], metricBox.bottom, metricBox.top);
      const names = [...new Set(metrics.map((m) => m.name))];
      drawAxes(ctx, metricBox, {map: mx, ticks: niceTicks(xLimits[0], xLimits[1], 3)},
        {map: my, ticks: niceTicks(mLimits[0], mLimits[1], 4)}, {x: byEpoch ? "epoch" : "step"});
      ctx.save();
      ctx.font = FONT;
      ctx.fillStyle = INK;
      ctx.fillText(names.length === 1 ? names[0] : "metric", metricBox.left, 12);
      for (const m of metrics) {
        epochLine(m.key, colours[m.split] || colours.train, m.split === "valid" ? "square" : "circle", metricBox, mx, my);
      }
      ctx.restore();
    }
    layout = {lossBox, x, y, xs, rows, loss, smooth, decay, steps, metricBox};
  };

  const request = painter(el, paint);
  listen(model, channels, request);
  for (const name of ["options", "log_scale", "x_axis", "smoothing"]) {
    model.on(`change:${name}`, () => { syncTools(); request(); });
  }
  syncTools();
  request();

  // The readout: the step nearest the pointer, its loss and the smoothed loss.
  canvas.addEventListener("mousemove", (event) => {
    const rect = canvas.getBoundingClientRect();
    const px = event.clientX - rect.left;
    const py = event.clientY - rect.top;
    const L = layout;
    if (!L || !L.rows || px < L.lossBox.left || px > L.lossBox.right || py < L.lossBox.top || py > L.lossBox.bottom) {
      tip.hide();
      return;
    }
    const target = L.x.invert(px);
    let lo = 0;
    let hi = L.rows - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (L.xs[mid] < target) lo = mid + 1; else hi = mid;
    }
    if (lo > 0 && Math.abs(L.xs[lo - 1] - target) < Math.abs(L.xs[lo] - target)) lo -= 1;
    const lines = [`step ${Math.round(L.steps[lo]).toLocaleString("en-US")}`, `loss ${L.loss[lo].toPrecision(4)}`];
    if (L.decay > 0) lines.push(`smoothed ${L.smooth[lo].toPrecision(4)}`);
    tip.show(px, py, lines.join("\n"));
  });
  canvas.addEventListener("mouseleave", () => tip.hide());
}

export default {render};
