# chaostest's Python bridge: the child process behind internal/pybridge.
#
# It reads one JSON request per line on stdin and writes one JSON reply per line on the
# protocol stream (the process's original stdout). Everything the user's code prints goes to
# stderr: fd 1 and sys.stdout are pointed there before any module is imported. Each request runs
# in its own thread, so concurrent activities (background ones, continuous probes) overlap as
# they do in chaoslib. The Go side kills this process (and its process group) to stop a call.
import datetime
import decimal
import importlib
import inspect
import io
import json
import os
import sys
import threading
import traceback
import uuid


def _setup_streams():
    proto = io.open(os.dup(1), "w", encoding="utf-8", newline="\n", closefd=True)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    requests = io.open(os.dup(0), "r", encoding="utf-8", newline="\n", closefd=True)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdin = io.open(0, "r", closefd=False)
    return proto, requests


def _encoder(o):
    # The rules chaostoolkit's journal encoder applies to values JSON has no type for.
    if isinstance(o, (datetime.date, datetime.datetime)):
        return o.isoformat()
    if isinstance(o, decimal.Decimal):
        return str(o)
    if isinstance(o, uuid.UUID):
        return str(o)
    raise TypeError("Object of type '%s' is not JSON serializable" % type(o))


class _Failure(Exception):
    """A reply that is an error of the given kind, not the function's exception."""

    def __init__(self, kind, text):
        super().__init__(text)
        self.kind = kind
        self.text = text


def _function(module, func):
    try:
        mod = importlib.import_module(module)
    except ImportError as x:
        raise _Failure("import", traceback.format_exception_only(type(x), x)[-1].strip())
    try:
        return getattr(mod, func)
    except AttributeError as x:
        raise _Failure("attribute", traceback.format_exception_only(type(x), x)[-1].strip())


def _parameters(fn):
    try:
        return inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}


def op_check(req):
    """Validation as chaoslib's validate_python_activity does it."""
    try:
        mod = importlib.import_module(req["module"])
    except ImportError as x:
        return {"importable": False, "error": traceback.format_exception_only(type(x), x)[-1].strip()}
    func = req["func"]
    candidates = set(inspect.getmembers(mod, inspect.isfunction)).union(
        inspect.getmembers(mod, inspect.isbuiltin))
    for name, cb in candidates:
        if name != func:
            continue
        args = dict.fromkeys(req.get("arguments") or [])
        try:
            sig = inspect.signature(cb)
        except (TypeError, ValueError) as x:
            return {"importable": True, "found": True, "signature": str(x)}
        for injected in req.get("injected") or ["secrets", "configuration"]:
            if injected in sig.parameters:
                args[injected] = None
        try:
            sig.bind(**args)
        except TypeError as x:
            msg = str(x)
            if "missing" in msg:
                return {"importable": True, "found": True, "missing": msg.rsplit(":", 1)[1].strip()}
            if "unexpected" in msg:
                return {"importable": True, "found": True, "unexpected": msg.rsplit(" ", 1)[1].strip()}
            return {"importable": True, "found": True, "signature": msg}
        return {"importable": True, "found": True}
    return {"importable": True, "found": False}


def op_import(req):
    try:
        mod = importlib.import_module(req["module"])
    except ImportError as x:
        return {"importable": False, "error": traceback.format_exception_only(type(x), x)[-1].strip()}
    names = [n for n in req.get("names") or [] if callable(getattr(mod, n, None))]
    return {"importable": True, "functions": names}


def op_call(req):
    """A call as chaoslib's run_python_activity makes it."""
    fn = _function(req["module"], req["func"])
    arguments = dict(req.get("arguments") or {})
    params = _parameters(fn)
    if req.get("secrets") is not None and "secrets" in params:
        arguments["secrets"] = req["secrets"]
    if "configuration" in params:
        arguments["configuration"] = req.get("configuration") or {}
    for name, value in (req.get("extra") or {}).items():
        if name in params:
            arguments[name] = value
    return fn(**arguments)


def op_ping(req):
    return {"pid": os.getpid(), "version": sys.version.split()[0]}


def op_control(req):
    """A control hook as chaoslib's apply_python_control (and initialize/cleanup) calls it.

    The hook is looked up by name and skipped when the module does not define it. `always`
    holds keyword arguments always passed (context), `extra` those passed when the hook declares
    them. Since the Go side holds the real objects, the reply carries back the context, state and
    experiment as the hook left them."""
    try:
        mod = importlib.import_module(req["module"])
    except ImportError as x:
        raise _Failure("import", traceback.format_exception_only(type(x), x)[-1].strip())
    fn = getattr(mod, req["func"], None)
    if not fn:
        return {"called": False}
    arguments = dict(req.get("arguments") or {})
    params = _parameters(fn)
    passed = dict(req.get("always") or {})
    extra = dict(req.get("extra") or {})
    if req.get("context_is_experiment") and "context" in passed:
        extra["experiment"] = passed["context"]
    if "extensions" in extra and isinstance(extra.get("experiment"), dict):
        extra["extensions"] = extra["experiment"].get("extensions")
    for name, value in extra.items():
        if name in params:
            passed[name] = value
    arguments.update(passed)
    result = fn(*(req.get("positional") or []), **arguments)
    reply = {"called": True, "result": result}
    for name in ("context", "state", "experiment"):
        if name in passed:
            reply[name] = passed[name]
    return reply


OPS = {"check": op_check, "import": op_import, "call": op_call, "control": op_control, "ping": op_ping}


class _ChaoslibShim:
    """Finds `chaoslib`, `chaoslib.exceptions` and `chaoslib.types` when the real chaoslib is not
    installed, so modules written for Chaos Toolkit (which import its exceptions and type names)
    import. It sits last on sys.meta_path: an installed chaoslib always wins."""

    SOURCES = {
        "chaoslib": "__version__ = 'chaostest'\n",
        "chaoslib.exceptions": (
            "class ChaosException(Exception):\n    pass\n"
            "class InvalidExperiment(ChaosException):\n    pass\n"
            "class InvalidActivity(InvalidExperiment):\n    pass\n"
            "class InvalidControl(ChaosException):\n    pass\n"
            "class InvalidSource(ChaosException):\n    pass\n"
            "class ActivityFailed(ChaosException):\n    pass\n"
            "class DiscoveryFailed(ChaosException):\n    pass\n"
            "class InterruptExecution(ChaosException):\n    pass\n"
            "class ControlPythonFunctionLoadingError(Exception):\n    pass\n"
        ),
        "chaoslib.types": (
            "from typing import Any, Dict, List, Union\n"
            "Activity = Dict[str, Any]\nConfiguration = Dict[str, Any]\nControl = Dict[str, Any]\n"
            "Experiment = Dict[str, Any]\nExtension = Dict[str, Any]\nHypothesis = Dict[str, Any]\n"
            "Journal = Dict[str, Any]\nLayer = Dict[str, Any]\nMicroservice = Dict[str, Any]\n"
            "Probe = Dict[str, Any]\nAction = Dict[str, Any]\nRun = Dict[str, Any]\n"
            "Secrets = Dict[str, Dict[str, str]]\nSettings = Dict[str, Any]\n"
            "EventPayload = Dict[str, Any]\nTolerance = Union[int, str, bool, list, Dict[str, Any]]\n"
            "Schedule = Any\nStrategy = Any\nDry = Any\n"
        ),
    }

    def find_spec(self, name, path=None, target=None):
        if name not in self.SOURCES:
            return None
        import importlib.util
        return importlib.util.spec_from_loader(name, self, is_package=(name == "chaoslib"))

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        exec(compile(self.SOURCES[module.__name__], "<chaostest chaoslib shim>", "exec"), module.__dict__)


class Server:
    def __init__(self, proto):
        self.proto = proto
        self.lock = threading.Lock()

    def reply(self, msg):
        try:
            sys.stderr.flush()  # what the call printed comes out before its reply
        except Exception:
            pass
        line = json.dumps(msg, ensure_ascii=True, allow_nan=False, default=_encoder)
        with self.lock:
            self.proto.write(line + "\n")
            self.proto.flush()

    def handle(self, req):
        rid = req.get("id")
        op = OPS.get(req.get("op"))
        try:
            if op is None:
                raise _Failure("protocol", "unknown operation %r" % req.get("op"))
            result = op(req)
        except _Failure as f:
            self.reply({"id": rid, "error": {"kind": f.kind, "text": f.text}})
            return
        except Exception as x:  # the function's own exception: an ActivityFailed in chaoslib
            self.reply({"id": rid, "error": self.exception("exception", x)})
            return
        except BaseException as x:  # SystemExit, KeyboardInterrupt: not caught by chaoslib
            self.reply({"id": rid, "error": self.exception("base", x)})
            return
        try:
            self.reply({"id": rid, "result": result})
        except (TypeError, ValueError, RecursionError) as x:
            self.reply({"id": rid, "error": self.exception("output", x)})

    @staticmethod
    def exception(kind, x):
        return {
            "kind": kind,
            "type": type(x).__name__,
            "message": str(x),
            "interrupt": any(c.__name__ == "InterruptExecution" for c in type(x).__mro__),
            "text": traceback.format_exception_only(type(x), x)[0].strip(),
            "lines": traceback.format_exception(type(x), x, x.__traceback__),
        }


def main():
    proto, requests = _setup_streams()
    if sys.path and sys.path[0] in ("", os.getcwd()):
        # `python3 -c` puts the working directory first; chaos does not, and a file named like a
        # standard module there would shadow it.
        del sys.path[0]
    sys.meta_path.append(_ChaoslibShim())
    server = Server(proto)
    for line in requests:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
        except ValueError as x:
            server.reply({"id": None, "error": {"kind": "protocol", "text": str(x)}})
            continue
        threading.Thread(target=server.handle, args=(req,), daemon=True).start()
    # stdin closed: the Go side is gone or closed the bridge.
    os._exit(0)


main()
