"""Typed, validated detector parameters.

Each detector declares its parameters as a list of ``Param`` objects (name, type, default,
bounds, help text). ``ParamSchema.clean`` turns an admin's input (the policy form, the API,
a stored JSON object) into a complete dict of typed values, or raises ``ValidationError``
naming every bad field, so a policy never holds a value its detector cannot use.
"""

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError


@dataclass(frozen=True)
class Param:
    """One parameter. ``kind`` is ``int``, ``float``, ``bool``, ``list`` (of strings) or ``choice``."""

    name: str
    kind: str
    default: Any
    label: str
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    def clean(self, value: Any) -> Any:
        if self.kind == "choice":
            if value not in self.choices:
                raise ValidationError(f"{self.label}: choose one of {', '.join(self.choices)}.")
            return value
        if self.kind == "bool":
            return self._clean_bool(value)
        if self.kind == "list":
            return self._clean_list(value)
        return self._clean_number(value)

    def _clean_bool(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"true", "1", "yes", "on"}:
            return True
        if isinstance(value, str) and value.strip().lower() in {"false", "0", "no", "off", ""}:
            return False
        raise ValidationError(f"{self.label}: expected true or false.")

    def _clean_list(self, value: Any) -> list[str]:
        if isinstance(value, str):
            value = [item for line in value.splitlines() for item in line.split(",")]
        if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
            raise ValidationError(f"{self.label}: expected a list of words.")
        items = [item.strip() for item in value if item.strip()]
        if any(len(item) > 200 for item in items) or len(items) > 500:
            raise ValidationError(f"{self.label}: at most 500 entries of 200 characters.")
        return list(dict.fromkeys(items))

    def _clean_number(self, value: Any) -> int | float:
        if isinstance(value, bool):
            raise ValidationError(f"{self.label}: expected a number.")
        try:
            number = float(value) if self.kind == "float" else int(str(value).strip())
        except (TypeError, ValueError):
            kind = "a whole number" if self.kind == "int" else "a number"
            raise ValidationError(f"{self.label}: expected {kind}, got {value!r}.")
        if number != number or number in (float("inf"), float("-inf")):  # NaN or infinite
            raise ValidationError(f"{self.label}: expected a finite number.")
        if self.minimum is not None and number < self.minimum:
            raise ValidationError(f"{self.label}: must be at least {self.minimum:g}.")
        if self.maximum is not None and number > self.maximum:
            raise ValidationError(f"{self.label}: must be at most {self.maximum:g}.")
        return number


FOLD_WINDOW = Param(
    "fold_window_hours",
    "int",
    24,
    "Fold window (hours)",
    "Repeats for the same identity within this many hours join the open alert instead of raising a new one.",
    minimum=1,
    maximum=24 * 30,
)


@dataclass(frozen=True)
class ParamSchema:
    params: tuple[Param, ...] = field(default_factory=tuple)

    def __post_init__(self):
        object.__setattr__(self, "params", (*self.params, FOLD_WINDOW))

    def __iter__(self):
        return iter(self.params)

    def defaults(self) -> dict[str, Any]:
        return {param.name: param.default for param in self.params}

    def clean(self, values: dict[str, Any] | None, *, partial: bool = True) -> dict[str, Any]:
        """A complete, typed parameter dict. Missing keys take their default when ``partial``."""
        if values is None:
            values = {}
        if not isinstance(values, dict):
            raise ValidationError("Parameters must be an object of name: value.")
        known = {param.name: param for param in self.params}
        errors = [f"Unknown parameter {name!r}." for name in values if name not in known]
        cleaned: dict[str, Any] = {}
        for name, param in known.items():
            if name not in values:
                if not partial:
                    errors.append(f"{param.label}: required.")
                cleaned[name] = param.default
                continue
            try:
                cleaned[name] = param.clean(values[name])
            except ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise ValidationError(errors)
        return cleaned
