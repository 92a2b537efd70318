"""Signature-preserving decorators for sync and async functions.

``inspect.getfullargspec`` does not follow ``__wrapped__``, so a plain
``functools.wraps`` wrapper would report ``(*args, **kwargs)``. We generate the
wrapper with the wrapped function's own parameter list instead.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Callable, Dict, Optional, Tuple, TypeVar, Union, cast, overload

from . import _lazy

if TYPE_CHECKING:  # pragma: no cover - annotations only
    import inspect
    from contextlib import AbstractContextManager
    from typing import Mapping, Protocol

    from ._decorator_compat import ArgSpec as ArgSpec
    from ._decorator_compat import getargspec as getargspec

    class GeneratedFunction(Protocol):
        """A function compiled from wrapper source: the attributes given to it afterwards."""

        __name__: str
        __qualname__: str
        __doc__: Optional[str]
        __defaults__: Optional[Tuple[object, ...]]
        __kwdefaults__: Optional[Dict[str, object]]
        __annotations__: Dict[str, object]
        __dict__: Dict[str, object]
        __wrapped__: Callable[..., object]

        def __call__(self, *args: object, **kwargs: object) -> object: ...

F = TypeVar("F", bound=Callable[..., object])

# The reference module's other names (it vendors the ``decorator`` library), loaded on first use.
__getattr__, __dir__ = _lazy.install(__name__, {
    "collections": "collections",
    "inspect": "inspect",
    "operator": "operator",
    "re": "re",
    "sys": "sys",
    "print_function": "__future__:print_function",
    "_GeneratorContextManager": "contextlib:_GeneratorContextManager",
    **{n: "._decorator_compat:" + n for n in (
        "ArgSpec", "ContextManager", "DEF", "FunctionMaker", "append", "contextmanager", "dispatch_on", "get_init",
        "getargspec", "init", "n_args",
    )},
})



def getfullargspec(f: Callable[..., object]) -> inspect.FullArgSpec:
    """``inspect.getfullargspec`` (``inspect`` is imported on first use: it is slow to import)."""
    import inspect

    return inspect.getfullargspec(f)


_counter = itertools.count()


def _signature_source(func: Callable[..., object]) -> tuple[str, str]:
    """Parameter list and call arguments reproducing ``func``'s signature."""
    params, call = [], []
    star_done = False
    import inspect

    kinds = inspect.Parameter
    sig = inspect.signature(func, follow_wrapped=False)
    last_posonly = None
    for p in sig.parameters.values():
        if p.kind is kinds.POSITIONAL_ONLY:
            last_posonly = p.name
    for p in sig.parameters.values():
        if p.kind is kinds.VAR_POSITIONAL:
            params.append("*" + p.name)
            call.append("*" + p.name)
            star_done = True
        elif p.kind is kinds.VAR_KEYWORD:
            params.append("**" + p.name)
            call.append("**" + p.name)
        elif p.kind is kinds.KEYWORD_ONLY:
            if not star_done:
                params.append("*")
                star_done = True
            params.append(p.name)
            call.append(f"{p.name}={p.name}")
        else:
            params.append(p.name)
            call.append(p.name)
            if p.name == last_posonly:
                params.append("/")
    return ", ".join(params), ", ".join(call)


def decorate(func: F, caller: Callable[..., object]) -> F:
    """The reference ``decorate``: ``func`` with its own signature, each call going through
    ``caller(func, *args, **kwargs)``."""
    return decorator(caller)(func)


def _decorate_in_context(func: F, caller: Callable[[], AbstractContextManager[object]]) -> F:
    """Wrap ``func`` so every call runs inside a fresh ``caller()`` context manager.

    Works for ``async def`` functions too: the context then spans the awaited call.
    """
    import inspect

    params, call = _signature_source(func)
    reserved = {"_func_", "_caller_"}
    name = func.__name__ if func.__name__.isidentifier() and func.__name__ not in reserved else "_decorated"
    if reserved & set(inspect.signature(func, follow_wrapped=False).parameters):
        raise ValueError(f"cannot decorate {func!r}: it uses a reserved parameter name")
    if inspect.iscoroutinefunction(func):
        src = (
            f"async def {name}({params}):\n"
            f"    with _caller_():\n"
            f"        return await _func_({call})\n"
        )
    else:
        src = f"def {name}({params}):\n    with _caller_():\n        return _func_({call})\n"
    namespace: Dict[str, object] = {"_func_": func, "_caller_": caller}
    code = compile(src, f"<prometheus_client.decorator {next(_counter)}>", "exec")
    exec(code, namespace)
    return _finish(namespace[name], func)


def _finish(generated: object, func: F) -> F:
    """Copy ``func``'s defaults, names, docs, annotations and attributes onto ``generated`` (the
    function the wrapper source defined)."""
    wrapper = cast("GeneratedFunction", generated)
    wrapper.__defaults__ = func.__defaults__
    wrapper.__kwdefaults__ = getattr(func, "__kwdefaults__", None)
    wrapper.__name__ = func.__name__
    wrapper.__qualname__ = getattr(func, "__qualname__", func.__name__)
    wrapper.__doc__ = func.__doc__
    wrapper.__module__ = getattr(func, "__module__", wrapper.__module__)  # None if func has none
    wrapper.__annotations__ = dict(getattr(func, "__annotations__", {}))
    wrapper.__dict__.update(getattr(func, "__dict__", {}))
    wrapper.__wrapped__ = func
    return cast(F, wrapper)


# Names the inline wrappers below use; a function with a parameter (or a name) among these
# gets the generic wrapper instead.
_INLINE_NAMES = frozenset((
    "_pc_func_", "_pc_target_", "_pc_clock_", "_pc_start_", "_pc_d_", "_pc_e_", "_pc_exc_",
    "_func_", "_caller_", "BaseException", "isinstance",
))


def decorate_inline(func: F, enter: str, exit_ok: str, exit_exc: str, namespace: Mapping[str, object]) -> Optional[F]:
    """Like ``_decorate_in_context``, but the context manager's work is inlined into the generated wrapper
    (no context-manager object, no ``with``, no extra frame per call): a decorated call costs
    about a third of a ``with`` block. ``enter`` runs before the call, ``exit_ok`` after it
    returns or raises (in ``finally``), ``exit_exc`` when it raises (before re-raising); each
    is one line of source (or empty) using the names in ``namespace`` (from ``_INLINE_NAMES``).
    Returns None when ``func``'s parameters clash with those names (use ``_decorate_in_context``).
    """
    import inspect

    params_in = inspect.signature(func, follow_wrapped=False).parameters
    if _INLINE_NAMES.intersection(params_in):
        return None
    params, call = _signature_source(func)
    name = func.__name__ if func.__name__.isidentifier() and func.__name__ not in _INLINE_NAMES else "_decorated"
    is_async = inspect.iscoroutinefunction(func)
    body = [f"    {enter}"] if enter else []
    body += ["    try:", f"        return {'await ' if is_async else ''}_pc_func_({call})"]
    if exit_exc:
        body += ["    except BaseException as _pc_e_:", f"        {exit_exc}", "        raise"]
    if exit_ok:
        body += ["    finally:", f"        {exit_ok}"]
    src = f"{'async ' if is_async else ''}def {name}({params}):\n" + "\n".join(body) + "\n"
    ns: Dict[str, object] = dict(namespace, _pc_func_=func)
    exec(compile(src, f"<prometheus_client.decorator {next(_counter)}>", "exec"), ns)
    return _finish(ns[name], func)


@overload
def decorator(caller: Callable[..., object]) -> Callable[[F], F]: ...
@overload
def decorator(caller: Callable[..., object], _func: F) -> F: ...
def decorator(caller: Callable[..., object], _func: Optional[F] = None) -> Union[Callable[[F], F], F]:
    """``decorator(caller)`` turns ``caller(func, *args, **kw)`` into a decorator."""

    def make(func: F) -> F:
        params, call = _signature_source(func)
        name = func.__name__ if func.__name__.isidentifier() else "_decorated"
        src = f"def {name}({params}):\n    return _caller_(_func_, {call})\n"
        namespace: Dict[str, object] = {"_func_": func, "_caller_": caller}
        exec(compile(src, f"<prometheus_client.decorator {next(_counter)}>", "exec"), namespace)
        wrapper = cast("GeneratedFunction", namespace[name])
        wrapper.__defaults__ = func.__defaults__
        wrapper.__kwdefaults__ = getattr(func, "__kwdefaults__", None)
        wrapper.__qualname__ = getattr(func, "__qualname__", func.__name__)
        wrapper.__doc__ = func.__doc__
        wrapper.__module__ = getattr(func, "__module__", wrapper.__module__)  # None if func has none
        wrapper.__wrapped__ = func
        return cast(F, wrapper)

    if _func is not None:
        return make(_func)
    return make
