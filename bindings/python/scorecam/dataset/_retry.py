"""The retry rule every backend follows: an image whose worker died (killed, out of memory, a
lost node) is tried again, up to MAX_ATTEMPTS times, then gets an error row."""
from __future__ import annotations

import collections
from typing import Callable

from ._inputs import Item
from ._work import Config

MAX_ATTEMPTS = 3


def died_row(item: Item, config: Config) -> dict:
    return {"key": item.key, "input": item.path, "status": "error", "config": config.identity(),
            "error": f"the worker process died {MAX_ATTEMPTS} times while explaining this image"}


def retry_or_give_up(item: Item, attempts: collections.Counter, pending: collections.deque, config: Config,
                     on_row: Callable[[dict], None]) -> None:
    """A worker died with `item` in flight: queue it again, or after MAX_ATTEMPTS record it failed."""
    attempts[item.key] += 1
    if attempts[item.key] >= MAX_ATTEMPTS:
        on_row(died_row(item, config))
    else:
        pending.appendleft(item)


def finished_row(row: dict, item: Item, attempts: collections.Counter) -> dict:
    """The row of a finished image, saying how many attempts it took when more than one."""
    if attempts[item.key]:
        row["attempts"] = attempts[item.key] + 1
    return row
