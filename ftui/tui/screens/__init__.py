"""The four panes (datasets, jobs, metrics, playground) and the modal screens they open."""
