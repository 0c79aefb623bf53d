# Cordon handler harness (Python), run inside the sandbox as: python3 -u -B <dir>/harness.py
# <dir> (read-only) holds handler.py (the user's code) and event.json. The outcome goes to fd 6 as
# one JSON document, never to stdout/stderr, so nothing the handler prints can be taken for it:
#   {"ok": true, "result": <json>}  or  {"ok": false, "error": {"type", "message", "stack"}}
import asyncio
import inspect
import json
import os
import sys
import traceback
import types

RESULT_FD = 6
HERE = os.path.dirname(os.path.abspath(__file__))
HANDLER_PATH = os.path.join(HERE, "handler.py")


def open_channel():
    # A private, non-inheritable copy (PEP 446): subprocesses of the handler do not get it, and the
    # well-known fd number is closed.
    fd = os.dup(RESULT_FD)
    os.close(RESULT_FD)
    return fd


def emit(fd, text):
    data = text.encode("utf-8")
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
    os.close(fd)


def user_stack(exc):
    """The traceback without the harness's own frames."""
    te = traceback.TracebackException.from_exception(exc)
    te.stack = traceback.StackSummary.from_list([f for f in te.stack if f.filename != __file__])
    return "".join(te.format())


def failure(type_name, message, stack):
    return json.dumps({"ok": False, "error": {"type": type_name, "message": message, "stack": stack}})


def error_doc(exc, type_name=None, message=None):
    try:
        text = message if message is not None else str(exc)
    except Exception:  # noqa: BLE001 — a broken __str__ must not hide the error
        text = repr(type(exc))
    return failure(type_name or type(exc).__name__, text, user_stack(exc))


def run():
    with open(os.path.join(HERE, "event.json"), "rb") as f:
        event = json.load(f)
    with open(HANDLER_PATH, encoding="utf-8") as f:
        source = f.read()
    module = types.ModuleType("handler")
    module.__file__ = HANDLER_PATH
    sys.modules["handler"] = module
    exec(compile(source, HANDLER_PATH, "exec"), module.__dict__)
    fn = module.__dict__.get("handler")
    if not callable(fn):
        return failure("HandlerNotFound", "the code must define a function `handler(event)` (def or async def)", "")
    result = fn(event)
    if inspect.isawaitable(result):

        async def wait(aw):
            return await aw

        result = asyncio.run(wait(result))
    try:
        encoded = json.dumps(result, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        return failure("ResultNotSerializable", f"the handler's result is not JSON-serialisable: {exc}", "")
    return '{"ok":true,"result":' + encoded + "}"


def main():
    channel = open_channel()
    sys.stdin = open(os.devnull)
    try:
        doc = run()
    except SystemExit as exc:
        doc = error_doc(exc, "SystemExit", f"the handler called sys.exit({exc.code!r})")
    except BaseException as exc:  # noqa: BLE001 — every failure of user code is reported, not raised
        doc = error_doc(exc)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # noqa: BLE001
        pass
    emit(channel, doc)
    # Threads the handler left running do not keep the invocation alive (as on Lambda).
    os._exit(0)


main()
