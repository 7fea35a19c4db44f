"""Name → class registries (upsamplers, generator families, detectors).

timm-style: adding a model is writing one class and decorating it; tests parametrized over the
registry test it the day it is added. Unlike timm, registering a name twice is an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ganscope.errors import GanscopeError

T = TypeVar("T", bound=type)


class Registry(dict[str, type]):
    """A ``dict`` of registered classes with a decorator and a checked lookup.

    Example:
        >>> LAYERS = Registry("layer")
        >>> @LAYERS.register("identity")
        ... class Identity:
        ...     pass
        >>> LAYERS.get_class("identity").registry_name
        'identity'
    """

    def __init__(self, kind: str, *, attr: str = "registry_name") -> None:
        super().__init__()
        self.kind = kind
        self.attr = attr

    def register(self, name: str) -> Callable[[T], T]:
        """Class decorator adding ``cls`` under ``name`` and setting ``cls.<attr>`` to ``name``.

        Raises:
            ValueError: ``name`` is already registered (a programming error, not user input).
        """

        def deco(cls: T) -> T:
            if name in self:
                raise ValueError(
                    f"{self.kind} {name!r} is already registered (by {self[name].__name__})"
                )
            self[name] = cls
            setattr(cls, self.attr, name)
            return cls

        return deco

    def get_class(self, name: str) -> type:
        """The class registered as ``name``; an unknown name is the user's error (exit 2)."""
        try:
            return self[name]
        except KeyError:
            raise GanscopeError(
                f"unknown {self.kind} {name!r}; registered: {', '.join(self)}"
            ) from None

    def create(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Instantiate the class registered as ``name``."""
        return self.get_class(name)(*args, **kwargs)
