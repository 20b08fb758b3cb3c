"""`multi.calculate_output`: arithmetic over sub-grader names, parsed with `ast` and walked by hand.

Never `eval`: only numbers, the named scores, `+ - * / ^ **` (`^` is a power, as in OpenAI's
formulas), unary minus and min, max, abs, floor, ceil, exp, sqrt, log. Sizes are bounded (length,
nodes, exponents) so a formula cannot hang the process or build a huge number.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable

MAX_CHARS = 2000
MAX_NODES = 400
MAX_EXPONENT = 64.0

FUNCTIONS: dict[str, Callable[..., float]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "floor": math.floor,
    "ceil": math.ceil,
    "exp": math.exp,
    "sqrt": math.sqrt,
    "log": math.log,
}
_ARITY = {"abs": 1, "floor": 1, "ceil": 1, "exp": 1, "sqrt": 1, "log": 1}


class FormulaError(ValueError):
    pass


def parse(formula: str, names: set[str]) -> ast.Expression:
    """The checked syntax tree of `formula`; FormulaError says what is not allowed."""
    if not isinstance(formula, str) or not formula.strip():
        raise FormulaError("the formula is empty")
    if len(formula) > MAX_CHARS:
        raise FormulaError(f"the formula is longer than {MAX_CHARS} characters")
    try:
        tree = ast.parse(formula.strip(), mode="eval")
    except SyntaxError as exc:
        raise FormulaError(f"not a formula: {exc.msg} at column {exc.offset}") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise FormulaError(f"the formula has more than {MAX_NODES} parts")
    for node in nodes:
        _check(node, names)
    for node in nodes:
        if isinstance(node, ast.Name) and node.id in FUNCTIONS and node.id not in names:
            parent_calls = [n for n in nodes if isinstance(n, ast.Call) and n.func is node]
            if not parent_calls:
                raise FormulaError(f"{node.id} is a function: call it, e.g. {node.id}(a, b)")
    return tree


def _check(node: ast.AST, names: set[str]) -> None:
    if isinstance(node, ast.Expression | ast.Load | ast.operator | ast.unaryop):
        if isinstance(node, ast.operator) and not isinstance(
            node, ast.Add | ast.Sub | ast.Mult | ast.Div | ast.Pow | ast.BitXor
        ):
            raise FormulaError(f"operator {type(node).__name__} is not allowed; use + - * / ^")
        if isinstance(node, ast.unaryop) and not isinstance(node, ast.USub | ast.UAdd):
            raise FormulaError(f"operator {type(node).__name__} is not allowed")
        return
    if isinstance(node, ast.BinOp | ast.UnaryOp):
        return
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise FormulaError(f"{node.value!r}: only numbers are allowed")
        return
    if isinstance(node, ast.Name):
        if node.id not in names and node.id not in FUNCTIONS:
            known = ", ".join(sorted(names)) or "none"
            raise FormulaError(f"unknown name {node.id!r}; graders: {known}")
        return
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
            raise FormulaError(f"only these functions: {', '.join(FUNCTIONS)}")
        want = _ARITY.get(node.func.id)
        if (want and len(node.args) != want) or (not want and len(node.args) < 2):
            raise FormulaError(f"{node.func.id}() takes {want or 'two or more'} argument(s)")
        return
    raise FormulaError(f"{type(node).__name__} is not allowed in a formula")


def evaluate(tree: ast.Expression, values: dict[str, float]) -> float:
    """The formula's value; FormulaError on division by zero, a domain error or overflow."""

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant):
            assert isinstance(node.value, int | float)  # parse() let only numbers through
            return float(node.value)
        if isinstance(node, ast.Name):
            return float(values[node.id])
        if isinstance(node, ast.UnaryOp):
            v = walk(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp):
            a, b = walk(node.left), walk(node.right)
            op = node.op
            if isinstance(op, ast.Add):
                return a + b
            if isinstance(op, ast.Sub):
                return a - b
            if isinstance(op, ast.Mult):
                return a * b
            if isinstance(op, ast.Div):
                if b == 0:
                    raise FormulaError("division by zero")
                return a / b
            if abs(b) > MAX_EXPONENT:
                raise FormulaError(f"exponent {b:g} is larger than {MAX_EXPONENT:g}")
            if a < 0 and not float(b).is_integer():
                raise FormulaError("a negative number to a fractional power")
            return float(a**b)
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            args = [walk(a) for a in node.args]
            return float(FUNCTIONS[node.func.id](*args))
        raise FormulaError(f"{type(node).__name__} is not allowed")

    try:
        result = walk(tree)
    except (ValueError, TypeError, OverflowError, ZeroDivisionError) as exc:
        raise FormulaError(str(exc) or type(exc).__name__) from None
    if not math.isfinite(result):
        raise FormulaError(f"the formula gave {result}")
    return result


def linear_weights(tree: ast.Expression) -> dict[str, float] | None:
    """{name: weight} when the formula is a plain weighted sum of names (no constant term), else None.

    Reinforcement training then gives each sub-grader its own reward function with that weight,
    so each one's reward is logged on its own."""

    def terms(node: ast.AST, sign: float) -> dict[str, float] | None:
        if isinstance(node, ast.Expression):
            return terms(node.body, sign)
        if isinstance(node, ast.Name) and node.id not in FUNCTIONS:
            return {node.id: sign}
        if isinstance(node, ast.UnaryOp):
            return terms(node.operand, -sign if isinstance(node.op, ast.USub) else sign)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
            left = terms(node.left, sign)
            right = terms(node.right, -sign if isinstance(node.op, ast.Sub) else sign)
            if left is None or right is None:
                return None
            out = dict(left)
            for k, v in right.items():
                out[k] = out.get(k, 0.0) + v
            return out
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult | ast.Div):
            const = _constant(node.right)
            if const is not None:
                if isinstance(node.op, ast.Div):
                    if const == 0:
                        return None
                    const = 1 / const
                return terms(node.left, sign * const)
            const = _constant(node.left)
            if const is not None and isinstance(node.op, ast.Mult):
                return terms(node.right, sign * const)
        return None

    return terms(tree, 1.0)


def _constant(node: ast.AST) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _constant(node.operand)
        return -inner if inner is not None else None
    return None
