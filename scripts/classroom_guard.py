"""The kernel side of grading: run a lesson's checks with the library the lesson was written against.

The grader sends this file's source to each grading kernel before the first
cell of the submission runs, then calls ``install``. From then on the checks do
not go through IPython's ``run_cell`` (so input and AST transformers a student
registers never see them): the grader evaluates ``<module>.run(...)`` as a user
expression, which IPython evaluates directly. Before each check, ``run``

- puts back every function of the watched modules (``math``, ``torch``,
  ``numpy``, ...) and of ``torch.Tensor`` that was reassigned, and the watched
  modules themselves in ``sys.modules``;
- runs the check in a copy of the student's namespace where names that shadow a
  builtin or alias a watched module (``abs``, ``np``, ``torch``, ...) are the
  originals, with the original builtins;
- captures what the check prints and keeps the hidden part's output and
  message apart, for the teacher only.

Its answer carries a token only this module holds, so a stray print cannot pass
for it. Everything it put back or found (transformers, redefinitions) comes
back as flags for the teacher. This narrows what a student can do from inside
the kernel; it is no proof against code written to find and rewrite the grader
itself, which the static flags (``classroom_flags``) point the teacher to.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import io
import json
import sys
import types
from typing import Any

WATCHED = ("builtins", "math", "cmath", "operator", "numpy", "numpy.testing", "torch", "torch.testing",
           "torch.nn", "torch.nn.functional")
ALIASES = {
    "math": "math",
    "cmath": "cmath",
    "operator": "operator",
    "np": "numpy",
    "numpy": "numpy",
    "torch": "torch",
    "nn": "torch.nn",
    "F": "torch.nn.functional",
}
WATCHED_CLASSES = (("torch", "Tensor"),)
# IPython and ipykernel swap these builtins around every execution themselves.
KERNEL_MANAGED = {"input", "raw_input", "get_ipython", "display", "exit", "quit", "help", "getpass"}
_MISSING = object()


class Guard:
    """Holds the originals taken before any student code ran, and runs checks against them."""

    def __init__(self, token: str, preload: list[str]) -> None:
        self._token = token
        for name in preload:
            with contextlib.suppress(ImportError):
                importlib.import_module(name)
        self._builtins = dict(builtins.__dict__)
        shell = _shell()
        # IPython's own stand-ins for a few builtins (exit, quit, open) are not the student's doing.
        user_ns = shell.user_ns if shell is not None else {}
        self._own = {name: value for name, value in user_ns.items() if name in self._builtins}
        self._modules = {name: sys.modules[name] for name in WATCHED if name in sys.modules}
        self._functions = {name: {k: v for k, v in vars(module).items()
                                  if callable(v) and not (name == "builtins" and k in KERNEL_MANAGED)}
                           for name, module in self._modules.items()}
        self._classes = {}
        for module_name, class_name in WATCHED_CLASSES:
            cls = getattr(self._modules.get(module_name), class_name, None)
            if isinstance(cls, type):
                self._classes[(module_name, class_name)] = (cls, dict(vars(cls)))
        self._transformers = _transformer_state(shell) if shell is not None else None

    def restore(self) -> list[str]:
        """Put every watched module, function and method back; say what had been changed."""
        flags = []
        for name, module in self._modules.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module
                flags.append(f"sys.modules[{name!r}] was replaced")
            for attr, original in self._functions[name].items():
                if vars(module).get(attr, _MISSING) is not original:
                    setattr(module, attr, original)
                    flags.append(f"{name}.{attr} was reassigned")
        for (module_name, class_name), (cls, original) in self._classes.items():
            for attr in [a for a in vars(cls) if a not in original]:
                with contextlib.suppress(AttributeError, TypeError):
                    delattr(cls, attr)
                    flags.append(f"{module_name}.{class_name}.{attr} was added")
            for attr, value in original.items():
                if vars(cls).get(attr, _MISSING) is not value:
                    with contextlib.suppress(AttributeError, TypeError):
                        setattr(cls, attr, value)
                        flags.append(f"{module_name}.{class_name}.{attr} was reassigned")
        shell = _shell()
        if (
            shell is not None
            and self._transformers is not None
            and _transformer_state(shell) != self._transformers
        ):
            flags.append("IPython input or AST transformers were changed")
        return flags

    def namespace(self, user_ns: dict) -> tuple[dict, list[str]]:
        """A copy of ``user_ns`` with original builtins and modules in place of the student's."""
        ns = dict(user_ns)
        flags = []
        for name, value in list(ns.items()):
            if name in self._own and value is self._own[name]:
                continue
            if name in self._builtins and not name.startswith("__") and value is not self._builtins[name]:
                del ns[name]
                flags.append(f"the builtin {name!r} was redefined")
            elif (
                name in ALIASES
                and ALIASES[name] in self._modules
                and value is not self._modules[ALIASES[name]]
                and (isinstance(value, types.ModuleType) or name in ("math", "torch", "numpy", "np"))
            ):
                ns[name] = self._modules[ALIASES[name]]
                flags.append(f"the name {name!r} no longer held the {ALIASES[name]} module")
        ns["__builtins__"] = dict(self._builtins)
        return ns, flags

    def run(self, visible: str, hidden: str) -> str:
        """Run a check's visible then hidden code; a JSON answer with outcome, printed text and flags."""
        flags = self.restore()
        shell = _shell()
        user_ns = shell.user_ns if shell is not None else sys.modules["__main__"].__dict__
        ns, more = self.namespace(user_ns)
        flags += more
        before = set(ns)
        answer: dict[str, Any] = {"token": self._token, "flags": flags}
        for part, code in (("visible", visible), ("hidden", hidden)):
            answer[part] = self._execute(code, ns, part)
            if not answer[part]["ok"]:
                break
        for name in set(ns) - before:
            user_ns.setdefault(name, ns[name])
        return json.dumps(answer)

    def _execute(self, code: str, ns: dict, part: str) -> dict:
        out = io.StringIO()
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = out
        try:
            exec(compile(code, f"<{part} check>", "exec"), ns)
        except BaseException as error:  # a check may fail any way the student's objects make it
            return {
                "ok": False,
                "error": f"{type(error).__name__}: {error}"[:500],
                "printed": out.getvalue()[-2000:],
            }
        finally:
            sys.stdout, sys.stderr = saved
        return {"ok": True, "error": "", "printed": out.getvalue()[-2000:]}


def _shell():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _transformer_state(shell: object) -> tuple:
    manager = getattr(shell, "input_transformer_manager", None)
    return (tuple(map(id, getattr(shell, "input_transformers_cleanup", []))),
            tuple(map(id, getattr(shell, "input_transformers_post", []))),
            tuple(map(id, getattr(manager, "cleanup_transforms", []))),
            tuple(map(id, getattr(manager, "line_transforms", []))),
            tuple(map(id, getattr(manager, "token_transformers", []))),
            tuple(map(id, getattr(shell, "ast_transformers", []))))


def install(module_name: str, token: str, preload: list[str]) -> None:
    """Make a Guard reachable as ``sys.modules[module_name].guard`` (called once, before any student code)."""
    holder = types.ModuleType(module_name)
    holder.__dict__["guard"] = Guard(token, preload)
    sys.modules[module_name] = holder
