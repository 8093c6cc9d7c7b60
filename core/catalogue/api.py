"""REST endpoints of the catalogue (api.md, "Organisation and catalogue"): task types
with versioned norms, competencies and what each position requires."""

from __future__ import annotations

from flask import g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from core import unit_of_work
from core.auth.guards import api_member
from core.catalogue import services
from core.catalogue.schemas import (
    CompetencyPatchSchema,
    CompetencySchema,
    NormVersionSchema,
    RequirementsSchema,
    TaskTypeListArgs,
    TaskTypeOnArgs,
    TaskTypePatchSchema,
    TaskTypeSchema,
    ToolkitSchema,
)
from core.errors import Invalid
from core.org import directory
from core.org import services as org
from core.pagination import PageArgs, paginate
from core.tenants.services import settings_view
from core.work import calendar as cal

blp = Blueprint("catalogue", __name__, url_prefix="/api/v1/tenants/<t>",
                description="Task catalogue with versioned norms; competency framework")
ADMIN = "tenant_admin"


@blp.before_request
def _resolve_path_objects() -> None:
    """Find the object of the path before the body is validated, so another tenant's
    id is a 404 whatever the body says."""
    view_args = request.view_args or {}
    if "task_type_id" in view_args:
        g.task_type = services.get_task_type(view_args["task_type_id"])
    elif "competency_id" in view_args:
        g.competency = services.get_competency(view_args["competency_id"])
    elif "position_id" in view_args:
        g.position = org.get_position(view_args["position_id"])


def _views(items, on) -> list[dict]:
    norms = services.norms_in_force([tt.id for tt in items], on)
    return [services.task_type_view(tt, norms.get(tt.id)) for tt in items]


@blp.route("/task-types")
class TaskTypes(MethodView):
    @blp.arguments(TaskTypeListArgs, location="query")
    @blp.response(200, TaskTypeSchema(many=True))
    def get(self, args, t):
        """List task types with the norm in force on `on` (members). `mine=true` or
        `position_code` keeps those of a position; `q` matches without diacritics."""
        principal = api_member()
        position_id = None
        if args.get("position_code"):
            position_id = directory.position_id_by_code(args["position_code"])
            if position_id is None:
                raise Invalid("Unknown position.", {"position_code": ["No such position."]})
        elif args.get("mine"):
            position_id = directory.position_id_of(principal.employee_id) if principal.employee_id else None
        stmt = services.task_types_query(position_id, args.get("q"), args.get("group"))
        items, headers = paginate(stmt, args)
        return _views(items, args.get("on") or cal.local_today(g.tenant)), 200, headers

    @blp.arguments(TaskTypeSchema)
    @blp.response(201, TaskTypeSchema)
    def post(self, data, t):
        """Create a task type and its first norm (tenant admin)."""
        api_member(ADMIN)
        tt, version = services.create_task_type(data)
        unit_of_work.commit()
        return services.task_type_view(tt, version)


@blp.route("/task-types/<int:task_type_id>")
class TaskTypeById(MethodView):
    @blp.arguments(TaskTypeOnArgs, location="query")
    @blp.response(200, TaskTypeSchema)
    def get(self, args, t, task_type_id):
        """One task type with the norm in force on `on` (default today)."""
        api_member()
        tt = g.task_type
        return services.task_type_view(tt, services.norm_in_force(tt.id, args.get("on") or cal.local_today(g.tenant)))

    @blp.arguments(TaskTypePatchSchema)
    @blp.response(200, TaskTypeSchema)
    def patch(self, data, t, task_type_id):
        """Change a task type (tenant admin). Norm fields start a new norm version from
        `effective_from` (default today); earlier items keep the norm they were declared under."""
        api_member(ADMIN)
        tt, version = services.update_task_type(g.task_type, data,
                                                cal.local_today(g.tenant))
        unit_of_work.commit()
        return services.task_type_view(tt, version)

    @blp.response(204)
    def delete(self, t, task_type_id):
        """Delete a task type (tenant admin); 409 while work items use it."""
        api_member(ADMIN)
        services.delete_task_type(g.task_type)
        unit_of_work.commit()


@blp.route("/task-types/<int:task_type_id>/versions")
class TaskTypeVersions(MethodView):
    @blp.response(200, NormVersionSchema(many=True))
    def get(self, t, task_type_id):
        """Every norm version of a task type, oldest first."""
        api_member()
        return [services.version_view(v) for v in services.task_type_versions(g.task_type)]


@blp.route("/competencies")
class Competencies(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, CompetencySchema(many=True))
    def get(self, args, t):
        """The competency framework (members)."""
        api_member()
        items, headers = paginate(services.competencies_query(), args)
        return [services.competency_view(c) for c in items], 200, headers

    @blp.arguments(CompetencySchema)
    @blp.response(201, CompetencySchema)
    def post(self, data, t):
        """Create a competency (tenant admin)."""
        api_member(ADMIN)
        c = services.create_competency(data)
        unit_of_work.commit()
        return services.competency_view(c)


@blp.route("/competencies/<int:competency_id>")
class CompetencyById(MethodView):
    @blp.response(200, CompetencySchema)
    def get(self, t, competency_id):
        """One competency."""
        api_member()
        return services.competency_view(g.competency)

    @blp.arguments(CompetencyPatchSchema)
    @blp.response(200, CompetencySchema)
    def patch(self, data, t, competency_id):
        """Change a competency (tenant admin)."""
        api_member(ADMIN)
        c = services.update_competency(g.competency, data)
        unit_of_work.commit()
        return services.competency_view(c)

    @blp.response(204)
    def delete(self, t, competency_id):
        """Delete a competency (tenant admin); 409 while a position requires it."""
        api_member(ADMIN)
        services.delete_competency(g.competency)
        unit_of_work.commit()


@blp.route("/positions/<int:position_id>/competencies")
class PositionCompetencies(MethodView):
    @blp.response(200, RequirementsSchema)
    def get(self, t, position_id):
        """The competencies a position requires and at which level."""
        api_member()
        return {"requirements": services.position_requirements(g.position.id)}

    @blp.arguments(RequirementsSchema)
    @blp.response(200, RequirementsSchema)
    def put(self, data, t, position_id):
        """Replace what a position requires (tenant admin)."""
        api_member(ADMIN)
        after = services.set_position_requirements(g.position, data["requirements"])
        unit_of_work.commit()
        return {"requirements": after}


@blp.route("/toolkit")
class Toolkit(MethodView):
    @blp.response(200, ToolkitSchema)
    def get(self, t):
        """The four components at a glance: positions, the catalogue's size, the
        competency framework and the indicator set (the tenant's scoring settings)."""
        api_member()
        return {
            "positions": [org.position_view(p) for p in directory.all_positions()],
            "task_types": services.task_type_count(),
            "competencies": [services.competency_view(c) for c in services.all_competencies()],
            "requirements": services.requirements_by_position(),
            "indicator_set": settings_view(g.tenant).get("scoring_variant"),
        }
