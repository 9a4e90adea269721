"""Command line: python -m scorecam explain INPUT... -o OUT  (also: layers MODEL, card --default)

A thin shell over scorecam.dataset.explain_dataset: explains each image (files, directories,
glob patterns, --list FILE) for its targets (top classes, segments or detections, as the model
card's task says, or the classes given) and writes one overlay PNG per image and target at the
image's own size, a manifest row per image, and summary.json. Without --card or --model it uses
the default model (EfficientNet-Lite0, ImageNet-1k).

Exit status: 0 every image ok; 1 some image failed ("N ok, M failed" last), or the disk filled;
2 usage error (also: another run holds the output directory); 130 interrupted, 143 terminated
(SIGTERM) (rerun the same command to resume).
"""
from __future__ import annotations

import argparse
import os
import pathlib
import shlex
import signal
import sys

from .errors import UsageError

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
    from .dataset._images import DEFAULT_MAX_PIXELS  # the one default, shared with explain_dataset

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
    _add_model_arguments(explain)
    which = explain.add_mutually_exclusive_group()
    which.add_argument("--class", dest="classes", type=_count(0), nargs="+", metavar="N",
                       help="class indices to explain")
    which.add_argument("--top", type=_count(1), metavar="K",
                       help="explain each image's K top targets (default: the task's: classify 1, a sigmoid "
                            "card's classes above its threshold, segment every class present, detect every box)")
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
    explain.add_argument("--max-pixels", type=_count(1), default=DEFAULT_MAX_PIXELS, metavar="N",
                         help=f"pictures with more pixels get an error row (default {DEFAULT_MAX_PIXELS}); "
                              "the worker count is sized for it")
    explain.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                         help="run on Ray: a local Ray without ADDRESS, else the cluster at ADDRESS "
                              "(e.g. auto, ray://head:10001); --workers then counts actors")
    explain.add_argument("--no-progress", dest="progress", action="store_false", default=None,
                         help="no progress bar (default: a bar when stderr is a terminal)")
    explain.add_argument("-q", "--quiet", action="store_true", help="no line per image (errors still shown)")
    explain.add_argument("--no-report", dest="report", action="store_false",
                         help="do not write the browser report (OUT/report/index.html) at the end")
    _add_layers_parser(commands)
    _add_card_parser(commands)
    _add_report_parser(commands)
    return parser


def _add_model_arguments(explain) -> None:
    model = explain.add_argument_group(
        "model", "the model and how pictures become its input: a card (docs/MODEL_CARDS.md; "
        "`python -m scorecam card --default` prints one to start from), flags overriding its fields")
    which = model.add_mutually_exclusive_group()
    which.add_argument("--card", type=pathlib.Path, metavar="FILE", help="a model card (.json or .toml)")
    which.add_argument("--model", help="an .onnx file (its embedded card, else the default preprocessing), a "
                                       "TorchScript file or package.module:factory (default: EfficientNet-Lite0)")
    model.add_argument("--layer", help="the tensor (ONNX) or module (torch) to explain")
    model.add_argument("--size", type=_count(1), nargs="+", metavar=("H", "W"),
                       help="input size: H W, or one number for a square")
    model.add_argument("--resize", choices=["squash", "shorter_side_then_center_crop"],
                       help="squash to the size, or the shorter side to --resize-to then the centre crop")
    model.add_argument("--resize-to", type=_count(1), metavar="N", help="the shorter side before the centre crop")
    model.add_argument("--scale", type=_positive_float, help="pixel values (0..255) times this, e.g. 0.00392156862745098")
    model.add_argument("--mean", type=float, nargs=3, metavar=("R", "G", "B"),
                       help="subtracted per channel after --scale (in the model's channel order)")
    model.add_argument("--std", type=_positive_float, nargs=3, metavar=("R", "G", "B"),
                       help="divided per channel after --mean")
    model.add_argument("--bgr", action="store_true", default=None, help="the model takes BGR channels")
    model.add_argument("--labels", type=pathlib.Path, metavar="FILE",
                       help="class names: one per line, or a JSON list")
    model.add_argument("--outputs", choices=["logits", "probabilities", "sigmoid"],
                       help="what the model outputs (logits get a softmax; sigmoid: multi-label)")
    model.add_argument("--task", choices=["classify", "segment", "detect"], help="what to explain per image")


def card_from_args(args):
    """The run's model: a ModelCard with the command line's overrides (or the default's)."""
    from .card import ModelCard
    from .dataset._run import card_for

    def warn(message: str) -> None:
        print(f"warning: {message}", file=sys.stderr)

    card = ModelCard.load(args.card) if args.card is not None else card_for(args.model, warn=warn)
    size = args.size
    if size is not None and len(size) > 2:
        raise UsageError("--size takes H W, or one number for a square")
    overrides = {"layer": args.layer, "size": None if size is None else (size * 2)[:2], "resize": args.resize,
                 "resize_to": args.resize_to, "scale": args.scale, "mean": args.mean, "std": args.std,
                 "bgr": args.bgr, "outputs": args.outputs, "task": args.task,
                 # a labels file on the command line is relative to the working directory
                 "labels": None if args.labels is None else os.path.abspath(args.labels)}
    return card.replace(**{name: value for name, value in overrides.items() if value is not None})


def _add_card_parser(commands) -> None:
    card = commands.add_parser("card", help="print a model card: the default model's, or a file's as it is read",
                               description="Prints a model card as JSON (every field explicit): --default "
                                           "for the default model's (a starting point for your own), or a "
                                           "card file or an ONNX file's embedded card after checking it.")
    which = card.add_mutually_exclusive_group(required=True)
    which.add_argument("--default", action="store_true", help="the default model's card")
    which.add_argument("file", nargs="?", type=pathlib.Path, help="a card (.json, .toml) or an .onnx file")
    card.add_argument("--check", action="store_true",
                      help="also load the model and run the checks a dataset run makes (input size, layer, "
                           "labels, outputs)")


def card_command(args) -> int:
    from .card import ModelCard, check_model, load_model

    try:
        if args.default:
            card = ModelCard.default()
        elif args.file.suffix.lower() == ".onnx":
            card = ModelCard.from_onnx(args.file)
            if card is None:
                print(f"error: {args.file} carries no model card (metadata key scorecam.card)", file=sys.stderr)
                return EXIT_FAILED
        else:
            card = ModelCard.load(args.file)
        if args.check:
            check_model(load_model(card))
    except UsageError as error:
        print(f"python -m scorecam card: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.write(card.to_json())
    return EXIT_OK


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
    from .dataset import Interrupted, explain_dataset, metrics_table
    from .dataset._files import DiskFull

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
            args.images, args.output, list_file=args.list_file, model=card_from_args(args),
            targets=args.classes if args.classes else None if args.top is None else f"top{args.top}", cskip=args.cskip,
            preset=args.preset, method=args.method, adaptive=args.adaptive, batch_size=args.batch_size,
            metrics=args.metrics, save_maps=args.save_maps, overwrite=args.overwrite, workers=args.workers,
            ray_address=args.ray, progress=args.progress, verbose=not args.quiet, max_pixels=args.max_pixels,
            report=args.report)
    except UsageError as error:
        print(f"python -m scorecam explain: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except DiskFull as error:  # the run stopped; the row being written was rolled back
        print(f"python -m scorecam explain: error: {error.strerror}; nothing is half-written. Free some space, "
              f"then rerun the same command to resume: {_command_line()}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as error:  # the output directory failing mid-run (storage gone)
        print(f"python -m scorecam explain: error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except Interrupted as interrupted:
        done = interrupted.summary
        what = "terminated" if getattr(interrupted, "signal_number", 0) == signal.SIGTERM else "interrupted"
        print(f"\n{what}: {done.ok} ok, {done.failed} failed in this run; nothing is half-written. "
              f"To resume, rerun the same command: {_command_line()}", file=sys.stderr)
        return 128 + getattr(interrupted, "signal_number", signal.SIGINT)
    except KeyboardInterrupt as stop:
        number = getattr(stop, "signal_number", signal.SIGINT)
        print(f"\n{'terminated' if number == signal.SIGTERM else 'interrupted'} before any image was explained",
              file=sys.stderr)
        return 128 + number
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
    if args.command == "card":
        return card_command(args)
    if args.command == "report":
        return report_command(args)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
