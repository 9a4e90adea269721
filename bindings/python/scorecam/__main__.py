"""`python -m scorecam` and the `scorecam` command: a missing optional dependency ends the command
with one line naming the extra that brings it, not a traceback."""
import sys

from .errors import MissingDependencyError
from .cli import main


def run() -> int:
    try:
        return main()
    except MissingDependencyError as error:
        print(f"scorecam: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(run())
