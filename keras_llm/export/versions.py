"""TF Serving's directory layout, written atomically: ``<base>/<name>/<version>/``."""

import os
import re
import shutil

_TEMPORARY = re.compile(r"^\.tmp-\d+-(\d+)$")


def next_version(model_dir):
    """1 + the largest integer version under ``model_dir`` (1 if none)."""
    if not os.path.isdir(model_dir):
        return 1
    versions = [int(entry) for entry in os.listdir(model_dir) if entry.isdigit()]
    return max(versions, default=0) + 1


def write_version_atomically(model_dir, write_fn):
    """Call ``write_fn(tmp_dir)``, then rename ``tmp_dir`` to the next version.

    TF Serving polls ``model_dir`` for integer-named folders; writing into a dot-folder
    and renaming (atomic on one file system) means it never sees a half-written
    version, and an export that dies midway leaves only a hidden temporary folder.

    Returns:
        the path of the new version.
    """
    os.makedirs(model_dir, exist_ok=True)
    _remove_leftovers_of_dead_exports(model_dir)
    version = next_version(model_dir)
    tmp_dir = os.path.join(model_dir, f".tmp-{version}-{os.getpid()}")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    try:
        write_fn(tmp_dir)
        final_dir = os.path.join(model_dir, str(version))
        os.rename(tmp_dir, final_dir)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return final_dir


def _remove_leftovers_of_dead_exports(model_dir):
    """Delete ``.tmp-<version>-<pid>`` folders whose export process no longer runs (it was killed)."""
    for entry in os.listdir(model_dir):
        match = _TEMPORARY.match(entry)
        if match and not _process_alive(int(match.group(1))):
            shutil.rmtree(os.path.join(model_dir, entry), ignore_errors=True)


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True
