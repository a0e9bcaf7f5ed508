"""The copy your code runs in: a workspace read into memory, written out as a private folder, removed after.

Your code never runs in your workspace itself, nor in the class folder a teacher grades: the child
(child.py) is started in a fresh copy, made here, so that whatever it writes, deletes or locks there is
thrown away with the copy. `check` copies in one step (copy_workspace); `grade` reads every submission
first (read_workspace) and writes each student's copy only when that student's turn comes
(write_workspace), so that no student's code can change a classmate's files before they are read.

What is copied, and what is not:
  - plain files and folders (4 deep) only: a symbolic link is never followed (it could point at a
    classmate's answer or at your home), and a special file (a pipe, a device) is skipped, never read;
  - at most `cap` bytes in all (Limits.copy_mb): past it the largest files are left out first, since a
    large file is a data file, not an exercise; each file left out is named in a note.

remove() deletes the copy even where your code took away its own write permission.

Neighbours: isolate.py (the whole design, and the verdict), session.py (the child that runs in the copy),
grade.py (reading a whole class before any of it runs).
"""
import os
import shutil
import stat
from dataclasses import dataclass

from .runner import shown


@dataclass
class Snapshot:
    """A workspace read into memory: its plain files and folders, by path relative to it, and what was left out."""
    files: dict                     # {"ex03_mse.py": b"...", "lib/helper.py": b"..."}
    folders: list                   # ["lib", ...], parents before children
    notes: list                     # why a file was left out, one line each
    size: int = 0                   # bytes held
    left_out: int = 0               # files left out because the workspace is over the cap


def read_workspace(src, cap):
    """The plain files of src (folders too, 4 deep) read into memory, never following a link, skipping special
    files. Past `cap` bytes in all, the largest files are left out (a data file, not an exercise), and said so."""
    found, notes, folders = [], [], []

    def walk(s, rel, depth):
        try:
            entries = sorted(os.scandir(s), key=lambda e: e.name)
        except OSError as err:
            notes.append(f"cannot read {shown(s)}: {err.strerror}")
            return
        for e in entries:
            name = f"{rel}{e.name}"
            if e.is_symlink():
                notes.append(f"{shown(e.path)} is a symbolic link: not copied (the checker copies plain files)")
            elif e.is_dir(follow_symlinks=False) and depth < 4:
                folders.append(name)
                walk(e.path, name + "/", depth + 1)
            elif e.is_file(follow_symlinks=False):
                found.append((e.stat(follow_symlinks=False).st_size, name, e.path))
            elif not e.is_dir(follow_symlinks=False):
                notes.append(f"{shown(e.path)} is not a plain file: skipped")
    walk(src, "", 0)
    out = Snapshot({}, folders, notes)
    for _, name, path in sorted(found):                                # smallest first
        try:
            data = _read_plain(path, cap - out.size + 1)
        except OSError as err:
            notes.append(f"cannot read {shown(path)}: {err.strerror}")
            continue
        if data is None:
            notes.append(f"{shown(path)} is not a plain file: skipped")
        elif out.size + len(data) > cap:
            out.left_out += 1
            notes.append(f"{shown(path)}: not copied, the workspace is over {cap >> 20} MB (its largest files are "
                         "left out)")
        else:
            out.files[name], out.size = data, out.size + len(data)
    return out


def _read_plain(path, most):
    """At most `most` bytes of the plain file at path, or None when it is not one by the time it is opened
    (a link or a pipe put in its place: never followed, never waited on)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks, size = [], 0
        while size < most:
            chunk = os.read(fd, min(1 << 20, most - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def write_workspace(snapshot, dst):
    """Write a Snapshot's folders and files under dst (made if missing)."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in snapshot.folders:
        (dst / name).mkdir(exist_ok=True)
    for name, data in snapshot.files.items():
        (dst / name).write_bytes(data)


def copy_workspace(src, dst, cap):
    """Copy the plain files of src into dst (read_workspace, then write_workspace). Returns notes on what was
    skipped."""
    snapshot = read_workspace(src, cap)
    write_workspace(snapshot, dst)
    return snapshot.notes


def remove(folder):
    """Delete folder and all in it, also where your code took away the write or search permission of a folder
    inside (os.chmod(".", 0o500)): root deletes regardless, any other user must give the permission back
    first. Never through a link (a link to your home leaves your home as it was). Best effort: what cannot be
    deleted stays."""
    shutil.rmtree(folder, ignore_errors=True)
    if not os.path.lexists(folder):
        return

    def reopen(path):
        try:
            if not os.path.islink(path):
                os.chmod(path, 0o700)
        except OSError:
            pass
    reopen(folder)
    for top, dirs, _ in os.walk(folder):             # top down: each folder reopened before it is listed
        for d in dirs:
            reopen(os.path.join(top, d))
    shutil.rmtree(folder, ignore_errors=True)
