// The Playground's datasets as thumbnails: a few points of each problem in
// their colours; the one in use is framed, a click picks another.
// Channel: thumbs (float32 [datasets, points * 3]: x1, x2 and the label, a class or a value on [-1, 1]).
// Options: datasets (names, in the channel's order), current, regression (names of the regressions),
// class_colours, palette, plane, lock.

const THUMB = 52;
const GAP = 8;
const PER_ROW = 2;

function render({model, el}) {
  const channels = new Channels(model);
  const width = PER_ROW * THUMB + (PER_ROW - 1) * GAP + 4;
  const options = () => model.get("options") || {};
  const rowsOf = (opts) => Math.ceil((opts.datasets || []).length / PER_ROW);
  let surface = null;

  function ensureCanvas(opts) {
    const height = rowsOf(opts) * (THUMB + GAP + 12);
    if (surface && surface.height === height) return surface;
    if (surface) surface.canvas.remove();
    surface = makeCanvas(width, height, "lt-pg-data-canvas");
    el.appendChild(surface.canvas);
    surface.canvas.addEventListener("click", click);
    surface.canvas.addEventListener("mousemove", (event) => {
      surface.canvas.style.cursor = at(event) !== null && !options().lock ? "pointer" : "default";
    });
    return surface;
  }

  function origin(index) {
    const row = Math.floor(index / PER_ROW);
    const col = index % PER_ROW;
    return [2 + col * (THUMB + GAP), 2 + row * (THUMB + GAP + 12)];
  }

  function at(event) {
    const rect = surface.canvas.getBoundingClientRect();
    const px = event.clientX - rect.left;
    const py = event.clientY - rect.top;
    const names = options().datasets || [];
    for (let i = 0; i < names.length; i += 1) {
      const [x0, y0] = origin(i);
      if (px >= x0 && px <= x0 + THUMB && py >= y0 && py <= y0 + THUMB + 12) return i;
    }
    return null;
  }

  function click(event) {
    const opts = options();
    const index = at(event);
    if (index === null || opts.lock) return;
    const name = opts.datasets[index];
    if (name !== opts.current) model.send({type: "dataset", name});
  }

  function colour(opts, name, label) {
    const regression = (opts.regression || []).includes(name);
    if (regression) {
      const palette = opts.palette || ["#f59322", "#e8eaeb", "#0877bd"];
      return label < 0 ? palette[0] : palette[2];
    }
    const colours = opts.class_colours || ["#f59322", "#0877bd"];
    return colours[Math.round(label) % colours.length];
  }

  function paint() {
    const opts = options();
    const {ctx} = ensureCanvas(opts);
    ctx.clearRect(0, 0, surface.width, surface.height);
    const names = opts.datasets || [];
    const thumbs = channels.get("thumbs");
    const rows = channels.rows("thumbs");
    const per = rows ? thumbs.length / rows / 3 : 0;
    const [lo, hi] = opts.plane || [-6, 6];
    names.forEach((name, index) => {
      const [x0, y0] = origin(index);
      ctx.fillStyle = "#f7f7f7";
      ctx.fillRect(x0, y0, THUMB, THUMB);
      if (index < rows) {
        for (let k = 0; k < per; k += 1) {
          const base = 3 * (index * per + k);
          const px = x0 + (thumbs[base] - lo) / (hi - lo) * THUMB;
          const py = y0 + (hi - thumbs[base + 1]) / (hi - lo) * THUMB;
          if (px < x0 || px > x0 + THUMB || py < y0 || py > y0 + THUMB) continue;
          ctx.fillStyle = colour(opts, name, thumbs[base + 2]);
          ctx.fillRect(px - 1, py - 1, 2.2, 2.2);
        }
      }
      const current = name === opts.current;
      ctx.strokeStyle = current ? "#222" : "#ccc";
      ctx.lineWidth = current ? 2.5 : 1;
      ctx.strokeRect(x0 + 0.5, y0 + 0.5, THUMB - 1, THUMB - 1);
      ctx.fillStyle = current ? "#000" : INK;
      ctx.font = current ? "bold 10px sans-serif" : "10px sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "top";
      ctx.fillText(name, x0 + THUMB / 2, y0 + THUMB + 1);
    });
  }

  const draw = painter(el, paint);
  listen(model, channels, draw);
  model.on("change:options", draw);
  draw();
}

export default {render};
