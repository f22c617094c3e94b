"""A picture's ES module run alone in a blank Chromium page, fed by its kernel-side `Picture`.

No Jupyter server: the page gets the module text the kernel would send, and a
small stand-in for anywidget's model (`get`, `set`, `save_changes`, `on`,
`send`). `PicturePage.load(picture)` renders the picture from its traits as a
page opened later would; `deliver(picture)` passes on the message that
`picture.send()` would send now (and marks it sent), as a live kernel does.
Pixels are read back with `pixels()`; paints and their cost from the
element's data-lt-* attributes.
"""

from __future__ import annotations

import base64

import numpy as np

from widgets.views.picture import module_text

FAKE_MODEL = r"""
window.__ltModels = [];
window.FakeModel = class {
  constructor(state) { this.state = state; this.handlers = {}; this.sent = []; this.saved = 0; }
  get(key) { return this.state[key]; }
  set(key, value) { this.state[key] = value; this.emit(`change:${key}`); }
  save_changes() { this.saved += 1; }
  on(name, handler) { (this.handlers[name] = this.handlers[name] || []).push(handler); }
  emit(name, ...args) { (this.handlers[name] || []).forEach((handler) => handler(...args)); }
  send(message) { this.sent.push(message); }
};
window.__ltView = function (b64) {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return new DataView(bytes.buffer);
};
window.__ltData = function (data) {
  const out = {};
  for (const [name, entry] of Object.entries(data)) {
    out[name] = {...entry, buffer: window.__ltView(entry.buffer)};
  }
  return out;
};
"""

RENDER = r"""async ({module, state, index}) => {
  const url = URL.createObjectURL(new Blob([module], {type: "text/javascript"}));
  const mod = await import(url);
  state.data = window.__ltData(state.data);
  const model = new window.FakeModel(state);
  const el = document.createElement("div");
  el.className = `lt-test-picture lt-test-${index}`;
  document.body.appendChild(el);
  window.__ltModels[index] = {model, el};
  await mod.default.render({model, el});
}"""

DELIVER = r"""({index, message, buffers}) => {
  const {model} = window.__ltModels[index];
  model.emit("msg:custom", message, buffers.map(window.__ltView));
}"""


def _encoded_data(data: dict) -> dict:
    return {name: {**entry, "buffer": base64.b64encode(entry["buffer"]).decode("ascii")} for name,
            entry in data.items()}


class PicturePage:
    """One blank page holding pictures rendered from their kernel-side `Picture` objects."""

    def __init__(self, context) -> None:
        self.page = context.new_page()
        self.page.set_content("<html><body style='margin:0;background:white'></body></html>")
        self.page.evaluate(f"() => {{ {FAKE_MODEL} }}")
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self._count = 0

    def load(self, picture, extra: tuple[str, ...] = ()) -> int:
        """Render `picture` from its traits (its `data` trait as stored); returns its index in the page."""
        state = {"data": _encoded_data(picture.data), "options": picture.options, "width": picture.width,
                 "height": picture.height}
        for name in picture.trait_names(sync=True):
            if name not in state and not name.startswith("_") and name not in ("layout", "tabbable",
                                                                               "tooltip"):
                value = getattr(picture, name)
                if isinstance(value, (bool, int, float, str, list, dict)) or value is None:
                    state[name] = value
        index = self._count
        self._count += 1
        self.page.evaluate(RENDER,
                           {"module": module_text(picture.kind, picture.module), "state": state,
                            "index": index})
        return index

    def deliver(self, index: int, picture) -> bool:
        """Pass the message `picture.send()` would send now to picture `index`, and mark it sent."""
        described, buffers = picture.changes()
        if not described:
            return False
        encoded = [base64.b64encode(buffer).decode("ascii") for buffer in buffers]
        self.page.evaluate(DELIVER, {"index": index, "message": {"type": "data", "changes": described},
                                     "buffers": encoded})
        picture.send()
        return True

    def set_option(self, index: int, name: str, value) -> None:
        """Set a model value as the page's own controls would, and let the picture repaint."""
        self.page.evaluate("([i, name, value]) => window.__ltModels[i].model.set(name, value)",
                           [index, name, value])

    def sent(self, index: int) -> list:
        """The messages picture `index` sent to the kernel."""
        return self.page.evaluate("(i) => window.__ltModels[i].model.sent", index)

    def model_value(self, index: int, name: str):
        return self.page.evaluate("([i, name]) => window.__ltModels[i].model.get(name)", [index, name])

    def settle(self) -> None:
        """Wait for two animation frames: every requested paint has run."""
        self.page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")

    def locator(self, index: int, selector: str = ""):
        return self.page.locator(f".lt-test-{index} {selector}".strip())

    def paints(self, index: int) -> dict:
        """{"count", "ms", "max_ms"}: paints of picture `index` and their cost, as the picture counted
        them."""
        return self.page.evaluate("""(i) => { const d = window.__ltModels[i].el.dataset;
            return {count: Number(d.ltPaints), ms: Number(d.ltPaintMs), max_ms: Number(d.ltPaintMaxMs)}; }""",
            index)

    def pixels(self, index: int, nth: int = 0) -> np.ndarray:
        """The RGBA pixels of the picture's `nth` canvas, [H, W, 4] uint8 at the canvas's own resolution."""
        data = self.page.evaluate(
            """([i, nth]) => {
            const canvas = window.__ltModels[i].el.querySelectorAll("canvas")[nth];
            const image = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
            let text = ""; const bytes = image.data;
            for (let k = 0; k < bytes.length; k += 8192) {
                text += String.fromCharCode.apply(null, bytes.subarray(k, k + 8192));
            }
            return {width: canvas.width, height: canvas.height, b64: btoa(text)};
        }""",
            [index, nth],
        )
        flat = np.frombuffer(base64.b64decode(data["b64"]), dtype=np.uint8)
        return flat.reshape(data["height"], data["width"], 4)

    def hover(self, index: int, x: float, y: float, nth: int = 0) -> str:
        """Move the pointer to (x, y) CSS pixels inside the picture's `nth` canvas; the readout's text."""
        box = self.locator(index, "canvas").nth(nth).bounding_box()
        self.page.mouse.move(box["x"] + x, box["y"] + y)
        return self.page.evaluate("(i) => { const r = window.__ltModels[i].el.querySelector('.lt-readout');"
                                  " return r && r.style.display !== 'none' ? r.textContent : ''; }", index)

    def close(self) -> None:
        self.page.close()
