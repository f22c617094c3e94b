// The decision boundary: the model's answer over the plane as uint8 codes,
// coloured through the palette and smoothed up to the canvas; the points in
// their class colours (validation points as triangles), the misclassified
// ones crossed out, a slider back through the kept epochs, and a readout of
// the model's answer under the pointer.
// Channels (see boundary.py): points, labels, palette, point_palette (once);
// field, wrong, live (every round: the live model); kept (the kept epochs'
// [epoch, step, centre, scale]), field:<e> and wrong:<e> (each kept epoch, once);
// shown ([epoch or -1 for the live model, serial]: what the kernel asks the page to show).

const WAITING = "#ececec";  // the field of a kept epoch asked for and not here yet

// "epoch 12", "epoch 3, step 40" or "" from a frame's [epoch, step, centre, scale].
function frameLabel(info) {
  if (!info || info[0] < 0) return "";
  return info[1] < 0 ? `epoch ${info[0]}` : `epoch ${info[0]}, step ${info[1]}`;
}

const short = (v) => String(+v.toPrecision(4));

// The grid side of a field channel: [R, R], or [2, R, R] for K > 2 classes.
function side(entry, planes) {
  return planes === 2 ? Math.round(Math.sqrt(entry.width)) : entry.rows;
}

// A small canvas holding a field's colours, one pixel per grid point, the top row first.
function fieldCanvas(entry, planes, palette) {
  const n = side(entry, planes);
  const small = document.createElement("canvas");
  small.width = n;
  small.height = n;
  const sctx = small.getContext("2d");
  const image = sctx.createImageData(n, n);
  const pixels = image.data;
  const codes = entry.values;
  const cells = n * n;
  for (let row = 0; row < n; row += 1) {
    const out = (n - 1 - row) * n;  // row 0 of the grid is the bottom of the plane
    for (let col = 0; col < n; col += 1) {
      const at = row * n + col;
      const p = 3 * (planes === 2 ? codes[at] * 256 + codes[cells + at] : codes[at]);
      const o = 4 * (out + col);
      pixels[o] = palette[p];
      pixels[o + 1] = palette[p + 1];
      pixels[o + 2] = palette[p + 2];
      pixels[o + 3] = 255;
    }
  }
  sctx.putImageData(image, 0, 0);
  return small;
}

function rgbOf(palette, code) {
  const p = 3 * code;
  return `rgb(${palette[p]}, ${palette[p + 1]}, ${palette[p + 2]})`;
}

function render({model, el}) {
  const channels = new Channels(model);
  const bar = document.createElement("div");
  bar.style.marginBottom = "4px";
  const slider = document.createElement("input");
  Object.assign(slider, {type: "range", min: "0", max: "0", step: "1", value: "0", className: "lt-boundary-epoch"});
  slider.style.width = "160px";
  const pointsBox = document.createElement("input");
  Object.assign(pointsBox, {type: "checkbox", checked: true, className: "lt-boundary-points"});
  tool(bar, "lt-boundary-epoch-tool", slider, "epoch");
  tool(bar, "lt-boundary-points-tool", pointsBox, "points");
  const host = document.createElement("div");
  const {canvas, ctx, width, height} = makeCanvas(model.get("width"), model.get("height"), "lt-canvas");
  host.appendChild(canvas);
  el.append(bar, host);
  const tip = readout(host);

  let follow = true;   // show the live model (the slider at its right end)
  let chosen = null;   // otherwise: the kept epoch shown
  let serial = null;   // the kernel's last "shown" request seen
  const asked = new Set();  // kept epochs asked of the kernel and not here yet
  const images = new WeakMap();  // codes array -> {palette, canvas}
  let layout = null;  // what the last paint drew, for the readout

  const keptRows = () => {
    const table = channels.get("kept") || new Float64Array(0);
    const rows = [];
    for (let i = 0; i + 3 < table.length; i += 4) rows.push(table.subarray(i, i + 4));
    return rows;
  };
  const liveEpoch = () => { const live = channels.get("live"); return live ? live[0] : -1; };
  const present = (epoch) => channels.rows(`field:${epoch}`) > 0;
  const range = (kept) => {
    const last = kept.length ? kept[kept.length - 1][0] : -1;
    const high = Math.max(last, liveEpoch());
    return [kept.length ? kept[0][0] : high, high];
  };
  const atOrBefore = (kept, value) => {
    let found = kept.length ? kept[0][0] : null;
    for (const row of kept) if (row[0] <= value) found = row[0];
    return found;
  };
  const want = (epoch) => {
    if (epoch === null || present(epoch) || asked.has(epoch)) return;
    asked.add(epoch);
    model.send({type: "want", epoch});
  };

  // What to paint: the live model's frame, or a kept epoch's.
  const current = () => {
    const planes = (model.get("options") || {}).outputs > 2 ? 2 : 1;
    if (follow || chosen === null) {
      return {entry: channels.arrays.get("field"), wrong: channels.get("wrong"), info: channels.get("live"), planes};
    }
    const row = keptRows().find((r) => r[0] === chosen);
    const entry = channels.arrays.get(`field:${chosen}`);
    const info = row && Number.isFinite(row[2]) ? row : [chosen, -1, 0, 0];
    if (!entry || !entry.rows) return {entry: null, wrong: null, info, planes, waiting: true};
    return {entry, wrong: channels.get(`wrong:${chosen}`), info, planes};
  };

  const syncSlider = () => {
    const kept = keptRows();
    const epochs = new Set(kept.map((r) => r[0]));
    for (const epoch of asked) if (!epochs.has(epoch) || present(epoch)) asked.delete(epoch);
    if (!follow && !epochs.has(chosen)) chosen = atOrBefore(kept, chosen === null ? 0 : chosen);
    const [low, high] = range(kept);
    slider.min = String(low);
    slider.max = String(high);
    slider.disabled = !(high > low);
    slider.value = String(follow || chosen === null ? high : chosen);
  };

  // The kernel's show_epoch(): applied once per request, not again when the stored data is reloaded.
  const applyShown = () => {
    const shown = channels.get("shown");
    if (!shown || shown.length < 2 || shown[1] === serial) return;
    serial = shown[1];
    follow = shown[0] < 0;
    chosen = follow ? null : shown[0];
  };

  const paint = () => {
    const options = model.get("options") || {};
    const m = options.margins || {left: 46, right: 12, top: 24, bottom: 28};
    const box = {left: m.left, top: m.top, right: width - m.right, bottom: height - m.bottom};
    const [x0, x1, y0, y1] = options.bounds || [0, 1, 0, 1];
    const x = scale(x0, x1, box.left, box.right);
    const y = scale(y0, y1, box.bottom, box.top);
    const palette = channels.get("palette");
    const src = current();
    el.dataset.ltWaiting = src.waiting ? "1" : "";  // a kept epoch asked of the kernel, not here yet

    ctx.fillStyle = "white";
    ctx.fillRect(0, 0, width, height);
    ctx.save();
    ctx.beginPath();
    ctx.rect(box.left, box.top, box.right - box.left, box.bottom - box.top);
    ctx.clip();
    if (src.entry && src.entry.rows && palette) {
      let cached = images.get(src.entry.values);
      if (!cached || cached.palette !== palette.buffer) {
        cached = {palette: palette.buffer, canvas: fieldCanvas(src.entry, src.planes, palette)};
        images.set(src.entry.values, cached);
      }
      // grid points sit on the box's edges: each cell reaches half a step beyond them
      const n = side(src.entry, src.planes);
      const cellX = (box.right - box.left) / (n - 1);
      const cellY = (box.bottom - box.top) / (n - 1);
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(cached.canvas, box.left - cellX / 2, box.top - cellY / 2,
        box.right - box.left + cellX, box.bottom - box.top + cellY);
    } else {
      ctx.fillStyle = WAITING;
      ctx.fillRect(box.left, box.top, box.right - box.left, box.bottom - box.top);
    }
    ctx.restore();
    drawAxes(ctx, box, {map: x, ticks: niceTicks(x0, x1, 5)}, {map: y, ticks: niceTicks(y0, y1, 5)});

    ctx.save();
    ctx.font = "12px sans-serif";
    ctx.fillStyle = INK;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    if (options.title) ctx.fillText(options.title, (box.left + box.right) / 2, box.top / 2);
    ctx.restore();

    if (pointsBox.checked) paintPoints(options, src, x, y);

    let text = frameLabel(src.info);
    if (text && options.outputs === 1 && !src.waiting) text += `  (${short(src.info[2])} ± ${short(src.info[3])})`;
    if (src.waiting) text = `${text}: asked the kernel`;
    if (text) {
      ctx.save();
      ctx.font = FONT;
      const w = ctx.measureText(text).width;
      ctx.fillStyle = "rgba(255, 255, 255, 0.75)";
      ctx.fillRect(box.left + 3, box.top + 3, w + 8, 16);
      ctx.fillStyle = INK;
      ctx.textBaseline = "middle";
      ctx.fillText(text, box.left + 7, box.top + 11);
      ctx.restore();
    }
    layout = {box, x, y, x0, x1, y0, y1, src, options, caption: text};
  };

  const paintPoints = (options, src, x, y) => {
    const points = channels.get("points");
    const labels = channels.get("labels");
    if (!points || !labels) return;
    const count = channels.rows("points");
    const train = options.train_count ?? count;
    const colours = options.class_colours || ["#1a5eb5", "#bf1c29"];
    const pointPalette = channels.get("point_palette");
    const info = src.info || [0, 0, 0, 1];
    const colourOf = (i) => {
      if (!options.regression || !pointPalette) return colours[labels[i]] || INK;
      const code = Math.round((labels[i] - info[2]) / (2 * (info[3] || 1)) * 255 + 127.5);
      return rgbOf(pointPalette, Math.min(255, Math.max(0, code)));
    };
    const groups = new Map();  // one path per colour and shape
    for (let i = 0; i < count; i += 1) {
      const key = `${colourOf(i)}|${i >= train ? "v" : "t"}`;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(i);
    }
    ctx.save();
    ctx.lineWidth = 0.7;
    for (const [key, indices] of groups) {
      const [colour, kind] = key.split("|");
      ctx.beginPath();
      for (const i of indices) {
        const px = x(points[2 * i]);
        const py = y(points[2 * i + 1]);
        if (kind === "v") {
          ctx.moveTo(px, py - 3.6);
          ctx.lineTo(px + 3.2, py + 2.2);
          ctx.lineTo(px - 3.2, py + 2.2);
          ctx.closePath();
        } else {
          ctx.moveTo(px + 2.6, py);
          ctx.arc(px, py, 2.6, 0, 2 * Math.PI);
        }
      }
      ctx.fillStyle = colour;
      ctx.fill();
      ctx.strokeStyle = kind === "v" ? "black" : "white";
      ctx.stroke();
    }
    if (src.wrong) {
      ctx.beginPath();
      for (let i = 0; i < count; i += 1) {
        if (!src.wrong[i]) continue;
        const px = x(points[2 * i]);
        const py = y(points[2 * i + 1]);
        ctx.moveTo(px - 3.5, py - 3.5); ctx.lineTo(px + 3.5, py + 3.5);
        ctx.moveTo(px + 3.5, py - 3.5); ctx.lineTo(px - 3.5, py + 3.5);
      }
      ctx.strokeStyle = "black";
      ctx.lineWidth = 1.4;
      ctx.stroke();
    }
    ctx.restore();
  };

  const request = painter(el, paint);
  const changed = () => {
    applyShown();
    syncSlider();
    if (!follow) want(chosen);  // a kept epoch shown that this page lacks (opened later, or thinned meanwhile)
    request();
  };
  listen(model, channels, changed);
  model.on("change:options", request);
  changed();

  slider.addEventListener("input", () => {
    const kept = keptRows();
    const value = Number(slider.value);
    const [, high] = range(kept);
    follow = value >= high || !kept.length;
    chosen = follow ? null : atOrBefore(kept, value);
    if (!follow) want(chosen);
    request();
  });
  pointsBox.addEventListener("change", request);

  // The readout: where the pointer is, and the model's answer there.
  canvas.addEventListener("mousemove", (event) => {
    const rect = canvas.getBoundingClientRect();
    const px = event.clientX - rect.left;
    const py = event.clientY - rect.top;
    const L = layout;
    if (!L || px < L.box.left || px > L.box.right || py < L.box.top || py > L.box.bottom) {
      tip.hide();
      return;
    }
    const dx = L.x.invert(px);
    const dy = L.y.invert(py);
    const lines = [`x ${short(dx)}, y ${short(dy)}`];
    const {entry, planes, info} = L.src;
    if (entry && entry.rows) {
      const n = side(entry, planes);
      const col = Math.min(n - 1, Math.max(0, Math.round((dx - L.x0) / (L.x1 - L.x0) * (n - 1))));
      const row = Math.min(n - 1, Math.max(0, Math.round((dy - L.y0) / (L.y1 - L.y0) * (n - 1))));
      const code = entry.values[row * n + col];
      const outputs = L.options.outputs;
      if (outputs === 2) {
        lines.push(`p(class 1) ${(code / 255).toFixed(2)}`);
      } else if (outputs > 2) {
        const floor = 1 / outputs;
        const confidence = floor + (entry.values[n * n + row * n + col] / 255) * (1 - floor);
        lines.push(`class ${code}, confidence ${confidence.toFixed(2)}`);
      } else {
        lines.push(`value ${short(info[2] + (code / 255 - 0.5) * 2 * info[3])}`);
      }
    }
    tip.show(px, py, lines.join("\n"));
  });
  canvas.addEventListener("mouseleave", () => tip.hide());
}

export default {render};
