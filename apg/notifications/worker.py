"""The webhook pass of `flask apg worker` (and `flask apg deliver-webhooks`): fan out new
events, deliver what is due, and note the worker's heartbeat."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import requests

from apg.crypto import SecretBox
from apg.extensions import db
from apg.notifications import delivery
from apg.notifications.delivery import ModeOf, Policy
from apg.notifications.models import WorkerHeartbeat
from apg.settings import WebhookSettings


def policy_of(settings: WebhookSettings, production: bool = False) -> Policy:
    return Policy(
        schedule=tuple(int(s) for s in settings.schedule_seconds),
        timeout=settings.timeout_seconds,
        lease=timedelta(seconds=settings.lease_seconds),
        batch=settings.batch_size,
        public_only=production,
    )


class DeliveryPass:
    """One pass: fan-out, then every due delivery once; returns counts by outcome."""

    def __init__(
        self,
        policy: Policy,
        box: SecretBox,
        clock: Callable[[], datetime],
        mode_of: ModeOf,
        session: requests.Session | None = None,
        jitter: Callable[[], float] = random.random,
        name: str = "worker",
    ) -> None:
        self.policy, self.box, self.clock, self.mode_of = policy, box, clock, mode_of
        self.session = session or requests.Session()
        self.jitter, self.name = jitter, name

    def __call__(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        counts["fanned_out"] = delivery.fan_out(self.clock(), self.mode_of, self.policy.batch)
        for held in delivery.claim(self.clock(), self.policy):
            counts[
                delivery.attempt(held, self.policy, self.box, self.session, self.clock, self.jitter)
            ] += 1
        beat(self.name, self.clock())
        return dict(counts)


def beat(name: str, now: datetime) -> None:
    """The worker `name` finished a pass at `now`."""
    db.session.merge(WorkerHeartbeat(name=name, beat_at=now))
    db.session.commit()
