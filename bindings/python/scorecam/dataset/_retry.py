"""The retry rule every backend follows when a worker dies (killed, out of memory, a lost node):
blame only the guilty.

- A death charges nothing to the images the worker had in flight: they go back to the queue, to
  be explained by live workers.
- An image is suspected only when its worker dies while it is alone in flight on that worker;
  the images of a death with several in flight are from then on run alone, so the next death
  names the guilty one.
- An image that kills KILLS_TO_FAIL workers on its own gets an error row saying how the last one
  ended (exit code or signal); the others are explained as if nothing happened.

Each image is thus in at most one shared death and KILLS_TO_FAIL lone ones: a run always ends.
"""
from __future__ import annotations

import collections
import signal
from typing import Callable, Iterable

from ._inputs import Item
from ._work import Config

KILLS_TO_FAIL = 2


def describe_exit(exitcode) -> str:
    """How a worker process ended, for the error row: 'killed by signal 9 (SIGKILL)', 'exit code 1'."""
    if exitcode is None:
        return "its process was lost"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "unknown"
        return f"killed by signal {-exitcode} ({name})"
    return f"exit code {exitcode}"


class Blame:
    """The rule above, for one run: which images must run alone, which have failed."""

    def __init__(self, config: Config, on_row: Callable[[dict], None], what: str = "worker process"):
        self.config = config
        self.on_row = on_row
        self.what = what
        self.alone: set[str] = set()                       # keys to be run with nothing beside them
        self.kills: collections.Counter = collections.Counter()  # lone deaths per key
        self.tries: collections.Counter = collections.Counter()  # starts per key

    def started(self, item: Item) -> None:
        self.tries[item.key] += 1

    def runs_alone(self, item: Item) -> bool:
        return item.key in self.alone

    def worker_died(self, items: Iterable[Item], pending: collections.deque, how: str) -> None:
        """A worker died with `items` in flight on it; `how` says how it ended (describe_exit)."""
        items = list(items)
        if len(items) == 1:
            item = items[0]
            self.kills[item.key] += 1
            if self.kills[item.key] >= KILLS_TO_FAIL:
                self.on_row(self.failed_row(item, how))
                return
        for item in reversed(items):  # first in, first out again
            self.alone.add(item.key)
            pending.appendleft(item)

    def failed_row(self, item: Item, how: str) -> dict:
        return {"key": item.key, "input": item.path, "status": "error", "config": self.config.identity(),
                "attempts": self.tries[item.key],
                "error": f"the {self.what} died {KILLS_TO_FAIL} times while explaining this image alone "
                         f"(last: {how})"}

    def finished(self, row: dict, item: Item) -> dict:
        """The row of a finished image, saying how many tries it took when more than one."""
        if self.tries[item.key] > 1:
            row["attempts"] = self.tries[item.key]
        return row
