"""Entry point for gunicorn: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`."""

import os
import sys

from werkzeug.middleware.proxy_fix import ProxyFix

from core import create_app

app = create_app()

# On PostgreSQL a worker that cannot read the row-level security key would sign nothing
# and find no row: it refuses to boot, with one line (gunicorn then stops).
with app.app_context():
    from core.tenancy import rls

    try:
        rls.require_key()
    except rls.KeyUnavailable as exc:
        sys.exit(f"congvu cannot start: {exc}")

# Behind nginx the peer of every request is nginx. CONGVU_PROXY_HOPS=1 (set in
# deploy/congvu-web.service) trusts one proxy's X-Forwarded-For/-Proto/-Host, so the
# per-address login limit, audit records and HTTPS detection see the real client
# instead of putting everyone in one bucket. Leave it 0 when clients reach gunicorn
# directly: they could then forge those headers.
_proxy_hops = int(os.environ.get("CONGVU_PROXY_HOPS") or 0)
if _proxy_hops:
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=_proxy_hops, x_proto=_proxy_hops, x_host=_proxy_hops)
