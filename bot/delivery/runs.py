"""What a delivery run did: a small record of its own, so a poll that delivers nothing (an idle
`check --once`) reports it without loading the outbox's delivery machinery."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DeliveryRun"]


@dataclass(slots=True)
class DeliveryRun:
    delivered: int = 0
    failed: int = 0  # will be retried
    dead: int = 0
    disabled: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: "DeliveryRun") -> None:
        self.delivered += other.delivered
        self.failed += other.failed
        self.dead += other.dead
        self.disabled += other.disabled
        self.errors.extend(other.errors)
