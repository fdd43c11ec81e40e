import torch

from oneadapt.tasks.detection import Detections, DetectionTask, box_iou, frame_f1, nms


def dets(*rows) -> Detections:
    """rows of (x1, y1, x2, y2, score, class)."""
    t = torch.tensor(rows, dtype=torch.float32).reshape(-1, 6)
    return Detections(t[:, :4], t[:, 4], t[:, 5].long())


def test_empty_frames_score_one_and_one_sided_zero():
    assert frame_f1(Detections.empty(), Detections.empty()) == 1.0
    assert frame_f1(dets((0, 0, 10, 10, 0.9, 2)), Detections.empty()) == 0.0
    assert frame_f1(Detections.empty(), dets((0, 0, 10, 10, 0.9, 2))) == 0.0


def test_all_matched():
    ref = dets((0, 0, 10, 10, 0.9, 2), (20, 20, 40, 40, 0.8, 0))
    pred = dets((20, 21, 40, 41, 0.7, 0), (1, 0, 11, 10, 0.6, 2))
    assert frame_f1(pred, ref) == 1.0


def test_class_mismatch_does_not_match():
    assert frame_f1(dets((0, 0, 10, 10, 0.9, 0)), dets((0, 0, 10, 10, 0.9, 2))) == 0.0


def test_iou_just_below_and_above_half():
    ref = dets((0, 0, 100, 10, 1.0, 2))
    # Shift by d along x: IoU = (100 - d) / (100 + d); d = 33 gives 0.5038, d = 34 gives 0.4925.
    above = dets((33, 0, 133, 10, 1.0, 2))
    below = dets((34, 0, 134, 10, 1.0, 2))
    assert float(box_iou(above.boxes, ref.boxes)) > 0.5
    assert float(box_iou(below.boxes, ref.boxes)) < 0.5
    assert frame_f1(above, ref) == 1.0
    assert frame_f1(below, ref) == 0.0


def test_partial_match_f1():
    ref = dets((0, 0, 10, 10, 1, 2), (50, 50, 60, 60, 1, 2))
    pred = dets((0, 0, 10, 10, 1, 2), (100, 100, 110, 110, 1, 2), (200, 200, 210, 210, 1, 2))
    # precision 1/3, recall 1/2 -> F1 0.4
    assert abs(frame_f1(pred, ref) - 0.4) < 1e-9


def test_task_filters_classes_and_scores():
    task = DetectionTask(classes=(2,))
    ref = dets((0, 0, 10, 10, 0.9, 2), (30, 30, 40, 40, 0.9, 5))
    pred = dets((0, 0, 10, 10, 0.6, 2), (60, 60, 70, 70, 0.3, 2))  # low score ignored
    assert task.frame_accuracy(pred, ref) == 1.0
    assert task.accuracy([pred, Detections.empty()], [ref, Detections.empty()]) == 1.0


def test_proxy_is_differentiable_and_class_restricted():
    scores = torch.tensor([0.9, 0.5, 0.1], requires_grad=True)
    d = Detections(torch.zeros(3, 4), scores, torch.tensor([2, 2, 7]))
    value = DetectionTask(classes=(2,)).proxy(d)
    value.backward()
    assert abs(float(value.detach()) - (torch.sigmoid(torch.tensor(8.0)) + 0.5)) < 1e-6
    assert scores.grad[2] == 0 and scores.grad[1] > scores.grad[0] > 0


def test_nms_keeps_best_per_class():
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10.0]])
    keep = nms(boxes, torch.tensor([0.5, 0.9, 0.8]), torch.tensor([1, 1, 2]), 0.45)
    assert keep.tolist() == [1, 2]
