"""Writing files so that a crash or a full disk leaves the previous good state, never half a file.

Everything keras-llm writes into a run directory or an export goes through here (or through a
rename of a finished temporary folder): the new content goes to a temporary file next to the
target, is flushed to disk (fsync), and replaces the target with one atomic rename. Out-of-space
and permission errors become one :class:`UserInputError` line naming the path.

Example:
    >>> with atomic_output("runs/x/run.json") as handle:
    ...     json.dump(info, handle)
"""

import contextlib
import errno
import json
import os
import shutil

from keras_llm.errors import UserInputError

_USER_FIXABLE = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
                 errno.EACCES: "permission denied", errno.EPERM: "permission denied",
                 errno.EROFS: "read-only file system", errno.ENOTDIR: "a path component is a file, not a folder",
                 errno.EISDIR: "it is a folder"}
_MESSAGES = (("No space left", "no space left on the device"), ("Permission denied", "permission denied"),
             ("Read-only file system", "read-only file system"), ("Disk quota", "disk quota exceeded"))


def user_fixable_reason(error):
    """A one-line reason when ``error`` is out-of-space/permission trouble (also as wrapped by TF/h5py)."""
    if isinstance(error, OSError) and error.errno in _USER_FIXABLE:
        return _USER_FIXABLE[error.errno]
    text = str(error) if error is not None else ""
    return next((reason for marker, reason in _MESSAGES if marker in text), None)


@contextlib.contextmanager
def one_line_write_errors(path):
    """Re-raise out-of-space and permission errors inside the block as ``UserInputError`` naming ``path``."""
    try:
        yield
    except UserInputError:
        raise
    except Exception as error:  # noqa: BLE001  (only user-fixable ones are converted; the rest re-raise)
        reason = user_fixable_reason(error)
        if reason is None:
            raise
        raise UserInputError(f"cannot write {path}: {reason}") from None


@contextlib.contextmanager
def atomic_output(path, mode="w", encoding="utf-8", newline=None):
    """Open a temporary file beside ``path`` for writing; on success fsync it and rename it onto ``path``.

    On an exception (including a full disk) the temporary file is removed and ``path`` keeps its
    previous content.
    """
    text_options = {} if "b" in mode else {"encoding": encoding, "newline": newline}
    with atomic_file_path(path) as tmp_path, open(tmp_path, mode, **text_options) as handle:
        yield handle


def atomic_write_text(path, text):
    """Replace ``path`` with ``text`` (UTF-8) atomically."""
    with atomic_output(path) as handle:
        handle.write(text)


@contextlib.contextmanager
def atomic_file_path(path):
    """Yield a temporary path beside ``path`` for a library that writes files itself (``model.save``);
    rename it onto ``path`` after the block succeeds.

    The temporary name keeps ``path``'s extension, since Keras chooses the format from it.
    """
    directory = os.path.dirname(os.path.abspath(path))
    base, extension = os.path.splitext(os.path.basename(path))
    tmp_path = os.path.join(directory, f".{base}.{os.getpid()}.tmp{extension}")
    with one_line_write_errors(path):
        os.makedirs(directory, exist_ok=True)
        try:
            yield tmp_path
            _fsync_file(tmp_path)
            os.replace(tmp_path, path)
            fsync_directory(directory)
        finally:
            with contextlib.suppress(OSError):
                os.remove(tmp_path)


@contextlib.contextmanager
def atomic_directory(path):
    """Yield an empty temporary folder beside ``path``; after the block succeeds it replaces ``path``.

    An existing ``path`` is renamed aside first and deleted after the swap, so at every moment
    either the old or the new folder is complete (a crash between the two renames leaves the old
    one as ``.<name>.old-<pid>``, never a mixture).
    """
    parent = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(os.path.abspath(path))
    tmp_path = os.path.join(parent, f".{name}.tmp-{os.getpid()}")
    old_path = os.path.join(parent, f".{name}.old-{os.getpid()}")
    with one_line_write_errors(path):
        shutil.rmtree(tmp_path, ignore_errors=True)
        os.makedirs(tmp_path)
        try:
            yield tmp_path
            for folder, _, names in os.walk(tmp_path):
                for file_name in names:
                    _fsync_file(os.path.join(folder, file_name))
            if os.path.exists(path):
                os.rename(path, old_path)
            os.rename(tmp_path, path)
            fsync_directory(parent)
        finally:
            shutil.rmtree(tmp_path, ignore_errors=True)
            shutil.rmtree(old_path, ignore_errors=True)


def read_json_object(path):
    """The JSON object in ``path``; a file cut short or overwritten with other content is one line."""
    try:
        with open(path, encoding="utf-8") as handle:
            value = json.load(handle)
    except (ValueError, UnicodeDecodeError):
        raise UserInputError(f"{path} is damaged (not valid JSON)") from None
    if not isinstance(value, dict):
        raise UserInputError(f"{path} is damaged (not a JSON object)")
    return value


def fsync_directory(directory):
    """Make a rename inside ``directory`` durable (no-op where directories cannot be opened)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _fsync_file(path):
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
