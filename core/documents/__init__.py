"""Official documents of the evaluation procedure (docs/documents.md).

What the procedure calls:

* ``data.evaluation_form / classification_form / decision(...)`` — the context of a
  document (a dict), with ``extra`` for what the procedure's own steps collected;
* ``services.evaluation_form / classification_form / decision(principal, ..., fmt, extra=)``
  — the rendered PDF or DOCX (``Rendered``), with the download rights checked; a decision
  PDF is recorded as issued;
* ``data.deciding_person(agency, on)`` — who decides for an agency (its head by default);
* ``services.upload_signed(principal, unit_id, year, content)`` — verify a signed decision
  and mark it signed (``IssuedDecision.status == "signed"``).
"""
