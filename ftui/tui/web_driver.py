"""The driver an `ftui web` session runs under: Textual's web driver, plus an exit when its pipe goes.

textual-serve talks to the app over its stdin and stdout. Textual's own driver keeps the app running
when that pipe closes (the server killed, or gone without a goodbye): its input thread just ends, and
every frame after that is written into a broken pipe. Here the end of input and a failed write both
mean the terminal is gone: the app is asked to exit, and if it has not within a few seconds, the
process ends anyway. A session can outlive its server by seconds, never for good.
"""

from __future__ import annotations

import asyncio
import os
import threading
from functools import partial
from typing import Any

from textual import messages
from textual.drivers.web_driver import WebDriver

# Time the app gets to shut down cleanly (store, provider, helper processes) once its terminal is gone.
EXIT_GRACE_S = 5.0


class FtuiWebDriver(WebDriver):
    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._gone = threading.Event()
        self._write = partial(FtuiWebDriver._write_or_leave, self)  # every write of the parent class

    def run_input_thread(self) -> None:
        super().run_input_thread()
        if not self.exit_event.is_set():  # input ended without the app stopping: the server is gone
            self.terminal_gone()

    def _write_or_leave(self, data: bytes) -> int:
        if self._gone.is_set():
            return len(data)
        try:
            return os.write(self.fileno, data)
        except OSError:  # EPIPE: nobody reads the other end any more
            self.terminal_gone()
            return len(data)

    def terminal_gone(self) -> None:
        """Exit the app now; end the process if a clean exit does not come soon."""
        if self._gone.is_set():
            return
        self._gone.set()
        if not self._loop.is_closed():  # the app's loop, which the driver was made on
            asyncio.run_coroutine_threadsafe(self._app._post_message(messages.ExitApp()), loop=self._loop)
        timer = threading.Timer(EXIT_GRACE_S, os._exit, args=(0,))
        timer.daemon = True
        timer.start()
