"""Exports are atomic: a killed export leaves no version TF Serving could load; versions increase."""

import errno
import os
import signal
import subprocess
import sys
import time

import pytest

from keras_llm.errors import UserInputError
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

write_version_atomically(sys.argv[1], "gpt", write)
"""


def _versions(model_dir):
    return sorted(entry for entry in os.listdir(model_dir) if entry.isdigit())


def _write_ok(directory):
    os.makedirs(directory)
    with open(os.path.join(directory, "saved_model.pb"), "wb") as handle:
        handle.write(b"a graph")


def test_export_killed_midway_leaves_no_version(tmp_path):
    model_dir = tmp_path / "gpt"
    write_version_atomically(str(tmp_path), "gpt", _write_ok)
    process = subprocess.run([sys.executable, "-c", _DIE_MIDWAY, str(tmp_path)], capture_output=True)
    assert process.returncode == -signal.SIGKILL
    assert _versions(model_dir) == ["1"]  # the half-written export is not a version
    assert [entry for entry in os.listdir(model_dir) if entry.startswith(".tmp-")]  # only a hidden leftover

    path = write_version_atomically(str(tmp_path), "gpt", _write_ok)
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
        write_version_atomically(str(tmp_path), "gpt", broken)
    except RuntimeError:
        pass
    assert os.listdir(tmp_path / "gpt") == []


# Exporters started together, each waiting at a barrier so they all pick a version at once.
_RACE = """
import os, sys, time
from keras_llm.export.versions import write_version_atomically

def write(directory):
    os.makedirs(directory)
    open(os.path.join(directory, "saved_model.pb"), "wb").close()
    while not os.path.exists(sys.argv[2]):
        time.sleep(0.01)

print(write_version_atomically(sys.argv[1], "gpt", write))
"""


@pytest.mark.slow  # kept out of the default run for time; `make test-all` runs it
def test_concurrent_exports_claim_distinct_versions(tmp_path):
    go = tmp_path / "go"
    processes = [subprocess.Popen([sys.executable, "-c", _RACE, str(tmp_path / "base"), str(go)],
                                  stdout=subprocess.PIPE, text=True) for _ in range(4)]
    while len([e for e in os.listdir(tmp_path / "base" / "gpt") if e.startswith(".tmp-")]) < 4 \
            if (tmp_path / "base" / "gpt").is_dir() else True:
        time.sleep(0.05)
    go.touch()
    paths = [process.communicate(timeout=60)[0].strip() for process in processes]
    assert all(process.returncode == 0 for process in processes)
    assert sorted(os.path.basename(path) for path in paths) == ["1", "2", "3", "4"]


@pytest.mark.parametrize("name", ["../x", "../../etc", "a/b", "..", ".", "", "/abs", ".hidden", "a\\b"])
def test_names_that_would_leave_the_base_directory_are_refused(tmp_path, name):
    with pytest.raises(UserInputError, match="one folder name"):
        write_version_atomically(str(tmp_path / "base"), name, _write_ok)
    assert not (tmp_path / "x").exists() and not (tmp_path / "base").exists()


def test_full_disk_is_one_line(tmp_path):
    def full(directory):
        raise OSError(errno.ENOSPC, "No space left on device", directory)

    with pytest.raises(UserInputError, match="cannot write .*gpt: no space left"):
        write_version_atomically(str(tmp_path), "gpt", full)
