"""The cross-cutting API tests all live at :data:`tests.rest.API_NOW`."""

from tests.rest import clock_for_every_test

#: ``clock`` for every test here.
__all__ = ["clock_for_every_test"]
