"""The harness's own checks, on a notebook built to break them.

A lesson test that cannot fail proves nothing, so this notebook shows a good
image, a broken image inside an `lt-` view and a cell that raises; the harness
must see all three.
"""

from __future__ import annotations

import pytest
from lab_page import NotebookPage
from notebook_files import write_notebook

SETUP = r'''
import io
import ipywidgets as ipw
import matplotlib
from matplotlib.figure import Figure

def png_bytes():
    figure = Figure(figsize=(2, 1.5), dpi=60)
    figure.add_subplot().plot([0, 1, 2], [2, 0, 1])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()

good = ipw.Image(value=png_bytes(), format="png")
good.add_class("lt-harness-good")
broken = ipw.Image(value=b"not a png", format="png")
broken.add_class("lt-harness-broken")
ipw.VBox([good, broken])
'''

RAISES = 'raise ValueError("deliberate failure for the harness")'
NEVER_RUN = 'print("after the failure")'


@pytest.mark.browser
def test_harness_sees_errors_and_broken_images(lab_app, lab_server):
    relpath = "harness/broken.ipynb"
    write_notebook(lab_server.root / relpath, ["#md # harness check", SETUP, RAISES, NEVER_RUN])
    notebook = NotebookPage(lab_app, relpath)
    try:
        notebook.open()
        with pytest.raises(AssertionError, match="deliberate failure for the harness"):
            notebook.run_all()
        assert notebook.error_outputs() == ["cell 2: ValueError: deliberate failure for the harness"]
        assert notebook.unexecuted_cells() == [3]

        good = notebook.page.locator("img.lt-harness-good")
        good.wait_for()
        notebook.page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=good.element_handle()
        )
        notebook.page.locator("img.lt-harness-broken").wait_for()
        notebook.page.wait_for_function("img => img.complete", arg=notebook.page.locator(
            "img.lt-harness-broken").element_handle())
        problems = notebook.widget_problems()
        assert len(problems) == 1 and "lt-harness-broken" in problems[0], problems
        assert notebook.our_classes() == ["lt-harness-broken", "lt-harness-good"]
        assert notebook.foreign_requests() == []
        assert notebook.requested_urls, "no request was recorded at all"
    finally:
        notebook.close()
