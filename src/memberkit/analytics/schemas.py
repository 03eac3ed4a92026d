"""Responses of the analytics API: the program's RFM at a glance, one member's row."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from memberkit.kit.schemas import LocalTime, MoneyOut


class RfmSettingsOut(BaseModel):
    """The settings in force (the ``analytics`` settings section)."""

    window_days: int
    cut: str = Field(
        description='"score": high is a score of at least "at"; "mean": above the mean'
    )
    at: int
    new_days: int
    dormant_days: int
    churned_days: int


class CutoffsOut(BaseModel):
    """What the last full refresh cut the scores at, for scores 2, 3, 4 and 5.

    ``recency_days``: the most days since the last purchase that still score so much;
    ``frequency`` and ``monetary``: the least. The means are of the scored members.
    """

    recency_days: list[int]
    frequency: list[int]
    monetary: list[MoneyOut]
    mean_recency_days: str = Field(examples=["42.50"])
    mean_frequency: str = Field(examples=["3.20"])
    mean_monetary: MoneyOut


class GridCell(BaseModel):
    """Scored members with one R score and one F score."""

    r: int
    f: int
    members: int


class RfmOverviewOut(BaseModel):
    """The program's RFM and lifecycle as of the last full refresh.

    ``classes`` has the eight classes and ``unscored`` (no purchase in the window);
    ``active_classes`` the three classes of active members and ``none``; ``lifecycle`` the five
    states; ``grid`` the 25 cells of R × F. A store-bound key counts its store's members only.
    """

    as_of: date | None
    computed_at: LocalTime | None
    settings: RfmSettingsOut
    cutoffs: CutoffsOut | None
    members: int
    classes: dict[str, int]
    active_classes: dict[str, int]
    lifecycle: dict[str, int]
    grid: list[GridCell]


class MemberRfmOut(BaseModel):
    """One member's RFM and lifecycle as of the last refresh that reached them."""

    member_no: str
    as_of: date
    recency_days: int | None
    frequency: int
    monetary: MoneyOut
    r: int
    f: int
    m: int
    rfm_class: str | None
    active_class: str | None
    lifecycle: str
    first_purchase_on: date | None
    last_purchase_on: date | None
    computed_at: LocalTime


class RefreshOut(BaseModel):
    """What a full refresh did."""

    as_of: date
    members: int
    scored: int
    milliseconds: int
