"""The staff web app: sign-in, access by store and role, and the warehouse's receiving
station. Pages are Jinja2 templates (``dashboard/jinja2/dashboard/``) rendered with the
portal's environment (``awda.portal.jinja``), so they share its helpers and conventions."""
