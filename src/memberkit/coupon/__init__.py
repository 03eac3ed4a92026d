"""Coupons (优惠券): templates, issued coupons and their use at checkout."""
