"""Request and response models of the webhook API."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StrictBool

from memberkit.events import EventType
from memberkit.kit.schemas import Input, LocalTime, Page, PlainText
from memberkit.webhook import rules
from memberkit.webhook.models import DeliveryStatus, DisabledReason

WebhookUrl = Annotated[
    str,
    Field(min_length=1, max_length=rules.MAX_URL_LENGTH, examples=["https://example.com/hooks"]),
    AfterValidator(rules.check_url),
]
EventTypes = Annotated[list[EventType], Field(max_length=len(EventType))]


class SubscriptionIn(Input):
    """A receiver of events; ``events`` empty (the default) subscribes to every type."""

    url: WebhookUrl
    events: EventTypes = Field(default_factory=list, examples=[["order.posted", "tier.changed"]])
    description: PlainText = Field(default="", max_length=200)


class SubscriptionPatch(Input):
    """Changes to a subscription; only the fields present change.

    ``active: true`` switches a subscription on again (also one switched off after failures).
    """

    url: WebhookUrl | None = None
    events: EventTypes | None = None
    active: StrictBool | None = None


class SubscriptionOut(BaseModel):
    """A subscription; ``disabled_reason`` says why it is off (``operator`` or ``failures``)."""

    id: int
    url: str
    description: str
    events: list[str]
    active: bool
    failure_run: int
    disabled_reason: DisabledReason | None
    disabled_at: LocalTime | None
    created_at: LocalTime


class CreatedSubscriptionOut(SubscriptionOut):
    """A new subscription with its signing secret: store it now, it is not shown again."""

    secret: str


class SubscriptionList(BaseModel):
    """A page of subscriptions."""

    items: list[SubscriptionOut]
    page: Page


class DeliveryOut(BaseModel):
    """One event's delivery to a subscription; ``next_attempt_at`` while still to be tried."""

    id: int
    event_id: str
    event_type: str
    member_no: str | None
    status: DeliveryStatus
    attempts: int
    next_attempt_at: LocalTime | None
    last_status_code: int | None
    last_latency_ms: int | None
    last_error: str | None
    created_at: LocalTime
    delivered_at: LocalTime | None


class AttemptOut(BaseModel):
    """One HTTP attempt: when, the answer's status code (none when there was no answer)."""

    attempt: int
    at: LocalTime
    status_code: int | None
    latency_ms: int
    error: str | None


class DeliveryDetailOut(DeliveryOut):
    """A delivery with every attempt made of it."""

    attempts_log: list[AttemptOut]


class DeliveryList(BaseModel):
    """A page of a subscription's deliveries, newest event first."""

    items: list[DeliveryOut]
    page: Page


class ReplayIn(Input):
    """Nothing to say: the delivery in the path is sent again."""
