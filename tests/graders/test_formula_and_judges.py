"""multi's formula evaluator (never eval), and judge graders: robust parsing, clamping, failures,
and a judge played by a real local model through the provider contract."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ftui.graders.base import Answer, Context, Usage
from ftui.graders.formula import FormulaError, evaluate, linear_weights, parse
from ftui.graders.judge import parse_label, parse_score
from ftui.graders.registry import parse as parse_grader
from ftui.graders.template import Sample

NAMES = {"a", "b"}


def value(formula: str, **values: float) -> float:
    return evaluate(parse(formula, NAMES), {"a": 0.5, "b": 0.25, **values})


def test_formula_arithmetic_functions_and_power():
    assert value("0.5 * a + 0.5 * b") == pytest.approx(0.375)
    assert value("min(a, b) + max(a, b, 1)") == pytest.approx(1.25)
    assert value("a ^ 2") == value("a ** 2") == pytest.approx(0.25)
    assert value("sqrt(b) + abs(-a) + floor(1.7) + ceil(0.2) + exp(0) + log(1)") == pytest.approx(4.0)
    assert value("-a + +b") == pytest.approx(-0.25)


@pytest.mark.parametrize(
    ("formula", "why"),
    [
        ("__import__('os').system('true')", "only these functions"),
        ("a.__class__", "Attribute is not allowed"),
        ("[a, b]", "List is not allowed"),
        ("a if b else 1", "IfExp is not allowed"),
        ("lambda: 1", "Lambda is not allowed"),
        ("'text'", "only numbers"),
        ("c + 1", "unknown name 'c'"),
        ("a % b", "operator Mod is not allowed"),
        ("a == b", "Compare is not allowed"),
        ("min(a)", "two or more"),
        ("sqrt(a, b)", "takes 1"),
        ("min", "is a function"),
        ("a +", "not a formula"),
        ("", "empty"),
        ("a + " * 1000 + "a", "longer than"),
    ],
)
def test_formula_refuses_everything_but_arithmetic(formula, why):
    with pytest.raises(FormulaError, match=why):
        parse(formula, NAMES)


@pytest.mark.parametrize(
    ("formula", "why"),
    [
        ("a / (b - b)", "division by zero"),
        ("2 ** 2 ** 10", "exponent"),
        ("log(a - a)", "domain"),
        ("sqrt(-1)", "domain"),
    ],
)
def test_formula_runtime_failures_are_errors_not_crashes(formula, why):
    with pytest.raises(FormulaError, match=why):
        value(formula)


def test_linear_weights_split_a_weighted_sum_and_nothing_else():
    assert linear_weights(parse("0.3 * a + 0.7 * b", NAMES)) == {
        "a": pytest.approx(0.3),
        "b": pytest.approx(0.7),
    }
    assert linear_weights(parse("(a - b) / 2", NAMES)) == {"a": 0.5, "b": -0.5}
    assert linear_weights(parse("a * b", NAMES)) is None
    assert linear_weights(parse("min(a, b)", NAMES)) is None


def test_a_failing_formula_flags_the_multi_grade():
    g = parse_grader(
        {
            "type": "multi",
            "name": "m",
            "calculate_output": "a / b",
            "graders": {
                "a": {"type": "json_valid", "name": "a"},
                "b": {"type": "json_valid", "name": "b"},
            },
        }
    )
    r = asyncio.run(g.grade(Sample("not json"), {}, Context()))
    assert r.score == 0.0 and r.errors["formula_parse_error"] and "division by zero" in (r.detail or "")


@pytest.mark.parametrize(
    ("text", "low", "high", "expected"),
    [
        ('{"result": 0.8}', 0, 1, 0.8),
        ('```json\n{"score": 4}\n```', 1, 5, 4.0),
        ("Score: 7/10", 0, 1, 0.7),
        ("I'd say 3.5 out of 5", 0, 5, 3.5),
        ('{"result": 12}', 0, 10, 10.0),  # clamped
        ("-3", 0, 1, 0.0),  # clamped
        ('{"result": "0.25", "steps": []}', 0, 1, 0.25),
    ],
)
def test_score_parsing_reads_what_judges_write(text, low, high, expected):
    assert parse_score(text, low, high) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "I cannot grade this.", "NaN", '{"result": null}', "inf"])
def test_unparsable_scores_are_none(text):
    assert parse_score(text, 0, 1) is None


def test_label_parsing():
    labels = ["correct", "incorrect", "partially correct"]
    assert parse_label('{"label": "Correct"}', labels) == "correct"
    assert parse_label("incorrect.", labels) == "incorrect"
    assert parse_label("The answer is partially correct, since...", labels) == "partially correct"
    assert parse_label("no idea", labels) is None


def judge_grader(**over: Any) -> Any:
    return parse_grader(
        {
            "type": "score_model",
            "name": "judge",
            "model": "judge-model",
            "input": [
                {"role": "system", "content": "Grade the answer."},
                {"role": "user", "content": "Answer: {{sample.output_text}}\nReference: {{item.reference}}"},
            ],
            "range": [0, 10],
            **over,
        }
    )


def test_score_model_renders_its_prompt_asks_for_json_and_clamps(tmp_path):
    seen: list[tuple[str, list[dict[str, str]], dict[str, Any]]] = []

    async def judge(model: str, messages: list[dict[str, str]], params: dict[str, Any]) -> Answer:
        seen.append((model, messages, params))
        return Answer('Sure! {"result": 42}', Usage(30, 5))

    r = asyncio.run(judge_grader().grade(Sample("Paris"), {"reference": "Paris"}, Context(judge)))
    assert r.score == 10.0 and r.usage["judge-model"].total_tokens == 35
    _, messages, params = seen[0]
    assert "Answer: Paris\nReference: Paris" in messages[-1]["content"]
    assert '"result"' in messages[-1]["content"] and params["temperature"] == 0.0


@pytest.mark.parametrize(
    ("reply", "flag"),
    [("I refuse to grade.", "model_grader_parse_error"), (None, "model_grader_server_error")],
)
def test_judge_failures_are_flagged_not_raised(reply, flag):
    async def judge(model: str, messages: list[dict[str, str]], params: dict[str, Any]) -> Answer:
        if reply is None:
            raise ConnectionError("judge endpoint is down")
        return Answer(reply)

    r = asyncio.run(judge_grader().grade(Sample("x"), {"reference": "y"}, Context(judge)))
    assert r.score == 0.0 and r.errors[flag]


def test_label_model_passes_on_passing_labels():
    g = parse_grader(
        {
            "type": "label_model",
            "name": "lab",
            "model": "m",
            "input": [{"role": "user", "content": "Is '{{sample.output_text}}' polite?"}],
            "labels": ["polite", "rude"],
            "passing_labels": ["polite"],
        }
    )

    async def judge(model: str, messages: list[dict[str, str]], params: dict[str, Any]) -> Answer:
        return Answer("rude" if "!" in messages[-1]["content"] else "It is polite.")

    assert asyncio.run(g.grade(Sample("thank you"), {}, Context(judge))).score == 1.0
    assert asyncio.run(g.grade(Sample("go away!"), {}, Context(judge))).score == 0.0


@pytest.mark.slow
def test_a_local_model_plays_the_judge_through_the_provider_contract(local_provider):
    """tiny-llama (random weights) writes nonsense: the grade must say so, never crash; with a
    reply it can parse, the score is clamped into the grader's range."""
    from ftui.evaluate.calls import Caller

    caller = Caller(lambda profile: local_provider, concurrency=2)
    grader = judge_grader(model="tiny-llama", sampling_params={"max_completions_tokens": 24})

    async def go():
        try:
            ctx = Context(judge=caller.judge("test", ["test"]))
            return [await grader.grade(Sample(s), {"reference": "Paris"}, ctx) for s in ("Paris", "Rome")]
        finally:
            await caller.aclose()

    for r in asyncio.run(go()):
        assert r.usage["tiny-llama"].prompt_tokens > 0 and r.detail is not None
        assert r.errors.get("model_grader_parse_error") or 0.0 <= r.score <= 10.0
        assert not r.errors.get("model_grader_server_error")
