"""The cashier screen (/pos): identify a member, ring up sales, refund, recharge, register."""
