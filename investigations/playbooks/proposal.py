"""What a playbook check (or a person) wants done: a ``Proposal`` becomes an ``Action`` through ``action_propose``."""

from dataclasses import dataclass, field


@dataclass
class Proposal:
    kind: str  # an ``Action.Kind`` value
    target: str
    reason: str
    parameters: dict = field(default_factory=dict)
    check_key: str = ""
