"""What operators watch: Prometheus metrics, readiness checks, the fleet view of the
database, recent-history windows for the dashboard, and structured logs."""
