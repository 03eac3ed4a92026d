"""The points catalog (积分商城): rewards members redeem with points, and their pickup."""
