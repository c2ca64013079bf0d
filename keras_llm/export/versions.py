"""TF Serving's directory layout, written atomically: ``<base>/<name>/<version>/``.

Example:
    >>> write_version_atomically("saved_models", "gpt", lambda path: tf.saved_model.save(module, path))
    'saved_models/gpt/3'
"""

import errno
import os
import re
import shutil

from keras_llm.errors import UserInputError
from keras_llm.files import fsync_directory, one_line_write_errors

_TEMPORARY = re.compile(r"^\.tmp-\d+-(\d+)$")
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_CLAIM_ATTEMPTS = 1000


def check_model_name(name):
    """``name`` if it is one plain folder name (letters, digits, ``._-``; no separators, no ``..``)."""
    if not isinstance(name, str) or not _MODEL_NAME.match(name) or name in (".", ".."):
        raise UserInputError(f"model name {name!r} must be one folder name of letters, digits, '.', '_' or '-' "
                             f"(no '/' or '..'), so the export stays inside its base directory")
    return name


def next_version(model_dir):
    """1 + the largest integer version under ``model_dir`` (1 if none)."""
    if not os.path.isdir(model_dir):
        return 1
    versions = [int(entry) for entry in os.listdir(model_dir) if entry.isdigit()]
    return max(versions, default=0) + 1


def write_version_atomically(base_dir, name, write_fn):
    """Call ``write_fn(tmp_dir)``, then rename ``tmp_dir`` to the next free version of ``name``.

    TF Serving polls ``<base_dir>/<name>`` for integer-named folders; writing into a dot-folder
    and renaming (atomic on one file system) means it never sees a half-written version, and
    an export that dies midway leaves only a hidden temporary folder. The version is claimed by
    the rename itself (a rename onto an existing, non-empty version fails), so exports running
    at the same time get distinct versions. Full disks and unwritable folders are one-line
    ``UserInputError``s naming the path.

    Returns:
        the path of the new version.
    """
    model_dir = os.path.join(base_dir, check_model_name(name))
    with one_line_write_errors(model_dir):
        os.makedirs(model_dir, exist_ok=True)
        _remove_leftovers_of_dead_exports(model_dir)
        tmp_dir = os.path.join(model_dir, f".tmp-{next_version(model_dir)}-{os.getpid()}")
        shutil.rmtree(tmp_dir, ignore_errors=True)
        try:
            write_fn(tmp_dir)
            return _claim_next_version(model_dir, tmp_dir)
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)


def _claim_next_version(model_dir, tmp_dir):
    for _ in range(_CLAIM_ATTEMPTS):
        final_dir = os.path.join(model_dir, str(next_version(model_dir)))
        try:
            os.rename(tmp_dir, final_dir)
            fsync_directory(model_dir)
            return final_dir
        except OSError as error:
            if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise  # another exporter took this version first: try the next one
    raise UserInputError(f"could not claim a version under {model_dir}: too many exports at once")


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
