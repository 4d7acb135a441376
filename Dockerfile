# ContactPulse services (consumer, simulator, replay, report, alert webhook) for docker-compose.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY pipelines ./pipelines
COPY services ./services
RUN pip install --no-cache-dir . && useradd --create-home contactpulse && mkdir -p /data && chown contactpulse /data
USER contactpulse
ENTRYPOINT ["contactpulse"]
CMD ["--help"]
