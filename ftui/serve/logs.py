"""The server's access log, with credentials kept out of it.

The server takes its key only in the Authorization header, but clients paste keys into query
strings (`?api_key=sk-...`); uvicorn would log the whole URL. Every access-log line has its query
values masked where the name or the value looks secret (`ftui.secrets.mask_url`).
"""

from __future__ import annotations

import logging

from ftui.secrets import mask_url


class MaskQuery(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn.access args: (client address, method, path with query, http version, status)
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], mask_url(args[2]), *args[3:])
        return True


def redact_access_log() -> None:
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, MaskQuery) for f in logger.filters):
        logger.addFilter(MaskQuery())
