"""Reports: the JSON is the source; Markdown and HTML agree with it; a hostile answer stays text."""

from __future__ import annotations

import asyncio
import json

from ftui.evaluate import report as reports
from ftui.evaluate.calls import ModelRef
from ftui.evaluate.plan import examples_from_rows
from ftui.evaluate.run import Contender, Evaluation, Row, RowGrade
from ftui.graders.registry import resolve
from ftui.model import ChatParams

HOSTILE = "</script><script>alert('x')</script><img src=x onerror=alert(1)>|pipe|\nnew line"


def evaluation() -> Evaluation:
    examples = examples_from_rows(
        [
            {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}]}
            for i in range(3)
        ]
    )
    contenders = [
        Contender("tuned", ModelRef("ft:x", "p")),
        Contender("base", ModelRef("x", "p"), "baseline"),
    ]
    ev = Evaluation(examples, contenders, resolve("exact"), ChatParams(temperature=0))
    for e in examples:
        ev.rows.append(
            Row(e.index, "tuned", output="a", grades={"exact": RowGrade(1.0)}, completion_tokens=1)
        )
        ev.rows.append(Row(e.index, "base", output=HOSTILE, grades={"exact": RowGrade(0.0)}))
    ev.rows.append(Row(0, "ghost"))  # a row of no contender must not break anything
    return ev


def test_json_report_is_complete_and_serialisable():
    report = reports.build(evaluation(), data="test.jsonl", providers={"tuned": "local", "base": "openai"})
    text = json.dumps(report)
    assert json.loads(text)["schema"] == "ftui.eval.v1"
    assert report["summary"]["tuned"]["exact"]["mean"] == 1.0
    assert report["usage"]["tuned"]["cost_usd"] == 0.0 and report["usage"]["base"]["cost_usd"] is None
    (c,) = report["comparisons"]
    assert c["model"] == "tuned" and c["baseline"] == "base" and c["wins"] == 3
    assert c["verdict"] == "no significant difference"  # three examples are too few


def test_html_is_self_contained_and_escapes_answers():
    page = reports.html_report(reports.build(evaluation(), data="<b>data</b>.jsonl", providers={}))
    assert "<script>alert" not in page and "<img" not in page  # only escaped copies remain
    assert "&lt;b&gt;data&lt;/b&gt;" in page
    assert "http://" not in page and "https://" not in page  # nothing fetched from anywhere
    assert page.count("<script") == 2  # the data block and the table's own code


def test_markdown_escapes_table_cells():
    md = reports.markdown(reports.build(evaluation(), data="t.jsonl", providers={}))
    assert "\\|pipe\\|" in md and "## Models" in md and "## Comparisons" in md


def test_graders_in_a_report_close_cleanly():
    for g in evaluation().graders:
        asyncio.run(g.aclose())
