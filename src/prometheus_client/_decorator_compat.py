"""The rest of the reference ``decorator`` module (a vendored copy of the ``decorator``
library): ``FunctionMaker``, ``ContextManager``/``contextmanager``, ``dispatch_on``/``append``,
``get_init``, ``DEF``. ``prometheus_client.decorator`` offers them lazily; the library's own
instrumentation does not use them.
"""

from __future__ import annotations

import inspect
import itertools
import operator
import re
import sys
from contextlib import _GeneratorContextManager
from typing import (
    TYPE_CHECKING,
    Callable,
    Dict,
    Generator,
    List,
    NamedTuple,
    Optional,
    Sequence,
    Set,
    Tuple,
    Union,
    cast,
)

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from .decorator import F, GeneratedFunction

# A ``def name(`` at the start of a function template.
DEF = re.compile(r"\s*def\s*([_\w][_\w\d]*)\s*\(")


class ArgSpec(NamedTuple):
    args: List[str]
    varargs: Optional[str]
    varkw: Optional[str]
    defaults: Optional[Tuple[object, ...]]


def getargspec(f: Callable[..., object]) -> ArgSpec:
    """The legacy 4-tuple ``(args, varargs, varkw, defaults)`` of ``f``."""
    spec = inspect.getfullargspec(f)
    return ArgSpec(spec.args, spec.varargs, spec.varkw, spec.defaults)


def get_init(cls: type) -> Callable[..., None]:
    return cls.__init__  # type: ignore[misc,no-any-return]


class FunctionMaker:
    """Builds functions with a given name and signature from source templates.

    From a function: ``name``, ``doc``, ``module``, ``dict``, ``annotations``, the argspec
    fields (``args``, ``varargs``, ``varkw``, ``defaults``, ``kwonlyargs``,
    ``kwonlydefaults``, ``arg0``, ``arg1``, ...), ``signature`` (parameters, keyword-only
    ones as ``name=None``) and ``shortsignature`` (the matching call arguments). Explicit
    ``name``/``signature``/``defaults``/``doc``/``module``/``funcdict`` override them.
    """

    _compile_count = itertools.count()

    def __init__(
        self,
        func: Optional[Callable[..., object]] = None,
        name: Optional[str] = None,
        signature: Optional[str] = None,
        defaults: Optional[Tuple[object, ...]] = None,
        doc: Optional[str] = None,
        module: Optional[str] = None,
        funcdict: Optional[Dict[str, object]] = None,
    ) -> None:
        self.shortsignature = signature
        if func:
            self.name = "_lambda_" if func.__name__ == "<lambda>" else func.__name__
            self.doc = func.__doc__
            self.module = func.__module__
            if inspect.isfunction(func):
                spec = inspect.getfullargspec(func)
                self.annotations = getattr(func, "__annotations__", {})
                self.args: List[str] = spec.args
                self.varargs = spec.varargs
                self.varkw = spec.varkw
                self.defaults = spec.defaults
                self.kwonlyargs = spec.kwonlyargs
                self.kwonlydefaults = spec.kwonlydefaults
                for i, arg in enumerate(self.args):
                    setattr(self, f"arg{i}", arg)
                params = list(self.args)
                call = list(self.args)
                if self.varargs:
                    params.append("*" + self.varargs)
                    call.append("*" + self.varargs)
                elif self.kwonlyargs:
                    params.append("*")
                params.extend(f"{a}=None" for a in self.kwonlyargs)
                call.extend(f"{a}={a}" for a in self.kwonlyargs)
                if self.varkw:
                    params.append("**" + self.varkw)
                    call.append("**" + self.varkw)
                self.signature = ", ".join(params)
                self.shortsignature = ", ".join(call)
                self.dict = func.__dict__.copy()
        if name:
            self.name = name
        if signature is not None:
            self.signature = signature
        if defaults:
            self.defaults = defaults
        if doc:
            self.doc = doc
        if module:
            self.module = module
        if funcdict:
            self.dict = funcdict
        assert hasattr(self, "name")
        if not hasattr(self, "signature"):
            raise TypeError(f"You are decorating a non function: {func}")

    def update(self, func: GeneratedFunction, **kw: object) -> None:
        """Give ``func`` this maker's name, doc, dict, defaults, annotations and module."""
        func.__name__ = self.name
        func.__doc__ = getattr(self, "doc", None)
        func.__dict__ = getattr(self, "dict", {})
        func.__defaults__ = getattr(self, "defaults", ())
        func.__kwdefaults__ = getattr(self, "kwonlydefaults", None)
        annotations = getattr(self, "annotations", None)
        if annotations is not None:  # (a generated function's own are empty already)
            func.__annotations__ = annotations
        try:
            caller_module = sys._getframe(3).f_globals.get("__name__", "?")
        except (AttributeError, ValueError):  # pragma: no cover - no frames / shallow stack
            caller_module = "?"
        func.__module__ = getattr(self, "module", caller_module)
        func.__dict__.update(kw)

    def make(
        self, src_templ: str, evaldict: Optional[Dict[str, object]] = None, addsource: bool = False, **attrs: object
    ) -> GeneratedFunction:
        """Compile ``src_templ % vars(self)`` and return the function it defines, updated."""
        src = src_templ % vars(self)
        namespace = evaldict or {}
        m = DEF.match(src)
        if m is None:
            raise SyntaxError("not a valid function template\n" + src)
        name = m.group(1)
        for n in {name, *(a.strip(" *") for a in (self.shortsignature or "").split(","))}:
            if n in ("_func_", "_call_"):
                raise NameError(f"{n} is overridden in\n{src}")
        if not src.endswith("\n"):
            src += "\n"
        filename = f"<decorator-gen-{next(self._compile_count)}>"
        try:
            exec(compile(src, filename, "single"), namespace)
        except BaseException:
            print("Error in generated code:", file=sys.stderr)
            print(src, file=sys.stderr)
            raise
        func = cast("GeneratedFunction", namespace[name])
        if addsource:
            attrs["__source__"] = src
        self.update(func, **attrs)
        return func

    @classmethod
    def create(
        cls,
        obj: Union[str, Callable[..., object]],
        body: str,
        evaldict: Dict[str, object],
        defaults: Optional[Tuple[object, ...]] = None,
        doc: Optional[str] = None,
        module: Optional[str] = None,
        addsource: bool = True,
        **attrs: object,
    ) -> GeneratedFunction:
        """A function from ``"name(signature)"`` (or a function to copy) and a body."""
        if isinstance(obj, str):
            name, rest = obj.strip().split("(", 1)
            self = cls(None, name, rest[:-1], defaults, doc, module)
        else:
            self = cls(obj, None, None, defaults, doc, module)
        indented = "\n".join("    " + line for line in body.splitlines())
        return self.make("def %(name)s(%(signature)s):\n" + indented, evaldict, addsource, **attrs)


if TYPE_CHECKING:  # pragma: no cover - the class is not subscriptable at runtime on 3.9
    _GeneratorBase = _GeneratorContextManager[object]
else:
    _GeneratorBase = _GeneratorContextManager


class ContextManager(_GeneratorBase):
    """A generator-based context manager that also works as a function decorator."""

    def __init__(self, g: Callable[..., Generator[object, None, None]], *a: object, **k: object) -> None:
        _GeneratorContextManager.__init__(self, g, a, k)

    def __call__(self, func: F) -> F:
        return cast("F", FunctionMaker.create(
            func, "with _self_: return _func_(%(shortsignature)s)", dict(_self_=self, _func_=func), __wrapped__=func
        ))


init = inspect.getfullargspec(_GeneratorContextManager.__init__)
n_args = len(init.args)


def contextmanager(g: Callable[..., Generator[object, None, None]], *a: object, **k: object) -> GeneratedFunction:
    """``contextmanager(genfunc)``: a factory with ``genfunc``'s signature returning
    ``ContextManager`` objects (usable in ``with`` and as decorators)."""
    return FunctionMaker.create(
        g, "return _call_(_func_, %(shortsignature)s)", dict(_call_=ContextManager, _func_=g), __wrapped__=g
    )


contextmanager.__doc__ = (
    "decorator(ContextManager) converts functions/generators into factories of ContextManager objects"
)


def append(a: type, vancestors: List[type]) -> None:
    """Add ``a`` to the virtual ancestors unless one of them is already a subclass of it; a
    listed ancestor that ``a`` subclasses is replaced by ``a``."""
    add = True
    for j, va in enumerate(vancestors):
        if issubclass(va, a):
            add = False
            break
        if issubclass(a, va):
            vancestors[j] = a
            add = False
    if add:
        vancestors.append(a)


def dispatch_on(*dispatch_args: str) -> Callable[[Callable[..., object]], GeneratedFunction]:
    """A decorator making a function generic on the types of the named arguments
    (``.register(*types)``, ``.dispatch_info(*types)``, ``.typemap``, ``.default``)."""
    assert dispatch_args, "No dispatch args passed"
    dispatch_str = "(%s,)" % ", ".join(dispatch_args)
    width = len(dispatch_args)

    def check(arguments: Sequence[object], wrong: Callable[[int, int], bool] = operator.ne, msg: str = "") -> None:
        if wrong(len(arguments), width):
            raise TypeError("Expected %d arguments, got %d%s" % (width, len(arguments), msg))

    def gen_func_dec(func: Callable[..., object]) -> GeneratedFunction:
        if not set(dispatch_args) <= set(inspect.getfullargspec(func).args):
            raise NameError("Unknown dispatch arguments " + dispatch_str)
        typemap: Dict[Tuple[type, ...], Callable[..., object]] = {}

        def vancestors(*types: type) -> List[Set[type]]:
            check(types)
            found: List[List[type]] = [[] for _ in range(width)]
            for registered in typemap:
                for t, rt, acc in zip(types, registered, found):
                    if issubclass(t, rt) and rt not in t.__mro__:
                        append(rt, acc)
            return [set(acc) for acc in found]

        def ancestors(*types: type) -> List[Tuple[type, ...]]:
            check(types)
            out = []
            for t, vas in zip(types, vancestors(*types)):
                if len(vas) > 1:
                    raise RuntimeError(f"Ambiguous dispatch for {t}: {vas}")
                if len(vas) == 1:
                    (va,) = vas
                    mro = type("t", (t, va), {}).__mro__[1:]
                else:
                    mro = t.__mro__
                out.append(mro[:-1])
            return out

        def register(*types: type) -> Callable[[Callable[..., object]], Callable[..., object]]:
            check(types)

            def dec(f: Callable[..., object]) -> Callable[..., object]:
                check(inspect.getfullargspec(f).args, operator.lt, " in " + f.__name__)
                typemap[types] = f
                return f

            return dec

        def dispatch_info(*types: type) -> List[Tuple[str, ...]]:
            check(types)
            return [tuple(a.__name__ for a in combo) for combo in itertools.product(*ancestors(*types))]

        def _dispatch(dispatch_values: Tuple[object, ...], *args: object, **kw: object) -> object:
            types = tuple(type(v) for v in dispatch_values)
            f = typemap.get(types)
            if f is not None:
                return f(*args, **kw)
            combos = itertools.product(*ancestors(*types))
            next(combos)  # the exact types, tried above
            for combo in combos:
                f = typemap.get(combo)
                if f is not None:
                    return f(*args, **kw)
            return func(*args, **kw)

        return FunctionMaker.create(
            func,
            "return _f_(%s, %%(shortsignature)s)" % dispatch_str,
            dict(_f_=_dispatch),
            register=register,
            default=func,
            typemap=typemap,
            vancestors=vancestors,
            ancestors=ancestors,
            dispatch_info=dispatch_info,
            __wrapped__=func,
        )

    gen_func_dec.__name__ = "dispatch_on" + dispatch_str
    return gen_func_dec
