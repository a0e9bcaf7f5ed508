"""Landlock (Linux 5.13 and later): the process that runs your code may open only what Python needs,
and write only in its own copy of your workspace.

The system-call filter (seccomp.py) stops a file from starting processes or signalling them, but
not from opening files: the child runs as the same user as the checker, so without more it could
read a classmate's submission in the class folder and import it, rewrite a file the checker reads
later, or change the Python installation that the next student's child imports. Landlock is a
list of the folders this process may still open, which the kernel enforces for root as well and
which, once set, neither this process nor anything it starts can widen:

    read and execute    Python and its libraries (sys.prefix, sys.base_prefix, every folder on sys.path),
                        scratchvae's own folder, /usr /lib /lib64 /bin /sbin /etc /sys, its own
                        /proc/self and /proc's cpuinfo, meminfo, stat and sys, /dev's null, zero, full,
                        random and urandom
    everything          the child's own copy of your workspace (its folder, HOME and TMPDIR)
    write               /dev/null /dev/zero /dev/full
    nothing else        the class folder, other students' copies, /tmp at large, the grader's output,
                        another process's /proc (the checker's environment, its open files)

It also keeps the child from reading the memory of a process outside its own sandbox
(/proc/PID/mem of the checker) and, from ABI 6, from signalling one. A folder on sys.path that
holds one of the folders to close (a PYTHONPATH of a home folder holding the class) is left out,
and said so: a module there then cannot be imported.

Three system calls, the same numbers on x86-64 and ARM64 (the generic table), called through ctypes:

    landlock_create_ruleset(attr, size, flags)        444   flags=1 (VERSION): the ABI this kernel speaks
    landlock_add_rule(ruleset, PATH_BENEATH, attr, 0)  445   one folder (or file) and what may be done there
    landlock_restrict_self(ruleset, 0)                 446   from now on, only what the rules allow

Each ABI knows more rights: 1 the first 13 (execute, read, write, make, remove), 2 REFER (link or
rename across folders), 3 TRUNCATE, 5 IOCTL_DEV, 6 the scopes (signals, abstract Unix sockets).
Only the rights the running ABI knows are asked for; a right the ruleset does not handle stays
allowed (truncate(2) on ABI 1 and 2). Landlock does not govern stat, chmod, chown or utime: a path
that is known can still be looked at and its permissions changed, but not opened.
install() returns '' when the rules are on, else why not (another OS, an older kernel, Landlock
turned off at boot, or SCRATCHVAE_LANDLOCK=off).
"""
import ctypes
import os
import platform
import stat
import sys

CREATE_RULESET, ADD_RULE, RESTRICT_SELF = 444, 445, 446
CREATE_RULESET_VERSION, RULE_PATH_BENEATH = 1, 1
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3     # ABI 1: bits 0-12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15                      # ABI 2, 3, 5
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1                    # ABI 6
READ = EXECUTE | READ_FILE | READ_DIR
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV        # the rights a rule on a file may hold
SYSTEM = ("/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc", "/sys",
          "/proc/self", "/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/proc/sys",    # not another process's
          "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")         # (/proc/PID/environ)
DEVICES = ("/dev/null", "/dev/zero", "/dev/full")                          # also written to
ENOSYS, EOPNOTSUPP = 38, 95


def fs_rights(abi):
    """Every file-system right the kernel's ABI knows (what the ruleset handles: all else is then denied)."""
    last = {1: 12, 2: 13, 3: 14, 4: 14}.get(abi, 15)
    return (1 << (last + 1)) - 1


class RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class PathBeneathAttr(ctypes.Structure):
    _pack_ = 1                                                              # __attribute__((packed)): 12 bytes
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def abi():
    """(the Landlock ABI version of this kernel, '') or (0, why there is none)."""
    if os.environ.get("SCRATCHVAE_LANDLOCK", "").lower() in ("off", "0", "no"):
        return 0, "Landlock turned off (SCRATCHVAE_LANDLOCK=off)"
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine().lower())
    if sys.platform != "linux" or arch not in ("x86_64", "aarch64"):
        return 0, f"no Landlock on {platform.system()} {arch}"
    libc = _libc()
    version = libc.syscall(CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION))
    if version < 1:
        errno = ctypes.get_errno()
        why = {ENOSYS: "this kernel has no Landlock (Linux 5.13 or later has it)",
               EOPNOTSUPP: "Landlock is turned off in this kernel (lsm= at boot)"}.get(errno, os.strerror(errno))
        return 0, f"no Landlock: {why}"
    return int(version), ""


def allowed(closed, tmp):
    """(the paths to open for reading, notes): Python's, the libraries', the system's. None of them may be or
    hold a folder of `closed` (the temporary folder; for grade the class, the CSV, the feedback) or be inside
    one, except `tmp`: a folder of Python's inside it (a virtual environment under /tmp) is opened."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))       # scratchvae/: this package
    candidates = [*SYSTEM, here, sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                  os.path.dirname(sys.executable), *[p for p in sys.path if isinstance(p, str) and p]]
    shut = [os.path.realpath(c) for c in closed]
    paths, notes = [], []
    for path in dict.fromkeys(candidates):
        real = os.path.realpath(path)
        if not os.path.exists(real) or real in paths:
            continue
        holds = [c for c in shut if c == real or c.startswith(real.rstrip("/") + "/")]
        inside = [c for c in shut if real.startswith(c.rstrip("/") + "/") and c != os.path.realpath(tmp)]
        if holds or inside:
            shut_one = (holds or inside)[0]
            how = "is" if shut_one == real else "holds" if holds else "is inside"
            notes.append(f"{path} (a folder of Python's) {how} {shut_one}, which your code must not reach: it is "
                         "not opened to your code (a module there will not import)")
            continue
        paths.append(real)
    return paths, notes


def install(read, write):
    """Allow only: reading and executing beneath each path of `read`, everything beneath each of `write`,
    writing to the harmless devices. '' when the rules are on, else why not (nothing changed then).
    The rules bind the calling thread and whatever it starts: call it while the process has one thread
    (the child does: one BLAS thread, no pool started yet)."""
    version, why = abi()
    if not version:
        return why
    libc = _libc()
    handled = fs_rights(version)
    attr = RulesetAttr(handled, 0, (SCOPE_SIGNAL | SCOPE_ABSTRACT_UNIX_SOCKET) if version >= 6 else 0)
    size = 8 if version < 4 else 16 if version < 6 else 24                  # the struct as this ABI knows it
    ruleset = libc.syscall(CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return f"no Landlock: landlock_create_ruleset failed ({os.strerror(ctypes.get_errno())})"
    try:
        rules = [(p, READ, False) for p in read] + [(d, WRITE_FILE, False) for d in DEVICES] + \
                [(p, handled, True) for p in write]
        for path, rights, needed in rules:
            why = _add(libc, ruleset, path, rights & handled)
            if why and needed:               # a folder to read that cannot be opened stays closed: only less is open
                return why
        if libc.prctl(38, 1, 0, 0, 0) != 0:                          # PR_SET_NO_NEW_PRIVS (seccomp.py sets it too)
            return f"no Landlock: prctl(PR_SET_NO_NEW_PRIVS) failed ({os.strerror(ctypes.get_errno())})"
        if libc.syscall(RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            return f"no Landlock: landlock_restrict_self failed ({os.strerror(ctypes.get_errno())})"
    finally:
        os.close(ruleset)
    return ""


def _add(libc, ruleset, path, rights):
    """One rule: `rights` beneath `path` (a file takes only the rights a file has). '' or why it failed."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError as err:
        return f"no Landlock: cannot open {path} for a rule ({err.strerror})"
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= FILE_RIGHTS
        rule = PathBeneathAttr(rights, fd)
        if libc.syscall(ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH), ctypes.byref(rule),
                        ctypes.c_uint32(0)) != 0:
            return f"no Landlock: the rule for {path} was refused ({os.strerror(ctypes.get_errno())})"
    finally:
        os.close(fd)
    return ""
