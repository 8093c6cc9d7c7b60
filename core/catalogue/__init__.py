"""The tenant's toolkit: the task catalogue with its versioned norms, and the
competency framework of its job positions (domain.md, "The four components")."""
