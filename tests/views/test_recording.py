"""Animations of a run: a view records its frames in bounded memory and writes them as an animated GIF."""

import os

import numpy as np
import pytest
import torch
from frames import decode
from PIL import Image, ImageSequence
from small_trainers import small_trainer

from widgets import Dashboard, DecisionBoundary, LossCurve, Playground
from widgets.training.trainer import Trainer
from widgets.views.pacer import Pacer
from widgets.views.png import png_bytes
from widgets.views.recording import Recording, check_limits, merge, write_gif


def spiral_run() -> Trainer:
    return small_trainer(n=128, lr=0.5, device=None)  # 4 steps an epoch


def gif_frames(path: os.PathLike) -> list[np.ndarray]:
    with Image.open(path) as gif:
        assert gif.format == "GIF"
        return [np.asarray(frame.convert("RGB")).astype(int) for frame in ImageSequence.Iterator(gif)]


def solid_png(colour: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> bytes:
    return png_bytes(np.full((size[1], size[0], 3), colour, dtype=np.uint8))


# --- the bounded store ------------------------------------------------------------------------
def offered_numbers(recording: Recording) -> list[int]:
    return [int(frame.decode().split("-")[1]) for frame in recording.frames]


def test_a_full_recording_thins_evenly_and_keeps_the_first_and_the_newest_frame():
    recording = Recording(max_frames=8, max_bytes=10**6)
    for n in range(100):
        recording.add(f"frame-{n}".encode())
        kept = offered_numbers(recording)
        assert len(kept) <= 8 and kept[0] == 0 and kept[-1] == n
        on_stride = kept if kept[-1] % recording.stride == 0 else kept[:-1]
        assert on_stride == list(range(0, n + 1, recording.stride))  # evenly spread, none missing
    # 8 frames over offers 0..99: every 16th (0..96, seven of them) and the newest; every 8th would need 13 +
    # 1
    assert recording.offered == 100 and recording.stride == 16
    assert offered_numbers(recording) == [0, 16, 32, 48, 64, 80, 96, 99]


def test_the_byte_bound_thins_too_but_never_drops_the_first_or_the_newest_frame():
    recording = Recording(max_frames=1000, max_bytes=10_000)
    for n in range(60):
        recording.add(f"frame-{n}-".encode().ljust(1000, b"."))
        assert recording.nbytes == sum(len(frame) for frame in recording.frames) <= 10_000
        kept = offered_numbers(recording)
        assert kept[0] == 0 and kept[-1] == n
    assert 5 <= len(recording) <= 10
    huge = Recording(max_frames=10, max_bytes=100)
    for n in range(5):
        huge.add(f"frame-{n}-".encode().ljust(500, b"."))
    assert offered_numbers(huge) == [0, 4]  # the two that are always kept, though they exceed the bound


def test_merge_makes_one_timeline_of_views_recorded_together():
    first, second = Recording(), Recording()
    for frame in (b"a0", b"a1"):
        first.add(frame)
    second.add(b"b0")
    first.add(b"a2")
    second.add(b"b1")
    assert merge([first, second], 10) == [(b"a0", b"b0"), (b"a1", b"b0"), (b"a2", b"b0"), (b"a2", b"b1")]
    rows = merge([first, second], 3)
    assert rows[0] == (b"a0", b"b0") and rows[-1] == (b"a2", b"b1") and len(rows) == 3


def test_bad_bounds_are_refused_with_what_was_expected():
    for max_frames, max_bytes in ((1, 100), (True, 100), (10.0, 100), (10, 0), (10, "1MB")):
        with pytest.raises(ValueError,
                           match="max_frames must be an int of at least 2|max_bytes must be a positive int"):
            check_limits(max_frames, max_bytes)
    with pytest.raises(TypeError, match="PNG bytes"):
        Recording().add("not bytes")
    kept = Recording(max_frames=3, max_bytes=100)
    for n in range(5):
        kept.add(("state", n), size=40)  # any state, with its size in bytes
    assert kept.frames[0] == ("state", 0) and kept.frames[-1] == ("state", 4) and kept.nbytes <= 100


# --- the GIF writer -----------------------------------------------------------------------------
def test_write_gif_keeps_every_frame_its_colours_and_frames_of_other_sizes(tmp_path):
    colours = [(255, 255, 255), (31, 119, 180), (230, 97, 0), (0, 0, 0)]
    pngs = [solid_png(colour) for colour in colours] + [solid_png((94, 60, 153), size=(20, 50))]
    path = write_gif(tmp_path / "colours.gif", pngs, fps=20)
    frames = gif_frames(path)
    # the largest width and height
    assert len(frames) == 5 and {frame.shape for frame in frames} == {(50, 40, 3)}
    for frame, colour in zip(frames, colours):
        # the colours exactly, on a white canvas
        assert (frame[:30] == colour).all() and (frame[30:] == 255).all()
    last = frames[-1]
    assert (last[:, :20] == (94, 60, 153)).all() and (last[:, 20:] == 255).all()
    with Image.open(path) as gif:
        assert gif.info["duration"] == 50 and gif.info["loop"] == 0


def test_a_bad_target_is_refused_before_anything_is_written(tmp_path):
    pngs = [solid_png((0, 0, 0)), solid_png((255, 255, 255))]
    with pytest.raises(FileNotFoundError, match=r"folder .*missing.* does not exist"):
        write_gif(tmp_path / "missing" / "run.gif", pngs)
    with pytest.raises(ValueError, match="must end in .gif"):
        write_gif(tmp_path / "run.png", pngs)
    for fps in (0, 0.001, 51):  # 0.001: a frame every 1,000 s, longer than a GIF can say (655.35 s)
        with pytest.raises(ValueError,
                           match=rf"fps must be from 0.01 to 50 frames per second, got {float(fps)}"):
            write_gif(tmp_path / "run.gif", pngs, fps=fps)
    with pytest.raises(TypeError, match="fps must be a number of frames per second, got str '5'"):
        write_gif(tmp_path / "run.gif", pngs, fps="5")
    with pytest.raises(ValueError, match="loop must be 0"):
        write_gif(tmp_path / "run.gif", pngs, loop=-1)
    with pytest.raises(ValueError, match="no frames"):
        write_gif(tmp_path / "run.gif", [])
    with pytest.raises(TypeError, match="PNG bytes or a PIL image"):
        write_gif(tmp_path / "run.gif", [np.zeros((4, 4, 3))])
    assert list(tmp_path.iterdir()) == []


def test_a_write_that_fails_half_way_leaves_the_old_file_and_no_part_of_the_new(tmp_path, monkeypatch):
    path = write_gif(tmp_path / "run.gif", [solid_png((0, 0, 0)), solid_png((255, 255, 255))])
    before = path.read_bytes()

    def fail_half_way(image, stream, **options):
        stream.write(b"GIF89a half of it")
        raise OSError("No space left on device")

    monkeypatch.setattr(Image.Image, "save", fail_half_way)
    with pytest.raises(OSError, match="No space left"):
        write_gif(path, [solid_png((31, 119, 180)), solid_png((230, 97, 0))])
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["run.gif"]


# --- views ----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_loss_curve_keeps_a_frame_per_epoch_and_draws_them_into_a_gif(tmp_path):
    trainer = spiral_run()
    # the page is sent almost nothing: recording does not care
    curve = LossCurve(trainer, pacer=Pacer(fps=0.001))
    assert not curve.is_recording and curve.frames_recorded == 0 and curve.recording is None
    first = curve.snapshot().data
    curve.start_recording()
    assert curve.is_recording and curve.frames_recorded == 1  # the state shown when it started
    trainer.fit(6)
    assert curve.frames_recorded == 7  # and one per epoch
    path = curve.save_gif(tmp_path / "loss.gif", fps=5)
    frames = gif_frames(path)
    assert len(frames) == curve.frames_recorded  # the curve grows: every frame differs from the one before
    assert all((a != b).any() for a, b in zip(frames, frames[1:]))
    assert curve.recording.nbytes < 1000  # a frame is kept as its row counts, drawn only for the GIF
    for frame, png in ((frames[0], first), (frames[-1], curve.snapshot().data)):
        assert frame.shape == decode(png).shape and np.abs(frame - decode(png)).mean() < 1.0
    curve.close()


@pytest.mark.slow
def test_recording_stops_keeps_its_frames_and_starts_afresh(tmp_path):
    trainer = spiral_run()
    curve = LossCurve(trainer)
    curve.start_recording(max_frames=4)
    trainer.fit(6)
    assert curve.frames_recorded == 4 and curve.recording.stride > 1  # thinned, bounded
    curve.stop_recording()
    kept = curve.recording.frames
    trainer.fit(1)
    assert not curve.is_recording and curve.recording.frames == kept
    assert len(gif_frames(curve.save_gif(tmp_path / "stopped.gif"))) == 4
    curve.start_recording()
    assert curve.frames_recorded == 1
    curve.close()
    # close stops, frames stay
    assert not curve.is_recording and curve.save_gif(tmp_path / "closed.gif").exists()


@pytest.mark.slow
def test_save_gif_without_a_recording_says_to_start_one_and_a_bad_path_changes_nothing(tmp_path):
    trainer = spiral_run()
    curve = LossCurve(trainer)
    with pytest.raises(RuntimeError, match=r"call start_recording\(\) before training"):
        curve.save_gif(tmp_path / "run.gif")
    curve.start_recording()
    trainer.fit(1)
    trainer.step()  # mid-epoch: no frame kept yet for this step
    recorded = curve.frames_recorded
    with pytest.raises(FileNotFoundError, match="does not exist"):
        curve.save_gif(tmp_path / "no" / "run.gif")
    assert curve.frames_recorded == recorded
    curve.save_gif(tmp_path / "run.gif")  # ends on the current state, kept once
    curve.save_gif(tmp_path / "again.gif")
    assert curve.frames_recorded == recorded + 1
    with pytest.raises(ValueError, match="max_frames"):
        curve.start_recording(max_frames=1)
    assert curve.is_recording and curve.frames_recorded == recorded + 1  # the refused call changed nothing


@pytest.mark.slow
def test_a_decision_boundary_records_every_epoch(tmp_path):
    trainer = spiral_run()
    x, y = trainer.train_loader.dataset.tensors
    boundary = DecisionBoundary(trainer, x, y, resolution=40)
    boundary.start_recording()
    trainer.fit(4)
    assert boundary.frames_recorded == 5
    frames = gif_frames(boundary.save_gif(tmp_path / "boundary.gif"))
    assert len(frames) >= 5 and (frames[0] != frames[-1]).any()
    assert np.abs(frames[-1] - decode(boundary.snapshot().data)).mean() < 1.0
    boundary.close()


@pytest.mark.slow
def test_a_dashboard_saves_sheets_of_all_its_pictures_as_its_snapshot_lays_them_out(tmp_path):
    torch.manual_seed(0)
    trainer = spiral_run()
    x, y = trainer.train_loader.dataset.tensors
    dashboard = Dashboard(trainer, x, y)
    with pytest.raises(RuntimeError, match="start_recording"):
        dashboard.save_gif(tmp_path / "dashboard.gif")
    dashboard.start_recording(max_frames=50)
    assert dashboard.is_recording and all(view.is_recording for view in dashboard.pictures)
    trainer.fit(3)
    path = dashboard.save_gif(tmp_path / "dashboard.gif")
    frames = gif_frames(path)
    sheet = decode(dashboard.snapshot().data)
    # a sheet equal to the one before is stored once
    assert 4 <= len(frames) <= dashboard.frames_recorded <= 50
    assert frames[0].shape == sheet.shape and np.abs(frames[-1] - sheet).mean() < 1.0
    dashboard.stop_recording()
    assert not dashboard.is_recording
    dashboard.close()


def test_the_playground_records_its_whole_frame(tmp_path):
    pg = Playground(n=120, batch_size=20, hidden=[4])
    pg.start_recording()
    pg.trainer.fit(3, verbose=False)
    frames = gif_frames(pg.save_gif(tmp_path / "playground.gif"))
    still = decode(pg.snapshot().data)
    assert len(frames) == pg.frames_recorded > 3
    assert frames[-1].shape == still.shape and np.abs(frames[-1] - still).mean() < 1.0
    assert (frames[0] != frames[-1]).any()
    pg.close()


def test_the_slowest_and_numpy_frame_rates_are_written(tmp_path):
    pngs = [solid_png((0, 0, 0)), solid_png((255, 255, 255))]
    for fps, duration in ((0.01, 100_000), (np.float32(4), 250), (np.int64(5), 200)):
        path = write_gif(tmp_path / "run.gif", pngs, fps=fps)
        with Image.open(path) as gif:
            assert gif.n_frames == 2 and gif.info["duration"] == duration
