// The module inspector's histograms: the chosen tensor's values and its gradient,
// two panels side by side, one bar per bin over the edges the kernel sends.
// Channels (float32): values:edges, values:counts, gradient:edges, gradient:counts;
// no counts: the panel shows its note. Options: {name, notes: {values, gradient}, colour}.

const PANEL_NAMES = ["values", "gradient"];
const MARGIN = {left: 20, right: 20, top: 22, bottom: 20};
const GAP = 40;
const TICK_SPACING = 70;  // pixels between two x tick labels at least
const NOTE_INK = "#777";
const TITLE_FONT = "12px sans-serif";

// Decimal places a grid of `step` needs: 0.01 -> 2, 0.0375 -> 4, 5 -> 0.
function places(step) {
  for (let digits = 0; digits < 10; digits += 1) {
    const scaled = step * 10 ** digits;
    if (Math.abs(scaled - Math.round(scaled)) <= 1e-3 * scaled) return digits;
  }
  return 10;
}

// `value` written on a grid of `step`: "-0.12", "1000.0005", "-2.5e-5".
function gridText(value, step) {
  const v = Math.abs(value) < step * 1e-3 ? 0 : value;  // float32 edges put zero a hair off
  const size = Math.max(Math.abs(v), step);
  if (size < 1e-3 || size >= 1e6) {
    if (v === 0) return "0";
    return v.toExponential(places(step / 10 ** Math.floor(Math.log10(size))));  // as many digits as the step
  }
  return v.toFixed(places(step));
}

// `text` cut at the front with "…" until it fits in `width` pixels.
function fitted(ctx, text, width) {
  if (ctx.measureText(text).width <= width) return text;
  let keep = 0;
  let drop = text.length;
  while (keep < drop) {  // the most characters from the end that fit after "…"
    const mid = (keep + drop + 1) >> 1;
    if (ctx.measureText(`…${text.slice(-mid)}`).width <= width) keep = mid; else drop = mid - 1;
  }
  return keep ? `…${text.slice(-keep)}` : "";
}

// Where the y axis ends for a tallest bar of `peak`: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^k above it.
function yEnd(peak) {
  const target = Math.max(1, peak * 1.05);
  const power = 10 ** Math.floor(Math.log10(target));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
    if (m * power >= target) return m * power;
  }
  return 10 * power;
}

// The index of the bin of `edges` that holds `value` (the last bin holds its right edge); -1 outside.
function binOf(edges, value) {
  const bins = edges.length - 1;
  if (!(value >= edges[0] && value <= edges[bins])) return -1;
  let lo = 0;
  let hi = bins - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (edges[mid] <= value) lo = mid; else hi = mid - 1;
  }
  return lo;
}

function render({model, el}) {
  const channels = new Channels(model);
  const host = document.createElement("div");
  const {canvas, ctx, width, height} = makeCanvas(model.get("width"), model.get("height"), "lt-canvas");
  host.appendChild(canvas);
  el.appendChild(host);
  const tip = readout(host);
  const tops = {};  // y axis end per panel: moves only when the tallest bar leaves it or falls below a third
  let shownName;
  let layout = [];  // what the last paint drew, for the readout

  // `room`: the x range the panel's tick labels may use (half the gap to the other panel)
  const paintPanel = (key, box, room, options, colour) => {
    const edges = channels.get(`${key}:edges`);
    const counts = channels.get(`${key}:counts`);
    const title = options.name ? `${options.name} ${key}` : "";
    ctx.save();
    ctx.font = TITLE_FONT;
    ctx.fillStyle = INK;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(fitted(ctx, title, box.right - box.left), (box.left + box.right) / 2, box.top / 2 + 1);
    ctx.restore();
    if (!counts || !counts.length || !edges || edges.length !== counts.length + 1) {
      drawAxes(ctx, box, {map: (v) => v, ticks: []}, {map: (v) => v, ticks: []});
      ctx.save();
      ctx.font = FONT;
      ctx.fillStyle = NOTE_INK;
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText((options.notes || {})[key] || "", (box.left + box.right) / 2, (box.top + box.bottom) / 2);
      ctx.restore();
      delete tops[key];
      return null;
    }
    let peak = 0;
    for (const c of counts) peak = Math.max(peak, c);
    if (!(tops[key] >= peak && peak >= tops[key] / 3)) tops[key] = yEnd(peak);
    const lo = edges[0];
    const hi = edges[edges.length - 1];
    const x = scale(lo, hi, box.left, box.right);
    const y = scale(0, tops[key], box.bottom, box.top);
    const count = Math.max(2, Math.min(5, Math.floor((box.right - box.left) / TICK_SPACING)));
    const ticks = niceTicks(lo, hi, count).filter((t) => t >= lo && t <= hi);
    const step = ticks.length > 1 ? ticks[1] - ticks[0] : hi - lo;
    // the grid and the tick labels here, written to the step's decimals; the frame from drawAxes, over the bars
    ctx.save();
    ctx.strokeStyle = GRID;
    ctx.fillStyle = INK;
    ctx.font = FONT;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (const t of ticks) {
      const px = Math.round(x(t)) + 0.5;
      ctx.beginPath(); ctx.moveTo(px, box.top); ctx.lineTo(px, box.bottom); ctx.stroke();
      const label = gridText(t, step);
      const half = ctx.measureText(label).width / 2;
      if (px - half >= room[0] && px + half <= room[1]) ctx.fillText(label, px, box.bottom + 3);
    }
    ctx.fillStyle = colour;
    for (let i = 0; i < counts.length; i += 1) {
      if (!(counts[i] > 0)) continue;
      const left = Math.round(x(edges[i]));
      const right = Math.round(x(edges[i + 1]));
      const top = Math.min(Math.round(y(counts[i])), box.bottom - 1);  // a bin of one is still seen
      ctx.fillRect(left, top, Math.max(1, right - left), box.bottom - top);
    }
    ctx.restore();
    drawAxes(ctx, box, {map: x, ticks: []}, {map: y, ticks: []});
    return {key, box, x, edges, counts};
  };

  const paint = () => {
    const options = model.get("options") || {};
    const colour = options.colour || "#1f77b4";
    if (options.name !== shownName) {  // another tensor: its own y axes
      for (const key of PANEL_NAMES) delete tops[key];
      shownName = options.name;
    }
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = "white";
    ctx.fillRect(0, 0, width, height);
    const panelWidth = (width - MARGIN.left - MARGIN.right - GAP) / 2;
    layout = PANEL_NAMES.map((key, i) => {
      const left = Math.round(MARGIN.left + i * (panelWidth + GAP));
      const box = {left, top: MARGIN.top, right: Math.round(left + panelWidth), bottom: height - MARGIN.bottom};
      const room = i === 0 ? [0, box.right + GAP / 2] : [box.left - GAP / 2, width];
      return paintPanel(key, box, room, options, colour);
    }).filter(Boolean);
  };

  const request = painter(el, paint);
  listen(model, channels, request);
  model.on("change:options", request);
  request();

  // The readout: the bin under the pointer, its range and its count ("[-0.12, -0.10): 37").
  canvas.addEventListener("mousemove", (event) => {
    const rect = canvas.getBoundingClientRect();
    const px = event.clientX - rect.left;
    const py = event.clientY - rect.top;
    const panel = layout.find((p) => px >= p.box.left && px <= p.box.right && py >= p.box.top && py <= p.box.bottom);
    const bin = panel ? binOf(panel.edges, panel.x.invert(px)) : -1;
    if (bin < 0) {
      tip.hide();
      return;
    }
    const {edges, counts} = panel;
    const last = bin === counts.length - 1;
    const binWidth = edges[bin + 1] - edges[bin];
    const range = `[${gridText(edges[bin], binWidth)}, ${gridText(edges[bin + 1], binWidth)}${last ? "]" : ")"}`;
    tip.show(px, py, `${range}: ${Math.round(counts[bin]).toLocaleString("en-US")}`);
  });
  canvas.addEventListener("mouseleave", () => tip.hide());
}

export default {render};
