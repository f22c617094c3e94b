// The Playground's network: every input feature (used or not), each hidden
// layer and the output as small maps over the plane, the links coloured and
// widened by their weights, each unit's bias as a small square, all on one
// fixed scale with a legend. Click a feature to use it or drop it, + and -
// to change the layers, a link to type a new weight; hover a unit to see its
// map large in the output, a link to read its weight.
// Channels (see page_data.py): maps (uint8 [units, 32, 32] on [-1, 1], column
// after column), weights and biases (float32, layer after layer).
// Options: features (all names), active (those used), hidden (widths),
// outputs, palette ([negative, zero, positive] colours), max_layers,
// max_units, lock_features, lock_layers, lock_focus.

const TOP = 74;           // the first unit's top edge, below the layer buttons
const LEGEND = 34;        // room for the legend at the bottom
const WIDTH_SCALE = 2;    // |w| at which a link reaches its widest
const HIT = 4;            // pixels from a link that still count as on it

const codeOf = (value) => Math.max(0, Math.min(255, Math.round((value + 1) / 2 * 255)));
const colourOf = (table, value) => {
  const p = 3 * codeOf(value);
  return `rgb(${table[p]}, ${table[p + 1]}, ${table[p + 2]})`;
};
const short = (v) => String(+v.toPrecision(3));

// Where every unit sits: columns of {x, y, name, unit, active}, the output last.
function layout(options, width, height) {
  const hidden = options.hidden || [];
  const features = options.features || [];
  const active = options.active || [];
  const count = hidden.length + 2;
  const left = 62;
  const right = width - 44;
  const most = Math.max(7, ...hidden, 1);
  const gap = Math.min(46, (height - TOP - LEGEND) / most);
  const node = Math.min(30, Math.floor(gap - 4));  // CSS pixels of a unit's map
  const columns = [];
  columns.node = node;
  columns.push(features.map((name, slot) => ({
    x: left, y: TOP + slot * gap, name, active: active.includes(name), unit: active.indexOf(name),
  })));
  hidden.forEach((units, layer) => {
    const x = left + (right - left) * (layer + 1) / (count - 1);
    columns.push(Array.from({length: units}, (_, unit) => ({
      x, y: TOP + unit * gap, name: `h${layer + 1}.${unit}`, active: true, unit,
    })));
  });
  const outputs = options.outputs || 1;
  const middle = TOP + (Math.max(features.length, 1) - 1) * gap / 2;
  columns.push(Array.from({length: outputs}, (_, unit) => ({
    x: right, y: middle + (unit - (outputs - 1) / 2) * gap, name: outputs === 1 ? "out" : `class ${unit}`, active: true, unit,
  })));
  return columns;
}

// Every link: {from, to, layer, row, col, index} between used units of neighbouring columns.
function links(columns) {
  const all = [];
  let index = 0;
  for (let layer = 0; layer + 1 < columns.length; layer += 1) {
    const sources = columns[layer].filter((node) => node.active);
    for (const to of columns[layer + 1]) {
      sources.forEach((from, col) => {
        all.push({from, to, layer, row: to.unit, col, index});
        index += 1;
      });
    }
  }
  return all;
}

function distanceToLink(px, py, link, NODE) {
  const ax = link.from.x + NODE / 2; const ay = link.from.y + NODE / 2;
  const bx = link.to.x - NODE / 2; const by = link.to.y + NODE / 2;
  const dx = bx - ax; const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy || 1)));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

function render({model, el}) {
  const channels = new Channels(model);
  const width = model.get("width");
  const height = model.get("height");
  const {canvas, ctx} = makeCanvas(width, height, "lt-pg-network-canvas");
  el.appendChild(canvas);
  const tip = readout(el);
  const small = document.createElement("canvas");
  small.width = 32;
  small.height = 32;
  const sctx = small.getContext("2d");
  const image = sctx.createImageData(32, 32);
  let geometry = null;   // {columns, links, buttons}
  let hovered = null;    // the unit shown large in the output: "column:unit"
  let editor = null;

  const options = () => model.get("options") || {};

  function buttons(opts, columns) {
    const all = [];
    const hidden = opts.hidden || [];
    if (opts.lock_layers) return all;
    const maxLayers = opts.max_layers || 6;
    const maxUnits = opts.max_units || 8;
    const mid = width / 2;
    all.push({x: mid - 92, y: 4, label: "+", message: {type: "layers", delta: 1}, enabled: hidden.length < maxLayers});
    all.push({x: mid - 70, y: 4, label: "\u2212", message: {type: "layers", delta: -1}, enabled: hidden.length > 0});
    hidden.forEach((units, layer) => {
      const x = columns[layer + 1].length ? columns[layer + 1][0].x : 0;
      all.push({x: x - 22, y: 30, label: "+", message: {type: "units", layer, delta: 1}, enabled: units < maxUnits});
      all.push({x: x + 2, y: 30, label: "\u2212", message: {type: "units", layer, delta: -1}, enabled: units > 1});
    });
    return all;
  }

  function paintUnit(table, maps, index, node, NODE) {
    const px = image.data;
    const offset = index * 1024;
    for (let k = 0; k < 1024; k += 1) {
      const p = 3 * maps[offset + k];
      px[4 * k] = table[p]; px[4 * k + 1] = table[p + 1]; px[4 * k + 2] = table[p + 2]; px[4 * k + 3] = 255;
    }
    sctx.putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(small, node.x - NODE / 2, node.y, NODE, NODE);
  }

  function paint() {
    const opts = options();
    const table = scaleTable(opts.palette || ["#f59322", "#e8eaeb", "#0877bd"]);
    const columns = layout(opts, width, height);
    const all = links(columns);
    geometry = {columns, links: all, buttons: buttons(opts, columns)};
    const NODE = columns.node;
    el.dataset.ltActive = (opts.active || []).join(",");
    el.ltGeometry = geometry;  // where each unit, link and button is: what the browser tests point at
    ctx.clearRect(0, 0, width, height);
    ctx.font = FONT;
    const weights = channels.get("weights");
    const biases = channels.get("biases");
    const maps = channels.get("maps");
    const complete = weights && weights.length === all.length;
    // links under the units
    for (const link of all) {
      const w = complete ? weights[link.index] : 0;
      ctx.strokeStyle = w === 0 ? "#c8c8c8" : colourOf(table, w);
      ctx.lineWidth = w === 0 ? 0.6 : 0.6 + 5.4 * Math.min(Math.abs(w) / WIDTH_SCALE, 1);
      ctx.setLineDash(w === 0 ? [2, 3] : []);
      ctx.beginPath();
      ctx.moveTo(link.from.x + NODE / 2, link.from.y + NODE / 2);
      ctx.lineTo(link.to.x - NODE / 2, link.to.y + NODE / 2);
      ctx.stroke();
    }
    ctx.setLineDash([]);
    // units
    let index = 0;
    let bias = 0;
    columns.forEach((column, c) => {
      for (const node of column) {
        if (node.active && maps && (index + 1) * 1024 <= maps.length) {
          paintUnit(table, maps, index, node, NODE);
        } else {
          ctx.fillStyle = "#f4f4f4";
          ctx.fillRect(node.x - NODE / 2, node.y, NODE, NODE);
        }
        if (node.active) index += 1;
        ctx.strokeStyle = node.active ? "#555" : "#bbb";
        ctx.lineWidth = hovered === `${c}:${node.unit}` && node.active ? 2.5 : 1;
        ctx.strokeRect(node.x - NODE / 2 + 0.5, node.y + 0.5, NODE - 1, NODE - 1);
        if (c > 0) {
          const b = biases && bias < biases.length ? biases[bias] : 0;
          bias += 1;
          ctx.fillStyle = colourOf(table, b);
          ctx.fillRect(node.x - NODE / 2 - 4, node.y + NODE - 8, 7, 7);
          ctx.strokeStyle = "#555";
          ctx.lineWidth = 0.8;
          ctx.strokeRect(node.x - NODE / 2 - 4 + 0.5, node.y + NODE - 8 + 0.5, 6, 6);
        }
        if (c === 0) {
          ctx.fillStyle = node.active ? INK : "#aaa";
          ctx.textAlign = "right";
          ctx.textBaseline = "middle";
          ctx.fillText(node.name, node.x - NODE / 2 - 4, node.y + NODE / 2);
        }
      }
    });
    // layer controls and counts
    ctx.fillStyle = INK;
    ctx.textAlign = "left";
    ctx.textBaseline = "top";
    const hidden = opts.hidden || [];
    ctx.fillText(`${hidden.length} hidden layer${hidden.length === 1 ? "" : "s"}`, width / 2 - 44, 7);
    ctx.textAlign = "center";
    ctx.fillText("features", columns[0][0] ? columns[0][0].x - 8 : 40, 56);
    hidden.forEach((units, layer) => {
      if (columns[layer + 1].length) ctx.fillText(`${units} unit${units === 1 ? "" : "s"}`, columns[layer + 1][0].x, 56);
    });
    ctx.fillText("output", columns[columns.length - 1][0].x, 56);
    for (const button of geometry.buttons) {
      ctx.fillStyle = button.enabled ? "#eee" : "#f8f8f8";
      ctx.strokeStyle = button.enabled ? "#777" : "#ddd";
      ctx.lineWidth = 1;
      ctx.fillRect(button.x, button.y, 18, 18);
      ctx.strokeRect(button.x + 0.5, button.y + 0.5, 17, 17);
      ctx.fillStyle = button.enabled ? INK : "#ccc";
      ctx.textBaseline = "middle";
      ctx.font = "bold 13px sans-serif";
      ctx.fillText(button.label, button.x + 9, button.y + 9.5);
      ctx.font = FONT;
    }
    legend(table);
  }

  function legend(table) {
    const x0 = 62; const y0 = height - 22; const w = 140;
    for (let k = 0; k < w; k += 1) {
      ctx.fillStyle = colourOf(table, -1 + 2 * k / (w - 1));
      ctx.fillRect(x0 + k, y0, 1, 8);
    }
    ctx.strokeStyle = "#999";
    ctx.strokeRect(x0 + 0.5, y0 + 0.5, w - 1, 7);
    ctx.fillStyle = INK;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    [-1, 0, 1].forEach((t) => ctx.fillText(String(t), x0 + (t + 1) / 2 * (w - 1), y0 + 10));
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    ctx.fillText(`value, weight, bias; line width: |w| to ${WIDTH_SCALE}`, x0 + w + 10, y0 + 4);
  }

  // What lies under (px, py): a button, a unit or a link.
  function under(px, py) {
    if (!geometry) return null;
    const NODE = geometry.columns.node;
    for (const button of geometry.buttons) {
      if (px >= button.x && px <= button.x + 18 && py >= button.y && py <= button.y + 18) return {button};
    }
    for (let c = 0; c < geometry.columns.length; c += 1) {
      for (const node of geometry.columns[c]) {
        const left = c === 0 ? node.x - NODE / 2 - 58 : node.x - NODE / 2;
        if (px >= left && px <= node.x + NODE / 2 && py >= node.y && py <= node.y + NODE) return {node, column: c};
      }
    }
    let best = null;
    let bestDistance = HIT;
    for (const link of geometry.links) {
      const d = distanceToLink(px, py, link, geometry.columns.node);
      if (d <= bestDistance) { best = link; bestDistance = d; }
    }
    return best ? {link: best} : null;
  }

  function weightOf(link) {
    const weights = channels.get("weights");
    return weights && link.index < weights.length ? weights[link.index] : NaN;
  }

  function show(key, column, unit) {
    if (key === hovered || options().lock_focus) return;
    hovered = key;
    model.send({type: "show", column, unit});
    draw();
  }

  canvas.addEventListener("mousemove", (event) => {
    const rect = canvas.getBoundingClientRect();
    const px = event.clientX - rect.left;
    const py = event.clientY - rect.top;
    const hit = under(px, py);
    canvas.style.cursor = hit && (hit.button || hit.link || (hit.node && hit.column === 0)) ? "pointer" : "default";
    if (hit && hit.node && hit.node.active) {
      const biases = channels.get("biases");
      let text = hit.node.name;
      if (hit.column > 0 && biases) {
        let offset = 0;
        for (let c = 1; c < hit.column; c += 1) offset += geometry.columns[c].length;
        text += `  bias ${short(biases[offset + hit.node.unit])}`;
      }
      if (hit.column === 0 && !options().lock_features) text += "  (click: drop it)";
      tip.show(px, py, text);
      show(`${hit.column}:${hit.node.unit}`, hit.column, hit.node.unit);
      return;
    }
    if (hovered !== null) show(null, -1, -1);
    if (hit && hit.node) tip.show(px, py, `${hit.node.name}: not used${options().lock_features ? "" : " (click: use it)"}`);
    else if (hit && hit.link) tip.show(px, py, `${hit.link.from.name} \u2192 ${hit.link.to.name}  w = ${short(weightOf(hit.link))}  (click: edit)`);
    else tip.hide();
  });
  canvas.addEventListener("mouseleave", () => { tip.hide(); if (hovered !== null) show(null, -1, -1); });
  canvas.addEventListener("click", (event) => {
    const rect = canvas.getBoundingClientRect();
    const px = event.clientX - rect.left;
    const py = event.clientY - rect.top;
    const hit = under(px, py);
    if (!hit) return;
    if (hit.button && hit.button.enabled) model.send(hit.button.message);
    else if (hit.node && hit.column === 0 && !options().lock_features) model.send({type: "feature", name: hit.node.name});
    else if (hit.link) edit(hit.link, px, py);
  });

  // A box to type a link's new weight in: Enter sends it, Escape or leaving it cancels.
  function edit(link, px, py) {
    if (editor) editor.ltClose();
    editor = document.createElement("input");
    editor.className = "lt-pg-weight-editor";
    editor.type = "text";
    editor.value = short(weightOf(link));
    Object.assign(editor.style, {position: "absolute", left: `${px}px`, top: `${py}px`, width: "70px", font: FONT, zIndex: 3});
    el.appendChild(editor);
    editor.focus();
    editor.select();
    const box = editor;
    let open = true;
    const close = () => {
      if (!open) return;  // removing the box fires blur, which calls close again
      open = false;
      if (editor === box) editor = null;
      box.remove();
    };
    box.ltClose = close;
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        const value = Number(box.value);
        if (box.value.trim() !== "" && Number.isFinite(value)) {
          model.send({type: "weight", layer: link.layer, row: link.row, col: link.col, value});
          close();
        } else {
          box.style.outline = "2px solid #c00";
          box.title = "a number, such as 0.5 or -1.2";
        }
      } else if (event.key === "Escape") {
        close();
      }
      event.stopPropagation();
    });
    box.addEventListener("blur", close);
  }

  const draw = painter(el, paint);
  listen(model, channels, draw);
  model.on("change:options", draw);
  draw();
}

export default {render};
