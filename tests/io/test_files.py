"""io/files.py: every refusal of an input file or an output folder, word for word, with
its hint (a user reads both; the mutation run showed only the words were checked)."""

from __future__ import annotations

import errno
import os
import socket
import tempfile
from pathlib import Path

import pytest

from mirctl.errors import InputError, OutputError, UsageError
from mirctl.io import files
from mirctl.io.files import check_input_file, check_output_folder, plain, write_error


def refusal(path):
    with pytest.raises(InputError) as err:
        check_input_file(path)
    return err.value.message, err.value.hint


def usage(out_dir):
    with pytest.raises(UsageError) as err:
        check_output_folder(out_dir)
    return err.value.message, err.value.hint


@pytest.mark.parametrize("err, words", [
    (PermissionError(errno.EACCES, "Permission denied"), "permission denied"),
    (OSError(errno.EPERM, "Operation not permitted"), "permission denied"),
    (OSError(errno.ENOSPC, "No space left on device"), "no space left on the device"),
    (OSError(errno.EISDIR, "Is a directory"), "it is a folder"),
    (OSError(errno.ENOTDIR, "Not a directory"), "a part of the path is a file, not a folder"),
    (OSError(errno.EXDEV, "Invalid cross-device link"), "invalid cross-device link"),  # strerror, first letter lowered
    (OSError("first line\nsecond line"), "first line"),  # no errno, no strerror: the message's first line
    (OSError(), "OSError"),  # nothing at all: the type's name
    (FileNotFoundError(), "FileNotFoundError"),
])
def test_plain_words_for_os_errors(err, words):
    assert plain(err) == words


def test_a_write_error_is_said_of_the_final_path_with_the_errno_hint():
    final = Path("/music/out/song.mid")
    err = write_error(final, OSError(errno.ENOSPC, "No space left on device", "/music/out/.song.mirctl-tmp-1.mid"))
    assert isinstance(err, OutputError)
    assert (err.message, err.hint) == ("cannot write /music/out/song.mid: no space left on the device",
                                       "free some space or choose another disk with -o")
    err = write_error(final, OSError(errno.ENAMETOOLONG, "File name too long"))
    assert err.hint == "use a shorter --filename template or output folder"
    # an error without an errno, or with one that has no hint, gets none (EPERM, errno 1, has one)
    assert write_error(final, OSError("odd")).hint is None
    assert write_error(final, OSError(errno.EIO, "I/O error")).hint is None
    assert write_error(final, OSError(errno.EPERM, "x")).hint == "check the folder's permissions, or choose another one with -o"


def test_missing_files_and_dangling_links(tmp_path):
    missing = tmp_path / "nope.wav"
    assert refusal(missing) == (f"{missing} does not exist", "check the path (quote names with spaces)")
    link = tmp_path / "link.wav"
    link.symlink_to("gone.wav")
    assert refusal(link) == (f"{link} is a symbolic link to nothing", "fix or remove the link")
    loop = tmp_path / "loop.wav"
    loop.symlink_to("loop.wav")
    assert refusal(loop) == (f"{loop} cannot be read: it is a symbolic link loop", None)


def test_what_is_not_a_regular_file(tmp_path):
    assert refusal(tmp_path) == (f"{tmp_path} is a folder, not a file", None)
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    hint = "mirctl reads files: save the stream to a file first"
    assert refusal(fifo) == (f"{fifo} is a named pipe, not a file", hint)
    assert refusal(Path("/dev/null")) == ("/dev/null is a device, not a file", hint)  # a character device
    sock_path = Path(tempfile.mkdtemp(prefix="s", dir="/tmp")) / "s.wav"  # AF_UNIX paths must be short
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(sock_path))
        assert refusal(sock_path) == (f"{sock_path} is a socket, not a file", hint)
    finally:
        sock.close()
        sock_path.unlink()
        sock_path.parent.rmdir()


def test_the_kind_of_special_files():
    import stat

    assert files._kind(stat.S_IFBLK) == "a device"
    assert files._kind(stat.S_IFCHR) == "a device"
    assert files._kind(stat.S_IFLNK) == "not a regular file"


def test_empty_and_unreadable_files(tmp_path, monkeypatch):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    assert refusal(empty) == (f"{empty} is empty (0 bytes)", None)
    locked = tmp_path / "locked.wav"
    locked.write_bytes(b"RIFF")
    check_input_file(locked)  # readable: no error
    real_access = os.access
    monkeypatch.setattr(files.os, "access", lambda p, mode: False if Path(p) == locked else real_access(p, mode))
    assert refusal(locked) == (f"{locked} cannot be read: permission denied", "check the file's permissions")


def test_output_folder_refusals_word_for_word(tmp_path, monkeypatch):
    (tmp_path / "f").write_text("x")
    assert usage(tmp_path / "f") == (f"-o {tmp_path / 'f'} is a file, not a folder", "choose a folder for the outputs")
    deeper = tmp_path / "f" / "a" / "b"
    assert usage(deeper) == (f"-o {deeper} is inside {tmp_path / 'f'}, which is a file, not a folder",
                             "choose a folder for the outputs")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    inside = tmp_path / "dangling" / "out"
    assert usage(inside) == (f"-o {inside}: {tmp_path / 'dangling'} is a symbolic link to nothing", None)

    hint = "choose a folder you can write to, or fix its permissions"
    monkeypatch.setattr(files.os, "access", lambda p, mode: False)
    assert usage(tmp_path) == (f"-o {tmp_path} is not writable: permission denied", hint)
    assert usage(tmp_path / "new") == (f"-o {tmp_path / 'new'} is not writable (in {tmp_path}, its nearest "
                                       "existing folder): permission denied", hint)
    monkeypatch.undo()

    def read_only(**kw):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    assert usage(tmp_path) == (f"-o {tmp_path} is not writable: the file system is read-only", hint)


def test_a_writable_output_folder_is_left_as_it_was(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    check_output_folder(tmp_path)
    check_output_folder(tmp_path / "new" / "deep")  # made later by the runner, not by the check
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]  # the probe file is gone too


def test_the_writability_probe_asks_for_write_and_search_and_hides_its_file(tmp_path, monkeypatch):
    asked, probes = [], []
    real_access, real_mkstemp = os.access, tempfile.mkstemp

    def access(path, mode):
        asked.append(mode)
        return real_access(path, mode)

    def mkstemp(**kw):
        fd, name = real_mkstemp(**kw)
        probes.append(Path(name))
        return fd, name

    monkeypatch.setattr(files.os, "access", access)
    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    check_output_folder(tmp_path)
    # a folder one may write in but not enter (no x bit) is refused too (root passes both anyway)
    assert asked == [os.W_OK | os.X_OK]
    # the probe is a hidden mirctl file in the folder itself, which folder scans skip, and is gone
    (probe,) = probes
    assert probe.parent == tmp_path and probe.name.startswith(".mirctl-probe-") and not probe.exists()
