"""Segments (分群): RFM, lifecycle and rule segments of a program's members."""
