"""Evaluate: models against baselines and a few-shot prompting baseline, on a test set, with graders.

`plan.prepare` turns options into an `run.Evaluation`; `run.run` asks every model (through
`calls.Caller`: provider lanes, rate limits, the answer cache) and grades every answer;
`report.build` gives the numbers (`stats`) as JSON, Markdown or HTML. Core code: no UI, and models
are reached only through the provider contract.
"""
