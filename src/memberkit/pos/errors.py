"""Why the cashier screen refuses something before any service is asked."""

from __future__ import annotations

from memberkit.errors import Conflict, Forbidden
from memberkit.kit.i18n import _


class TillNeedsStore(Forbidden):
    """A chain-wide account rang up a sale, refund, recharge or registration: no store to book."""

    code = "till_needs_store"
    message = _("The cashier screen books to a store: sign in with an account of a store.")


class OrderOfAnotherStore(Conflict):
    """A refund at the till of an order made at another of one's stores than the one chosen."""

    code = "order_of_another_store"
    message = _(
        "This order was made at store {order_store}; you work for store {store_code} now."
        " Choose store {order_store} to refund it."
    )
