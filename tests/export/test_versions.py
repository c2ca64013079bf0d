"""Exports are atomic: a killed export leaves no version TF Serving could load; versions increase."""

import os
import signal
import subprocess
import sys

from keras_llm.export.versions import next_version, write_version_atomically

# An export that dies (SIGKILL: no exception handler, no clean-up) after writing half its files.
_DIE_MIDWAY = """
import os, signal, sys
from keras_llm.export.versions import write_version_atomically

def write(directory):
    os.makedirs(os.path.join(directory, "variables"))
    with open(os.path.join(directory, "saved_model.pb"), "wb") as handle:
        handle.write(b"half a graph")
    os.kill(os.getpid(), signal.SIGKILL)

write_version_atomically(sys.argv[1], write)
"""


def _versions(model_dir):
    return sorted(entry for entry in os.listdir(model_dir) if entry.isdigit())


def _write_ok(directory):
    os.makedirs(directory)
    with open(os.path.join(directory, "saved_model.pb"), "wb") as handle:
        handle.write(b"a graph")


def test_export_killed_midway_leaves_no_version(tmp_path):
    model_dir = tmp_path / "gpt"
    write_version_atomically(str(model_dir), _write_ok)
    process = subprocess.run([sys.executable, "-c", _DIE_MIDWAY, str(model_dir)], capture_output=True)
    assert process.returncode == -signal.SIGKILL
    assert _versions(model_dir) == ["1"]  # the half-written export is not a version
    assert [entry for entry in os.listdir(model_dir) if entry.startswith(".tmp-")]  # only a hidden leftover

    path = write_version_atomically(str(model_dir), _write_ok)
    assert path == str(model_dir / "2")
    assert _versions(model_dir) == ["1", "2"]
    assert not [entry for entry in os.listdir(model_dir) if entry.startswith(".tmp-")]  # leftover cleaned


def test_versions_increase_past_gaps(tmp_path):
    for name in ("1", "7", "notes", ".hidden"):
        (tmp_path / name).mkdir()
    assert next_version(str(tmp_path)) == 8
    assert next_version(str(tmp_path / "absent")) == 1


def test_failed_write_leaves_nothing(tmp_path):
    def broken(directory):
        os.makedirs(directory)
        raise RuntimeError("disk full")

    try:
        write_version_atomically(str(tmp_path), broken)
    except RuntimeError:
        pass
    assert os.listdir(tmp_path) == []
