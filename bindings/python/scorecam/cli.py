"""Command line: python -m scorecam explain INPUT... -o OUT

A thin shell over scorecam.dataset.explain_dataset: explains each image (files, directories,
glob patterns, --list FILE) for its top classes (or the ones given) and writes one overlay PNG per
image and class at the image's own size, a manifest row per image, and summary.json. Without
--model it uses the default model (EfficientNet-Lite0, ImageNet-1k).

Exit status: 0 every image ok; 1 some image failed ("N ok, M failed" last); 2 usage error;
130 interrupted (rerun the same command to resume).
"""
from __future__ import annotations

import argparse
import pathlib
import shlex
import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Parser(argparse.ArgumentParser):
    """Usage errors: one line on stderr and status 2 (argparse's default prints the whole usage)."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _count(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value
    return parse


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _version() -> str:
    from . import _lib

    return ".".join(map(str, _lib.VERSION))


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m scorecam", description="Score-CAM explanations")
    parser.add_argument("--version", action="version", version=f"scorecam {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    explain = commands.add_parser(
        "explain", help="explain images or whole datasets into overlays, maps and a manifest",
        description="Explains images (files, directories, glob patterns, --list) and writes per image "
                    "an overlay PNG per class at the image's own size and a manifest row "
                    "(OUT/manifest.jsonl). Rerun the same command to resume.")
    explain.add_argument("images", nargs="*", help="image files, directories (searched recursively) or glob patterns")
    explain.add_argument("--list", dest="list_file", type=pathlib.Path, metavar="FILE",
                         help="a text file with one image path per line")
    explain.add_argument("-o", "--output", type=pathlib.Path, required=True, help="output directory")
    explain.add_argument("--model", type=pathlib.Path, help="an ONNX classifier (default: EfficientNet-Lite0)")
    explain.add_argument("--layer", help="the tensor to explain in --model (required with --model)")
    explain.add_argument("--size", type=_count(1), default=224, help="input size of --model (default 224)")
    which = explain.add_mutually_exclusive_group()
    which.add_argument("--class", dest="classes", type=_count(0), nargs="+", metavar="N",
                       help="class indices to explain")
    which.add_argument("--top", type=_count(1), default=1, metavar="K",
                       help="explain each image's K top classes (default 1)")
    explain.add_argument("--cskip", type=_count(1), metavar="K'", help="CSKIP: keep the K' channels of largest max")
    explain.add_argument("--preset", default="seed", choices=["seed", "gradcam", "torchcam", "paper"],
                         help="which library's maps to reproduce (default seed)")
    explain.add_argument("--method", default="scorecam", choices=["scorecam", "sscam", "iscam"],
                         help="Score-CAM, SS-CAM or IS-CAM (default scorecam)")
    explain.add_argument("--adaptive", type=_positive_float, metavar="TOL",
                         help="adaptive channel budget: stop when the map moves by at most TOL")
    explain.add_argument("--metrics", action="store_true",
                         help="also compute Average Drop, Increase in Confidence, Insertion and Deletion AUC "
                              "per image, with means and 95%% intervals in summary.json")
    explain.add_argument("--batch-size", type=_count(1), default=128, help="masked images per forward call")
    explain.add_argument("--save-maps", action="store_true",
                         help="also write the raw maps (float32, map resolution) as KEY.maps.npz")
    explain.add_argument("--overwrite", action="store_true", help="redo images an earlier run completed")
    explain.add_argument("--workers", type=_count(1), metavar="N",
                         help="local worker processes (default: from the cores and memory)")
    explain.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                         help="run on Ray: a local Ray without ADDRESS, else the cluster at ADDRESS "
                              "(e.g. auto, ray://head:10001); --workers then counts actors")
    explain.add_argument("--no-progress", dest="progress", action="store_false", default=None,
                         help="no progress bar (default: a bar when stderr is a terminal)")
    explain.add_argument("-q", "--quiet", action="store_true", help="no line per image (errors still shown)")
    explain.add_argument("--no-report", dest="report", action="store_false",
                         help="do not write the browser report (OUT/report/index.html) at the end")
    _add_layers_parser(commands)
    _add_report_parser(commands)
    return parser


def _add_layers_parser(commands) -> None:
    layers = commands.add_parser("layers", help="list the tensors of an ONNX model one can explain")
    layers.add_argument("model", type=pathlib.Path, help="an .onnx file")
    layers.add_argument("--all", action="store_true", help="every tensor, not only the 4-D ones")


def layers_command(args) -> int:
    """One line per tensor, in graph order: name, producing op, inferred shape."""
    from .onnx import OnnxModel

    if not args.model.is_file():
        print(f"error: {args.model}: no such file", file=sys.stderr)
        return 2
    found = OnnxModel.layers(args.model, four_d=not args.all)
    width = max((len(layer.name) for layer in found), default=4)
    print(f"{'name':{width}s}  {'op':18s}  shape")
    for layer in found:
        shape = "?" if layer.shape is None else "x".join("?" if d is None else str(d) for d in layer.shape)
        print(f"{layer.name:{width}s}  {layer.op:18s}  {shape}")
    if not found:
        print("no 4-D tensors found (try --all)", file=sys.stderr)
    return 0


def _add_report_parser(commands) -> None:
    report = commands.add_parser(
        "report", help="write the browser report of dataset runs (one, or several side by side)",
        description="Writes a static report (index.html, no server, no network) of the output directories "
                    "of dataset runs: summary, gallery with filters and sorting, detail view; several "
                    "directories are paired by image key with the metric deltas against the first.")
    report.add_argument("outputs", nargs="+", type=pathlib.Path, metavar="OUT", help="output directories of runs")
    report.add_argument("-o", "--output", type=pathlib.Path, metavar="DIR",
                        help="where to write the report (default: FIRST_OUT/report)")
    report.add_argument("--no-progress", dest="progress", action="store_false", default=None,
                        help="no progress bar while making missing thumbnails")


def report_command(args) -> int:
    from .dataset import UsageError, write_report

    try:
        index = write_report(args.outputs, args.output, progress=args.progress)
    except UsageError as error:
        print(f"python -m scorecam report: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:
        print(f"python -m scorecam report: error: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"report: {index}")
    return EXIT_OK


def explain_command(args) -> int:
    from .dataset import Interrupted, UsageError, explain_dataset, metrics_table

    if args.ray is not None and args.ray != "local" and pathlib.Path(args.ray).exists():
        # `--ray photos/`: the optional address swallowed an input; Ray addresses are not paths.
        args.images.insert(0, args.ray)
        args.ray = "local"
    if not args.images and args.list_file is None:
        print("python -m scorecam explain: error: no images given (files, directories, patterns or --list FILE)",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        summary = explain_dataset(
            args.images, args.output, list_file=args.list_file, model=args.model, layer=args.layer,
            size=args.size, targets=args.classes if args.classes else f"top{args.top}", cskip=args.cskip,
            preset=args.preset, method=args.method, adaptive=args.adaptive, batch_size=args.batch_size,
            metrics=args.metrics, save_maps=args.save_maps, overwrite=args.overwrite, workers=args.workers,
            ray_address=args.ray, progress=args.progress, verbose=not args.quiet, report=args.report)
    except UsageError as error:
        print(f"python -m scorecam explain: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:  # the output directory failing mid-run (disk full, storage gone)
        print(f"python -m scorecam explain: error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except Interrupted as interrupted:
        done = interrupted.summary
        print(f"\ninterrupted: {done.ok} ok, {done.failed} failed in this run; nothing is half-written. "
              f"To resume, rerun the same command: {_command_line()}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("\ninterrupted before any image was explained", file=sys.stderr)
        return EXIT_INTERRUPTED
    if summary.metrics:
        print(metrics_table(summary.metrics))
    if args.report and (args.output / "report" / "index.html").is_file():
        print(f"report: {args.output / 'report' / 'index.html'}")  # before the last line, "N ok, M failed"
    skipped = f", {summary.skipped} already done" if summary.skipped else ""
    print(f"{summary.ok} ok, {summary.failed} failed{skipped} "
          f"({summary.seconds:.1f} s; manifest {summary.manifest})")
    return summary.exit_status


def _command_line() -> str:
    return "python -m scorecam " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "explain":
        return explain_command(args)
    if args.command == "layers":
        return layers_command(args)
    if args.command == "report":
        return report_command(args)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
