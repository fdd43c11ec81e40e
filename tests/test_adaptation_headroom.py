"""benchmarks/adaptation_headroom.py on synthetic profiles whose answer is known: content
that alternates every second between two states (the past is always wrong about the next
second), stationary content (every policy agrees), the reference and knob columns a profile
implies, and the script's entry on a parquet file."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from benchmark_helpers import benchmark_script

from oneadapt.errors import ConfigurationError


@pytest.fixture(scope="module")
def hr():
    with benchmark_script("adaptation_headroom") as module:
        yield module


def rows(second: int, accuracy: dict[int, float], **extra) -> list[dict]:
    """One second of a profile over QP 20 (the reference: 1000 bytes) and QP 40 (200 bytes),
    at one height and frame rate."""
    size = {20: 1000, 30: 500, 40: 200}
    return [
        {
            "second": second,
            "qp": qp,
            "height": 360,
            "fps": 10,
            "accuracy": acc,
            "bytes": size[qp],
            "frames_inferred": 10,
            "dnn_seconds": 0.1,
            "encode_seconds": 0.01,
            "cached_frames": 0,
            "kbps": size[qp] * 8 / 1000,
            **extra,
        }
        for qp, acc in accuracy.items()
    ]


def alternating(seconds: int = 10, **extra) -> pd.DataFrame:
    """Even seconds: QP 40 is as good as the reference; odd seconds: it halves accuracy."""
    out = []
    for s in range(seconds):
        out += rows(s, {20: 1.0, 40: 1.0 if s % 2 == 0 else 0.5}, **extra)
    return pd.DataFrame(out)


def test_alternating_content_defeats_the_past_but_not_the_oracle(hr):
    clip = hr.clip_of(alternating(), "alt")
    curve = hr.mean_curve(hr.clip_points(clip, hr.LAMBDAS, 1.0, [1, 5]))
    match = hr.matched(curve, [0.9, 1.0])
    # Per second: QP 40 on even seconds, QP 20 on odd ones: accuracy 1 at (1.6 + 8) / 2;
    # at a high lambda QP 40 throughout (0.75 at 1.6); 0.9 lies between, interpolated.
    assert match["per second"][1.0] == pytest.approx(4.8)
    assert match["per second"][0.9] == pytest.approx(1.6 + 0.6 * (4.8 - 1.6))
    # Fixed: QP 20 (1.0 at 8) or QP 40 (0.75 at 1.6).
    assert match["fixed"][1.0] == pytest.approx(8.0)
    assert match["fixed"][0.9] == pytest.approx(1.6 + 0.6 * (8.0 - 1.6))
    # The last second always wants the other configuration: QP 40 exactly when it hurts.
    assert match["last 1 s"][0.9] is None
    last = curve[curve["policy"] == "last 1 s"]
    assert last["accuracy"].max() == pytest.approx(0.75)


def test_stationary_content_leaves_nothing_to_adapt(hr):
    df = pd.DataFrame([r for s in range(8) for r in rows(s, {20: 1.0, 30: 0.97, 40: 0.8})])
    clip = hr.clip_of(df, "flat")
    points = hr.clip_points(clip, hr.LAMBDAS, 1.0, [1, 3, 20])
    by_policy = {p: g[["accuracy", "kbps"]].to_numpy() for p, g in points.groupby("policy")}
    assert set(by_policy) == {
        "per second",
        "last 1 s",
        "last 3 s",
        "last 20 s",
        "all past",
        "fixed",
    }
    for p, values in by_policy.items():
        assert np.allclose(values, by_policy["fixed"]), p
    assert points["configs_used"].max() == 1
    match = hr.matched(hr.mean_curve(points), [0.9, 0.95])
    # QP 30 (0.97 at 4) on the envelope, interpolated from QP 40 (0.8 at 1.6).
    assert match["fixed"][0.95] == pytest.approx(1.6 + 0.15 / 0.17 * (4.0 - 1.6))
    assert len({m[0.9] for m in match.values()}) == 1


def test_causal_windows_see_only_the_past(hr):
    #                 config 0  config 1
    table = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.0, 3.0], [0.0, 1.0]])
    got = hr.choices(table, [1, 2])
    assert got["per second"].tolist() == [1, 0, 0, 1, 1]
    assert got["last 1 s"].tolist() == [1, 1, 0, 0, 1]  # second 0: the oracle's choice
    assert got["last 2 s"].tolist() == [1, 1, 0, 0, 1]
    assert got["all past"].tolist() == [1, 1, 0, 0, 1]  # at 4: means 0.5 vs 1.0
    assert got["fixed"].tolist() == [1] * 5  # sums 2 vs 5
    assert hr.choices(table, [1], start=0)["last 1 s"][0] == 0
    assert "per regime" not in got
    regime = hr.choices(table, [], regime=np.array([0, 0, 0, 1, 1]))["per regime"]
    assert regime.tolist() == [0, 0, 0, 1, 1]


def test_per_regime_is_an_oracle_per_run_of_seconds(hr):
    labels = ["easy"] * 4 + ["hard"] * 4 + ["easy"] * 2
    df = pd.DataFrame(
        [r for s, name in enumerate(labels)
         for r in rows(s, {20: 1.0, 40: 1.0 if name == "easy" else 0.5}, regime=name)]
    )  # fmt: skip
    clip = hr.clip_of(df, "regimes")
    assert clip.regime.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]
    match = hr.matched(hr.mean_curve(hr.clip_points(clip, hr.LAMBDAS, 1.0, [1])), [0.9, 1.0])
    assert match["per regime"] == pytest.approx(match["per second"])
    assert match["per regime"][1.0] == pytest.approx((6 * 1.6 + 4 * 8) / 10)
    assert match["fixed"][1.0] == pytest.approx(8.0)


def test_reference_is_the_dearest_value_of_every_knob(hr):
    video = pd.DataFrame(
        [{"second": 0, "qp": q, "height": h, "fps": f, "accuracy": 1.0}
         for q in (40, 20, 30) for h in (180, 360) for f in (5, 10)]
    )  # fmt: skip
    assert dict(hr.reference_of(video)) == {"qp": 20, "height": 360, "fps": 10}
    lidar = pd.DataFrame(
        [{"second": 0, "voxel_m": v, "max_range_m": r, "draco_bits": b, "draco_level": lv,
          "accuracy": 1.0, "kbps": 1.0}
         for v in (0.3, 0.0) for r in (30.0, 80.0) for b in (8, 14) for lv in (7, 0)]
    )  # fmt: skip
    ref = dict(hr.reference_of(lidar))
    assert ref == {"voxel_m": 0.0, "max_range_m": 80.0, "draco_bits": 14, "draco_level": 0}
    audio = pd.DataFrame(
        [{"second": 0, "sample_rate": r, "bitrate": b, "accuracy": 1.0}
         for r in (8000, 16000) for b in (6000, 32000)]
    )  # fmt: skip
    assert dict(hr.reference_of(audio)) == {"sample_rate": 16000, "bitrate": 32000}


def test_reference_column_and_cost_are_the_profiles(hr):
    df = alternating(4)
    df.loc[(df["second"] == 1) & (df["qp"] == 20), "bytes"] = 2000  # a dearer second
    df = df.iloc[::-1].reset_index(drop=True)  # order of rows does not matter
    clip = hr.clip_of(df, "alt")
    assert clip.configs[clip.reference].label() == "qp20/360p/10fps"
    table = hr.objective_table(clip, 0.5, gpu_weight=0.0)
    qp40 = 1 - clip.reference
    assert table[0, clip.reference] == pytest.approx(1.0 - 0.5)
    assert table[0, qp40] == pytest.approx(1.0 - 0.5 * 0.2)
    assert table[1, qp40] == pytest.approx(0.5 - 0.5 * 0.1)  # cost against that second's
    assert hr.objective_table(clip, 0.5, 1.0)[1, qp40] == pytest.approx(0.5 - 0.5 * 1.1)


def test_knob_columns_are_what_is_not_a_metric(hr):
    df = alternating(2, regime="x")
    assert hr.knob_columns(df) == ["qp", "height", "fps"]
    with pytest.raises(ConfigurationError, match="unknown knob 'colour'"):
        hr.knob_columns(df.assign(colour=1))


def test_incomplete_profile_is_refused(hr):
    df = alternating(3).iloc[:-1]
    with pytest.raises(ConfigurationError, match="second 2, configuration qp40"):
        hr.clip_of(df, "cut")
    # Without QP 20, QP 40 is the dearest left, but the profile did not score against it.
    with pytest.raises(ConfigurationError, match="qp40/360p/10fps scores accuracy 0.5-1"):
        hr.clip_of(alternating(3).query("qp != 20"), "no reference")


def test_legacy_profile_columns(hr, tmp_path):
    old = alternating(2)[["second", "qp", "height", "fps", "accuracy", "kbps", "frames_inferred"]]
    old = old.rename(columns={"accuracy": "acc", "frames_inferred": "frames"})
    old.to_parquet(tmp_path / "old.parquet")
    df = hr.read_profile(tmp_path / "old.parquet")
    assert df["bytes"].tolist() == alternating(2)["bytes"].tolist()
    assert hr.knob_columns(df) == ["qp", "height", "fps"]
    pd.DataFrame({"second": [0]}).to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(ConfigurationError, match="not a per-second profile"):
        hr.read_profile(tmp_path / "bad.parquet")


def test_script_on_profiles(hr, tmp_path, capsys):
    for name, seconds in (("a", 10), ("b", 6)):
        (tmp_path / name).mkdir()
        alternating(seconds).to_parquet(tmp_path / name / "profile.parquet")
    out = tmp_path / "out"
    result = hr.main(
        [str(tmp_path / "a"), str(tmp_path / "b" / "profile.parquet"), "--windows", "1,8",
         "--targets", "0.9,1", "--gpu-weight", "0", "--out", str(out), "--curves"]
    )  # fmt: skip
    printed = capsys.readouterr()
    assert "kbit/s at target accuracy" in printed.out and "last 8 s" in printed.out
    assert "window(s) [8] s reach the clip's start" in printed.err  # b is 6 s long
    assert "each clip's own curves" in printed.out
    saved = json.loads((out / "headroom.json").read_text())
    assert saved == json.loads(json.dumps(result))
    assert [c["name"] for c in saved["clips"]] == ["a", "profile"]
    assert saved["matched"]["per second"]["1"] == pytest.approx(4.8)
    assert saved["matched"]["fixed"]["1"] == pytest.approx(8.0)
    assert saved["matched"]["last 1 s"]["0.9"] is None
    points = pd.read_csv(out / "headroom_points.csv")
    assert set(points["clip"]) == {"a", "profile", "mean"}


def test_script_demo_mode_profiles_the_scene(hr, monkeypatch, tmp_path, capsys):
    asked = []

    def fake(seed, seconds, progress=True):
        asked.append((seed, seconds))
        return alternating(seconds, regime="one")

    monkeypatch.setattr(hr, "profile_demo", fake)
    result = hr.main(["--seconds", "6", "--seed", "3", "--save", str(tmp_path / "d.parquet")])
    assert asked == [(3, 6)]
    assert "per regime" in result["matched"]
    assert pd.read_parquet(tmp_path / "d.parquet").shape[0] == 12
    assert "demo scene seed 3" in capsys.readouterr().out


def test_fixing_a_knob_gives_the_smaller_spaces_bounds(hr):
    """With an encoder knob whose cheap value halves the bytes of QP 40 at no accuracy cost,
    fixing it at its dearest value takes that saving away: the fixed configuration at full
    accuracy is QP 20 again. A knob or value the profile lacks is refused by name."""
    full = []
    for s in range(6):
        for qp, acc in {20: 1.0, 40: 1.0 if s % 2 else 0.8}.items():
            for i_qfactor, scale in ((0.71, 1.0), (1.4, 0.5)):
                (row,) = rows(s, {qp: acc}, i_qfactor=i_qfactor)
                full.append({**row, "bytes": row["bytes"] * scale, "kbps": row["kbps"] * scale})
    df = pd.DataFrame(full)
    fixed = hr.fix_knobs(df, ["i_qfactor=0.71"])
    assert "i_qfactor" not in fixed and len(fixed) == len(df) // 2
    assert (fixed["bytes"] == df[df["i_qfactor"] == 0.71]["bytes"].to_numpy()).all()
    match = {
        name: hr.matched(
            hr.mean_curve(hr.clip_points(hr.clip_of(d, name), hr.LAMBDAS, 1.0, [1])), [1.0]
        )
        for name, d in (("all", df), ("fixed", fixed))
    }
    assert match["all"]["fixed"][1.0] == pytest.approx(4.0)  # QP 20 at i_qfactor 1.4
    assert match["fixed"]["fixed"][1.0] == pytest.approx(8.0)  # QP 20 at the dearest
    with pytest.raises(ConfigurationError, match="names no knob column"):
        hr.fix_knobs(df, ["chroma_qp_offset=0"])
    with pytest.raises(ConfigurationError, match="no rows with i_qfactor at 1"):
        hr.fix_knobs(df, ["i_qfactor=1"])


def test_a_missing_or_corrupt_profile_is_one_clear_error(hr, tmp_path):
    with pytest.raises(ConfigurationError, match="cannot read a profile from"):
        hr.read_profile(tmp_path / "nowhere")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(ConfigurationError, match="cannot read a profile from"):
        hr.read_profile(tmp_path / "bad.parquet")
