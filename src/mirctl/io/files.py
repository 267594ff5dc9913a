"""Operating-system errors in the user's terms, naming the user's path.

``OSError`` texts such as ``[Errno 1] Operation not permitted: '…/.good.mirctl-tmp-….mid'``
name a hidden temporary file and speak errno; these helpers say what is wrong with which
of the user's files or folders, and what to do.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from mirctl.errors import InputError, OutputError

_WORDS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is used up",
    errno.ENAMETOOLONG: "the name is too long for the file system",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder",
    errno.EEXIST: "something else already has that name",
    errno.ELOOP: "it is a symbolic link loop",
    errno.EIO: "the device reported an input/output error",
    errno.EMFILE: "too many files are open",
}

_HINTS = {
    errno.EACCES: "check the folder's permissions, or choose another one with -o",
    errno.EPERM: "check the folder's permissions, or choose another one with -o",
    errno.EROFS: "choose a writable folder with -o",
    errno.ENOSPC: "free some space or choose another disk with -o",
    errno.EDQUOT: "free some space or choose another disk with -o",
    errno.ENAMETOOLONG: "use a shorter --filename template or output folder",
}


def plain(err: OSError) -> str:
    """What an OSError means, in words (its errno), without the path it names."""
    if err.errno in _WORDS:
        return _WORDS[err.errno]
    if err.strerror:
        return err.strerror[0].lower() + err.strerror[1:]
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def write_error(final: Path, err: OSError) -> OutputError:
    """An error while writing (the temporary file of) ``final``, said of ``final``."""
    return OutputError(f"cannot write {final}: {plain(err)}", _HINTS.get(err.errno or 0))


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def check_input_file(path: Path) -> None:
    """Refuse what cannot be read as an input file, before any decoder sees it: missing,
    a folder, a pipe or device, a broken link or link loop, empty, or unreadable."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise InputError(f"{path} is a symbolic link to nothing", hint="fix or remove the link") from None
        raise InputError(f"{path} does not exist", hint="check the path (quote names with spaces)") from None
    except OSError as err:
        raise InputError(f"{path} cannot be read: {plain(err)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path} is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{path} is {_kind(st.st_mode)}, not a file",
                         hint="mirctl reads files: save the stream to a file first")
    if st.st_size == 0:
        raise InputError(f"{path} is empty (0 bytes)")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path} cannot be read: permission denied", hint="check the file's permissions")


def check_output_folder(out_dir: Path) -> None:
    """``-o`` must be a folder that is, or can be, made writable: a file there, or a
    read-only place, is a usage error before any work starts."""
    from mirctl.errors import UsageError

    out_dir = Path(out_dir)
    probe = out_dir
    while not probe.exists() and probe.parent != probe:
        if probe.is_symlink():
            raise UsageError(f"-o {out_dir}: {probe} is a symbolic link to nothing")
        probe = probe.parent
    if not probe.is_dir():
        what = "is a file" if probe == out_dir else f"is inside {probe}, which is a file"
        raise UsageError(f"-o {out_dir} {what}, not a folder", hint="choose a folder for the outputs")
    reason = None
    if not os.access(probe, os.W_OK | os.X_OK):
        reason = "permission denied"
    else:  # root passes access(); a read-only or virtual file system still refuses a file
        import tempfile

        try:
            fd, name = tempfile.mkstemp(prefix=".mirctl-probe-", dir=probe)
            os.close(fd)
            os.unlink(name)
        except OSError as err:
            reason = plain(err)
    if reason is not None:
        where = "" if probe == out_dir else f" (in {probe}, its nearest existing folder)"
        raise UsageError(f"-o {out_dir} is not writable{where}: {reason}",
                         hint="choose a folder you can write to, or fix its permissions")
