"""Analytics (洞察): RFM scores and classes, and the lifecycle, per member of a program."""
