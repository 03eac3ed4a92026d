"""The cross-cutting API tests all live at :data:`tests.rest.API_NOW`."""

from tests.rest import API_NOW, Api, clock_for_every_test, make_key, order_body, table_contents

#: ``clock`` for every test here; the helpers are also imported from here by tests outside the
#: domain folders (``tests/test_pipeline.py``, ``tests/test_tasks.py``, ``tests/cli``,
#: ``tests/webhook``) until their imports name ``tests.rest``.
__all__ = ["API_NOW", "Api", "clock_for_every_test", "make_key", "order_body", "table_contents"]
