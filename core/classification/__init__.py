"""Annual classification: the yearly run, the manager's review, finalising, appeals and discipline."""
