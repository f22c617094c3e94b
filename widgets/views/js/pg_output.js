// The Playground's output: a large epoch counter, one train/test pair of loss
// and accuracy, the loss chart with its axes, and the model's answer over the
// plane at its real size (64 x 64 values, 4 CSS pixels each) with axes, the
// points and a colour legend on a fixed scale. Hovering a unit of the network
// shows that unit's map here instead.
// Channels (see page_data.py and widget.py): field (uint8 [K, 64, 64]: K = 1
// on [-1, 1], else one probability per class on [0, 1]), points (float32
// [N, 4]: x1, x2, label, test), history (float32 [epochs, 5]: epoch, train
// loss, test loss, train accuracy, test accuracy), now (float32 [1, 6]:
// epoch, step, then the same four figures for the model now).
// Options: palette, class_colours, task, plane, focus, show_test, discretize, probability, hide_chart.

const FIELD = 256;                       // CSS pixels of the field's side
const BOX = {left: 30, top: 4, right: 4, bottom: 40};
const CHART = {width: 290, height: 96, left: 38, right: 8, top: 6, bottom: 20};
const TRAIN_LINE = "#8a8a8a";            // the chart's colours: greys, never a class's colour
const TEST_LINE = "#111111";
const LIGHTEN = 0.3;                     // the field is this much lighter than the points' colours

const percent = (v) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : "");
const figure = (v) => (Number.isFinite(v) ? v.toFixed(3) : "");

function epochText(epoch) {
  const digits = String(Math.max(0, Math.round(epoch))).padStart(6, "0");
  return `${digits.slice(0, 3)},${digits.slice(3)}`;
}

function render({model, el}) {
  const channels = new Channels(model);
  const head = document.createElement("div");
  head.className = "lt-pg-head";
  Object.assign(head.style, {display: "flex", alignItems: "baseline", gap: "8px", font: FONT, color: INK});
  const epochLabel = document.createElement("span");
  epochLabel.textContent = "Epoch";
  const counter = document.createElement("span");
  counter.className = "lt-pg-epoch";
  Object.assign(counter.style, {fontSize: "26px", fontWeight: "300", fontVariantNumeric: "tabular-nums"});
  const stepText = document.createElement("span");
  stepText.className = "lt-pg-step";
  head.append(epochLabel, counter, stepText);
  const figures = document.createElement("div");
  figures.className = "lt-pg-figures";
  Object.assign(figures.style, {font: FONT, color: INK, whiteSpace: "pre", margin: "2px 0 4px 0", lineHeight: "15px"});
  el.append(head, figures);
  const chart = makeCanvas(CHART.width, CHART.height, "lt-pg-chart");
  el.appendChild(chart.canvas);
  const plot = makeCanvas(BOX.left + FIELD + BOX.right, BOX.top + FIELD + BOX.bottom, "lt-pg-output-canvas");
  plot.canvas.style.marginTop = "6px";
  const holder = document.createElement("div");
  holder.appendChild(plot.canvas);
  el.appendChild(holder);
  const tip = readout(holder);
  const small = document.createElement("canvas");
  small.width = 64;
  small.height = 64;
  const sctx = small.getContext("2d");
  const image = sctx.createImageData(64, 64);

  const options = () => model.get("options") || {};

  function fieldColours(opts, field, planes) {
    const table = scaleTable(opts.palette || ["#f59322", "#e8eaeb", "#0877bd"]);
    const px = image.data;
    const classes = (opts.class_colours || []).map(hexRgb);
    for (let k = 0; k < 4096; k += 1) {
      let r; let g; let b;
      if (planes === 1) {
        let code = field[k];
        if (opts.discretize) code = code >= 128 ? 255 : 0;
        const p = 3 * code;
        [r, g, b] = [table[p], table[p + 1], table[p + 2]].map((v) => Math.round(v + (255 - v) * LIGHTEN));
      } else {
        let best = 0;
        for (let c = 1; c < planes; c += 1) if (field[c * 4096 + k] > field[best * 4096 + k]) best = c;
        const strength = opts.discretize ? 1 : field[best * 4096 + k] / 255;
        const colour = classes[best % classes.length] || [128, 128, 128];
        [r, g, b] = colour.map((v) => Math.round(255 + (v - 255) * strength * (1 - LIGHTEN)));
      }
      px[4 * k] = r; px[4 * k + 1] = g; px[4 * k + 2] = b; px[4 * k + 3] = 255;
    }
    sctx.putImageData(image, 0, 0);
  }

  function pointColour(opts, label) {
    if (opts.task === "regression") {
      const table = scaleTable(opts.palette || ["#f59322", "#e8eaeb", "#0877bd"]);
      const p = 3 * Math.max(0, Math.min(255, Math.round((label + 1) / 2 * 255)));
      return `rgb(${table[p]}, ${table[p + 1]}, ${table[p + 2]})`;
    }
    const colours = opts.class_colours || ["#f59322", "#0877bd"];
    return colours[Math.round(label) % colours.length];
  }

  function paintPlot(opts) {
    const {ctx} = plot;
    const [lo, hi] = opts.plane || [-6, 6];
    ctx.clearRect(0, 0, plot.width, plot.height);
    const field = channels.get("field");
    const planes = field ? Math.round(field.length / 4096) : 0;
    if (planes >= 1) {
      fieldColours(opts, field, planes);
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(small, BOX.left, BOX.top, FIELD, FIELD);
    }
    const x = scale(lo, hi, BOX.left, BOX.left + FIELD);
    const y = scale(lo, hi, BOX.top + FIELD, BOX.top);
    const points = channels.get("points");
    if (points) {
      for (const test of [0, 1]) {
        if (test === 1 && !opts.show_test) continue;
        ctx.globalAlpha = test ? 0.55 : 1;
        ctx.lineWidth = 1;
        ctx.strokeStyle = test ? "#222" : "#fff";
        for (let i = 0; i < points.length; i += 4) {
          if (points[i + 3] !== test) continue;
          ctx.fillStyle = pointColour(opts, points[i + 2]);
          ctx.beginPath();
          ctx.arc(x(points[i]), y(points[i + 1]), 3, 0, 2 * Math.PI);
          ctx.fill();
          ctx.stroke();
        }
      }
      ctx.globalAlpha = 1;
    }
    const ticks = niceTicks(lo, hi, 6);
    drawAxes(ctx, {left: BOX.left, top: BOX.top, right: BOX.left + FIELD, bottom: BOX.top + FIELD},
      {map: x, ticks}, {map: y, ticks});
    legend(ctx, opts, planes);
    if (opts.focus) {
      ctx.fillStyle = "rgba(255, 255, 255, 0.85)";
      ctx.fillRect(BOX.left + 2, BOX.top + 2, 90, 16);
      ctx.fillStyle = INK;
      ctx.textAlign = "left";
      ctx.textBaseline = "top";
      ctx.fillText(`unit ${opts.focus}`, BOX.left + 5, BOX.top + 4);
    }
  }

  function legend(ctx, opts, planes) {
    const top = BOX.top + FIELD + 18;
    const left = BOX.left;
    if (planes > 1) {
      const names = (opts.class_colours || []).slice(0, planes);
      ctx.textAlign = "left";
      ctx.textBaseline = "middle";
      names.forEach((colour, c) => {
        ctx.fillStyle = colour;
        ctx.fillRect(left + c * 50, top, 10, 10);
        ctx.fillStyle = INK;
        ctx.fillText(`class ${c}`, left + c * 50 + 13, top + 5);
      });
      return;
    }
    const table = scaleTable(opts.palette || ["#f59322", "#e8eaeb", "#0877bd"]);
    const w = 150;
    for (let k = 0; k < w; k += 1) {
      const p = 3 * Math.round(k / (w - 1) * 255);
      ctx.fillStyle = `rgb(${table[p]}, ${table[p + 1]}, ${table[p + 2]})`;
      ctx.fillRect(left + k, top, 1, 8);
    }
    ctx.fillStyle = INK;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const [a, b] = opts.focus || opts.task === "regression" || !opts.probability ? ["-1", "1"] : ["0", "1"];
    ctx.fillText(a, left, top + 9);
    ctx.fillText(b, left + w - 1, top + 9);
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    const what = opts.focus ? "unit value" : opts.task === "regression" ? "predicted value" : opts.probability ? "p(class 1)" : "output";
    ctx.fillText(what, left + w + 8, top + 4);
  }

  function paintChart() {
    const {ctx, width, height} = chart;
    ctx.clearRect(0, 0, width, height);
    const rows = channels.rows("history");
    const history = channels.get("history");
    const box = {left: CHART.left, top: CHART.top, right: width - CHART.right, bottom: height - CHART.bottom};
    let top = 0.1;
    let last = 1;
    for (let i = 0; i < rows; i += 1) {
      for (const k of [1, 2]) if (Number.isFinite(history[5 * i + k])) top = Math.max(top, history[5 * i + k]);
      last = Math.max(last, history[5 * i]);
    }
    const [, yTop] = niceLimits(0, top);
    const x = scale(0, last, box.left, box.right);
    const y = scale(0, yTop, box.bottom, box.top);
    drawAxes(ctx, box, {map: x, ticks: niceTicks(0, last, 4)}, {map: y, ticks: niceTicks(0, yTop, 3)});
    const epochs = Array.from({length: rows}, (_, i) => history[5 * i]);
    for (const [k, colour, widthPx] of [[1, TRAIN_LINE, 1.5], [2, TEST_LINE, 1.5]]) {
      const values = Array.from({length: rows}, (_, i) => history[5 * i + k]);
      ctx.strokeStyle = colour;
      ctx.lineWidth = widthPx;
      polyline(ctx, Array.from({length: rows}, (_, i) => i), epochs, values, x, y, false);
    }
    ctx.font = FONT;
    ctx.textAlign = "right";
    ctx.textBaseline = "top";
    ctx.fillStyle = TEST_LINE;
    ctx.fillText("\u2014 test", box.right - 4, box.top + 2);
    ctx.fillStyle = TRAIN_LINE;
    ctx.fillText("\u2014 training", box.right - 48, box.top + 2);
    ctx.fillStyle = INK;
    ctx.textAlign = "left";
    ctx.fillText("loss", box.left + 4, box.top + 2);
  }

  function paint() {
    const opts = options();
    const now = channels.get("now");
    el.dataset.ltFocus = opts.focus || "";
    if (now && now.length >= 6) {
      el.dataset.ltEpoch = String(now[0]);
      counter.textContent = epochText(now[0]);
      stepText.textContent = `step ${Math.round(now[1])}`;
      const lines = [`Test loss ${figure(now[3])}   Training loss ${figure(now[2])}`];
      if (Number.isFinite(now[5])) lines.push(`Test accuracy ${percent(now[5])}   Training accuracy ${percent(now[4])}`);
      figures.textContent = lines.join("\n");
    }
    chart.canvas.style.display = opts.hide_chart ? "none" : "block";
    if (!opts.hide_chart) paintChart();
    paintPlot(opts);
  }

  plot.canvas.addEventListener("mousemove", (event) => {
    const rect = plot.canvas.getBoundingClientRect();
    const px = event.clientX - rect.left;
    const py = event.clientY - rect.top;
    const field = channels.get("field");
    if (!field || px < BOX.left || px >= BOX.left + FIELD || py < BOX.top || py >= BOX.top + FIELD) { tip.hide(); return; }
    const opts = options();
    const [lo, hi] = opts.plane || [-6, 6];
    const col = Math.min(63, Math.floor((px - BOX.left) / FIELD * 64));
    const row = Math.min(63, Math.floor((py - BOX.top) / FIELD * 64));
    const x1 = lo + (px - BOX.left) / FIELD * (hi - lo);
    const x2 = hi - (py - BOX.top) / FIELD * (hi - lo);
    const planes = Math.round(field.length / 4096);
    let text;
    if (planes === 1) {
      const value = field[row * 64 + col] / 255 * 2 - 1;
      text = opts.probability && !opts.focus ? `p(class 1) ${((value + 1) / 2).toFixed(2)}` : `value ${value.toFixed(2)}`;
    } else {
      let best = 0;
      for (let c = 1; c < planes; c += 1) if (field[c * 4096 + row * 64 + col] > field[best * 4096 + row * 64 + col]) best = c;
      text = `class ${best}, p ${(field[best * 4096 + row * 64 + col] / 255).toFixed(2)}`;
    }
    tip.show(px, py, `x1 ${x1.toFixed(2)}, x2 ${x2.toFixed(2)}\n${text}`);
  });
  plot.canvas.addEventListener("mouseleave", () => tip.hide());

  const draw = painter(el, paint);
  listen(model, channels, draw);
  model.on("change:options", draw);
  draw();
}

export default {render};
