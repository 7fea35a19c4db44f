"""How a settings dataclass documents and checks its fields.

A settings dataclass (:class:`ganscope.generators.train.TrainConfig`,
:class:`ganscope.study.StudySettings`, ...) documents each field once, in the ``Attributes:``
section of its Google-style docstring; :func:`attribute_help` reads that text back, so the command
line's ``--field-name`` help and the API docs are the same sentence. Layer 0: imports nothing of
ganscope's but its errors.
"""

from __future__ import annotations

import inspect

from ganscope.errors import GanscopeError

__all__ = ["attribute_help", "positive"]


def attribute_help(cls: type) -> dict[str, str]:
    """The text of each entry of the ``Attributes:`` section of ``cls``'s docstring, by name.

    An entry ``a, b: text`` documents both fields; indented lines below an entry continue it.

    Example:
        >>> class Toy:
        ...     '''A toy.
        ...
        ...     Attributes:
        ...         size: image side,
        ...             in pixels.
        ...     '''
        >>> attribute_help(Toy)
        {'size': 'image side, in pixels.'}
    """
    out: dict[str, str] = {}
    doc = inspect.getdoc(cls)
    inside, name = False, ""
    for line in doc.splitlines() if doc else []:
        if line.strip() == "Attributes:":
            inside = True
        elif inside and line.startswith("    ") and not line.startswith("        "):
            names, _, text = line.strip().partition(": ")
            for n in names.split(", "):
                out[n] = text
            name = names
        elif inside and line.startswith("        ") and name:
            for n in name.split(", "):
                out[n] += " " + line.strip()
        elif inside and line.strip():
            break
    return out


def positive(value: int | None, option: str, *, minimum: int = 1) -> None:
    """Refuse ``value < minimum`` with one line naming ``option`` (``None`` means unset).

    Raises:
        GanscopeError: ``"--n must be at least 8, not 3"``.
    """
    if value is not None and value < minimum:
        raise GanscopeError(f"{option} must be at least {minimum}, not {value}")
