"""One visual language for every view: the colours of the data splits and of the classes, and text sizes.

Train, validation and test data have the same colour and line style in every
view; class k has the same colour in the decision boundary, its points and the
Playground.
"""

from __future__ import annotations

SPLIT_COLOURS = {"train": "#1f77b4", "valid": "#e66100", "test": "#5e3c99"}
"""Blue for training data, orange for validation, purple for test: told apart also by colour-blind readers."""

SPLIT_LINES = {"train": "o-", "valid": "s--", "test": "^:"}
"""Marker and line style per split, so print-outs in grey still tell them apart."""

STEP_ALPHA = 0.3  # raw per-step values: faint, under their smoothed line
FONT_SIZE = 8
TITLE_SIZE = 9

# a saturated blue and red, darker than the field
TWO_CLASS_COLOURS = [(0.10, 0.37, 0.71), (0.75, 0.11, 0.16)]


def split_colour(split: str) -> str:
    """The colour of 'train', 'valid' or 'test'."""
    try:
        return SPLIT_COLOURS[split]
    except KeyError:
        raise ValueError(f"split must be one of {sorted(SPLIT_COLOURS)}, got {split!r}") from None


def class_colours(classes: int) -> list[tuple[float, float, float]]:
    """RGB colours (0..1) of classes 0 .. classes-1: blue and red for two, a qualitative map for more."""
    if classes < 1:
        raise ValueError(f"classes must be at least 1, got {classes!r}")
    if classes <= 2:
        return TWO_CLASS_COLOURS[:classes]
    from matplotlib import colormaps  # loaded only where more than two classes are drawn

    qualitative = colormaps["tab10" if classes <= 10 else "tab20"]
    return [_rgb_of(qualitative(i % qualitative.N)) for i in range(classes)]

RUN_COLOURS = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#7f7f7f", "#882255"]
"""One colour per run where runs are compared (Okabe and Ito's palette without its yellow, then grey and
wine)."""

MARK_COLOUR = "#222222"
"""Marks drawn over data (a suggested value, a threshold): near black, apart from every data colour."""


def run_colours(runs: int) -> list[str]:
    """Colours of `runs` compared runs: `RUN_COLOURS` in order, a qualitative map beyond eight."""
    if runs < 0:
        raise ValueError(f"runs must be at least 0, got {runs!r}")
    if runs <= len(RUN_COLOURS):
        return RUN_COLOURS[:runs]
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    qualitative = colormaps["tab20"]
    return [to_hex(qualitative(i % qualitative.N)) for i in range(runs)]


def layer_colours(layers: int) -> list[tuple[float, float, float]]:
    """A sequential scale from the input layer (dark purple) to the output layer (green-yellow), for
    `layers` lines."""
    if layers < 1:
        raise ValueError(f"layers must be at least 1, got {layers!r}")
    from matplotlib import colormaps

    scale = colormaps["viridis"]
    return [_rgb_of(scale(0.85 * i / max(layers - 1, 1))) for i in range(layers)]


NEUTRAL_COLOUR = (0.91, 0.92, 0.92)
"""The middle of every diverging scale: an activation or weight of 0, a probability of one half."""

ACTIVATION_COLOURS = (TWO_CLASS_COLOURS[0], NEUTRAL_COLOUR, TWO_CLASS_COLOURS[1])
"""A unit's map: negative, zero, positive. Positive shares class 1's red, as a positive output logit
difference does."""

WEIGHT_COLOURS = {"negative": TWO_CLASS_COLOURS[0], "positive": TWO_CLASS_COLOURS[1]}
"""The links of the network diagram by the sign of their weight, in the colours of the activations."""

POINT_RIMS = {"train": (1.0, 1.0, 1.0), "test": (0.12, 0.12, 0.12)}
"""The rim of a data point drawn on a map: white for training points, near-black for test points."""

CONFUSION_DIAGONAL = "#d9ead3"
"""The background of a confusion matrix's diagonal (the right answers): a pale green, beside any class
colour."""

SIGNED_COLOURMAP = "RdBu_r"
"""Signed values such as weights: blue below zero, near white at zero, red above (drawn over symmetric
limits)."""

GRID_GAP_COLOUR = "#8c8c8c"
"""The lines between the cells of a picture grid: a mid grey, apart from white and every colour of
SIGNED_COLOURMAP."""


def _rgb_of(rgba: tuple[float, float, float, float]) -> tuple[float, float, float]:
    """The red, green and blue of a colour map's RGBA colour."""
    return rgba[0], rgba[1], rgba[2]
