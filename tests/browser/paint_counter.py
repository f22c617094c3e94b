"""Counting what the learner sees: paints of every live picture's canvas, measured in the page.

On every animation frame each canvas inside a `.lt-*-picture` element is drawn
into a 64x64 offscreen canvas (area-averaged) and checksummed; a new checksum
is a paint, stamped with `performance.now()`. This counts pixels that changed,
whatever the picture's own code says. The pictures' own counters
(`data-lt-paints`, `data-lt-paint-ms`, `data-lt-paint-max-ms`, kept by
common.js) give the browser's cost per paint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

INSTALL = r"""(within) => {
  const state = window.__ltPaintCount = {pictures: {}, running: true, within};
  const small = document.createElement("canvas");
  small.width = small.height = 64;
  const ctx = small.getContext("2d", {willReadFrequently: true});
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  const nameOf = (el) => {
    const host = el.closest('[class*="-picture"]');
    const picture = (c) => c.startsWith("lt-") && c.endsWith("-picture");
    const cls = host ? Array.from(host.classList).find(picture) : null;
    return cls || "unknown";
  };
  const tick = () => {
    if (!state.running) return;
    const seen = {};
    const root = within ? document.querySelector(within) : document;
    for (const canvas of root ? root.querySelectorAll('[class*="-picture"] canvas') : []) {
      if (!canvas.width || !canvas.height) continue;
      const name = nameOf(canvas);
      const key = `${name}#${seen[name] = (seen[name] || 0) + 1}`;
      ctx.clearRect(0, 0, 64, 64);
      ctx.drawImage(canvas, 0, 0, 64, 64);
      const data = ctx.getImageData(0, 0, 64, 64).data;
      let sum = 0;
      for (let i = 0; i < data.length; i += 1) sum = (sum * 31 + data[i]) >>> 0;
      const entry = state.pictures[key] = state.pictures[key] || {last: null, times: []};
      if (entry.last !== null && entry.last !== sum) entry.times.push(performance.now());
      entry.last = sum;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""

GAPS = r"""([from, to]) => {
  const out = {};
  for (const [key, entry] of Object.entries(window.__ltPaintCount.pictures)) {
    const times = entry.times.filter((t) => t >= from && t <= to);
    let gap = 0;
    for (let i = 1; i < times.length; i += 1) gap = Math.max(gap, times[i] - times[i - 1]);
    out[key] = gap;
  }
  return out;
}"""

READ = r"""([from, to]) => {
  const out = {};
  for (const [key, entry] of Object.entries(window.__ltPaintCount.pictures)) {
    out[key] = entry.times.filter((t) => t >= from && t <= to).length;
  }
  return out;
}"""

COSTS = r"""() => {
  const out = {};
  const within = window.__ltPaintCount.within;
  const root = within ? document.querySelector(within) : document;
  for (const el of root ? root.querySelectorAll("[data-lt-paints]") : []) {
    const host = el.closest('[class*="-picture"]') || el;
    const picture = (c) => c.startsWith("lt-") && c.endsWith("-picture");
    const name = Array.from(host.classList).find(picture) || "unknown";
    const paints = Number(el.dataset.ltPaints);
    out[name] = {paints, mean_ms: paints ? Number(el.dataset.ltPaintMs) / paints : 0,
                 max_ms: Number(el.dataset.ltPaintMaxMs)};
  }
  return out;
}"""


class PaintCounter:
    """Counts the paints of every live picture in a page from the moment it is made; with `within` (a CSS
    selector, looked up on every frame), only those inside the element it finds, such as the notebook shown
    (notebooks opened earlier in the same page keep their pictures, hidden, under the same names)."""

    def __init__(self, page: Page, within: str | None = None) -> None:
        self.page = page
        page.evaluate(INSTALL, within)

    def now(self) -> float:
        """The page's clock, in ms."""
        return float(self.page.evaluate("() => performance.now()"))

    def paints_between(self, start_ms: float, end_ms: float) -> dict[str, int]:
        """Paints of each canvas ("lt-loss-curve-picture#1", ...) between two page times."""
        return self.page.evaluate(READ, [start_ms, end_ms])

    def rates(self, start_ms: float, end_ms: float) -> dict[str, float]:
        """Paints a second of each canvas between two page times."""
        seconds = (end_ms - start_ms) / 1000
        return {key: count / seconds for key, count in self.paints_between(start_ms, end_ms).items()}

    def longest_gaps(self, start_ms: float, end_ms: float) -> dict[str, float]:
        """The longest time in ms between two paints of each canvas between two page times."""
        return self.page.evaluate(GAPS, [start_ms, end_ms])

    def costs(self) -> dict[str, dict]:
        """Each picture's own count of its paints and their mean and largest cost in ms."""
        return self.page.evaluate(COSTS)
