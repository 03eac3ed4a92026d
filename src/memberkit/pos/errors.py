"""Why the cashier screen refuses something before any service is asked."""

from __future__ import annotations

from memberkit.errors import Forbidden
from memberkit.kit.i18n import _


class TillNeedsStore(Forbidden):
    """A chain-wide account rang up a sale, refund, recharge or registration: no store to book."""

    code = "till_needs_store"
    message = _("The cashier screen books to a store: sign in with an account of a store.")
