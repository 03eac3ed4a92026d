"""Reports (报表): sales, points and stored value, members — filtered, charted, exported."""
