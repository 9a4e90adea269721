"""Builds the scorecam package around libscorecam.so (loaded with ctypes, so one wheel per platform
serves every Python 3: the wheel is tagged py3-none-<platform>; `make wheel` has auditwheel give it
its manylinux tag).

Where the library comes from:
  - $SCORECAM_LIBRARY, a built libscorecam.so (`make wheel` passes the stripped one); else
  - it is built with `make lib` from the library's sources: the checkout this directory belongs
    to, or the sdist's native/ copy of them. That needs Swift 6.x and make on PATH.

The version is read from include/scorecam.h, the project's one source, and written into the
package as scorecam/_version.py. The extras come from scorecam/_deps.py, which also writes the
messages that name them.
"""
import os
import pathlib
import re
import runpy
import shutil
import subprocess

from setuptools import Command, setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build import build
from setuptools.command.sdist import sdist
from setuptools.dist import Distribution

HERE = pathlib.Path(__file__).resolve().parent
CHECKOUT = HERE.parent.parent
NATIVE = "native"  # in an sdist: the library's sources
# What `make lib` needs (Package.swift names the test target too, so SwiftPM wants Tests/).
NATIVE_FILES = ["Package.swift", "Makefile", "LICENSE", "include", "Sources", "Tests"]
SWIFT_NEEDED = (
    "scorecam: building libscorecam from source needs Swift 6.x and make on PATH "
    "(https://www.swift.org/install); or install a prebuilt wheel "
    "(scorecam-*-py3-none-manylinux_*.whl, `make wheel` in the repository), "
    "or set SCORECAM_LIBRARY to a built libscorecam.so")


def sources() -> pathlib.Path:
    """The directory holding the library's sources: the checkout, or the sdist's native/."""
    for root in (CHECKOUT, HERE / NATIVE):
        if (root / "Package.swift").is_file() and (root / "include" / "scorecam.h").is_file():
            return root
    raise SystemExit("scorecam: the library's sources are missing (neither a scorecam checkout "
                     "nor an sdist with native/); " + SWIFT_NEEDED.split("; ", 1)[1])


DEPS = runpy.run_path(str(HERE / "scorecam" / "_deps.py"))


def version() -> tuple:
    return DEPS["header_version"]((sources() / "include" / "scorecam.h").read_text())


def swift_major():
    """The major version of the Swift on PATH, or None."""
    if shutil.which("swift") is None or shutil.which("make") is None:
        return None
    try:
        out = subprocess.run(["swift", "--version"], capture_output=True, text=True, timeout=120).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"Swift version (\d+)\.", out)
    return int(found.group(1)) if found else None


def build_library(root: pathlib.Path) -> pathlib.Path:
    """`make lib` in root; fails with one line saying what is needed when Swift 6.x is absent."""
    major = swift_major()
    if major is None or major < 6:
        raise SystemExit(SWIFT_NEEDED)
    subprocess.run(["make", "-C", str(root), "lib"], check=True)
    return root / "build" / "lib" / "libscorecam.so"


class BuildLibrary(Command):
    """Puts libscorecam.so and _version.py into the package being built. In an editable install
    the package runs from the checkout, which finds the library in build/lib: build it there."""

    description = "put libscorecam.so and the version into the package"
    user_options = []
    editable_mode = False

    def initialize_options(self):
        self.build_lib = None

    def finalize_options(self):
        self.set_undefined_options("build", ("build_lib", "build_lib"))

    def run(self):
        if self.editable_mode:
            if sources() != CHECKOUT:
                raise SystemExit("scorecam: editable installs need a scorecam checkout")
            if not os.environ.get("SCORECAM_LIBRARY"):
                build_library(CHECKOUT)
            return
        override = os.environ.get("SCORECAM_LIBRARY")
        library = pathlib.Path(override).resolve() if override else build_library(sources())
        if not library.is_file():
            raise SystemExit(f"scorecam: SCORECAM_LIBRARY={override} is not a file (looked at {library}; "
                             "give an absolute path: pip builds in the package's own directory)")
        package = pathlib.Path(self.build_lib) / "scorecam"
        package.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(library, package / "libscorecam.so")
        (package / "_version.py").write_text(
            f'"""Written by setup.py from include/scorecam.h."""\nVERSION = {version()!r}\n')

    def get_outputs(self):
        package = pathlib.Path(self.build_lib) / "scorecam"
        return [] if self.editable_mode else [str(package / "libscorecam.so"), str(package / "_version.py")]


class Build(build):
    sub_commands = build.sub_commands + [("build_library", None)]


class BinaryDistribution(Distribution):
    """The wheel carries a native library: it is not pure, and installs as platform code."""

    def has_ext_modules(self):
        return True


class PlatformWheel(bdist_wheel):
    """Tagged for the platform, not for one Python: the library is loaded with ctypes, so
    py3-none."""

    def get_tag(self):
        return ("py3", "none", super().get_tag()[2])


class SourceWithLibrary(sdist):
    """The sdist carries the library's sources under native/, so it builds without a checkout."""

    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        root = sources()
        for name in NATIVE_FILES:
            source, target = root / name, pathlib.Path(base_dir) / NATIVE / name
            if source.is_dir():
                # Build outputs and hidden files stay out; symlinks are copied as files.
                shutil.copytree(source, target, ignore=shutil.ignore_patterns(".*", "__pycache__", "build"))
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)


def extras() -> dict:
    return {extra: [DEPS["REQUIREMENTS"][module] for module in modules]
            for extra, modules in DEPS["EXTRAS"].items()}


setup(
    version=".".join(map(str, version())),
    extras_require=extras(),
    distclass=BinaryDistribution,
    cmdclass={"build": Build, "build_library": BuildLibrary, "bdist_wheel": PlatformWheel,
              "sdist": SourceWithLibrary},
)
