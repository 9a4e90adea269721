"""Versions: the package's version comes from include/scorecam.h, and a library of the same major
version that is at least as new is accepted, checked against real stand-ins for other versions
(Tests/version/fake_version.c: the real library, reporting another version)."""
import os
import re
import shutil
import subprocess
import sys

import pytest

import scorecam
from scorecam import _lib
from scorecam._deps import require
from scorecam.errors import MissingDependencyError

from conftest import REPO, SAMPLE_IMAGE

HEADER = REPO / "include" / "scorecam.h"


def header_version():
    text = HEADER.read_text()
    return tuple(int(re.search(rf"^#define SCORECAM_VERSION_{p} (\d+)$", text, re.M).group(1))
                 for p in ("MAJOR", "MINOR", "PATCH"))


def test_one_version_everywhere():
    version = header_version()
    assert _lib.VERSION == version
    assert scorecam.__version__ == scorecam.library_version() == "%d.%d.%d" % version
    from importlib.metadata import version as distribution_version
    assert distribution_version("scorecam") == scorecam.__version__


@pytest.mark.parametrize("loaded, wanted, ok", [
    (10000, 10000, True), (10100, 10000, True), (10001, 10000, True), (10203, 10104, True),
    (10000, 10100, False), (10100, 10101, False), (9999, 10000, False), (20000, 10000, False),
    (100, 100, True), (200, 100, True), (99, 100, False), (10100, 100, False),
])
def test_compatibility_rule(loaded, wanted, ok):
    assert _lib.compatible(loaded, wanted) is ok


def test_compatibility_rule_is_the_headers(tmp_path):
    """The binding's rule is SCORECAM_VERSION_COMPATIBLE of include/scorecam.h, pair for pair."""
    compiler = os.environ.get("CC") or shutil.which("cc")
    assert compiler, "a C compiler is needed to evaluate the header's macro"
    versions = [0, 1, 99, 100, 101, 199, 200, 9999, 10000, 10001, 10099, 10100, 10101, 19999, 20000, 20100]
    source = tmp_path / "rule.c"
    source.write_text('#include <stdio.h>\n#include "scorecam.h"\nstatic const int v[] = {'
                      + ", ".join(map(str, versions)) + '};\nint main(void) {\n'
                      "    for (unsigned i = 0; i < sizeof v / sizeof *v; i++)\n"
                      "        for (unsigned j = 0; j < sizeof v / sizeof *v; j++)\n"
                      '            printf("%d %d %d\\n", v[i], v[j], SCORECAM_VERSION_COMPATIBLE(v[i], v[j]) ? 1 : 0);\n'
                      "    return 0;\n}\n")
    subprocess.run([compiler, "-std=c99", "-Wall", "-Werror", f"-I{REPO / 'include'}", str(source), "-o",
                    str(tmp_path / "rule")], check=True)
    lines = subprocess.run([str(tmp_path / "rule")], capture_output=True, text=True, check=True).stdout.split("\n")
    pairs = [tuple(map(int, line.split())) for line in lines if line]
    assert len(pairs) == len(versions) ** 2
    assert [(loaded, wanted, _lib.compatible(loaded, wanted)) for loaded, wanted, _ in pairs] == \
        [(loaded, wanted, bool(ok)) for loaded, wanted, ok in pairs]


PROBE = """
import numpy as np, scorecam
x = np.arange(4, dtype=np.float32).reshape(1, 2, 2)
with scorecam.Explainer(lambda b: b.reshape(len(b), -1).sum(1, keepdims=True)) as e:
    maps = e.explain(x, x.copy(), 0)
print("served", scorecam.library_version(), maps.shape)
"""


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory):
    """Builds the stand-in libraries over the installed libscorecam: name -> path."""
    compiler = os.environ.get("CC") or shutil.which("cc")
    assert compiler, "a C compiler is needed to build the stand-in libraries"
    work = tmp_path_factory.mktemp("versions")
    # The stand-ins need the library by its soname; the package holds it as libscorecam.so.
    installed = _lib._candidates()[0]
    assert installed.is_file(), installed
    (work / "libscorecam.so.0").symlink_to(installed)
    (work / "libscorecam.so").symlink_to(installed)
    built = {}
    for name, delta in {"newer-minor": 100, "newer-major": 10000, "older": -1}.items():
        out = work / f"fake-{name}.so"
        subprocess.run([compiler, "-shared", "-fPIC", f"-I{REPO / 'include'}", f"-DFAKE_VERSION_DELTA={delta}",
                        str(REPO / "Tests" / "version" / "fake_version.c"), "-o", str(out),
                        f"-L{work}", "-Wl,--no-as-needed", "-lscorecam", f"-Wl,-rpath,{work}"], check=True)
        built[name] = out
    return built


def probe(library):
    env = dict(os.environ, SCORECAM_LIBRARY=str(library))
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)


def test_newer_minor_library_serves(stand_ins):
    major, minor, patch = header_version()
    result = probe(stand_ins["newer-minor"])
    assert result.returncode == 0, result.stderr
    assert f"served {major}.{minor + 1}.{patch} (2, 2)" in result.stdout


@pytest.mark.parametrize("name", ["newer-major", "older"])
def test_other_major_or_older_library_refused(stand_ins, name):
    result = probe(stand_ins[name])
    assert result.returncode != 0
    assert "LibraryError" in result.stderr and "the same major version, at least as new" in result.stderr


def run_without(modules, code, *args):
    """Runs code in a fresh interpreter in which `modules` cannot be imported."""
    hide = "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in modules)
    return subprocess.run([sys.executable, "-c", hide + code, *args], capture_output=True, text=True, timeout=120)


def test_cli_names_the_extra_in_one_line(tmp_path):
    result = run_without(["onnxruntime", "PIL"], "from scorecam.__main__ import run\nsys.exit(run())",
                         "explain", str(SAMPLE_IMAGE), "-o", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "scorecam: the default model, EfficientNet-Lite0, needs onnxruntime, pillow (not installed): "
        "pip install 'scorecam[cli]'"]


def test_library_errors_name_the_extra():
    code = ("import scorecam.onnx, scorecam.errors as d\n"
            "try:\n    scorecam.onnx.OnnxModel('m.onnx', 'layer')\n"
            "except d.MissingDependencyError as e:\n    print(e)\n")
    result = run_without(["onnxruntime"], code)
    assert result.stdout.strip() == ("OnnxModel needs onnxruntime (not installed): pip install 'scorecam[onnx]' "
                                     "(or 'scorecam[cli]': everything the command line and the default model use)")
    assert issubclass(MissingDependencyError, ImportError)
    with pytest.raises(ValueError, match="does not bring"):
        require("no_such_module_xyz", extra="image", purpose="this")
