"""DDS: which regions go back, which blocks the second round codes, how both rounds are
charged and merged, on synthetic boxes and on a real clip."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from oneadapt.adapt.baselines import make_policy
from oneadapt.adapt.dds import DDSPolicy, feedback_regions, merge, pixels, region_blocks
from oneadapt.adapt.policy import PolicyContext
from oneadapt.errors import ConfigurationError
from oneadapt.evaluate.measure import measure
from oneadapt.evaluate.run import run_policy
from oneadapt.inference_cache import Detector
from oneadapt.knobs import ConfigSpace
from oneadapt.media.codec import encode
from oneadapt.media.sources import VideoSource
from oneadapt.models.registry import load_model
from oneadapt.tasks.detection import Detections, DetectionTask

CAR, DOG = 2, 16
TASK = DetectionTask((CAR,))


def boxes(*rows: tuple[float, float, float, float, float, int]) -> Detections:
    return Detections.from_array(np.array(rows, np.float32))


def test_feedback_keeps_the_uncertain_small_boxes_away_from_confident_detections() -> None:
    dets = boxes(
        (10, 10, 30, 30, 0.9, CAR),  # confident: the first round's answer, not re-sent
        (12, 12, 32, 32, 0.3, CAR),  # overlaps it by IoU 0.68: the same object
        (100, 100, 120, 116, 0.2, CAR),  # uncertain, alone: re-sent
        (200, 10, 225, 35, 0.9, DOG),  # not a class of interest: a proposal like any other
        (0, 120, 200, 240, 0.1, CAR),  # a fifth of the frame: too large to re-send
    )
    kept = feedback_regions(dets, TASK, 320 * 240)
    assert kept.tolist() == [[100, 100, 120, 116], [200, 10, 225, 35]]
    assert len(feedback_regions(Detections.empty(), TASK, 320 * 240)) == 0


def test_region_blocks_cover_every_pixel_of_every_box_and_no_block_without_one() -> None:
    rng = np.random.default_rng(1)
    grid = (15, 20)
    corners = rng.uniform([0, 0, 0, 0], [300, 220, 40, 30], (12, 4))
    xyxy = torch.tensor(np.c_[corners[:, :2], corners[:, :2] + corners[:, 2:]], dtype=torch.float32)
    marked = pixels(region_blocks(xyxy, grid)[None], 240, 320)[0]
    inside = np.zeros((240, 320), bool)
    for x0, y0, x1, y1 in xyxy.tolist():
        inside[int(y0) : int(np.ceil(y1)), int(x0) : int(np.ceil(x1))] = True
    assert marked[inside].all()
    per_block = inside.reshape(15, 16, 20, 16).any(axis=(1, 3))
    assert np.array_equal(region_blocks(xyxy, grid), per_block)


def test_merge_adds_only_confident_first_round_objects_the_second_did_not_find() -> None:
    first = boxes(
        (10, 10, 30, 30, 0.9, CAR),  # re-found by the second round
        (100, 10, 130, 30, 0.8, CAR),  # not re-found: kept from the first round
        (200, 10, 230, 30, 0.3, CAR),  # uncertain: the second round's call
    )
    second = boxes((11, 11, 31, 31, 0.95, CAR), (200, 10, 230, 30, 0.7, CAR))
    merged = merge(second, first, TASK)
    assert sorted(merged.boxes[:, 0].tolist()) == [11, 100, 200]
    assert len(merge(second, Detections.empty(), TASK)) == 2


@pytest.fixture(scope="module")
def setup(onnx_and_clip: tuple[Path, Path]):
    model_path, clip = onnx_and_clip
    model = load_model(str(model_path))
    source = VideoSource(clip, fps=5)
    space = ConfigSpace.default(240, 5, qp=(30,), height=(240, 120), fps=(5,), roi=(1.0, 0.0))
    context = PolicyContext(space, Detector(model), DetectionTask.for_model(model.class_names))
    return context, source


def test_dds_refuses_a_space_it_cannot_stream(setup) -> None:
    context, source = setup
    for knobs in ({"roi": (1.0, 0.5)}, {"roi": (1.0, 0.0), "filter_pixel": (0.0, 0.04)}):
        space = ConfigSpace.default(240, 5, qp=(30,), height=(240,), fps=(5,), **knobs)
        with pytest.raises(ConfigurationError) as caught:
            make_policy("dds", dataclasses.replace(context, space=space), 0.3, source=source)
        assert "\n" not in str(caught.value.args[0])


def test_both_rounds_are_charged_and_their_merge_is_scored(setup) -> None:
    context, source = setup
    policy = make_policy("dds", context, 0.3, source=source, offline_seconds=1)
    assert isinstance(policy, DDSPolicy) and policy.encoding["roi"] == 1.0
    assert context.detector is not None and context.task is not None
    df = run_policy(source, policy, context.detector, context.task, context.space, 2, False)
    for segment, row in zip(source.segments(2), df.itertuples(), strict=True):
        config = policy.decide(segment.index, segment)
        assert config == policy.encoding.with_knob("roi", 0.0) and row.roi == 0.0
        first = encode(segment, config, saliency=policy.saliency())
        found = measure(segment, config, context.detector, context.task, None, first).detections
        second = policy.second_pass(segment, first, found)
        assert second is not None and second.bytes > 0 and second.frames_inferred > 0
        assert row.bytes == first.num_bytes + second.bytes
        assert row.frames_inferred == len(first.sent) + second.frames_inferred
        reference = measure(segment, context.space.reference, context.detector, context.task, None)
        assert row.accuracy == pytest.approx(
            context.task.accuracy(second.detections, reference.detections)
        )


def test_more_fed_back_regions_cost_more_second_round_bytes(setup) -> None:
    context, source = setup
    policy = make_policy("dds", context, 0.3, source=source, offline_seconds=1)
    assert isinstance(policy, DDSPolicy)
    segment = next(source.segments(1))
    config = policy.decide(0, segment)
    first = encode(segment, config, saliency=policy.saliency())
    uncertain = boxes((20, 20, 44, 40, 0.2, CAR))
    few = [uncertain] * len(segment)
    more = [boxes((20, 20, 44, 40, 0.2, CAR), (200, 150, 230, 170, 0.2, CAR))] * len(segment)
    nothing = [Detections.empty()] * len(segment)
    cost = [policy.second_pass(segment, first, found) for found in (few, more)]
    assert policy.second_pass(segment, first, nothing) is None
    assert cost[0] is not None and cost[1] is not None
    assert 0 < cost[0].bytes < cost[1].bytes
    assert cost[0].frames_inferred == cost[1].frames_inferred == len(first.sent)
