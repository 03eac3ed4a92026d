"""The admin console (``/admin``): its layout and its own pages, the dashboard and audit log.

The pages of each domain live in that domain (``views.py``, ``templates/``) and are listed in
the console's menu by :mod:`memberkit.faces.nav`.
"""
