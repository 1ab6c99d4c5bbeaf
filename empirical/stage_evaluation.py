"""Stage 6 of a run's trip (:mod:`empirical.pipeline`): the evaluation of the final model.

Input: :class:`~empirical.stage_training.TrainedRun` (the training stage's output). Output:
:class:`EvaluatedRun`, the same with the metrics on the test half and the validation half (average
accuracy, worst-class accuracy, per-class recalls, the predictions) and the 95% intervals of the test
metrics over the test images (:func:`empirical.stats.accuracy_intervals`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from . import evaluation, stats
from .stage_training import TrainedRun

__all__ = ["EvaluatedRun", "evaluation_stage"]


@dataclass(frozen=True, kw_only=True)
class EvaluatedRun(TrainedRun):
    """The evaluation stage's output: the trained run, with ``test`` and ``val`` (the metrics of
    :func:`empirical.evaluation.evaluate`, predictions included) and ``intervals`` (of the test
    metrics)."""

    test: dict | None = None
    val: dict | None = None
    intervals: dict | None = None


def evaluation_stage(run: TrainedRun) -> EvaluatedRun:
    """Evaluate the trained model on the test and validation halves (with the recipe's test-time
    augmentation) and bootstrap the test metrics' intervals; time the evaluation.

    Parameters
    ----------
    run : TrainedRun
        The training stage's output.

    Returns
    -------
    EvaluatedRun
        ``run`` with ``test``, ``val`` and ``intervals``.
    """
    t, model, precision, tta = run.tensors, run.model, run.config.precision, run.recipe.tta
    t0 = time.perf_counter()
    # predictions are stored so that intervals and paired comparisons can be recomputed from the JSON
    test = evaluation.evaluate(model, t.x_test, t.y_test, t.aug, t.num_classes, precision=precision,
                               return_predictions=True, tta=tta)
    val = evaluation.evaluate(model, t.x_val, t.y_val, t.aug, t.num_classes, precision=precision,
                              return_predictions=True, tta=tta)
    run.timings["eval_s"] = time.perf_counter() - t0
    # 95% intervals over the test images (stratified bootstrap, fixed seed 0: the report recomputes the same)
    intervals = stats.accuracy_intervals(test["predictions"], test["labels"], t.num_classes,
                                         class_names=run.ds.class_names)
    return EvaluatedRun(**vars(run), test=test, val=val, intervals=intervals)
