"""A system-call filter for the process that runs your code (Linux, x86-64 and ARM64): no new process,
no signal to another process, no reading or writing another process's memory.

Resource limits (isolate.py) bound time, memory and file size, but they cannot stop a file from
signalling the checker (os.kill(os.getppid(), 9)) or starting a daemon: processes of one user may
signal each other, and the limit on processes (RLIMIT_NPROC) does not bind root. A seccomp filter
(a small BPF program the kernel runs on every system call, installed with prctl) can:

    fork, vfork, clone without CLONE_THREAD     EPERM   (a thread may still start; a process may not)
    clone3                                      ENOSYS  (its flags sit in memory a filter cannot read;
                                                         the C library then falls back to clone)
    kill, tkill, tgkill, rt_(tg)sigqueueinfo    EPERM, unless the target is this process (or its group)
    pidfd_send_signal, ptrace, setrlimit,       EPERM
    process_vm_readv/writev, setpgid, setsid
    prlimit64 that sets a limit                 EPERM   (so the limits set before it hold, even for root)
    a system call of another ABI (x32, i386)    the process is killed

The filter is inherited by anything the process might start, and cannot be removed (no_new_privs).
install() returns '' when the filter is on, or why it could not be installed (another OS or CPU):
the checker says so rather than going on silently.
"""
import ctypes
import os
import platform
import struct

EPERM, ENOSYS = 1, 38
ALLOW, ERRNO, KILL = 0x7FFF0000, 0x00050000, 0x80000000
LD, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06       # BPF_LD|W|ABS, BPF_JMP|JEQ/JGE/JSET|K, BPF_RET|K
CLONE_THREAD = 0x00010000
TABLES = {                        # arch: (AUDIT_ARCH, fork-like, signalling (arg 0 = target), clone, denied)
    "x86_64": (0xC000003E, {"fork": 57, "vfork": 58}, {"kill": 62, "tkill": 200, "tgkill": 234,
               "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297}, 56,
               {"ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "pidfd_send_signal": 424,
                "setpgid": 109, "setsid": 112, "setrlimit": 160}),
    "aarch64": (0xC00000B7, {}, {"kill": 129, "tkill": 130, "tgkill": 131, "rt_sigqueueinfo": 138,
                "rt_tgsigqueueinfo": 240}, 220,
                {"ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "pidfd_send_signal": 424,
                 "setpgid": 154, "setsid": 157, "setrlimit": 164}),
}
CLONE3 = 435
PRLIMIT64 = {"x86_64": 302, "aarch64": 261}     # reading a limit (new_limit NULL) is allowed, setting one is not


def program(arch, pid):
    """The filter as a list of (code, jt, jf, k) for this process id."""
    audit, forks, signals, clone, denied = TABLES[arch]
    deny = ERRNO | EPERM
    prog = [(LD, 0, 0, 4), (JEQ, 1, 0, audit), (RET, 0, 0, KILL),      # another ABI: killed
            (LD, 0, 0, 0), (JGE, 0, 1, 0x40000000), (RET, 0, 0, KILL)]  # x32 system calls: killed
    for nr in [*forks.values(), *denied.values()]:
        prog += [(LD, 0, 0, 0), (JEQ, 0, 1, nr), (RET, 0, 0, deny)]
    prog += [(LD, 0, 0, 0), (JEQ, 0, 1, CLONE3), (RET, 0, 0, ERRNO | ENOSYS)]
    prog += [(LD, 0, 0, 0), (JEQ, 0, 4, clone), (LD, 0, 0, 16),          # clone: args[0] holds the flags
             (JSET, 1, 0, CLONE_THREAD), (RET, 0, 0, deny), (RET, 0, 0, ALLOW)]
    prog += [(LD, 0, 0, 0), (JEQ, 0, 6, PRLIMIT64[arch]), (LD, 0, 0, 32), (JEQ, 0, 3, 0),   # args[2] == NULL
             (LD, 0, 0, 36), (JEQ, 0, 1, 0), (RET, 0, 0, ALLOW), (RET, 0, 0, deny)]
    for nr in signals.values():                                         # the target: args[0], low 32 bits
        prog += [(LD, 0, 0, 0), (JEQ, 0, 6, nr), (LD, 0, 0, 16),
                 (JEQ, 3, 0, pid), (JEQ, 2, 0, 0), (JEQ, 1, 0, (-pid) & 0xFFFFFFFF),
                 (RET, 0, 0, deny), (RET, 0, 0, ALLOW)]
    return prog + [(RET, 0, 0, ALLOW)]


def install():
    """Install the filter on this process; '' when it is on, else why not."""
    arch = platform.machine().lower()
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(arch, arch)
    if os.uname().sysname != "Linux" or arch not in TABLES:
        return f"no system-call filter on {os.uname().sysname} {arch}"
    code = b"".join(struct.pack("<HBBI", *ins) for ins in program(arch, os.getpid()))
    buf = ctypes.create_string_buffer(code, len(code))

    class Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = Fprog(len(code) // 8, ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:                               # PR_SET_NO_NEW_PRIVS
        return f"prctl(PR_SET_NO_NEW_PRIVS) failed: {os.strerror(ctypes.get_errno())}"
    if libc.prctl(22, 2, ctypes.byref(prog), 0, 0) != 0:              # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        return f"the seccomp filter was refused: {os.strerror(ctypes.get_errno())}"
    return ""
