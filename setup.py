"""Everything is configured in pyproject.toml; this only adds templates/ to the built package.

templates/ stays at the repository root (staff edit it there); a wheel gets a copy as bulletin/_templates,
which bulletin.resources uses when there is no source tree. Editable installs read the source tree's folder.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

TEMPLATES = Path(__file__).resolve().parent / "templates"


class build_py_with_templates(build_py):
    def run(self):
        super().run()
        if not getattr(self, "editable_mode", False):
            target = Path(self.build_lib) / "bulletin" / "_templates"
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(TEMPLATES, target, ignore=shutil.ignore_patterns("~$*", ".~lock*"))


setup(cmdclass={"build_py": build_py_with_templates})
