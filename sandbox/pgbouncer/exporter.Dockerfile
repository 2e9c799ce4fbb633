# PgBouncer's pools as Prometheus metrics (pgbouncer/exporter.py): the community exporter's
# names, read from the admin console. Debian's own exporter does not run against PgBouncer 1.18.
FROM opsbook-sandbox/python:bookworm
WORKDIR /srv/pgbouncer-exporter
COPY pgbouncer/exporter.py ./
ENV SERVICE_NAME=pgbouncer-exporter
EXPOSE 9127
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD curl -fsS -o /dev/null http://localhost:9127/health || exit 1
CMD ["python3", "exporter.py"]
