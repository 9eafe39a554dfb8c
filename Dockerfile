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
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz',timeout=2).status==200 else 1)"
ENTRYPOINT ["lead-gateway"]
CMD ["run"]
