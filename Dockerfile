# ContactPulse services (consumer, simulator, replay, report, alert webhook) for docker-compose.
# Stage 1 builds the wheel from the sources; stage 2 installs only that wheel, and runs as a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY pipelines ./pipelines
COPY services ./services
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 contactpulse && mkdir -p /data && chown contactpulse /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER contactpulse
WORKDIR /data
# the consumer's /healthz (services without an HTTP endpoint turn this off in docker-compose.yml)
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('CONTACTPULSE_METRICS_PORT', '9464') + '/healthz', timeout=3)"]
ENTRYPOINT ["contactpulse"]
CMD ["--help"]
