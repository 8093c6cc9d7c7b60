"""What the tenants' settings tell the rest of the core, without importing it.

A receiver connects at import (``@component_scheduled.connect``) and runs in the
sender's call and transaction, in the order connected; an exception in it propagates to
the sender, so the settings change is not committed without its consequences. The app
imports every receiver's module when it starts (core/app.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Receiver = Callable[..., Any]


class Signal:
    def __init__(self, name: str) -> None:
        self.name = name
        self.receivers: list[Receiver] = []

    def connect(self, receiver: Receiver) -> Receiver:
        if receiver not in self.receivers:
            self.receivers.append(receiver)
        return receiver

    def send(self, sender: Any = None, **kwargs: Any) -> list[Any]:
        return [receiver(sender, **kwargs) for receiver in list(self.receivers)]


# A component was chosen for a tenant from a date (or its settings changed): sent by
# core.tenants.services.update_settings with kind, key, settings and effective_from, in
# the current tenant's context. Scoring marks the months from then on stale
# (core/scoring/stale.py).
component_scheduled = Signal("component_scheduled")
