"""Tier benefits (权益): definitions, grants to tiers with quotas, and their verification."""
