"""Reports for people decisions: streamlining candidates, workload and staffing."""
