"""An evaluation's results as one JSON document (stable: `schema` says its version), Markdown, or HTML.

The JSON holds everything: per model and grader the mean with its 95% interval; per pair the
win/tie/loss, mean difference, interval, p-values and verdict; tokens, latency and cost per model;
every example with every answer and score. Markdown and HTML are rendered from that JSON, so
the three always agree. The HTML file is self-contained (no network, no external script): the
per-example table sorts by any column and filters by the score difference between two models.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ftui.evaluate import stats
from ftui.evaluate.prices import cost_source, cost_usd
from ftui.evaluate.run import Evaluation

SCHEMA = "ftui.eval.v1"
SCRIPT = Path(__file__).with_name("report.js")  # the HTML report's table: sort and filter


def _r(x: float | None, n: int = 4) -> float | None:
    return None if x is None else round(x, n)


def build(
    ev: Evaluation,
    *,
    data: str,
    providers: dict[str, str],
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    """The report. `providers` maps each contender label to its provider's name (for cost)."""
    graders = [g.name for g in ev.graders]
    labels = [c.label for c in ev.contenders]
    rows_of = {c: [r for r in ev.rows if r.contender == c] for c in labels}

    summary: dict[str, dict[str, Any]] = {}
    for c in labels:
        summary[c] = {}
        for g in graders:
            scores = list(ev.scores(c, g).values())
            s = stats.summarize(scores)
            errors = sum(1 for r in rows_of[c] if g in r.grades and _failed(r.grades[g].errors))
            summary[c][g] = {
                "n": s.n,
                "mean": _r(s.mean),
                "ci95": [_r(s.low), _r(s.high)],
                "grader_errors": errors,
            }

    comparisons: list[dict[str, Any]] = []
    if len(labels) > 1:
        for g in graders:
            found = []
            a = labels[0]
            for b in labels[1:]:
                sa, sb = ev.scores(a, g), ev.scores(b, g)
                common = sorted(set(sa) & set(sb))
                # Read as "does the model under test beat this baseline": b is the model under test.
                found.append(stats.compare(b, a, g, [sb[i] for i in common], [sa[i] for i in common]))
            stats.holm(found)
            for comparison in found:
                d = comparison.as_dict()
                for k in ("mean_diff", "low", "high", "p_value", "p_adjusted"):
                    d[k] = _r(d[k], 6)
                d["ci95"] = [d.pop("low"), d.pop("high")]
                d["baseline"], d["model"] = d.pop("a"), d.pop("b")
                comparisons.append(d)

    usage: dict[str, Any] = {}
    for c in labels:
        rows = [r for r in rows_of[c] if r.error is None]
        prompt = sum(r.prompt_tokens for r in rows)
        completion = sum(r.completion_tokens for r in rows)
        latencies = [r.latency_s for r in rows]
        model = next(x.ref.model for x in ev.contenders if x.label == c)
        usage[c] = {
            "answered": len(rows),
            "failed": sum(1 for r in rows_of[c] if r.error is not None),
            "from_cache": sum(1 for r in rows if r.cached),
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "judge_tokens": sum(r.judge_tokens for r in rows),
            "latency_s": {
                "mean": _r(sum(latencies) / len(latencies) if latencies else None),
                "p50": _r(stats.percentile(latencies, 50)),
                "p95": _r(stats.percentile(latencies, 95)),
            },
            "cost_usd": cost_usd(providers.get(c, ""), model, prompt, completion),
        }
        if usage[c]["cost_usd"]:
            usage[c]["cost_source"] = cost_source()

    examples = []
    by_key = {(r.example, r.contender): r for r in ev.rows}
    for e in ev.examples:
        outputs = {}
        for c in labels:
            r = by_key.get((e.index, c))
            if r is None:
                continue
            outputs[c] = {
                "output": r.output,
                "error": r.error,
                "cached": r.cached,
                "latency_s": _r(r.latency_s),
                "scores": {g: _r(x.score) for g, x in r.grades.items()},
                "grader_errors": {g: _flags(x.errors) for g, x in r.grades.items() if _failed(x.errors)},
                "details": {g: x.detail for g, x in r.grades.items() if x.detail},
            }
        examples.append(
            {
                "index": e.index,
                "line": e.line,
                "prompt": [m.model_dump() for m in e.prompt],
                "reference": e.reference,
                "outputs": outputs,
            }
        )

    return {
        "schema": SCHEMA,
        "created_at": datetime.fromtimestamp(ev.started_at, UTC).isoformat(),
        "seconds": round(ev.seconds, 3),
        "complete": not ev.interrupted and len(ev.rows) == ev.total,
        "data": data,
        "n_examples": len(ev.examples),
        "params": ev.params.model_dump(mode="json"),
        "graders": [{"name": g.name, "type": g.type} for g in ev.graders],
        "contenders": [
            {
                "label": c.label,
                "model": c.ref.model,
                "profile": c.ref.profile,
                "provider": providers.get(c.label),
                "kind": c.kind,
                "few_shot": c.few_shot,
            }
            for c in ev.contenders
        ],
        "summary": summary,
        "comparisons": comparisons,
        "usage": usage,
        "warnings": list(warnings or []),
        "examples": examples,
    }


def _failed(errors: dict[str, Any]) -> bool:
    return any(v is True for v in errors.values())


def _flags(errors: dict[str, Any]) -> list[str]:
    return sorted(k for k, v in errors.items() if v is True)


def _fmt(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _ci(pair: list[float | None]) -> str:
    return f"[{_fmt(pair[0])}, {_fmt(pair[1])}]"


def _money(x: float | None) -> str:
    return "not priced" if x is None else f"${x:,.4f}"


def summary_rows(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The per-model table, as header and rows of text (CLI, Markdown and the TUI use it)."""
    graders = [g["name"] for g in report["graders"]]
    header = ["model", *[f"{g} (95% CI)" for g in graders], "answered", "tokens in/out", "p50 s", "cost"]
    rows = []
    for c in report["contenders"]:
        label = c["label"]
        u = report["usage"][label]
        cells = [label]
        for g in graders:
            s = report["summary"][label][g]
            cells.append(f"{_fmt(s['mean'])} {_ci(s['ci95'])}")
        cells += [
            f"{u['answered']}/{report['n_examples']}" + (f" ({u['failed']} failed)" if u["failed"] else ""),
            f"{u['prompt_tokens']:,}/{u['completion_tokens']:,}",
            _fmt(u["latency_s"]["p50"], 2),
            _money(u["cost_usd"]),
        ]
        rows.append(cells)
    return header, rows


def comparison_rows(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    header = ["model vs baseline", "grader", "win/tie/loss", "mean diff (95% CI)", "p (Holm)", "verdict"]
    rows = [
        [
            f"{c['model']} vs {c['baseline']}",
            c["grader"],
            f"{c['wins']}/{c['ties']}/{c['losses']}",
            f"{_fmt(c['mean_diff'])} {_ci(c['ci95'])}",
            _fmt(c["p_adjusted"], 4),
            c["verdict"],
        ]
        for c in report["comparisons"]
    ]
    return header, rows


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(report: dict[str, Any]) -> str:
    out = [f"# Evaluation: {report['data']}", ""]
    out.append(
        f"{report['n_examples']} examples · graders: {', '.join(g['name'] for g in report['graders'])} · "
        f"temperature {report['params']['temperature']} · {report['seconds']:.1f} s"
        + ("" if report["complete"] else " · **incomplete (interrupted)**")
    )
    out.append("")
    for w in report["warnings"]:
        out.append(f"> warning: {_md_escape(w)}")
    if report["warnings"]:
        out.append("")
    for title, (header, rows) in (("Models", summary_rows(report)), ("Comparisons", comparison_rows(report))):
        if not rows:
            continue
        out += [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in rows]
        out.append("")
    out += ["## Examples", ""]
    labels = [c["label"] for c in report["contenders"]]
    graders = [g["name"] for g in report["graders"]]
    for e in report["examples"]:
        prompt = next((m["content"] for m in reversed(e["prompt"]) if m["role"] == "user"), "")
        out.append(f"### {e['index'] + 1} (line {e['line']}): {_md_escape(prompt[:120])}")
        out.append("")
        if e["reference"] is not None:
            out.append(f"- reference: {_md_escape(e['reference'][:500])}")
        for c in labels:
            o = e["outputs"].get(c)
            if o is None:
                continue
            scores = ", ".join(f"{g} {_fmt(o['scores'].get(g))}" for g in graders)
            body = o["output"] if o["error"] is None else f"(failed: {o['error']})"
            out.append(f"- **{_md_escape(c)}** ({scores}): {_md_escape((body or '')[:500])}")
        out.append("")
    return "\n".join(out)


def html_report(report: dict[str, Any]) -> str:
    """One file, no network: the tables, then the per-example table (sort, filter by difference)."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>ftui evaluation: {html.escape(report['data'])}</title>",
        "<style>body{font:14px system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}"
        "th{background:#f3f3f3;cursor:pointer}td.out{white-space:pre-wrap;max-width:40em}"
        ".win{color:#070}.loss{color:#a00}.warn{color:#a60}</style></head><body>",
        f"<h1>Evaluation: {html.escape(report['data'])}</h1>",
        f"<p>{report['n_examples']} examples · {report['seconds']:.1f} s"
        + ("" if report["complete"] else " · <b>incomplete (interrupted)</b>")
        + "</p>",
    ]
    for w in report["warnings"]:
        parts.append(f"<p class='warn'>warning: {html.escape(w)}</p>")
    for title, (header, rows) in (("Models", summary_rows(report)), ("Comparisons", comparison_rows(report))):
        if not rows:
            continue
        heads = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        parts.append(f"<h2>{title}</h2><table><tr>{heads}</tr>")
        for row in rows:
            parts.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
        parts.append("</table>")
    parts.append(
        "<h2>Examples</h2><p>Difference: <select id='ga'></select> minus <select id='gb'></select> on "
        "<select id='gg'></select>, at least <input id='min' type='number' step='0.1' value='-1' "
        "style='width:5em'> <label><input id='abs' type='checkbox'> absolute</label> · "
        "<span id='count'></span></p><table id='ex'><thead></thead><tbody></tbody></table>"
    )
    # The data goes in as JSON inside a script element: '<' is escaped so no answer can close it.
    data = json.dumps(
        {
            "contenders": [c["label"] for c in report["contenders"]],
            "graders": [g["name"] for g in report["graders"]],
            "examples": report["examples"],
        },
        ensure_ascii=True,
    ).replace("<", "\\u003c")
    parts.append(f"<script id='data' type='application/json'>{data}</script>")
    parts.append("<script>" + SCRIPT.read_text(encoding="utf-8") + "</script></body></html>")
    return "".join(parts)
