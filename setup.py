"""Build hook (metadata lives in setup.cfg): the wheel carries the bundled corpora.

The recipes train on the repository's ``data/`` folder (corpora with their licences). A wheel
installed outside the checkout needs them too, so building copies ``data/`` into the package as
``keras_llm/bundled_data``, where :func:`keras_llm.runs.recipes.bundled_data_dir` looks first.
An editable install reads ``data/`` in place and gets no copy.
"""

import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildPyWithBundledData(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = os.path.join(self.build_lib, "keras_llm", "bundled_data")
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(os.path.join(HERE, "data"), target)


setup(cmdclass={"build_py": BuildPyWithBundledData})
