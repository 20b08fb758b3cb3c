"""Each grader type on known and hostile inputs: empty output, Unicode, very long text, bad templates."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from ftui.graders.base import Context, GraderError
from ftui.graders.registry import PRESETS, kinds, load, parse, resolve
from ftui.graders.template import Sample, check, render

OUT, REF = "{{sample.output_text}}", "{{item.reference}}"


def grade(obj: dict[str, Any], output: str, item: dict[str, Any] | None = None, ctx: Context | None = None):
    async def go():
        g = parse({"name": "g", **obj})
        try:
            return await g.grade(Sample(output), item or {}, ctx or Context())
        finally:
            await g.aclose()

    return asyncio.run(go())


def check_(op: str, output: str, reference: str) -> float:
    return grade(
        {"type": "string_check", "input": OUT, "reference": REF, "operation": op},
        output,
        {"reference": reference},
    ).score


def test_string_check_operations_follow_openai():
    assert check_("eq", "Paris", "Paris") == 1.0
    assert check_("eq", "Paris ", "Paris") == 0.0  # exact: whitespace counts
    assert check_("ne", "Rome", "Paris") == 1.0
    assert check_("like", "It is Paris.", "Paris") == 1.0
    assert check_("like", "It is paris.", "Paris") == 0.0  # like is case-sensitive
    assert check_("ilike", "IT IS PARIS", "paris") == 1.0
    assert check_("ilike", "straße", "STRASSE") == 1.0  # Unicode case folding


def test_string_check_on_empty_unicode_and_huge_output():
    assert check_("eq", "", "") == 1.0
    assert check_("like", "", "x") == 0.0
    assert check_("ilike", "日本語のテキスト 🚀", "テキスト 🚀") == 1.0
    assert check_("like", "a" * 2_000_000 + "needle", "needle") == 1.0


@pytest.mark.parametrize("metric", ["fuzzy_match", "bleu", "gleu", "meteor", "rouge_1", "rouge_2", "rouge_l"])
def test_text_similarity_is_one_for_identical_text_and_bounded_for_anything(metric):
    def sim(output: str, reference: str) -> float:
        obj = {"type": "text_similarity", "input": OUT, "reference": REF, "evaluation_metric": metric}
        return grade(obj, output, {"reference": reference}).score

    same = "the quick brown fox jumps over the lazy dog"
    assert sim(same, same) == pytest.approx(1.0, abs=0.01)  # METEOR keeps a tiny fragmentation penalty
    assert 0.0 <= sim("a completely different sentence here", same) < 1.0
    for output, reference in [("", ""), ("", same), (same, ""), ("東京は日本の首都です", "東京は首都")]:
        assert 0.0 <= sim(output, reference) <= 1.0
    assert 0.0 <= sim(same * 20_000, same) <= 1.0  # long text is cut, not a stall


def test_rouge_counts_non_latin_words():
    obj = {"type": "text_similarity", "input": OUT, "reference": REF, "evaluation_metric": "rouge_1"}
    assert grade(obj, "привет мир", {"reference": "привет мир"}).score == pytest.approx(1.0)


def test_cosine_is_valid_json_but_not_gradable_here():
    g = parse(
        {
            "type": "text_similarity",
            "name": "c",
            "input": OUT,
            "reference": REF,
            "evaluation_metric": "cosine",
        }
    )
    assert "embedding model" in (g.unsupported_here() or "")
    assert grade(g.raw(), "x", {"reference": "x"}).errors.get("other_error")


def test_templates_read_item_fields_output_json_and_list_indexes():
    item = {"answer": {"city": "Paris"}, "tags": ["a", "b"], "n": 3}
    sample = Sample('{"city": "Paris", "pop": [1, 2]}')
    r = render("{{ item.answer.city }}|{{item.tags.1}}|{{item.n}}|{{sample.output_json.pop.0}}", sample, item)
    assert r.text == "Paris|b|3|1" and not r.missing
    bad = render("{{item.nope}}", sample, item)
    assert bad.text == "" and bad.missing == ["item.nope"]
    not_json = render("{{sample.output_json.city}}", Sample("not json"), item)
    assert not_json.sample_parse_error


def test_a_missing_variable_or_unparsable_json_flags_the_grade_and_scores_zero():
    g = {"type": "string_check", "input": OUT, "reference": "{{item.missing}}", "operation": "ne"}
    result = grade(g, "anything", {})
    assert result.score == 0.0 and result.errors["invalid_variable_error"]
    g = {"type": "string_check", "input": "{{sample.output_json.x}}", "reference": "1", "operation": "eq"}
    result = grade(g, "{not json", {})
    assert result.score == 0.0 and result.errors["sample_parse_error"]
    assert grade(g, '{"x": 1}', {}).score == 1.0


@pytest.mark.parametrize(
    ("template", "why"),
    [("{{foo.bar}}", "only 'item"), ("{{item}}", "name a field"), ("{{sample.text}}", "sample has")],
)
def test_bad_templates_are_refused_when_loaded(template, why):
    assert why in (check(template) or "")
    with pytest.raises(GraderError, match=why):
        parse({"type": "string_check", "name": "s", "input": template, "reference": "x", "operation": "eq"})


def test_definition_errors_name_the_field():
    with pytest.raises(GraderError, match=r"field 'operation'"):
        parse({"type": "string_check", "name": "s", "input": OUT, "reference": REF, "operation": "regex"})
    with pytest.raises(GraderError, match=r"field 'reference': required"):
        parse({"type": "string_check", "name": "s", "input": OUT, "operation": "eq"})
    with pytest.raises(GraderError, match=r"field 'colour': unknown field"):
        parse({"type": "json_valid", "name": "j", "colour": "red"})
    with pytest.raises(GraderError, match=r"unknown grader type 'magic'"):
        parse({"type": "magic", "name": "m"})
    with pytest.raises(GraderError, match=r"field 'type'"):
        parse({"name": "m"})
    with pytest.raises(GraderError, match="JSON object"):
        parse(["not", "an", "object"])


def test_json_valid_json_schema_regex_and_length():
    assert grade({"type": "json_valid"}, '{"a": [1, 2]}').score == 1.0
    assert grade({"type": "json_valid"}, "{'a': 1}").score == 0.0
    assert grade({"type": "json_valid"}, "[" * 100_000).score == 0.0  # deep nesting: no crash
    schema = {"type": "object", "required": ["age"], "properties": {"age": {"type": "integer", "minimum": 0}}}
    js = {"type": "json_schema", "json_schema": schema}
    assert grade(js, '{"age": 4}').score == 1.0
    bad = grade(js, '{"age": -1}')
    assert bad.score == 0.0 and "age" in (bad.detail or "")
    with pytest.raises(GraderError, match="not a valid JSON Schema"):
        parse({"type": "json_schema", "name": "s", "json_schema": {"type": "no-such-type"}})
    assert grade({"type": "regex", "pattern": r"\d{3}-\d{4}"}, "call 555-1234 now").score == 1.0
    assert grade({"type": "regex", "pattern": "abc", "match": "fullmatch"}, "abcd").score == 0.0
    assert grade({"type": "regex", "pattern": "ÄBC", "ignore_case": True}, "äbc").score == 1.0
    with pytest.raises(GraderError, match="not a valid regular expression"):
        parse({"type": "regex", "name": "r", "pattern": "(unclosed"})
    assert grade({"type": "length", "max": 5}, "").score == 1.0
    assert grade({"type": "length", "min": 2, "max": 3, "unit": "words"}, "one two three four").score == 0.0
    with pytest.raises(GraderError, match="min 5 is larger than max 2"):
        parse({"type": "length", "name": "l", "min": 5, "max": 2})


def test_a_catastrophic_regex_times_out_instead_of_hanging():
    result = grade({"type": "regex", "pattern": r"(a|aa)+$", "timeout_s": 0.2}, "a" * 60 + "b")
    assert result.score == 0.0 and result.errors.get("other_error")
    assert "did not finish" in (result.detail or "")


def test_multi_combines_named_graders_with_its_formula():
    obj = {
        "type": "multi",
        "calculate_output": "0.5 * exact + 0.5 * fuzzy",
        "graders": {
            "exact": {**PRESETS["exact"], "name": "exact"},
            "fuzzy": {**PRESETS["fuzzy"], "name": "fuzzy"},
        },
    }
    r = grade(obj, "Paris", {"reference": "Paris"})
    assert r.score == pytest.approx(1.0) and r.sub_scores == {"exact": 1.0, "fuzzy": 1.0}
    r = grade(obj, "Pariss", {"reference": "Paris"})
    assert 0.4 < r.score < 0.5 and r.sub_scores["exact"] == 0.0


def test_multi_accepts_the_sdks_single_grader_shape_and_reports_sub_grader_fields():
    single = {"type": "multi", "calculate_output": "inner", "graders": {**PRESETS["exact"], "name": "inner"}}
    assert set(parse({"name": "m", **single}).graders) == {"inner"}
    bad = {
        "type": "multi",
        "name": "m",
        "calculate_output": "a",
        "graders": {"a": {"type": "regex", "name": "a"}},
    }
    with pytest.raises(GraderError, match=r"field 'graders\.a\.pattern'"):
        parse(bad)
    with pytest.raises(GraderError, match=r"field 'calculate_output': unknown name 'b'"):
        parse({**bad, "calculate_output": "b", "graders": {"a": {**PRESETS["exact"], "name": "a"}}})


def test_load_names_the_file_and_line_of_a_bad_grader(tmp_path: Path):
    path = tmp_path / "grader.json"
    path.write_text(
        '{\n  "type": "string_check",\n  "name": "s",\n  "input": "{{x.y}}",\n  "reference": "r",\n'
        '  "operation": "eq"\n}\n'
    )
    with pytest.raises(GraderError, match=rf"{path}:4: field 'input'"):
        load(path)
    path.write_text('{"type": "json_valid",')
    with pytest.raises(GraderError, match=rf"{path}:1: not valid JSON"):
        load(path)
    path.write_text(json.dumps([{**PRESETS["exact"], "name": "a"}, {"type": "json_valid", "name": "b"}]))
    assert [g.name for g in load(path)] == ["a", "b"]
    with pytest.raises(GraderError, match="no such file"):
        load(tmp_path / "missing.json")


def test_resolve_takes_files_presets_and_plugin_functions(tmp_path: Path, monkeypatch):
    assert resolve("rouge_l")[0].type == "text_similarity"
    with pytest.raises(GraderError, match="not a file, and not one of the presets"):
        resolve("no-such-grader")

    def shouting(output: str, item: dict[str, Any]) -> float:
        return float(output.isupper())

    registered = kinds()
    monkeypatch.setitem(registered.functions, "shouting", shouting)
    g = resolve("shouting")[0]
    assert asyncio.run(g.grade(Sample("HEY"), {}, Context())).score == 1.0

    def broken(output: str, item: dict[str, Any]) -> float:
        raise RuntimeError("plugin bug")

    monkeypatch.setitem(registered.functions, "broken", broken)
    r = asyncio.run(resolve("broken")[0].grade(Sample("x"), {}, Context()))
    assert r.score == 0.0 and r.errors["other_error"] and "plugin bug" in (r.detail or "")


def test_builtin_types_register_through_the_plugin_hook():
    from ftui.plugins import registry

    names = {impl.plugin_name for impl in registry().pm.hook.ftui_register_evaluators.get_hookimpls()}
    assert "graders" in names
    assert {"string_check", "text_similarity", "score_model", "label_model", "python", "multi"} <= set(
        kinds().types
    )
