"""Puts libscorecam.so inside the package at build time, so `import scorecam` needs nothing else.

The library comes from $SCORECAM_LIBRARY if set, else it is built with `make lib` in the scorecam
repository this directory belongs to (Swift 6.3 required).
"""
import os
import pathlib
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent


def library() -> pathlib.Path:
    override = os.environ.get("SCORECAM_LIBRARY")
    if override:
        return pathlib.Path(override).resolve()
    if not (REPO / "Package.swift").is_file():
        raise SystemExit("libscorecam: set SCORECAM_LIBRARY to a built libscorecam.so, "
                         "or install from a checkout of the scorecam repository")
    subprocess.run(["make", "-C", str(REPO), "lib"], check=True)
    return (REPO / "build" / "lib" / "libscorecam.so").resolve()


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        target = pathlib.Path(self.build_lib) / "scorecam" / "libscorecam.so"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(library(), target)


class BinaryDistribution(Distribution):
    """The wheel carries a native library: tag it for this platform."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution)
