"""The daily work loop: declarations, assignments, results, reviews, and the working
calendar they are measured against (domain.md; api.md, "Daily work")."""
