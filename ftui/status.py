"""Job status groups, free of pydantic so the TUI's first frame can use them before the model loads.

`ftui.model` re-exports them; everything outside the TUI start path may keep importing from there.
"""

from __future__ import annotations

TERMINAL_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
ACTIVE_STATUSES: frozenset[str] = frozenset({"validating_files", "queued", "running"})
