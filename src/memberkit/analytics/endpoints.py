"""REST endpoints of RFM and lifecycle: the program's overview, one member's row, a refresh."""

from __future__ import annotations

from fractions import Fraction

from fastapi import APIRouter

from memberkit.analytics import service
from memberkit.analytics.rfm import BANDS, ActiveClass, RfmClass
from memberkit.analytics.rules import Lifecycle
from memberkit.analytics.schemas import (
    CutoffsOut,
    GridCell,
    MemberRfmOut,
    RefreshOut,
    RfmOverviewOut,
    RfmSettingsOut,
)
from memberkit.api.context import ChainAdminContext, MemberNo, ReadContext
from memberkit.member import service as member_service

router = APIRouter(prefix="/api/v1/rfm", tags=["reports"])
member_router = APIRouter(prefix="/api/v1/members/{member_no}", tags=["reports"])


def _decimal(value: Fraction) -> str:
    """A non-negative exact mean as a decimal string, to the hundredth (half to even)."""
    hundredths = round(value * 100)
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def overview_out(view: service.Overview) -> RfmOverviewOut:
    """The overview as the API shows it (the console renders the same figures)."""
    counts = view.counts
    cut = view.cutoffs
    refresh = view.refresh
    means = cut.means() if cut else None
    return RfmOverviewOut(
        as_of=refresh.as_of if refresh else None,
        computed_at=refresh.computed_at if refresh else None,
        settings=RfmSettingsOut(**view.rules.config()),
        cutoffs=None
        if cut is None or means is None
        else CutoffsOut(
            recency_days=list(cut.recency),
            frequency=list(cut.frequency),
            monetary=list(cut.monetary),
            mean_recency_days=_decimal(means[0]),
            mean_frequency=_decimal(means[1]),
            mean_monetary=round(means[2]),
        ),
        members=counts.members,
        classes={
            **{c.value: counts.classes.get(c.value, 0) for c in RfmClass},
            "unscored": counts.classes.get(None, 0),
        },
        active_classes={
            **{c.value: counts.active.get(c.value, 0) for c in ActiveClass},
            "none": counts.active.get(None, 0),
        },
        lifecycle={s.value: counts.lifecycle.get(s.value, 0) for s in Lifecycle},
        grid=[
            GridCell(r=r, f=f, members=counts.grid.get((r, f), 0))
            for r in range(BANDS, 0, -1)
            for f in range(1, BANDS + 1)
        ],
    )


@router.get("", response_model=RfmOverviewOut)
def get_rfm(context: ReadContext) -> RfmOverviewOut:
    """Return the RFM as of the last full refresh: settings, cut-offs and counts.

    Counts per class of the eight (and unscored: no purchase in the window), per active class,
    per lifecycle state, and per cell of the R × F grid. A store-bound key counts the members
    whose home store is its store.
    """
    store = context.principal.store_code
    with context.transaction() as session:
        view = service.overview(
            session, program=context.program, stores=None if store is None else [store]
        )
    return overview_out(view)


@router.post("/refresh", response_model=RefreshOut)
def post_refresh(context: ChainAdminContext) -> RefreshOut:
    """Recompute every member's RFM and lifecycle now, as of today (chain-wide admin keys).

    The same work as the daily job; it replaces every member's row and may take a while on a
    large program (about ten seconds per million members on SQLite).
    """
    with context.transaction() as session:
        done = service.refresh(session, program=context.program)
    return RefreshOut(**vars(done))


@member_router.get("/rfm", response_model=MemberRfmOut)
def get_member_rfm(member_no: MemberNo, context: ReadContext) -> MemberRfmOut:
    """Return one member's RFM scores, classes and lifecycle as of the last refresh.

    404 ``rfm_not_refreshed`` for a member no refresh has reached yet.
    """
    with context.transaction() as session:
        member = member_service.find(session, program_id=context.program.id, member_no=member_no)
        row = service.member_rfm(session, member_id=member.id, member_no=member.member_no)
        return MemberRfmOut(
            member_no=member.member_no,
            as_of=row.as_of,
            recency_days=row.recency_days,
            frequency=row.frequency,
            monetary=row.monetary_minor,
            r=row.r_score,
            f=row.f_score,
            m=row.m_score,
            rfm_class=row.rfm_class,
            active_class=row.active_class,
            lifecycle=row.lifecycle,
            first_purchase_on=row.first_purchase_on,
            last_purchase_on=row.last_purchase_on,
            computed_at=row.computed_at,
        )
