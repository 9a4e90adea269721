"""Writes docs/PARAMETERS.md from the library's own parameter table.

    python scripts/gen_parameters.py           rewrite docs/PARAMETERS.md
    python scripts/gen_parameters.py --check   exit 1 if docs/PARAMETERS.md is not what it would write

Two sources, each read once:
  - the loaded libscorecam's parameter table (scorecam_param_count / scorecam_param_info, through
    the Python binding's `scorecam._lib.param_table()`): number, name, kind, range, default;
  - the comments of include/scorecam.h: each parameter's description (the comment on its line in
    `enum scorecam_param`), the values of the enums the choice parameters name, and the header's
    note on how the map is made.
The C++ names come from `enum class Param` in bindings/cpp/scorecam.hpp; the Python keyword is the
lower-case name the binding takes, the Swift field its camelCase.

The binding is imported from sys.path (the installed package, or PYTHONPATH=bindings/python) and
loads the library it finds (SCORECAM_LIBRARY overrides it).
"""
from __future__ import annotations

import argparse
import difflib
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
HEADER = ROOT / "include" / "scorecam.h"
CPP_HEADER = ROOT / "bindings" / "cpp" / "scorecam.hpp"
OUTPUT = ROOT / "docs" / "PARAMETERS.md"

KINDS = {0: "integer", 1: "boolean", 2: "choice", 3: "real"}
FLT_MAX = 3.4028234663852886e38
DBL_MAX = sys.float_info.max


class GenerateError(Exception):
    pass


# ---- the header -------------------------------------------------------------------------------

def _enum_body(text: str, name: str) -> str:
    match = re.search(r"enum\s+" + re.escape(name) + r"\s*\{(.*?)\};", text, re.S)
    if not match:
        raise GenerateError(f"{HEADER.relative_to(ROOT)}: no `enum {name}`")
    return match.group(1)


def _clean_comment(comment: str) -> str:
    lines = [re.sub(r"^\s*\*\s?", "", line).strip() for line in comment.splitlines()]
    return " ".join(line for line in lines if line)


def enum_entries(text: str, name: str) -> list[tuple[str, int, str]]:
    """(constant, value, comment) for each entry of `enum name`, the comment being the /* */ that
    follows the entry (possibly over several lines); section comments on lines of their own are
    not an entry's."""
    body = _enum_body(text, name)
    entries = []
    pattern = re.compile(r"(SCORECAM_[A-Z0-9_]+)\s*=\s*(-?\d+)\s*,?\s*(?:/\*(.*?)\*/)?", re.S)
    for match in pattern.finditer(body):
        entries.append((match.group(1), int(match.group(2)), _clean_comment(match.group(3) or "")))
    if not entries:
        raise GenerateError(f"{HEADER.relative_to(ROOT)}: `enum {name}` has no entries")
    return entries


def map_note(text: str) -> str:
    """The header's block comment on how the map is made and on the adaptive budget."""
    match = re.search(r"/\*\s*\n(\s*\* The map is L = .*?)\*/", text, re.S)
    if not match:
        raise GenerateError(f"{HEADER.relative_to(ROOT)}: the comment starting 'The map is L =' is gone")
    lines = [re.sub(r"^\s*\*\s?", "", line).rstrip() for line in match.group(1).splitlines()]
    return "\n".join(lines).strip()


def cpp_names(text: str) -> dict[str, str]:
    body = re.search(r"enum class Param\s*:\s*int\s*\{(.*?)\};", text, re.S)
    if not body:
        raise GenerateError(f"{CPP_HEADER.relative_to(ROOT)}: no `enum class Param`")
    return {c: n for n, c in re.findall(r"(\w+)\s*=\s*(SCORECAM_PARAM_\w+)", body.group(1))}


# ---- formatting -------------------------------------------------------------------------------

def _number(value: float, integral: bool) -> str:
    if value == DBL_MAX:
        return "DBL_MAX"
    if value == FLT_MAX:
        return "FLT_MAX"
    if value == -FLT_MAX:
        return "−FLT_MAX"
    if integral or value == int(value):
        n = int(value)
        if n >= 1 << 20 and n & (n - 1) == 0:
            return f"2^{n.bit_length() - 1}"
        return str(n)
    return repr(value)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _enum_of(description: str) -> str | None:
    match = re.search(r"enum (scorecam_\w+)", description)
    return match.group(1) if match else None


def _short(constant: str, enum: str) -> str:
    prefix = "SCORECAM_" + enum.removeprefix("scorecam_").upper() + "_"
    return constant.removeprefix(prefix)


def _description(comment: str) -> str:
    """The header's comment without its default (the table's default column is the library's)."""
    parts = [p for p in re.split(r";\s*", comment) if p and not p.startswith("default")]
    text = "; ".join(parts)
    return text.replace("|", "\\|")


def generate() -> str:
    try:
        from scorecam import _lib
    except ImportError as error:
        raise GenerateError(f"cannot import the scorecam package ({error}): install it, or set "
                            "PYTHONPATH=bindings/python") from None
    try:
        table = _lib.param_table()
    except Exception as error:  # noqa: BLE001 - the library's own words are the message
        raise GenerateError(f"cannot read the library's parameter table: {error}") from None

    header = HEADER.read_text()
    comments = {c: comment for c, _, comment in enum_entries(header, "scorecam_param")}
    numbers = {c: value for c, value, _ in enum_entries(header, "scorecam_param")}
    cpp = cpp_names(CPP_HEADER.read_text())

    rows, enums_used = [], []
    for info in sorted(table.values(), key=lambda i: i.number):
        constant = "SCORECAM_PARAM_" + info.name.upper()
        if constant not in comments:
            raise GenerateError(f"the library has {constant}, the header does not")
        if numbers[constant] != info.number:
            raise GenerateError(f"{constant} is {info.number} in the library, {numbers[constant]} in the header")
        if not comments[constant]:
            raise GenerateError(f"{constant} has no comment in the header to describe it")
        if constant not in cpp:
            raise GenerateError(f"{constant} has no name in the C++ wrapper's enum class Param")
        kind = KINDS.get(info.kind, f"kind {info.kind}")
        comment = comments[constant]
        integral = kind != "real"
        if kind == "choice":
            enum = _enum_of(comment)
            if enum is None:
                raise GenerateError(f"{constant} is a choice but its comment names no enum")
            values = {v: c for c, v, _ in enum_entries(header, enum)}
            allowed = [values[v] for v in sorted(values) if info.minimum <= v <= info.maximum]
            range_text = ", ".join(f"`{_short(c, enum)}`" for c in allowed)
            default = f"`{_short(values[int(info.default)], enum)}`"
            if enum not in enums_used:
                enums_used.append(enum)
        elif kind == "boolean":
            range_text, default = "0, 1", _number(info.default, True)
        else:
            range_text = f"{_number(info.minimum, integral)} … {_number(info.maximum, integral)}"
            default = _number(info.default, integral)
        names = f"`{info.name}` · `{_camel(info.name)}` · `Param::{cpp[constant]}`"
        rows.append(f"| {info.number} | `{constant}` | {names} | {kind} | {range_text} | {default} | "
                    f"{_description(comment)} |")

    labels = _lib.CHOICES
    choice_rows = []
    for enum in enums_used:
        params = [n for n, info in sorted(table.items(), key=lambda kv: kv[1].number)
                  if KINDS.get(info.kind) == "choice"
                  and _enum_of(comments["SCORECAM_PARAM_" + n.upper()]) == enum]
        for constant, value, comment in enum_entries(header, enum):
            python = sorted({label for p in params for label, v in labels.get(p, {}).items() if v == value})
            python_text = ", ".join(f'`"{label}"`' for label in python) or "—"
            meaning = comment.replace("|", "\\|")
            choice_rows.append(f"| `{enum}` | `{constant}` | {value} | {python_text} | {meaning} |")

    lines = [
        "# Parameters",
        "",
        "<!-- Generated by scripts/gen_parameters.py from the library's parameter table and the",
        "     comments of include/scorecam.h: edit those, then run the script. -->",
        "",
        "Every knob of the engine, as the library reports it (`scorecam_param_count()` /",
        "`scorecam_param_info()`); the descriptions are the comments of `include/scorecam.h`. Each",
        "language spells a parameter its own way:",
        "",
        "- **C**: `scorecam_explainer_set_param(e, SCORECAM_PARAM_BATCH_SIZE, 64)`, values as `double`.",
        "- **Python**: the keyword in lower case, `Explainer(forward, batch_size=64)` or",
        "  `explainer.set_params(upsample=\"bilinear\")`; choices take the labels below.",
        "- **Swift**: the field of `Parameters` in camelCase, `explainer.parameters.batchSize = 64`.",
        "- **C++**: `explainer.set_param(scorecam::Param::BatchSize, 64)` (or `set_param(\"batch_size\", 64)`).",
        "",
        "A value outside its range, NaN or Inf is refused with `SCORECAM_E_INVALID_ARGUMENT` and changes",
        "nothing; the range is checked in one place, the engine's table, however the value arrives",
        "(`set_param`, a preset, a Swift caller). Defaults are those of the `seed` preset, which a new",
        "explainer starts with; a preset sets every parameter but `BATCH_SIZE`, `THREADS`, `BATCH_MEMORY`",
        "and the `METRIC_*` ones ([presets](PYTHON.md#presets)).",
        "",
        "| # | C | Python · Swift · C++ | kind | range | default | what it does |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "## Choice values",
        "",
        "| enum | C | value | Python | meaning |",
        "|---|---|---|---|---|",
        *choice_rows,
        "",
        "## How the map is made",
        "",
        "From the header:",
        "",
        "```text",
        map_note(header),
        "```",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description="Writes docs/PARAMETERS.md from the library's parameter table.")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if docs/PARAMETERS.md differs from what would be written")
    args = parser.parse_args()
    try:
        text = generate()
    except GenerateError as error:
        print(f"gen_parameters: {error}", file=sys.stderr)
        return 2
    relative = OUTPUT.relative_to(ROOT)
    if args.check:
        current = OUTPUT.read_text() if OUTPUT.is_file() else ""
        if current == text:
            print(f"{relative} is up to date")
            return 0
        diff = difflib.unified_diff(current.splitlines(), text.splitlines(), f"{relative} (committed)",
                                    f"{relative} (from the library and the header)", lineterm="", n=1)
        print("\n".join(list(diff)[:60]), file=sys.stderr)
        print(f"gen_parameters: {relative} is out of date: run `python scripts/gen_parameters.py` and "
              "commit the result", file=sys.stderr)
        return 1
    OUTPUT.write_text(text)
    print(f"wrote {relative}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
