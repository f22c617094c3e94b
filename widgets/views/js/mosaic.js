// FilterGrid: a convolution's kernels as a grid of small pictures, every weight a
// square of whole pixels, a colour key with its caption, and a readout naming
// the filter and the weight under the pointer.
// Channels: palette (uint8 [256, 3]), codes (uint8 [cells, kh, kw]: 0..254 from
// -limit to +limit, 255 not finite), limits (float32 [cells]), step (float64 [1]),
// weights (float32 [cells, kh, kw], only when small enough to send).
// Options: the layout (cells, columns, kernel, zoom, gap, in_channels), the
// geometry (grid, key, labels_top, caption_top, margin), title, caption, scale, gap_colour.

const LEVELS = 255;
const NOT_FINITE = 255;

// A number as Python's "{:.2g}" writes it, near enough for a key label.
function short(value) {
  return String(Number(value.toPrecision(2)));
}

// The codes as an image of kw x (cells * kh) pixels, one cell below the other, coloured by the palette.
function codeImage(codes, palette, cells, kh, kw) {
  const image = document.createElement("canvas");
  image.width = kw;
  image.height = cells * kh;
  const context = image.getContext("2d");
  const pixels = context.createImageData(kw, cells * kh);
  const out = pixels.data;
  for (let k = 0; k < cells * kh * kw; k += 1) {
    const code = codes[k];
    out[4 * k] = palette[3 * code];
    out[4 * k + 1] = palette[3 * code + 1];
    out[4 * k + 2] = palette[3 * code + 2];
    out[4 * k + 3] = 255;
  }
  context.putImageData(pixels, 0, 0);
  return image;
}

// The key's strip: the palette's levels from -limit (left) to +limit (right), one pixel column each.
function keyImage(palette, span) {
  const image = document.createElement("canvas");
  image.width = Math.max(span, 1);
  image.height = 1;
  const context = image.getContext("2d");
  const pixels = context.createImageData(image.width, 1);
  for (let p = 0; p < image.width; p += 1) {
    const code = Math.round((p * (LEVELS - 1)) / Math.max(image.width - 1, 1));
    pixels.data.set([palette[3 * code], palette[3 * code + 1], palette[3 * code + 2], 255], 4 * p);
  }
  context.putImageData(pixels, 0, 0);
  return image;
}

function render({model, el}) {
  const channels = new Channels(model);
  const host = document.createElement("div");
  const {canvas, ctx, width, height} = makeCanvas(model.get("width"), model.get("height"), "lt-canvas lt-mosaic-canvas");
  host.appendChild(canvas);
  el.appendChild(host);
  const tip = readout(host);
  let image = null;
  let imageVersion = -1;
  let key = null;

  const paint = () => {
    const o = model.get("options") || {};
    const [kh, kw] = o.kernel || [1, 1];
    const cells = o.cells || 0;
    const palette = channels.get("palette");
    const codes = channels.get("codes");
    const limits = channels.get("limits");
    const step = channels.get("step");
    ctx.fillStyle = "white";
    ctx.fillRect(0, 0, width, height);
    ctx.save();
    ctx.font = FONT;
    ctx.fillStyle = INK;
    ctx.textBaseline = "top";
    ctx.fillText(o.title || "", o.margin, o.margin);
    if (step && step.length) {
      ctx.textAlign = "right";
      ctx.fillText(`step ${Math.round(step[0]).toLocaleString("en-US")}`, width - o.margin, o.caption_top);
    }
    ctx.restore();
    if (!o.grid || !palette) return;

    // The mosaic: gap colour under everything, then each cell scaled by whole pixels, never smoothed.
    const [left, top, right, bottom] = o.grid;
    ctx.fillStyle = o.gap_colour;
    ctx.fillRect(left, top, right - left, bottom - top);
    if (codes && codes.length === cells * kh * kw) {
      if (imageVersion !== channels.version) {
        image = codeImage(codes, palette, cells, kh, kw);
        imageVersion = channels.version;
      }
      ctx.imageSmoothingEnabled = false;
      const zoom = o.zoom;
      for (let cell = 0; cell < cells; cell += 1) {
        const row = Math.floor(cell / o.columns);
        const column = cell % o.columns;
        const x = left + o.gap + column * (kw * zoom + o.gap);
        const y = top + o.gap + row * (kh * zoom + o.gap);
        ctx.drawImage(image, 0, cell * kh, kw, kh, x, y, kw * zoom, kh * zoom);
      }
    }

    // The key, its labels and its caption.
    const [kl, kt, kr, kb] = o.key;
    const source = channels.arrays.get("palette").values;
    if (!key || key.width !== kr - kl || key.source !== source) {
      key = keyImage(palette, kr - kl);
      key.source = source;
    }
    ctx.drawImage(key, kl, kt, kr - kl, kb - kt);
    const limit = limits && limits.length ? limits[0] : 1;
    const labels = o.scale === "kernel" ? ["-max |w|", "0", "max |w|"] : [short(-limit), "0", short(limit)];
    ctx.save();
    ctx.font = FONT;
    ctx.fillStyle = INK;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    ctx.fillText(labels[0], kl, o.labels_top);
    ctx.fillText(labels[1], (kl + kr) / 2, o.labels_top);
    ctx.fillText(labels[2], kr, o.labels_top);
    ctx.fillStyle = "#555";
    ctx.textAlign = "left";
    ctx.fillText(o.caption || "", o.margin, o.caption_top);
    ctx.restore();
  };

  const request = painter(el, paint);
  listen(model, channels, request);
  model.on("change:options", request);
  request();

  // The readout: which filter (output channel, input channel) and which weight lie under the pointer.
  canvas.addEventListener("mousemove", (event) => {
    const rect = canvas.getBoundingClientRect();
    const px = event.clientX - rect.left;
    const py = event.clientY - rect.top;
    const o = model.get("options") || {};
    const codes = channels.get("codes");
    if (!o.grid || !codes) { tip.hide(); return; }
    const [kh, kw] = o.kernel;
    const cellWidth = kw * o.zoom;
    const cellHeight = kh * o.zoom;
    const x = px - o.grid[0] - o.gap;
    const y = py - o.grid[1] - o.gap;
    const column = Math.floor(x / (cellWidth + o.gap));
    const row = Math.floor(y / (cellHeight + o.gap));
    const inX = x - column * (cellWidth + o.gap);
    const inY = y - row * (cellHeight + o.gap);
    const cell = row * o.columns + column;
    if (x < 0 || y < 0 || column >= o.columns || inX >= cellWidth || inY >= cellHeight || cell >= o.cells) {
      tip.hide();
      return;
    }
    const r = Math.floor(inY / o.zoom);
    const c = Math.floor(inX / o.zoom);
    const at = (cell * kh + r) * kw + c;
    const weights = channels.get("weights");
    const limits = channels.get("limits");
    let value;
    if (codes[at] === NOT_FINITE) value = "not finite";
    else if (weights && weights.length === codes.length) value = weights[at].toPrecision(4);
    else value = `≈ ${((codes[at] / ((LEVELS - 1) / 2) - 1) * limits[cell]).toPrecision(3)}`;
    const out = Math.floor(cell / o.in_channels);
    const input = cell % o.in_channels;
    tip.show(px, py, `filter: out ${out}, in ${input}\nweight [${r}, ${c}]: ${value}`);
  });
  canvas.addEventListener("mouseleave", () => tip.hide());
}

export default {render};
