"""Runs every fenced code snippet of README.md, docs/*.md and the Python package's README exactly as
printed.

    python scripts/check_snippets.py [--python PY] [--lib-dir DIR] [--only LANGS] [-k TEXT] [FILE...]

What runs, by the fence's language:
  python        written to a fresh temporary directory outside the checkout and run there with
                --python (so it imports the INSTALLED package, not the checkout's sources)
  c             compiled -std=c99 -Wall -Wextra -pedantic -Werror against include/, linked with
                -lscorecam from --lib-dir (rpath set), then run
  cpp           the same with -std=c++17 and -Ibindings/cpp
  swift         main.swift of an executable target in a SwiftPM package under build/snippets/swift
                that depends on this checkout by path (product ScoreCAM); built with a fixed
                --scratch-path under build/, so a rerun only rebuilds what changed
  sh, console   line by line in a fresh temporary directory (a console block's commands are its
                lines starting with "$ "; a line ending in "\\" continues on the next): lines
                invoking `scorecam` or `python -m scorecam` run through bash, with `python`,
                `python3` and `scorecam` on PATH meaning --python; setup commands (make, pip,
                apt-get, git, cd, export, ...) are not run, and are listed as skipped; any other
                command is an error (mark the block instead, below)
Other languages (text, cmake, json, none) are not snippets.

The temporary directory of python, sh and console snippets holds a fixture:
  photos/dog_and_cat.jpg   the sample image (the package's scorecam/models/data/sample_image_01.jpg)
  model.onnx               the default model, EfficientNet-Lite0 (only when the snippet names it)

Opting out: an HTML comment on the line just before the fence,
    <!-- snippet: not run (the reason) -->
The reason is printed. Use it rarely: for what needs a cluster, a GPU or an hour.

Environment: snippets inherit this process's environment (e.g. PYTHONPATH=bindings/python and
SCORECAM_LIBRARY=... to try the checkout's sources against another library); cc, c++ and swift
are taken from PATH ($CC, $CXX override the first two).

Each snippet's result is one line; a failing one shows its file, line and output. The last line
is "N passed, N failed"; the exit status is 1 if any failed.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "bindings" / "python" / "scorecam" / "models" / "data" / "sample_image_01.jpg"
SNIPPET_BUILD = ROOT / "build" / "snippets"
LANGUAGES = {"python": "python", "py": "python", "c": "c", "cpp": "cpp", "c++": "cpp", "swift": "swift",
             "sh": "sh", "bash": "sh", "shell": "sh", "console": "console"}
MARKER = re.compile(r"^<!--\s*snippet:\s*not run\s*\((.+)\)\s*-->$")
# Commands that set a machine up rather than use scorecam: shown as skipped, never run.
SETUP = {"make", "pip", "pip3", "apt-get", "apt", "sudo", "git", "cd", "export", "source", ".", "python3 -m venv",
         "python -m venv", "python -m pip", "python3 -m pip", ".venv/bin/pip", ".venv/bin/python -m pip"}
SCORECAM_COMMAND = re.compile(r"^(?:\S+=\S+\s+)*(?:scorecam|python3?\s+-m\s+scorecam)(?:\s|$)")
TIMEOUT_S = 600


@dataclasses.dataclass
class Snippet:
    path: pathlib.Path
    line: int            # of the opening fence, 1-based
    language: str
    code: str
    skip_reason: str | None = None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


@dataclasses.dataclass
class Result:
    ok: bool
    detail: str = ""
    output: str = ""
    setup_only: bool = False   # a shell block of setup commands alone: nothing ran


# ---- reading the Markdown --------------------------------------------------------------------

def snippets_in(path: pathlib.Path) -> list[Snippet]:
    lines = path.read_text().splitlines()
    found, i = [], 0
    while i < len(lines):
        match = re.match(r"^(\s*)(```+|~~~+)\s*([\w+-]*)", lines[i])
        if not match:
            i += 1
            continue
        indent, fence, info = match.group(1), match.group(2), match.group(3).lower()
        start, body = i, []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            line = lines[i]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            i += 1
        i += 1
        language = LANGUAGES.get(info)
        if language is None:
            continue
        previous = next((lines[j].strip() for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        marker = MARKER.match(previous)
        found.append(Snippet(path, start + 1, language, "\n".join(body) + "\n",
                             marker.group(1) if marker else None))
    return found


# ---- running ---------------------------------------------------------------------------------

def run(command, cwd, env=None, timeout=TIMEOUT_S, shell=False) -> Result:
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=cwd, env=env, shell=shell, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout,
                              executable="/bin/bash" if shell else None)
    except subprocess.TimeoutExpired as error:
        output = error.stdout.decode(errors="replace") if isinstance(error.stdout, bytes) else (error.stdout or "")
        return Result(False, f"timed out after {timeout} s", output)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        return Result(False, f"exit status {done.returncode} after {seconds:.1f} s", done.stdout)
    return Result(True, f"{seconds:.1f} s", done.stdout)


class Runner:
    def __init__(self, args):
        self.python = str(pathlib.Path(args.python).absolute()) if os.sep in args.python else shutil.which(args.python)
        if not self.python:
            sys.exit(f"check_snippets: no Python at {args.python}")
        self.lib_dir = pathlib.Path(args.lib_dir).absolute()
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="scorecam-snippets-"))
        self.bin = self.tmp / "bin"
        self.bin.mkdir()
        scorecam_script = pathlib.Path(self.python).parent / "scorecam"
        shims = {"python": f'exec {shlex.quote(self.python)} "$@"', "python3": f'exec {shlex.quote(self.python)} "$@"',
                 "scorecam": (f'exec {shlex.quote(str(scorecam_script))} "$@"' if scorecam_script.is_file()
                              else f'exec {shlex.quote(self.python)} -m scorecam "$@"')}
        for name, body in shims.items():
            shim = self.bin / name
            shim.write_text(f"#!/bin/sh\n{body}\n")
            shim.chmod(0o755)
        self.env = dict(os.environ, PATH=f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
                        PYTHONDONTWRITEBYTECODE="1")
        self.model: pathlib.Path | None = None
        self.count = 0
        self.swift_results: dict[int, Result] = {}

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def workdir(self, snippet: Snippet) -> pathlib.Path:
        self.count += 1
        work = self.tmp / f"snippet-{self.count}"
        (work / "photos").mkdir(parents=True)
        shutil.copyfile(SAMPLE, work / "photos" / "dog_and_cat.jpg")
        if "model.onnx" in snippet.code:
            (work / "model.onnx").symlink_to(self.default_model())
        return work

    def default_model(self) -> pathlib.Path:
        if self.model is None:
            code = "from scorecam.models import efficientnet_lite0; print(efficientnet_lite0().path)"
            done = subprocess.run([self.python, "-c", code], cwd=self.tmp, env=self.env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if done.returncode != 0:
                raise RuntimeError(f"the fixture model.onnx could not be built:\n{done.stdout}")
            self.model = pathlib.Path(done.stdout.strip().splitlines()[-1])
        return self.model

    # -- one language each --

    def python_snippet(self, snippet: Snippet) -> Result:
        work = self.workdir(snippet)
        (work / "snippet.py").write_text(snippet.code)
        return run([self.python, "snippet.py"], work, self.env)

    def native_snippet(self, snippet: Snippet) -> Result:
        work = self.workdir(snippet)
        if snippet.language == "c":
            source, compiler = work / "snippet.c", [os.environ.get("CC", "cc"), "-std=c99"]
        else:
            source, compiler = work / "snippet.cpp", [os.environ.get("CXX", "c++"), "-std=c++17",
                                                      f"-I{ROOT / 'bindings' / 'cpp'}"]
        source.write_text(snippet.code)
        if not (self.lib_dir / "libscorecam.so").exists():
            return Result(False, f"no libscorecam.so in {self.lib_dir} (make lib, or --lib-dir)")
        built = run([*compiler, "-Wall", "-Wextra", "-pedantic", "-Werror", f"-I{ROOT / 'include'}", str(source),
                     "-o", "snippet", f"-L{self.lib_dir}", "-lscorecam", f"-Wl,-rpath,{self.lib_dir}", "-lm",
                     "-lpthread"], work, self.env)
        if not built.ok:
            return Result(False, f"does not compile ({built.detail})", built.output)
        return run(["./snippet"], work, self.env)

    def shell_snippet(self, snippet: Snippet) -> Result:
        commands, skipped = shell_commands(snippet)
        for command in skipped:
            print(f"      skipped (setup): {command}")
        if not commands:
            return Result(True, "setup only", setup_only=True)
        work = self.workdir(snippet)
        outputs = []
        for command in commands:
            result = run(command, work, self.env, shell=True)
            outputs.append(f"$ {command}\n{result.output}")
            if not result.ok:
                return Result(False, f"`{command}`: {result.detail}", "".join(outputs))
        return Result(True, f"{len(commands)} command(s)", "".join(outputs))

    def swift_snippets(self, snippets: list[Snippet]) -> None:
        """Builds every Swift snippet as one executable target of one package, then runs each."""
        if not snippets:
            return
        package = SNIPPET_BUILD / "swift"
        names = []
        for snippet in snippets:
            name = "Snippet_" + hashlib.sha256(f"{snippet.where}\n{snippet.code}".encode()).hexdigest()[:10]
            names.append(name)
            _write_if_changed(package / "Sources" / name / "main.swift", snippet.code)
        sources = package / "Sources"
        for stale in sources.iterdir():
            if stale.name not in names:
                shutil.rmtree(stale)
        targets = ",\n        ".join(
            f'.executableTarget(name: "{n}", dependencies: [.product(name: "ScoreCAM", package: "scorecam")])'
            for n in names)
        _write_if_changed(package / "Package.swift", f"""// swift-tools-version:6.1
// Written by scripts/check_snippets.py: one executable per ```swift snippet of the docs.
import PackageDescription

let package = Package(
    name: "snippets",
    dependencies: [.package(name: "scorecam", path: {json.dumps(str(ROOT))})],
    targets: [
        {targets}
    ]
)
""")
        scratch = SNIPPET_BUILD / "swift-scratch"
        swift = os.environ.get("SWIFT", "swift")
        built = run([swift, "build", "--package-path", str(package), "--scratch-path", str(scratch)], ROOT, self.env)
        for snippet, name in zip(snippets, names):
            if not built.ok:
                # Show only this snippet's compiler errors when there are any.
                mine = "\n".join(line for line in built.output.splitlines() if f"/{name}/" in line)
                self.swift_results[id(snippet)] = Result(False, f"swift build: {built.detail}", mine or built.output)
                continue
            work = self.workdir(snippet)
            self.swift_results[id(snippet)] = run([str(scratch / "debug" / name)], work, self.env)

    def check(self, snippet: Snippet) -> Result:
        try:
            if snippet.language == "python":
                return self.python_snippet(snippet)
            if snippet.language in ("c", "cpp"):
                return self.native_snippet(snippet)
            if snippet.language in ("sh", "console"):
                return self.shell_snippet(snippet)
            if snippet.language == "swift":
                return self.swift_results[id(snippet)]
        except (RuntimeError, OSError) as error:
            return Result(False, str(error))
        raise AssertionError(snippet.language)


def _write_if_changed(path: pathlib.Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)


def shell_commands(snippet: Snippet) -> tuple[list[str], list[str]]:
    """(commands to run, setup commands skipped). Raises RuntimeError for any other command."""
    lines = snippet.code.splitlines()
    if snippet.language == "console":
        lines = [line[2:] for line in lines if line.startswith("$ ")]
    commands, current = [], ""
    for line in lines:
        if current:
            current += "\n" + line
        elif line.strip() and not line.strip().startswith("#"):
            current = line.strip()
        else:
            continue
        if not line.rstrip().endswith("\\"):
            commands.append(current)
            current = ""
    if current:
        commands.append(current)
    run_these, skipped = [], []
    for command in commands:
        if SCORECAM_COMMAND.match(command):
            run_these.append(command)
        elif any(command == s or command.startswith(s + " ") for s in SETUP):
            skipped.append(command.split("\n")[0])
        else:
            raise RuntimeError(f"`{command.splitlines()[0]}` is neither a scorecam command nor setup: run it "
                               "through scorecam, or put <!-- snippet: not run (reason) --> before the block")
    return run_these, skipped


def main() -> int:
    parser = argparse.ArgumentParser(description="Runs the docs' code snippets as printed.",
                                     epilog="See the module docstring for what runs how.")
    parser.add_argument("files", nargs="*", type=pathlib.Path, help="Markdown files (default: README.md, docs/*.md, bindings/python/README.md)")
    parser.add_argument("--python", default=sys.executable, help="the Python with scorecam installed (default: this one)")
    parser.add_argument("--lib-dir", default=str(ROOT / "build" / "lib"),
                        help="where libscorecam.so is, for C and C++ snippets (default: build/lib)")
    parser.add_argument("--only", help="comma-separated languages: python,c,cpp,swift,sh")
    parser.add_argument("-k", dest="pattern", help="only snippets whose file:line or code contains this text")
    parser.add_argument("-v", "--verbose", action="store_true", help="show the output of passing snippets too")
    args = parser.parse_args()

    files = args.files or [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
                           ROOT / "bindings" / "python" / "README.md"]
    snippets = [s for f in files for s in snippets_in(f.absolute())]
    if args.only:
        wanted = {LANGUAGES.get(x.strip(), x.strip()) for x in args.only.split(",")}
        if "sh" in wanted:
            wanted.add("console")
        snippets = [s for s in snippets if s.language in wanted]
    if args.pattern:
        snippets = [s for s in snippets if args.pattern in s.where or args.pattern in s.code]

    runner = Runner(args)
    passed = failed = not_run = setup_only = 0
    started = time.perf_counter()
    try:
        swift = [s for s in snippets if s.language == "swift" and not s.skip_reason]
        if swift:
            print(f"building {len(swift)} Swift snippet(s) in {SNIPPET_BUILD.relative_to(ROOT)}/swift ...", flush=True)
        runner.swift_snippets(swift)
        for snippet in snippets:
            label = f"{snippet.where} ({snippet.language})"
            if snippet.skip_reason:
                not_run += 1
                print(f"NOT RUN  {label}: {snippet.skip_reason}")
                continue
            try:
                result = runner.check(snippet)
            except RuntimeError as error:
                result = Result(False, str(error))
            if result.setup_only:
                setup_only += 1
                print(f"SETUP    {label}: setup commands only, none run")
            elif result.ok:
                passed += 1
                print(f"PASS     {label}: {result.detail}")
                if args.verbose and result.output:
                    print(_indent(result.output))
            else:
                failed += 1
                print(f"FAIL     {label}: {result.detail}")
                print(_indent(snippet.code, "    | "))
                if result.output:
                    print("    output:")
                    print(_indent(result.output[-6000:]))
    finally:
        runner.close()
    counts = {}
    for s in snippets:
        counts[s.language] = counts.get(s.language, 0) + 1
    print(f"snippets by language: {', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}; "
          f"{not_run} not run (marked), {setup_only} of setup commands only; {time.perf_counter() - started:.0f} s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.rstrip().splitlines())


if __name__ == "__main__":
    sys.exit(main())
