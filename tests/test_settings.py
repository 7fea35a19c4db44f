"""How a settings dataclass documents its fields (``Attributes:``) and refuses small values."""

from __future__ import annotations

import dataclasses

import pytest

from ganscope.errors import GanscopeError
from ganscope.settings import attribute_help, positive


@dataclasses.dataclass
class Toy:
    """A toy config.

    Attributes:
        name: what to call it.
        count, depth: two numbers
            with one help.
        loud: shout: ``loud``.

    Example:
        not: an attribute.
    """

    name: str
    count: int = 3
    depth: int = 1
    loud: bool = False


def test_attribute_help_reads_every_entry_and_its_continuation_lines():
    assert attribute_help(Toy) == {
        "name": "what to call it.",
        "count": "two numbers with one help.",
        "depth": "two numbers with one help.",
        "loud": "shout: ``loud``.",
    }  # the next section (Example:) ends the list


def test_attribute_help_of_an_undocumented_class_is_empty():
    class Bare:
        pass

    class NoAttributes:
        """Only a summary.

        Args:
            x: not a field.
        """

    assert attribute_help(Bare) == {} and attribute_help(NoAttributes) == {}


def test_positive_names_the_option_and_lets_unset_pass():
    positive(None, "--bins")
    positive(8, "--n", minimum=8)
    with pytest.raises(GanscopeError, match=r"^--n must be at least 8, not 7$"):
        positive(7, "--n", minimum=8)
    with pytest.raises(GanscopeError, match=r"^--bins must be at least 1, not 0$"):
        positive(0, "--bins")
