"""Switching the recording of graphs off and on: `no_grad`, as in PyTorch.

Every op reads this module's state: while no no_grad block and no compile trace is open in any thread (`paused`
is 0), an op does not even look at `recording`, a context variable (per thread and per asyncio task) that no_grad
switches off, nor at `tracing`, the trace that autodiff.compile runs in this context (guards.py).
"""
import contextlib
import contextvars
import functools
import inspect
import threading

__all__ = ["no_grad", "recording", "recording_on", "tracing"]

recording = contextvars.ContextVar("autodiff_recording", default=True)  # per thread and task: see no_grad
tracing = contextvars.ContextVar("autodiff_tracing", default=None)  # the compile trace of this context, if any
paused = 0  # how many no_grad blocks and traces are open, in any thread: while none is, an op reads neither
lock = threading.Lock()


class no_grad(contextlib.ContextDecorator):
    """Context manager and decorator (`@no_grad` or `@no_grad()`): inside it, ops make plain leaves, no graph.

    One object may be entered from many threads and tasks at once: what it restores is kept per context, not in
    the object. On a generator function it holds while the generator runs, not only while it is created.
    """

    def __new__(cls, func=None):
        self = super().__new__(cls)
        return self if func is None else self(func)  # bare @no_grad: decorate func right away

    def __init__(self, func=None):
        pass

    def __enter__(self):
        global paused
        with lock:
            paused += 1
        _saved.set(_saved.get() + (recording.get(),))
        recording.set(False)
        return self

    def __exit__(self, *exc):
        global paused
        saved = _saved.get()
        recording.set(saved[-1])
        _saved.set(saved[:-1])
        with lock:
            paused -= 1
        return False

    def __call__(self, func):
        if not inspect.isgeneratorfunction(func):
            return super().__call__(func)

        @functools.wraps(func)
        def generator(*args, **kwargs):  # each step of the generator runs inside the block
            gen = func(*args, **kwargs)
            resume, value = gen.send, None
            while True:
                with self:
                    try:
                        item = resume(value)
                    except StopIteration as stop:
                        return stop.value
                try:
                    value, resume = (yield item), gen.send
                except GeneratorExit:
                    gen.close()
                    raise
                except BaseException as thrown:  # noqa: BLE001 (gen.throw(...) reaches the decorated generator)
                    value, resume = thrown, gen.throw
        return generator


_saved = contextvars.ContextVar("autodiff_recording_saved", default=())  # what each open no_grad restores


@contextlib.contextmanager
def recording_on():
    """Switch recording on for a while (grad() needs a graph even when called under no_grad)."""
    token = recording.set(True)
    try:
        yield
    finally:
        recording.reset(token)
