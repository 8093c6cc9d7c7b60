"""Bonus runs (api.md, "Scores and decisions")."""

from __future__ import annotations

from decimal import Decimal

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from core.auth.guards import api_member, path_object
from core.bonus import services
from core.bonus.models import BonusRun
from core.bonus.schemas import BonusRunAccepted, BonusRunArgs, BonusRunIn, BonusRunSchema

blp = Blueprint("bonus", __name__, url_prefix="/api/v1/tenants/<t>", description="Bonus runs")
ADMIN = "tenant_admin"


@blp.route("/bonus-runs")
class BonusRuns(MethodView):
    @blp.arguments(BonusRunArgs, location="query")
    @blp.response(200, BonusRunSchema(many=True))
    def get(self, args, t):
        """Bonus runs, newest first (without their amounts)."""
        api_member(ADMIN, "auditor")
        return services.runs(args.get("year"), args.get("paying_unit_id"))

    @blp.arguments(BonusRunIn)
    @blp.response(202, BonusRunAccepted)
    def post(self, data, t):
        """Share a final year's bonus fund (a job): one paying unit's, or the whole tenant's; without a
        fund, the scheme's default (10 % of the salary fund, month by month on the base salary in force)."""
        principal = api_member(ADMIN)
        adhoc = data.get("adhoc_percent")
        run = services.start_run(principal, data["year"], data.get("fund"), data.get("paying_unit_id"),
                                 None if adhoc is None else Decimal(str(adhoc)).quantize(Decimal("0.01")))
        return {"job_id": run.job_id, "id": run.id}


@blp.route("/bonus-runs/<int:bonus_run_id>")
class BonusRunOne(MethodView):
    @blp.response(200, BonusRunSchema)
    def get(self, t, bonus_run_id):
        """A run with every amount and its basis; the amounts sum exactly to the fund."""
        api_member(ADMIN, "auditor")
        return services.run_view(services.get_run(bonus_run_id))


@blp.route("/bonus-runs/<int:bonus_run_id>/xlsx")
class BonusRunXlsx(MethodView):
    @blp.response(200, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    def get(self, t, bonus_run_id):
        """The run as a spreadsheet."""
        api_member(ADMIN, "auditor")
        run = services.get_run(bonus_run_id)
        return Response(services.xlsx(run), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="bonus-{run.year}-{run.id}.xlsx"'})


path_object("bonus_run_id", BonusRun)
