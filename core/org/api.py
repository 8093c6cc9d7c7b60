"""REST endpoints for units, positions and employees (api.md, "Organisation")."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from core import unit_of_work
from core.auth.guards import api_member, path_object
from core.errors import NotFound
from core.org import deputies, services
from core.org.models import DeputyField, Employee, JobPosition, OrgUnit
from core.org.schemas import (
    DeputyFieldListArgs,
    DeputyFieldPatchSchema,
    DeputyFieldSchema,
    EmployeeListArgs,
    EmployeeOutSchema,
    EmployeePatchSchema,
    EmployeeSchema,
    PositionPatchSchema,
    PositionSchema,
    UnitListArgs,
    UnitPatchSchema,
    UnitSchema,
)
from core.pagination import PageArgs, paginate

blp = Blueprint("org", __name__, url_prefix="/api/v1/tenants/<t>", description="Units, positions, employees")
ADMIN = "tenant_admin"


@blp.route("/units")
class Units(MethodView):
    @blp.arguments(UnitListArgs, location="query")
    @blp.response(200, UnitSchema(many=True))
    def get(self, args, t):
        """List units (members)."""
        api_member()
        stmt = select(OrgUnit).order_by(OrgUnit.code)
        if "parent_id" in args:
            stmt = stmt.where(OrgUnit.parent_id == args["parent_id"])
        if "kind" in args:
            stmt = stmt.where(OrgUnit.kind == args["kind"])
        items, headers = paginate(stmt, args)
        return [services.unit_view(u) for u in items], 200, headers

    @blp.arguments(UnitSchema)
    @blp.response(201, UnitSchema)
    def post(self, data, t):
        """Create a unit (tenant admin)."""
        api_member(ADMIN)
        unit = services.create_unit(data)
        unit_of_work.commit()
        return services.unit_view(unit)


@blp.route("/units/<int:unit_id>")
class UnitById(MethodView):
    @blp.response(200, UnitSchema)
    def get(self, t, unit_id):
        """One unit."""
        api_member()
        return services.unit_view(services.get_unit(unit_id))

    @blp.arguments(UnitPatchSchema)
    @blp.response(200, UnitSchema)
    def patch(self, data, t, unit_id):
        """Change a unit (tenant admin). A unit cannot become its own ancestor."""
        api_member(ADMIN)
        unit = services.update_unit(services.get_unit(unit_id), data)
        unit_of_work.commit()
        return services.unit_view(unit)

    @blp.response(204)
    def delete(self, t, unit_id):
        """Delete a unit (tenant admin); 409 while it has people or sub-units."""
        api_member(ADMIN)
        services.delete_unit(services.get_unit(unit_id))
        unit_of_work.commit()


@blp.route("/positions")
class Positions(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, PositionSchema(many=True))
    def get(self, args, t):
        """List job positions (members)."""
        api_member()
        items, headers = paginate(select(JobPosition).order_by(JobPosition.code), args)
        return [services.position_view(p) for p in items], 200, headers

    @blp.arguments(PositionSchema)
    @blp.response(201, PositionSchema)
    def post(self, data, t):
        """Create a job position (tenant admin)."""
        api_member(ADMIN)
        position = services.create_position(data)
        unit_of_work.commit()
        return services.position_view(position)


@blp.route("/positions/<int:position_id>")
class PositionById(MethodView):
    @blp.response(200, PositionSchema)
    def get(self, t, position_id):
        """One job position."""
        api_member()
        return services.position_view(services.get_position(position_id))

    @blp.arguments(PositionPatchSchema)
    @blp.response(200, PositionSchema)
    def patch(self, data, t, position_id):
        """Change a job position (tenant admin)."""
        api_member(ADMIN)
        position = services.update_position(services.get_position(position_id), data)
        unit_of_work.commit()
        return services.position_view(position)

    @blp.response(204)
    def delete(self, t, position_id):
        """Delete a job position (tenant admin); 409 while held."""
        api_member(ADMIN)
        services.delete_position(services.get_position(position_id))
        unit_of_work.commit()


def _visible_employee(principal, employee_id: int) -> Employee:
    # Someone you may not see is answered exactly like someone who does not exist.
    if not services.can_see_employee(principal, employee_id):
        raise NotFound("Employee not found.")
    return services.get_employee(employee_id)


@blp.route("/employees")
class Employees(MethodView):
    @blp.arguments(EmployeeListArgs, location="query")
    @blp.response(200, EmployeeOutSchema(many=True))
    def get(self, args, t):
        """List the employees the caller may see."""
        principal = api_member()
        stmt = select(Employee).order_by(Employee.code)
        clause = services.visible_employees_filter(principal)
        if clause is not None:
            stmt = stmt.where(clause)
        if "unit_id" in args:
            stmt = stmt.where(Employee.unit_id == args["unit_id"])
        if args.get("q"):
            stmt = stmt.where(services.employee_matches(args["q"]))
        items, headers = paginate(stmt, args)
        return [services.employee_view(e) for e in items], 200, headers

    @blp.arguments(EmployeeSchema)
    @blp.response(201, EmployeeOutSchema)
    def post(self, data, t):
        """Create an employee (tenant admin); with `username` and `password`, also a login."""
        api_member(ADMIN)
        employee = services.create_employee(data)
        unit_of_work.commit()
        return services.employee_view(employee)


@blp.route("/employees/<int:employee_id>")
class EmployeeById(MethodView):
    @blp.response(200, EmployeeOutSchema)
    def get(self, t, employee_id):
        """One employee (if the caller may see them)."""
        principal = api_member()
        return services.employee_view(_visible_employee(principal, employee_id))

    @blp.arguments(EmployeePatchSchema)
    @blp.response(200, EmployeeOutSchema)
    def patch(self, data, t, employee_id):
        """Change an employee (tenant admin)."""
        principal = api_member(ADMIN)
        employee = services.update_employee(_visible_employee(principal, employee_id), data)
        unit_of_work.commit()
        return services.employee_view(employee)

    @blp.response(204)
    def delete(self, t, employee_id):
        """Delete an employee and their login (tenant admin); 409 while they manage others."""
        principal = api_member(ADMIN)
        services.delete_employee(_visible_employee(principal, employee_id))
        unit_of_work.commit()


@blp.route("/deputy-fields")
class DeputyFields(MethodView):
    @blp.arguments(DeputyFieldListArgs, location="query")
    @blp.response(200, DeputyFieldSchema(many=True))
    def get(self, args, t):
        """Deputies' fields in charge (tenant admin, auditor, managers)."""
        api_member(ADMIN, "auditor", "manager")
        items, headers = paginate(deputies.fields_stmt(args.get("deputy_id")), args)
        return [deputies.field_view(f) for f in items], 200, headers

    @blp.arguments(DeputyFieldSchema)
    @blp.response(201, DeputyFieldSchema)
    def post(self, data, t):
        """Put a deputy in charge of a unit or a person from a date (tenant admin)."""
        api_member(ADMIN)
        row = deputies.create_field(data)
        unit_of_work.commit()
        return deputies.field_view(row)


@blp.route("/deputy-fields/<int:field_id>")
class DeputyFieldById(MethodView):
    @blp.arguments(DeputyFieldPatchSchema)
    @blp.response(200, DeputyFieldSchema)
    def patch(self, data, t, field_id):
        """End (or reopen) a field assignment (tenant admin)."""
        api_member(ADMIN)
        row = deputies.end_field(deputies.get_field(field_id), data["end_date"])
        unit_of_work.commit()
        return deputies.field_view(row)

    @blp.response(204)
    def delete(self, t, field_id):
        """Delete a field assignment entered by mistake (tenant admin)."""
        api_member(ADMIN)
        deputies.delete_field(deputies.get_field(field_id))
        unit_of_work.commit()


path_object("field_id", DeputyField)
path_object("unit_id", OrgUnit)
path_object("position_id", JobPosition)
path_object("employee_id", Employee)
