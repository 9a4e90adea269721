"""Progress display for long runs: tqdm when installed, else one line on stderr."""
from __future__ import annotations

import sys
import time


class _PlainBar:
    def __init__(self, total: int, description: str):
        self.total = total
        self.description = description
        self.start = time.monotonic()

    def update(self, done: int) -> None:
        elapsed = time.monotonic() - self.start
        rate = done / elapsed if elapsed > 0 else 0.0
        width = 30
        filled = width * done // max(self.total, 1)
        eta = ""
        if 0 < done < self.total and rate > 0:
            minutes, seconds = divmod(int((self.total - done) / rate + 0.5), 60)
            eta = f" ETA {minutes // 60}:{minutes % 60:02d}:{seconds:02d}"
        sys.stderr.write(f"\r{self.description} [{'#' * filled}{'.' * (width - filled)}] "
                         f"{done}/{self.total} {rate:.3g} img/s{eta}")
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()


class _TqdmBar:
    def __init__(self, total: int, description: str):
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=description, unit="img", leave=False)

    def update(self, done: int) -> None:
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def make_bar(total: int, description: str = "scorecam"):
    try:
        return _TqdmBar(total, description)
    except ImportError:
        return _PlainBar(total, description)


def wanted(progress, total: int) -> bool:
    """progress=None means: on for long runs when stderr is a terminal."""
    if progress is None:
        return total >= 256 and sys.stderr.isatty()
    return bool(progress)
