// GradientFlow: the gradient norm of every layer over the steps on a log axis,
// one line per layer from the input layer (dark) to the output layer (light),
// a colour key naming the layers, and a readout of the layer under the pointer.
// Channels: step (float64, one row per recorded step), norms (float32, [rows, layers]).
// Options: layers (names, input first), colours (one per layer), label (of the norm axis).

const AXIS_MANTISSAS = [1, 1.2, 1.5, 1.8, 2, 2.5, 3, 3.5, 4, 5, 6, 7, 8, 10];  // as the kernel's axis_end
const HEADROOM = 0.02;
const EMPTY_LIMITS = [1e-3, 1];
const NAME_LENGTH = 20;
const MAX_LABELLED = 12;
const STRIP = 14;

// Where the step axis ends for steps reaching `high` (the still picture's axis_end).
function axisEnd(high) {
  if (!(high > 0)) return 1;
  const target = high * (1 + HEADROOM);
  const power = 10 ** Math.floor(Math.log10(target));
  return AXIS_MANTISSAS.map((m) => m * power).find((end) => end >= target * (1 - 1e-12));
}

// Whole decades around [lo, hi], as the still picture's norm_limits.
function decades(lo, hi) {
  if (!(hi >= lo && lo > 0)) return EMPTY_LIMITS;
  const low = 10 ** Math.floor(Math.log10(lo));
  const high = 10 ** Math.ceil(Math.log10(hi) + 1e-12);
  return high > low ? [low, high] : [low, 10 * low];
}

function shortName(name) {
  return name.length <= NAME_LENGTH ? name : `…${name.slice(-(NAME_LENGTH - 1))}`;
}

// The layers the key names: all up to 12, else every k-th and the last.
function labelled(count) {
  const every = Math.max(1, Math.ceil(count / MAX_LABELLED));
  const chosen = [];
  for (let i = 0; i < count; i += every) chosen.push(i);
  if (count && chosen[chosen.length - 1] !== count - 1) chosen.push(count - 1);
  return chosen;
}

// Per layer and pixel column: the rows of the lowest and the highest finite
// norm there (drawn in their order, as curve.js draws its loss), and whether a
// gap (no gradient) fell there; also the smallest and largest positive norm.
// Kept as rows arrive, so a paint reads only the new rows unless the step axis
// or the data were replaced.
class ColumnPicks {
  constructor() { this.key = null; }

  reset(key, columns, layers) {
    this.key = key;
    this.columns = columns;
    this.layers = layers;
    this.rows = 0;
    this.picks = new Int32Array(columns * layers * 2).fill(-1);
    this.gaps = new Uint8Array(columns * layers);
    this.low = Infinity;
    this.high = -Infinity;
  }

  update(steps, norms, rows, columnOf) {
    const {layers, picks, gaps, columns} = this;
    for (let i = this.rows; i < rows; i += 1) {
      const c = Math.min(columns - 1, Math.max(0, Math.floor(columnOf(steps[i]))));
      for (let j = 0; j < layers; j += 1) {
        const v = norms[i * layers + j];
        const cell = c * layers + j;
        if (!Number.isFinite(v)) { gaps[cell] = 1; continue; }
        if (v > 0) {
          if (v < this.low) this.low = v;
          if (v > this.high) this.high = v;
        }
        const at = cell * 2;
        if (picks[at] < 0) {
          picks[at] = i; picks[at + 1] = i;
        } else if (v < norms[picks[at] * layers + j]) {
          picks[at] = i;
        } else if (v > norms[picks[at + 1] * layers + j]) {
          picks[at + 1] = i;
        }
      }
    }
    this.rows = rows;
  }
}

function render({model, el}) {
  const channels = new Channels(model);
  const picks = new ColumnPicks();
  const host = document.createElement("div");
  const {canvas, ctx, width, height} = makeCanvas(model.get("width"), model.get("height"), "lt-canvas lt-gradients-canvas");
  host.appendChild(canvas);
  el.appendChild(host);
  const tip = readout(host);
  let layout = null;  // what the last paint drew, for the readout

  const keyWidth = (names) => {
    ctx.save();
    ctx.font = FONT;
    const widest = Math.max(0, ...labelled(names.length).map((i) => ctx.measureText(shortName(names[i])).width));
    ctx.restore();
    return STRIP + 6 + Math.ceil(widest) + 22;  // strip, gap, names, the rotated "layer"
  };

  const paint = () => {
    const options = model.get("options") || {};
    const names = options.layers || [];
    const colours = options.colours || [];
    const count = names.length;
    const rows = channels.rows("step");
    const steps = channels.get("step") || new Float64Array(0);
    const norms = channels.get("norms") || new Float32Array(0);
    const stored = channels.arrays.get("norms");

    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = "white";
    ctx.fillRect(0, 0, width, height);
    const key = keyWidth(names);
    const box = {left: 58, top: 10, right: width - key - 14, bottom: height - 36};
    const xLimits = [0, rows ? axisEnd(steps[rows - 1]) : 1];
    const x = scale(xLimits[0], xLimits[1], box.left, box.right);

    // Which rows to draw and the norm limits, from the rows that are new since the last paint.
    const columns = Math.max(1, Math.ceil(box.right - box.left));
    const identity = `${xLimits[1]}|${box.left}|${box.right}|${count}`;
    if (picks.key !== identity || picks.values !== (stored && stored.values) || rows < picks.rows) {
      picks.reset(identity, columns, count);
      picks.values = stored && stored.values;
    }
    if (count) picks.update(steps, norms, rows, (s) => x(s) - box.left);
    const yLimits = decades(picks.low, picks.high);
    const y = scale(yLimits[0], yLimits[1], box.bottom, box.top, true);
    drawAxes(ctx, box, {map: x, ticks: niceTicks(xLimits[0], xLimits[1], 5)},
      {map: y, ticks: logTicks(yLimits[0], yLimits[1])}, {x: "step", y: options.label || "gradient norm"});

    // One line per layer; a zero norm on the bottom edge (drawn whole, over the frame), a step without gradient a gap.
    ctx.save();
    ctx.beginPath();
    ctx.rect(box.left, box.top - 2, box.right - box.left, box.bottom - box.top + 4);
    ctx.clip();
    ctx.lineWidth = 1.3;
    ctx.lineJoin = "round";
    for (let j = 0; j < count; j += 1) {
      ctx.strokeStyle = colours[j] || INK;
      ctx.beginPath();
      let open = false;
      for (let c = 0; c < columns; c += 1) {
        const cell = c * count + j;
        const low = picks.picks[2 * cell];
        if (low >= 0) {
          const high = picks.picks[2 * cell + 1];
          const a = Math.min(low, high);
          const b = Math.max(low, high);
          const va = norms[a * count + j];
          const pa = y(va > 0 ? va : yLimits[0]);
          if (open) ctx.lineTo(x(steps[a]), pa); else ctx.moveTo(x(steps[a]), pa);
          if (b !== a) {
            const vb = norms[b * count + j];
            ctx.lineTo(x(steps[b]), y(vb > 0 ? vb : yLimits[0]));
          }
          open = true;
        }
        if (picks.gaps[cell]) open = false;
      }
      ctx.stroke();
    }
    ctx.restore();
    if (!rows) {
      ctx.save();
      ctx.font = FONT;
      ctx.fillStyle = "#777";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText("no gradients yet", (box.left + box.right) / 2, (box.top + box.bottom) / 2);
      ctx.restore();
    }

    // The key: one band per layer, the input layer on top, every name up to 12.
    const strip = {left: box.right + 14, right: box.right + 14 + STRIP, top: box.top, bottom: box.bottom};
    const band = count ? (strip.bottom - strip.top) / count : 0;
    ctx.save();
    for (let j = 0; j < count; j += 1) {
      ctx.fillStyle = colours[j] || INK;
      ctx.fillRect(strip.left, strip.top + j * band, STRIP, Math.ceil(band));
    }
    ctx.strokeStyle = "#999";
    ctx.strokeRect(strip.left + 0.5, strip.top + 0.5, STRIP, strip.bottom - strip.top);
    ctx.font = FONT;
    ctx.fillStyle = INK;
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    for (const j of labelled(count)) ctx.fillText(shortName(names[j]), strip.right + 5, strip.top + (j + 0.5) * band);
    ctx.translate(width - 8, (strip.top + strip.bottom) / 2);
    ctx.rotate(Math.PI / 2);
    ctx.textAlign = "center";
    ctx.fillText("layer", 0, 0);
    ctx.restore();
    layout = {box, strip, band, x, y, yLimits, rows, steps, norms, names, count};
  };

  const request = painter(el, paint);
  listen(model, channels, request);
  model.on("change:options", request);
  request();

  // The readout: the recorded step nearest the pointer, and the layer whose line passes nearest it there.
  canvas.addEventListener("mousemove", (event) => {
    const rect = canvas.getBoundingClientRect();
    const px = event.clientX - rect.left;
    const py = event.clientY - rect.top;
    const L = layout;
    if (!L || !L.rows || px < L.box.left || px > L.box.right || py < L.box.top || py > L.box.bottom) {
      tip.hide();
      return;
    }
    const target = L.x.invert(px);
    let lo = 0;
    let hi = L.rows - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (L.steps[mid] < target) lo = mid + 1; else hi = mid;
    }
    if (lo > 0 && Math.abs(L.steps[lo - 1] - target) < Math.abs(L.steps[lo] - target)) lo -= 1;
    let nearest = -1;
    let distance = Infinity;
    for (let j = 0; j < L.count; j += 1) {
      const v = L.norms[lo * L.count + j];
      if (!Number.isFinite(v)) continue;
      const d = Math.abs(L.y(v > 0 ? v : L.yLimits[0]) - py);
      if (d < distance) { distance = d; nearest = j; }
    }
    const lines = [`step ${Math.round(L.steps[lo]).toLocaleString("en-US")}`];
    if (nearest < 0) lines.push("no gradient");
    else {
      const v = L.norms[lo * L.count + nearest];
      lines.push(`${L.names[nearest]}: ${v === 0 ? "0" : v.toPrecision(3)}`);
    }
    tip.show(px, py, lines.join("\n"));
  });
  canvas.addEventListener("mouseleave", () => tip.hide());
}

export default {render};
