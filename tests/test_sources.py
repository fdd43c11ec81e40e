import socket
from fractions import Fraction

import numpy as np
import pytest
from media_helpers import frame_index, write_counter_video

from oneadapt.errors import OneAdaptError
from oneadapt.media import sources
from oneadapt.media.sources import VideoSource


@pytest.mark.parametrize("rate", [Fraction(3), Fraction(25, 2), Fraction(25), Fraction(60)])
def test_resampling_picks_the_frame_on_screen(tmp_path, rate):
    seconds = 3
    path = tmp_path / f"v{float(rate)}.mp4"
    write_counter_video(path, rate, int(seconds * rate))
    segments = list(VideoSource(path, fps=10).segments())
    assert len(segments) == seconds
    for seg in segments:
        assert seg.frames.shape == (10, 48, 400, 3) and seg.frames.dtype == np.uint8
        for t, frame in zip(seg.timestamps, seg.frames, strict=True):
            # The frame shown at time t is the latest one presented at or before t.
            assert frame_index(frame) == int(np.floor(t * float(rate) + 1e-6)), (rate, t)


def test_max_seconds_and_odd_timestamps(tmp_path):
    path = tmp_path / "v.mp4"
    write_counter_video(path, Fraction(30000, 1001), 90)
    segs = list(VideoSource(path, fps=5).segments(max_seconds=2))
    assert [s.index for s in segs] == [0, 1]
    assert segs[1].timestamps.tolist() == pytest.approx([1.0, 1.2, 1.4, 1.6, 1.8])


def test_mpeg4_in_avi(tmp_path):
    path = tmp_path / "v.avi"
    write_counter_video(path, Fraction(25), 30, codec="mpeg4")
    (seg,) = VideoSource(path).segments()
    assert seg.frames.shape == (10, 48, 400, 3)


@pytest.mark.parametrize("content", [b"", b"this is not a video" * 100])
def test_bad_files_raise_user_errors(tmp_path, content):
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(OneAdaptError):
        list(VideoSource(path).segments())


def test_missing_file(tmp_path):
    with pytest.raises(OneAdaptError, match="does not exist"):
        VideoSource(tmp_path / "nope.mp4")


def test_shorter_than_a_second(tmp_path):
    path = tmp_path / "short.mp4"
    write_counter_video(path, Fraction(25), 5)
    with pytest.raises(OneAdaptError, match="shorter than one second"):
        list(VideoSource(path).segments())


def test_real_clips_resample_to_ten_fps(shared_data):
    for name, seconds in [
        ("bgslibrary_video02_highway_cctv.avi", 30),
        ("mmtracking_demo_pedestrian_street.mp4", 2),
    ]:
        segs = list(VideoSource(shared_data / "videos" / name).segments())
        assert len(segs) == seconds
        assert all(len(s) == 10 for s in segs)


def test_rtsp_listen_on_a_busy_port_names_the_fix():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OneAdaptError, match="free port"):
            VideoSource(f"rtsp-listen://127.0.0.1:{port}/live")


def test_rtsp_listen_without_a_publisher_says_how_to_push(monkeypatch):
    monkeypatch.setattr(sources, "OPEN_TIMEOUT_S", 1.0)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(OneAdaptError, match=r"nothing was pushed .* within 1 s.*-f rtsp"):
        VideoSource(f"rtsp-listen://127.0.0.1:{port}/live")
