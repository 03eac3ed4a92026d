"""Why an order or a refund is refused: raised by the pure rules and by the service."""

from __future__ import annotations

from memberkit.errors import Conflict, InvalidInput, NotFound
from memberkit.kit.i18n import _


class InvalidOrder(InvalidInput):
    """The order's content is inconsistent."""

    code = "invalid_order"
    message = _("Invalid order: {problem}")


class LinesMismatch(InvalidOrder):
    """A line's amount is not quantity × unit price − discount."""

    code = "lines_mismatch"
    message = _(
        "Line {line}: amount {amount} is not quantity × unit price − discount ({expected})."
    )


class PaymentsMismatch(InvalidOrder):
    """Payments do not add up to the lines."""

    code = "payments_mismatch"
    message = _("Payments add up to {paid} but the lines add up to {total}.")
    #: With discounts: the payments pay what is due, not the lines' total.
    discounted = _(
        "Payments add up to {paid} but {due} is due: the lines' {total} less {discount} of "
        "discounts."
    )


class OrderAmountZero(InvalidOrder):
    """An order whose lines add up to nothing: it earns nothing and leaves nothing to refund."""

    code = "order_amount_zero"
    message = _(
        "The order's amount is zero: an order must cost something (free items go on an order "
        "that does)."
    )


class OrderAmountImplausible(InvalidOrder):
    """An order above the program's plausibility cap (``max_order_amount``)."""

    code = "order_amount_implausible"
    message = _(
        "The order's amount {amount} is more than one order may have ({limit}); a merchant "
        "whose sales are larger raises the limit in the earning settings."
    )


class NonMemberPointsPayment(InvalidOrder):
    """A sale to no member paid with points: points are a member's."""

    code = "non_member_points_payment"
    message = _("A sale to no member cannot be paid with points: name the member.")


class NonMemberWalletPayment(InvalidOrder):
    """A sale to no member paid with stored value: a wallet is a member's."""

    code = "non_member_wallet_payment"
    message = _("A sale to no member cannot be paid from a wallet: name the member.")


class NonMemberCoupon(InvalidOrder):
    """A sale to no member naming coupons: coupons are a member's."""

    code = "non_member_coupon"
    message = _("A sale to no member cannot use coupons: name the member whose coupons they are.")


class OrderNotFound(NotFound):
    """No order with that external id."""

    code = "order_not_found"
    message = _("No order with external id {external_id}.")


class OrderExists(Conflict):
    """The external id was used for an order already."""

    code = "order_exists"
    message = _("An order with external id {external_id} already exists.")


class RefundExists(Conflict):
    """The external id was used for a refund already."""

    code = "refund_exists"
    message = _("A refund with external id {external_id} already exists.")


class InvalidRefund(InvalidInput):
    """The refund's content is inconsistent."""

    code = "invalid_refund"
    message = _("Invalid refund: {problem}")


class RefundBeforeOrder(InvalidRefund):
    """A refund dated before the order it returns."""

    code = "refund_before_order"
    message = _("The refund is dated {refund_at}, before its order ({order_at}).")


class HistoryOrderRefund(InvalidRefund):
    """A live refund of an imported (history) order: those are refunded by the import."""

    code = "history_order_refund"
    message = _(
        "Order {order} was imported as history: refund it with a refund row of the history import."
    )


class RefundExceedsOrder(InvalidRefund):
    """More than is left of the order."""

    code = "refund_exceeds_order"
    message = _("The refund is larger than what is left of the order: {problem}")
