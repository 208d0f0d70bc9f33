"""Files that are never half-written: write the whole file beside the target, then rename it over the target."""
import errno
import hashlib
import os
import re
import stat
import uuid
from pathlib import Path

__all__ = ["atomic_write"]


def atomic_write(path, data):
    """Write bytes to path so that readers see the old file or the new one, never a part; returns the path.

    A symlink is written through (its target changes, the link stays); a file that is replaced keeps its
    permissions. On any failure (a full disk, an interrupt) the old file is left as it was and no temporary file
    remains; where the system allows (Linux), the new file has no name until it is whole, so even a killed
    process leaves nothing behind, and the next write removes what an older killed writer left.
    """
    path = Path(path)
    try:
        info = os.stat(path)  # what the path is, through any symlink (a terminal or pipe behind /dev/stdout too)
    except FileNotFoundError:
        info = None
    except OSError as e:
        raise type(e)(e.errno, f"cannot write {path}: {e.strerror}") from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, f"cannot write {path}: it is a folder; give a file name")
    if info is not None and not stat.S_ISREG(info.st_mode):  # a device, a pipe, a socket: never replaced
        raise ValueError(f"cannot write {path}: {_kind(info)}, not a regular file; give the name of a file "
                         f"(a new one, or one to replace)")
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    if not target.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"cannot write {path}: the folder {target.parent} does not exist")
    mode = None if info is None else stat.S_IMODE(info.st_mode)  # a new file: the usual permissions (0666 - umask)
    try:
        _remove_stale(target)
    except OSError as e:
        raise type(e)(e.errno, f"cannot write {path}: {e.strerror}") from None
    tmp = target.with_name(f".{_stem(target.name)}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        if not _write_unnamed(target.parent, tmp, data, mode):
            with open(tmp, "xb") as f:  # "x": a fresh file
                _fill(f.fileno(), data, mode)
        os.replace(tmp, target)
    except OSError as e:  # named by the user's path, not by the temporary file's
        tmp.unlink(missing_ok=True)
        error = type(e)(e.errno, f"cannot write {path}: {e.strerror or e}")
        raise error from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _kind(info):
    mode = info.st_mode
    return ("a character device" if stat.S_ISCHR(mode) else "a block device" if stat.S_ISBLK(mode) else
            "a pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a file")


def _stem(name):
    """The file name as its temporary file's name holds it: whole, or, where the temporary name would pass the
    system's 255 bytes, its start and a hash of the whole (a name of 230-255 bytes is legal; its temporary's too)."""
    encoded = name.encode("utf-8", "surrogateescape")
    if len(encoded) <= 200:
        return name
    start = encoded[:160].decode("utf-8", "ignore")
    return f"{start}~{hashlib.sha256(encoded).hexdigest()[:16]}"


def _fill(fd, data, mode):
    if mode is not None:
        os.fchmod(fd, mode)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.fsync(fd)


def _write_unnamed(folder, tmp, data, mode):
    """Write data into a file without a name (O_TMPFILE), then give it the name tmp; False where unsupported."""
    global _unnamed_works
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not _unnamed_works:
        return False
    try:
        fd = os.open(folder, flag | os.O_WRONLY, 0o666)
    except OSError:  # the file system does not support it
        return False
    try:
        _fill(fd, data, mode)
        os.link(f"/proc/self/fd/{fd}", tmp)
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.EXDEV, errno.EPERM, errno.EOPNOTSUPP) and not tmp.exists():
            _unnamed_works = False  # no /proc to link through (some sandboxes): named files from now on
            return False
        raise
    finally:
        os.close(fd)
    return True


_unnamed_works = True


def _remove_stale(target):
    """Remove the temporary files that a killed writer of target left (their process is gone; a folder of such a
    name is not ours, and is left)."""
    ours = re.compile(rf"\.{re.escape(_stem(target.name))}\.(\d+)\.[0-9a-f]{{12}}\.tmp")  # exactly what we name them
    for old in target.parent.iterdir():
        match = ours.fullmatch(old.name)
        if match and not _alive(int(match.group(1))) and not old.is_dir():
            old.unlink(missing_ok=True)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process
    return True
