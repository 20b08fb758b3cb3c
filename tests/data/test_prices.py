from __future__ import annotations

from ftui.data.prices import default_epochs, estimate_cost, price_for, provenance, source


def test_prices_come_from_the_table_by_longest_prefix() -> None:
    assert price_for("gpt-4o-mini-2024-07-18").training_per_1m == 3.0
    assert price_for("gpt-4o-2024-08-06").training_per_1m == 25.0
    assert price_for("ft:gpt-4.1-nano-2025-04-14:acme::x").training_per_1m == 1.5
    assert price_for("gpt-3.5-turbo-0613").max_tokens_per_example == 4096
    assert price_for("my-local-model") is None
    assert "pricing" in source()


def test_cost_is_price_times_tokens_times_epochs() -> None:
    assert estimate_cost("gpt-4o-mini", 1_000_000, 3) == 9.0
    assert estimate_cost("o4-mini", 1_000_000, 3) is None  # billed per hour
    assert estimate_cost(None, 10, 1) is None


def test_default_epochs_follow_openais_auto_rule() -> None:
    assert default_epochs(10) == 10 and default_epochs(60) == 3 and default_epochs(20_000) == 1


def test_every_price_says_where_it_came_from_and_when() -> None:
    from ftui.data.prices import _table

    for row in _table().values():
        for figure in ("training_per_1m", "training_per_hour"):
            if getattr(row, figure) is not None:
                said = provenance(row, figure)
                assert said.source and said.as_of, (row.prefix, figure)
    said = provenance(price_for("gpt-4o-mini"), "training_per_1m")
    assert "pricing page" in said.source and said.as_of == "2026-11"
