"""The words people use (issue "the words people use"): prompts written the way users write them.

``vocabulary_prompts.json`` holds prompts (long and short, comma lists, sentences, typos, odd case)
with what a reader expects each to set: ``{"attribute.path": value}``, where ``value`` is the exact
word, bool or list, ``null`` for "must stay unspecified", or ``[lo, hi]`` for a number. The embedded
parser must record at least ``MIN_RECORDED`` of all expectations; the misses are printed.
"""

import json
from pathlib import Path
from typing import Any

import pytest

from machcreator.attributes import Attributes
from machcreator.parsing import get_parser

PROMPTS: list[dict[str, Any]] = json.loads(Path(__file__).with_name("vocabulary_prompts.json").read_text("utf-8"))
#: Share of expected attributes the parser must record.
MIN_RECORDED = 0.95


@pytest.fixture(scope="module")
def parser():
    return get_parser("embedded")


def _recorded(actual: Any, expected: Any) -> bool:
    """A ``[lo, hi]`` pair of numbers is a closed range; anything else must be equal."""
    is_range = (isinstance(expected, list) and len(expected) == 2
                and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in expected))
    if is_range:
        return isinstance(actual, (int, float)) and expected[0] <= actual <= expected[1]
    return actual == expected


def test_prompt_file_names_real_attributes():
    paths = set(Attributes.field_paths())
    assert len(PROMPTS) >= 200
    assert len({case["prompt"] for case in PROMPTS}) == len(PROMPTS), "duplicate prompts"
    for case in PROMPTS:
        assert case["expect"], case["prompt"]
        assert set(case["expect"]) <= paths, (case["prompt"], set(case["expect"]) - paths)


def test_words_people_use_are_recorded(parser):
    total, recorded, misses, crashes = 0, 0, [], []
    for case in PROMPTS:
        total += len(case["expect"])
        try:
            attrs = parser.parse(case["prompt"]).attributes
        except Exception as exc:  # counted and reported: no prompt may crash the parser
            crashes.append(f"  {case['prompt']!r}: {type(exc).__name__}: {exc}")
            continue
        for path, want in case["expect"].items():
            got = attrs.get_path(path)
            if _recorded(got, want):
                recorded += 1
            else:
                misses.append(f"  {case['prompt']!r}: {path}={got!r}, expected {want!r}")
    fraction = recorded / total
    report = "\n".join([f"vocabulary: {recorded}/{total} expected attributes recorded ({fraction:.1%}) "
                        f"in {len(PROMPTS)} prompts, {len(misses)} missed, {len(crashes)} crashed",
                        *misses, *crashes])
    print(report)
    assert not crashes, report
    assert fraction >= MIN_RECORDED, report


@pytest.mark.parametrize("prompt", [
    "a beautiful smiling woman with kind eyes",
    "a handsome, friendly farmer in his fifties",
    "photorealistic portrait of a serious soldier, studio lighting",
    "a tattooed American sailor with a nose ring",
    "a woman with honey-colored eyes and caramel highlights",
    "a man around 50, about six feet tall",
])
def test_known_words_without_an_attribute_are_not_unknown(parser, prompt):
    assert parser.parse(prompt).unknown_words == []
