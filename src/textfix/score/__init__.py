"""Character-level language model used to compare repair candidates."""

from textfix.score.model import CharModel, get_model

__all__ = ["CharModel", "get_model"]
