"""Builds the Python package's wheel: python/fusetune, and in fusetune/_native the native files it
uses (libfusetune.so, the fusetune program that `python -m fusetune` runs, and fusetune-worker,
which tuning starts), as `cmake --install` lays them out for a C++ user.

Where they come from:
- FUSETUNE_BUILD_DIR=<folder> (absolute, or relative to this file's folder): an existing build,
  e.g. scripts/build's `build`. It is brought up to date and installed from: nothing is built
  twice, and the package holds what that build's tests tested.
- otherwise: scripts/build builds them into build-python/native (CUDA at $CUDA_HOME, default
  /usr/local/cuda), without tests.

Everything else (metadata, packages) is in pyproject.toml.
"""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

try:  # setuptools 70.1 and later
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:
    from wheel.bdist_wheel import bdist_wheel

ROOT = Path(__file__).resolve().parent
BUILD_BASE = "build-python"  # setuptools' own default, build/, is scripts/build's folder
TARGETS = ["fusetune_shared", "fusetune", "fusetune-worker"]


def project_version():
    text = (ROOT / "CMakeLists.txt").read_text()
    return re.search(r"project\(fusetune VERSION ([0-9.]+)", text).group(1)


def native_build():
    """The CMake build folder to take the native files from, built and up to date."""
    given = os.environ.get("FUSETUNE_BUILD_DIR")
    if given:
        folder = (ROOT / given).resolve()
        if not (folder / "CMakeCache.txt").is_file():
            raise SystemExit(f"FUSETUNE_BUILD_DIR={given}: {folder} is not a CMake build folder")
        subprocess.run(["cmake", "--build", str(folder), "--target", *TARGETS], check=True)
        return folder
    folder = ROOT / BUILD_BASE / "native"
    environment = dict(os.environ, BUILD_DIR=str(folder),
                       CMAKE_ARGS="-DFUSETUNE_BUILD_TESTS=OFF")
    subprocess.run([str(ROOT / "scripts" / "build"), "--target", *TARGETS], check=True,
                   env=environment)
    return folder


def stage_native(destination):
    """Installs the build into a scratch prefix and copies the three files into `destination`,
    the library under its plain name (ctypes opens it by path; the package holds no links)."""
    build = native_build()
    with tempfile.TemporaryDirectory() as prefix:
        subprocess.run(["cmake", "--install", str(build), "--prefix", prefix], check=True,
                       stdout=subprocess.DEVNULL)
        found = {}
        for path in Path(prefix).rglob("*"):
            if path.is_symlink() or not path.is_file():
                continue
            if path.name.startswith("libfusetune.so"):
                found["libfusetune.so"] = path
            elif path.name in ("fusetune", "fusetune-worker"):
                found[path.name] = path
        missing = {"libfusetune.so", "fusetune", "fusetune-worker"} - found.keys()
        if missing:
            raise SystemExit(f"the installation of {build} lacks {', '.join(sorted(missing))}")
        destination.mkdir(parents=True, exist_ok=True)
        for name, path in found.items():
            shutil.copy2(path, destination / name)  # keeps the programs executable


class build_py_with_native(build_py):
    """build_py, then the native files into the package."""

    def run(self):
        super().run()
        stage_native(Path(self.build_lib) / "fusetune" / "_native")


class NativeDistribution(Distribution):
    """The package holds programs and a library for this platform: its wheel is not pure
    Python."""

    def has_ext_modules(self):
        return True


class platform_wheel(bdist_wheel):
    """A wheel for this platform and any Python 3: ctypes loads the library, so no extension
    module ties it to one Python version."""

    def get_tag(self):
        return "py3", "none", super().get_tag()[2]


setup(version=project_version(),
      distclass=NativeDistribution,
      cmdclass={"build_py": build_py_with_native, "bdist_wheel": platform_wheel},
      options={"build": {"build_base": BUILD_BASE}})
