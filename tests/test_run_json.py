"""The run JSON's text (`empirical.stage_record.run_json_text`): it reads back to the object `json.dumps`
writes, with every list of plain values on one line."""

import json
import math

from empirical.stage_record import run_json_text


def test_the_text_reads_back_to_what_json_dumps_writes():
    obj = {"status": "done", "seed": 3, "metrics": {"recalls": [0.5, 1.0, None], "accuracy": float("nan")},
           "final": {"test": {"predictions": list(range(50)), "labels": [1] * 50}, "history": [
               {"epoch": 1, "val": [0.1, 0.2]}, {"epoch": 2, "val": []}]},
           "nested": [[1, 2], [3, [4, 5]]], "empty": {}, "tuple": (1, "a", True), "inf": float("inf"),
           "text": 'quote " and \\ slash', 7: "an int key", True: "a bool key"}
    text = run_json_text(obj)
    back, reference = json.loads(text), json.loads(json.dumps(obj))
    assert math.isnan(back["metrics"].pop("accuracy")) and math.isnan(reference["metrics"].pop("accuracy"))
    assert back == reference
    lines = text.splitlines()
    assert ' "predictions": [0, 1, 2' in "\n".join(lines) and len(lines) < 40
    assert all(len(line) - len(line.lstrip(" ")) <= 4 for line in lines)   # one space per level


def test_a_plain_value_or_list_is_one_line():
    assert run_json_text(5) == "5" and run_json_text([]) == "[]" and run_json_text({}) == "{}"
    assert run_json_text([1.5, "x", None, False]) == '[1.5, "x", null, false]'
