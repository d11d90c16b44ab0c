"""The console's activity chart: payments per minute and success rate over a window, by product
and tenant, counted by the database in time buckets and drawn as inline SVG on the server (no
JavaScript, nothing to load: the page's CSP allows none)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import Integer, cast, func, literal_column, select

from apg.extensions import db
from apg.ops.stats import ALL_STATUSES, DECIDED
from apg.payments.lifecycle import PaymentStatus
from apg.payments.models import PaymentTransaction as P

MAX_BUCKETS = 60  # a bar per bucket: wider windows get longer buckets, never more bars
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 240, 48, 48, 16, 32


@dataclass(frozen=True)
class Bucket:
    start: datetime
    minutes: int
    total: int = 0
    completed: int = 0
    decided: int = 0

    @property
    def per_minute(self) -> float:
        return round(self.total / self.minutes, 2)

    @property
    def success_rate(self) -> float | None:
        """Completed / decided (completed, failed, cancelled, timeout…); None when none were."""
        return round(self.completed / self.decided, 4) if self.decided else None


@dataclass(frozen=True)
class Activity:
    since: datetime
    bucket_minutes: int
    buckets: list[Bucket]


def activity(
    now: datetime, minutes: int, *, product: str | None = None, tenant: str | None = None
) -> Activity:
    """Operations created in the last `minutes`, counted per bucket and status by the database
    (at most MAX_BUCKETS * statuses rows come back, however busy the window)."""
    bucket_minutes = math.ceil(minutes / MAX_BUCKETS)
    since = now - timedelta(minutes=minutes)
    bucket = _bucket_of(int(since.timestamp()), bucket_minutes * 60).label("bucket")
    query = (
        select(bucket, P.status, func.count())
        .where(P.status.in_(ALL_STATUSES), P.created_at >= since, P.created_at <= now)
        .group_by(bucket, P.status)
    )
    if product:
        query = query.where(P.transaction_type == product)
    if tenant:
        query = query.where(P.tenant_id == tenant)
    count = math.ceil(minutes / bucket_minutes)
    counts: list[dict[str, int]] = [{} for _ in range(count)]
    for index, status, n in db.session.execute(query):
        into = counts[min(int(index), count - 1)]  # `now` itself ends the last bucket
        into[status] = into.get(status, 0) + n
    step = timedelta(minutes=bucket_minutes)
    buckets = [
        Bucket(
            start=since + step * i,
            minutes=bucket_minutes,
            total=sum(found.values()),
            completed=found.get(PaymentStatus.COMPLETED.value, 0),
            decided=sum(n for status, n in found.items() if status in DECIDED),
        )
        for i, found in enumerate(counts)
    ]
    return Activity(since, bucket_minutes, buckets)


def _bucket_of(since_epoch: int, seconds: int) -> Any:
    """The bucket index of created_at: whole seconds since `since_epoch` over `seconds`, in
    each dialect's own words (created_at holds naive UTC on both). The integers are ours,
    inlined: PostgreSQL would not match a GROUP BY whose bound parameters differ from the
    SELECT's."""
    since: Any = literal_column(str(since_epoch))
    size: Any = literal_column(str(seconds))
    if db.engine.dialect.name == "sqlite":
        return (cast(func.strftime("%s", P.created_at), Integer) - since) / size
    return func.floor((func.extract("epoch", P.created_at) - since) / size)


def svg(chart: Activity) -> Markup:
    """Bars: payments per minute (left axis); line and dots: success rate (right axis, %)."""
    buckets = chart.buckets
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top_rate = max((b.per_minute for b in buckets), default=0) or 1
    slot = plot_w / max(len(buckets), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        ' aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">',
        '<title id="chart-title">Payments per minute and success rate</title>',
        f'<desc id="chart-desc">{escape(_describe(chart))}</desc>',
        *_axes(top_rate, plot_w, plot_h),
    ]
    points = []
    for i, b in enumerate(buckets):
        x = LEFT + i * slot
        height = plot_h * b.per_minute / top_rate
        parts.append(
            f'<rect class="bar" x="{x + slot * 0.1:.1f}" y="{TOP + plot_h - height:.1f}"'
            f' width="{slot * 0.8:.1f}" height="{height:.1f}"/>'
        )
        if b.success_rate is not None:
            points.append((x + slot / 2, TOP + plot_h * (1 - b.success_rate)))
    if points:
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline class="rate" points="{line}"/>')
        parts += [f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3"/>' for x, y in points]
    parts.append("</svg>")
    return Markup("".join(parts))


def _axes(top_rate: float, plot_w: float, plot_h: float) -> list[str]:
    bottom, right = TOP + plot_h, LEFT + plot_w
    return [
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}"/>',
        f'<line class="axis" x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}"/>',
        f'<line class="axis" x1="{right}" y1="{TOP}" x2="{right}" y2="{bottom}"/>',
        f'<text class="label" x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end">{top_rate:g}</text>',
        f'<text class="label" x="{LEFT - 6}" y="{bottom}" text-anchor="end">0</text>',
        f'<text class="label" x="{right + 6}" y="{TOP + 4}">100%</text>',
        f'<text class="label" x="{right + 6}" y="{bottom}">0%</text>',
        f'<text class="label" x="{LEFT}" y="{HEIGHT - 8}">per minute (bars)</text>',
        f'<text class="label" x="{right}" y="{HEIGHT - 8}" text-anchor="end">'
        "success rate (line)</text>",
    ]


def _describe(chart: Activity) -> str:
    total = sum(b.total for b in chart.buckets)
    decided = sum(b.decided for b in chart.buckets)
    completed = sum(b.completed for b in chart.buckets)
    rate = f"{completed / decided:.0%}" if decided else "no decided payments"
    return (
        f"{total} payments since {chart.since:%H:%M} UTC in {chart.bucket_minutes}-minute"
        f" buckets; success rate {rate}. The table below lists every bucket."
    )
