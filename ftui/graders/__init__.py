"""Graders in OpenAI's shapes, shared by Evaluate and by reinforcement training.

`registry.load(path)` / `registry.parse(obj)` turn grader JSON into `Grader` objects (types come
from `ftui_register_evaluators`); `await grader.grade(Sample(text), item, Context(judge))` scores one
answer. Core code: no UI, no provider imports (a judge model is reached through `Context.judge`).
"""
