# lead-gateway: one image; the command picks the role (run | serve | worker).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PATH=/venv/bin:$PATH LEAD_GATEWAY_CONFIG=/config/lead-gateway.yaml \
    LEAD_GATEWAY_DATA_DIR=/data HOST=0.0.0.0 PORT=8000
COPY --from=build /venv /venv
RUN useradd --system --uid 10001 --home /data gateway && mkdir -p /data /config && chown gateway /data
USER gateway
WORKDIR /data
EXPOSE 8000
# HTTP roles answer /healthz; a worker container passes while its heartbeat in Redis is fresh.
HEALTHCHECK --interval=15s --timeout=5s --retries=3 CMD ["lead-gateway", "--log-level", "ERROR", "healthcheck"]
ENTRYPOINT ["lead-gateway"]
CMD ["run"]
