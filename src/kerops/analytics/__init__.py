"""Analytics: the maintenance metrics of a client (MTTR, MTBF, SLA and PM compliance, backlog,
costs, utilisation, IoT data health), each with one documented formula (docs/analytics.md)."""
